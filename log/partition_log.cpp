#include "log/partition_log.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <limits>
#include <set>

namespace broker::log {
namespace {

constexpr int64_t max_relative_offset = std::numeric_limits<int32_t>::max();

/// "<20 digits><suffix>" -> base offset.
std::optional<int64_t> parse_segment_name(const std::string& name, const std::string& suffix) {
    if (name.size() != 20 + suffix.size() || name.compare(20, std::string::npos, suffix) != 0) {
        return std::nullopt;
    }
    int64_t value = 0;
    for (std::size_t i = 0; i < 20; ++i) {
        char c = name[i];
        if (c < '0' || c > '9') {
            return std::nullopt;
        }
        if (value > (std::numeric_limits<int64_t>::max() - (c - '0')) / 10) {
            return std::nullopt;
        }
        value = value * 10 + (c - '0');
    }
    return value;
}

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() &&
           s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::error_code unlink_if_exists(const std::filesystem::path& p) {
    if (::unlink(p.c_str()) != 0 && errno != ENOENT) {
        return errno_code();
    }
    return {};
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// read_result / flush_request

result<std::vector<uint8_t>> read_result::read_all() const {
    std::vector<uint8_t> out(size_bytes);
    std::size_t at = 0;
    for (const auto& r : regions) {
        if (auto ec =
                read_exact(r.fd(), std::span<uint8_t>(out.data() + at, r.length), r.position)) {
            return ec;
        }
        at += r.length;
    }
    return out;
}

std::error_code flush_request::run() {
    if (done_) {
        return error_;
    }
    for (const auto& seg : segments_) {
        if (auto ec = seg->flush()) {
            error_ = ec;
            break;
        }
    }
    if (!error_ && sync_dir_) {
        error_ = sync_directory(dir_);
    }
    done_ = true;
    return error_;
}

// ---------------------------------------------------------------------------------------------
// open / load

partition_log::partition_log(partition_log_options options)
    : dir_(options.dir),
      partition_(options.partition),
      config_(options.config),
      clock_(options.time != nullptr ? options.time : &system_clock::instance()),
      flush_on_roll_(options.flush_on_roll),
      epochs_(leader_epoch_cache::load(options.dir / epoch_checkpoint_name)),
      policy_(static_cast<uint8_t>(options.config.policy)) {}

partition_log::~partition_log() = default;

result<std::unique_ptr<partition_log>> partition_log::open(partition_log_options options) {
    if (auto ec = options.config.validate()) {
        return ec;
    }
    std::error_code ec;
    std::filesystem::create_directories(options.dir, ec);
    if (ec) {
        return ec;
    }
    std::unique_ptr<partition_log> log(new partition_log(options));
    if (auto load_ec = log->load(options)) {
        return load_ec;
    }
    return log;
}

result<std::vector<std::string>> partition_log::file_names() const {
    auto entries = list_directory(dir_);
    if (!entries) {
        return entries.error();
    }
    std::vector<std::string> names;
    for (const auto& e : entries.value()) {
        names.push_back(e.path().filename().string());
    }
    return names;
}

std::error_code partition_log::load(const partition_log_options& options) {
    const int64_t now = clock_->now_ms();

    // 1. Leftovers: incomplete cleaner output, files awaiting deletion, temporary checkpoint files.
    auto names = file_names();
    if (!names) {
        return names.error();
    }
    for (const auto& name : names.value()) {
        if (ends_with(name, ".cleaned") || ends_with(name, ".deleted") || ends_with(name, ".tmp")) {
            if (auto e = unlink_if_exists(dir_ / name)) {
                return e;
            }
        }
    }

    // 2. Complete interrupted swaps. A .log.swap file is written whole and fsynced before it gets
    //    this name, so it replaces every live segment whose base offset lies in its offset range.
    std::set<int64_t> live;
    for (const auto& name : names.value()) {
        if (auto base = parse_segment_name(name, ".log")) {
            live.insert(*base);
        }
    }
    bool renamed = false;
    for (const auto& name : names.value()) {
        auto base = parse_segment_name(name, ".log.swap");
        if (!base) {
            continue;
        }
        auto swapped = segment::open(dir_, *base, config_, now, false, true, ".swap");
        if (!swapped) {
            return swapped.error();
        }
        int64_t upper = std::max(swapped.value()->next_offset(), *base + 1);
        for (auto it = live.lower_bound(*base); it != live.end() && *it < upper;) {
            for (const auto& p : {segment::log_path(dir_, *it), segment::index_path(dir_, *it),
                                  segment::time_index_path(dir_, *it)}) {
                if (auto e = unlink_if_exists(p)) {
                    return e;
                }
            }
            it = live.erase(it);
        }
        if (auto e = swapped.value()->rename_suffix("")) {
            return e;
        }
        live.insert(*base);
        renamed = true;
    }
    // Index .swap files without their .log.swap belong to a swap that never reached its commit
    // point.
    names = file_names();
    if (!names) {
        return names.error();
    }
    for (const auto& name : names.value()) {
        if (ends_with(name, ".swap")) {
            if (auto e = unlink_if_exists(dir_ / name)) {
                return e;
            }
        }
    }
    if (renamed) {
        if (auto e = sync_directory(dir_)) {
            return e;
        }
    }
    // Index files whose log is gone are stale.
    for (const auto& name : names.value()) {
        auto idx = parse_segment_name(name, ".index");
        auto tidx = parse_segment_name(name, ".timeindex");
        if ((idx && !live.count(*idx)) || (tidx && !live.count(*tidx))) {
            if (auto e = unlink_if_exists(dir_ / name)) {
                return e;
            }
        }
    }

    // 3. Open the segments. After an unclean shutdown everything from the segment holding the
    //    recovery point onwards is validated batch by batch; a bad tail is cut and every later
    //    segment dropped (nothing after a hole can be trusted to follow it).
    const int64_t recovery_point = options.recovery_point ? options.recovery_point->value() : 0;
    int64_t recover_from = std::numeric_limits<int64_t>::max();
    if (!options.had_clean_shutdown && !live.empty()) {
        auto it = live.upper_bound(recovery_point);
        recover_from = it == live.begin() ? *live.begin() : *std::prev(it);
    }
    bool recovered_any = false;
    std::vector<int64_t> bases(live.begin(), live.end());
    for (std::size_t i = 0; i < bases.size(); ++i) {
        const int64_t base = bases[i];
        const bool last = i + 1 == bases.size();
        const bool recover = base >= recover_from;
        auto seg = segment::open(dir_, base, config_, now, last, recover);
        if (!seg) {
            return seg.error();
        }
        recovered_any = recovered_any || seg.value()->recovered();
        bool cut = seg.value()->recovered() && seg.value()->recovery().truncated_bytes > 0;
        segments_.emplace(base, std::move(seg).value());
        if (cut && !last) {
            for (std::size_t j = i + 1; j < bases.size(); ++j) {
                for (const auto& p :
                     {segment::log_path(dir_, bases[j]), segment::index_path(dir_, bases[j]),
                      segment::time_index_path(dir_, bases[j])}) {
                    if (auto e = unlink_if_exists(p)) {
                        return e;
                    }
                }
            }
            if (auto e = segments_.rbegin()->second->make_writable(config_)) {
                return e;
            }
            break;
        }
    }

    // 4. Offsets.
    int64_t start = options.log_start_offset ? options.log_start_offset->value() : 0;
    if (segments_.empty()) {
        auto seg = segment::create(dir_, start, config_);
        if (!seg) {
            return seg.error();
        }
        segments_.emplace(start, std::move(seg).value());
        ++dir_generation_;
    }
    // Drop empty segments that are not the last (left by an interrupted roll or truncation); they
    // would shadow nothing but confuse offset lookups.
    for (auto it = segments_.begin(); std::next(it) != segments_.end();) {
        if (it->second->empty()) {
            for (const auto& p : it->second->paths()) {
                if (auto e = unlink_if_exists(p)) {
                    return e;
                }
            }
            it = segments_.erase(it);
        } else {
            ++it;
        }
    }
    const int64_t end = active().next_offset();
    start = std::min(std::max(start, segments_.begin()->first), end);
    log_end_.store(end);
    log_start_.store(start);

    if (recovered_any) {
        // What recovery validated came from the page cache; make it (and the truncations) durable
        // so the next unclean start need not scan it again.
        for (const auto& [base, seg] : segments_) {
            if (seg->recovered()) {
                if (auto e = seg->flush()) {
                    return e;
                }
            }
        }
        if (auto e = sync_directory(dir_)) {
            return e;
        }
        recovery_point_.store(end);
    } else if (options.had_clean_shutdown) {
        recovery_point_.store(end);
    } else {
        recovery_point_.store(std::clamp(recovery_point, start, end));
    }
    last_flush_ms_ = now;
    int64_t hw = options.high_watermark ? options.high_watermark->value() : end;
    high_watermark_.store(std::clamp(hw, start, end));
    int64_t cleaner = options.cleaner_checkpoint ? options.cleaner_checkpoint->value() : start;
    cleaner_checkpoint_.store(std::clamp(cleaner, start, end));

    // 5. The epoch cache must not describe offsets the log no longer has.
    if (auto e = epochs_.truncate_from_end(end)) {
        return e;
    }
    if (auto e = epochs_.truncate_from_start(start)) {
        return e;
    }
    return {};
}

std::error_code partition_log::set_config(const log_config& config) {
    if (auto ec = config.validate()) {
        return ec;
    }
    config_ = config;
    policy_.store(static_cast<uint8_t>(config.policy), std::memory_order_release);
    return {};
}

void partition_log::set_high_watermark(offset hw) {
    int64_t v = std::clamp(hw.value(), log_start_.load(), log_end_.load());
    high_watermark_.store(v, std::memory_order_release);
}

uint64_t partition_log::size_bytes() const {
    uint64_t total = 0;
    for (const auto& [base, seg] : segments_) {
        total += seg->size();
    }
    return total;
}

std::vector<offset> partition_log::segment_base_offsets() const {
    std::vector<offset> out;
    out.reserve(segments_.size());
    for (const auto& [base, seg] : segments_) {
        out.emplace_back(base);
    }
    return out;
}

// ---------------------------------------------------------------------------------------------
// append

std::error_code partition_log::maybe_roll(std::size_t bytes, int64_t first_offset,
                                          int64_t last_offset, int64_t now_ms, bool& rolled) {
    rolled = false;
    segment& seg = active();
    if (seg.empty()) {
        if (last_offset - seg.base_offset() <= max_relative_offset &&
            first_offset >= seg.base_offset()) {
            return {};
        }
        // An empty active segment whose base cannot hold these offsets is replaced by one at the
        // batch's base offset. The new one is created first: when that fails (disk full) the old
        // one stays active and the log keeps a writable segment.
        auto created = segment::create(dir_, first_offset, config_);
        if (!created) {
            return created.error();
        }
        auto it = std::prev(segments_.end());
        std::vector<std::filesystem::path> files = it->second->paths();
        segments_.erase(it);
        segments_.emplace(first_offset, std::move(created).value());
        for (const auto& p : files) {
            if (auto ec = unlink_if_exists(p)) {
                return ec;
            }
        }
        ++dir_generation_;
        rolled = true;
        return {};
    }
    bool full_by_size = seg.size() + bytes > static_cast<uint64_t>(config_.segment_bytes);
    bool full_by_time =
        seg.rolling_base_ms() >= 0 && now_ms - seg.rolling_base_ms() > config_.segment_ms;
    bool offsets_overflow = last_offset - seg.base_offset() > max_relative_offset;
    // A segment left read-only by a roll that failed half-way is replaced now.
    bool closed = !seg.writable();
    if (full_by_size || full_by_time || seg.index_full() || offsets_overflow || closed) {
        rolled = true;
        return roll(first_offset);
    }
    return {};
}

std::error_code partition_log::roll(int64_t new_base) {
    segment& old = active();
    // A roll that fails (no space for the new files, an fsync error) leaves the old segment the
    // active one, writable again, so the log stays appendable once the cause is gone.
    const auto keep_old = [this, &old](std::error_code ec) {
        if (!old.writable()) {
            if (auto reopen = old.make_writable(config_)) {
                return reopen;
            }
        }
        return ec;
    };
    if (auto ec = old.close_writes()) {
        return keep_old(ec);
    }
    if (flush_on_roll_) {
        // Everything below the new segment becomes durable now (Kafka flushes on roll too).
        if (auto ec = flush(offset(old.next_offset()))) {
            return keep_old(ec);
        }
    } else {
        pending_roll_flush_ = std::max(pending_roll_flush_, old.next_offset());
    }
    auto created = segment::create(dir_, new_base, config_);
    if (!created) {
        return keep_old(created.error());
    }
    segments_.emplace(new_base, std::move(created).value());
    ++dir_generation_;
    return {};
}

std::error_code partition_log::write_batches(std::span<const uint8_t> bytes, int64_t last_offset,
                                             int64_t max_timestamp, int64_t offset_of_max_timestamp,
                                             int64_t now_ms) {
    if (auto ec =
            active().append(last_offset, max_timestamp, offset_of_max_timestamp, bytes, now_ms)) {
        return ec;
    }
    log_end_.store(last_offset + 1, std::memory_order_release);
    return {};
}

result<append_result> partition_log::append(std::span<uint8_t> batch, int32_t leader_epoch) {
    if (closed_) {
        return make_error_code(errc::log_closed);
    }
    auto size = protocol::peek_batch_size(batch);
    if (!size || *size != batch.size() || *size < protocol::batch_header_size) {
        return make_error_code(errc::corrupt_batch);
    }
    auto header = protocol::parse_batch_header(batch);
    if (!header || header->magic != protocol::current_magic || header->last_offset_delta < 0) {
        return make_error_code(errc::corrupt_batch);
    }
    if (static_cast<int64_t>(batch.size()) > config_.max_message_bytes) {
        return make_error_code(errc::message_too_large);
    }
    if (static_cast<int64_t>(batch.size()) > config_.segment_bytes) {
        return make_error_code(errc::record_batch_too_large);
    }
    const bool append_time =
        config_.message_timestamp_type == protocol::timestamp_type::log_append_time;
    const int64_t now = append_time ? clock_->now_ms() : clock_->coarse_now_ms();
    const int64_t base = log_end_.load();
    if (base > std::numeric_limits<int64_t>::max() - 1 - header->last_offset_delta) {
        return make_error_code(errc::invalid_offset);  // the offset space is exhausted
    }
    const int64_t last = base + header->last_offset_delta;

    protocol::set_base_offset(batch, base);
    if (leader_epoch >= 0) {
        protocol::set_partition_leader_epoch(batch, leader_epoch);
    }
    append_result out;
    int64_t max_timestamp = header->max_timestamp;
    if (append_time) {
        protocol::set_log_append_time(batch, now);
        out.log_append_time = now;
        max_timestamp = now;
    }
    if (auto ec = maybe_roll(batch.size(), base, last, now, out.rolled)) {
        return ec;
    }
    if (leader_epoch >= 0) {
        if (auto ec = epochs_.assign(leader_epoch, base)) {
            return ec;
        }
    }
    if (auto ec = write_batches(batch, last, max_timestamp, last, now)) {
        return ec;
    }
    out.base_offset = offset(base);
    out.last_offset = offset(last);
    out.log_start_offset = log_start_offset();
    return out;
}

result<append_result> partition_log::append_as_follower(std::span<uint8_t> batches) {
    if (closed_) {
        return make_error_code(errc::log_closed);
    }
    struct parsed {
        std::size_t begin;
        std::size_t size;
        protocol::batch_header header;
    };
    std::vector<parsed> list;
    int64_t expected = log_end_.load();
    for (std::size_t at = 0; at < batches.size();) {
        auto rest = batches.subspan(at);
        auto size = protocol::peek_batch_size(rest);
        if (!size || *size > rest.size() || *size < protocol::batch_header_size) {
            return make_error_code(errc::corrupt_batch);
        }
        auto header = protocol::parse_batch_header(rest);
        if (!header || header->magic != protocol::current_magic || header->last_offset_delta < 0) {
            return make_error_code(errc::corrupt_batch);
        }
        if (static_cast<int64_t>(*size) > config_.segment_bytes) {
            return make_error_code(errc::record_batch_too_large);
        }
        if (header->base_offset < expected ||
            header->base_offset >
                std::numeric_limits<int64_t>::max() - 1 - header->last_offset_delta) {
            return make_error_code(errc::invalid_offset);
        }
        expected = header->last_offset() + 1;
        list.push_back({at, *size, *header});
        at += *size;
    }
    if (list.empty()) {
        return make_error_code(errc::corrupt_batch);
    }
    const int64_t now = clock_->coarse_now_ms();
    append_result out;
    out.base_offset = offset(list.front().header.base_offset);
    out.last_offset = offset(list.back().header.last_offset());
    // Write runs of batches that fit the active segment with one write each.
    for (std::size_t i = 0; i < list.size();) {
        bool rolled = false;
        if (auto ec = maybe_roll(list[i].size, list[i].header.base_offset,
                                 list[i].header.last_offset(), now, rolled)) {
            return ec;
        }
        out.rolled = out.rolled || rolled;
        const segment& seg = active();
        uint64_t bytes = list[i].size;
        std::size_t j = i + 1;
        while (j < list.size() &&
               seg.size() + bytes + list[j].size <= static_cast<uint64_t>(config_.segment_bytes) &&
               list[j].header.last_offset() - seg.base_offset() <= max_relative_offset) {
            bytes += list[j].size;
            ++j;
        }
        int64_t max_timestamp = -1;
        int64_t offset_of_max = list[j - 1].header.last_offset();
        for (std::size_t k = i; k < j; ++k) {
            const auto& h = list[k].header;
            if (h.partition_leader_epoch >= 0) {
                if (auto ec = epochs_.assign(h.partition_leader_epoch, h.base_offset)) {
                    return ec;
                }
            }
            if (h.max_timestamp > max_timestamp) {
                max_timestamp = h.max_timestamp;
                offset_of_max = h.last_offset();
            }
        }
        if (auto ec = write_batches(batches.subspan(list[i].begin, bytes),
                                    list[j - 1].header.last_offset(), max_timestamp, offset_of_max,
                                    now)) {
            return ec;
        }
        i = j;
    }
    out.log_start_offset = log_start_offset();
    return out;
}

// ---------------------------------------------------------------------------------------------
// reads

result<read_result> partition_log::read(offset start, uint64_t max_bytes, offset max_offset) const {
    if (closed_) {
        return make_error_code(errc::log_closed);
    }
    const int64_t s = start.value();
    const int64_t end = log_end_.load();
    if (s < log_start_.load() || s > end) {
        return make_error_code(errc::offset_out_of_range);
    }
    read_result out;
    out.first_offset = start;
    out.next_offset = start;
    const int64_t bound = std::min(max_offset.value(), end);
    if (s >= bound) {
        return out;
    }
    auto it = segments_.upper_bound(s);
    if (it != segments_.begin()) {
        --it;
    }
    for (; it != segments_.end(); ++it) {
        const segment& seg = *it->second;
        if (seg.base_offset() >= bound) {
            break;
        }
        uint64_t remaining = max_bytes > out.size_bytes ? max_bytes - out.size_bytes : 0;
        auto r = seg.read(s, remaining, bound, out.regions.empty());
        if (!r) {
            return r.error();
        }
        const segment_read& sr = r.value();
        if (sr.length > 0) {
            if (out.regions.empty()) {
                out.first_offset = offset(sr.first_offset);
            }
            out.regions.push_back(file_region{seg.file(), sr.position, sr.length});
            out.size_bytes += sr.length;
            out.next_offset = offset(sr.next_offset);
        }
        if (sr.limit_reached || out.size_bytes >= max_bytes) {
            break;
        }
    }
    return out;
}

result<std::optional<timestamp_offset>> partition_log::offset_for_timestamp(int64_t ts) const {
    using answer = std::optional<timestamp_offset>;
    if (closed_) {
        return make_error_code(errc::log_closed);
    }
    const int64_t start = log_start_.load();
    for (auto it = segments_.begin(); it != segments_.end(); ++it) {
        const segment& seg = *it->second;
        auto next = std::next(it);
        if ((next != segments_.end() && next->first <= start) || seg.max_timestamp() < ts) {
            continue;  // wholly below the log start, or every timestamp here is older
        }
        // Never answer with an offset below the log start: a consumer could not fetch it.
        auto found = seg.find_timestamp(ts, start);
        if (!found) {
            return found.error();
        }
        if (found.value()) {
            const auto& m = *found.value();
            timestamp_offset r;
            r.timestamp = m.timestamp;
            r.offset_value = offset(m.offset);
            if (m.leader_epoch >= 0) {
                r.leader_epoch = m.leader_epoch;
            }
            return answer(r);
        }
    }
    return answer();
}

result<std::optional<timestamp_offset>> partition_log::offset_of_max_timestamp() const {
    using answer = std::optional<timestamp_offset>;
    if (closed_) {
        return make_error_code(errc::log_closed);
    }
    const segment* best = nullptr;
    for (const auto& [base, seg] : segments_) {
        if (!seg->empty() && seg->max_timestamp() >= 0 &&
            (best == nullptr || seg->max_timestamp() > best->max_timestamp())) {
            best = seg.get();
        }
    }
    if (best == nullptr) {
        return answer();
    }
    auto found = best->find_max_timestamp();
    if (!found) {
        return found.error();
    }
    if (!found.value()) {
        return answer();
    }
    timestamp_offset r;
    r.timestamp = found.value()->timestamp;
    r.offset_value = offset(found.value()->offset);
    if (found.value()->leader_epoch >= 0) {
        r.leader_epoch = found.value()->leader_epoch;
    }
    return answer(r);
}

// ---------------------------------------------------------------------------------------------
// epochs

std::error_code partition_log::assign_leader_epoch(int32_t epoch, offset start) {
    return epochs_.assign(epoch, start.value());
}

std::pair<int32_t, offset> partition_log::end_offset_for_epoch(int32_t epoch) const {
    auto [e, end] = epochs_.end_offset_for(epoch, log_end_.load());
    return {e, offset(end)};
}

// ---------------------------------------------------------------------------------------------
// retention, deletion, truncation

void partition_log::schedule_delete(std::vector<std::filesystem::path> files, int64_t now_ms) {
    if (config_.file_delete_delay_ms <= 0) {
        for (const auto& p : files) {
            unlink_if_exists(p);
        }
        return;
    }
    pending_deletes_.push_back({std::move(files), now_ms + config_.file_delete_delay_ms});
}

std::error_code partition_log::remove_segment(
    std::map<int64_t, std::shared_ptr<segment>>::iterator it, int64_t now_ms) {
    std::shared_ptr<segment> seg = it->second;
    segments_.erase(it);
    // Renaming first means a crash before the unlink leaves a file startup recognises as garbage,
    // and readers holding the descriptor keep reading the old bytes.
    if (auto ec = seg->rename_suffix(".deleted")) {
        return ec;
    }
    ++dir_generation_;
    schedule_delete(seg->paths(), now_ms);
    return {};
}

void partition_log::advance_log_start(int64_t new_start) {
    if (new_start <= log_start_.load()) {
        return;
    }
    log_start_.store(new_start, std::memory_order_release);
    if (high_watermark_.load() < new_start) {
        high_watermark_.store(new_start);
    }
    if (cleaner_checkpoint_.load() < new_start) {
        cleaner_checkpoint_.store(new_start);
    }
    epochs_.truncate_from_start(new_start);
}

result<retention_result> partition_log::run_retention(int64_t now_ms) {
    retention_result out;
    // Files renamed to .deleted earlier whose delay has passed.
    for (auto it = pending_deletes_.begin(); it != pending_deletes_.end();) {
        if (it->due_ms <= now_ms) {
            for (const auto& p : it->files) {
                if (::unlink(p.c_str()) == 0) {
                    ++out.removed_files;
                }
            }
            it = pending_deletes_.erase(it);
        } else {
            ++it;
        }
    }
    if (closed_) {
        return out;
    }

    const int64_t hw = high_watermark_.load();
    // A segment is deletable only when it is closed and wholly below the high watermark.
    auto deletable = [&](std::map<int64_t, std::shared_ptr<segment>>::iterator it) {
        auto next = std::next(it);
        return next != segments_.end() && next->first <= hw;
    };
    auto delete_front = [&]() -> std::error_code {
        auto it = segments_.begin();
        uint64_t bytes = it->second->size();
        int64_t next_base = std::next(it)->first;
        if (auto ec = remove_segment(it, now_ms)) {
            return ec;
        }
        ++out.deleted_segments;
        out.deleted_bytes += bytes;
        advance_log_start(next_base);
        return {};
    };

    // Segments wholly below the log start offset (moved by DeleteRecords), whatever the policy.
    while (segments_.size() > 1) {
        auto it = segments_.begin();
        if (std::next(it)->first > log_start_.load()) {
            break;
        }
        if (auto ec = delete_front()) {
            return ec;
        }
    }
    if (deletes(config_.policy)) {
        if (config_.retention_ms >= 0) {
            while (segments_.size() > 1 && deletable(segments_.begin()) &&
                   now_ms - segments_.begin()->second->largest_timestamp() > config_.retention_ms) {
                if (auto ec = delete_front()) {
                    return ec;
                }
            }
        }
        if (config_.retention_bytes >= 0) {
            int64_t excess = static_cast<int64_t>(size_bytes()) - config_.retention_bytes;
            while (segments_.size() > 1 && deletable(segments_.begin()) &&
                   excess - static_cast<int64_t>(segments_.begin()->second->size()) >= 0) {
                excess -= static_cast<int64_t>(segments_.begin()->second->size());
                if (auto ec = delete_front()) {
                    return ec;
                }
            }
        }
    }
    return out;
}

std::error_code partition_log::delete_records(offset new_start) {
    if (closed_) {
        return make_error_code(errc::log_closed);
    }
    const int64_t target = new_start.value();
    if (target > high_watermark_.load() || target < 0) {
        return make_error_code(errc::offset_out_of_range);
    }
    if (target <= log_start_.load()) {
        return {};
    }
    advance_log_start(target);
    const int64_t now = clock_->now_ms();
    while (segments_.size() > 1 && std::next(segments_.begin())->first <= target) {
        if (auto ec = remove_segment(segments_.begin(), now)) {
            return ec;
        }
    }
    return {};
}

std::error_code partition_log::truncate_to(offset target) {
    if (closed_) {
        return make_error_code(errc::log_closed);
    }
    const int64_t t = target.value();
    if (t < 0) {
        return make_error_code(errc::offset_out_of_range);
    }
    if (t >= log_end_.load()) {
        return {};
    }
    if (t < log_start_.load()) {
        return truncate_fully_and_start_at(target);
    }
    ++truncation_generation_;
    const int64_t now = clock_->now_ms();
    while (segments_.size() > 1 && segments_.rbegin()->first > t) {
        if (auto ec = remove_segment(std::prev(segments_.end()), now)) {
            return ec;
        }
    }
    segment& seg = active();
    if (!seg.writable()) {
        if (auto ec = seg.make_writable(config_)) {
            return ec;
        }
    }
    auto removed = seg.truncate_to(t);
    if (!removed) {
        return removed.error();
    }
    log_end_.store(t, std::memory_order_release);
    if (high_watermark_.load() > t) {
        high_watermark_.store(t);
    }
    if (recovery_point_.load() > t) {
        recovery_point_.store(t);
    }
    if (cleaner_checkpoint_.load() > t) {
        cleaner_checkpoint_.store(t);
    }
    pending_roll_flush_ = std::min(pending_roll_flush_, t);
    return epochs_.truncate_from_end(t);
}

std::error_code partition_log::truncate_fully_and_start_at(offset new_start) {
    if (closed_) {
        return make_error_code(errc::log_closed);
    }
    const int64_t s = new_start.value();
    if (s < 0) {
        return make_error_code(errc::offset_out_of_range);
    }
    ++truncation_generation_;
    const int64_t now = clock_->now_ms();
    while (!segments_.empty()) {
        if (auto ec = remove_segment(std::prev(segments_.end()), now)) {
            return ec;
        }
    }
    auto created = segment::create(dir_, s, config_);
    if (!created) {
        return created.error();
    }
    segments_.emplace(s, std::move(created).value());
    ++dir_generation_;
    log_start_.store(s);
    log_end_.store(s);
    high_watermark_.store(s);
    recovery_point_.store(s);
    cleaner_checkpoint_.store(s);
    pending_roll_flush_ = 0;
    return epochs_.clear();
}

// ---------------------------------------------------------------------------------------------
// flushing

flush_request partition_log::prepare_flush(offset up_to) {
    flush_request request;
    const int64_t end = log_end_.load();
    const int64_t rp = recovery_point_.load();
    request.dir_ = dir_;
    request.truncation_generation_ = truncation_generation_;
    request.dir_generation_ = dir_generation_;
    request.target_ = end;
    if (std::min(up_to.value(), end) <= rp) {
        // Already durable: the group-commit case where an earlier flush covered this append.
        request.target_ = rp;
        request.done_ = true;
        return request;
    }
    for (const auto& [base, seg] : segments_) {
        if (seg->next_offset() > rp || base >= rp) {
            request.segments_.push_back(seg);
        }
    }
    request.sync_dir_ = synced_dir_generation_ < dir_generation_;
    return request;
}

void partition_log::complete_flush(const flush_request& request) {
    if (!request.done_ || request.error_) {
        return;
    }
    if (request.sync_dir_) {
        synced_dir_generation_ = std::max(synced_dir_generation_, request.dir_generation_);
    }
    if (request.truncation_generation_ != truncation_generation_) {
        return;  // offsets were rewritten meanwhile; the request proves nothing about them
    }
    int64_t target = std::min(request.target_, log_end_.load());
    if (target > recovery_point_.load()) {
        recovery_point_.store(target, std::memory_order_release);
    }
    if (pending_roll_flush_ <= recovery_point_.load()) {
        pending_roll_flush_ = 0;
    }
    last_flush_ms_ = clock_->now_ms();
}

std::error_code partition_log::flush(offset up_to) {
    flush_request request = prepare_flush(up_to);
    if (request.done()) {
        return {};
    }
    if (auto ec = request.run()) {
        return ec;
    }
    complete_flush(request);
    return {};
}

std::error_code partition_log::flush() {
    return flush(log_end_offset());
}

bool partition_log::flush_due(int64_t now_ms) const {
    const int64_t unflushed = log_end_.load() - recovery_point_.load();
    if (unflushed <= 0) {
        return false;
    }
    if (pending_roll_flush_ > recovery_point_.load()) {
        return true;  // a segment rolled with flush_on_roll=false and awaits its fsync
    }
    return unflushed >= config_.flush_messages || now_ms - last_flush_ms_ >= config_.flush_ms;
}

// ---------------------------------------------------------------------------------------------
// cleaning

std::unique_ptr<clean_task> partition_log::prepare_clean(int64_t now_ms,
                                                         const cleaner_options& options) {
    if (closed_ || !compacts(config_.policy) || cleaning_token_.lock() != nullptr ||
        segments_.size() < 2) {
        return nullptr;
    }
    const int64_t hw = high_watermark_.load();
    const int64_t start = log_start_.load();
    std::unique_ptr<clean_task> task(new clean_task());
    task->dir_ = dir_;
    task->config_ = config_;
    task->options_ = options;
    task->now_ms_ = now_ms;
    task->truncation_generation_ = truncation_generation_;

    auto snapshot = [](const std::shared_ptr<segment>& seg, int64_t end) {
        clean_task::source s;
        s.seg = seg;
        s.file = seg->file();
        s.base = seg->base_offset();
        s.end = end;
        s.size = seg->size();
        s.index_bytes = seg->index().size_bytes() + seg->timeindex().size_bytes();
        s.last_modified_ms = seg->last_modified_ms();
        return s;
    };
    for (auto it = segments_.begin(); std::next(it) != segments_.end(); ++it) {
        const int64_t end = std::next(it)->first;
        if (end > hw) {
            break;
        }
        if (config_.min_compaction_lag_ms > 0 &&
            it->second->largest_timestamp() > now_ms - config_.min_compaction_lag_ms) {
            break;
        }
        task->sources_.push_back(snapshot(it->second, end));
    }
    if (task->sources_.empty()) {
        return nullptr;
    }
    for (auto it = segments_.upper_bound(task->sources_.back().base); it != segments_.end(); ++it) {
        auto next = std::next(it);
        task->tail_.push_back(
            snapshot(it->second, next == segments_.end() ? log_end_.load() : next->first));
    }
    task->end_offset_ = task->sources_.back().end;
    task->first_dirty_ = std::clamp(std::max(cleaner_checkpoint_.load(), start),
                                    task->sources_.front().base, task->end_offset_);

    uint64_t dirty = 0;
    uint64_t clean = 0;
    bool overdue = false;
    for (const auto& s : task->sources_) {
        if (s.end > task->first_dirty_) {
            dirty += s.size;
            if (config_.max_compaction_lag_ms != std::numeric_limits<int64_t>::max() &&
                now_ms - s.seg->largest_timestamp() > config_.max_compaction_lag_ms) {
                overdue = true;
            }
        } else {
            clean += s.size;
        }
    }
    const double ratio =
        dirty + clean == 0 ? 0.0 : static_cast<double>(dirty) / static_cast<double>(dirty + clean);
    const bool horizon_passed = next_delete_horizon_ >= 0 && now_ms >= next_delete_horizon_;
    const bool dirty_enough = dirty > 0 && ratio >= config_.min_cleanable_dirty_ratio;
    if (!dirty_enough && !(dirty > 0 && overdue) && !horizon_passed) {
        return nullptr;
    }
    task->in_progress_token_ = std::make_shared<int>(0);
    cleaning_token_ = task->in_progress_token_;
    return task;
}

void partition_log::discard_clean_outputs(clean_task& task) {
    for (auto& g : task.groups_) {
        if (g.cleaned && !g.committed) {
            for (const auto& p : g.cleaned->paths()) {
                unlink_if_exists(p);
            }
            g.cleaned.reset();
        }
    }
}

result<clean_stats> partition_log::commit_clean(std::unique_ptr<clean_task> task) {
    if (!task) {
        return clean_stats{};
    }
    // Whatever happens next, this round is over.
    task->in_progress_token_.reset();
    if (!task->ran_) {
        discard_clean_outputs(*task);
        return make_error_code(errc::stale_clean);
    }
    if (task->error_) {
        discard_clean_outputs(*task);
        return task->error_;
    }
    if (closed_ || task->truncation_generation_ != truncation_generation_) {
        discard_clean_outputs(*task);
        return make_error_code(errc::stale_clean);
    }
    clean_stats stats = task->stats_;
    const int64_t now = clock_->now_ms();
    bool all_swapped = true;
    for (auto& g : task->groups_) {
        // The group's sources must still be exactly the segments in the log.
        bool unchanged = true;
        for (std::size_t i = g.first; i <= g.last; ++i) {
            const auto& s = task->sources_[i];
            auto it = segments_.find(s.base);
            if (it == segments_.end() || it->second != s.seg || it->second->writable() ||
                it->second->size() != s.size || std::next(it) == segments_.end()) {
                unchanged = false;
                break;
            }
        }
        if (!unchanged) {
            all_swapped = false;
            ++stats.groups_skipped;
            for (const auto& p : g.cleaned->paths()) {
                unlink_if_exists(p);
            }
            g.cleaned.reset();
            continue;
        }
        // .cleaned -> .swap is the commit point: from here a crash completes the swap at startup.
        if (auto ec = g.cleaned->rename_suffix(".swap")) {
            return ec;
        }
        g.committed = true;
        if (auto ec = sync_directory(dir_)) {
            return ec;
        }
        for (std::size_t i = g.first; i <= g.last; ++i) {
            if (auto ec = remove_segment(segments_.find(task->sources_[i].base), now)) {
                return ec;
            }
        }
        if (auto ec = g.cleaned->rename_suffix("")) {
            return ec;
        }
        if (auto ec = sync_directory(dir_)) {
            return ec;
        }
        segments_.emplace(g.cleaned->base_offset(), g.cleaned);
        ++dir_generation_;
        stats.segments_replaced += g.last - g.first + 1;
    }
    if (all_swapped) {
        if (task->stats_.end_offset > cleaner_checkpoint_.load()) {
            cleaner_checkpoint_.store(std::min(task->stats_.end_offset, log_end_.load()));
        }
        next_delete_horizon_ = task->next_delete_horizon_;
    } else if (task->next_delete_horizon_ >= 0 &&
               (next_delete_horizon_ < 0 || task->next_delete_horizon_ < next_delete_horizon_)) {
        next_delete_horizon_ = task->next_delete_horizon_;
    }
    return stats;
}

// ---------------------------------------------------------------------------------------------
// close

std::error_code partition_log::close(bool durable) {
    if (closed_) {
        return {};
    }
    if (auto ec = active().close_writes()) {
        return ec;
    }
    if (!durable) {
        closed_ = true;
        return {};
    }
    if (auto ec = flush()) {
        return ec;
    }
    if (synced_dir_generation_ < dir_generation_) {
        if (auto ec = sync_directory(dir_)) {
            return ec;
        }
        synced_dir_generation_ = dir_generation_;
    }
    closed_ = true;
    return {};
}

}  // namespace broker::log
