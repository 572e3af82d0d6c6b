#pragma once
// Leader epoch cache of one partition: for each leader epoch, the first offset written in it.
//
// Persisted in `<partition dir>/leader-epoch-checkpoint` (format in checkpoint_file.h) after every
// change: durably (fsync) when an epoch is assigned, without fsync on truncation, since loading a
// log re-truncates the cache against the log's start and end offsets.
//
// Entries are kept strictly increasing in both epoch and start offset (Kafka's invariant):
// assigning an epoch removes any later entry that would break it.
//
// Threading: owned by its partition_log, used on the owner thread only.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <system_error>
#include <utility>
#include <vector>

#include "log/checkpoint_file.h"
#include "log/errors.h"

namespace broker::log {

class leader_epoch_cache {
public:
    static constexpr int32_t undefined_epoch = -1;
    static constexpr int64_t undefined_epoch_offset = -1;

    /// Loads the checkpoint file (missing = empty). A file that does not parse is ignored (the
    /// cache starts empty) rather than failing the log, since the cache is rebuilt from later
    /// appends.
    static leader_epoch_cache load(std::filesystem::path file);

    /// Records that `epoch` starts at `start_offset`. No-op when the latest entry already has this
    /// epoch at an offset <= start_offset. Removes entries with epoch >= epoch or start offset >=
    /// start_offset first. Negative values are ignored.
    std::error_code assign(int32_t epoch, int64_t start_offset);

    std::optional<int32_t> latest_epoch() const;
    std::optional<epoch_entry> latest_entry() const;
    std::optional<epoch_entry> earliest_entry() const;
    /// The epoch in force at `offset` (greatest entry with start offset <= offset).
    std::optional<int32_t> epoch_for_offset(int64_t offset) const;

    /// OffsetForLeaderEpoch: (largest epoch <= requested, end offset of that epoch) where the end
    /// offset is the next epoch's start offset, or `log_end_offset` for the latest epoch.
    /// (-1, -1) when the requested epoch is undefined or above every known epoch.
    std::pair<int32_t, int64_t> end_offset_for(int32_t requested_epoch,
                                               int64_t log_end_offset) const;

    /// Removes entries with start offset >= end_offset (the log was truncated to end_offset).
    std::error_code truncate_from_end(int64_t end_offset);
    /// Drops entries wholly before start_offset; the entry in force there now starts at
    /// start_offset.
    std::error_code truncate_from_start(int64_t start_offset);
    /// Removes every entry.
    std::error_code clear();

    const std::vector<epoch_entry>& entries() const { return entries_; }
    const std::filesystem::path& file() const { return file_; }
    void set_file(std::filesystem::path file) { file_ = std::move(file); }

private:
    explicit leader_epoch_cache(std::filesystem::path file) : file_(std::move(file)) {}
    std::error_code persist(bool durable) const;

    std::filesystem::path file_;
    std::vector<epoch_entry> entries_;  // ascending in epoch and start offset
};

}  // namespace broker::log
