#pragma once
// Minimal process-wide logger for the server module.
//
// Lines go to stderr as `<UTC time> <LEVEL> [shard N] message`. One line is formatted into a local
// buffer and written with a single write(2), so lines from different shard threads never
// interleave. The threshold is process-wide (set once at startup from `logger.level`) and read with
// relaxed atomics: changing it while shards run is allowed and takes effect eventually.
#include <atomic>
#include <cstdint>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>

namespace broker::server {

enum class log_level : uint8_t { debug = 0, info = 1, warn = 2, error = 3, off = 4 };

/// Parses "debug", "info", "warn", "error" or "off" (case-insensitive).
std::optional<log_level> parse_log_level(std::string_view text);

void set_log_threshold(log_level level);
log_level log_threshold();

inline bool log_enabled(log_level level) {
    return level >= log_threshold();
}

/// Writes one line at `level` if enabled. Prefer the BROKER_LOG_* macros, which skip formatting
/// when the level is off.
void log_line(log_level level, std::string_view message);

/// The shard id that tags log lines written from this thread (-1 = not a shard thread).
void set_thread_shard_tag(int shard_id);

}  // namespace broker::server

#define BROKER_LOG_AT(level, expr)                                       \
    do {                                                                 \
        if (::broker::server::log_enabled(level)) {                      \
            std::ostringstream broker_log_stream_;                       \
            broker_log_stream_ << expr;                                  \
            ::broker::server::log_line(level, broker_log_stream_.str()); \
        }                                                                \
    } while (false)

#define BROKER_LOG_DEBUG(expr) BROKER_LOG_AT(::broker::server::log_level::debug, expr)
#define BROKER_LOG_INFO(expr) BROKER_LOG_AT(::broker::server::log_level::info, expr)
#define BROKER_LOG_WARN(expr) BROKER_LOG_AT(::broker::server::log_level::warn, expr)
#define BROKER_LOG_ERROR(expr) BROKER_LOG_AT(::broker::server::log_level::error, expr)
