#include "log/cleaner.h"

#include <sys/stat.h>

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <string>
#include <unordered_map>

#include "common/big_endian.h"
#include "log/batch_reader.h"
#include "protocol/crc32c.h"

namespace broker::log {
namespace {

constexpr std::size_t crc_position = 17;
constexpr std::size_t attributes_position = 21;
constexpr int16_t delete_horizon_bit = 0x40;
// Rough per-key cost of the offset map beyond the key bytes (node, hash bucket, offset).
constexpr std::size_t map_entry_overhead = 64;

int64_t record_timestamp(const protocol::batch_header& header,
                         const protocol::record_view& record) {
    if (header.ts_type() == protocol::timestamp_type::log_append_time) {
        return header.max_timestamp;
    }
    return header.base_timestamp + record.timestamp_delta;
}

std::string key_string(std::span<const uint8_t> key) {
    return std::string(reinterpret_cast<const char*>(key.data()), key.size());
}

std::vector<uint8_t> copy_bytes(std::span<const uint8_t> s) {
    return std::vector<uint8_t>(s.begin(), s.end());
}

}  // namespace

void set_delete_horizon_flag(std::span<uint8_t> batch) {
    const auto attributes =
        static_cast<uint16_t>(load_be16(batch.data() + attributes_position) | delete_horizon_bit);
    store_be16(batch.data() + attributes_position, attributes);
    uint32_t crc =
        protocol::crc32c(batch.data() + attributes_position, batch.size() - attributes_position);
    store_be32(batch.data() + crc_position, crc);
}

std::vector<uint8_t> make_empty_batch(const protocol::batch_header& h) {
    std::vector<uint8_t> out(protocol::batch_header_size);
    uint8_t* p = out.data();
    // Keep the timestamp type, transactional and control bits; an empty batch has no compression.
    uint16_t attributes = static_cast<uint16_t>(h.attributes & (0x08 | 0x10 | 0x20));
    store_be64(p + 0, static_cast<uint64_t>(h.base_offset));
    store_be32(p + 8,
               static_cast<uint32_t>(protocol::batch_header_size - protocol::batch_overhead));
    store_be32(p + 12, static_cast<uint32_t>(h.partition_leader_epoch));
    p[16] = static_cast<uint8_t>(protocol::current_magic);
    store_be16(p + attributes_position, attributes);
    store_be32(p + 23, static_cast<uint32_t>(h.last_offset_delta));
    store_be64(p + 27, static_cast<uint64_t>(h.max_timestamp));
    store_be64(p + 35, static_cast<uint64_t>(h.max_timestamp));
    store_be64(p + 43, static_cast<uint64_t>(h.producer_id));
    store_be16(p + 51, static_cast<uint16_t>(h.producer_epoch));
    store_be32(p + 53, static_cast<uint32_t>(h.base_sequence));
    store_be32(p + 57, 0);
    store_be32(p + crc_position,
               protocol::crc32c(p + attributes_position, out.size() - attributes_position));
    return out;
}

clean_task::~clean_task() {
    for (auto& g : groups_) {
        if (g.cleaned && !g.committed) {
            for (const auto& path : g.cleaned->paths()) {
                std::error_code ignored;
                std::filesystem::remove(path, ignored);
            }
        }
    }
}

std::error_code clean_task::run() {
    if (ran_) {
        return error_;
    }
    ran_ = true;
    stats_.first_dirty_offset = first_dirty_;
    const std::size_t io_buffer = std::max<std::size_t>(options_.io_buffer_bytes, 64 * 1024);

    auto fail = [this](std::error_code ec) {
        error_ = ec;
        return ec;
    };

    // 1. The last batch of every producer anywhere in the log, so cleaning never removes it.
    std::unordered_map<int64_t, int64_t> producer_last;
    auto scan_producers = [&](const source& s) -> std::error_code {
        batch_reader reader(s.file->fd(), 0, s.size, io_buffer);
        batch_entry b;
        while (true) {
            scan_status st = reader.next(b, false);
            if (st == scan_status::io_error) {
                return reader.error();
            }
            if (st != scan_status::ok) {
                return {};
            }
            if (b.header.producer_id >= 0) {
                int64_t& last = producer_last[b.header.producer_id];
                last = std::max(last, b.header.last_offset());
            }
        }
    };
    for (const auto& s : sources_) {
        if (auto ec = scan_producers(s)) {
            return fail(ec);
        }
    }
    for (const auto& s : tail_) {
        if (auto ec = scan_producers(s)) {
            return fail(ec);
        }
    }

    // 2. key -> latest offset over the dirty part, stopping at a segment boundary once the map is
    //    as large as the dedupe buffer allows.
    std::unordered_map<std::string, int64_t> latest;
    std::size_t map_bytes = 0;
    int64_t map_end = end_offset_;
    bool scanned_any = false;
    protocol::decoded_batch decoded;
    for (const auto& s : sources_) {
        if (s.end <= first_dirty_) {
            continue;
        }
        if (scanned_any && map_bytes >= options_.dedupe_buffer_bytes) {
            map_end = s.base;
            break;
        }
        scanned_any = true;
        batch_reader reader(s.file->fd(), 0, s.size, io_buffer);
        batch_entry b;
        while (true) {
            scan_status st = reader.next(b, true);
            if (st == scan_status::io_error) {
                return fail(reader.error());
            }
            if (st != scan_status::ok) {
                break;
            }
            stats_.bytes_read += b.size;
            if (b.header.is_control() || b.header.last_offset() < first_dirty_) {
                continue;
            }
            if (protocol::decode_batch(b.bytes, decoded) != protocol::batch_error::ok) {
                continue;
            }
            for (const auto& r : decoded.records) {
                int64_t off = b.header.base_offset + r.offset_delta;
                if (off < first_dirty_ || !r.key) {
                    continue;
                }
                auto [it, inserted] = latest.try_emplace(key_string(*r.key), off);
                if (inserted) {
                    map_bytes += r.key->size() + map_entry_overhead;
                } else if (off > it->second) {
                    it->second = off;
                }
            }
        }
    }
    stats_.end_offset = map_end;

    // 3. Groups of consecutive segments that fit one segment once cleaned.
    std::size_t cleanable = 0;
    while (cleanable < sources_.size() && sources_[cleanable].end <= map_end) {
        ++cleanable;
    }
    for (std::size_t i = 0; i < cleanable;) {
        group g;
        g.first = i;
        g.last = i;
        uint64_t bytes = sources_[i].size;
        uint64_t index_bytes = sources_[i].index_bytes;
        while (g.last + 1 < cleanable) {
            const source& next = sources_[g.last + 1];
            if (bytes + next.size > static_cast<uint64_t>(config_.segment_bytes) ||
                index_bytes + next.index_bytes >
                    static_cast<uint64_t>(config_.segment_index_bytes) ||
                next.end - 1 - sources_[i].base > std::numeric_limits<int32_t>::max()) {
                break;
            }
            bytes += next.size;
            index_bytes += next.index_bytes;
            ++g.last;
        }
        groups_.push_back(g);
        i = g.last + 1;
    }

    // 4. Rewrite each group into <base>.log.cleaned.
    const int64_t now = now_ms_;
    for (auto& g : groups_) {
        auto created = segment::create(dir_, sources_[g.first].base, config_, ".cleaned");
        if (!created) {
            return fail(created.error());
        }
        g.cleaned = std::move(created).value();
        segment& out = *g.cleaned;
        int64_t last_modified = 0;
        for (std::size_t i = g.first; i <= g.last; ++i) {
            const source& s = sources_[i];
            last_modified = std::max(last_modified, s.last_modified_ms);
            batch_reader reader(s.file->fd(), 0, s.size, io_buffer);
            batch_entry b;
            while (true) {
                scan_status st = reader.next(b, true);
                if (st == scan_status::io_error) {
                    return fail(reader.error());
                }
                if (st != scan_status::ok) {
                    break;
                }
                const protocol::batch_header& h = b.header;
                const bool last_of_group = i == g.last && reader.position() >= s.size;
                std::vector<uint8_t> rebuilt;
                std::span<const uint8_t> output = b.bytes;
                int64_t batch_horizon = -1;

                bool keep_as_is = h.is_control() || protocol::decode_batch(b.bytes, decoded) !=
                                                        protocol::batch_error::ok;
                if (!keep_as_is) {
                    const bool had_horizon = h.has_delete_horizon();
                    const int64_t horizon = had_horizon ? h.base_timestamp : -1;
                    std::vector<const protocol::record_view*> kept;
                    bool kept_tombstone = false;
                    for (const auto& r : decoded.records) {
                        ++stats_.records_read;
                        int64_t off = h.base_offset + r.offset_delta;
                        if (!r.key) {
                            continue;
                        }
                        auto it = latest.find(key_string(*r.key));
                        if (it != latest.end() && it->second > off) {
                            continue;
                        }
                        if (!r.value) {
                            if (had_horizon && now >= horizon) {
                                ++stats_.tombstones_removed;
                                continue;
                            }
                            kept_tombstone = true;
                        }
                        kept.push_back(&r);
                    }
                    stats_.records_retained += kept.size();
                    if (kept.size() == decoded.records.size() && (!kept_tombstone || had_horizon)) {
                        keep_as_is = true;
                        if (kept_tombstone) {
                            batch_horizon = horizon;
                        }
                    } else if (kept.empty()) {
                        auto producer = producer_last.find(h.producer_id);
                        bool producer_last_batch = h.producer_id >= 0 &&
                                                   producer != producer_last.end() &&
                                                   producer->second == h.last_offset();
                        if (!producer_last_batch && !last_of_group) {
                            continue;  // the whole batch goes
                        }
                        rebuilt = make_empty_batch(h);
                    } else {
                        std::vector<protocol::record_data> records;
                        records.reserve(kept.size());
                        for (const auto* r : kept) {
                            protocol::record_data d;
                            d.key = copy_bytes(*r->key);
                            if (r->value) {
                                d.value = copy_bytes(*r->value);
                            }
                            for (const auto& hv : r->headers) {
                                protocol::record_header rh;
                                rh.key = std::string(hv.key);
                                if (hv.value) {
                                    rh.value = copy_bytes(*hv.value);
                                }
                                d.headers.push_back(std::move(rh));
                            }
                            d.timestamp = record_timestamp(h, *r);
                            d.offset_delta = r->offset_delta;
                            records.push_back(std::move(d));
                        }
                        protocol::batch_build_options opts;
                        opts.base_offset = h.base_offset;
                        opts.compression = h.compression();
                        opts.ts_type = h.ts_type();
                        opts.producer_id = h.producer_id;
                        opts.producer_epoch = h.producer_epoch;
                        opts.base_sequence = h.base_sequence;
                        opts.transactional = h.is_transactional();
                        opts.partition_leader_epoch = h.partition_leader_epoch;
                        opts.last_offset_delta = h.last_offset_delta;
                        if (h.ts_type() == protocol::timestamp_type::log_append_time) {
                            opts.base_timestamp = h.base_timestamp;
                            opts.max_timestamp = h.max_timestamp;
                        }
                        if (kept_tombstone) {
                            batch_horizon =
                                had_horizon ? horizon : now + config_.delete_retention_ms;
                            opts.base_timestamp = batch_horizon;
                        }
                        try {
                            rebuilt = protocol::build_batch(records, opts);
                        } catch (const std::runtime_error&) {
                            // The codec refused to compress; give up this round rather than
                            // write anything doubtful.
                            return fail(make_error_code(errc::corrupt_batch));
                        }
                        if (batch_horizon >= 0) {
                            set_delete_horizon_flag(rebuilt);
                        }
                    }
                }
                if (!rebuilt.empty()) {
                    output = rebuilt;
                }
                if (batch_horizon >= 0 &&
                    (next_delete_horizon_ < 0 || batch_horizon < next_delete_horizon_)) {
                    next_delete_horizon_ = batch_horizon;
                }
                auto header = protocol::parse_batch_header(output);
                if (!header) {
                    return fail(make_error_code(errc::corrupt_batch));
                }
                if (auto ec = out.append(header->last_offset(), header->max_timestamp,
                                         header->last_offset(), output, now)) {
                    return fail(ec);
                }
                stats_.bytes_written += output.size();
            }
        }
        if (auto ec = out.close_writes()) {
            return fail(ec);
        }
        // Retention judges a segment without timestamps by its modification time; the cleaned copy
        // inherits the newest one of the segments it replaces, as Kafka does.
        out.set_last_modified_ms(last_modified);
        struct timespec times[2];
        times[0].tv_sec = 0;
        times[0].tv_nsec = UTIME_OMIT;
        times[1].tv_sec = last_modified / 1000;
        times[1].tv_nsec = (last_modified % 1000) * 1'000'000;
        ::futimens(out.file()->fd(), times);
        if (auto ec = out.flush()) {
            return fail(ec);
        }
        stats_.segments_written += 1;
    }
    return {};
}

}  // namespace broker::log
