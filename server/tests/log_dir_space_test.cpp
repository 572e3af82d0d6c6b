#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "server/log_dir_space.h"

namespace broker::server {
namespace {

std::filesystem::path temp_dir() {
    return std::filesystem::temp_directory_path();
}

TEST(filesystem_space, reads_the_size_and_room_of_the_filesystem_holding_a_path) {
    const std::optional<filesystem_space> space = filesystem_space_of(temp_dir());
    ASSERT_TRUE(space.has_value());
    EXPECT_GT(space->total_bytes, 0U);
    EXPECT_LE(space->free_bytes, space->total_bytes);
    // What std::filesystem::space reports from the same statvfs fields (capacity: f_blocks,
    // available: f_bavail); the room may move a little between the two calls.
    const std::filesystem::space_info info = std::filesystem::space(temp_dir());
    EXPECT_EQ(space->total_bytes, info.capacity);
    const uint64_t drift = 64U * 1024 * 1024;
    EXPECT_LE(space->free_bytes, info.available + drift);
    EXPECT_GE(space->free_bytes + drift, info.available);
    // A file in the directory is on the same filesystem.
    const std::filesystem::path file =
        temp_dir() / ("filesystem-space-test-" + std::to_string(::getpid()));
    std::ofstream(file).put('x');
    const std::optional<filesystem_space> same = filesystem_space_of(file);
    std::filesystem::remove(file);
    ASSERT_TRUE(same.has_value());
    EXPECT_EQ(same->total_bytes, space->total_bytes);
}

TEST(filesystem_space, nothing_for_a_path_that_does_not_exist) {
    EXPECT_FALSE(filesystem_space_of(temp_dir() / "no-such-dir" / "below").has_value());
}

TEST(log_dir_space, one_estimate_per_directory) {
    const auto a = log_dir_space::of(temp_dir());
    const auto b = log_dir_space::of(temp_dir() / ".");
    EXPECT_EQ(a.get(), b.get());
    EXPECT_NE(a.get(), log_dir_space::of(temp_dir() / "elsewhere").get());
}

TEST(log_dir_space, refuses_what_would_eat_into_the_reserve) {
    log_dir_space space(temp_dir());
    const std::optional<uint64_t> free = space.free_now();
    ASSERT_TRUE(free.has_value());
    ASSERT_GT(*free, 2U * 1024 * 1024);
    EXPECT_TRUE(space.take(1024, 1024 * 1024, 0));
    // A reserve larger than the whole free space refuses any append, at once.
    EXPECT_FALSE(space.take(1, *free + 1, 1));
    // And a reasonable one is granted again straight after a refusal.
    EXPECT_TRUE(space.take(1024, 1024 * 1024, 2));
}

TEST(log_dir_space, stops_granting_when_the_space_is_really_used) {
    const std::filesystem::path dir =
        temp_dir() / ("log-dir-space-test-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    log_dir_space space(dir);
    const std::optional<uint64_t> free = space.free_now();
    ASSERT_TRUE(free.has_value());
    ASSERT_GT(*free, 64U * 1024 * 1024);
    // Leave 8 MiB above the reserve, then write 1 MiB per grant, all within one refresh interval:
    // the grants stop after about eight (give or take what other processes write meanwhile),
    // because the estimate counts what was granted since the last reading.
    const uint64_t reserve = *free - 8 * 1024 * 1024;
    const std::vector<char> mib(1024 * 1024, 'x');
    int granted = 0;
    for (int i = 0; i < 16; ++i) {
        if (!space.take(mib.size(), reserve, i)) {
            continue;
        }
        ++granted;
        std::ofstream out(dir / ("chunk-" + std::to_string(i)), std::ios::binary);
        out.write(mib.data(), static_cast<std::streamsize>(mib.size()));
        out.close();
        ASSERT_TRUE(out.good());
    }
    std::filesystem::remove_all(dir);
    EXPECT_GE(granted, 1);
    EXPECT_LE(granted, 10);
}

TEST(log_dir_space, an_unreadable_directory_does_not_refuse) {
    log_dir_space space(temp_dir() / "no-such-dir" / "below");
    EXPECT_FALSE(space.free_now().has_value());
    EXPECT_TRUE(space.take(1024, 1024, 0));
}

}  // namespace
}  // namespace broker::server
