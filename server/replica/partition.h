#pragma once
// partition: one partition replica hosted by this broker: its log, its idempotent producer state,
// its role (leader, follower or none), the assignment and in-sync set it was given, what every
// follower has fetched, and the delayed operations waiting on it. Kafka's `Partition` does the same
// work; Redpanda's `cluster::partition` likewise.
//
// Every change of the log goes through this class, under its private mutex: the leader append
// (producer-state check, the log.dir.min.free.bytes reserve, the append, producer-state update,
// the high watermark), the follower append, reads, DeleteRecords, config changes, deletion and the
// clean close. The mutex is held for in-memory work and a write() only, never across a network
// wait or a co_await; no lock is shared by all partitions on the produce or fetch path.
//
// The high watermark moves in exactly one place, maybe_increment_high_watermark():
//   - leader: the smallest log end offset over the in-sync set (this broker's own included);
//     with an in-sync set of one (a single node) that is the log end, right after each append;
//   - follower: the leader's high watermark as last fetched, bounded by the local log end.
// It never moves backwards here; truncation inside the log clamps it.
//
// Events: delayed operations (server/replica/delayed_operation.h) register one-shot callbacks for
// `log_end` (an append: replica fetches wait on it) and `high_watermark` (the high watermark moved:
// consumers' long polls and acks=-1 produces wait on it). Deletion, close and role changes fire
// both, since they change what a waiter would see. Callbacks run on the thread that caused the
// event, after the mutex is released: they must only post work to their own executor.
//
// Threading: every public member may be called from any thread.
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <system_error>
#include <vector>

#include "common/types.h"
#include "log/partition_log.h"
#include "log/producer_state.h"
#include "protocol/errors.h"
#include "protocol/records.h"
#include "protocol/wire.h"
#include "server/log_dir_space.h"
#include "server/topic_config.h"

namespace broker::server {

struct broker_config;

enum class replica_role : int8_t { none = 0, leader = 1, follower = 2 };

/// What a waiter can be woken by (a bit mask).
enum class partition_event : uint8_t {
    log_end = 1,
    high_watermark = 2,
    low_watermark = 4,
    any = 7
};
inline bool includes(partition_event mask, partition_event e) {
    return (static_cast<uint8_t>(mask) & static_cast<uint8_t>(e)) != 0;
}
inline constexpr partition_event operator|(partition_event a, partition_event b) {
    return static_cast<partition_event>(static_cast<uint8_t>(a) | static_cast<uint8_t>(b));
}

/// The offsets of a partition at one moment.
struct partition_offsets {
    int64_t log_start_offset = 0;
    int64_t log_end_offset = 0;
    int64_t high_watermark = 0;
};

/// A leader append: one validated v2 batch (CRC checked, framing checked, records checked).
struct leader_append {
    /// Rewritten in place (offsets, leader epoch, LogAppendTime).
    std::span<uint8_t> batch;
    protocol::batch_header header;
    /// The request's acks (-1, 0 or 1): -1 is refused when the in-sync set is below
    /// min.insync.replicas.
    int16_t required_acks = 1;
    int64_t now_ms = 0;
    /// The topic config the caller already holds (null: the partition loads its own).
    const topic_config* config = nullptr;
};

/// The outcome of a leader append.
struct leader_append_result {
    protocol::error_code error = protocol::error_code::none;
    std::optional<std::string> message;
    /// Kafka fills log_start_offset for sequence and epoch errors too.
    bool report_log_start = false;
    /// Written to the log (false for a duplicate and for every error).
    bool appended = false;
    int64_t base_offset = -1;
    int64_t last_offset = -1;
    int64_t log_append_time = -1;
    int64_t log_start_offset = -1;
    /// Offsets below this must be durable before answering (-1: no flush due).
    int64_t flush_target = -1;
    /// A producer-state snapshot to write because the append rolled a segment (empty: none). The
    /// caller writes it off the shard (producer_state_table::write_snapshot_file).
    std::string snapshot;
    int64_t snapshot_offset = -1;
    std::filesystem::path snapshot_dir;

    bool ok() const { return error == protocol::error_code::none; }
};

/// One read of a partition, as a Fetch asks for it.
struct partition_read_request {
    int64_t fetch_offset = 0;
    uint64_t max_bytes = 0;
    /// Return the first batch even when it is larger than max_bytes.
    bool min_one_batch = true;
    /// KIP-320 fencing: unknown_epoch (any negative) when the fetcher does not know it.
    leader_epoch_t current_leader_epoch = unknown_epoch;
    /// KIP-595 truncation detection: unknown_epoch (any negative) means none.
    leader_epoch_t last_fetched_epoch = unknown_epoch;
    /// no_node (any negative) for consumers; a broker id for a replica's fetch (reads up to the
    /// log end).
    node_id replica_id = no_node;
    /// A replica's fetch: its own log start offset (-1: not sent), for the low watermark.
    int64_t log_start_offset = -1;
    /// Consumers only: read up to the last stable offset instead of the high watermark.
    bool read_committed = false;
    /// Monotonic milliseconds, for the follower's fetch state.
    int64_t now_ms = 0;
};

struct partition_read_result {
    protocol::error_code error = protocol::error_code::none;
    /// On a leadership error (NOT_LEADER_OR_FOLLOWER, FENCED_LEADER_EPOCH): who leads, and with
    /// which epoch (no_node, unknown_epoch when unknown).
    node_id leader_id = no_node;
    leader_epoch_t leader_epoch = unknown_epoch;
    int64_t high_watermark = -1;
    int64_t last_stable_offset = -1;
    int64_t log_start_offset = -1;
    /// Set (epoch >= 0) when the fetcher's last fetched epoch diverges from this log.
    leader_epoch_t diverging_epoch = unknown_epoch;
    int64_t diverging_end_offset = -1;
    /// Whole batches, as file regions sharing ownership of their segment files.
    log::read_result records;
};

/// What the leader knows of one follower.
struct replica_fetch_state {
    node_id id = no_node;
    /// The follower's log end offset as of its last fetch (-1: not fetched since this broker led).
    int64_t log_end_offset = -1;
    /// The follower's log start offset as of its last fetch (-1: unknown).
    int64_t log_start_offset = -1;
    /// Monotonic ms of the last fetch that reached the leader's log end (caught up), 0 never.
    int64_t last_caught_up_ms = 0;
    int64_t last_fetch_ms = 0;
};

/// The assignment a role change brings.
struct partition_assignment {
    leader_epoch_t leader_epoch{0};
    std::vector<node_id> replicas;
    std::vector<node_id> isr;
    node_id leader = no_node;
};

class partition {
public:
    /// A partition with no role yet: the replica manager makes it leader or follower. `config` null
    /// means Kafka's defaults (tests); `local_id` is this broker's id.
    partition(std::string topic, protocol::uuid topic_id, partition_index index,
              std::shared_ptr<log::partition_log> log, std::shared_ptr<const topic_config> config,
              node_id local_id);
    partition(const partition&) = delete;
    partition& operator=(const partition&) = delete;

    // ---- identity and state (lock-free reads)

    const std::string& topic() const { return topic_; }
    const protocol::uuid& topic_id() const { return topic_id_; }
    partition_index index() const { return index_; }
    node_id local_id() const { return local_id_; }
    leader_epoch_t leader_epoch() const { return leader_epoch_.load(std::memory_order_acquire); }
    replica_role role() const { return role_.load(std::memory_order_acquire); }
    /// The leader as this replica knows it (itself when leading, no_node when unknown).
    node_id leader_id() const { return leader_id_.load(std::memory_order_acquire); }
    /// Deleted (topic deletion, broker shutdown): every call answers UNKNOWN_TOPIC_OR_PARTITION.
    bool deleted() const { return deleted_.load(std::memory_order_acquire); }

    /// The topic's resolved configuration; never null.
    std::shared_ptr<const topic_config> config() const {
        return config_.load(std::memory_order_acquire);
    }
    /// Replaces the config and hands its log part to the log.
    void set_config(std::shared_ptr<const topic_config> config);

    std::vector<node_id> assigned_replicas() const;
    std::vector<node_id> in_sync_replicas() const;
    std::size_t in_sync_count() const { return isr_size_.load(std::memory_order_acquire); }
    std::vector<replica_fetch_state> follower_states() const;
    /// The log's offsets (lock-free atomics of the log); nullopt once deleted.
    std::optional<partition_offsets> offsets() const;
    /// The log directory (for error messages and tooling).
    std::filesystem::path log_dir() const;

    // ---- role changes (the replica manager's)

    /// Leads with `a.leader_epoch` (recorded in the leader epoch cache at the log end when new),
    /// the assignment and in-sync set given; follower states restart unknown.
    std::error_code become_leader(const partition_assignment& a);
    /// Follows `a.leader`; the in-sync set is the leader's business.
    std::error_code become_follower(const partition_assignment& a);
    /// Stops serving (role none). With `remove`, also runs `remove_log` under the lock and marks
    /// the partition deleted; its waiters are woken either way.
    std::error_code stop(const std::function<std::error_code()>& remove_log = {});

    // ---- leader

    /// Lock-free pre-check of a produce's acks against min.insync.replicas (Kafka checks it
    /// before validating the batch). Sets `error`/`message` on the result when refused.
    bool check_min_isr(int16_t required_acks, leader_append_result& out) const;
    /// The leader append: role, producer-state check (duplicates answer the original offsets),
    /// the disk reserve, min.insync.replicas, the append, producer state, the high watermark.
    leader_append_result append_as_leader(leader_append& request, const broker_config& broker);
    /// acks=-1: has the high watermark reached `offset`? Error when it can never: the partition was
    /// deleted, lost leadership, or the in-sync set shrank below min.insync.replicas.
    protocol::error_code replicated_to(int64_t offset, bool& reached) const;
    /// A follower (`replica`) fetched from `fetch_offset`: it has everything below it. Updates its
    /// state and the in-sync set bookkeeping, then moves the high watermark. NOT_LEADER_OR_FOLLOWER
    /// when `replica` is not assigned here or this broker does not lead.
    /// `log_start_offset` (-1: unknown, left as it was) is the follower's own log start offset.
    protocol::error_code update_follower_fetch_state(node_id replica, int64_t fetch_offset,
                                                     int64_t now_ms, int64_t log_start_offset = -1);
    /// DeleteRecords: the low watermark, the smallest log start offset over this leader and every
    /// follower (-1 while a follower's is unknown), in `low`. Error when it can never be read:
    /// deleted (UNKNOWN_TOPIC_OR_PARTITION) or no longer led here (NOT_LEADER_OR_FOLLOWER).
    protocol::error_code low_watermark(int64_t& low) const;

    // ---- follower

    /// Appends batches carrying the leader's offsets and epochs, updating producer state, then
    /// takes the leader's high watermark (bounded by the local log end).
    log::result<log::append_result> append_as_follower(std::span<uint8_t> batches,
                                                       int64_t leader_high_watermark);

    // ---- reads

    /// A Fetch's read: fencing (current leader epoch), role, offset range, divergence, then whole
    /// batches up to the high watermark (consumers), the last stable offset (read_committed) or
    /// the log end (replicas: their fetch state is updated, and the high watermark moved, under
    /// the same lock before reading, so the answer carries the high watermark the fetch allowed).
    partition_read_result read(const partition_read_request& request);
    /// A local read of this replica's own log up to its end (the group coordinator replaying
    /// `__consumer_offsets`): whole batches from max(start, log start), at least one. An empty
    /// result at the log end; log_closed once deleted.
    log::result<log::read_result> read_local(int64_t start, uint64_t max_bytes) const;
    /// Read-only lookups (ListOffsets, the admin API): for read-only lookups (ListOffsets): runs
    /// `fn` with the log under the lock. nullopt when deleted.
    template <typename Fn>
    auto inspect(Fn&& fn) const
        -> std::optional<decltype(fn(std::declval<const log::partition_log&>()))> {
        std::lock_guard lock(mutex_);
        if (deleted_ || !log_) {
            return std::nullopt;
        }
        return fn(static_cast<const log::partition_log&>(*log_));
    }
    /// The producers of DescribeProducers (after expiring old ones), or the storage error.
    log::result<std::map<producer_id_t, log::producer_entry>> active_producers(
        int64_t now_ms, const broker_config& broker);

    // ---- admin and maintenance

    /// DeleteRecords: moves the log start to `offset` (-1: the high watermark). Returns the new
    /// low watermark.
    std::pair<protocol::error_code, int64_t> delete_records(int64_t offset, std::string& message);
    /// Runs a log manager owner step (retention, cleaner, flush) under the lock, unless deleted.
    void run_owner_step(const std::function<void()>& work);
    /// Group commit: the flush request that makes offsets below `target` durable (empty: done).
    std::optional<log::flush_request> prepare_flush(int64_t target);
    void complete_flush(const log::flush_request& request);
    int64_t recovery_point() const;
    uint64_t size_bytes() const;
    /// Clean close for shutdown: a producer snapshot at the log end, then a durable close; marks
    /// the partition deleted and wakes the waiters.
    std::error_code close();

    // ---- events

    /// Registers a one-shot callback fired by the next event in `events`. Returns an id usable
    /// with unwatch() (0 when the partition is already deleted: the callback then runs at once).
    uint64_t watch(partition_event events, std::function<void()> callback);
    void unwatch(uint64_t id);
    /// How many callbacks are registered (delayed operations parked on this partition).
    std::size_t watchers() const;

private:
    /// Under mutex_: the one place the high watermark moves. True when it advanced.
    bool maybe_increment_high_watermark_locked();
    /// Under mutex_: update_follower_fetch_state's work. Adds to `events` what moved (the high
    /// watermark, a follower's log start offset); the caller fires them once the lock is released.
    protocol::error_code update_follower_fetch_state_locked(node_id replica, int64_t fetch_offset,
                                                            int64_t now_ms,
                                                            int64_t log_start_offset,
                                                            uint8_t& events);
    /// Under mutex_: read's work (`events` as above).
    partition_read_result read_locked(const partition_read_request& request, uint8_t& events);
    /// Fires (outside the lock) the waiters of `events`.
    void fire(partition_event events);
    bool is_in_sync_locked(node_id id) const;
    void set_isr_locked(std::vector<node_id> isr);
    bool ensure_producers_loaded_locked();

    const std::string topic_;
    const protocol::uuid topic_id_;
    const partition_index index_;
    const node_id local_id_;
    std::atomic<std::shared_ptr<const topic_config>> config_;
    std::atomic<leader_epoch_t> leader_epoch_{leader_epoch_t{0}};
    std::atomic<replica_role> role_{replica_role::none};
    std::atomic<node_id> leader_id_{no_node};
    std::atomic<bool> deleted_{false};
    std::atomic<std::size_t> isr_size_{0};
    /// config()->min_insync_replicas, read on every acks=-1 produce without touching the shared
    /// config's reference count.
    std::atomic<int32_t> min_insync_replicas_{1};

    mutable std::mutex mutex_;  // guards everything below
    std::shared_ptr<log::partition_log> log_;
    log::producer_state_table producers_;
    std::shared_ptr<log_dir_space> space_;
    std::vector<node_id> replicas_;
    std::vector<node_id> isr_;
    std::vector<replica_fetch_state> followers_;
    /// Follower role: the leader's high watermark as last fetched.
    int64_t leader_high_watermark_ = 0;

    mutable std::mutex waiters_mutex_;
    uint64_t next_waiter_id_ = 1;
    struct waiter {
        uint64_t id;
        partition_event events;
        std::function<void()> callback;
    };
    std::vector<waiter> waiters_;
};

}  // namespace broker::server
