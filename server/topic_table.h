#pragma once
// The broker's view of which topics and partitions exist, as Metadata (and later Produce, Fetch,
// CreateTopics...) read it.
//
// Readers take an immutable snapshot (a shared_ptr to const data) and use it for the whole request,
// so one response never mixes two versions of the table and readers on different shards never lock
// each other out. Writers build a new snapshot and publish() it; the old one lives on until its last
// reader drops it. Today nothing publishes except tests: the topic store arrives with topic creation,
// and until then the table is truly empty.
//
// Thread-safety: snapshot() and publish() may be called from any thread (a mutex guards the pointer
// swap only; no reader holds it while using the data).
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/wire.h"

namespace broker::server {

/// One partition as Metadata describes it: leader, epoch, replica sets (broker ids).
struct partition_info {
    int32_t partition_index = 0;
    /// Kafka error code reported for this partition (e.g. leader_not_available while it has no
    /// leader); 0 when healthy.
    int16_t error_code = 0;
    int32_t leader_id = -1;
    int32_t leader_epoch = 0;
    std::vector<int32_t> replica_nodes;
    std::vector<int32_t> isr_nodes;
    std::vector<int32_t> offline_replicas;
    friend bool operator==(const partition_info&, const partition_info&) = default;
};

/// One topic: its name, id (zero until topic ids are assigned) and partitions.
struct topic_info {
    std::string name;
    protocol::uuid topic_id;
    bool is_internal = false;
    /// Sorted by partition_index, indexes 0..n-1.
    std::vector<partition_info> partitions;
    friend bool operator==(const topic_info&, const topic_info&) = default;
};

/// One immutable version of the table, indexed by name and by (non-zero) topic id.
/// Never modified after construction, so any thread may read it.
class topic_snapshot {
public:
    topic_snapshot() = default;
    /// Topics with duplicate names or (non-zero) ids are rejected with std::invalid_argument.
    explicit topic_snapshot(std::vector<topic_info> topics);

    const topic_info* find(std::string_view name) const;
    const topic_info* find(const protocol::uuid& id) const;
    /// Every topic, ordered by name.
    const std::map<std::string, topic_info, std::less<>>& topics() const { return by_name_; }
    bool empty() const { return by_name_.empty(); }

private:
    std::map<std::string, topic_info, std::less<>> by_name_;
    std::map<protocol::uuid, std::string> name_by_id_;
};

/// Holder of the current snapshot; see the file comment for the concurrency rules.
class topic_table {
public:
    topic_table();

    std::shared_ptr<const topic_snapshot> snapshot() const;
    void publish(std::shared_ptr<const topic_snapshot> next);

private:
    mutable std::mutex mutex_;
    std::shared_ptr<const topic_snapshot> current_;
};

}  // namespace broker::server
