#pragma once
// Bounded big-endian reader and writer for the coordinator's own byte formats: the
// `__consumer_offsets` keys and values and the consumer protocol subscription. Both use Kafka's
// classic encodings (int16-length strings, int32-length bytes and arrays, -1 for null) and, for
// the flexible record versions, the compact ones (unsigned varint length + 1) with tagged fields.
//
// The reader never reads past its end and never allocates more than the bytes that remain could
// hold; any violation sets a sticky failure flag and every later read returns a default value.
// Internal to the coordinator module; plain value types, no thread-safety concerns.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace broker::server::coordinator {

using bytes = std::vector<uint8_t>;

class byte_reader {
public:
    explicit byte_reader(std::span<const uint8_t> data)
        : p_(data.data()), end_(data.data() + data.size()) {}

    bool ok() const { return ok_; }
    std::size_t remaining() const { return ok_ ? static_cast<std::size_t>(end_ - p_) : 0; }
    void fail() { ok_ = false; }

    int16_t read_int16() { return static_cast<int16_t>(read_be(2)); }
    int32_t read_int32() { return static_cast<int32_t>(read_be(4)); }
    int64_t read_int64() { return static_cast<int64_t>(read_be(8)); }
    uint32_t read_unsigned_varint();

    /// Classic (int16 length) or compact (uvarint length + 1) string; null reads as nullopt.
    std::optional<std::string> read_nullable_string(bool compact);
    /// A non-nullable string: a null marker fails the reader.
    std::string read_string(bool compact);
    /// Classic (int32 length) or compact bytes; null reads as nullopt.
    std::optional<bytes> read_nullable_bytes(bool compact);
    bytes read_bytes(bool compact);
    /// An array count; fails when negative (null) or when `count * min_element_size` exceeds what
    /// remains, so a caller can reserve `count` elements safely.
    int32_t read_array_count(bool compact, std::size_t min_element_size);
    /// Skips a tagged-field section (flexible versions), keeping nothing.
    void skip_tagged_fields();

private:
    uint64_t read_be(int n);
    /// Returns the length of a string/bytes field, -1 for null, or fails.
    int64_t read_length(bool compact, bool int16_length);
    std::string_view take(std::size_t n);

    const uint8_t* p_;
    const uint8_t* end_;
    bool ok_ = true;
};

class byte_writer {
public:
    void write_int16(int16_t v) { write_be(static_cast<uint16_t>(v), 2); }
    void write_int32(int32_t v) { write_be(static_cast<uint32_t>(v), 4); }
    void write_int64(int64_t v) { write_be(static_cast<uint64_t>(v), 8); }
    void write_unsigned_varint(uint32_t v);
    void write_nullable_string(const std::optional<std::string>& s, bool compact);
    void write_string(std::string_view s, bool compact);
    void write_bytes(std::span<const uint8_t> b, bool compact);
    void write_array_count(std::size_t n, bool compact);
    /// An empty tagged-field section.
    void write_empty_tagged_fields() { write_unsigned_varint(0); }

    bytes take() { return std::move(out_); }

private:
    void write_be(uint64_t v, int n);
    bytes out_;
};

}  // namespace broker::server::coordinator
