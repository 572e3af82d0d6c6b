#pragma once
// Deterministic byte-level mutator for the request-path fuzzer (server/fuzz/request_path_fuzz.cpp).
//
// Given a fixed seed it produces the same sequence of inputs on every machine: the generator is
// splitmix64, and nothing depends on addresses, time or the standard library's distributions
// (whose output differs between implementations). Each mutated input starts from one seed frame
// and applies 1..4 stacked operations, chosen to break the things a Kafka decoder trusts: bit
// flips, bytes set to boundary values, int16/int32 length or count fields overwritten with -1,
// 0 or huge values, truncation, extension, splicing with a second seed, duplicated chunks.
// Not thread-safe; one owner.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace broker::server::fuzz {

/// splitmix64: tiny, fast, and identical everywhere for a given seed.
class rng {
public:
    explicit rng(uint64_t seed) : state_(seed) {}
    uint64_t next() {
        uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }
    /// Uniform-enough value in [0, bound); bound must be > 0.
    uint64_t below(uint64_t bound) { return next() % bound; }
    bool chance(unsigned percent) { return below(100) < percent; }

private:
    uint64_t state_;
};

/// The mutation operators, for reporting which ones produced an input.
enum class mutation : uint8_t {
    bit_flip,
    interesting_byte,
    int16_field,
    int32_field,
    varint_field,
    truncate,
    extend,
    splice,
    duplicate_chunk,
    erase_chunk,
};

std::string_view mutation_name(mutation m);

class mutator {
public:
    explicit mutator(uint64_t seed) : rng_(seed) {}

    /// A new input derived from `seeds[base]`; `other` supplies the second parent for splicing.
    /// `applied` receives the operators used, in order. Request frames keep their first four bytes
    /// (API key and version) most of the time so that mutations reach the body decoders and
    /// handlers instead of stopping at the header check.
    std::vector<uint8_t> mutate(std::span<const std::vector<uint8_t>> seeds,
                                std::vector<mutation>* applied);

    rng& random() { return rng_; }

private:
    void apply(mutation m, std::vector<uint8_t>& data, std::span<const std::vector<uint8_t>> seeds);

    rng rng_;
};

/// Upper bound on a mutated input's size; extension and duplication stop growing past it.
constexpr std::size_t max_input_size = 64 * 1024;

}  // namespace broker::server::fuzz
