#pragma once
// The request layer below the handlers: what a handler receives (request_context), what it
// returns (handler_result, response_buffer), and the signals it may wait on (the connection
// closing, the request frame being released). The dispatch table (server/dispatch.h) sits above the
// handlers and includes this; services that park requests (group_service, the delayed operations
// of server/replica/) include only this header.
#include "common/asio.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "protocol/header.h"
#include "protocol/wire.h"

namespace broker::server {

class broker_core;

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

/// Tells a handler that parks (a long-polling Fetch, an acks=-1 Produce, a JoinGroup) that its
/// connection was closed by the broker (shutdown, or any other close()), so it stops waiting. A
/// peer that disconnects is noticed only when the connection next reads, as in Kafka. Owned by the
/// connection; used only on its shard.
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
    /// Frees the request frame and returns its bytes to the request memory budget. A handler that
    /// is about to wait (acks=-1 Produce, a long poll) calls release_frame() once nothing it still
    /// uses points into the frame: the header, the body reader and `frame` are invalid afterwards
    /// (header fields used later must be copied first). Empty without a connection.
    std::function<void()> frame_release{};

    void release_frame() {
        if (frame_release) {
            auto release = std::move(frame_release);
            frame_release = nullptr;
            frame = {};
            release();
        }
    }
};

using handler_fn = net::awaitable<handler_result> (*)(request_context&, protocol::reader&);

/// One API this broker serves: the versions it accepts and advertises, and its handler.
struct served_api {
    int16_t api_key;
    int16_t min_version;
    int16_t max_version;
    handler_fn handler;
    /// Served (and advertised) only in cluster mode: the controller-to-broker requests.
    bool cluster_only = false;

    /// True when a broker with `single_node` set serves this API.
    bool served(bool single_node) const { return !(cluster_only && single_node); }
};

/// Every served API, ordered by key. The table is defined with the dispatch (server/dispatch.cpp);
/// it is declared here so that ApiVersions, a handler, can advertise it.
std::span<const served_api> served_apis();
/// The row for `api_key`, or nullptr when this broker does not serve it.
const served_api* find_served_api(int16_t api_key);

}  // namespace broker::server
