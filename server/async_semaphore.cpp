#include "server/async_semaphore.h"

#include <algorithm>

namespace broker::server {

async_semaphore::async_semaphore(int64_t capacity)
    : capacity_(std::max<int64_t>(capacity, 0)), available_(capacity_) {}

int64_t async_semaphore::clamp(int64_t units) const {
    return std::clamp<int64_t>(units, 0, capacity_);
}

int64_t async_semaphore::try_acquire(int64_t units) {
    const int64_t wanted = clamp(units);
    std::lock_guard lock(mutex_);
    if (closed_ || !waiters_.empty() || available_ < wanted) {
        return -1;
    }
    available_ -= wanted;
    return wanted;
}

std::deque<async_semaphore::waiter> async_semaphore::grant_locked() {
    std::deque<waiter> ready;
    while (!waiters_.empty() && waiters_.front().units <= available_) {
        available_ -= waiters_.front().units;
        ready.push_back(std::move(waiters_.front()));
        waiters_.pop_front();
    }
    return ready;
}

void async_semaphore::release(int64_t units) {
    std::deque<waiter> ready;
    {
        std::lock_guard lock(mutex_);
        available_ = std::min(capacity_, available_ + std::max<int64_t>(units, 0));
        if (!closed_) {
            ready = grant_locked();
        }
    }
    for (waiter& w : ready) {
        w.handler->complete(w.units);
    }
}

void async_semaphore::close() {
    std::deque<waiter> failed;
    {
        std::lock_guard lock(mutex_);
        closed_ = true;
        failed.swap(waiters_);
    }
    for (waiter& w : failed) {
        w.handler->complete(-1);
    }
}

int64_t async_semaphore::available() const {
    std::lock_guard lock(mutex_);
    return available_;
}

std::size_t async_semaphore::waiters() const {
    std::lock_guard lock(mutex_);
    return waiters_.size();
}

}  // namespace broker::server
