#include "server/replica/errors.h"

#include "log/errors.h"

namespace broker::server {

protocol::error_code to_kafka_error(const std::error_code& ec) {
    using protocol::error_code;
    if (!ec) {
        return error_code::none;
    }
    if (ec.category() == log::log_category()) {
        switch (static_cast<log::errc>(ec.value())) {
            case log::errc::offset_out_of_range: return error_code::offset_out_of_range;
            case log::errc::message_too_large: return error_code::message_too_large;
            case log::errc::record_batch_too_large: return error_code::record_list_too_large;
            case log::errc::corrupt_batch: return error_code::corrupt_message;
            case log::errc::log_closed: return error_code::not_leader_or_follower;
            case log::errc::invalid_config: return error_code::invalid_config;
            default: return error_code::unknown_server_error;
        }
    }
    if (ec.category() == std::system_category() || ec.category() == std::generic_category()) {
        return error_code::kafka_storage_error;
    }
    return error_code::unknown_server_error;
}

}  // namespace broker::server
