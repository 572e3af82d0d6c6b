#pragma once
// The set of partition logs of this broker, spread over one or more log directories.
//
// Each log directory holds partition directories `<topic>-<partition>` and, as Kafka keeps them:
//   recovery-point-offset-checkpoint   offsets below which each partition's data was fsynced
//   log-start-offset-checkpoint        each partition's log start offset
//   cleaner-offset-checkpoint          where each compacted partition's dirty part begins
//   replication-offset-checkpoint      each partition's high watermark
//   .kafka_cleanshutdown               present only between a clean shutdown and the next startup
// (formats in checkpoint_file.h). A partition directory being deleted is first renamed to
// `<topic>-<partition>.<32 hex>-delete` and removed after file.delete.delay.ms (or at startup).
//
// Startup (open) loads every partition directory: with the clean-shutdown marker present the
// indexes are trusted (sanity-checked); without it everything after each partition's recovery
// point is validated and a bad tail truncated (partition_log::open). The marker is removed once
// loading is done, so a crash from then on is seen as unclean.
//
// Threading: the registry (get/get_or_create/logs/partitions/log_dir_of) is guarded by a mutex and
// may be used from any thread. write_checkpoints() may run on any thread (it reads only the logs'
// atomic offsets). The passes (run_retention, run_cleaner, flush_due_logs) call partition_log
// members, which must not overlap with other calls on the same log (partition_log.h). Two ways:
//  - shard ownership: pass `owned` to restrict a pass to the partitions of the calling thread;
//  - a per-partition mutex: pass `guard`, which must run the work it is given while holding that
//    partition's mutex. Only the short owner steps run under the guard; the fsyncs of a flush and
//    the heavy part of a cleaning round run outside it, so appends continue meanwhile.
// With neither, the calling thread is taken to own every log. remove() and shutdown() require that
// the server no longer uses the log(s) concerned. The manager starts no threads.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <system_error>
#include <vector>

#include "log/cleaner.h"
#include "log/errors.h"
#include "log/log_config.h"
#include "log/partition_log.h"
#include "log/types.h"

namespace broker::log {

struct log_manager_options {
    std::vector<std::filesystem::path> log_dirs;  // log.dirs; created when missing
    const clock* time = &system_clock::instance();
    /// The topic config of a partition found on disk at startup (the server resolves broker
    /// defaults and topic overrides). Unset: log_config{} (Kafka's defaults).
    std::function<log_config(const topic_partition&)> config_for;
    cleaner_options cleaner;
    /// See partition_log_options::flush_on_roll.
    bool flush_on_roll = true;
};

/// Selects the partitions a pass may touch (those owned by the calling thread). Empty = all.
using partition_filter = std::function<bool(const topic_partition&)>;
/// Runs `work` with exclusive access to the partition's log (for example under the partition's
/// mutex) and returns when it is done. Empty = call `work` directly.
using owner_guard = std::function<void(const topic_partition&, const std::function<void()>& work)>;

struct retention_pass_result {
    retention_result totals;
    std::size_t removed_dirs = 0;  // deleted partition directories finally removed
    std::error_code first_error;
};

struct cleaner_pass_result {
    std::size_t logs_cleaned = 0;
    clean_stats totals;  // sums; offsets fields are of the last log cleaned
    std::error_code first_error;
};

class log_manager {
public:
    static constexpr const char* recovery_point_checkpoint_name =
        "recovery-point-offset-checkpoint";
    static constexpr const char* log_start_checkpoint_name = "log-start-offset-checkpoint";
    static constexpr const char* cleaner_checkpoint_name = "cleaner-offset-checkpoint";
    static constexpr const char* high_watermark_checkpoint_name = "replication-offset-checkpoint";
    static constexpr const char* clean_shutdown_marker_name = ".kafka_cleanshutdown";

    /// Loads every partition under every log dir (see the file comment), then writes fresh
    /// checkpoint files. Errors: I/O, errc::log_exists (one partition in two log dirs).
    static result<std::unique_ptr<log_manager>> open(log_manager_options options);

    log_manager(const log_manager&) = delete;
    log_manager& operator=(const log_manager&) = delete;
    ~log_manager();

    /// The log of a partition, or nullptr.
    std::shared_ptr<partition_log> get(const topic_partition& tp) const;
    /// The existing log, or a new empty one in the log dir holding the fewest partitions.
    result<std::shared_ptr<partition_log>> get_or_create(const topic_partition& tp,
                                                         const log_config& config);
    /// Deletes a partition: closes its log, renames its directory to `...-delete`, and removes it
    /// after file.delete.delay.ms (on a later run_retention) or at the next startup. Call on the
    /// partition's owner thread once the server no longer uses the log. No-op for an unknown one.
    std::error_code remove(const topic_partition& tp);

    std::vector<std::shared_ptr<partition_log>> logs() const;
    std::vector<topic_partition> partitions() const;
    /// The log directory holding a partition.
    std::optional<std::filesystem::path> log_dir_of(const topic_partition& tp) const;
    const std::vector<std::filesystem::path>& log_dirs() const { return options_.log_dirs; }
    /// Whether every log dir carried the clean-shutdown marker at startup.
    bool had_clean_shutdown() const { return had_clean_shutdown_; }

    /// Writes the four offset checkpoint files of every log dir. Any thread.
    std::error_code write_checkpoints();
    /// Retention on every (owned) log, then removal of deleted partition directories that are due.
    retention_pass_result run_retention(int64_t now_ms, const partition_filter& owned = {},
                                        const owner_guard& guard = {});
    /// One cleaning round on every (owned) compacted log that is dirty enough: prepare_clean and
    /// commit_clean under `guard`, clean_task::run outside it, all on the calling thread.
    cleaner_pass_result run_cleaner(int64_t now_ms, const partition_filter& owned = {},
                                    const owner_guard& guard = {});
    /// Flushes every (owned) log whose flush.messages / flush.ms is reached (prepare/complete under
    /// `guard`, the fsyncs outside it).
    std::error_code flush_due_logs(int64_t now_ms, const partition_filter& owned = {},
                                   const owner_guard& guard = {});
    /// Clean shutdown: closes (flushes) every log, writes the checkpoints and the clean-shutdown
    /// markers. The manager holds no logs afterwards.
    std::error_code shutdown();

private:
    struct entry {
        std::shared_ptr<partition_log> log;
        std::size_t dir_index = 0;
    };
    struct pending_dir {
        std::filesystem::path path;
        int64_t due_ms = 0;
    };

    explicit log_manager(log_manager_options options);
    std::error_code load_dir(std::size_t dir_index);
    std::vector<std::pair<topic_partition, std::shared_ptr<partition_log>>> selected(
        const partition_filter& owned) const;

    log_manager_options options_;
    bool had_clean_shutdown_ = true;
    // Some checkpoint file read at open had entries (they are then rewritten, even with no logs).
    bool found_checkpoint_entries_ = false;
    mutable std::mutex mutex_;  // guards logs_ and pending_dirs_
    std::map<topic_partition, entry> logs_;
    std::vector<pending_dir> pending_dirs_;
    std::mutex checkpoint_mutex_;  // one checkpoint writer at a time
};

}  // namespace broker::log
