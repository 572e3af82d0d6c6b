#pragma once
// A counting semaphore that coroutines on any shard can wait on.
//
// Used for the broker-wide request memory budget (`queued.max.request.bytes`) and the connection
// limit (`max.connections`). Waiters are served first-in, first-out: once someone waits, later
// acquirers queue behind them even if their smaller request would fit, so a large request is never
// starved by a stream of small ones.
//
// A request for more units than the capacity is clamped to the capacity (it then waits until the
// semaphore is completely free), so one oversized request can never wait forever.
//
// close() wakes every waiter with `false` and makes later acquires fail at once; the server calls
// it at shutdown so no coroutine stays parked here while the shards stop.
//
// Thread-safety: every member may be called from any thread. A waiter is resumed by a post to its
// own executor, never inline on the releasing thread.
#include "common/asio.h"

#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>

namespace broker::server {

class async_semaphore {
public:
    explicit async_semaphore(int64_t capacity);
    async_semaphore(const async_semaphore&) = delete;
    async_semaphore& operator=(const async_semaphore&) = delete;

    /// Waits for `units` (clamped to [0, capacity]); returns the units actually taken, or -1 when
    /// the semaphore was closed.
    net::awaitable<int64_t> acquire(int64_t units);
    /// Takes `units` (clamped) without waiting; -1 if they are not available right now.
    int64_t try_acquire(int64_t units);
    /// Returns units taken by acquire/try_acquire.
    void release(int64_t units);
    /// Fails every current and future waiter.
    void close();

    int64_t capacity() const { return capacity_; }
    int64_t available() const;
    std::size_t waiters() const;

private:
    struct waiter_base {
        virtual ~waiter_base() = default;
        /// Posts the completion to the waiter's executor.
        virtual void complete(int64_t result) = 0;
    };
    template <typename Handler>
    struct waiter_impl;
    struct waiter {
        int64_t units;
        std::unique_ptr<waiter_base> handler;
    };

    int64_t clamp(int64_t units) const;
    /// Hands units to queued waiters while they fit. Called with mutex_ held; returns the waiters
    /// to complete once the lock is dropped.
    std::deque<waiter> grant_locked();

    const int64_t capacity_;
    mutable std::mutex mutex_;
    int64_t available_;
    bool closed_ = false;
    std::deque<waiter> waiters_;
};

template <typename Handler>
struct async_semaphore::waiter_impl final : async_semaphore::waiter_base {
    explicit waiter_impl(Handler&& h) : handler(std::move(h)) {}
    void complete(int64_t result) override {
        auto executor = net::get_associated_executor(handler);
        net::post(executor, [h = std::move(handler), result]() mutable { std::move(h)(result); });
    }
    Handler handler;
};

inline net::awaitable<int64_t> async_semaphore::acquire(int64_t units) {
    const int64_t wanted = clamp(units);
    {
        std::lock_guard lock(mutex_);
        if (closed_) {
            co_return -1;
        }
        if (waiters_.empty() && available_ >= wanted) {
            available_ -= wanted;
            co_return wanted;
        }
    }
    co_return co_await net::async_initiate<const net::use_awaitable_t<>, void(int64_t)>(
        [this, wanted](auto handler) {
            using handler_type = decltype(handler);
            std::unique_ptr<waiter_base> w =
                std::make_unique<waiter_impl<handler_type>>(std::move(handler));
            std::unique_lock lock(mutex_);
            if (closed_) {
                lock.unlock();
                w->complete(-1);
                return;
            }
            if (waiters_.empty() && available_ >= wanted) {
                available_ -= wanted;
                lock.unlock();
                w->complete(wanted);
                return;
            }
            waiters_.push_back(waiter{wanted, std::move(w)});
        },
        net::use_awaitable);
}

}  // namespace broker::server
