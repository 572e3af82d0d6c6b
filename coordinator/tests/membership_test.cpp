// JoinGroup / SyncGroup / Heartbeat / LeaveGroup and the rebalance timers.
#include <gtest/gtest.h>

#include "coordinator/records.h"
#include "coordinator/tests/coordinator_fixture.h"

namespace broker::server::coordinator::testing {
namespace {

using std::chrono::milliseconds;

class membership_test : public coordinator_test {};

TEST_F(membership_test, two_members_join_in_one_rebalance) {
    // JoinGroup v7: each member first gets MEMBER_ID_REQUIRED, then joins with its id.
    auto ida = (*join(join_request("g", "", "client-a", 7)))->member_id;
    auto idb = (*join(join_request("g", "", "client-b", 7)))->member_id;
    auto a = join(join_request("g", ida, "client-a", 7));
    auto b = join(join_request("g", idb, "client-b", 7));
    EXPECT_FALSE(a->has_value());  // waits for the rebalance
    EXPECT_EQ(state_of("g"), "PreparingRebalance");
    sched.run_due();
    ASSERT_TRUE(a->has_value());
    ASSERT_TRUE(b->has_value());
    const auto& ra = **a;
    const auto& rb = **b;
    EXPECT_EQ(ra.error, error_code::none);
    EXPECT_EQ(rb.error, error_code::none);
    EXPECT_EQ(ra.generation_id, 1);
    EXPECT_EQ(rb.generation_id, 1);
    EXPECT_EQ(ra.protocol_type, "consumer");
    EXPECT_EQ(ra.protocol_name, "range");
    EXPECT_EQ(ra.member_id.rfind("client-a-", 0), 0u);
    EXPECT_EQ(ra.member_id.size(), std::string("client-a-").size() + 36);  // "<client.id>-<uuid>"
    EXPECT_EQ(ra.leader, ra.member_id);
    EXPECT_EQ(rb.leader, ra.member_id);
    ASSERT_EQ(ra.members.size(), 2u);  // the leader sees everyone's metadata
    EXPECT_EQ(ra.members[0].member_id, ra.member_id);
    EXPECT_EQ(ra.members[1].member_id, rb.member_id);
    EXPECT_EQ(ra.members[1].metadata, subscription({"topic"}));
    EXPECT_TRUE(rb.members.empty());  // followers get none
    EXPECT_EQ(state_of("g"), "CompletingRebalance");
}

TEST_F(membership_test, three_members_sync_distributes_the_leaders_assignment) {
    auto a = join(join_request("g", "", "a"));
    auto b = join(join_request("g", "", "b"));
    auto c = join(join_request("g", "", "c"));
    sched.run_due();
    ASSERT_TRUE(a->has_value() && b->has_value() && c->has_value());
    std::string la = (*a)->member_id, lb = (*b)->member_id, lc = (*c)->member_id;
    EXPECT_EQ((*a)->members.size(), 3u);
    EXPECT_TRUE((*b)->members.empty());
    EXPECT_TRUE((*c)->members.empty());

    // Followers sync first and wait for the leader.
    auto sb = sync("g", 1, lb);
    auto sc = sync("g", 1, lc);
    EXPECT_FALSE(sb->has_value());
    EXPECT_FALSE(sc->has_value());

    log.hold = true;
    auto sa = sync("g", 1, la, {{la, {0xa}}, {lb, {0xb}}});  // c left out: empty assignment
    EXPECT_FALSE(sa->has_value());  // waits for the group record to be written
    ASSERT_EQ(log.held.size(), 1u);
    log.release_all();
    ASSERT_TRUE(sa->has_value() && sb->has_value() && sc->has_value());
    EXPECT_EQ((*sa)->assignment, bytes{0xa});
    EXPECT_EQ((*sb)->assignment, bytes{0xb});
    EXPECT_TRUE((*sc)->assignment.empty());
    EXPECT_EQ((*sb)->error, error_code::none);
    EXPECT_EQ((*sb)->protocol_name, "range");
    EXPECT_EQ(state_of("g"), "Stable");

    // The stored record carries every member with its subscription and assignment.
    auto records = log.all_records(coordinator->partition_for("g"));
    ASSERT_FALSE(records.empty());
    auto value = decode_group_metadata_value(*records.back().value);
    ASSERT_TRUE(value);
    EXPECT_EQ(value->generation, 1);
    EXPECT_EQ(value->leader, la);
    EXPECT_EQ(value->protocol, "range");
    ASSERT_EQ(value->members.size(), 3u);
    EXPECT_EQ(value->members[1].assignment, bytes{0xb});
    EXPECT_EQ(value->members[2].subscription, subscription({"topic"}));

    // A late SyncGroup in Stable gets the stored assignment.
    auto again = sync("g", 1, lb);
    ASSERT_TRUE(again->has_value());
    EXPECT_EQ((*again)->assignment, bytes{0xb});
}

TEST_F(membership_test, failed_group_write_fails_the_sync_and_rebalances) {
    auto a = join(join_request("g", "", "a"));
    sched.run_due();
    std::string la = (*a)->member_id;
    log.fail_with = error_code::not_leader_or_follower;
    auto sa = sync("g", 1, la, {{la, {1}}});
    ASSERT_TRUE(sa->has_value());
    EXPECT_EQ((*sa)->error, error_code::not_coordinator);
    EXPECT_EQ(state_of("g"), "PreparingRebalance");
}

TEST_F(membership_test, leaving_member_triggers_rebalance_and_the_other_rejoins) {
    auto [leader, follower] = stable_group_of_two("g");
    auto left = coordinator->leave_group({"g", {{follower, std::nullopt, std::nullopt}}});
    EXPECT_EQ(left.error, error_code::none);
    ASSERT_EQ(left.members.size(), 1u);
    EXPECT_EQ(left.members[0].error, error_code::none);
    EXPECT_EQ(state_of("g"), "PreparingRebalance");

    EXPECT_EQ(heartbeat("g", 1, leader), error_code::rebalance_in_progress);
    auto rejoin = join(join_request("g", leader, "client-a"));
    ASSERT_TRUE(rejoin->has_value());  // the only member rejoined: the rebalance completes at once
    EXPECT_EQ((*rejoin)->generation_id, 2);
    EXPECT_EQ((*rejoin)->members.size(), 1u);
    auto s = sync("g", 2, leader, {{leader, {7}}});
    ASSERT_TRUE(s->has_value());
    EXPECT_EQ((*s)->assignment, bytes{7});
    EXPECT_EQ(state_of("g"), "Stable");
    EXPECT_EQ(heartbeat("g", 2, leader), error_code::none);
    EXPECT_EQ(heartbeat("g", 1, follower), error_code::unknown_member_id);
}

TEST_F(membership_test, session_expiry_removes_a_silent_member) {
    auto [leader, follower] = stable_group_of_two("g");
    for (int i = 0; i < 3; ++i) {
        sched.advance(milliseconds(3000));
        EXPECT_EQ(heartbeat("g", 1, leader), error_code::none);
    }
    EXPECT_EQ(state_of("g"), "Stable");  // 9 s: within the follower's 10 s session
    sched.advance(milliseconds(1000));
    EXPECT_EQ(state_of("g"), "PreparingRebalance");
    EXPECT_EQ(heartbeat("g", 1, leader), error_code::rebalance_in_progress);
    EXPECT_EQ(heartbeat("g", 1, follower), error_code::unknown_member_id);
    auto rejoin = join(join_request("g", leader, "client-a"));
    ASSERT_TRUE(rejoin->has_value());
    EXPECT_EQ((*rejoin)->members.size(), 1u);
}

TEST_F(membership_test, rebalance_timeout_removes_members_that_did_not_rejoin) {
    auto [leader, follower] = stable_group_of_two("g");
    auto rejoin = join(join_request("g", leader, "client-a"));  // a leader's JoinGroup rebalances
    EXPECT_FALSE(rejoin->has_value());
    EXPECT_EQ(state_of("g"), "PreparingRebalance");
    // The follower keeps heartbeating but never rejoins.
    for (int i = 0; i < 9; ++i) {
        sched.advance(milliseconds(3000));
        EXPECT_EQ(heartbeat("g", 1, follower), error_code::rebalance_in_progress);
    }
    EXPECT_FALSE(rejoin->has_value());
    sched.advance(milliseconds(3000));  // 30 s rebalance timeout
    ASSERT_TRUE(rejoin->has_value());
    EXPECT_EQ((*rejoin)->generation_id, 2);
    ASSERT_EQ((*rejoin)->members.size(), 1u);
    EXPECT_EQ(heartbeat("g", 2, follower), error_code::unknown_member_id);
}

TEST_F(membership_test, member_id_required_round_trip) {
    auto first = join(join_request("g", "", "client-a", 4));
    ASSERT_TRUE(first->has_value());
    EXPECT_EQ((*first)->error, error_code::member_id_required);
    std::string id = (*first)->member_id;
    EXPECT_EQ(id.rfind("client-a-", 0), 0u);
    EXPECT_EQ(state_of("g"), "Empty");

    auto second = join(join_request("g", id, "client-a", 4));
    sched.run_due();
    ASSERT_TRUE(second->has_value());
    EXPECT_EQ((*second)->error, error_code::none);
    EXPECT_EQ((*second)->member_id, id);
    EXPECT_EQ((*second)->leader, id);
    EXPECT_EQ((*second)->generation_id, 1);
}

TEST_F(membership_test, pending_member_blocks_the_rebalance_until_it_expires) {
    auto [leader, follower] = stable_group_of_two("g");
    auto pending = join(join_request("g", "", "client-c", 5));
    ASSERT_EQ((*pending)->error, error_code::member_id_required);
    auto ra = join(join_request("g", leader, "client-a", 5));
    auto rb = join(join_request("g", follower, "client-b", 5));
    // Both known members rejoined, but the pending member may still come: wait for it.
    EXPECT_FALSE(ra->has_value());
    sched.advance(milliseconds(10000));  // the pending member's session timeout
    ASSERT_TRUE(ra->has_value());
    EXPECT_EQ((*ra)->members.size(), 2u);
    // Too late now: the id is unknown.
    auto late = join(join_request("g", (*pending)->member_id, "client-c", 5));
    ASSERT_TRUE(late->has_value());
    EXPECT_EQ((*late)->error, error_code::unknown_member_id);
}

TEST_F(membership_test, static_member_restart_replaces_the_old_member_without_rebalance) {
    auto ra = join_request("g", "", "a", 5);
    ra.group_instance_id = "instance-a";
    auto rb = join_request("g", "", "b", 5);
    rb.group_instance_id = "instance-b";
    auto a = join(ra);
    auto b = join(rb);
    sched.run_due();
    ASSERT_TRUE(a->has_value() && b->has_value());
    std::string old_a = (*a)->member_id;
    std::string idb = (*b)->member_id;
    EXPECT_EQ(old_a.rfind("instance-a-", 0), 0u);  // static ids start with the instance id
    EXPECT_EQ((*a)->members[0].group_instance_id, "instance-a");
    sync("g", 1, old_a, {{old_a, {1}}, {idb, {2}}}, "instance-a");
    sync("g", 1, idb, {}, "instance-b");
    ASSERT_EQ(state_of("g"), "Stable");

    // instance-a restarts and joins without its member id, same metadata.
    auto restarted = join(ra);
    ASSERT_TRUE(restarted->has_value());
    const auto& r = **restarted;
    EXPECT_EQ(r.error, error_code::none);
    EXPECT_NE(r.member_id, old_a);
    EXPECT_EQ(r.generation_id, 1);  // no new generation
    EXPECT_EQ(r.leader, old_a);     // below v9 the old leader id is reported
    EXPECT_TRUE(r.members.empty());
    EXPECT_EQ(state_of("g"), "Stable");

    EXPECT_EQ(heartbeat("g", 1, old_a, "instance-a"), error_code::fenced_instance_id);
    EXPECT_EQ(heartbeat("g", 1, r.member_id, "instance-a"), error_code::none);
    EXPECT_EQ(heartbeat("g", 1, idb, "instance-b"), error_code::none);
    auto s = sync("g", 1, r.member_id, {}, "instance-a");
    ASSERT_TRUE(s->has_value());
    EXPECT_EQ((*s)->assignment, bytes{1});  // keeps its assignment

    // v9: the returning static leader is told it leads but must skip the assignment.
    auto ra9 = ra;
    ra9.api_version = 9;
    auto again = join(ra9);
    ASSERT_TRUE(again->has_value());
    EXPECT_TRUE((*again)->skip_assignment);
    EXPECT_EQ((*again)->leader, (*again)->member_id);
    EXPECT_EQ((*again)->members.size(), 2u);
    EXPECT_EQ(state_of("g"), "Stable");
}

TEST_F(membership_test, static_member_with_changed_protocol_rebalances) {
    auto ra = join_request("g", "", "a", 5,
                           {{"range", subscription({"t"})}, {"roundrobin", subscription({"t"})}});
    ra.group_instance_id = "i";
    auto a = join(ra);
    sched.run_due();
    std::string id = (*a)->member_id;
    sync("g", 1, id, {{id, {1}}}, "i");
    ASSERT_EQ(state_of("g"), "Stable");
    auto changed = ra;
    changed.protocols = {{"roundrobin", subscription({"t"})}};
    auto r = join(changed);
    // Alone in the group, the rebalance completes at once with the new protocol.
    ASSERT_TRUE(r->has_value());
    EXPECT_EQ((*r)->generation_id, 2);
    EXPECT_EQ((*r)->protocol_name, "roundrobin");
}

TEST_F(membership_test, unknown_static_instance_and_fencing_on_leave) {
    auto ra = join_request("g", "", "a", 5);
    ra.group_instance_id = "i";
    auto a = join(ra);
    sched.run_due();
    std::string id = (*a)->member_id;
    EXPECT_EQ(heartbeat("g", 1, id, "other"), error_code::unknown_member_id);
    auto left = coordinator->leave_group({"g",
                                          {{"wrong-id", "i", std::nullopt},
                                           {"", "unknown-instance", std::nullopt},
                                           {"", "i", std::nullopt}}});
    ASSERT_EQ(left.members.size(), 3u);
    EXPECT_EQ(left.members[0].error, error_code::fenced_instance_id);
    EXPECT_EQ(left.members[1].error, error_code::unknown_member_id);
    EXPECT_EQ(left.members[2].error, error_code::none);  // removed by instance id
    EXPECT_EQ(legacy_leave_group_error(left), error_code::fenced_instance_id);
    EXPECT_EQ(heartbeat("g", 1, id, "i"), error_code::unknown_member_id);
}

TEST_F(membership_test, group_max_size) {
    config.group_max_size = 2;
    make_coordinator();
    auto a = join(join_request("g", "", "a"));
    auto b = join(join_request("g", "", "b"));
    auto c = join(join_request("g", "", "c"));
    ASSERT_TRUE(c->has_value());
    EXPECT_EQ((*c)->error, error_code::group_max_size_reached);
    EXPECT_EQ((*c)->member_id, "");
    sched.run_due();
    ASSERT_TRUE(a->has_value());
    EXPECT_EQ((*a)->members.size(), 2u);
    auto d = join(join_request("g", "", "d"));
    ASSERT_TRUE(d->has_value());
    EXPECT_EQ((*d)->error, error_code::group_max_size_reached);
}

TEST_F(membership_test, protocol_selection_follows_votes) {
    auto sub = subscription({"t"});
    // Candidates are the protocols everyone supports; each member votes for its favourite.
    auto a = join(join_request("g", "", "a", 3, {{"range", sub}, {"roundrobin", sub}}));
    auto b = join(join_request("g", "", "b", 3, {{"roundrobin", sub}, {"range", sub}}));
    auto c = join(join_request("g", "", "c", 3, {{"roundrobin", sub}, {"range", sub}}));
    sched.run_due();
    ASSERT_TRUE(a->has_value());
    EXPECT_EQ((*a)->protocol_name, "roundrobin");  // 2 votes to 1
    EXPECT_EQ((*a)->members[0].metadata, sub);

    auto x = join(join_request("h", "", "x", 3, {{"range", sub}, {"roundrobin", sub}}));
    auto y = join(join_request("h", "", "y", 3, {{"range", sub}, {"roundrobin", sub}}));
    auto z = join(join_request("h", "", "z", 3, {{"roundrobin", sub}}));
    sched.run_due();
    ASSERT_TRUE(x->has_value());
    EXPECT_EQ((*x)->protocol_name, "roundrobin");  // z supports only roundrobin

    // A member sharing no protocol with the group, or another protocol type, is refused.
    auto bad = join(join_request("h", "", "w", 3, {{"sticky", sub}}));
    ASSERT_TRUE(bad->has_value());
    EXPECT_EQ((*bad)->error, error_code::inconsistent_group_protocol);
    auto other_type = join_request("h", "", "v", 3);
    other_type.protocol_type = "connect";
    auto bad_type = join(other_type);
    EXPECT_EQ((*bad_type)->error, error_code::inconsistent_group_protocol);
    auto no_protocols = join_request("new-group", "", "v", 3);
    no_protocols.protocols = {};
    EXPECT_EQ((*join(no_protocols))->error, error_code::inconsistent_group_protocol);
}

TEST_F(membership_test, session_timeout_bounds) {
    auto r = join_request("g", "", "a");
    r.session_timeout_ms = 5999;
    EXPECT_EQ((*join(r))->error, error_code::invalid_session_timeout);
    r.session_timeout_ms = 1800001;
    EXPECT_EQ((*join(r))->error, error_code::invalid_session_timeout);
    EXPECT_EQ(state_of("g"), "Dead");  // no group was created
}

TEST_F(membership_test, initial_rebalance_delay_extends_while_members_arrive) {
    config.group_initial_rebalance_delay_ms = 3000;
    make_coordinator();
    auto ra = join_request("g", "", "a");
    ra.rebalance_timeout_ms = 10000;
    auto a = join(ra);
    sched.advance(milliseconds(1000));
    auto b = join(join_request("g", "", "b"));  // rebalance timeout 30 s, but the delay was
                                                // computed from the 10 s when the group started
    sched.advance(milliseconds(1999));
    EXPECT_FALSE(a->has_value());
    sched.advance(milliseconds(1));  // t = 3 s: a member arrived, wait another delay
    EXPECT_FALSE(a->has_value());
    sched.advance(milliseconds(2999));
    EXPECT_FALSE(a->has_value());
    sched.advance(milliseconds(1));  // t = 6 s: nobody new, complete
    ASSERT_TRUE(a->has_value() && b->has_value());
    EXPECT_EQ((*a)->members.size(), 2u);
}

TEST_F(membership_test, initial_delay_is_bounded_by_the_rebalance_timeout) {
    config.group_initial_rebalance_delay_ms = 3000;
    make_coordinator();
    auto ra = join_request("g", "", "m0");
    ra.rebalance_timeout_ms = 7000;
    auto first = join(ra);
    // A new member every 2 s would extend forever; the rebalance timeout caps it:
    // delays 3000 (remaining 4000), 3000 (remaining 1000), 1000 (remaining 0) -> done at 7 s.
    for (int i = 1; i <= 3; ++i) {
        sched.advance(milliseconds(2000));
        std::string client = "m";
        client += std::to_string(i);  // (operator+ here trips a GCC 12 -Wrestrict false positive)
        auto r = join_request("g", "", client);
        r.rebalance_timeout_ms = 7000;
        join(r);
    }
    EXPECT_FALSE(first->has_value());  // t = 6 s
    sched.advance(milliseconds(999));
    EXPECT_FALSE(first->has_value());
    sched.advance(milliseconds(1));
    ASSERT_TRUE(first->has_value());
    EXPECT_EQ((*first)->members.size(), 4u);
}

TEST_F(membership_test, sync_group_errors) {
    auto a = join(join_request("g", "", "a"));
    sched.run_due();
    std::string id = (*a)->member_id;
    EXPECT_EQ((*sync("g", 2, id))->error, error_code::illegal_generation);
    EXPECT_EQ((*sync("g", 1, "nobody"))->error, error_code::unknown_member_id);
    EXPECT_EQ((*sync("unknown-group", 1, id))->error, error_code::unknown_member_id);
    EXPECT_EQ((*sync("", 1, id))->error, error_code::invalid_group_id);

    sync_group_request v5;
    v5.api_version = 5;
    v5.group_id = "g";
    v5.generation_id = 1;
    v5.member_id = id;
    std::optional<sync_group_result> r;
    coordinator->sync_group(v5, [&](sync_group_result res) { r = res; });
    EXPECT_EQ(r->error, error_code::inconsistent_group_protocol);  // v5 requires type and name
    v5.protocol_type = "consumer";
    v5.protocol_name = "roundrobin";
    r.reset();
    coordinator->sync_group(v5, [&](sync_group_result res) { r = res; });
    EXPECT_EQ(r->error, error_code::inconsistent_group_protocol);  // not the selected protocol
    v5.protocol_name = "range";
    v5.assignments = {{id, {9}}};
    r.reset();
    coordinator->sync_group(v5, [&](sync_group_result res) { r = res; });
    EXPECT_EQ(r->error, error_code::none);
    EXPECT_EQ(r->protocol_type, "consumer");
    EXPECT_EQ(r->protocol_name, "range");

    // During a rebalance SyncGroup says so.
    auto b = join(join_request("g", "", "b"));
    EXPECT_EQ((*sync("g", 1, id))->error, error_code::rebalance_in_progress);
}

TEST_F(membership_test, rejoin_during_completing_rebalance_cancels_waiting_syncs) {
    auto a = join(join_request("g", "", "a"));
    auto b = join(join_request("g", "", "b"));
    sched.run_due();
    std::string la = (*a)->member_id, lb = (*b)->member_id;
    auto sb = sync("g", 1, lb);
    EXPECT_FALSE(sb->has_value());
    // The follower rejoins with new metadata before the leader syncs: everyone must rejoin.
    auto changed = join(join_request("g", lb, "b", 3, {{"range", subscription({"other"})}}));
    ASSERT_TRUE(sb->has_value());
    EXPECT_EQ((*sb)->error, error_code::rebalance_in_progress);
    EXPECT_EQ(state_of("g"), "PreparingRebalance");
    auto ra = join(join_request("g", la, "a"));
    ASSERT_TRUE(ra->has_value() && changed->has_value());
    EXPECT_EQ((*ra)->generation_id, 2);
}

TEST_F(membership_test, unsynced_members_are_removed_after_the_rebalance_timeout) {
    auto a = join(join_request("g", "", "a"));
    auto b = join(join_request("g", "", "b"));
    sched.run_due();
    std::string la = (*a)->member_id, lb = (*b)->member_id;
    auto sb = sync("g", 1, lb);
    // The leader stays alive (heartbeats) but never syncs.
    for (int i = 0; i < 9; ++i) {
        sched.advance(milliseconds(3000));
        EXPECT_EQ(heartbeat("g", 1, la), error_code::none);
    }
    EXPECT_FALSE(sb->has_value());
    sched.advance(milliseconds(3000));  // the 30 s rebalance timeout bounds the sync phase
    ASSERT_TRUE(sb->has_value());
    EXPECT_EQ((*sb)->error, error_code::rebalance_in_progress);
    EXPECT_EQ(heartbeat("g", 1, la), error_code::unknown_member_id);
    EXPECT_EQ(state_of("g"), "PreparingRebalance");
}

TEST_F(membership_test, heartbeat_errors_and_completing_rebalance) {
    auto a = join(join_request("g", "", "a"));
    sched.run_due();
    std::string id = (*a)->member_id;
    EXPECT_EQ(heartbeat("g", 1, id), error_code::none);  // between JoinGroup and SyncGroup
    EXPECT_EQ(heartbeat("g", 0, id), error_code::illegal_generation);
    EXPECT_EQ(heartbeat("g", 1, "nobody"), error_code::unknown_member_id);
    EXPECT_EQ(heartbeat("missing", 1, id), error_code::unknown_member_id);
    EXPECT_EQ(heartbeat("", 1, id), error_code::invalid_group_id);
}

TEST_F(membership_test, join_errors) {
    EXPECT_EQ((*join(join_request("g", "made-up", "a")))->error, error_code::unknown_member_id);
    EXPECT_EQ((*join(join_request("", "", "a")))->error, error_code::invalid_group_id);
    auto v0 = join_request("g", "", "a", 0);
    v0.rebalance_timeout_ms = -1;  // v0 has none: the session timeout stands in
    auto r = join(v0);
    sched.run_due();
    ASSERT_TRUE(r->has_value());
    EXPECT_EQ((*r)->error, error_code::none);
    EXPECT_EQ(state_of("g"), "CompletingRebalance");
}

TEST_F(membership_test, follower_rejoining_a_stable_group_gets_the_current_generation) {
    auto [leader, follower] = stable_group_of_two("g");
    auto r = join(join_request("g", follower, "client-b"));
    ASSERT_TRUE(r->has_value());
    EXPECT_EQ((*r)->generation_id, 1);
    EXPECT_EQ((*r)->leader, leader);
    EXPECT_TRUE((*r)->members.empty());
    EXPECT_EQ(state_of("g"), "Stable");
}

TEST_F(membership_test, new_member_joins_the_next_generation) {
    auto [leader, follower] = stable_group_of_two("g");
    auto rl = join(join_request("g", leader, "client-a"));  // rebalance
    auto c = join(join_request("g", "", "client-c"));       // new member, waits
    // The follower neither rejoins nor heartbeats: its session ends the wait.
    sched.advance(milliseconds(10000));
    ASSERT_TRUE(c->has_value());
    EXPECT_EQ((*c)->generation_id, 2);
}

TEST_F(membership_test, all_members_leaving_empties_the_group) {
    auto [leader, follower] = stable_group_of_two("g");
    coordinator->leave_group(
        {"g", {{leader, std::nullopt, std::nullopt}, {follower, std::nullopt, std::nullopt}}});
    sched.run_due();
    EXPECT_EQ(state_of("g"), "Empty");
    // The empty generation is written too.
    auto records = log.all_records(coordinator->partition_for("g"));
    auto value = decode_group_metadata_value(*records.back().value);
    ASSERT_TRUE(value);
    EXPECT_EQ(value->generation, 2);
    EXPECT_TRUE(value->members.empty());
    EXPECT_FALSE(value->protocol.has_value());
}

TEST_F(membership_test, leave_group_for_unknown_group_and_legacy_error) {
    auto r = coordinator->leave_group({"nope", {{"m", std::nullopt, std::nullopt}}});
    EXPECT_EQ(r.error, error_code::none);
    EXPECT_EQ(r.members.at(0).error, error_code::unknown_member_id);
    EXPECT_EQ(legacy_leave_group_error(r), error_code::unknown_member_id);
    EXPECT_EQ(coordinator->leave_group({"", {}}).error, error_code::invalid_group_id);
}

}  // namespace
}  // namespace broker::server::coordinator::testing
