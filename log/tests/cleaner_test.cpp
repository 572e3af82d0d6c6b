// Compaction: latest value per key, tombstones and their delete horizon, compressed batches,
// unchanged offsets, producers' last batches, stale rounds and interrupted swaps.
#include <gtest/gtest.h>

#include <map>

#include "log/cleaner.h"
#include "log/tests/test_util.h"

namespace broker::log {
namespace {

using test::kv;
using test::make_batch;
using test::open_log;
using test::read_record;
using test::read_records;
using test::temp_dir;

namespace fs = std::filesystem;

log_config compact_config() {
    log_config c = test::small_config();
    c.policy = cleanup_policy::compact;
    c.min_cleanable_dirty_ratio = 0.01;
    c.delete_retention_ms = 10'000;
    c.segment_bytes = 2048;
    return c;
}

void append(partition_log& log, const std::vector<kv>& records,
            protocol::compression_type compression = protocol::compression_type::none,
            int64_t producer = -1) {
    auto batch = make_batch(records, compression, producer);
    auto r = log.append(batch);
    ASSERT_TRUE(r) << r.error().message();
    log.set_high_watermark(log.log_end_offset());
}

result<clean_stats> clean_once(partition_log& log, int64_t now) {
    auto task = log.prepare_clean(now);
    if (!task) {
        return clean_stats{};
    }
    task->run();
    return log.commit_clean(std::move(task));
}

/// What compaction must leave of `records` below `end`: the latest record per key (tombstones
/// included), everything at or above `end` untouched.
std::vector<read_record> compacted(const std::vector<read_record>& records, int64_t end) {
    std::map<std::string, int64_t> latest;
    for (const auto& r : records) {
        if (r.offset < end && r.key) {
            latest[*r.key] = r.offset;
        }
    }
    std::vector<read_record> out;
    for (const auto& r : records) {
        if (r.offset >= end || (r.key && latest[*r.key] == r.offset)) {
            out.push_back(r);
        }
    }
    return out;
}

TEST(cleaner, keeps_the_latest_value_per_key_with_offsets_unchanged) {
    temp_dir dir;
    manual_clock time;
    auto log = open_log(dir.path() / "t-0", compact_config(), time);
    for (int round = 0; round < 30; ++round) {
        std::vector<kv> batch;
        for (int k = 0; k < 6; ++k) {
            batch.push_back({test::numbered("key", (round + k) % 9),
                             test::numbered("value-", round * 10 + k), 1000 + round});
        }
        append(*log, batch);
    }
    const auto before = read_records(*log);
    const auto bases = log->segment_base_offsets();
    ASSERT_GT(bases.size(), 2u);
    const int64_t active_base = bases.back().value();
    const uint64_t size_before = log->size_bytes();

    auto stats = clean_once(*log, time.now_ms());
    ASSERT_TRUE(stats) << stats.error().message();
    EXPECT_GT(stats.value().segments_replaced, 0u);
    EXPECT_EQ(stats.value().end_offset, active_base);
    EXPECT_EQ(log->cleaner_checkpoint(), offset(active_base));
    EXPECT_LT(log->size_bytes(), size_before);
    EXPECT_EQ(read_records(*log), compacted(before, active_base));
    EXPECT_EQ(log->log_end_offset(), offset(before.back().offset + 1));

    // Reading from an offset that was compacted away returns the next surviving batch.
    auto after = read_records(*log);
    for (int64_t o = 0; o < active_base; ++o) {
        auto r = log->read(offset(o), 1, log->log_end_offset());
        ASSERT_TRUE(r);
        ASSERT_FALSE(r.value().empty());
        auto bytes = r.value().read_all().value();
        auto ranges = test::batch_ranges(bytes);
        EXPECT_GE(ranges.front().second, o);
    }
    // A second round with nothing new to clean does nothing; after a restart the result is the
    // same.
    EXPECT_FALSE(log->prepare_clean(time.now_ms()));
    ASSERT_FALSE(log->close());
    log = open_log(dir.path() / "t-0", compact_config(), time);
    EXPECT_EQ(read_records(*log), after);
}

TEST(cleaner, tombstones_go_only_after_delete_retention) {
    temp_dir dir;
    manual_clock time(1'000'000);
    auto config = compact_config();
    auto log = open_log(dir.path() / "t-0", config, time);
    auto filler = [&](int n) {
        for (int i = 0; i < n; ++i) {
            append(*log, {{test::numbered("filler", i % 3), std::string(200, 'f'), time.now_ms()}});
        }
    };
    append(*log, {{"gone", "v1", time.now_ms()}, {"kept", "k1", time.now_ms()}});
    append(*log, {{"gone", std::nullopt, time.now_ms()}});  // tombstone
    filler(20);
    auto stats = clean_once(*log, time.now_ms());
    ASSERT_TRUE(stats);
    auto records = read_records(*log);
    auto has = [&](const std::string& key, bool tombstone) {
        for (const auto& r : read_records(*log)) {
            if (r.key == key && (r.value == std::nullopt) == tombstone) {
                return true;
            }
        }
        return false;
    };
    EXPECT_FALSE(has("gone", false));  // the old value is superseded
    EXPECT_TRUE(has("gone", true));    // the tombstone stays for now
    EXPECT_TRUE(has("kept", false));

    // Before the horizon a new round keeps it.
    time.advance(config.delete_retention_ms - 1);
    filler(10);
    ASSERT_TRUE(clean_once(*log, time.now_ms()));
    EXPECT_TRUE(has("gone", true));

    // After the horizon the tombstone is removed, even with nothing new to clean.
    time.advance(2);
    auto task = log->prepare_clean(time.now_ms());
    ASSERT_TRUE(task);
    ASSERT_FALSE(task->run());
    auto done = log->commit_clean(std::move(task));
    ASSERT_TRUE(done);
    EXPECT_EQ(done.value().tombstones_removed, 1u);
    EXPECT_FALSE(has("gone", true));
    EXPECT_TRUE(has("kept", false));
}

TEST(cleaner, compressed_batches_stay_compressed) {
    using protocol::compression_type;
    temp_dir dir;
    manual_clock time;
    auto log = open_log(dir.path() / "t-0", compact_config(), time);
    const compression_type codecs[] = {compression_type::gzip, compression_type::snappy,
                                       compression_type::lz4, compression_type::zstd};
    for (int round = 0; round < 40; ++round) {
        std::vector<kv> batch;
        for (int k = 0; k < 5; ++k) {
            batch.push_back({test::numbered("k", (round * 2 + k) % 7),
                             std::string(30, static_cast<char>('a' + round)), 2000 + round});
        }
        append(*log, batch, codecs[round % 4]);
    }
    const auto before = read_records(*log);
    const int64_t active_base = log->segment_base_offsets().back().value();
    ASSERT_GT(active_base, 0);
    auto stats = clean_once(*log, time.now_ms());
    ASSERT_TRUE(stats) << stats.error().message();
    EXPECT_GT(stats.value().records_read, stats.value().records_retained);
    EXPECT_EQ(read_records(*log), compacted(before, active_base));
    // Every batch kept its codec (batch i was appended with codecs[i % 4]) and its offset span.
    auto all = log->read(offset(0), 1 << 20, log->log_end_offset()).value().read_all().value();
    std::span<const uint8_t> rest(all);
    int seen = 0;
    while (!rest.empty()) {
        auto h = protocol::parse_batch_header(rest);
        ASSERT_TRUE(h);
        int index = static_cast<int>(h->base_offset / 5);
        EXPECT_EQ(h->base_offset % 5, 0);
        EXPECT_EQ(h->last_offset_delta, 4);
        if (h->record_count > 0) {
            EXPECT_EQ(h->compression(), codecs[index % 4]) << "batch at " << h->base_offset;
        }
        EXPECT_EQ(protocol::validate_batch(rest.first(h->size_bytes()), false),
                  protocol::batch_error::ok);
        rest = rest.subspan(h->size_bytes());
        ++seen;
    }
    EXPECT_GT(seen, 0);
}

TEST(cleaner, keeps_a_producers_last_batch_as_an_empty_batch) {
    temp_dir dir;
    manual_clock time;
    auto log = open_log(dir.path() / "t-0", compact_config(), time);
    append(*log, {{"a", "1", 1}, {"b", "1", 1}}, protocol::compression_type::none,
           77);  // producer 77's only batch
    append(*log, {{"c", "1", 1}}, protocol::compression_type::none, 88);
    append(*log, {{"c", "2", 1}}, protocol::compression_type::none,
           88);  // supersedes producer 88's first batch
    for (int i = 0; i < 12; ++i) {
        append(*log,
               {{"a", "2", 1}, {"b", "2", 1}, {test::numbered("z", i), std::string(150, 'z'), 1}});
    }
    ASSERT_TRUE(clean_once(*log, time.now_ms()));
    auto all = log->read(offset(0), 1 << 20, log->log_end_offset()).value().read_all().value();
    auto first = protocol::parse_batch_header(all);
    ASSERT_TRUE(first);
    EXPECT_EQ(first->producer_id, 77);
    EXPECT_EQ(first->record_count, 0);
    EXPECT_EQ(first->base_offset, 0);
    EXPECT_EQ(first->last_offset(), 1);
    auto second =
        protocol::parse_batch_header(std::span<const uint8_t>(all).subspan(first->size_bytes()));
    EXPECT_EQ(second->base_offset, 3);  // producer 88's superseded first batch is gone
    EXPECT_EQ(second->producer_id, 88);
}

TEST(cleaner, round_is_discarded_when_the_log_changes_meanwhile) {
    temp_dir dir;
    manual_clock time;
    auto log = open_log(dir.path() / "t-0", compact_config(), time);
    for (int i = 0; i < 20; ++i) {
        append(*log, {{test::numbered("k", i % 4), std::string(100, 'v'), 1}});
    }
    auto task = log->prepare_clean(time.now_ms());
    ASSERT_TRUE(task);
    EXPECT_FALSE(log->prepare_clean(time.now_ms()));  // one round at a time
    ASSERT_FALSE(task->run());
    ASSERT_FALSE(log->truncate_to(offset(5)));
    EXPECT_EQ(log->commit_clean(std::move(task)).error(), errc::stale_clean);
    EXPECT_EQ(read_records(*log).size(), 5u);
    for (const auto& e : fs::directory_iterator(dir.path() / "t-0")) {
        EXPECT_EQ(e.path().string().find(".cleaned"), std::string::npos);
    }
    // A dropped task frees the log for the next round and removes its files.
    for (int i = 0; i < 20; ++i) {
        append(*log, {{test::numbered("k", i % 4), std::string(100, 'v'), 1}});
    }
    {
        auto dropped = log->prepare_clean(time.now_ms());
        ASSERT_TRUE(dropped);
        ASSERT_FALSE(dropped->run());
    }
    for (const auto& e : fs::directory_iterator(dir.path() / "t-0")) {
        EXPECT_EQ(e.path().string().find(".cleaned"), std::string::npos);
    }
    EXPECT_TRUE(log->prepare_clean(time.now_ms()));
}

TEST(cleaner, swap_interrupted_after_the_commit_point_completes_at_startup) {
    temp_dir dir;
    manual_clock time;
    const fs::path d = dir.path() / "t-0";
    std::vector<read_record> before;
    int64_t active_base = 0;
    {
        auto log = open_log(d, compact_config(), time);
        for (int i = 0; i < 30; ++i) {
            append(*log, {{test::numbered("k", i % 5),
                           std::string(80, static_cast<char>('a' + i % 26)), 1}});
        }
        before = read_records(*log);
        active_base = log->segment_base_offsets().back().value();
        auto task = log->prepare_clean(time.now_ms());
        ASSERT_TRUE(task);
        ASSERT_FALSE(task->run());
        // Simulate a crash right after ".cleaned -> .swap": rename the cleaned files by hand and
        // never commit. (The task's files are then not where it left them, so it cannot remove
        // them.)
        for (const auto& e : fs::directory_iterator(d)) {
            std::string name = e.path().filename().string();
            if (name.size() > 8 && name.compare(name.size() - 8, 8, ".cleaned") == 0) {
                fs::rename(e.path(), d / (name.substr(0, name.size() - 8) + ".swap"));
            }
        }
        ASSERT_FALSE(log->close());
    }
    auto log = open_log(d, compact_config(), time, false);
    ASSERT_TRUE(log);
    EXPECT_EQ(read_records(*log), compacted(before, active_base));
    EXPECT_EQ(log->log_end_offset(), offset(30));
    for (const auto& e : fs::directory_iterator(d)) {
        EXPECT_EQ(e.path().string().find(".swap"), std::string::npos);
    }
}

TEST(cleaner, policy_and_dirty_ratio_gate_a_round) {
    temp_dir dir;
    manual_clock time;
    auto config = compact_config();
    config.policy = cleanup_policy::delete_;
    auto log = open_log(dir.path() / "t-0", config, time);
    int next_key = 0;
    auto add = [&](int n) {
        for (int i = 0; i < n; ++i) {
            append(*log, {{test::numbered("k", next_key++), std::string(100, 'v'), time.now_ms()}});
        }
    };
    add(40);
    EXPECT_FALSE(log->prepare_clean(time.now_ms()));  // not compacted
    config.policy = cleanup_policy::compact_delete;
    config.min_cleanable_dirty_ratio = 0.9;
    ASSERT_FALSE(log->set_config(config));
    auto first = clean_once(*log, time.now_ms());  // everything is dirty at first: ratio 1.0
    ASSERT_TRUE(first);
    EXPECT_GT(first.value().segments_replaced, 0u);
    add(12);
    EXPECT_FALSE(log->prepare_clean(time.now_ms()));  // some new dirt, well below 0.9
    config.min_cleanable_dirty_ratio = 0.01;
    config.min_compaction_lag_ms = 1'000'000;
    ASSERT_FALSE(log->set_config(config));
    EXPECT_FALSE(
        log->prepare_clean(time.now_ms()));  // min.compaction.lag.ms holds recent segments back
    time.advance(1'000'001);
    EXPECT_TRUE(log->prepare_clean(time.now_ms()));
}

TEST(cleaner, empty_batch_and_horizon_helpers) {
    auto batch = make_batch({{"k", "v", 123}}, protocol::compression_type::lz4, 5);
    auto h = protocol::parse_batch_header(batch);
    auto empty = make_empty_batch(*h);
    EXPECT_EQ(empty.size(), protocol::batch_header_size);
    EXPECT_EQ(protocol::validate_batch(empty, false), protocol::batch_error::ok);
    auto eh = protocol::parse_batch_header(empty);
    EXPECT_EQ(eh->record_count, 0);
    EXPECT_EQ(eh->producer_id, 5);
    EXPECT_EQ(eh->compression(), protocol::compression_type::none);
    EXPECT_EQ(eh->max_timestamp, 123);
    set_delete_horizon_flag(batch);
    EXPECT_TRUE(protocol::parse_batch_header(batch)->has_delete_horizon());
    EXPECT_EQ(protocol::validate_batch(batch, true), protocol::batch_error::ok);
}

}  // namespace
}  // namespace broker::log
