#include "common/strings.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

namespace broker {
namespace {

using views = std::vector<std::string_view>;
using strings = std::vector<std::string>;

TEST(strings, trim_removes_every_c_locale_space_at_both_ends_only) {
    EXPECT_EQ(trim(""), "");
    EXPECT_EQ(trim(" \t\n\v\f\r"), "");
    EXPECT_EQ(trim(" \t100\r\n"), "100");
    EXPECT_EQ(trim("a b\tc"), "a b\tc");
    EXPECT_EQ(trim("\fx\v"), "x");
    // Bytes outside the set stay, as isspace() in the C locale leaves them.
    EXPECT_EQ(trim("\x01x\xa0"), "\x01x\xa0");
    static_assert(trim("  k ") == "k");
}

TEST(strings, is_space_matches_isspace_in_the_c_locale) {
    for (int c = 0; c < 256; ++c) {
        const bool expected = c == ' ' || (c >= '\t' && c <= '\r');
        EXPECT_EQ(is_space(static_cast<char>(c)), expected) << c;
    }
}

TEST(strings, split_keeps_every_piece) {
    EXPECT_EQ(split("", ','), views{""});
    EXPECT_EQ(split("a", ','), views{"a"});
    EXPECT_EQ(split("a,,b", ','), (views{"a", "", "b"}));
    EXPECT_EQ(split(",a,", ','), (views{"", "a", ""}));
    EXPECT_EQ(split(" a , b ", ','), (views{" a ", " b "}));
    EXPECT_EQ(split("x/y", '/'), (views{"x", "y"}));
}

TEST(strings, split_list_trims_items_and_drops_empty_ones) {
    EXPECT_EQ(split_list(""), strings{});
    EXPECT_EQ(split_list(" "), strings{});
    EXPECT_EQ(split_list(",, ,"), strings{});
    EXPECT_EQ(split_list("compact"), strings{"compact"});
    EXPECT_EQ(split_list(" compact ,\tdelete\n"), (strings{"compact", "delete"}));
    EXPECT_EQ(split_list("a,,b,"), (strings{"a", "b"}));
    EXPECT_EQ(split_list("0:1, 1:1"), (strings{"0:1", "1:1"}));
}

TEST(strings, join_puts_the_separator_between_items) {
    EXPECT_EQ(join(strings{}, ","), "");
    EXPECT_EQ(join(strings{"a"}, ","), "a");
    EXPECT_EQ(join(strings{"compact", "delete"}, ","), "compact,delete");
    EXPECT_EQ(join(views{"a", "b", "c"}, ", "), "a, b, c");
    EXPECT_EQ(join(std::vector<int32_t>{1, -2, 3}, ", "), "1, -2, 3");
    EXPECT_EQ(join(std::vector<int32_t>{}, ", "), "");
    EXPECT_EQ(join(std::initializer_list<std::string_view>{"gzip", "zstd"}, ", "), "gzip, zstd");
}

TEST(strings, split_list_and_join_round_trip) {
    const std::string text = "compact,delete";
    EXPECT_EQ(join(split_list(text), ","), text);
}

TEST(strings, to_lower_folds_ascii_letters_only) {
    EXPECT_EQ(to_lower(""), "");
    EXPECT_EQ(to_lower("TRUE"), "true");
    EXPECT_EQ(to_lower("Classic"), "classic");
    EXPECT_EQ(to_lower("PreparingRebalance-1_Z@[`{"), "preparingrebalance-1_z@[`{");
    EXPECT_EQ(to_lower("\xC3\x89"), "\xC3\x89");  // non-ASCII bytes are left alone
    for (int c = 0; c < 256; ++c) {
        const char expected =
            c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : static_cast<char>(c);
        EXPECT_EQ(to_lower(static_cast<char>(c)), expected) << c;
    }
}

}  // namespace
}  // namespace broker
