#pragma once
// Time and timers for the group coordinator, injected so the coordinator is pure logic.
//
// The coordinator never reads a clock or starts a timer on its own: it asks its `scheduler`.
// The network layer implements it over an asio steady_timer on the coordinator's strand; tests use
// `manual_scheduler`, which fires due timers in order only when the test advances time.
//
// Contract (both implementations keep it):
//  - `schedule` returns a fresh non-zero id; `fn` runs once, no earlier than `delay` from now, on
//    the same serialized context as every other coordinator call (never concurrently with one).
//  - `cancel` of a pending id guarantees `fn` will not run; cancelling an id that already ran, was
//    already cancelled, or is 0 does nothing.
//  - `now_ms` is wall-clock milliseconds since the epoch (it becomes commit and state timestamps in
//    `__consumer_offsets`), and never goes backwards while a coordinator uses it.
#include <chrono>
#include <cstdint>
#include <functional>

namespace broker::server::coordinator {

using timer_id = uint64_t;

/// Timer and clock service. Implementations are owned by the caller and must outlive every
/// coordinator that uses them. Not thread-safe by itself: called only from the coordinator's
/// serialized context.
class scheduler {
public:
    virtual ~scheduler() = default;
    virtual timer_id schedule(std::chrono::milliseconds delay, std::function<void()> fn) = 0;
    virtual void cancel(timer_id id) = 0;
    virtual int64_t now_ms() = 0;
};

}  // namespace broker::server::coordinator
