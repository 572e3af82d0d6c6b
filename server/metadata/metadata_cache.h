#pragma once
// The metadata cache: the broker's view of the cluster (live brokers with their addresses per
// listener, the controller) and of which topics and partitions exist with their leaders, epochs
// and replica sets, as Metadata, DescribeCluster, FindCoordinator, Fetch's leader hints and the
// admin API read it. A metadata source feeds it: on a single node the broker publishes itself as
// the only live broker and controller, and the topic store publishes the local catalog's topics.
//
// Readers take an immutable snapshot (a shared_ptr to const data) and use it for the whole request,
// so one response never mixes two versions of the table and readers on different shards never lock
// each other out. Writers build a new snapshot and publish() it; the old one lives on until its
// last reader drops it. Topics and the cluster view are published separately (they change for
// different reasons).
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

/// An address clients are told to connect to, for one listener.
struct advertised_endpoint {
    std::string listener_name;
    std::string host;
    uint16_t port = 0;
    friend bool operator==(const advertised_endpoint&, const advertised_endpoint&) = default;
};

/// One live broker.
struct broker_info {
    int32_t id = -1;
    std::optional<std::string> rack;
    std::vector<advertised_endpoint> endpoints;

    /// The address advertised for `listener_name`, or nullptr when it has none.
    const advertised_endpoint* endpoint_for(std::string_view listener_name) const;
};

/// The live brokers and the controller, as of one moment.
struct cluster_view {
    /// Ordered by id.
    std::vector<broker_info> brokers;
    /// -1 when there is none.
    int32_t controller_id = -1;

    const broker_info* find(int32_t id) const;
};

/// Holder of the current snapshots; see the file comment for the concurrency rules.
class metadata_cache {
public:
    metadata_cache();

    std::shared_ptr<const topic_snapshot> snapshot() const;
    void publish(std::shared_ptr<const topic_snapshot> next);

    /// Never null (empty until a metadata source publishes one).
    std::shared_ptr<const cluster_view> cluster() const;
    void publish_cluster(std::shared_ptr<const cluster_view> next);

private:
    mutable std::mutex mutex_;
    std::shared_ptr<const topic_snapshot> current_;
    std::shared_ptr<const cluster_view> cluster_ = std::make_shared<const cluster_view>();
};

}  // namespace broker::server
