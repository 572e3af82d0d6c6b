#include "common/big_endian.h"

#include <array>
#include <cstdint>

#include <gtest/gtest.h>

namespace broker {
namespace {

TEST(big_endian, loads_read_the_most_significant_byte_first) {
    const std::array<uint8_t, 9> b{0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0xff};
    EXPECT_EQ(load_be16(b.data()), 0x0123);
    EXPECT_EQ(load_be32(b.data()), 0x01234567U);
    EXPECT_EQ(load_be64(b.data()), 0x0123456789abcdefULL);
    // Any address: no alignment is assumed.
    EXPECT_EQ(load_be16(b.data() + 1), 0x2345);
    EXPECT_EQ(load_be32(b.data() + 5), 0xabcdefffU);
    EXPECT_EQ(load_be64(b.data() + 1), 0x23456789abcdefffULL);
}

TEST(big_endian, stores_write_the_most_significant_byte_first) {
    std::array<uint8_t, 11> b{};
    store_be16(b.data() + 1, 0xbeef);
    EXPECT_EQ(b[0], 0);
    EXPECT_EQ(b[1], 0xbe);
    EXPECT_EQ(b[2], 0xef);
    EXPECT_EQ(b[3], 0);
    b = {};
    store_be32(b.data(), 0xdeadbeefU);
    EXPECT_EQ(b, (std::array<uint8_t, 11>{0xde, 0xad, 0xbe, 0xef}));
    b = {};
    store_be64(b.data() + 3, 0x0102030405060708ULL);
    EXPECT_EQ(b, (std::array<uint8_t, 11>{0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8}));
}

TEST(big_endian, signed_values_round_trip_through_their_unsigned_form) {
    std::array<uint8_t, 8> b{};
    store_be32(b.data(), static_cast<uint32_t>(int32_t{-2}));
    EXPECT_EQ(b[0], 0xff);
    EXPECT_EQ(b[3], 0xfe);
    EXPECT_EQ(static_cast<int32_t>(load_be32(b.data())), -2);
    store_be64(b.data(), static_cast<uint64_t>(INT64_MIN));
    EXPECT_EQ(static_cast<int64_t>(load_be64(b.data())), INT64_MIN);
    store_be16(b.data(), static_cast<uint16_t>(int16_t{-1}));
    EXPECT_EQ(static_cast<int16_t>(load_be16(b.data())), -1);
}

constexpr uint32_t round_trip32(uint32_t v) {
    uint8_t b[4]{};
    store_be32(b, v);
    return load_be32(b);
}
static_assert(round_trip32(0x80000001U) == 0x80000001U);

}  // namespace
}  // namespace broker
