#pragma once
// log_dir_space: how much room a log dir has left, for log.dir.min.free.bytes, without a statvfs(2)
// per append.
//
// The estimate is the free space statvfs reported at the last check minus the bytes appended since.
// An append that the estimate leaves room for goes ahead without a system call while the check is
// younger than the refresh interval; anything else (an old check, or an estimate with too little
// room) checks again first, so a refusal is always decided on a fresh reading and appends resume as
// soon as space comes back. Space taken by other writers between checks is what the reserve itself
// covers.
//
// Thread-safety: any thread. The counters are atomics; concurrent appends may both pass a check
// that only one would have, by at most their own sizes (well inside any useful reserve).
//
// filesystem_space_of() is the broker's one statvfs(2) call: the estimate refreshes with it, and
// DescribeLogDirs and storage error messages report what it reads.
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <memory>
#include <optional>
#include <string>

namespace broker::server {

/// The size of a filesystem and the room left on it, in bytes.
struct filesystem_space {
    uint64_t total_bytes = 0;  // f_blocks * f_frsize
    uint64_t free_bytes = 0;   // f_bavail * f_frsize: what an unprivileged writer may still use
};

/// statvfs(2) of the filesystem holding `path`; nullopt when it cannot be read. statvfs reads the
/// superblock counters, it does not touch the disk. Any thread.
std::optional<filesystem_space> filesystem_space_of(const std::filesystem::path& path);

class log_dir_space {
public:
    /// How old a reading may be before an append checks again.
    static constexpr int64_t refresh_interval_ms = 1000;

    explicit log_dir_space(std::filesystem::path dir) : dir_(std::move(dir)) {}

    /// The shared estimate for the log dir `dir` (one per directory for the life of the process).
    static std::shared_ptr<log_dir_space> of(const std::filesystem::path& dir);

    const std::filesystem::path& dir() const { return dir_; }

    /// True when `bytes` more still leave `reserve` bytes free, counting them as spent if so. Also
    /// true when the filesystem cannot be asked (the append itself will then report any error).
    /// `now_ms` is any monotonic millisecond clock.
    bool take(uint64_t bytes, uint64_t reserve, int64_t now_ms);

    /// Free bytes right now (statvfs f_bavail), nullopt when it cannot be read.
    std::optional<uint64_t> free_now() const;

private:
    const std::filesystem::path dir_;
    std::atomic<int64_t> checked_ms_{std::numeric_limits<int64_t>::min() / 2};
    std::atomic<uint64_t> known_free_{0};
    std::atomic<uint64_t> spent_{0};
};

}  // namespace broker::server
