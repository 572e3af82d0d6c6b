// The admin/metrics HTTP listener: the endpoints against an in-process broker (counters move by
// what was produced and fetched, offsets and lag match the commits), the listener's limits (405,
// 404, 413, 431, slow clients, connection cap, bind failure), and the pieces underneath
// (Prometheus writer, target parsing, assignment decoding, batch record counting).
#include "common/asio.h"

#include <gtest/gtest.h>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <charconv>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "protocol/generated/consumer_protocol_assignment.h"
#include "protocol/records.h"
#include "server/http/admin_api.h"
#include "server/http/http_server.h"
#include "server/http/prometheus.h"
#include "server/metrics.h"
#include "server/tests/test_util.h"

namespace broker::server {
namespace {

namespace bhttp = boost::beast::http;
using json = nlohmann::json;

struct http_reply {
    unsigned status = 0;  // 0: no answer (connection failed or closed)
    std::string content_type;
    std::string allow;
    std::string body;
};

/// A blocking socket to 127.0.0.1:port whose reads and writes time out.
net::ip::tcp::socket connect_to(net::io_context& io, uint16_t port) {
    net::ip::tcp::socket socket(io);
    socket.connect(net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    timeval tv{};
    tv.tv_sec = 10;
    ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    return socket;
}

/// Reads one response from `socket`.
http_reply read_reply(net::ip::tcp::socket& socket) {
    http_reply out;
    boost::beast::flat_buffer buffer;
    bhttp::response<bhttp::string_body> response;
    boost::system::error_code ec;
    bhttp::read(socket, buffer, response, ec);
    if (ec) {
        return out;
    }
    out.status = response.result_int();
    out.content_type = std::string(response[bhttp::field::content_type]);
    out.allow = std::string(response[bhttp::field::allow]);
    out.body = response.body();
    return out;
}

/// One request on a fresh connection (Beast client).
http_reply request(uint16_t port, bhttp::verb method, const std::string& target,
                   std::string body = {}) {
    net::io_context io;
    net::ip::tcp::socket socket = connect_to(io, port);
    bhttp::request<bhttp::string_body> req{method, target, 11};
    req.set(bhttp::field::host, "127.0.0.1");
    if (!body.empty()) {
        req.body() = std::move(body);
        req.prepare_payload();
    }
    boost::system::error_code ec;
    bhttp::write(socket, req, ec);
    if (ec) {
        return {};
    }
    return read_reply(socket);
}

http_reply get(uint16_t port, const std::string& target) {
    return request(port, bhttp::verb::get, target);
}

json get_json(uint16_t port, const std::string& target, unsigned expected_status = 200) {
    const http_reply reply = get(port, target);
    EXPECT_EQ(reply.status, expected_status) << target << ": " << reply.body;
    EXPECT_EQ(reply.content_type, "application/json") << target;
    return json::parse(reply.body, nullptr, false);
}

/// Sends raw bytes and returns everything the server sends until it closes (or the read timeout).
std::string exchange_raw(uint16_t port, const std::string& bytes) {
    net::io_context io;
    net::ip::tcp::socket socket = connect_to(io, port);
    boost::system::error_code ec;
    net::write(socket, net::buffer(bytes), ec);
    std::string out;
    char chunk[4096];
    for (;;) {
        const std::size_t n = socket.read_some(net::buffer(chunk), ec);
        out.append(chunk, n);
        if (ec) {
            break;
        }
    }
    return out;
}

/// The value of one series in a Prometheus text body: `series` is the name with its label set
/// exactly as rendered, e.g. `sluice_topic_messages_in_total{topic="t"}`.
std::optional<double> sample_value(const std::string& text, const std::string& series) {
    const std::string prefix = series + " ";
    std::size_t at = 0;
    while ((at = text.find(prefix, at)) != std::string::npos) {
        if (at == 0 || text[at - 1] == '\n') {
            const std::size_t start = at + prefix.size();
            const std::size_t end = text.find('\n', start);
            return std::stod(text.substr(start, end - start));
        }
        at += prefix.size();
    }
    return std::nullopt;
}

double value_or_zero(const std::string& text, const std::string& series) {
    return sample_value(text, series).value_or(0);
}

/// A broker with the HTTP listener on an ephemeral loopback port.
class http_broker_test : public ::testing::Test {
protected:
    http_broker_test()
        : broker_({{"http.listeners", "http://127.0.0.1:0"},
                   {"group.initial.rebalance.delay.ms", "0"},
                   {"offsets.topic.num.partitions", "3"}}) {
        http_port_ = broker_.server().http_bound_endpoints().at(0).port();
    }

    void create_topic(const std::string& name, int32_t partitions) {
        new_topic t;
        t.name = name;
        t.num_partitions = partitions;
        ASSERT_TRUE(broker_.server().core().admin().create_topic(t, false).result.ok());
    }

    /// Sends a Kafka request on `client` and decodes the answer.
    template <typename Response, typename Request>
    Response ask(test::raw_client& client, int16_t key, int16_t version, const Request& body) {
        EXPECT_TRUE(client.send(test::request_frame(key, version, ++correlation_, body)));
        auto frame = client.read_frame();
        EXPECT_TRUE(frame.has_value());
        if (!frame) {
            return {};
        }
        const auto parsed = test::parse_response(std::move(*frame),
                                                 protocol::response_header_version(key, version));
        return test::decode_body<Response>(parsed, version);
    }

    /// Produces one batch of `records` records to partition 0 of `topic` (Produce v9, acks=1).
    void produce(test::raw_client& client, const std::string& topic, int records) {
        std::vector<protocol::record_data> data;
        for (int i = 0; i < records; ++i) {
            protocol::record_data r;
            const std::string value = "value-" + std::to_string(i);
            r.value.emplace(value.begin(), value.end());
            r.timestamp = 1700000000000;
            data.push_back(std::move(r));
        }
        const std::vector<uint8_t> batch =
            protocol::build_batch(data, protocol::batch_build_options{});
        protocol::produce_request req;
        req.acks = 1;
        req.timeout_ms = 10000;
        req.topic_data.emplace_back();
        req.topic_data.back().name = topic;
        protocol::produce_request::partition_produce_data p;
        p.index = 0;
        p.records = protocol::records_ref{std::span<const uint8_t>(batch), {}};
        req.topic_data.back().partition_data.push_back(std::move(p));
        const auto response = ask<protocol::produce_response>(client, 0, 9, req);
        ASSERT_EQ(response.responses.size(), 1U);
        ASSERT_EQ(response.responses[0].partition_responses.size(), 1U);
        ASSERT_EQ(response.responses[0].partition_responses[0].error_code, 0);
    }

    /// Fetches partition 0 of `topic` from offset 0 (Fetch v12, no wait); returns the records size.
    std::size_t fetch(test::raw_client& client, const std::string& topic) {
        protocol::fetch_request req;
        req.max_wait_ms = 0;
        req.min_bytes = 0;
        req.max_bytes = 1 << 20;
        req.topics.emplace_back();
        req.topics.back().topic = topic;
        protocol::fetch_request::fetch_partition p;
        p.partition = 0;
        p.fetch_offset = 0;
        p.partition_max_bytes = 1 << 20;
        req.topics.back().partitions.push_back(p);
        const auto response = ask<protocol::fetch_response>(client, 1, 12, req);
        EXPECT_EQ(response.responses.size(), 1U);
        if (response.responses.empty() || response.responses[0].partitions.empty()) {
            return 0;
        }
        const auto& records = response.responses[0].partitions[0].records;
        return records ? records->size() : 0;
    }

    test::running_broker broker_;
    uint16_t http_port_ = 0;
    int32_t correlation_ = 0;
};

// ---- endpoints

TEST_F(http_broker_test, health_and_readiness) {
    const json health = get_json(http_port_, "/v1/health");
    EXPECT_EQ(health["status"], "ok");
    EXPECT_EQ(health["broker_id"], 0);

    const json ready = get_json(http_port_, "/v1/ready");
    EXPECT_EQ(ready["ready"], true);
    EXPECT_EQ(ready["checks"]["kafka_listeners"], true);
    EXPECT_EQ(ready["checks"]["logs_loaded"], true);
}

TEST_F(http_broker_test, unknown_paths_are_404_with_a_json_body) {
    for (const std::string target :
         {"/", "/nope", "/v1", "/v1/topics/x/y", "/metrics/extra", "/v2/health"}) {
        const json body = get_json(http_port_, target, 404);
        EXPECT_EQ(body["error"], "not_found") << target;
    }
    EXPECT_EQ(get_json(http_port_, "/v1/topics/missing", 404)["error"], "unknown_topic");
    EXPECT_EQ(get_json(http_port_, "/v1/groups/missing", 404)["error"], "unknown_group");
    EXPECT_EQ(get_json(http_port_, "/v1/topics/%zz", 400)["error"], "bad_request");
}

TEST_F(http_broker_test, methods_other_than_get_are_405) {
    for (const bhttp::verb method :
         {bhttp::verb::post, bhttp::verb::put, bhttp::verb::delete_, bhttp::verb::head}) {
        const http_reply reply = request(http_port_, method, "/metrics");
        EXPECT_EQ(reply.status, 405U) << bhttp::to_string(method);
        EXPECT_EQ(reply.allow, "GET");
    }
}

TEST_F(http_broker_test, metrics_count_produced_and_fetched_records) {
    const std::string topic = "metrics-topic";
    create_topic(topic, 1);
    const std::string before = get(http_port_, "/metrics").body;
    const std::string produce_series =
        R"(sluice_requests_total{api="Produce",api_key="0",version="9"})";
    const double produced_before = value_or_zero(before, produce_series);

    test::raw_client client(broker_.port());
    produce(client, topic, 5);
    produce(client, topic, 2);
    const std::size_t fetched = fetch(client, topic);
    EXPECT_GT(fetched, 0U);

    const http_reply reply = get(http_port_, "/metrics");
    ASSERT_EQ(reply.status, 200U);
    EXPECT_EQ(reply.content_type, "text/plain; version=0.0.4; charset=utf-8");
    const std::string& text = reply.body;
    const std::string t = "{topic=\"" + topic + "\"}";
    EXPECT_EQ(sample_value(text, "sluice_topic_messages_in_total" + t), 7);
    EXPECT_EQ(sample_value(text, "sluice_topic_bytes_out_total" + t), static_cast<double>(fetched));
    // What was fetched is exactly what was appended: the two batches.
    EXPECT_EQ(sample_value(text, "sluice_topic_bytes_in_total" + t), static_cast<double>(fetched));
    EXPECT_EQ(sample_value(text, produce_series), produced_before + 2);
    EXPECT_GE(value_or_zero(text, R"(sluice_requests_total{api="Fetch",api_key="1",version="12"})"),
              1);
    EXPECT_GE(
        value_or_zero(text, R"(sluice_request_duration_seconds_count{api="Produce",api_key="0"})"),
        2);
    EXPECT_GE(
        value_or_zero(
            text, R"(sluice_request_duration_seconds_bucket{api="Produce",api_key="0",le="+Inf"})"),
        2);

    const std::string p = "{topic=\"" + topic + "\",partition=\"0\"}";
    EXPECT_EQ(sample_value(text, "sluice_partition_log_end_offset" + p), 7);
    EXPECT_EQ(sample_value(text, "sluice_partition_high_watermark" + p), 7);
    EXPECT_EQ(sample_value(text, "sluice_partition_log_start_offset" + p), 0);
    EXPECT_EQ(sample_value(text, "sluice_partition_size_bytes" + p), static_cast<double>(fetched));

    EXPECT_GE(value_or_zero(text, "sluice_connections"), 1);
    EXPECT_GE(value_or_zero(text, "sluice_connections_accepted_total"), 1);
    EXPECT_TRUE(sample_value(text, "sluice_connections_rejected_total"));
    EXPECT_GT(value_or_zero(text, "process_resident_memory_bytes"), 0);
    EXPECT_TRUE(sample_value(text, "process_cpu_seconds_total"));
    for (const char* family :
         {"sluice_requests_total counter", "sluice_request_duration_seconds histogram",
          "sluice_topic_messages_in_total counter", "sluice_partition_size_bytes gauge",
          "sluice_consumer_group_lag gauge", "sluice_connections gauge"}) {
        EXPECT_NE(text.find(std::string("# TYPE ") + family + "\n"), std::string::npos) << family;
    }
}

TEST_F(http_broker_test, a_malformed_request_counts_as_an_error) {
    const std::string series =
        R"(sluice_request_errors_total{api="Produce",api_key="0",version="9"})";
    const double before = value_or_zero(get(http_port_, "/metrics").body, series);
    test::raw_client client(broker_.port());
    // A Produce v9 header followed by a body that does not decode: the broker closes the
    // connection.
    protocol::api_versions_request dummy;
    std::vector<uint8_t> frame = test::request_frame(0, 9, 1, dummy);
    frame.push_back(0xff);
    store_be32(frame.data(), static_cast<uint32_t>(frame.size() - 4));
    ASSERT_TRUE(client.send(frame));
    EXPECT_TRUE(client.closed_by_server());
    EXPECT_EQ(value_or_zero(get(http_port_, "/metrics").body, series), before + 1);
}

TEST_F(http_broker_test, topics_and_topic_detail) {
    create_topic("detail-a", 2);
    create_topic("detail-b", 1);
    test::raw_client client(broker_.port());
    produce(client, "detail-a", 3);

    const json list = get_json(http_port_, "/v1/topics");
    std::vector<std::string> names;
    for (const json& t : list["topics"]) {
        names.push_back(t["name"]);
        if (t["name"] == "detail-a") {
            EXPECT_EQ(t["partitions"], 2);
            EXPECT_EQ(t["internal"], false);
            EXPECT_EQ(t["topic_id"].get<std::string>().size(), 22U);
        }
    }
    EXPECT_EQ(names, (std::vector<std::string>{"detail-a", "detail-b"}));

    const json detail = get_json(http_port_, "/v1/topics/detail-a");
    EXPECT_EQ(detail["name"], "detail-a");
    ASSERT_EQ(detail["partitions"].size(), 2U);
    const json& p0 = detail["partitions"][0];
    EXPECT_EQ(p0["partition"], 0);
    EXPECT_EQ(p0["leader"], 0);
    EXPECT_EQ(p0["replicas"], json::array({0}));
    EXPECT_EQ(p0["isr"], json::array({0}));
    EXPECT_EQ(p0["log_start_offset"], 0);
    EXPECT_EQ(p0["log_end_offset"], 3);
    EXPECT_EQ(p0["high_watermark"], 3);
    EXPECT_GT(p0["size_bytes"].get<int64_t>(), 0);
    EXPECT_EQ(detail["partitions"][1]["log_end_offset"], 0);
    EXPECT_EQ(detail["configs"]["retention.ms"], "604800000");
    EXPECT_EQ(detail["configs"]["cleanup.policy"], "delete");
    EXPECT_TRUE(detail["overrides"].empty());

    const json brokers = get_json(http_port_, "/v1/brokers");
    EXPECT_EQ(brokers["controller_id"], 0);
    ASSERT_EQ(brokers["brokers"].size(), 1U);
    EXPECT_EQ(brokers["brokers"][0]["endpoints"][0]["port"], broker_.port());
    EXPECT_EQ(brokers["cluster_id"], broker_.server().core().cluster_id());
}

TEST_F(http_broker_test, groups_report_committed_offsets_and_lag) {
    const std::string topic = "lag-topic";
    create_topic(topic, 1);
    test::raw_client client(broker_.port());
    produce(client, topic, 10);

    protocol::find_coordinator_request find;
    find.key = "lag-group";
    ASSERT_EQ((ask<protocol::find_coordinator_response>(client, 10, 0, find).error_code), 0);
    protocol::offset_commit_request commit;
    commit.group_id = "lag-group";
    commit.generation_id_or_member_epoch = -1;
    commit.topics.emplace_back();
    commit.topics.back().name = topic;
    protocol::offset_commit_request::offset_commit_request_partition part;
    part.partition_index = 0;
    part.committed_offset = 4;
    part.committed_metadata = "meta";
    commit.topics.back().partitions.push_back(part);
    const auto committed = ask<protocol::offset_commit_response>(client, 8, 2, commit);
    ASSERT_EQ(committed.topics.size(), 1U);
    ASSERT_EQ(committed.topics[0].partitions[0].error_code, 0);

    const json group = get_json(http_port_, "/v1/groups/lag-group");
    EXPECT_EQ(group["group_id"], "lag-group");
    EXPECT_EQ(group["state"], "Empty");
    EXPECT_TRUE(group["members"].empty());
    ASSERT_EQ(group["offsets"].size(), 1U);
    const json& o = group["offsets"][0];
    EXPECT_EQ(o["topic"], topic);
    EXPECT_EQ(o["partition"], 0);
    EXPECT_EQ(o["committed_offset"], 4);
    EXPECT_EQ(o["high_watermark"], 10);
    EXPECT_EQ(o["lag"], 6);
    EXPECT_EQ(o["metadata"], "meta");
    EXPECT_EQ(group["total_lag"], 6);

    const json groups = get_json(http_port_, "/v1/groups");
    ASSERT_EQ(groups["groups"].size(), 1U);
    EXPECT_EQ(groups["groups"][0]["group_id"], "lag-group");
    EXPECT_EQ(groups["groups"][0]["total_lag"], 6);

    const std::string text = get(http_port_, "/metrics").body;
    const std::string labels = "{group=\"lag-group\",topic=\"" + topic + "\",partition=\"0\"}";
    EXPECT_EQ(sample_value(text, "sluice_consumer_group_lag" + labels), 6);
    EXPECT_EQ(sample_value(text, "sluice_consumer_group_committed_offset" + labels), 4);
    // Group names with reserved characters are addressed percent-encoded.
    EXPECT_EQ(get_json(http_port_, "/v1/groups/lag%2Dgroup")["group_id"], "lag-group");
}

// ---- listener limits

TEST_F(http_broker_test, oversized_bodies_are_refused_with_413) {
    const http_reply reply =
        request(http_port_, bhttp::verb::get, "/v1/health", std::string(64 * 1024, 'x'));
    EXPECT_EQ(reply.status, 413U);
    // A declared length over the limit is refused before any body byte arrives.
    const std::string answer = exchange_raw(
        http_port_, "GET /v1/health HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n");
    EXPECT_EQ(answer.rfind("HTTP/1.1 413", 0), 0U) << answer;
}

TEST_F(http_broker_test, oversized_headers_are_refused_with_431) {
    const std::string answer = exchange_raw(
        http_port_,
        "GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(32 * 1024, 'a') + "\r\n\r\n");
    EXPECT_EQ(answer.rfind("HTTP/1.1 431", 0), 0U) << answer.substr(0, 200);
}

TEST_F(http_broker_test, garbage_is_a_400_and_the_listeners_keep_serving) {
    const std::string answer = exchange_raw(http_port_, "\x01\x02 garbage\r\n\r\n");
    EXPECT_EQ(answer.rfind("HTTP/1.1 400", 0), 0U) << answer;
    EXPECT_EQ(get(http_port_, "/v1/health").status, 200U);
    EXPECT_TRUE(test::broker_answers(broker_.port()));
}

TEST_F(http_broker_test, keep_alive_serves_several_requests_on_one_connection) {
    net::io_context io;
    net::ip::tcp::socket socket = connect_to(io, http_port_);
    for (const std::string target : {"/v1/health", "/v1/topics", "/metrics"}) {
        bhttp::request<bhttp::string_body> req{bhttp::verb::get, target, 11};
        req.set(bhttp::field::host, "127.0.0.1");
        bhttp::write(socket, req);
        EXPECT_EQ(read_reply(socket).status, 200U) << target;
    }
}

/// An HTTP server with a trivial handler and small limits.
class small_server {
public:
    explicit small_server(http::http_limits limits)
        : server_(
              {{"http", "127.0.0.1", 0}},
              [](std::string target) -> net::awaitable<http::http_response> {
                  http::http_response r;
                  r.body = target;
                  co_return r;
              },
              limits) {
        server_.bind();
        server_.start();
    }
    uint16_t port() const { return server_.bound_endpoints().at(0).port(); }
    http::http_server& server() { return server_; }

private:
    http::http_server server_;
};

TEST(http_server, slow_clients_are_disconnected) {
    http::http_limits limits;
    limits.timeout = std::chrono::milliseconds(200);
    small_server s(limits);
    // Half a request line, then nothing: the server gives up on the client and closes.
    const std::string answer = exchange_raw(s.port(), "GET /slow HT");
    EXPECT_TRUE(answer.empty()) << answer;
    EXPECT_EQ(get(s.port(), "/after").body, "/after");
}

TEST(http_server, connections_over_the_cap_are_closed) {
    http::http_limits limits;
    limits.max_sessions = 1;
    small_server s(limits);
    net::io_context io;
    net::ip::tcp::socket first = connect_to(io, s.port());
    bhttp::request<bhttp::string_body> req{bhttp::verb::get, "/one", 11};
    req.set(bhttp::field::host, "127.0.0.1");
    bhttp::write(first, req);
    ASSERT_EQ(read_reply(first).body, "/one");  // the first session is open and idle
    EXPECT_EQ(get(s.port(), "/two").status, 0U);
    first.close();
    ASSERT_TRUE(test::wait_for([&] { return s.server().open_sessions() == 0; }));
    EXPECT_EQ(get(s.port(), "/three").body, "/three");
}

TEST(http_server, a_port_in_use_is_a_clear_startup_error) {
    net::io_context io;
    net::ip::tcp::acceptor taken(io, net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
    const uint16_t port = taken.local_endpoint().port();
    http::http_server server({{"http", "127.0.0.1", port}},
                             [](std::string) -> net::awaitable<http::http_response> {
                                 co_return http::http_response{};
                             });
    try {
        server.bind();
        FAIL() << "bind succeeded on a port in use";
    } catch (const std::runtime_error& e) {
        const std::string message = e.what();
        EXPECT_NE(message.find("http://127.0.0.1:" + std::to_string(port)), std::string::npos)
            << message;
        EXPECT_NE(message.find("http.listeners"), std::string::npos) << message;
    }

    // The broker refuses to start (and releases what it opened).
    test::temp_dir dir;
    std::vector<property> entries{
        {"listeners", "PLAINTEXT://127.0.0.1:0", 0},
        {"log.dirs", dir.sub("data"), 0},
        {"num.shards", "1", 0},
        {"logger.level", "off", 0},
        {"http.listeners", "http://127.0.0.1:" + std::to_string(port), 0}};
    broker_server broker(make_broker_config(entries).config);
    EXPECT_THROW(broker.start(), std::runtime_error);
}

TEST(http_server, disabled_when_http_listeners_is_empty) {
    test::running_broker broker;  // the test broker sets http.listeners to empty
    EXPECT_TRUE(broker.server().http_bound_endpoints().empty());
}

// ---- pieces

TEST(prometheus_writer, formats_families_and_escapes_labels) {
    http::prometheus_writer w;
    w.family("m_total", "counter", "Help with \\ and\nnewline.");
    w.sample("m_total", {{"a", "x\"y\\z\nw"}, {"b", "2"}}, uint64_t{3});
    w.sample("m_total", {}, int64_t{-1});
    w.sample("m_seconds", {}, 0.25);
    EXPECT_EQ(w.text(),
              "# HELP m_total Help with \\\\ and\\nnewline.\n"
              "# TYPE m_total counter\n"
              "m_total{a=\"x\\\"y\\\\z\\nw\",b=\"2\"} 3\n"
              "m_total -1\n"
              "m_seconds 0.25\n");
    EXPECT_EQ(http::prometheus_writer::format_number(std::numeric_limits<double>::infinity()),
              "+Inf");
    EXPECT_EQ(http::prometheus_writer::format_number(0.0005), "0.0005");
}

TEST(admin_api, split_target_decodes_segments) {
    using v = std::vector<std::string>;
    EXPECT_EQ(http::split_target("/"), v{});
    EXPECT_EQ(http::split_target("/metrics"), v{"metrics"});
    EXPECT_EQ(http::split_target("/v1/topics/a%2Fb?x=1"), (v{"v1", "topics", "a/b"}));
    EXPECT_EQ(http::split_target("/v1/groups/g%20h/"), (v{"v1", "groups", "g h"}));
    EXPECT_EQ(http::split_target("/a//b"), (v{"a", "", "b"}));
    EXPECT_FALSE(http::split_target("metrics"));
    EXPECT_FALSE(http::split_target(""));
    EXPECT_FALSE(http::split_target("/a%2"));
    EXPECT_FALSE(http::split_target("/a%g0"));
}

TEST(admin_api, decodes_consumer_assignments_and_rejects_garbage) {
    protocol::consumer_protocol_assignment a;
    a.assigned_partitions.push_back({"t1", {0, 2}, {}});
    a.assigned_partitions.push_back({"t2", {1}, {}});
    std::vector<uint8_t> bytes{0, 1};  // version 1 prefix
    protocol::writer w(bytes);
    protocol::encode(w, 1, a);
    const auto decoded = http::decode_consumer_assignment(bytes);
    ASSERT_TRUE(decoded);
    ASSERT_EQ(decoded->size(), 2U);
    EXPECT_EQ((*decoded)[0].first, "t1");
    EXPECT_EQ((*decoded)[0].second, (std::vector<int32_t>{0, 2}));
    EXPECT_EQ((*decoded)[1].first, "t2");
    // Every truncated prefix is an error, never a crash.
    for (std::size_t n = 0; n + 4 < bytes.size(); ++n) {
        EXPECT_FALSE(http::decode_consumer_assignment(std::span<const uint8_t>(bytes).first(n)))
            << n;
    }
    const std::vector<uint8_t> huge_count{0, 0, 0x7f, 0xff, 0xff, 0xff};
    EXPECT_FALSE(http::decode_consumer_assignment(huge_count));
}

TEST(metrics, fetch_counts_bytes_out_and_nothing_for_empty_records) {
    const std::string topic = "metrics-bytes-out";
    record_topic_out(topic, 0);
    EXPECT_FALSE(broker_metrics().topic_counts().contains(topic));
    record_topic_out(topic, 100);
    record_topic_out(topic, 23);
    EXPECT_EQ(broker_metrics().topic_counts().at(topic).bytes_out, 123U);
}

TEST(metrics, topic_counters_are_shared_and_pruned) {
    metrics_registry registry;
    registry.topic("pruned-a").messages_in.add(2);
    registry.topic("pruned-a").messages_in.add(3);
    registry.topic("pruned-b").bytes_out.add(7);
    auto counts = registry.topic_counts();
    EXPECT_EQ(counts["pruned-a"].messages_in, 5U);
    EXPECT_EQ(counts["pruned-b"].bytes_out, 7U);
    const uint64_t generation = registry.topic_generation();
    registry.prune_topics([](std::string_view t) { return t == "pruned-b"; });
    EXPECT_GT(registry.topic_generation(), generation);
    counts = registry.topic_counts();
    EXPECT_FALSE(counts.contains("pruned-a"));
    // A pruned topic starts again from zero (the thread's cache was invalidated).
    registry.topic("pruned-a").messages_in.add(1);
    EXPECT_EQ(registry.topic_counts()["pruned-a"].messages_in, 1U);
}

TEST(metrics, request_counters_and_histogram_buckets) {
    metrics_registry registry;
    registry.record_request(0, 9, std::chrono::microseconds(300), false);
    registry.record_request(0, 9, std::chrono::milliseconds(3), true);
    registry.record_request(1, 12, std::chrono::seconds(100), false);
    const auto counts = registry.request_counts();
    ASSERT_EQ(counts.size(), 2U);
    EXPECT_EQ(counts[0].api_key, 0);
    EXPECT_EQ(counts[0].requests, 2U);
    EXPECT_EQ(counts[0].errors, 1U);
    EXPECT_EQ(counts[1].api_version, 12);
    const auto latencies = registry.request_latencies();
    ASSERT_EQ(latencies.size(), 2U);
    EXPECT_EQ(latencies[0].second.buckets[0], 1U);      // <= 0.5 ms
    EXPECT_EQ(latencies[0].second.buckets[3], 1U);      // <= 5 ms
    EXPECT_EQ(latencies[1].second.buckets.back(), 1U);  // +Inf
    EXPECT_NEAR(latencies[0].second.sum_seconds, 0.0033, 1e-9);
}

}  // namespace
}  // namespace broker::server
