#include "log/log_config.h"

#include <charconv>
#include <cstdlib>
#include <limits>

#include "common/strings.h"
#include "log/errors.h"

namespace broker::log {
namespace {

constexpr int64_t int32_max = std::numeric_limits<int32_t>::max();

bool parse_int64(std::string_view text, int64_t& out) {
    text = trim(text);
    if (!text.empty() && text.front() == '+') {
        text.remove_prefix(1);
    }
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc{} && ptr == text.data() + text.size() && !text.empty();
}

bool parse_double(std::string_view text, double& out) {
    std::string s(trim(text));
    if (s.empty()) {
        return false;
    }
    char* end = nullptr;
    out = std::strtod(s.c_str(), &end);
    return end == s.c_str() + s.size();
}

bool parse_policy(std::string_view text, cleanup_policy& out) {
    bool compact = false;
    bool remove = false;
    for (const std::string_view piece : split(text, ',')) {
        const std::string_view item = trim(piece);
        if (item == "compact") {
            compact = true;
        } else if (item == "delete") {
            remove = true;
        } else {
            return false;
        }
    }
    out = compact && remove ? cleanup_policy::compact_delete
                            : (compact ? cleanup_policy::compact : cleanup_policy::delete_);
    return true;
}

const char* policy_name(cleanup_policy p) {
    switch (p) {
        case cleanup_policy::delete_: return "delete";
        case cleanup_policy::compact: return "compact";
        case cleanup_policy::compact_delete: return "compact,delete";
    }
    return "delete";
}

}  // namespace

std::error_code log_config::validate() const {
    bool ok = segment_bytes >= 14 && segment_bytes <= int32_max && segment_ms >= 1 &&
              segment_index_bytes >= 4 && segment_index_bytes <= int32_max &&
              index_interval_bytes >= 0 && index_interval_bytes <= int32_max &&
              retention_ms >= -1 && delete_retention_ms >= 0 && min_cleanable_dirty_ratio >= 0.0 &&
              min_cleanable_dirty_ratio <= 1.0 && min_compaction_lag_ms >= 0 &&
              max_compaction_lag_ms >= 1 && max_message_bytes >= 0 &&
              max_message_bytes <= int32_max && flush_messages >= 1 && flush_ms >= 0 &&
              file_delete_delay_ms >= 0;
    return ok ? std::error_code{} : make_error_code(errc::invalid_config);
}

std::error_code apply_topic_config(log_config& config, std::string_view name,
                                   std::string_view value) {
    log_config next = config;
    int64_t* target = nullptr;
    if (name == "segment.bytes") {
        target = &next.segment_bytes;
    } else if (name == "segment.ms") {
        target = &next.segment_ms;
    } else if (name == "segment.index.bytes") {
        target = &next.segment_index_bytes;
    } else if (name == "index.interval.bytes") {
        target = &next.index_interval_bytes;
    } else if (name == "retention.ms") {
        target = &next.retention_ms;
    } else if (name == "retention.bytes") {
        target = &next.retention_bytes;
    } else if (name == "delete.retention.ms") {
        target = &next.delete_retention_ms;
    } else if (name == "min.compaction.lag.ms") {
        target = &next.min_compaction_lag_ms;
    } else if (name == "max.compaction.lag.ms") {
        target = &next.max_compaction_lag_ms;
    } else if (name == "max.message.bytes") {
        target = &next.max_message_bytes;
    } else if (name == "flush.messages") {
        target = &next.flush_messages;
    } else if (name == "flush.ms") {
        target = &next.flush_ms;
    } else if (name == "file.delete.delay.ms") {
        target = &next.file_delete_delay_ms;
    } else if (name == "min.cleanable.dirty.ratio") {
        if (!parse_double(value, next.min_cleanable_dirty_ratio)) {
            return make_error_code(errc::invalid_config);
        }
    } else if (name == "cleanup.policy") {
        if (!parse_policy(value, next.policy)) {
            return make_error_code(errc::invalid_config);
        }
    } else if (name == "message.timestamp.type") {
        std::string_view v = trim(value);
        if (v == "CreateTime") {
            next.message_timestamp_type = protocol::timestamp_type::create_time;
        } else if (v == "LogAppendTime") {
            next.message_timestamp_type = protocol::timestamp_type::log_append_time;
        } else {
            return make_error_code(errc::invalid_config);
        }
    } else {
        return make_error_code(errc::unknown_config);
    }
    if (target != nullptr && !parse_int64(value, *target)) {
        return make_error_code(errc::invalid_config);
    }
    if (auto ec = next.validate()) {
        return ec;
    }
    config = next;
    return {};
}

std::vector<std::pair<std::string, std::string>> topic_config_entries(const log_config& c) {
    auto num = [](int64_t v) { return std::to_string(v); };
    std::string ratio = std::to_string(c.min_cleanable_dirty_ratio);
    // Drop the trailing zeros std::to_string leaves ("0.500000" -> "0.5").
    while (ratio.size() > 1 && ratio.back() == '0' && ratio[ratio.size() - 2] != '.') {
        ratio.pop_back();
    }
    return {
        {"cleanup.policy", policy_name(c.policy)},
        {"delete.retention.ms", num(c.delete_retention_ms)},
        {"file.delete.delay.ms", num(c.file_delete_delay_ms)},
        {"flush.messages", num(c.flush_messages)},
        {"flush.ms", num(c.flush_ms)},
        {"index.interval.bytes", num(c.index_interval_bytes)},
        {"max.compaction.lag.ms", num(c.max_compaction_lag_ms)},
        {"max.message.bytes", num(c.max_message_bytes)},
        {"message.timestamp.type",
         c.message_timestamp_type == protocol::timestamp_type::log_append_time ? "LogAppendTime"
                                                                               : "CreateTime"},
        {"min.cleanable.dirty.ratio", ratio},
        {"min.compaction.lag.ms", num(c.min_compaction_lag_ms)},
        {"retention.bytes", num(c.retention_bytes)},
        {"retention.ms", num(c.retention_ms)},
        {"segment.bytes", num(c.segment_bytes)},
        {"segment.index.bytes", num(c.segment_index_bytes)},
        {"segment.ms", num(c.segment_ms)},
    };
}

}  // namespace broker::log
