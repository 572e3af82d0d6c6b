// Offset and time index: model-based checks against std::map, persistence, truncation, sanity.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <random>

#include "log/offset_index.h"
#include "log/tests/test_util.h"
#include "log/time_index.h"

namespace broker::log {
namespace {

using test::temp_dir;

TEST(offset_index, random_lookups_match_a_sorted_map) {
    temp_dir dir;
    const int64_t base = 1000;
    offset_index index(dir.path() / "x.index", base);
    ASSERT_FALSE(index.open(8 * 4096, true));
    std::map<int64_t, uint32_t> model;
    std::mt19937_64 rng(42);
    int64_t off = base;
    uint32_t pos = 0;
    for (int i = 0; i < 3000; ++i) {
        off += 1 + static_cast<int64_t>(rng() % 20);
        pos += 1 + static_cast<uint32_t>(rng() % 500);
        ASSERT_TRUE(index.append(off, pos));
        model[off] = pos;
    }
    EXPECT_EQ(index.entries(), 3000u);
    auto expect_lookup = [&](int64_t target) {
        auto it = model.upper_bound(target);
        offset_position expected{base, 0};
        if (it != model.begin()) {
            --it;
            expected = {it->first, it->second};
        }
        EXPECT_EQ(index.lookup(target), expected) << "target " << target;
    };
    for (int i = 0; i < 5000; ++i) {
        expect_lookup(base - 10 +
                      static_cast<int64_t>(rng() % static_cast<uint64_t>(off - base + 50)));
    }
    expect_lookup(base - 1);
    expect_lookup(off);
    expect_lookup(off + 1);

    // Truncation keeps exactly the entries below the target.
    int64_t cut = model.begin()->first + (off - base) / 2;
    index.truncate_to(cut);
    model.erase(model.lower_bound(cut), model.end());
    EXPECT_EQ(index.entries(), model.size());
    for (int i = 0; i < 1000; ++i) {
        expect_lookup(base + static_cast<int64_t>(rng() % static_cast<uint64_t>(off - base + 10)));
    }

    // Trim + reopen read-only gives the same answers from the file.
    ASSERT_FALSE(index.trim());
    EXPECT_EQ(std::filesystem::file_size(index.path()), model.size() * offset_index::entry_size);
    offset_index reopened(index.path(), base);
    ASSERT_FALSE(reopened.open(8 * 4096, false));
    EXPECT_EQ(reopened.entries(), model.size());
    EXPECT_TRUE(reopened.sane(1u << 30));
    for (int i = 0; i < 1000; ++i) {
        int64_t target =
            base + static_cast<int64_t>(rng() % static_cast<uint64_t>(off - base + 10));
        EXPECT_EQ(reopened.lookup(target), index.lookup(target));
    }
}

TEST(offset_index, refuses_non_increasing_and_full) {
    temp_dir dir;
    offset_index index(dir.path() / "y.index", 0);
    ASSERT_FALSE(index.open(3 * 8 + 5, true));  // rounds down to 3 entries
    EXPECT_EQ(index.max_entries(), 3u);
    EXPECT_TRUE(index.append(5, 100));
    EXPECT_FALSE(index.append(5, 200));  // same offset
    EXPECT_FALSE(index.append(6, 100));  // same position
    EXPECT_TRUE(index.append(6, 200));
    EXPECT_TRUE(index.append(7, 300));
    EXPECT_TRUE(index.full());
    EXPECT_FALSE(index.append(8, 400));
    EXPECT_FALSE(index.append(int64_t{1} << 40, 500));
}

TEST(offset_index, last_entry_before_respects_both_bounds) {
    temp_dir dir;
    offset_index index(dir.path() / "z.index", 0);
    ASSERT_FALSE(index.open(4096, true));
    for (int i = 1; i <= 10; ++i) {
        ASSERT_TRUE(index.append(i * 10, static_cast<uint32_t>(i * 100)));
    }
    EXPECT_EQ(index.last_entry_before(550, 1000)->position, 500u);
    EXPECT_EQ(index.last_entry_before(550, 40)->offset, 30);
    EXPECT_FALSE(index.last_entry_before(50, 1000).has_value());
}

TEST(offset_index, sanity_check_catches_damage) {
    temp_dir dir;
    auto path = dir.path() / "s.index";
    {
        offset_index index(path, 0);
        ASSERT_FALSE(index.open(4096, true));
        ASSERT_TRUE(index.append(10, 100));
        ASSERT_TRUE(index.append(20, 200));
        ASSERT_FALSE(index.trim());
    }
    {
        offset_index index(path, 0);
        ASSERT_FALSE(index.open(4096, false));
        EXPECT_TRUE(index.sane(1000));
        EXPECT_FALSE(index.sane(150));  // an entry points past the end of the log
    }
    // A partial trailing entry.
    { std::ofstream(path, std::ios::app | std::ios::binary) << "abc"; }
    {
        offset_index index(path, 0);
        ASSERT_FALSE(index.open(4096, false));
        EXPECT_FALSE(index.sane(1000));
    }
    // Trailing zero entries (an untrimmed preallocation).
    std::filesystem::resize_file(path, 64);
    {
        offset_index index(path, 0);
        ASSERT_FALSE(index.open(4096, false));
        EXPECT_FALSE(index.sane(1000));
    }
}

TEST(time_index, lookup_finds_the_greatest_entry_below_the_target) {
    temp_dir dir;
    time_index index(dir.path() / "t.timeindex", 100);
    ASSERT_FALSE(index.open(12 * 100, true));
    std::map<int64_t, int64_t> model;  // timestamp -> offset
    std::mt19937_64 rng(7);
    int64_t ts = 5000;
    int64_t off = 100;
    for (int i = 0; i < 90; ++i) {
        ts += static_cast<int64_t>(rng() % 10);  // sometimes equal: must not be appended
        off += 1 + static_cast<int64_t>(rng() % 5);
        bool appended = index.maybe_append(ts, off);
        bool expected = model.empty() || ts > model.rbegin()->first;
        EXPECT_EQ(appended, expected);
        if (expected) {
            model[ts] = off;
        }
    }
    for (int i = 0; i < 2000; ++i) {
        int64_t target = 4990 + static_cast<int64_t>(rng() % 1000);
        auto it = model.lower_bound(target);  // first >= target; the answer is the one before
        timestamp_offset_entry expected{-1, 100};
        if (it != model.begin()) {
            --it;
            expected = {it->first, it->second};
        }
        EXPECT_EQ(index.lookup(target), expected) << target;
    }
    EXPECT_FALSE(index.maybe_append(ts + 1, off - 1));  // offsets never go back
}

TEST(time_index, keeps_a_slot_for_the_closing_entry) {
    temp_dir dir;
    time_index index(dir.path() / "c.timeindex", 0);
    ASSERT_FALSE(index.open(12 * 3, true));
    EXPECT_TRUE(index.maybe_append(10, 1));
    EXPECT_TRUE(index.maybe_append(20, 2));
    EXPECT_TRUE(index.full());
    EXPECT_FALSE(index.maybe_append(30, 3));
    EXPECT_TRUE(index.maybe_append(30, 3, true));
    EXPECT_EQ(index.last_entry(), (timestamp_offset_entry{30, 3}));
    index.truncate_to(2);
    EXPECT_EQ(index.entries(), 1u);
    ASSERT_FALSE(index.trim());
    EXPECT_EQ(std::filesystem::file_size(index.path()), 12u);
}

}  // namespace
}  // namespace broker::log
