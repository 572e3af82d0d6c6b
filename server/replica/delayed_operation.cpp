#include "server/replica/delayed_operation.h"

#include <utility>

namespace broker::server {
namespace {

// What a waiting operation shares with the callbacks that wake it. Only the operation holds it
// strongly; callbacks hold weak references, so one that fires after the operation ended does
// nothing. Touched only on the operation's executor (watch callbacks post there first).
struct wake_state {
    explicit wake_state(const net::any_io_executor& executor) : timer(executor) {}
    net::steady_timer timer;
    bool connection_closed = false;
};

// One round of watches, withdrawn when the round ends.
class armed_watches {
public:
    armed_watches(const std::vector<delayed_watch>& watches,
                  const std::shared_ptr<wake_state>& state, const net::any_io_executor& executor) {
        const std::weak_ptr<wake_state> weak = state;
        registered_.reserve(watches.size());
        for (const delayed_watch& w : watches) {
            if (!w.target) {
                continue;
            }
            // Runs on the thread that caused the event: only hop to the operation's executor.
            const uint64_t id = w.target->watch(w.events, [weak, executor] {
                net::post(executor, [weak] {
                    if (const auto s = weak.lock()) {
                        s->timer.cancel();
                    }
                });
            });
            registered_.emplace_back(w.target.get(), id);
        }
    }
    ~armed_watches() {
        for (const auto& [p, id] : registered_) {
            p->unwatch(id);
        }
    }
    armed_watches(const armed_watches&) = delete;
    armed_watches& operator=(const armed_watches&) = delete;

private:
    // The caller's watch list keeps the partitions alive for the round.
    std::vector<std::pair<partition*, uint64_t>> registered_;
};

// Wakes the operation when its connection closes. Same executor as the operation: no hop.
class close_watch {
public:
    close_watch(connection_close_signal* signal, const std::shared_ptr<wake_state>& state)
        : signal_(signal) {
        if (signal_ == nullptr) {
            return;
        }
        const std::weak_ptr<wake_state> weak = state;
        id_ = signal_->subscribe([weak] {
            if (const auto s = weak.lock()) {
                s->connection_closed = true;
                s->timer.cancel();
            }
        });
    }
    ~close_watch() {
        if (signal_ != nullptr && id_ != 0) {
            signal_->unsubscribe(id_);
        }
    }
    close_watch(const close_watch&) = delete;
    close_watch& operator=(const close_watch&) = delete;

private:
    connection_close_signal* signal_;
    uint64_t id_ = 0;
};

}  // namespace

net::awaitable<delayed_outcome> wait_until(const std::vector<delayed_watch>& watches,
                                           std::chrono::steady_clock::time_point deadline,
                                           const std::function<bool()>& try_complete,
                                           connection_close_signal* closed) {
    const net::any_io_executor executor = co_await net::this_coro::executor;
    const auto state = std::make_shared<wake_state>(executor);
    const close_watch closing(closed, state);
    for (;;) {
        const armed_watches armed(watches, state, executor);
        if (try_complete()) {
            co_return delayed_outcome::completed;
        }
        if (state->connection_closed) {
            co_return delayed_outcome::cancelled;
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            co_return delayed_outcome::expired;
        }
        state->timer.expires_at(deadline);
        boost::system::error_code ec;  // operation_aborted when woken early
        co_await state->timer.async_wait(net::redirect_error(net::use_awaitable, ec));
    }
}

namespace {

// The callback form's state: one per waiting operation, alive until `done` ran.
struct replication_wait : std::enable_shared_from_this<replication_wait> {
    replication_wait(const net::any_io_executor& executor, std::shared_ptr<partition> p, int64_t o,
                     std::function<void(protocol::error_code)> d)
        : timer(executor), target(std::move(p)), offset(o), done(std::move(d)) {}

    net::steady_timer timer;
    std::shared_ptr<partition> target;
    int64_t offset;
    std::function<void(protocol::error_code)> done;
    uint64_t watch_id = 0;
    bool finished = false;

    // On the executor.
    void check() {
        if (finished) {
            return;
        }
        target->unwatch(watch_id);
        const std::weak_ptr<replication_wait> weak = weak_from_this();
        const net::any_io_executor executor = timer.get_executor();
        // Arm first, then look: an advance in between still wakes us.
        watch_id = target->watch(partition_event::high_watermark, [weak, executor] {
            net::post(executor, [weak] {
                if (const auto self = weak.lock()) {
                    self->check();
                }
            });
        });
        bool reached = false;
        const protocol::error_code e = target->replicated_to(offset, reached);
        if (reached || e != protocol::error_code::none) {
            finish(e);
        }
    }

    void finish(protocol::error_code e) {
        if (finished) {
            return;
        }
        finished = true;
        target->unwatch(watch_id);
        timer.cancel();
        auto callback = std::move(done);
        callback(e);
    }
};

}  // namespace

void when_replicated(const net::any_io_executor& executor, std::shared_ptr<partition> target,
                     int64_t offset, std::chrono::milliseconds timeout,
                     std::function<void(protocol::error_code)> done) {
    auto wait =
        std::make_shared<replication_wait>(executor, std::move(target), offset, std::move(done));
    wait->timer.expires_after(timeout);
    // The timer's handler owns the state until the wait is over either way.
    wait->timer.async_wait([wait](const boost::system::error_code& ec) {
        if (!ec) {
            // One last look before giving up.
            bool reached = false;
            const protocol::error_code e = wait->target->replicated_to(wait->offset, reached);
            wait->finish(reached || e != protocol::error_code::none
                             ? e
                             : protocol::error_code::request_timed_out);
        }
    });
    net::post(executor, [wait] { wait->check(); });
}

}  // namespace broker::server
