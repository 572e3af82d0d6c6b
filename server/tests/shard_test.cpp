#include "common/asio.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <stdexcept>
#include <thread>

#include "server/async_semaphore.h"
#include "server/shard.h"
#include "server/tests/test_util.h"

namespace broker::server {
namespace {

// Runs `body` as a coroutine on shard `home` and waits (blocking the test thread) for it to end.
template <typename F>
void run_on(shard_group& shards, unsigned home, F body) {
    std::future<void> done =
        net::co_spawn(shards.shard_executor(home), std::move(body), net::use_future);
    ASSERT_EQ(done.wait_for(std::chrono::seconds(10)), std::future_status::ready);
    done.get();
}

class shard_group_test : public ::testing::TestWithParam<unsigned> {};

TEST_P(shard_group_test, on_shard_runs_there_and_resumes_on_the_caller) {
    shard_group shards(GetParam(), 1);
    shards.start();
    EXPECT_EQ(shards.size(), GetParam());
    EXPECT_FALSE(shards.current_shard().has_value());
    const unsigned last = shards.size() - 1;
    run_on(shards, 0, [&]() -> net::awaitable<void> {
        EXPECT_EQ(shards.current_shard(), 0U);
        const std::thread::id caller = std::this_thread::get_id();

        // A plain value.
        const auto seen = co_await shards.on_shard(last, [&] { return shards.current_shard(); });
        EXPECT_EQ(seen, last);
        EXPECT_EQ(shards.current_shard(), 0U);
        EXPECT_EQ(std::this_thread::get_id(), caller);

        // void.
        int calls = 0;
        co_await shards.on_shard(last, [&] { ++calls; });
        EXPECT_EQ(calls, 1);
        EXPECT_EQ(shards.current_shard(), 0U);

        // An awaitable, awaited on the target.
        const int doubled = co_await shards.on_shard(last, [&]() -> net::awaitable<int> {
            EXPECT_EQ(shards.current_shard(), last);
            co_return 21 * 2;
        });
        EXPECT_EQ(doubled, 42);
        EXPECT_EQ(shards.current_shard(), 0U);

        // Exceptions come back to the caller.
        bool caught = false;
        try {
            co_await shards.on_shard(last, []() -> int { throw std::runtime_error("boom"); });
        } catch (const std::runtime_error& e) {
            caught = std::string(e.what()) == "boom";
        }
        EXPECT_TRUE(caught);
        EXPECT_EQ(shards.current_shard(), 0U);
    });
    shards.stop();
}

TEST_P(shard_group_test, run_blocking_runs_off_the_shards) {
    shard_group shards(GetParam(), 2);
    shards.start();
    run_on(shards, shards.size() - 1, [&]() -> net::awaitable<void> {
        const auto where = co_await shards.run_blocking([&] { return shards.current_shard(); });
        EXPECT_FALSE(where.has_value());
        EXPECT_EQ(shards.current_shard(), shards.size() - 1);
    });
}

INSTANTIATE_TEST_SUITE_P(counts, shard_group_test, ::testing::Values(1U, 2U));

TEST(shard_group, stop_is_idempotent_and_start_is_optional) {
    shard_group never_started(2, 1);
    never_started.stop();
    never_started.stop();
    shard_group started(1, 1);
    started.start();
    started.stop();
    started.stop();
}

TEST(shard_group, zero_shards_is_refused) {
    EXPECT_THROW(shard_group(0, 1), std::invalid_argument);
}

// ---- async_semaphore

TEST(async_semaphore, grants_in_fifo_order_and_clamps) {
    net::io_context io;
    async_semaphore sem(10);
    std::vector<int> order;
    std::vector<int64_t> granted(3, -2);
    EXPECT_EQ(sem.try_acquire(8), 8);
    for (int i = 0; i < 3; ++i) {
        // Waiter 0 wants 5, waiter 1 wants 1 (would fit now, but must queue behind 0),
        // waiter 2 asks for more than the capacity and gets all 10 once everything is free.
        const int64_t want = i == 0 ? 5 : i == 1 ? 1 : 100;
        net::co_spawn(
            io,
            [&, i, want]() -> net::awaitable<void> {
                granted[i] = co_await sem.acquire(want);
                order.push_back(i);
            },
            net::detached);
    }
    io.poll();
    EXPECT_TRUE(order.empty());
    EXPECT_EQ(sem.waiters(), 3U);
    EXPECT_EQ(sem.try_acquire(1), -1);  // queued waiters go first
    sem.release(8);
    io.poll();
    EXPECT_EQ(order, (std::vector<int>{0, 1}));
    EXPECT_EQ(granted[0], 5);
    EXPECT_EQ(granted[1], 1);
    EXPECT_EQ(sem.available(), 4);
    sem.release(6);
    io.poll();
    EXPECT_EQ(order, (std::vector<int>{0, 1, 2}));
    EXPECT_EQ(granted[2], 10);
    EXPECT_EQ(sem.available(), 0);
    sem.release(10);
    EXPECT_EQ(sem.available(), 10);
}

TEST(async_semaphore, close_fails_waiters_and_later_acquires) {
    net::io_context io;
    async_semaphore sem(1);
    ASSERT_EQ(sem.try_acquire(1), 1);
    int64_t result = 0;
    net::co_spawn(
        io, [&]() -> net::awaitable<void> { result = co_await sem.acquire(1); }, net::detached);
    io.poll();
    EXPECT_EQ(sem.waiters(), 1U);
    sem.close();
    io.poll();
    EXPECT_EQ(result, -1);
    io.restart();  // poll() ran out of work above
    int64_t later = 0;
    net::co_spawn(
        io, [&]() -> net::awaitable<void> { later = co_await sem.acquire(0); }, net::detached);
    io.poll();
    EXPECT_EQ(later, -1);
    EXPECT_EQ(sem.try_acquire(0), -1);
}

TEST(async_semaphore, waiters_resume_on_their_own_shard) {
    shard_group shards(2, 1);
    shards.start();
    async_semaphore sem(1);
    ASSERT_EQ(sem.try_acquire(1), 1);
    std::promise<std::optional<unsigned>> resumed_on;
    net::co_spawn(
        shards.shard_executor(1),
        [&]() -> net::awaitable<void> {
            co_await sem.acquire(1);
            resumed_on.set_value(shards.current_shard());
        },
        net::detached);
    // Release from shard 0 once the waiter is queued.
    ASSERT_TRUE(test::wait_for([&] { return sem.waiters() == 1; }));
    net::post(shards.shard_executor(0), [&] { sem.release(1); });
    auto future = resumed_on.get_future();
    ASSERT_EQ(future.wait_for(std::chrono::seconds(10)), std::future_status::ready);
    EXPECT_EQ(future.get(), 1U);
    shards.stop();
}

}  // namespace
}  // namespace broker::server
