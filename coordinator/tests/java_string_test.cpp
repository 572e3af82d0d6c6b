// Reference values were computed with OpenJDK 17: new String(bytes, UTF_8).hashCode() / length(),
// and Kafka's Utils.abs(hash) % n.
#include <gtest/gtest.h>

#include <string>

#include "coordinator/java_string.h"

namespace broker::server::coordinator {
namespace {

std::string from_hex(std::string_view hex) {
    std::string out;
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
        out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
    }
    return out;
}

struct java_case {
    const char* hex;
    int32_t hash;
    int64_t length;
    int32_t partition_of_50;
    int32_t partition_of_7;
};

class java_string_test : public ::testing::TestWithParam<java_case> {};

TEST_P(java_string_test, matches_jdk) {
    const auto& c = GetParam();
    std::string s = from_hex(c.hex);
    EXPECT_EQ(java_string_hash(s), c.hash) << c.hex;
    EXPECT_EQ(java_string_length(s), c.length) << c.hex;
    EXPECT_EQ(offsets_partition_for(s, 50), c.partition_of_50) << c.hex;
    EXPECT_EQ(offsets_partition_for(s, 7), c.partition_of_7) << c.hex;
}

INSTANTIATE_TEST_SUITE_P(
    reference_values, java_string_test,
    ::testing::Values(java_case{"", 0, 0, 0, 0},
                      java_case{"6d792d67726f7570", -1906497762, 8, 12, 1},  // my-group
                      java_case{"636f6e736f6c652d636f6e73756d65722d3132333435", 158455506, 22, 6,
                                6},                              // console-consumer-12345
                      java_case{"74657374", 3556498, 4, 48, 1},  // test
                      java_case{"706f6c796e6f6d69616c", -1079839020, 10, 20, 1},  // polynomial
                      java_case{"c3a96cc3a8766573", -1812573985, 6, 35, 5},       // élèves
                      java_case{"f09f9880", 1772899, 2, 49, 2},  // U+1F600: a surrogate pair
                      java_case{"47726f7570e282ac", 2141382189, 6, 39, 2},  // Group€
                      java_case{"4141424243", 62030819, 5, 19, 4}));

TEST(java_string, min_int_hash_maps_to_partition_zero) {
    // Kafka's Utils.abs(Integer.MIN_VALUE) is 0, where n & 0x7fffffff would give 0 too but
    // Math.abs would stay negative.
    EXPECT_EQ(java_string_hash("polygenelubricants"), INT32_MIN);
    EXPECT_EQ(offsets_partition_for("polygenelubricants", 50), 0);
    EXPECT_EQ(offsets_partition_for("polygenelubricants", 7), 0);
}

TEST(java_string, abs_is_not_a_mask) {
    // hash("my-group") = -1906497762: |h| % 50 = 12, while (h & 0x7fffffff) % 50 = 36.
    EXPECT_EQ(offsets_partition_for("my-group", 50), 12);
}

struct malformed_case {
    const char* hex;
    int32_t hash;
    int64_t length;
};

class java_malformed_utf8_test : public ::testing::TestWithParam<malformed_case> {};

TEST_P(java_malformed_utf8_test, replaced_like_the_jdk) {
    const auto& c = GetParam();
    std::string s = from_hex(c.hex);
    EXPECT_EQ(java_string_hash(s), c.hash) << c.hex;
    EXPECT_EQ(java_string_length(s), c.length) << c.hex;
}

INSTANTIATE_TEST_SUITE_P(
    reference_values, java_malformed_utf8_test,
    ::testing::Values(malformed_case{"e0808041", 2017302404, 4},  // overlong: three U+FFFD then A
                      malformed_case{"eda080", 65533, 1},         // encoded surrogate: one U+FFFD
                      malformed_case{"eda041", 2031588, 2}, malformed_case{"edbfbf41", 2031588, 2},
                      malformed_case{"e282", 65533, 1},  // truncated at the end
                      malformed_case{"e28241", 2031588, 2}, malformed_case{"ff41", 2031588, 2},
                      malformed_case{"f4908080", 2017367872, 4},  // above U+10FFFF
                      malformed_case{"f08f8080", 2017367872, 4},  // overlong four-byte form
                      malformed_case{"f0908080", 1770496, 2},     // U+10000
                      malformed_case{"c0af", 2097056, 2}, malformed_case{"f09f98", 65533, 1},
                      malformed_case{"f09f9841", 2031588, 2}, malformed_case{"4142f09f", 130044, 3},
                      malformed_case{"41f09f9842", 2094054, 3}, malformed_case{"bfbd", 2097056, 2},
                      malformed_case{"f490", 2097056, 2}, malformed_case{"e2828241", 258047, 2}));

}  // namespace
}  // namespace broker::server::coordinator
