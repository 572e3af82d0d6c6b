#pragma once
// Sparse time index of one segment: maps timestamps to offsets.
//
// File `<base_offset:020>.timeindex`, an array of 12-byte entries, big-endian as Kafka writes them:
//   0  int64  timestamp         the largest record timestamp seen in the segment so far
//   8  int32  relative offset   (offset - segment base offset) of the last offset of the batch that
//                               carried that timestamp
// Timestamps are strictly increasing; an entry is only written when the segment's maximum timestamp
// grew, at the same index-interval points as the offset index. When a segment is closed (roll or
// shutdown) a final entry records the segment's maximum timestamp, so the last entry of a closed
// segment's time index gives its largest timestamp without reading the log; one slot is kept free
// for that entry (Kafka does the same).
//
// Threading: see mapped_index (owner thread; flush() from any thread).
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <system_error>

#include "log/mapped_index.h"

namespace broker::log {

struct timestamp_offset_entry {
    int64_t timestamp = -1;
    int64_t offset = 0;  // absolute offset
    friend bool operator==(const timestamp_offset_entry&, const timestamp_offset_entry&) = default;
};

class time_index {
public:
    static constexpr std::size_t entry_size = 12;

    time_index(std::filesystem::path path, int64_t base_offset)
        : file_(std::move(path), entry_size), base_(base_offset) {}

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
    /// Full one entry early: the last slot is reserved for the entry written when the segment
    /// closes.
    bool full() const { return file_.entries() + 1 >= file_.max_entries(); }
    uint64_t size_bytes() const { return file_.entries() * entry_size; }

    timestamp_offset_entry entry(std::size_t i) const;
    /// The last entry, or {-1, base_offset} when empty.
    timestamp_offset_entry last_entry() const;

    /// Greatest entry whose timestamp is strictly below `target`, or {-1, base_offset}. Every
    /// record before that entry's offset has a timestamp below `target`, so the search for the
    /// first record with timestamp >= target can start at the batch holding that offset.
    timestamp_offset_entry lookup(int64_t target) const;

    /// Appends (timestamp, offset) if timestamp is above the last entry's. `closing` may use the
    /// reserved last slot. Returns true if an entry was written.
    bool maybe_append(int64_t timestamp, int64_t offset, bool closing = false);
    /// Removes every entry with offset >= `offset`.
    void truncate_to(int64_t offset);
    void reset() { file_.set_entries(0); }

    /// Whole entries; last offset not below the base; last two entries increasing.
    bool sane() const;

private:
    mapped_index file_;
    int64_t base_;
};

}  // namespace broker::log
