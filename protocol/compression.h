#pragma once
// The four codecs Kafka uses for record-batch payloads.
//  gzip:   RFC 1952 (zlib with gzip wrapper).
//  snappy: raw snappy, and the xerial framing Java clients send (magic "\x82SNAPPY\0", then
//          version/compat ints and length-prefixed raw blocks); decompression detects the form.
//  lz4:    the LZ4 frame format.
//  zstd:   zstd frames.
// Decompression is bounded by `max_output` so a compression bomb cannot exhaust memory.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "protocol/records.h"

namespace broker::protocol {

std::optional<std::vector<uint8_t>> compress(compression_type type, std::span<const uint8_t> input);
/// Returns nullopt on malformed input or when the output would exceed `max_output` bytes.
std::optional<std::vector<uint8_t>> decompress(compression_type type,
                                               std::span<const uint8_t> input,
                                               std::size_t max_output);

}  // namespace broker::protocol
