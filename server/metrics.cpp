#include "server/metrics.h"

#include <algorithm>
#include <unordered_map>

namespace broker::server {
namespace {

struct string_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
        return std::hash<std::string_view>{}(s);
    }
};

/// One thread's view of the topic map: pointers it already looked up, valid for one generation.
struct topic_cache {
    const metrics_registry* owner = nullptr;
    uint64_t generation = 0;
    std::unordered_map<std::string, std::shared_ptr<topic_counters>, string_hash, std::equal_to<>>
        entries;
};

}  // namespace

void latency_histogram::observe(std::chrono::nanoseconds elapsed) noexcept {
    const double seconds = std::chrono::duration<double>(elapsed).count();
    const auto it = std::lower_bound(bounds.begin(), bounds.end(), seconds);
    buckets_[static_cast<std::size_t>(it - bounds.begin())].fetch_add(1, std::memory_order_relaxed);
    const auto ns = elapsed.count() < 0 ? 0 : static_cast<uint64_t>(elapsed.count());
    sum_nanoseconds_.fetch_add(ns, std::memory_order_relaxed);
}

latency_histogram::snapshot latency_histogram::read() const noexcept {
    snapshot out;
    for (std::size_t i = 0; i < buckets_.size(); ++i) {
        out.buckets[i] = buckets_[i].load(std::memory_order_relaxed);
        out.count += out.buckets[i];
    }
    out.sum_seconds = static_cast<double>(sum_nanoseconds_.load(std::memory_order_relaxed)) / 1e9;
    return out;
}

int metrics_registry::key_slot(int16_t api_key) noexcept {
    return std::clamp<int>(api_key, 0, max_api_keys - 1);
}

int metrics_registry::version_slot(int16_t api_version) noexcept {
    return std::clamp<int>(api_version, 0, max_api_versions - 1);
}

void metrics_registry::record_request(int16_t api_key, int16_t api_version,
                                      std::chrono::nanoseconds elapsed, bool error) noexcept {
    const int key = key_slot(api_key);
    const int version = version_slot(api_version);
    requests_[key][version].add();
    if (error) {
        errors_[key][version].add();
    }
    latency_[key].observe(elapsed);
}

std::shared_ptr<topic_counters> metrics_registry::find_or_create(std::string_view topic) {
    std::lock_guard lock(topics_mutex_);
    auto it = topics_.find(topic);
    if (it == topics_.end()) {
        it = topics_.emplace(std::string(topic), std::make_shared<topic_counters>()).first;
    }
    return it->second;
}

topic_counters& metrics_registry::topic(std::string_view topic) {
    // The process has one registry (tests make others), so one cache per thread, remembering
    // whose pointers it holds, suffices.
    thread_local topic_cache cache;
    const uint64_t generation = topic_generation();
    if (cache.owner != this || cache.generation != generation) {
        cache.entries.clear();
        cache.owner = this;
        cache.generation = generation;
    }
    if (const auto it = cache.entries.find(topic); it != cache.entries.end()) {
        return *it->second;
    }
    std::shared_ptr<topic_counters> counters = find_or_create(topic);
    topic_counters& out = *counters;
    cache.entries.emplace(std::string(topic), std::move(counters));
    return out;
}

std::vector<metrics_registry::request_row> metrics_registry::request_counts() const {
    std::vector<request_row> out;
    for (int key = 0; key < max_api_keys; ++key) {
        for (int version = 0; version < max_api_versions; ++version) {
            const uint64_t requests = requests_[key][version].value();
            if (requests == 0) {
                continue;
            }
            out.push_back(request_row{static_cast<int16_t>(key), static_cast<int16_t>(version),
                                      requests, errors_[key][version].value()});
        }
    }
    return out;
}

std::vector<std::pair<int16_t, latency_histogram::snapshot>> metrics_registry::request_latencies()
    const {
    std::vector<std::pair<int16_t, latency_histogram::snapshot>> out;
    for (int key = 0; key < max_api_keys; ++key) {
        latency_histogram::snapshot s = latency_[key].read();
        if (s.count > 0) {
            out.emplace_back(static_cast<int16_t>(key), s);
        }
    }
    return out;
}

std::map<std::string, metrics_registry::topic_row> metrics_registry::topic_counts() const {
    std::map<std::string, topic_row> out;
    std::lock_guard lock(topics_mutex_);
    for (const auto& [name, c] : topics_) {
        out.emplace(name,
                    topic_row{c->bytes_in.value(), c->messages_in.value(), c->bytes_out.value()});
    }
    return out;
}

void metrics_registry::prune_topics(const std::function<bool(std::string_view)>& exists) {
    std::lock_guard lock(topics_mutex_);
    const std::size_t removed =
        std::erase_if(topics_, [&](const auto& entry) { return !exists(entry.first); });
    if (removed > 0) {
        // Threads drop their cached pointers at their next lookup; the counters they still hold
        // stay alive (shared ownership) until then.
        generation_.fetch_add(1, std::memory_order_acq_rel);
    }
}

metrics_registry& broker_metrics() {
    static metrics_registry* registry = new metrics_registry();  // never destroyed: shard threads
                                                                 // may count until exit
    return *registry;
}

void record_topic_in(std::string_view topic, uint64_t bytes, int64_t records) {
    topic_counters& c = broker_metrics().topic(topic);
    c.bytes_in.add(bytes);
    c.messages_in.add(records > 0 ? static_cast<uint64_t>(records) : 0);
}

void record_topic_out(std::string_view topic, uint64_t bytes) {
    if (bytes == 0) {
        return;
    }
    broker_metrics().topic(topic).bytes_out.add(bytes);
}

}  // namespace broker::server
