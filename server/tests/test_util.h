#pragma once
// Helpers for the server tests: temporary directories, request/response framing, running a handler
// to completion, an in-process broker on 127.0.0.1:0, and a blocking raw-socket client whose reads
// time out (so a broken server fails a test instead of hanging it).
#include "common/asio.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/big_endian.h"
#include "protocol/generated/messages.h"
#include "protocol/header.h"
#include "server/broker_server.h"
#include "server/config.h"
#include "server/dispatch.h"
#include "server/replica/partition.h"

namespace broker::server::test {

/// A fresh directory under the system temp dir, removed on destruction.
class temp_dir {
public:
    temp_dir() {
        std::string pattern =
            (std::filesystem::temp_directory_path() / "server-test-XXXXXX").string();
        if (::mkdtemp(pattern.data()) == nullptr) {
            throw std::runtime_error("mkdtemp failed");
        }
        path_ = pattern;
    }
    ~temp_dir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
    const std::string& path() const { return path_; }
    std::string sub(const std::string& name) const { return path_ + "/" + name; }

private:
    std::string path_;
};

/// Builds a config from key/value pairs over the defaults.
inline broker_config make_config(std::initializer_list<std::pair<std::string, std::string>> kv) {
    std::vector<property> entries;
    for (const auto& [k, v] : kv) {
        entries.push_back(property{k, v, 0});
    }
    return make_broker_config(entries).config;
}

/// A complete request frame (size prefix, header in the version the registry picks, body).
template <typename Body>
std::vector<uint8_t> request_frame(int16_t api_key, int16_t version, int32_t correlation_id,
                                   const Body& body,
                                   std::optional<std::string> client_id = "test") {
    std::vector<uint8_t> out(4, 0);  // size prefix, patched below
    protocol::writer w(out);
    protocol::request_header header;
    header.request_api_key = api_key;
    header.request_api_version = version;
    header.correlation_id = correlation_id;
    header.client_id = std::move(client_id);
    protocol::encode_request_header(w, protocol::request_header_version(api_key, version), header);
    protocol::encode(w, version, body);
    store_be32(out.data(), static_cast<uint32_t>(out.size() - 4));
    return out;
}

/// A frame's 4-byte size prefix alone, for any size (negative and oversized ones included).
inline std::vector<uint8_t> size_prefix(int32_t size) {
    std::vector<uint8_t> out(4);
    store_be32(out.data(), static_cast<uint32_t>(size));
    return out;
}

/// Just the body bytes of a request (what a handler's reader sees).
template <typename Body>
std::vector<uint8_t> body_bytes(int16_t version, const Body& body) {
    std::vector<uint8_t> out;
    protocol::writer w(out);
    protocol::encode(w, version, body);
    return out;
}

/// A decoded response frame: the correlation id and the reader positioned at the body.
struct parsed_response {
    int32_t correlation_id = 0;
    std::vector<uint8_t> frame;  // without the size prefix
    std::size_t body_offset = 0;
};

/// Splits a frame (without size prefix) into header and body.
inline parsed_response parse_response(std::vector<uint8_t> frame, int16_t header_version) {
    parsed_response out;
    out.frame = std::move(frame);
    protocol::reader r(out.frame);
    protocol::response_header header;
    EXPECT_EQ(protocol::decode_response_header(r, header_version, header),
              protocol::codec_status::ok);
    out.correlation_id = header.correlation_id;
    out.body_offset = r.position();
    return out;
}

/// Decodes the body of `response` at `version`, expecting every byte to be consumed.
template <typename Body>
Body decode_body(const parsed_response& response, int16_t version) {
    Body body;
    protocol::reader r(std::span<const uint8_t>(response.frame).subspan(response.body_offset));
    EXPECT_EQ(protocol::decode(r, version, body), protocol::codec_status::ok);
    EXPECT_EQ(r.remaining(), 0U) << "trailing bytes after the response body";
    return body;
}

/// Runs `handler` on a private io_context until it completes.
inline handler_result run_handler(handler_fn handler, request_context& ctx,
                                  std::span<const uint8_t> body) {
    net::io_context io;
    std::optional<handler_result> result;
    net::co_spawn(
        io,
        [&]() -> net::awaitable<void> {
            protocol::reader r(body);
            result = co_await handler(ctx, r);
        },
        net::detached);
    io.run();
    if (!result) {
        throw std::runtime_error("handler did not complete");
    }
    return std::move(*result);
}

/// The response frame in a handler result, without its size prefix (checking the prefix).
inline std::vector<uint8_t> frame_of(const handler_result& result) {
    EXPECT_TRUE(result.response.has_value());
    if (!result.response) {
        return {};
    }
    const auto& bytes = result.response->bytes;
    EXPECT_GE(bytes.size(), 4U);
    EXPECT_EQ(load_be32(bytes.data()), bytes.size() - 4);
    return std::vector<uint8_t>(bytes.begin() + 4, bytes.end());
}

/// Waits for `condition` with a deadline, polling; true when it held before the deadline.
inline bool wait_for(const std::function<bool()>& condition,
                     std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
        if (condition()) {
            return true;
        }
        std::this_thread::yield();
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return condition();
}

/// A blocking client socket with a receive timeout.
class raw_client {
public:
    explicit raw_client(uint16_t port, std::chrono::seconds timeout = std::chrono::seconds(10))
        : socket_(io_) {
        socket_.connect(net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
        timeval tv{};
        tv.tv_sec = static_cast<time_t>(timeout.count());
        ::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        ::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    }

    /// Sends bytes; false if the connection is already gone.
    bool send(std::span<const uint8_t> bytes) {
        boost::system::error_code ec;
        net::write(socket_, net::buffer(bytes.data(), bytes.size()), ec);
        return !ec;
    }

    /// Reads one response frame (without the size prefix); nullopt on close, error or timeout.
    std::optional<std::vector<uint8_t>> read_frame() {
        uint8_t size_bytes[4];
        boost::system::error_code ec;
        net::read(socket_, net::buffer(size_bytes), ec);
        if (ec) {
            last_error_ = ec;
            return std::nullopt;
        }
        std::vector<uint8_t> frame(load_be32(size_bytes));
        net::read(socket_, net::buffer(frame), ec);
        if (ec) {
            last_error_ = ec;
            return std::nullopt;
        }
        return frame;
    }

    /// True when the server closed the connection (EOF or reset) before the receive timeout,
    /// with no further data.
    bool closed_by_server() {
        uint8_t byte;
        boost::system::error_code ec;
        const std::size_t n = socket_.read_some(net::buffer(&byte, 1), ec);
        if (n > 0) {
            return false;
        }
        last_error_ = ec;
        return ec == net::error::eof || ec == net::error::connection_reset;
    }

    void close() {
        boost::system::error_code ec;
        socket_.close(ec);
    }
    const boost::system::error_code& last_error() const { return last_error_; }

private:
    net::io_context io_;
    net::ip::tcp::socket socket_;
    boost::system::error_code last_error_;
};

/// An in-process broker on 127.0.0.1:0 with 2 shards and a temporary log directory.
/// Starts a broker on 127.0.0.1:0 over `log_dir`: two shards, one background thread, errors only,
/// no HTTP listener (tests run in parallel); `extra` adds settings (later ones win).
inline std::unique_ptr<broker_server> start_test_broker(
    const std::string& log_dir, const std::vector<std::pair<std::string, std::string>>& extra) {
    std::vector<property> entries{
        {"listeners", "PLAINTEXT://127.0.0.1:0", 0},
        {"log.dirs", log_dir, 0},
        {"num.shards", "2", 0},
        {"background.threads", "1", 0},
        {"logger.level", "error", 0},
        {"http.listeners", "", 0},
    };
    for (const auto& [k, v] : extra) {
        entries.push_back(property{k, v, 0});
    }
    config_result loaded = make_broker_config(entries);
    set_log_threshold(loaded.config.logger_level);
    auto server = std::make_unique<broker_server>(std::move(loaded.config));
    server->start();
    return server;
}

class running_broker {
public:
    explicit running_broker(std::initializer_list<std::pair<std::string, std::string>> extra = {})
        : server_(start_test_broker(dir_.sub("data"), extra)),
          port_(server_->bound_endpoints().at(0).port()) {}

    uint16_t port() const { return port_; }
    broker_server& server() { return *server_; }
    const temp_dir& dir() const { return dir_; }

private:
    temp_dir dir_;
    std::unique_ptr<broker_server> server_;
    uint16_t port_ = 0;
};

/// Sends ApiVersions v0 on a new connection and checks that an answer comes back.
inline ::testing::AssertionResult broker_answers(uint16_t port) {
    raw_client client(port);
    protocol::api_versions_request request;
    if (!client.send(request_frame(18, 0, 4242, request))) {
        return ::testing::AssertionFailure() << "send failed";
    }
    auto frame = client.read_frame();
    if (!frame) {
        return ::testing::AssertionFailure()
               << "no ApiVersions answer: " << client.last_error().message();
    }
    const parsed_response response = parse_response(std::move(*frame), 0);
    if (response.correlation_id != 4242) {
        return ::testing::AssertionFailure() << "wrong correlation id " << response.correlation_id;
    }
    const auto body = decode_body<protocol::api_versions_response>(response, 0);
    if (body.error_code != 0 || body.api_keys.empty()) {
        return ::testing::AssertionFailure() << "bad ApiVersions answer";
    }
    return ::testing::AssertionSuccess();
}

/// Runs `fn` on a partition's log, read-only, under its lock (the partition must not be deleted).
template <typename Fn>
auto on_log(const partition& p, Fn fn) {
    auto result = p.inspect(fn);
    EXPECT_TRUE(result.has_value())
        << "partition " << p.topic() << "-" << p.index() << " is deleted";
    return result ? std::move(*result) : decltype(fn(std::declval<const log::partition_log&>())){};
}

/// Appends one batch through the partition's leader append (acks=1, default broker settings).
inline leader_append_result append_batch(partition& p, std::vector<uint8_t>& batch,
                                         int64_t now_ms = 0) {
    leader_append request;
    request.batch = batch;
    request.header = *protocol::parse_batch_header(batch);
    request.required_acks = 1;
    request.now_ms = now_ms;
    static const broker_config defaults;
    return p.append_as_leader(request, defaults);
}

}  // namespace broker::server::test
