#pragma once
// Small value types shared by the log module's API: a strong offset type, the topic-partition
// key, and the injected clock.
#include <atomic>
#include <compare>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "common/strong_int.h"

namespace broker::log {

struct offset_tag {};
/// A position in a partition's sequence of records (Kafka's int64 offset). A strong_int, so an
/// offset cannot be passed where a timestamp is expected.
using offset = strong_int<int64_t, offset_tag>;

/// "No timestamp" in Kafka's record format and in ListOffsets answers.
constexpr int64_t no_timestamp = -1;

/// A partition of a topic. The partition directory is named `<topic>-<partition>`.
struct topic_partition {
    std::string topic;
    int32_t partition = 0;

    std::string dir_name() const { return topic + "-" + std::to_string(partition); }
    /// Parses a directory name `<topic>-<partition>` (the topic may itself contain '-').
    static std::optional<topic_partition> from_dir_name(const std::string& name);
    friend auto operator<=>(const topic_partition&, const topic_partition&) = default;
};

struct topic_partition_hash {
    std::size_t operator()(const topic_partition& tp) const noexcept {
        return std::hash<std::string>{}(tp.topic) * 31 + std::hash<int32_t>{}(tp.partition);
    }
};

/// Wall-clock milliseconds since the epoch, injected so that roll and retention tests never sleep.
/// Implementations must be callable from any thread.
class clock {
public:
    virtual ~clock() = default;
    virtual int64_t now_ms() const = 0;
    /// The same clock, allowed to lag by a few milliseconds, for decisions taken on every append
    /// that need no precision (segment.ms rolls, segment modification times). LogAppendTime uses
    /// now_ms().
    virtual int64_t coarse_now_ms() const { return now_ms(); }
};

/// The real clock: CLOCK_REALTIME, and CLOCK_REALTIME_COARSE (a few times cheaper to read; one
/// scheduler tick of resolution) for coarse_now_ms().
class system_clock final : public clock {
public:
    int64_t now_ms() const override;
    int64_t coarse_now_ms() const override;
    static const system_clock& instance();
};

/// A clock that moves only when told to; for tests.
class manual_clock final : public clock {
public:
    explicit manual_clock(int64_t start_ms = 1'700'000'000'000) : now_(start_ms) {}
    int64_t now_ms() const override { return now_.load(std::memory_order_relaxed); }
    void set(int64_t ms) { now_.store(ms, std::memory_order_relaxed); }
    void advance(int64_t ms) { now_.fetch_add(ms, std::memory_order_relaxed); }

private:
    std::atomic<int64_t> now_;
};

}  // namespace broker::log
