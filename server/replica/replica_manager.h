#pragma once
// replica_manager: the partitions this broker hosts and the log manager under them (Kafka's
// ReplicaManager with its LogManager). It creates and removes local replicas, answers lookups with
// the error Kafka gives (UNKNOWN_TOPIC_OR_PARTITION for a topic it does not know,
// NOT_LEADER_OR_FOLLOWER for one it knows but does not lead here), changes replicas' roles, and
// runs the log maintenance passes (retention, flush.ms/flush.messages, compaction, checkpoints).
//
// What to host and with which role is decided above it: today by the topic store from the local
// catalog (every partition led here, alone); in a cluster by the controller's LeaderAndIsr.
//
// Threading:
//  - lookups (find, partitions_of, leader_for, ...) may be called from any thread: they read an
//    immutable index swapped under a short mutex and never wait for admin work;
//  - create/remove/host and the maintenance pass do blocking file I/O: call them from the blocking
//    pool (or the main thread at startup), never on a shard;
//  - lifecycle: open() once before connections, shutdown() once after every connection closed.
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

#include "common/types.h"
#include "log/log_manager.h"
#include "log/types.h"
#include "protocol/errors.h"
#include "protocol/wire.h"
#include "server/metadata/metadata_cache.h"
#include "server/replica/partition.h"

namespace broker::server {

struct broker_config;

class replica_manager {
public:
    using partition_list = std::vector<std::shared_ptr<partition>>;

    /// `config` and `metadata` must outlive the manager. `metadata` is the metadata cache the
    /// lookups consult to tell an unknown topic from one led elsewhere.
    replica_manager(const broker_config& config, const metadata_cache& metadata,
                    const log::clock& clock = log::system_clock::instance());
    replica_manager(const replica_manager&) = delete;
    replica_manager& operator=(const replica_manager&) = delete;

    /// Opens the log manager over log.dirs (recovery happens there). `config_for` gives the log
    /// config of each partition found on disk.
    std::error_code open(std::function<log::log_config(const log::topic_partition&)> config_for);
    bool is_open() const { return logs_ != nullptr; }
    /// The log manager (valid after open()).
    log::log_manager& logs() { return *logs_; }
    const log::log_manager& logs() const { return *logs_; }
    const log::clock& clock() const { return clock_; }

    // ---- local replicas (blocking)

    /// Opens (creating if needed) the local replica of one partition, without a role and not yet
    /// hosted. With `fresh` (a partition being created now), a stray log already on disk under that
    /// name is deleted first, so a new partition never inherits old records.
    log::result<std::shared_ptr<partition>> create_replica(
        const std::string& topic, const protocol::uuid& id, partition_index index,
        const std::shared_ptr<const topic_config>& config, bool fresh);
    /// Makes `partitions` (index order) the hosted replicas of `topic`, replacing any before.
    void host(const std::string& topic, const protocol::uuid& id, partition_list partitions);
    /// Hosts one partition of `topic` (a cluster's LeaderAndIsr), keeping its other hosted
    /// partitions; replaces a replica already hosted at that index.
    void host_partition(const std::string& topic, const protocol::uuid& id, partition_index index,
                        std::shared_ptr<partition> replica);
    /// Stops hosting every replica of `topic`: each stops (waking its waiters) and, with
    /// `delete_logs`, its log is removed from disk. Returns the first error.
    std::error_code remove_topic(std::string_view topic, bool delete_logs);
    /// Removes the log of a replica that was created but never hosted (a failed creation).
    void discard(const std::string& topic, partition_index index);

    // ---- roles

    std::error_code become_leader(std::string_view topic, partition_index index,
                                  const partition_assignment& a);
    std::error_code become_follower(std::string_view topic, partition_index index,
                                    const partition_assignment& a);
    /// Stops serving one replica (role none); with `delete_log` also removes its log and unhosts
    /// it.
    std::error_code stop_replica(std::string_view topic, partition_index index, bool delete_log);

    // ---- lookups (any thread)

    /// The hosted replica, whatever its role; nullptr when not hosted.
    std::shared_ptr<partition> find(std::string_view topic, partition_index index) const;
    std::shared_ptr<partition> find(const protocol::uuid& topic_id, partition_index index) const;
    /// The hosted replicas of a topic by index (null when none): one lookup serves every
    /// partition of a topic in a request.
    std::shared_ptr<const partition_list> partitions_of(std::string_view topic) const;
    partition_list all() const;

    struct lookup {
        std::shared_ptr<partition> target;
        protocol::error_code error = protocol::error_code::none;
    };
    /// The replica to serve a client request from: led here, else NOT_LEADER_OR_FOLLOWER when the
    /// metadata knows the partition, else UNKNOWN_TOPIC_OR_PARTITION.
    lookup leader_for(std::string_view topic, partition_index index) const;

    /// The log dir holding a replica's log.
    std::optional<std::filesystem::path> log_dir_of(std::string_view topic,
                                                    partition_index index) const;

    // ---- maintenance

    /// Retention (every log.retention.check.interval.ms), due flushes, one cleaner round (when
    /// log.cleaner.enable) and the offset checkpoints (every
    /// log.flush.offset.checkpoint.interval.ms). Blocking. Only hosted replicas are touched, each
    /// through partition::run_owner_step.
    void run_maintenance(int64_t now_ms);

    /// Clean shutdown: closes every hosted replica (producer snapshot, durable close), then the log
    /// manager (checkpoints, clean-shutdown marker). Idempotent; returns the first error.
    std::error_code shutdown();
    bool shut_down() const { return shut_down_.load(std::memory_order_acquire); }

private:
    struct index {
        std::map<std::string, std::shared_ptr<const partition_list>, std::less<>> by_name;
        std::map<protocol::uuid, std::string> name_by_id;
    };
    std::shared_ptr<const index> current() const;
    void publish(std::shared_ptr<const index> next);

    const broker_config& config_;
    const metadata_cache& metadata_;
    const log::clock& clock_;
    std::unique_ptr<log::log_manager> logs_;

    mutable std::mutex index_mutex_;  // guards index_ (the pointer only)
    std::shared_ptr<const index> index_ = std::make_shared<const index>();
    std::mutex host_mutex_;  // serialises host/remove (read-modify-write of the index)

    std::mutex maintenance_mutex_;  // one maintenance pass at a time
    int64_t last_retention_ms_ = 0;
    int64_t last_checkpoint_ms_ = 0;
    std::atomic<bool> shut_down_{false};
};

}  // namespace broker::server
