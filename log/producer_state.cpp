#include "log/producer_state.h"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <limits>

#include "common/big_endian.h"
#include "log/batch_reader.h"
#include "log/file.h"
#include "log/partition_log.h"
#include "protocol/crc32c.h"
#include "protocol/records.h"

namespace broker::log {
namespace {

constexpr uint16_t snapshot_version = 1;
constexpr std::size_t snapshot_header_size = 18;  // version, crc, offset, count
constexpr std::size_t snapshot_crc_start = 6;
constexpr std::size_t entry_fixed_size = 8 + 2 + 4 + 8 + 1;
constexpr std::size_t batch_size = 4 + 4 + 8 + 8 + 8;
constexpr std::size_t snapshot_name_digits = 20;
constexpr std::size_t snapshots_kept = 2;
// Largest snapshot file load() reads: far above any real table (a million producers with five
// batches each is ~200 MB), and a bound so a damaged file cannot make us allocate without limit.
constexpr std::size_t max_snapshot_bytes = 512ULL * 1024 * 1024;
// Bytes of batches one partition_log::read covers while loading (regions only, no data is copied).
constexpr uint64_t load_read_bytes = 256ULL * 1024 * 1024;

bool in_sequence(int32_t last, int32_t next) {
    return int64_t{next} == int64_t{last} + 1 ||
           (next == 0 && last == std::numeric_limits<int32_t>::max());
}

void put16(std::string& out, uint16_t v) {
    uint8_t b[2];
    store_be16(b, v);
    out.append(reinterpret_cast<const char*>(b), 2);
}
void put32(std::string& out, uint32_t v) {
    uint8_t b[4];
    store_be32(b, v);
    out.append(reinterpret_cast<const char*>(b), 4);
}
void put64(std::string& out, uint64_t v) {
    uint8_t b[8];
    store_be64(b, v);
    out.append(reinterpret_cast<const char*>(b), 8);
}

/// Bounds-checked cursor over snapshot bytes.
class cursor {
public:
    explicit cursor(std::string_view bytes)
        : p_(reinterpret_cast<const uint8_t*>(bytes.data())), left_(bytes.size()) {}
    bool take(std::size_t n) const { return left_ >= n; }
    std::size_t left() const { return left_; }
    uint8_t u8() { return *advance(1); }
    uint16_t u16() { return load_be16(advance(2)); }
    uint32_t u32() { return load_be32(advance(4)); }
    uint64_t u64() { return load_be64(advance(8)); }

private:
    const uint8_t* advance(std::size_t n) {
        const uint8_t* p = p_;
        p_ += n;
        left_ -= n;
        return p;
    }
    const uint8_t* p_;
    std::size_t left_;
};

std::optional<int64_t> parse_snapshot_name(const std::string& name) {
    const std::string_view suffix = producer_state_table::snapshot_suffix;
    if (name.size() != snapshot_name_digits + suffix.size() ||
        name.compare(snapshot_name_digits, suffix.size(), suffix) != 0) {
        return std::nullopt;
    }
    int64_t value = 0;
    const char* begin = name.data();
    const char* end = begin + snapshot_name_digits;
    auto [ptr, ec] = std::from_chars(begin, end, value);
    if (ec != std::errc() || ptr != end || value < 0) {
        return std::nullopt;
    }
    return value;
}

std::error_code unlink_quietly(const std::filesystem::path& p) {
    std::error_code ec;
    std::filesystem::remove(p, ec);
    return ec;
}

}  // namespace

int32_t increment_sequence(int32_t sequence, int32_t delta) {
    const int64_t next = int64_t{sequence} + delta;
    if (next > std::numeric_limits<int32_t>::max()) {
        return static_cast<int32_t>(next - std::numeric_limits<int32_t>::max() - 1);
    }
    return static_cast<int32_t>(next);
}

// -------------------------------------------------------------------------------------------------
// checks and updates

sequence_check_result producer_state_table::check(producer_id_t producer_id, int16_t epoch,
                                                  int32_t first_sequence,
                                                  int32_t last_sequence) const {
    sequence_check_result out;
    const producer_entry* entry = find(producer_id);
    if (entry == nullptr) {
        // Nothing known: a new producer, or one whose state expired or whose batches retention
        // removed. Kafka accepts any sequence here (KIP-360) instead of UNKNOWN_PRODUCER_ID.
        return out;
    }
    if (epoch == entry->epoch) {
        for (const producer_batch& b : entry->batches) {
            if (b.first_sequence == first_sequence && b.last_sequence == last_sequence) {
                out.status = sequence_check::duplicate;
                out.duplicate_of = b;
                return out;
            }
        }
    }
    if (epoch < entry->epoch) {
        out.status = sequence_check::invalid_producer_epoch;
        return out;
    }
    if (epoch != entry->epoch) {
        // A bumped epoch restarts the sequence space (KIP-360 epoch bump, or a new session).
        if (first_sequence != 0) {
            out.status = sequence_check::out_of_order_sequence;
        }
        return out;
    }
    if (!in_sequence(entry->last_sequence(), first_sequence)) {
        out.status = sequence_check::out_of_order_sequence;
    }
    return out;
}

void producer_state_table::record(producer_id_t producer_id, int16_t epoch,
                                  const producer_batch& batch) {
    auto [it, inserted] = producers_.try_emplace(producer_id);
    producer_entry& entry = it->second;
    if (inserted) {
        entry.producer_id = producer_id;
        entry.epoch = epoch;
    } else if (entry.epoch != epoch) {
        entry.epoch = epoch;
        entry.batches.clear();
    }
    if (entry.batches.size() == max_batches_per_producer) {
        entry.batches.pop_front();
    }
    entry.batches.push_back(batch);
    entry.last_timestamp = batch.max_timestamp;
}

const producer_entry* producer_state_table::find(producer_id_t producer_id) const {
    auto it = producers_.find(producer_id);
    return it == producers_.end() ? nullptr : &it->second;
}

std::size_t producer_state_table::expire(int64_t now_ms, int64_t expiration_ms) {
    std::size_t removed = 0;
    for (auto it = producers_.begin(); it != producers_.end();) {
        // Written as a difference so that extreme timestamps cannot overflow.
        const bool expired =
            now_ms >= it->second.last_timestamp &&
            static_cast<uint64_t>(now_ms) - static_cast<uint64_t>(it->second.last_timestamp) >=
                static_cast<uint64_t>(std::max<int64_t>(expiration_ms, 0));
        if (expired) {
            it = producers_.erase(it);
            ++removed;
        } else {
            ++it;
        }
    }
    return removed;
}

std::size_t producer_state_table::expire_if_due(int64_t now_ms, int64_t expiration_ms,
                                                int64_t check_interval_ms) {
    if (last_expiry_check_ms_ >= 0 && now_ms >= last_expiry_check_ms_ &&
        now_ms - last_expiry_check_ms_ < check_interval_ms) {
        return 0;
    }
    last_expiry_check_ms_ = now_ms;
    return expire(now_ms, expiration_ms);
}

void producer_state_table::truncate_to(int64_t offset) {
    for (auto it = producers_.begin(); it != producers_.end();) {
        auto& batches = it->second.batches;
        while (!batches.empty() && batches.back().last_offset >= offset) {
            batches.pop_back();
        }
        if (batches.empty()) {
            it = producers_.erase(it);
        } else {
            it->second.last_timestamp = batches.back().max_timestamp;
            ++it;
        }
    }
}

void producer_state_table::truncate_head(int64_t log_start_offset) {
    for (auto it = producers_.begin(); it != producers_.end();) {
        const auto& batches = it->second.batches;
        if (batches.empty() || batches.back().last_offset < log_start_offset) {
            it = producers_.erase(it);
        } else {
            ++it;
        }
    }
}

// -------------------------------------------------------------------------------------------------
// snapshots

std::string producer_state_table::serialize_snapshot(int64_t offset) const {
    std::string out;
    std::size_t size = snapshot_header_size;
    for (const auto& [id, entry] : producers_) {
        size += entry_fixed_size + entry.batches.size() * batch_size;
    }
    out.reserve(size);
    put16(out, snapshot_version);
    put32(out, 0);  // CRC, patched below
    put64(out, static_cast<uint64_t>(offset));
    put32(out, static_cast<uint32_t>(producers_.size()));
    for (const auto& [id, entry] : producers_) {
        put64(out, static_cast<uint64_t>(id.value()));
        put16(out, static_cast<uint16_t>(entry.epoch));
        put32(out, static_cast<uint32_t>(entry.coordinator_epoch));
        put64(out, static_cast<uint64_t>(entry.last_timestamp));
        out.push_back(static_cast<char>(entry.batches.size()));
        for (const producer_batch& b : entry.batches) {
            put32(out, static_cast<uint32_t>(b.first_sequence));
            put32(out, static_cast<uint32_t>(b.last_sequence));
            put64(out, static_cast<uint64_t>(b.first_offset));
            put64(out, static_cast<uint64_t>(b.last_offset));
            put64(out, static_cast<uint64_t>(b.max_timestamp));
        }
    }
    const uint32_t crc =
        protocol::crc32c(out.data() + snapshot_crc_start, out.size() - snapshot_crc_start);
    store_be32(reinterpret_cast<uint8_t*>(out.data() + 2), crc);
    return out;
}

result<std::map<producer_id_t, producer_entry>> producer_state_table::parse_snapshot(
    std::string_view bytes, int64_t& offset) {
    const std::error_code corrupt = make_error_code(errc::corrupt_file);
    cursor c(bytes);
    if (!c.take(snapshot_header_size)) {
        return corrupt;
    }
    if (c.u16() != snapshot_version) {
        return corrupt;
    }
    const uint32_t crc = c.u32();
    if (protocol::crc32c(bytes.data() + snapshot_crc_start, bytes.size() - snapshot_crc_start) !=
        crc) {
        return corrupt;
    }
    const auto snapshot_offset = static_cast<int64_t>(c.u64());
    const uint32_t count = c.u32();
    if (snapshot_offset < 0 || count > c.left() / entry_fixed_size) {
        return corrupt;
    }
    std::map<producer_id_t, producer_entry> producers;
    for (uint32_t i = 0; i < count; ++i) {
        if (!c.take(entry_fixed_size)) {
            return corrupt;
        }
        producer_entry entry;
        entry.producer_id = producer_id_t{static_cast<int64_t>(c.u64())};
        entry.epoch = static_cast<int16_t>(c.u16());
        entry.coordinator_epoch = static_cast<int32_t>(c.u32());
        entry.last_timestamp = static_cast<int64_t>(c.u64());
        const uint8_t batches = c.u8();
        if (entry.producer_id.value() < 0 || batches > max_batches_per_producer ||
            !c.take(batches * batch_size)) {
            return corrupt;
        }
        for (uint8_t b = 0; b < batches; ++b) {
            producer_batch batch;
            batch.first_sequence = static_cast<int32_t>(c.u32());
            batch.last_sequence = static_cast<int32_t>(c.u32());
            batch.first_offset = static_cast<int64_t>(c.u64());
            batch.last_offset = static_cast<int64_t>(c.u64());
            batch.max_timestamp = static_cast<int64_t>(c.u64());
            if (batch.first_offset < 0 || batch.last_offset < batch.first_offset ||
                batch.last_offset >= snapshot_offset) {
                return corrupt;
            }
            entry.batches.push_back(batch);
        }
        if (!producers.empty() && producers.rbegin()->first >= entry.producer_id) {
            return corrupt;  // entries are written by increasing id, without repeats
        }
        producers.emplace_hint(producers.end(), entry.producer_id, std::move(entry));
    }
    if (c.left() != 0) {
        return corrupt;
    }
    offset = snapshot_offset;
    return producers;
}

std::filesystem::path producer_state_table::snapshot_path(const std::filesystem::path& dir,
                                                          int64_t offset) {
    std::string digits = std::to_string(offset);
    std::string name(
        snapshot_name_digits > digits.size() ? snapshot_name_digits - digits.size() : 0, '0');
    name += digits;
    name += snapshot_suffix;
    return dir / name;
}

result<std::vector<int64_t>> producer_state_table::list_snapshots(
    const std::filesystem::path& dir) {
    auto entries = list_directory(dir);
    if (!entries) {
        return entries.error();
    }
    std::vector<int64_t> offsets;
    for (const auto& e : entries.value()) {
        if (auto offset = parse_snapshot_name(e.path().filename().string())) {
            offsets.push_back(*offset);
        }
    }
    std::sort(offsets.begin(), offsets.end());
    return offsets;
}

std::error_code producer_state_table::remove_snapshots(const std::filesystem::path& dir,
                                                       int64_t offset, bool below) {
    auto offsets = list_snapshots(dir);
    if (!offsets) {
        return offsets.error();
    }
    for (int64_t o : offsets.value()) {
        if (below ? o < offset : o > offset) {
            if (auto ec = unlink_quietly(snapshot_path(dir, o))) {
                return ec;
            }
        }
    }
    return {};
}

std::error_code producer_state_table::write_snapshot_file(const std::filesystem::path& dir,
                                                          int64_t offset,
                                                          const std::string& contents) {
    if (auto ec = replace_file(snapshot_path(dir, offset), contents, true)) {
        return ec;
    }
    auto offsets = list_snapshots(dir);
    if (!offsets) {
        return offsets.error();
    }
    const std::vector<int64_t>& all = offsets.value();
    if (all.size() > snapshots_kept) {
        for (std::size_t i = 0; i + snapshots_kept < all.size(); ++i) {
            if (auto ec = unlink_quietly(snapshot_path(dir, all[i]))) {
                return ec;
            }
        }
    }
    return {};
}

std::error_code producer_state_table::write_snapshot(const std::filesystem::path& dir,
                                                     int64_t offset) const {
    return write_snapshot_file(dir, offset, serialize_snapshot(offset));
}

// -------------------------------------------------------------------------------------------------
// loading

std::error_code producer_state_table::load(const partition_log& log) {
    const std::filesystem::path& dir = log.dir();
    const int64_t log_start = log.log_start_offset().value();
    const int64_t log_end = log.log_end_offset().value();

    auto offsets = list_snapshots(dir);
    if (!offsets) {
        return offsets.error();
    }
    std::map<producer_id_t, producer_entry> state;
    int64_t scan_from = log_start;
    const std::vector<int64_t>& all = offsets.value();
    for (auto it = all.rbegin(); it != all.rend(); ++it) {
        const std::filesystem::path path = snapshot_path(dir, *it);
        if (*it > log_end) {
            // Describes data the log no longer has (it was truncated, or lost in a crash).
            if (auto ec = unlink_quietly(path)) {
                return ec;
            }
            continue;
        }
        auto bytes = read_small_file(path, max_snapshot_bytes);
        if (!bytes) {
            if (bytes.error() == std::errc::no_such_file_or_directory) {
                continue;
            }
            return bytes.error();
        }
        int64_t snapshot_offset = -1;
        auto parsed = parse_snapshot(bytes.value(), snapshot_offset);
        if (!parsed || snapshot_offset != *it) {
            if (auto ec = unlink_quietly(path)) {
                return ec;
            }
            continue;
        }
        state = std::move(parsed).value();
        scan_from = std::max(snapshot_offset, log_start);
        break;
    }
    producers_ = std::move(state);

    // Replay the producer batches appended after the snapshot. Headers only: no CRC check and no
    // decompression, since the log validated every batch when it was appended or recovered.
    int64_t next = scan_from;
    while (next < log_end) {
        auto read = log.read(offset(next), load_read_bytes, offset(log_end));
        if (!read) {
            return read.error();
        }
        const read_result& r = read.value();
        if (r.empty() || r.next_offset.value() <= next) {
            break;
        }
        for (const file_region& region : r.regions) {
            batch_reader reader(region.fd(), region.position, region.position + region.length);
            batch_entry entry;
            for (;;) {
                const scan_status status = reader.next(entry, false);
                if (status == scan_status::end) {
                    break;
                }
                if (status == scan_status::io_error) {
                    return reader.error();
                }
                if (status != scan_status::ok) {
                    return make_error_code(errc::corrupt_batch);
                }
                const protocol::batch_header& h = entry.header;
                if (h.producer_id < 0 || h.is_control() || h.last_offset() < scan_from ||
                    h.base_sequence < 0) {
                    continue;
                }
                producer_batch batch;
                batch.first_sequence = h.base_sequence;
                batch.last_sequence =
                    increment_sequence(h.base_sequence, std::max(h.last_offset_delta, 0));
                batch.first_offset = h.base_offset;
                batch.last_offset = h.last_offset();
                batch.max_timestamp = h.max_timestamp;
                record(producer_id_t{h.producer_id}, h.producer_epoch, batch);
            }
        }
        next = r.next_offset.value();
    }
    truncate_head(log_start);
    loaded_ = true;
    return {};
}

}  // namespace broker::log
