#include "server/replica/group_commit.h"

#include "log/errors.h"

namespace broker::server {

group_commit& group_commit::instance() {
    static group_commit groups;
    return groups;
}

net::awaitable<std::error_code> group_commit::flush(shard_group& shards,
                                                    std::shared_ptr<partition> p, int64_t target) {
    if (p->deleted()) {
        co_return log::make_error_code(log::errc::log_closed);
    }
    const net::any_io_executor executor = co_await net::this_coro::executor;
    for (;;) {
        if (p->recovery_point() >= target) {
            co_return std::error_code{};
        }
        std::unique_lock registry(mutex_);
        state& st = states_[p.get()];
        if (st.in_flight) {
            net::steady_timer timer(executor, net::steady_timer::time_point::max());
            st.waiters.push_back(waiter{executor, &timer});
            registry.unlock();
            boost::system::error_code ignored;
            co_await timer.async_wait(net::redirect_error(net::use_awaitable, ignored));
            continue;  // the flush we waited for may not cover us: look again
        }
        st.in_flight = true;
        registry.unlock();

        std::error_code error;
        try {
            error = co_await flush_once(shards, *p, target);
        } catch (...) {
            finish(p.get());  // waiters must not wait for a flush that will never end
            throw;
        }
        finish(p.get());
        co_return error;
    }
}

net::awaitable<std::error_code> group_commit::flush_once(shard_group& shards, partition& p,
                                                         int64_t target) {
    std::optional<log::flush_request> request = p.prepare_flush(target);
    if (!request) {
        co_return log::make_error_code(log::errc::log_closed);
    }
    if (request->done()) {
        co_return std::error_code{};
    }
    const std::error_code error =
        co_await shards.run_blocking([&request] { return request->run(); });
    if (!error) {
        p.complete_flush(*request);
    }
    co_return error;
}

void group_commit::finish(const partition* p) {
    std::lock_guard registry(mutex_);
    auto it = states_.find(p);
    if (it == states_.end()) {
        return;
    }
    for (const waiter& w : it->second.waiters) {
        // Expiring (not just cancelling) also covers a wait that has not started yet.
        net::post(w.executor,
                  [timer = w.timer] { timer->expires_at(net::steady_timer::time_point::min()); });
    }
    states_.erase(it);
}

}  // namespace broker::server
