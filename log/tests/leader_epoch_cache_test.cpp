// Leader epoch cache: assignment rules, OffsetForLeaderEpoch answers, truncation, persistence.
#include <gtest/gtest.h>

#include <fstream>

#include "log/leader_epoch_cache.h"
#include "log/tests/test_util.h"

namespace broker::log {
namespace {

using test::temp_dir;

std::string file_text(const std::filesystem::path& p) {
    std::ifstream in(p);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(leader_epoch_cache, assign_and_end_offsets) {
    temp_dir dir;
    auto cache = leader_epoch_cache::load(dir.path() / "leader-epoch-checkpoint");
    EXPECT_FALSE(cache.latest_epoch());
    EXPECT_EQ(cache.end_offset_for(0, 10), std::make_pair(-1, int64_t{-1}));

    ASSERT_FALSE(cache.assign(1, 0));
    ASSERT_FALSE(cache.assign(1, 5));  // same epoch later: no change
    ASSERT_FALSE(cache.assign(3, 10));
    ASSERT_FALSE(cache.assign(5, 20));
    EXPECT_EQ(cache.entries().size(), 3u);
    EXPECT_EQ(*cache.latest_epoch(), 5);

    EXPECT_EQ(cache.end_offset_for(5, 42), std::make_pair(5, int64_t{42}));  // latest: log end
    EXPECT_EQ(cache.end_offset_for(3, 42), std::make_pair(3, int64_t{20}));
    EXPECT_EQ(cache.end_offset_for(4, 42),
              std::make_pair(3, int64_t{20}));  // unknown epoch in a gap
    EXPECT_EQ(cache.end_offset_for(0, 42), std::make_pair(0, int64_t{0}));    // older than all
    EXPECT_EQ(cache.end_offset_for(6, 42), std::make_pair(-1, int64_t{-1}));  // newer than all
    EXPECT_EQ(cache.end_offset_for(-1, 42), std::make_pair(-1, int64_t{-1}));

    EXPECT_EQ(cache.epoch_for_offset(0), 1);
    EXPECT_EQ(cache.epoch_for_offset(15), 3);
    EXPECT_EQ(cache.epoch_for_offset(1000), 5);

    EXPECT_EQ(file_text(dir.path() / "leader-epoch-checkpoint"), "0\n3\n1 0\n3 10\n5 20\n");
}

TEST(leader_epoch_cache, non_monotonic_assignment_removes_conflicts) {
    temp_dir dir;
    auto cache = leader_epoch_cache::load(dir.path() / "c");
    ASSERT_FALSE(cache.assign(2, 10));
    ASSERT_FALSE(cache.assign(4, 30));
    // A higher epoch starting earlier than an existing entry: that entry goes.
    ASSERT_FALSE(cache.assign(5, 20));
    ASSERT_EQ(cache.entries().size(), 2u);
    EXPECT_EQ(cache.entries()[1], (epoch_entry{5, 20}));
    // A lower epoch than the latest: entries with epoch >= it go.
    ASSERT_FALSE(cache.assign(3, 25));
    ASSERT_EQ(cache.entries().size(), 2u);
    EXPECT_EQ(cache.entries()[1], (epoch_entry{3, 25}));
}

TEST(leader_epoch_cache, truncation_and_reload) {
    temp_dir dir;
    auto path = dir.path() / "leader-epoch-checkpoint";
    {
        auto cache = leader_epoch_cache::load(path);
        ASSERT_FALSE(cache.assign(1, 0));
        ASSERT_FALSE(cache.assign(2, 10));
        ASSERT_FALSE(cache.assign(3, 20));
        ASSERT_FALSE(cache.truncate_from_end(20));  // removes epoch 3
        EXPECT_EQ(*cache.latest_epoch(), 2);
        ASSERT_FALSE(cache.truncate_from_start(15));  // epoch 2 now starts at 15, epoch 1 gone
        ASSERT_EQ(cache.entries().size(), 1u);
        EXPECT_EQ(cache.entries()[0], (epoch_entry{2, 15}));
    }
    auto reloaded = leader_epoch_cache::load(path);
    ASSERT_EQ(reloaded.entries().size(), 1u);
    EXPECT_EQ(reloaded.entries()[0], (epoch_entry{2, 15}));
    ASSERT_FALSE(reloaded.clear());
    EXPECT_TRUE(leader_epoch_cache::load(path).entries().empty());
}

TEST(leader_epoch_cache, garbage_file_starts_empty) {
    temp_dir dir;
    auto path = dir.path() / "leader-epoch-checkpoint";
    { std::ofstream(path) << "0\n2\n1 0\n"; }  // count says 2, one line
    EXPECT_TRUE(leader_epoch_cache::load(path).entries().empty());
}

}  // namespace
}  // namespace broker::log
