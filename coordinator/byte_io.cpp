#include "coordinator/byte_io.h"

#include "protocol/varint.h"

namespace broker::server::coordinator {

uint64_t byte_reader::read_be(int n) {
    if (!ok_ || end_ - p_ < n) {
        ok_ = false;
        return 0;
    }
    uint64_t v = 0;
    for (int i = 0; i < n; ++i) {
        v = (v << 8) | p_[i];
    }
    p_ += n;
    return v;
}

uint32_t byte_reader::read_unsigned_varint() {
    if (!ok_) {
        return 0;
    }
    auto r = protocol::decode_unsigned_varint(p_, end_);
    if (!r) {
        ok_ = false;
        return 0;
    }
    p_ += r->length;
    return r->value;
}

int64_t byte_reader::read_length(bool compact, bool int16_length) {
    int64_t n;
    if (compact) {
        n = static_cast<int64_t>(read_unsigned_varint()) - 1;
    } else if (int16_length) {
        n = read_int16();
    } else {
        n = read_int32();
    }
    if (!ok_) {
        return -1;
    }
    if (n < -1 || (n >= 0 && static_cast<uint64_t>(n) > remaining())) {
        ok_ = false;
        return -1;
    }
    return n;
}

std::string_view byte_reader::take(std::size_t n) {
    std::string_view v(reinterpret_cast<const char*>(p_), n);
    p_ += n;
    return v;
}

std::optional<std::string> byte_reader::read_nullable_string(bool compact) {
    int64_t n = read_length(compact, true);
    if (!ok_ || n < 0) {
        return std::nullopt;
    }
    return std::string(take(static_cast<std::size_t>(n)));
}

std::string byte_reader::read_string(bool compact) {
    int64_t n = read_length(compact, true);
    if (!ok_) {
        return {};
    }
    if (n < 0) {
        ok_ = false;
        return {};
    }
    return std::string(take(static_cast<std::size_t>(n)));
}

std::optional<bytes> byte_reader::read_nullable_bytes(bool compact) {
    int64_t n = read_length(compact, false);
    if (!ok_ || n < 0) {
        return std::nullopt;
    }
    auto v = take(static_cast<std::size_t>(n));
    return bytes(v.begin(), v.end());
}

bytes byte_reader::read_bytes(bool compact) {
    int64_t n = read_length(compact, false);
    if (!ok_) {
        return {};
    }
    if (n < 0) {
        ok_ = false;
        return {};
    }
    auto v = take(static_cast<std::size_t>(n));
    return bytes(v.begin(), v.end());
}

int32_t byte_reader::read_array_count(bool compact, std::size_t min_element_size) {
    int64_t n = compact ? static_cast<int64_t>(read_unsigned_varint()) - 1 : read_int32();
    if (!ok_) {
        return 0;
    }
    if (n < 0 || static_cast<uint64_t>(n) * min_element_size > remaining()) {
        ok_ = false;
        return 0;
    }
    return static_cast<int32_t>(n);
}

void byte_reader::skip_tagged_fields() {
    uint32_t count = read_unsigned_varint();
    for (uint32_t i = 0; ok_ && i < count; ++i) {
        read_unsigned_varint();  // tag
        uint32_t size = read_unsigned_varint();
        if (!ok_ || size > remaining()) {
            ok_ = false;
            return;
        }
        p_ += size;
    }
}

void byte_writer::write_be(uint64_t v, int n) {
    for (int i = n - 1; i >= 0; --i) {
        out_.push_back(static_cast<uint8_t>(v >> (8 * i)));
    }
}

void byte_writer::write_unsigned_varint(uint32_t v) {
    while (v >= 0x80) {
        out_.push_back(static_cast<uint8_t>(v | 0x80));
        v >>= 7;
    }
    out_.push_back(static_cast<uint8_t>(v));
}

void byte_writer::write_nullable_string(const std::optional<std::string>& s, bool compact) {
    if (!s) {
        if (compact) {
            write_unsigned_varint(0);
        } else {
            write_int16(-1);
        }
        return;
    }
    write_string(*s, compact);
}

void byte_writer::write_string(std::string_view s, bool compact) {
    if (compact) {
        write_unsigned_varint(static_cast<uint32_t>(s.size() + 1));
    } else {
        write_int16(static_cast<int16_t>(s.size()));
    }
    out_.insert(out_.end(), s.begin(), s.end());
}

void byte_writer::write_bytes(std::span<const uint8_t> b, bool compact) {
    if (compact) {
        write_unsigned_varint(static_cast<uint32_t>(b.size() + 1));
    } else {
        write_int32(static_cast<int32_t>(b.size()));
    }
    out_.insert(out_.end(), b.begin(), b.end());
}

void byte_writer::write_array_count(std::size_t n, bool compact) {
    if (compact) {
        write_unsigned_varint(static_cast<uint32_t>(n + 1));
    } else {
        write_int32(static_cast<int32_t>(n));
    }
}

}  // namespace broker::server::coordinator
