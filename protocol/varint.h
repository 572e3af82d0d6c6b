#pragma once
// Variable-length integers as Kafka writes them (protobuf style):
//  - unsigned varint: 7 bits per byte, little-endian groups, high bit = "more follows";
//  - varint / varlong: zigzag-encoded signed 32/64-bit values in the same form.
// Decoders never read past `end` and reject over-long encodings (more than 5 / 10 bytes).
#include <cstddef>
#include <cstdint>
#include <optional>

namespace broker::protocol {

/// Result of decoding a variable-length integer: the value and the number of bytes it used.
template <typename T>
struct varint_result {
    T value;
    std::size_t length;
};

constexpr std::size_t max_varint_bytes = 5;
constexpr std::size_t max_varlong_bytes = 10;

inline std::optional<varint_result<uint64_t>> decode_unsigned_varlong(const uint8_t* p,
                                                                      const uint8_t* end) {
    uint64_t value = 0;
    for (std::size_t i = 0; i < max_varlong_bytes; ++i) {
        if (p + i >= end) {
            return std::nullopt;
        }
        uint8_t b = p[i];
        value |= static_cast<uint64_t>(b & 0x7f) << (7 * i);
        if ((b & 0x80) == 0) {
            return varint_result<uint64_t>{value, i + 1};
        }
    }
    return std::nullopt;
}

inline std::optional<varint_result<uint32_t>> decode_unsigned_varint(const uint8_t* p,
                                                                     const uint8_t* end) {
    uint32_t value = 0;
    for (std::size_t i = 0; i < max_varint_bytes; ++i) {
        if (p + i >= end) {
            return std::nullopt;
        }
        uint8_t b = p[i];
        if (i == 4 && (b & 0xf0) != 0) {
            return std::nullopt;  // more than 32 bits
        }
        value |= static_cast<uint32_t>(b & 0x7f) << (7 * i);
        if ((b & 0x80) == 0) {
            return varint_result<uint32_t>{value, i + 1};
        }
    }
    return std::nullopt;
}

inline std::optional<varint_result<int32_t>> decode_varint(const uint8_t* p, const uint8_t* end) {
    auto r = decode_unsigned_varint(p, end);
    if (!r) {
        return std::nullopt;
    }
    uint32_t u = r->value;
    return varint_result<int32_t>{static_cast<int32_t>((u >> 1) ^ (~(u & 1) + 1)), r->length};
}

inline std::optional<varint_result<int64_t>> decode_varlong(const uint8_t* p, const uint8_t* end) {
    auto r = decode_unsigned_varlong(p, end);
    if (!r) {
        return std::nullopt;
    }
    uint64_t u = r->value;
    return varint_result<int64_t>{static_cast<int64_t>((u >> 1) ^ (~(u & 1) + 1)), r->length};
}

constexpr std::size_t unsigned_varlong_size(uint64_t v) {
    std::size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        ++n;
    }
    return n;
}
constexpr uint64_t zigzag64(int64_t v) {
    return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
constexpr uint32_t zigzag32(int32_t v) {
    return (static_cast<uint32_t>(v) << 1) ^ static_cast<uint32_t>(v >> 31);
}
constexpr std::size_t varint_size(int32_t v) {
    return unsigned_varlong_size(zigzag32(v));
}
constexpr std::size_t varlong_size(int64_t v) {
    return unsigned_varlong_size(zigzag64(v));
}

/// Writes `v` at `out` (which must have room for unsigned_varlong_size(v) bytes); returns bytes
/// written.
inline std::size_t encode_unsigned_varlong(uint64_t v, uint8_t* out) {
    std::size_t n = 0;
    while (v >= 0x80) {
        out[n++] = static_cast<uint8_t>(v | 0x80);
        v >>= 7;
    }
    out[n++] = static_cast<uint8_t>(v);
    return n;
}
inline std::size_t encode_varint(int32_t v, uint8_t* out) {
    return encode_unsigned_varlong(zigzag32(v), out);
}
inline std::size_t encode_varlong(int64_t v, uint8_t* out) {
    return encode_unsigned_varlong(zigzag64(v), out);
}

}  // namespace broker::protocol
