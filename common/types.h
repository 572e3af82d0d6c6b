#pragma once
// Names for the integers that cross module boundaries (broker ids, partition indexes, leader
// epochs, producer ids), so that signatures say which one they take.
#include <cstdint>

namespace broker {

/// A broker id (broker.id / node.id); -1 means none or unknown, as on Kafka's wire.
using node_id = int32_t;
/// A partition's index within its topic.
using partition_index = int32_t;
/// A partition leader epoch; -1 means unknown.
using leader_epoch_t = int32_t;
/// An idempotent or transactional producer id; -1 means none.
using producer_id_t = int64_t;

}  // namespace broker
