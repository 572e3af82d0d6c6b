#pragma once
// group_service: the consumer-group coordinator (coordinator/, pure logic) wired into the
// broker — its thread, its timers, its storage in `__consumer_offsets`, and the loading of that
// topic at startup. docs/groups.md ("Wiring") describes the whole path.
//
// Threading. The coordinator is not thread-safe: every call into it must be serialized. The
// service owns one io_context run by one dedicated thread (the "coordinator thread"); every
// coordinator call, every timer callback and every append completion runs there, and nowhere
// else. A dedicated context rather than a strand over a shard keeps the coordinator's lifetime
// independent of the shards' (its timers die with it) and keeps its log appends off the shards.
// Handlers reach the coordinator with call() / call_async(): the work is posted to the coordinator
// thread and the handler's coroutine resumes on its own executor when the result is posted back,
// so a JoinGroup that waits for a rebalance parks only its own connection, never a shard.
//
// Timers. The coordinator's scheduler is implemented with asio steady_timers on the coordinator
// thread; a cancelled timer's callback never runs, even when its expiry was already queued.
//
// Storage. Appends build one record batch (protocol::build_batch) per coordinator write and append
// it to the `__consumer_offsets` partition under the partition's mutex, as a produce with acks=all
// on a single node (written to the log, high watermark advanced; no fsync, see
// docs/log-format.md "Durability"). Completions are posted back to the coordinator thread, so
// they run after append() returns and in append order.
//
// `__consumer_offsets`. Created on the first FindCoordinator for a group (as Kafka does) with
// `offsets.topic.num.partitions` partitions, cleanup.policy=compact, segment.bytes =
// `offsets.topic.segment.bytes` and a replication factor of 1 (the configured factor capped to the
// one broker). If it exists at startup, start() marks all its partitions as loading before any
// connection is accepted (groups answer COORDINATOR_LOAD_IN_PROGRESS) and a loader thread replays
// each partition (partition_log::read + protocol::decode_batch) into the coordinator.
//
// Lifecycle (driven by broker_server): construct (starts the coordinator thread) → start() after
// the topic store is open and the shards run, before the listeners accept → ... → stop() after the
// connections are drained and before the topic store shuts down: it stops the loader, answers
// every waiting JoinGroup/SyncGroup (NOT_COORDINATOR), cancels the timers; afterwards every call
// answers COORDINATOR_NOT_AVAILABLE. The destructor stops the thread and must run after stop()
// while the handlers' executors still exist, or when no handler waits.
#include "common/asio.h"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>

#include "coordinator/group_coordinator.h"
#include "protocol/errors.h"
#include "server/config.h"
#include "server/metadata/admin_backend.h"
#include "server/shard.h"
#include "server/topic_store.h"

namespace broker::server {

class connection_close_signal;

/// The name of the internal topic that stores groups and committed offsets.
inline constexpr std::string_view offsets_topic_name = "__consumer_offsets";

/// Kafka's `client_host`: "/" followed by the peer address as Java's InetAddress.toString()
/// prints it (IPv6 as eight uncompressed hex groups, "%scope" when scoped).
std::string client_host_of(const net::ip::tcp::endpoint& peer);

/// The coordinator settings of a broker config.
coordinator::coordinator_config coordinator_config_of(const broker_config& config,
                                                      int32_t offsets_partitions);

/// See the file comment.
class group_service {
public:
    /// Bytes read from a partition per loading step (Kafka's offsets.load.buffer.size).
    static constexpr uint64_t load_buffer_bytes = 5 * 1024 * 1024;

    /// `config`, `store`, `admin` and `shards` must outlive the service. Starts the coordinator
    /// thread; the coordinator owns no partition until start(). `admin` creates
    /// `__consumer_offsets`.
    group_service(const broker_config& config, topic_store& store, admin_backend& admin,
                  shard_group& shards);
    ~group_service();
    group_service(const group_service&) = delete;
    group_service& operator=(const group_service&) = delete;

    /// Takes over `__consumer_offsets` if it exists (begins loading every partition, starts the
    /// loader) and starts the periodic offset expiry. Call once, after the store is open.
    void start();
    /// See the file comment. Idempotent; call from a thread that is not the coordinator thread.
    void stop();

    /// Creates `__consumer_offsets` when it does not exist yet and lets the coordinator serve its
    /// partitions. none when the topic exists afterwards; otherwise the store's error
    /// (KAFKA_STORAGE_ERROR, ...). Runs the creation on the blocking pool.
    net::awaitable<protocol::error_code> ensure_offsets_topic();
    /// Cluster mode: this broker starts (`leader`) or stops leading `partition` of
    /// `__consumer_offsets` (the controller's LeaderAndIsr or StopReplica). Leading: the
    /// partition's groups answer COORDINATOR_LOAD_IN_PROGRESS while a loader thread replays it,
    /// then are served here; stopping: they are unloaded (NOT_COORDINATOR). Not from the
    /// coordinator thread; returns once the coordinator knows (loading continues in background).
    void on_leadership_change(int32_t partition, bool leader);
    /// True once `__consumer_offsets` exists and the coordinator serves (or loads) its partitions.
    bool offsets_topic_ready() const { return ready_.load(std::memory_order_acquire); }
    /// True once every partition found at startup has been loaded (or there was none).
    bool loaded() const { return loaded_.load(std::memory_order_acquire); }

    /// Runs `fn(coordinator)` on the coordinator thread and resumes the caller on its own executor
    /// with the result. `fn` must not block.
    template <typename F>
    auto call(F fn) -> net::awaitable<std::invoke_result_t<F&, coordinator::group_coordinator&>>;

    // Callers pass `fn`/`start` as a named local (std::move(local)), never as a lambda written in
    // the co_await expression: GCC 12 destroys a class-type temporary passed by value to a
    // coroutine twice (the lambda's captures would be freed twice).

    /// For coordinator calls that answer through a callback (JoinGroup, SyncGroup, OffsetCommit):
    /// runs `start(coordinator, done)` on the coordinator thread, where `done(Result)` is the
    /// callback to hand to the coordinator, and resumes the caller when `done` runs. If `closed`
    /// fires first (the connection is being closed), resumes at once with nullopt; the late result
    /// is then dropped. `closed` is used only on the caller's thread.
    template <typename Result, typename F>
    net::awaitable<std::optional<Result>> call_async(F start, connection_close_signal* closed);

    /// A read-only copy of one group's state (defined at the end of this file).
    struct group_snapshot;
    /// Copies every group (or only `group_id`; empty result when it is unknown) on the
    /// coordinator thread and resumes the caller on its own executor. For the admin HTTP API.
    net::awaitable<std::vector<group_snapshot>> snapshot_groups(
        std::optional<std::string> group_id);

private:
    class timer_scheduler;
    class partition_offsets_log;

    /// A waiting caller: completed once, by the coordinator's callback or by a connection close.
    template <typename Result>
    struct waiter {
        std::mutex mutex;
        std::function<void(std::optional<Result>)> resume;  // empty once completed
        void complete(std::optional<Result> result) {
            std::function<void(std::optional<Result>)> fn;
            {
                std::lock_guard lock(mutex);
                fn.swap(resume);
            }
            if (fn) {
                fn(std::move(result));
            }
        }
    };

    /// connection_close_signal::subscribe/unsubscribe (kept out of this header, which
    /// broker_core.h includes; the signal's home is server/request_context.h).
    static uint64_t subscribe_close(connection_close_signal& closed, std::function<void()> fn);
    static void unsubscribe_close(connection_close_signal& closed, uint64_t id);

    /// Runs `fn` on the coordinator thread and waits for it. Not from the coordinator thread.
    void run_and_wait(std::function<void()> fn);
    /// Blocking (pool thread): creates the topic if needed, then hands its partitions over.
    protocol::error_code create_offsets_topic();
    /// Loader thread: replays every partition of `partitions` into the coordinator.
    void load_partitions(int32_t partitions);
    /// Loader thread: replays one partition; false when stopping.
    bool load_partition(int32_t partition);
    /// Coordinator thread: replaces the coordinator when the topic's partition count differs from
    /// the one it was built with (a topic created under another offsets.topic.num.partitions).
    void use_partition_count(int32_t partitions);

    const broker_config& config_;
    topic_store& store_;
    admin_backend& admin_;
    shard_group& shards_;

    net::io_context io_;
    std::optional<net::executor_work_guard<net::io_context::executor_type>> work_;
    std::unique_ptr<timer_scheduler> scheduler_;
    std::unique_ptr<partition_offsets_log> log_;
    std::unique_ptr<coordinator::group_coordinator> coordinator_;  // coordinator thread only
    int32_t partitions_ = 0;                                       // coordinator thread only
    bool coordinator_started_ = false;                             // coordinator thread only
    std::thread thread_;

    std::mutex create_mutex_;  // one creation of the topic at a time
    std::atomic<bool> ready_{false};
    std::atomic<bool> loaded_{false};
    std::atomic<bool> stopping_{false};
    std::thread loader_;
    // Cluster mode: partitions to load as leadership arrives, and the thread loading them.
    std::mutex load_mutex_;
    std::condition_variable load_cv_;
    std::deque<int32_t> load_queue_;
    std::thread cluster_loader_;
    /// Cluster loader thread: loads queued partitions until stopping.
    void cluster_loader_loop();
    bool started_ = false;
    bool stopped_ = false;
};

template <typename Result, typename F>
net::awaitable<std::optional<Result>> group_service::call_async(F start,
                                                                connection_close_signal* closed) {
    auto state = std::make_shared<waiter<Result>>();
    uint64_t close_id = 0;
    bool subscribed = false;
    std::optional<Result> result =
        co_await net::async_initiate<decltype(net::use_awaitable), void(std::optional<Result>)>(
            [&](auto handler) {
                // The coroutine's handler is move-only; the coordinator's callbacks are copyable
                // std::functions, so it lives behind a shared_ptr and is resumed through a post
                // to its own executor (never inline on the coordinator thread).
                using handler_type = decltype(handler);
                auto shared = std::make_shared<handler_type>(std::move(handler));
                state->resume = [shared](std::optional<Result> value) {
                    auto executor = net::get_associated_executor(*shared);
                    net::post(executor, [shared, value = std::move(value)]() mutable {
                        (*shared)(std::move(value));
                    });
                };
                if (closed != nullptr) {
                    close_id = subscribe_close(*closed, [state] { state->complete(std::nullopt); });
                    subscribed = true;
                }
                net::post(io_, [this, state, start = std::move(start)]() mutable {
                    start(*coordinator_,
                          [state](Result value) { state->complete(std::move(value)); });
                });
            },
            net::use_awaitable);
    if (subscribed) {
        unsubscribe_close(*closed, close_id);
    }
    co_return result;
}

template <typename F>
auto group_service::call(F fn)
    -> net::awaitable<std::invoke_result_t<F&, coordinator::group_coordinator&>> {
    using result_type = std::invoke_result_t<F&, coordinator::group_coordinator&>;
    auto work = [fn = std::move(fn)](coordinator::group_coordinator& c, auto done) mutable {
        done(fn(c));
    };
    std::optional<result_type> result = co_await call_async<result_type>(std::move(work), nullptr);
    co_return std::move(*result);
}

/// See snapshot_groups(). Plain data, copyable, detached from the coordinator.
struct group_service::group_snapshot {
    struct member {
        std::string member_id;
        std::optional<std::string> group_instance_id;
        std::string client_id;
        std::string client_host;
        /// The member's assignment bytes (as SyncGroup delivered them); empty unless Stable.
        std::vector<uint8_t> assignment;
    };
    struct committed_offset {
        std::string topic;
        int32_t partition = 0;
        int64_t offset = -1;
        std::string metadata;
    };
    std::string group_id;
    /// "Empty", "PreparingRebalance", "CompletingRebalance", "Stable" or "Dead".
    std::string state;
    std::string protocol_type;
    /// The selected protocol (assignor); empty unless Stable.
    std::string protocol;
    std::vector<member> members;
    /// Sorted by topic, partition.
    std::vector<committed_offset> offsets;
    /// Kafka error the coordinator reported for the group (loading, not available), else none.
    protocol::error_code error = protocol::error_code::none;
};

}  // namespace broker::server
