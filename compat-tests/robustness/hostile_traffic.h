#pragma once
// The well-behaved client of the robustness tests: a librdkafka producer and a simple (groupless)
// consumer that keep
// doing produce-then-consume round trips on their own topic while a test attacks the broker.
//
// steady_traffic runs one background thread. Each round trip produces one message (acks=all),
// waits for its delivery report, then consumes until that message is read back. Every librdkafka
// error callback, failed delivery, consumer error or round trip that takes longer than
// `stall_limit` is recorded as a problem; a healthy broker yields none. Tests wait for progress
// with wait_for_round_trips (a condition variable with a deadline, never a sleep).
//
// Thread-safety: the public members may be called from the test thread while the background
// thread runs. stop() joins; the destructor stops.
#include <librdkafka/rdkafka.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "compat-tests/cpp/rdkafka_util.h"

namespace broker::compat::robustness {

class steady_traffic {
public:
    static constexpr std::chrono::seconds stall_limit{15};

    /// Creates `topic` (one partition) and starts the round trips.
    steady_traffic(std::string bootstrap, std::string topic);
    ~steady_traffic();
    steady_traffic(const steady_traffic&) = delete;
    steady_traffic& operator=(const steady_traffic&) = delete;

    /// Waits until at least `more` round trips complete after this call; false at the deadline.
    bool wait_for_round_trips(uint64_t more,
                              std::chrono::milliseconds timeout = std::chrono::seconds(30));
    uint64_t round_trips() const;
    /// Problems recorded so far (errors and stalls), as text.
    std::vector<std::string> problems() const;
    /// Stops the round trips and joins the thread. Idempotent.
    void stop();

    /// The producer handle, for admin calls and ListOffsets (query_watermark_offsets).
    rd_kafka_t* producer() { return producer_.get(); }

private:
    void run();
    /// Round trips until stop() or the first problem.
    void round_trip_loop();
    void record(std::string problem);
    static void on_error(rd_kafka_t* rk, int err, const char* reason, void* opaque);
    static void on_delivery(rd_kafka_t* rk, const rd_kafka_message_t* message, void* opaque);

    std::string bootstrap_;
    std::string topic_;
    kafka_handle producer_;
    kafka_handle consumer_;
    rd_kafka_topic_t* consumer_topic_ = nullptr;  // destroyed in stop(), before consumer_
    mutable std::mutex mutex_;
    std::condition_variable progressed_;
    uint64_t round_trips_ = 0;
    bool finished_ = false;  // the background thread has ended
    std::vector<std::string> problems_;
    // Delivery state of the message in flight (background thread only, via the delivery callback).
    bool delivered_ = false;
    rd_kafka_resp_err_t delivery_error_ = RD_KAFKA_RESP_ERR_NO_ERROR;
    std::atomic<bool> stopping_{false};
    std::thread thread_;
};

/// Creates `topic` with `partitions` partitions through `rk`'s admin API; true when it was created
/// or already existed.
bool ensure_topic(rd_kafka_t* rk, const std::string& topic, int partitions = 1);

/// Reads partition `partition` of `topic` from the beginning with a fresh consumer until `count`
/// messages arrived or `timeout` passed. Returns (offset, value) pairs.
std::vector<std::pair<int64_t, std::string>> consume_from_start(const std::string& bootstrap,
                                                                const std::string& topic,
                                                                int32_t partition,
                                                                std::size_t count,
                                                                std::chrono::milliseconds timeout);

}  // namespace broker::compat::robustness
