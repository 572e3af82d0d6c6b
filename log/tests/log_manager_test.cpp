// log_manager: placement over log dirs, checkpoint files, clean-shutdown marker, deletion,
// startup after clean and unclean shutdowns, retention and cleaning passes.
#include <gtest/gtest.h>

#include <fstream>
#include <mutex>

#include "log/checkpoint_file.h"
#include "log/log_manager.h"
#include "log/tests/test_util.h"

namespace broker::log {
namespace {

using test::make_batch;
using test::make_simple_batch;
using test::read_records;
using test::temp_dir;

namespace fs = std::filesystem;

log_manager_options manager_options(const temp_dir& dir, const clock& time) {
    log_manager_options o;
    o.log_dirs = {dir.path() / "d1", dir.path() / "d2"};
    o.time = &time;
    o.config_for = [](const topic_partition& tp) {
        log_config c = test::small_config();
        if (tp.topic == "__consumer_offsets") {
            c.policy = cleanup_policy::compact;
            c.min_cleanable_dirty_ratio = 0.01;
        }
        return c;
    };
    return o;
}

std::string text_of(const fs::path& p) {
    std::ifstream in(p);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(log_manager, create_shutdown_and_reload) {
    temp_dir dir;
    manual_clock time;
    {
        auto m = log_manager::open(manager_options(dir, time));
        ASSERT_TRUE(m) << m.error().message();
        auto& manager = *m.value();
        EXPECT_TRUE(manager.partitions().empty());
        for (int p = 0; p < 4; ++p) {
            auto log = manager.get_or_create({"orders", p}, test::small_config());
            ASSERT_TRUE(log);
            for (int i = 0; i <= p; ++i) {
                auto batch = make_simple_batch(2, 100);
                ASSERT_TRUE(log.value()->append(batch));
            }
            log.value()->set_high_watermark(log.value()->log_end_offset());
        }
        // Same partition again: the same log.
        EXPECT_EQ(manager.get_or_create({"orders", 0}, test::small_config()).value(),
                  manager.get({"orders", 0}));
        // Spread over both dirs.
        EXPECT_EQ(*manager.log_dir_of({"orders", 0}), dir.path() / "d1");
        EXPECT_EQ(*manager.log_dir_of({"orders", 1}), dir.path() / "d2");
        EXPECT_TRUE(fs::is_directory(dir.path() / "d2" / "orders-1"));
        ASSERT_FALSE(manager.shutdown());
    }
    EXPECT_TRUE(fs::exists(dir.path() / "d1" / ".kafka_cleanshutdown"));
    EXPECT_EQ(text_of(dir.path() / "d1" / "recovery-point-offset-checkpoint"),
              "0\n2\norders 0 2\norders 2 6\n");
    EXPECT_EQ(text_of(dir.path() / "d2" / "log-start-offset-checkpoint"),
              "0\n2\norders 1 0\norders 3 0\n");
    EXPECT_EQ(text_of(dir.path() / "d2" / "replication-offset-checkpoint"),
              "0\n2\norders 1 4\norders 3 8\n");

    auto m = log_manager::open(manager_options(dir, time));
    ASSERT_TRUE(m);
    EXPECT_TRUE(m.value()->had_clean_shutdown());
    EXPECT_FALSE(fs::exists(dir.path() / "d1" / ".kafka_cleanshutdown"));  // removed once loaded
    EXPECT_EQ(m.value()->partitions().size(), 4u);
    auto log = m.value()->get({"orders", 3});
    ASSERT_TRUE(log);
    EXPECT_EQ(log->log_end_offset(), offset(8));
    EXPECT_EQ(log->high_watermark(), offset(8));
    EXPECT_EQ(read_records(*log).size(), 8u);
}

TEST(log_manager, unclean_restart_recovers) {
    temp_dir dir;
    manual_clock time;
    fs::path image = dir.path() / "image";
    {
        auto m = log_manager::open(manager_options(dir, time)).value();
        auto log = m->get_or_create({"t", 0}, test::small_config()).value();
        for (int i = 0; i < 20; ++i) {
            auto batch = make_simple_batch(2, 100);
            ASSERT_TRUE(log->append(batch));
        }
        ASSERT_FALSE(m->write_checkpoints());
        // The process dies here: copy the files as they are.
        fs::create_directories(image);
        fs::copy(dir.path() / "d1", image / "d1", fs::copy_options::recursive);
        fs::create_directories(image / "d2");
    }
    auto file = [&] {
        fs::path best;
        for (const auto& e : fs::directory_iterator(image / "d1" / "t-0")) {
            if (e.path().extension() == ".log" && (best.empty() || e.path() > best)) {
                best = e.path();
            }
        }
        return best;
    }();
    fs::resize_file(file, fs::file_size(file) - 10);  // a torn last batch
    log_manager_options o = manager_options(dir, time);
    o.log_dirs = {image / "d1", image / "d2"};
    auto m = log_manager::open(o);
    ASSERT_TRUE(m);
    EXPECT_FALSE(m.value()->had_clean_shutdown());
    auto log = m.value()->get({"t", 0});
    EXPECT_EQ(log->log_end_offset(), offset(38));
    EXPECT_EQ(log->recovery_point(), offset(38));
}

TEST(log_manager, remove_renames_then_deletes_after_the_delay) {
    temp_dir dir;
    manual_clock time;
    auto o = manager_options(dir, time);
    auto m = log_manager::open(o).value();
    log_config config = test::small_config();
    config.file_delete_delay_ms = 5000;
    auto log = m->get_or_create({"gone", 0}, config).value();
    auto batch = make_simple_batch(1, 10);
    ASSERT_TRUE(log->append(batch));
    auto held = log->read(offset(0), 100, offset(1)).value();
    ASSERT_FALSE(m->remove({"gone", 0}));
    EXPECT_FALSE(m->get({"gone", 0}));
    EXPECT_FALSE(fs::exists(dir.path() / "d1" / "gone-0"));
    std::size_t delete_dirs = 0;
    for (const auto& e : fs::directory_iterator(dir.path() / "d1")) {
        std::string name = e.path().filename().string();
        if (name.rfind("gone-0.", 0) == 0 && name.size() == 7 + 32 + 7 &&
            name.substr(name.size() - 7) == "-delete") {
            ++delete_dirs;
        }
    }
    EXPECT_EQ(delete_dirs, 1u);
    EXPECT_TRUE(held.read_all());  // in-flight reads survive
    EXPECT_EQ(m->run_retention(time.now_ms()).removed_dirs, 0u);
    time.advance(5000);
    EXPECT_EQ(m->run_retention(time.now_ms()).removed_dirs, 1u);
    for (const auto& e : fs::directory_iterator(dir.path() / "d1")) {
        EXPECT_EQ(e.path().filename().string().find("-delete"), std::string::npos);
    }
    // A -delete directory left by a crash goes at startup; the recreated partition starts empty.
    fs::create_directories(dir.path() / "d2" / "x-1.0123456789abcdef0123456789abcdef-delete");
    m.reset();
    m = log_manager::open(o).value();
    EXPECT_FALSE(fs::exists(dir.path() / "d2" / "x-1.0123456789abcdef0123456789abcdef-delete"));
    EXPECT_EQ(m->get_or_create({"gone", 0}, config).value()->log_end_offset(), offset(0));
}

TEST(log_manager, duplicate_partition_across_dirs_is_an_error) {
    temp_dir dir;
    manual_clock time;
    fs::create_directories(dir.path() / "d1" / "dup-0");
    fs::create_directories(dir.path() / "d2" / "dup-0");
    auto m = log_manager::open(manager_options(dir, time));
    ASSERT_FALSE(m);
    EXPECT_EQ(m.error(), errc::log_exists);
}

TEST(log_manager, retention_and_cleaner_passes_respect_the_filter) {
    temp_dir dir;
    manual_clock time(10'000'000);
    auto m = log_manager::open(manager_options(dir, time)).value();
    log_config expiring = test::small_config();
    expiring.retention_ms = 1000;
    auto a = m->get_or_create({"a", 0}, expiring).value();
    auto b = m->get_or_create({"b", 0}, expiring).value();
    log_config compacted = test::small_config();
    compacted.policy = cleanup_policy::compact;
    compacted.min_cleanable_dirty_ratio = 0.01;
    auto c = m->get_or_create({"__consumer_offsets", 0}, compacted).value();
    for (int i = 0; i < 20; ++i) {
        for (auto* log : {a.get(), b.get()}) {
            auto batch = make_simple_batch(2, 100, time.now_ms());
            ASSERT_TRUE(log->append(batch));
            log->set_high_watermark(log->log_end_offset());
        }
        auto keyed =
            make_batch({{test::numbered("group-", i % 2), std::string(100, 'o'), time.now_ms()}});
        ASSERT_TRUE(c->append(keyed));
        c->set_high_watermark(c->log_end_offset());
    }
    time.advance(5000);
    auto only_a = [](const topic_partition& tp) { return tp.topic == "a"; };
    auto r = m->run_retention(time.now_ms(), only_a);
    EXPECT_FALSE(r.first_error);
    EXPECT_GT(r.totals.deleted_segments, 0u);
    EXPECT_GT(a->log_start_offset(), offset(0));
    EXPECT_EQ(b->log_start_offset(), offset(0));

    auto cleaned = m->run_cleaner(time.now_ms());
    EXPECT_FALSE(cleaned.first_error);
    EXPECT_EQ(cleaned.logs_cleaned, 1u);
    EXPECT_LT(read_records(*c).size(), 20u);
    ASSERT_FALSE(m->write_checkpoints());
    auto cleaner_offsets =
        read_offset_checkpoint(dir.path() / "d1" / "cleaner-offset-checkpoint").value();
    auto cleaner_offsets2 =
        read_offset_checkpoint(dir.path() / "d2" / "cleaner-offset-checkpoint").value();
    cleaner_offsets.insert(cleaner_offsets2.begin(), cleaner_offsets2.end());
    const topic_partition offsets_tp{"__consumer_offsets", 0};
    ASSERT_EQ(cleaner_offsets.count(offsets_tp), 1u);
    EXPECT_EQ(cleaner_offsets[offsets_tp], c->cleaner_checkpoint().value());
    EXPECT_GT(c->cleaner_checkpoint(), offset(0));
}

TEST(log_manager, passes_run_owner_steps_under_the_guard) {
    temp_dir dir;
    manual_clock time;
    auto m = log_manager::open(manager_options(dir, time)).value();
    log_config config = test::small_config();
    config.policy = cleanup_policy::compact;
    config.min_cleanable_dirty_ratio = 0.01;
    config.flush_messages = 1;
    auto log = m->get_or_create({"g", 0}, config).value();
    for (int i = 0; i < 20; ++i) {
        auto batch = make_batch({{test::numbered("k", i % 3), std::string(100, 'v'), 1}});
        ASSERT_TRUE(log->append(batch));
    }
    log->set_high_watermark(log->log_end_offset());
    std::mutex partition_mutex;
    int guarded_calls = 0;
    bool inside = false;
    owner_guard guard = [&](const topic_partition& tp, const std::function<void()>& work) {
        EXPECT_EQ(tp, (topic_partition{"g", 0}));
        std::lock_guard lock(partition_mutex);
        inside = true;
        ++guarded_calls;
        work();
        inside = false;
    };
    EXPECT_FALSE(m->flush_due_logs(time.now_ms(), {}, guard));
    EXPECT_EQ(guarded_calls, 2);  // prepare, complete; the fsync ran in between, unguarded
    EXPECT_EQ(log->recovery_point(), log->log_end_offset());
    auto cleaned = m->run_cleaner(time.now_ms(), {}, guard);
    EXPECT_FALSE(cleaned.first_error);
    EXPECT_EQ(cleaned.logs_cleaned, 1u);
    EXPECT_EQ(guarded_calls, 4);
    EXPECT_FALSE(m->run_retention(time.now_ms(), {}, guard).first_error);
    EXPECT_EQ(guarded_calls, 5);
    EXPECT_FALSE(inside);
}

TEST(log_manager, flush_due_logs) {
    temp_dir dir;
    manual_clock time;
    auto m = log_manager::open(manager_options(dir, time)).value();
    log_config config = test::small_config();
    config.flush_messages = 3;
    auto log = m->get_or_create({"f", 0}, config).value();
    for (int i = 0; i < 3; ++i) {
        auto batch = make_simple_batch(1, 10);
        ASSERT_TRUE(log->append(batch));
    }
    EXPECT_EQ(log->recovery_point(), offset(0));
    ASSERT_FALSE(m->flush_due_logs(time.now_ms()));
    EXPECT_EQ(log->recovery_point(), offset(3));
}

}  // namespace
}  // namespace broker::log
