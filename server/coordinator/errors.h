#pragma once
// The Kafka error codes the group coordinator produces or consumes.
//
// Every enumerator carries Kafka's wire value and Kafka's name in snake_case, the same names the
// codec's `protocol::error_code` uses, so the request handlers convert with a static_cast (or a
// static_assert-checked table) and no code is renumbered. The coordinator keeps its own subset so
// that it builds and tests without the generated codec.
#include <cstdint>
#include <string_view>

namespace broker::server::coordinator {

enum class error_code : int16_t {
    unknown_server_error = -1,
    none = 0,
    unknown_topic_or_partition = 3,
    invalid_fetch_size = 4,
    not_leader_or_follower = 6,
    request_timed_out = 7,
    message_too_large = 10,
    offset_metadata_too_large = 12,
    network_exception = 13,
    coordinator_load_in_progress = 14,
    coordinator_not_available = 15,
    not_coordinator = 16,
    record_list_too_large = 18,
    not_enough_replicas = 19,
    not_enough_replicas_after_append = 20,
    illegal_generation = 22,
    inconsistent_group_protocol = 23,
    invalid_group_id = 24,
    unknown_member_id = 25,
    invalid_session_timeout = 26,
    rebalance_in_progress = 27,
    invalid_commit_offset_size = 28,
    unsupported_version = 35,
    kafka_storage_error = 56,
    non_empty_group = 68,
    group_id_not_found = 69,
    member_id_required = 79,
    group_max_size_reached = 81,
    fenced_instance_id = 82,
    group_subscribed_to_topic = 86,
    unstable_offset_commit = 88,
};

/// Kafka's upper-case name of a code (for logs and test messages).
std::string_view error_name(error_code code);

}  // namespace broker::server::coordinator
