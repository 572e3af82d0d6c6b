// Record-batch payload codecs. Decisions, per codec:
//
//  gzip    compress: one gzip member, zlib level 6 (Kafka's default gzip level) unless a level is
//          given.
//          decompress: one or more concatenated gzip members; nothing else may follow them.
//  snappy  compress: xerial framing with 32 KiB blocks, exactly what the Java client writes. Every
//          Kafka client already reads this form (the Java producer sends it and brokers pass it on
//          untouched), while a raw block is only guaranteed readable by clients that special-case
//          it. decompress: detects the form by the 8-byte xerial magic; otherwise one raw snappy
//          block. A raw block can never start with the magic: its varint would announce ~10 KiB of
//          output and the next byte would be a copy from before the start of the output.
//  lz4     compress: LZ4 frame, 64 KiB independent blocks, no checksums, no content size, which is
//          the frame the Java client writes and all its readers accept (the batch CRC already
//          guards the bytes). Level 9 (Kafka's default) is lz4's fast mode, as in the Java client;
//          other levels go to LZ4F as they are (3 and up: LZ4 HC; 1 and 2: LZ4F's fast mode).
//          decompress: any LZ4 frame(s), via lz4frame's streaming decoder.
//  zstd    compress: one frame with the content size, level 3 (Kafka's default) unless a level is
//          given (negative levels are zstd's fast modes).
//          decompress: streaming, so frames without a content size (Java's zstd-jni streams) work;
//          concatenated and skippable frames are accepted. The decoder keeps zstd's default window
//          limit (128 MiB), as the Java broker does, so frames from high compression levels decode.
//
// All functions are stateless (each call makes its own codec context), so any thread may call them.
// Every decoder writes into a buffer that never grows beyond max_output + 1 bytes: reaching that
// extra byte proves the output is too large, so decoding stops and fails without going further.
#include "protocol/compression.h"

#include <lz4frame.h>
#include <snappy.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>
#include <memory>

#include "common/big_endian.h"

namespace broker::protocol {
namespace {

using bytes = std::vector<uint8_t>;

/// Output buffer for one decompression: grows geometrically, never past max_output + 1 bytes.
class bounded_output {
public:
    bounded_output(std::size_t max_output, std::size_t initial_guess)
        : max_output_(max_output),
          hard_cap_(max_output == std::numeric_limits<std::size_t>::max() ? max_output
                                                                          : max_output + 1) {
        // One byte beyond the guess lets a decoder that fills the guess exactly finish its trailer
        // without a regrowth.
        std::size_t first = initial_guess < hard_cap_ ? initial_guess + 1 : hard_cap_;
        buffer_.resize(first);
    }

    uint8_t* cursor() { return buffer_.data() + used_; }
    std::size_t available() const { return buffer_.size() - used_; }
    std::size_t used() const { return used_; }
    void advance(std::size_t n) { used_ += n; }
    bool exceeded() const { return used_ > max_output_; }

    /// Makes room for at least `needed` more bytes (capped). False once the cap is reached, which
    /// means the output is larger than max_output.
    bool reserve_more(std::size_t needed = 1) {
        if (available() >= needed) {
            return true;
        }
        if (buffer_.size() >= hard_cap_ || hard_cap_ - used_ < needed) {
            return false;
        }
        std::size_t grown = std::max({buffer_.size() * 2, used_ + needed, std::size_t{4096}});
        buffer_.resize(std::min(grown, hard_cap_));
        return true;
    }

    std::optional<bytes> finish() {
        if (exceeded()) {
            return std::nullopt;
        }
        buffer_.resize(used_);
        return std::move(buffer_);
    }

private:
    std::size_t max_output_;
    std::size_t hard_cap_;
    std::size_t used_ = 0;
    bytes buffer_;
};

// zlib counts in uInt; feed larger spans in pieces.
constexpr std::size_t zlib_chunk = std::numeric_limits<uInt>::max();

// ----------------------------------------------------------------------------------------------
// gzip

constexpr int gzip_window_bits = 15 + 16;  // +16 selects the gzip wrapper
constexpr int gzip_level = 6;

std::optional<bytes> gzip_compress(std::span<const uint8_t> input, std::optional<int> level) {
    // Kafka's -1 is zlib's Z_DEFAULT_COMPRESSION (level 6).
    const int zlib_level = level ? std::clamp(*level, -1, 9) : gzip_level;
    z_stream s{};
    if (deflateInit2(&s, zlib_level, Z_DEFLATED, gzip_window_bits, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        return std::nullopt;
    }
    std::unique_ptr<z_stream, int (*)(z_stream*)> guard(&s, deflateEnd);
    bytes out(
        deflateBound(&s, static_cast<uLong>(std::min<std::size_t>(input.size(), zlib_chunk))) +
        (input.size() / zlib_chunk + 1) * 16);
    std::size_t in_pos = 0;
    std::size_t out_pos = 0;
    for (;;) {
        std::size_t in_now = std::min(input.size() - in_pos, zlib_chunk);
        bool last = in_pos + in_now == input.size();
        s.next_in = const_cast<Bytef*>(input.data() + in_pos);
        s.avail_in = static_cast<uInt>(in_now);
        int rc;
        do {
            if (out.size() - out_pos < 64) {
                out.resize(out.size() * 2);
            }
            std::size_t out_now = std::min(out.size() - out_pos, zlib_chunk);
            s.next_out = out.data() + out_pos;
            s.avail_out = static_cast<uInt>(out_now);
            rc = deflate(&s, last ? Z_FINISH : Z_NO_FLUSH);
            out_pos += out_now - s.avail_out;
            if (rc == Z_STREAM_ERROR) {
                return std::nullopt;
            }
        } while (last ? rc != Z_STREAM_END : s.avail_in != 0);
        in_pos += in_now;
        if (last) {
            break;
        }
    }
    out.resize(out_pos);
    return out;
}

std::optional<bytes> gzip_decompress(std::span<const uint8_t> input, std::size_t max_output) {
    // The trailer's ISIZE (size mod 2^32 of the last member) is a good first guess for one member.
    // Deflate expands at most ~1032:1, which caps a lying trailer.
    std::size_t guess = input.size() * 4;
    if (input.size() >= 18) {
        const uint8_t* t = input.data() + input.size() - 4;
        std::size_t isize = static_cast<uint32_t>(t[0]) | (static_cast<uint32_t>(t[1]) << 8) |
                            (static_cast<uint32_t>(t[2]) << 16) |
                            (static_cast<uint32_t>(t[3]) << 24);
        if (isize / 1032 <= input.size()) {
            guess = isize;
        }
    }
    bounded_output out(max_output, guess);

    z_stream s{};
    if (inflateInit2(&s, gzip_window_bits) != Z_OK) {
        return std::nullopt;
    }
    std::unique_ptr<z_stream, int (*)(z_stream*)> guard(&s, inflateEnd);

    std::size_t in_pos = 0;
    bool member_done = false;
    while (!member_done || in_pos < input.size()) {
        if (member_done) {
            // Another gzip member follows (concatenated streams, RFC 1952 section 2.2).
            if (inflateReset(&s) != Z_OK) {
                return std::nullopt;
            }
            member_done = false;
        }
        if (!out.reserve_more()) {
            return std::nullopt;
        }
        std::size_t in_now = std::min(input.size() - in_pos, zlib_chunk);
        std::size_t out_now = std::min(out.available(), zlib_chunk);
        s.next_in = const_cast<Bytef*>(input.data() + in_pos);
        s.avail_in = static_cast<uInt>(in_now);
        s.next_out = out.cursor();
        s.avail_out = static_cast<uInt>(out_now);
        int rc = inflate(&s, Z_NO_FLUSH);
        std::size_t consumed = in_now - s.avail_in;
        std::size_t produced = out_now - s.avail_out;
        in_pos += consumed;
        out.advance(produced);
        if (rc == Z_STREAM_END) {
            member_done = true;
            continue;
        }
        if (rc == Z_BUF_ERROR) {
            // No progress possible: out of input (truncated) unless output space ran out.
            if (s.avail_out != 0) {
                return std::nullopt;
            }
            continue;
        }
        if (rc != Z_OK) {
            return std::nullopt;  // Z_DATA_ERROR, Z_NEED_DICT, Z_MEM_ERROR, Z_STREAM_ERROR
        }
        if (consumed == 0 && produced == 0 && in_pos == input.size()) {
            return std::nullopt;  // input ended inside a member
        }
    }
    return out.finish();
}

// --------------------------------------------------------------------------------------------
// snappy

constexpr std::array<uint8_t, 8> xerial_magic = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0x00};
constexpr std::size_t xerial_header_size =
    16;  // magic, int32 version, int32 min compatible version
constexpr uint32_t xerial_version = 1;
constexpr uint32_t xerial_min_compatible_version = 1;
constexpr std::size_t xerial_block_size =
    32 * 1024;  // the Java client's SnappyOutputStream default
// A snappy element of n input bytes yields at most 64 bytes per 3 input bytes (a 2-byte-offset
// copy). An announced length beyond this ratio is a lie; refusing it early avoids a large
// allocation.
constexpr std::size_t snappy_max_expansion = 22;

bool has_xerial_magic(const uint8_t* p, std::size_t size) {
    return size >= xerial_magic.size() &&
           std::memcmp(p, xerial_magic.data(), xerial_magic.size()) == 0;
}

std::optional<bytes> snappy_compress(std::span<const uint8_t> input) {
    std::size_t blocks = (input.size() + xerial_block_size - 1) / xerial_block_size;
    bytes out(xerial_header_size + blocks * (4 + snappy::MaxCompressedLength(xerial_block_size)));
    std::memcpy(out.data(), xerial_magic.data(), xerial_magic.size());
    store_be32(out.data() + 8, xerial_version);
    store_be32(out.data() + 12, xerial_min_compatible_version);
    std::size_t pos = xerial_header_size;
    for (std::size_t offset = 0; offset < input.size(); offset += xerial_block_size) {
        std::size_t n = std::min(xerial_block_size, input.size() - offset);
        std::size_t compressed = 0;
        snappy::RawCompress(reinterpret_cast<const char*>(input.data() + offset), n,
                            reinterpret_cast<char*>(out.data() + pos + 4), &compressed);
        store_be32(out.data() + pos, static_cast<uint32_t>(compressed));
        pos += 4 + compressed;
    }
    out.resize(pos);
    return out;
}

/// The output length a raw snappy block announces, if plausible for its size and within
/// `max_output`.
std::optional<std::size_t> snappy_block_length(const uint8_t* p, std::size_t size,
                                               std::size_t max_output) {
    std::size_t length = 0;
    if (!snappy::GetUncompressedLength(reinterpret_cast<const char*>(p), size, &length)) {
        return std::nullopt;
    }
    if (length / snappy_max_expansion > size || length > max_output) {
        return std::nullopt;
    }
    return length;
}

/// Decodes one raw snappy block, appending to `out`.
bool snappy_raw_block(const uint8_t* p, std::size_t size, std::size_t max_output,
                      bounded_output& out) {
    auto length = snappy_block_length(p, size, max_output);
    if (!length || !out.reserve_more(*length)) {
        return false;
    }
    std::size_t n = *length;
    if (!snappy::RawUncompress(reinterpret_cast<const char*>(p), size,
                               reinterpret_cast<char*>(out.cursor()))) {
        return false;
    }
    out.advance(n);
    return !out.exceeded();
}

std::optional<bytes> snappy_decompress(std::span<const uint8_t> input, std::size_t max_output) {
    const uint8_t* p = input.data();
    const uint8_t* end = p + input.size();
    if (!has_xerial_magic(p, input.size())) {
        auto length = snappy_block_length(p, input.size(), max_output);
        if (!length) {
            return std::nullopt;
        }
        bounded_output out(max_output, *length);
        if (!snappy_raw_block(p, input.size(), max_output, out)) {
            return std::nullopt;
        }
        return out.finish();
    }
    // xerial: header, then [int32 length][raw block]*. A header may recur at a block boundary when
    // streams were concatenated; a block length can never look like it (0x82 makes it negative).
    bounded_output out(max_output, input.size() * 4);
    while (p < end) {
        std::size_t left = static_cast<std::size_t>(end - p);
        if (has_xerial_magic(p, left)) {
            if (left < xerial_header_size) {
                return std::nullopt;
            }
            p += xerial_header_size;
            continue;
        }
        if (left < 4) {
            return std::nullopt;
        }
        uint32_t length = load_be32(p);
        p += 4;
        if (length > left - 4 ||
            length > static_cast<uint32_t>(std::numeric_limits<int32_t>::max())) {
            return std::nullopt;
        }
        if (!snappy_raw_block(p, length, max_output, out)) {
            return std::nullopt;
        }
        p += length;
    }
    return out.finish();
}

// -----------------------------------------------------------------------------------------------
// lz4

constexpr int lz4_kafka_default_level = 9;

std::optional<bytes> lz4_compress(std::span<const uint8_t> input, std::optional<int> level) {
    LZ4F_preferences_t prefs{};
    prefs.frameInfo.blockSizeID = LZ4F_max64KB;
    prefs.frameInfo.blockMode = LZ4F_blockIndependent;
    prefs.frameInfo.contentChecksumFlag = LZ4F_noContentChecksum;
    prefs.frameInfo.blockChecksumFlag = LZ4F_noBlockChecksum;
    prefs.frameInfo.frameType = LZ4F_frame;
    prefs.frameInfo.contentSize = 0;
    prefs.compressionLevel = (!level || *level == lz4_kafka_default_level) ? 0 : *level;
    bytes out(LZ4F_compressFrameBound(input.size(), &prefs));
    std::size_t n = LZ4F_compressFrame(out.data(), out.size(), input.data(), input.size(), &prefs);
    if (LZ4F_isError(n)) {
        return std::nullopt;
    }
    out.resize(n);
    return out;
}

struct lz4_context_deleter {
    void operator()(LZ4F_dctx* c) const { LZ4F_freeDecompressionContext(c); }
};

std::optional<bytes> lz4_decompress(std::span<const uint8_t> input, std::size_t max_output) {
    LZ4F_dctx* raw = nullptr;
    if (LZ4F_isError(LZ4F_createDecompressionContext(&raw, LZ4F_VERSION))) {
        return std::nullopt;
    }
    std::unique_ptr<LZ4F_dctx, lz4_context_deleter> ctx(raw);

    bounded_output out(max_output, input.size() * 4);
    std::size_t in_pos = 0;
    for (;;) {
        if (!out.reserve_more()) {
            return std::nullopt;
        }
        std::size_t in_now = input.size() - in_pos;
        std::size_t out_now = out.available();
        std::size_t hint = LZ4F_decompress(ctx.get(), out.cursor(), &out_now, input.data() + in_pos,
                                           &in_now, nullptr);
        if (LZ4F_isError(hint)) {
            return std::nullopt;
        }
        in_pos += in_now;
        out.advance(out_now);
        if (hint == 0 && in_pos == input.size()) {
            break;  // the last frame ended exactly at the end of the input
        }
        // hint == 0 with input left: a frame ended and the context is ready for the next one.
        if (in_now == 0 && out_now == 0 && out.available() != 0) {
            return std::nullopt;  // no progress with room to write: the input ended inside a frame
        }
    }
    return out.finish();
}

// ----------------------------------------------------------------------------------------------
// zstd

constexpr int zstd_level = 3;

std::optional<bytes> zstd_compress(std::span<const uint8_t> input, std::optional<int> level) {
    bytes out(ZSTD_compressBound(input.size()));
    std::size_t n = ZSTD_compress(out.data(), out.size(), input.data(), input.size(),
                                  level.value_or(zstd_level));
    if (ZSTD_isError(n)) {
        return std::nullopt;
    }
    out.resize(n);
    return out;
}

struct zstd_context_deleter {
    void operator()(ZSTD_DCtx* c) const { ZSTD_freeDCtx(c); }
};

std::optional<bytes> zstd_decompress(std::span<const uint8_t> input, std::size_t max_output) {
    std::size_t guess = input.size() * 4;
    unsigned long long declared = ZSTD_getFrameContentSize(input.data(), input.size());
    if (declared != ZSTD_CONTENTSIZE_UNKNOWN && declared != ZSTD_CONTENTSIZE_ERROR) {
        if (declared > max_output) {
            return std::nullopt;
        }
        guess = static_cast<std::size_t>(declared);
    }
    std::unique_ptr<ZSTD_DCtx, zstd_context_deleter> ctx(ZSTD_createDCtx());
    if (!ctx) {
        return std::nullopt;
    }
    bounded_output out(max_output, guess);
    ZSTD_inBuffer in{input.data(), input.size(), 0};
    for (;;) {
        if (!out.reserve_more()) {
            return std::nullopt;
        }
        ZSTD_outBuffer ob{out.cursor(), out.available(), 0};
        std::size_t consumed_before = in.pos;
        std::size_t hint = ZSTD_decompressStream(ctx.get(), &ob, &in);
        if (ZSTD_isError(hint)) {
            return std::nullopt;
        }
        out.advance(ob.pos);
        if (hint == 0 && in.pos == in.size) {
            break;  // frame complete and fully flushed, no input left
        }
        if (in.pos == consumed_before && ob.pos == 0) {
            return std::nullopt;  // no progress with room to write: the input ended inside a frame
        }
    }
    return out.finish();
}

}  // namespace

std::optional<std::vector<uint8_t>> compress(compression_type type, std::span<const uint8_t> input,
                                             std::optional<int> level) {
    switch (type) {
        case compression_type::none: return bytes(input.begin(), input.end());
        case compression_type::gzip: return gzip_compress(input, level);
        case compression_type::snappy: return snappy_compress(input);
        case compression_type::lz4: return lz4_compress(input, level);
        case compression_type::zstd: return zstd_compress(input, level);
    }
    return std::nullopt;
}

std::optional<std::vector<uint8_t>> decompress(compression_type type,
                                               std::span<const uint8_t> input,
                                               std::size_t max_output) {
    switch (type) {
        case compression_type::none:
            if (input.size() > max_output) {
                return std::nullopt;
            }
            return bytes(input.begin(), input.end());
        case compression_type::gzip: return gzip_decompress(input, max_output);
        case compression_type::snappy: return snappy_decompress(input, max_output);
        case compression_type::lz4: return lz4_decompress(input, max_output);
        case compression_type::zstd: return zstd_decompress(input, max_output);
    }
    return std::nullopt;
}

}  // namespace broker::protocol
