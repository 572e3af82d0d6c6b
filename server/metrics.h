#pragma once
// metrics_registry: the broker's process-wide counters and histograms, read by the `/metrics`
// endpoint (server/http/) and written from the request path.
//
// What is counted here (docs/observability.md lists every exported name):
//   - requests, request errors and handler latency per API key (and version), recorded once per
//     request by dispatch();
//   - record bytes and messages in (Produce appends) and record bytes out (Fetch responses) per
//     topic, one update per partition per request. Messages out are not counted: Kafka has no such
//     meter, and counting them meant reading every sent batch's header back from the log files on
//     the shard thread;
//   - connections accepted and refused by the Kafka listeners.
// Gauges that are a property of live state (partition offsets, group lag, open connections,
// process CPU and memory) are not stored here: the HTTP server reads them when it renders.
//
// Threading: every write is a relaxed atomic add; nothing on the produce/fetch path takes a lock
// that all shards share. Per-topic counters live in a map guarded by a mutex, but each thread keeps
// its own cache of `topic_counters` pointers (validated by a generation number), so the map's lock
// is taken only the first time a thread sees a topic, and after a prune. Readers (the renderer)
// copy values with relaxed loads: a scrape may see a request counted in one metric and not yet in
// another, which Prometheus tolerates.
//
// Lifetime: one registry per process (broker_metrics()), created on first use and never destroyed
// before exit. Counters only grow; topics that no longer exist are dropped by prune_topics(), so
// the exported series do not grow without bound when topics come and go.
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace broker::server {

/// A monotonically increasing count. Any thread.
class metric_counter {
public:
    void add(uint64_t n = 1) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
    uint64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

private:
    std::atomic<uint64_t> value_{0};
};

/// A latency histogram with fixed bucket bounds (seconds, Prometheus `le` values). Any thread.
class latency_histogram {
public:
    static constexpr std::array<double, 14> bounds{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                   0.1,    0.25,  0.5,    1.0,   2.5,  5.0,   10.0};

    void observe(std::chrono::nanoseconds elapsed) noexcept;

    /// A copy taken with relaxed loads. `buckets[i]` counts observations in bucket i only
    /// (not cumulative); the last entry is the +Inf overflow bucket.
    struct snapshot {
        std::array<uint64_t, bounds.size() + 1> buckets{};
        uint64_t count = 0;  // sum of buckets
        double sum_seconds = 0;
    };
    snapshot read() const noexcept;

private:
    std::array<std::atomic<uint64_t>, bounds.size() + 1> buckets_{};
    std::atomic<uint64_t> sum_nanoseconds_{0};
};

/// Record traffic of one topic. Any thread.
struct topic_counters {
    metric_counter bytes_in;
    metric_counter messages_in;
    metric_counter bytes_out;
};

/// See the file comment.
class metrics_registry {
public:
    /// API keys and versions beyond these are counted in the last slot (no current API gets near).
    static constexpr int max_api_keys = 128;
    static constexpr int max_api_versions = 32;

    metrics_registry() = default;
    metrics_registry(const metrics_registry&) = delete;
    metrics_registry& operator=(const metrics_registry&) = delete;

    /// One request handled: `error` when its handler closed the connection or threw.
    void record_request(int16_t api_key, int16_t api_version, std::chrono::nanoseconds elapsed,
                        bool error) noexcept;

    /// The counters of `topic`, created on first use. The reference stays valid at least until the
    /// calling thread's next call after a prune_topics() that removed the topic.
    topic_counters& topic(std::string_view topic);

    metric_counter connections_accepted;
    /// Connections closed at once by a limit (max.connections.per.ip).
    metric_counter connections_rejected;

    // ---- reading (the renderer)

    struct request_row {
        int16_t api_key = 0;
        int16_t api_version = 0;
        uint64_t requests = 0;
        uint64_t errors = 0;
    };
    /// Every (key, version) with at least one request, ordered by key then version.
    std::vector<request_row> request_counts() const;
    /// Every API key with at least one observation, ordered by key.
    std::vector<std::pair<int16_t, latency_histogram::snapshot>> request_latencies() const;

    struct topic_row {
        uint64_t bytes_in = 0;
        uint64_t messages_in = 0;
        uint64_t bytes_out = 0;
    };
    /// Every topic with counters, by name.
    std::map<std::string, topic_row> topic_counts() const;

    /// Drops the counters of every topic for which `exists` is false.
    void prune_topics(const std::function<bool(std::string_view)>& exists);

    /// Current generation of the topic map (bumped by every prune that removed something).
    uint64_t topic_generation() const noexcept {
        return generation_.load(std::memory_order_acquire);
    }

private:
    static int key_slot(int16_t api_key) noexcept;
    static int version_slot(int16_t api_version) noexcept;
    std::shared_ptr<topic_counters> find_or_create(std::string_view topic);

    std::array<std::array<metric_counter, max_api_versions>, max_api_keys> requests_{};
    std::array<std::array<metric_counter, max_api_versions>, max_api_keys> errors_{};
    std::array<latency_histogram, max_api_keys> latency_{};

    mutable std::mutex topics_mutex_;  // guards topics_
    std::map<std::string, std::shared_ptr<topic_counters>, std::less<>> topics_;
    std::atomic<uint64_t> generation_{1};
};

/// The process-wide registry.
metrics_registry& broker_metrics();

/// Produce: one partition's batch was appended (`bytes` written, `records` from the batch header).
void record_topic_in(std::string_view topic, uint64_t bytes, int64_t records);

/// Fetch: one partition's records go out in a response, `bytes` of them on the wire (Kafka's
/// BytesOutPerSec counts the same). Nothing is counted for an empty records field.
void record_topic_out(std::string_view topic, uint64_t bytes);

}  // namespace broker::server
