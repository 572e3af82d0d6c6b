#pragma once
// Errors of the log module.
//
// Failures that the log reports as values: a request the log refuses (offset out of range, a batch
// too large) or a malformed input. I/O failures travel as std::error_code in the system category
// (errno values) so the server can tell "disk trouble" (KAFKA_STORAGE_ERROR, log dir offline) from
// a refusal. `result<T>` is Boost.Outcome's result with std::error_code, as everywhere in the
// broker.
#include <string>
#include <system_error>
#include <type_traits>

#include <boost/outcome/result.hpp>
#include <boost/outcome/success_failure.hpp>

namespace broker::log {

namespace outcome = BOOST_OUTCOME_V2_NAMESPACE;

template <typename T>
using result = outcome::result<T, std::error_code>;

/// Refusals and malformed inputs. The comment names the Kafka error code the server should answer.
enum class errc {
    offset_out_of_range = 1,  // OFFSET_OUT_OF_RANGE (1): read/delete_records outside [start, end]
    message_too_large,        // MESSAGE_TOO_LARGE (10): batch larger than max.message.bytes
    record_batch_too_large,   // RECORD_BATCH_TOO_LARGE (18): batch larger than segment.bytes
    corrupt_batch,            // CORRUPT_MESSAGE (2): the bytes are not whole v2 batches
    invalid_offset,           // follower batch offsets below the log end or not increasing
    log_closed,      // the log was closed or deleted (NOT_LEADER_OR_FOLLOWER / KAFKA_STORAGE_ERROR)
    corrupt_file,    // a checkpoint or index file that cannot be parsed
    invalid_config,  // INVALID_CONFIG (40): a topic config value out of range or unparsable
    unknown_config,  // a topic config name this log does not know
    log_exists,      // a partition directory exists twice across the log dirs
    stale_clean,     // a cleaning result no longer matches the log (truncated meanwhile)
    cleaning_in_progress,  // a second cleaning round was requested before the first finished
};

const std::error_category& log_category() noexcept;
std::error_code make_error_code(errc e) noexcept;

/// The current errno as an error code in the system category.
std::error_code errno_code() noexcept;

}  // namespace broker::log

template <>
struct std::is_error_code_enum<broker::log::errc> : std::true_type {};
