#include "coordinator/records.h"

namespace broker::server::coordinator {

bytes encode_offset_commit_key(const offset_commit_key& key, int16_t version) {
    byte_writer w;
    w.write_int16(version);
    w.write_string(key.group, false);
    w.write_string(key.topic, false);
    w.write_int32(key.partition);
    return w.take();
}

bytes encode_group_metadata_key(const group_metadata_key& key) {
    byte_writer w;
    w.write_int16(group_metadata_key_version);
    w.write_string(key.group, false);
    return w.take();
}

int16_t offset_commit_value_version_for(const offset_commit_value& value) {
    return value.expire_timestamp != -1 ? 1 : 3;
}

bytes encode_offset_commit_value(const offset_commit_value& value, int16_t version) {
    const bool flexible = version >= 4;
    byte_writer w;
    w.write_int16(version);
    w.write_int64(value.offset);
    if (version >= 3) {
        w.write_int32(value.leader_epoch);
    }
    w.write_string(value.metadata, flexible);
    w.write_int64(value.commit_timestamp);
    if (version == 1) {
        w.write_int64(value.expire_timestamp);
    }
    if (flexible) {
        w.write_empty_tagged_fields();
    }
    return w.take();
}

bytes encode_group_metadata_value(const group_metadata_value& value, int16_t version) {
    const bool flexible = version >= 4;
    byte_writer w;
    w.write_int16(version);
    w.write_string(value.protocol_type, flexible);
    w.write_int32(value.generation);
    w.write_nullable_string(value.protocol, flexible);
    w.write_nullable_string(value.leader, flexible);
    if (version >= 2) {
        w.write_int64(value.current_state_timestamp);
    }
    w.write_array_count(value.members.size(), flexible);
    for (const auto& m : value.members) {
        w.write_string(m.member_id, flexible);
        if (version >= 3) {
            w.write_nullable_string(m.group_instance_id, flexible);
        }
        w.write_string(m.client_id, flexible);
        w.write_string(m.client_host, flexible);
        if (version >= 1) {
            w.write_int32(m.rebalance_timeout);
        }
        w.write_int32(m.session_timeout);
        w.write_bytes(m.subscription, flexible);
        w.write_bytes(m.assignment, flexible);
        if (flexible) {
            w.write_empty_tagged_fields();
        }
    }
    if (flexible) {
        w.write_empty_tagged_fields();
    }
    return w.take();
}

std::optional<record_key> decode_record_key(std::span<const uint8_t> data) {
    byte_reader r(data);
    int16_t version = r.read_int16();
    if (!r.ok()) {
        return std::nullopt;
    }
    if (version == 0 || version == 1) {
        offset_commit_key key;
        key.group = r.read_string(false);
        key.topic = r.read_string(false);
        key.partition = r.read_int32();
        if (!r.ok()) {
            return std::nullopt;
        }
        return record_key{std::move(key)};
    }
    if (version == 2) {
        group_metadata_key key;
        key.group = r.read_string(false);
        if (!r.ok()) {
            return std::nullopt;
        }
        return record_key{std::move(key)};
    }
    return record_key{unknown_key{version}};
}

std::optional<offset_commit_value> decode_offset_commit_value(std::span<const uint8_t> data) {
    byte_reader r(data);
    int16_t version = r.read_int16();
    if (!r.ok() || version < 0 || version > max_offset_commit_value_version) {
        return std::nullopt;
    }
    const bool flexible = version >= 4;
    offset_commit_value value;
    value.offset = r.read_int64();
    if (version >= 3) {
        value.leader_epoch = r.read_int32();
    }
    value.metadata = r.read_string(flexible);
    value.commit_timestamp = r.read_int64();
    if (version == 1) {
        value.expire_timestamp = r.read_int64();
    }
    if (flexible) {
        r.skip_tagged_fields();
    }
    if (!r.ok()) {
        return std::nullopt;
    }
    return value;
}

std::optional<group_metadata_value> decode_group_metadata_value(std::span<const uint8_t> data) {
    byte_reader r(data);
    int16_t version = r.read_int16();
    if (!r.ok() || version < 0 || version > max_group_metadata_value_version) {
        return std::nullopt;
    }
    const bool flexible = version >= 4;
    group_metadata_value value;
    value.protocol_type = r.read_string(flexible);
    value.generation = r.read_int32();
    value.protocol = r.read_nullable_string(flexible);
    value.leader = r.read_nullable_string(flexible);
    if (version >= 2) {
        value.current_state_timestamp = r.read_int64();
    }
    // Smallest member: three empty strings, two int32s, two empty byte fields.
    constexpr std::size_t min_member_size = 3 * 1 + 2 * 4 + 2 * 1;
    int32_t count = r.read_array_count(flexible, min_member_size);
    value.members.reserve(static_cast<std::size_t>(count));
    for (int32_t i = 0; r.ok() && i < count; ++i) {
        group_member_value m;
        m.member_id = r.read_string(flexible);
        if (version >= 3) {
            m.group_instance_id = r.read_nullable_string(flexible);
        }
        m.client_id = r.read_string(flexible);
        m.client_host = r.read_string(flexible);
        if (version >= 1) {
            m.rebalance_timeout = r.read_int32();
        }
        m.session_timeout = r.read_int32();
        if (version == 0) {
            // v0 predates the rebalance timeout; Kafka restores it as the session timeout.
            m.rebalance_timeout = m.session_timeout;
        }
        m.subscription = r.read_bytes(flexible);
        m.assignment = r.read_bytes(flexible);
        if (flexible) {
            r.skip_tagged_fields();
        }
        value.members.push_back(std::move(m));
    }
    if (flexible) {
        r.skip_tagged_fields();
    }
    if (!r.ok()) {
        return std::nullopt;
    }
    return value;
}

}  // namespace broker::server::coordinator
