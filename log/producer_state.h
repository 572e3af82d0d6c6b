#pragma once
// Idempotent producer state of one partition: for each producer id, its current epoch and the
// sequence ranges and offsets of its last five batches, so that a retried batch is acknowledged
// with its original offsets instead of being written twice (KIP-98).
//
// Owned by the partition (guarded by the partition's mutex in the server). Rebuilt on startup from
// the newest snapshot file `<offset 20 digits>.snapshot` in the partition directory plus the batches
// appended after it (see docs/log-format.md).
#include <cstdint>
#include <deque>
#include <filesystem>
#include <map>
#include <optional>
#include <system_error>

namespace broker::log {

class partition_log;

/// Offsets and sequences of one appended producer batch.
struct producer_batch {
    int32_t first_sequence = -1;
    int32_t last_sequence = -1;
    int64_t first_offset = -1;
    int64_t last_offset = -1;
    int64_t max_timestamp = -1;
};

/// Everything known about one producer id on this partition.
struct producer_entry {
    int64_t producer_id = -1;
    int16_t epoch = -1;
    std::deque<producer_batch> batches;  // oldest first, at most max_batches_per_producer
    int64_t last_timestamp = -1;         // for producer-id expiry and DescribeProducers
    int32_t coordinator_epoch = -1;
};

/// The verdict on an incoming producer batch.
enum class sequence_check {
    ok,                     // append it
    duplicate,              // already appended: answer with `duplicate_of`, write nothing
    out_of_order_sequence,  // a gap or a repeat that is not one of the cached batches
    invalid_producer_epoch, // an epoch older than the producer's current one
    unknown_producer_id,    // no state for this producer and a sequence that is not 0
};

struct sequence_check_result {
    sequence_check status = sequence_check::ok;
    producer_batch duplicate_of;  // when status == duplicate
};

class producer_state_table {
public:
    static constexpr std::size_t max_batches_per_producer = 5;

    /// Judges a batch (producer id >= 0) before it is appended.
    sequence_check_result check(int64_t producer_id, int16_t epoch, int32_t first_sequence,
                                int32_t last_sequence) const;
    /// Records a batch after it was appended.
    void record(int64_t producer_id, int16_t epoch, const producer_batch& batch);

    const std::map<int64_t, producer_entry>& producers() const { return producers_; }

    /// Removes producers whose last batch is older than `now_ms - expiration_ms`
    /// (transactional.id.expiration... producer.id.expiration.ms, 1 day by default).
    std::size_t expire(int64_t now_ms, int64_t expiration_ms);

    /// Forgets batches at or above `offset` (log truncation) and below the log start (retention).
    void truncate_to(int64_t offset);
    void truncate_head(int64_t log_start_offset);

    /// Writes `<dir>/<offset>.snapshot` (state as of log end `offset`) atomically and removes older
    /// snapshots beyond the newest two.
    std::error_code write_snapshot(const std::filesystem::path& dir, int64_t offset) const;
    /// Rebuilds the table of `log`: the newest valid snapshot at or below the log end offset, then
    /// every batch from there to the log end. Ignores snapshots above the log end.
    std::error_code load(const partition_log& log);

private:
    std::map<int64_t, producer_entry> producers_;
};

}  // namespace broker::log
