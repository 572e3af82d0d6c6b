// DescribeGroups / ListGroups / DeleteGroups, partition ownership and loading, and the
// write-then-load round trip through __consumer_offsets.
#include <gtest/gtest.h>

#include "coordinator/records.h"
#include "coordinator/tests/coordinator_fixture.h"

namespace broker::server::coordinator::testing {
namespace {

using std::chrono::milliseconds;

class admin_test : public coordinator_test {};

TEST_F(admin_test, describe_groups) {
    auto [leader, follower] = stable_group_of_two("g");
    auto a = join(join_request("h", "", "client-h"));  // PreparingRebalance until run_due
    std::vector<std::string> ids{"g", "h", "missing"};
    auto d = coordinator->describe_groups(ids);
    ASSERT_EQ(d.size(), 3u);
    EXPECT_EQ(d[0].error, error_code::none);
    EXPECT_EQ(d[0].group_state, "Stable");
    EXPECT_EQ(d[0].protocol_type, "consumer");
    EXPECT_EQ(d[0].protocol_data, "range");
    ASSERT_EQ(d[0].members.size(), 2u);
    EXPECT_EQ(d[0].members[0].member_id, leader);
    EXPECT_EQ(d[0].members[0].client_id, "client-a");
    EXPECT_EQ(d[0].members[0].client_host, "/127.0.0.1");
    EXPECT_EQ(d[0].members[0].member_metadata, subscription({"topic"}));
    EXPECT_EQ(d[0].members[1].member_assignment, bytes{2});

    EXPECT_EQ(d[1].group_state, "PreparingRebalance");
    EXPECT_EQ(d[1].protocol_data, "");  // only Stable groups show protocol and metadata
    ASSERT_EQ(d[1].members.size(), 1u);
    EXPECT_TRUE(d[1].members[0].member_metadata.empty());

    EXPECT_EQ(d[2].error, error_code::none);  // unknown groups are Dead, without error
    EXPECT_EQ(d[2].group_state, "Dead");
    EXPECT_TRUE(d[2].members.empty());
}

TEST_F(admin_test, list_groups_with_filters) {
    stable_group_of_two("stable-group");
    join(join_request("preparing-group", "", "x"));
    commit("simple-group", -1, "", offsets_for("t", {{0, 1}}));
    std::vector<std::string> none;
    auto all = coordinator->list_groups(none, none);
    EXPECT_EQ(all.error, error_code::none);
    ASSERT_EQ(all.groups.size(), 3u);
    EXPECT_EQ(all.groups[0].group_id, "preparing-group");
    EXPECT_EQ(all.groups[0].group_state, "PreparingRebalance");
    EXPECT_EQ(all.groups[1].group_id, "simple-group");
    EXPECT_EQ(all.groups[1].protocol_type, "");
    EXPECT_EQ(all.groups[1].group_state, "Empty");
    EXPECT_EQ(all.groups[2].protocol_type, "consumer");
    EXPECT_EQ(all.groups[2].group_type, "classic");

    std::vector<std::string> states{"stable", "EMPTY"};  // case-insensitive
    auto filtered = coordinator->list_groups(states, none);
    ASSERT_EQ(filtered.groups.size(), 2u);
    EXPECT_EQ(filtered.groups[0].group_id, "simple-group");
    EXPECT_EQ(filtered.groups[1].group_id, "stable-group");

    std::vector<std::string> consumer_type{"consumer"};
    EXPECT_TRUE(coordinator->list_groups(none, consumer_type).groups.empty());
    std::vector<std::string> classic_type{"Classic"};
    EXPECT_EQ(coordinator->list_groups(none, classic_type).groups.size(), 3u);
}

TEST_F(admin_test, delete_groups) {
    auto [leader, follower] = stable_group_of_two("active");
    commit("idle", -1, "", offsets_for("t", {{0, 1}, {1, 2}}));
    std::vector<std::string> ids{"active", "idle", "missing", "idle"};
    auto r = coordinator->delete_groups(ids);
    ASSERT_EQ(r.size(), 3u);  // duplicates collapse
    EXPECT_EQ(r[0].error, error_code::non_empty_group);
    EXPECT_EQ(r[1].error, error_code::none);
    EXPECT_EQ(r[2].error, error_code::group_id_not_found);
    EXPECT_EQ(state_of("idle"), "Dead");
    EXPECT_EQ(fetched("idle", "t", 0), -1);
    // Offset tombstones; no group tombstone since the group never had a generation.
    auto records = log.all_records(coordinator->partition_for("idle"));
    ASSERT_EQ(records.size(), 4u);  // two commits, two tombstones
    EXPECT_TRUE(records[1].value.has_value());
    EXPECT_FALSE(records[2].value.has_value());
    EXPECT_FALSE(records[3].value.has_value());

    // A consumer group that emptied is deleted with a group tombstone.
    coordinator->leave_group(
        {"active", {{leader, std::nullopt, std::nullopt}, {follower, std::nullopt, std::nullopt}}});
    std::vector<std::string> again{"active"};
    EXPECT_EQ(coordinator->delete_groups(again)[0].error, error_code::none);
    auto active_records = log.all_records(coordinator->partition_for("active"));
    EXPECT_EQ(active_records.back().key, encode_group_metadata_key({"active"}));
    EXPECT_FALSE(active_records.back().value.has_value());
}

TEST_F(admin_test, offset_delete_on_active_non_consumer_group) {
    auto r = join_request("connect-group", "", "w");
    r.protocol_type = "connect";
    join(r);
    sched.run_due();
    EXPECT_EQ(coordinator->delete_offsets({"connect-group", {{"t", {0}}}}).error,
              error_code::non_empty_group);
}

TEST_F(admin_test, not_coordinator_for_unowned_partitions) {
    const int32_t p = coordinator->partition_for("g");
    std::vector<int32_t> others;
    for (int32_t i = 0; i < config.offsets_topic_num_partitions; ++i) {
        if (i != p) {
            others.push_back(i);
        }
    }
    coordinator->set_owned_partitions(others);
    EXPECT_FALSE(coordinator->owns_partition(p));
    EXPECT_EQ((*join(join_request("g", "", "a")))->error, error_code::not_coordinator);
    EXPECT_EQ(heartbeat("g", 1, "m"), error_code::not_coordinator);
    EXPECT_EQ((*sync("g", 1, "m"))->error, error_code::not_coordinator);
    EXPECT_EQ(single_error(**commit("g", -1, "", offsets_for("t", {{0, 1}}))),
              error_code::not_coordinator);
    EXPECT_EQ(coordinator->fetch_offsets(offset_fetch_group{"g", std::nullopt}, false).error,
              error_code::not_coordinator);
    std::vector<std::string> ids{"g"};
    EXPECT_EQ(coordinator->describe_groups(ids)[0].error, error_code::not_coordinator);
    EXPECT_EQ(coordinator->delete_groups(ids)[0].error, error_code::not_coordinator);
    EXPECT_EQ(coordinator->leave_group({"g", {}}).error, error_code::not_coordinator);
}

TEST_F(admin_test, requests_during_loading) {
    const int32_t p = coordinator->partition_for("g");
    coordinator->begin_loading(p);
    EXPECT_TRUE(coordinator->is_loading(p));
    EXPECT_EQ((*join(join_request("g", "", "a")))->error, error_code::coordinator_load_in_progress);
    EXPECT_EQ(heartbeat("g", 1, "m"), error_code::none);  // answered blindly while loading
    EXPECT_EQ((*sync("g", 1, "m"))->error, error_code::rebalance_in_progress);
    EXPECT_EQ(single_error(**commit("g", -1, "", offsets_for("t", {{0, 1}}))),
              error_code::coordinator_load_in_progress);
    std::vector<std::string> none;
    EXPECT_EQ(coordinator->list_groups(none, none).error, error_code::coordinator_load_in_progress);
    coordinator->finish_loading(p);
    EXPECT_TRUE(coordinator->owns_partition(p));
    EXPECT_EQ(coordinator->list_groups(none, none).error, error_code::none);
    EXPECT_EQ(single_error(**commit("g", -1, "", offsets_for("t", {{0, 1}}))), error_code::none);
}

TEST_F(admin_test, unloading_answers_waiting_requests_with_not_coordinator) {
    auto [leader, follower] = stable_group_of_two("g");
    auto rejoin = join(join_request("g", leader, "client-a"));
    EXPECT_FALSE(rejoin->has_value());
    coordinator->unload_partition(coordinator->partition_for("g"));
    ASSERT_TRUE(rejoin->has_value());
    EXPECT_EQ((*rejoin)->error, error_code::not_coordinator);
    EXPECT_EQ(heartbeat("g", 1, follower), error_code::not_coordinator);
    sched.advance(milliseconds(60000));  // no timer of the unloaded group may fire
    EXPECT_EQ(log.appends, 1);
}

TEST_F(admin_test, shutdown_answers_waiting_requests_and_refuses_new_ones) {
    auto a = join(join_request("g", "", "a"));
    auto b = join(join_request("g", "", "b"));
    sched.run_due();
    auto sb = sync("g", 1, (*b)->member_id);
    coordinator->shutdown();
    ASSERT_TRUE(sb->has_value());
    EXPECT_EQ((*sb)->error, error_code::not_coordinator);
    EXPECT_EQ((*join(join_request("g", "", "c")))->error, error_code::coordinator_not_available);
    std::vector<std::string> none;
    EXPECT_EQ(coordinator->list_groups(none, none).error, error_code::coordinator_not_available);
}

TEST_F(admin_test, persistence_round_trip) {
    auto [leader, follower] = stable_group_of_two("g");
    commit("g", 1, leader, offsets_for("topic", {{0, 100}, {1, 200}}, "m"));
    commit("g", 1, follower, offsets_for("topic", {{1, 201}}));
    commit("simple", -1, "", offsets_for("t", {{0, 7}}), /*retention_ms=*/3600000);
    commit("deleted", -1, "", offsets_for("t", {{0, 1}}));
    std::vector<std::string> to_delete{"deleted"};
    coordinator->delete_groups(to_delete);
    coordinator->delete_offsets({"g", {{"not-subscribed", {0}}}});

    // A second coordinator (another broker) loads the partitions and must see the same state.
    coordinator_config config2 = config;
    manual_scheduler sched2(sched.now_ms());
    memory_log log2;
    group_coordinator other(config2, sched2, log2);
    for (int32_t p = 0; p < config.offsets_topic_num_partitions; ++p) {
        other.begin_loading(p);
        auto records = log.all_records(p);
        auto loaded = other.load_partition(p, records);
        EXPECT_EQ(loaded.error, error_code::none);
        EXPECT_EQ(loaded.skipped, 0u);
        EXPECT_EQ(loaded.applied, records.size());
        other.finish_loading(p);
    }
    std::vector<std::string> ids{"g", "simple", "deleted"};
    auto before = coordinator->describe_groups(ids);
    auto after = other.describe_groups(ids);
    ASSERT_EQ(after.size(), 3u);
    EXPECT_EQ(after[0].group_state, "Stable");  // members come back; their sessions restart
    EXPECT_EQ(after[0].protocol_type, before[0].protocol_type);
    EXPECT_EQ(after[0].protocol_data, before[0].protocol_data);
    ASSERT_EQ(after[0].members.size(), 2u);
    for (std::size_t i = 0; i < 2; ++i) {
        EXPECT_EQ(after[0].members[i].member_id, before[0].members[i].member_id);
        EXPECT_EQ(after[0].members[i].client_id, before[0].members[i].client_id);
        EXPECT_EQ(after[0].members[i].client_host, before[0].members[i].client_host);
        EXPECT_EQ(after[0].members[i].member_metadata, before[0].members[i].member_metadata);
        EXPECT_EQ(after[0].members[i].member_assignment, before[0].members[i].member_assignment);
    }
    EXPECT_EQ(after[1].group_state, "Empty");
    EXPECT_EQ(after[2].group_state, "Dead");

    for (const auto& group : {"g", "simple"}) {
        auto a = coordinator->fetch_offsets(offset_fetch_group{group, std::nullopt}, true);
        auto b = other.fetch_offsets(offset_fetch_group{group, std::nullopt}, true);
        ASSERT_EQ(a.topics.size(), b.topics.size()) << group;
        for (std::size_t t = 0; t < a.topics.size(); ++t) {
            EXPECT_EQ(a.topics[t].name, b.topics[t].name);
            ASSERT_EQ(a.topics[t].partitions.size(), b.topics[t].partitions.size());
            for (std::size_t p = 0; p < a.topics[t].partitions.size(); ++p) {
                EXPECT_EQ(a.topics[t].partitions[p].committed_offset,
                          b.topics[t].partitions[p].committed_offset);
                EXPECT_EQ(a.topics[t].partitions[p].metadata, b.topics[t].partitions[p].metadata);
            }
        }
    }
    EXPECT_EQ(other.fetch_offsets(offset_fetch_group{"deleted", std::nullopt}, false).topics.size(),
              0u);

    // The restored members keep their generation and leader...
    EXPECT_EQ(other.heartbeat({"g", 1, leader, std::nullopt}), error_code::none);
    auto rejoin = std::make_shared<std::optional<join_group_result>>();
    auto follower_join = join_request("g", follower, "client-b");
    other.join_group(follower_join, [rejoin](join_group_result r) { *rejoin = std::move(r); });
    ASSERT_TRUE(rejoin->has_value());
    EXPECT_EQ((*rejoin)->generation_id, 1);
    EXPECT_EQ((*rejoin)->leader, leader);
    // ...and a member that stays silent is expired by its restarted session timer.
    sched2.advance(milliseconds(5000));
    EXPECT_EQ(other.heartbeat({"g", 1, leader, std::nullopt}), error_code::none);
    sched2.advance(milliseconds(5000));
    EXPECT_EQ(other.heartbeat({"g", 1, leader, std::nullopt}), error_code::rebalance_in_progress);
    // The explicit expire timestamp survived too.
    sched2.advance(milliseconds(3600000));
    other.expire_offsets();
    EXPECT_EQ(other.fetch_offsets(offset_fetch_group{"simple", std::nullopt}, false).topics.size(),
              0u);
}

TEST_F(admin_test, loaded_group_over_capacity_rebalances) {
    auto [leader, follower] = stable_group_of_two("g");
    const int32_t p = coordinator->partition_for("g");
    coordinator_config smaller = config;
    smaller.group_max_size = 1;  // lowered since the group formed
    manual_scheduler sched2(sched.now_ms());
    memory_log log2;
    group_coordinator other(smaller, sched2, log2);
    other.begin_loading(p);
    auto records = log.all_records(p);
    other.load_partition(p, records);
    other.finish_loading(p);
    std::vector<std::string> ids{"g"};
    EXPECT_EQ(other.describe_groups(ids)[0].group_state, "PreparingRebalance");
    EXPECT_EQ(other.heartbeat({"g", 1, follower, std::nullopt}), error_code::rebalance_in_progress);
}

TEST_F(admin_test, loading_skips_unknown_and_malformed_records_and_applies_tombstones) {
    const int32_t p = coordinator->partition_for("g");
    offset_commit_value v{5, -1, "", 1, -1};
    std::vector<offsets_record> records{
        {encode_offset_commit_key({"g", "t", 0}, 0),
         encode_offset_commit_value(v, 0)},  // key v0, value v0
        {encode_offset_commit_key({"g", "t", 1}), encode_offset_commit_value(v, 2)},
        {encode_offset_commit_key({"g", "t", 1}), std::nullopt},    // tombstone
        {bytes{0, 9, 1, 2}, bytes{1}},                              // unknown key version
        {encode_offset_commit_key({"g", "t", 2}), bytes{0, 3, 1}},  // truncated value
        {bytes{0}, std::nullopt},                                   // truncated key
        {encode_group_metadata_key({"gone"}),
         encode_group_metadata_value({"consumer", 2, "range", std::nullopt, -1, {}}, 1)},
        {encode_group_metadata_key({"gone"}), std::nullopt},
    };
    coordinator->begin_loading(p);
    auto r = coordinator->load_partition(p, records);
    EXPECT_EQ(r.applied, 5u);
    EXPECT_EQ(r.skipped, 3u);
    coordinator->finish_loading(p);
    EXPECT_EQ(fetched("g", "t", 0), 5);
    EXPECT_EQ(fetched("g", "t", 1), -1);
    EXPECT_EQ(fetched("g", "t", 2), -1);
    if (coordinator->partition_for("gone") == p) {
        EXPECT_EQ(state_of("gone"), "Dead");
    }
    EXPECT_EQ(coordinator->load_partition(p, records).error, error_code::not_coordinator);
}

}  // namespace
}  // namespace broker::server::coordinator::testing
