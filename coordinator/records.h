#pragma once
// Keys and values of the `__consumer_offsets` topic, byte for byte as Kafka writes them.
//
// Every key and value starts with an int16 version. The key version tells the record type:
//   key v0, v1  OffsetCommitKey     { group: string, topic: string, partition: int32 }
//   key v2      GroupMetadataKey    { group: string }
//   other       unknown: skipped on load (Kafka logs and ignores them)
// Values:
//   OffsetCommitValue  v0 { offset: int64, metadata: string, commit_timestamp: int64 }
//                      v1 { offset, metadata, commit_timestamp, expire_timestamp: int64 }
//                      v2 { offset, metadata, commit_timestamp }
//                      v3 { offset, leader_epoch: int32, metadata, commit_timestamp }
//                      v4 as v3, flexible: compact strings, tagged-field section at the end
//   GroupMetadataValue v0 { protocol_type: string, generation: int32, protocol: string?,
//                           leader: string?, members: [member] }
//                      v1 member gains rebalance_timeout; v2 adds current_state_timestamp: int64
//                      after leader; v3 member gains group_instance_id: string? after member_id;
//                      v4 as v3, flexible
//     member v0 { member_id, client_id, client_host, session_timeout: int32,
//                 subscription: bytes, assignment: bytes }, rebalance_timeout: int32 sits before
//                 session_timeout from v1.
// Strings are int16-length UTF-8 (-1 = null), bytes and arrays int32-length, all big-endian; the
// flexible v4 uses unsigned-varint length + 1 and ends every struct with a tagged-field section.
// A tombstone (deleted offset or group) is a record whose value is null.
//
// What this broker writes follows Kafka 2.3+: offset keys v1, group keys v2, offset values v3
// (v1 when the commit carried an explicit expire timestamp, i.e. OffsetCommit v2-4 with a
// retention time) and group values v3. Every listed version is read.
//
// The layouts come from Kafka's group-coordinator record schemas; they are not client-protocol
// messages, so they are coded here rather than generated. Decoding is bounds-checked and returns
// nullopt on malformed bytes, never throws.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "coordinator/byte_io.h"

namespace broker::server::coordinator {

struct offset_commit_key {
    std::string group;
    std::string topic;
    int32_t partition = 0;
    friend bool operator==(const offset_commit_key&, const offset_commit_key&) = default;
};

struct group_metadata_key {
    std::string group;
    friend bool operator==(const group_metadata_key&, const group_metadata_key&) = default;
};

/// A key whose version this broker does not know.
struct unknown_key {
    int16_t version = 0;
    friend bool operator==(const unknown_key&, const unknown_key&) = default;
};

using record_key = std::variant<offset_commit_key, group_metadata_key, unknown_key>;

struct offset_commit_value {
    int64_t offset = 0;
    int32_t leader_epoch = -1;  // v3+; -1 = none
    std::string metadata;
    int64_t commit_timestamp = 0;
    int64_t expire_timestamp = -1;  // v1 only; -1 = none
    friend bool operator==(const offset_commit_value&, const offset_commit_value&) = default;
};

struct group_member_value {
    std::string member_id;
    std::optional<std::string> group_instance_id;  // v3+
    std::string client_id;
    std::string client_host;
    int32_t rebalance_timeout = -1;  // v1+
    int32_t session_timeout = 0;
    bytes subscription;
    bytes assignment;
    friend bool operator==(const group_member_value&, const group_member_value&) = default;
};

struct group_metadata_value {
    std::string protocol_type;
    int32_t generation = 0;
    std::optional<std::string> protocol;
    std::optional<std::string> leader;
    int64_t current_state_timestamp = -1;  // v2+
    std::vector<group_member_value> members;
    friend bool operator==(const group_metadata_value&, const group_metadata_value&) = default;
};

constexpr int16_t offset_commit_key_version = 1;
constexpr int16_t group_metadata_key_version = 2;
constexpr int16_t max_offset_commit_value_version = 4;
constexpr int16_t max_group_metadata_value_version = 4;

/// Offset commit key, version 0 or 1 (identical layouts).
bytes encode_offset_commit_key(const offset_commit_key& key,
                               int16_t version = offset_commit_key_version);
bytes encode_group_metadata_key(const group_metadata_key& key);
/// `version` in [0, 4]; fields the version lacks are not written.
bytes encode_offset_commit_value(const offset_commit_value& value, int16_t version);
/// `version` in [0, 4]; fields the version lacks are not written.
bytes encode_group_metadata_value(const group_metadata_value& value, int16_t version);

/// The value version Kafka writes for an offset: 1 with an expire timestamp, else 3.
int16_t offset_commit_value_version_for(const offset_commit_value& value);

/// nullopt when the key is truncated or malformed. Unknown key versions decode as `unknown_key`.
std::optional<record_key> decode_record_key(std::span<const uint8_t> data);
/// nullopt when malformed or of an unknown version. Fields absent from the version read as their
/// defaults (leader epoch and expire timestamp -1). Trailing bytes are ignored, as Kafka does.
std::optional<offset_commit_value> decode_offset_commit_value(std::span<const uint8_t> data);
/// nullopt when malformed or of an unknown version. A v0 member's rebalance timeout reads as its
/// session timeout, as Kafka restores it.
std::optional<group_metadata_value> decode_group_metadata_value(std::span<const uint8_t> data);

}  // namespace broker::server::coordinator
