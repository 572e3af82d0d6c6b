#pragma once
// topic_store: the topics of this broker as the catalog describes them (server/metadata/catalog.h),
// applied to the replica layer and the metadata cache, and the lookups handlers make on them
// (partitions, resolved configs, topic ids, DescribeConfigs, DescribeLogDirs).
//
// It is the listener of the metadata source (server/metadata/metadata_source.h): for each catalog
// version it opens the logs of new partitions this broker is a replica of (prepare), then hosts
// them, drops the topics the version no longer lists, pushes changed configs to the logs, and
// publishes the metadata cache (apply). A partition whose only replica is this broker is led here
// at leader epoch 0 (nothing else can lead it); partitions with other replicas are hosted without a
// role until the controller assigns one. Changes are made by an admin backend
// (server/metadata/admin_backend.h), never here.
//
// In a cluster (zookeeper.connect set) the store keeps only the catalog's names, ids and configs
// (and pushes config changes to the hosted replicas): what this broker hosts, and with which role,
// comes from the controller's LeaderAndIsr and StopReplica (server/cluster/), and the metadata
// cache from its UpdateMetadata.
//
// Startup (open): the source delivers its first version; preparing it opens the log manager over
// log.dirs (recovery happens there) with each topic's resolved log config, and creates missing
// partition directories of known topics. Partition directories that belong to no known topic are
// logged as warnings and left on disk (Kafka would delete them).
//
// Threading:
//  - Lookups (find_partition, config_of, topic_id_of, describe_*_configs, ...) may be called from
//    any thread, at any time; they read an immutable index (topics with their resolved configs,
//    and the dynamic broker configs) swapped under a short mutex, and never wait for admin work.
//  - prepare/apply/abandon are called by the source one at a time and do blocking file I/O.
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
#include <vector>

#include "log/log_manager.h"
#include "log/types.h"
#include "protocol/errors.h"
#include "protocol/wire.h"
#include "server/config.h"
#include "server/metadata/admin_backend.h"
#include "server/metadata/catalog.h"
#include "server/metadata/metadata_cache.h"
#include "server/metadata/metadata_source.h"
#include "server/replica/partition.h"
#include "server/replica/replica_manager.h"
#include "server/topic_config.h"

namespace broker::server {

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
    int64_t total_bytes = -1;  // statvfs; -1 when unknown
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
class topic_store final : public catalog_listener {
public:
    /// Every reference must outlive the store. `table` receives a snapshot on every change;
    /// `replicas` hosts the partitions; `source` delivers the catalog.
    topic_store(const broker_config& config, metadata_cache& table, replica_manager& replicas,
                metadata_source& source);
    ~topic_store() override;
    topic_store(const topic_store&) = delete;
    topic_store& operator=(const topic_store&) = delete;

    /// Starts the metadata source, which delivers the stored catalog (see the file comment).
    /// Throws std::runtime_error with an operator-facing message on failure (unreadable catalog,
    /// log recovery error).
    void open();
    /// Clean shutdown: stops the source, then under each partition's mutex closes its log durably
    /// and marks the partition deleted, wakes the waiters, then writes the checkpoints and the
    /// clean-shutdown marker. Idempotent. Returns the first error (also logged).
    std::error_code shutdown();

    // ---- lookups (any thread)

    /// The partition, or nullptr when the topic or the index is unknown.
    std::shared_ptr<partition> find_partition(std::string_view topic, int32_t index) const;
    std::shared_ptr<partition> find_partition(const protocol::uuid& topic_id, int32_t index) const;
    /// Every partition of a topic, by index (empty when unknown).
    std::vector<std::shared_ptr<partition>> partitions_of(std::string_view topic) const;
    /// The same list without copying it: immutable, shared with the replica manager's index, null
    /// when the topic is unknown. One lookup serves every partition of a topic in a request.
    using partition_list = std::vector<std::shared_ptr<partition>>;
    std::shared_ptr<const partition_list> partition_table(std::string_view topic) const;
    /// Every partition of every topic.
    std::vector<std::shared_ptr<partition>> all_partitions() const;
    /// The resolved config of a topic, or nullptr when unknown.
    std::shared_ptr<const topic_config> config_of(std::string_view topic) const;
    /// config_of(topic), or the broker defaults when the topic is not known (yet): in a cluster
    /// the controller may host a partition before the topic's configs reach this broker.
    std::shared_ptr<const topic_config> config_or_defaults(std::string_view topic) const;
    /// The resolved log config of a topic (broker defaults + overrides), or nullopt when unknown.
    std::optional<log::log_config> log_config_of(std::string_view topic) const;
    std::optional<protocol::uuid> topic_id_of(std::string_view topic) const;
    std::optional<std::string> topic_name_of(const protocol::uuid& topic_id) const;
    std::optional<topic_description> describe(std::string_view topic) const;
    std::optional<topic_description> describe(const protocol::uuid& topic_id) const;
    std::vector<topic_description> list_topics() const;
    bool exists(std::string_view topic) const;

    /// DeleteRecords for one partition: moves the log start offset to `offset` (-1 = high
    /// watermark). Returns the new low watermark or an error (UNKNOWN_TOPIC_OR_PARTITION,
    /// OFFSET_OUT_OF_RANGE, POLICY_VIOLATION without the delete cleanup policy,
    /// KAFKA_STORAGE_ERROR). Only takes the partition's mutex (and may unlink files; run it on the
    /// blocking pool).
    std::pair<topic_result, int64_t> delete_records(std::string_view topic, int32_t index,
                                                    int64_t offset);

    // ---- configs

    /// DescribeConfigs of a topic (nullopt when unknown) and of the broker. Any thread: they read
    /// the current index and never wait for an admin operation.
    std::optional<std::vector<described_config>> describe_topic_configs(
        std::string_view topic) const;
    std::vector<described_config> describe_broker_configs(bool default_resource) const;
    /// Current dynamic broker configs (cluster default or this broker's).
    config_map dynamic_broker_configs(bool default_resource) const;

    // ---- log dirs and maintenance

    /// DescribeLogDirs: every log dir with the partitions it holds (all, or only those named).
    std::vector<log_dir_description> describe_log_dirs(
        const std::optional<std::vector<std::pair<std::string, int32_t>>>& only) const;

    /// Retention (every `log.retention.check.interval.ms`), flush.messages/flush.ms checks, one
    /// cleaner round on compacted logs (when log.cleaner.enable) and the offset checkpoints (every
    /// `log.flush.offset.checkpoint.interval.ms`). Blocking: run it on the blocking pool. Takes
    /// each partition's mutex only for the short owner steps. Errors are logged.
    void run_maintenance(int64_t now_ms);

    /// The log manager (valid after open()).
    log::log_manager& logs() { return replicas_.logs(); }
    const log::clock& clock() const { return replicas_.clock(); }

    // ---- catalog_listener (called by the metadata source)

    std::error_code prepare(const catalog& next) override;
    void apply(std::shared_ptr<const catalog> next) override;
    void abandon(const catalog& next) override;

private:
    struct topic_entry {
        std::string name;
        protocol::uuid id;
        bool internal = false;
        config_map overrides;
        std::shared_ptr<const topic_config> config;
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
    /// What prepare() opened for one topic, waiting for apply() or abandon().
    struct prepared_topic {
        std::shared_ptr<const topic_config> config;
        /// (partition index, replica) in index order.
        std::vector<std::pair<int32_t, std::shared_ptr<partition>>> partitions;
    };

    std::shared_ptr<const index> current() const;
    std::shared_ptr<const topic_entry> find_entry(std::string_view topic) const;
    /// Publishes `next` to the lookup index and the metadata cache.
    void publish(std::shared_ptr<const index> next);
    std::shared_ptr<const topic_config> resolve(const config_map& overrides,
                                                const config_map& dynamic_default,
                                                const config_map& dynamic_broker) const;
    /// Opens (creating if needed) the log of one partition and gives it the role the assignment
    /// implies (see the file comment). With `fresh` (a partition being created now), a stray log
    /// already on disk under that name is deleted first, so a new topic never inherits old records.
    log::result<std::shared_ptr<partition>> open_partition(
        const catalog_topic& topic, int32_t index,
        const std::shared_ptr<const topic_config>& config, bool fresh);
    void push_config(const topic_entry& entry) const;

    const broker_config& config_;
    metadata_cache& table_;
    replica_manager& replicas_;
    metadata_source& source_;

    mutable std::mutex index_mutex_;  // guards index_ (the pointer only)
    std::shared_ptr<const index> index_;

    std::mutex apply_mutex_;  // guards prepared_, first_applied_ (the source calls one at a time)
    std::map<std::string, prepared_topic, std::less<>> prepared_;
    bool first_applied_ = false;
    std::atomic<bool> shut_down_{false};
};

}  // namespace broker::server
