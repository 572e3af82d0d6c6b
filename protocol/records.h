#pragma once
// Record batches, magic v2 (the only on-disk and on-wire format this broker writes).
//
// Layout of one batch (big-endian), 61-byte header then records:
//   0  int64  base_offset
//   8  int32  batch_length            bytes after this field (total size = batch_length + 12)
//  12  int32  partition_leader_epoch
//  16  int8   magic (= 2)
//  17  uint32 crc                     CRC-32C of bytes [21, end)
//  21  int16  attributes              bits 0-2 compression, 3 timestamp type, 4 transactional,
//                                     5 control, 6 has delete horizon
//  23  int32  last_offset_delta
//  27  int64  base_timestamp
//  35  int64  max_timestamp
//  43  int64  producer_id
//  51  int16  producer_epoch
//  53  int32  base_sequence
//  57  int32  record_count
//  61  records (possibly compressed as one block)
// A record: varint length, int8 attributes, varlong timestamp_delta, varint offset_delta,
//           varint key length (-1 = null) + key, varint value length + value,
//           varint header count, then per header varint key length + key, varint value length +
//           value.
//
// The CRC covers neither base_offset nor partition_leader_epoch, so the broker rewrites those two
// in place without recomputing it.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace broker::protocol {

constexpr std::size_t batch_header_size = 61;
constexpr std::size_t batch_length_offset = 8;  // position of batch_length
constexpr std::size_t batch_overhead = 12;      // base_offset + batch_length
constexpr int8_t current_magic = 2;

enum class compression_type : int8_t { none = 0, gzip = 1, snappy = 2, lz4 = 3, zstd = 4 };
enum class timestamp_type : int8_t { create_time = 0, log_append_time = 1 };

/// Why a batch was refused; maps to Kafka error codes in the handler layer.
enum class batch_error {
    ok = 0,
    truncated,         // fewer bytes than the header or batch_length says   -> CORRUPT_MESSAGE
    bad_length,        // batch_length negative or smaller than the header     -> CORRUPT_MESSAGE
    bad_magic,         // magic != 2                                           ->
                       // UNSUPPORTED_FOR_MESSAGE_FORMAT / CORRUPT_MESSAGE
    bad_crc,           // CRC-32C mismatch                                     -> CORRUPT_MESSAGE
    bad_compression,   // unknown codec id or a payload that fails to decompress -> CORRUPT_MESSAGE
    bad_record,        // record framing inconsistent (lengths, varints)       -> CORRUPT_MESSAGE
    bad_record_count,  // record_count disagrees with the records present      -> CORRUPT_MESSAGE
    bad_offset_delta,  // offset deltas not 0..n-1 / last_offset_delta wrong   -> INVALID_RECORD
};
const char* to_string(batch_error);

/// Decoded copy of the 61-byte header.
struct batch_header {
    int64_t base_offset = 0;
    int32_t batch_length = 0;
    int32_t partition_leader_epoch = -1;
    int8_t magic = current_magic;
    uint32_t crc = 0;
    int16_t attributes = 0;
    int32_t last_offset_delta = 0;
    int64_t base_timestamp = -1;
    int64_t max_timestamp = -1;
    int64_t producer_id = -1;
    int16_t producer_epoch = -1;
    int32_t base_sequence = -1;
    int32_t record_count = 0;

    compression_type compression() const {
        return static_cast<compression_type>(attributes & 0x07);
    }
    timestamp_type ts_type() const {
        return (attributes & 0x08) ? timestamp_type::log_append_time : timestamp_type::create_time;
    }
    bool is_transactional() const { return (attributes & 0x10) != 0; }
    bool is_control() const { return (attributes & 0x20) != 0; }
    bool has_delete_horizon() const { return (attributes & 0x40) != 0; }
    int64_t last_offset() const { return base_offset + last_offset_delta; }
    std::size_t size_bytes() const {
        return static_cast<std::size_t>(batch_length) + batch_overhead;
    }
};

/// Parses the fixed header from the first 61 bytes. Returns nullopt if fewer bytes are given.
/// Does not validate anything beyond having enough bytes.
std::optional<batch_header> parse_batch_header(std::span<const uint8_t> bytes);

/// Size of the batch starting at `bytes` (batch_length + 12), or nullopt if fewer than 12 bytes or
/// a negative/too-small length. Lets a caller split a buffer into batches without parsing headers.
std::optional<std::size_t> peek_batch_size(std::span<const uint8_t> bytes);

/// Full validation of exactly one batch occupying all of `batch`: sizes, magic, CRC-32C, and (when
/// `check_records` is true) decompression + walking every record to check framing, the record count
/// and the offset deltas. The header CRC check alone is cheap; record walking costs a
/// decompression.
batch_error validate_batch(std::span<const uint8_t> batch, bool check_records = true);

/// Upper bound on a batch's decompressed records unless a caller passes its own. A bomb beyond it
/// is refused as bad_compression instead of exhausting memory.
constexpr std::size_t default_max_decompressed_batch_bytes = 64 * 1024 * 1024;
/// validate_batch with an explicit bound on the decompressed record bytes.
/// check_records = false: sizes, magic, CRC, a known codec id and record_count >= 0. These hold for
/// every batch, compacted ones included, so log recovery can use this form. check_records = true
/// additionally requires a freshly produced batch: record_count > 0, last_offset_delta ==
/// record_count - 1 and offset deltas 0..n-1 in order (else bad_offset_delta).
batch_error validate_batch(std::span<const uint8_t> batch, bool check_records,
                           std::size_t max_decompressed);

/// In-place header rewrites that do not touch the CRC-covered range.
void set_base_offset(std::span<uint8_t> batch, int64_t base_offset);
void set_partition_leader_epoch(std::span<uint8_t> batch, int32_t epoch);
/// Sets timestamp type = LogAppendTime and max_timestamp = `ts` (base_timestamp too, as Kafka
/// does), then recomputes the CRC (these fields are covered by it).
void set_log_append_time(std::span<uint8_t> batch, int64_t ts);
/// Recomputes and stores the CRC of a whole batch after a caller rewrote CRC-covered fields.
void update_crc(std::span<uint8_t> batch);

/// One record, decoded. Views point into the storage owned by the decoded_batch that produced them.
struct record_header_view {
    std::string_view key;
    std::optional<std::span<const uint8_t>> value;
};
struct record_view {
    int8_t attributes = 0;
    int64_t timestamp_delta = 0;
    int32_t offset_delta = 0;
    std::optional<std::span<const uint8_t>> key;
    std::optional<std::span<const uint8_t>> value;
    std::vector<record_header_view> headers;
};

/// A batch's records, decompressed if needed. Owns the decompressed bytes.
struct decoded_batch {
    batch_header header;
    std::vector<uint8_t>
        storage;  // decompressed records (empty when uncompressed: views point into input)
    std::vector<record_view> records;
};
/// Decodes all records of one validated or unvalidated batch. On failure returns the error.
batch_error decode_batch(std::span<const uint8_t> batch, decoded_batch& out);
/// decode_batch with an explicit bound on the decompressed record bytes.
/// Lifetimes: for an uncompressed batch the views point into `batch`, which must outlive them; for
/// a compressed one they point into out.storage, so moving the decoded_batch keeps them valid but
/// copying it does not (the copy's views still point into the original). Offset deltas may have
/// gaps and the record list may be empty (compacted batches); framing and record_count are checked,
/// and the CRC.
batch_error decode_batch(std::span<const uint8_t> batch, decoded_batch& out,
                         std::size_t max_decompressed);

/// An owned record for building batches (tests, internal topics, the compactor).
struct record_header {
    std::string key;
    std::optional<std::vector<uint8_t>> value;
};
struct record_data {
    std::optional<std::vector<uint8_t>> key;
    std::optional<std::vector<uint8_t>> value;
    std::vector<record_header> headers;
    int64_t timestamp = 0;  // absolute; the builder computes deltas
    int32_t offset_delta =
        -1;  // -1: sequential (index in the batch); else kept (compaction keeps gaps)
};

/// Builds one complete v2 batch (CRC computed) from records, compressing with `compression`.
struct batch_build_options {
    int64_t base_offset = 0;
    compression_type compression = compression_type::none;
    /// The codec's level (see compress() in protocol/compression.h); nullopt: its default.
    std::optional<int> compression_level;
    timestamp_type ts_type = timestamp_type::create_time;
    int64_t producer_id = -1;
    int16_t producer_epoch = -1;
    int32_t base_sequence = -1;
    bool transactional = false;
    bool control = false;
    int32_t partition_leader_epoch = -1;
    /// When >= 0, last_offset_delta is written as this (compaction keeps the original span of
    /// offsets).
    int32_t last_offset_delta = -1;
    /// When set, base_timestamp/max_timestamp are taken from here instead of the records.
    std::optional<int64_t> base_timestamp;
    std::optional<int64_t> max_timestamp;
};
std::vector<uint8_t> build_batch(const std::vector<record_data>& records,
                                 const batch_build_options& options);

}  // namespace broker::protocol
