#include "log/time_index.h"

#include <limits>

#include "common/big_endian.h"

namespace broker::log {

timestamp_offset_entry time_index::entry(std::size_t i) const {
    const uint8_t* p = file_.entry(i);
    return {static_cast<int64_t>(load_be64(p)), base_ + static_cast<int32_t>(load_be32(p + 8))};
}

timestamp_offset_entry time_index::last_entry() const {
    if (file_.entries() == 0) {
        return {-1, base_};
    }
    return entry(file_.entries() - 1);
}

timestamp_offset_entry time_index::lookup(int64_t target) const {
    std::size_t lo = 0;
    std::size_t hi = file_.entries();
    while (lo < hi) {
        std::size_t mid = lo + (hi - lo) / 2;
        if (entry(mid).timestamp < target) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if (lo == 0) {
        return {-1, base_};
    }
    return entry(lo - 1);
}

bool time_index::maybe_append(int64_t timestamp, int64_t offset, bool closing) {
    std::size_t n = file_.entries();
    if (n >= file_.max_entries() || (!closing && full())) {
        return false;
    }
    int64_t relative = offset - base_;
    if (relative < 0 || relative > std::numeric_limits<int32_t>::max()) {
        return false;
    }
    if (n > 0) {
        timestamp_offset_entry last = last_entry();
        if (timestamp <= last.timestamp || offset < last.offset) {
            return false;
        }
    }
    uint8_t* p = file_.slot(n);
    store_be64(p, static_cast<uint64_t>(timestamp));
    store_be32(p + 8, static_cast<uint32_t>(relative));
    file_.commit_entry();
    return true;
}

void time_index::truncate_to(int64_t offset) {
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

bool time_index::sane() const {
    if (file_.opened_bytes() % entry_size != 0) {
        return false;
    }
    std::size_t n = file_.entries();
    if (n == 0) {
        return true;
    }
    timestamp_offset_entry last = entry(n - 1);
    if (last.offset < base_ || last.timestamp < entry(0).timestamp) {
        return false;
    }
    if (n >= 2) {
        timestamp_offset_entry previous = entry(n - 2);
        if (previous.timestamp >= last.timestamp || previous.offset > last.offset) {
            return false;
        }
    }
    return true;
}

}  // namespace broker::log
