#pragma once
// listener: accepts client connections on one configured address and spreads them over the shards.
//
// The accept loop runs on one shard's executor. For each connection it takes a max.connections
// slot (waiting while the broker is full, so further clients queue in the kernel backlog, as with
// Kafka), accepts the socket directly onto the next shard in round-robin order, applies
// max.connections.per.ip, and spawns the connection coroutine there.
//
// The loop never exits on a per-connection error: EMFILE/ENFILE/ENOBUFS/ENOMEM are logged and
// retried after a short pause (the condition usually clears as other connections close);
// ECONNABORTED and similar are skipped at once. It ends only when stop() closes the acceptor.
//
// Lifecycle: bind() on the main thread during startup (throws on failure), start(), stop()
// (posts the close to the acceptor's shard and waits for the accept loop to finish; call it from a
// non-shard thread).
#include "common/asio.h"

#include <cstdint>
#include <future>
#include <memory>
#include <string>

#include "server/config.h"
#include "server/connection.h"
#include "server/shard.h"

namespace broker::server {

class listener {
public:
    listener(listener_endpoint endpoint, unsigned accept_shard, shard_group& shards,
             connection_services& services);
    listener(const listener&) = delete;
    listener& operator=(const listener&) = delete;

    /// Opens, binds and listens. Throws std::runtime_error naming the address on failure.
    void bind();
    /// Starts accepting.
    void start();
    /// Stops accepting and waits for the accept loop to end. Idempotent.
    void stop();

    const listener_endpoint& endpoint() const { return endpoint_; }
    /// The address actually bound (port 0 resolved). Valid after bind().
    const net::ip::tcp::endpoint& bound_endpoint() const { return bound_; }

private:
    net::awaitable<void> accept_loop();

    listener_endpoint endpoint_;
    unsigned accept_shard_;
    shard_group& shards_;
    connection_services& services_;
    net::ip::tcp::acceptor acceptor_;
    net::ip::tcp::endpoint bound_;
    unsigned next_shard_ = 0;
    bool started_ = false;
    bool stopped_ = false;
    std::promise<void> loop_done_;
};

/// Raises this process's soft RLIMIT_NOFILE to its hard limit, so that the broker can hold as
/// many connections as the administrator allows rather than the login default (often 1024).
/// Returns the soft limit in effect afterwards (RLIM_INFINITY as INT64_MAX), or -1 if it could not
/// be read. Idempotent; listener::bind() calls it.
int64_t raise_open_file_limit();

}  // namespace broker::server
