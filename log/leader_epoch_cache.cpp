#include "log/leader_epoch_cache.h"

#include <algorithm>

namespace broker::log {

leader_epoch_cache leader_epoch_cache::load(std::filesystem::path file) {
    leader_epoch_cache cache(std::move(file));
    auto entries = read_epoch_checkpoint(cache.file_);
    if (entries) {
        for (const auto& e : entries.value()) {
            if (e.epoch < 0 || e.start_offset < 0) {
                continue;
            }
            // Re-apply the assignment rule so a hand-edited or stale file still yields a valid
            // cache.
            while (!cache.entries_.empty() &&
                   (cache.entries_.back().epoch >= e.epoch ||
                    cache.entries_.back().start_offset >= e.start_offset)) {
                cache.entries_.pop_back();
            }
            cache.entries_.push_back(e);
        }
    }
    return cache;
}

std::error_code leader_epoch_cache::persist(bool durable) const {
    return write_epoch_checkpoint(file_, entries_, durable);
}

std::error_code leader_epoch_cache::assign(int32_t epoch, int64_t start_offset) {
    if (epoch < 0 || start_offset < 0) {
        return {};
    }
    if (!entries_.empty() && entries_.back().epoch == epoch &&
        entries_.back().start_offset <= start_offset) {
        return {};
    }
    while (!entries_.empty() &&
           (entries_.back().epoch >= epoch || entries_.back().start_offset >= start_offset)) {
        entries_.pop_back();
    }
    entries_.push_back({epoch, start_offset});
    return persist(true);
}

std::optional<int32_t> leader_epoch_cache::latest_epoch() const {
    if (entries_.empty()) {
        return std::nullopt;
    }
    return entries_.back().epoch;
}

std::optional<epoch_entry> leader_epoch_cache::latest_entry() const {
    if (entries_.empty()) {
        return std::nullopt;
    }
    return entries_.back();
}

std::optional<epoch_entry> leader_epoch_cache::earliest_entry() const {
    if (entries_.empty()) {
        return std::nullopt;
    }
    return entries_.front();
}

std::optional<int32_t> leader_epoch_cache::epoch_for_offset(int64_t offset) const {
    auto it = std::upper_bound(entries_.begin(), entries_.end(), offset,
                               [](int64_t o, const epoch_entry& e) { return o < e.start_offset; });
    if (it == entries_.begin()) {
        return std::nullopt;
    }
    return std::prev(it)->epoch;
}

std::pair<int32_t, int64_t> leader_epoch_cache::end_offset_for(int32_t requested_epoch,
                                                               int64_t log_end_offset) const {
    if (requested_epoch == undefined_epoch) {
        return {undefined_epoch, undefined_epoch_offset};
    }
    if (!entries_.empty() && entries_.back().epoch == requested_epoch) {
        return {requested_epoch, log_end_offset};
    }
    // First entry with a larger epoch.
    auto higher =
        std::upper_bound(entries_.begin(), entries_.end(), requested_epoch,
                         [](int32_t e, const epoch_entry& entry) { return e < entry.epoch; });
    if (higher == entries_.end()) {
        return {undefined_epoch, undefined_epoch_offset};
    }
    if (higher == entries_.begin()) {
        // Older than every epoch we know (its data is gone): the follower should go back to where
        // the earliest known epoch starts.
        return {requested_epoch, higher->start_offset};
    }
    return {std::prev(higher)->epoch, higher->start_offset};
}

std::error_code leader_epoch_cache::truncate_from_end(int64_t end_offset) {
    bool changed = false;
    while (!entries_.empty() && entries_.back().start_offset >= end_offset) {
        entries_.pop_back();
        changed = true;
    }
    return changed ? persist(false) : std::error_code{};
}

std::error_code leader_epoch_cache::truncate_from_start(int64_t start_offset) {
    // Entries starting at or before start_offset: keep only the last of them, moved to
    // start_offset.
    auto first_after =
        std::upper_bound(entries_.begin(), entries_.end(), start_offset,
                         [](int64_t o, const epoch_entry& e) { return o < e.start_offset; });
    if (first_after == entries_.begin()) {
        return {};
    }
    epoch_entry in_force = *std::prev(first_after);
    if (first_after - entries_.begin() == 1 && in_force.start_offset == start_offset) {
        return {};
    }
    entries_.erase(entries_.begin(), first_after);
    entries_.insert(entries_.begin(), epoch_entry{in_force.epoch, start_offset});
    return persist(false);
}

std::error_code leader_epoch_cache::clear() {
    if (entries_.empty()) {
        return {};
    }
    entries_.clear();
    return persist(false);
}

}  // namespace broker::log
