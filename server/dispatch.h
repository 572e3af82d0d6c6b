#pragma once
// Request dispatch: the table of APIs this broker serves and the handler each one runs.
//
// `served_apis()` is the single source of truth for both dispatch and the ApiVersions response, so
// what the broker advertises and what it answers cannot drift apart. Each row's range must lie
// within the protocol registry's range for that key (checked by check_served_apis(), at startup
// and in a unit test), and every advertised version must really be handled.
//
// Adding an API: write `server/handlers/<api>.cpp` defining
//     net::awaitable<handler_result> handle_<api>(request_context&, protocol::reader&);
// declare it in server/handlers/handlers.h, add a row to the table in dispatch.cpp, and list the
// range in docs/api-versions.md (a unit test compares the two).
//
// Handler contract:
//   - runs on the connection's shard; may co_await (on_shard hops, timers, blocking pool);
//   - decodes its body from the reader (positioned after the request header); a body that fails
//     to decode returns handler_result::close() — Kafka drops such connections, it does not answer;
//   - a request it refuses is answered with Kafka error codes at the level the schema puts them;
//   - returns handler_result::no_reply() when the protocol says no response is sent (Produce acks=0);
//   - an exception escaping a handler is a bug: it is logged and the connection is closed.
#include "common/asio.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/header.h"
#include "protocol/wire.h"
#include "server/broker_core.h"

namespace broker::server {

/// One encoded response, ready for the socket: the 4-byte size, the response header, the body.
/// `splices` (offsets into `bytes`) say where file regions go on the wire (sendfile).
struct response_buffer {
    std::vector<uint8_t> bytes;
    std::vector<protocol::splice> splices;

    /// Bytes on the wire: `bytes` plus every spliced region.
    std::size_t wire_size() const;
};

/// What a handler asks the connection to do.
struct handler_result {
    std::optional<response_buffer> response;
    /// Close the connection (after sending `response`, if any).
    bool close_connection = false;

    static handler_result reply(response_buffer response) {
        return handler_result{std::move(response), false};
    }
    static handler_result no_reply() { return handler_result{std::nullopt, false}; }
    static handler_result close() { return handler_result{std::nullopt, true}; }
};

/// Tells a handler that parks (a long-polling Fetch) that its connection was closed by the broker
/// (shutdown, or any other close()), so it stops waiting. A peer that disconnects is noticed only
/// when the connection next reads, as in Kafka. Owned by the connection; used only on its shard.
class connection_close_signal {
public:
    /// Runs `callback` when the connection closes (at once if it already has). Returns an id for
    /// unsubscribe().
    uint64_t subscribe(std::function<void()> callback);
    void unsubscribe(uint64_t id);
    /// Runs and drops every callback; later subscriptions run at once.
    void fire();
    bool fired() const { return fired_; }

private:
    bool fired_ = false;
    uint64_t next_id_ = 1;
    std::vector<std::pair<uint64_t, std::function<void()>>> callbacks_;
};

/// Everything a handler knows about the request it serves. Lives on the connection coroutine's
/// frame for the duration of one request; handlers must not keep references past their return.
struct request_context {
    broker_core& broker;
    const protocol::request_header& header;
    /// header.request_api_key / header.request_api_version, for brevity.
    int16_t api_key = 0;
    int16_t api_version = 0;
    /// Version of the response header this request expects (0 or 1).
    int16_t response_header_version = 0;
    int32_t correlation_id = 0;
    /// The client id; null in the header reads as empty, as Kafka treats it.
    std::string_view client_id;
    net::ip::tcp::endpoint peer;
    /// Name of the listener the connection arrived on (selects advertised addresses).
    std::string_view listener_name;
    /// Shard the connection (and this handler) runs on.
    unsigned shard_id = 0;
    /// The whole request frame after the size prefix (header and body). Mutable and owned by the
    /// request: Produce rewrites the offsets of the batches it appends in place instead of copying
    /// them. Empty when the handler runs without a connection (tests); handlers then copy.
    std::span<uint8_t> frame;
    /// Fires when the connection closes; null when the handler runs without a connection (tests).
    connection_close_signal* connection_closed = nullptr;
};

using handler_fn = net::awaitable<handler_result> (*)(request_context&, protocol::reader&);

/// One API this broker serves: the versions it accepts and advertises, and its handler.
struct served_api {
    int16_t api_key;
    int16_t min_version;
    int16_t max_version;
    handler_fn handler;
};

/// Every served API, ordered by key.
std::span<const served_api> served_apis();
/// The row for `api_key`, or nullptr when this broker does not serve it.
const served_api* find_served_api(int16_t api_key);

/// Problems with the served table (key unknown to the registry, range outside the registry's,
/// unordered or duplicate rows). Empty means the table is consistent.
std::vector<std::string> check_served_apis();

/// Runs the handler of `ctx.api_key`. The caller has already checked that the API is served and
/// the version accepted (or that it is ApiVersions, which answers every version).
net::awaitable<handler_result> dispatch(request_context& ctx, protocol::reader& body);

}  // namespace broker::server
