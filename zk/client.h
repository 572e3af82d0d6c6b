#pragma once
// The ZooKeeper client interface of cluster mode.
//
// `client` is what the broker's cluster code (registration, the controller) talks to. Two
// implementations stand behind it: the wrapper of the ZooKeeper C client (libzookeeper-mt), and an
// in-memory fake (zk/fake_client.h) that unit tests use to drive the controller deterministically.
//
// Operations are awaitables that complete on the client's executor. Each one returns a `result`:
// a ZooKeeper error code (the C client's values, so a log line reads like the C client's) and the
// value, which is meaningful only when the code is `ok`. ZooKeeper answers such as "no node" or
// "bad version" are ordinary outcomes of a conditional write, not failures, so they travel as
// values and never as exceptions.
//
// Watches are ZooKeeper's: one-shot. A watch fires at most once, on the client's executor, and the
// caller re-arms it (usually by reading the node again with a new watch). When the session expires,
// every armed watch fires once with `watch_event::session_expired` and is gone.
//
// Session states: `connecting` (no session yet, or the connection to the ensemble was lost and the
// client is reconnecting within the session timeout; operations fail with `connection_loss`),
// `connected`, and `expired` (the server dropped the session: its ephemeral nodes are gone, and
// operations fail with `session_expired`). `expired` is final for a client object: whoever owns
// the client builds a new one (a new session), then registers again and re-reads everything it
// watched.
//
// Threading: a client is used from one executor (a strand or a single-threaded io_context);
// callbacks (watches, state changes) run there too, never on a ZooKeeper library thread.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/asio.h"

namespace broker::zk {

/// ZooKeeper's error codes, with the C client's values (zookeeper.h ZOO_ERRORS).
enum class error_code : int32_t {
    ok = 0,
    system_error = -1,           // ZSYSTEMERROR
    runtime_inconsistency = -2,  // ZRUNTIMEINCONSISTENCY: a multi op after the one that failed
    connection_loss = -4,        // ZCONNECTIONLOSS
    operation_timeout = -7,      // ZOPERATIONTIMEOUT
    bad_arguments = -8,          // ZBADARGUMENTS: e.g. a malformed path
    invalid_state = -9,          // ZINVALIDSTATE
    api_error = -100,            // ZAPIERROR
    no_node = -101,              // ZNONODE
    no_auth = -102,              // ZNOAUTH
    bad_version = -103,          // ZBADVERSION
    no_children_for_ephemerals = -108,  // ZNOCHILDRENFOREPHEMERALS
    node_exists = -110,                 // ZNODEEXISTS
    not_empty = -111,                   // ZNOTEMPTY
    session_expired = -112,             // ZSESSIONEXPIRED
    closing = -116,                     // ZCLOSING
};

/// The C client's name for a code ("ZNONODE"), for logs.
std::string_view to_string(error_code code) noexcept;

/// An operation's outcome: the ZooKeeper code and, when it is `ok`, the value.
template <typename T>
struct result {
    error_code error = error_code::ok;
    T value{};

    bool ok() const noexcept { return error == error_code::ok; }
};

/// The outcome of an operation that returns nothing but its code.
struct none {};

/// A node's metadata (ZooKeeper's Stat, the fields the broker uses).
struct stat {
    int64_t czxid = 0;            // the zxid of the create; Kafka's broker epoch is this
    int64_t mzxid = 0;            // the zxid of the last data change
    int64_t pzxid = 0;            // the zxid of the last change of the children
    int32_t version = 0;          // data version: 0 at create, +1 per set
    int32_t cversion = 0;         // children version: +1 per child created or deleted
    int64_t ephemeral_owner = 0;  // the owning session's id, 0 for a persistent node
    int32_t data_length = 0;
    int32_t num_children = 0;

    friend bool operator==(const stat&, const stat&) = default;
};

/// A node's data with its stat (get).
struct node {
    std::string data;
    zk::stat stat;
};

/// Create modes (zookeeper.h ZOO_PERSISTENT, ZOO_EPHEMERAL, ZOO_PERSISTENT_SEQUENTIAL,
/// ZOO_EPHEMERAL_SEQUENTIAL). A sequential node's name gets a 10-digit, zero-padded counter
/// appended: the parent's children version at the create.
enum class create_mode { persistent, ephemeral, persistent_sequential, ephemeral_sequential };

/// "Any version": a set, delete or check with this version is unconditional.
inline constexpr int32_t any_version = -1;

enum class session_state { connecting, connected, expired };

std::string_view to_string(session_state state) noexcept;

/// What fired a watch (ZooKeeper's event types; `session_expired` is the session event that
/// every armed watch receives when the session ends).
enum class watch_event { created, deleted, data_changed, children_changed, session_expired };

std::string_view to_string(watch_event event) noexcept;

/// A one-shot watch: called once, on the client's executor, with the event and the watched path.
using watch_callback = std::function<void(watch_event, const std::string& path)>;

/// Called on the client's executor for every session state change.
using state_callback = std::function<void(session_state)>;

/// One operation of a multi (ZooKeeper's transaction): all apply, or none does.
struct op {
    enum class kind { check, create, set, erase };

    kind type = kind::check;
    std::string path;
    std::string data;                            // create, set
    int32_t version = any_version;               // check, set, erase
    create_mode mode = create_mode::persistent;  // create

    /// Succeeds when the node exists with this version (any_version: when it exists).
    static op check(std::string path, int32_t version);
    static op create(std::string path, std::string data = {},
                     create_mode mode = create_mode::persistent);
    static op set(std::string path, std::string data, int32_t version = any_version);
    static op erase(std::string path, int32_t version = any_version);
};

/// One operation's outcome in a multi. When the multi failed, the ops before the one that failed
/// read `ok`, the failing one has its code, and the later ones `runtime_inconsistency`, as the C
/// client reports them; nothing was applied.
struct op_result {
    error_code error = error_code::ok;
    std::string path;  // create: the created path (with its sequence suffix)
    zk::stat stat;     // set: the node's new stat
};

/// The ZooKeeper client interface (see the file comment).
class client {
public:
    virtual ~client() = default;

    /// The executor that operations complete on and callbacks run on.
    virtual net::any_io_executor get_executor() = 0;

    virtual session_state state() const = 0;
    /// The session id (ZooKeeper's, the ephemeral owner of this client's nodes); 0 before the
    /// first session is established.
    virtual int64_t session_id() const = 0;
    /// Replaces the state callback (one per client; an empty function removes it).
    virtual void on_state_change(state_callback callback) = 0;

    /// The node's data and stat; with `watch`, a data watch (fires on data change or delete).
    virtual net::awaitable<result<node>> get(std::string path, watch_callback watch = {}) = 0;

    /// Creates a node; the value is the created path (differs from `path` for sequential modes).
    virtual net::awaitable<result<std::string>> create(std::string path, std::string data,
                                                       create_mode mode) = 0;

    /// Sets the data if the node's version is `version` (or any_version); the value is the new
    /// stat.
    virtual net::awaitable<result<stat>> set(std::string path, std::string data,
                                             int32_t version) = 0;

    /// Deletes the node if its version is `version` (or any_version) and it has no children.
    virtual net::awaitable<result<none>> erase(std::string path, int32_t version) = 0;

    /// The children's names (not paths), sorted; with `watch`, a child watch (fires when a child
    /// is created or deleted, or when the node itself is deleted).
    virtual net::awaitable<result<std::vector<std::string>>> children(
        std::string path, watch_callback watch = {}) = 0;

    /// The node's stat, or `no_node`. With `watch`, the watch is armed either way: on a missing
    /// node it fires on create, on an existing one on data change or delete.
    virtual net::awaitable<result<stat>> exists(std::string path, watch_callback watch = {}) = 0;

    /// Applies every op or none (see op_result). The code is `ok` or the first failing op's; the
    /// value lists every op's outcome in both cases (an exception to the `result` rule).
    virtual net::awaitable<result<std::vector<op_result>>> multi(std::vector<op> ops) = 0;
};

}  // namespace broker::zk
