// Connection limits against the real broker process, with a well-behaved librdkafka client running
// alongside: max.connections, max.connections.per.ip, connections.max.idle.ms, and thousands of
// idle connections held open. docs/reliability.md describes each case.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <iostream>
#include <memory>
#include <optional>
#include <thread>

#include "compat-tests/cpp/broker_fixture.h"
#include "compat-tests/robustness/hostile_traffic.h"
#include "compat-tests/robustness/raw_socket.h"

namespace broker::compat::robustness {
namespace {

using namespace std::chrono_literals;

bool closed_or_reset(peer_event e) {
    return e == peer_event::closed || e == peer_event::reset;
}

class connection_limits : public ::testing::Test {
protected:
    void start(std::map<std::string, std::string> overrides) {
        overrides.emplace("num.shards", "2");
        broker_ = std::make_unique<broker_process>(std::move(overrides));
        broker_->start();
        listening_sockets_ = proc_socket_count(broker_->pid());
        traffic_ = std::make_unique<steady_traffic>(broker_->bootstrap(), "steady");
        ASSERT_TRUE(traffic_->wait_for_round_trips(2)) << problems();
    }

    void TearDown() override {
        if (traffic_) {
            EXPECT_TRUE(traffic_->wait_for_round_trips(3)) << problems();
            EXPECT_TRUE(traffic_->problems().empty()) << problems();
            traffic_->stop();
        }
        traffic_.reset();
        if (broker_) {
            const int status = broker_->stop();
            EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << broker_->output();
        }
    }

    std::string problems() const {
        std::string out;
        for (const auto& p : traffic_->problems()) {
            out += p + "\n";
        }
        return out;
    }

    /// Client connections the broker holds (its sockets minus the listening ones).
    int accepted_connections() const {
        return proc_socket_count(broker_->pid()) - listening_sockets_;
    }

    /// Waits (bounded) until the broker holds exactly `n` client connections.
    bool wait_for_accepted(int n, std::chrono::seconds timeout = 20s) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (accepted_connections() != n) {
            if (std::chrono::steady_clock::now() >= deadline) {
                return false;
            }
            traffic_->wait_for_round_trips(1, 100ms);
        }
        return true;
    }

    std::unique_ptr<broker_process> broker_;
    std::unique_ptr<steady_traffic> traffic_;
    int listening_sockets_ = 0;
};

TEST_F(connection_limits, max_connections_closes_new_clients_while_full) {
    // At max.connections the broker closes a new connection at once (as it does at
    // max.connections.per.ip); existing connections keep working, and a freed slot is reused.
    constexpr int max_connections = 10;
    start({{"max.connections", std::to_string(max_connections)}});
    // Fill the broker with raw connections until one is refused: the well-behaved client holds
    // the rest. (librdkafka decides itself how many connections it keeps, so the split is found
    // by filling rather than computed.)
    ASSERT_TRUE(traffic_->wait_for_round_trips(10)) << problems();
    std::vector<raw_socket> fill;
    bool refused = false;
    for (int32_t i = 0; i <= max_connections && !refused; ++i) {
        raw_socket s(broker_->port());
        if (answers_api_versions(s, i, 10s)) {
            fill.push_back(std::move(s));
        } else {
            const peer_event e = s.wait(0ms);
            EXPECT_TRUE(closed_or_reset(e)) << "refused connection saw " << to_string(e);
            refused = true;
        }
    }
    ASSERT_TRUE(refused) << "more than max.connections connections were served";
    std::cout << fill.size() << " raw connections filled the broker beside "
              << accepted_connections() - static_cast<int>(fill.size())
              << " of the well-behaved client\n";
    ASSERT_FALSE(fill.empty());
    ASSERT_LT(fill.size(), static_cast<std::size_t>(max_connections));
    // Existing connections keep working.
    EXPECT_TRUE(traffic_->wait_for_round_trips(3)) << problems();
    for (std::size_t i = 0; i < fill.size(); ++i) {
        EXPECT_TRUE(answers_api_versions(fill[i], 100 + static_cast<int32_t>(i)));
    }

    // One connection leaves: once the broker has seen the close, a new client is served.
    fill.pop_back();
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    bool served = false;
    for (int32_t attempt = 0; !served && std::chrono::steady_clock::now() < deadline; ++attempt) {
        raw_socket s(broker_->port());
        served = answers_api_versions(s, 500 + attempt, 2s);
        if (!served) {
            std::this_thread::sleep_for(50ms);
        }
    }
    EXPECT_TRUE(served);
}

TEST_F(connection_limits, max_connections_per_ip_closes_extra_connections) {
    // Kafka closes a connection from an address that is at max.connections.per.ip at once. The
    // attacker uses 127.0.0.2; the well-behaved client (127.0.0.1) is not affected.
    constexpr int per_ip = 4;
    start({{"max.connections.per.ip", std::to_string(per_ip)}});
    std::vector<raw_socket> allowed;
    for (int i = 0; i < per_ip; ++i) {
        allowed.emplace_back(broker_->port(), "127.0.0.2");
        ASSERT_TRUE(answers_api_versions(allowed.back(), i));
    }
    for (int i = 0; i < 3; ++i) {
        raw_socket refused(broker_->port(), "127.0.0.2");
        refused.send_all(api_versions_v0_frame(50 + i));
        const peer_event e = refused.wait(10s);
        EXPECT_TRUE(closed_or_reset(e)) << "refused connection saw " << to_string(e);
    }
    EXPECT_TRUE(traffic_->wait_for_round_trips(3)) << problems();
    for (std::size_t i = 0; i < allowed.size(); ++i) {
        EXPECT_TRUE(answers_api_versions(allowed[i], 200 + static_cast<int32_t>(i)));
    }
    // A slot freed by a close can be used again (once the broker has seen the close).
    allowed.pop_back();
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    bool reused = false;
    while (!reused && std::chrono::steady_clock::now() < deadline) {
        raw_socket again(broker_->port(), "127.0.0.2");
        reused = answers_api_versions(again, 300, 2s);
    }
    EXPECT_TRUE(reused);
}

TEST_F(connection_limits, idle_connections_are_closed) {
    // connections.max.idle.ms closes a silent connection and one stalled mid-frame; the busy
    // well-behaved client keeps its connections.
    start({{"connections.max.idle.ms", "1000"}});
    raw_socket silent(broker_->port());
    ASSERT_TRUE(answers_api_versions(silent, 1));
    raw_socket stalled(broker_->port());
    ASSERT_TRUE(stalled.send_all(std::span<const uint8_t>(api_versions_v0_frame(2)).first(6)));
    EXPECT_TRUE(closed_or_reset(silent.wait(15s)));
    EXPECT_TRUE(closed_or_reset(stalled.wait(15s)));
}

TEST_F(connection_limits, thousands_of_idle_connections_are_held) {
    // The broker is started with a low soft RLIMIT_NOFILE (inherited from this process) and must
    // raise it to the hard limit itself to hold the connections.
    rlimit limits{};
    ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &limits), 0);
    const rlim_t hard = limits.rlim_max;
    if (hard != RLIM_INFINITY && hard < 4096) {
        GTEST_SKIP() << "hard RLIMIT_NOFILE " << hard << " is too low for this test";
    }
    const int idle_count = 3000;
    rlimit low = limits;
    low.rlim_cur = 1024;
    ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);
    start({});
    rlimit high = limits;
    high.rlim_cur = hard;
    ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &high), 0);
    const auto [soft_limit, hard_limit] = proc_open_file_limits(broker_->pid());
    EXPECT_EQ(soft_limit, hard_limit) << "the broker did not raise its descriptor limit";

    const int before = accepted_connections();
    const int64_t rss_before_kib = proc_status_kib(broker_->pid(), "VmRSS");
    std::vector<raw_socket> idle;
    idle.reserve(idle_count);
    for (int i = 0; i < idle_count; ++i) {
        // Spread over a few source addresses so no single address runs out of ephemeral ports.
        idle.emplace_back(broker_->port(), "127.0.0." + std::to_string(10 + i % 8));
    }
    ASSERT_TRUE(wait_for_accepted(before + idle_count, 60s)) << accepted_connections();
    const int64_t rss_after_kib = proc_status_kib(broker_->pid(), "VmRSS");
    std::cout << idle_count << " idle connections: broker RSS " << rss_before_kib / 1024 << " -> "
              << rss_after_kib / 1024 << " MiB ("
              << (rss_after_kib - rss_before_kib) * 1024 / idle_count << " bytes per connection)\n";
    EXPECT_TRUE(traffic_->wait_for_round_trips(5)) << problems();
    // The first and the last idle connections are both live.
    EXPECT_TRUE(answers_api_versions(idle.front(), 1));
    EXPECT_TRUE(answers_api_versions(idle.back(), 2));
    idle.clear();
    EXPECT_TRUE(wait_for_accepted(before, 60s)) << accepted_connections();
}

}  // namespace
}  // namespace broker::compat::robustness
