#include "protocol/wire.h"

#include <limits>
#include <stdexcept>

namespace broker::protocol {

std::string_view to_string(codec_status status) {
    switch (status) {
        case codec_status::ok: return "ok";
        case codec_status::truncated: return "truncated";
        case codec_status::invalid: return "invalid";
    }
    return "unknown";
}

// ---- uuid ----

namespace {
constexpr char base64url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int base64url_value(char c) {
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    if (c == '-') {
        return 62;
    }
    if (c == '_') {
        return 63;
    }
    return -1;
}
}  // namespace

bool uuid::is_zero() const noexcept {
    return std::all_of(bytes.begin(), bytes.end(), [](uint8_t b) { return b == 0; });
}

std::string uuid::to_string() const {
    // 16 bytes = 5 groups of 3 bytes (20 chars) + 1 byte (2 chars), no padding: 22 characters.
    std::string out;
    out.reserve(22);
    std::size_t i = 0;
    for (; i + 3 <= bytes.size(); i += 3) {
        const uint32_t n =
            (uint32_t{bytes[i]} << 16) | (uint32_t{bytes[i + 1]} << 8) | bytes[i + 2];
        out.push_back(base64url_alphabet[(n >> 18) & 63]);
        out.push_back(base64url_alphabet[(n >> 12) & 63]);
        out.push_back(base64url_alphabet[(n >> 6) & 63]);
        out.push_back(base64url_alphabet[n & 63]);
    }
    const uint32_t last = bytes[i];
    out.push_back(base64url_alphabet[(last >> 2) & 63]);
    out.push_back(base64url_alphabet[(last << 4) & 63]);
    return out;
}

std::optional<uuid> uuid::from_string(std::string_view text) {
    if (text.size() != 22) {
        return std::nullopt;
    }
    uuid out;
    std::size_t byte = 0;
    for (std::size_t i = 0; i < 20; i += 4) {
        uint32_t n = 0;
        for (std::size_t k = 0; k < 4; ++k) {
            const int v = base64url_value(text[i + k]);
            if (v < 0) {
                return std::nullopt;
            }
            n = (n << 6) | static_cast<uint32_t>(v);
        }
        out.bytes[byte++] = static_cast<uint8_t>(n >> 16);
        out.bytes[byte++] = static_cast<uint8_t>(n >> 8);
        out.bytes[byte++] = static_cast<uint8_t>(n);
    }
    const int hi = base64url_value(text[20]);
    const int lo = base64url_value(text[21]);
    if (hi < 0 || lo < 0 ||
        (lo & 0x0f) != 0) {  // the last character carries 2 bits; the rest must be 0
        return std::nullopt;
    }
    out.bytes[15] = static_cast<uint8_t>((hi << 2) | (lo >> 4));
    return out;
}

// ---- records_ref ----

std::size_t records_ref::size() const noexcept {
    std::size_t n = bytes.size();
    for (const auto& region : regions) {
        n += region.length;
    }
    return n;
}

bool records_ref::operator==(const records_ref& other) const noexcept {
    return std::equal(bytes.begin(), bytes.end(), other.bytes.begin(), other.bytes.end()) &&
           regions == other.regions;
}

// ---- reader ----

void reader::fail(codec_status status) noexcept {
    if (status_ == codec_status::ok) {
        status_ = status;
    }
    pos_ = data_.size();
}

uint8_t reader::read_uint8() {
    if (remaining() < 1) {
        fail(codec_status::truncated);
        return 0;
    }
    return data_[pos_++];
}

double reader::read_float64() {
    const uint64_t bits = read_big_endian<uint64_t>();
    double value;
    std::memcpy(&value, &bits, sizeof value);
    return value;
}

uuid reader::read_uuid() {
    uuid out;
    const auto bytes = read_span(out.bytes.size());
    if (!bytes.empty()) {
        std::copy(bytes.begin(), bytes.end(), out.bytes.begin());
    }
    return out;
}

uint32_t reader::read_unsigned_varint() {
    const uint8_t* p = data_.data() + pos_;
    const uint8_t* end = data_.data() + data_.size();
    auto result = decode_unsigned_varint(p, end);
    if (!result) {
        // Out of bytes while every byte so far said "more follows" is a cut; anything else is
        // malformed.
        const std::size_t available = remaining();
        const bool all_continue = std::all_of(p, end, [](uint8_t b) { return (b & 0x80) != 0; });
        fail(all_continue && available < max_varint_bytes ? codec_status::truncated
                                                          : codec_status::invalid);
        return 0;
    }
    pos_ += result->length;
    return result->value;
}

int32_t reader::read_varint() {
    const uint32_t u = read_unsigned_varint();
    return static_cast<int32_t>((u >> 1) ^ (~(u & 1) + 1));
}

int64_t reader::read_varlong() {
    const uint8_t* p = data_.data() + pos_;
    const uint8_t* end = data_.data() + data_.size();
    auto result = decode_varlong(p, end);
    if (!result) {
        const std::size_t available = remaining();
        const bool all_continue = std::all_of(p, end, [](uint8_t b) { return (b & 0x80) != 0; });
        fail(all_continue && available < max_varlong_bytes ? codec_status::truncated
                                                           : codec_status::invalid);
        return 0;
    }
    pos_ += result->length;
    return result->value;
}

std::span<const uint8_t> reader::read_span(std::size_t n) {
    if (n > remaining()) {
        fail(codec_status::truncated);
        return {};
    }
    auto out = data_.subspan(pos_, n);
    pos_ += n;
    return out;
}

int64_t reader::read_string_length(bool compact) {
    int64_t length;
    if (compact) {
        length = static_cast<int64_t>(read_unsigned_varint()) - 1;
    } else {
        length = read_int16();
    }
    if (!ok()) {
        return -1;
    }
    if (length < -1 || length > static_cast<int64_t>(max_string_length)) {
        fail(codec_status::invalid);
        return -1;
    }
    if (length > static_cast<int64_t>(remaining())) {
        fail(codec_status::truncated);
        return -1;
    }
    return length;
}

int64_t reader::read_bytes_length(bool compact) {
    int64_t length;
    if (compact) {
        length = static_cast<int64_t>(read_unsigned_varint()) - 1;
    } else {
        length = read_int32();
    }
    if (!ok()) {
        return -1;
    }
    if (length < -1) {
        fail(codec_status::invalid);
        return -1;
    }
    if (length > static_cast<int64_t>(remaining())) {
        fail(codec_status::truncated);
        return -1;
    }
    return length;
}

int64_t reader::read_array_length(bool compact, std::size_t min_element_size) {
    int64_t count;
    if (compact) {
        count = static_cast<int64_t>(read_unsigned_varint()) - 1;
    } else {
        count = read_int32();
    }
    if (!ok()) {
        return -1;
    }
    if (count < -1) {
        fail(codec_status::invalid);
        return -1;
    }
    const std::size_t unit = std::max<std::size_t>(min_element_size, 1);
    if (count > 0 && static_cast<uint64_t>(count) > remaining() / unit) {
        fail(codec_status::truncated);
        return -1;
    }
    return count;
}

void reader::read_string(std::string& out, bool compact) {
    const int64_t length = read_string_length(compact);
    if (length < 0) {
        out.clear();
        if (ok()) {
            fail(codec_status::invalid);  // null in a non-nullable string
        }
        return;
    }
    const auto bytes = read_span(static_cast<std::size_t>(length));
    out.assign(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

void reader::read_nullable_string(std::optional<std::string>& out, bool compact, bool nullable) {
    const int64_t length = read_string_length(compact);
    if (length < 0) {
        out.reset();
        if (ok() && !nullable) {
            fail(codec_status::invalid);
        }
        return;
    }
    const auto bytes = read_span(static_cast<std::size_t>(length));
    out.emplace(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

void reader::read_bytes(std::vector<uint8_t>& out, bool compact) {
    const int64_t length = read_bytes_length(compact);
    if (length < 0) {
        out.clear();
        if (ok()) {
            fail(codec_status::invalid);
        }
        return;
    }
    const auto bytes = read_span(static_cast<std::size_t>(length));
    out.assign(bytes.begin(), bytes.end());
}

void reader::read_nullable_bytes(std::optional<std::vector<uint8_t>>& out, bool compact,
                                 bool nullable) {
    const int64_t length = read_bytes_length(compact);
    if (length < 0) {
        out.reset();
        if (ok() && !nullable) {
            fail(codec_status::invalid);
        }
        return;
    }
    const auto bytes = read_span(static_cast<std::size_t>(length));
    out.emplace(bytes.begin(), bytes.end());
}

void reader::read_records(std::optional<records_ref>& out, bool compact, bool nullable) {
    const int64_t length = read_bytes_length(compact);
    if (length < 0) {
        out.reset();
        if (ok() && !nullable) {
            fail(codec_status::invalid);
        }
        return;
    }
    out.emplace();
    out->bytes = read_span(static_cast<std::size_t>(length));
}

// ---- writer ----

std::size_t writer::wire_size() const noexcept {
    std::size_t n = out_.size();
    for (const auto& s : splices_) {
        n += s.region.length;
    }
    return n;
}

void writer::write_float64(double v) {
    uint64_t bits;
    std::memcpy(&bits, &v, sizeof bits);
    write_big_endian(bits);
}

void writer::write_unsigned_varint(uint32_t v) {
    uint8_t bytes[max_varint_bytes];
    const std::size_t n = encode_unsigned_varlong(v, bytes);
    out_.insert(out_.end(), bytes, bytes + n);
}

void writer::write_varint(int32_t v) {
    uint8_t bytes[max_varint_bytes];
    const std::size_t n = encode_varint(v, bytes);
    out_.insert(out_.end(), bytes, bytes + n);
}

void writer::write_varlong(int64_t v) {
    uint8_t bytes[max_varlong_bytes];
    const std::size_t n = encode_varlong(v, bytes);
    out_.insert(out_.end(), bytes, bytes + n);
}

namespace {
// Compact lengths are uvarint(n + 1) and must fit in 32 bits like the reader expects.
uint32_t compact_length(std::size_t n) {
    if (n >= std::numeric_limits<uint32_t>::max()) {
        throw std::length_error("length does not fit a compact prefix");
    }
    return static_cast<uint32_t>(n + 1);
}
}  // namespace

void writer::write_string(std::string_view v, bool compact) {
    if (v.size() > max_string_length) {
        throw std::length_error("string longer than 32767 bytes");
    }
    if (compact) {
        write_unsigned_varint(compact_length(v.size()));
    } else {
        write_int16(static_cast<int16_t>(v.size()));
    }
    out_.insert(out_.end(), v.begin(), v.end());
}

void writer::write_null_string(bool compact) {
    if (compact) {
        write_unsigned_varint(0);
    } else {
        write_int16(-1);
    }
}

void writer::write_bytes(std::span<const uint8_t> v, bool compact) {
    if (v.size() > static_cast<std::size_t>(std::numeric_limits<int32_t>::max())) {
        throw std::length_error("bytes longer than INT32_MAX");
    }
    if (compact) {
        write_unsigned_varint(compact_length(v.size()));
    } else {
        write_int32(static_cast<int32_t>(v.size()));
    }
    out_.insert(out_.end(), v.begin(), v.end());
}

void writer::write_null_bytes(bool compact) {
    if (compact) {
        write_unsigned_varint(0);
    } else {
        write_int32(-1);
    }
}

void writer::write_records(const records_ref& v, bool compact) {
    const std::size_t total = v.size();
    if (total > static_cast<std::size_t>(std::numeric_limits<int32_t>::max())) {
        throw std::length_error("records longer than INT32_MAX");
    }
    if (compact) {
        write_unsigned_varint(compact_length(total));
    } else {
        write_int32(static_cast<int32_t>(total));
    }
    out_.insert(out_.end(), v.bytes.begin(), v.bytes.end());
    for (const auto& region : v.regions) {
        splices_.push_back(splice{out_.size(), region});
    }
}

void writer::write_array_length(std::size_t count, bool compact) {
    if (count > static_cast<std::size_t>(std::numeric_limits<int32_t>::max())) {
        throw std::length_error("array longer than INT32_MAX");
    }
    if (compact) {
        write_unsigned_varint(compact_length(count));
    } else {
        write_int32(static_cast<int32_t>(count));
    }
}

void writer::write_null_array(bool compact) {
    if (compact) {
        write_unsigned_varint(0);
    } else {
        write_int32(-1);
    }
}

}  // namespace broker::protocol
