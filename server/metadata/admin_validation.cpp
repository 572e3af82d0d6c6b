#include "server/metadata/admin_validation.h"

#include <algorithm>
#include <functional>

#include "common/strings.h"

namespace broker::server {
namespace {

using protocol::error_code;

/// Applies IncrementalAlterConfigs operations to `current`. `is_list` tells which names take
/// APPEND/SUBTRACT; `list_default` gives the value APPEND/SUBTRACT start from when the name is
/// not set.
topic_result apply_operations(config_map& current, const std::vector<config_operation>& ops,
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
    return topic_result::success();
}

}  // namespace

std::optional<std::string> check_replica_list(const std::vector<int32_t>& replicas,
                                              const std::set<int32_t>& brokers) {
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
        if (brokers.count(r) == 0) {
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

topic_layout check_topic_layout(const new_topic& topic, int32_t default_partitions,
                                int16_t default_replication_factor,
                                const std::set<int32_t>& brokers) {
    topic_layout out;
    const auto fail = [&out](error_code e, std::string message) {
        out.result = topic_result::failure(e, std::move(message));
        return out;
    };
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
            if (auto error = check_replica_list(list, brokers)) {
                return fail(error_code::invalid_replica_assignment, *error);
            }
        }
        out.partitions = static_cast<int32_t>(topic.assignments.size());
        out.replication_factor = static_cast<int16_t>(replicas);
    } else {
        out.partitions = topic.num_partitions == -1 ? default_partitions : topic.num_partitions;
        out.replication_factor =
            topic.replication_factor == -1 ? default_replication_factor : topic.replication_factor;
        if (out.partitions <= 0) {
            return fail(error_code::invalid_partitions,
                        "Number of partitions must be larger than 0.");
        }
        if (out.replication_factor <= 0) {
            return fail(error_code::invalid_replication_factor,
                        "Replication factor must be larger than 0.");
        }
        if (static_cast<std::size_t>(out.replication_factor) > brokers.size()) {
            return fail(error_code::invalid_replication_factor,
                        "Replication factor: " + std::to_string(out.replication_factor) +
                            " larger than available brokers: " + std::to_string(brokers.size()) +
                            ".");
        }
    }
    if (out.partitions > max_partitions_per_topic) {
        return fail(error_code::invalid_partitions, "Number of partitions must not exceed " +
                                                        std::to_string(max_partitions_per_topic) +
                                                        ".");
    }
    return out;
}

std::optional<std::string> check_name_collision(std::string_view name, const catalog& current) {
    if (!has_collision_chars(name)) {
        return std::nullopt;
    }
    std::vector<std::string> colliding;
    const std::string unified = unify_collision_chars(name);
    for (const auto& [other, entry] : current.topics()) {
        if (unify_collision_chars(other) == unified) {
            colliding.push_back(other);
        }
    }
    if (colliding.empty()) {
        return std::nullopt;
    }
    return "Topic '" + std::string(name) +
           "' collides with existing topics: " + join(colliding, ", ");
}

topic_result check_new_partitions(
    int32_t current_count, int32_t count,
    const std::optional<std::vector<std::vector<int32_t>>>& assignments,
    std::size_t replication_factor, const std::set<int32_t>& brokers) {
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
    if (!assignments) {
        return topic_result::success();
    }
    const int32_t added = count - current_count;
    if (static_cast<int64_t>(assignments->size()) != added) {
        return topic_result::failure(
            error_code::invalid_replica_assignment,
            "Increasing the number of partitions by " + std::to_string(added) + " but " +
                std::to_string(assignments->size()) + " assignments provided.");
    }
    for (std::size_t i = 0; i < assignments->size(); ++i) {
        const auto& list = (*assignments)[i];
        if (auto error = check_replica_list(list, brokers)) {
            return topic_result::failure(error_code::invalid_replica_assignment, *error);
        }
        if (list.size() != replication_factor) {
            return topic_result::failure(
                error_code::invalid_replica_assignment,
                "Inconsistent replication factor between partitions, partition 0 has " +
                    std::to_string(replication_factor) + " while partitions [" +
                    std::to_string(current_count + static_cast<int32_t>(i)) +
                    "] have replication factors [" + std::to_string(list.size()) +
                    "], respectively.");
        }
    }
    return topic_result::success();
}

topic_result apply_topic_config_operations(config_map& overrides,
                                           const std::vector<config_operation>& ops) {
    for (const config_operation& op : ops) {
        if (find_topic_config(op.name) == nullptr) {
            return topic_result::failure(error_code::invalid_config,
                                         "Unknown topic config name: " + op.name);
        }
    }
    const auto is_list = [](std::string_view name) {
        const topic_config_def* def = find_topic_config(name);
        return def != nullptr && def->type == config_value_type::list;
    };
    const auto list_default = [](std::string_view name) {
        const topic_config_def* def = find_topic_config(name);
        return def != nullptr ? std::string(def->default_value) : std::string();
    };
    return apply_operations(overrides, ops, is_list, list_default);
}

topic_result check_broker_config_name(std::string_view key) {
    if (is_dynamic_broker_config(key)) {
        return topic_result::success();
    }
    if (find_config_key(key) != nullptr) {
        return topic_result::failure(
            error_code::invalid_request,
            "Cannot update these configs dynamically: [" + std::string(key) + "]");
    }
    return topic_result::failure(error_code::invalid_config,
                                 "Unknown broker config name: " + std::string(key));
}

topic_result check_broker_configs(const config_map& configs) {
    for (const auto& [key, value] : configs) {
        if (topic_result name = check_broker_config_name(key); !name.ok()) {
            return name;
        }
        if (auto error = validate_dynamic_broker_config(key, value)) {
            return topic_result::failure(error_code::invalid_config, *error);
        }
    }
    return topic_result::success();
}

topic_result apply_broker_config_operations(config_map& configs,
                                            const std::vector<config_operation>& ops,
                                            const broker_config_view& broker) {
    for (const config_operation& op : ops) {
        if (topic_result name = check_broker_config_name(op.name); !name.ok()) {
            return name;
        }
    }
    const auto is_list = [](std::string_view name) {
        const config_key_info* info = find_config_key(name);
        return info != nullptr && info->type == config_type::list;
    };
    const auto list_default = [&broker](std::string_view name) {
        const auto v = broker_value(broker, name);
        return v && v->value ? *v->value : std::string();
    };
    return apply_operations(configs, ops, is_list, list_default);
}

}  // namespace broker::server
