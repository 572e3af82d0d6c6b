#pragma once
// Per-topic log settings, named after Kafka's topic-level configs in snake_case, with Kafka's
// defaults. The server resolves broker-level settings into this struct (log.segment.bytes ->
// segment_bytes, log.roll.ms / log.roll.hours -> segment_ms, log.retention.{ms,minutes,hours} ->
// retention_ms, log.flush.interval.messages -> flush_messages, log.flush.interval.ms -> flush_ms,
// log.message.timestamp.type -> message_timestamp_type, ...) and then applies topic overrides
// with apply_topic_config().
//
// Plain data; copied into each partition_log, which reads only its own copy.
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "protocol/records.h"

namespace broker::log {

/// cleanup.policy: "delete", "compact" or "compact,delete" (either order).
enum class cleanup_policy : uint8_t {
    delete_ = 1,
    compact = 2,
    compact_delete = 3,
};
constexpr bool deletes(cleanup_policy p) {
    return (static_cast<uint8_t>(p) & 1) != 0;
}
constexpr bool compacts(cleanup_policy p) {
    return (static_cast<uint8_t>(p) & 2) != 0;
}

struct log_config {
    static constexpr int64_t unlimited = -1;

    int64_t segment_bytes = 1024LL * 1024 * 1024;         // segment.bytes
    int64_t segment_ms = 7LL * 24 * 60 * 60 * 1000;       // segment.ms
    int64_t segment_index_bytes = 10LL * 1024 * 1024;     // segment.index.bytes
    int64_t index_interval_bytes = 4096;                  // index.interval.bytes
    int64_t retention_ms = 7LL * 24 * 60 * 60 * 1000;     // retention.ms (-1 = forever)
    int64_t retention_bytes = unlimited;                  // retention.bytes (-1 = unlimited)
    cleanup_policy policy = cleanup_policy::delete_;      // cleanup.policy
    int64_t delete_retention_ms = 24LL * 60 * 60 * 1000;  // delete.retention.ms
    double min_cleanable_dirty_ratio = 0.5;               // min.cleanable.dirty.ratio
    int64_t min_compaction_lag_ms = 0;                    // min.compaction.lag.ms
    int64_t max_compaction_lag_ms = std::numeric_limits<int64_t>::max();  // max.compaction.lag.ms
    int64_t max_message_bytes = 1024 * 1024 + 12;  // max.message.bytes (1048588)
    protocol::timestamp_type message_timestamp_type =
        protocol::timestamp_type::create_time;                     // message.timestamp.type
    int64_t flush_messages = std::numeric_limits<int64_t>::max();  // flush.messages
    int64_t flush_ms = std::numeric_limits<int64_t>::max();        // flush.ms
    int64_t file_delete_delay_ms = 60000;                          // file.delete.delay.ms

    /// Checks every value against Kafka's bounds (segment.bytes >= 14, segment.index.bytes >= 4,
    /// ...).
    std::error_code validate() const;
    friend bool operator==(const log_config&, const log_config&) = default;
};

/// Sets one topic-level config given by its Kafka name ("segment.bytes") and string value, as it
/// would appear in CreateTopics / AlterConfigs. Errors: errc::unknown_config, errc::invalid_config.
/// The struct is unchanged on error.
std::error_code apply_topic_config(log_config& config, std::string_view name,
                                   std::string_view value);

/// Every topic-level config this struct carries, as (Kafka name, string value) pairs, in the form
/// DescribeConfigs reports them.
std::vector<std::pair<std::string, std::string>> topic_config_entries(const log_config& config);

}  // namespace broker::log
