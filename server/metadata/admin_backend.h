#pragma once
// The admin backend: where the admin handlers (CreateTopics, DeleteTopics, CreatePartitions,
// AlterConfigs, IncrementalAlterConfigs) and topic auto-creation send their changes.
//
// An implementation validates a request the way Kafka does and makes the change in its catalog;
// the change reaches this broker's replicas and metadata cache through the metadata source
// (server/metadata/metadata_source.h). Implementations:
//   - local_admin_backend (server/metadata/local_admin_backend.h): the single node. The change is
//     synchronous: once a call returns success, the topic's partitions are hosted and the metadata
//     cache shows the change.
//   - In a cluster, the backend writes Kafka's znodes and the controller carries the change out.
//
// Calls block (file or network I/O): run them on the blocking pool (shard_group::run_blocking),
// never on a shard thread. Any thread; implementations serialise their own mutations.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/errors.h"
#include "protocol/wire.h"
#include "server/topic_config.h"

namespace broker::server {

/// The outcome of an admin operation on one topic (or config resource): Kafka's error code and the
/// error message it would send (nullopt when none).
struct topic_result {
    protocol::error_code error = protocol::error_code::none;
    std::optional<std::string> message;

    bool ok() const { return error == protocol::error_code::none; }
    static topic_result success() { return {}; }
    static topic_result failure(protocol::error_code e, std::string message) {
        return {e, std::move(message)};
    }
};

/// A CreateTopics entry.
struct new_topic {
    std::string name;
    /// -1: num.partitions.
    int32_t num_partitions = -1;
    /// -1: default.replication.factor.
    int16_t replication_factor = -1;
    /// Manual assignment: partition index -> broker ids. Non-empty excludes the two counts above.
    std::map<int32_t, std::vector<int32_t>> assignments;
    /// Topic config overrides (Kafka names).
    config_map configs;
    bool internal = false;
};

/// What CreateTopics reports for a topic (v5+ fields are filled on success and for validate_only).
struct created_topic {
    topic_result result;
    protocol::uuid topic_id;
    int32_t num_partitions = -1;
    int16_t replication_factor = -1;
    std::vector<described_config> configs;
};

/// One IncrementalAlterConfigs operation.
struct config_operation {
    enum class kind : int8_t { set = 0, remove = 1, append = 2, subtract = 3 };
    std::string name;
    kind op = kind::set;
    std::optional<std::string> value;
};

/// See the file comment.
class admin_backend {
public:
    virtual ~admin_backend() = default;

    /// CreateTopics semantics for one topic (validation, defaults, then creation unless
    /// `validate_only`). Errors: INVALID_TOPIC_EXCEPTION, TOPIC_ALREADY_EXISTS, INVALID_PARTITIONS,
    /// INVALID_REPLICATION_FACTOR, INVALID_REPLICA_ASSIGNMENT, INVALID_REQUEST, INVALID_CONFIG,
    /// KAFKA_STORAGE_ERROR (I/O).
    virtual created_topic create_topic(const new_topic& topic, bool validate_only) = 0;
    /// Creates `topic` with the broker defaults if it does not exist and auto.create.topics.enable
    /// is set (internal topics are never created this way). none when the topic exists afterwards;
    /// UNKNOWN_TOPIC_OR_PARTITION when auto-creation is off (or `allowed` is false);
    /// INVALID_TOPIC_EXCEPTION for an illegal name; KAFKA_STORAGE_ERROR on I/O failure.
    virtual topic_result auto_create_topic(std::string_view topic, bool allowed) = 0;
    /// DeleteTopics for one topic. UNKNOWN_TOPIC_OR_PARTITION (UNKNOWN_TOPIC_ID by id) when
    /// unknown; TOPIC_DELETION_DISABLED when delete.topic.enable is false; INVALID_TOPIC_EXCEPTION
    /// for internal topics.
    virtual topic_result delete_topic(std::string_view topic) = 0;
    virtual topic_result delete_topic(const protocol::uuid& topic_id) = 0;
    /// CreatePartitions for one topic: raise the count to `count`. `assignments` (may be absent)
    /// has one replica list per new partition.
    virtual topic_result create_partitions(
        std::string_view topic, int32_t count,
        const std::optional<std::vector<std::vector<int32_t>>>& assignments,
        bool validate_only) = 0;
    /// AlterConfigs on a topic: replaces the whole override set. INVALID_CONFIG for bad names or
    /// values, UNKNOWN_TOPIC_OR_PARTITION for an unknown topic.
    virtual topic_result alter_topic_configs(std::string_view topic, const config_map& overrides,
                                             bool validate_only) = 0;
    /// IncrementalAlterConfigs on a topic.
    virtual topic_result incremental_alter_topic_configs(std::string_view topic,
                                                         const std::vector<config_operation>& ops,
                                                         bool validate_only) = 0;
    /// The same two for the broker resource: `default_resource` = the cluster-wide defaults
    /// (resource name ""), else this broker's own dynamic configs.
    virtual topic_result alter_broker_configs(bool default_resource, const config_map& configs,
                                              bool validate_only) = 0;
    virtual topic_result incremental_alter_broker_configs(bool default_resource,
                                                          const std::vector<config_operation>& ops,
                                                          bool validate_only) = 0;
};

}  // namespace broker::server
