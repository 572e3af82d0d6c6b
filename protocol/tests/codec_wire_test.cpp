// Wire primitives: byte layouts, length checks, sticky failures, uuid text form, records splices.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <limits>
#include <new>

#include "protocol/generated/metadata_request.h"
#include "protocol/generated/produce_request.h"
#include "protocol/wire.h"

// ---- allocation probe: records the largest single allocation while armed ----
// The replacement operator new/delete pair uses malloc/free; GCC cannot see that they are a pair.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
namespace {
std::atomic<bool> probe_armed{false};
std::atomic<std::size_t> probe_largest{0};

void note_allocation(std::size_t n) {
    if (probe_armed.load(std::memory_order_relaxed)) {
        std::size_t seen = probe_largest.load(std::memory_order_relaxed);
        while (n > seen && !probe_largest.compare_exchange_weak(seen, n)) {
        }
    }
}

/// Arms the probe for its lifetime; largest() is the biggest allocation made meanwhile.
class allocation_probe {
public:
    allocation_probe() {
        probe_largest = 0;
        probe_armed = true;
    }
    ~allocation_probe() { probe_armed = false; }
    std::size_t largest() const { return probe_largest.load(); }
};
}  // namespace

void* operator new(std::size_t n) {
    note_allocation(n);
    if (void* p = std::malloc(n == 0 ? 1 : n)) {
        return p;
    }
    throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
    std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
    std::free(p);
}

namespace broker::protocol {
namespace {

using bytes = std::vector<uint8_t>;

bytes encode_with(auto&& body) {
    bytes out;
    writer w(out);
    body(w);
    return out;
}

TEST(Wire, FixedWidthIntegersAreBigEndian) {
    const auto out = encode_with([](writer& w) {
        w.write_bool(true);
        w.write_int8(-2);
        w.write_int16(0x1234);
        w.write_uint16(0xfedc);
        w.write_int32(-2);
        w.write_uint32(0x01020304);
        w.write_int64(0x0102030405060708);
        w.write_float64(1.5);
    });
    const bytes expected = {0x01, 0xfe, 0x12, 0x34, 0xfe, 0xdc, 0xff, 0xff, 0xff, 0xfe,
                            0x01, 0x02, 0x03, 0x04, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06,
                            0x07, 0x08, 0x3f, 0xf8, 0,    0,    0,    0,    0,    0};
    EXPECT_EQ(out, expected);
    reader r(out);
    EXPECT_TRUE(r.read_bool());
    EXPECT_EQ(r.read_int8(), -2);
    EXPECT_EQ(r.read_int16(), 0x1234);
    EXPECT_EQ(r.read_uint16(), 0xfedc);
    EXPECT_EQ(r.read_int32(), -2);
    EXPECT_EQ(r.read_uint32(), 0x01020304u);
    EXPECT_EQ(r.read_int64(), 0x0102030405060708);
    EXPECT_EQ(r.read_float64(), 1.5);
    EXPECT_TRUE(r.ok());
    EXPECT_EQ(r.remaining(), 0u);
}

TEST(Wire, VarintsRoundTripAndUseProtobufLayout) {
    EXPECT_EQ(encode_with([](writer& w) { w.write_unsigned_varint(300); }), (bytes{0xac, 0x02}));
    EXPECT_EQ(encode_with([](writer& w) { w.write_varint(-1); }), (bytes{0x01}));
    EXPECT_EQ(encode_with([](writer& w) { w.write_varlong(1); }), (bytes{0x02}));
    for (int64_t v : {int64_t{0}, int64_t{-64}, int64_t{63}, int64_t{1} << 40,
                      std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max()}) {
        const auto out = encode_with([&](writer& w) { w.write_varlong(v); });
        reader r(out);
        EXPECT_EQ(r.read_varlong(), v);
        EXPECT_TRUE(r.ok());
        size_counter s;
        s.write_varlong(v);
        EXPECT_EQ(s.size(), out.size());
    }
}

TEST(Wire, CutVarintIsTruncatedOverlongIsInvalid) {
    const bytes cut = {0x80, 0x80};
    reader a(cut);
    a.read_unsigned_varint();
    EXPECT_EQ(a.status(), codec_status::truncated);
    const bytes overlong = {0x80, 0x80, 0x80, 0x80, 0x80, 0x01};
    reader b(overlong);
    b.read_unsigned_varint();
    EXPECT_EQ(b.status(), codec_status::invalid);
}

TEST(Wire, StringsClassicAndCompact) {
    EXPECT_EQ(encode_with([](writer& w) { w.write_string("ab", false); }),
              (bytes{0x00, 0x02, 'a', 'b'}));
    EXPECT_EQ(encode_with([](writer& w) { w.write_string("ab", true); }), (bytes{0x03, 'a', 'b'}));
    EXPECT_EQ(encode_with([](writer& w) { w.write_null_string(false); }), (bytes{0xff, 0xff}));
    EXPECT_EQ(encode_with([](writer& w) { w.write_null_string(true); }), (bytes{0x00}));

    const bytes compact_null = {0x00};
    std::optional<std::string> s = "x";
    reader r1(compact_null);
    r1.read_nullable_string(s, true, true);
    EXPECT_TRUE(r1.ok());
    EXPECT_FALSE(s.has_value());

    reader r2(compact_null);
    std::string plain;
    r2.read_string(plain, true);
    EXPECT_EQ(r2.status(), codec_status::invalid) << "null in a non-nullable string";

    const bytes negative = {0xff, 0xfe};
    reader r3(negative);
    r3.read_nullable_string(s, false, true);
    EXPECT_EQ(r3.status(), codec_status::invalid);

    const bytes too_long = {0x00, 0x05, 'a'};
    reader r4(too_long);
    r4.read_string(plain, false);
    EXPECT_EQ(r4.status(), codec_status::truncated);
}

TEST(Wire, StringLengthLimitedLikeKafka) {
    // A compact length of 40000 is refused even before looking at the remaining bytes.
    const auto out = encode_with([](writer& w) { w.write_unsigned_varint(40001); });
    reader r(out);
    std::string s;
    r.read_string(s, true);
    EXPECT_EQ(r.status(), codec_status::invalid);
    std::vector<uint8_t> sink;
    writer w(sink);
    EXPECT_THROW(w.write_string(std::string(40000, 'x'), true), std::length_error);
}

TEST(Wire, BytesAndNullBytes) {
    const bytes payload = {9, 8, 7};
    EXPECT_EQ(encode_with([&](writer& w) { w.write_bytes(payload, false); }),
              (bytes{0, 0, 0, 3, 9, 8, 7}));
    EXPECT_EQ(encode_with([&](writer& w) { w.write_bytes(payload, true); }), (bytes{4, 9, 8, 7}));
    EXPECT_EQ(encode_with([](writer& w) { w.write_null_bytes(false); }),
              (bytes{0xff, 0xff, 0xff, 0xff}));
    const bytes in = {0, 0, 0, 3, 9, 8, 7};
    reader r(in);
    std::vector<uint8_t> out;
    r.read_bytes(out, false);
    EXPECT_TRUE(r.ok());
    EXPECT_EQ(out, payload);
}

TEST(Wire, FailureIsStickyAndDropsTheRest) {
    const bytes in = {0x00, 0x01};
    reader r(in);
    EXPECT_EQ(r.read_int32(), 0);
    EXPECT_EQ(r.status(), codec_status::truncated);
    EXPECT_EQ(r.remaining(), 0u);
    EXPECT_EQ(r.read_int8(), 0);
    r.fail(codec_status::invalid);
    EXPECT_EQ(r.status(), codec_status::truncated) << "the first failure is kept";
}

TEST(Wire, HugeArrayCountFailsWithoutAllocating) {
    // A classic array count of 2^31 - 1 followed by 26 bytes: must fail before allocating anything.
    bytes frame = {0x7f, 0xff, 0xff, 0xff};
    frame.resize(30, 0x01);
    std::vector<int32_t> out;
    reader r(frame);
    allocation_probe probe;
    codegen::get_array(r, out, false, 4, [&](int32_t& e) { e = r.read_int32(); });
    EXPECT_EQ(r.status(), codec_status::truncated);
    EXPECT_LT(probe.largest(), 64u);
    EXPECT_TRUE(out.empty());
}

TEST(Wire, HugeCountInsideAMessageFailsWithoutAllocating) {
    // MetadataRequest v9 (flexible): compact topics array claiming 2^31 - 2 elements, then 25
    // bytes.
    bytes frame = {0xff, 0xff, 0xff, 0xff, 0x07};
    frame.resize(30, 0x00);
    metadata_request request;
    reader r(frame);
    allocation_probe probe;
    EXPECT_NE(decode(r, 9, request), codec_status::ok);
    EXPECT_LT(probe.largest(), 256u);
}

TEST(Wire, ArrayCountBoundedByMinimumElementSize) {
    // Three int32 elements announced but only 8 bytes follow: caught by the count check itself.
    const bytes frame = {0, 0, 0, 3, 0, 0, 0, 1, 0, 0, 0, 2};
    reader r(frame);
    EXPECT_EQ(r.read_array_length(false, 4), -1);
    EXPECT_EQ(r.status(), codec_status::truncated);
    const bytes fits = {0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2};
    reader ok_reader(fits);
    EXPECT_EQ(ok_reader.read_array_length(false, 4), 2);
    EXPECT_TRUE(ok_reader.ok());
}

TEST(Wire, TaggedSectionCountCheckedBeforeLooping) {
    const auto frame = encode_with([](writer& w) { w.write_unsigned_varint(1000000); });
    reader r(frame);
    tagged_fields unknown;
    allocation_probe probe;
    codegen::get_tags(r, unknown);
    EXPECT_EQ(r.status(), codec_status::truncated);
    EXPECT_LT(probe.largest(), 64u);
}

TEST(Wire, UnknownTagsAreSortedOnDecodeAndMergedOnEncode) {
    // Section with tags 7 then 3 (out of order on the wire).
    const auto frame = encode_with([](writer& w) {
        w.write_unsigned_varint(2);
        w.write_unsigned_varint(7);
        w.write_unsigned_varint(1);
        w.write_int8(70);
        w.write_unsigned_varint(3);
        w.write_unsigned_varint(0);
    });
    reader r(frame);
    tagged_fields unknown;
    codegen::get_tags(r, unknown);
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(unknown.size(), 2u);
    EXPECT_EQ(unknown[0].tag, 3u);
    EXPECT_EQ(unknown[1].tag, 7u);

    // Re-encode with a known field at tag 5: the section comes out as 3, 5, 7.
    const auto out = encode_with([&](writer& w) {
        codegen::tag_writer<writer> tags(w, unknown, 1);
        tags.field(5, [](auto& s) { s.write_int16(0x0102); });
        tags.finish();
    });
    EXPECT_EQ(out, (bytes{3, 3, 0, 5, 2, 1, 2, 7, 1, 70}));
}

TEST(Wire, KnownTagMustFillItsDeclaredSize) {
    const auto frame = encode_with([](writer& w) {
        w.write_unsigned_varint(1);
        w.write_unsigned_varint(0);
        w.write_unsigned_varint(3);  // 3 bytes declared, the decoder reads an int16
        w.write_raw(bytes{1, 2, 3});
    });
    reader r(frame);
    tagged_fields unknown;
    int16_t value = 0;
    codegen::get_tags(r, unknown, [&](uint32_t tag, reader& s) {
        value = s.read_int16();
        return tag == 0;
    });
    EXPECT_EQ(r.status(), codec_status::invalid);
}

TEST(Wire, UuidTextFormIsUnpaddedBase64Url) {
    uuid u;
    EXPECT_TRUE(u.is_zero());
    EXPECT_EQ(u.to_string(), "AAAAAAAAAAAAAAAAAAAAAA");
    for (std::size_t i = 0; i < u.bytes.size(); ++i) {
        u.bytes[i] = static_cast<uint8_t>(0xf0 + i);
    }
    const auto text = u.to_string();
    EXPECT_EQ(text.size(), 22u);
    EXPECT_EQ(text.find_first_of("+/="), std::string::npos);
    auto parsed = uuid::from_string(text);
    ASSERT_TRUE(parsed.has_value());
    EXPECT_EQ(*parsed, u);
    EXPECT_FALSE(uuid::from_string("short").has_value());
    EXPECT_FALSE(uuid::from_string("AAAAAAAAAAAAAAAAAAAAA!").has_value());
    EXPECT_FALSE(uuid::from_string("AAAAAAAAAAAAAAAAAAAAAB").has_value())
        << "non-zero padding bits";
}

TEST(Wire, RecordsDecodeIsAViewIntoTheFrame) {
    const bytes frame = {0, 0, 0, 3, 0xaa, 0xbb, 0xcc};
    reader r(frame);
    std::optional<records_ref> records;
    r.read_records(records, false, true);
    ASSERT_TRUE(r.ok());
    ASSERT_TRUE(records.has_value());
    EXPECT_EQ(records->bytes.data(), frame.data() + 4);
    EXPECT_EQ(records->size(), 3u);
}

TEST(Wire, RecordsRegionsBecomeSplices) {
    produce_request request;
    request.acks = -1;
    request.timeout_ms = 1000;
    auto& topic = request.topic_data.emplace_back();
    topic.name = "t";
    auto& partition = topic.partition_data.emplace_back();
    static const uint8_t inline_bytes[] = {1, 2, 3};
    records_ref records;
    records.bytes = inline_bytes;
    auto owner = std::make_shared<int>(0);
    records.regions.push_back(file_region{42, 4096, 100, owner});
    records.regions.push_back(file_region{42, 8192, 50, owner});
    partition.records = records;

    bytes out = {0, 0, 0, 0};  // room for a frame size, to check offsets are absolute
    writer w(out);
    encode(w, 9, request);
    ASSERT_EQ(w.splices().size(), 2u);
    // Records are followed only by the partition's, the topic's and the request's (empty) tag
    // sections.
    EXPECT_EQ(w.splices()[0].buffer_offset, out.size() - 3);
    EXPECT_EQ(w.splices()[1].buffer_offset, out.size() - 3);
    EXPECT_EQ(w.splices()[0].region.position, 4096);
    EXPECT_EQ(w.splices()[1].region.length, 50u);
    EXPECT_EQ(w.wire_size() - 4, encoded_size(9, request));
    // The length prefix counts inline and spliced bytes: compact uvarint(3 + 150 + 1) = 0x9a 0x01.
    const std::size_t prefix_at = out.size() - 3 - 3 - 2;
    EXPECT_EQ(out[prefix_at], 0x9a);
    EXPECT_EQ(out[prefix_at + 1], 0x01);
}

TEST(Wire, SizeCounterMatchesWriter) {
    size_counter s;
    bytes out;
    writer w(out);
    auto both = [&](auto&& f) {
        f(s);
        f(w);
    };
    both([](auto& x) { x.write_string(std::string(200, 'a'), true); });
    both([](auto& x) { x.write_bytes(bytes(130, 1), true); });
    both([](auto& x) { x.write_array_length(127, true); });
    both([](auto& x) { x.write_null_array(false); });
    both([](auto& x) { x.write_uuid(uuid{}); });
    EXPECT_EQ(s.size(), out.size());
}

}  // namespace
}  // namespace broker::protocol
