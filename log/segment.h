#pragma once
// One segment of a partition log: a .log file of record batches plus its offset and time indexes.
//
// Files, in the partition directory, named by the segment's base offset zero-padded to 20 digits
// (Kafka's names), optionally followed by a state suffix:
//   <base>.log        record batches (magic v2), back to back, exactly as received; no framing of
//                     our own. See docs/log-format.md.
//   <base>.index      offset_index (8-byte entries)
//   <base>.timeindex  time_index (12-byte entries)
//   suffix ".deleted" the segment was removed from the log and waits for file.delete.delay.ms
//   suffix ".cleaned" the cleaner is writing a replacement (incomplete; deleted at startup)
//   suffix ".swap"    a complete replacement being swapped in (completed at startup)
//
// A segment is "active" (writable) when it is the last one of its log; its indexes are then
// preallocated and mapped read-write. close_writes() trims them and records the final time index
// entry, after which the segment is immutable unless a truncation makes it active again.
//
// Threading: owned by its partition_log and used on the log's owner thread, except flush(), which
// may run on any thread, and file(), whose handle may be read anywhere (pread/sendfile). The
// cleaner reads closed segments through file() from its own thread.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <system_error>
#include <vector>

#include "log/batch_reader.h"
#include "log/errors.h"
#include "log/file.h"
#include "log/log_config.h"
#include "log/offset_index.h"
#include "log/time_index.h"

namespace broker::log {

/// A whole-batch byte range of a segment chosen by segment::read.
struct segment_read {
    uint64_t position = 0;
    uint64_t length = 0;         // 0: nothing to return from this segment
    int64_t first_offset = -1;   // base offset of the first batch in the range
    int64_t next_offset = -1;    // where a following read should start
    bool limit_reached = false;  // stopped by max bytes or the offset bound (do not look further)
};

/// What recovery found in a segment.
struct recovery_outcome {
    uint64_t valid_bytes = 0;      // bytes of whole, valid batches kept
    uint64_t truncated_bytes = 0;  // bytes cut from the tail
    std::size_t batches = 0;
};

class segment {
public:
    /// "00000000000000000042" for 42.
    static std::string file_stem(int64_t base_offset);
    static std::filesystem::path log_path(const std::filesystem::path& dir, int64_t base,
                                          const std::string& suffix = "");
    static std::filesystem::path index_path(const std::filesystem::path& dir, int64_t base,
                                            const std::string& suffix = "");
    static std::filesystem::path time_index_path(const std::filesystem::path& dir, int64_t base,
                                                 const std::string& suffix = "");

    /// Creates an empty, active segment (files created, indexes preallocated to
    /// segment.index.bytes). Existing files with these names are truncated.
    static result<std::shared_ptr<segment>> create(const std::filesystem::path& dir,
                                                   int64_t base_offset, const log_config& config,
                                                   const std::string& suffix = "");

    /// Opens an existing segment. With `recover`, every batch is validated (length, magic, CRC-32C,
    /// increasing offsets), a bad tail is truncated and both indexes are rebuilt. Without it the
    /// indexes are trusted after a sanity check (and rebuilt when they fail it or are missing).
    /// `writable` opens the indexes for appends (the active segment).
    static result<std::shared_ptr<segment>> open(const std::filesystem::path& dir,
                                                 int64_t base_offset, const log_config& config,
                                                 int64_t now_ms, bool writable, bool recover,
                                                 const std::string& suffix = "");

    segment(const segment&) = delete;
    segment& operator=(const segment&) = delete;
    ~segment();

    int64_t base_offset() const { return base_; }
    /// One past the last offset stored here (the base offset when empty).
    int64_t next_offset() const { return next_offset_; }
    uint64_t size() const { return size_; }
    bool empty() const { return size_ == 0; }
    bool writable() const { return writable_; }
    /// Largest record timestamp, -1 when no batch carries one.
    int64_t max_timestamp() const { return max_timestamp_; }
    /// Last offset of the (first) batch holding max_timestamp().
    int64_t offset_of_max_timestamp() const { return offset_of_max_timestamp_; }
    /// The timestamp retention judges the segment by: max_timestamp(), or the last modification
    /// time when no record has a timestamp (Kafka's rule).
    int64_t largest_timestamp() const {
        return max_timestamp_ >= 0 ? max_timestamp_ : last_modified_ms_;
    }
    int64_t last_modified_ms() const { return last_modified_ms_; }
    void set_last_modified_ms(int64_t ms) { last_modified_ms_ = ms; }
    /// When the segment started receiving appends; segment.ms counts from here (-1 while empty).
    int64_t rolling_base_ms() const { return rolling_base_ms_; }
    /// What recovery found, when the segment was opened with `recover` (or rebuilt).
    const recovery_outcome& recovery() const { return recovery_; }
    bool recovered() const { return recovered_; }

    const std::shared_ptr<const file_handle>& file() const { return file_; }
    const offset_index& index() const { return index_; }
    const time_index& timeindex() const { return time_index_; }
    bool index_full() const { return index_.full() || time_index_.full(); }
    /// Total bytes of the log and index files.
    uint64_t total_bytes() const { return size_ + index_.size_bytes() + time_index_.size_bytes(); }

    /// Appends whole batches (already carrying their final offsets) with one write.
    /// `largest_offset` is the last offset of the last batch; max_timestamp /
    /// offset_of_max_timestamp describe the appended batches. Adds an index entry when more than
    /// index.interval.bytes were written since the last one.
    std::error_code append(int64_t largest_offset, int64_t max_timestamp,
                           int64_t offset_of_max_timestamp, std::span<const uint8_t> bytes,
                           int64_t now_ms);

    /// Whole batches from the first one whose last offset >= `start_offset`, up to `max_bytes` (the
    /// first batch is returned even when larger if `oversize_first`), never including a batch whose
    /// last offset >= `offset_bound`.
    result<segment_read> read(int64_t start_offset, uint64_t max_bytes, int64_t offset_bound,
                              bool oversize_first) const;

    /// The first batch whose last offset >= target, or nullopt when this segment has none.
    result<std::optional<batch_entry>> find_batch(int64_t target) const;

    /// Reads one whole batch at `position` of `size` bytes into `out`.
    std::error_code read_batch(uint64_t position, std::size_t size,
                               std::vector<uint8_t>& out) const;

    /// The first record at offset >= min_offset with timestamp >= target, as (timestamp, offset,
    /// leader epoch of its batch), or nullopt when none is here.
    struct timestamp_match {
        int64_t timestamp;
        int64_t offset;
        int32_t leader_epoch;
    };
    result<std::optional<timestamp_match>> find_timestamp(int64_t target, int64_t min_offset) const;
    /// The record holding max_timestamp() (first such record), or nullopt when the segment is
    /// empty.
    result<std::optional<timestamp_match>> find_max_timestamp() const;

    /// Removes every batch whose last offset >= offset (cuts at a batch boundary). Returns bytes
    /// removed.
    result<uint64_t> truncate_to(int64_t offset);

    /// Records the final time index entry, trims both indexes and the log file to their contents,
    /// and makes the segment read-only. No-op when not writable.
    std::error_code close_writes();
    /// Makes a closed segment the active one again (after truncation).
    std::error_code make_writable(const log_config& config);
    /// fsync of the log file and msync of both indexes. Safe from any thread.
    std::error_code flush() const;

    /// Renames all three files to carry `suffix` ("" for the live names).
    std::error_code rename_suffix(const std::string& suffix);
    /// The three file paths as currently named.
    std::vector<std::filesystem::path> paths() const;
    const std::filesystem::path& dir() const { return dir_; }

private:
    segment(std::filesystem::path dir, int64_t base, std::string suffix,
            std::shared_ptr<const file_handle> file, int64_t index_interval);

    /// Scans the whole file: validation, truncation of a bad tail, index rebuild.
    std::error_code recover_from_log();
    /// Recomputes next offset and max timestamp from the indexes and the log after the last entry.
    std::error_code load_tail_state(bool& consistent);
    void note_batch(uint64_t position, const protocol::batch_header& header, std::size_t size);

    std::filesystem::path dir_;
    int64_t base_;
    std::string suffix_;
    std::shared_ptr<const file_handle> file_;
    offset_index index_;
    time_index time_index_;
    int64_t index_interval_;
    uint64_t index_bytes_ = 0;
    uint64_t size_ = 0;
    int64_t next_offset_;
    int64_t max_timestamp_ = -1;
    int64_t offset_of_max_timestamp_ = -1;
    int64_t last_modified_ms_ = 0;
    int64_t rolling_base_ms_ = -1;
    uint64_t bytes_since_last_index_entry_ = 0;
    bool writable_ = false;
    bool recovered_ = false;
    recovery_outcome recovery_;
};

}  // namespace broker::log
