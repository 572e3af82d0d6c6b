#include "zk/fake_client.h"

#include <cstdio>

namespace broker::zk {
namespace {

// ZooKeeper's path rules (PathUtils.validatePath), the ones that matter here: absolute, no empty
// component, no "." or ".." component, no trailing slash except on the root. A sequential create
// may end with a slash: the name is then the counter alone.
bool valid_path(const std::string& path, bool sequential) {
    if (path.empty() || path.front() != '/') {
        return false;
    }
    if (path == "/") {
        return true;
    }
    std::size_t start = 1;
    while (start <= path.size()) {
        std::size_t end = path.find('/', start);
        if (end == std::string::npos) {
            end = path.size();
        }
        std::string_view component(path.data() + start, end - start);
        bool last = end == path.size();
        if (component.empty() && !(last && sequential)) {
            return false;
        }
        if (component == "." || component == "..") {
            return false;
        }
        start = end + 1;
    }
    return path.back() != '/' || sequential;
}

std::string parent_of(const std::string& path) {
    std::size_t slash = path.rfind('/');
    return slash == 0 ? std::string("/") : path.substr(0, slash);
}

bool sequential(create_mode mode) {
    return mode == create_mode::persistent_sequential || mode == create_mode::ephemeral_sequential;
}

bool ephemeral(create_mode mode) {
    return mode == create_mode::ephemeral || mode == create_mode::ephemeral_sequential;
}

bool version_matches(int32_t expected, int32_t actual) {
    return expected == any_version || expected == actual;
}

}  // namespace

fake_server::fake_server() {
    nodes_.emplace("/", znode{});
}

fake_server::~fake_server() = default;

std::size_t fake_server::watch_count() const noexcept {
    std::size_t count = 0;
    for (const auto& [path, watches] : data_watches_) {
        count += watches.size();
    }
    for (const auto& [path, watches] : child_watches_) {
        count += watches.size();
    }
    return count;
}

error_code fake_server::apply(tree& nodes, const op& o, int64_t session_id, int64_t zxid,
                              op_result& out, std::vector<trigger>& triggers) const {
    bool seq = o.type == op::kind::create && sequential(o.mode);
    if (!valid_path(o.path, seq)) {
        return error_code::bad_arguments;
    }
    switch (o.type) {
        case op::kind::check: {
            auto it = nodes.find(o.path);
            if (it == nodes.end()) {
                return error_code::no_node;
            }
            if (!version_matches(o.version, it->second.stat.version)) {
                return error_code::bad_version;
            }
            return error_code::ok;
        }
        case op::kind::create: {
            if (o.path == "/") {
                return error_code::node_exists;
            }
            std::string parent_path = parent_of(o.path);
            auto parent = nodes.find(parent_path);
            if (parent == nodes.end()) {
                return error_code::no_node;
            }
            if (parent->second.stat.ephemeral_owner != 0) {
                return error_code::no_children_for_ephemerals;
            }
            std::string path = o.path;
            if (seq) {
                char suffix[16];
                std::snprintf(suffix, sizeof suffix, "%010d", parent->second.stat.cversion);
                path += suffix;
            }
            if (nodes.count(path) != 0) {
                return error_code::node_exists;
            }
            znode created;
            created.data = o.data;
            created.stat.czxid = zxid;
            created.stat.mzxid = zxid;
            created.stat.pzxid = zxid;
            created.stat.ephemeral_owner = ephemeral(o.mode) ? session_id : 0;
            created.stat.data_length = static_cast<int32_t>(o.data.size());
            nodes.emplace(path, std::move(created));
            parent->second.stat.cversion += 1;
            parent->second.stat.num_children += 1;
            parent->second.stat.pzxid = zxid;
            triggers.push_back({table::data, path, watch_event::created});
            triggers.push_back({table::child, parent_path, watch_event::children_changed});
            out.path = std::move(path);
            return error_code::ok;
        }
        case op::kind::set: {
            auto it = nodes.find(o.path);
            if (it == nodes.end()) {
                return error_code::no_node;
            }
            auto& st = it->second.stat;
            if (!version_matches(o.version, st.version)) {
                return error_code::bad_version;
            }
            it->second.data = o.data;
            st.version += 1;
            st.mzxid = zxid;
            st.data_length = static_cast<int32_t>(o.data.size());
            triggers.push_back({table::data, o.path, watch_event::data_changed});
            out.stat = st;
            return error_code::ok;
        }
        case op::kind::erase: {
            if (o.path == "/") {
                return error_code::bad_arguments;
            }
            auto it = nodes.find(o.path);
            if (it == nodes.end()) {
                return error_code::no_node;
            }
            // ZooKeeper checks the version before the children.
            if (!version_matches(o.version, it->second.stat.version)) {
                return error_code::bad_version;
            }
            if (it->second.stat.num_children != 0) {
                return error_code::not_empty;
            }
            nodes.erase(it);
            std::string parent_path = parent_of(o.path);
            auto& parent = nodes.at(parent_path).stat;
            parent.cversion += 1;
            parent.num_children -= 1;
            parent.pzxid = zxid;
            triggers.push_back({table::data, o.path, watch_event::deleted});
            triggers.push_back({table::child, o.path, watch_event::deleted});
            triggers.push_back({table::child, parent_path, watch_event::children_changed});
            return error_code::ok;
        }
    }
    return error_code::bad_arguments;
}

result<std::vector<op_result>> fake_server::transact(const std::vector<op>& ops,
                                                     int64_t session_id) {
    result<std::vector<op_result>> out;
    out.value.resize(ops.size());
    if (ops.empty()) {
        return out;
    }
    const int64_t zxid = zxid_ + 1;
    std::vector<trigger> triggers;
    // A single op leaves the tree unchanged when it fails, so it can apply in place; a multi
    // applies to a copy that replaces the tree only when every op succeeded.
    tree staged;
    tree& target = ops.size() == 1 ? nodes_ : (staged = nodes_);
    for (std::size_t i = 0; i < ops.size(); ++i) {
        error_code code = apply(target, ops[i], session_id, zxid, out.value[i], triggers);
        if (code != error_code::ok) {
            // As the C client reports a failed multi: the earlier ops ok, the failing one its
            // code, the later ones a runtime inconsistency; nothing applied.
            for (std::size_t j = 0; j < ops.size(); ++j) {
                out.value[j] = op_result{};
                out.value[j].error = j < i    ? error_code::ok
                                     : j == i ? code
                                              : error_code::runtime_inconsistency;
            }
            out.error = code;
            return out;
        }
    }
    if (ops.size() != 1) {
        nodes_ = std::move(staged);
    }
    zxid_ = zxid;
    fire(triggers);
    return out;
}

void fake_server::fire(const std::vector<trigger>& triggers) {
    for (const auto& t : triggers) {
        auto& watches = t.from == table::data ? data_watches_ : child_watches_;
        auto it = watches.find(t.path);
        if (it == watches.end()) {
            continue;
        }
        std::vector<watch> fired = std::move(it->second);
        watches.erase(it);
        for (auto& w : fired) {
            net::post(w.executor, [callback = std::move(w.callback), event = t.event,
                                   path = t.path] { callback(event, path); });
        }
    }
}

void fake_server::add_watch(table to, const std::string& path, watch w) {
    (to == table::data ? data_watches_ : child_watches_)[path].push_back(std::move(w));
}

void fake_server::close_session(int64_t session_id, bool notify) {
    // The session's own watches go first: they are not triggered by the deletes below.
    std::vector<std::pair<std::string, watch>> own;
    for (auto* watches : {&data_watches_, &child_watches_}) {
        for (auto it = watches->begin(); it != watches->end();) {
            auto& list = it->second;
            for (auto w = list.begin(); w != list.end();) {
                if (w->session_id == session_id) {
                    own.emplace_back(it->first, std::move(*w));
                    w = list.erase(w);
                } else {
                    ++w;
                }
            }
            it = list.empty() ? watches->erase(it) : std::next(it);
        }
    }
    std::vector<op> deletes;
    for (const auto& [path, n] : nodes_) {
        if (n.stat.ephemeral_owner == session_id) {
            deletes.push_back(op::erase(path));
        }
    }
    if (!deletes.empty()) {
        // Ephemerals have no children, so these deletes cannot fail.
        transact(deletes, session_id);
    }
    if (notify) {
        for (auto& [path, w] : own) {
            net::post(w.executor, [callback = std::move(w.callback), path = path] {
                callback(watch_event::session_expired, path);
            });
        }
    }
}

fake_client::fake_client(net::any_io_executor executor, fake_server& server)
    : executor_(std::move(executor)), server_(server), session_id_(server.next_session_id_++) {}

fake_client::~fake_client() {
    if (state_ != session_state::expired) {
        server_.close_session(session_id_, /*notify=*/false);
    }
}

void fake_client::on_state_change(state_callback callback) {
    state_callback_ = std::move(callback);
}

void fake_client::set_state(session_state next) {
    state_ = next;
    if (state_callback_) {
        net::post(executor_, [callback = state_callback_, next] { callback(next); });
    }
}

void fake_client::expire_session() {
    if (state_ == session_state::expired) {
        return;
    }
    server_.close_session(session_id_, /*notify=*/true);
    set_state(session_state::expired);
}

void fake_client::disconnect() {
    if (state_ == session_state::connected) {
        set_state(session_state::connecting);
    }
}

void fake_client::reconnect() {
    if (state_ == session_state::connecting) {
        set_state(session_state::connected);
    }
}

net::awaitable<error_code> fake_client::begin() {
    auto step = net::post(executor_, net::use_awaitable);
    co_await std::move(step);
    switch (state_) {
        case session_state::connected: co_return error_code::ok;
        case session_state::connecting: co_return error_code::connection_loss;
        case session_state::expired: co_return error_code::session_expired;
    }
    co_return error_code::invalid_state;
}

net::awaitable<result<node>> fake_client::get(std::string path, watch_callback watch) {
    result<node> out;
    auto began = begin();  // named: see STYLE.md, co_await temporaries
    out.error = co_await std::move(began);
    if (!out.ok()) {
        co_return out;
    }
    if (!valid_path(path, false)) {
        out.error = error_code::bad_arguments;
        co_return out;
    }
    auto it = server_.nodes_.find(path);
    if (it == server_.nodes_.end()) {
        out.error = error_code::no_node;
        co_return out;
    }
    out.value.data = it->second.data;
    out.value.stat = it->second.stat;
    if (watch) {
        server_.add_watch(fake_server::table::data, path,
                          {session_id_, executor_, std::move(watch)});
    }
    co_return out;
}

net::awaitable<result<std::string>> fake_client::create(std::string path, std::string data,
                                                        create_mode mode) {
    result<std::string> out;
    auto began = begin();  // named: see STYLE.md, co_await temporaries
    out.error = co_await std::move(began);
    if (!out.ok()) {
        co_return out;
    }
    std::vector<op> ops{op::create(std::move(path), std::move(data), mode)};
    auto applied = server_.transact(ops, session_id_);
    out.error = applied.error;
    if (out.ok()) {
        out.value = std::move(applied.value.front().path);
    }
    co_return out;
}

net::awaitable<result<stat>> fake_client::set(std::string path, std::string data, int32_t version) {
    result<stat> out;
    auto began = begin();  // named: see STYLE.md, co_await temporaries
    out.error = co_await std::move(began);
    if (!out.ok()) {
        co_return out;
    }
    std::vector<op> ops{op::set(std::move(path), std::move(data), version)};
    auto applied = server_.transact(ops, session_id_);
    out.error = applied.error;
    if (out.ok()) {
        out.value = applied.value.front().stat;
    }
    co_return out;
}

net::awaitable<result<none>> fake_client::erase(std::string path, int32_t version) {
    result<none> out;
    auto began = begin();  // named: see STYLE.md, co_await temporaries
    out.error = co_await std::move(began);
    if (!out.ok()) {
        co_return out;
    }
    std::vector<op> ops{op::erase(std::move(path), version)};
    out.error = server_.transact(ops, session_id_).error;
    co_return out;
}

net::awaitable<result<std::vector<std::string>>> fake_client::children(std::string path,
                                                                       watch_callback watch) {
    result<std::vector<std::string>> out;
    auto began = begin();  // named: see STYLE.md, co_await temporaries
    out.error = co_await std::move(began);
    if (!out.ok()) {
        co_return out;
    }
    if (!valid_path(path, false)) {
        out.error = error_code::bad_arguments;
        co_return out;
    }
    if (server_.nodes_.count(path) == 0) {
        out.error = error_code::no_node;
        co_return out;
    }
    // The map is sorted, so a node's descendants follow it under the prefix "<path>/"; the
    // children are those with no further slash.
    const std::string prefix = path == "/" ? path : path + "/";
    for (auto it = server_.nodes_.lower_bound(prefix);
         it != server_.nodes_.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it) {
        if (it->first.size() > prefix.size() &&
            it->first.find('/', prefix.size()) == std::string::npos) {
            out.value.push_back(it->first.substr(prefix.size()));
        }
    }
    if (watch) {
        server_.add_watch(fake_server::table::child, path,
                          {session_id_, executor_, std::move(watch)});
    }
    co_return out;
}

net::awaitable<result<stat>> fake_client::exists(std::string path, watch_callback watch) {
    result<stat> out;
    auto began = begin();  // named: see STYLE.md, co_await temporaries
    out.error = co_await std::move(began);
    if (!out.ok()) {
        co_return out;
    }
    if (!valid_path(path, false)) {
        out.error = error_code::bad_arguments;
        co_return out;
    }
    auto it = server_.nodes_.find(path);
    if (it == server_.nodes_.end()) {
        out.error = error_code::no_node;
    } else {
        out.value = it->second.stat;
    }
    if (watch) {
        server_.add_watch(fake_server::table::data, path,
                          {session_id_, executor_, std::move(watch)});
    }
    co_return out;
}

net::awaitable<result<std::vector<op_result>>> fake_client::multi(std::vector<op> ops) {
    result<std::vector<op_result>> out;
    auto began = begin();  // named: see STYLE.md, co_await temporaries
    out.error = co_await std::move(began);
    if (!out.ok()) {
        out.value.resize(ops.size());
        for (auto& r : out.value) {
            r.error = out.error;
        }
        co_return out;
    }
    co_return server_.transact(ops, session_id_);
}

}  // namespace broker::zk
