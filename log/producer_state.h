#pragma once
// Idempotent producer state of one partition: for each producer id, its current epoch and the
// sequence ranges and offsets of its last five batches, so that a retried batch is acknowledged
// with its original offsets instead of being written twice (KIP-98).
//
// Rules (those of Kafka's leader for batches that come from clients; docs/produce.md):
//  - a batch whose epoch equals the producer's epoch and whose [first, last] sequence range equals
//    one of the cached batches is a duplicate: it is answered with the cached offsets and not
//    written again;
//  - an epoch below the producer's epoch is refused (INVALID_PRODUCER_EPOCH);
//  - a new (higher) epoch must start at sequence 0;
//  - within an epoch the first sequence must follow the last one (last + 1, or 0 after INT32_MAX);
//  - a producer this partition knows nothing about (new, expired, or whose batches were all
//    removed by retention) may start at any sequence (KIP-360: the broker accepts it rather than
//    answering UNKNOWN_PRODUCER_ID, so a producer survives the loss of its state).
//
// Ownership and threading: owned by the partition and guarded by the partition's mutex in the
// server; no member is thread-safe. The static snapshot file helpers touch only the file system and
// may run on any thread (the blocking pool) without the mutex.
//
// Persistence: the table is rebuilt on startup (load()) from the newest valid snapshot file at or
// below the log end offset plus the headers of every batch appended after the snapshot's offset, so
// the state is right after an unclean shutdown too. Snapshot files live in the partition directory,
// named by the log end offset they describe, zero-padded to 20 digits: `<offset>.snapshot`. They
// are written on clean shutdown and when the active segment rolls; the newest two are kept.
//
// Producer ids are producer_id_t (common/types.h) in this API; record batch headers and the
// snapshot file hold them as raw int64, converted where they are read and written. Producer epochs
// and sequences stay plain integers, as in the batch header.
//
// Snapshot file format (all integers big-endian):
//   offset size field
//   0      2    version (1)
//   2      4    CRC-32C (Castagnoli) of every byte from offset 6 to the end of the file
//   6      8    log end offset the state describes (equals the file name)
//   14     4    producer count N
//   18     ...  N producer entries, by increasing producer id:
//                 8 producer_id, 2 epoch, 4 coordinator_epoch, 8 last_timestamp,
//                 1 batch count B (0..5), then B batches, oldest first:
//                   4 first_sequence, 4 last_sequence, 8 first_offset, 8 last_offset, 8
//                   max_timestamp
// A file that is short, has another version, a bad CRC, trailing bytes or an offset that disagrees
// with its name is ignored (and removed by load()).
#include <cstdint>
#include <deque>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "common/types.h"
#include "log/errors.h"

namespace broker::log {

class partition_log;

/// Offsets and sequences of one appended producer batch.
struct producer_batch {
    int32_t first_sequence = -1;
    int32_t last_sequence = -1;
    int64_t first_offset = -1;
    int64_t last_offset = -1;
    int64_t max_timestamp = -1;
    friend bool operator==(const producer_batch&, const producer_batch&) = default;
};

/// Everything known about one producer id on this partition.
struct producer_entry {
    producer_id_t producer_id = no_producer_id;
    int16_t epoch = -1;
    std::deque<producer_batch> batches;  // oldest first, at most max_batches_per_producer
    int64_t last_timestamp = -1;     // max timestamp of its last batch: expiry, DescribeProducers
    int32_t coordinator_epoch = -1;  // transaction coordinator epoch; -1 (no transactions here)

    /// The last sequence written, or -1 when no batch is cached.
    int32_t last_sequence() const { return batches.empty() ? -1 : batches.back().last_sequence; }
    friend bool operator==(const producer_entry&, const producer_entry&) = default;
};

/// The verdict on an incoming producer batch.
enum class sequence_check {
    ok,                      // append it
    duplicate,               // already appended: answer with `duplicate_of`, write nothing
    out_of_order_sequence,   // a gap, a repeat that is not one of the cached batches, or a new
                             // epoch that does not start at 0 (OUT_OF_ORDER_SEQUENCE_NUMBER)
    invalid_producer_epoch,  // an epoch older than the producer's current one
                             // (INVALID_PRODUCER_EPOCH)
};

struct sequence_check_result {
    sequence_check status = sequence_check::ok;
    producer_batch duplicate_of;  // when status == duplicate
};

/// `sequence + delta` in Kafka's sequence space, which wraps from INT32_MAX to 0.
/// `sequence` >= 0, `delta` >= 0.
int32_t increment_sequence(int32_t sequence, int32_t delta);

class producer_state_table {
public:
    static constexpr std::size_t max_batches_per_producer = 5;
    static constexpr const char* snapshot_suffix = ".snapshot";

    /// Judges a batch of producer `producer_id` (>= 0) before it is appended. Does not change the
    /// table.
    sequence_check_result check(producer_id_t producer_id, int16_t epoch, int32_t first_sequence,
                                int32_t last_sequence) const;
    /// Records a batch after it was appended (or found in the log while loading). A different epoch
    /// replaces the producer's epoch and forgets its cached batches.
    void record(producer_id_t producer_id, int16_t epoch, const producer_batch& batch);

    const std::map<producer_id_t, producer_entry>& producers() const { return producers_; }
    const producer_entry* find(producer_id_t producer_id) const;
    std::size_t size() const { return producers_.size(); }
    void clear() { producers_.clear(); }

    /// Removes producers whose last timestamp is at or before `now_ms - expiration_ms`
    /// (producer.id.expiration.ms, 1 day by default). Returns how many were removed.
    std::size_t expire(int64_t now_ms, int64_t expiration_ms);
    /// expire(), but at most once per `check_interval_ms`
    /// (producer.id.expiration.check.interval.ms); callers may call it on every append.
    std::size_t expire_if_due(int64_t now_ms, int64_t expiration_ms, int64_t check_interval_ms);

    /// Forgets batches at or above `offset` (log truncation); a producer left without batches is
    /// removed, since its epoch can no longer be proven from the log.
    void truncate_to(int64_t offset);
    /// Removes producers whose last batch lies wholly below the log start offset (retention,
    /// DeleteRecords), as their batches are gone from the log.
    void truncate_head(int64_t log_start_offset);

    /// The snapshot file contents describing the table as of log end `offset` (cheap, in memory:
    /// serialise under the partition's mutex, write with write_snapshot_file off it).
    std::string serialize_snapshot(int64_t offset) const;
    /// Parses snapshot file contents; errc::corrupt_file when they are not a valid snapshot.
    static result<std::map<producer_id_t, producer_entry>> parse_snapshot(std::string_view bytes,
                                                                          int64_t& offset);
    /// Writes `<dir>/<offset>.snapshot` atomically and durably (temp file, fsync, rename, directory
    /// fsync), then removes older snapshots beyond the newest two. Any thread.
    static std::error_code write_snapshot_file(const std::filesystem::path& dir, int64_t offset,
                                               const std::string& contents);
    /// serialize_snapshot + write_snapshot_file, for a clean shutdown (the caller holds the mutex).
    std::error_code write_snapshot(const std::filesystem::path& dir, int64_t offset) const;
    /// Offsets of the snapshot files in `dir`, ascending.
    static result<std::vector<int64_t>> list_snapshots(const std::filesystem::path& dir);
    /// Removes snapshot files whose offset is above `offset` (after a truncation) or, with
    /// `below` = true, below it (their data was deleted). Any thread.
    static std::error_code remove_snapshots(const std::filesystem::path& dir, int64_t offset,
                                            bool below);
    static std::filesystem::path snapshot_path(const std::filesystem::path& dir, int64_t offset);

    /// Rebuilds the table of `log`: the newest valid snapshot at or below the log end offset (newer
    /// or invalid snapshot files are removed), then the headers of every batch from the snapshot's
    /// offset (or the log start) to the log end, then truncate_head(log start). Reads the log's
    /// files: call it where blocking I/O is allowed, with the log not being appended to.
    std::error_code load(const partition_log& log);
    /// True once load() succeeded or mark_loaded() was called (a partition created empty).
    bool loaded() const { return loaded_; }
    void mark_loaded() { loaded_ = true; }

private:
    std::map<producer_id_t, producer_entry> producers_;
    int64_t last_expiry_check_ms_ = -1;
    bool loaded_ = false;
};

}  // namespace broker::log
