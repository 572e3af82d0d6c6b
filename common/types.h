#pragma once
// The ids that cross module boundaries (broker ids, partition indexes, leader epochs, producer
// ids), as strong types (common/strong_int.h): a signature says which one it takes, and passing a
// leader epoch where a broker id is expected does not compile.
//
// They stay raw integers where they meet the wire (the generated protocol structs, record batch
// headers) and on disk; the code at that edge converts with the explicit constructor and value().
// docs/decisions.md (the replica layer) lists where that happens.
//
// leader_epoch_t and producer_id_t keep their suffix: `leader_epoch` and `producer_id` are member
// names (partition::leader_epoch(), producer_entry::producer_id) that a type of the same name would
// shadow inside those classes.
#include <cstdint>

#include "common/strong_int.h"

namespace broker {

/// A broker id (broker.id / node.id).
using node_id = strong_int<int32_t, struct node_id_tag>;
/// No broker, or one not known; -1 as on Kafka's wire.
inline constexpr node_id no_node{-1};

/// A partition's index within its topic (0..partition count - 1).
using partition_index = strong_int<int32_t, struct partition_index_tag>;

/// A partition leader epoch.
using leader_epoch_t = strong_int<int32_t, struct leader_epoch_tag>;
/// An epoch not known (KIP-320: a fetcher that does not track epochs sends -1).
inline constexpr leader_epoch_t unknown_epoch{-1};

/// An idempotent or transactional producer id.
using producer_id_t = strong_int<int64_t, struct producer_id_tag>;
/// No producer id: a batch written without idempotence, or an InitProducerId that failed.
inline constexpr producer_id_t no_producer_id{-1};

}  // namespace broker
