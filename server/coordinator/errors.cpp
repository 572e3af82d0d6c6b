#include "server/coordinator/errors.h"

namespace broker::server::coordinator {

std::string_view error_name(error_code code) {
    switch (code) {
        case error_code::unknown_server_error: return "UNKNOWN_SERVER_ERROR";
        case error_code::none: return "NONE";
        case error_code::unknown_topic_or_partition: return "UNKNOWN_TOPIC_OR_PARTITION";
        case error_code::invalid_fetch_size: return "INVALID_FETCH_SIZE";
        case error_code::not_leader_or_follower: return "NOT_LEADER_OR_FOLLOWER";
        case error_code::request_timed_out: return "REQUEST_TIMED_OUT";
        case error_code::message_too_large: return "MESSAGE_TOO_LARGE";
        case error_code::offset_metadata_too_large: return "OFFSET_METADATA_TOO_LARGE";
        case error_code::network_exception: return "NETWORK_EXCEPTION";
        case error_code::coordinator_load_in_progress: return "COORDINATOR_LOAD_IN_PROGRESS";
        case error_code::coordinator_not_available: return "COORDINATOR_NOT_AVAILABLE";
        case error_code::not_coordinator: return "NOT_COORDINATOR";
        case error_code::record_list_too_large: return "RECORD_LIST_TOO_LARGE";
        case error_code::not_enough_replicas: return "NOT_ENOUGH_REPLICAS";
        case error_code::not_enough_replicas_after_append:
            return "NOT_ENOUGH_REPLICAS_AFTER_APPEND";
        case error_code::illegal_generation: return "ILLEGAL_GENERATION";
        case error_code::inconsistent_group_protocol: return "INCONSISTENT_GROUP_PROTOCOL";
        case error_code::invalid_group_id: return "INVALID_GROUP_ID";
        case error_code::unknown_member_id: return "UNKNOWN_MEMBER_ID";
        case error_code::invalid_session_timeout: return "INVALID_SESSION_TIMEOUT";
        case error_code::rebalance_in_progress: return "REBALANCE_IN_PROGRESS";
        case error_code::invalid_commit_offset_size: return "INVALID_COMMIT_OFFSET_SIZE";
        case error_code::unsupported_version: return "UNSUPPORTED_VERSION";
        case error_code::kafka_storage_error: return "KAFKA_STORAGE_ERROR";
        case error_code::non_empty_group: return "NON_EMPTY_GROUP";
        case error_code::group_id_not_found: return "GROUP_ID_NOT_FOUND";
        case error_code::member_id_required: return "MEMBER_ID_REQUIRED";
        case error_code::group_max_size_reached: return "GROUP_MAX_SIZE_REACHED";
        case error_code::fenced_instance_id: return "FENCED_INSTANCE_ID";
        case error_code::group_subscribed_to_topic: return "GROUP_SUBSCRIBED_TO_TOPIC";
        case error_code::unstable_offset_commit: return "UNSTABLE_OFFSET_COMMIT";
    }
    return "UNKNOWN";
}

}  // namespace broker::server::coordinator
