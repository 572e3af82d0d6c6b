// Record batch v2: header access, validation, decoding and building. Layout in records.h.
//
// Two record walks share one parser:
//  - validate_batch(check_records = true) is for batches a producer just sent. It demands what a
//    producer always writes: record_count > 0, last_offset_delta == record_count - 1 and offset
//    deltas 0, 1, ..., n-1 in order (Kafka's LogValidator refuses anything else with
//    INVALID_RECORD). The walk over uncompressed records is one pass that allocates nothing.
//  - decode_batch is for batches read back from a log, including compacted ones, whose offset
//  deltas
//    have gaps and whose record list may be empty. It checks framing and the record count only.
// Both check the frame (sizes, magic, CRC) first, so neither trusts a length it has not bounded.
// Every function here is stateless and may be called from any thread at once.
#include "protocol/records.h"

#include <algorithm>
#include <limits>
#include <stdexcept>

#include "common/big_endian.h"
#include "protocol/compression.h"
#include "protocol/crc32c.h"
#include "protocol/varint.h"

namespace broker::protocol {
namespace {

// Field positions (records.h has the full table).
constexpr std::size_t partition_leader_epoch_offset = 12;
constexpr std::size_t magic_offset = 16;
constexpr std::size_t crc_offset = 17;
constexpr std::size_t attributes_offset = 21;
constexpr std::size_t last_offset_delta_offset = 23;
constexpr std::size_t base_timestamp_offset = 27;
constexpr std::size_t max_timestamp_offset = 35;
constexpr std::size_t producer_id_offset = 43;
constexpr std::size_t producer_epoch_offset = 51;
constexpr std::size_t base_sequence_offset = 53;
constexpr std::size_t record_count_offset = 57;

constexpr int32_t min_batch_length = static_cast<int32_t>(batch_header_size - batch_overhead);
constexpr int16_t compression_mask = 0x07;
constexpr int16_t timestamp_type_bit = 0x08;
constexpr int16_t transactional_bit = 0x10;
constexpr int16_t control_bit = 0x20;
constexpr int16_t delete_horizon_bit = 0x40;
constexpr int8_t max_known_codec = static_cast<int8_t>(compression_type::zstd);
// Smallest record: length, attributes, timestamp delta, offset delta, key length, value length and
// header count, one byte each. Bounds how many records a byte range can hold.
constexpr std::size_t min_record_size = 7;

uint32_t batch_crc(const uint8_t* batch, std::size_t size) {
    return crc32c(batch + attributes_offset, size - attributes_offset);
}

/// Sizes, magic and CRC of a buffer that must hold exactly one batch.
batch_error check_frame(std::span<const uint8_t> batch) {
    if (batch.size() < batch_overhead) {
        return batch_error::truncated;
    }
    auto length = static_cast<int32_t>(load_be32(batch.data() + batch_length_offset));
    if (length < 0) {
        return batch_error::bad_length;
    }
    // Magic sits at the same position in legacy messages (v0/v1), so check it before the v2 minimum
    // length: a small legacy message is reported as the wrong format, not as a bad length.
    if (batch.size() > magic_offset && static_cast<int8_t>(batch[magic_offset]) != current_magic) {
        return batch_error::bad_magic;
    }
    if (length < min_batch_length) {
        return batch_error::bad_length;
    }
    std::size_t total = static_cast<std::size_t>(length) + batch_overhead;
    if (batch.size() < total) {
        return batch_error::truncated;
    }
    if (batch.size() > total) {
        return batch_error::bad_length;
    }
    if (batch_crc(batch.data(), batch.size()) != load_be32(batch.data() + crc_offset)) {
        return batch_error::bad_crc;
    }
    return batch_error::ok;
}

/// Header checks that hold for every batch, produced or compacted.
batch_error check_header(const batch_header& h) {
    if ((h.attributes & compression_mask) > max_known_codec) {
        return batch_error::bad_compression;
    }
    if (h.record_count < 0) {
        return batch_error::bad_record_count;
    }
    return batch_error::ok;
}

/// Reads a varint-length-prefixed byte string; length -1 means null when `nullable`.
bool read_bytes(const uint8_t*& p, const uint8_t* end, bool nullable,
                std::optional<std::span<const uint8_t>>& out) {
    auto length = decode_varint(p, end);
    if (!length) {
        return false;
    }
    p += length->length;
    if (length->value < 0) {
        if (length->value != -1 || !nullable) {
            return false;
        }
        out.reset();
        return true;
    }
    auto n = static_cast<std::size_t>(length->value);
    if (n > static_cast<std::size_t>(end - p)) {
        return false;
    }
    out.emplace(p, n);
    p += n;
    return true;
}

/// Parses the record starting at `cursor` (at its length varint) into `view` and moves `cursor`
/// past it. Headers are stored only when `keep_headers`; otherwise they are only checked. The
/// record's length must match its content exactly.
batch_error parse_record(const uint8_t*& cursor, const uint8_t* end, record_view& view,
                         bool keep_headers) {
    const uint8_t* p = cursor;
    auto length = decode_varint(p, end);
    if (!length || length->value < 0) {
        return batch_error::bad_record;
    }
    p += length->length;
    if (static_cast<std::size_t>(length->value) > static_cast<std::size_t>(end - p)) {
        return batch_error::bad_record;
    }
    const uint8_t* record_end = p + length->value;

    if (p == record_end) {
        return batch_error::bad_record;
    }
    view.attributes = static_cast<int8_t>(*p++);
    auto timestamp_delta = decode_varlong(p, record_end);
    if (!timestamp_delta) {
        return batch_error::bad_record;
    }
    p += timestamp_delta->length;
    view.timestamp_delta = timestamp_delta->value;
    auto offset_delta = decode_varint(p, record_end);
    if (!offset_delta) {
        return batch_error::bad_record;
    }
    p += offset_delta->length;
    view.offset_delta = offset_delta->value;
    if (!read_bytes(p, record_end, true, view.key) ||
        !read_bytes(p, record_end, true, view.value)) {
        return batch_error::bad_record;
    }
    auto header_count = decode_varint(p, record_end);
    if (!header_count || header_count->value < 0) {
        return batch_error::bad_record;
    }
    p += header_count->length;
    // Each header takes at least two bytes (two lengths), so a larger count cannot fit.
    auto headers = static_cast<std::size_t>(header_count->value);
    if (headers > static_cast<std::size_t>(record_end - p) / 2) {
        return batch_error::bad_record;
    }
    view.headers.clear();
    if (keep_headers && headers > 0) {
        view.headers.reserve(headers);
    }
    for (std::size_t i = 0; i < headers; ++i) {
        std::optional<std::span<const uint8_t>> key;
        std::optional<std::span<const uint8_t>> value;
        // Header keys are non-null strings; values may be null.
        if (!read_bytes(p, record_end, false, key) || !read_bytes(p, record_end, true, value)) {
            return batch_error::bad_record;
        }
        if (keep_headers) {
            view.headers.push_back(record_header_view{
                std::string_view(reinterpret_cast<const char*>(key->data()), key->size()), value});
        }
    }
    if (p != record_end) {
        return batch_error::bad_record;  // the length disagrees with the content
    }
    cursor = record_end;
    return batch_error::ok;
}

/// Checks the records of a freshly produced batch: framing, count and offset deltas 0..n-1.
batch_error walk_produced(const uint8_t* p, const uint8_t* end, int32_t record_count) {
    record_view scratch;
    for (int32_t i = 0; i < record_count; ++i) {
        if (p == end) {
            return batch_error::bad_record_count;
        }
        if (auto e = parse_record(p, end, scratch, false); e != batch_error::ok) {
            return e;
        }
        if (scratch.offset_delta != i) {
            return batch_error::bad_offset_delta;
        }
    }
    return p == end ? batch_error::ok : batch_error::bad_record_count;
}

/// Decodes every record into `out`; offset deltas are not constrained (compaction leaves gaps).
batch_error walk_decode(const uint8_t* p, const uint8_t* end, int32_t record_count,
                        std::vector<record_view>& out) {
    out.reserve(std::min(static_cast<std::size_t>(record_count),
                         static_cast<std::size_t>(end - p) / min_record_size));
    for (int32_t i = 0; i < record_count; ++i) {
        if (p == end) {
            return batch_error::bad_record_count;
        }
        record_view& view = out.emplace_back();
        if (auto e = parse_record(p, end, view, true); e != batch_error::ok) {
            return e;
        }
    }
    return p == end ? batch_error::ok : batch_error::bad_record_count;
}

// ------------------------------------------------------------------------------------------
// building

int32_t checked_int32(std::size_t v) {
    if (v > static_cast<std::size_t>(std::numeric_limits<int32_t>::max())) {
        throw std::length_error("record batch field exceeds int32");
    }
    return static_cast<int32_t>(v);
}

std::size_t bytes_field_size(const std::optional<std::vector<uint8_t>>& b) {
    if (!b) {
        return varint_size(-1);
    }
    return varint_size(checked_int32(b->size())) + b->size();
}

uint8_t* write_bytes_field(uint8_t* p, const uint8_t* data, std::size_t size) {
    p += encode_varint(static_cast<int32_t>(size), p);
    if (size > 0) {
        std::copy(data, data + size, p);
    }
    return p + size;
}

uint8_t* write_bytes_field(uint8_t* p, const std::optional<std::vector<uint8_t>>& b) {
    if (!b) {
        return p + encode_varint(-1, p);
    }
    return write_bytes_field(p, b->data(), b->size());
}

int64_t wrapping_sub(int64_t a, int64_t b) {
    return static_cast<int64_t>(static_cast<uint64_t>(a) - static_cast<uint64_t>(b));
}

/// Encoded record body size (everything after the record's length varint).
std::size_t record_body_size(const record_data& r, int64_t timestamp_delta, int32_t offset_delta) {
    std::size_t size = 1 + varlong_size(timestamp_delta) + varint_size(offset_delta) +
                       bytes_field_size(r.key) + bytes_field_size(r.value) +
                       varint_size(checked_int32(r.headers.size()));
    for (const auto& h : r.headers) {
        size += varint_size(checked_int32(h.key.size())) + h.key.size() + bytes_field_size(h.value);
    }
    return size;
}

}  // namespace

const char* to_string(batch_error e) {
    switch (e) {
        case batch_error::ok: return "ok";
        case batch_error::truncated: return "truncated";
        case batch_error::bad_length: return "bad_length";
        case batch_error::bad_magic: return "bad_magic";
        case batch_error::bad_crc: return "bad_crc";
        case batch_error::bad_compression: return "bad_compression";
        case batch_error::bad_record: return "bad_record";
        case batch_error::bad_record_count: return "bad_record_count";
        case batch_error::bad_offset_delta: return "bad_offset_delta";
    }
    return "unknown";
}

std::optional<batch_header> parse_batch_header(std::span<const uint8_t> bytes) {
    if (bytes.size() < batch_header_size) {
        return std::nullopt;
    }
    const uint8_t* p = bytes.data();
    batch_header h;
    h.base_offset = static_cast<int64_t>(load_be64(p));
    h.batch_length = static_cast<int32_t>(load_be32(p + batch_length_offset));
    h.partition_leader_epoch = static_cast<int32_t>(load_be32(p + partition_leader_epoch_offset));
    h.magic = static_cast<int8_t>(p[magic_offset]);
    h.crc = load_be32(p + crc_offset);
    h.attributes = static_cast<int16_t>(load_be16(p + attributes_offset));
    h.last_offset_delta = static_cast<int32_t>(load_be32(p + last_offset_delta_offset));
    h.base_timestamp = static_cast<int64_t>(load_be64(p + base_timestamp_offset));
    h.max_timestamp = static_cast<int64_t>(load_be64(p + max_timestamp_offset));
    h.producer_id = static_cast<int64_t>(load_be64(p + producer_id_offset));
    h.producer_epoch = static_cast<int16_t>(load_be16(p + producer_epoch_offset));
    h.base_sequence = static_cast<int32_t>(load_be32(p + base_sequence_offset));
    h.record_count = static_cast<int32_t>(load_be32(p + record_count_offset));
    return h;
}

std::optional<std::size_t> peek_batch_size(std::span<const uint8_t> bytes) {
    if (bytes.size() < batch_overhead) {
        return std::nullopt;
    }
    auto length = static_cast<int32_t>(load_be32(bytes.data() + batch_length_offset));
    if (length < min_batch_length) {
        return std::nullopt;
    }
    return static_cast<std::size_t>(length) + batch_overhead;
}

batch_error validate_batch(std::span<const uint8_t> batch, bool check_records) {
    return validate_batch(batch, check_records, default_max_decompressed_batch_bytes);
}

batch_error validate_batch(std::span<const uint8_t> batch, bool check_records,
                           std::size_t max_decompressed) {
    if (auto e = check_frame(batch); e != batch_error::ok) {
        return e;
    }
    batch_header h = *parse_batch_header(batch);
    if (auto e = check_header(h); e != batch_error::ok) {
        return e;
    }
    if (!check_records) {
        return batch_error::ok;
    }
    // A producer never sends an empty batch, and its offsets span exactly its records.
    if (h.record_count == 0 || h.last_offset_delta != h.record_count - 1) {
        return batch_error::bad_offset_delta;
    }
    auto payload = batch.subspan(batch_header_size);
    if (h.compression() == compression_type::none) {
        return walk_produced(payload.data(), payload.data() + payload.size(), h.record_count);
    }
    auto records = decompress(h.compression(), payload, max_decompressed);
    if (!records) {
        return batch_error::bad_compression;
    }
    return walk_produced(records->data(), records->data() + records->size(), h.record_count);
}

batch_error decode_batch(std::span<const uint8_t> batch, decoded_batch& out) {
    return decode_batch(batch, out, default_max_decompressed_batch_bytes);
}

batch_error decode_batch(std::span<const uint8_t> batch, decoded_batch& out,
                         std::size_t max_decompressed) {
    out.storage.clear();
    out.records.clear();
    if (auto e = check_frame(batch); e != batch_error::ok) {
        return e;
    }
    out.header = *parse_batch_header(batch);
    if (auto e = check_header(out.header); e != batch_error::ok) {
        return e;
    }
    auto payload = batch.subspan(batch_header_size);
    std::span<const uint8_t> records = payload;
    // An empty compressed batch may carry no payload at all (compaction keeps such headers).
    if (out.header.compression() != compression_type::none &&
        !(payload.empty() && out.header.record_count == 0)) {
        auto decompressed = decompress(out.header.compression(), payload, max_decompressed);
        if (!decompressed) {
            return batch_error::bad_compression;
        }
        out.storage = std::move(*decompressed);
        records = out.storage;
    }
    auto e = walk_decode(records.data(), records.data() + records.size(), out.header.record_count,
                         out.records);
    if (e != batch_error::ok) {
        out.records.clear();
    }
    return e;
}

void set_base_offset(std::span<uint8_t> batch, int64_t base_offset) {
    if (batch.size() >= batch_header_size) {
        store_be64(batch.data(), static_cast<uint64_t>(base_offset));
    }
}

void set_partition_leader_epoch(std::span<uint8_t> batch, int32_t epoch) {
    if (batch.size() >= batch_header_size) {
        store_be32(batch.data() + partition_leader_epoch_offset, static_cast<uint32_t>(epoch));
    }
}

void update_crc(std::span<uint8_t> batch) {
    auto size = peek_batch_size(batch);
    if (!size || *size > batch.size()) {
        return;  // not a whole batch: nothing sensible to checksum
    }
    store_be32(batch.data() + crc_offset, batch_crc(batch.data(), *size));
}

void set_log_append_time(std::span<uint8_t> batch, int64_t ts) {
    auto size = peek_batch_size(batch);
    if (!size || *size > batch.size()) {
        return;
    }
    uint8_t* p = batch.data();
    auto attributes = static_cast<uint16_t>(load_be16(p + attributes_offset) | timestamp_type_bit);
    store_be16(p + attributes_offset, attributes);
    // With the delete-horizon bit (KIP-534) the base timestamp holds the horizon; keep it.
    if ((attributes & delete_horizon_bit) == 0) {
        store_be64(p + base_timestamp_offset, static_cast<uint64_t>(ts));
    }
    store_be64(p + max_timestamp_offset, static_cast<uint64_t>(ts));
    store_be32(p + crc_offset, batch_crc(p, *size));
}

std::vector<uint8_t> build_batch(const std::vector<record_data>& records,
                                 const batch_build_options& options) {
    const int64_t base_timestamp =
        options.base_timestamp.value_or(records.empty() ? int64_t{-1} : records.front().timestamp);
    int64_t max_timestamp = -1;
    int32_t max_offset_delta = 0;
    std::size_t records_size = 0;
    for (std::size_t i = 0; i < records.size(); ++i) {
        const record_data& r = records[i];
        int32_t offset_delta = r.offset_delta < 0 ? checked_int32(i) : r.offset_delta;
        max_offset_delta = std::max(max_offset_delta, offset_delta);
        max_timestamp = std::max(max_timestamp, r.timestamp);
        std::size_t body =
            record_body_size(r, wrapping_sub(r.timestamp, base_timestamp), offset_delta);
        records_size += varint_size(checked_int32(body)) + body;
    }
    if (options.max_timestamp) {
        max_timestamp = *options.max_timestamp;
    }

    auto write_records = [&](uint8_t* p) {
        for (std::size_t i = 0; i < records.size(); ++i) {
            const record_data& r = records[i];
            int32_t offset_delta = r.offset_delta < 0 ? static_cast<int32_t>(i) : r.offset_delta;
            int64_t timestamp_delta = wrapping_sub(r.timestamp, base_timestamp);
            p += encode_varint(
                static_cast<int32_t>(record_body_size(r, timestamp_delta, offset_delta)), p);
            *p++ = 0;  // record attributes: unused in v2
            p += encode_varlong(timestamp_delta, p);
            p += encode_varint(offset_delta, p);
            p = write_bytes_field(p, r.key);
            p = write_bytes_field(p, r.value);
            p += encode_varint(static_cast<int32_t>(r.headers.size()), p);
            for (const auto& h : r.headers) {
                p = write_bytes_field(p, reinterpret_cast<const uint8_t*>(h.key.data()),
                                      h.key.size());
                p = write_bytes_field(p, h.value);
            }
        }
    };

    std::vector<uint8_t> out;
    if (options.compression == compression_type::none) {
        out.resize(batch_header_size + records_size);
        write_records(out.data() + batch_header_size);
    } else {
        std::vector<uint8_t> raw(records_size);
        write_records(raw.data());
        auto compressed = compress(options.compression, raw, options.compression_level);
        if (!compressed) {
            throw std::runtime_error("record batch compression failed");
        }
        out.resize(batch_header_size + compressed->size());
        std::copy(compressed->begin(), compressed->end(), out.begin() + batch_header_size);
    }
    checked_int32(out.size() - batch_overhead);

    int16_t attributes =
        static_cast<int16_t>(static_cast<int16_t>(options.compression) & compression_mask);
    if (options.ts_type == timestamp_type::log_append_time) {
        attributes |= timestamp_type_bit;
    }
    if (options.transactional) {
        attributes |= transactional_bit;
    }
    if (options.control) {
        attributes |= control_bit;
    }
    const int32_t last_offset_delta =
        options.last_offset_delta >= 0 ? options.last_offset_delta : max_offset_delta;

    uint8_t* h = out.data();
    store_be64(h, static_cast<uint64_t>(options.base_offset));
    store_be32(h + batch_length_offset, static_cast<uint32_t>(out.size() - batch_overhead));
    store_be32(h + partition_leader_epoch_offset,
               static_cast<uint32_t>(options.partition_leader_epoch));
    h[magic_offset] = static_cast<uint8_t>(current_magic);
    store_be16(h + attributes_offset, static_cast<uint16_t>(attributes));
    store_be32(h + last_offset_delta_offset, static_cast<uint32_t>(last_offset_delta));
    store_be64(h + base_timestamp_offset, static_cast<uint64_t>(base_timestamp));
    store_be64(h + max_timestamp_offset, static_cast<uint64_t>(max_timestamp));
    store_be64(h + producer_id_offset, static_cast<uint64_t>(options.producer_id));
    store_be16(h + producer_epoch_offset, static_cast<uint16_t>(options.producer_epoch));
    store_be32(h + base_sequence_offset, static_cast<uint32_t>(options.base_sequence));
    store_be32(h + record_count_offset, static_cast<uint32_t>(checked_int32(records.size())));
    store_be32(h + crc_offset, batch_crc(h, out.size()));
    return out;
}

}  // namespace broker::protocol
