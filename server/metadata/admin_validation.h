#pragma once
// The checks every admin backend (server/metadata/admin_backend.h) makes before it changes the
// catalog, with Kafka's error codes and messages, so the single node and the cluster refuse the
// same requests with the same words: a CreateTopics entry's counts or manual assignment, a name
// colliding with an existing topic, the partitions a CreatePartitions adds, and the
// IncrementalAlterConfigs operations on a topic's overrides or on the dynamic broker configs.
//
// The backends differ only in the brokers a replica may name (the single node: itself; a cluster:
// the brokers registered in ZooKeeper), which the callers pass in.
//
// Pure functions over their arguments; any thread.
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/types.h"
#include "server/metadata/admin_backend.h"
#include "server/metadata/catalog.h"
#include "server/topic_config.h"

namespace broker::server {

/// One partition's replica list against the brokers that may hold replicas: not empty, no broker
/// twice, every broker in `brokers`. nullopt when acceptable, else the message for
/// INVALID_REPLICA_ASSIGNMENT.
std::optional<std::string> check_replica_list(const std::vector<int32_t>& replicas,
                                              const std::set<int32_t>& brokers);

/// Broker ids as node ids, in order.
std::vector<node_id> to_nodes(const std::vector<int32_t>& ids);

/// The partition count and replication factor a CreateTopics entry asks for, or why it is refused.
struct topic_layout {
    topic_result result;
    int32_t partitions = 0;
    int16_t replication_factor = 0;
};

/// Resolves and checks the counts of `topic`: with a manual assignment, the assignment (counts
/// unset, partitions 0..n-1, one replica count, each list acceptable to check_replica_list); else
/// the counts, -1 taking the defaults, both positive and the factor at most the number of
/// `brokers`. Then the partition count against max_partitions_per_topic. Errors: INVALID_REQUEST,
/// INVALID_REPLICA_ASSIGNMENT, INVALID_PARTITIONS, INVALID_REPLICATION_FACTOR.
topic_layout check_topic_layout(const new_topic& topic, int32_t default_partitions,
                                int16_t default_replication_factor,
                                const std::set<int32_t>& brokers);

/// The topics of `current` whose names collide with `name` ('.' and '_' read alike), as Kafka's
/// message for INVALID_TOPIC_EXCEPTION; nullopt when none does (or `name` has neither character).
std::optional<std::string> check_name_collision(std::string_view name, const catalog& current);

/// CreatePartitions' checks for a topic with `current_count` partitions of `replication_factor`
/// replicas: `count` must be larger (INVALID_PARTITIONS) and within max_partitions_per_topic;
/// manual `assignments` need one list per new partition, each acceptable to check_replica_list and
/// of `replication_factor` replicas (INVALID_REPLICA_ASSIGNMENT).
topic_result check_new_partitions(
    int32_t current_count, int32_t count,
    const std::optional<std::vector<std::vector<int32_t>>>& assignments,
    std::size_t replication_factor, const std::set<int32_t>& brokers);

/// Applies IncrementalAlterConfigs operations to a topic's overrides: INVALID_CONFIG when an
/// operation names no topic config, INVALID_REQUEST for a null SET value or APPEND/SUBTRACT on a
/// config that is not a list (which start from the config's default when it is not set). The
/// values themselves are checked afterwards, with validate_topic_configs.
topic_result apply_topic_config_operations(config_map& overrides,
                                           const std::vector<config_operation>& ops);

/// A broker key AlterConfigs may change: INVALID_REQUEST for a key that is read-only,
/// INVALID_CONFIG for one the broker does not know.
topic_result check_broker_config_name(std::string_view key);

/// A whole dynamic broker config set: each name (check_broker_config_name), then each value
/// (INVALID_CONFIG).
topic_result check_broker_configs(const config_map& configs);

/// Applies IncrementalAlterConfigs operations to a dynamic broker config set: every name first
/// (check_broker_config_name), then the operations as for topics; APPEND/SUBTRACT on a key not set
/// start from its value in `broker`.
topic_result apply_broker_config_operations(config_map& configs,
                                            const std::vector<config_operation>& ops,
                                            const broker_config_view& broker);

}  // namespace broker::server
