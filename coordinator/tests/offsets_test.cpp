// OffsetCommit / OffsetFetch / OffsetDelete, retention, and persistence in __consumer_offsets.
#include <gtest/gtest.h>

#include "coordinator/records.h"
#include "coordinator/tests/coordinator_fixture.h"

namespace broker::server::coordinator::testing {
namespace {

using std::chrono::milliseconds;
constexpr int64_t day_ms = 24LL * 60 * 60 * 1000;

class offsets_test : public coordinator_test {};

TEST_F(offsets_test, member_commits_with_generation_checks) {
    auto [leader, follower] = stable_group_of_two("g");
    auto ok = commit("g", 1, leader, offsets_for("topic", {{0, 10}, {1, 20}}, "meta"));
    ASSERT_TRUE(ok->has_value());
    EXPECT_EQ(single_error(**ok), error_code::none);
    ASSERT_EQ((*ok)->topics.at(0).partitions.size(), 2u);
    EXPECT_EQ((*ok)->topics.at(0).partitions[1].partition_index, 1);
    EXPECT_EQ(fetched("g", "topic", 0), 10);
    EXPECT_EQ(fetched("g", "topic", 1), 20);

    EXPECT_EQ(single_error(**commit("g", 0, leader, offsets_for("topic", {{0, 11}}))),
              error_code::illegal_generation);
    EXPECT_EQ(single_error(**commit("g", 1, "stranger", offsets_for("topic", {{0, 11}}))),
              error_code::unknown_member_id);
    // A group with members accepts commits from members only.
    EXPECT_EQ(single_error(**commit("g", -1, "", offsets_for("topic", {{0, 11}}))),
              error_code::unknown_member_id);
    // No generation for a group that does not exist.
    EXPECT_EQ(single_error(**commit("other", 3, "m", offsets_for("topic", {{0, 1}}))),
              error_code::illegal_generation);
    EXPECT_EQ(fetched("g", "topic", 0), 10);

    // During CompletingRebalance the member must finish the rebalance first.
    auto rejoin_l = join(join_request("g", leader, "client-a"));
    auto rejoin_f = join(join_request("g", follower, "client-b"));
    ASSERT_TRUE(rejoin_l->has_value());
    EXPECT_EQ(single_error(**commit("g", 2, follower, offsets_for("topic", {{0, 12}}))),
              error_code::rebalance_in_progress);
}

TEST_F(offsets_test, commits_during_preparing_rebalance_are_accepted) {
    auto [leader, follower] = stable_group_of_two("g");
    join(join_request("g", leader, "client-a"));  // rebalance starts
    EXPECT_EQ(state_of("g"), "PreparingRebalance");
    EXPECT_EQ(single_error(**commit("g", 1, follower, offsets_for("topic", {{0, 5}}))),
              error_code::none);
    EXPECT_EQ(fetched("g", "topic", 0), 5);
}

TEST_F(offsets_test, simple_consumer_commits_create_an_empty_group) {
    auto r = commit("simple", -1, "", offsets_for("t", {{3, 42}}, std::nullopt));
    ASSERT_TRUE(r->has_value());
    EXPECT_EQ(single_error(**r), error_code::none);
    EXPECT_EQ(state_of("simple"), "Empty");
    offset_fetch_group g{"simple", std::vector<offset_fetch_topic>{{"t", {3, 4}}}};
    auto f = coordinator->fetch_offsets(g, false);
    ASSERT_EQ(f.topics.size(), 1u);
    EXPECT_EQ(f.topics[0].partitions[0].committed_offset, 42);
    EXPECT_EQ(f.topics[0].partitions[0].metadata, "");          // null metadata is stored as ""
    EXPECT_EQ(f.topics[0].partitions[1].committed_offset, -1);  // never committed: -1, no error
    EXPECT_EQ(f.topics[0].partitions[1].error, error_code::none);

    // Empty groups accept generation -1 commits even with a member id (admin clients do so).
    EXPECT_EQ(single_error(**commit("simple", -1, "admin", offsets_for("t", {{3, 43}}))),
              error_code::none);
    EXPECT_EQ(fetched("simple", "t", 3), 43);

    // The record written is an offset commit key v1 / value v3.
    auto records = log.all_records(coordinator->partition_for("simple"));
    ASSERT_EQ(records.size(), 2u);
    EXPECT_EQ(records[1].key, encode_offset_commit_key({"simple", "t", 3}));
    auto value = decode_offset_commit_value(*records[1].value);
    ASSERT_TRUE(value);
    EXPECT_EQ(value->offset, 43);
    EXPECT_EQ(value->commit_timestamp, sched.now_ms());
    EXPECT_EQ((*records[1].value)[1], 3);
}

TEST_F(offsets_test, commit_answers_after_the_append_and_maps_its_errors) {
    log.hold = true;
    auto r = commit("g", -1, "", offsets_for("t", {{0, 1}}));
    EXPECT_FALSE(r->has_value());
    // While the write is in flight a stable read says the offset is unstable.
    offset_fetch_group g{"g", std::vector<offset_fetch_topic>{{"t", {0}}}};
    EXPECT_EQ(coordinator->fetch_offsets(g, true).topics[0].partitions[0].error,
              error_code::unstable_offset_commit);
    EXPECT_EQ(coordinator->fetch_offsets(g, false).topics[0].partitions[0].committed_offset, -1);
    log.release_all();
    ASSERT_TRUE(r->has_value());
    EXPECT_EQ(single_error(**r), error_code::none);
    EXPECT_EQ(coordinator->fetch_offsets(g, true).topics[0].partitions[0].committed_offset, 1);

    struct mapping {
        error_code log_error;
        error_code expected;
    };
    for (auto [log_error, expected] :
         {mapping{error_code::not_leader_or_follower, error_code::not_coordinator},
          mapping{error_code::kafka_storage_error, error_code::not_coordinator},
          mapping{error_code::not_enough_replicas, error_code::coordinator_not_available},
          mapping{error_code::unknown_topic_or_partition, error_code::coordinator_not_available},
          mapping{error_code::record_list_too_large, error_code::invalid_commit_offset_size},
          mapping{error_code::request_timed_out, error_code::request_timed_out}}) {
        auto failed = commit("g", -1, "", offsets_for("t", {{0, 99}}));
        log.release_all(log_error);
        ASSERT_TRUE(failed->has_value());
        EXPECT_EQ(single_error(**failed), expected) << error_name(log_error);
        EXPECT_EQ(coordinator->fetch_offsets(g, true).topics[0].partitions[0].committed_offset, 1);
        EXPECT_EQ(coordinator->fetch_offsets(g, true).topics[0].partitions[0].error,
                  error_code::none);
    }
}

TEST_F(offsets_test, metadata_size_limit_counts_utf16_units) {
    std::string ascii_ok(4096, 'x');
    std::string ascii_too_long(4097, 'x');
    std::string two_byte_ok;
    for (int i = 0; i < 4096; ++i) {
        two_byte_ok += "\xc3\xa9";  // 8192 bytes, 4096 Java chars
    }
    std::vector<offset_commit_topic> topics{{"t", {}}};
    for (auto [p, m] :
         {std::pair{0, ascii_ok}, std::pair{1, ascii_too_long}, std::pair{2, two_byte_ok}}) {
        offset_commit_partition part;
        part.partition_index = p;
        part.committed_offset = 100 + p;
        part.committed_metadata = m;
        topics[0].partitions.push_back(part);
    }
    auto r = commit("g", -1, "", topics);
    ASSERT_TRUE(r->has_value());
    EXPECT_EQ((*r)->topics[0].partitions[0].error, error_code::none);
    EXPECT_EQ((*r)->topics[0].partitions[1].error, error_code::offset_metadata_too_large);
    EXPECT_EQ((*r)->topics[0].partitions[2].error, error_code::none);
    EXPECT_EQ(fetched("g", "t", 0), 100);
    EXPECT_EQ(fetched("g", "t", 1), -1);
    EXPECT_EQ(fetched("g", "t", 2), 102);

    auto all_bad = commit("g", -1, "", offsets_for("t", {{5, 1}}, ascii_too_long));
    EXPECT_EQ(single_error(**all_bad), error_code::offset_metadata_too_large);
}

TEST_F(offsets_test, fetch_all_partitions_and_several_groups) {
    commit("a", -1, "", offsets_for("zeta", {{1, 11}, {0, 10}}));
    commit("a", -1, "", offsets_for("alpha", {{2, 22}}));
    auto all = coordinator->fetch_offsets(offset_fetch_group{"a", std::nullopt}, false);
    ASSERT_EQ(all.topics.size(), 2u);
    EXPECT_EQ(all.topics[0].name, "alpha");
    EXPECT_EQ(all.topics[1].name, "zeta");
    ASSERT_EQ(all.topics[1].partitions.size(), 2u);
    EXPECT_EQ(all.topics[1].partitions[0].partition_index, 0);
    EXPECT_EQ(all.topics[1].partitions[0].committed_offset, 10);

    std::vector<offset_fetch_group> groups{
        {"a", std::vector<offset_fetch_topic>{{"alpha", {2}}}},
        {"missing", std::nullopt},
        {"missing", std::vector<offset_fetch_topic>{{"alpha", {2}}}}};
    auto results = coordinator->fetch_offsets(groups, true);
    ASSERT_EQ(results.size(), 3u);
    EXPECT_EQ(results[0].topics[0].partitions[0].committed_offset, 22);
    EXPECT_TRUE(results[1].topics.empty());
    EXPECT_EQ(results[2].topics[0].partitions[0].committed_offset, -1);
    EXPECT_EQ(results[2].group_id, "missing");
}

TEST_F(offsets_test, leader_epoch_and_v1_commit_timestamp_are_kept) {
    offset_commit_partition p;
    p.partition_index = 0;
    p.committed_offset = 7;
    p.committed_leader_epoch = 4;
    p.commit_timestamp = 12345;
    commit("g", -1, "", {{"t", {p}}});
    offset_fetch_group g{"g", std::vector<offset_fetch_topic>{{"t", {0}}}};
    auto f = coordinator->fetch_offsets(g, false);
    EXPECT_EQ(f.topics[0].partitions[0].committed_leader_epoch, 4);
    auto value =
        decode_offset_commit_value(*log.all_records(coordinator->partition_for("g")).back().value);
    EXPECT_EQ(value->commit_timestamp, 12345);
    EXPECT_EQ(value->leader_epoch, 4);
}

TEST_F(offsets_test, simple_group_offsets_expire_after_retention_from_the_commit) {
    commit("simple", -1, "", offsets_for("t", {{0, 1}}));
    sched.advance(milliseconds(7 * day_ms - 1));
    EXPECT_EQ(coordinator->expire_offsets(), 0u);
    EXPECT_EQ(fetched("simple", "t", 0), 1);
    sched.advance(milliseconds(1));
    EXPECT_EQ(coordinator->expire_offsets(), 1u);
    EXPECT_EQ(fetched("simple", "t", 0), -1);
    EXPECT_EQ(state_of("simple"), "Dead");  // nothing left: the group is gone
    auto records = log.all_records(coordinator->partition_for("simple"));
    ASSERT_EQ(records.size(),
              2u);  // commit, then the offset tombstone; no group record ever existed
    EXPECT_EQ(records[1].key, encode_offset_commit_key({"simple", "t", 0}));
    EXPECT_FALSE(records[1].value.has_value());
}

TEST_F(offsets_test, explicit_retention_time_sets_an_expire_timestamp) {
    commit("simple", -1, "", offsets_for("t", {{0, 1}}), /*retention_ms=*/60000);
    auto value = decode_offset_commit_value(
        *log.all_records(coordinator->partition_for("simple")).back().value);
    ASSERT_TRUE(value);
    EXPECT_EQ(value->expire_timestamp, sched.now_ms() + 60000);  // written as value v1
    sched.advance(milliseconds(59999));
    EXPECT_EQ(coordinator->expire_offsets(), 0u);
    sched.advance(milliseconds(1));
    EXPECT_EQ(coordinator->expire_offsets(), 1u);
}

TEST_F(offsets_test, consumer_group_offsets_expire_from_when_the_group_became_empty) {
    // Sessions long enough to stay Stable across days of simulated time.
    config.group_max_session_timeout_ms = INT32_MAX;
    make_coordinator();
    auto [leader, follower] = stable_group_of_two("g", static_cast<int32_t>(10 * day_ms));
    commit("g", 1, leader, offsets_for("topic", {{0, 5}}));
    commit("g", 1, leader, offsets_for("unsubscribed", {{0, 6}}));
    // Stable: offsets of subscribed topics never expire; others follow their commit time.
    for (int i = 0; i < 8; ++i) {
        sched.advance(milliseconds(day_ms));
        EXPECT_EQ(heartbeat("g", 1, leader), error_code::none);
        EXPECT_EQ(heartbeat("g", 1, follower), error_code::none);
        coordinator->expire_offsets();
    }
    EXPECT_EQ(state_of("g"), "Stable");
    EXPECT_EQ(fetched("g", "topic", 0), 5);
    EXPECT_EQ(fetched("g", "unsubscribed", 0), -1);

    coordinator->leave_group(
        {"g", {{leader, std::nullopt, std::nullopt}, {follower, std::nullopt, std::nullopt}}});
    ASSERT_EQ(state_of("g"), "Empty");
    sched.advance(milliseconds(7 * day_ms - 1));
    coordinator->expire_offsets();
    EXPECT_EQ(fetched("g", "topic", 0),
              5);  // the commit is 8 days old, but the group was empty < 7 days
    sched.advance(milliseconds(1));
    coordinator->expire_offsets();
    EXPECT_EQ(fetched("g", "topic", 0), -1);
    EXPECT_EQ(state_of("g"), "Dead");
    auto records = log.all_records(coordinator->partition_for("g"));
    EXPECT_EQ(records.back().key, encode_group_metadata_key({"g"}));  // group tombstone
    EXPECT_FALSE(records.back().value.has_value());
}

TEST_F(offsets_test, periodic_expiry_runs_after_start) {
    coordinator->start();
    commit("simple", -1, "", offsets_for("t", {{0, 1}}));
    sched.advance(milliseconds(7 * day_ms + config.offsets_retention_check_interval_ms));
    EXPECT_EQ(fetched("simple", "t", 0), -1);
}

TEST_F(offsets_test, offset_delete) {
    auto [leader, follower] = stable_group_of_two("g");
    commit("g", 1, leader, offsets_for("topic", {{0, 5}}));
    commit("g", 1, leader, offsets_for("other", {{0, 6}, {1, 7}}));
    auto r = coordinator->delete_offsets({"g", {{"topic", {0}}, {"other", {1}}}});
    EXPECT_EQ(r.error, error_code::none);
    ASSERT_EQ(r.topics.size(), 2u);
    EXPECT_EQ(r.topics[0].partitions[0].error, error_code::group_subscribed_to_topic);
    EXPECT_EQ(r.topics[1].partitions[0].error, error_code::none);
    EXPECT_EQ(fetched("g", "topic", 0), 5);
    EXPECT_EQ(fetched("g", "other", 1), -1);
    EXPECT_EQ(fetched("g", "other", 0), 6);
    auto records = log.all_records(coordinator->partition_for("g"));
    EXPECT_EQ(records.back().key, encode_offset_commit_key({"g", "other", 1}));
    EXPECT_FALSE(records.back().value.has_value());

    EXPECT_EQ(coordinator->delete_offsets({"missing", {{"t", {0}}}}).error,
              error_code::group_id_not_found);

    // An empty group may lose every offset, and then the group itself.
    coordinator->leave_group(
        {"g", {{leader, std::nullopt, std::nullopt}, {follower, std::nullopt, std::nullopt}}});
    auto all = coordinator->delete_offsets({"g", {{"topic", {0}}, {"other", {0}}}});
    EXPECT_EQ(all.topics[0].partitions[0].error, error_code::none);
    EXPECT_EQ(state_of("g"), "Dead");
}

}  // namespace
}  // namespace broker::server::coordinator::testing
