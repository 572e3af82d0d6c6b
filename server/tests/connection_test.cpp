// An in-process broker on 127.0.0.1:0 (2 shards) driven over raw sockets: normal requests,
// pipelining, and misuse. After every misuse a fresh connection must still get an answer.
#include "common/asio.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <future>

#include "server/connection.h"
#include "server/tests/test_util.h"

namespace broker::server {
namespace {

using test::broker_answers;
using test::raw_client;
using test::request_frame;
using test::running_broker;
using test::size_prefix;

std::vector<uint8_t> concat(std::initializer_list<std::vector<uint8_t>> parts) {
    std::vector<uint8_t> out;
    for (const auto& p : parts) {
        out.insert(out.end(), p.begin(), p.end());
    }
    return out;
}

class connection_test : public ::testing::Test {
protected:
    running_broker broker_{{"socket.request.max.bytes", "65536"}};
};

TEST_F(connection_test, answers_api_versions_and_metadata) {
    EXPECT_TRUE(broker_answers(broker_.port()));

    raw_client client(broker_.port());
    protocol::metadata_request request;
    request.topics.emplace();
    ASSERT_TRUE(client.send(request_frame(3, 4, 11, request)));
    auto frame = client.read_frame();
    ASSERT_TRUE(frame.has_value()) << client.last_error().message();
    const auto response = test::parse_response(std::move(*frame), 0);
    EXPECT_EQ(response.correlation_id, 11);
    const auto body = test::decode_body<protocol::metadata_response>(response, 4);
    ASSERT_EQ(body.brokers.size(), 1U);
    EXPECT_EQ(body.brokers[0].host, "127.0.0.1");
    EXPECT_EQ(body.brokers[0].port, broker_.port());  // port 0 resolved to the bound port
    EXPECT_EQ(body.controller_id, 0);
    EXPECT_EQ(body.cluster_id, broker_.server().core().cluster_id());
    EXPECT_TRUE(body.topics.empty());
}

TEST_F(connection_test, null_client_id_is_accepted) {
    raw_client client(broker_.port());
    protocol::api_versions_request request;
    ASSERT_TRUE(client.send(request_frame(18, 1, 3, request, std::nullopt)));
    auto frame = client.read_frame();
    ASSERT_TRUE(frame.has_value());
    EXPECT_EQ(test::parse_response(std::move(*frame), 0).correlation_id, 3);
}

TEST_F(connection_test, pipelined_requests_are_answered_in_order) {
    raw_client client(broker_.port());
    protocol::api_versions_request api_versions;
    api_versions.client_software_name = "pipeline";
    api_versions.client_software_version = "1.0";
    protocol::metadata_request metadata;
    metadata.topics.reset();
    // One write holding eight requests of different APIs and versions.
    std::vector<uint8_t> batch;
    std::vector<std::pair<int16_t, int16_t>> sent;  // key, version
    int32_t correlation = 100;
    for (int round = 0; round < 2; ++round) {
        for (auto [key, version] : {std::pair<int16_t, int16_t>{18, 0}, {3, 1}, {18, 3}, {3, 12}}) {
            auto frame = key == 18 ? request_frame(key, version, correlation, api_versions)
                                   : request_frame(key, version, correlation, metadata);
            batch.insert(batch.end(), frame.begin(), frame.end());
            sent.emplace_back(key, version);
            ++correlation;
        }
    }
    ASSERT_TRUE(client.send(batch));
    for (std::size_t i = 0; i < sent.size(); ++i) {
        auto frame = client.read_frame();
        ASSERT_TRUE(frame.has_value()) << "response " << i << ": " << client.last_error().message();
        const auto [key, version] = sent[i];
        const auto response = test::parse_response(std::move(*frame),
                                                   protocol::response_header_version(key, version));
        EXPECT_EQ(response.correlation_id, 100 + static_cast<int32_t>(i));
        if (key == 18) {
            EXPECT_EQ(
                test::decode_body<protocol::api_versions_response>(response, version).error_code,
                0);
        } else {
            EXPECT_EQ(
                test::decode_body<protocol::metadata_response>(response, version).brokers.size(),
                1U);
        }
    }
}

TEST_F(connection_test, size_above_the_limit_closes_before_the_body) {
    raw_client client(broker_.port());
    // Only the size goes out: the server must close without waiting for 65537 body bytes.
    ASSERT_TRUE(client.send(size_prefix(65537)));
    EXPECT_TRUE(client.closed_by_server()) << client.last_error().message();
    EXPECT_TRUE(broker_answers(broker_.port()));
}

TEST_F(connection_test, negative_size_closes) {
    raw_client client(broker_.port());
    ASSERT_TRUE(client.send(size_prefix(-5)));
    EXPECT_TRUE(client.closed_by_server());
    EXPECT_TRUE(broker_answers(broker_.port()));
}

TEST_F(connection_test, truncated_body_held_then_closed_by_the_client) {
    const int64_t budget = broker_.server().request_memory_available();
    {
        raw_client client(broker_.port());
        // Promise 1000 bytes, send 10, and hold the connection open.
        ASSERT_TRUE(client.send(concat({size_prefix(1000), std::vector<uint8_t>(10, 0x42)})));
        // The frame's bytes are reserved while it is being read...
        ASSERT_TRUE(test::wait_for(
            [&] { return broker_.server().request_memory_available() == budget - 1000; }));
        // ...and the broker keeps serving everyone else meanwhile.
        EXPECT_TRUE(broker_answers(broker_.port()));
        client.close();
    }
    // Closing returns the reservation and the connection slot.
    EXPECT_TRUE(test::wait_for([&] {
        return broker_.server().request_memory_available() == budget &&
               broker_.server().live_connections() == 0;
    }));
    EXPECT_TRUE(broker_answers(broker_.port()));
}

TEST_F(connection_test, garbage_header_closes) {
    for (const std::vector<uint8_t>& body :
         {std::vector<uint8_t>{}, std::vector<uint8_t>{0x00, 0x12, 0x00},
          // ApiVersions v1 header whose client id length runs past the frame.
          std::vector<uint8_t>{0x00, 0x12, 0x00, 0x01, 0, 0, 0, 1, 0x7f, 0xff, 'x'}}) {
        raw_client client(broker_.port());
        ASSERT_TRUE(client.send(concat({size_prefix(static_cast<int32_t>(body.size())), body})));
        EXPECT_TRUE(client.closed_by_server()) << body.size();
        EXPECT_TRUE(broker_answers(broker_.port()));
    }
}

TEST_F(connection_test, unknown_api_key_closes) {
    for (int16_t key : {int16_t{1000}, int16_t{-7}, int16_t{0} /* Produce: known, not served */}) {
        raw_client client(broker_.port());
        protocol::api_versions_request body;
        auto frame = request_frame(18, 0, 1, body);
        store_be16(frame.data() + 4, static_cast<uint16_t>(key));
        ASSERT_TRUE(client.send(frame));
        EXPECT_TRUE(client.closed_by_server()) << key;
        EXPECT_TRUE(broker_answers(broker_.port()));
    }
}

TEST_F(connection_test, unsupported_metadata_version_closes) {
    raw_client client(broker_.port());
    protocol::metadata_request body;
    ASSERT_TRUE(client.send(request_frame(3, 13, 1, body)));
    EXPECT_TRUE(client.closed_by_server());
    EXPECT_TRUE(broker_answers(broker_.port()));
}

TEST_F(connection_test, unsupported_api_versions_version_is_answered) {
    raw_client client(broker_.port());
    protocol::api_versions_request body;
    body.client_software_name = "future";
    body.client_software_version = "9";
    ASSERT_TRUE(client.send(request_frame(18, 4, 1, body)));
    auto frame = client.read_frame();  // v4 is served
    ASSERT_TRUE(frame.has_value());
    // v7 is not: the answer is the v0 fallback, and the connection stays usable.
    auto request = request_frame(18, 4, 2, body);
    request[7] = 7;
    ASSERT_TRUE(client.send(request));
    frame = client.read_frame();
    ASSERT_TRUE(frame.has_value());
    const auto response = test::parse_response(std::move(*frame), 0);
    EXPECT_EQ(response.correlation_id, 2);
    EXPECT_EQ(test::decode_body<protocol::api_versions_response>(response, 0).error_code, 35);
    ASSERT_TRUE(client.send(request_frame(18, 0, 3, protocol::api_versions_request{})));
    frame = client.read_frame();
    ASSERT_TRUE(frame.has_value());
    EXPECT_EQ(test::parse_response(std::move(*frame), 0).correlation_id, 3);
}

TEST_F(connection_test, malformed_body_closes) {
    raw_client client(broker_.port());
    // Metadata v1 whose topic array claims 1000 entries.
    auto frame = request_frame(3, 1, 1, protocol::metadata_request{});
    const std::size_t body_at = frame.size() - 4;  // v1 body: int32 count (0 here)
    frame[body_at + 2] = 0x03;
    frame[body_at + 3] = 0xe8;
    ASSERT_TRUE(client.send(frame));
    EXPECT_TRUE(client.closed_by_server());
    EXPECT_TRUE(broker_answers(broker_.port()));
}

TEST(connection_limits, idle_connections_are_closed) {
    running_broker broker({{"connections.max.idle.ms", "50"}});
    raw_client silent(broker.port());
    raw_client stalled(broker.port());
    // A client that stops in the middle of a frame is idle too.
    ASSERT_TRUE(stalled.send(concat({size_prefix(100), std::vector<uint8_t>(10, 1)})));
    // The watchdog closes both after the idle period.
    EXPECT_TRUE(silent.closed_by_server());
    EXPECT_TRUE(stalled.closed_by_server());
    EXPECT_TRUE(test::wait_for([&] { return broker.server().live_connections() == 0; }));
}

TEST(connection_limits, request_memory_budget_makes_readers_wait) {
    running_broker broker(
        {{"socket.request.max.bytes", "65536"}, {"queued.max.request.bytes", "65536"}});
    raw_client holder(broker.port());
    // Reserve 60000 of the 65536 bytes with a frame that never completes.
    ASSERT_TRUE(holder.send(concat({size_prefix(60000), std::vector<uint8_t>(16, 0)})));
    ASSERT_TRUE(test::wait_for([&] { return broker.server().request_memory_available() == 5536; }));
    // A 10000-byte request (ApiVersions v0 followed by padding the v0 decoder ignores) must wait.
    raw_client waiter(broker.port());
    auto frame = request_frame(18, 0, 5, protocol::api_versions_request{});
    frame.resize(4 + 10000, 0);
    store_be32(frame.data(), 10000);
    ASSERT_TRUE(waiter.send(frame));
    ASSERT_TRUE(test::wait_for([&] { return broker.server().request_memory_waiters() == 1; }));
    // Nothing is taken for the waiting request until all of it fits.
    EXPECT_EQ(broker.server().request_memory_available(), 5536);
    holder.close();
    auto answer = waiter.read_frame();
    ASSERT_TRUE(answer.has_value());
    EXPECT_EQ(test::parse_response(std::move(*answer), 0).correlation_id, 5);
    EXPECT_TRUE(
        test::wait_for([&] { return broker.server().request_memory_available() == 65536; }));
}

TEST(connection_limits, per_ip_limit_closes_extra_connections) {
    running_broker broker({{"max.connections.per.ip", "1"}});
    raw_client first(broker.port());
    ASSERT_TRUE(test::wait_for([&] { return broker.server().live_connections() == 1; }));
    raw_client second(broker.port());
    EXPECT_TRUE(second.closed_by_server());
    // The first one still works.
    ASSERT_TRUE(first.send(request_frame(18, 0, 1, protocol::api_versions_request{})));
    EXPECT_TRUE(first.read_frame().has_value());
}

TEST(connection_limits, max_connections_closes_the_next_client) {
    running_broker broker({{"max.connections", "1"}});
    auto first = std::make_unique<raw_client>(broker.port());
    ASSERT_TRUE(test::wait_for([&] { return broker.server().live_connections() == 1; }));
    // The broker is full: the second connection is closed at once.
    raw_client second(broker.port());
    EXPECT_TRUE(second.closed_by_server());
    // The first one still works.
    ASSERT_TRUE(first->send(request_frame(18, 0, 1, protocol::api_versions_request{})));
    EXPECT_TRUE(first->read_frame().has_value());
    // Once it leaves, its slot serves a new client.
    first.reset();
    ASSERT_TRUE(test::wait_for([&] { return broker.server().live_connections() == 0; }));
    raw_client third(broker.port());
    ASSERT_TRUE(third.send(request_frame(18, 0, 3, protocol::api_versions_request{})));
    auto frame = third.read_frame();
    ASSERT_TRUE(frame.has_value());
    EXPECT_EQ(test::parse_response(std::move(*frame), 0).correlation_id, 3);
}

TEST(connection_shutdown, stop_closes_open_connections) {
    running_broker broker;
    raw_client idle(broker.port());
    raw_client partial(broker.port());
    ASSERT_TRUE(partial.send(concat({size_prefix(100), std::vector<uint8_t>(3, 0)})));
    ASSERT_TRUE(test::wait_for([&] { return broker.server().live_connections() == 2; }));
    broker.server().stop();
    EXPECT_EQ(broker.server().live_connections(), 0U);
    EXPECT_TRUE(idle.closed_by_server());
    EXPECT_TRUE(partial.closed_by_server());
}

TEST(connection_shutdown, single_shard_broker_works) {
    running_broker broker({{"num.shards", "1"}});
    EXPECT_EQ(broker.server().shards().size(), 1U);
    for (int i = 0; i < 3; ++i) {
        EXPECT_TRUE(broker_answers(broker.port()));
    }
}

// ---- send_response: buffer bytes and file regions (sendfile) interleaved

class send_response_test : public ::testing::Test {
protected:
    void SetUp() override {
        net::ip::tcp::acceptor acceptor(io_, {net::ip::make_address("127.0.0.1"), 0});
        client_.connect(acceptor.local_endpoint());
        acceptor.accept(server_);
        server_.native_non_blocking(true);
        char name[] = "/tmp/server-test-region-XXXXXX";
        fd_ = ::mkstemp(name);
        ASSERT_GE(fd_, 0);
        ::unlink(name);
    }
    void TearDown() override {
        if (fd_ >= 0) {
            ::close(fd_);
        }
    }

    // Sends `response` from the server socket while this thread reads `expected` bytes.
    std::vector<uint8_t> transfer(const response_buffer& response, std::size_t expected,
                                  boost::system::error_code& send_error) {
        std::promise<boost::system::error_code> sent;
        net::co_spawn(
            io_,
            [&]() -> net::awaitable<void> {
                sent.set_value(co_await send_response(server_, response));
            },
            net::detached);
        std::thread runner([&] { io_.run(); });
        std::vector<uint8_t> received(expected);
        boost::system::error_code ec;
        net::read(client_, net::buffer(received), ec);
        runner.join();
        send_error = sent.get_future().get();
        EXPECT_FALSE(ec) << ec.message();
        return received;
    }

    net::io_context io_;
    net::ip::tcp::socket client_{io_};
    net::ip::tcp::socket server_{io_};
    int fd_ = -1;
};

TEST_F(send_response_test, splices_go_out_at_their_offsets) {
    // 4 MiB of file so that sendfile meets a full socket buffer (EAGAIN) on the way.
    std::vector<uint8_t> file(4 << 20);
    for (std::size_t i = 0; i < file.size(); ++i) {
        file[i] = static_cast<uint8_t>(i * 7 + (i >> 12));
    }
    ASSERT_EQ(::write(fd_, file.data(), file.size()), static_cast<ssize_t>(file.size()));

    response_buffer response;
    response.bytes = {'h', 'e', 'a', 'd', '|', 'm', 'i', 'd', '|', 't', 'a', 'i', 'l'};
    // Region A (1 MiB from offset 10) after "head|", region B (3 bytes) and region C (rest of
    // the file) both after "mid|", then "tail".
    const std::size_t a_pos = 10, a_len = 1 << 20;
    const std::size_t b_pos = 0, b_len = 3;
    const std::size_t c_pos = 2 << 20, c_len = file.size() - c_pos;
    response.splices.push_back(
        {5, {fd_, static_cast<int64_t>(a_pos), static_cast<uint32_t>(a_len), nullptr}});
    response.splices.push_back(
        {9, {fd_, static_cast<int64_t>(b_pos), static_cast<uint32_t>(b_len), nullptr}});
    response.splices.push_back(
        {9, {fd_, static_cast<int64_t>(c_pos), static_cast<uint32_t>(c_len), nullptr}});
    EXPECT_EQ(response.wire_size(), response.bytes.size() + a_len + b_len + c_len);

    std::vector<uint8_t> expected{'h', 'e', 'a', 'd', '|'};
    expected.insert(expected.end(), file.begin() + a_pos, file.begin() + a_pos + a_len);
    expected.insert(expected.end(), {'m', 'i', 'd', '|'});
    expected.insert(expected.end(), file.begin() + b_pos, file.begin() + b_pos + b_len);
    expected.insert(expected.end(), file.begin() + c_pos, file.end());
    expected.insert(expected.end(), {'t', 'a', 'i', 'l'});

    boost::system::error_code send_error;
    const auto received = transfer(response, expected.size(), send_error);
    EXPECT_FALSE(send_error) << send_error.message();
    EXPECT_TRUE(received == expected);
}

TEST_F(send_response_test, a_region_past_the_end_of_the_file_is_an_error) {
    const std::vector<uint8_t> file(100, 0x5a);
    ASSERT_EQ(::write(fd_, file.data(), file.size()), 100);
    response_buffer response;
    response.bytes = {'x'};
    response.splices.push_back({1, {fd_, 50, 80, nullptr}});  // only 50 bytes exist
    boost::system::error_code send_error;
    const auto received = transfer(response, 1 + 50, send_error);
    EXPECT_EQ(send_error, boost::system::errc::io_error);
    EXPECT_EQ(received[0], 'x');
}

}  // namespace
}  // namespace broker::server
