// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of record batch v2.
//
// Two implementations that must agree bit for bit:
//  - portable: slice-by-8 tables, eight input bytes per step;
//  - hardware: the SSE4.2 crc32 instruction, compiled with a per-function target attribute so the
//  rest
//    of the build needs no -msse4.2, and chosen once at run time from the CPU's feature bits.
//
// The crc32 instruction has a latency of three cycles but a throughput of one per cycle, so one
// dependent chain uses a third of the unit. The hardware path therefore splits a block into three
// equal lanes, runs three independent chains, and merges them. Merging uses linearity: with the raw
// (un-inverted) register, crc(A || B, r) = zeros_|B|(crc(A, r)) xor crc(B, 0), where zeros_n(x) is
// the register after feeding n zero bytes from state x. zeros_n is linear in x, so it is four
// 256-entry lookup tables, computed at compile time for the two lane lengths used.
#include "protocol/crc32c.h"

#include <array>
#include <cstring>

#if defined(__x86_64__) || defined(__i386__)
#include <nmmintrin.h>
#define BROKER_CRC32C_X86 1
#else
#define BROKER_CRC32C_X86 0
#endif

namespace broker::protocol {
namespace {

constexpr uint32_t castagnoli_reflected = 0x82F63B78u;

using slice_tables = std::array<std::array<uint32_t, 256>, 8>;

constexpr slice_tables make_slice_tables() {
    slice_tables t{};
    for (uint32_t i = 0; i < 256; ++i) {
        uint32_t c = i;
        for (int bit = 0; bit < 8; ++bit) {
            c = (c & 1) ? (c >> 1) ^ castagnoli_reflected : (c >> 1);
        }
        t[0][i] = c;
    }
    for (std::size_t k = 1; k < 8; ++k) {
        for (std::size_t i = 0; i < 256; ++i) {
            uint32_t prev = t[k - 1][i];
            t[k][i] = (prev >> 8) ^ t[0][prev & 0xff];
        }
    }
    return t;
}

constexpr slice_tables tables = make_slice_tables();

// Little-endian loads composed from bytes: correct on any host, a single load on x86.
inline uint32_t load_le32(const uint8_t* p) {
    return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
           (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
}

// Raw-register update over `size` bytes (no pre/post inversion).
uint32_t portable_update(uint32_t c, const uint8_t* p, std::size_t size) {
    while (size >= 8) {
        uint32_t lo = c ^ load_le32(p);
        uint32_t hi = load_le32(p + 4);
        c = tables[7][lo & 0xff] ^ tables[6][(lo >> 8) & 0xff] ^ tables[5][(lo >> 16) & 0xff] ^
            tables[4][lo >> 24] ^ tables[3][hi & 0xff] ^ tables[2][(hi >> 8) & 0xff] ^
            tables[1][(hi >> 16) & 0xff] ^ tables[0][hi >> 24];
        p += 8;
        size -= 8;
    }
    while (size-- > 0) {
        c = (c >> 8) ^ tables[0][(c ^ *p++) & 0xff];
    }
    return c;
}

#if BROKER_CRC32C_X86

/// zeros_n as four byte-indexed tables (see the file comment).
using shift_tables = std::array<std::array<uint32_t, 256>, 4>;

constexpr uint32_t feed_zero_bytes(uint32_t c, std::size_t count) {
    for (std::size_t i = 0; i < count / 8; ++i) {
        c = tables[7][c & 0xff] ^ tables[6][(c >> 8) & 0xff] ^ tables[5][(c >> 16) & 0xff] ^
            tables[4][c >> 24];
    }
    for (std::size_t i = 0; i < count % 8; ++i) {
        c = (c >> 8) ^ tables[0][c & 0xff];
    }
    return c;
}

constexpr shift_tables make_shift_tables(std::size_t zero_bytes) {
    std::array<uint32_t, 32> basis{};
    for (std::size_t bit = 0; bit < 32; ++bit) {
        basis[bit] = feed_zero_bytes(uint32_t{1} << bit, zero_bytes);
    }
    shift_tables t{};
    for (std::size_t k = 0; k < 4; ++k) {
        for (std::size_t b = 0; b < 256; ++b) {
            uint32_t v = 0;
            for (std::size_t bit = 0; bit < 8; ++bit) {
                if (b & (std::size_t{1} << bit)) {
                    v ^= basis[8 * k + bit];
                }
            }
            t[k][b] = v;
        }
    }
    return t;
}

constexpr std::size_t long_lane = 8192;
constexpr std::size_t short_lane = 256;
constexpr shift_tables long_shift = make_shift_tables(long_lane);
constexpr shift_tables short_shift = make_shift_tables(short_lane);

inline uint32_t shift(const shift_tables& t, uint32_t c) {
    return t[0][c & 0xff] ^ t[1][(c >> 8) & 0xff] ^ t[2][(c >> 16) & 0xff] ^ t[3][c >> 24];
}

inline uint64_t load64(const uint8_t* p) {
    uint64_t v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) inline uint32_t hw_step8(uint32_t c, const uint8_t* p) {
    return static_cast<uint32_t>(_mm_crc32_u64(c, load64(p)));
}
#else
__attribute__((target("sse4.2"))) inline uint32_t hw_step8(uint32_t c, const uint8_t* p) {
    uint32_t lo;
    uint32_t hi;
    std::memcpy(&lo, p, 4);
    std::memcpy(&hi, p + 4, 4);
    return _mm_crc32_u32(_mm_crc32_u32(c, lo), hi);
}
#endif

/// Three interleaved lanes of `lane` bytes each, merged into one register. Requires size >= 3*lane.
__attribute__((target("sse4.2"))) inline uint32_t hw_three_lanes(uint32_t c, const uint8_t* p,
                                                                 std::size_t lane,
                                                                 const shift_tables& t) {
    uint32_t c0 = c;
    uint32_t c1 = 0;
    uint32_t c2 = 0;
    const uint8_t* end = p + lane;
    while (p < end) {
        c0 = hw_step8(c0, p);
        c1 = hw_step8(c1, p + lane);
        c2 = hw_step8(c2, p + 2 * lane);
        p += 8;
    }
    c0 = shift(t, c0) ^ c1;
    return shift(t, c0) ^ c2;
}

__attribute__((target("sse4.2"))) uint32_t hardware_update(uint32_t c, const uint8_t* p,
                                                           std::size_t size) {
    // Byte steps up to an 8-byte boundary so the wide loads do not straddle cache lines.
    while (size > 0 && (reinterpret_cast<uintptr_t>(p) & 7) != 0) {
        c = _mm_crc32_u8(c, *p++);
        --size;
    }
    while (size >= 3 * long_lane) {
        c = hw_three_lanes(c, p, long_lane, long_shift);
        p += 3 * long_lane;
        size -= 3 * long_lane;
    }
    while (size >= 3 * short_lane) {
        c = hw_three_lanes(c, p, short_lane, short_shift);
        p += 3 * short_lane;
        size -= 3 * short_lane;
    }
    while (size >= 8) {
        c = hw_step8(c, p);
        p += 8;
        size -= 8;
    }
    while (size-- > 0) {
        c = _mm_crc32_u8(c, *p++);
    }
    return c;
}

bool detect_hardware() {
    __builtin_cpu_init();
    return __builtin_cpu_supports("sse4.2") != 0;
}

#endif  // BROKER_CRC32C_X86

}  // namespace

uint32_t crc32c_portable(const void* data, std::size_t size, uint32_t crc) {
    return ~portable_update(~crc, static_cast<const uint8_t*>(data), size);
}

bool crc32c_hardware_available() {
#if BROKER_CRC32C_X86
    static const bool available = detect_hardware();
    return available;
#else
    return false;
#endif
}

uint32_t crc32c(const void* data, std::size_t size, uint32_t crc) {
#if BROKER_CRC32C_X86
    if (crc32c_hardware_available()) {
        return ~hardware_update(~crc, static_cast<const uint8_t*>(data), size);
    }
#endif
    return crc32c_portable(data, size, crc);
}

}  // namespace broker::protocol
