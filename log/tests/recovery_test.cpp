// Crash recovery: torn tails at every byte, corruption, missing or damaged indexes, leftover files
// of interrupted deletions and compactions.
#include <gtest/gtest.h>

#include <fstream>
#include <random>

#include "common/big_endian.h"
#include "log/tests/test_util.h"

namespace broker::log {
namespace {

using test::make_batch;
using test::read_record;
using test::read_records;
using test::temp_dir;

namespace fs = std::filesystem;

struct batch_info {
    int64_t base;
    int64_t last;
    std::size_t size;
};

/// A log written in a child directory and left open, plus what it contains.
struct written_log {
    std::unique_ptr<partition_log> log;
    std::vector<batch_info> batches;
    std::vector<read_record> records;
};

written_log write_log(const fs::path& dir, const clock& time, int batches) {
    written_log w;
    auto o = test::options_for(dir, test::small_config(), time);
    w.log = std::move(partition_log::open(o)).value();
    for (int i = 0; i < batches; ++i) {
        std::vector<test::kv> records;
        for (int r = 0; r <= i % 3; ++r) {
            records.push_back(
                {test::numbered("key", i), test::numbered("value-", i * 10 + r), 1000 + i});
        }
        auto batch = make_batch(records);
        auto res = w.log->append(batch);
        EXPECT_TRUE(res);
        w.batches.push_back(
            {res.value().base_offset.value(), res.value().last_offset.value(), batch.size()});
    }
    w.records = read_records(*w.log);
    return w;
}

std::unique_ptr<partition_log> reopen(const fs::path& dir, const clock& time, bool clean,
                                      std::optional<int64_t> recovery_point = std::nullopt) {
    auto o = test::options_for(dir, test::small_config(), time);
    o.had_clean_shutdown = clean;
    if (recovery_point) {
        o.recovery_point = offset(*recovery_point);
    }
    auto log = partition_log::open(o);
    EXPECT_TRUE(log) << log.error().message();
    return log ? std::move(log).value() : nullptr;
}

fs::path last_log_file(const fs::path& dir) {
    fs::path best;
    for (const auto& e : fs::directory_iterator(dir)) {
        if (e.path().extension() == ".log" &&
            (best.empty() || e.path().filename() > best.filename())) {
            best = e.path();
        }
    }
    return best;
}

std::vector<read_record> records_below(const std::vector<read_record>& all, int64_t end) {
    std::vector<read_record> out;
    for (const auto& r : all) {
        if (r.offset < end) {
            out.push_back(r);
        }
    }
    return out;
}

void flip_byte(const fs::path& file, uint64_t position) {
    std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(static_cast<std::streamoff>(position));
    char c = 0;
    f.read(&c, 1);
    c = static_cast<char>(c ^ 0x5a);
    f.seekp(static_cast<std::streamoff>(position));
    f.write(&c, 1);
}

TEST(recovery, torn_last_batch_at_every_byte) {
    temp_dir dir;
    manual_clock time;
    auto w = write_log(dir.path() / "live", time, 40);
    ASSERT_GT(w.log->segment_count(), 2u);
    // The crash image: files as they are while the log is open (indexes still preallocated).
    fs::copy(dir.path() / "live", dir.path() / "image", fs::copy_options::recursive);
    const batch_info last = w.batches.back();
    const fs::path image_log = last_log_file(dir.path() / "image");
    const uint64_t full = fs::file_size(image_log);
    const uint64_t last_start = full - last.size;
    const int64_t rp = w.log->recovery_point().value();  // flushed at the last roll

    for (uint64_t cut = last_start; cut <= full; ++cut) {
        fs::path work = dir.path() / "work";
        fs::remove_all(work);
        fs::copy(dir.path() / "image", work, fs::copy_options::recursive);
        fs::resize_file(work / image_log.filename(), cut);
        auto log = reopen(work, time, false, rp);
        ASSERT_TRUE(log);
        const int64_t expected_end = cut == full ? last.last + 1 : last.base;
        ASSERT_EQ(log->log_end_offset(), offset(expected_end)) << "cut at " << cut;
        ASSERT_EQ(read_records(*log), records_below(w.records, expected_end)) << "cut at " << cut;
        EXPECT_EQ(fs::file_size(work / image_log.filename()), cut == full ? full : last_start);
        auto more = make_batch({{"after", "crash", 5000}});
        auto r = log->append(more);
        ASSERT_TRUE(r);
        EXPECT_EQ(r.value().base_offset, offset(expected_end));
        EXPECT_EQ(read_records(*log).back().key, "after");
    }
}

TEST(recovery, torn_tail_without_a_recovery_point_scans_everything) {
    temp_dir dir;
    manual_clock time;
    auto w = write_log(dir.path() / "live", time, 40);
    fs::copy(dir.path() / "live", dir.path() / "image", fs::copy_options::recursive);
    auto file = last_log_file(dir.path() / "image");
    fs::resize_file(file, fs::file_size(file) - 3);
    auto log = reopen(dir.path() / "image", time, false);
    EXPECT_EQ(log->log_end_offset(), offset(w.batches.back().base));
    EXPECT_EQ(log->recovery_point(), log->log_end_offset());
}

TEST(recovery, corrupt_byte_in_the_middle_of_the_last_segment) {
    temp_dir dir;
    manual_clock time;
    auto w = write_log(dir.path() / "t-0", time, 40);
    const int64_t end_before = w.log->log_end_offset().value();
    const int64_t last_base = w.log->segment_base_offsets().back().value();
    ASSERT_FALSE(w.log->close());
    w.log.reset();
    // Find the batches of the last segment and damage the payload of the middle one.
    std::vector<batch_info> in_last;
    for (const auto& b : w.batches) {
        if (b.base >= last_base) {
            in_last.push_back(b);
        }
    }
    ASSERT_GE(in_last.size(), 3u);
    const batch_info victim = in_last[in_last.size() / 2];
    uint64_t position = 0;
    for (const auto& b : in_last) {
        if (b.base == victim.base) {
            break;
        }
        position += b.size;
    }
    flip_byte(last_log_file(dir.path() / "t-0"), position + protocol::batch_header_size + 2);

    // A clean start trusts the data and does not scan it: nothing is noticed.
    {
        auto log = reopen(dir.path() / "t-0", time, true);
        EXPECT_EQ(log->log_end_offset(), offset(end_before));
    }
    // An unclean start with the recovery point before the damage validates and truncates there.
    auto log = reopen(dir.path() / "t-0", time, false, last_base);
    EXPECT_EQ(log->log_end_offset(), offset(victim.base));
    EXPECT_EQ(read_records(*log), records_below(w.records, victim.base));
}

TEST(recovery, corruption_in_an_earlier_segment_drops_everything_after_it) {
    temp_dir dir;
    manual_clock time;
    auto w = write_log(dir.path() / "t-0", time, 40);
    ASSERT_FALSE(w.log->close());
    auto bases = w.log->segment_base_offsets();
    w.log.reset();
    ASSERT_GT(bases.size(), 3u);
    // Damage the first batch of the second segment.
    flip_byte(dir.path() / "t-0" / (segment::file_stem(bases[1].value()) + ".log"),
              protocol::batch_header_size + 1);
    // Behind the recovery point: trusted as is.
    {
        auto log = reopen(dir.path() / "t-0", time, false, bases.back().value());
        EXPECT_EQ(log->segment_count(), bases.size());
    }
    auto log = reopen(dir.path() / "t-0", time, false, 0);
    EXPECT_EQ(log->log_end_offset(), bases[1]);
    EXPECT_EQ(log->segment_count(), 2u);
    EXPECT_EQ(read_records(*log), records_below(w.records, bases[1].value()));
    EXPECT_FALSE(fs::exists(dir.path() / "t-0" / (segment::file_stem(bases[2].value()) + ".log")));
    auto more = make_batch({{"k", "v", 1}});
    EXPECT_EQ(log->append(more).value().base_offset, bases[1]);
}

TEST(recovery, missing_indexes_are_rebuilt) {
    temp_dir dir;
    manual_clock time;
    auto w = write_log(dir.path() / "t-0", time, 40);
    ASSERT_FALSE(w.log->close());
    auto bases = w.log->segment_base_offsets();
    w.log.reset();
    auto idx = dir.path() / "t-0" / (segment::file_stem(bases[1].value()) + ".index");
    auto tidx = dir.path() / "t-0" / (segment::file_stem(bases[2].value()) + ".timeindex");
    auto active_idx = dir.path() / "t-0" / (segment::file_stem(bases.back().value()) + ".index");
    const auto idx_size = fs::file_size(idx);
    ASSERT_GT(idx_size, 0u);
    fs::remove(idx);
    fs::remove(tidx);
    fs::remove(active_idx);
    auto log = reopen(dir.path() / "t-0", time, true);
    EXPECT_EQ(read_records(*log), w.records);
    EXPECT_EQ(fs::file_size(idx), idx_size);
    EXPECT_TRUE(fs::exists(tidx));
    EXPECT_TRUE(fs::exists(active_idx));
    // The rebuilt time index answers timestamp lookups.
    auto r = log->offset_for_timestamp(1000 + 10);
    ASSERT_TRUE(r.value());
    EXPECT_EQ(r.value()->timestamp, 1010);
    EXPECT_EQ(r.value()->offset_value, offset(w.batches[10].base));
}

TEST(recovery, index_pointing_past_its_log_is_rebuilt) {
    temp_dir dir;
    manual_clock time;
    auto w = write_log(dir.path() / "t-0", time, 40);
    ASSERT_FALSE(w.log->close());
    auto bases = w.log->segment_base_offsets();
    w.log.reset();
    const auto idx = dir.path() / "t-0" / (segment::file_stem(bases[1].value()) + ".index");
    const auto log_size =
        fs::file_size(dir.path() / "t-0" / (segment::file_stem(bases[1].value()) + ".log"));
    {
        // An extra entry with a larger offset and a position beyond the end of the .log file.
        std::ofstream out(idx, std::ios::app | std::ios::binary);
        uint8_t entry[8];
        store_be32(entry, 1000);
        store_be32(entry + 4, static_cast<uint32_t>(log_size + 500));
        out.write(reinterpret_cast<const char*>(entry), sizeof entry);
    }
    auto log = reopen(dir.path() / "t-0", time, true);
    EXPECT_EQ(log->segment_count(), bases.size());
    EXPECT_EQ(read_records(*log), w.records);
    EXPECT_EQ(fs::file_size(idx) % 8, 0u);
    for (int64_t o = bases[1].value(); o < bases[2].value(); ++o) {
        auto r = log->read(offset(o), 1, log->log_end_offset());
        ASSERT_TRUE(r);
        EXPECT_LE(r.value().first_offset, offset(o));
    }
}

TEST(recovery, log_shorter_than_its_index_after_a_clean_shutdown) {
    temp_dir dir;
    manual_clock time;
    auto w = write_log(dir.path() / "t-0", time, 40);
    ASSERT_FALSE(w.log->close());
    w.log.reset();
    auto file = last_log_file(dir.path() / "t-0");
    fs::resize_file(file, fs::file_size(file) / 2);
    auto log = reopen(dir.path() / "t-0", time, true);
    const int64_t end = log->log_end_offset().value();
    EXPECT_LT(end, w.records.back().offset + 1);
    EXPECT_EQ(read_records(*log), records_below(w.records, end));
    bool on_boundary = false;
    for (const auto& b : w.batches) {
        on_boundary = on_boundary || b.base == end;
    }
    EXPECT_TRUE(on_boundary);
}

TEST(recovery, leftover_cleaned_deleted_and_orphan_swap_files_are_removed) {
    temp_dir dir;
    manual_clock time;
    auto w = write_log(dir.path() / "t-0", time, 40);
    ASSERT_FALSE(w.log->close());
    w.log.reset();
    const fs::path d = dir.path() / "t-0";
    for (const char* name :
         {"00000000000000000000.log.cleaned", "00000000000000000000.index.cleaned",
          "00000000000000000005.log.deleted", "00000000000000000005.timeindex.deleted",
          "00000000000000000099.index.swap", "00000000000000000077.index",
          "leader-epoch-checkpoint.tmp"}) {
        std::ofstream(d / name) << "junk";
    }
    auto log = reopen(d, time, true);
    EXPECT_EQ(read_records(*log), w.records);
    for (const auto& e : fs::directory_iterator(d)) {
        std::string name = e.path().filename().string();
        EXPECT_EQ(name.find(".cleaned"), std::string::npos) << name;
        EXPECT_EQ(name.find(".deleted"), std::string::npos) << name;
        EXPECT_EQ(name.find(".swap"), std::string::npos) << name;
        EXPECT_EQ(name.find(".tmp"), std::string::npos) << name;
        EXPECT_NE(name, "00000000000000000077.index");
    }
}

/// Reads whole batches of a .log file.
std::vector<std::vector<uint8_t>> file_batches(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), {});
    std::vector<std::vector<uint8_t>> out;
    std::span<const uint8_t> rest(bytes);
    while (!rest.empty()) {
        auto size = protocol::peek_batch_size(rest);
        out.emplace_back(rest.begin(), rest.begin() + static_cast<std::ptrdiff_t>(*size));
        rest = rest.subspan(*size);
    }
    return out;
}

TEST(recovery, interrupted_swap_is_completed) {
    for (bool old_renamed : {false, true}) {
        temp_dir dir;
        manual_clock time;
        auto w = write_log(dir.path() / "t-0", time, 40);
        ASSERT_FALSE(w.log->close());
        auto bases = w.log->segment_base_offsets();
        w.log.reset();
        ASSERT_GT(bases.size(), 3u);
        const fs::path d = dir.path() / "t-0";
        // A "cleaned" replacement for segments 0 and 1: their batches minus every other one, but
        // keeping the last (as the cleaner does), written as segment 0's .swap file.
        auto first = file_batches(d / (segment::file_stem(bases[0].value()) + ".log"));
        auto second = file_batches(d / (segment::file_stem(bases[1].value()) + ".log"));
        std::vector<std::vector<uint8_t>> all = first;
        all.insert(all.end(), second.begin(), second.end());
        std::vector<int64_t> dropped;
        {
            std::ofstream swap(d / (segment::file_stem(bases[0].value()) + ".log.swap"),
                               std::ios::binary);
            for (std::size_t i = 0; i < all.size(); ++i) {
                auto h = protocol::parse_batch_header(all[i]);
                if (i % 2 == 1 && i + 1 != all.size()) {
                    for (int64_t o = h->base_offset; o <= h->last_offset(); ++o) {
                        dropped.push_back(o);
                    }
                    continue;
                }
                swap.write(reinterpret_cast<const char*>(all[i].data()),
                           static_cast<std::streamsize>(all[i].size()));
            }
        }
        if (old_renamed) {
            // Crash after the old segment 0 had been renamed to .deleted.
            for (const char* ext : {".log", ".index", ".timeindex"}) {
                fs::rename(d / (segment::file_stem(bases[0].value()) + ext),
                           d / (segment::file_stem(bases[0].value()) + ext + ".deleted"));
            }
        }
        auto log = reopen(d, time, false, bases.back().value());
        ASSERT_TRUE(log);
        auto now_bases = log->segment_base_offsets();
        EXPECT_EQ(now_bases.front(), bases[0]);
        EXPECT_EQ(now_bases.size(), bases.size() - 1);
        std::vector<read_record> expected;
        for (const auto& r : w.records) {
            if (std::find(dropped.begin(), dropped.end(), r.offset) == dropped.end()) {
                expected.push_back(r);
            }
        }
        EXPECT_EQ(read_records(*log), expected);
        EXPECT_FALSE(fs::exists(d / (segment::file_stem(bases[1].value()) + ".log")));
        for (const auto& e : fs::directory_iterator(d)) {
            EXPECT_EQ(e.path().string().find(".swap"), std::string::npos);
            EXPECT_EQ(e.path().string().find(".deleted"), std::string::npos);
        }
    }
}

}  // namespace
}  // namespace broker::log

namespace broker::log {
namespace {

TEST(recovery, garbage_segment_is_emptied_not_trusted) {
    temp_dir dir;
    manual_clock time;
    const fs::path d = dir.path() / "t-0";
    fs::create_directories(d);
    std::mt19937_64 rng(99);
    for (int round = 0; round < 20; ++round) {
        {
            std::ofstream out(d / "00000000000000000000.log", std::ios::binary | std::ios::trunc);
            std::size_t size = rng() % 5000;
            for (std::size_t i = 0; i < size; ++i) {
                out.put(static_cast<char>(rng()));
            }
        }
        fs::remove(d / "00000000000000000000.index");
        fs::remove(d / "00000000000000000000.timeindex");
        auto log = reopen(d, time, round % 2 == 0);
        ASSERT_TRUE(log);
        EXPECT_EQ(log->log_end_offset(), offset(0));
        EXPECT_EQ(fs::file_size(d / "00000000000000000000.log"), 0u);
    }
}

}  // namespace
}  // namespace broker::log
