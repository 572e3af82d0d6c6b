#pragma once
// The broker side of UpdateMetadata: how the controller's view of the cluster (live brokers,
// controller id, partition leaders and replica sets) becomes the metadata cache's snapshots, with
// the semantics of Kafka's ZkMetadataCache.updateMetadata (ZooKeeper mode):
//   - the live brokers replace the old set (id, rack, one address per listener; versions 0-2 name
//     listeners after their security protocol, version 0 carries one PLAINTEXT host and port);
//   - the controller id is taken as sent (a negative id means "none", -1);
//   - partition states are upserts into what the broker already knows (the controller sends only
//     what changed), except a partition whose leader is -2 (LeaderDuringDelete), which is removed;
//     a topic left with no partitions is removed with its topic id;
//   - a topic state (version 5+) sets its topic's id as sent: versions 5 and 6 carry none, which
//     clears it, as Kafka does.
//
// Kafka keeps the raw partition states and works out each partition's answer when a Metadata
// request reads them; this broker derives the answers once per update instead, so the image keeps
// the raw states next to the derived snapshot: a partition whose leader is -1 or not a live broker
// reads leader -1 with LEADER_NOT_AVAILABLE (what Kafka's Metadata says), and when a later update
// changes only the live brokers (the controller sends one without partition states when a broker
// comes back), the answers are derived again from the leaders as the controller stated them.
// REPLICA_NOT_AVAILABLE (Metadata v0's filtering of dead replicas) and LISTENER_NOT_FOUND depend on
// the request and are left to the Metadata handler.
//
// Partitions of a topic are listed 0..n-1 (topic_info's contract). A partition the broker has no
// state for while a higher one is known (a gap, which the controller never creates on purpose)
// is listed as a placeholder: leader -1, LEADER_NOT_AVAILABLE, no replicas. Partition indexes that
// are negative or not below max_partitions_per_topic are ignored, so a bad index cannot make the
// broker allocate placeholders without bound.
//
// Pure functions over immutable values; any thread.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/generated/update_metadata_request.h"
#include "protocol/wire.h"
#include "server/metadata/metadata_cache.h"

namespace broker::server::cluster {

/// Partition indexes at or above this are ignored (see the file comment).
constexpr int32_t max_partitions_per_topic = 1'000'000;

/// Kafka's LeaderAndIsr.LeaderDuringDelete: the partition's topic is being deleted.
constexpr int32_t leader_during_delete = -2;

/// One partition as the controller last stated it; the leader is kept as sent, even when that
/// broker is not live.
struct partition_state {
    int32_t leader = -1;
    int32_t leader_epoch = 0;
    std::vector<int32_t> replicas;
    std::vector<int32_t> isr;
    std::vector<int32_t> offline_replicas;
    friend bool operator==(const partition_state&, const partition_state&) = default;
};

/// One topic as the controller stated it: its id (zero when none was sent) and its partitions by
/// index. Never empty inside a partition_state_table.
struct topic_state {
    protocol::uuid topic_id;
    std::map<int32_t, partition_state> partitions;
    friend bool operator==(const topic_state&, const topic_state&) = default;
};

/// Every topic the controller stated, by name.
using partition_state_table = std::map<std::string, topic_state, std::less<>>;

/// What a broker knows from UpdateMetadata. `topics` and `cluster` are what the metadata cache
/// publishes; `states` is what `topics` was derived from. Any member may be null in an image built
/// elsewhere: null snapshots read as empty, and null states read `topics` back (leaders as
/// listed).
struct metadata_image {
    std::shared_ptr<const topic_snapshot> topics;
    std::shared_ptr<const cluster_view> cluster;
    std::shared_ptr<const partition_state_table> states;
};

/// The image after `request` (decoded at `version`) is applied to `current`, as described in the
/// file comment. The result has no null member. When the request states no topic and keeps the
/// same live broker ids, the result shares `current`'s topics and states.
metadata_image apply_update_metadata(const metadata_image& current,
                                     const protocol::update_metadata_request& request,
                                     int16_t version);

/// Whether Kafka treats `topic` as internal (__consumer_offsets, __transaction_state).
bool is_internal_topic(std::string_view topic);

}  // namespace broker::server::cluster
