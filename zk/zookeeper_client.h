#pragma once
// zk::client over the ZooKeeper C client (libzookeeper-mt).
//
// The C client runs two threads of its own (I/O and completion). Every completion and watch
// callback arrives on the completion thread; there it only converts the C arguments into values
// and posts them to the client's executor, where the awaiting coroutine resumes or the watch
// callback runs. Nothing on that thread blocks, and the handle is closed (zookeeper_close) only
// from the owner's thread, in stop() or the destructor.
//
// Lifecycle: construct on the owner's executor, start() (zookeeper_init: the session is being
// established, state connecting), wait_connected(), use, stop() or destroy. Closing the handle
// completes every operation still in flight with `closing` and ends the session (its ephemerals
// go at once). An expired session stays expired: the owner builds a new client.
//
// Ownership of callback contexts: an operation's context lives until its completion (the C client
// calls each completion exactly once, with ZCLOSING at close). A watch context is kept in a table
// of the client's shared state until it fires (or its operation failed, so it was never armed);
// the table is freed after the handle is closed, when no callback can come any more. Per-path
// watchers also receive the C client's session events: connection changes leave them armed, a
// session expiry fires them once with watch_event::session_expired.
//
// Threading: use from the executor's thread only (as zk::client says); the shared state's watch
// table is the only thing both threads touch, under a mutex.
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "zk/client.h"

namespace broker::zk {

struct zookeeper_options {
    /// zookeeper.connect: "host:port[,host:port...][/chroot]".
    std::string connect;
    /// zookeeper.session.timeout.ms (Kafka's default 18000).
    std::chrono::milliseconds session_timeout{18000};
};

/// A session's id and password (what zookeeper_init takes to resume a session).
struct session_credentials {
    int64_t id = 0;
    std::string password;
};

class zookeeper_client final : public client {
public:
    zookeeper_client(net::any_io_executor executor, zookeeper_options options);
    zookeeper_client(const zookeeper_client&) = delete;
    zookeeper_client& operator=(const zookeeper_client&) = delete;
    ~zookeeper_client() override;

    /// Creates the handle (zookeeper_init); the session is then established in the background.
    /// `system_error` if the C client refused (e.g. a malformed connect string).
    error_code start();
    /// Polls the state until connected or expired, at most `timeout`; the state reached.
    net::awaitable<session_state> wait_connected(std::chrono::milliseconds timeout);
    /// Closes the handle (zookeeper_close). Idempotent; the destructor calls it.
    void stop();

    net::any_io_executor get_executor() override { return executor_; }
    session_state state() const override;
    int64_t session_id() const override;
    void on_state_change(state_callback callback) override;
    /// The current session's credentials, once a session exists.
    std::optional<session_credentials> credentials() const;

    net::awaitable<result<node>> get(std::string path, watch_callback watch = {}) override;
    net::awaitable<result<std::string>> create(std::string path, std::string data,
                                               create_mode mode) override;
    net::awaitable<result<stat>> set(std::string path, std::string data, int32_t version) override;
    net::awaitable<result<none>> erase(std::string path, int32_t version) override;
    net::awaitable<result<std::vector<std::string>>> children(std::string path,
                                                              watch_callback watch = {}) override;
    net::awaitable<result<stat>> exists(std::string path, watch_callback watch = {}) override;
    net::awaitable<result<std::vector<op_result>>> multi(std::vector<op> ops) override;

    struct shared;

private:
    net::any_io_executor executor_;
    zookeeper_options options_;
    std::shared_ptr<shared> shared_;
};

/// Creates the chroot of zookeeper.connect, as Kafka's broker does at start-up (the C client
/// does not create it, and every path under a missing chroot reads no_node). With an empty
/// `chroot`, does nothing. Otherwise connects a temporary client to `hosts` (no chroot), creates
/// `chroot` and its missing ancestors (null data; an existing node is fine) and closes the
/// client. `ok` when the chroot exists afterwards; `operation_timeout` when no session was
/// established within `timeout`; `system_error` when the C client refused `hosts`; else the
/// failing create's code.
net::awaitable<error_code> ensure_chroot(net::any_io_executor ex, std::string hosts,
                                         std::string chroot, std::chrono::milliseconds timeout);

}  // namespace broker::zk
