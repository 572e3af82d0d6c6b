#include "log/mapped_index.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "log/errors.h"

namespace broker::log {
namespace {

/// An fd closed on scope exit; the index keeps no descriptor open once mapped, so a partition
/// with many segments costs one descriptor per segment (its log file), not three.
class scoped_fd {
public:
    explicit scoped_fd(int fd) : fd_(fd) {}
    ~scoped_fd() {
        if (fd_ >= 0) {
            ::close(fd_);
        }
    }
    scoped_fd(const scoped_fd&) = delete;
    scoped_fd& operator=(const scoped_fd&) = delete;
    int get() const { return fd_; }

private:
    int fd_;
};

std::error_code set_length(int fd, uint64_t bytes) {
    while (::ftruncate(fd, static_cast<off_t>(bytes)) != 0) {
        if (errno != EINTR) {
            return errno_code();
        }
    }
    return {};
}

}  // namespace

mapped_index::mapped_index(std::filesystem::path path, std::size_t entry_size)
    : path_(std::move(path)), entry_size_(entry_size) {}

mapped_index::~mapped_index() {
    unmap();
}

void mapped_index::unmap() {
    if (base_ != nullptr) {
        ::munmap(base_, mapped_bytes_);
        base_ = nullptr;
    }
    mapped_bytes_ = 0;
}

std::error_code mapped_index::map(uint64_t bytes, bool writable) {
    std::lock_guard lock(map_mutex_);
    unmap();
    writable_ = writable;
    if (bytes == 0) {
        return {};
    }
    scoped_fd fd(::open(path_.c_str(), (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC));
    if (fd.get() < 0) {
        return errno_code();
    }
    void* p = ::mmap(nullptr, bytes, writable ? (PROT_READ | PROT_WRITE) : PROT_READ, MAP_SHARED,
                     fd.get(), 0);
    if (p == MAP_FAILED) {
        return errno_code();
    }
    if (writable) {
        // The preallocated tail is a hole. Without this hint each first touch of a page faults in a
        // readahead window of zero-filled pages, which showed up as several percent of append time.
        ::madvise(p, bytes, MADV_RANDOM);
    }
    base_ = static_cast<uint8_t*>(p);
    mapped_bytes_ = bytes;
    return {};
}

std::error_code mapped_index::open(uint64_t max_bytes, bool writable) {
    uint64_t file_size = 0;
    {
        scoped_fd fd(::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
        if (fd.get() < 0) {
            return errno_code();
        }
        struct stat st {};
        if (::fstat(fd.get(), &st) != 0) {
            return errno_code();
        }
        file_size = static_cast<uint64_t>(st.st_size);
    }
    opened_bytes_ = file_size;
    entries_ = file_size / entry_size_;
    if (writable) {
        return make_writable(max_bytes);
    }
    max_entries_ = entries_;
    return map(entries_ * entry_size_, false);
}

std::error_code mapped_index::make_writable(uint64_t max_bytes) {
    uint64_t target = max_bytes / entry_size_ * entry_size_;
    if (target < entries_ * entry_size_) {
        target = entries_ * entry_size_;
    }
    {
        scoped_fd fd(::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
        if (fd.get() < 0) {
            return errno_code();
        }
        if (auto ec = set_length(fd.get(), target)) {
            return ec;
        }
    }
    max_entries_ = target / entry_size_;
    return map(target, true);
}

std::error_code mapped_index::trim() {
    uint64_t bytes = entries_ * entry_size_;
    {
        scoped_fd fd(::open(path_.c_str(), O_RDWR | O_CLOEXEC));
        if (fd.get() < 0) {
            return errno_code();
        }
        if (auto ec = set_length(fd.get(), bytes)) {
            return ec;
        }
    }
    max_entries_ = entries_;
    return map(bytes, false);
}

std::error_code mapped_index::flush() const {
    std::lock_guard lock(map_mutex_);
    if (base_ == nullptr) {
        return {};
    }
    if (::msync(base_, mapped_bytes_, MS_SYNC) != 0) {
        return errno_code();
    }
    return {};
}

std::error_code mapped_index::remove() {
    {
        std::lock_guard lock(map_mutex_);
        unmap();
    }
    entries_ = 0;
    max_entries_ = 0;
    if (::unlink(path_.c_str()) != 0 && errno != ENOENT) {
        return errno_code();
    }
    return {};
}

std::error_code mapped_index::rename(const std::filesystem::path& to) {
    if (::rename(path_.c_str(), to.c_str()) != 0) {
        return errno_code();
    }
    path_ = to;
    return {};
}

}  // namespace broker::log
