#pragma once
// zk::session: the broker's ZooKeeper session across expiries.
//
// A zk::client is one session; once it expires it stays expired. `session` owns the current
// client and replaces it: when the client reports `expired`, the session builds a new one through
// its factory, waits until it is connected, and runs every registered handler on it, in
// registration order (the broker registers again, contends for /controller again, re-reads what
// it watched). The first session goes through the same path, so start-up and recovery are one
// code path. While a new session is being established the handlers' previous work is stale: the
// `on_expired` callbacks run first, so the owner can stop what the old session drove.
//
// Connecting is retried (with a backoff of about one second) until stop(): ZooKeeper being away
// for a while is an outage to wait out, not a reason to exit. start() alone is bounded: the first
// session must be connected within zookeeper.connection.timeout.ms (else it throws), as Kafka's
// broker refuses to start without ZooKeeper. In the background, a client that has not connected
// within that timeout (or a factory that failed) is replaced after the backoff. A lost connection
// (state `connecting`) is not an expiry: the client reconnects within its session by itself.
//
// A handler refusing a session (false) makes the session close that client and build another
// after the backoff, the on_expired callbacks running first (the refused session's work is stale
// too); at start as in the background. A handler that throws fails start() on the first session;
// later, it counts as a refusal (the session outlives a failing handler).
//
// The client given to the handlers is the session's `current()`. stop() lets go of it at once (a
// zookeeper_client's handle is closed, so operations in flight complete with `closing`), while
// a handler still running keeps the object alive until it returns. The session takes the
// client's state callback (client::on_state_change): the owner must not replace it.
//
// Threading: one executor (a single-threaded io_context); every callback and handler runs there.
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/asio.h"
#include "zk/client.h"

namespace broker::zk {

/// Creates `path` and its missing ancestors (null data, persistent). node_exists at any level is
/// success. Returns the first other error.
net::awaitable<error_code> create_recursive(client& c, std::string path);

/// Deletes `path` and everything under it (children first, any version). no_node is success.
net::awaitable<error_code> delete_recursive(client& c, std::string path);

class session {
public:
    /// Builds a new, started client (a new session being established).
    using factory = std::function<std::unique_ptr<client>()>;
    /// Runs on each new connected session; it may suspend (register, read). An error it wants the
    /// session to retry is reported by returning false: the session is then closed and rebuilt.
    using handler = std::function<net::awaitable<bool>(client&)>;

    session(net::any_io_executor executor, factory make);
    ~session();
    session(const session&) = delete;
    session& operator=(const session&) = delete;

    void on_new_session(handler h);
    void on_expired(std::function<void()> callback);

    /// Builds the first client, waits until it is connected (at most `connection_timeout`), runs
    /// the handlers, then keeps replacing expired sessions in the background until stop().
    /// Throws std::runtime_error (naming the timeout) when the first session does not connect.
    net::awaitable<void> start(std::chrono::milliseconds connection_timeout);
    /// Closes the current client (its ephemerals go at once) and stops replacing it. Idempotent.
    void stop();

    /// The current client; valid after start() returned, until stop().
    client& current();
    /// How many sessions were established (1 after start()).
    int generation() const;

private:
    struct impl;
    std::shared_ptr<impl> impl_;
};

}  // namespace broker::zk
