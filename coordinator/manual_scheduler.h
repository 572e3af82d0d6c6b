#pragma once
// A deterministic `scheduler` for tests: time moves only when the test says so.
//
// `advance(d)` moves the clock forward to now + d, firing every timer that falls due on the way in
// (due time, scheduling order) order, with the clock set to each timer's due time while it runs.
// Timers scheduled by a firing timer are fired too if they fall due before the target time.
// `run_due()` fires the timers already due (those scheduled with a zero delay).
//
// Single-threaded; owned by the test; must outlive the coordinator that uses it.
#include <chrono>
#include <cstdint>
#include <functional>
#include <iterator>
#include <map>
#include <utility>

#include "coordinator/scheduler.h"

namespace broker::server::coordinator {

class manual_scheduler final : public scheduler {
public:
    explicit manual_scheduler(int64_t start_ms = 1'700'000'000'000) : now_(start_ms) {}

    timer_id schedule(std::chrono::milliseconds delay, std::function<void()> fn) override {
        timer_id id = ++last_id_;
        int64_t due = now_ + (delay.count() > 0 ? delay.count() : 0);
        timers_.emplace(key{due, id}, std::move(fn));
        return id;
    }

    void cancel(timer_id id) override {
        for (auto it = timers_.begin(); it != timers_.end(); ++it) {
            if (it->first.id == id) {
                timers_.erase(it);
                return;
            }
        }
    }

    int64_t now_ms() override { return now_; }

    /// Moves time forward by `delta`, firing due timers in order.
    void advance(std::chrono::milliseconds delta) {
        int64_t target = now_ + delta.count();
        while (!timers_.empty() && timers_.begin()->first.due <= target) {
            auto it = timers_.begin();
            now_ = it->first.due;
            auto fn = std::move(it->second);
            timers_.erase(it);
            fn();
        }
        now_ = target;
    }

    /// Fires the timers due now (including those scheduled by the ones fired).
    void run_due() { advance(std::chrono::milliseconds(0)); }

    std::size_t pending() const { return timers_.size(); }

private:
    struct key {
        int64_t due;
        timer_id id;
        bool operator<(const key& other) const {
            return due != other.due ? due < other.due : id < other.id;
        }
    };
    int64_t now_;
    timer_id last_id_ = 0;
    std::map<key, std::function<void()>> timers_;
};

}  // namespace broker::server::coordinator
