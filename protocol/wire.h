#pragma once
// Kafka wire primitives: the byte-level reader and writer every generated message codec is built
// on.
//
// Encoding rules (all integers big-endian):
//   bool/int8 1 byte, int16/uint16 2, int32/uint32 4, int64 8, float64 8 (IEEE-754), uuid 16 raw
//   bytes. string   classic: int16 length (-1 = null) + UTF-8 bytes; compact: uvarint (length + 1),
//   0 = null. bytes    classic: int32 length (-1 = null) + bytes;       compact: uvarint (length +
//   1), 0 = null. records  same framing as bytes; the payload stays a view into the frame (never
//   copied on decode). array    classic: int32 count (-1 = null) + elements;     compact: uvarint
//   (count + 1), 0 = null. tagged-field section (flexible versions, at the end of every struct):
//            uvarint count, then per field: uvarint tag, uvarint size, `size` bytes of value.
//
// Decoding never trusts a length: every string/bytes length and every array count is checked
// against the bytes remaining in the frame before anything is allocated (an array of N elements
// needs at least N * min_element_size bytes). Failures are sticky: the first one is kept in the
// reader's status and leaves nothing more to read, so generated code can read straight through and
// check once at the end.
//
// The `codegen` namespace at the bottom holds the small helpers the generated message code calls;
// they are shared here so each generated function stays a short list of calls.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/varint.h"

namespace broker::protocol {

/// Outcome of decoding: ok, ran out of bytes, or bytes that cannot be a valid encoding.
enum class codec_status : uint8_t { ok = 0, truncated, invalid };

std::string_view to_string(codec_status status);

/// Longest string Kafka accepts in either encoding (its readers reject longer compact strings too).
constexpr std::size_t max_string_length = 0x7fff;

/// A Kafka UUID: 16 raw bytes. Kafka prints it as 22 characters of unpadded base64url.
struct uuid {
    std::array<uint8_t, 16> bytes{};

    bool is_zero() const noexcept;
    std::string to_string() const;
    /// Parses the 22-character base64url form; nullopt on anything else.
    static std::optional<uuid> from_string(std::string_view text);

    friend auto operator<=>(const uuid&, const uuid&) = default;
};

/// One tagged field this codec did not recognise, kept verbatim so it can be re-emitted.
struct raw_tagged_field {
    uint32_t tag = 0;
    std::vector<uint8_t> data;

    bool operator==(const raw_tagged_field&) const = default;
};
/// Unknown tagged fields of one struct, kept sorted by tag (decode inserts in tag order).
using tagged_fields = std::vector<raw_tagged_field>;

/// A byte range of an open file, sent with sendfile instead of being copied into the output buffer.
/// `owner` keeps the file (and so `fd`) open until the bytes are on the wire.
struct file_region {
    int fd = -1;
    int64_t position = 0;
    uint32_t length = 0;
    std::shared_ptr<const void> owner;

    /// Compares the range, not the owner.
    bool operator==(const file_region& other) const noexcept {
        return fd == other.fd && position == other.position && length == other.length;
    }
};

/// The value of a `records` field.
/// Decode: `bytes` views the request frame (no copy; the frame must outlive the message) and
/// `regions` is empty. Encode: `bytes` is written inline, then each region follows on the wire; the
/// writer records a splice for each region instead of copying its bytes.
struct records_ref {
    std::span<const uint8_t> bytes;
    std::vector<file_region> regions;

    /// Bytes on the wire: inline bytes plus every region.
    std::size_t size() const noexcept;

    /// Equal when the inline bytes have the same content and the regions are the same ranges.
    bool operator==(const records_ref& other) const noexcept;
};

/// "At `buffer_offset` of the output buffer, `region`'s bytes go on the wire."
/// Several splices may share an offset; they are then sent in the order recorded.
struct splice {
    std::size_t buffer_offset = 0;
    file_region region;
};

/// Bounds-checked big-endian reader over one frame.
/// Not thread-safe; owned by whoever decodes the frame. The viewed bytes must outlive it and every
/// records_ref decoded from it. After the first failure status() keeps that failure, remaining() is
/// 0, and every further read returns a zero value.
class reader {
public:
    reader() = default;
    explicit reader(std::span<const uint8_t> data) noexcept : data_(data) {}

    codec_status status() const noexcept { return status_; }
    bool ok() const noexcept { return status_ == codec_status::ok; }
    std::size_t position() const noexcept { return pos_; }
    std::size_t remaining() const noexcept { return data_.size() - pos_; }
    /// The bytes not read yet.
    std::span<const uint8_t> remaining_bytes() const noexcept { return data_.subspan(pos_); }
    /// Records a failure (the first one sticks) and drops the rest of the input.
    void fail(codec_status status) noexcept;

    bool read_bool() { return read_uint8() != 0; }
    int8_t read_int8() { return static_cast<int8_t>(read_uint8()); }
    uint8_t read_uint8();
    int16_t read_int16() { return static_cast<int16_t>(read_big_endian<uint16_t>()); }
    uint16_t read_uint16() { return read_big_endian<uint16_t>(); }
    int32_t read_int32() { return static_cast<int32_t>(read_big_endian<uint32_t>()); }
    uint32_t read_uint32() { return read_big_endian<uint32_t>(); }
    int64_t read_int64() { return static_cast<int64_t>(read_big_endian<uint64_t>()); }
    double read_float64();
    uuid read_uuid();
    uint32_t read_unsigned_varint();
    int32_t read_varint();
    int64_t read_varlong();
    /// `n` bytes as a view; fails (truncated) when fewer remain.
    std::span<const uint8_t> read_span(std::size_t n);

    /// Length prefixes. Each returns -1 for null and otherwise a length that fits in the remaining
    /// bytes (or fails and returns -1). Strings are also limited to max_string_length.
    int64_t read_string_length(bool compact);
    int64_t read_bytes_length(bool compact);
    /// An array count, checked so that `count * max(min_element_size, 1)` fits in the remaining
    /// bytes.
    int64_t read_array_length(bool compact, std::size_t min_element_size);

    /// Non-nullable reads: a null marker is `invalid`.
    void read_string(std::string& out, bool compact);
    void read_bytes(std::vector<uint8_t>& out, bool compact);
    /// Nullable reads: a null marker yields nullopt when `nullable`, else `invalid`.
    void read_nullable_string(std::optional<std::string>& out, bool compact, bool nullable);
    void read_nullable_bytes(std::optional<std::vector<uint8_t>>& out, bool compact, bool nullable);
    void read_records(std::optional<records_ref>& out, bool compact, bool nullable);

private:
    template <typename T>
    T read_big_endian() {
        if (remaining() < sizeof(T)) {
            fail(codec_status::truncated);
            return 0;
        }
        T value = 0;
        for (std::size_t i = 0; i < sizeof(T); ++i) {
            value = static_cast<T>((value << 8) | data_[pos_ + i]);
        }
        pos_ += sizeof(T);
        return value;
    }

    std::span<const uint8_t> data_;
    std::size_t pos_ = 0;
    codec_status status_ = codec_status::ok;
};

/// Appends big-endian encodings to a caller-owned buffer and records file-region splices.
/// Not thread-safe; one writer per buffer being built. Encoding a string longer than
/// max_string_length or bytes longer than INT32_MAX is a caller bug and throws std::length_error.
class writer {
public:
    explicit writer(std::vector<uint8_t>& out) noexcept : out_(out) {}

    std::vector<uint8_t>& buffer() noexcept { return out_; }
    const std::vector<splice>& splices() const noexcept { return splices_; }
    /// Bytes that go on the wire: the buffer plus every spliced region.
    std::size_t wire_size() const noexcept;

    void write_bool(bool v) { out_.push_back(v ? 1 : 0); }
    void write_int8(int8_t v) { out_.push_back(static_cast<uint8_t>(v)); }
    void write_int16(int16_t v) { write_big_endian(static_cast<uint16_t>(v)); }
    void write_uint16(uint16_t v) { write_big_endian(v); }
    void write_int32(int32_t v) { write_big_endian(static_cast<uint32_t>(v)); }
    void write_uint32(uint32_t v) { write_big_endian(v); }
    void write_int64(int64_t v) { write_big_endian(static_cast<uint64_t>(v)); }
    void write_float64(double v);
    void write_uuid(const uuid& v) { out_.insert(out_.end(), v.bytes.begin(), v.bytes.end()); }
    void write_unsigned_varint(uint32_t v);
    void write_varint(int32_t v);
    void write_varlong(int64_t v);
    void write_raw(std::span<const uint8_t> bytes) {
        out_.insert(out_.end(), bytes.begin(), bytes.end());
    }

    void write_string(std::string_view v, bool compact);
    void write_null_string(bool compact);
    void write_bytes(std::span<const uint8_t> v, bool compact);
    void write_null_bytes(bool compact);
    /// Length prefix, inline bytes, then one splice per region at the current end of the buffer.
    void write_records(const records_ref& v, bool compact);
    void write_array_length(std::size_t count, bool compact);
    void write_null_array(bool compact);

private:
    template <typename T>
    void write_big_endian(T v) {
        uint8_t bytes[sizeof(T)];
        for (std::size_t i = 0; i < sizeof(T); ++i) {
            bytes[i] = static_cast<uint8_t>(v >> (8 * (sizeof(T) - 1 - i)));
        }
        out_.insert(out_.end(), bytes, bytes + sizeof(T));
    }

    std::vector<uint8_t>& out_;
    std::vector<splice> splices_;
};

/// Has writer's interface but only adds up sizes; encoded_size() runs the encoder with it.
class size_counter {
public:
    std::size_t size() const noexcept { return size_; }

    void write_bool(bool) { size_ += 1; }
    void write_int8(int8_t) { size_ += 1; }
    void write_int16(int16_t) { size_ += 2; }
    void write_uint16(uint16_t) { size_ += 2; }
    void write_int32(int32_t) { size_ += 4; }
    void write_uint32(uint32_t) { size_ += 4; }
    void write_int64(int64_t) { size_ += 8; }
    void write_float64(double) { size_ += 8; }
    void write_uuid(const uuid&) { size_ += 16; }
    void write_unsigned_varint(uint32_t v) { size_ += unsigned_varlong_size(v); }
    void write_varint(int32_t v) { size_ += varint_size(v); }
    void write_varlong(int64_t v) { size_ += varlong_size(v); }
    void write_raw(std::span<const uint8_t> bytes) { size_ += bytes.size(); }

    void write_string(std::string_view v, bool compact) {
        size_ += length_prefix(v.size(), compact, 2) + v.size();
    }
    void write_null_string(bool compact) { size_ += compact ? 1 : 2; }
    void write_bytes(std::span<const uint8_t> v, bool compact) {
        size_ += length_prefix(v.size(), compact, 4) + v.size();
    }
    void write_null_bytes(bool compact) { size_ += compact ? 1 : 4; }
    void write_records(const records_ref& v, bool compact) {
        size_ += length_prefix(v.size(), compact, 4) + v.size();
    }
    void write_array_length(std::size_t count, bool compact) {
        size_ += length_prefix(count, compact, 4);
    }
    void write_null_array(bool compact) { size_ += compact ? 1 : 4; }

private:
    static std::size_t length_prefix(std::size_t n, bool compact, std::size_t classic) {
        return compact ? unsigned_varlong_size(static_cast<uint64_t>(n) + 1) : classic;
    }
    std::size_t size_ = 0;
};

/// Helpers called by generated message code. Not meant for hand-written callers.
namespace codegen {

// ---- decoding ----

template <typename T, typename F>
void get_array(reader& r, std::vector<T>& out, bool compact, std::size_t min_element_size,
               F&& element) {
    const int64_t count = r.read_array_length(compact, min_element_size);
    out.clear();
    if (count < 0) {
        r.fail(codec_status::invalid);  // null in a non-nullable array
        return;
    }
    out.resize(static_cast<std::size_t>(count));
    for (auto& e : out) {
        element(e);
        if (!r.ok()) {
            return;
        }
    }
}

template <typename T, typename F>
void get_nullable_array(reader& r, std::optional<std::vector<T>>& out, bool compact, bool nullable,
                        std::size_t min_element_size, F&& element) {
    const int64_t count = r.read_array_length(compact, min_element_size);
    if (count < 0) {
        out.reset();
        if (!nullable) {
            r.fail(codec_status::invalid);
        }
        return;
    }
    out.emplace(static_cast<std::size_t>(count));
    for (auto& e : *out) {
        element(e);
        if (!r.ok()) {
            return;
        }
    }
}

/// Reads one tagged-field section. `known(tag, sub)` decodes a recognised tag from `sub` (a reader
/// over exactly that field's bytes) and returns true; unrecognised tags are kept in `unknown`.
/// A known field whose value does not fill its declared size exactly is invalid.
template <typename F>
void get_tags(reader& r, tagged_fields& unknown, F&& known) {
    const uint32_t count = r.read_unsigned_varint();
    unknown.clear();
    if (!r.ok()) {
        return;
    }
    if (count > r.remaining() / 2) {  // every field needs at least a tag byte and a size byte
        r.fail(codec_status::truncated);
        return;
    }
    for (uint32_t i = 0; i < count; ++i) {
        const uint32_t tag = r.read_unsigned_varint();
        const uint32_t size = r.read_unsigned_varint();
        const std::span<const uint8_t> bytes = r.read_span(size);
        if (!r.ok()) {
            return;
        }
        reader sub(bytes);
        if (known(tag, sub)) {
            if (!sub.ok() || sub.remaining() != 0) {
                r.fail(codec_status::invalid);
                return;
            }
            continue;
        }
        auto at = std::upper_bound(unknown.begin(), unknown.end(), tag,
                                   [](uint32_t t, const raw_tagged_field& f) { return t < f.tag; });
        unknown.insert(at, raw_tagged_field{tag, std::vector<uint8_t>(bytes.begin(), bytes.end())});
    }
}

inline void get_tags(reader& r, tagged_fields& unknown) {
    get_tags(r, unknown, [](uint32_t, reader&) { return false; });
}

// ---- encoding (W is writer or size_counter) ----

template <typename W>
void put_nullable_string(W& w, const std::optional<std::string>& v, bool compact, bool nullable) {
    if (v) {
        w.write_string(*v, compact);
    } else if (nullable) {
        w.write_null_string(compact);
    } else {
        w.write_string({}, compact);  // null where the version has no null: sent as empty
    }
}

template <typename W>
void put_nullable_bytes(W& w, const std::optional<std::vector<uint8_t>>& v, bool compact,
                        bool nullable) {
    if (v) {
        w.write_bytes(*v, compact);
    } else if (nullable) {
        w.write_null_bytes(compact);
    } else {
        w.write_bytes({}, compact);
    }
}

template <typename W>
void put_records(W& w, const std::optional<records_ref>& v, bool compact, bool nullable) {
    if (v) {
        w.write_records(*v, compact);
    } else if (nullable) {
        w.write_null_bytes(compact);
    } else {
        w.write_bytes({}, compact);
    }
}

template <typename W, typename T, typename F>
void put_array(W& w, const std::vector<T>& v, bool compact, F&& element) {
    w.write_array_length(v.size(), compact);
    for (const auto& e : v) {
        element(e);
    }
}

template <typename W, typename T, typename F>
void put_nullable_array(W& w, const std::optional<std::vector<T>>& v, bool compact, bool nullable,
                        F&& element) {
    if (v) {
        put_array(w, *v, compact, element);
    } else if (nullable) {
        w.write_null_array(compact);
    } else {
        w.write_array_length(0, compact);
    }
}

/// Writes one tagged-field section: known fields (in ascending tag order, via field()) merged with
/// the struct's unknown tags so the whole section comes out in tag order.
template <typename W>
class tag_writer {
public:
    tag_writer(W& w, const tagged_fields& unknown, uint32_t known_count)
        : w_(w), unknown_(unknown) {
        w_.write_unsigned_varint(known_count + static_cast<uint32_t>(unknown.size()));
    }

    template <typename F>
    void field(uint32_t tag, F&& body) {
        flush_below(tag);
        size_counter sizer;
        body(sizer);
        w_.write_unsigned_varint(tag);
        w_.write_unsigned_varint(static_cast<uint32_t>(sizer.size()));
        body(w_);
    }

    void finish() {
        for (; next_ < unknown_.size(); ++next_) {
            write_unknown(unknown_[next_]);
        }
    }

private:
    void flush_below(uint32_t tag) {
        for (; next_ < unknown_.size() && unknown_[next_].tag < tag; ++next_) {
            write_unknown(unknown_[next_]);
        }
    }
    void write_unknown(const raw_tagged_field& f) {
        w_.write_unsigned_varint(f.tag);
        w_.write_unsigned_varint(static_cast<uint32_t>(f.data.size()));
        w_.write_raw(f.data);
    }

    W& w_;
    const tagged_fields& unknown_;
    std::size_t next_ = 0;
};

template <typename W>
void put_tags(W& w, const tagged_fields& unknown) {
    tag_writer<W> tags(w, unknown, 0);
    tags.finish();
}

}  // namespace codegen

}  // namespace broker::protocol
