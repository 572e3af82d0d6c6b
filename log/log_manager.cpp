#include "log/log_manager.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <optional>
#include <random>

#include "log/checkpoint_file.h"
#include "log/file.h"

namespace broker::log {
namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() &&
           s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

/// 32 lowercase hex digits, the unique part of a `-delete` directory name (Kafka uses a UUID).
std::string unique_id() {
    static thread_local std::mt19937_64 engine{std::random_device{}()};
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (int i = 0; i < 2; ++i) {
        uint64_t v = engine();
        for (int j = 0; j < 16; ++j) {
            out += digits[(v >> (j * 4)) & 0xf];
        }
    }
    return out;
}

std::optional<offset> lookup(const partition_offsets& offsets, const topic_partition& tp) {
    auto it = offsets.find(tp);
    if (it == offsets.end()) {
        return std::nullopt;
    }
    return offset(it->second);
}

/// A checkpoint that cannot be read is treated as absent: recovery then validates from offset 0,
/// which is slower but safe.
partition_offsets read_or_empty(const std::filesystem::path& path) {
    auto r = read_offset_checkpoint(path);
    return r ? std::move(r).value() : partition_offsets{};
}

void as_owner(const owner_guard& guard, const topic_partition& tp,
              const std::function<void()>& work) {
    if (guard) {
        guard(tp, work);
    } else {
        work();
    }
}

}  // namespace

log_manager::log_manager(log_manager_options options) : options_(std::move(options)) {
    if (options_.time == nullptr) {
        options_.time = &system_clock::instance();
    }
}

log_manager::~log_manager() = default;

result<std::unique_ptr<log_manager>> log_manager::open(log_manager_options options) {
    std::unique_ptr<log_manager> manager(new log_manager(std::move(options)));
    for (std::size_t i = 0; i < manager->options_.log_dirs.size(); ++i) {
        if (auto ec = manager->load_dir(i)) {
            return ec;
        }
    }
    // Rewrite the checkpoints with what was loaded; an empty data dir with nothing to record (a
    // first start) skips the four file writes and their fsyncs.
    const bool nothing_to_record = manager->logs_.empty() && !manager->found_checkpoint_entries_;
    if (!nothing_to_record) {
        if (auto ec = manager->write_checkpoints()) {
            return ec;
        }
    }
    return manager;
}

std::error_code log_manager::load_dir(std::size_t dir_index) {
    const std::filesystem::path& dir = options_.log_dirs[dir_index];
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) {
        return ec;
    }
    const std::filesystem::path marker = dir / clean_shutdown_marker_name;
    const bool clean = std::filesystem::exists(marker, ec);
    if (ec) {
        return ec;
    }
    had_clean_shutdown_ = had_clean_shutdown_ && clean;

    partition_offsets recovery_points = read_or_empty(dir / recovery_point_checkpoint_name);
    partition_offsets log_starts = read_or_empty(dir / log_start_checkpoint_name);
    partition_offsets cleaner_offsets = read_or_empty(dir / cleaner_checkpoint_name);
    partition_offsets high_watermarks = read_or_empty(dir / high_watermark_checkpoint_name);
    if (!recovery_points.empty() || !log_starts.empty() || !cleaner_offsets.empty() ||
        !high_watermarks.empty()) {
        found_checkpoint_entries_ = true;
    }

    auto entries = list_directory(dir);
    if (!entries) {
        return entries.error();
    }
    std::vector<std::filesystem::path> children;
    for (const auto& e : entries.value()) {
        if (e.is_directory(ec) && !ec) {
            children.push_back(e.path());
        }
    }
    std::sort(children.begin(), children.end());
    for (const auto& child : children) {
        const std::string name = child.filename().string();
        if (ends_with(name, "-delete")) {
            std::filesystem::remove_all(child, ec);
            if (ec) {
                return ec;
            }
            continue;
        }
        auto tp = topic_partition::from_dir_name(name);
        if (!tp) {
            continue;  // not a partition directory (for example Kafka's -future or -stray ones)
        }
        {
            std::lock_guard lock(mutex_);
            if (logs_.count(*tp) != 0) {
                return make_error_code(errc::log_exists);
            }
        }
        partition_log_options o;
        o.dir = child;
        o.partition = *tp;
        o.config = options_.config_for ? options_.config_for(*tp) : log_config{};
        o.time = options_.time;
        o.had_clean_shutdown = clean;
        o.recovery_point = lookup(recovery_points, *tp);
        o.log_start_offset = lookup(log_starts, *tp);
        o.cleaner_checkpoint = lookup(cleaner_offsets, *tp);
        o.high_watermark = lookup(high_watermarks, *tp);
        o.flush_on_roll = options_.flush_on_roll;
        auto log = partition_log::open(std::move(o));
        if (!log) {
            return log.error();
        }
        std::lock_guard lock(mutex_);
        logs_[*tp] = entry{std::shared_ptr<partition_log>(std::move(log).value()), dir_index};
    }
    // From here on a crash must be seen as unclean.
    if (clean) {
        if (::unlink(marker.c_str()) != 0 && errno != ENOENT) {
            return errno_code();
        }
        if (auto e = sync_directory(dir)) {
            return e;
        }
    }
    return {};
}

std::shared_ptr<partition_log> log_manager::get(const topic_partition& tp) const {
    std::lock_guard lock(mutex_);
    auto it = logs_.find(tp);
    return it == logs_.end() ? nullptr : it->second.log;
}

result<std::shared_ptr<partition_log>> log_manager::get_or_create(const topic_partition& tp,
                                                                  const log_config& config) {
    std::lock_guard lock(mutex_);
    if (auto it = logs_.find(tp); it != logs_.end()) {
        return it->second.log;
    }
    if (options_.log_dirs.empty()) {
        return make_error_code(std::errc::no_such_file_or_directory);
    }
    // Kafka places a new partition in the log dir holding the fewest partitions.
    std::vector<std::size_t> counts(options_.log_dirs.size(), 0);
    for (const auto& [key, e] : logs_) {
        ++counts[e.dir_index];
    }
    std::size_t dir_index =
        static_cast<std::size_t>(std::min_element(counts.begin(), counts.end()) - counts.begin());
    partition_log_options o;
    o.dir = options_.log_dirs[dir_index] / tp.dir_name();
    o.partition = tp;
    o.config = config;
    o.time = options_.time;
    o.flush_on_roll = options_.flush_on_roll;
    auto log = partition_log::open(std::move(o));
    if (!log) {
        return log.error();
    }
    if (auto ec = sync_directory(options_.log_dirs[dir_index])) {
        return ec;
    }
    std::shared_ptr<partition_log> shared(std::move(log).value());
    logs_[tp] = entry{shared, dir_index};
    return shared;
}

std::error_code log_manager::remove(const topic_partition& tp) {
    std::shared_ptr<partition_log> log;
    std::size_t dir_index = 0;
    {
        std::lock_guard lock(mutex_);
        auto it = logs_.find(tp);
        if (it == logs_.end()) {
            return {};
        }
        log = it->second.log;
        dir_index = it->second.dir_index;
        logs_.erase(it);
    }
    if (auto ec = log->close(false)) {
        return ec;
    }
    const std::filesystem::path& parent = options_.log_dirs[dir_index];
    std::filesystem::path renamed = parent / (tp.dir_name() + "." + unique_id() + "-delete");
    if (::rename(log->dir().c_str(), renamed.c_str()) != 0) {
        return errno_code();
    }
    if (auto ec = sync_directory(parent)) {
        return ec;
    }
    const int64_t delay = log->config().file_delete_delay_ms;
    if (delay <= 0) {
        std::error_code ec;
        std::filesystem::remove_all(renamed, ec);
        return ec;
    }
    std::lock_guard lock(mutex_);
    pending_dirs_.push_back({renamed, options_.time->now_ms() + delay});
    return {};
}

std::vector<std::shared_ptr<partition_log>> log_manager::logs() const {
    std::lock_guard lock(mutex_);
    std::vector<std::shared_ptr<partition_log>> out;
    out.reserve(logs_.size());
    for (const auto& [tp, e] : logs_) {
        out.push_back(e.log);
    }
    return out;
}

std::vector<topic_partition> log_manager::partitions() const {
    std::lock_guard lock(mutex_);
    std::vector<topic_partition> out;
    out.reserve(logs_.size());
    for (const auto& [tp, e] : logs_) {
        out.push_back(tp);
    }
    return out;
}

std::optional<std::filesystem::path> log_manager::log_dir_of(const topic_partition& tp) const {
    std::lock_guard lock(mutex_);
    auto it = logs_.find(tp);
    if (it == logs_.end()) {
        return std::nullopt;
    }
    return options_.log_dirs[it->second.dir_index];
}

std::vector<std::pair<topic_partition, std::shared_ptr<partition_log>>> log_manager::selected(
    const partition_filter& owned) const {
    std::lock_guard lock(mutex_);
    std::vector<std::pair<topic_partition, std::shared_ptr<partition_log>>> out;
    for (const auto& [tp, e] : logs_) {
        if (!owned || owned(tp)) {
            out.emplace_back(tp, e.log);
        }
    }
    return out;
}

std::error_code log_manager::write_checkpoints() {
    std::lock_guard checkpoint_lock(checkpoint_mutex_);
    std::vector<partition_offsets> recovery(options_.log_dirs.size());
    std::vector<partition_offsets> starts(options_.log_dirs.size());
    std::vector<partition_offsets> cleaner(options_.log_dirs.size());
    std::vector<partition_offsets> hws(options_.log_dirs.size());
    {
        std::lock_guard lock(mutex_);
        for (const auto& [tp, e] : logs_) {
            recovery[e.dir_index][tp] = e.log->recovery_point().value();
            starts[e.dir_index][tp] = e.log->log_start_offset().value();
            hws[e.dir_index][tp] = e.log->high_watermark().value();
            if (compacts(e.log->policy())) {
                cleaner[e.dir_index][tp] = e.log->cleaner_checkpoint().value();
            }
        }
    }
    std::error_code first;
    for (std::size_t i = 0; i < options_.log_dirs.size(); ++i) {
        const auto& dir = options_.log_dirs[i];
        for (auto [name, offsets] : {std::pair{recovery_point_checkpoint_name, &recovery[i]},
                                     std::pair{log_start_checkpoint_name, &starts[i]},
                                     std::pair{cleaner_checkpoint_name, &cleaner[i]},
                                     std::pair{high_watermark_checkpoint_name, &hws[i]}}) {
            if (auto ec = write_offset_checkpoint(dir / name, *offsets); ec && !first) {
                first = ec;
            }
        }
    }
    return first;
}

retention_pass_result log_manager::run_retention(int64_t now_ms, const partition_filter& owned,
                                                 const owner_guard& guard) {
    retention_pass_result out;
    for (const auto& [tp, log] : selected(owned)) {
        result<retention_result> r = retention_result{};
        as_owner(guard, tp, [&, &log = log] { r = log->run_retention(now_ms); });
        if (!r) {
            if (!out.first_error) {
                out.first_error = r.error();
            }
            continue;
        }
        out.totals.deleted_segments += r.value().deleted_segments;
        out.totals.deleted_bytes += r.value().deleted_bytes;
        out.totals.removed_files += r.value().removed_files;
    }
    std::vector<std::filesystem::path> due;
    {
        std::lock_guard lock(mutex_);
        for (auto it = pending_dirs_.begin(); it != pending_dirs_.end();) {
            if (it->due_ms <= now_ms) {
                due.push_back(it->path);
                it = pending_dirs_.erase(it);
            } else {
                ++it;
            }
        }
    }
    for (const auto& path : due) {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
        if (ec) {
            if (!out.first_error) {
                out.first_error = ec;
            }
            std::lock_guard lock(mutex_);
            pending_dirs_.push_back({path, now_ms});  // try again on the next pass
        } else {
            ++out.removed_dirs;
        }
    }
    return out;
}

cleaner_pass_result log_manager::run_cleaner(int64_t now_ms, const partition_filter& owned,
                                             const owner_guard& guard) {
    cleaner_pass_result out;
    for (const auto& [tp, log] : selected(owned)) {
        std::unique_ptr<clean_task> task;
        as_owner(guard, tp,
                 [&, &log = log] { task = log->prepare_clean(now_ms, options_.cleaner); });
        if (!task) {
            continue;
        }
        task->run();  // the heavy part, outside the guard
        result<clean_stats> r = clean_stats{};
        as_owner(guard, tp, [&, &log = log] { r = log->commit_clean(std::move(task)); });
        if (!r) {
            if (!out.first_error) {
                out.first_error = r.error();
            }
            continue;
        }
        const clean_stats& s = r.value();
        ++out.logs_cleaned;
        out.totals.first_dirty_offset = s.first_dirty_offset;
        out.totals.end_offset = s.end_offset;
        out.totals.segments_replaced += s.segments_replaced;
        out.totals.segments_written += s.segments_written;
        out.totals.groups_skipped += s.groups_skipped;
        out.totals.bytes_read += s.bytes_read;
        out.totals.bytes_written += s.bytes_written;
        out.totals.records_read += s.records_read;
        out.totals.records_retained += s.records_retained;
        out.totals.tombstones_removed += s.tombstones_removed;
    }
    return out;
}

std::error_code log_manager::flush_due_logs(int64_t now_ms, const partition_filter& owned,
                                            const owner_guard& guard) {
    std::error_code first;
    for (const auto& [tp, log] : selected(owned)) {
        std::optional<flush_request> request;
        as_owner(guard, tp, [&, &log = log] {
            if (log->flush_due(now_ms)) {
                request = log->prepare_flush(log->log_end_offset());
            }
        });
        if (!request || request->done()) {
            continue;
        }
        if (auto ec = request->run(); ec && !first) {
            first = ec;
        }
        as_owner(guard, tp, [&, &log = log] { log->complete_flush(*request); });
    }
    return first;
}

std::error_code log_manager::shutdown() {
    std::error_code first;
    for (const auto& [tp, log] : selected({})) {
        if (auto ec = log->close(); ec && !first) {
            first = ec;
        }
    }
    if (auto ec = write_checkpoints(); ec && !first) {
        first = ec;
    }
    // The marker says "every log was closed cleanly"; write it only if that is true.
    if (!first) {
        for (const auto& dir : options_.log_dirs) {
            if (auto ec = replace_file(dir / clean_shutdown_marker_name, "", true); ec && !first) {
                first = ec;
            }
        }
    }
    std::lock_guard lock(mutex_);
    logs_.clear();
    return first;
}

}  // namespace broker::log
