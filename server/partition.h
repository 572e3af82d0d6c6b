#pragma once
// partition: the broker-side state of one partition this broker leads: its log, its idempotent
// producer state, and the fetches waiting for new data.
//
// Ownership and threading: partitions are created and destroyed by the topic store and shared as
// std::shared_ptr<partition> with request handlers on every shard. `mutex` guards `log` and
// `producers`; hold it only for in-memory work and the append's write(), never across a network
// wait or a co_await. There is no lock shared by all partitions on the produce or fetch path (see
// docs/decisions.md). The log's own atomics (log end offset, high watermark, log start offset) may
// be read without the lock.
//
// Waiters: a fetch that must wait for data registers a one-shot callback with on_append(); every
// append (and deletion/truncation, which also changes what a fetch sees) fires and clears all
// registered callbacks after releasing `mutex`. Callbacks must only post work to their own
// executor (they run on the appending thread).
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "log/partition_log.h"
#include "log/producer_state.h"
#include "protocol/wire.h"
#include "server/log_dir_space.h"
#include "server/topic_config.h"

namespace broker::server {

class partition {
public:
    /// `config` null means Kafka's defaults (tests); the topic store always passes the resolved one.
    partition(std::string topic, protocol::uuid topic_id, int32_t index, std::shared_ptr<log::partition_log> log,
              std::shared_ptr<const topic_config> config = nullptr);
    partition(const partition&) = delete;
    partition& operator=(const partition&) = delete;

    const std::string& topic() const { return topic_; }
    const protocol::uuid& topic_id() const { return topic_id_; }
    int32_t index() const { return index_; }
    /// The leader epoch this broker serves the partition with (0 on a single node).
    int32_t leader_epoch() const { return leader_epoch_; }

    /// The topic's resolved configuration (min.insync.replicas, compression.type, the log config
    /// the log was last given, ...). Never null. Any thread, no lock: the topic store replaces it
    /// whole when configs change (and also calls log->set_config under `mutex`).
    std::shared_ptr<const topic_config> config() const { return config_.load(std::memory_order_acquire); }
    void set_config(std::shared_ptr<const topic_config> config);

    /// Guards `log` and `producers`.
    std::mutex mutex;
    std::shared_ptr<log::partition_log> log;
    log::producer_state_table producers;

    /// Registers a one-shot callback fired by the next notify_waiters(). Returns an id usable with
    /// cancel_waiter() (a fetch that completes by timeout deregisters itself).
    uint64_t on_append(std::function<void()> callback);
    void cancel_waiter(uint64_t id);
    /// Fires and clears every registered callback. Call after releasing `mutex`.
    void notify_waiters();
    /// Free space of the log dir holding `log`, for log.dir.min.free.bytes; set by the first
    /// append that needs it. Guarded by `mutex`.
    std::shared_ptr<log_dir_space> space;

    /// True once the partition was deleted (topic deletion); handlers then answer
    /// UNKNOWN_TOPIC_OR_PARTITION. Set under `mutex`.
    bool deleted = false;

private:
    const std::string topic_;
    const protocol::uuid topic_id_;
    const int32_t index_;
    int32_t leader_epoch_ = 0;
    std::atomic<std::shared_ptr<const topic_config>> config_;
    std::mutex waiters_mutex_;
    uint64_t next_waiter_id_ = 1;
    std::vector<std::pair<uint64_t, std::function<void()>>> waiters_;
};

}  // namespace broker::server
