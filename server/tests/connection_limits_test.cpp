// Resource limits of the network layer, in process: small requests are served while stalled large
// frames hold the whole request memory budget; the broker raises its descriptor limit; the
// connection tracker's per-address accounting; idle and per-address limits with a busy client.
// compat-tests/robustness/ checks the same limits against the real broker process.
#include "common/asio.h"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include "server/connection.h"
#include "server/listener.h"
#include "server/tests/test_util.h"

namespace broker::server {
namespace {

using test::raw_client;
using test::request_frame;
using test::running_broker;
using test::size_prefix;

// An ApiVersions v0 frame padded with bytes the v0 decoder ignores, `size` bytes after the prefix.
std::vector<uint8_t> padded_api_versions(int32_t correlation_id, int32_t size) {
    auto frame = request_frame(18, 0, correlation_id, protocol::api_versions_request{});
    frame.resize(4 + static_cast<std::size_t>(size), 0);
    store_be32(frame.data(), static_cast<uint32_t>(size));
    return frame;
}

TEST(request_budget, small_requests_are_served_while_stalled_frames_hold_the_budget) {
    running_broker broker(
        {{"socket.request.max.bytes", "65536"}, {"queued.max.request.bytes", "65536"}});
    // One stalled frame takes 60000 bytes; a second waits for its 60000 (first in line).
    raw_client holder(broker.port());
    ASSERT_TRUE(holder.send(size_prefix(60000)));
    ASSERT_TRUE(test::wait_for([&] { return broker.server().request_memory_available() == 5536; }));
    raw_client queued(broker.port());
    ASSERT_TRUE(queued.send(size_prefix(60000)));
    ASSERT_TRUE(test::wait_for([&] { return broker.server().request_memory_waiters() == 1; }));

    // Requests of up to unbudgeted_request_bytes are still answered, on new and old connections.
    for (int32_t i = 0; i < 3; ++i) {
        raw_client small(broker.port());
        ASSERT_TRUE(small.send(padded_api_versions(10 + i, connection::unbudgeted_request_bytes)));
        auto frame = small.read_frame();
        ASSERT_TRUE(frame.has_value()) << small.last_error().message();
        EXPECT_EQ(test::parse_response(std::move(*frame), 0).correlation_id, 10 + i);
    }
    // Nothing was taken from the budget for them, and the waiter is still first in line.
    EXPECT_EQ(broker.server().request_memory_available(), 5536);
    EXPECT_EQ(broker.server().request_memory_waiters(), 1U);

    // One byte over the threshold is charged and waits like any large frame.
    raw_client over(broker.port(), std::chrono::seconds(30));
    ASSERT_TRUE(over.send(padded_api_versions(20, connection::unbudgeted_request_bytes + 1)));
    ASSERT_TRUE(test::wait_for([&] { return broker.server().request_memory_waiters() == 2; }));
    holder.close();
    queued.close();
    auto frame = over.read_frame();
    ASSERT_TRUE(frame.has_value());
    EXPECT_EQ(test::parse_response(std::move(*frame), 0).correlation_id, 20);
    EXPECT_TRUE(
        test::wait_for([&] { return broker.server().request_memory_available() == 65536; }));
}

TEST(open_file_limit, soft_limit_is_raised_to_the_hard_limit) {
    rlimit original{};
    ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &original), 0);
    if (original.rlim_max != RLIM_INFINITY && original.rlim_max < 64) {
        GTEST_SKIP() << "hard limit too low to lower the soft limit below it";
    }
    rlimit lowered = original;
    lowered.rlim_cur = 32;
    ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &lowered), 0);
    const int64_t now = raise_open_file_limit();
    rlimit after{};
    ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &after), 0);
    EXPECT_EQ(after.rlim_cur, original.rlim_max);
    EXPECT_EQ(now, original.rlim_max == RLIM_INFINITY ? INT64_MAX
                                                      : static_cast<int64_t>(original.rlim_max));
    // Idempotent.
    EXPECT_EQ(raise_open_file_limit(), now);
    ::setrlimit(RLIMIT_NOFILE, &original);
}

TEST(open_file_limit, starting_a_broker_raises_it) {
    rlimit original{};
    ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &original), 0);
    if (original.rlim_max != RLIM_INFINITY && original.rlim_max < 256) {
        GTEST_SKIP() << "hard limit too low";
    }
    rlimit lowered = original;
    lowered.rlim_cur = 256;
    ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &lowered), 0);
    {
        running_broker broker;
        rlimit after{};
        ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &after), 0);
        EXPECT_EQ(after.rlim_cur, original.rlim_max);
    }
    ::setrlimit(RLIMIT_NOFILE, &original);
}

TEST(connection_tracker_limits, per_address_limit_is_counted_per_address) {
    connection_tracker tracker(10, 2);
    const auto a = net::ip::make_address("127.0.0.1");
    const auto b = net::ip::make_address("127.0.0.2");
    EXPECT_TRUE(tracker.admit(a));
    EXPECT_TRUE(tracker.admit(a));
    EXPECT_FALSE(tracker.admit(a));  // a is at the limit
    EXPECT_TRUE(tracker.admit(b));   // b is not
    EXPECT_EQ(tracker.live(), 3U);
    // Each leave() returns a slot taken by the listener before admit().
    ASSERT_EQ(tracker.slots().try_acquire(3), 3);
    tracker.leave(a);
    EXPECT_TRUE(tracker.admit(a));  // a's freed place is usable again
    ASSERT_EQ(tracker.slots().try_acquire(1), 1);
    tracker.leave(a);
    tracker.leave(a);
    tracker.leave(b);
    EXPECT_EQ(tracker.live(), 0U);
    EXPECT_EQ(tracker.slots().available(), 10);
}

TEST(connection_tracker_limits, idle_timeout_spares_a_connection_that_keeps_sending) {
    running_broker broker({{"connections.max.idle.ms", "300"}});
    raw_client silent(broker.port());
    raw_client busy(broker.port());
    ASSERT_TRUE(test::wait_for([&] { return broker.server().live_connections() == 2; }));
    // The busy client sends a request each time the silent one has not been closed yet; the
    // watchdog must close only the silent one.
    for (int32_t i = 0; broker.server().live_connections() == 2; ++i) {
        ASSERT_TRUE(busy.send(request_frame(18, 0, i, protocol::api_versions_request{})));
        ASSERT_TRUE(busy.read_frame().has_value()) << "the busy connection was closed";
    }
    EXPECT_TRUE(silent.closed_by_server()) << silent.last_error().message();
    ASSERT_TRUE(busy.send(request_frame(18, 0, 999, protocol::api_versions_request{})));
    auto frame = busy.read_frame();
    ASSERT_TRUE(frame.has_value());
    EXPECT_EQ(test::parse_response(std::move(*frame), 0).correlation_id, 999);
}

}  // namespace
}  // namespace broker::server
