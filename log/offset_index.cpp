#include "log/offset_index.h"

#include <limits>

#include "common/big_endian.h"

namespace broker::log {

offset_position offset_index::entry(std::size_t i) const {
    const uint8_t* p = file_.entry(i);
    return {base_ + static_cast<int32_t>(load_be32(p)), load_be32(p + 4)};
}

offset_position offset_index::last_entry() const {
    if (file_.entries() == 0) {
        return {base_, 0};
    }
    return entry(file_.entries() - 1);
}

offset_position offset_index::lookup(int64_t target) const {
    // Binary search for the greatest entry with offset <= target.
    std::size_t lo = 0;
    std::size_t hi = file_.entries();
    while (lo < hi) {
        std::size_t mid = lo + (hi - lo) / 2;
        if (entry(mid).offset <= target) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if (lo == 0) {
        return {base_, 0};
    }
    return entry(lo - 1);
}

std::optional<offset_position> offset_index::last_entry_before(uint64_t position,
                                                               int64_t offset_bound) const {
    // Both fields increase along the index, so the entries satisfying each condition form a prefix;
    // the answer is the last entry of the shorter prefix.
    std::size_t lo = 0;
    std::size_t hi = file_.entries();
    while (lo < hi) {
        std::size_t mid = lo + (hi - lo) / 2;
        offset_position e = entry(mid);
        if (e.position <= position && e.offset < offset_bound) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if (lo == 0) {
        return std::nullopt;
    }
    return entry(lo - 1);
}

bool offset_index::append(int64_t offset, uint32_t position) {
    if (full()) {
        return false;
    }
    int64_t relative = offset - base_;
    if (relative < 0 || relative > std::numeric_limits<int32_t>::max()) {
        return false;
    }
    if (file_.entries() > 0) {
        offset_position last = last_entry();
        if (offset <= last.offset || position <= last.position) {
            return false;
        }
    }
    uint8_t* p = file_.slot(file_.entries());
    store_be32(p, static_cast<uint32_t>(relative));
    store_be32(p + 4, position);
    file_.commit_entry();
    return true;
}

void offset_index::truncate_to(int64_t offset) {
    // Keep entries with offset < target: their count is the index of the first entry >= target.
    std::size_t lo = 0;
    std::size_t hi = file_.entries();
    while (lo < hi) {
        std::size_t mid = lo + (hi - lo) / 2;
        if (entry(mid).offset < offset) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    file_.set_entries(lo);
}

bool offset_index::sane(uint64_t log_size) const {
    if (file_.opened_bytes() % entry_size != 0) {
        return false;
    }
    std::size_t n = file_.entries();
    if (n == 0) {
        return true;
    }
    offset_position last = entry(n - 1);
    if (last.offset < base_ || last.position >= log_size) {
        return false;
    }
    if (n >= 2) {
        offset_position previous = entry(n - 2);
        if (previous.offset >= last.offset || previous.position >= last.position) {
            return false;
        }
    }
    return true;
}

}  // namespace broker::log
