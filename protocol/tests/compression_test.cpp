// Codec round trips, the wire forms other clients expect, xerial snappy framing, concatenated
// streams, and the failure modes: garbage, truncation and outputs beyond max_output.
#include "protocol/compression.h"

#include <gtest/gtest.h>
#include <snappy.h>
#include <zstd.h>

#include <random>
#include <string>
#include <vector>

#include "common/big_endian.h"

namespace broker::protocol {
namespace {

using bytes = std::vector<uint8_t>;

constexpr std::size_t big_limit = 64 * 1024 * 1024;
constexpr compression_type codecs[] = {compression_type::none, compression_type::gzip,
                                       compression_type::snappy, compression_type::lz4,
                                       compression_type::zstd};
constexpr compression_type real_codecs[] = {compression_type::gzip, compression_type::snappy,
                                            compression_type::lz4, compression_type::zstd};

std::string name(compression_type t) {
    switch (t) {
        case compression_type::none: return "none";
        case compression_type::gzip: return "gzip";
        case compression_type::snappy: return "snappy";
        case compression_type::lz4: return "lz4";
        case compression_type::zstd: return "zstd";
    }
    return "?";
}

bytes text(std::string_view s) {
    return bytes(s.begin(), s.end());
}

// Half random, half repetitive: exercises both literals and matches.
bytes mixed_payload(std::size_t n, uint64_t seed) {
    std::mt19937_64 rng(seed);
    bytes v(n);
    for (std::size_t i = 0; i < n; ++i) {
        v[i] = (i / 512) % 2 == 0 ? static_cast<uint8_t>(rng())
                                  : static_cast<uint8_t>("kafka-record-"[i % 13]);
    }
    return v;
}

bytes concat(const bytes& a, const bytes& b) {
    bytes out = a;
    out.insert(out.end(), b.begin(), b.end());
    return out;
}

void put_be32(bytes& out, uint32_t v) {
    out.resize(out.size() + 4);
    store_be32(out.data() + out.size() - 4, v);
}

bytes raw_snappy(const bytes& in) {
    std::string out;
    snappy::Compress(reinterpret_cast<const char*>(in.data()), in.size(), &out);
    return bytes(out.begin(), out.end());
}

bytes xerial_header() {
    bytes h = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0x00};
    put_be32(h, 1);
    put_be32(h, 1);
    return h;
}

void append_xerial_block(bytes& stream, const bytes& plain) {
    bytes block = raw_snappy(plain);
    put_be32(stream, static_cast<uint32_t>(block.size()));
    stream.insert(stream.end(), block.begin(), block.end());
}

TEST(compression, round_trip_every_codec_and_size) {
    // Sizes straddle snappy's 32 KiB xerial blocks and lz4's 64 KiB frame blocks.
    const std::size_t sizes[] = {
        0, 1, 13, 1000, 32 * 1024 - 1, 32 * 1024, 32 * 1024 + 1, 64 * 1024 + 7, 1 << 20};
    for (auto codec : codecs) {
        for (std::size_t n : sizes) {
            bytes input = mixed_payload(n, n + 1);
            auto packed = compress(codec, input);
            ASSERT_TRUE(packed) << name(codec) << " n=" << n;
            auto unpacked = decompress(codec, *packed, big_limit);
            ASSERT_TRUE(unpacked) << name(codec) << " n=" << n;
            EXPECT_EQ(*unpacked, input) << name(codec) << " n=" << n;
        }
    }
}

TEST(compression, compressible_input_shrinks) {
    bytes input(200000, 'a');
    for (auto codec : real_codecs) {
        auto packed = compress(codec, input);
        ASSERT_TRUE(packed);
        EXPECT_LT(packed->size(), input.size() / 10) << name(codec);
    }
}

// Words from a small vocabulary in a fixed pseudo-random order: compressible, with matches that a
// harder-working level finds and a fast one misses.
bytes wordy_payload(std::size_t words, uint64_t seed) {
    static constexpr std::string_view vocabulary[] = {"alpha ", "broker ", "commit ", "delta ",
                                                      "epoch ", "fetch ",  "group ",  "header ",
                                                      "index ", "join ",   "kafka ",  "leader "};
    std::mt19937_64 rng(seed);
    bytes out;
    for (std::size_t i = 0; i < words; ++i) {
        const std::string_view w = vocabulary[rng() % std::size(vocabulary)];
        out.insert(out.end(), w.begin(), w.end());
    }
    return out;
}

TEST(compression, levels_change_the_output_and_still_round_trip) {
    const bytes input = wordy_payload(20000, 7);
    struct level_case {
        compression_type codec;
        int low;
        int high;
    };
    for (const level_case& c :
         {level_case{compression_type::gzip, 1, 9}, level_case{compression_type::lz4, 1, 12},
          level_case{compression_type::zstd, -5, 19}}) {
        const auto low = compress(c.codec, input, c.low);
        const auto high = compress(c.codec, input, c.high);
        ASSERT_TRUE(low && high) << name(c.codec);
        EXPECT_LT(high->size(), low->size()) << name(c.codec);
        EXPECT_EQ(decompress(c.codec, *low, big_limit), input) << name(c.codec);
        EXPECT_EQ(decompress(c.codec, *high, big_limit), input) << name(c.codec);
    }
    // Kafka's defaults are the codecs' defaults: gzip -1 is zlib's 6, lz4 9 its fast mode, zstd 3.
    EXPECT_EQ(compress(compression_type::gzip, input, -1), compress(compression_type::gzip, input));
    EXPECT_EQ(compress(compression_type::gzip, input, 6), compress(compression_type::gzip, input));
    EXPECT_EQ(compress(compression_type::lz4, input, 9), compress(compression_type::lz4, input));
    EXPECT_EQ(compress(compression_type::zstd, input, 3), compress(compression_type::zstd, input));
    EXPECT_NE(compress(compression_type::lz4, input, 10), compress(compression_type::lz4, input));
    // snappy has no levels.
    EXPECT_EQ(compress(compression_type::snappy, input, 1),
              compress(compression_type::snappy, input));
}

TEST(compression, wire_forms_match_what_clients_expect) {
    bytes input = text("hello hello hello hello");
    auto gz = compress(compression_type::gzip, input);
    ASSERT_TRUE(gz && gz->size() > 10);
    EXPECT_EQ((*gz)[0], 0x1f);
    EXPECT_EQ((*gz)[1], 0x8b);

    auto sn = compress(compression_type::snappy, input);
    ASSERT_TRUE(sn && sn->size() > 16);
    bytes header = xerial_header();
    EXPECT_TRUE(std::equal(header.begin(), header.end(), sn->begin()));

    // LZ4 frame: magic, then FLG = version 01 + independent blocks and no checksums or content
    // size, BD = 64 KiB blocks: the frame the Java client writes.
    auto lz = compress(compression_type::lz4, input);
    ASSERT_TRUE(lz && lz->size() > 7);
    EXPECT_EQ((bytes{(*lz)[0], (*lz)[1], (*lz)[2], (*lz)[3]}), (bytes{0x04, 0x22, 0x4d, 0x18}));
    EXPECT_EQ((*lz)[4], 0x60);
    EXPECT_EQ((*lz)[5], 0x40);

    auto zs = compress(compression_type::zstd, input);
    ASSERT_TRUE(zs && zs->size() > 4);
    EXPECT_EQ((bytes{(*zs)[0], (*zs)[1], (*zs)[2], (*zs)[3]}), (bytes{0x28, 0xb5, 0x2f, 0xfd}));
}

TEST(compression, snappy_xerial_blocks_are_32k) {
    bytes input = mixed_payload(100000, 3);
    auto sn = compress(compression_type::snappy, input);
    ASSERT_TRUE(sn);
    // Walk the blocks by hand: each must decode to at most 32 KiB, and all of them to the input.
    std::size_t pos = 16;
    bytes joined;
    int blocks = 0;
    while (pos < sn->size()) {
        ASSERT_LE(pos + 4, sn->size());
        const uint32_t len = load_be32(sn->data() + pos);
        pos += 4;
        ASSERT_LE(pos + len, sn->size());
        std::string plain;
        ASSERT_TRUE(
            snappy::Uncompress(reinterpret_cast<const char*>(sn->data() + pos), len, &plain));
        EXPECT_LE(plain.size(), 32u * 1024);
        joined.insert(joined.end(), plain.begin(), plain.end());
        pos += len;
        ++blocks;
    }
    EXPECT_EQ(blocks, 4);
    EXPECT_EQ(joined, input);
}

TEST(compression, snappy_reads_hand_built_xerial_stream) {
    bytes a = text("first block of a java client batch ");
    bytes b = mixed_payload(5000, 11);
    bytes stream = xerial_header();
    append_xerial_block(stream, a);
    append_xerial_block(stream, b);
    auto out = decompress(compression_type::snappy, stream, big_limit);
    ASSERT_TRUE(out);
    EXPECT_EQ(*out, concat(a, b));
}

TEST(compression, snappy_reads_concatenated_xerial_streams) {
    bytes a = text("one");
    bytes b = text("two");
    bytes stream = xerial_header();
    append_xerial_block(stream, a);
    bytes second = xerial_header();
    append_xerial_block(second, b);
    auto out = decompress(compression_type::snappy, concat(stream, second), big_limit);
    ASSERT_TRUE(out);
    EXPECT_EQ(*out, text("onetwo"));
}

TEST(compression, snappy_reads_raw_blocks) {
    bytes input = mixed_payload(70000, 5);
    auto out = decompress(compression_type::snappy, raw_snappy(input), big_limit);
    ASSERT_TRUE(out);
    EXPECT_EQ(*out, input);
    auto empty = decompress(compression_type::snappy, raw_snappy({}), big_limit);
    ASSERT_TRUE(empty);
    EXPECT_TRUE(empty->empty());
}

TEST(compression, snappy_xerial_framing_errors) {
    bytes header = xerial_header();
    // Magic but a short header.
    EXPECT_FALSE(decompress(compression_type::snappy, bytes(header.begin(), header.begin() + 12),
                            big_limit));
    // Block length beyond the input.
    bytes over = header;
    put_be32(over, 100);
    over.push_back(0x05);
    EXPECT_FALSE(decompress(compression_type::snappy, over, big_limit));
    // Negative block length.
    bytes negative = header;
    put_be32(negative, 0x80000001u);
    EXPECT_FALSE(decompress(compression_type::snappy, negative, big_limit));
    // Zero-length block.
    bytes zero = header;
    put_be32(zero, 0);
    EXPECT_FALSE(decompress(compression_type::snappy, zero, big_limit));
    // A dangling partial length.
    bytes dangling = header;
    append_xerial_block(dangling, text("abc"));
    dangling.push_back(0);
    dangling.push_back(0);
    EXPECT_FALSE(decompress(compression_type::snappy, dangling, big_limit));
    // A block that is not valid snappy.
    bytes bad_block = header;
    put_be32(bad_block, 3);
    bad_block.insert(bad_block.end(), {0x0a, 0xff, 0xff});
    EXPECT_FALSE(decompress(compression_type::snappy, bad_block, big_limit));
}

TEST(compression, snappy_raw_length_lie_is_refused) {
    // Announces 100 bytes of output, then holds a 3-byte literal only.
    bytes lie = {100, 0x08, 'a', 'b', 'c'};
    EXPECT_FALSE(decompress(compression_type::snappy, lie, big_limit));
    // Announces ~4 GiB from five bytes: refused before any allocation of that size.
    bytes huge = {0xff, 0xff, 0xff, 0xff, 0x0f};
    EXPECT_FALSE(decompress(compression_type::snappy, huge, big_limit));
}

TEST(compression, gzip_reads_concatenated_members) {
    bytes a = mixed_payload(3000, 1);
    bytes b = text("second member");
    auto first = compress(compression_type::gzip, a);
    auto second = compress(compression_type::gzip, b);
    auto out = decompress(compression_type::gzip, concat(*first, *second), big_limit);
    ASSERT_TRUE(out);
    EXPECT_EQ(*out, concat(a, b));
    // Garbage after a complete member is refused.
    bytes trailing = *first;
    trailing.push_back(0x00);
    EXPECT_FALSE(decompress(compression_type::gzip, trailing, big_limit));
}

TEST(compression, lz4_and_zstd_read_concatenated_frames) {
    bytes a = text("frame one ");
    bytes b = mixed_payload(100000, 9);
    for (auto codec : {compression_type::lz4, compression_type::zstd}) {
        auto out = decompress(codec, concat(*compress(codec, a), *compress(codec, b)), big_limit);
        ASSERT_TRUE(out) << name(codec);
        EXPECT_EQ(*out, concat(a, b)) << name(codec);
    }
}

bytes zstd_stream_without_content_size(const bytes& input) {
    ZSTD_CCtx* ctx = ZSTD_createCCtx();
    ZSTD_CCtx_setParameter(ctx, ZSTD_c_contentSizeFlag, 0);
    bytes out(ZSTD_compressBound(input.size()) + 64);
    ZSTD_inBuffer in{input.data(), input.size(), 0};
    ZSTD_outBuffer ob{out.data(), out.size(), 0};
    std::size_t remaining = ZSTD_compressStream2(ctx, &ob, &in, ZSTD_e_end);
    ZSTD_freeCCtx(ctx);
    EXPECT_EQ(remaining, 0u);
    out.resize(ob.pos);
    return out;
}

TEST(compression, zstd_frame_without_content_size) {
    bytes input = mixed_payload(300000, 21);
    bytes frame = zstd_stream_without_content_size(input);
    ASSERT_EQ(ZSTD_getFrameContentSize(frame.data(), frame.size()), ZSTD_CONTENTSIZE_UNKNOWN);
    auto out = decompress(compression_type::zstd, frame, big_limit);
    ASSERT_TRUE(out);
    EXPECT_EQ(*out, input);
}

TEST(compression, garbage_fails_cleanly) {
    bytes garbage = text("this is certainly not a compressed stream of any kind");
    for (auto codec : real_codecs) {
        EXPECT_FALSE(decompress(codec, garbage, big_limit)) << name(codec);
        EXPECT_FALSE(decompress(codec, bytes{}, big_limit)) << name(codec) << " empty input";
    }
}

TEST(compression, random_bytes_never_crash) {
    std::mt19937_64 rng(12345);
    for (int i = 0; i < 2000; ++i) {
        bytes junk(static_cast<std::size_t>(rng() % 200));
        for (auto& b : junk) {
            b = static_cast<uint8_t>(rng());
        }
        // Give the decoders a plausible start so they get past the magic numbers now and then.
        if (!junk.empty() && i % 4 == 1) {
            bytes h = xerial_header();
            junk.insert(junk.begin(), h.begin(), h.end());
        }
        for (auto codec : real_codecs) {
            auto out = decompress(codec, junk, 4096);
            if (out) {
                EXPECT_LE(out->size(), 4096u);
            }
        }
    }
}

TEST(compression, mutated_streams_never_crash) {
    std::mt19937_64 rng(777);
    bytes input = mixed_payload(20000, 77);
    for (auto codec : real_codecs) {
        bytes packed = *compress(codec, input);
        for (int i = 0; i < 400; ++i) {
            bytes m = packed;
            int flips = 1 + static_cast<int>(rng() % 4);
            for (int f = 0; f < flips; ++f) {
                m[rng() % m.size()] = static_cast<uint8_t>(rng());
            }
            auto out = decompress(codec, m, 100000);
            if (out) {
                EXPECT_LE(out->size(), 100000u);
            }
        }
    }
}

TEST(compression, every_truncation_fails) {
    bytes input = mixed_payload(3000, 4);
    for (auto codec : real_codecs) {
        bytes packed = *compress(codec, input);
        for (std::size_t n = 0; n < packed.size(); ++n) {
            // A xerial stream cut right after its header is a valid empty stream.
            if (codec == compression_type::snappy && n == 16) {
                continue;
            }
            EXPECT_FALSE(decompress(codec, std::span(packed.data(), n), big_limit))
                << name(codec) << " n=" << n;
        }
    }
    bytes raw = raw_snappy(input);
    for (std::size_t n = 0; n < raw.size(); ++n) {
        EXPECT_FALSE(decompress(compression_type::snappy, std::span(raw.data(), n), big_limit))
            << "raw n=" << n;
    }
}

TEST(compression, max_output_is_enforced) {
    // Highly compressible zeros: a few KiB of input that would expand to 8 MiB.
    bytes zeros(8 * 1024 * 1024, 0);
    constexpr std::size_t limit = 1024 * 1024;
    for (auto codec : real_codecs) {
        bytes bomb = *compress(codec, zeros);
        EXPECT_LT(bomb.size(), 1024u * 1024) << name(codec);
        EXPECT_FALSE(decompress(codec, bomb, limit)) << name(codec);
    }
    bytes bomb_without_size = zstd_stream_without_content_size(zeros);
    EXPECT_FALSE(decompress(compression_type::zstd, bomb_without_size, limit));
    EXPECT_FALSE(decompress(compression_type::snappy, raw_snappy(zeros), limit));
    EXPECT_FALSE(decompress(compression_type::none, zeros, limit));
}

TEST(compression, max_output_boundary_is_exact) {
    bytes input = mixed_payload(50000, 8);
    for (auto codec : codecs) {
        bytes packed = *compress(codec, input);
        auto at = decompress(codec, packed, input.size());
        ASSERT_TRUE(at) << name(codec);
        EXPECT_EQ(*at, input);
        EXPECT_FALSE(decompress(codec, packed, input.size() - 1)) << name(codec);
    }
    bytes zstd_unsized = zstd_stream_without_content_size(input);
    EXPECT_TRUE(decompress(compression_type::zstd, zstd_unsized, input.size()));
    EXPECT_FALSE(decompress(compression_type::zstd, zstd_unsized, input.size() - 1));
    // Empty output fits a zero limit.
    for (auto codec : codecs) {
        auto empty = decompress(codec, *compress(codec, {}), 0);
        ASSERT_TRUE(empty) << name(codec);
        EXPECT_TRUE(empty->empty());
    }
}

}  // namespace
}  // namespace broker::protocol
