// Kafka's text checkpoint files: round trips, the exact text, and malformed input.
#include <gtest/gtest.h>

#include <fstream>

#include "log/checkpoint_file.h"
#include "log/tests/test_util.h"

namespace broker::log {
namespace {

using test::temp_dir;

TEST(checkpoint_file, offsets_round_trip_in_kafka_format) {
    temp_dir dir;
    auto path = dir.path() / "recovery-point-offset-checkpoint";
    partition_offsets in{{{"orders", 0}, 42}, {{"orders", 1}, 7}, {{"my-topic.v2", 12}, 0}};
    ASSERT_FALSE(write_offset_checkpoint(path, in));
    std::ifstream file(path);
    std::string text(std::istreambuf_iterator<char>(file), {});
    EXPECT_EQ(text, "0\n3\nmy-topic.v2 12 0\norders 0 42\norders 1 7\n");
    auto out = read_offset_checkpoint(path);
    ASSERT_TRUE(out);
    EXPECT_EQ(out.value(), in);
    EXPECT_FALSE(std::filesystem::exists(dir.path() / "recovery-point-offset-checkpoint.tmp"));
}

TEST(checkpoint_file, missing_file_is_empty) {
    temp_dir dir;
    auto out = read_offset_checkpoint(dir.path() / "nope");
    ASSERT_TRUE(out);
    EXPECT_TRUE(out.value().empty());
}

TEST(checkpoint_file, malformed_files_are_errors) {
    temp_dir dir;
    auto path = dir.path() / "cp";
    for (const char* text : {"", "1\n0\n", "0\n2\nt 0 1\n", "0\n1\nt x 1\n", "0\n1\nt 0\n",
                             "0\n1\nt 0 1 2\n", "0\n-1\n", "0\n1\nt -3 1\n", "zero\n0\n"}) {
        { std::ofstream(path, std::ios::trunc) << text; }
        auto out = read_offset_checkpoint(path);
        EXPECT_FALSE(out) << "accepted: " << text;
    }
}

TEST(checkpoint_file, epochs_round_trip) {
    temp_dir dir;
    auto path = dir.path() / "leader-epoch-checkpoint";
    std::vector<epoch_entry> in{{0, 0}, {3, 100}, {7, 250}};
    ASSERT_FALSE(write_epoch_checkpoint(path, in, true));
    auto out = read_epoch_checkpoint(path);
    ASSERT_TRUE(out);
    EXPECT_EQ(out.value(), in);
}

}  // namespace
}  // namespace broker::log
