#pragma once
// Test support for the generated codecs: a type-erased "sample case" per message, so one test can
// round-trip every message at every version without instantiating the checks 186 times in one file.
// The generated samples_<i>.cpp files call make_sample_case<T>() for their messages; fill_sample()
// (generated, protocol/generated/samples.h) provides the values.
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "protocol/wire.h"

namespace broker::protocol::testing {

struct sample_case {
    std::string_view name;  // schema name, e.g. "ProduceRequest"
    std::string_view type;  // request, response, header, data
    int16_t api_key;        // -1 for headers and data
    int16_t min_version;
    int16_t max_version;
    int16_t first_flexible;
    /// Encodes sample `variant` (0 or 1) at `version`, appending to `out`; returns encoded_size()'s
    /// answer.
    std::size_t (*encode)(int16_t version, int variant, std::vector<uint8_t>& out);
    /// Encodes a default-constructed message at `version`, appending to `out`.
    void (*encode_default)(int16_t version, std::vector<uint8_t>& out);
    /// Decodes `bytes` at `version`. On success also reports how many bytes were consumed, whether
    /// the value equals sample `variant`, and re-encodes the decoded value into `reencoded`.
    codec_status (*round_trip)(int16_t version, int variant, std::span<const uint8_t> bytes,
                               std::size_t& consumed, bool& equals_sample,
                               std::vector<uint8_t>& reencoded);
    /// Decodes only.
    codec_status (*decode)(int16_t version, std::span<const uint8_t> bytes);
};

/// Every generated message, in schema-name order within each generated batch.
std::span<const sample_case> all_sample_cases();

// ---- values used by the generated fill_sample() ----

inline std::vector<uint8_t> sample_bytes(int salt) {
    return {static_cast<uint8_t>(salt), static_cast<uint8_t>(salt + 1),
            static_cast<uint8_t>(salt + 2)};
}

inline uuid sample_uuid(int salt) {
    uuid u;
    for (std::size_t i = 0; i < u.bytes.size(); ++i) {
        u.bytes[i] = static_cast<uint8_t>(salt + static_cast<int>(i) + 1);
    }
    return u;
}

/// A records value viewing static bytes (the codec treats records as opaque bytes).
inline records_ref sample_records() {
    static const uint8_t bytes[] = {0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 3, 0xaa, 0xbb, 0xcc};
    records_ref r;
    r.bytes = bytes;
    return r;
}

/// Tags no schema uses, so they must survive as unknown tags.
inline tagged_fields sample_unknown_tags() {
    return {raw_tagged_field{1000, {1, 2, 3}}, raw_tagged_field{100000, {}}};
}

template <typename T>
sample_case make_sample_case(std::string_view name, std::string_view type) {
    sample_case c{};
    c.name = name;
    c.type = type;
    c.api_key = T::api_key;
    c.min_version = T::min_version;
    c.max_version = T::max_version;
    c.first_flexible = T::first_flexible;
    c.encode = [](int16_t version, int variant, std::vector<uint8_t>& out) {
        T message;
        fill_sample(message, version, variant);
        writer w(out);
        encode(w, version, message);
        return encoded_size(version, message);
    };
    c.encode_default = [](int16_t version, std::vector<uint8_t>& out) {
        writer w(out);
        encode(w, version, T{});
    };
    c.round_trip = [](int16_t version, int variant, std::span<const uint8_t> bytes,
                      std::size_t& consumed, bool& equals_sample, std::vector<uint8_t>& reencoded) {
        T decoded;
        reader r(bytes);
        const codec_status status = decode(r, version, decoded);
        if (status != codec_status::ok) {
            return status;
        }
        consumed = r.position();
        T expected;
        fill_sample(expected, version, variant);
        equals_sample = decoded == expected;
        writer w(reencoded);
        encode(w, version, decoded);
        return status;
    };
    c.decode = [](int16_t version, std::span<const uint8_t> bytes) {
        T decoded;
        reader r(bytes);
        return decode(r, version, decoded);
    };
    return c;
}

}  // namespace broker::protocol::testing
