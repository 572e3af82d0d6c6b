// broker_channel_manager against a small Kafka-protocol server on 127.0.0.1: request order, headers
// and versions, reconnecting and resending after a closed connection, a silent server, a malformed
// or oversized answer, a broker that starts listening late or moves, removal and stop with
// requests in flight, and the queue bound. Every wait is bounded (run_for on the io_context).
#include "server/cluster/broker_channel.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "common/big_endian.h"
#include "protocol/api.h"
#include "protocol/header.h"
#include "protocol/wire.h"

namespace broker::server::cluster {
namespace {

using namespace std::chrono_literals;
using tcp = net::ip::tcp;

// Runs `io` until `done` holds or `limit` passes; false on timeout.
bool run_until(net::io_context& io, const std::function<bool()>& done,
               std::chrono::milliseconds limit = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
        if (std::chrono::steady_clock::now() >= deadline) {
            return false;
        }
        if (io.stopped()) {
            io.restart();
        }
        io.run_for(5ms);
    }
    return true;
}

// Runs `io` for `duration` (to show that something does not happen).
void run_for(net::io_context& io, std::chrono::milliseconds duration) {
    const auto deadline = std::chrono::steady_clock::now() + duration;
    while (std::chrono::steady_clock::now() < deadline) {
        if (io.stopped()) {
            io.restart();
        }
        io.run_for(5ms);
    }
}

protocol::uuid make_id(uint8_t seed) {
    protocol::uuid out;
    out.bytes.fill(seed);
    return out;
}

// What a test server does with one request (numbered from 1 in arrival order).
enum class server_action {
    answer,
    close,              // close the connection without answering
    ignore,             // never answer (the connection stays open)
    wrong_correlation,  // answer with another correlation id
    oversize,           // answer with an absurd frame size
};

// One request as the test server decoded it.
struct received_request {
    int connection = 0;  // 1 for the server's first connection, ...
    int16_t api_key = -1;
    int16_t api_version = -1;
    int16_t header_version = -1;
    int32_t correlation_id = -1;
    std::optional<std::string> client_id;
    int32_t controller_epoch = -1;
    bool body_decoded = false;
    /// Bytes of a further request already waiting when this one was answered (pipelining).
    std::size_t bytes_waiting = 0;
};

// A Kafka-protocol server for LeaderAndIsr, UpdateMetadata and StopReplica: it decodes the header
// and body with the generated code and answers with the request's controller epoch as the
// response's error code (and, for LeaderAndIsr, the first topic id echoed).
class test_server {
public:
    explicit test_server(net::io_context& io, uint16_t port = 0)
        : state_(std::make_shared<state>(io)) {
        const tcp::endpoint endpoint(net::ip::make_address("127.0.0.1"), port);
        state_->acceptor.open(endpoint.protocol());
        state_->acceptor.set_option(net::socket_base::reuse_address(true));
        state_->acceptor.bind(endpoint);
        state_->acceptor.listen();
        net::co_spawn(io, accept_loop(state_), net::detached);
    }
    ~test_server() { close(); }
    test_server(const test_server&) = delete;
    test_server& operator=(const test_server&) = delete;

    uint16_t port() const { return state_->acceptor.local_endpoint().port(); }
    const std::vector<received_request>& requests() const { return state_->requests; }
    int connections() const { return state_->connections; }
    /// Connections the client closed (the server read end-of-stream or an error).
    int closed_by_client() const { return state_->closed_by_client; }
    /// What to do with request number `n` (1-based); unscripted requests are answered.
    void script(int n, server_action action) { state_->script[n] = action; }
    /// Wait this long before answering and count the bytes already waiting then.
    void check_pipelining(std::chrono::milliseconds wait) { state_->pipelining_wait = wait; }

    void close() {
        boost::system::error_code ignored;
        state_->acceptor.close(ignored);
        for (const auto& socket : state_->sockets) {
            socket->close(ignored);
        }
    }

private:
    struct state {
        explicit state(net::io_context& io) : acceptor(io) {}
        tcp::acceptor acceptor;
        std::vector<std::shared_ptr<tcp::socket>> sockets;
        std::vector<received_request> requests;
        std::map<int, server_action> script;
        std::chrono::milliseconds pipelining_wait{0};
        int connections = 0;
        int closed_by_client = 0;
    };

    static net::awaitable<void> accept_loop(std::shared_ptr<state> s) {
        while (s->acceptor.is_open()) {
            boost::system::error_code ec;
            auto socket = std::make_shared<tcp::socket>(s->acceptor.get_executor());
            co_await s->acceptor.async_accept(*socket, net::redirect_error(net::use_awaitable, ec));
            if (ec) {
                co_return;
            }
            s->sockets.push_back(socket);
            const int number = ++s->connections;
            net::co_spawn(s->acceptor.get_executor(), serve(s, socket, number), net::detached);
        }
    }

    // The response body for `api_key`, or nullopt when the body does not decode.
    static std::optional<std::vector<uint8_t>> answer(protocol::reader& in,
                                                      received_request& seen) {
        std::vector<uint8_t> body;
        protocol::writer out(body);
        const int16_t version = seen.api_version;
        switch (seen.api_key) {
            case protocol::leader_and_isr_request::api_key: {
                protocol::leader_and_isr_request request;
                if (decode(in, version, request) != protocol::codec_status::ok) {
                    return std::nullopt;
                }
                seen.controller_epoch = request.controller_epoch;
                protocol::leader_and_isr_response response;
                response.error_code = static_cast<int16_t>(request.controller_epoch);
                for (const auto& topic : request.topic_states) {
                    protocol::leader_and_isr_response::leader_and_isr_topic_error error;
                    error.topic_id = topic.topic_id;
                    response.topics.push_back(error);
                }
                encode(out, version, response);
                break;
            }
            case protocol::update_metadata_request::api_key: {
                protocol::update_metadata_request request;
                if (decode(in, version, request) != protocol::codec_status::ok) {
                    return std::nullopt;
                }
                seen.controller_epoch = request.controller_epoch;
                protocol::update_metadata_response response;
                response.error_code = static_cast<int16_t>(request.controller_epoch);
                encode(out, version, response);
                break;
            }
            case protocol::stop_replica_request::api_key: {
                protocol::stop_replica_request request;
                if (decode(in, version, request) != protocol::codec_status::ok) {
                    return std::nullopt;
                }
                seen.controller_epoch = request.controller_epoch;
                protocol::stop_replica_response response;
                response.error_code = static_cast<int16_t>(request.controller_epoch);
                encode(out, version, response);
                break;
            }
            default: return std::nullopt;
        }
        seen.body_decoded = in.remaining() == 0;
        return body;
    }

    static net::awaitable<void> serve(std::shared_ptr<state> s, std::shared_ptr<tcp::socket> socket,
                                      int connection) {
        for (;;) {
            boost::system::error_code ec;
            uint8_t size_bytes[4];
            co_await net::async_read(*socket, net::buffer(size_bytes),
                                     net::redirect_error(net::use_awaitable, ec));
            const auto size = static_cast<int32_t>(load_be32(size_bytes));
            if (ec || size <= 0 || size > 1024 * 1024) {
                ++s->closed_by_client;
                co_return;
            }
            std::vector<uint8_t> frame(static_cast<std::size_t>(size));
            co_await net::async_read(*socket, net::buffer(frame),
                                     net::redirect_error(net::use_awaitable, ec));
            if (ec) {
                ++s->closed_by_client;
                co_return;
            }
            protocol::reader in(frame);
            protocol::request_header header;
            received_request seen;
            seen.connection = connection;
            if (protocol::decode_request_header(in, header, seen.header_version) !=
                protocol::codec_status::ok) {
                co_return;
            }
            seen.api_key = header.request_api_key;
            seen.api_version = header.request_api_version;
            seen.correlation_id = header.correlation_id;
            seen.client_id = header.client_id;
            const std::optional<std::vector<uint8_t>> body = answer(in, seen);
            if (s->pipelining_wait.count() > 0) {
                net::steady_timer wait(socket->get_executor(), s->pipelining_wait);
                co_await wait.async_wait(net::redirect_error(net::use_awaitable, ec));
                seen.bytes_waiting = socket->available(ec);
            }
            s->requests.push_back(seen);
            const int number = static_cast<int>(s->requests.size());
            const auto scripted = s->script.find(number);
            const server_action action =
                scripted == s->script.end() ? server_action::answer : scripted->second;
            if (!body || action == server_action::close) {
                socket->close(ec);
                co_return;
            }
            if (action == server_action::ignore) {
                continue;
            }
            std::vector<uint8_t> out(4);
            protocol::writer w(out);
            protocol::encode_response_header(
                w, protocol::response_header_version(seen.api_key, seen.api_version),
                action == server_action::wrong_correlation ? seen.correlation_id + 1000
                                                           : seen.correlation_id);
            w.write_raw(*body);
            store_be32(out.data(), action == server_action::oversize
                                       ? 0x7fffffffu
                                       : static_cast<uint32_t>(out.size() - 4));
            co_await net::async_write(*socket, net::buffer(out),
                                      net::redirect_error(net::use_awaitable, ec));
            if (ec) {
                co_return;
            }
        }
    }

    std::shared_ptr<state> state_;
};

protocol::leader_and_isr_request leader_and_isr(int32_t epoch) {
    protocol::leader_and_isr_request request;
    request.controller_id = 1;
    request.controller_epoch = epoch;
    request.broker_epoch = 40;
    protocol::leader_and_isr_request::leader_and_isr_topic_state topic;
    topic.topic_name = "orders";
    topic.topic_id = make_id(7);
    protocol::leader_and_isr_request::leader_and_isr_partition_state partition;
    partition.topic_name = "orders";
    partition.leader = 2;
    partition.isr = {2};
    partition.replicas = {2};
    topic.partition_states.push_back(partition);
    request.topic_states.push_back(topic);
    return request;
}

protocol::update_metadata_request update_metadata(int32_t epoch) {
    protocol::update_metadata_request request;
    request.controller_id = 1;
    request.controller_epoch = epoch;
    protocol::update_metadata_request::update_metadata_broker broker;
    broker.id = 2;
    protocol::update_metadata_request::update_metadata_endpoint endpoint;
    endpoint.host = "127.0.0.1";
    endpoint.port = 9092;
    endpoint.listener = "PLAINTEXT";
    broker.endpoints.push_back(endpoint);
    request.live_brokers.push_back(broker);
    return request;
}

protocol::stop_replica_request stop_replica(int32_t epoch) {
    protocol::stop_replica_request request;
    request.controller_id = 1;
    request.controller_epoch = epoch;
    protocol::stop_replica_request::stop_replica_topic_state topic;
    topic.topic_name = "orders";
    protocol::stop_replica_request::stop_replica_partition_state partition;
    partition.delete_partition = true;
    topic.partition_states.push_back(partition);
    request.topic_states.push_back(topic);
    return request;
}

// One callback's outcome.
struct outcome {
    std::string kind;
    std::error_code ec;
    int16_t error_code = -1;
};

class broker_channel_test : public ::testing::Test {
protected:
    std::unique_ptr<broker_channel_manager> make_channel(std::chrono::milliseconds timeout = 30s,
                                                         std::chrono::milliseconds backoff = 10ms) {
        return std::make_unique<broker_channel_manager>(io_.get_executor(), 1, timeout, backoff);
    }

    // Callbacks that append to outcomes_.
    controller_channel::callback<protocol::update_metadata_response> on_update_metadata() {
        return [this](std::error_code ec, const protocol::update_metadata_response& response) {
            outcomes_.push_back({"update_metadata", ec, response.error_code});
        };
    }
    controller_channel::callback<protocol::leader_and_isr_response> on_leader_and_isr() {
        return [this](std::error_code ec, const protocol::leader_and_isr_response& response) {
            outcomes_.push_back({"leader_and_isr", ec, response.error_code});
            if (!ec && (response.topics.size() != 1 || response.topics[0].topic_id != make_id(7))) {
                ADD_FAILURE() << "LeaderAndIsr response without the echoed topic id";
            }
        };
    }
    controller_channel::callback<protocol::stop_replica_response> on_stop_replica() {
        return [this](std::error_code ec, const protocol::stop_replica_response& response) {
            outcomes_.push_back({"stop_replica", ec, response.error_code});
        };
    }

    bool wait_outcomes(std::size_t n, std::chrono::milliseconds limit = 10s) {
        return run_until(
            io_, [&] { return outcomes_.size() >= n; }, limit);
    }

    net::io_context io_;
    std::vector<outcome> outcomes_;
};

const std::error_code aborted = boost::system::error_code(net::error::operation_aborted);

TEST_F(broker_channel_test, requests_go_out_in_order_one_at_a_time_with_kafka_headers) {
    test_server server(io_);
    server.check_pipelining(20ms);
    auto channel = make_channel();
    channel->add_broker({2, "127.0.0.1", server.port()});
    channel->send(2, leader_and_isr(11), on_leader_and_isr());
    channel->send(2, update_metadata(12), on_update_metadata());
    channel->send(2, stop_replica(13), on_stop_replica());
    EXPECT_EQ(channel->queued(2), 3u);
    ASSERT_TRUE(wait_outcomes(3));

    ASSERT_EQ(outcomes_.size(), 3u);
    EXPECT_EQ(outcomes_[0].kind, "leader_and_isr");
    EXPECT_EQ(outcomes_[1].kind, "update_metadata");
    EXPECT_EQ(outcomes_[2].kind, "stop_replica");
    for (std::size_t i = 0; i < 3; ++i) {
        EXPECT_FALSE(outcomes_[i].ec) << outcomes_[i].ec.message();
        EXPECT_EQ(outcomes_[i].error_code, static_cast<int16_t>(11 + i));
    }

    const std::vector<received_request>& seen = server.requests();
    ASSERT_EQ(seen.size(), 3u);
    const int16_t keys[] = {protocol::leader_and_isr_request::api_key,
                            protocol::update_metadata_request::api_key,
                            protocol::stop_replica_request::api_key};
    const int16_t versions[] = {protocol::leader_and_isr_request::max_version,
                                protocol::update_metadata_request::max_version,
                                protocol::stop_replica_request::max_version};
    for (std::size_t i = 0; i < 3; ++i) {
        SCOPED_TRACE(i);
        EXPECT_EQ(seen[i].api_key, keys[i]);
        EXPECT_EQ(seen[i].api_version, versions[i]);
        EXPECT_EQ(seen[i].header_version, protocol::request_header_version(keys[i], versions[i]));
        EXPECT_EQ(seen[i].header_version, 2);  // every max version is flexible
        EXPECT_EQ(seen[i].client_id, "controller-1");
        EXPECT_EQ(seen[i].controller_epoch, static_cast<int32_t>(11 + i));
        EXPECT_TRUE(seen[i].body_decoded);
        EXPECT_EQ(seen[i].connection, 1);
        // Nothing further was sent before this request was answered.
        EXPECT_EQ(seen[i].bytes_waiting, 0u);
        if (i > 0) {
            EXPECT_GT(seen[i].correlation_id, seen[i - 1].correlation_id);
        }
    }
    EXPECT_EQ(server.connections(), 1);
    EXPECT_EQ(channel->queued(2), 0u);
}

TEST_F(broker_channel_test, a_closed_connection_is_reopened_and_the_request_resent) {
    test_server server(io_);
    server.script(1, server_action::close);
    auto channel = make_channel();
    channel->add_broker({2, "127.0.0.1", server.port()});
    channel->send(2, update_metadata(5), on_update_metadata());
    channel->send(2, stop_replica(6), on_stop_replica());
    ASSERT_TRUE(wait_outcomes(2));
    run_for(io_, 50ms);  // no second answer for either request

    ASSERT_EQ(outcomes_.size(), 2u);
    EXPECT_EQ(outcomes_[0].kind, "update_metadata");
    EXPECT_FALSE(outcomes_[0].ec);
    EXPECT_EQ(outcomes_[0].error_code, 5);
    EXPECT_EQ(outcomes_[1].kind, "stop_replica");
    const std::vector<received_request>& seen = server.requests();
    ASSERT_EQ(seen.size(), 3u);
    // The same UpdateMetadata twice, the second time on a new connection with a new correlation
    // id, then the StopReplica.
    EXPECT_EQ(seen[0].api_key, protocol::update_metadata_request::api_key);
    EXPECT_EQ(seen[1].api_key, protocol::update_metadata_request::api_key);
    EXPECT_EQ(seen[1].controller_epoch, 5);
    EXPECT_EQ(seen[0].connection, 1);
    EXPECT_EQ(seen[1].connection, 2);
    EXPECT_GT(seen[1].correlation_id, seen[0].correlation_id);
    EXPECT_EQ(seen[2].api_key, protocol::stop_replica_request::api_key);
    EXPECT_EQ(server.connections(), 2);
}

TEST_F(broker_channel_test, a_broker_added_before_it_listens_is_reached_once_it_does) {
    // A free port: bound, then released.
    uint16_t port = 0;
    {
        tcp::acceptor probe(io_, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
        port = probe.local_endpoint().port();
    }
    auto channel = make_channel(30s, 5ms);
    channel->add_broker({2, "127.0.0.1", port});
    channel->send(2, update_metadata(21), on_update_metadata());
    run_for(io_, 100ms);  // several refused connections
    EXPECT_TRUE(outcomes_.empty());

    test_server server(io_, port);
    ASSERT_TRUE(wait_outcomes(1));
    EXPECT_FALSE(outcomes_[0].ec);
    EXPECT_EQ(outcomes_[0].error_code, 21);
    EXPECT_EQ(server.requests().size(), 1u);
}

TEST_F(broker_channel_test, remove_broker_aborts_its_queued_requests) {
    test_server server(io_);
    server.script(1, server_action::ignore);
    auto channel = make_channel();
    channel->add_broker({2, "127.0.0.1", server.port()});
    channel->send(2, leader_and_isr(1), on_leader_and_isr());
    channel->send(2, update_metadata(2), on_update_metadata());
    channel->send(2, stop_replica(3), on_stop_replica());
    ASSERT_TRUE(run_until(io_, [&] { return server.requests().size() == 1; }));

    channel->remove_broker(2);
    EXPECT_TRUE(outcomes_.empty());  // posted, not called from inside remove_broker
    EXPECT_EQ(channel->queued(2), 0u);
    ASSERT_TRUE(wait_outcomes(3));
    ASSERT_EQ(outcomes_.size(), 3u);
    EXPECT_EQ(outcomes_[0].kind, "leader_and_isr");
    EXPECT_EQ(outcomes_[1].kind, "update_metadata");
    EXPECT_EQ(outcomes_[2].kind, "stop_replica");
    for (const outcome& o : outcomes_) {
        EXPECT_EQ(o.ec, aborted);
        EXPECT_EQ(o.ec, std::errc::operation_canceled);
    }
    // The connection is closed.
    ASSERT_TRUE(run_until(io_, [&] { return server.closed_by_client() == 1; }));

    // A request to a removed (or never added) broker ends the same way.
    channel->send(2, update_metadata(4), on_update_metadata());
    channel->send(9, update_metadata(5), on_update_metadata());
    ASSERT_TRUE(wait_outcomes(5));
    EXPECT_EQ(outcomes_[3].ec, aborted);
    EXPECT_EQ(outcomes_[4].ec, aborted);
    run_for(io_, 30ms);
    EXPECT_EQ(server.requests().size(), 1u);
    EXPECT_EQ(server.connections(), 1);
}

TEST_F(broker_channel_test, a_silent_broker_times_out_and_the_request_is_resent) {
    test_server server(io_);
    server.script(1, server_action::ignore);
    auto channel = make_channel(150ms, 10ms);
    channel->add_broker({2, "127.0.0.1", server.port()});
    channel->send(2, update_metadata(8), on_update_metadata());
    ASSERT_TRUE(wait_outcomes(1));
    EXPECT_FALSE(outcomes_[0].ec);
    EXPECT_EQ(outcomes_[0].error_code, 8);
    const std::vector<received_request>& seen = server.requests();
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_EQ(seen[0].connection, 1);
    EXPECT_EQ(seen[1].connection, 2);
    // The timed-out connection was closed by the channel.
    EXPECT_GE(server.closed_by_client(), 1);
}

TEST_F(broker_channel_test, a_malformed_or_oversized_answer_leads_to_a_resend) {
    test_server server(io_);
    server.script(1, server_action::wrong_correlation);
    server.script(2, server_action::oversize);
    auto channel = make_channel(30s, 5ms);
    channel->add_broker({2, "127.0.0.1", server.port()});
    channel->send(2, stop_replica(17), on_stop_replica());
    ASSERT_TRUE(wait_outcomes(1));
    run_for(io_, 30ms);
    ASSERT_EQ(outcomes_.size(), 1u);
    EXPECT_FALSE(outcomes_[0].ec);
    EXPECT_EQ(outcomes_[0].error_code, 17);
    ASSERT_EQ(server.requests().size(), 3u);
    EXPECT_EQ(server.connections(), 3);
}

TEST_F(broker_channel_test, a_moved_broker_gets_the_request_at_its_new_address) {
    test_server old_address(io_);
    old_address.script(1, server_action::ignore);
    test_server new_address(io_);
    auto channel = make_channel();
    channel->add_broker({2, "127.0.0.1", old_address.port()});
    channel->send(2, update_metadata(3), on_update_metadata());
    ASSERT_TRUE(run_until(io_, [&] { return old_address.requests().size() == 1; }));

    channel->add_broker({2, "127.0.0.1", old_address.port()});  // unchanged: nothing happens
    channel->add_broker({2, "127.0.0.1", new_address.port()});
    ASSERT_TRUE(wait_outcomes(1));
    EXPECT_FALSE(outcomes_[0].ec);
    EXPECT_EQ(outcomes_[0].error_code, 3);
    EXPECT_EQ(new_address.requests().size(), 1u);
    EXPECT_EQ(old_address.requests().size(), 1u);
}

TEST_F(broker_channel_test, stop_with_requests_in_flight_aborts_them_and_the_manager_can_go) {
    test_server first(io_);
    first.script(1, server_action::ignore);
    test_server second(io_);
    second.script(1, server_action::ignore);
    auto channel = make_channel();
    channel->add_broker({2, "127.0.0.1", first.port()});
    channel->add_broker({3, "127.0.0.1", second.port()});
    channel->send(2, update_metadata(1), on_update_metadata());
    channel->send(2, leader_and_isr(2), on_leader_and_isr());
    channel->send(3, stop_replica(3), on_stop_replica());
    ASSERT_TRUE(run_until(
        io_, [&] { return first.requests().size() == 1 && second.requests().size() == 1; }));

    channel->stop();
    channel->stop();  // idempotent
    channel.reset();  // while the coroutines still have to unwind
    ASSERT_TRUE(wait_outcomes(3));
    for (const outcome& o : outcomes_) {
        EXPECT_EQ(o.ec, aborted) << o.kind;
    }
    ASSERT_TRUE(run_until(
        io_, [&] { return first.closed_by_client() == 1 && second.closed_by_client() == 1; }));
    run_for(io_, 30ms);
    EXPECT_EQ(outcomes_.size(), 3u);
}

TEST_F(broker_channel_test, sends_after_stop_are_aborted_and_brokers_ignored) {
    auto channel = make_channel();
    channel->stop();
    channel->add_broker({2, "127.0.0.1", 9});
    channel->send(2, update_metadata(1), on_update_metadata());
    channel->send(2, update_metadata(2));  // no callback: nothing to call
    EXPECT_EQ(channel->queued(2), 0u);
    ASSERT_TRUE(wait_outcomes(1));
    EXPECT_EQ(outcomes_[0].ec, aborted);
}

TEST_F(broker_channel_test, a_full_queue_refuses_the_new_request) {
    // A port nobody listens on: the requests stay queued.
    uint16_t port = 0;
    {
        tcp::acceptor probe(io_, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
        port = probe.local_endpoint().port();
    }
    auto channel = make_channel(30s, 1000ms);
    channel->add_broker({2, "127.0.0.1", port});
    const protocol::update_metadata_request request = update_metadata(1);
    for (std::size_t i = 0; i < broker_channel_manager::max_queued_requests; ++i) {
        channel->send(2, request, on_update_metadata());
    }
    EXPECT_EQ(channel->queued(2), broker_channel_manager::max_queued_requests);
    channel->send(2, stop_replica(2), on_stop_replica());
    EXPECT_EQ(channel->queued(2), broker_channel_manager::max_queued_requests);
    ASSERT_TRUE(wait_outcomes(1));
    ASSERT_EQ(outcomes_.size(), 1u);
    EXPECT_EQ(outcomes_[0].kind, "stop_replica");
    EXPECT_EQ(outcomes_[0].ec, std::errc::no_buffer_space);

    channel->stop();
    ASSERT_TRUE(wait_outcomes(1 + broker_channel_manager::max_queued_requests));
    EXPECT_EQ(outcomes_.back().ec, aborted);
}

}  // namespace
}  // namespace broker::server::cluster
