#include "server/logging.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>

#include "common/strings.h"

namespace broker::server {
namespace {

std::atomic<log_level> threshold{log_level::info};
thread_local int thread_shard_tag = -1;

std::string_view level_name(log_level level) {
    switch (level) {
        case log_level::debug: return "DEBUG";
        case log_level::info: return "INFO";
        case log_level::warn: return "WARN";
        case log_level::error: return "ERROR";
        case log_level::off: break;
    }
    return "OFF";
}

}  // namespace

std::optional<log_level> parse_log_level(std::string_view text) {
    const std::string lower = to_lower(text);
    if (lower == "debug")
        return log_level::debug;
    if (lower == "info")
        return log_level::info;
    if (lower == "warn" || lower == "warning")
        return log_level::warn;
    if (lower == "error")
        return log_level::error;
    if (lower == "off")
        return log_level::off;
    return std::nullopt;
}

void set_log_threshold(log_level level) {
    threshold.store(level, std::memory_order_relaxed);
}

log_level log_threshold() {
    return threshold.load(std::memory_order_relaxed);
}

void set_thread_shard_tag(int shard_id) {
    thread_shard_tag = shard_id;
}

void log_line(log_level level, std::string_view message) {
    if (!log_enabled(level)) {
        return;
    }
    const auto now = std::chrono::system_clock::now();
    const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
    const auto millis =
        std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() %
        1000;
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    char stamp[64];
    std::snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900,
                  utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                  static_cast<int>(millis));
    std::string line;
    line.reserve(message.size() + 48);
    line.append(stamp).append(" ").append(level_name(level));
    if (thread_shard_tag >= 0) {
        line.append(" [shard ").append(std::to_string(thread_shard_tag)).append("]");
    }
    line.append(" ").append(message).append("\n");
    // One write per line: concurrent lines from several shards stay whole.
    const char* data = line.data();
    size_t left = line.size();
    while (left > 0) {
        const ssize_t n = ::write(STDERR_FILENO, data, left);
        if (n <= 0) {
            break;
        }
        data += n;
        left -= static_cast<size_t>(n);
    }
}

}  // namespace broker::server
