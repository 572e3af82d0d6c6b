#include "server/fuzz/mutator.h"

#include <algorithm>
#include <array>

#include "common/big_endian.h"

namespace broker::server::fuzz {
namespace {

constexpr std::array<uint8_t, 4> interesting_bytes{0x00, 0xff, 0x7f, 0x80};
constexpr std::array<uint16_t, 5> interesting_int16{0xffff, 0x7fff, 0x0000, 0x8000, 0x0001};
constexpr std::array<uint32_t, 6> interesting_int32{0xffffffff, 0x7fffffff, 0x00000000,
                                                    0x80000000, 0x10000000, 0x00010000};
// Unsigned varints as the compact (flexible) encodings use them: 0 (null), 1 (empty), a large
// length, and an over-long five-byte value.
constexpr std::array<std::array<uint8_t, 5>, 4> interesting_varints{{
    {0x00, 0, 0, 0, 0},
    {0x01, 0, 0, 0, 0},
    {0xff, 0xff, 0xff, 0x07, 0},
    {0xff, 0xff, 0xff, 0xff, 0x0f},
}};
constexpr std::array<std::size_t, 4> varint_lengths{1, 1, 4, 5};

constexpr std::size_t header_guard = 4;  // API key + API version

}  // namespace

std::string_view mutation_name(mutation m) {
    switch (m) {
        case mutation::bit_flip: return "bit_flip";
        case mutation::interesting_byte: return "interesting_byte";
        case mutation::int16_field: return "int16_field";
        case mutation::int32_field: return "int32_field";
        case mutation::varint_field: return "varint_field";
        case mutation::truncate: return "truncate";
        case mutation::extend: return "extend";
        case mutation::splice: return "splice";
        case mutation::duplicate_chunk: return "duplicate_chunk";
        case mutation::erase_chunk: return "erase_chunk";
    }
    return "?";
}

std::vector<uint8_t> mutator::mutate(std::span<const std::vector<uint8_t>> seeds,
                                     std::vector<mutation>* applied) {
    const std::vector<uint8_t>& base = seeds[rng_.below(seeds.size())];
    std::vector<uint8_t> data = base;
    const unsigned count = 1 + static_cast<unsigned>(rng_.below(4));
    for (unsigned i = 0; i < count; ++i) {
        const auto m =
            static_cast<mutation>(rng_.below(static_cast<uint64_t>(mutation::erase_chunk) + 1));
        apply(m, data, seeds);
        if (applied != nullptr) {
            applied->push_back(m);
        }
    }
    // Keep the API key and version of the seed most of the time: an input whose header no longer
    // names a served API only exercises the (short) header check.
    if (data.size() >= header_guard && base.size() >= header_guard && rng_.chance(85)) {
        std::copy_n(base.begin(), header_guard, data.begin());
    }
    return data;
}

void mutator::apply(mutation m, std::vector<uint8_t>& data,
                    std::span<const std::vector<uint8_t>> seeds) {
    const auto position = [&](std::size_t width) -> std::size_t {
        return data.size() <= width ? 0 : rng_.below(data.size() - width + 1);
    };
    switch (m) {
        case mutation::bit_flip:
            if (!data.empty()) {
                data[rng_.below(data.size())] ^= static_cast<uint8_t>(1U << rng_.below(8));
            }
            break;
        case mutation::interesting_byte:
            if (!data.empty()) {
                data[rng_.below(data.size())] =
                    interesting_bytes[rng_.below(interesting_bytes.size())];
            }
            break;
        case mutation::int16_field:
            if (data.size() >= 2) {
                const std::size_t at = position(2);
                store_be16(data.data() + at,
                           interesting_int16[rng_.below(interesting_int16.size())]);
            }
            break;
        case mutation::int32_field:
            if (data.size() >= 4) {
                const std::size_t at = position(4);
                store_be32(data.data() + at,
                           interesting_int32[rng_.below(interesting_int32.size())]);
            }
            break;
        case mutation::varint_field:
            if (!data.empty()) {
                const std::size_t which = rng_.below(interesting_varints.size());
                const std::size_t at = rng_.below(data.size());
                // Replace one byte (the old varint's first byte, if the position hits one) with the
                // whole new encoding.
                data.erase(data.begin() + static_cast<std::ptrdiff_t>(at));
                data.insert(data.begin() + static_cast<std::ptrdiff_t>(at),
                            interesting_varints[which].begin(),
                            interesting_varints[which].begin() +
                                static_cast<std::ptrdiff_t>(varint_lengths[which]));
            }
            break;
        case mutation::truncate:
            if (!data.empty()) {
                data.resize(rng_.below(data.size()));
            }
            break;
        case mutation::extend: {
            const std::size_t n = 1 + rng_.below(64);
            for (std::size_t i = 0; i < n && data.size() < max_input_size; ++i) {
                data.push_back(static_cast<uint8_t>(rng_.next()));
            }
            break;
        }
        case mutation::splice: {
            const std::vector<uint8_t>& other = seeds[rng_.below(seeds.size())];
            const std::size_t keep = data.empty() ? 0 : rng_.below(data.size() + 1);
            const std::size_t from = other.empty() ? 0 : rng_.below(other.size() + 1);
            data.resize(keep);
            data.insert(data.end(), other.begin() + static_cast<std::ptrdiff_t>(from), other.end());
            if (data.size() > max_input_size) {
                data.resize(max_input_size);
            }
            break;
        }
        case mutation::duplicate_chunk:
            if (!data.empty() && data.size() < max_input_size) {
                const std::size_t start = rng_.below(data.size());
                const std::size_t length =
                    1 + rng_.below(std::min<std::size_t>(data.size() - start,
                                                         max_input_size - data.size()));
                const std::vector<uint8_t> chunk(
                    data.begin() + static_cast<std::ptrdiff_t>(start),
                    data.begin() + static_cast<std::ptrdiff_t>(start + length));
                const std::size_t at = rng_.below(data.size() + 1);
                data.insert(data.begin() + static_cast<std::ptrdiff_t>(at), chunk.begin(),
                            chunk.end());
            }
            break;
        case mutation::erase_chunk:
            if (!data.empty()) {
                const std::size_t start = rng_.below(data.size());
                const std::size_t length =
                    1 + rng_.below(std::min<std::size_t>(data.size() - start, 16));
                data.erase(data.begin() + static_cast<std::ptrdiff_t>(start),
                           data.begin() + static_cast<std::ptrdiff_t>(start + length));
            }
            break;
    }
}

}  // namespace broker::server::fuzz
