#include "coordinator/java_string.h"

#include <cstdlib>
#include <limits>

namespace broker::server::coordinator {
namespace {

constexpr uint32_t replacement_character = 0xfffd;

// Decodes `utf8` as Java's UTF-8 decoder does and calls `emit(unit)` for each UTF-16 code unit.
// Ill-formed input follows the JDK's String decoder: each maximal prefix of a well-formed sequence
// that cannot be completed becomes one U+FFFD and the byte that broke it starts the next sequence
// (the Unicode "maximal subpart" rule), except that a three-byte encoded surrogate is consumed
// whole and becomes a single U+FFFD.
template <typename Emit>
void for_each_utf16_unit(std::string_view utf8, Emit&& emit) {
    const auto* p = reinterpret_cast<const uint8_t*>(utf8.data());
    const auto* end = p + utf8.size();
    while (p < end) {
        uint8_t b0 = *p;
        if (b0 < 0x80) {
            emit(b0);
            ++p;
            continue;
        }
        int length = 0;
        uint8_t second_low = 0x80;
        uint8_t second_high = 0xbf;
        uint32_t code_point = 0;
        if (b0 >= 0xc2 && b0 <= 0xdf) {
            length = 2;
            code_point = b0 & 0x1f;
        } else if (b0 >= 0xe0 && b0 <= 0xef) {
            length = 3;
            code_point = b0 & 0x0f;
            if (b0 == 0xe0) {
                second_low = 0xa0;  // no overlong forms
            }
        } else if (b0 >= 0xf0 && b0 <= 0xf4) {
            length = 4;
            code_point = b0 & 0x07;
            if (b0 == 0xf0) {
                second_low = 0x90;
            } else if (b0 == 0xf4) {
                second_high = 0x8f;  // nothing above U+10FFFF
            }
        } else {
            emit(replacement_character);
            ++p;
            continue;
        }
        int consumed = 1;
        bool complete = true;
        for (int i = 1; i < length; ++i) {
            if (p + i >= end) {
                complete = false;
                break;
            }
            uint8_t b = p[i];
            uint8_t low = i == 1 ? second_low : 0x80;
            uint8_t high = i == 1 ? second_high : 0xbf;
            if (b < low || b > high) {
                complete = false;
                break;
            }
            code_point = (code_point << 6) | (b & 0x3f);
            ++consumed;
        }
        p += consumed;
        if (!complete || (code_point >= 0xd800 && code_point <= 0xdfff)) {
            // Java decodes an encoded surrogate (ED A0..BF xx) as one sequence, then replaces it.
            emit(replacement_character);
        } else if (code_point >= 0x10000) {
            uint32_t v = code_point - 0x10000;
            emit(0xd800 + (v >> 10));
            emit(0xdc00 + (v & 0x3ff));
        } else {
            emit(code_point);
        }
    }
}

}  // namespace

int32_t java_string_hash(std::string_view utf8) {
    uint32_t h = 0;  // Java int arithmetic wraps; unsigned arithmetic wraps the same way.
    for_each_utf16_unit(utf8, [&](uint32_t unit) { h = 31 * h + unit; });
    return static_cast<int32_t>(h);
}

int64_t java_string_length(std::string_view utf8) {
    int64_t n = 0;
    for_each_utf16_unit(utf8, [&](uint32_t) { ++n; });
    return n;
}

int32_t offsets_partition_for(std::string_view group_id, int32_t num_partitions) {
    int32_t h = java_string_hash(group_id);
    int32_t abs = h == std::numeric_limits<int32_t>::min() ? 0 : std::abs(h);
    return num_partitions > 0 ? abs % num_partitions : 0;
}

}  // namespace broker::server::coordinator
