#pragma once
// The log of one partition: an ordered set of segments in the directory `<topic>-<partition>`.
//
// Design notes (see docs/log-format.md for the bytes on disk):
//  - Appends write the received batch bytes with one positioned write to the active (last)
//    segment; the broker rewrites only the base offset (and the leader epoch, and for
//    LogAppendTime topics the timestamps) in the header, in place, before writing.
//  - The active segment rolls at segment.bytes, after segment.ms, when an index is full, or when
//    the next batch's offsets would not fit the 32-bit relative offsets of the indexes.
//  - Reads return file regions (descriptor, position, length) of whole batches so the server can
//    sendfile them. A region shares ownership of the segment's descriptor: a segment that is
//    deleted, compacted away or truncated-away while a response is in flight stays readable. (A
//    truncation inside the active segment shrinks the file itself; a region read before it may then
//    come up short, which the sender must treat as end of data, as with Kafka.)
//  - Offsets tracked: log start offset (first offset that may be read), log end offset (next offset
//    to assign), high watermark (advanced by the caller, clamped to [start, end]), recovery point
//    (every offset below it has been fsynced).
//  - A write the disk refuses (ENOSPC, EFBIG) is cut back to the last whole batch before the
//    error is returned, and a roll that fails leaves the previous segment active (a segment left
//    read-only by a half-failed roll is replaced on the next append): the log end does not move,
//    no torn batch stays behind, and appends succeed again once space is back.
//  - Durability: the OS page cache by default; fsync on roll (flush_on_roll), on flush()/close(),
//    and when flush.messages / flush.ms say so (the caller asks flush_due()).
//
// Threading contract:
//  - A partition_log is not synchronised internally. Its member functions must not run
//    concurrently with each other: call them from the partition's owner thread (shard), or hold a
//    per-partition mutex around every call. Nothing is thread-affine. The exceptions are:
//      * log_start_offset(), log_end_offset(), high_watermark(), recovery_point(),
//        cleaner_checkpoint(): atomics, readable from any thread (for checkpoint writing, metrics);
//      * flush_request::run() and clean_task::run(): the blocking parts of flushing and cleaning,
//        meant to run on a worker thread (without the partition's mutex) between prepare_* and
//        commit/complete_*, which are ordinary owner calls.
//  - File regions in a read_result may be read (pread/sendfile) from any thread.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "log/cleaner.h"
#include "log/errors.h"
#include "log/file.h"
#include "log/leader_epoch_cache.h"
#include "log/log_config.h"
#include "log/segment.h"
#include "log/types.h"

namespace broker::log {

/// What an append did.
struct append_result {
    offset base_offset;  // offset of the first record
    offset last_offset;  // offset of the last record
    int64_t log_append_time =
        no_timestamp;  // the broker's timestamp when LogAppendTime applies, else -1
    offset log_start_offset;
    bool rolled = false;  // a new segment was started for this append
};

/// A byte range of a segment file holding whole batches; shares ownership of the descriptor.
struct file_region {
    std::shared_ptr<const file_handle> file;
    uint64_t position = 0;
    uint64_t length = 0;
    int fd() const { return file->fd(); }
};

/// The result of a read by offset.
struct read_result {
    std::vector<file_region> regions;  // in log order; concatenated they are whole batches
    offset first_offset;      // base offset of the first batch (may be below the requested offset)
    offset next_offset;       // where the next read should start (the requested offset if empty)
    uint64_t size_bytes = 0;  // sum of region lengths

    bool empty() const { return regions.empty(); }
    /// Copies the regions into memory (tests, internal topics).
    result<std::vector<uint8_t>> read_all() const;
};

/// A ListOffsets answer.
struct timestamp_offset {
    int64_t timestamp = no_timestamp;
    offset offset_value;                  // the record's offset
    std::optional<int32_t> leader_epoch;  // partition leader epoch of its batch, when known
};

/// What one retention pass did.
struct retention_result {
    std::size_t deleted_segments = 0;
    uint64_t deleted_bytes = 0;
    std::size_t removed_files = 0;  // .deleted files unlinked after file.delete.delay.ms
};

/// Everything partition_log::open needs.
struct partition_log_options {
    std::filesystem::path dir;  // the partition directory; created when missing
    topic_partition partition;
    log_config config;
    const clock* time = &system_clock::instance();
    bool had_clean_shutdown = false;  // true: trust the indexes (sanity-checked), skip validation
    std::optional<offset> recovery_point;      // from recovery-point-offset-checkpoint (unset: 0)
    std::optional<offset> log_start_offset;    // from log-start-offset-checkpoint
    std::optional<offset> cleaner_checkpoint;  // from cleaner-offset-checkpoint
    std::optional<offset> high_watermark;  // from replication-offset-checkpoint (unset: log end)
    /// fsync the old segment inline when the active segment rolls (Kafka does this on a scheduler
    /// thread). With false the roll only records the need; the owner should then run
    /// prepare_flush(roll offset) on a worker (see pending_roll_flush()).
    bool flush_on_roll = true;
};

/// The blocking half of a flush, prepared on the owner thread by partition_log::prepare_flush,
/// run on any thread, and completed on the owner thread with complete_flush. Group commit: one
/// flush covers every append made before prepare_flush, and a prepare for an offset already
/// covered returns an empty request.
class flush_request {
public:
    bool empty() const { return segments_.empty() && !sync_dir_; }
    /// Offsets below this are durable once run() succeeded.
    offset target() const { return offset(target_); }
    /// fsyncs the segments (and the directory when files were created). Any thread.
    std::error_code run();
    std::error_code error() const { return error_; }
    bool done() const { return done_; }

private:
    friend class partition_log;
    std::vector<std::shared_ptr<const segment>> segments_;
    std::filesystem::path dir_;
    bool sync_dir_ = false;
    uint64_t dir_generation_ = 0;
    uint64_t truncation_generation_ = 0;
    int64_t target_ = 0;
    bool done_ = false;
    std::error_code error_;
};

class partition_log {
public:
    /// Opens (or creates) the partition directory: completes or discards interrupted compaction
    /// swaps, removes leftover .deleted/.cleaned files, loads the segments (validating everything
    /// after the recovery point when the shutdown was unclean, truncating a bad tail) and the
    /// leader epoch cache. See docs/log-format.md, "Recovery".
    static result<std::unique_ptr<partition_log>> open(partition_log_options options);

    partition_log(const partition_log&) = delete;
    partition_log& operator=(const partition_log&) = delete;
    /// Releases files without flushing; call close() first for a clean shutdown.
    ~partition_log();

    const topic_partition& partition() const { return partition_; }
    const std::filesystem::path& dir() const { return dir_; }
    const log_config& config() const { return config_; }
    /// Replaces the topic config (validated). Segment-shaping values apply from the next roll.
    std::error_code set_config(const log_config& config);

    /// cleanup.policy; readable from any thread (log_manager writes cleaner checkpoints for
    /// compacted logs only).
    cleanup_policy policy() const {
        return static_cast<cleanup_policy>(policy_.load(std::memory_order_acquire));
    }

    // Offsets; readable from any thread.
    offset log_start_offset() const { return offset(log_start_.load(std::memory_order_acquire)); }
    offset log_end_offset() const { return offset(log_end_.load(std::memory_order_acquire)); }
    offset high_watermark() const {
        return offset(high_watermark_.load(std::memory_order_acquire));
    }
    offset recovery_point() const {
        return offset(recovery_point_.load(std::memory_order_acquire));
    }
    offset cleaner_checkpoint() const {
        return offset(cleaner_checkpoint_.load(std::memory_order_acquire));
    }

    /// Sets the high watermark, clamped to [log start, log end]. A single node sets it to the log
    /// end offset after each append.
    void set_high_watermark(offset hw);

    /// Total bytes of all segments' .log files.
    uint64_t size_bytes() const;
    std::size_t segment_count() const { return segments_.size(); }
    std::vector<offset> segment_base_offsets() const;
    bool closed() const { return closed_; }

    /// Appends one producer batch as leader. `batch` must be exactly one v2 batch whose CRC the
    /// caller has checked. Assigns offsets from the log end offset (rewriting base_offset in
    /// place), stamps `leader_epoch` into the header when >= 0 (and records it in the epoch cache),
    /// and applies LogAppendTime when the topic asks for it. Errors: errc::corrupt_batch (not
    /// exactly one batch), errc::message_too_large, errc::record_batch_too_large, errc::log_closed,
    /// I/O.
    result<append_result> append(std::span<uint8_t> batch, int32_t leader_epoch = -1);

    /// Appends batches that already carry their offsets (a follower copying the leader, or
    /// replaying). One or more whole batches; the first base offset must be >= the log end offset
    /// and offsets must increase. The epoch cache learns each batch's partition_leader_epoch.
    result<append_result> append_as_follower(std::span<uint8_t> batches);

    /// Whole batches starting with the one that contains `start`, at most `max_bytes` in total but
    /// always at least one batch (so a batch larger than max_bytes is still delivered), and only
    /// batches whose last offset is below `max_offset` (pass the high watermark for consumers, the
    /// log end offset for followers). errc::offset_out_of_range when start is outside
    /// [log start, log end]. An empty result means "nothing yet".
    result<read_result> read(offset start, uint64_t max_bytes, offset max_offset) const;

    /// ListOffsets by timestamp: the first record at or after the log start with timestamp >= `ts`.
    result<std::optional<timestamp_offset>> offset_for_timestamp(int64_t ts) const;
    /// ListOffsets MAX_TIMESTAMP (-3): the first record carrying the largest timestamp.
    result<std::optional<timestamp_offset>> offset_of_max_timestamp() const;

    // Leader epochs.
    const leader_epoch_cache& leader_epochs() const { return epochs_; }
    /// Records that `epoch` starts at `start` (a new leader assigns its epoch at the log end
    /// offset).
    std::error_code assign_leader_epoch(int32_t epoch, offset start);
    /// OffsetForLeaderEpoch: (epoch, end offset); (-1, -1) when unknown.
    std::pair<int32_t, offset> end_offset_for_epoch(int32_t epoch) const;

    /// Deletes closed segments by retention.ms and retention.bytes (when cleanup.policy includes
    /// delete) and segments wholly below the log start offset (always); never the active segment
    /// and never data at or above the high watermark. Also unlinks .deleted files whose
    /// file.delete.delay.ms passed.
    result<retention_result> run_retention(int64_t now_ms);
    /// DeleteRecords: moves the log start offset to `new_start` (must be <= high watermark) and
    /// deletes the segments wholly below it. errc::offset_out_of_range above the high watermark.
    std::error_code delete_records(offset new_start);

    /// Removes every record at offset >= `target` (segments, bytes and index entries); the log end
    /// becomes `target`. Below the log start this is truncate_fully_and_start_at(target).
    std::error_code truncate_to(offset target);
    /// Deletes every segment and starts empty at `new_start` (log start = log end = new_start).
    std::error_code truncate_fully_and_start_at(offset new_start);

    /// fsync everything appended so far; the recovery point becomes the log end offset.
    std::error_code flush();
    /// fsync so that offsets below `up_to` are durable; no-op when the recovery point is already
    /// there.
    std::error_code flush(offset up_to);
    /// Owner thread: what a flush to `up_to` needs (empty when already durable).
    flush_request prepare_flush(offset up_to);
    /// Owner thread: records a finished flush_request (advances the recovery point unless the log
    /// was truncated meanwhile).
    void complete_flush(const flush_request& request);
    /// flush.messages / flush.ms reached, or a rolled segment awaits its fsync
    /// (flush_on_roll=false); the caller then flushes (flush(), or prepare_flush/run/complete_flush
    /// off the owner).
    bool flush_due(int64_t now_ms) const;
    /// With flush_on_roll=false: the offset a roll wants durable (0 when none pending).
    offset pending_roll_flush() const { return offset(pending_roll_flush_); }

    /// Owner thread: the next cleaning round for cleanup.policy=compact, or nullptr when the log is
    /// not compacted, not dirty enough, or a round is already in progress. The task holds a
    /// snapshot of the closed segments; run it on any thread, then commit_clean on the owner
    /// thread.
    std::unique_ptr<clean_task> prepare_clean(int64_t now_ms, const cleaner_options& options = {});
    /// Owner thread: swaps the cleaned segments in (atomically per group: .cleaned -> .swap, old ->
    /// .deleted, .swap -> live), skipping groups whose source segments changed meanwhile.
    result<clean_stats> commit_clean(std::unique_ptr<clean_task> task);

    /// Clean close: records the final index entries, trims the indexes and (when `durable`) fsyncs
    /// everything. Later calls fail with errc::log_closed. A log about to be deleted closes with
    /// durable=false.
    std::error_code close(bool durable = true);

    static constexpr const char* epoch_checkpoint_name = "leader-epoch-checkpoint";

private:
    explicit partition_log(partition_log_options options);
    std::error_code load(const partition_log_options& options);
    result<std::vector<std::string>> file_names() const;
    std::error_code maybe_roll(std::size_t bytes, int64_t first_offset, int64_t last_offset,
                               int64_t now_ms, bool& rolled);
    std::error_code roll(int64_t new_base);
    std::error_code remove_segment(std::map<int64_t, std::shared_ptr<segment>>::iterator it,
                                   int64_t now_ms);
    void schedule_delete(std::vector<std::filesystem::path> files, int64_t now_ms);
    std::error_code write_batches(std::span<const uint8_t> bytes, int64_t last_offset,
                                  int64_t max_timestamp, int64_t offset_of_max_timestamp,
                                  int64_t now_ms);
    void advance_log_start(int64_t new_start);
    segment& active() const { return *segments_.rbegin()->second; }
    void discard_clean_outputs(clean_task& task);

    struct pending_delete {
        std::vector<std::filesystem::path> files;
        int64_t due_ms;
    };

    std::filesystem::path dir_;
    topic_partition partition_;
    log_config config_;
    const clock* clock_;
    bool flush_on_roll_;
    std::map<int64_t, std::shared_ptr<segment>> segments_;
    leader_epoch_cache epochs_;
    std::atomic<uint8_t> policy_{0};
    std::atomic<int64_t> log_start_{0};
    std::atomic<int64_t> log_end_{0};
    std::atomic<int64_t> high_watermark_{0};
    std::atomic<int64_t> recovery_point_{0};
    std::atomic<int64_t> cleaner_checkpoint_{0};
    int64_t last_flush_ms_ = 0;
    int64_t pending_roll_flush_ = 0;
    uint64_t dir_generation_ = 1;  // bumped whenever files are created or renamed
    uint64_t synced_dir_generation_ = 0;
    uint64_t truncation_generation_ = 0;
    std::weak_ptr<int> cleaning_token_;  // alive while a clean_task of this log exists
    int64_t next_delete_horizon_ = -1;   // earliest tombstone delete horizon written by the cleaner
    std::vector<pending_delete> pending_deletes_;
    bool closed_ = false;
};

}  // namespace broker::log
