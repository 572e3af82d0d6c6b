#include "coordinator/records.h"

#include <algorithm>

#include "coordinator/generated/group_metadata_key.h"
#include "coordinator/generated/group_metadata_value.h"
#include "coordinator/generated/offset_commit_key.h"
#include "coordinator/generated/offset_commit_value.h"
#include "protocol/wire.h"

namespace broker::server::coordinator {
namespace {

// The int16 version in front of every key and value is not part of the schemas: Kafka writes it
// outside the struct, and for keys it names the record type.
template <typename Message>
bytes encode_with_version(int16_t version, const Message& message) {
    bytes out;
    out.reserve(2 + generated::encoded_size(version, message));  // one allocation per record
    protocol::writer w(out);
    w.write_int16(version);
    generated::encode(w, version, message);
    return out;
}

/// The struct after the version prefix; nullopt when malformed or the schema lacks the version.
template <typename Message>
std::optional<Message> decode_after_version(protocol::reader& r, int16_t version) {
    Message message;
    if (generated::decode(r, version, message) != protocol::codec_status::ok) {
        return std::nullopt;
    }
    return message;
}

template <typename Message>
constexpr bool has_version(int16_t version) {
    return version >= Message::min_version && version <= Message::max_version;
}

bool fits(const std::string& s) {
    return s.size() <= protocol::max_string_length;
}
bool fits(const std::optional<std::string>& s) {
    return !s || fits(*s);
}

/// A member id is a client or instance id (each up to the string limit) plus a UUID, so it can be
/// longer than any record string may be.
bool fits(const group_metadata_value& value) {
    return fits(value.protocol_type) && fits(value.protocol) && fits(value.leader) &&
           std::all_of(value.members.begin(), value.members.end(), [](const group_member_value& m) {
               return fits(m.member_id) && fits(m.group_instance_id) && fits(m.client_id) &&
                      fits(m.client_host);
           });
}

}  // namespace

bytes encode_offset_commit_key(const offset_commit_key& key, int16_t version) {
    generated::offset_commit_key out;
    out.group = key.group;
    out.topic = key.topic;
    out.partition = key.partition;
    return encode_with_version(version, out);
}

bytes encode_group_metadata_key(const group_metadata_key& key) {
    generated::group_metadata_key out;
    out.group = key.group;
    return encode_with_version(group_metadata_key_version, out);
}

int16_t offset_commit_value_version_for(const offset_commit_value& value) {
    return value.expire_timestamp != -1 ? 1 : 3;
}

bytes encode_offset_commit_value(const offset_commit_value& value, int16_t version) {
    generated::offset_commit_value out;
    out.offset = value.offset;
    out.leader_epoch = value.leader_epoch;
    out.metadata = value.metadata;
    out.commit_timestamp = value.commit_timestamp;
    out.expire_timestamp = value.expire_timestamp;
    return encode_with_version(version, out);
}

bytes encode_group_metadata_value(const group_metadata_value& value, int16_t version) {
    if (!fits(value)) {
        // Kafka's serializer refuses such a group too. An empty value never throws on the
        // coordinator thread and is skipped as malformed on load; the group lives on in memory.
        return {};
    }
    generated::group_metadata_value out;
    out.protocol_type = value.protocol_type;
    out.generation = value.generation;
    out.protocol = value.protocol;
    out.leader = value.leader;
    out.current_state_timestamp = value.current_state_timestamp;
    out.members.reserve(value.members.size());
    for (const auto& m : value.members) {
        auto& member = out.members.emplace_back();
        member.member_id = m.member_id;
        member.group_instance_id = m.group_instance_id;
        member.client_id = m.client_id;
        member.client_host = m.client_host;
        member.rebalance_timeout = m.rebalance_timeout;
        member.session_timeout = m.session_timeout;
        member.subscription = m.subscription;
        member.assignment = m.assignment;
    }
    return encode_with_version(version, out);
}

std::optional<record_key> decode_record_key(std::span<const uint8_t> data) {
    protocol::reader r(data);
    const int16_t version = r.read_int16();
    if (!r.ok()) {
        return std::nullopt;
    }
    if (has_version<generated::offset_commit_key>(version)) {
        auto key = decode_after_version<generated::offset_commit_key>(r, version);
        if (!key) {
            return std::nullopt;
        }
        return record_key{
            offset_commit_key{std::move(key->group), std::move(key->topic), key->partition}};
    }
    if (has_version<generated::group_metadata_key>(version)) {
        auto key = decode_after_version<generated::group_metadata_key>(r, version);
        if (!key) {
            return std::nullopt;
        }
        return record_key{group_metadata_key{std::move(key->group)}};
    }
    return record_key{unknown_key{version}};
}

std::optional<offset_commit_value> decode_offset_commit_value(std::span<const uint8_t> data) {
    protocol::reader r(data);
    const int16_t version = r.read_int16();
    if (!r.ok()) {
        return std::nullopt;
    }
    auto in = decode_after_version<generated::offset_commit_value>(r, version);
    if (!in) {
        return std::nullopt;
    }
    offset_commit_value value;
    value.offset = in->offset;
    value.leader_epoch = in->leader_epoch;
    value.metadata = std::move(in->metadata);
    value.commit_timestamp = in->commit_timestamp;
    value.expire_timestamp = in->expire_timestamp;
    return value;
}

std::optional<group_metadata_value> decode_group_metadata_value(std::span<const uint8_t> data) {
    protocol::reader r(data);
    const int16_t version = r.read_int16();
    if (!r.ok()) {
        return std::nullopt;
    }
    auto in = decode_after_version<generated::group_metadata_value>(r, version);
    if (!in) {
        return std::nullopt;
    }
    group_metadata_value value;
    value.protocol_type = std::move(in->protocol_type);
    value.generation = in->generation;
    value.protocol = std::move(in->protocol);
    value.leader = std::move(in->leader);
    value.current_state_timestamp = in->current_state_timestamp;
    value.members.reserve(in->members.size());
    for (auto& m : in->members) {
        auto& member = value.members.emplace_back();
        member.member_id = std::move(m.member_id);
        member.group_instance_id = std::move(m.group_instance_id);
        member.client_id = std::move(m.client_id);
        member.client_host = std::move(m.client_host);
        // v0 predates the rebalance timeout; Kafka restores it as the session timeout.
        member.rebalance_timeout = version == 0 ? m.session_timeout : m.rebalance_timeout;
        member.session_timeout = m.session_timeout;
        member.subscription = std::move(m.subscription);
        member.assignment = std::move(m.assignment);
    }
    return value;
}

}  // namespace broker::server::coordinator
