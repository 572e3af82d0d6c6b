#include "log/types.h"

#include <time.h>

#include <charconv>

namespace broker::log {

std::optional<topic_partition> topic_partition::from_dir_name(const std::string& name) {
    auto dash = name.rfind('-');
    if (dash == std::string::npos || dash == 0 || dash + 1 == name.size()) {
        return std::nullopt;
    }
    int32_t partition = 0;
    const char* first = name.data() + dash + 1;
    const char* last = name.data() + name.size();
    auto [ptr, ec] = std::from_chars(first, last, partition);
    if (ec != std::errc{} || ptr != last || partition < 0) {
        return std::nullopt;
    }
    // Kafka's topic names use [a-zA-Z0-9._-] only; anything else is not a partition directory
    // (for example a `-delete` or `-future` directory, which has a suffix after the number).
    std::string topic = name.substr(0, dash);
    for (char c : topic) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-';
        if (!ok) {
            return std::nullopt;
        }
    }
    return topic_partition{std::move(topic), partition};
}

int64_t system_clock::now_ms() const {
    struct timespec ts {};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
}

int64_t system_clock::coarse_now_ms() const {
    struct timespec ts {};
    ::clock_gettime(CLOCK_REALTIME_COARSE, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
}

const system_clock& system_clock::instance() {
    static const system_clock instance;
    return instance;
}

}  // namespace broker::log
