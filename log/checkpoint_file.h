#pragma once
// Kafka's text checkpoint files.
//
// Offset checkpoints, one per log directory (recovery-point-offset-checkpoint,
// log-start-offset-checkpoint, cleaner-offset-checkpoint):
//   line 1: version, "0"
//   line 2: number of entries N
//   N lines: "<topic> <partition> <offset>"
// Leader epoch checkpoint, one per partition directory (leader-epoch-checkpoint):
//   line 1: "0", line 2: N, then N lines "<epoch> <start offset>".
// Lines end with '\n'. Files are replaced atomically (write .tmp, fsync, rename, fsync directory).
// A file that does not parse is reported as errc::corrupt_file; a missing file reads as empty.
//
// Free functions without state; safe from any thread for distinct paths.
#include <cstdint>
#include <filesystem>
#include <map>
#include <system_error>
#include <vector>

#include "log/errors.h"
#include "log/types.h"

namespace broker::log {

using partition_offsets = std::map<topic_partition, int64_t>;

std::error_code write_offset_checkpoint(const std::filesystem::path& path,
                                        const partition_offsets& offsets);
result<partition_offsets> read_offset_checkpoint(const std::filesystem::path& path);

struct epoch_entry {
    int32_t epoch = 0;
    int64_t start_offset = 0;
    friend bool operator==(const epoch_entry&, const epoch_entry&) = default;
};

/// `durable`: fsync the file and the directory (needed when an epoch is assigned; truncations can
/// skip it because loading re-truncates the cache against the log).
std::error_code write_epoch_checkpoint(const std::filesystem::path& path,
                                       const std::vector<epoch_entry>& entries, bool durable);
result<std::vector<epoch_entry>> read_epoch_checkpoint(const std::filesystem::path& path);

}  // namespace broker::log
