// partition_log when the disk refuses a write: a write cut short must be rolled back to the last
// whole batch, the error reported, and the log must take appends again once space is back.
//
// A full disk is simulated deterministically with RLIMIT_FSIZE (SIGXFSZ ignored): a write that
// would grow a file past the limit writes what fits and then fails with EFBIG, exactly the shape
// of a write that runs into ENOSPC half-way. The limit is per process and tests run one at a time
// in their own process under ctest, so it cannot leak into another test; each test restores it.
#include <gtest/gtest.h>

#include <sys/resource.h>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>

#include "log/tests/test_util.h"

namespace broker::log {
namespace {

using test::make_simple_batch;
using test::open_log;
using test::read_records;
using test::temp_dir;

/// Lowers the soft RLIMIT_FSIZE for the scope and ignores SIGXFSZ, so an oversized write fails
/// with EFBIG instead of killing the process.
class file_size_limit {
public:
    file_size_limit() {
        ::getrlimit(RLIMIT_FSIZE, &saved_);
        previous_handler_ = std::signal(SIGXFSZ, SIG_IGN);
    }
    ~file_size_limit() {
        ::setrlimit(RLIMIT_FSIZE, &saved_);
        std::signal(SIGXFSZ, previous_handler_);
    }
    file_size_limit(const file_size_limit&) = delete;
    file_size_limit& operator=(const file_size_limit&) = delete;

    /// Files may not grow beyond `bytes`.
    void set(rlim_t bytes) {
        rlimit r = saved_;
        r.rlim_cur = bytes;
        ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &r), 0) << std::strerror(errno);
    }
    /// Lifts the limit again (space was freed).
    void lift() { ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &saved_), 0); }

private:
    rlimit saved_{};
    void (*previous_handler_)(int) = SIG_DFL;
};

std::size_t count_files(const std::filesystem::path& dir, const std::string& extension) {
    std::size_t n = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
        if (entry.path().extension() == extension) {
            ++n;
        }
    }
    return n;
}

uint64_t total_size(const std::filesystem::path& dir, const std::string& extension) {
    uint64_t n = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
        if (entry.path().extension() == extension) {
            n += entry.file_size();
        }
    }
    return n;
}

bool is_disk_full(const std::error_code& ec) {
    return ec == std::errc::file_too_large || ec == std::errc::no_space_on_device;
}

TEST(partition_log_disk_full, torn_write_is_cut_back_and_the_log_recovers_when_space_returns) {
    temp_dir dir;
    manual_clock time;
    log_config config;
    config.segment_index_bytes = 4096;  // below the limit: only the .log file can hit it
    const auto path = dir.path() / "t-0";
    auto log = open_log(path, config, time, true);
    ASSERT_TRUE(log);

    file_size_limit limit;
    // Not a multiple of the batch size, so the failing write is cut short half-way.
    limit.set(40'000);
    std::vector<std::size_t> good_sizes;
    std::error_code failure;
    for (int i = 0; i < 100 && !failure; ++i) {
        auto batch = make_simple_batch(4, 250, 1000 + i);
        auto r = log->append(std::span<uint8_t>(batch));
        if (r) {
            EXPECT_EQ(r.value().base_offset, offset(static_cast<int64_t>(good_sizes.size()) * 4));
            good_sizes.push_back(batch.size());
        } else {
            failure = r.error();
        }
    }
    ASSERT_TRUE(failure) << "the file size limit was never reached";
    EXPECT_TRUE(is_disk_full(failure)) << failure.message();
    const int64_t good_records = static_cast<int64_t>(good_sizes.size()) * 4;
    uint64_t good_bytes = 0;
    for (std::size_t s : good_sizes) {
        good_bytes += s;
    }
    ASSERT_GT(good_records, 0);
    // Nothing of the refused batch is visible: offsets, size, and the bytes in the file.
    EXPECT_EQ(log->log_end_offset(), offset(good_records));
    EXPECT_EQ(log->size_bytes(), good_bytes);
    EXPECT_EQ(total_size(path, ".log"), good_bytes);

    // Still full: the retry fails the same way and changes nothing.
    auto again = make_simple_batch(4, 250, 5000);
    auto retry = log->append(std::span<uint8_t>(again));
    ASSERT_FALSE(retry);
    EXPECT_TRUE(is_disk_full(retry.error())) << retry.error().message();
    EXPECT_EQ(log->log_end_offset(), offset(good_records));
    EXPECT_EQ(total_size(path, ".log"), good_bytes);

    // Space is back: appends continue at the same offset, without reopening anything.
    limit.lift();
    auto after = make_simple_batch(4, 250, 6000);
    auto resumed = log->append(std::span<uint8_t>(after));
    ASSERT_TRUE(resumed) << resumed.error().message();
    EXPECT_EQ(resumed.value().base_offset, offset(good_records));
    log->set_high_watermark(log->log_end_offset());
    const auto records = read_records(*log);
    ASSERT_EQ(records.size(), static_cast<std::size_t>(good_records + 4));
    for (std::size_t i = 0; i < records.size(); ++i) {
        EXPECT_EQ(records[i].offset, static_cast<int64_t>(i));
    }

    // A crash now (no clean close): recovery validates every batch and finds nothing to cut.
    log.reset();
    auto reopened = open_log(path, config, time, false);
    ASSERT_TRUE(reopened);
    EXPECT_EQ(reopened->log_end_offset(), offset(good_records + 4));
    EXPECT_EQ(reopened->size_bytes(), good_bytes + after.size());
    EXPECT_EQ(read_records(*reopened).size(), records.size());
}

TEST(partition_log_disk_full,
     failed_roll_leaves_no_half_created_segment_and_rolls_once_space_returns) {
    temp_dir dir;
    manual_clock time;
    log_config config = test::small_config();
    config.segment_bytes = 4096;
    config.segment_index_bytes =
        64 * 1024;  // a new segment's index needs more than the limit allows
    const auto path = dir.path() / "t-0";
    auto log = open_log(path, config, time, true);
    ASSERT_TRUE(log);

    file_size_limit limit;
    limit.set(16 * 1024);
    int64_t appended = 0;
    std::error_code failure;
    for (int i = 0; i < 50 && !failure; ++i) {
        auto batch = make_simple_batch(2, 300, 1000 + i);
        auto r = log->append(std::span<uint8_t>(batch));
        if (r) {
            appended += 2;
        } else {
            failure = r.error();
        }
    }
    ASSERT_TRUE(failure) << "the roll never failed";
    EXPECT_TRUE(is_disk_full(failure)) << failure.message();
    ASSERT_GT(appended, 0);
    EXPECT_EQ(log->log_end_offset(), offset(appended));
    // The segment that could not be created left no files behind.
    EXPECT_EQ(count_files(path, ".log"), 1U);
    EXPECT_EQ(count_files(path, ".index"), 1U);
    EXPECT_EQ(log->segment_count(), 1U);
    const uint64_t size_before = log->size_bytes();

    limit.lift();
    auto batch = make_simple_batch(2, 300, 9000);
    auto r = log->append(std::span<uint8_t>(batch));
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r.value().base_offset, offset(appended));
    EXPECT_TRUE(r.value().rolled);
    EXPECT_EQ(log->segment_count(), 2U);
    EXPECT_EQ(log->size_bytes(), size_before + batch.size());
    log->set_high_watermark(log->log_end_offset());
    EXPECT_EQ(read_records(*log).size(), static_cast<std::size_t>(appended + 2));

    ASSERT_FALSE(log->close());
    log.reset();
    auto reopened = open_log(path, config, time, false);
    ASSERT_TRUE(reopened);
    EXPECT_EQ(reopened->log_end_offset(), offset(appended + 2));
    EXPECT_EQ(read_records(*reopened).size(), static_cast<std::size_t>(appended + 2));
}

TEST(partition_log_disk_full, follower_append_cut_short_is_rolled_back_whole) {
    // A follower append writes several batches with one write; when that write is cut short
    // none of them may stay, even those that reached the file completely.
    temp_dir dir;
    manual_clock time;
    log_config config;
    config.segment_index_bytes = 4096;
    const auto path = dir.path() / "t-0";
    auto log = open_log(path, config, time, true);
    ASSERT_TRUE(log);
    auto first = make_simple_batch(3, 200, 1000);
    ASSERT_TRUE(log->append(std::span<uint8_t>(first)));
    const uint64_t size_before = log->size_bytes();

    std::vector<uint8_t> run;
    for (int i = 0; i < 4; ++i) {
        auto b = test::make_batch({{"k", std::string(200, 'v'), 2000}},
                                  protocol::compression_type::none, -1, 3 + i);
        run.insert(run.end(), b.begin(), b.end());
    }
    file_size_limit limit;
    limit.set(size_before + run.size() / 2);  // two whole batches fit, the rest does not
    auto r = log->append_as_follower(std::span<uint8_t>(run));
    ASSERT_FALSE(r);
    EXPECT_TRUE(is_disk_full(r.error())) << r.error().message();
    EXPECT_EQ(log->log_end_offset(), offset(3));
    EXPECT_EQ(total_size(path, ".log"), size_before);

    limit.lift();
    auto again = log->append_as_follower(std::span<uint8_t>(run));
    ASSERT_TRUE(again) << again.error().message();
    EXPECT_EQ(log->log_end_offset(), offset(7));
    log->set_high_watermark(log->log_end_offset());
    EXPECT_EQ(read_records(*log).size(), 7U);
}

}  // namespace
}  // namespace broker::log
