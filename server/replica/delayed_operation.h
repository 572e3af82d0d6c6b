#pragma once
// Delayed operations: the one mechanism for a request that must wait until a condition on some
// partitions holds or a deadline passes (Kafka's DelayedOperationPurgatory). The watchers are kept
// by each partition (partition::watch), keyed by the event that can complete the operation:
//   - partition_event::high_watermark: acks=-1 produces and offset commits wait for the high
//     watermark to reach an offset; consumers' long polls wait for data below it;
//   - partition_event::log_end: replicas' fetches wait for appends;
//   - partition_event::low_watermark: DeleteRecords waits for every replica's log start offset to
//     reach the new start.
// Deletion, close and role changes wake every watcher, so an operation never waits for a partition
// that is gone.
//
// An operation arms its watches before every check of its condition, so an event between the
// check and the wait is never lost; watches are one-shot and re-armed for each round. It ends on
// completion, at its deadline (checked once more first), or when its connection closes.
//
// Two forms: an awaitable for handlers (on their shard), and a callback form for the group
// coordinator's thread, which runs no coroutines.
#include "common/asio.h"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "protocol/errors.h"
#include "server/replica/partition.h"
#include "server/request_context.h"

namespace broker::server {

/// One partition an operation watches, and for which events.
struct delayed_watch {
    std::shared_ptr<partition> target;
    partition_event events = partition_event::any;
};

enum class delayed_outcome : uint8_t {
    completed,  // try_complete() returned true
    expired,    // the deadline passed first
    cancelled,  // the connection closed
};

/// Waits on the caller's executor until `try_complete()` returns true, `deadline` passes or
/// `closed` (may be null) fires. try_complete() runs at once and after every watched event, on the
/// caller's executor; it is also run one last time at the deadline, so an expired operation has
/// always looked at the latest state.
net::awaitable<delayed_outcome> wait_until(const std::vector<delayed_watch>& watches,
                                           std::chrono::steady_clock::time_point deadline,
                                           const std::function<bool()>& try_complete,
                                           connection_close_signal* closed);

/// Callback form: calls `done` on `executor` once the high watermark of `target` reaches `offset`
/// (error none, or NOT_ENOUGH_REPLICAS_AFTER_APPEND when the in-sync set shrank below
/// min.insync.replicas meanwhile), once it never can (the partition's error), or after `timeout`
/// (REQUEST_TIMED_OUT). `done` runs exactly once.
void when_replicated(const net::any_io_executor& executor, std::shared_ptr<partition> target,
                     int64_t offset, std::chrono::milliseconds timeout,
                     std::function<void(protocol::error_code)> done);

}  // namespace broker::server
