#pragma once
// Sparse offset index of one segment: maps offsets to byte positions in the segment's .log file.
//
// File `<base_offset:020>.index`, an array of 8-byte entries, big-endian as Kafka writes them:
//   0  int32  relative offset   (offset - segment base offset)
//   4  int32  position          byte position in the .log file of the batch (or first of several
//                               batches appended together) whose last offset is that offset
// Entries are strictly increasing in both fields. One entry is added when more than
// index.interval.bytes were appended since the previous one, so a lookup costs a binary search plus
// a scan of at most about index.interval.bytes of batch headers. The file carries no checksum: it
// is derived data, rebuilt from the log when missing or suspect.
//
// Threading: see mapped_index (owner thread; flush() from any thread).
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <system_error>

#include "log/mapped_index.h"

namespace broker::log {

struct offset_position {
    int64_t offset = 0;     // absolute offset
    uint32_t position = 0;  // byte position in the .log file
    friend bool operator==(const offset_position&, const offset_position&) = default;
};

class offset_index {
public:
    static constexpr std::size_t entry_size = 8;

    offset_index(std::filesystem::path path, int64_t base_offset)
        : file_(std::move(path), entry_size), base_(base_offset) {}

    /// Opens or creates the file; see mapped_index::open.
    std::error_code open(uint64_t max_bytes, bool writable) {
        return file_.open(max_bytes, writable);
    }
    std::error_code make_writable(uint64_t max_bytes) { return file_.make_writable(max_bytes); }
    std::error_code trim() { return file_.trim(); }
    std::error_code flush() const { return file_.flush(); }
    std::error_code remove() { return file_.remove(); }
    std::error_code rename(const std::filesystem::path& to) { return file_.rename(to); }
    const std::filesystem::path& path() const { return file_.path(); }

    int64_t base_offset() const { return base_; }
    std::size_t entries() const { return file_.entries(); }
    std::size_t max_entries() const { return file_.max_entries(); }
    bool full() const { return file_.entries() >= file_.max_entries(); }
    uint64_t size_bytes() const { return file_.entries() * entry_size; }

    offset_position entry(std::size_t i) const;
    /// The last entry, or {base_offset, 0} when empty.
    offset_position last_entry() const;

    /// Greatest entry whose offset <= target, or {base_offset, 0} when there is none: the position
    /// from which a scan finds the batch containing `target`.
    offset_position lookup(int64_t target) const;
    /// Index of the last entry whose position <= `position` and whose offset < `offset_bound`, or
    /// nullopt. Used to skip whole batches when bounding a read.
    std::optional<offset_position> last_entry_before(uint64_t position, int64_t offset_bound) const;

    /// Appends an entry. The offset must be above the last entry's and fit in int32 relative to the
    /// base; the index must not be full (the log rolls before that). Returns false when refused.
    bool append(int64_t offset, uint32_t position);
    /// Removes every entry with offset >= `offset`.
    void truncate_to(int64_t offset);
    /// Removes all entries (before a rebuild).
    void reset() { file_.set_entries(0); }

    /// Kafka's sanity check plus a bound against the log size: whole entries, last offset not
    /// below the base, last two entries strictly increasing, last position inside the log.
    bool sane(uint64_t log_size) const;

private:
    mapped_index file_;
    int64_t base_;
};

}  // namespace broker::log
