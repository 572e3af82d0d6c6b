#include "server/metadata/local_admin_backend.h"

#include <algorithm>
#include <functional>
#include <set>

#include "common/strings.h"
#include "server/logging.h"

namespace broker::server {
namespace {

using protocol::error_code;

topic_result not_accepting() {
    return topic_result::failure(error_code::kafka_storage_error,
                                 "The broker's logs are not open, or the broker is shutting down.");
}

/// Checks replica lists against a single broker: every list names only `broker_id`, once.
/// Returns a message for INVALID_REPLICA_ASSIGNMENT, or nullopt.
std::optional<std::string> check_replicas(const std::vector<int32_t>& replicas, int32_t broker_id) {
    if (replicas.empty()) {
        return std::string("Replica assignment must not be empty.");
    }
    std::vector<int32_t> unknown;
    std::set<int32_t> seen;
    for (int32_t r : replicas) {
        if (!seen.insert(r).second) {
            return "Duplicate brokers not allowed in replica assignment: " + join(replicas, ", ") +
                   ".";
        }
        if (r != broker_id) {
            unknown.push_back(r);
        }
    }
    if (!unknown.empty()) {
        return "Unknown broker(s) in replica assignment: " + join(unknown, ", ") + ".";
    }
    return std::nullopt;
}

std::vector<node_id> to_nodes(const std::vector<int32_t>& ids) {
    std::vector<node_id> out;
    out.reserve(ids.size());
    for (int32_t id : ids) {
        out.push_back(node_id{id});
    }
    return out;
}

/// Applies IncrementalAlterConfigs operations to `current`. `is_list` tells which names take
/// APPEND/SUBTRACT; `list_default` gives the value APPEND/SUBTRACT start from when the name is
/// not set. Returns an error result or nullopt.
std::optional<topic_result> apply_operations(
    config_map& current, const std::vector<config_operation>& ops,
    const std::function<bool(std::string_view)>& is_list,
    const std::function<std::string(std::string_view)>& list_default) {
    for (const config_operation& op : ops) {
        switch (op.op) {
            case config_operation::kind::set:
                if (!op.value) {
                    return topic_result::failure(error_code::invalid_request,
                                                 "Null value not supported for : " + op.name);
                }
                current[op.name] = *op.value;
                break;
            case config_operation::kind::remove: current.erase(op.name); break;
            case config_operation::kind::append:
            case config_operation::kind::subtract: {
                const bool append = op.op == config_operation::kind::append;
                if (!is_list(op.name)) {
                    return topic_result::failure(error_code::invalid_request,
                                                 std::string("Config value ") +
                                                     (append ? "append" : "subtract") +
                                                     " is not allowed for config key: " + op.name);
                }
                const auto it = current.find(op.name);
                std::vector<std::string> items =
                    broker::split_list(it != current.end() ? it->second : list_default(op.name));
                for (const std::string& v : broker::split_list(op.value.value_or(""))) {
                    const auto pos = std::find(items.begin(), items.end(), v);
                    if (append && pos == items.end()) {
                        items.push_back(v);
                    } else if (!append && pos != items.end()) {
                        items.erase(pos);
                    }
                }
                current[op.name] = join(items, ",");
                break;
            }
        }
    }
    return std::nullopt;
}

}  // namespace

local_admin_backend::local_admin_backend(const broker_config& config, local_catalog& catalog)
    : config_(config), catalog_(catalog) {}

broker_config_view local_admin_backend::broker_view(const catalog& c) const {
    return broker_config_view{&config_, &c.dynamic_default, &c.dynamic_broker};
}

// ---------------------------------------------------------------------------------------------
// Topics

created_topic local_admin_backend::create_topic(const new_topic& topic, bool validate_only) {
    std::lock_guard lock(mutex_);
    created_topic out;
    const auto fail = [&](error_code e, std::string message) {
        out.result = topic_result::failure(e, std::move(message));
        return out;
    };
    if (auto error = check_topic_name(topic.name)) {
        return fail(error_code::invalid_topic_exception, *error);
    }
    if (!catalog_.accepting()) {
        out.result = not_accepting();
        return out;
    }
    const std::shared_ptr<const catalog> current = catalog_.current();
    if (current->find(topic.name) != nullptr) {
        return fail(error_code::topic_already_exists, "Topic '" + topic.name + "' already exists.");
    }
    if (has_collision_chars(topic.name)) {
        std::vector<std::string> colliding;
        const std::string unified = unify_collision_chars(topic.name);
        for (const auto& [name, entry] : current->topics()) {
            if (unify_collision_chars(name) == unified) {
                colliding.push_back(name);
            }
        }
        if (!colliding.empty()) {
            return fail(error_code::invalid_topic_exception,
                        "Topic '" + topic.name +
                            "' collides with existing topics: " + join(colliding, ", "));
        }
    }
    int32_t partitions = 0;
    int16_t replication_factor = 0;
    if (!topic.assignments.empty()) {
        if (topic.num_partitions != -1 || topic.replication_factor != -1) {
            return fail(error_code::invalid_request,
                        "Both numPartitions or replicationFactor and replicasAssignments were set. "
                        "Both cannot be "
                        "used at the same time.");
        }
        int32_t expected = 0;
        const std::size_t replicas = topic.assignments.begin()->second.size();
        for (const auto& [p, list] : topic.assignments) {
            if (p != expected++) {
                return fail(error_code::invalid_replica_assignment,
                            "Partitions should be a consecutive 0-based integer sequence");
            }
            if (list.size() != replicas) {
                return fail(error_code::invalid_replica_assignment,
                            "All partitions should have the same number of replicas");
            }
            if (auto error = check_replicas(list, config_.broker_id)) {
                return fail(error_code::invalid_replica_assignment, *error);
            }
        }
        partitions = static_cast<int32_t>(topic.assignments.size());
        replication_factor = static_cast<int16_t>(replicas);
    } else {
        partitions = topic.num_partitions == -1 ? config_.num_partitions : topic.num_partitions;
        replication_factor = topic.replication_factor == -1 ? config_.default_replication_factor
                                                            : topic.replication_factor;
        if (partitions <= 0) {
            return fail(error_code::invalid_partitions,
                        "Number of partitions must be larger than 0.");
        }
        if (replication_factor <= 0) {
            return fail(error_code::invalid_replication_factor,
                        "Replication factor must be larger than 0.");
        }
        if (replication_factor > 1) {
            return fail(error_code::invalid_replication_factor,
                        "Replication factor: " + std::to_string(replication_factor) +
                            " larger than available brokers: 1.");
        }
    }
    if (partitions > max_partitions_per_topic) {
        return fail(error_code::invalid_partitions, "Number of partitions must not exceed " +
                                                        std::to_string(max_partitions_per_topic) +
                                                        ".");
    }
    if (auto error = validate_topic_configs(topic.configs, broker_view(*current))) {
        return fail(error_code::invalid_config, *error);
    }
    out.num_partitions = partitions;
    out.replication_factor = replication_factor;
    out.configs = server::describe_topic_configs(topic.configs, broker_view(*current));
    if (validate_only) {
        return out;
    }

    catalog_topic created;
    created.name = topic.name;
    do {
        created.id = random_topic_id();
    } while (current->contains_id(created.id));
    created.internal = topic.internal || is_internal_topic_name(topic.name);
    for (int32_t i = 0; i < partitions; ++i) {
        const auto it = topic.assignments.find(i);
        created.assignment.push_back(it != topic.assignments.end()
                                         ? to_nodes(it->second)
                                         : std::vector<node_id>{node_id{config_.broker_id}});
    }
    created.overrides = topic.configs;
    const protocol::uuid id = created.id;
    auto next = std::make_shared<catalog>(*current);
    next->put(std::move(created));
    if (const std::error_code ec = catalog_.commit(std::move(next))) {
        BROKER_LOG_ERROR("creating topic " << topic.name << " failed: " << ec.message());
        return fail(error_code::kafka_storage_error,
                    "Creating topic " + topic.name + " failed: " + ec.message());
    }
    BROKER_LOG_INFO("created topic " << topic.name << " (" << partitions << " partitions, id "
                                     << id.to_string() << ")");
    out.topic_id = id;
    return out;
}

topic_result local_admin_backend::auto_create_topic(std::string_view topic, bool allowed) {
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
        return topic_result::success();  // created concurrently by another request
    }
    return created.result;
}

topic_result local_admin_backend::delete_topic(std::string_view topic) {
    std::lock_guard lock(mutex_);
    const std::shared_ptr<const catalog> current = catalog_.current();
    const catalog_topic* entry = current->find(topic);
    if (entry == nullptr) {
        return topic_result::failure(error_code::unknown_topic_or_partition,
                                     "This server does not host this topic-partition.");
    }
    return delete_locked(*current, *entry);
}

topic_result local_admin_backend::delete_topic(const protocol::uuid& topic_id) {
    std::lock_guard lock(mutex_);
    const std::shared_ptr<const catalog> current = catalog_.current();
    const catalog_topic* entry = current->find(topic_id);
    if (entry == nullptr) {
        return topic_result::failure(error_code::unknown_topic_id,
                                     "This server does not host this topic ID.");
    }
    return delete_locked(*current, *entry);
}

topic_result local_admin_backend::delete_locked(const catalog& current,
                                                const catalog_topic& topic) {
    if (!config_.delete_topic_enable) {
        return topic_result::failure(error_code::topic_deletion_disabled,
                                     "Topic deletion is disabled.");
    }
    if (topic.internal) {
        return topic_result::failure(
            error_code::invalid_topic_exception,
            "Topic " + topic.name + " is an internal topic and cannot be deleted.");
    }
    if (!catalog_.accepting()) {
        return not_accepting();
    }
    const std::string name = topic.name;
    auto next = std::make_shared<catalog>(current);
    next->erase(name);
    // The file first: once it no longer lists the topic, a crash cannot bring the topic back (its
    // directories would then be reported as strays at startup).
    if (const std::error_code ec = catalog_.commit(std::move(next))) {
        return topic_result::failure(error_code::kafka_storage_error,
                                     "Deleting topic " + name + " failed: " + ec.message());
    }
    BROKER_LOG_INFO("deleted topic " << name);
    return topic_result::success();
}

topic_result local_admin_backend::create_partitions(
    std::string_view topic, int32_t count,
    const std::optional<std::vector<std::vector<int32_t>>>& assignments, bool validate_only) {
    std::lock_guard lock(mutex_);
    const std::shared_ptr<const catalog> current = catalog_.current();
    const catalog_topic* entry = current->find(topic);
    if (entry == nullptr) {
        return topic_result::failure(error_code::unknown_topic_or_partition,
                                     "The topic '" + std::string(topic) + "' does not exist.");
    }
    const int32_t current_count = entry->partition_count();
    if (count < current_count) {
        return topic_result::failure(error_code::invalid_partitions,
                                     "Topic currently has " + std::to_string(current_count) +
                                         " partitions, which is higher than the requested " +
                                         std::to_string(count) + ".");
    }
    if (count == current_count) {
        return topic_result::failure(
            error_code::invalid_partitions,
            "Topic already has " + std::to_string(current_count) + " partitions.");
    }
    if (count > max_partitions_per_topic) {
        return topic_result::failure(error_code::invalid_partitions,
                                     "Number of partitions must not exceed " +
                                         std::to_string(max_partitions_per_topic) + ".");
    }
    if (assignments) {
        const int32_t added = count - current_count;
        if (static_cast<int64_t>(assignments->size()) != added) {
            return topic_result::failure(
                error_code::invalid_replica_assignment,
                "Increasing the number of partitions by " + std::to_string(added) + " but " +
                    std::to_string(assignments->size()) + " assignments provided.");
        }
        for (std::size_t i = 0; i < assignments->size(); ++i) {
            const auto& list = (*assignments)[i];
            if (auto error = check_replicas(list, config_.broker_id)) {
                return topic_result::failure(error_code::invalid_replica_assignment, *error);
            }
            if (list.size() != 1) {
                return topic_result::failure(
                    error_code::invalid_replica_assignment,
                    "Inconsistent replication factor between partitions, partition 0 has 1 while "
                    "partitions [" +
                        std::to_string(current_count + static_cast<int32_t>(i)) +
                        "] have replication factors [" + std::to_string(list.size()) +
                        "], respectively.");
            }
        }
    }
    if (validate_only) {
        return topic_result::success();
    }
    if (!catalog_.accepting()) {
        return not_accepting();
    }
    catalog_topic grown = *entry;
    for (int32_t i = current_count; i < count; ++i) {
        grown.assignment.push_back(
            assignments ? to_nodes((*assignments)[static_cast<std::size_t>(i - current_count)])
                        : std::vector<node_id>{node_id{config_.broker_id}});
    }
    const std::string name = grown.name;
    auto next = std::make_shared<catalog>(*current);
    next->put(std::move(grown));
    if (const std::error_code ec = catalog_.commit(std::move(next))) {
        return topic_result::failure(error_code::kafka_storage_error,
                                     "Creating partitions of " + name + " failed: " + ec.message());
    }
    BROKER_LOG_INFO("topic " << name << " now has " << count << " partitions");
    return topic_result::success();
}

// ---------------------------------------------------------------------------------------------
// Configs

topic_result local_admin_backend::set_overrides_locked(const catalog& current,
                                                       const catalog_topic& topic,
                                                       config_map overrides, bool validate_only) {
    if (auto error = validate_topic_configs(overrides, broker_view(current))) {
        return topic_result::failure(error_code::invalid_config, *error);
    }
    if (validate_only) {
        return topic_result::success();
    }
    if (!catalog_.accepting()) {
        return not_accepting();
    }
    catalog_topic changed = topic;
    changed.overrides = std::move(overrides);
    auto next = std::make_shared<catalog>(current);
    next->put(std::move(changed));
    if (const std::error_code ec = catalog_.commit(std::move(next))) {
        return topic_result::failure(error_code::kafka_storage_error,
                                     "Saving the configs failed: " + ec.message());
    }
    return topic_result::success();
}

topic_result local_admin_backend::alter_topic_configs(std::string_view topic,
                                                      const config_map& overrides,
                                                      bool validate_only) {
    std::lock_guard lock(mutex_);
    const std::shared_ptr<const catalog> current = catalog_.current();
    const catalog_topic* entry = current->find(topic);
    if (entry == nullptr) {
        return topic_result::failure(error_code::unknown_topic_or_partition,
                                     "The topic '" + std::string(topic) + "' does not exist.");
    }
    return set_overrides_locked(*current, *entry, overrides, validate_only);
}

topic_result local_admin_backend::incremental_alter_topic_configs(
    std::string_view topic, const std::vector<config_operation>& ops, bool validate_only) {
    std::lock_guard lock(mutex_);
    const std::shared_ptr<const catalog> current = catalog_.current();
    const catalog_topic* entry = current->find(topic);
    if (entry == nullptr) {
        return topic_result::failure(error_code::unknown_topic_or_partition,
                                     "The topic '" + std::string(topic) + "' does not exist.");
    }
    for (const config_operation& op : ops) {
        if (find_topic_config(op.name) == nullptr) {
            return topic_result::failure(error_code::invalid_config,
                                         "Unknown topic config name: " + op.name);
        }
    }
    config_map next = entry->overrides;
    const auto is_list = [](std::string_view name) {
        const topic_config_def* def = find_topic_config(name);
        return def != nullptr && def->type == config_value_type::list;
    };
    const auto list_default = [](std::string_view name) {
        const topic_config_def* def = find_topic_config(name);
        return def != nullptr ? std::string(def->default_value) : std::string();
    };
    if (auto error = apply_operations(next, ops, is_list, list_default)) {
        return *error;
    }
    return set_overrides_locked(*current, *entry, std::move(next), validate_only);
}

topic_result local_admin_backend::set_broker_configs_locked(const catalog& current,
                                                            bool default_resource,
                                                            config_map configs,
                                                            bool validate_only) {
    for (const auto& [key, value] : configs) {
        if (!is_dynamic_broker_config(key)) {
            if (find_config_key(key) != nullptr) {
                return topic_result::failure(
                    error_code::invalid_request,
                    "Cannot update these configs dynamically: [" + key + "]");
            }
            return topic_result::failure(error_code::invalid_config,
                                         "Unknown broker config name: " + key);
        }
        if (auto error = validate_dynamic_broker_config(key, value)) {
            return topic_result::failure(error_code::invalid_config, *error);
        }
    }
    if (validate_only) {
        return topic_result::success();
    }
    if (!catalog_.accepting()) {
        return not_accepting();
    }
    auto next = std::make_shared<catalog>(current);
    (default_resource ? next->dynamic_default : next->dynamic_broker) = std::move(configs);
    if (const std::error_code ec = catalog_.commit(std::move(next))) {
        return topic_result::failure(error_code::kafka_storage_error,
                                     "Saving the configs failed: " + ec.message());
    }
    return topic_result::success();
}

topic_result local_admin_backend::alter_broker_configs(bool default_resource,
                                                       const config_map& configs,
                                                       bool validate_only) {
    std::lock_guard lock(mutex_);
    return set_broker_configs_locked(*catalog_.current(), default_resource, configs, validate_only);
}

topic_result local_admin_backend::incremental_alter_broker_configs(
    bool default_resource, const std::vector<config_operation>& ops, bool validate_only) {
    std::lock_guard lock(mutex_);
    const std::shared_ptr<const catalog> current = catalog_.current();
    config_map next = default_resource ? current->dynamic_default : current->dynamic_broker;
    const auto is_list = [](std::string_view name) {
        const config_key_info* info = find_config_key(name);
        return info != nullptr && info->type == config_type::list;
    };
    const broker_config_view view = broker_view(*current);
    const auto list_default = [&view](std::string_view name) {
        const auto v = broker_value(view, name);
        return v && v->value ? *v->value : std::string();
    };
    for (const config_operation& op : ops) {
        if (!is_dynamic_broker_config(op.name)) {
            if (find_config_key(op.name) != nullptr) {
                return topic_result::failure(
                    error_code::invalid_request,
                    "Cannot update these configs dynamically: [" + op.name + "]");
            }
            return topic_result::failure(error_code::invalid_config,
                                         "Unknown broker config name: " + op.name);
        }
    }
    if (auto error = apply_operations(next, ops, is_list, list_default)) {
        return *error;
    }
    return set_broker_configs_locked(*current, default_resource, std::move(next), validate_only);
}

}  // namespace broker::server
