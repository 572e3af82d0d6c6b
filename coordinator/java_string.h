#pragma once
// Java `String` arithmetic the coordinator must reproduce bit for bit.
//
// Kafka decodes every wire string from UTF-8 into a Java String (UTF-16 code units, malformed
// input replaced by U+FFFD) and then:
//  - picks a group's `__consumer_offsets` partition as `Utils.abs(groupId.hashCode()) % n`, where
//    `Utils.abs` maps INT_MIN to 0 and is `Math.abs` otherwise (not `n & 0x7fffffff`);
//  - bounds offset commit metadata by `String.length()`, i.e. UTF-16 code units, not bytes.
// These helpers compute both from the UTF-8 bytes we keep.
#include <cstdint>
#include <string_view>

namespace broker::server::coordinator {

/// `String.hashCode()` of the Java string Kafka would decode from `utf8`.
int32_t java_string_hash(std::string_view utf8);

/// `String.length()` (UTF-16 code units) of the Java string Kafka would decode from `utf8`.
int64_t java_string_length(std::string_view utf8);

/// The `__consumer_offsets` partition that stores `group_id`, as Kafka's coordinator computes it.
/// `num_partitions` must be positive.
int32_t offsets_partition_for(std::string_view group_id, int32_t num_partitions);

}  // namespace broker::server::coordinator
