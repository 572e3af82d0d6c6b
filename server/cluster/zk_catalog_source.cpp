#include "server/cluster/zk_catalog_source.h"

#include <atomic>
#include <condition_variable>
#include <exception>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "server/logging.h"
#include "zk/znodes.h"

namespace broker::server::cluster {
namespace {

namespace znodes = zk::znodes;

/// How long a refresh pass waits before retrying after a read failed (the connection was lost).
constexpr std::chrono::milliseconds retry_delay{1000};

/// What a watch covers, so its firing marks the right things stale.
enum class watch_kind { topic_list, topic, topic_config, default_config, broker_config };

}  // namespace

namespace detail {

struct catalog_source_state {
    catalog_source_state(zk::session& s, net::any_io_executor ex, node_id id,
                         std::chrono::milliseconds timeout)
        : session(s),
          executor(std::move(ex)),
          local(id),
          local_entity(std::to_string(id.value())),
          start_timeout(timeout),
          retry_timer(executor) {}

    zk::session& session;
    const net::any_io_executor executor;
    const node_id local;
    const std::string local_entity;
    const std::chrono::milliseconds start_timeout;

    // ---- Shared with start()/stop() callers.
    std::mutex mutex;  // serialises each delivery with start() and stop(); guards up to `current`
    std::condition_variable first_delivered;
    catalog_listener* listener = nullptr;
    bool stopped = false;
    bool first_done = false;  // the first version was applied, or failed to prepare
    std::optional<std::string> first_error;
    std::atomic<bool> stopping{false};  // set with `stopped`, read without the mutex
    std::atomic<int64_t> versions{0};
    mutable std::mutex current_mutex;  // guards `current` (the pointer only)
    std::shared_ptr<const catalog> current = std::make_shared<const catalog>();

    // ---- The executor's alone.
    zk::client* client = nullptr;  // the session's client the reads go to (null before one)
    int generation = 0;            // bumped on each new session: older watches and reads are void
    bool handler_registered = false;
    bool running = false;  // a refresh pass is under way
    bool retry_pending = false;
    // What is stale (to be read again).
    bool list_stale = false;
    bool all_stale = false;  // with list_stale: every listed topic and its config too
    std::set<std::string> stale_topics;
    std::set<std::string> stale_configs;
    bool default_stale = false;
    bool broker_stale = false;
    // The paths with a watch armed in this generation (a read of one of them arms none again).
    std::set<std::string> armed;
    // What was read.
    std::set<std::string> names;
    std::map<std::string, catalog_topic> topics;  // well-formed topic nodes, overrides empty
    std::map<std::string, config_map> topic_configs;
    config_map dynamic_default;
    config_map dynamic_broker;
    net::steady_timer retry_timer;
};

}  // namespace detail

namespace {

using state = detail::catalog_source_state;
using state_ptr = std::shared_ptr<state>;

void kick(const state_ptr& s);

void mark_everything(state& s) {
    s.list_stale = true;
    s.all_stale = true;
    s.default_stale = true;
    s.broker_stale = true;
}

/// A watch that marks what it covers stale and starts a refresh pass. Ignored once the source is
/// stopped or gone, or when a newer session made its generation void.
zk::watch_callback make_watch(const state_ptr& s, watch_kind kind, std::string name) {
    std::weak_ptr<state> weak = s;
    const int generation = s->generation;
    return [weak, generation, kind, name = std::move(name)](zk::watch_event event,
                                                            const std::string& path) {
        const state_ptr s = weak.lock();
        if (s == nullptr || s->stopping.load() || generation != s->generation) {
            return;
        }
        s->armed.erase(path);
        if (event == zk::watch_event::session_expired) {
            return;  // the new session's handler re-reads everything
        }
        switch (kind) {
            case watch_kind::topic_list: s->list_stale = true; break;
            case watch_kind::topic: s->stale_topics.insert(name); break;
            case watch_kind::topic_config: s->stale_configs.insert(name); break;
            case watch_kind::default_config: s->default_stale = true; break;
            case watch_kind::broker_config: s->broker_stale = true; break;
        }
        kick(s);
    };
}

/// A watch for `path` unless one is armed already (then an empty callback: no new watch).
zk::watch_callback watch_unless_armed(const state_ptr& s, const std::string& path, watch_kind kind,
                                      const std::string& name) {
    if (s->armed.count(path) != 0) {
        return {};
    }
    return make_watch(s, kind, name);
}

/// Reads the topic names with a child watch. A missing /brokers/topics reads as no topics, with
/// an exists watch for its creation.
net::awaitable<zk::error_code> read_topic_list(state_ptr s, zk::client& c, int generation) {
    const std::string path(znodes::topics_path);
    zk::watch_callback watch = watch_unless_armed(s, path, watch_kind::topic_list, {});
    const bool arming = static_cast<bool>(watch);
    auto listing = c.children(path, std::move(watch));
    zk::result<std::vector<std::string>> children = co_await std::move(listing);
    if (generation != s->generation) {
        co_return zk::error_code::ok;
    }
    std::set<std::string> listed;
    if (children.error == zk::error_code::no_node) {
        zk::watch_callback created = watch_unless_armed(s, path, watch_kind::topic_list, {});
        const bool arming_exists = static_cast<bool>(created);
        auto probe = c.exists(path, std::move(created));
        zk::result<zk::stat> exists = co_await std::move(probe);
        if (generation != s->generation) {
            co_return zk::error_code::ok;
        }
        if (exists.ok()) {
            co_return zk::error_code::ok;  // created meanwhile: list_stale stays set, read again
        }
        if (exists.error != zk::error_code::no_node) {
            co_return exists.error;
        }
        if (arming_exists) {
            s->armed.insert(path);
        }
    } else if (!children.ok()) {
        co_return children.error;
    } else {
        if (arming) {
            s->armed.insert(path);
        }
        listed.insert(children.value.begin(), children.value.end());
    }
    for (const std::string& name : listed) {
        const bool added = s->names.count(name) == 0;
        // A topic whose node has no armed watch (never read, or gone when last read) is read
        // again: its node may have been recreated in between.
        if (s->all_stale || added || s->armed.count(znodes::topic_path(name)) == 0) {
            s->stale_topics.insert(name);
        }
        if (s->all_stale || added || s->armed.count(znodes::config_topic_path(name)) == 0) {
            s->stale_configs.insert(name);
        }
    }
    for (const std::string& name : s->names) {
        if (listed.count(name) == 0) {
            s->topics.erase(name);
            s->topic_configs.erase(name);
            s->stale_topics.erase(name);
            s->stale_configs.erase(name);
        }
    }
    s->names = std::move(listed);
    s->list_stale = false;
    s->all_stale = false;
    co_return zk::error_code::ok;
}

/// The catalog entry of a topic node, or nullopt (with a warning) when it is malformed.
std::optional<catalog_topic> to_catalog_topic(const std::string& name, std::string_view data) {
    const std::optional<znodes::topic_assignment> decoded = znodes::decode_topic(data);
    if (!decoded) {
        BROKER_LOG_WARN("topic " << name << ": its node " << znodes::topic_path(name)
                                 << " is malformed; the topic is left out until it changes");
        return std::nullopt;
    }
    const std::optional<protocol::uuid> id = protocol::uuid::from_string(decoded->topic_id);
    if (!id || id->is_zero()) {
        BROKER_LOG_WARN("topic " << name << ": its node has no valid topic id ('"
                                 << decoded->topic_id
                                 << "'); the topic is left out until the controller sets one");
        return std::nullopt;
    }
    if (decoded->partitions.empty()) {
        BROKER_LOG_WARN("topic " << name << ": its node lists no partitions; left out");
        return std::nullopt;
    }
    if (auto error = check_topic_name(name)) {
        BROKER_LOG_WARN("topic " << name << ": illegal name (" << *error << "); left out");
        return std::nullopt;
    }
    catalog_topic topic;
    topic.name = name;
    topic.id = *id;
    topic.internal = is_internal_topic_name(name);
    topic.assignment.reserve(decoded->partitions.size());
    for (const auto& [partition, replicas] : decoded->partitions) {
        if (replicas.empty()) {
            BROKER_LOG_WARN("topic " << name << ": partition " << partition
                                     << " has no replicas; the topic is left out");
            return std::nullopt;
        }
        std::vector<node_id> nodes;
        nodes.reserve(replicas.size());
        for (int32_t r : replicas) {
            nodes.push_back(node_id{r});
        }
        // decode_topic guarantees the partitions are 0..n-1, so the map order is the index.
        topic.assignment.push_back(std::move(nodes));
    }
    return topic;
}

/// Reads one topic node with a data watch.
net::awaitable<zk::error_code> read_topic(state_ptr s, zk::client& c, int generation,
                                          std::string name) {
    const std::string path = znodes::topic_path(name);
    zk::watch_callback watch = watch_unless_armed(s, path, watch_kind::topic, name);
    const bool arming = static_cast<bool>(watch);
    auto get = c.get(path, std::move(watch));
    zk::result<zk::node> node = co_await std::move(get);
    if (generation != s->generation) {
        co_return zk::error_code::ok;
    }
    if (node.error == zk::error_code::no_node) {
        // Deleted since it was listed: the child watch reports the deletion.
        s->topics.erase(name);
        s->stale_topics.erase(name);
        co_return zk::error_code::ok;
    }
    if (!node.ok()) {
        co_return node.error;
    }
    if (arming) {
        s->armed.insert(path);
    }
    if (std::optional<catalog_topic> topic = to_catalog_topic(name, node.value.data)) {
        s->topics[name] = std::move(*topic);
    } else {
        s->topics.erase(name);
    }
    s->stale_topics.erase(name);
    co_return zk::error_code::ok;
}

/// Reads a config entity node (/config/topics/<t> or /config/brokers/<entity>) with an exists
/// watch into `out`: a missing node is an empty config; a malformed one too, with a warning.
net::awaitable<zk::error_code> read_config(state_ptr s, zk::client& c, int generation,
                                           std::string path, watch_kind kind, std::string name,
                                           config_map& out) {
    zk::watch_callback watch = watch_unless_armed(s, path, kind, name);
    const bool arming = static_cast<bool>(watch);
    auto probe = c.exists(path, std::move(watch));
    zk::result<zk::stat> exists = co_await std::move(probe);
    if (generation != s->generation) {
        co_return zk::error_code::ok;
    }
    if (!exists.ok() && exists.error != zk::error_code::no_node) {
        co_return exists.error;
    }
    if (arming) {
        s->armed.insert(path);  // armed on a missing node too: it fires on the create
    }
    out.clear();
    if (exists.error == zk::error_code::no_node) {
        co_return zk::error_code::ok;
    }
    auto get = c.get(path);
    zk::result<zk::node> node = co_await std::move(get);
    if (generation != s->generation) {
        co_return zk::error_code::ok;
    }
    if (node.error == zk::error_code::no_node) {
        co_return zk::error_code::ok;  // deleted meanwhile; the exists watch reports it
    }
    if (!node.ok()) {
        co_return node.error;
    }
    const auto decoded = znodes::decode_config(node.value.data);
    if (!decoded) {
        BROKER_LOG_WARN("config node " << path << " is malformed; read as no configs");
        co_return zk::error_code::ok;
    }
    out.insert(decoded->begin(), decoded->end());
    co_return zk::error_code::ok;
}

/// Dynamic broker configs that do not validate (keys this broker does not support, values it
/// refuses) are left out, as the single node leaves out a hand-edited file's.
config_map valid_broker_configs(const config_map& in, const std::string& path) {
    config_map out;
    for (const auto& [key, value] : in) {
        if (!is_dynamic_broker_config(key)) {
            BROKER_LOG_DEBUG("ignoring " << key << " in " << path
                                         << ": not a dynamic config of this broker");
        } else if (auto error = validate_dynamic_broker_config(key, value)) {
            BROKER_LOG_WARN("ignoring dynamic broker config in " << path << ": " << *error);
        } else {
            out.emplace(key, value);
        }
    }
    return out;
}

/// The next catalog: `current` with the topics read since, sharing the unchanged topics.
std::shared_ptr<catalog> build(const state& s, const catalog& current) {
    auto next = std::make_shared<catalog>(current);
    std::vector<std::string> gone;
    for (const auto& [name, topic] : current.topics()) {
        if (s.topics.count(name) == 0) {
            gone.push_back(name);
        }
    }
    for (const std::string& name : gone) {
        next->erase(name);
    }
    std::set<protocol::uuid> ids;
    for (const auto& [name, read] : s.topics) {
        catalog_topic topic = read;
        const auto config = s.topic_configs.find(name);
        if (config != s.topic_configs.end()) {
            topic.overrides = config->second;
        }
        if (!ids.insert(topic.id).second) {
            BROKER_LOG_WARN("topic " << name << " has the topic id " << topic.id.to_string()
                                     << " of another topic; left out");
            next->erase(name);
            continue;
        }
        const catalog_topic* existing = next->find(name);
        if (existing != nullptr && *existing == topic) {
            continue;
        }
        next->put(std::move(topic));
    }
    next->dynamic_default = s.dynamic_default;
    next->dynamic_broker = s.dynamic_broker;
    return next;
}

/// Delivers the catalog read so far, unless it equals the current version.
void deliver(state& s) {
    std::lock_guard lock(s.mutex);
    if (s.stopped || s.listener == nullptr) {
        return;
    }
    std::shared_ptr<const catalog> current;
    {
        std::lock_guard current_lock(s.current_mutex);
        current = s.current;
    }
    std::shared_ptr<catalog> next = build(s, *current);
    if (s.first_done && *next == *current) {
        return;
    }
    if (const std::error_code ec = s.listener->prepare(*next)) {
        s.listener->abandon(*next);
        BROKER_LOG_ERROR("the catalog read from ZooKeeper cannot be served: " << ec.message()
                                                                              << "; not applied");
        if (!s.first_done) {
            s.first_error = "cannot open the logs of the catalog's topics: " + ec.message();
            s.first_done = true;
            s.first_delivered.notify_all();
        }
        return;
    }
    {
        std::lock_guard current_lock(s.current_mutex);
        s.current = next;
    }
    s.versions.fetch_add(1);
    BROKER_LOG_DEBUG("catalog version " << s.versions.load() << " from ZooKeeper: "
                                        << next->topics().size() << " topics");
    s.listener->apply(std::move(next));
    if (!s.first_done) {
        s.first_done = true;
        s.first_delivered.notify_all();
    }
}

void schedule_retry(const state_ptr& s) {
    if (s->retry_pending || s->stopping.load()) {
        return;
    }
    s->retry_pending = true;
    s->retry_timer.expires_after(retry_delay);
    std::weak_ptr<state> weak = s;
    s->retry_timer.async_wait([weak](const boost::system::error_code& ec) {
        const state_ptr s = weak.lock();
        if (s == nullptr) {
            return;
        }
        s->retry_pending = false;
        if (!ec) {
            kick(s);
        }
    });
}

/// One refresh pass: reads what is stale, one node at a time, until nothing is, then delivers.
net::awaitable<void> refresh(state_ptr s) {
    while (!s->stopping.load() && s->client != nullptr) {
        zk::client& c = *s->client;
        const int generation = s->generation;
        zk::error_code error = zk::error_code::ok;
        if (s->list_stale) {
            auto read = read_topic_list(s, c, generation);
            error = co_await std::move(read);
        } else if (!s->stale_topics.empty()) {
            std::string name = *s->stale_topics.begin();
            if (s->names.count(name) == 0) {
                s->stale_topics.erase(name);  // a watch of a topic no longer listed
                continue;
            }
            auto read = read_topic(s, c, generation, std::move(name));
            error = co_await std::move(read);
        } else if (!s->stale_configs.empty()) {
            std::string name = *s->stale_configs.begin();
            if (s->names.count(name) == 0) {
                s->stale_configs.erase(name);
                continue;
            }
            config_map configs;
            std::string path = znodes::config_topic_path(name);
            auto read = read_config(s, c, generation, std::move(path), watch_kind::topic_config,
                                    name, configs);
            error = co_await std::move(read);
            if (error == zk::error_code::ok && generation == s->generation) {
                s->topic_configs[name] = std::move(configs);
                s->stale_configs.erase(name);
            }
        } else if (s->default_stale || s->broker_stale) {
            const bool is_default = s->default_stale;
            const std::string path = znodes::config_broker_path(
                is_default ? std::string(znodes::default_broker_entity) : s->local_entity);
            config_map configs;
            auto read = read_config(
                s, c, generation, path,
                is_default ? watch_kind::default_config : watch_kind::broker_config, {}, configs);
            error = co_await std::move(read);
            if (error == zk::error_code::ok && generation == s->generation) {
                (is_default ? s->dynamic_default : s->dynamic_broker) =
                    valid_broker_configs(configs, path);
                (is_default ? s->default_stale : s->broker_stale) = false;
            }
        } else {
            deliver(*s);
            break;
        }
        if (generation != s->generation) {
            continue;  // a new session: everything is stale again, read from its client
        }
        if (error != zk::error_code::ok) {
            if (error == zk::error_code::session_expired) {
                // The new session's handler marks everything stale and starts a pass.
                BROKER_LOG_DEBUG("catalog read stopped: the ZooKeeper session expired");
            } else {
                BROKER_LOG_WARN("reading the catalog from ZooKeeper failed ("
                                << zk::to_string(error) << "); retrying");
                schedule_retry(s);
            }
            break;
        }
    }
    s->running = false;
}

void kick(const state_ptr& s) {
    if (s->running || s->stopping.load() || s->client == nullptr) {
        return;
    }
    s->running = true;
    // co_spawn starts the pass on a later turn of the executor, so the watches of one burst are
    // read and delivered together.
    net::co_spawn(s->executor, refresh(s), [s](std::exception_ptr e) {
        if (e) {
            s->running = false;
            try {
                std::rethrow_exception(e);
            } catch (const std::exception& error) {
                BROKER_LOG_ERROR("reading the catalog from ZooKeeper failed: " << error.what());
            } catch (...) {
                BROKER_LOG_ERROR("reading the catalog from ZooKeeper failed: unknown exception");
            }
            schedule_retry(s);
        }
    });
}

/// Starts reading on `client` as a new generation: every earlier watch and read is void.
void begin_generation(const state_ptr& s, zk::client& client) {
    s->client = &client;
    ++s->generation;
    s->armed.clear();
    mark_everything(*s);
    kick(s);
}

/// The handler run on each new session: everything is read again from its client. It only
/// starts the reads, so the session's other handlers do not wait for the catalog.
net::awaitable<bool> on_new_session(std::weak_ptr<state> weak, zk::client& client) {
    const state_ptr s = weak.lock();
    if (s != nullptr && !s->stopping.load()) {
        BROKER_LOG_INFO("new ZooKeeper session: reading the catalog again");
        begin_generation(s, client);
    }
    co_return true;
}

}  // namespace

zk_catalog_source::zk_catalog_source(zk::session& session, net::any_io_executor executor,
                                     node_id local, std::chrono::milliseconds start_timeout)
    : state_(std::make_shared<detail::catalog_source_state>(session, std::move(executor), local,
                                                            start_timeout)) {}

zk_catalog_source::~zk_catalog_source() {
    stop();
}

void zk_catalog_source::start(catalog_listener& listener) {
    {
        std::lock_guard lock(state_->mutex);
        if (state_->listener != nullptr || state_->stopped) {
            return;
        }
        state_->listener = &listener;
    }
    const state_ptr s = state_;
    net::post(s->executor, [s] {
        if (s->stopping.load() || s->handler_registered) {
            return;
        }
        s->handler_registered = true;
        std::weak_ptr<state> weak = s;
        s->session.on_new_session(
            [weak](zk::client& client) { return on_new_session(weak, client); });
        // The expired client is about to be replaced (and destroyed): nothing reads from it
        // again, and whatever it still answers is void.
        s->session.on_expired([weak] {
            if (const state_ptr s = weak.lock()) {
                s->client = nullptr;
                ++s->generation;
            }
        });
        // A session established before the handler was registered is read now; otherwise the
        // handler reads the first session's catalog.
        if (s->client == nullptr && s->session.generation() > 0) {
            try {
                begin_generation(s, s->session.current());
            } catch (const std::logic_error& e) {
                // Stopped, or between two clients: the next session's handler reads.
                BROKER_LOG_DEBUG("catalog source: no ZooKeeper client yet: " << e.what());
            }
        }
    });

    std::unique_lock lock(s->mutex);
    const bool done =
        s->first_delivered.wait_for(lock, s->start_timeout, [&s] { return s->first_done; });
    if (done && !s->first_error) {
        return;
    }
    // Nothing is delivered after a failed start.
    s->stopped = true;
    s->stopping.store(true);
    const std::string message = done
                                    ? *s->first_error
                                    : "the topic catalog could not be read from ZooKeeper within " +
                                          std::to_string(s->start_timeout.count()) + " ms";
    lock.unlock();
    net::post(s->executor, [s] { s->retry_timer.cancel(); });
    throw std::runtime_error(message);
}

void zk_catalog_source::stop() {
    {
        std::lock_guard lock(state_->mutex);
        if (state_->stopped) {
            return;
        }
        state_->stopped = true;
        state_->stopping.store(true);
    }
    const state_ptr s = state_;
    net::post(s->executor, [s] { s->retry_timer.cancel(); });
}

std::shared_ptr<const catalog> zk_catalog_source::current() const {
    std::lock_guard lock(state_->current_mutex);
    return state_->current;
}

int64_t zk_catalog_source::versions_applied() const {
    return state_->versions.load();
}

}  // namespace broker::server::cluster
