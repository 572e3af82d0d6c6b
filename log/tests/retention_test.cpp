// Retention by time and size, DeleteRecords, delayed file deletion and reader safety.
#include <gtest/gtest.h>

#include "log/tests/test_util.h"

namespace broker::log {
namespace {

using test::make_batch;
using test::make_simple_batch;
using test::open_log;
using test::read_records;
using test::temp_dir;

std::size_t count_files(const std::filesystem::path& dir, const std::string& suffix) {
    std::size_t n = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
        std::string name = e.path().filename().string();
        if (name.size() >= suffix.size() &&
            name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
            ++n;
        }
    }
    return n;
}

TEST(retention, time_based_deletes_old_closed_segments_only) {
    temp_dir dir;
    manual_clock time(1'000'000);
    log_config config = test::small_config();
    config.retention_ms = 10'000;
    auto log = open_log(dir.path() / "t-0", config, time, false);
    // Ten segments' worth; record timestamps follow the clock.
    for (int i = 0; i < 40; ++i) {
        auto batch = make_simple_batch(2, 100, time.now_ms());
        ASSERT_TRUE(log->append(batch));
        time.advance(1000);
    }
    log->set_high_watermark(log->log_end_offset());
    const std::size_t segments = log->segment_count();
    ASSERT_GT(segments, 5u);
    // The clock is at +40 s: segments whose newest record is older than +30 s are expired.
    auto r = log->run_retention(time.now_ms());
    ASSERT_TRUE(r);
    EXPECT_GT(r.value().deleted_segments, 0u);
    EXPECT_LT(log->segment_count(), segments);
    EXPECT_EQ(log->log_start_offset(), log->segment_base_offsets().front());
    for (const auto& rec : read_records(*log)) {
        EXPECT_GE(rec.offset, log->log_start_offset().value());
    }
    // Far in the future everything but the active segment goes.
    time.advance(1'000'000);
    ASSERT_TRUE(log->run_retention(time.now_ms()));
    EXPECT_EQ(log->segment_count(), 1u);
    EXPECT_EQ(log->log_start_offset(), log->segment_base_offsets().front());
    EXPECT_EQ(log->read(offset(0), 100, log->log_end_offset()).error(), errc::offset_out_of_range);
    EXPECT_EQ(count_files(dir.path() / "t-0", ".log"), 1u);
}

TEST(retention, respects_the_high_watermark) {
    temp_dir dir;
    manual_clock time(1'000'000);
    log_config config = test::small_config();
    config.retention_ms = 1;
    auto log = open_log(dir.path() / "t-0", config, time, false);
    for (int i = 0; i < 20; ++i) {
        auto batch = make_simple_batch(2, 100, 1);
        ASSERT_TRUE(log->append(batch));
    }
    log->set_high_watermark(offset(0));
    ASSERT_TRUE(log->run_retention(time.now_ms()));
    EXPECT_EQ(log->log_start_offset(), offset(0));
    auto bases = log->segment_base_offsets();
    ASSERT_GT(bases.size(), 3u);
    log->set_high_watermark(bases[2]);  // segments 0 and 1 are wholly below
    auto r = log->run_retention(time.now_ms());
    EXPECT_EQ(r.value().deleted_segments, 2u);
    EXPECT_EQ(log->log_start_offset(), bases[2]);
}

TEST(retention, size_based) {
    temp_dir dir;
    manual_clock time;
    log_config config = test::small_config();
    config.retention_ms = -1;
    config.retention_bytes = 3000;
    auto log = open_log(dir.path() / "t-0", config, time, false);
    for (int i = 0; i < 60; ++i) {
        auto batch = make_simple_batch(2, 100);
        ASSERT_TRUE(log->append(batch));
    }
    log->set_high_watermark(log->log_end_offset());
    ASSERT_TRUE(log->run_retention(time.now_ms()));
    // Kafka's rule: delete the oldest segment only while what remains is still >= retention.bytes.
    auto first = dir.path() / "t-0" /
                 (segment::file_stem(log->segment_base_offsets().front().value()) + ".log");
    EXPECT_GE(log->size_bytes(), 3000u);
    EXPECT_LT(log->size_bytes() - std::filesystem::file_size(first), 3000u);
    EXPECT_GT(log->log_start_offset(), offset(0));
    // cleanup.policy=compact disables both time and size retention.
    config.policy = cleanup_policy::compact;
    ASSERT_FALSE(log->set_config(config));
    for (int i = 0; i < 30; ++i) {
        auto batch = make_batch({{"k", std::string(100, 'x'), 1}});
        ASSERT_TRUE(log->append(batch));
    }
    log->set_high_watermark(log->log_end_offset());
    const uint64_t size = log->size_bytes();
    ASSERT_TRUE(log->run_retention(time.now_ms()));
    EXPECT_EQ(log->size_bytes(), size);
}

TEST(retention, delete_records_moves_the_log_start) {
    temp_dir dir;
    manual_clock time;
    auto log = open_log(dir.path() / "t-0", test::small_config(), time, false);
    for (int i = 0; i < 30; ++i) {
        auto batch = make_simple_batch(2, 100);
        ASSERT_TRUE(log->append(batch));
    }
    EXPECT_EQ(log->delete_records(offset(10)),
              errc::offset_out_of_range);  // above the high watermark
    log->set_high_watermark(log->log_end_offset());
    auto bases = log->segment_base_offsets();
    const int64_t target = bases[2].value() + 1;
    ASSERT_FALSE(log->delete_records(offset(target)));
    EXPECT_EQ(log->log_start_offset(), offset(target));
    EXPECT_EQ(log->segment_base_offsets().front(), bases[2]);
    EXPECT_EQ(log->read(offset(target - 1), 100, offset(60)).error(), errc::offset_out_of_range);
    auto records = read_records(*log);
    EXPECT_EQ(records.front().offset, target);
    EXPECT_EQ(records.size(), static_cast<std::size_t>(60 - target));
    // Going backwards is a no-op; the start survives a restart.
    ASSERT_FALSE(log->delete_records(offset(0)));
    EXPECT_EQ(log->log_start_offset(), offset(target));
    ASSERT_FALSE(log->close());
    auto o = test::options_for(dir.path() / "t-0", test::small_config(), time);
    o.had_clean_shutdown = true;
    o.log_start_offset = offset(target);
    auto reopened = partition_log::open(o);
    ASSERT_TRUE(reopened);
    EXPECT_EQ(reopened.value()->log_start_offset(), offset(target));
}

TEST(retention, deleted_files_wait_for_the_delay_and_readers_keep_working) {
    temp_dir dir;
    manual_clock time(1'000'000);
    log_config config = test::small_config();
    config.retention_ms = 1000;
    config.file_delete_delay_ms = 60'000;
    auto log = open_log(dir.path() / "t-0", config, time, false);
    for (int i = 0; i < 20; ++i) {
        auto batch = make_simple_batch(2, 100, time.now_ms());
        ASSERT_TRUE(log->append(batch));
    }
    log->set_high_watermark(log->log_end_offset());
    auto held = log->read(offset(0), 1 << 20, log->log_end_offset());
    ASSERT_TRUE(held);
    time.advance(10'000);
    auto r = log->run_retention(time.now_ms());
    ASSERT_GT(r.value().deleted_segments, 0u);
    EXPECT_EQ(count_files(dir.path() / "t-0", ".log.deleted"), r.value().deleted_segments);
    EXPECT_EQ(count_files(dir.path() / "t-0", ".index.deleted"), r.value().deleted_segments);
    time.advance(59'000);
    EXPECT_EQ(log->run_retention(time.now_ms()).value().removed_files, 0u);
    time.advance(1'001);
    EXPECT_EQ(log->run_retention(time.now_ms()).value().removed_files,
              3 * r.value().deleted_segments);
    EXPECT_EQ(count_files(dir.path() / "t-0", ".deleted"), 0u);
    // The read result taken before still reads every byte of the deleted segments.
    auto bytes = held.value().read_all();
    ASSERT_TRUE(bytes);
    EXPECT_EQ(test::batch_ranges(bytes.value()).front().first, 0);
}

}  // namespace
}  // namespace broker::log
