// The replica layer driven by hand, in-process: a partition led by this broker (id 0) with a second
// replica (id 2) whose fetch positions the test sets. Covers the high watermark (one place, the
// smallest log end over the in-sync set), acks=-1 produce through the delayed operations (completes
// only once the second replica's fetch passes the batch; REQUEST_TIMED_OUT when it never does),
// min.insync.replicas before and after the append, the callback form the group coordinator uses,
// replica reads up to the log end, follower appends with producer state, and role changes.
#include "common/asio.h"

#include <gtest/gtest.h>

#include <chrono>
#include <iostream>
#include <optional>

#include "protocol/errors.h"
#include "protocol/generated/messages.h"
#include "protocol/records.h"
#include "server/handlers/handlers.h"
#include "server/replica/delayed_operation.h"
#include "server/tests/test_util.h"

namespace broker::server {
namespace {

using protocol::error_code;
using protocol::produce_request;
using protocol::produce_response;
using steady = std::chrono::steady_clock;

constexpr node_id self_id{0};
constexpr node_id second_id{2};

std::vector<uint8_t> batch_of(int records, int64_t producer_id = -1, int32_t sequence = -1) {
    std::vector<protocol::record_data> data;
    for (int i = 0; i < records; ++i) {
        protocol::record_data r;
        r.value.emplace(16, static_cast<uint8_t>('a' + i));
        r.timestamp = 1000;
        data.push_back(std::move(r));
    }
    protocol::batch_build_options o;
    o.producer_id = producer_id;
    o.producer_epoch = producer_id >= 0 ? 0 : -1;
    o.base_sequence = sequence;
    return protocol::build_batch(data, o);
}

class replica_test : public ::testing::Test {
protected:
    replica_test() { start("data", {}); }
    ~replica_test() override {
        if (core_) {
            core_->store().shutdown();
        }
    }

    void start(const std::string& data,
               std::initializer_list<std::pair<std::string, std::string>> topic_configs) {
        std::vector<property> entries{{"log.dirs", dir_.sub(data), 0},
                                      {"logger.level", "error", 0}};
        config_result loaded = make_broker_config(entries);
        set_log_threshold(loaded.config.logger_level);
        core_ = std::make_unique<broker_core>(std::move(loaded.config), "cluster-r", shards_);
        core_->store().open();
        new_topic t;
        t.name = "t";
        t.num_partitions = 1;
        for (const auto& [k, v] : topic_configs) {
            t.configs[k] = v;
        }
        ASSERT_TRUE(core_->admin().create_topic(t, false).result.ok());
        p_ = core_->find_partition("t", 0);
        ASSERT_TRUE(p_);
    }

    /// Leads with the second replica in the assignment and (unless `isr_alone`) in the in-sync set.
    void two_replicas(bool isr_alone = false, leader_epoch_t epoch = leader_epoch_t{1}) {
        partition_assignment a;
        a.leader_epoch = epoch;
        a.replicas = {self_id, second_id};
        a.isr =
            isr_alone ? std::vector<node_id>{self_id} : std::vector<node_id>{self_id, second_id};
        a.leader = self_id;
        ASSERT_FALSE(p_->become_leader(a));
    }

    /// Runs a Produce of one batch on a private io_context; `steps` run on it at the given delays.
    struct timed_step {
        std::chrono::milliseconds after;
        std::function<void()> fn;
    };
    struct produced {
        produce_response::partition_produce_response answer;
        steady::duration took{};
    };
    /// Runs one handler on a private io_context until it answers; `steps` run on the same
    /// context at the given delays. Returns the response frame and how long the answer took.
    using handler_fn = net::awaitable<handler_result> (*)(request_context&, protocol::reader&);
    struct handled {
        std::optional<handler_result> result;
        steady::duration took{};
    };
    handled run(handler_fn handler, int16_t api_key, int16_t version,
                const std::vector<uint8_t>& body, const std::vector<timed_step>& steps) {
        protocol::request_header header;
        request_context ctx{.broker = *core_,
                            .header = header,
                            .api_key = api_key,
                            .api_version = version,
                            .response_header_version = 1,
                            .correlation_id = 3,
                            .client_id = "",
                            .peer = {},
                            .listener_name = "PLAINTEXT",
                            .shard_id = 0,
                            .frame = {}};
        net::io_context io;
        handled out;
        const auto start = steady::now();
        net::co_spawn(
            io,
            [&]() -> net::awaitable<void> {
                protocol::reader r(body);
                out.result = co_await handler(ctx, r);
                out.took = steady::now() - start;
            },
            net::detached);
        std::vector<std::unique_ptr<net::steady_timer>> timers;
        for (const timed_step& s : steps) {
            auto timer = std::make_unique<net::steady_timer>(io, s.after);
            timer->async_wait([fn = s.fn](const boost::system::error_code& ec) {
                if (!ec) {
                    fn();
                }
            });
            timers.push_back(std::move(timer));
        }
        io.run();
        EXPECT_TRUE(out.result.has_value());
        return out;
    }

    produced produce(int16_t acks, int32_t timeout_ms, std::vector<uint8_t> batch,
                     std::vector<timed_step> steps = {}) {
        produce_request request;
        request.acks = acks;
        request.timeout_ms = timeout_ms;
        request.topic_data.emplace_back();
        request.topic_data[0].name = "t";
        request.topic_data[0].partition_data.emplace_back();
        request.topic_data[0].partition_data[0].index = 0;
        request.topic_data[0].partition_data[0].records =
            protocol::records_ref{std::span<const uint8_t>(batch), {}};
        const handled h = run(&handle_produce, 0, 9, test::body_bytes(9, request), steps);
        produced out;
        if (!h.result) {
            return out;
        }
        const auto frame = test::parse_response(test::frame_of(*h.result), 1);
        out.answer =
            test::decode_body<produce_response>(frame, 9).responses.at(0).partition_responses.at(0);
        out.took = h.took;
        return out;
    }

    /// DeleteRecords v2 of partition t-0 up to `offset`.
    struct deleted {
        protocol::delete_records_response::delete_records_partition_result answer;
        steady::duration took{};
    };
    deleted delete_records(int64_t offset, int32_t timeout_ms, std::vector<timed_step> steps = {}) {
        protocol::delete_records_request request;
        request.timeout_ms = timeout_ms;
        request.topics.emplace_back();
        request.topics[0].name = "t";
        request.topics[0].partitions.emplace_back();
        request.topics[0].partitions[0].partition_index = 0;
        request.topics[0].partitions[0].offset = offset;
        const handled h = run(&handle_delete_records, 21, 2, test::body_bytes(2, request), steps);
        deleted out;
        if (!h.result) {
            return out;
        }
        const auto frame = test::parse_response(test::frame_of(*h.result), 1);
        out.answer = test::decode_body<protocol::delete_records_response>(frame, 2)
                         .topics.at(0)
                         .partitions.at(0);
        out.took = h.took;
        return out;
    }

    test::temp_dir dir_;
    shard_group shards_{1, 1};
    std::unique_ptr<broker_core> core_;
    std::shared_ptr<partition> p_;
};

TEST_F(replica_test, a_single_node_leads_alone_and_commits_at_once) {
    EXPECT_EQ(p_->role(), replica_role::leader);
    EXPECT_EQ(p_->leader_id(), self_id);
    EXPECT_EQ(p_->assigned_replicas(), std::vector<node_id>{self_id});
    EXPECT_EQ(p_->in_sync_replicas(), std::vector<node_id>{self_id});
    const produced r = produce(-1, 30000, batch_of(3));
    EXPECT_EQ(r.answer.error_code, 0);
    EXPECT_EQ(p_->offsets()->high_watermark, 3);
}

TEST_F(replica_test, the_high_watermark_is_the_smallest_log_end_of_the_in_sync_set) {
    two_replicas();
    std::vector<uint8_t> b = batch_of(4);
    ASSERT_TRUE(test::append_batch(*p_, b).ok());
    EXPECT_EQ(p_->offsets()->log_end_offset, 4);
    EXPECT_EQ(p_->offsets()->high_watermark, 0);

    bool woken = false;
    p_->watch(partition_event::high_watermark, [&] { woken = true; });
    ASSERT_EQ(p_->update_follower_fetch_state(second_id, 2, 1), error_code::none);
    EXPECT_EQ(p_->offsets()->high_watermark, 2);
    EXPECT_TRUE(woken);
    // It never moves backwards, and a replica outside the assignment is refused.
    ASSERT_EQ(p_->update_follower_fetch_state(second_id, 1, 2), error_code::none);
    EXPECT_EQ(p_->offsets()->high_watermark, 2);
    EXPECT_EQ(p_->update_follower_fetch_state(node_id{9}, 4, 3),
              error_code::not_leader_or_follower);
    ASSERT_EQ(p_->update_follower_fetch_state(second_id, 4, 4), error_code::none);
    EXPECT_EQ(p_->offsets()->high_watermark, 4);
    const auto states = p_->follower_states();
    ASSERT_EQ(states.size(), 1U);
    EXPECT_EQ(states[0].id, second_id);
    EXPECT_EQ(states[0].log_end_offset, 4);
    EXPECT_EQ(states[0].last_caught_up_ms, 4);
}

TEST_F(replica_test, a_replica_reads_to_the_log_end_and_a_consumer_to_the_high_watermark) {
    two_replicas();
    std::vector<uint8_t> b = batch_of(2);
    ASSERT_TRUE(test::append_batch(*p_, b).ok());

    partition_read_request consumer;
    consumer.fetch_offset = 0;
    consumer.max_bytes = 1 << 20;
    partition_read_result seen = p_->read(consumer);
    EXPECT_EQ(seen.error, error_code::none);
    EXPECT_EQ(seen.high_watermark, 0);
    EXPECT_EQ(seen.records.size_bytes, 0U);

    partition_read_request replica = consumer;
    replica.replica_id = second_id;
    replica.now_ms = 7;
    seen = p_->read(replica);
    EXPECT_EQ(seen.error, error_code::none);
    EXPECT_EQ(seen.records.size_bytes, b.size());
    // Its next fetch, from the end of what it got, commits the batch.
    replica.fetch_offset = 2;
    seen = p_->read(replica);
    EXPECT_EQ(seen.high_watermark, 2);
    EXPECT_EQ(p_->read(consumer).records.size_bytes, b.size());

    replica.replica_id = node_id{5};  // not assigned
    seen = p_->read(replica);
    EXPECT_EQ(seen.error, error_code::not_leader_or_follower);
    EXPECT_EQ(seen.leader_id, self_id);
}

TEST_F(replica_test, a_fenced_or_diverging_replica_fetch_leaves_its_fetch_state_alone) {
    two_replicas(false, leader_epoch_t{1});
    std::vector<uint8_t> b = batch_of(4);
    ASSERT_TRUE(test::append_batch(*p_, b).ok());
    const auto before = p_->follower_states();
    ASSERT_EQ(before.size(), 1U);

    partition_read_request replica;
    replica.replica_id = second_id;
    replica.fetch_offset = 4;
    replica.max_bytes = 1 << 20;
    replica.now_ms = 9;
    // An old epoch is fenced before anything is recorded.
    replica.current_leader_epoch = leader_epoch_t{0};
    partition_read_result seen = p_->read(replica);
    EXPECT_EQ(seen.error, error_code::fenced_leader_epoch);
    EXPECT_EQ(p_->follower_states()[0].log_end_offset, before[0].log_end_offset);
    // A fetcher whose last epoch (0) ended before its offset diverges: told where epoch 0 ends,
    // and its offset (a tail the leader does not have) is not taken as replicated.
    replica.current_leader_epoch = leader_epoch_t{1};
    replica.last_fetched_epoch = leader_epoch_t{0};
    seen = p_->read(replica);
    EXPECT_EQ(seen.error, error_code::none);
    EXPECT_EQ(seen.diverging_epoch, leader_epoch_t{0});
    EXPECT_EQ(seen.diverging_end_offset, 0);
    EXPECT_EQ(p_->follower_states()[0].log_end_offset, before[0].log_end_offset);
    EXPECT_EQ(p_->offsets()->high_watermark, 0);
    // Once it fetches in the leader's epoch, its position counts.
    replica.last_fetched_epoch = leader_epoch_t{1};
    seen = p_->read(replica);
    EXPECT_EQ(seen.error, error_code::none);
    EXPECT_EQ(seen.high_watermark, 4);
}

TEST_F(replica_test, the_low_watermark_waits_for_every_replicas_log_start) {
    two_replicas();
    std::vector<uint8_t> b = batch_of(4);
    ASSERT_TRUE(test::append_batch(*p_, b).ok());
    ASSERT_EQ(p_->update_follower_fetch_state(second_id, 4, 1, 0), error_code::none);
    std::string message;
    ASSERT_EQ(p_->delete_records(2, message).first, error_code::none);
    int64_t low = -1;
    ASSERT_EQ(p_->low_watermark(low), error_code::none);
    EXPECT_EQ(low, 0);  // the follower still starts at 0

    bool woken = false;
    p_->watch(partition_event::low_watermark, [&] { woken = true; });
    // A fetch that does not move the follower's log start wakes nothing.
    ASSERT_EQ(p_->update_follower_fetch_state(second_id, 4, 2, 0), error_code::none);
    EXPECT_FALSE(woken);
    ASSERT_EQ(p_->update_follower_fetch_state(second_id, 4, 3, 2), error_code::none);
    EXPECT_TRUE(woken);
    ASSERT_EQ(p_->low_watermark(low), error_code::none);
    EXPECT_EQ(low, 2);

    ASSERT_FALSE(p_->stop());
    EXPECT_NE(p_->low_watermark(low), error_code::none);
}

TEST_F(replica_test, delete_records_answers_once_the_follower_reports_the_new_log_start) {
    two_replicas();
    std::vector<uint8_t> b = batch_of(4);
    ASSERT_TRUE(test::append_batch(*p_, b).ok());
    ASSERT_EQ(p_->update_follower_fetch_state(second_id, 4, 1, 0), error_code::none);

    // The follower fetches at 50 ms with its old log start, at 150 ms with the new one.
    const deleted d = delete_records(
        3, 5000,
        {{std::chrono::milliseconds(50),
          [&] {
              ASSERT_EQ(p_->update_follower_fetch_state(second_id, 4, 50, 0), error_code::none);
          }},
         {std::chrono::milliseconds(150), [&] {
              ASSERT_EQ(p_->update_follower_fetch_state(second_id, 4, 150, 3), error_code::none);
          }}});
    std::cout << "DeleteRecords answered after "
              << std::chrono::duration_cast<std::chrono::milliseconds>(d.took).count()
              << " ms (the follower reported the new log start at 150 ms)\n";
    EXPECT_EQ(d.answer.error_code, 0);
    EXPECT_EQ(d.answer.low_watermark, 3);
    EXPECT_GE(d.took, std::chrono::milliseconds(140));

    // A follower that never catches up: REQUEST_TIMED_OUT at the deadline.
    const deleted late = delete_records(4, 200);
    EXPECT_EQ(late.answer.error_code, static_cast<int16_t>(error_code::request_timed_out));
    EXPECT_EQ(late.answer.low_watermark, -1);
    EXPECT_GE(late.took, std::chrono::milliseconds(190));
    EXPECT_EQ(p_->offsets()->log_start_offset,
              4);  // the leader's log moved regardless, as in Kafka
}

TEST_F(replica_test, acks_all_completes_only_when_the_second_replica_fetches_past_the_batch) {
    two_replicas();
    bool fetched = false;
    const produced r = produce(
        -1, 10000, batch_of(3),
        {{std::chrono::milliseconds(50),
          [&] {
              // Not past the batch yet: the produce keeps waiting.
              ASSERT_EQ(p_->update_follower_fetch_state(second_id, 2, 50), error_code::none);
          }},
         {std::chrono::milliseconds(150), [&] {
              fetched = true;
              ASSERT_EQ(p_->update_follower_fetch_state(second_id, 3, 150), error_code::none);
          }}});
    EXPECT_TRUE(fetched);
    EXPECT_EQ(r.answer.error_code, 0);
    EXPECT_EQ(r.answer.base_offset, 0);
    EXPECT_GE(r.took, std::chrono::milliseconds(140));
    EXPECT_LT(r.took, std::chrono::seconds(5));
    EXPECT_EQ(p_->offsets()->high_watermark, 3);
}

TEST_F(replica_test, acks_all_times_out_when_the_second_replica_never_fetches) {
    two_replicas();
    const produced r = produce(-1, 200, batch_of(1));
    EXPECT_EQ(r.answer.error_code, static_cast<int16_t>(error_code::request_timed_out));
    EXPECT_GE(r.took, std::chrono::milliseconds(190));
    EXPECT_LT(r.took, std::chrono::seconds(5));
    // The batch is in the leader's log all the same, as in Kafka.
    EXPECT_EQ(p_->offsets()->log_end_offset, 1);
    EXPECT_EQ(p_->offsets()->high_watermark, 0);
}

TEST_F(replica_test, acks_one_answers_after_the_leader_append) {
    two_replicas();
    const produced r = produce(1, 10000, batch_of(2));
    EXPECT_EQ(r.answer.error_code, 0);
    EXPECT_LT(r.took, std::chrono::seconds(1));
    EXPECT_EQ(p_->offsets()->high_watermark, 0);
}

TEST_F(replica_test, min_insync_replicas_is_checked_before_and_after_the_append) {
    core_->store().shutdown();
    core_.reset();
    start("data-min-isr", {{"min.insync.replicas", "2"}});
    two_replicas(/*isr_alone=*/true);
    produced r = produce(-1, 1000, batch_of(1));
    EXPECT_EQ(r.answer.error_code, static_cast<int16_t>(error_code::not_enough_replicas));
    EXPECT_EQ(p_->offsets()->log_end_offset, 0);  // refused before appending

    two_replicas(/*isr_alone=*/false, leader_epoch_t{2});
    r = produce(-1, 10000, batch_of(1), {{std::chrono::milliseconds(50), [&] {
                                              // The second replica falls out of the in-sync set
                                              // while the produce waits.
                                              two_replicas(/*isr_alone=*/true, leader_epoch_t{3});
                                          }}});
    EXPECT_EQ(r.answer.error_code,
              static_cast<int16_t>(error_code::not_enough_replicas_after_append));
}

TEST_F(replica_test, the_callback_form_completes_on_replication_and_on_timeout) {
    two_replicas();
    std::vector<uint8_t> b = batch_of(2);
    ASSERT_TRUE(test::append_batch(*p_, b).ok());
    net::io_context io;
    std::optional<error_code> first;
    std::optional<error_code> second;
    when_replicated(io.get_executor(), p_, 2, std::chrono::milliseconds(10000),
                    [&](error_code e) { first = e; });
    when_replicated(io.get_executor(), p_, 3, std::chrono::milliseconds(100),
                    [&](error_code e) { second = e; });
    net::steady_timer fetch(io, std::chrono::milliseconds(30));
    fetch.async_wait([&](const boost::system::error_code&) {
        EXPECT_FALSE(first.has_value());
        ASSERT_EQ(p_->update_follower_fetch_state(second_id, 2, 30), error_code::none);
    });
    const auto start = steady::now();
    io.run();
    EXPECT_LT(steady::now() - start, std::chrono::seconds(5));
    EXPECT_EQ(first, error_code::none);
    EXPECT_EQ(second, error_code::request_timed_out);
}

TEST_F(replica_test, a_follower_appends_with_the_leaders_offsets_and_producer_state) {
    partition_assignment a;
    a.leader_epoch = leader_epoch_t{4};
    a.replicas = {second_id, self_id};
    a.isr = {second_id, self_id};
    a.leader = second_id;
    ASSERT_FALSE(p_->become_follower(a));
    EXPECT_EQ(p_->role(), replica_role::follower);
    EXPECT_EQ(p_->leader_id(), second_id);

    // A leader's batch: offsets 0-2, idempotent producer 42.
    std::vector<uint8_t> b = batch_of(3, 42, 0);
    auto appended = p_->append_as_follower(b, 2);
    ASSERT_TRUE(appended.has_value()) << appended.error().message();
    EXPECT_EQ(p_->offsets()->log_end_offset, 3);
    EXPECT_EQ(p_->offsets()->high_watermark, 2);  // the leader's, bounded by the log end
    const auto producers = p_->active_producers(0, core_->config());
    ASSERT_TRUE(producers.has_value());
    ASSERT_EQ(producers.value().count(producer_id_t{42}), 1U);
    EXPECT_EQ(producers.value().at(producer_id_t{42}).last_sequence(), 2);

    // A follower does not serve consumers or take produces.
    partition_read_request consumer;
    consumer.max_bytes = 1 << 20;
    EXPECT_EQ(p_->read(consumer).error, error_code::not_leader_or_follower);
    std::vector<uint8_t> more = batch_of(1);
    EXPECT_EQ(test::append_batch(*p_, more).error, error_code::not_leader_or_follower);

    // Becoming leader again keeps the producer state: a retry of the follower's batch is a
    // duplicate.
    two_replicas(false, leader_epoch_t{5});
    std::vector<uint8_t> retry = batch_of(3, 42, 0);
    const leader_append_result dup = test::append_batch(*p_, retry);
    EXPECT_TRUE(dup.ok());
    EXPECT_FALSE(dup.appended);
    EXPECT_EQ(dup.base_offset, 0);
}

TEST_F(replica_test, stopping_a_replica_wakes_its_waiters_and_refuses_reads) {
    bool woken = false;
    p_->watch(partition_event::high_watermark, [&] { woken = true; });
    ASSERT_FALSE(p_->stop());
    EXPECT_TRUE(woken);
    EXPECT_EQ(p_->role(), replica_role::none);
    partition_read_request consumer;
    consumer.max_bytes = 1 << 20;
    EXPECT_EQ(p_->read(consumer).error, error_code::not_leader_or_follower);
}

}  // namespace
}  // namespace broker::server
