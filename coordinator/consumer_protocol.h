#pragma once
// The topics a "consumer"-protocol member subscribes to, read from its JoinGroup metadata.
//
// The metadata is Kafka's ConsumerProtocolSubscription prefixed by an int16 version:
//   v0 { topics: [string], user_data: bytes? }, v1 adds owned_partitions, v2 generation_id,
//   v3 rack_id; never flexible.
// Only `topics` matters to the coordinator (OffsetDelete's GROUP_SUBSCRIBED_TO_TOPIC and offset
// expiry of Stable groups). Like Kafka's coordinator, this reads the version prefix, ignores its
// value, and decodes the body as version 0 (every later version only appends fields) with the
// generated `protocol::consumer_protocol_subscription` codec.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace broker::server::coordinator {

/// The protocol type of groups whose metadata follows the consumer protocol.
inline constexpr const char* consumer_protocol_type = "consumer";

/// The subscribed topics, or nullopt if the bytes are not a valid version-0 subscription (missing
/// version prefix, truncated or malformed fields).
std::optional<std::vector<std::string>> decode_subscription_topics(
    std::span<const uint8_t> metadata);

}  // namespace broker::server::coordinator
