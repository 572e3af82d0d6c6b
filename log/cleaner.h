#pragma once
// Log compaction (cleanup.policy=compact), following Kafka's LogCleaner.
//
// Terms: the "clean" part of a log is what earlier rounds already compacted, the "dirty" part
// starts at the cleaner checkpoint, and the cleanable range ends at the first "uncleanable"
// segment: the active segment, a segment reaching the high watermark, or one newer than
// min.compaction.lag.ms.
//
// One round:
//  1. (owner thread) partition_log::prepare_clean takes a snapshot of the closed segments in the
//     cleanable range (their descriptors and sizes) plus the later segments' sizes. The log is
//     eligible when dirty / (clean + dirty) >= min.cleanable.dirty.ratio, when a dirty segment is
//     older than max.compaction.lag.ms, or when tombstone delete horizons written by an earlier
//     round have passed.
//  2. (any thread) clean_task::run builds a key -> latest offset map over the dirty part (bounded
//     by the dedupe buffer size, stopping at a segment boundary), then rewrites every segment of
//     the range, grouped so that a group fits segment.bytes / segment.index.bytes, into
//     `<first base>.log.cleaned` (+ indexes), fsynced. A record is kept unless its key has a later
//     offset in the map, it has no key, or it is a tombstone whose batch's delete horizon passed.
//     Batches keep their base offset, last offset delta, producer id/epoch/sequence, compression
//     and leader epoch; records keep their offsets. Unchanged batches are copied byte for byte;
//     changed ones are rebuilt with protocol::build_batch. A batch emptied of records is dropped,
//     except that an empty batch (header only) is kept when it is the last batch of its producer
//     (so producer state survives) or the last batch of its group (so a swap's offset range covers
//     every segment it replaces).
//  3. (owner thread) partition_log::commit_clean swaps each group in: .cleaned -> .swap, old
//     segments -> .deleted, .swap -> live name, with a directory fsync after each step; startup
//     completes or discards an interrupted swap. The cleaner checkpoint moves to the end of the
//     map.
//
// Tombstones follow KIP-534: the first round that sees a tombstone stamps its batch with a delete
// horizon (now + delete.retention.ms, stored as the base timestamp with attribute bit 6); a later
// round after that time drops it.
//
// Simplifications (documented in docs/log-format.md): control batches are kept as they are, and
// records of aborted transactions are treated like committed ones.
//
// Threading: a clean_task is created and committed on the log's owner thread; run() may execute on
// any thread. It reads the snapshot segments only through their shared file descriptors, never
// touching state the owner mutates. Dropping a task without committing removes its .cleaned files.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <system_error>
#include <vector>

#include "log/file.h"
#include "log/log_config.h"
#include "log/segment.h"

namespace broker::log {

/// Broker-level cleaner settings (Kafka's log.cleaner.*).
struct cleaner_options {
    std::size_t dedupe_buffer_bytes = 128 * 1024 * 1024;  // log.cleaner.dedupe.buffer.size
    std::size_t io_buffer_bytes = 1024 * 1024;            // log.cleaner.io.buffer.size (read size)
};

struct clean_stats {
    int64_t first_dirty_offset = 0;
    int64_t end_offset = 0;  // the cleaner checkpoint after this round
    std::size_t segments_replaced = 0;
    std::size_t segments_written = 0;
    std::size_t groups_skipped = 0;  // not swapped in because the log changed meanwhile
    uint64_t bytes_read = 0;
    uint64_t bytes_written = 0;
    uint64_t records_read = 0;
    uint64_t records_retained = 0;
    uint64_t tombstones_removed = 0;
};

class clean_task {
public:
    clean_task(const clean_task&) = delete;
    clean_task& operator=(const clean_task&) = delete;
    ~clean_task();

    /// Builds the offset map and writes the cleaned segments. Blocking; any thread; once.
    std::error_code run();
    const clean_stats& stats() const { return stats_; }
    std::error_code error() const { return error_; }

private:
    friend class partition_log;

    struct source {
        std::shared_ptr<segment> seg;  // identity check at commit; not used by run()
        std::shared_ptr<const file_handle> file;
        int64_t base = 0;
        int64_t end = 0;  // next segment's base offset
        uint64_t size = 0;
        uint64_t index_bytes = 0;
        int64_t last_modified_ms = 0;
    };
    struct group {
        std::size_t first = 0;  // indices into sources_, inclusive
        std::size_t last = 0;
        std::shared_ptr<segment> cleaned;
        bool committed = false;
    };

    clean_task() = default;

    std::filesystem::path dir_;
    log_config config_;
    cleaner_options options_;
    int64_t now_ms_ = 0;
    int64_t first_dirty_ = 0;
    int64_t end_offset_ = 0;
    uint64_t truncation_generation_ = 0;
    std::vector<source> sources_;  // closed segments from the first up to the end of the range
    std::vector<source> tail_;     // the segments after the range, for producers' last batches
    std::vector<group> groups_;
    int64_t next_delete_horizon_ = -1;
    std::shared_ptr<int> in_progress_token_;
    clean_stats stats_;
    std::error_code error_;
    bool ran_ = false;
};

/// Sets attribute bit 6 (delete horizon present) of a built batch and recomputes its CRC.
void set_delete_horizon_flag(std::span<uint8_t> batch);
/// A header-only batch (record_count 0) with the same base offset, last offset delta, producer
/// fields, leader epoch and timestamp type as `header`; both timestamps are its max timestamp.
std::vector<uint8_t> make_empty_batch(const protocol::batch_header& header);

}  // namespace broker::log
