#include "log/batch_reader.h"

#include <algorithm>
#include <limits>

#include "log/file.h"

namespace broker::log {

batch_reader::batch_reader(int fd, uint64_t start, uint64_t end, std::size_t buffer_size)
    : fd_(fd),
      position_(start),
      end_(end),
      buffer_size_(std::max<std::size_t>(buffer_size, protocol::batch_header_size)) {}

bool batch_reader::ensure(uint64_t pos, std::size_t n, bool& short_read) {
    short_read = false;
    if (pos >= buffer_start_ && pos + n <= buffer_start_ + buffer_len_) {
        return true;
    }
    uint64_t available = end_ - pos;
    std::size_t want =
        static_cast<std::size_t>(std::min<uint64_t>(std::max(n, buffer_size_), available));
    if (buffer_.size() < want) {
        buffer_.resize(want);
    }
    auto got = read_some(fd_, std::span<uint8_t>(buffer_.data(), want), pos);
    if (!got) {
        error_ = got.error();
        return false;
    }
    buffer_start_ = pos;
    buffer_len_ = got.value();
    if (buffer_len_ < n) {
        short_read = true;
        return false;
    }
    return true;
}

scan_status batch_reader::next(batch_entry& out, bool load_body) {
    if (position_ >= end_) {
        return scan_status::end;
    }
    uint64_t remaining = end_ - position_;
    if (remaining < protocol::batch_overhead) {
        return scan_status::truncated;
    }
    bool short_read = false;
    std::size_t header_bytes =
        static_cast<std::size_t>(std::min<uint64_t>(remaining, protocol::batch_header_size));
    if (!ensure(position_, header_bytes, short_read)) {
        return short_read ? scan_status::truncated : scan_status::io_error;
    }
    std::span<const uint8_t> view(buffer_.data() + (position_ - buffer_start_), header_bytes);
    auto size = protocol::peek_batch_size(view);
    if (!size || *size < protocol::batch_header_size) {
        return scan_status::corrupt;
    }
    if (*size > remaining) {
        return scan_status::truncated;
    }
    if (header_bytes < protocol::batch_header_size) {
        return scan_status::truncated;
    }
    auto header = protocol::parse_batch_header(view);
    // Offsets must leave room for last_offset() + 1 (the CRC does not cover base_offset, so a
    // damaged one is only caught here).
    if (!header || header->magic != protocol::current_magic || header->last_offset_delta < 0 ||
        header->base_offset < 0 ||
        header->base_offset > std::numeric_limits<int64_t>::max() - 1 - header->last_offset_delta) {
        return scan_status::corrupt;
    }
    out.position = position_;
    out.size = *size;
    out.header = *header;
    out.bytes = {};
    if (load_body) {
        if (!ensure(position_, *size, short_read)) {
            return short_read ? scan_status::truncated : scan_status::io_error;
        }
        out.bytes = std::span<const uint8_t>(buffer_.data() + (position_ - buffer_start_), *size);
    }
    position_ += *size;
    return scan_status::ok;
}

}  // namespace broker::log
