#include "server/log_dir_space.h"

#include <sys/statvfs.h>

#include <map>
#include <mutex>

namespace broker::server {

std::shared_ptr<log_dir_space> log_dir_space::of(const std::filesystem::path& dir) {
    static std::mutex mutex;
    static std::map<std::string, std::shared_ptr<log_dir_space>> dirs;
    std::filesystem::path normal = dir.lexically_normal();
    if (!normal.has_filename() && normal.has_parent_path() && normal != normal.root_path()) {
        normal = normal.parent_path();  // "a/b/" and "a/b/." name the same directory as "a/b"
    }
    const std::string key = normal.string();
    std::lock_guard lock(mutex);
    std::shared_ptr<log_dir_space>& entry = dirs[key];
    if (!entry) {
        entry = std::make_shared<log_dir_space>(dir);
    }
    return entry;
}

std::optional<filesystem_space> filesystem_space_of(const std::filesystem::path& path) {
    struct statvfs st {};
    if (::statvfs(path.c_str(), &st) != 0) {
        return std::nullopt;
    }
    return filesystem_space{static_cast<uint64_t>(st.f_blocks) * st.f_frsize,
                            static_cast<uint64_t>(st.f_bavail) * st.f_frsize};
}

std::optional<uint64_t> log_dir_space::free_now() const {
    const std::optional<filesystem_space> space = filesystem_space_of(dir_);
    if (!space) {
        return std::nullopt;
    }
    return space->free_bytes;
}

bool log_dir_space::take(uint64_t bytes, uint64_t reserve, int64_t now_ms) {
    const uint64_t needed = bytes + reserve;
    if (now_ms - checked_ms_.load(std::memory_order_acquire) < refresh_interval_ms) {
        const uint64_t known = known_free_.load(std::memory_order_relaxed);
        const uint64_t spent = spent_.load(std::memory_order_relaxed);
        if (known >= spent && known - spent >= needed) {
            spent_.fetch_add(bytes, std::memory_order_relaxed);
            return true;
        }
    }
    const std::optional<uint64_t> free = free_now();
    if (!free) {
        return true;
    }
    known_free_.store(*free, std::memory_order_relaxed);
    spent_.store(0, std::memory_order_relaxed);
    checked_ms_.store(now_ms, std::memory_order_release);
    if (*free < needed) {
        return false;
    }
    spent_.fetch_add(bytes, std::memory_order_relaxed);
    return true;
}

}  // namespace broker::server
