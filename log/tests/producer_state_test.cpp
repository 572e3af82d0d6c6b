// Idempotent producer state: sequence and epoch rules, duplicate detection, wrap-around, expiry,
// truncation, snapshot files, and rebuilding the table from a log after clean and unclean
// shutdowns.
#include <gtest/gtest.h>

#include <fstream>
#include <limits>
#include <random>

#include "log/producer_state.h"
#include "log/tests/test_util.h"

namespace broker::log {
namespace {

namespace fs = std::filesystem;
using test::temp_dir;

constexpr int32_t int32_max = std::numeric_limits<int32_t>::max();

producer_batch batch_at(int32_t first_seq, int32_t count, int64_t first_offset, int64_t ts = 1000) {
    producer_batch b;
    b.first_sequence = first_seq;
    b.last_sequence = increment_sequence(first_seq, count - 1);
    b.first_offset = first_offset;
    b.last_offset = first_offset + count - 1;
    b.max_timestamp = ts;
    return b;
}

sequence_check verdict(const producer_state_table& t, int64_t pid, int16_t epoch, int32_t first,
                       int32_t last) {
    return t.check(producer_id_t{pid}, epoch, first, last).status;
}

TEST(producer_state, sequence_arithmetic_wraps_at_int32_max) {
    EXPECT_EQ(increment_sequence(0, 0), 0);
    EXPECT_EQ(increment_sequence(5, 4), 9);
    EXPECT_EQ(increment_sequence(int32_max, 0), int32_max);
    EXPECT_EQ(increment_sequence(int32_max, 1), 0);
    EXPECT_EQ(increment_sequence(int32_max - 1, 3), 1);
    EXPECT_EQ(increment_sequence(int32_max, int32_max), int32_max - 1);
}

TEST(producer_state, unknown_producer_may_start_at_any_sequence) {
    producer_state_table t;
    EXPECT_EQ(verdict(t, 7, 0, 0, 4), sequence_check::ok);
    // KIP-360: a producer whose state is gone (expired, or removed by retention) continues.
    EXPECT_EQ(verdict(t, 7, 0, 1234, 1240), sequence_check::ok);
    EXPECT_EQ(verdict(t, 7, 3, 50, 50), sequence_check::ok);
}

TEST(producer_state, in_sequence_batches_are_accepted_and_gaps_refused) {
    producer_state_table t;
    t.record(producer_id_t{1}, 0, batch_at(0, 5, 100));
    EXPECT_EQ(verdict(t, 1, 0, 5, 9), sequence_check::ok);
    EXPECT_EQ(verdict(t, 1, 0, 6, 9), sequence_check::out_of_order_sequence);  // gap
    EXPECT_EQ(verdict(t, 1, 0, 4, 9),
              sequence_check::out_of_order_sequence);  // overlaps, not a cached batch
    EXPECT_EQ(verdict(t, 1, 0, 0, 3),
              sequence_check::out_of_order_sequence);  // sub-range of a cached batch
    EXPECT_EQ(verdict(t, 1, 0, 200, 201), sequence_check::out_of_order_sequence);
    t.record(producer_id_t{1}, 0, batch_at(5, 5, 105));
    EXPECT_EQ(t.find(producer_id_t{1})->last_sequence(), 9);
    EXPECT_EQ(verdict(t, 1, 0, 10, 10), sequence_check::ok);
}

TEST(producer_state, each_of_the_last_five_batches_is_a_duplicate_with_its_offsets) {
    producer_state_table t;
    std::vector<producer_batch> written;
    int32_t seq = 0;
    int64_t offset = 40;
    for (int i = 0; i < 7; ++i) {
        producer_batch b = batch_at(seq, i + 1, offset, 2000 + i);
        t.record(producer_id_t{9}, 2, b);
        written.push_back(b);
        seq = increment_sequence(b.last_sequence, 1);
        offset = b.last_offset + 3;  // other producers' records in between
    }
    ASSERT_EQ(t.find(producer_id_t{9})->batches.size(),
              producer_state_table::max_batches_per_producer);
    for (std::size_t i = 0; i < written.size(); ++i) {
        const producer_batch& b = written[i];
        auto r = t.check(producer_id_t{9}, 2, b.first_sequence, b.last_sequence);
        if (i < 2) {
            // Older than the cache: neither provably new nor provably a duplicate.
            EXPECT_EQ(r.status, sequence_check::out_of_order_sequence) << i;
        } else {
            EXPECT_EQ(r.status, sequence_check::duplicate) << i;
            EXPECT_EQ(r.duplicate_of, b) << i;
        }
    }
}

TEST(producer_state, epochs_fence_old_producers_and_reset_sequences) {
    producer_state_table t;
    t.record(producer_id_t{3}, 4, batch_at(0, 10, 0));
    // Older epoch: refused, even when the range matches a cached batch.
    EXPECT_EQ(verdict(t, 3, 3, 0, 9), sequence_check::invalid_producer_epoch);
    EXPECT_EQ(verdict(t, 3, 3, 10, 10), sequence_check::invalid_producer_epoch);
    // Newer epoch: must start at sequence 0.
    EXPECT_EQ(verdict(t, 3, 5, 10, 12), sequence_check::out_of_order_sequence);
    EXPECT_EQ(verdict(t, 3, 5, 0, 0), sequence_check::ok);
    // A duplicate is only a duplicate within the same epoch.
    EXPECT_EQ(verdict(t, 3, 5, 0, 9), sequence_check::ok);
    t.record(producer_id_t{3}, 5, batch_at(0, 2, 10));
    EXPECT_EQ(t.find(producer_id_t{3})->epoch, 5);
    ASSERT_EQ(t.find(producer_id_t{3})->batches.size(),
              1U);  // the old epoch's batches are forgotten
    EXPECT_EQ(verdict(t, 3, 5, 2, 2), sequence_check::ok);
    EXPECT_EQ(verdict(t, 3, 4, 10, 10), sequence_check::invalid_producer_epoch);
}

TEST(producer_state, sequence_wraps_from_int32_max_to_zero) {
    producer_state_table t;
    t.record(producer_id_t{5}, 0, batch_at(int32_max - 4, 5, 0));
    EXPECT_EQ(t.find(producer_id_t{5})->last_sequence(), int32_max);
    EXPECT_EQ(verdict(t, 5, 0, 0, 2), sequence_check::ok);
    EXPECT_EQ(verdict(t, 5, 0, 1, 2), sequence_check::out_of_order_sequence);
    // A batch that itself spans the wrap.
    producer_state_table u;
    u.record(producer_id_t{6}, 0, batch_at(int32_max - 1, 1, 0));
    const producer_batch spanning = batch_at(int32_max, 3, 1);
    EXPECT_EQ(spanning.last_sequence, 1);
    EXPECT_EQ(verdict(u, 6, 0, spanning.first_sequence, spanning.last_sequence),
              sequence_check::ok);
    u.record(producer_id_t{6}, 0, spanning);
    EXPECT_EQ(verdict(u, 6, 0, 2, 2), sequence_check::ok);
    EXPECT_EQ(u.check(producer_id_t{6}, 0, int32_max, 1).status, sequence_check::duplicate);
}

// Several producers send batches and retry recent ones at random. Whatever the interleaving, a
// retry of one of the last five batches is recognised with its original offsets, every new batch is
// accepted exactly once, and the log (a counter here) never receives a batch twice.
TEST(producer_state, randomized_retries_never_write_twice) {
    std::mt19937 rng(20240601);
    producer_state_table t;
    struct producer_model {
        int16_t epoch = 0;
        int32_t next_seq = 0;
        std::vector<producer_batch> sent;  // appended batches, oldest first
    };
    std::map<int64_t, producer_model> models;
    int64_t log_end = 0;
    std::size_t duplicates = 0;
    for (int step = 0; step < 20000; ++step) {
        const int64_t pid = 1000 + static_cast<int64_t>(rng() % 4);
        producer_model& m = models[pid];
        const unsigned action = rng() % 10;
        if (action < 6 || m.sent.empty()) {
            const int32_t count = 1 + static_cast<int32_t>(rng() % 5);
            const int32_t last = increment_sequence(m.next_seq, count - 1);
            ASSERT_EQ(verdict(t, pid, m.epoch, m.next_seq, last), sequence_check::ok) << step;
            producer_batch b = batch_at(m.next_seq, count, log_end, step);
            log_end += count;
            t.record(producer_id_t{pid}, m.epoch, b);
            m.sent.push_back(b);
            m.next_seq = increment_sequence(last, 1);
        } else if (action < 9) {
            const std::size_t back = rng() % std::min<std::size_t>(m.sent.size(), 7);
            const producer_batch& b = m.sent[m.sent.size() - 1 - back];
            auto r = t.check(producer_id_t{pid}, m.epoch, b.first_sequence, b.last_sequence);
            if (back < producer_state_table::max_batches_per_producer) {
                ASSERT_EQ(r.status, sequence_check::duplicate) << step;
                ASSERT_EQ(r.duplicate_of, b) << step;
                ++duplicates;
            } else {
                ASSERT_EQ(r.status, sequence_check::out_of_order_sequence) << step;
            }
        } else {
            // The producer bumps its epoch (KIP-360) and restarts at sequence 0.
            m.epoch = static_cast<int16_t>(m.epoch + 1);
            m.next_seq = 0;
            m.sent.clear();
            ASSERT_EQ(verdict(t, pid, m.epoch, 0, 0), sequence_check::ok) << step;
            if (t.find(producer_id_t{pid}) != nullptr) {
                ASSERT_EQ(verdict(t, pid, m.epoch, 1, 1), sequence_check::out_of_order_sequence)
                    << step;
            }
        }
    }
    EXPECT_GT(duplicates, 1000U);
    std::size_t batches = 0;
    for (const auto& [pid, entry] : t.producers()) {
        batches += entry.batches.size();
        EXPECT_LE(entry.batches.size(), producer_state_table::max_batches_per_producer);
    }
    EXPECT_GT(batches, 0U);
}

TEST(producer_state, expiry_removes_idle_producers_at_the_configured_interval) {
    producer_state_table t;
    t.record(producer_id_t{1}, 0, batch_at(0, 1, 0, 1'000));
    t.record(producer_id_t{2}, 0, batch_at(0, 1, 1, 5'000));
    EXPECT_EQ(t.expire(10'000, 9'001), 0U);
    EXPECT_EQ(t.expire(10'000, 9'000), 1U);  // 10000 - 1000 >= 9000
    EXPECT_EQ(t.find(producer_id_t{1}), nullptr);
    ASSERT_NE(t.find(producer_id_t{2}), nullptr);

    EXPECT_EQ(t.expire_if_due(10'000, 1'000, 600), 1U);  // first call always checks
    t.record(producer_id_t{3}, 0, batch_at(0, 1, 2, 0));
    EXPECT_EQ(t.expire_if_due(10'100, 1'000, 600), 0U);  // not due yet: producer 3 stays
    EXPECT_NE(t.find(producer_id_t{3}), nullptr);
    EXPECT_EQ(t.expire_if_due(10'600, 1'000, 600), 1U);
    EXPECT_EQ(t.size(), 0U);
}

TEST(producer_state, truncation_forgets_batches_and_emptied_producers) {
    producer_state_table t;
    t.record(producer_id_t{1}, 0, batch_at(0, 2, 0));  // offsets 0-1
    t.record(producer_id_t{2}, 0, batch_at(0, 2, 2));  // 2-3
    t.record(producer_id_t{1}, 0, batch_at(2, 2, 4));  // 4-5
    t.record(producer_id_t{2}, 0, batch_at(2, 2, 6));  // 6-7
    t.truncate_to(5);
    ASSERT_NE(t.find(producer_id_t{1}), nullptr);
    EXPECT_EQ(t.find(producer_id_t{1})->batches.size(), 1U);
    EXPECT_EQ(t.find(producer_id_t{1})->last_sequence(), 1);
    EXPECT_EQ(t.find(producer_id_t{2})->batches.size(), 1U);
    t.truncate_to(2);
    EXPECT_EQ(t.find(producer_id_t{2}), nullptr);
    EXPECT_NE(t.find(producer_id_t{1}), nullptr);

    producer_state_table h;
    h.record(producer_id_t{1}, 0, batch_at(0, 2, 0));
    h.record(producer_id_t{2}, 0, batch_at(0, 2, 2));
    h.truncate_head(2);
    EXPECT_EQ(h.find(producer_id_t{1}), nullptr);
    EXPECT_NE(h.find(producer_id_t{2}), nullptr);
}

producer_state_table sample_table() {
    producer_state_table t;
    t.record(producer_id_t{11}, 0, batch_at(0, 3, 0, 100));
    t.record(producer_id_t{12}, 7, batch_at(int32_max - 1, 4, 3, 200));
    for (int i = 0; i < 6; ++i) {
        t.record(producer_id_t{13}, 1, batch_at(i * 2, 2, 10 + i * 2, 300 + i));
    }
    return t;
}

TEST(producer_state, snapshot_round_trips_and_refuses_damage) {
    const producer_state_table t = sample_table();
    const std::string bytes = t.serialize_snapshot(22);
    int64_t offset = -1;
    auto parsed = producer_state_table::parse_snapshot(bytes, offset);
    ASSERT_TRUE(parsed) << parsed.error().message();
    EXPECT_EQ(offset, 22);
    EXPECT_EQ(parsed.value(), t.producers());

    // Every truncated prefix and every single flipped byte is refused.
    for (std::size_t n = 0; n < bytes.size(); ++n) {
        EXPECT_FALSE(
            producer_state_table::parse_snapshot(std::string_view(bytes).substr(0, n), offset))
            << n;
        std::string damaged = bytes;
        damaged[n] = static_cast<char>(damaged[n] ^ 0x20);
        EXPECT_FALSE(producer_state_table::parse_snapshot(damaged, offset)) << n;
    }
    EXPECT_FALSE(producer_state_table::parse_snapshot(bytes + std::string(1, '\0'), offset));
    // A batch at or above the snapshot's own offset cannot belong to it.
    EXPECT_FALSE(producer_state_table::parse_snapshot(t.serialize_snapshot(21), offset));

    producer_state_table empty;
    ASSERT_TRUE(producer_state_table::parse_snapshot(empty.serialize_snapshot(0), offset));
    EXPECT_TRUE(
        producer_state_table::parse_snapshot(empty.serialize_snapshot(0), offset).value().empty());
}

TEST(producer_state, snapshot_files_are_named_by_offset_and_the_newest_two_kept) {
    temp_dir dir;
    const producer_state_table t = sample_table();
    for (int64_t o : {30, 25, 40, 50}) {
        ASSERT_FALSE(t.write_snapshot(dir.path(), o));
    }
    EXPECT_TRUE(fs::exists(dir.path() / "00000000000000000050.snapshot"));
    auto offsets = producer_state_table::list_snapshots(dir.path());
    ASSERT_TRUE(offsets);
    EXPECT_EQ(offsets.value(), (std::vector<int64_t>{40, 50}));
    ASSERT_FALSE(producer_state_table::remove_snapshots(dir.path(), 45, false));
    EXPECT_EQ(producer_state_table::list_snapshots(dir.path()).value(), (std::vector<int64_t>{40}));
    ASSERT_FALSE(producer_state_table::remove_snapshots(dir.path(), 41, true));
    EXPECT_TRUE(producer_state_table::list_snapshots(dir.path()).value().empty());
}

// ---------------------------------------------------------------------------------------------
// Rebuilding from a log

std::vector<uint8_t> producer_batch_bytes(
    int64_t pid, int16_t epoch, int32_t base_seq, int count, int64_t ts,
    protocol::compression_type compression = protocol::compression_type::none) {
    std::vector<protocol::record_data> records;
    for (int i = 0; i < count; ++i) {
        protocol::record_data r;
        r.value = test::to_bytes(test::numbered("v", base_seq + i));
        r.timestamp = ts;
        records.push_back(std::move(r));
    }
    protocol::batch_build_options o;
    o.producer_id = pid;
    o.producer_epoch = epoch;
    o.base_sequence = base_seq;
    o.compression = compression;
    return protocol::build_batch(records, o);
}

/// Appends to `log` the way the produce path does: check, append, record.
void produce(partition_log& log, producer_state_table& table, int64_t pid, int16_t epoch,
             int32_t seq, int count, int64_t ts) {
    auto bytes = producer_batch_bytes(
        pid, epoch, seq, count, ts,
        count % 2 ? protocol::compression_type::lz4 : protocol::compression_type::none);
    const int32_t last = increment_sequence(seq, count - 1);
    ASSERT_EQ(table.check(producer_id_t{pid}, epoch, seq, last).status, sequence_check::ok);
    auto appended = log.append(bytes, 0);
    ASSERT_TRUE(appended) << appended.error().message();
    producer_batch b;
    b.first_sequence = seq;
    b.last_sequence = last;
    b.first_offset = appended.value().base_offset.value();
    b.last_offset = appended.value().last_offset.value();
    b.max_timestamp = ts;
    table.record(producer_id_t{pid}, epoch, b);
}

std::unique_ptr<partition_log> open_log(const fs::path& dir, const clock& time, bool clean) {
    auto o = test::options_for(dir, test::small_config(), time);
    o.had_clean_shutdown = clean;
    auto log = partition_log::open(o);
    EXPECT_TRUE(log) << log.error().message();
    return log ? std::move(log).value() : nullptr;
}

class producer_state_load : public ::testing::Test {
protected:
    temp_dir root_;
    manual_clock clock_;
    fs::path dir_ = root_.path() / "t-0";
};

TEST_F(producer_state_load, empty_log_gives_an_empty_table) {
    auto log = open_log(dir_, clock_, false);
    producer_state_table t;
    EXPECT_FALSE(t.loaded());
    ASSERT_FALSE(t.load(*log));
    EXPECT_TRUE(t.loaded());
    EXPECT_EQ(t.size(), 0U);
}

TEST_F(producer_state_load, rebuilds_from_the_log_alone_after_an_unclean_shutdown) {
    producer_state_table live;
    {
        auto log = open_log(dir_, clock_, false);
        int32_t seq[3] = {0, 0, 0};
        for (int i = 0; i < 60; ++i) {
            const int p = i % 3;
            const int count = 1 + i % 4;
            produce(*log, live, 500 + p, static_cast<int16_t>(p), seq[p], count, 10'000 + i);
            seq[p] += count;
            // Plain batches in between must be ignored.
            auto plain = producer_batch_bytes(-1, -1, -1, 2, 10'000 + i);
            ASSERT_TRUE(log->append(plain));
        }
        ASSERT_GT(log->segment_count(), 1U);
        // No close(): the process "crashes" here.
    }
    auto log = open_log(dir_, clock_, false);
    producer_state_table rebuilt;
    ASSERT_FALSE(rebuilt.load(*log));
    EXPECT_EQ(rebuilt.producers(), live.producers());
    // And it goes on enforcing the rules: the last batch of producer 500 is a duplicate.
    const producer_batch& last = rebuilt.find(producer_id_t{500})->batches.back();
    EXPECT_EQ(rebuilt.check(producer_id_t{500}, 0, last.first_sequence, last.last_sequence).status,
              sequence_check::duplicate);
}

TEST_F(producer_state_load, uses_the_snapshot_and_the_batches_after_it) {
    producer_state_table live;
    int64_t snapshot_offset = 0;
    {
        auto log = open_log(dir_, clock_, false);
        for (int i = 0; i < 10; ++i) {
            produce(*log, live, 1, 0, i * 2, 2, 100 + i);
        }
        snapshot_offset = log->log_end_offset().value();
        ASSERT_FALSE(live.write_snapshot(log->dir(), snapshot_offset));
        for (int i = 0; i < 4; ++i) {
            produce(*log, live, 2, 3, i, 1, 200 + i);
        }
        produce(*log, live, 1, 0, 20, 3, 300);
    }
    // Replace the snapshot with one that also knows producer 77, which the log never saw: finding
    // it proves that load() started from the snapshot rather than from the log start.
    {
        producer_state_table doctored = live;
        doctored.truncate_to(snapshot_offset);
        doctored.record(producer_id_t{77}, 1, batch_at(0, 1, 0, 5));
        ASSERT_FALSE(doctored.write_snapshot(dir_, snapshot_offset));
    }
    auto log = open_log(dir_, clock_, false);
    producer_state_table rebuilt;
    ASSERT_FALSE(rebuilt.load(*log));
    ASSERT_NE(rebuilt.find(producer_id_t{77}), nullptr);
    EXPECT_EQ(rebuilt.find(producer_id_t{2})->batches, live.find(producer_id_t{2})->batches);
    EXPECT_EQ(rebuilt.find(producer_id_t{1})->last_sequence(), 22);
}

TEST_F(producer_state_load, ignores_snapshots_beyond_the_log_end_and_damaged_ones) {
    producer_state_table live;
    int64_t good_offset = 0;
    {
        auto log = open_log(dir_, clock_, false);
        for (int i = 0; i < 5; ++i) {
            produce(*log, live, 4, 0, i, 1, 100 + i);
        }
        good_offset = log->log_end_offset().value();
        ASSERT_FALSE(live.write_snapshot(log->dir(), good_offset));
        produce(*log, live, 4, 0, 5, 1, 200);
        ASSERT_FALSE(log->close());
    }
    // A damaged snapshot at the log end and one above the log end (data lost in a crash).
    const int64_t end = good_offset + 1;
    {
        producer_state_table bogus;
        bogus.record(producer_id_t{99}, 0, batch_at(0, 1, 0, 1));
        std::string bytes = bogus.serialize_snapshot(end);
        ASSERT_FALSE(bogus.write_snapshot(dir_, end + 100));
        bytes[bytes.size() - 1] ^= 1;
        std::ofstream(producer_state_table::snapshot_path(dir_, end), std::ios::binary) << bytes;
    }
    auto log = open_log(dir_, clock_, true);
    producer_state_table rebuilt;
    ASSERT_FALSE(rebuilt.load(*log));
    EXPECT_EQ(rebuilt.producers(), live.producers());
    EXPECT_EQ(rebuilt.find(producer_id_t{99}), nullptr);
    EXPECT_EQ(producer_state_table::list_snapshots(dir_).value(),
              (std::vector<int64_t>{good_offset}));
}

TEST_F(producer_state_load, producers_wholly_below_the_log_start_are_dropped) {
    producer_state_table live;
    {
        auto log = open_log(dir_, clock_, false);
        produce(*log, live, 1, 0, 0, 3, 100);  // offsets 0-2
        produce(*log, live, 2, 0, 0, 3, 100);  // 3-5
        log->set_high_watermark(log->log_end_offset());
        ASSERT_FALSE(log->delete_records(offset(3)));
        ASSERT_FALSE(live.write_snapshot(log->dir(), log->log_end_offset().value()));
        ASSERT_FALSE(log->close());
    }
    auto o = test::options_for(dir_, test::small_config(), clock_);
    o.had_clean_shutdown = true;
    o.log_start_offset = offset(3);
    auto log = std::move(partition_log::open(o)).value();
    producer_state_table rebuilt;
    ASSERT_FALSE(rebuilt.load(*log));
    EXPECT_EQ(rebuilt.find(producer_id_t{1}), nullptr);
    ASSERT_NE(rebuilt.find(producer_id_t{2}), nullptr);
}

}  // namespace
}  // namespace broker::log
