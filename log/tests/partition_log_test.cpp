// partition_log: appends, reads, rolls, timestamps, follower appends, truncation, flushing, epochs.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <thread>

#include "log/tests/test_util.h"

namespace broker::log {
namespace {

using test::kv;
using test::make_batch;
using test::make_simple_batch;
using test::open_log;
using test::read_records;
using test::temp_dir;

template <typename Batch>
append_result must_append(partition_log& log, Batch&& batch, int32_t epoch = -1) {
    auto r = log.append(std::span<uint8_t>(batch), epoch);
    if (!r) {
        ADD_FAILURE() << "append failed: " << r.error().message();
        return {};
    }
    return r.value();
}

TEST(partition_log, append_assigns_offsets_and_reads_back) {
    temp_dir dir;
    manual_clock time;
    auto log = open_log(dir.path() / "t-0", log_config{}, time);
    ASSERT_TRUE(log);
    EXPECT_EQ(log->log_end_offset(), offset(0));
    for (int i = 0; i < 10; ++i) {
        auto batch =
            make_batch({{test::numbered("k", i), "a", 1}, {std::nullopt, "b", 2}, {"x", "c", 3}});
        auto r = must_append(*log, batch);
        EXPECT_EQ(r.base_offset, offset(i * 3));
        EXPECT_EQ(r.last_offset, offset(i * 3 + 2));
        EXPECT_EQ(r.log_append_time, -1);
        EXPECT_EQ(r.log_start_offset, offset(0));
        // The offset was written into the caller's bytes, which were then written out unchanged.
        EXPECT_EQ(protocol::parse_batch_header(batch)->base_offset, i * 3);
    }
    EXPECT_EQ(log->log_end_offset(), offset(30));
    auto records = read_records(*log);
    ASSERT_EQ(records.size(), 30u);
    for (int i = 0; i < 30; ++i) {
        EXPECT_EQ(records[i].offset, i);
    }
    EXPECT_EQ(records[3].key, "k1");
    EXPECT_EQ(records[4].key, std::nullopt);
    EXPECT_EQ(records[5].value, "c");
    EXPECT_EQ(records[5].timestamp, 3);
}

TEST(partition_log, log_append_time_stamps_the_batch) {
    temp_dir dir;
    manual_clock time(5'000'000);
    log_config config;
    config.message_timestamp_type = protocol::timestamp_type::log_append_time;
    auto log = open_log(dir.path() / "t-0", config, time);
    auto batch = make_batch({{"a", "1", 10}, {"b", "2", 20}});
    auto r = must_append(*log, batch);
    EXPECT_EQ(r.log_append_time, 5'000'000);
    EXPECT_EQ(protocol::validate_batch(batch, true), protocol::batch_error::ok);  // CRC recomputed
    for (const auto& rec : read_records(*log)) {
        EXPECT_EQ(rec.timestamp, 5'000'000);
    }
    auto max = log->offset_of_max_timestamp();
    ASSERT_TRUE(max && max.value());
    EXPECT_EQ(max.value()->timestamp, 5'000'000);
    EXPECT_EQ(max.value()->offset_value, offset(0));
}

TEST(partition_log, refuses_malformed_and_oversized_batches) {
    temp_dir dir;
    manual_clock time;
    log_config config = test::small_config();
    config.max_message_bytes = 600;
    auto log = open_log(dir.path() / "t-0", config, time);
    auto one = make_simple_batch(1, 10);
    std::vector<uint8_t> two = one;
    two.insert(two.end(), one.begin(), one.end());
    EXPECT_EQ(log->append(two).error(), errc::corrupt_batch);
    std::vector<uint8_t> cut(one.begin(), one.end() - 1);
    EXPECT_EQ(log->append(cut).error(), errc::corrupt_batch);
    std::vector<uint8_t> tiny(10, 0);
    EXPECT_EQ(log->append(tiny).error(), errc::corrupt_batch);
    auto big = make_simple_batch(1, 700);
    EXPECT_EQ(log->append(big).error(), errc::message_too_large);
    config.max_message_bytes = 1 << 20;
    ASSERT_FALSE(log->set_config(config));
    auto huge = make_simple_batch(1, 2000);
    EXPECT_EQ(log->append(huge).error(), errc::record_batch_too_large);
    EXPECT_EQ(log->log_end_offset(), offset(0));
}

TEST(partition_log, rolls_by_size_and_reads_across_segments) {
    temp_dir dir;
    manual_clock time;
    auto log = open_log(dir.path() / "t-0", test::small_config(), time);
    for (int i = 0; i < 40; ++i) {
        must_append(*log, make_simple_batch(2, 50));
    }
    EXPECT_GT(log->segment_count(), 5u);
    auto bases = log->segment_base_offsets();
    for (std::size_t i = 0; i + 1 < bases.size(); ++i) {
        auto name = dir.path() / "t-0" / (segment::file_stem(bases[i].value()) + ".log");
        EXPECT_LE(std::filesystem::file_size(name), 1024u);
        // Closed segments have trimmed indexes.
        auto idx = dir.path() / "t-0" / (segment::file_stem(bases[i].value()) + ".index");
        EXPECT_LT(std::filesystem::file_size(idx), 4096u);
    }
    auto records = read_records(*log);
    ASSERT_EQ(records.size(), 80u);
    for (int i = 0; i < 80; ++i) {
        EXPECT_EQ(records[i].offset, i);
    }
    // Every offset can be a starting point.
    for (int64_t start = 0; start < 80; ++start) {
        auto r = log->read(offset(start), 1, offset(80));
        ASSERT_TRUE(r);
        ASSERT_EQ(r.value().regions.size(), 1u);
        EXPECT_EQ(r.value().first_offset, offset(start - start % 2));
        EXPECT_EQ(r.value().next_offset, offset(start - start % 2 + 2));
    }
}

TEST(partition_log, rolls_by_time_with_the_injected_clock) {
    temp_dir dir;
    manual_clock time;
    log_config config;
    config.segment_ms = 1000;
    auto log = open_log(dir.path() / "t-0", config, time);
    EXPECT_FALSE(must_append(*log, make_simple_batch(1, 10)).rolled);
    time.advance(1000);
    EXPECT_FALSE(must_append(*log, make_simple_batch(1, 10)).rolled);
    EXPECT_EQ(log->segment_count(), 1u);
    time.advance(1);
    auto r = must_append(*log, make_simple_batch(1, 10));
    EXPECT_TRUE(r.rolled);
    EXPECT_EQ(log->segment_count(), 2u);
    EXPECT_EQ(log->segment_base_offsets().back(), offset(2));
    // The roll fsynced the closed segment.
    EXPECT_EQ(log->recovery_point(), offset(2));
}

TEST(partition_log, rolls_when_an_index_is_full) {
    temp_dir dir;
    manual_clock time;
    log_config config;
    config.segment_index_bytes = 48;  // 6 offset entries, 4 time entries (one kept for closing)
    config.index_interval_bytes = 0;
    auto log = open_log(dir.path() / "t-0", config, time);
    for (int i = 0; i < 20; ++i) {
        auto batch = make_simple_batch(1, 10, 1000 + i);
        must_append(*log, batch);
    }
    EXPECT_GT(log->segment_count(), 3u);
    EXPECT_EQ(read_records(*log).size(), 20u);
}

TEST(partition_log, read_limits) {
    temp_dir dir;
    manual_clock time;
    auto log = open_log(dir.path() / "t-0", log_config{}, time);
    std::vector<std::size_t> sizes;
    for (int i = 0; i < 10; ++i) {
        auto batch = make_simple_batch(5, 100);
        sizes.push_back(batch.size());
        must_append(*log, batch);
    }
    // At least one whole batch even when max_bytes is smaller.
    auto r = log->read(offset(7), 10, offset(50));
    ASSERT_TRUE(r);
    EXPECT_EQ(r.value().size_bytes, sizes[1]);
    EXPECT_EQ(r.value().first_offset, offset(5));
    EXPECT_EQ(r.value().next_offset, offset(10));
    // Whole batches only: 2.5 batches of room gives 2.
    r = log->read(offset(0), sizes[0] * 5 / 2, offset(50));
    EXPECT_EQ(r.value().size_bytes, sizes[0] + sizes[1]);
    // Never past the upper bound, even partially: a bound inside batch 3 stops after batch 2.
    r = log->read(offset(0), 1 << 20, offset(17));
    EXPECT_EQ(r.value().size_bytes, sizes[0] + sizes[1] + sizes[2]);
    EXPECT_EQ(r.value().next_offset, offset(15));
    r = log->read(offset(15), 1 << 20, offset(17));
    EXPECT_TRUE(r.value().empty());
    // At the end: empty. Past the end or below the start: out of range.
    r = log->read(offset(50), 1 << 20, offset(50));
    EXPECT_TRUE(r.value().empty());
    EXPECT_EQ(log->read(offset(51), 100, offset(60)).error(), errc::offset_out_of_range);
    EXPECT_EQ(log->read(offset(-1), 100, offset(60)).error(), errc::offset_out_of_range);
    // Everything.
    r = log->read(offset(0), 1 << 20, offset(50));
    uint64_t total = 0;
    for (auto s : sizes) {
        total += s;
    }
    EXPECT_EQ(r.value().size_bytes, total);
    auto bytes = r.value().read_all();
    ASSERT_TRUE(bytes);
    auto ranges = test::batch_ranges(bytes.value());
    ASSERT_EQ(ranges.size(), 10u);
    EXPECT_EQ(ranges[9], std::make_pair(int64_t{45}, int64_t{49}));
}

TEST(partition_log, read_bounds_with_many_index_entries) {
    // Reads jump over index entries; check the result against a batch-by-batch expectation.
    temp_dir dir;
    manual_clock time;
    log_config config;
    config.index_interval_bytes = 256;
    auto log = open_log(dir.path() / "t-0", config, time);
    std::vector<std::pair<int64_t, std::size_t>> batches;  // base offset, size
    int64_t next = 0;
    for (int i = 0; i < 300; ++i) {
        int count = 1 + i % 4;
        auto batch = make_simple_batch(count, static_cast<std::size_t>(20 + (i * 37) % 300));
        batches.emplace_back(next, batch.size());
        next += count;
        must_append(*log, batch);
    }
    for (int trial = 0; trial < 200; ++trial) {
        int64_t start = (trial * 7919) % next;
        uint64_t max_bytes = static_cast<uint64_t>((trial * 104729) % 20000);
        int64_t bound = std::min<int64_t>(next, start + (trial * 31) % 400);
        auto r = log->read(offset(start), max_bytes, offset(bound));
        ASSERT_TRUE(r);
        // Expected: from the batch containing start, whole batches below bound, within max_bytes
        // (first one always).
        std::size_t i = 0;
        while (i + 1 < batches.size() && batches[i + 1].first <= start) {
            ++i;
        }
        uint64_t expected = 0;
        for (std::size_t j = i; j < batches.size(); ++j) {
            int64_t last = (j + 1 < batches.size() ? batches[j + 1].first : next) - 1;
            if (last >= bound || (expected > 0 && expected + batches[j].second > max_bytes)) {
                break;
            }
            expected += batches[j].second;
        }
        EXPECT_EQ(r.value().size_bytes, expected)
            << "start " << start << " max " << max_bytes << " bound " << bound;
    }
}

TEST(partition_log, offsets_by_timestamp) {
    temp_dir dir;
    manual_clock time;
    log_config config = test::small_config();
    auto log = open_log(dir.path() / "t-0", config, time);
    // Batch i holds records with timestamps 1000 + 10*i + {0, 3, 6}; one batch out of order.
    for (int i = 0; i < 30; ++i) {
        int64_t base = i == 20 ? 500 : 1000 + 10 * i;
        must_append(*log,
                    make_batch({{"a", "x", base}, {"b", "y", base + 3}, {"c", "z", base + 6}}));
    }
    auto at = [&](int64_t ts) -> int64_t {
        auto r = log->offset_for_timestamp(ts);
        EXPECT_TRUE(r);
        return r.value() ? r.value()->offset_value.value() : -1;
    };
    EXPECT_EQ(at(0), 0);
    EXPECT_EQ(at(1000), 0);
    EXPECT_EQ(at(1001), 1);
    EXPECT_EQ(at(1004), 2);
    EXPECT_EQ(at(1007), 3);
    EXPECT_EQ(at(1153), 46);
    EXPECT_EQ(at(1296), 89);
    EXPECT_EQ(at(1297), -1);
    auto exact = log->offset_for_timestamp(1103);
    EXPECT_EQ(exact.value()->timestamp, 1103);
    auto max = log->offset_of_max_timestamp();
    ASSERT_TRUE(max.value());
    EXPECT_EQ(max.value()->timestamp, 1296);
    EXPECT_EQ(max.value()->offset_value, offset(89));
    // Still right after a restart (time indexes read back from disk).
    ASSERT_FALSE(log->close());
    log = open_log(dir.path() / "t-0", config, time);
    EXPECT_EQ(at(1153), 46);
    EXPECT_EQ(log->offset_of_max_timestamp().value()->offset_value, offset(89));
}

TEST(partition_log, follower_append_keeps_offsets) {
    temp_dir dir;
    manual_clock time;
    auto log = open_log(dir.path() / "t-0", test::small_config(), time);
    std::vector<uint8_t> chunk;
    for (int64_t base : {0, 3, 10, 12}) {  // a gap 6..9, as after compaction on the leader
        auto b = make_batch({{"k", "v", 1}, {"k", "v", 2}}, protocol::compression_type::none, -1,
                            base, 4);
        chunk.insert(chunk.end(), b.begin(), b.end());
    }
    auto r = log->append_as_follower(chunk);
    ASSERT_TRUE(r);
    EXPECT_EQ(r.value().base_offset, offset(0));
    EXPECT_EQ(r.value().last_offset, offset(13));
    EXPECT_EQ(log->log_end_offset(), offset(14));
    EXPECT_EQ(log->leader_epochs().latest_epoch(), 4);
    std::vector<int64_t> offsets;
    for (const auto& rec : read_records(*log)) {
        offsets.push_back(rec.offset);
    }
    EXPECT_EQ(offsets, (std::vector<int64_t>{0, 1, 3, 4, 10, 11, 12, 13}));
    // Reading from inside the gap starts at the next batch.
    auto g = log->read(offset(7), 1000, offset(14));
    EXPECT_EQ(g.value().first_offset, offset(10));
    // Offsets below the log end are refused.
    auto old = make_batch({{"k", "v", 1}}, protocol::compression_type::none, -1, 13);
    EXPECT_EQ(log->append_as_follower(old).error(), errc::invalid_offset);
    // A big follower chunk rolls as needed.
    std::vector<uint8_t> many;
    for (int i = 0; i < 30; ++i) {
        auto b = make_batch({{"k", std::string(100, 'v'), 1}}, protocol::compression_type::none, -1,
                            14 + i, 5);
        many.insert(many.end(), b.begin(), b.end());
    }
    ASSERT_TRUE(log->append_as_follower(many));
    EXPECT_EQ(log->log_end_offset(), offset(44));
    EXPECT_GT(log->segment_count(), 2u);
    EXPECT_EQ(log->end_offset_for_epoch(4), std::make_pair(4, offset(14)));
    EXPECT_EQ(read_records(*log).size(), 38u);
}

TEST(partition_log, truncate_to_removes_everything_from_the_offset) {
    temp_dir dir;
    manual_clock time;
    auto config = test::small_config();
    auto log = open_log(dir.path() / "t-0", config, time);
    for (int i = 0; i < 30; ++i) {
        must_append(*log, make_simple_batch(2, 60), i < 15 ? 1 : 2);
    }
    ASSERT_EQ(log->log_end_offset(), offset(60));
    const std::size_t segments_before = log->segment_count();
    ASSERT_GT(segments_before, 3u);
    log->set_high_watermark(offset(60));
    ASSERT_FALSE(log->truncate_to(offset(22)));
    EXPECT_EQ(log->log_end_offset(), offset(22));
    EXPECT_EQ(log->high_watermark(), offset(22));
    EXPECT_LT(log->segment_count(), segments_before);
    EXPECT_EQ(read_records(*log).size(), 22u);
    EXPECT_EQ(log->leader_epochs().latest_epoch(), 1);  // epoch 2 started at 30
    // Appends continue at the truncation point and everything reads back after a restart.
    EXPECT_EQ(must_append(*log, make_simple_batch(3, 60), 3).base_offset, offset(22));
    ASSERT_FALSE(log->close());
    log = open_log(dir.path() / "t-0", config, time);
    auto records = read_records(*log);
    ASSERT_EQ(records.size(), 25u);
    EXPECT_EQ(records.back().offset, 24);
    // Truncating to the log end is a no-op; below the start it empties the log.
    ASSERT_FALSE(log->truncate_to(offset(25)));
    EXPECT_EQ(log->log_end_offset(), offset(25));
}

TEST(partition_log, truncate_fully_and_start_at) {
    temp_dir dir;
    manual_clock time;
    auto log = open_log(dir.path() / "t-0", test::small_config(), time);
    for (int i = 0; i < 20; ++i) {
        must_append(*log, make_simple_batch(2, 60), 1);
    }
    auto before = log->read(offset(0), 1 << 20, offset(40));
    ASSERT_FALSE(log->truncate_fully_and_start_at(offset(100)));
    EXPECT_EQ(log->log_start_offset(), offset(100));
    EXPECT_EQ(log->log_end_offset(), offset(100));
    EXPECT_EQ(log->segment_count(), 1u);
    EXPECT_FALSE(log->leader_epochs().latest_epoch());
    EXPECT_EQ(must_append(*log, make_simple_batch(1, 10)).base_offset, offset(100));
    // The old read result still reads the old bytes although the files are gone.
    auto bytes = before.value().read_all();
    ASSERT_TRUE(bytes);
    EXPECT_EQ(test::batch_ranges(bytes.value()).size(), 20u);
}

TEST(partition_log, flush_and_recovery_point) {
    temp_dir dir;
    manual_clock time;
    log_config config;
    config.flush_messages = 5;
    auto log = open_log(dir.path() / "t-0", config, time);
    EXPECT_FALSE(log->flush_due(time.now_ms()));
    must_append(*log, make_simple_batch(2, 10));
    must_append(*log, make_simple_batch(2, 10));
    EXPECT_FALSE(log->flush_due(time.now_ms()));
    must_append(*log, make_simple_batch(2, 10));
    EXPECT_TRUE(log->flush_due(time.now_ms()));
    EXPECT_EQ(log->recovery_point(), offset(0));
    // Group commit: one flush covers all appends so far; asking again for an offset it covered is
    // free.
    auto request = log->prepare_flush(offset(2));
    EXPECT_FALSE(request.empty());
    EXPECT_EQ(request.target(), offset(6));
    ASSERT_FALSE(request.run());
    log->complete_flush(request);
    EXPECT_EQ(log->recovery_point(), offset(6));
    EXPECT_FALSE(log->flush_due(time.now_ms()));
    EXPECT_TRUE(log->prepare_flush(offset(6)).done());
    // flush.ms
    config.flush_messages = INT64_MAX;
    config.flush_ms = 1000;
    ASSERT_FALSE(log->set_config(config));
    must_append(*log, make_simple_batch(1, 10));
    EXPECT_FALSE(log->flush_due(time.now_ms()));
    time.advance(1000);
    EXPECT_TRUE(log->flush_due(time.now_ms()));
    ASSERT_FALSE(log->flush());
    EXPECT_EQ(log->recovery_point(), offset(7));
    // A flush prepared before a truncation does not move the recovery point past new data.
    must_append(*log, make_simple_batch(3, 10));
    auto stale = log->prepare_flush(offset(10));
    ASSERT_FALSE(log->truncate_to(offset(8)));
    must_append(*log, make_simple_batch(3, 10));
    ASSERT_FALSE(stale.run());
    log->complete_flush(stale);
    EXPECT_EQ(log->recovery_point(), offset(7));
}

TEST(partition_log, deferred_roll_flush_is_left_to_the_caller) {
    temp_dir dir;
    manual_clock time;
    auto o = test::options_for(dir.path() / "t-0", test::small_config(), time);
    o.flush_on_roll = false;
    auto log = std::move(partition_log::open(o)).value();
    int64_t rolled_at = -1;
    for (int i = 0; i < 20 && rolled_at < 0; ++i) {
        auto r = must_append(*log, make_simple_batch(2, 100));
        if (r.rolled) {
            rolled_at = r.base_offset.value();
        }
    }
    ASSERT_GT(rolled_at, 0);
    EXPECT_EQ(log->recovery_point(), offset(0));  // nothing fsynced inline
    EXPECT_EQ(log->pending_roll_flush(), offset(rolled_at));
    EXPECT_TRUE(log->flush_due(time.now_ms()));
    auto request = log->prepare_flush(log->pending_roll_flush());
    ASSERT_FALSE(request.run());
    log->complete_flush(request);
    EXPECT_GE(log->recovery_point(), offset(rolled_at));
    EXPECT_EQ(log->pending_roll_flush(), offset(0));
    EXPECT_FALSE(log->flush_due(time.now_ms()));
}

TEST(partition_log, clean_reopen_restores_state) {
    temp_dir dir;
    manual_clock time;
    auto config = test::small_config();
    auto log = open_log(dir.path() / "t-0", config, time);
    for (int i = 0; i < 25; ++i) {
        must_append(*log, make_batch({{"k", std::string(40, 'x'), 100 + i}, {"k", "y", 50}}), 7);
    }
    auto before = read_records(*log);
    auto bases = log->segment_base_offsets();
    ASSERT_FALSE(log->close());
    auto late = make_simple_batch(1, 1);
    EXPECT_EQ(log->append(late).error(), errc::log_closed);
    log = open_log(dir.path() / "t-0", config, time);
    EXPECT_EQ(log->log_end_offset(), offset(50));
    EXPECT_EQ(log->recovery_point(), offset(50));
    EXPECT_EQ(log->segment_base_offsets(), bases);
    EXPECT_EQ(read_records(*log), before);
    EXPECT_EQ(log->offset_of_max_timestamp().value()->offset_value, offset(48));
    EXPECT_EQ(log->leader_epochs().latest_epoch(), 7);
    EXPECT_EQ(must_append(*log, make_simple_batch(1, 10)).base_offset, offset(50));
}

TEST(partition_log, leader_epochs_and_high_watermark) {
    temp_dir dir;
    manual_clock time;
    auto log = open_log(dir.path() / "t-0", log_config{}, time);
    auto batch = make_simple_batch(3, 10);
    must_append(*log, batch, 2);
    EXPECT_EQ(protocol::parse_batch_header(batch)->partition_leader_epoch, 2);
    ASSERT_FALSE(log->assign_leader_epoch(5, log->log_end_offset()));
    must_append(*log, make_simple_batch(2, 10), 5);
    EXPECT_EQ(log->end_offset_for_epoch(2), std::make_pair(2, offset(3)));
    EXPECT_EQ(log->end_offset_for_epoch(5), std::make_pair(5, offset(5)));
    EXPECT_EQ(log->end_offset_for_epoch(3), std::make_pair(2, offset(3)));
    log->set_high_watermark(offset(100));
    EXPECT_EQ(log->high_watermark(), offset(5));
    log->set_high_watermark(offset(-4));
    EXPECT_EQ(log->high_watermark(), offset(0));
    auto ts = log->offset_for_timestamp(0);
    EXPECT_EQ(ts.value()->leader_epoch, 2);
}

}  // namespace
}  // namespace broker::log

namespace broker::log {
namespace {

TEST(partition_log, malformed_input_is_refused_without_harm) {
    temp_dir dir;
    manual_clock time;
    auto log = open_log(dir.path() / "t-0", test::small_config(), time);
    const auto valid = make_batch({{"k", "v", 1}, {"k2", "v2", 2}});
    std::mt19937_64 rng(1234);
    for (int i = 0; i < 600; ++i) {
        std::vector<uint8_t> bytes = valid;
        // Damage a few header bytes or cut the buffer.
        for (int j = 0; j < 1 + i % 4; ++j) {
            bytes[rng() % protocol::batch_header_size] = static_cast<uint8_t>(rng());
        }
        if (i % 5 == 0) {
            bytes.resize(rng() % (bytes.size() + 1));
        }
        std::vector<uint8_t> copy = bytes;
        auto leader = log->append(bytes);
        if (leader) {
            // Only a batch of exactly this size with a sane header gets in.
            EXPECT_EQ(protocol::peek_batch_size(bytes).value_or(0), bytes.size());
        }
        auto follower = log->append_as_follower(copy);
        (void)follower;
    }
    // Whatever went in is readable as whole batches and the log reopens cleanly.
    auto all = log->read(log->log_start_offset(), 1 << 24, log->log_end_offset());
    ASSERT_TRUE(all);
    auto bytes = all.value().read_all();
    ASSERT_TRUE(bytes);
    EXPECT_NO_THROW(test::batch_ranges(bytes.value()));
    ASSERT_FALSE(log->close());
    auto reopened = open_log(dir.path() / "t-0", test::small_config(), time, false);
    ASSERT_TRUE(reopened);
}

TEST(partition_log, flush_and_clean_run_on_a_worker_while_the_owner_appends) {
    temp_dir dir;
    manual_clock time;
    log_config config = test::small_config();
    config.policy = cleanup_policy::compact;
    config.min_cleanable_dirty_ratio = 0.01;
    auto log = open_log(dir.path() / "t-0", config, time);
    auto append_some = [&](int n, int salt) {
        for (int i = 0; i < n; ++i) {
            auto batch =
                make_batch({{test::numbered("k", i % 7), test::numbered("v", salt * 1000 + i), 1}});
            ASSERT_TRUE(log->append(batch));
        }
        log->set_high_watermark(log->log_end_offset());
    };
    append_some(60, 0);
    auto flush = log->prepare_flush(log->log_end_offset());
    auto clean = log->prepare_clean(time.now_ms());
    ASSERT_TRUE(clean);
    std::error_code flush_ec;
    std::error_code clean_ec;
    std::thread worker([&] {
        flush_ec = flush.run();
        clean_ec = clean->run();
    });
    append_some(60, 1);  // the owner keeps appending (and rolling) meanwhile
    worker.join();
    ASSERT_FALSE(flush_ec);
    ASSERT_FALSE(clean_ec);
    log->complete_flush(flush);
    EXPECT_GE(log->recovery_point(), offset(60));
    auto committed = log->commit_clean(std::move(clean));
    ASSERT_TRUE(committed) << committed.error().message();
    EXPECT_GT(committed.value().segments_replaced, 0u);
    // Every key's latest value is still there, offsets intact, and the tail is untouched.
    auto records = read_records(*log);
    std::map<std::string, std::string> latest;
    for (const auto& r : records) {
        latest[*r.key] = *r.value;
    }
    for (int k = 0; k < 7; ++k) {
        int last_i = 59 - ((59 - k) % 7);
        EXPECT_EQ(latest[test::numbered("k", k)], test::numbered("v", 1000 + last_i));
    }
    EXPECT_EQ(records.back().offset, 119);
}

}  // namespace
}  // namespace broker::log
