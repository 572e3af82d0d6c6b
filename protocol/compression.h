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

/// `level` is the codec's level as Kafka's compression.<codec>.level configs write it (KIP-390):
/// gzip -1 (zlib's default, 6) or 1..9; lz4 1..17, where 9 (the default) selects the fast
/// compressor and any other value LZ4 HC at that level; zstd -131072..22. nullopt (and snappy,
/// which has no levels) is the codec's default. A level outside those ranges is clamped by the
/// codec library.
std::optional<std::vector<uint8_t>> compress(compression_type type, std::span<const uint8_t> input,
                                             std::optional<int> level = std::nullopt);
/// Returns nullopt on malformed input or when the output would exceed `max_output` bytes.
std::optional<std::vector<uint8_t>> decompress(compression_type type,
                                               std::span<const uint8_t> input,
                                               std::size_t max_output);

}  // namespace broker::protocol
