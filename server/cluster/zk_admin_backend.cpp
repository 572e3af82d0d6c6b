#include "server/cluster/zk_admin_backend.h"

#include <algorithm>
#include <charconv>
#include <exception>
#include <future>
#include <set>
#include <type_traits>

#include "server/cluster/assignment.h"
#include "server/logging.h"
#include "server/metadata/admin_validation.h"
#include "zk/znodes.h"

namespace broker::server::cluster {
namespace {

namespace znodes = zk::znodes;
using protocol::error_code;

/// The group coordinator's topic: its counts default to offsets.topic.* instead of the general
/// defaults, as Kafka creates it.
constexpr std::string_view offsets_topic = "__consumer_offsets";

/// How many times a write that lost a race (a node created, changed or deleted between the read
/// and the write) is tried again after reading afresh.
constexpr int write_attempts = 2;

/// The Kafka answer to a ZooKeeper failure while doing `what`.
topic_result zk_failure(zk::error_code e, std::string_view what) {
    switch (e) {
        case zk::error_code::connection_loss:
        case zk::error_code::operation_timeout:
        case zk::error_code::session_expired:
        case zk::error_code::invalid_state:
        case zk::error_code::closing:
            return topic_result::failure(error_code::request_timed_out,
                                         std::string(what) +
                                             " failed: ZooKeeper is not reachable (" +
                                             std::string(zk::to_string(e)) + ").");
        default:
            BROKER_LOG_ERROR(what << " failed: ZooKeeper answered " << zk::to_string(e));
            return topic_result::failure(error_code::unknown_server_error,
                                         std::string(what) + " failed: ZooKeeper answered " +
                                             std::string(zk::to_string(e)) + ".");
    }
}

template <typename T>
T with_result(topic_result r) {
    if constexpr (std::is_same_v<T, created_topic>) {
        created_topic out;
        out.result = std::move(r);
        return out;
    } else {
        return r;
    }
}

topic_result unknown_topic(std::string_view topic) {
    return topic_result::failure(error_code::unknown_topic_or_partition,
                                 "The topic '" + std::string(topic) + "' does not exist.");
}

std::map<std::string, std::string> to_std_map(const config_map& m) {
    return {m.begin(), m.end()};
}

std::string parent_of(const std::string& path) {
    const std::size_t slash = path.rfind('/');
    return slash == 0 || slash == std::string::npos ? std::string("/") : path.substr(0, slash);
}

/// The brokers registered under /brokers/ids with their racks, ordered by id. A registration
/// that does not decode counts without a rack.
net::awaitable<zk::result<std::vector<broker_placement>>> read_live_brokers(zk::client& c) {
    zk::result<std::vector<broker_placement>> out;
    auto listing = c.children(std::string(znodes::broker_ids_path));
    zk::result<std::vector<std::string>> children = co_await std::move(listing);
    if (children.error == zk::error_code::no_node) {
        co_return out;  // no broker ever registered
    }
    if (!children.ok()) {
        out.error = children.error;
        co_return out;
    }
    for (const std::string& name : children.value) {
        int32_t id = -1;
        const auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), id);
        if (ec != std::errc() || end != name.data() + name.size() || id < 0) {
            continue;
        }
        auto get = c.get(znodes::broker_path(id));
        zk::result<zk::node> node = co_await std::move(get);
        if (node.error == zk::error_code::no_node) {
            continue;  // gone since the listing
        }
        if (!node.ok()) {
            out.error = node.error;
            co_return out;
        }
        broker_placement broker;
        broker.id = id;
        if (auto registration = znodes::decode_broker(id, node.value.data)) {
            broker.rack = registration->rack;
        } else {
            BROKER_LOG_WARN("broker " << id << "'s registration is malformed; placing replicas "
                                      << "on it without a rack");
        }
        out.value.push_back(std::move(broker));
    }
    std::sort(out.value.begin(), out.value.end(),
              [](const broker_placement& a, const broker_placement& b) { return a.id < b.id; });
    co_return out;
}

std::set<int32_t> ids_of(const std::vector<broker_placement>& brokers) {
    std::set<int32_t> out;
    for (const broker_placement& b : brokers) {
        out.insert(b.id);
    }
    return out;
}

/// Creates `path` (persistent); when its parent is missing, creates the parents and tries again.
net::awaitable<zk::result<std::string>> create_with_parents(zk::client& c, std::string path,
                                                            std::string data,
                                                            zk::create_mode mode) {
    auto first = c.create(path, data, mode);
    zk::result<std::string> created = co_await std::move(first);
    if (created.error != zk::error_code::no_node) {
        co_return created;
    }
    auto parents = zk::create_recursive(c, parent_of(path));
    const zk::error_code made = co_await std::move(parents);
    if (made != zk::error_code::ok) {
        created.error = made;
        co_return created;
    }
    auto again = c.create(std::move(path), std::move(data), mode);
    created = co_await std::move(again);
    co_return created;
}

/// Sets `path` to `data` whatever its version, creating it when missing (Kafka's
/// setOrCreateEntityConfigs).
net::awaitable<zk::error_code> set_or_create(zk::client& c, std::string path, std::string data) {
    for (int attempt = 0; attempt < write_attempts; ++attempt) {
        auto set = c.set(path, data, zk::any_version);
        const zk::result<zk::stat> written = co_await std::move(set);
        if (written.error != zk::error_code::no_node) {
            co_return written.error;
        }
        auto create = create_with_parents(c, path, data, zk::create_mode::persistent);
        const zk::result<std::string> created = co_await std::move(create);
        if (created.error != zk::error_code::node_exists) {
            co_return created.error;
        }
        // Created by someone else in between: set it again.
    }
    co_return zk::error_code::node_exists;
}

/// Adds a /config/changes notification for `entity_path` ("topics/<t>", "brokers/<id>").
net::awaitable<zk::error_code> notify_change(zk::client& c, std::string entity_path) {
    std::string data = znodes::encode_config_change(entity_path);
    auto create = create_with_parents(c, std::string(znodes::config_change_prefix), std::move(data),
                                      zk::create_mode::persistent_sequential);
    const zk::result<std::string> created = co_await std::move(create);
    co_return created.error;
}

/// A config entity node as read for a read-modify-write: its configs and the version to write at
/// (nullopt: the node does not exist, so the write creates it).
struct entity_config {
    config_map configs;
    std::optional<int32_t> version;
};

net::awaitable<zk::result<entity_config>> read_entity_config(zk::client& c, std::string path) {
    zk::result<entity_config> out;
    auto get = c.get(path);
    const zk::result<zk::node> node = co_await std::move(get);
    if (node.error == zk::error_code::no_node) {
        co_return out;
    }
    if (!node.ok()) {
        out.error = node.error;
        co_return out;
    }
    out.value.version = node.value.stat.version;
    if (auto decoded = znodes::decode_config(node.value.data)) {
        out.value.configs.insert(decoded->begin(), decoded->end());
    } else {
        BROKER_LOG_WARN("config node " << path << " is malformed; replacing it");
    }
    co_return out;
}

/// Writes an entity's configs at the version they were read at (a create when the node did not
/// exist). bad_version, no_node or node_exists mean someone else changed it in between.
net::awaitable<zk::error_code> write_entity_config(zk::client& c, std::string path,
                                                   const config_map& configs,
                                                   std::optional<int32_t> version) {
    std::string data = znodes::encode_config(to_std_map(configs));
    if (version) {
        auto set = c.set(std::move(path), std::move(data), *version);
        const zk::result<zk::stat> written = co_await std::move(set);
        co_return written.error;
    }
    auto create =
        create_with_parents(c, std::move(path), std::move(data), zk::create_mode::persistent);
    const zk::result<std::string> created = co_await std::move(create);
    co_return created.error;
}

bool lost_race(zk::error_code e) {
    return e == zk::error_code::bad_version || e == zk::error_code::no_node ||
           e == zk::error_code::node_exists;
}

topic_result concurrent_change(std::string_view what) {
    return topic_result::failure(
        error_code::request_timed_out,
        std::string(what) + " was changed concurrently by another request; try again.");
}

std::string broker_entity(bool default_resource, int32_t broker_id) {
    return default_resource ? std::string(znodes::default_broker_entity)
                            : std::to_string(broker_id);
}

}  // namespace

zk_admin_backend::zk_admin_backend(const broker_config& config, zk::session& session,
                                   net::any_io_executor executor, const zk_catalog_source& catalog)
    : config_(config),
      session_(session),
      executor_(std::move(executor)),
      catalog_(catalog),
      timeout_(std::max(config.zookeeper_session_timeout_ms, 1)),
      rng_(std::random_device{}()) {}

template <typename T>
T zk_admin_backend::run(net::awaitable<T> work) {
    std::future<T> done = net::co_spawn(executor_, std::move(work), net::use_future);
    if (done.wait_for(timeout_) != std::future_status::ready) {
        BROKER_LOG_WARN("an admin change got no answer from ZooKeeper within " << timeout_.count()
                                                                               << " ms");
        return with_result<T>(topic_result::failure(
            error_code::request_timed_out,
            "ZooKeeper did not answer within " + std::to_string(timeout_.count()) + " ms."));
    }
    try {
        return done.get();
    } catch (const std::exception& e) {
        BROKER_LOG_ERROR("an admin change failed: " << e.what());
        return with_result<T>(
            topic_result::failure(error_code::unknown_server_error, std::string(e.what())));
    }
}

broker_config_view zk_admin_backend::broker_view(const catalog& c) const {
    return broker_config_view{&config_, &c.dynamic_default, &c.dynamic_broker};
}

// ---------------------------------------------------------------------------------------------
// Topics

created_topic zk_admin_backend::create_topic(const new_topic& topic, bool validate_only) {
    return run(create(topic, validate_only));
}

net::awaitable<created_topic> zk_admin_backend::create(new_topic topic, bool validate_only) {
    created_topic out;
    const auto fail = [&out](error_code e, std::string message) {
        out.result = topic_result::failure(e, std::move(message));
        return out;
    };
    if (auto error = check_topic_name(topic.name)) {
        co_return fail(error_code::invalid_topic_exception, *error);
    }
    const std::shared_ptr<const catalog> current = catalog_.current();
    const std::string already_exists = "Topic '" + topic.name + "' already exists.";
    if (current->find(topic.name) != nullptr) {
        co_return fail(error_code::topic_already_exists, already_exists);
    }
    zk::client& c = session_.current();
    const std::string path = znodes::topic_path(topic.name);
    auto probe = c.exists(path);
    const zk::result<zk::stat> exists = co_await std::move(probe);
    if (exists.ok()) {
        co_return fail(error_code::topic_already_exists, already_exists);
    }
    if (exists.error != zk::error_code::no_node) {
        out.result = zk_failure(exists.error, "Creating topic " + topic.name);
        co_return out;
    }
    auto marker_probe = c.exists(znodes::delete_topic_path(topic.name));
    const zk::result<zk::stat> marker = co_await std::move(marker_probe);
    if (marker.ok()) {
        co_return fail(error_code::topic_already_exists,
                       "Topic '" + topic.name + "' is marked for deletion.");
    }
    if (auto collision = check_name_collision(topic.name, *current)) {
        co_return fail(error_code::invalid_topic_exception, *collision);
    }
    auto brokers_read = read_live_brokers(c);
    const zk::result<std::vector<broker_placement>> brokers = co_await std::move(brokers_read);
    if (!brokers.ok()) {
        out.result = zk_failure(brokers.error, "Reading the registered brokers");
        co_return out;
    }

    int32_t default_partitions = config_.num_partitions;
    int16_t default_replication_factor = config_.default_replication_factor;
    if (topic.name == offsets_topic) {
        default_partitions = config_.offsets_topic_num_partitions;
        default_replication_factor = config_.offsets_topic_replication_factor;
        if (topic.internal) {
            // The group coordinator's settings for its log (Kafka's offsetsTopicConfigs).
            topic.configs.emplace("cleanup.policy", "compact");
            topic.configs.emplace("segment.bytes",
                                  std::to_string(config_.offsets_topic_segment_bytes));
            topic.configs.emplace("compression.type", "producer");
        }
    }
    const topic_layout layout = check_topic_layout(
        topic, default_partitions, default_replication_factor, ids_of(brokers.value));
    if (!layout.result.ok()) {
        out.result = layout.result;
        co_return out;
    }
    if (auto error = validate_topic_configs(topic.configs, broker_view(*current))) {
        co_return fail(error_code::invalid_config, *error);
    }
    znodes::topic_assignment assignment;
    if (topic.assignments.empty()) {
        const assignment_result placed =
            assign_replicas(brokers.value, layout.partitions, layout.replication_factor, rng_);
        if (!placed.ok()) {
            co_return fail(placed.error, placed.message);
        }
        for (std::size_t p = 0; p < placed.replicas.size(); ++p) {
            assignment.partitions[static_cast<int32_t>(p)] = placed.replicas[p];
        }
    } else {
        assignment.partitions.insert(topic.assignments.begin(), topic.assignments.end());
    }
    out.num_partitions = layout.partitions;
    out.replication_factor = layout.replication_factor;
    out.configs = describe_topic_configs(topic.configs, broker_view(*current));
    if (validate_only) {
        co_return out;
    }

    protocol::uuid id;
    do {
        id = random_topic_id();
    } while (current->contains_id(id));
    assignment.topic_id = id.to_string();
    const std::string topic_data = znodes::encode_topic(assignment);
    const std::string config_path = znodes::config_topic_path(topic.name);
    const std::string config_data = znodes::encode_config(to_std_map(topic.configs));
    // Topic configs left behind (a topic deleted while this broker's view lagged, or written by
    // hand) are replaced: set when the node exists, create otherwise, in the same multi.
    auto config_probe = c.exists(config_path);
    const zk::result<zk::stat> config_exists = co_await std::move(config_probe);
    if (!config_exists.ok() && config_exists.error != zk::error_code::no_node) {
        out.result = zk_failure(config_exists.error, "Creating topic " + topic.name);
        co_return out;
    }
    bool set_config = config_exists.ok();
    bool made_parents = false;
    for (int attempt = 0;; ++attempt) {
        std::vector<zk::op> ops;
        ops.push_back(set_config ? zk::op::set(config_path, config_data)
                                 : zk::op::create(config_path, config_data));
        ops.push_back(zk::op::create(path, topic_data));
        auto write = c.multi(std::move(ops));
        const zk::result<std::vector<zk::op_result>> written = co_await std::move(write);
        if (written.ok()) {
            break;
        }
        const auto op_error = [&written](std::size_t i) {
            return i < written.value.size() ? written.value[i].error : zk::error_code::ok;
        };
        if (op_error(1) == zk::error_code::node_exists) {
            co_return fail(error_code::topic_already_exists, already_exists);
        }
        // At most two retries: the config node's existence flipped, the parents were missing.
        const bool retry = attempt < 2;
        if (retry && (op_error(0) == zk::error_code::node_exists ||
                      (set_config && op_error(0) == zk::error_code::no_node))) {
            set_config = !set_config;  // the config node appeared or went away meanwhile
            continue;
        }
        if (retry && !made_parents &&
            (op_error(0) == zk::error_code::no_node || op_error(1) == zk::error_code::no_node)) {
            // /config/topics or /brokers/topics is missing (a fresh tree): create both.
            made_parents = true;
            auto configs_parent = zk::create_recursive(c, std::string(znodes::config_topics_path));
            const zk::error_code first = co_await std::move(configs_parent);
            auto topics_parent = zk::create_recursive(c, std::string(znodes::topics_path));
            const zk::error_code second = co_await std::move(topics_parent);
            if (first != zk::error_code::ok || second != zk::error_code::ok) {
                out.result = zk_failure(first != zk::error_code::ok ? first : second,
                                        "Creating topic " + topic.name);
                co_return out;
            }
            continue;
        }
        out.result = zk_failure(written.error, "Creating topic " + topic.name);
        co_return out;
    }
    BROKER_LOG_INFO("created topic "
                    << topic.name << " (" << layout.partitions << " partitions, replication factor "
                    << layout.replication_factor << ", id " << id.to_string() << ")");
    out.topic_id = id;
    co_return out;
}

topic_result zk_admin_backend::auto_create_topic(std::string_view topic, bool allowed) {
    if (catalog_.current()->find(topic) != nullptr) {
        return topic_result::success();
    }
    if (auto error = check_topic_name(topic)) {
        return topic_result::failure(error_code::invalid_topic_exception, *error);
    }
    if (!allowed || !config_.auto_create_topics_enable || is_internal_topic_name(topic)) {
        return topic_result::failure(error_code::unknown_topic_or_partition,
                                     "This server does not host this topic-partition.");
    }
    new_topic request;
    request.name = std::string(topic);
    created_topic created = create_topic(request, false);
    if (created.result.error == error_code::topic_already_exists) {
        return topic_result::success();  // created concurrently (by another broker too)
    }
    return created.result;
}

topic_result zk_admin_backend::delete_topic(std::string_view topic) {
    const std::shared_ptr<const catalog> current = catalog_.current();
    const catalog_topic* entry = current->find(topic);
    if (entry == nullptr) {
        return topic_result::failure(error_code::unknown_topic_or_partition,
                                     "This server does not host this topic-partition.");
    }
    if (!config_.delete_topic_enable) {
        return topic_result::failure(error_code::topic_deletion_disabled,
                                     "Topic deletion is disabled.");
    }
    if (entry->internal) {
        return topic_result::failure(
            error_code::invalid_topic_exception,
            "Topic " + entry->name + " is an internal topic and cannot be deleted.");
    }
    return run(mark_for_deletion(entry->name));
}

topic_result zk_admin_backend::delete_topic(const protocol::uuid& topic_id) {
    const std::shared_ptr<const catalog> current = catalog_.current();
    const catalog_topic* entry = current->find(topic_id);
    if (entry == nullptr) {
        return topic_result::failure(error_code::unknown_topic_id,
                                     "This server does not host this topic ID.");
    }
    return delete_topic(entry->name);
}

net::awaitable<topic_result> zk_admin_backend::mark_for_deletion(std::string topic) {
    zk::client& c = session_.current();
    auto probe = c.exists(znodes::topic_path(topic));
    const zk::result<zk::stat> exists = co_await std::move(probe);
    if (exists.error == zk::error_code::no_node) {
        co_return topic_result::failure(error_code::unknown_topic_or_partition,
                                        "This server does not host this topic-partition.");
    }
    if (!exists.ok()) {
        co_return zk_failure(exists.error, "Deleting topic " + topic);
    }
    auto create = create_with_parents(c, znodes::delete_topic_path(topic), std::string(),
                                      zk::create_mode::persistent);
    const zk::result<std::string> created = co_await std::move(create);
    if (created.error == zk::error_code::node_exists) {
        co_return topic_result::success();  // already being deleted
    }
    if (!created.ok()) {
        co_return zk_failure(created.error, "Deleting topic " + topic);
    }
    BROKER_LOG_INFO("topic " << topic << " marked for deletion");
    co_return topic_result::success();
}

topic_result zk_admin_backend::create_partitions(
    std::string_view topic, int32_t count,
    const std::optional<std::vector<std::vector<int32_t>>>& assignments, bool validate_only) {
    if (check_topic_name(topic)) {
        return unknown_topic(topic);
    }
    return run(add_partitions(std::string(topic), count, assignments, validate_only));
}

net::awaitable<topic_result> zk_admin_backend::add_partitions(
    std::string topic, int32_t count, std::optional<std::vector<std::vector<int32_t>>> assignments,
    bool validate_only) {
    zk::client& c = session_.current();
    const std::string path = znodes::topic_path(topic);
    const std::string what = "Creating partitions of " + topic;
    for (int attempt = 0; attempt < write_attempts; ++attempt) {
        auto get = c.get(path);
        const zk::result<zk::node> node = co_await std::move(get);
        if (node.error == zk::error_code::no_node) {
            co_return unknown_topic(topic);
        }
        if (!node.ok()) {
            co_return zk_failure(node.error, what);
        }
        std::optional<znodes::topic_assignment> assignment = znodes::decode_topic(node.value.data);
        if (!assignment || assignment->partitions.empty() ||
            assignment->partitions.begin()->second.empty()) {
            BROKER_LOG_ERROR("topic " << topic << ": " << path << " is malformed");
            co_return topic_result::failure(
                error_code::unknown_server_error,
                "The replica assignment of topic '" + topic + "' in ZooKeeper is malformed.");
        }
        if (!assignment->adding_replicas.empty() || !assignment->removing_replicas.empty()) {
            co_return topic_result::failure(
                error_code::reassignment_in_progress,
                "A partition reassignment is in progress for the topic '" + topic + "'.");
        }
        auto brokers_read = read_live_brokers(c);
        const zk::result<std::vector<broker_placement>> brokers = co_await std::move(brokers_read);
        if (!brokers.ok()) {
            co_return zk_failure(brokers.error, "Reading the registered brokers");
        }
        const int32_t current_count = static_cast<int32_t>(assignment->partitions.size());
        const std::vector<int32_t>& first = assignment->partitions.begin()->second;
        const topic_result checked = check_new_partitions(current_count, count, assignments,
                                                          first.size(), ids_of(brokers.value));
        if (!checked.ok()) {
            co_return checked;
        }
        std::vector<std::vector<int32_t>> added;
        if (assignments) {
            added = *assignments;
        } else {
            // Continue the topic's pattern: the round robin starts at the broker that leads
            // partition 0 (or the next id up when it is gone), the new partitions numbered on.
            const auto start =
                std::find_if(brokers.value.begin(), brokers.value.end(),
                             [&first](const broker_placement& b) { return b.id >= first.front(); });
            const int32_t start_index =
                start == brokers.value.end()
                    ? 0
                    : static_cast<int32_t>(std::distance(brokers.value.begin(), start));
            const assignment_result placed = assign_replicas(brokers.value, count - current_count,
                                                             static_cast<int16_t>(first.size()),
                                                             rng_, start_index, current_count);
            if (!placed.ok()) {
                co_return topic_result::failure(placed.error, placed.message);
            }
            added = placed.replicas;
        }
        if (validate_only) {
            co_return topic_result::success();
        }
        for (std::size_t i = 0; i < added.size(); ++i) {
            assignment->partitions[current_count + static_cast<int32_t>(i)] = added[i];
        }
        auto set = c.set(path, znodes::encode_topic(*assignment), node.value.stat.version);
        const zk::result<zk::stat> written = co_await std::move(set);
        if (written.ok()) {
            BROKER_LOG_INFO("topic " << topic << " now has " << count << " partitions");
            co_return topic_result::success();
        }
        if (written.error != zk::error_code::bad_version) {
            co_return written.error == zk::error_code::no_node ? unknown_topic(topic)
                                                               : zk_failure(written.error, what);
        }
        // Changed since it was read: read it again and redo the checks.
    }
    co_return concurrent_change("The replica assignment of topic '" + topic + "'");
}

// ---------------------------------------------------------------------------------------------
// Configs

topic_result zk_admin_backend::alter_topic_configs(std::string_view topic,
                                                   const config_map& overrides,
                                                   bool validate_only) {
    if (check_topic_name(topic)) {
        return unknown_topic(topic);
    }
    return run(set_topic_configs(std::string(topic), overrides, validate_only));
}

topic_result zk_admin_backend::incremental_alter_topic_configs(
    std::string_view topic, const std::vector<config_operation>& ops, bool validate_only) {
    if (check_topic_name(topic)) {
        return unknown_topic(topic);
    }
    return run(change_topic_configs(std::string(topic), ops, validate_only));
}

net::awaitable<topic_result> zk_admin_backend::set_topic_configs(std::string topic,
                                                                 config_map overrides,
                                                                 bool validate_only) {
    zk::client& c = session_.current();
    const std::string what = "Changing the configs of topic " + topic;
    auto probe = c.exists(znodes::topic_path(topic));
    const zk::result<zk::stat> exists = co_await std::move(probe);
    if (exists.error == zk::error_code::no_node) {
        co_return unknown_topic(topic);
    }
    if (!exists.ok()) {
        co_return zk_failure(exists.error, what);
    }
    const std::shared_ptr<const catalog> current = catalog_.current();
    if (auto error = validate_topic_configs(overrides, broker_view(*current))) {
        co_return topic_result::failure(error_code::invalid_config, *error);
    }
    if (validate_only) {
        co_return topic_result::success();
    }
    auto write = set_or_create(c, znodes::config_topic_path(topic),
                               znodes::encode_config(to_std_map(overrides)));
    const zk::error_code written = co_await std::move(write);
    if (written != zk::error_code::ok) {
        co_return zk_failure(written, what);
    }
    auto notify = notify_change(c, "topics/" + topic);
    const zk::error_code notified = co_await std::move(notify);
    if (notified != zk::error_code::ok) {
        co_return zk_failure(notified, what);
    }
    co_return topic_result::success();
}

net::awaitable<topic_result> zk_admin_backend::change_topic_configs(
    std::string topic, std::vector<config_operation> ops, bool validate_only) {
    zk::client& c = session_.current();
    const std::string what = "Changing the configs of topic " + topic;
    const std::string path = znodes::config_topic_path(topic);
    for (int attempt = 0; attempt < write_attempts; ++attempt) {
        auto probe = c.exists(znodes::topic_path(topic));
        const zk::result<zk::stat> exists = co_await std::move(probe);
        if (exists.error == zk::error_code::no_node) {
            co_return unknown_topic(topic);
        }
        if (!exists.ok()) {
            co_return zk_failure(exists.error, what);
        }
        auto read = read_entity_config(c, path);
        zk::result<entity_config> stored = co_await std::move(read);
        if (!stored.ok()) {
            co_return zk_failure(stored.error, what);
        }
        config_map next = stored.value.configs;
        if (topic_result applied = apply_topic_config_operations(next, ops); !applied.ok()) {
            co_return applied;
        }
        const std::shared_ptr<const catalog> current = catalog_.current();
        if (auto error = validate_topic_configs(next, broker_view(*current))) {
            co_return topic_result::failure(error_code::invalid_config, *error);
        }
        if (validate_only) {
            co_return topic_result::success();
        }
        auto write = write_entity_config(c, path, next, stored.value.version);
        const zk::error_code written = co_await std::move(write);
        if (lost_race(written)) {
            continue;
        }
        if (written != zk::error_code::ok) {
            co_return zk_failure(written, what);
        }
        auto notify = notify_change(c, "topics/" + topic);
        const zk::error_code notified = co_await std::move(notify);
        if (notified != zk::error_code::ok) {
            co_return zk_failure(notified, what);
        }
        co_return topic_result::success();
    }
    co_return concurrent_change("The configs of topic '" + topic + "'");
}

topic_result zk_admin_backend::alter_broker_configs(bool default_resource,
                                                    const config_map& configs, bool validate_only) {
    if (topic_result checked = check_broker_configs(configs); !checked.ok()) {
        return checked;
    }
    if (validate_only) {
        return topic_result::success();
    }
    return run(set_broker_configs(default_resource, configs, validate_only));
}

topic_result zk_admin_backend::incremental_alter_broker_configs(
    bool default_resource, const std::vector<config_operation>& ops, bool validate_only) {
    for (const config_operation& op : ops) {
        if (topic_result name = check_broker_config_name(op.name); !name.ok()) {
            return name;
        }
    }
    return run(change_broker_configs(default_resource, ops, validate_only));
}

net::awaitable<topic_result> zk_admin_backend::set_broker_configs(bool default_resource,
                                                                  config_map configs,
                                                                  bool validate_only) {
    if (validate_only) {
        co_return topic_result::success();
    }
    zk::client& c = session_.current();
    const std::string entity = broker_entity(default_resource, config_.broker_id);
    const std::string what = "Changing the dynamic configs of broker " + entity;
    auto write = set_or_create(c, znodes::config_broker_path(entity),
                               znodes::encode_config(to_std_map(configs)));
    const zk::error_code written = co_await std::move(write);
    if (written != zk::error_code::ok) {
        co_return zk_failure(written, what);
    }
    auto notify = notify_change(c, "brokers/" + entity);
    const zk::error_code notified = co_await std::move(notify);
    if (notified != zk::error_code::ok) {
        co_return zk_failure(notified, what);
    }
    co_return topic_result::success();
}

net::awaitable<topic_result> zk_admin_backend::change_broker_configs(
    bool default_resource, std::vector<config_operation> ops, bool validate_only) {
    zk::client& c = session_.current();
    const std::string entity = broker_entity(default_resource, config_.broker_id);
    const std::string what = "Changing the dynamic configs of broker " + entity;
    const std::string path = znodes::config_broker_path(entity);
    for (int attempt = 0; attempt < write_attempts; ++attempt) {
        auto read = read_entity_config(c, path);
        zk::result<entity_config> stored = co_await std::move(read);
        if (!stored.ok()) {
            co_return zk_failure(stored.error, what);
        }
        config_map next = stored.value.configs;
        const std::shared_ptr<const catalog> current = catalog_.current();
        if (topic_result applied = apply_broker_config_operations(next, ops, broker_view(*current));
            !applied.ok()) {
            co_return applied;
        }
        if (topic_result checked = check_broker_configs(next); !checked.ok()) {
            co_return checked;
        }
        if (validate_only) {
            co_return topic_result::success();
        }
        auto write = write_entity_config(c, path, next, stored.value.version);
        const zk::error_code written = co_await std::move(write);
        if (lost_race(written)) {
            continue;
        }
        if (written != zk::error_code::ok) {
            co_return zk_failure(written, what);
        }
        auto notify = notify_change(c, "brokers/" + entity);
        const zk::error_code notified = co_await std::move(notify);
        if (notified != zk::error_code::ok) {
            co_return zk_failure(notified, what);
        }
        co_return topic_result::success();
    }
    co_return concurrent_change("The dynamic configs of broker " + entity);
}

}  // namespace broker::server::cluster
