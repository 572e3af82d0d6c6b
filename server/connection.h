#pragma once
// Client connections: one coroutine per TCP connection, on the shard the listener chose.
//
// The request loop (connection::serve) reads a 4-byte size, refuses sizes < 0 or above
// socket.request.max.bytes by closing before reading any body, reserves the frame's bytes from the
// broker-wide request memory budget, reads the body, decodes the request header, and dispatches.
// Unknown API keys and unsupported versions (of any API but ApiVersions) close the connection, as
// Kafka does. Responses are written in request order; like Kafka, one request is processed at a
// time per connection, while bytes of the next requests may already sit in the read-ahead buffer.
// The reservation is returned once the response has been written (or the request dropped).
// Frames of at most unbudgeted_request_bytes never wait for the budget: they are charged when it
// has room and no one is waiting, and otherwise go through uncharged. A few connections that
// announce large frames and then stall (or trickle) can hold the whole budget, and the FIFO budget
// would then hold up every small request (Metadata, Fetch, heartbeats) behind them. Uncharged small
// frames are bounded per connection instead, like the read-ahead buffer (max.connections of each).
// Large frames are memory-mapped per request (connection.cpp, frame_buffer) so that freed frames go
// back to the system at once and the budget bounds resident memory, not just live allocations.
//
// Responses with splices go out as: buffer bytes up to the splice offset (async_write), the file
// region with sendfile(2) on the non-blocking socket (waiting for writability on EAGAIN), then the
// rest.
//
// A second coroutine, the idle watchdog, closes the connection when no request is in progress and
// no bytes have moved for connections.max.idle.ms. Closing the socket is the only cancellation:
// pending reads and writes then fail and the request loop ends.
//
// Ownership and threading: a connection lives on one shard and is only touched there. Its two
// coroutines share it through a shared_ptr. It registers in its shard's connection_registry so that
// shutdown can close every socket, and counts itself in the connection_tracker (max.connections,
// max.connections.per.ip, drain at shutdown).
#include "common/asio.h"

#include <array>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_set>

#include "server/async_semaphore.h"
#include "server/broker_core.h"
#include "server/dispatch.h"

namespace broker::server {

class connection;

/// Writes one response: the buffer with async_write and each spliced file region with sendfile(2)
/// at its offset. `socket` must be in non-blocking mode (native_non_blocking) so that sendfile
/// never blocks the shard; on EAGAIN it waits for writability. Returns the first error; a file
/// shorter than its region yields errc::io_error (the frame can then not be completed).
net::awaitable<boost::system::error_code> send_response(net::ip::tcp::socket& socket,
                                                        const response_buffer& response);

/// The connections of one shard. Used only on that shard's thread.
class connection_registry {
public:
    /// False when the registry is closed (shutdown began): the caller must close itself.
    bool add(connection* c);
    void remove(connection* c);
    /// Closes every registered connection and refuses new ones.
    void close_all();
    std::size_t size() const { return connections_.size(); }

private:
    std::unordered_set<connection*> connections_;
    bool closed_ = false;
};

/// Broker-wide connection accounting: the max.connections slots, per-address counts for
/// max.connections.per.ip, and the live count that shutdown waits on. Thread-safe.
class connection_tracker {
public:
    connection_tracker(int32_t max_connections, int32_t max_connections_per_ip);

    /// One unit per connection; the listener takes a unit before accepting.
    async_semaphore& slots() { return slots_; }
    /// Counts a new connection from `address` (whose slot is already taken). False when the
    /// address is at max.connections.per.ip: the caller closes the socket and returns the slot.
    bool admit(const net::ip::address& address);
    /// Undoes admit() and returns the slot.
    void leave(const net::ip::address& address);
    std::size_t live() const;
    /// Blocks the calling (non-shard) thread until no connection is live or the deadline passes.
    bool wait_until_idle(std::chrono::steady_clock::time_point deadline);

private:
    async_semaphore slots_;
    const int32_t max_per_ip_;
    mutable std::mutex mutex_;
    std::condition_variable idle_;
    std::map<net::ip::address, int32_t> per_address_;
    std::size_t live_ = 0;
};

/// Shared services a connection needs; owned by broker_server and outliving every connection.
struct connection_services {
    broker_core& broker;
    async_semaphore& request_memory;
    connection_tracker& tracker;
    /// One registry per shard, indexed by shard id.
    std::vector<std::unique_ptr<connection_registry>>& registries;
};

/// One client connection: its socket, read-ahead buffer and idle watchdog. Lives on one shard;
/// shared by its request loop and its watchdog (see the file comment).
class connection {
public:
    /// `socket` must already be bound to shard `shard_id`'s executor; the tracker has admitted it.
    connection(net::ip::tcp::socket socket, std::string listener_name, unsigned shard_id,
               connection_services& services);
    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;

    /// The connection's lifetime: registers, serves requests until the peer leaves, an error
    /// occurs or the broker shuts down, then unregisters. Spawn it on the connection's shard.
    static net::awaitable<void> run(std::shared_ptr<connection> self);

    /// Closes the socket (idempotent). Shard thread only.
    void close();
    bool is_open() const { return !closed_; }
    const net::ip::tcp::endpoint& peer() const { return peer_; }

    /// Request frames up to this size never wait for the request memory budget (see the file
    /// comment): 8 KiB, half the read-ahead buffer every connection already holds.
    static constexpr int32_t unbudgeted_request_bytes = 8 * 1024;

private:
    static constexpr std::size_t read_ahead_bytes = 16 * 1024;

    net::awaitable<void> serve();
    static net::awaitable<void> watch_idle(std::shared_ptr<connection> self);
    /// Reads exactly `n` bytes (read-ahead buffer first). False on EOF/error/close.
    net::awaitable<bool> read_exact(uint8_t* out, std::size_t n);
    void touch() { last_activity_ = std::chrono::steady_clock::now(); }

    net::ip::tcp::socket socket_;
    net::steady_timer idle_timer_;
    /// Fired by close(); wakes handlers parked on this connection (long-polling Fetch).
    connection_close_signal close_signal_;
    std::string listener_name_;
    unsigned shard_id_;
    connection_services& services_;
    net::ip::tcp::endpoint peer_;
    std::chrono::steady_clock::time_point last_activity_;
    std::chrono::milliseconds idle_limit_;
    bool busy_ = false;
    bool closed_ = false;
    std::array<uint8_t, read_ahead_bytes> read_buffer_{};
    std::size_t read_begin_ = 0;
    std::size_t read_end_ = 0;
};

}  // namespace broker::server
