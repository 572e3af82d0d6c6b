#pragma once
// Sequential reader over the record batches stored in a region of a .log file.
//
// Reads through a buffer (one pread per buffer's worth of small batches), parses each batch's
// 61-byte header and, on request, exposes the whole batch's bytes. It checks only the framing:
// batch_length within bounds, magic 2. CRC validation is the caller's choice (recovery does it).
// Used by segment recovery, reads, timestamp lookups and the cleaner.
//
// Not thread-safe; a reader belongs to one call. The file descriptor must outlive the reader.
#include <cstddef>
#include <cstdint>
#include <span>
#include <system_error>
#include <vector>

#include "protocol/records.h"

namespace broker::log {

struct batch_entry {
    uint64_t position = 0;           // byte position of the batch in the file
    std::size_t size = 0;            // whole batch, batch_length + 12
    protocol::batch_header header;   // parsed 61-byte header
    std::span<const uint8_t> bytes;  // whole batch when loaded; valid until the next call
};

enum class scan_status {
    ok,         // a batch was read
    end,        // the region ends exactly here
    truncated,  // the region ends inside a batch (torn write or concurrent truncation)
    corrupt,    // a length or magic that cannot be a batch
    io_error,   // pread failed; see error()
};

class batch_reader {
public:
    /// Reads batches from [start, end) of `fd`.
    batch_reader(int fd, uint64_t start, uint64_t end, std::size_t buffer_size = 16 * 1024);

    /// Reads the next batch header and, with `load_body`, the whole batch.
    scan_status next(batch_entry& out, bool load_body);
    /// Position of the next batch (after the last one returned).
    uint64_t position() const { return position_; }
    std::error_code error() const { return error_; }

private:
    /// Makes [pos, pos + n) available in the buffer; false on I/O error or short file.
    bool ensure(uint64_t pos, std::size_t n, bool& short_read);

    int fd_;
    uint64_t position_;
    uint64_t end_;
    std::size_t buffer_size_;
    std::vector<uint8_t> buffer_;
    uint64_t buffer_start_ = 0;
    std::size_t buffer_len_ = 0;
    std::error_code error_;
};

}  // namespace broker::log
