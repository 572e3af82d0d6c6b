// CRC-32C: published vectors, and agreement between the hardware path, the slice-by-8 fallback and
// a bit-at-a-time reference on random buffers of many lengths and alignments.
#include "protocol/crc32c.h"

#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <random>
#include <string_view>
#include <vector>

namespace broker::protocol {
namespace {

// The definition, one bit at a time: independent of both implementations under test.
uint32_t reference_crc32c(const uint8_t* p, std::size_t n, uint32_t crc = 0) {
    uint32_t c = ~crc;
    for (std::size_t i = 0; i < n; ++i) {
        c ^= p[i];
        for (int bit = 0; bit < 8; ++bit) {
            c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        }
    }
    return ~c;
}

struct vector_case {
    std::vector<uint8_t> data;
    uint32_t expected;
};

std::vector<vector_case> published_vectors() {
    std::vector<vector_case> cases;
    std::string_view check = "123456789";
    cases.push_back({std::vector<uint8_t>(check.begin(), check.end()), 0xE3069283u});
    cases.push_back({{}, 0x00000000u});
    // RFC 3720 appendix B.4.
    cases.push_back({std::vector<uint8_t>(32, 0x00), 0x8A9136AAu});
    cases.push_back({std::vector<uint8_t>(32, 0xFF), 0x62A8AB43u});
    std::vector<uint8_t> ascending(32);
    std::vector<uint8_t> descending(32);
    for (uint8_t i = 0; i < 32; ++i) {
        ascending[i] = i;
        descending[i] = static_cast<uint8_t>(31 - i);
    }
    cases.push_back({ascending, 0x46DD794Eu});
    cases.push_back({descending, 0x113FDB5Cu});
    cases.push_back({{0x01, 0xC0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                      0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00,
                      0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18, 0x28, 0x00, 0x00, 0x00,
                      0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00},
                     0xD9963A56u});
    return cases;
}

TEST(crc32c, published_vectors_portable) {
    for (const auto& c : published_vectors()) {
        EXPECT_EQ(crc32c_portable(c.data.data(), c.data.size()), c.expected)
            << "size " << c.data.size();
        EXPECT_EQ(reference_crc32c(c.data.data(), c.data.size()), c.expected)
            << "size " << c.data.size();
    }
}

TEST(crc32c, published_vectors_dispatched) {
    for (const auto& c : published_vectors()) {
        EXPECT_EQ(crc32c(c.data.data(), c.data.size()), c.expected) << "size " << c.data.size();
    }
}

TEST(crc32c, hardware_detected_on_x86) {
#if defined(__x86_64__)
    // Every x86-64 machine this broker targets has SSE4.2; if this fails the fast path is dead
    // code.
    EXPECT_TRUE(crc32c_hardware_available());
#else
    GTEST_SKIP() << "hardware path exists only on x86";
#endif
}

std::vector<uint8_t> random_bytes(std::mt19937_64& rng, std::size_t n) {
    std::vector<uint8_t> v(n);
    for (auto& b : v) {
        b = static_cast<uint8_t>(rng());
    }
    return v;
}

std::vector<std::size_t> interesting_lengths() {
    std::vector<std::size_t> lengths;
    for (std::size_t n = 0; n <= 80; ++n) {
        lengths.push_back(n);
    }
    // Around the three-lane block sizes of the hardware path (3 x 256 and 3 x 8192).
    for (std::size_t base : {768u, 1536u, 24576u, 49152u}) {
        for (std::size_t d = 0; d < 17; ++d) {
            lengths.push_back(base - 8 + d);
        }
    }
    lengths.push_back(1000);
    lengths.push_back(4096);
    lengths.push_back(65536 + 3);
    lengths.push_back(3 * 24576 + 3 * 768 + 13);
    return lengths;
}

TEST(crc32c, all_paths_agree_on_random_buffers) {
    std::mt19937_64 rng(20240611);
    for (std::size_t n : interesting_lengths()) {
        auto storage = random_bytes(rng, n + 16);
        for (std::size_t align = 0; align < 8; ++align) {
            const uint8_t* p = storage.data() + align;
            uint32_t expected = reference_crc32c(p, n);
            ASSERT_EQ(crc32c_portable(p, n), expected) << "n=" << n << " align=" << align;
            ASSERT_EQ(crc32c(p, n), expected) << "n=" << n << " align=" << align;
        }
    }
}

TEST(crc32c, incremental_equals_one_shot) {
    std::mt19937_64 rng(7);
    auto data = random_bytes(rng, 30000);
    uint32_t whole = crc32c(data.data(), data.size());
    for (std::size_t split : {0u, 1u, 7u, 8u, 100u, 769u, 24577u, 29999u, 30000u}) {
        uint32_t first = crc32c(data.data(), split);
        EXPECT_EQ(crc32c(data.data() + split, data.size() - split, first), whole)
            << "split " << split;
        uint32_t first_portable = crc32c_portable(data.data(), split);
        EXPECT_EQ(crc32c_portable(data.data() + split, data.size() - split, first_portable), whole)
            << "split " << split;
    }
}

TEST(crc32c, seeded_continuation_matches_reference) {
    std::mt19937_64 rng(99);
    for (int i = 0; i < 50; ++i) {
        auto data = random_bytes(rng, static_cast<std::size_t>(rng() % 3000));
        auto seed = static_cast<uint32_t>(rng());
        uint32_t expected = reference_crc32c(data.data(), data.size(), seed);
        EXPECT_EQ(crc32c(data.data(), data.size(), seed), expected);
        EXPECT_EQ(crc32c_portable(data.data(), data.size(), seed), expected);
    }
}

}  // namespace
}  // namespace broker::protocol
