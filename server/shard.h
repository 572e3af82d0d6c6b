#pragma once
// Shards: the broker's threads.
//
// A shard is one io_context run by one thread, so everything posted to a shard runs serially
// (an implicit strand). State owned by a shard (its connections, and later its partitions) is
// touched only from that shard's thread, so it needs no locks. Work for another shard goes through
// on_shard(), which runs a function there and resumes the caller on its own shard.
//
// Blocking calls (fsync, directory scans, name resolution) never run on a shard: run_blocking()
// hands them to a small thread pool and resumes the caller on its shard when they finish.
//
// Lifecycle: construct (threads are not started), start(), ... , stop() (idempotent; joins every
// thread). The destructor calls stop(). stop() lets nothing new run: coroutines still suspended on
// a shard are destroyed with its io_context, so callers close sockets and drain first
// (see broker_server::stop()).
//
// Thread-safety: executor(), size(), on_shard() and run_blocking() may be called from any thread
// once start() has returned. start() and stop() are called from the owning (main) thread.
#include "common/asio.h"

#include <memory>
#include <optional>
#include <thread>
#include <type_traits>
#include <vector>

namespace broker::server {

template <typename T>
struct is_awaitable : std::false_type {};
template <typename T, typename Executor>
struct is_awaitable<net::awaitable<T, Executor>> : std::true_type {};

/// What on_shard/run_blocking yield for a callable F: R for `R f()`, R for
/// `net::awaitable<R> f()`, void for `void f()`.
template <typename F, typename R = std::invoke_result_t<F&>>
struct call_result {
    using type = R;
};
template <typename F, typename T, typename Executor>
struct call_result<F, net::awaitable<T, Executor>> {
    using type = T;
};
template <typename F>
using call_result_t = typename call_result<F>::type;

class shard_group {
public:
    /// `shard_count` >= 1 io_contexts and `blocking_threads` >= 1 pool threads.
    shard_group(unsigned shard_count, unsigned blocking_threads);
    ~shard_group();
    shard_group(const shard_group&) = delete;
    shard_group& operator=(const shard_group&) = delete;

    /// Starts one thread per shard.
    void start();
    /// Stops every shard and the blocking pool and joins their threads. Idempotent.
    void stop();

    unsigned size() const { return static_cast<unsigned>(shards_.size()); }
    net::any_io_executor shard_executor(unsigned id) const;
    net::io_context& shard_context(unsigned id) { return shards_.at(id)->context; }
    net::any_io_executor blocking_executor() { return blocking_.get_executor(); }

    /// The shard of this group that the calling thread runs, if any.
    std::optional<unsigned> current_shard() const;

    /// Runs `fn` on shard `id` and resumes the caller on its own executor with the result.
    /// `fn` may return a value, void, or a net::awaitable (which is awaited on the target).
    /// A value type must be default-constructible and movable (Asio's co_spawn needs both);
    /// exceptions thrown by `fn` are rethrown in the caller.
    template <typename F>
    net::awaitable<call_result_t<F>> on_shard(unsigned id, F fn);

    /// Runs `fn` on the blocking pool and resumes the caller on its own executor with the result.
    /// Same rules for the result as on_shard.
    template <typename F>
    net::awaitable<call_result_t<F>> run_blocking(F fn);

private:
    struct shard {
        explicit shard(unsigned id) : id(id), context(1) {}
        unsigned id;
        net::io_context context;
        std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
        std::thread thread;
    };

    template <typename F>
    static auto as_awaitable_fn(F fn);

    std::vector<std::unique_ptr<shard>> shards_;
    net::thread_pool blocking_;
    bool started_ = false;
    bool stopped_ = false;
};

template <typename F>
auto shard_group::as_awaitable_fn(F fn) {
    using R = std::invoke_result_t<F&>;
    using T = call_result_t<F>;
    return [fn = std::move(fn)]() mutable -> net::awaitable<T> {
        if constexpr (is_awaitable<R>::value) {
            co_return co_await fn();
        } else if constexpr (std::is_void_v<R>) {
            fn();
            co_return;
        } else {
            co_return fn();
        }
    };
}

template <typename F>
net::awaitable<call_result_t<F>> shard_group::on_shard(unsigned id, F fn) {
    co_return co_await net::co_spawn(shard_executor(id), as_awaitable_fn(std::move(fn)),
                                     net::use_awaitable);
}

template <typename F>
net::awaitable<call_result_t<F>> shard_group::run_blocking(F fn) {
    co_return co_await net::co_spawn(blocking_.get_executor(), as_awaitable_fn(std::move(fn)),
                                     net::use_awaitable);
}

}  // namespace broker::server
