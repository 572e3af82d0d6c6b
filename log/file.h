#pragma once
// Thin POSIX file helpers for the log: an owning file descriptor that read results share,
// positioned reads and writes that retry on EINTR and short transfers, fsync of files and
// directories, and an atomic small-file replace (temp file + fsync + rename + directory fsync) for
// checkpoint files.
//
// file_handle is immutable after construction and may be used from any thread; the kernel
// serialises concurrent pread/pwrite on one descriptor.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "log/errors.h"

namespace broker::log {

/// An open file descriptor, closed when the last owner lets go. Segments hand out
/// shared_ptr<const file_handle> in read results so that a segment deleted or replaced while a
/// response is being sent keeps its file open until the send finishes.
class file_handle {
public:
    /// open(2) with O_CLOEXEC added. Creates the file (mode 0644) when O_CREAT is in `flags`.
    static result<std::shared_ptr<file_handle>> open(const std::filesystem::path& path, int flags);

    explicit file_handle(int fd) : fd_(fd) {}
    ~file_handle();
    file_handle(const file_handle&) = delete;
    file_handle& operator=(const file_handle&) = delete;

    int fd() const { return fd_; }
    result<uint64_t> size() const;

private:
    int fd_ = -1;
};

/// Reads exactly `out.size()` bytes at `position`; errc::corrupt_file if the file ends first.
std::error_code read_exact(int fd, std::span<uint8_t> out, uint64_t position);
/// Reads up to `out.size()` bytes at `position`; returns how many were read (less only at end of
/// file).
result<std::size_t> read_some(int fd, std::span<uint8_t> out, uint64_t position);
/// Writes all of `data` at `position`.
std::error_code write_all(int fd, std::span<const uint8_t> data, uint64_t position);
/// fsync(2).
std::error_code sync_file(int fd);
/// Opens a directory and fsyncs it, making renames and file creations in it durable.
std::error_code sync_directory(const std::filesystem::path& dir);
/// Replaces `path` with `content` atomically: writes `path`.tmp, optionally fsyncs it, renames it
/// over `path` and (when `durable`) fsyncs the directory.
std::error_code replace_file(const std::filesystem::path& path, std::string_view content,
                             bool durable);
/// The entries of a directory (no recursion), without throwing.
result<std::vector<std::filesystem::directory_entry>> list_directory(
    const std::filesystem::path& dir);
/// Reads a whole small file. A missing file gives errc::no_such_file_or_directory (generic
/// category).
result<std::string> read_small_file(const std::filesystem::path& path, std::size_t max_bytes);

}  // namespace broker::log
