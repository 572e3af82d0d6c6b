// Record batch v2: building, validation, decoding and in-place rewrites, including a batch
// assembled byte by byte from the format description, and each way a batch can be refused.
#include "protocol/records.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/big_endian.h"
#include "protocol/compression.h"
#include "protocol/crc32c.h"

namespace broker::protocol {
namespace {

using bytes = std::vector<uint8_t>;

constexpr compression_type codecs[] = {compression_type::none, compression_type::gzip,
                                       compression_type::snappy, compression_type::lz4,
                                       compression_type::zstd};

// "prefix" + number, built by appending: GCC 12 reports a false -Wrestrict for literal +
// std::string.
std::string numbered(std::string_view prefix, std::size_t i) {
    std::string s(prefix);
    s += std::to_string(i);
    return s;
}

bytes text(std::string_view s) {
    return bytes(s.begin(), s.end());
}

std::string as_string(std::span<const uint8_t> s) {
    return std::string(s.begin(), s.end());
}

std::vector<record_data> sample_records() {
    std::vector<record_data> records;
    record_data plain;
    plain.key = text("key-0");
    plain.value = text("value-0");
    plain.timestamp = 1700000000000;
    records.push_back(plain);

    record_data null_key;
    null_key.value = text("value with a null key");
    null_key.timestamp = 1700000000005;
    records.push_back(null_key);

    record_data tombstone;
    tombstone.key = text("deleted");
    tombstone.timestamp = 1699999999990;  // earlier than the base: a negative delta
    records.push_back(tombstone);

    record_data with_headers;
    with_headers.key = bytes{};
    with_headers.value = bytes(3000, 'x');
    with_headers.timestamp = 1700000000100;
    with_headers.headers.push_back({"trace-id", text("abc123")});
    with_headers.headers.push_back({"empty", bytes{}});
    with_headers.headers.push_back({"null-value", std::nullopt});
    with_headers.headers.push_back({"", text("empty key")});
    records.push_back(with_headers);
    return records;
}

void expect_records_equal(const decoded_batch& decoded, const std::vector<record_data>& records) {
    ASSERT_EQ(decoded.records.size(), records.size());
    for (std::size_t i = 0; i < records.size(); ++i) {
        const auto& view = decoded.records[i];
        const auto& want = records[i];
        EXPECT_EQ(view.offset_delta,
                  want.offset_delta < 0 ? static_cast<int32_t>(i) : want.offset_delta);
        EXPECT_EQ(decoded.header.base_timestamp + view.timestamp_delta, want.timestamp) << i;
        ASSERT_EQ(view.key.has_value(), want.key.has_value()) << i;
        if (want.key) {
            EXPECT_EQ(bytes(view.key->begin(), view.key->end()), *want.key) << i;
        }
        ASSERT_EQ(view.value.has_value(), want.value.has_value()) << i;
        if (want.value) {
            EXPECT_EQ(bytes(view.value->begin(), view.value->end()), *want.value) << i;
        }
        ASSERT_EQ(view.headers.size(), want.headers.size()) << i;
        for (std::size_t h = 0; h < want.headers.size(); ++h) {
            EXPECT_EQ(view.headers[h].key, want.headers[h].key);
            ASSERT_EQ(view.headers[h].value.has_value(), want.headers[h].value.has_value());
            if (want.headers[h].value) {
                EXPECT_EQ(bytes(view.headers[h].value->begin(), view.headers[h].value->end()),
                          *want.headers[h].value);
            }
        }
    }
}

TEST(records, build_validate_decode_round_trip_every_codec) {
    auto records = sample_records();
    for (auto codec : codecs) {
        batch_build_options options;
        options.base_offset = 1000;
        options.compression = codec;
        options.producer_id = 42;
        options.producer_epoch = 3;
        options.base_sequence = 17;
        options.partition_leader_epoch = 9;
        bytes batch = build_batch(records, options);

        ASSERT_EQ(validate_batch(batch, false), batch_error::ok) << static_cast<int>(codec);
        ASSERT_EQ(validate_batch(batch), batch_error::ok) << static_cast<int>(codec);
        ASSERT_EQ(peek_batch_size(batch), batch.size());

        decoded_batch decoded;
        ASSERT_EQ(decode_batch(batch, decoded), batch_error::ok);
        const auto& h = decoded.header;
        EXPECT_EQ(h.base_offset, 1000);
        EXPECT_EQ(h.size_bytes(), batch.size());
        EXPECT_EQ(h.magic, 2);
        EXPECT_EQ(h.compression(), codec);
        EXPECT_EQ(h.ts_type(), timestamp_type::create_time);
        EXPECT_FALSE(h.is_transactional());
        EXPECT_FALSE(h.is_control());
        EXPECT_EQ(h.partition_leader_epoch, 9);
        EXPECT_EQ(h.producer_id, 42);
        EXPECT_EQ(h.producer_epoch, 3);
        EXPECT_EQ(h.base_sequence, 17);
        EXPECT_EQ(h.record_count, 4);
        EXPECT_EQ(h.last_offset_delta, 3);
        EXPECT_EQ(h.last_offset(), 1003);
        EXPECT_EQ(h.base_timestamp, 1700000000000);  // the first record's, as Kafka's builder does
        EXPECT_EQ(h.max_timestamp, 1700000000100);
        EXPECT_EQ(h.crc, crc32c(batch.data() + 21, batch.size() - 21));
        EXPECT_EQ(decoded.storage.empty(), codec == compression_type::none);
        expect_records_equal(decoded, records);
    }
}

TEST(records, uncompressed_views_point_into_the_input) {
    auto records = sample_records();
    bytes batch = build_batch(records, {});
    decoded_batch decoded;
    ASSERT_EQ(decode_batch(batch, decoded), batch_error::ok);
    ASSERT_TRUE(decoded.records[0].value);
    const uint8_t* v = decoded.records[0].value->data();
    EXPECT_GE(v, batch.data() + batch_header_size);
    EXPECT_LT(v, batch.data() + batch.size());
}

TEST(records, attributes_and_options) {
    record_data r;
    r.value = text("v");
    r.timestamp = 5;
    batch_build_options options;
    options.transactional = true;
    options.control = true;
    options.ts_type = timestamp_type::log_append_time;
    options.base_timestamp = 1;
    options.max_timestamp = 99;
    options.compression = compression_type::lz4;
    bytes batch = build_batch({r}, options);
    auto h = parse_batch_header(batch);
    ASSERT_TRUE(h);
    EXPECT_TRUE(h->is_transactional());
    EXPECT_TRUE(h->is_control());
    EXPECT_EQ(h->ts_type(), timestamp_type::log_append_time);
    EXPECT_EQ(h->compression(), compression_type::lz4);
    EXPECT_EQ(h->attributes, 0x08 | 0x10 | 0x20 | 3);
    EXPECT_EQ(h->base_timestamp, 1);
    EXPECT_EQ(h->max_timestamp, 99);
    decoded_batch decoded;
    ASSERT_EQ(decode_batch(batch, decoded), batch_error::ok);
    EXPECT_EQ(decoded.records[0].timestamp_delta, 4);
}

// One record, key "k", value "hello", one header ("h" -> "1"), assembled from the format
// description.
TEST(records, matches_hand_assembled_bytes) {
    // clang-format off
    bytes expected = {
        0, 0, 0, 0, 0, 0, 0, 7,                   // base_offset 7
        0, 0, 0, 0,                               // batch_length (filled below)
        0xff, 0xff, 0xff, 0xff,                   // partition_leader_epoch -1
        2,                                        // magic
        0, 0, 0, 0,                               // crc (filled below)
        0, 0,                                     // attributes
        0, 0, 0, 0,                               // last_offset_delta 0
        0, 0, 0, 0, 0, 0, 0x03, 0xe8,             // base_timestamp 1000
        0, 0, 0, 0, 0, 0, 0x03, 0xe8,             // max_timestamp 1000
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,  // producer_id -1
        0xff, 0xff,                               // producer_epoch -1
        0xff, 0xff, 0xff, 0xff,                   // base_sequence -1
        0, 0, 0, 1,                               // record_count 1
        // record: length, attributes, ts delta 0, offset delta 0, key len 1 "k", value len 5 "hello",
        // header count 1, header key len 1 "h", header value len 1 "1".
        0x20,  // body length 16, zigzag -> 32
        0x00, 0x00, 0x00, 0x02, 'k', 0x0a, 'h', 'e', 'l', 'l', 'o', 0x02, 0x02, 'h', 0x02, '1',
    };
    // clang-format on
    store_be32(expected.data() + 8, static_cast<uint32_t>(expected.size() - 12));
    store_be32(expected.data() + 17, crc32c(expected.data() + 21, expected.size() - 21));

    record_data r;
    r.key = text("k");
    r.value = text("hello");
    r.headers.push_back({"h", text("1")});
    r.timestamp = 1000;
    batch_build_options options;
    options.base_offset = 7;
    EXPECT_EQ(build_batch({r}, options), expected);
    EXPECT_EQ(validate_batch(expected), batch_error::ok);
}

TEST(records, empty_record_list) {
    batch_build_options options;
    options.last_offset_delta = 4;  // a compacted batch whose records were all removed
    bytes batch = build_batch({}, options);
    EXPECT_EQ(batch.size(), batch_header_size);
    EXPECT_EQ(validate_batch(batch, false), batch_error::ok);
    // Never valid from a producer.
    EXPECT_EQ(validate_batch(batch, true), batch_error::bad_offset_delta);
    decoded_batch decoded;
    ASSERT_EQ(decode_batch(batch, decoded), batch_error::ok);
    EXPECT_TRUE(decoded.records.empty());
    EXPECT_EQ(decoded.header.last_offset_delta, 4);

    // A compressed empty batch with no payload at all still decodes.
    bytes header_only = batch;
    header_only[22] = static_cast<uint8_t>(compression_type::zstd);
    update_crc(header_only);
    ASSERT_EQ(decode_batch(header_only, decoded), batch_error::ok);
    EXPECT_TRUE(decoded.records.empty());
}

TEST(records, compacted_gaps_decode_but_do_not_validate_as_produced) {
    std::vector<record_data> records(3);
    for (int i = 0; i < 3; ++i) {
        records[i].value = text(numbered("v", i));
        records[i].timestamp = 100 + i;
    }
    records[0].offset_delta = 0;
    records[1].offset_delta = 4;
    records[2].offset_delta = 9;
    batch_build_options options;
    options.last_offset_delta = 10;
    for (auto codec : codecs) {
        options.compression = codec;
        bytes batch = build_batch(records, options);
        EXPECT_EQ(validate_batch(batch, false), batch_error::ok);
        EXPECT_EQ(validate_batch(batch, true), batch_error::bad_offset_delta);
        decoded_batch decoded;
        ASSERT_EQ(decode_batch(batch, decoded), batch_error::ok);
        EXPECT_EQ(decoded.header.last_offset_delta, 10);
        expect_records_equal(decoded, records);
    }
}

TEST(records, out_of_order_deltas_refused_for_produced_batches) {
    std::vector<record_data> records(2);
    records[0].offset_delta = 1;
    records[1].offset_delta = 0;
    batch_build_options options;
    options.last_offset_delta = 1;
    EXPECT_EQ(validate_batch(build_batch(records, options)), batch_error::bad_offset_delta);
}

bytes simple_batch(compression_type codec = compression_type::none, int count = 3) {
    std::vector<record_data> records(static_cast<std::size_t>(count));
    for (int i = 0; i < count; ++i) {
        records[static_cast<std::size_t>(i)].key = text(numbered("k", i));
        records[static_cast<std::size_t>(i)].value = text(numbered("value ", i));
        records[static_cast<std::size_t>(i)].timestamp = 1000 + i;
    }
    batch_build_options options;
    options.compression = codec;
    return build_batch(records, options);
}

TEST(records, bad_crc) {
    bytes batch = simple_batch();
    batch.back() ^= 0x01;
    EXPECT_EQ(validate_batch(batch, false), batch_error::bad_crc);
    EXPECT_EQ(validate_batch(batch, true), batch_error::bad_crc);
    decoded_batch decoded;
    EXPECT_EQ(decode_batch(batch, decoded), batch_error::bad_crc);
    bytes header_flip = simple_batch();
    header_flip[30] ^= 0x40;  // inside base_timestamp, covered by the CRC
    EXPECT_EQ(validate_batch(header_flip, false), batch_error::bad_crc);
}

TEST(records, wrong_record_count) {
    for (auto codec : codecs) {
        bytes more = simple_batch(codec);
        store_be32(more.data() + 57, 4);
        store_be32(more.data() + 23,
                   3);  // keep last_offset_delta consistent so the count is what is wrong
        update_crc(more);
        EXPECT_EQ(validate_batch(more), batch_error::bad_record_count) << static_cast<int>(codec);
        decoded_batch decoded;
        EXPECT_EQ(decode_batch(more, decoded), batch_error::bad_record_count);
        EXPECT_TRUE(decoded.records.empty());

        bytes fewer = simple_batch(codec);
        store_be32(fewer.data() + 57, 2);
        store_be32(fewer.data() + 23, 1);
        update_crc(fewer);
        EXPECT_EQ(validate_batch(fewer), batch_error::bad_record_count) << static_cast<int>(codec);
        EXPECT_EQ(decode_batch(fewer, decoded), batch_error::bad_record_count);

        bytes negative = simple_batch(codec);
        store_be32(negative.data() + 57, 0xffffffffu);
        update_crc(negative);
        EXPECT_EQ(validate_batch(negative, false), batch_error::bad_record_count);
        EXPECT_EQ(decode_batch(negative, decoded), batch_error::bad_record_count);

        bytes huge = simple_batch(codec);
        store_be32(huge.data() + 57, 0x7fffffffu);
        store_be32(huge.data() + 23, 0x7ffffffeu);
        update_crc(huge);
        EXPECT_EQ(validate_batch(huge), batch_error::bad_record_count);
        EXPECT_EQ(decode_batch(huge, decoded), batch_error::bad_record_count);
    }
}

TEST(records, wrong_last_offset_delta) {
    bytes batch = simple_batch();
    store_be32(batch.data() + 23, 5);
    update_crc(batch);
    EXPECT_EQ(validate_batch(batch, false), batch_error::ok);
    EXPECT_EQ(validate_batch(batch, true), batch_error::bad_offset_delta);
}

TEST(records, batch_length_errors) {
    bytes batch = simple_batch();
    bytes longer = batch;
    store_be32(longer.data() + 8, load_be32(batch.data() + 8) + 1);
    EXPECT_EQ(validate_batch(longer), batch_error::truncated);
    bytes shorter = batch;
    store_be32(shorter.data() + 8, load_be32(batch.data() + 8) - 1);
    EXPECT_EQ(validate_batch(shorter), batch_error::bad_length);
    bytes tiny = batch;
    store_be32(tiny.data() + 8, 48);
    EXPECT_EQ(validate_batch(tiny), batch_error::bad_length);
    EXPECT_FALSE(peek_batch_size(tiny));
    bytes negative = batch;
    store_be32(negative.data() + 8, 0x80000000u);
    EXPECT_EQ(validate_batch(negative), batch_error::bad_length);
    EXPECT_FALSE(peek_batch_size(negative));
    bytes trailing = batch;
    trailing.push_back(0);
    EXPECT_EQ(validate_batch(trailing), batch_error::bad_length);
}

TEST(records, truncated_batches) {
    bytes batch = simple_batch(compression_type::gzip);
    decoded_batch decoded;
    for (std::size_t n = 0; n < batch.size(); ++n) {
        std::span<const uint8_t> prefix(batch.data(), n);
        EXPECT_EQ(validate_batch(prefix), batch_error::truncated) << n;
        EXPECT_EQ(decode_batch(prefix, decoded), batch_error::truncated) << n;
    }
    EXPECT_FALSE(peek_batch_size(std::span(batch.data(), 11)));
    EXPECT_EQ(peek_batch_size(std::span(batch.data(), 12)), batch.size());
    EXPECT_FALSE(parse_batch_header(std::span(batch.data(), 60)));
    EXPECT_TRUE(parse_batch_header(std::span(batch.data(), 61)));
}

TEST(records, bad_magic) {
    for (int8_t magic : {0, 1, 3, -1}) {
        bytes batch = simple_batch();
        batch[16] = static_cast<uint8_t>(magic);  // not covered by the CRC
        EXPECT_EQ(validate_batch(batch, false), batch_error::bad_magic) << int{magic};
        decoded_batch decoded;
        EXPECT_EQ(decode_batch(batch, decoded), batch_error::bad_magic);
    }
    // A small legacy v1 message: reported as the wrong format rather than as a short length.
    bytes legacy = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0,    0,    22,   0x12, 0x34, 0x56, 0x78, 1,
                    0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    EXPECT_EQ(validate_batch(legacy), batch_error::bad_magic);
}

TEST(records, bad_compression_payload_with_valid_crc) {
    for (auto codec : {compression_type::gzip, compression_type::snappy, compression_type::lz4,
                       compression_type::zstd}) {
        bytes batch = simple_batch();  // uncompressed records, then claim they are compressed
        batch[22] = static_cast<uint8_t>(codec);
        update_crc(batch);
        EXPECT_EQ(validate_batch(batch, false), batch_error::ok);
        EXPECT_EQ(validate_batch(batch, true), batch_error::bad_compression)
            << static_cast<int>(codec);
        decoded_batch decoded;
        EXPECT_EQ(decode_batch(batch, decoded), batch_error::bad_compression);
    }
    for (uint8_t unknown : {5, 6, 7}) {
        bytes batch = simple_batch();
        batch[22] = unknown;
        update_crc(batch);
        EXPECT_EQ(validate_batch(batch, false), batch_error::bad_compression);
        decoded_batch decoded;
        EXPECT_EQ(decode_batch(batch, decoded), batch_error::bad_compression);
    }
}

TEST(records, decompression_bound) {
    record_data big;
    big.value = bytes(2 * 1024 * 1024, 0);
    batch_build_options options;
    options.compression = compression_type::zstd;
    bytes batch = build_batch({big}, options);
    EXPECT_LT(batch.size(), 4096u);
    EXPECT_EQ(validate_batch(batch), batch_error::ok);
    EXPECT_EQ(validate_batch(batch, true, 1024 * 1024), batch_error::bad_compression);
    decoded_batch decoded;
    EXPECT_EQ(decode_batch(batch, decoded, 1024 * 1024), batch_error::bad_compression);
    EXPECT_EQ(decode_batch(batch, decoded, 4 * 1024 * 1024), batch_error::ok);
}

// Builds a batch around hand-written record bytes (uncompressed), with a valid CRC.
bytes batch_with_records(const bytes& records, int32_t count) {
    bytes batch = build_batch({}, {});
    batch.insert(batch.end(), records.begin(), records.end());
    store_be32(batch.data() + 8, static_cast<uint32_t>(batch.size() - 12));
    store_be32(batch.data() + 57, static_cast<uint32_t>(count));
    store_be32(batch.data() + 23, static_cast<uint32_t>(count - 1));
    update_crc(batch);
    return batch;
}

TEST(records, record_framing_errors) {
    // A well-formed record: length 7 (zigzag 14): attrs, ts 0, offset 0, key null, value "a", 0
    // headers.
    bytes good = {14, 0, 0, 0, 1, 2, 'a', 0};
    EXPECT_EQ(validate_batch(batch_with_records(good, 1)), batch_error::ok);

    struct bad_case {
        const char* what;
        bytes records;
    };
    const bad_case cases[] = {
        {"length longer than content", {16, 0, 0, 0, 1, 2, 'a', 0}},
        {"length shorter than content", {12, 0, 0, 0, 1, 2, 'a', 0}},
        {"negative length", {1, 0, 0, 0, 1, 2, 'a', 0}},
        {"zero length", {0}},
        {"key length below -1", {14, 0, 0, 0, 3, 2, 'a', 0}},
        {"value past record end", {14, 0, 0, 0, 1, 4, 'a', 0}},
        {"negative header count", {14, 0, 0, 0, 1, 2, 'a', 1}},
        {"header count beyond bytes", {14, 0, 0, 0, 1, 2, 'a', 8}},
        {"null header key", {18, 0, 0, 0, 1, 2, 'a', 2, 1, 0}},
        {"unterminated varint", {14, 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80}},
        {"over-long varint length", {0x80, 0x80, 0x80, 0x80, 0x80, 0x01}},
    };
    for (const auto& c : cases) {
        bytes batch = batch_with_records(c.records, 1);
        EXPECT_EQ(validate_batch(batch), batch_error::bad_record) << c.what;
        decoded_batch decoded;
        EXPECT_EQ(decode_batch(batch, decoded), batch_error::bad_record) << c.what;
    }
    // Extra bytes after the declared records.
    bytes extra = good;
    extra.push_back(0);
    EXPECT_EQ(validate_batch(batch_with_records(extra, 1)), batch_error::bad_record_count);
}

TEST(records, header_with_null_value_and_empty_key_decode) {
    // Header count 1: key length 0 (""), value length -1 (null).
    bytes rec = {18, 0, 0, 0, 1, 2, 'a', 2, 0, 1};
    bytes batch = batch_with_records(rec, 1);
    ASSERT_EQ(validate_batch(batch), batch_error::ok);
    decoded_batch decoded;
    ASSERT_EQ(decode_batch(batch, decoded), batch_error::ok);
    ASSERT_EQ(decoded.records.size(), 1u);
    ASSERT_EQ(decoded.records[0].headers.size(), 1u);
    EXPECT_EQ(decoded.records[0].headers[0].key, "");
    EXPECT_FALSE(decoded.records[0].headers[0].value);
    EXPECT_FALSE(decoded.records[0].key);
    EXPECT_EQ(as_string(*decoded.records[0].value), "a");
}

TEST(records, set_base_offset_and_epoch_keep_crc) {
    for (auto codec : codecs) {
        bytes batch = simple_batch(codec);
        uint32_t crc = load_be32(batch.data() + 17);
        set_base_offset(batch, 123456789012345);
        set_partition_leader_epoch(batch, 77);
        EXPECT_EQ(load_be32(batch.data() + 17), crc);
        EXPECT_EQ(validate_batch(batch), batch_error::ok);
        auto h = parse_batch_header(batch);
        ASSERT_TRUE(h);
        EXPECT_EQ(h->base_offset, 123456789012345);
        EXPECT_EQ(h->partition_leader_epoch, 77);
        EXPECT_EQ(h->last_offset(), 123456789012345 + 2);
    }
}

TEST(records, set_log_append_time_updates_and_recrcs) {
    for (auto codec : codecs) {
        bytes batch = simple_batch(codec);
        uint32_t before = load_be32(batch.data() + 17);
        set_log_append_time(batch, 1800000000000);
        EXPECT_NE(load_be32(batch.data() + 17), before);
        EXPECT_EQ(validate_batch(batch), batch_error::ok);
        auto h = parse_batch_header(batch);
        ASSERT_TRUE(h);
        EXPECT_EQ(h->ts_type(), timestamp_type::log_append_time);
        EXPECT_EQ(h->compression(), codec);
        EXPECT_EQ(h->max_timestamp, 1800000000000);
        EXPECT_EQ(h->base_timestamp, 1800000000000);
        decoded_batch decoded;
        EXPECT_EQ(decode_batch(batch, decoded), batch_error::ok);
        EXPECT_EQ(decoded.records.size(), 3u);
    }
}

TEST(records, set_log_append_time_keeps_delete_horizon) {
    bytes batch = simple_batch();
    batch[22] |= 0x40;
    update_crc(batch);
    auto before = parse_batch_header(batch);
    set_log_append_time(batch, 5);
    auto after = parse_batch_header(batch);
    EXPECT_TRUE(after->has_delete_horizon());
    EXPECT_EQ(after->base_timestamp, before->base_timestamp);
    EXPECT_EQ(after->max_timestamp, 5);
    EXPECT_EQ(validate_batch(batch), batch_error::ok);
}

TEST(records, rewrites_ignore_short_buffers) {
    bytes small(20, 0xab);
    bytes copy = small;
    set_base_offset(small, 1);
    set_partition_leader_epoch(small, 1);
    set_log_append_time(small, 1);
    update_crc(small);
    EXPECT_EQ(small, copy);
}

TEST(records, to_string_names_every_error) {
    EXPECT_STREQ(to_string(batch_error::ok), "ok");
    EXPECT_STREQ(to_string(batch_error::truncated), "truncated");
    EXPECT_STREQ(to_string(batch_error::bad_length), "bad_length");
    EXPECT_STREQ(to_string(batch_error::bad_magic), "bad_magic");
    EXPECT_STREQ(to_string(batch_error::bad_crc), "bad_crc");
    EXPECT_STREQ(to_string(batch_error::bad_compression), "bad_compression");
    EXPECT_STREQ(to_string(batch_error::bad_record), "bad_record");
    EXPECT_STREQ(to_string(batch_error::bad_record_count), "bad_record_count");
    EXPECT_STREQ(to_string(batch_error::bad_offset_delta), "bad_offset_delta");
}

TEST(records, large_batch_round_trip) {
    std::vector<record_data> records(5000);
    for (std::size_t i = 0; i < records.size(); ++i) {
        records[i].key = text(numbered("key-", i));
        records[i].value = bytes(i % 300, static_cast<uint8_t>(i));
        records[i].timestamp = 1000 + static_cast<int64_t>(i);
    }
    for (auto codec : codecs) {
        batch_build_options options;
        options.compression = codec;
        bytes batch = build_batch(records, options);
        EXPECT_EQ(validate_batch(batch), batch_error::ok);
        decoded_batch decoded;
        ASSERT_EQ(decode_batch(batch, decoded), batch_error::ok);
        expect_records_equal(decoded, records);
        EXPECT_EQ(decoded.header.max_timestamp, 1000 + 4999);
    }
}

}  // namespace
}  // namespace broker::protocol
