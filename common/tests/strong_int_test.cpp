#include "common/strong_int.h"

#include <atomic>
#include <cstdint>
#include <map>
#include <sstream>
#include <type_traits>
#include <unordered_set>
#include <vector>

#include <gtest/gtest.h>

namespace broker {
namespace {

// Two ids of the same width and one wider, as common/types.h declares its own.
using node_id = strong_int<int32_t, struct test_node_tag>;
using leader_epoch_t = strong_int<int32_t, struct test_epoch_tag>;
using partition_index = strong_int<int32_t, struct test_partition_tag>;
using producer_id_t = strong_int<int64_t, struct test_producer_tag>;
constexpr node_id no_node{-1};

// The point of the type: no implicit way in or out, and no mixing of two ids of the same width.
static_assert(!std::is_convertible_v<int32_t, node_id>);
static_assert(!std::is_convertible_v<node_id, int32_t>);
static_assert(std::is_constructible_v<node_id, int32_t>);
static_assert(!std::is_constructible_v<node_id, leader_epoch_t>);
static_assert(!std::is_constructible_v<leader_epoch_t, node_id>);
static_assert(!std::is_assignable_v<node_id&, leader_epoch_t>);
static_assert(!std::is_assignable_v<node_id&, int32_t>);
static_assert(!std::is_constructible_v<partition_index, node_id>);
static_assert(!std::is_constructible_v<producer_id_t, node_id>);
// Cheap to pass and to keep in an atomic.
static_assert(sizeof(node_id) == sizeof(int32_t));
static_assert(sizeof(producer_id_t) == sizeof(int64_t));
static_assert(std::is_trivially_copyable_v<node_id>);
static_assert(std::is_trivially_copyable_v<producer_id_t>);
// Usable in constant expressions.
static_assert(no_node.value() == -1);
static_assert(leader_epoch_t{3} > leader_epoch_t{2});

template <typename A, typename B>
concept comparable = requires(const A& a, const B& b) {
    a == b;
};
static_assert(comparable<node_id, node_id>);
static_assert(!comparable<node_id, leader_epoch_t>);
static_assert(!comparable<node_id, int32_t>);

template <typename A>
concept addable = requires(const A& a) {
    a + a;
};
static_assert(!addable<node_id>);

TEST(strong_int, default_is_zero_and_value_round_trips) {
    EXPECT_EQ(node_id{}.value(), 0);
    EXPECT_EQ(node_id{7}.value(), 7);
    EXPECT_EQ(producer_id_t{int64_t{1} << 40}.value(), int64_t{1} << 40);
}

TEST(strong_int, compares_like_its_value) {
    EXPECT_EQ(node_id{1}, node_id{1});
    EXPECT_NE(node_id{1}, node_id{2});
    EXPECT_LT(leader_epoch_t{-1}, leader_epoch_t{0});
    EXPECT_GE(leader_epoch_t{4}, leader_epoch_t{4});
    std::map<producer_id_t, int> ordered{
        {producer_id_t{9}, 0}, {producer_id_t{2}, 1}, {producer_id_t{5}, 2}};
    std::vector<int64_t> keys;
    for (const auto& [id, unused] : ordered) {
        keys.push_back(id.value());
    }
    EXPECT_EQ(keys, (std::vector<int64_t>{2, 5, 9}));
}

TEST(strong_int, prints_the_bare_number) {
    std::ostringstream out;
    out << node_id{3} << " " << no_node << " " << producer_id_t{1234567890123};
    EXPECT_EQ(out.str(), "3 -1 1234567890123");
}

TEST(strong_int, hashes_as_its_value_and_keys_unordered_sets) {
    EXPECT_EQ(std::hash<node_id>{}(node_id{42}), std::hash<int32_t>{}(42));
    std::unordered_set<partition_index> seen{partition_index{0}, partition_index{1},
                                             partition_index{0}};
    EXPECT_EQ(seen.size(), 2U);
    EXPECT_TRUE(seen.contains(partition_index{1}));
}

TEST(strong_int, raw_values_keeps_the_order) {
    EXPECT_EQ(raw_values(std::vector<node_id>{node_id{2}, node_id{0}, node_id{5}}),
              (std::vector<int32_t>{2, 0, 5}));
    EXPECT_TRUE(raw_values(std::vector<node_id>{}).empty());
}

TEST(strong_int, works_in_an_atomic) {
    std::atomic<leader_epoch_t> epoch{leader_epoch_t{0}};
    epoch.store(leader_epoch_t{5});
    EXPECT_EQ(epoch.load(), leader_epoch_t{5});
}

}  // namespace
}  // namespace broker
