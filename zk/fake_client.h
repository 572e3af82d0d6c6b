#pragma once
// An in-memory ZooKeeper for unit tests: `fake_server` is the tree (one "ensemble"), and each
// `fake_client` is one session on it, implementing zk::client. Several clients on one server
// stand for several brokers, so a test can make one broker's session expire and watch the others
// react.
//
// What it keeps of ZooKeeper's semantics (the parts the broker relies on):
// - nodes with data, a stat (czxid/mzxid/pzxid from one zxid counter, incremented once per write
//   transaction; version, cversion, ephemeral owner, data length, child count);
// - errors with the C client's codes: no_node (missing node or parent), node_exists, bad_version,
//   not_empty, no_children_for_ephemerals, bad_arguments (malformed path);
// - sequential names: the path plus the parent's cversion as 10 zero-padded digits;
// - multi: every op or none, one zxid for the whole transaction, per-op results as the C client
//   reports them;
// - one-shot watches (data watches from get/exists, child watches from children), fired after
//   the operation that triggers them, each on its own session's executor;
// - expire_session(): the session's ephemerals are deleted (firing the other sessions' watches),
//   its own watches fire once with session_expired, its state becomes expired, and every later
//   operation fails with session_expired. disconnect()/reconnect() move the session to connecting
//   and back (operations fail with connection_loss meanwhile; watches and ephemerals stay).
//
// Not modelled: ACLs, quotas, TTL and container nodes, chroot, sync, server-side session timeouts
// (a test expires a session explicitly), watch deduplication per watcher object.
//
// Threading: single-threaded. The server and all its clients are used from one thread (the
// thread running the clients' io_context); nothing here locks. A client must not outlive its
// server.
#include <map>
#include <string>
#include <vector>

#include "zk/client.h"

namespace broker::zk {

class fake_client;

/// The shared tree of the fake (see the file comment). Starts with the root node "/".
class fake_server {
public:
    fake_server();
    fake_server(const fake_server&) = delete;
    fake_server& operator=(const fake_server&) = delete;
    ~fake_server();

    /// The zxid of the last write transaction (0 before the first).
    int64_t last_zxid() const noexcept { return zxid_; }
    /// The number of nodes, the root included.
    std::size_t node_count() const noexcept { return nodes_.size(); }
    /// The number of armed watches (data and child) of all sessions.
    std::size_t watch_count() const noexcept;

private:
    friend class fake_client;

    struct znode {
        std::string data;
        zk::stat stat;
    };
    struct watch {
        int64_t session_id = 0;
        net::any_io_executor executor;
        watch_callback callback;
    };
    // Which watch table a trigger fires from.
    enum class table { data, child };
    struct trigger {
        table from;
        std::string path;
        watch_event event;
    };
    using tree = std::map<std::string, znode>;

    // Applies `o` to `nodes` for `session_id` in the transaction `zxid`; records the watch
    // triggers it causes. Leaves `nodes` unchanged when it fails.
    error_code apply(tree& nodes, const op& o, int64_t session_id, int64_t zxid, op_result& out,
                     std::vector<trigger>& triggers) const;
    // Runs `ops` as one transaction (all or nothing) and fires the watches on success.
    result<std::vector<op_result>> transact(const std::vector<op>& ops, int64_t session_id);
    void fire(const std::vector<trigger>& triggers);
    void add_watch(table to, const std::string& path, watch w);
    // Deletes the session's ephemerals (one transaction, firing the other sessions' watches) and
    // drops the session's watches; with `notify`, they fire once with session_expired.
    void close_session(int64_t session_id, bool notify);

    tree nodes_;
    std::map<std::string, std::vector<watch>> data_watches_;
    std::map<std::string, std::vector<watch>> child_watches_;
    int64_t zxid_ = 0;
    int64_t next_session_id_ = 0x100000001;
};

/// One session on a fake_server (see the file comment). Connected from construction.
class fake_client final : public client {
public:
    fake_client(net::any_io_executor executor, fake_server& server);
    fake_client(const fake_client&) = delete;
    fake_client& operator=(const fake_client&) = delete;
    /// Closes the session (its ephemerals are deleted), as zookeeper_close does, unless it expired.
    ~fake_client() override;

    net::any_io_executor get_executor() override { return executor_; }
    session_state state() const override { return state_; }
    int64_t session_id() const override { return session_id_; }
    void on_state_change(state_callback callback) override;

    net::awaitable<result<node>> get(std::string path, watch_callback watch = {}) override;
    net::awaitable<result<std::string>> create(std::string path, std::string data,
                                               create_mode mode) override;
    net::awaitable<result<stat>> set(std::string path, std::string data, int32_t version) override;
    net::awaitable<result<none>> erase(std::string path, int32_t version) override;
    net::awaitable<result<std::vector<std::string>>> children(std::string path,
                                                              watch_callback watch = {}) override;
    net::awaitable<result<stat>> exists(std::string path, watch_callback watch = {}) override;
    net::awaitable<result<std::vector<op_result>>> multi(std::vector<op> ops) override;

    /// The server drops the session: see the file comment. No effect once expired.
    void expire_session();
    /// The connection is lost (state connecting); the session lives on. No effect unless
    /// connected.
    void disconnect();
    /// The connection is back (state connected). No effect unless connecting.
    void reconnect();

private:
    // Lets the operation complete asynchronously, as a real one does; then the code the session
    // state imposes (ok when connected).
    net::awaitable<error_code> begin();
    void set_state(session_state next);

    net::any_io_executor executor_;
    fake_server& server_;
    int64_t session_id_;
    session_state state_ = session_state::connected;
    state_callback state_callback_;
};

}  // namespace broker::zk
