#pragma once
// topic_store: the topics of this broker — names, topic ids, partition counts, config overrides —
// their partition logs (through log::log_manager), the `partition` objects handlers use, and the
// dynamic broker configs changed with AlterConfigs.
//
// On-disk format: one JSON file, `<first log dir>/__sluice_topics.json` (docs/topics.md):
//     {"version": 1,
//      "topics": [{"name": "t", "id": "<22-char base64url uuid>", "partitions": 3,
//                  "internal": false, "configs": {"retention.ms": "1000"}}, ...],
//      "broker_configs": {"default": {"log.retention.ms": "..."}, "broker": {...}}}
// It is rewritten whole on every change: written to `<name>.tmp`, fsynced, renamed over the file,
// and the directory fsynced, so a crash leaves either the old or the new version. A topic exists
// once its entry is in the file; its partition directories are created before the file is written
// (a crash in between leaves directories of no topic, which startup reports and leaves alone).
//
// Startup (open): reads the file, opens the log manager over log.dirs (recovery happens there),
// creates missing partition directories of known topics, builds one `partition` per partition,
// and publishes the first topic_table snapshot. Partition directories that belong to no known
// topic are logged as warnings and left on disk (Kafka would delete them).
//
// Threading:
//  - Lookups (find_partition, config_of, topic_id_of, describe_*_configs, ...) may be called from
//    any thread, at any time; they read an immutable index (topics and dynamic broker configs)
//    swapped under a short mutex, and never wait for admin work.
//  - Mutations (create/delete topics, partitions, configs) are serialised by one admin mutex and
//    do blocking file I/O (directory creation, fsync): call them from the blocking pool
//    (shard_group::run_blocking), never on a shard thread. broker_core offers awaitable wrappers.
//  - Partition logs are only touched through their partition (server/replica/partition.h):
//    deletion stops the partition and removes its log under the partition's lock, then wakes its
//    waiters; config changes go through partition::set_config; the maintenance passes run their
//    short owner steps through partition::run_owner_step.
//  - Lifecycle: construct, open() once (main thread, before connections), ..., shutdown() once
//    after every connection is closed. After shutdown() every lookup still works but the logs are
//    closed (partitions are marked deleted so late handlers answer with an error, not a crash).
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <vector>

#include "log/log_manager.h"
#include "log/types.h"
#include "protocol/errors.h"
#include "protocol/wire.h"
#include "server/config.h"
#include "server/replica/partition.h"
#include "server/replica/replica_manager.h"
#include "server/topic_config.h"
#include "server/topic_table.h"

namespace broker::server {

/// The outcome of an admin operation on one topic (or config resource): Kafka's error code and the
/// error message it would send (nullopt when none).
struct topic_result {
    protocol::error_code error = protocol::error_code::none;
    std::optional<std::string> message;

    bool ok() const { return error == protocol::error_code::none; }
    static topic_result success() { return {}; }
    static topic_result failure(protocol::error_code e, std::string message) { return {e, std::move(message)}; }
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

/// DescribeLogDirs: one partition's size in one log dir.
struct log_dir_partition {
    std::string topic;
    int32_t partition = 0;
    int64_t size_bytes = 0;
};
struct log_dir_description {
    std::string path;
    protocol::error_code error = protocol::error_code::none;
    std::vector<log_dir_partition> partitions;
    int64_t total_bytes = -1;   // statvfs; -1 when unknown
    int64_t usable_bytes = -1;
};

/// Snapshot of one topic, as admin handlers need it.
struct topic_description {
    std::string name;
    protocol::uuid topic_id;
    int32_t partition_count = 0;
    bool internal = false;
    config_map overrides;
};

/// See the file comment.
class topic_store {
public:
    static constexpr const char* metadata_file_name = "__sluice_topics.json";
    static constexpr int file_format_version = 1;

    /// `config` and `replicas` must outlive the store. `table` receives a snapshot on every change;
    /// `replicas` hosts the partitions of the topics it lists.
    topic_store(const broker_config& config, topic_table& table, replica_manager& replicas);
    ~topic_store();
    topic_store(const topic_store&) = delete;
    topic_store& operator=(const topic_store&) = delete;

    /// Loads the metadata file and the logs (see the file comment). Throws std::runtime_error with
    /// an operator-facing message on failure (unreadable file, log recovery error).
    void open();
    /// Clean shutdown: under each partition's mutex closes its log durably and marks the partition
    /// deleted, wakes the waiters, then writes the checkpoints and the clean-shutdown marker.
    /// Idempotent. Returns the first error (also logged).
    std::error_code shutdown();

    // ---- lookups (any thread)

    /// The partition, or nullptr when the topic or the index is unknown.
    std::shared_ptr<partition> find_partition(std::string_view topic, int32_t index) const;
    std::shared_ptr<partition> find_partition(const protocol::uuid& topic_id, int32_t index) const;
    /// Every partition of a topic, by index (empty when unknown).
    std::vector<std::shared_ptr<partition>> partitions_of(std::string_view topic) const;
    /// The same list without copying it: immutable, shared with the topic's index entry, null when
    /// the topic is unknown. One lookup serves every partition of a topic in a request.
    using partition_list = std::vector<std::shared_ptr<partition>>;
    std::shared_ptr<const partition_list> partition_table(std::string_view topic) const;
    /// Every partition of every topic.
    std::vector<std::shared_ptr<partition>> all_partitions() const;
    /// The resolved config of a topic, or nullptr when unknown.
    std::shared_ptr<const topic_config> config_of(std::string_view topic) const;
    /// The resolved log config of a topic (broker defaults + overrides), or nullopt when unknown.
    std::optional<log::log_config> log_config_of(std::string_view topic) const;
    std::optional<protocol::uuid> topic_id_of(std::string_view topic) const;
    std::optional<std::string> topic_name_of(const protocol::uuid& topic_id) const;
    std::optional<topic_description> describe(std::string_view topic) const;
    std::optional<topic_description> describe(const protocol::uuid& topic_id) const;
    std::vector<topic_description> list_topics() const;
    bool exists(std::string_view topic) const;

    // ---- topic names

    /// Kafka's rules: 1..249 characters of [a-zA-Z0-9._-], not "." or "..". nullopt when legal,
    /// else Kafka's message for INVALID_TOPIC_EXCEPTION.
    static std::optional<std::string> check_topic_name(std::string_view name);
    /// True for names containing '.' or '_' (which collide in metric names).
    static bool has_collision_chars(std::string_view name);
    /// Internal topics clients may not create or delete by hand.
    static bool is_internal_topic_name(std::string_view name);

    // ---- mutations (blocking: run them on the blocking pool)

    /// CreateTopics semantics for one topic (validation, defaults, then creation unless
    /// `validate_only`). Errors: INVALID_TOPIC_EXCEPTION, TOPIC_ALREADY_EXISTS, INVALID_PARTITIONS,
    /// INVALID_REPLICATION_FACTOR, INVALID_REPLICA_ASSIGNMENT, INVALID_REQUEST, INVALID_CONFIG,
    /// KAFKA_STORAGE_ERROR (I/O).
    created_topic create_topic(const new_topic& topic, bool validate_only);
    /// Creates `topic` with the broker defaults if it does not exist and auto.create.topics.enable
    /// is set (internal topics are never created this way). none when the topic exists afterwards;
    /// UNKNOWN_TOPIC_OR_PARTITION when auto-creation is off (or `allowed` is false);
    /// INVALID_TOPIC_EXCEPTION for an illegal name; KAFKA_STORAGE_ERROR on I/O failure.
    topic_result auto_create_topic(std::string_view topic, bool allowed = true);
    /// DeleteTopics for one topic. UNKNOWN_TOPIC_OR_PARTITION when unknown; TOPIC_DELETION_DISABLED
    /// when delete.topic.enable is false; INVALID_TOPIC_EXCEPTION for internal topics.
    topic_result delete_topic(std::string_view topic);
    topic_result delete_topic(const protocol::uuid& topic_id);
    /// CreatePartitions for one topic: raise the count to `count`. `assignments` (may be empty)
    /// has one replica list per new partition.
    topic_result create_partitions(std::string_view topic, int32_t count,
                                   const std::optional<std::vector<std::vector<int32_t>>>& assignments,
                                   bool validate_only);
    /// DeleteRecords for one partition: moves the log start offset to `offset` (-1 = high
    /// watermark). Returns the new low watermark or an error (UNKNOWN_TOPIC_OR_PARTITION,
    /// OFFSET_OUT_OF_RANGE, POLICY_VIOLATION without the delete cleanup policy,
    /// KAFKA_STORAGE_ERROR). Not an admin-mutex operation: it only takes the
    /// partition's mutex (and may unlink files; run it on the blocking pool).
    std::pair<topic_result, int64_t> delete_records(std::string_view topic, int32_t index, int64_t offset);

    // ---- configs

    /// AlterConfigs on a topic: replaces the whole override set. INVALID_CONFIG for bad names or
    /// values, UNKNOWN_TOPIC_OR_PARTITION for an unknown topic.
    topic_result alter_topic_configs(std::string_view topic, const config_map& overrides, bool validate_only);
    /// IncrementalAlterConfigs on a topic.
    topic_result incremental_alter_topic_configs(std::string_view topic, const std::vector<config_operation>& ops,
                                                 bool validate_only);
    /// The same two for the broker resource: `default_resource` = the cluster-wide defaults
    /// (resource name ""), else this broker's own dynamic configs.
    topic_result alter_broker_configs(bool default_resource, const config_map& configs, bool validate_only);
    topic_result incremental_alter_broker_configs(bool default_resource, const std::vector<config_operation>& ops,
                                                  bool validate_only);
    /// DescribeConfigs of a topic (nullopt when unknown) and of the broker. Any thread: they read
    /// the current index and never wait for an admin operation.
    std::optional<std::vector<described_config>> describe_topic_configs(std::string_view topic) const;
    std::vector<described_config> describe_broker_configs(bool default_resource) const;
    /// Current dynamic broker configs (cluster default or this broker's).
    config_map dynamic_broker_configs(bool default_resource) const;

    // ---- log dirs and maintenance

    /// DescribeLogDirs: every log dir with the partitions it holds (all, or only those named).
    std::vector<log_dir_description> describe_log_dirs(
        const std::optional<std::vector<std::pair<std::string, int32_t>>>& only) const;

    /// Retention (every `log.retention.check.interval.ms`), flush.messages/flush.ms checks, one
    /// cleaner round on compacted logs (when log.cleaner.enable) and the offset checkpoints (every
    /// `log.flush.offset.checkpoint.interval.ms`). Blocking: run it on the blocking pool. Takes each
    /// partition's mutex only for the short owner steps. Errors are logged.
    void run_maintenance(int64_t now_ms);

    /// The log manager (valid after open()).
    log::log_manager& logs() { return replicas_.logs(); }
    const log::clock& clock() const { return replicas_.clock(); }
    /// Where the metadata file lives.
    std::filesystem::path metadata_path() const;

private:
    struct topic_entry {
        std::string name;
        protocol::uuid id;
        bool internal = false;
        config_map overrides;
        std::shared_ptr<const topic_config> config;
        /// The catalog's partition count; the partitions themselves are the replica manager's.
        int32_t partition_count = 0;
    };
    /// The immutable lookup index, with the dynamic broker configs the topic configs were
    /// resolved against; replaced whole on every change, so readers (DescribeConfigs on a shard)
    /// never wait for an admin operation.
    struct index {
        std::map<std::string, std::shared_ptr<const topic_entry>, std::less<>> by_name;
        std::map<protocol::uuid, std::shared_ptr<const topic_entry>> by_id;
        config_map dynamic_default;
        config_map dynamic_broker;
    };

    std::shared_ptr<const index> current() const;
    std::shared_ptr<const topic_entry> find_entry(std::string_view topic) const;
    /// Publishes `next` to the lookup index and the topic table. Admin mutex held.
    void publish(std::shared_ptr<const index> next);
    /// Writes the metadata file for `next` (atomically). Admin mutex held.
    std::error_code persist(const index& next) const;
    broker_config_view broker_view(const index& idx) const;
    std::shared_ptr<const topic_config> resolve(const config_map& overrides, const index& idx) const;
    /// Opens (creating if needed) the log of one partition and wraps it. With `fresh` (a partition
    /// being created now), a stray log already on disk under that name is deleted first, so a new
    /// topic never inherits old records. Admin mutex held.
    log::result<std::shared_ptr<partition>> open_partition(const std::string& topic, const protocol::uuid& id,
                                                           int32_t index, const std::shared_ptr<const topic_config>& config,
                                                           bool fresh);
    topic_result create_locked(const new_topic& topic, int32_t partitions);
    topic_result delete_locked(const std::shared_ptr<const topic_entry>& entry);
    topic_result apply_topic_overrides_locked(const std::shared_ptr<const topic_entry>& entry, config_map overrides,
                                              bool validate_only);
    topic_result apply_broker_configs_locked(bool default_resource, config_map configs, bool validate_only);
    /// Re-resolves every topic of `next` (whose dynamic broker configs changed), publishes it and
    /// pushes the configs to the logs.
    void refresh_all_configs_locked(std::shared_ptr<index> next);
    void push_config(const topic_entry& entry) const;

    const broker_config& config_;
    topic_table& table_;
    replica_manager& replicas_;

    mutable std::mutex index_mutex_;  // guards index_ (the pointer only)
    std::shared_ptr<const index> index_;

    mutable std::mutex admin_mutex_;  // serialises mutations
    std::atomic<bool> shut_down_{false};
};

}  // namespace broker::server
