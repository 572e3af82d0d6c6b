// Replica placement and the election rules. The exact expectations are the ones of Kafka's own
// AdminRackAwareTest (testReplicaAssignment,
// testGetRackAlternatedBrokerListAndAssignReplicasToBrokers); the distribution checks follow its
// RackAwareTest.checkReplicaDistribution.
#include "server/cluster/assignment.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

namespace broker::server::cluster {
namespace {

using replica_lists = std::vector<std::vector<int32_t>>;

std::vector<broker_placement> without_racks(std::initializer_list<int32_t> ids) {
    std::vector<broker_placement> out;
    for (int32_t id : ids) {
        out.push_back({id, std::nullopt});
    }
    return out;
}

std::vector<broker_placement> with_racks(const std::map<int32_t, std::string>& racks) {
    std::vector<broker_placement> out;
    for (const auto& [id, rack] : racks) {
        out.push_back({id, rack});
    }
    return out;
}

struct distribution_checks {
    bool rack_aware = true;
    bool leaders = true;
    bool replicas = true;
};

// Kafka's checkReplicaDistribution: no broker twice in a partition; with `rack_aware`, every
// partition's replicas on distinct racks; with `leaders`/`replicas`, every broker gets the same
// number of preferred leaders / replicas.
void check_distribution(const replica_lists& assignment,
                        const std::map<int32_t, std::string>& racks, int32_t partitions,
                        int replication_factor, distribution_checks checks) {
    ASSERT_EQ(assignment.size(), static_cast<std::size_t>(partitions));
    std::map<int32_t, int> leader_count;
    std::map<int32_t, int> replica_count;
    for (const auto& replicas : assignment) {
        ASSERT_EQ(replicas.size(), static_cast<std::size_t>(replication_factor));
        std::set<int32_t> distinct(replicas.begin(), replicas.end());
        EXPECT_EQ(distinct.size(), replicas.size()) << "a broker holds two replicas of a partition";
        std::set<std::string> partition_racks;
        for (int32_t id : replicas) {
            ASSERT_TRUE(racks.count(id)) << id;
            partition_racks.insert(racks.at(id));
            ++replica_count[id];
        }
        ++leader_count[replicas.front()];
        if (checks.rack_aware) {
            EXPECT_EQ(partition_racks.size(), replicas.size()) << "two replicas on one rack";
        }
    }
    const auto broker_count = static_cast<int>(racks.size());
    if (checks.leaders) {
        for (const auto& [id, rack] : racks) {
            EXPECT_EQ(leader_count[id], partitions / broker_count) << "leaders of broker " << id;
        }
    }
    if (checks.replicas) {
        for (const auto& [id, rack] : racks) {
            EXPECT_EQ(replica_count[id], partitions * replication_factor / broker_count)
                << "replicas of broker " << id;
        }
    }
}

TEST(assignment, rack_unaware_matches_kafka) {
    std::mt19937 rng(1);
    const auto brokers = without_racks({0, 1, 2, 3, 4});
    const auto result = assign_replicas(brokers, 10, 3, rng, 0, -1);
    ASSERT_TRUE(result.ok()) << result.message;
    const replica_lists expected{{0, 1, 2}, {1, 2, 3}, {2, 3, 4}, {3, 4, 0}, {4, 0, 1},
                                 {0, 2, 3}, {1, 3, 4}, {2, 4, 0}, {3, 0, 1}, {4, 1, 2}};
    EXPECT_EQ(result.replicas, expected);
}

TEST(assignment, rack_aware_matches_kafka) {
    std::mt19937 rng(1);
    const std::map<int32_t, std::string> racks{{0, "rack1"}, {1, "rack3"}, {2, "rack3"},
                                               {3, "rack2"}, {4, "rack2"}, {5, "rack1"}};
    const auto result = assign_replicas(with_racks(racks), 7, 3, rng, 0, 0);
    ASSERT_TRUE(result.ok()) << result.message;
    // The rack-alternated list is 0, 3, 1, 5, 4, 2; partition 6 starts the second pass with the
    // followers shifted.
    const replica_lists expected{{0, 3, 1}, {3, 1, 5}, {1, 5, 4}, {5, 4, 2},
                                 {4, 2, 0}, {2, 0, 3}, {0, 4, 2}};
    EXPECT_EQ(result.replicas, expected);
}

TEST(assignment, broker_order_of_the_caller_does_not_matter) {
    std::mt19937 rng(1);
    const auto sorted = assign_replicas(without_racks({0, 1, 2, 3, 4}), 10, 3, rng, 0, -1);
    const auto shuffled = assign_replicas(without_racks({3, 0, 4, 2, 1}), 10, 3, rng, 0, -1);
    ASSERT_TRUE(sorted.ok());
    EXPECT_EQ(shuffled.replicas, sorted.replicas);
}

TEST(assignment, added_partitions_continue_the_pattern) {
    std::mt19937 rng(1);
    const auto brokers = without_racks({0, 1, 2, 3, 4});
    const auto whole = assign_replicas(brokers, 10, 3, rng, 0, 0);
    const auto head = assign_replicas(brokers, 4, 3, rng, 0, 0);
    const auto tail = assign_replicas(brokers, 6, 3, rng, 0, 4);
    ASSERT_TRUE(whole.ok() && head.ok() && tail.ok());
    replica_lists joined = head.replicas;
    joined.insert(joined.end(), tail.replicas.begin(), tail.replicas.end());
    EXPECT_EQ(joined, whole.replicas);

    const std::map<int32_t, std::string> racks{{0, "rack1"}, {1, "rack3"}, {2, "rack3"},
                                               {3, "rack2"}, {4, "rack2"}, {5, "rack1"}};
    const auto rack_whole = assign_replicas(with_racks(racks), 7, 3, rng, 0, 0);
    const auto rack_tail = assign_replicas(with_racks(racks), 2, 3, rng, 0, 5);
    ASSERT_TRUE(rack_whole.ok() && rack_tail.ok());
    EXPECT_EQ(rack_tail.replicas,
              replica_lists(rack_whole.replicas.begin() + 5, rack_whole.replicas.end()));
}

TEST(assignment, fixed_start_index_moves_the_first_replica) {
    std::mt19937 rng(1);
    const auto result = assign_replicas(without_racks({0, 1, 2}), 3, 1, rng, 2, 0);
    ASSERT_TRUE(result.ok());
    EXPECT_EQ(result.replicas, (replica_lists{{2}, {0}, {1}}));
}

TEST(assignment, random_start_comes_from_the_generator) {
    const auto brokers = without_racks({0, 1, 2, 3, 4, 5, 6, 7});
    std::mt19937 first(42);
    std::mt19937 second(42);
    const auto a = assign_replicas(brokers, 16, 3, first);
    const auto b = assign_replicas(brokers, 16, 3, second);
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(a.replicas, b.replicas);
    // Different seeds reach different start indexes for some seed among a few.
    std::set<int32_t> first_leaders;
    for (uint32_t seed = 0; seed < 16; ++seed) {
        std::mt19937 rng(seed);
        first_leaders.insert(assign_replicas(brokers, 1, 1, rng).replicas.at(0).at(0));
    }
    EXPECT_GT(first_leaders.size(), 1u);
    std::map<int32_t, std::string> racks;
    for (int32_t id = 0; id < 8; ++id) {
        racks.emplace(id, "r");
    }
    check_distribution(a.replicas, racks, 16, 3, {.rack_aware = false});
}

TEST(assignment, rack_aware_distributions) {
    const std::map<int32_t, std::string> six{{0, "rack1"}, {1, "rack2"}, {2, "rack2"},
                                             {3, "rack3"}, {4, "rack3"}, {5, "rack1"}};
    std::mt19937 rng(7);
    // testAssignmentWithRackAware
    check_distribution(assign_replicas(with_racks(six), 6, 3, rng, 2, 0).replicas, six, 6, 3, {});
    // testAssignmentWithRackAwareWithRandomStartIndex
    check_distribution(assign_replicas(with_racks(six), 6, 3, rng).replicas, six, 6, 3, {});
    // testAssignmentWithRackAwareWithUnevenReplicas
    check_distribution(assign_replicas(with_racks(six), 13, 3, rng, 0, 0).replicas, six, 13, 3,
                       {.leaders = false, .replicas = false});
    // testAssignmentWith2ReplicasRackAware
    check_distribution(assign_replicas(with_racks(six), 12, 2, rng).replicas, six, 12, 2, {});
    // testAssignmentWith2ReplicasRackAwareWith6Partitions
    check_distribution(assign_replicas(with_racks(six), 6, 2, rng).replicas, six, 6, 2, {});

    // testAssignmentWithRackAwareWithUnevenRacks
    const std::map<int32_t, std::string> uneven{{0, "rack1"}, {1, "rack1"}, {2, "rack2"},
                                                {3, "rack3"}, {4, "rack3"}, {5, "rack1"}};
    check_distribution(assign_replicas(with_racks(uneven), 12, 3, rng).replicas, uneven, 12, 3,
                       {.replicas = false});

    // testRackAwareExpansion: ids from 6, partitions numbered from 12.
    const std::map<int32_t, std::string> expansion{{6, "rack1"}, {7, "rack2"},  {8, "rack2"},
                                                   {9, "rack3"}, {10, "rack3"}, {11, "rack1"}};
    check_distribution(assign_replicas(with_racks(expansion), 12, 2, rng, -1, 12).replicas,
                       expansion, 12, 2, {});

    // testAssignmentWith2ReplicasRackAwareWith6PartitionsAnd3Brokers
    const std::map<int32_t, std::string> three{{0, "rack1"}, {1, "rack2"}, {4, "rack3"}};
    check_distribution(assign_replicas(with_racks(three), 3, 2, rng).replicas, three, 3, 2, {});

    // testLargeNumberPartitionsAssignment
    const std::map<int32_t, std::string> twelve{
        {0, "rack1"}, {1, "rack2"}, {2, "rack2"}, {3, "rack3"}, {4, "rack3"},  {5, "rack1"},
        {6, "rack1"}, {7, "rack2"}, {8, "rack2"}, {9, "rack3"}, {10, "rack1"}, {11, "rack3"}};
    check_distribution(assign_replicas(with_racks(twelve), 96, 3, rng).replicas, twelve, 96, 3, {});

    // testSkipBrokerWithReplicaAlreadyAssigned
    const std::map<int32_t, std::string> skip{{0, "a"}, {1, "b"}, {2, "c"}, {3, "a"}, {4, "a"}};
    check_distribution(assign_replicas(with_racks(skip), 6, 4, rng, 2, -1).replicas, skip, 6, 4,
                       {.rack_aware = false, .leaders = false, .replicas = false});
}

std::set<std::string> racks_of(const std::vector<int32_t>& replicas,
                               const std::map<int32_t, std::string>& racks) {
    std::set<std::string> out;
    for (int32_t id : replicas) {
        out.insert(racks.at(id));
    }
    return out;
}

TEST(assignment, replicas_versus_racks) {
    std::mt19937 rng(3);
    // testMoreReplicasThanRacks: every rack gets a replica.
    const std::map<int32_t, std::string> racks{{0, "rack1"}, {1, "rack2"}, {2, "rack2"},
                                               {3, "rack3"}, {4, "rack3"}, {5, "rack2"}};
    const auto more = assign_replicas(with_racks(racks), 6, 5, rng);
    ASSERT_TRUE(more.ok());
    for (const auto& replicas : more.replicas) {
        EXPECT_EQ(replicas.size(), 5u);
        EXPECT_EQ(racks_of(replicas, racks).size(), 3u);
    }
    // testLessReplicasThanRacks: no rack twice.
    const auto fewer = assign_replicas(with_racks(racks), 6, 2, rng);
    ASSERT_TRUE(fewer.ok());
    for (const auto& replicas : fewer.replicas) {
        EXPECT_EQ(racks_of(replicas, racks).size(), 2u);
    }
    // testSingleRack: one rack, leaders still spread.
    const std::map<int32_t, std::string> single{{0, "rack1"}, {1, "rack1"}, {2, "rack1"},
                                                {3, "rack1"}, {4, "rack1"}, {5, "rack1"}};
    const auto one = assign_replicas(with_racks(single), 6, 3, rng);
    ASSERT_TRUE(one.ok());
    check_distribution(one.replicas, single, 6, 3, {.rack_aware = false, .replicas = false});
}

TEST(assignment, errors) {
    std::mt19937 rng(1);
    const auto five = without_racks({0, 1, 2, 3, 4});

    const auto no_partitions = assign_replicas(five, 0, 1, rng);
    EXPECT_EQ(no_partitions.error, protocol::error_code::invalid_partitions);
    EXPECT_EQ(no_partitions.message, "Number of partitions must be larger than 0.");
    // The partition count is checked first, as Kafka does.
    EXPECT_EQ(assign_replicas(five, 0, 0, rng).error, protocol::error_code::invalid_partitions);
    EXPECT_EQ(assign_replicas(five, -3, 1, rng).error, protocol::error_code::invalid_partitions);

    const auto zero_factor = assign_replicas(five, 10, 0, rng);
    EXPECT_EQ(zero_factor.error, protocol::error_code::invalid_replication_factor);
    EXPECT_EQ(zero_factor.message, "Replication factor must be larger than 0.");
    EXPECT_TRUE(zero_factor.replicas.empty());

    const auto too_many = assign_replicas(five, 10, 6, rng);
    EXPECT_EQ(too_many.error, protocol::error_code::invalid_replication_factor);
    EXPECT_EQ(too_many.message, "Replication factor: 6 larger than available brokers: 5.");
    const std::vector<broker_placement> none;
    EXPECT_EQ(assign_replicas(none, 1, 1, rng).message,
              "Replication factor: 1 larger than available brokers: 0.");

    std::vector<broker_placement> mixed =
        with_racks({{0, "rack1"}, {1, "rack3"}, {2, "rack3"}, {3, "rack2"}});
    mixed.push_back({4, std::nullopt});
    const auto partial = assign_replicas(mixed, 10, 5, rng);
    EXPECT_EQ(partial.error, protocol::error_code::invalid_replication_factor);
    EXPECT_EQ(partial.message,
              "Not all brokers have rack information for replica rack aware assignment.");
    EXPECT_FALSE(partial.ok());
}

TEST(assignment, offline_election) {
    const std::vector<int32_t> assignment{1, 2, 3};
    // The first live in-sync replica in assignment order (not isr order).
    auto clean =
        elect_offline(assignment, std::vector<int32_t>{3, 2}, std::vector<int32_t>{2, 3}, false);
    ASSERT_TRUE(clean);
    EXPECT_EQ(clean->leader, 2);
    EXPECT_FALSE(clean->unclean);
    // A live replica outside the isr is not eligible when unclean election is off.
    EXPECT_FALSE(
        elect_offline(assignment, std::vector<int32_t>{1}, std::vector<int32_t>{2, 3}, false));
    // With unclean election on, the first live replica of the assignment.
    auto unclean =
        elect_offline(assignment, std::vector<int32_t>{1}, std::vector<int32_t>{3, 2}, true);
    ASSERT_TRUE(unclean);
    EXPECT_EQ(unclean->leader, 2);
    EXPECT_TRUE(unclean->unclean);
    // A clean candidate wins even when unclean election is allowed.
    auto preferred_clean =
        elect_offline(assignment, std::vector<int32_t>{3}, std::vector<int32_t>{2, 3}, true);
    ASSERT_TRUE(preferred_clean);
    EXPECT_EQ(preferred_clean->leader, 3);
    EXPECT_FALSE(preferred_clean->unclean);
    // Nobody live.
    EXPECT_FALSE(
        elect_offline(assignment, std::vector<int32_t>{1, 2, 3}, std::vector<int32_t>{}, true));
    // An in-sync live broker outside the assignment is never chosen.
    EXPECT_FALSE(
        elect_offline(assignment, std::vector<int32_t>{4}, std::vector<int32_t>{4}, false));
}

TEST(assignment, preferred_election) {
    const std::vector<int32_t> assignment{1, 2, 3};
    EXPECT_EQ(elect_preferred(assignment, std::vector<int32_t>{2, 1}, std::vector<int32_t>{1, 2}),
              1);
    // Preferred replica dead or out of sync: no election.
    EXPECT_FALSE(
        elect_preferred(assignment, std::vector<int32_t>{1, 2}, std::vector<int32_t>{2, 3}));
    EXPECT_FALSE(
        elect_preferred(assignment, std::vector<int32_t>{2, 3}, std::vector<int32_t>{1, 2}));
    EXPECT_FALSE(
        elect_preferred(std::vector<int32_t>{}, std::vector<int32_t>{1}, std::vector<int32_t>{1}));
}

TEST(assignment, controlled_shutdown_election) {
    const std::vector<int32_t> assignment{1, 2, 3};
    const std::vector<int32_t> isr{1, 2, 3};
    const std::vector<int32_t> live{1, 2, 3};
    EXPECT_EQ(elect_controlled_shutdown(assignment, isr, live, std::vector<int32_t>{1}), 2);
    EXPECT_EQ(elect_controlled_shutdown(assignment, isr, live, std::vector<int32_t>{}), 1);
    EXPECT_EQ(elect_controlled_shutdown(assignment, std::vector<int32_t>{1, 3}, live,
                                        std::vector<int32_t>{1}),
              3);
    EXPECT_FALSE(elect_controlled_shutdown(assignment, std::vector<int32_t>{1, 2},
                                           std::vector<int32_t>{1, 3}, std::vector<int32_t>{1}));
}

}  // namespace
}  // namespace broker::server::cluster
