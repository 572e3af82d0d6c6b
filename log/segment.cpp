#include "log/segment.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <limits>

namespace broker::log {
namespace {

constexpr std::size_t read_buffer_bytes = 8 * 1024;
constexpr std::size_t recovery_buffer_bytes = 1024 * 1024;

std::error_code truncate_file(int fd, uint64_t size) {
    while (::ftruncate(fd, static_cast<off_t>(size)) != 0) {
        if (errno != EINTR) {
            return errno_code();
        }
    }
    return {};
}

int64_t mtime_ms(const struct stat& st) {
    return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1'000'000;
}

/// Absolute timestamp of a record as a consumer sees it.
int64_t record_timestamp(const protocol::batch_header& header,
                         const protocol::record_view& record) {
    if (header.ts_type() == protocol::timestamp_type::log_append_time) {
        return header.max_timestamp;
    }
    return header.base_timestamp + record.timestamp_delta;
}

}  // namespace

std::string segment::file_stem(int64_t base_offset) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%020lld", static_cast<long long>(base_offset));
    return buffer;
}

std::filesystem::path segment::log_path(const std::filesystem::path& dir, int64_t base,
                                        const std::string& suffix) {
    return dir / (file_stem(base) + ".log" + suffix);
}

std::filesystem::path segment::index_path(const std::filesystem::path& dir, int64_t base,
                                          const std::string& suffix) {
    return dir / (file_stem(base) + ".index" + suffix);
}

std::filesystem::path segment::time_index_path(const std::filesystem::path& dir, int64_t base,
                                               const std::string& suffix) {
    return dir / (file_stem(base) + ".timeindex" + suffix);
}

segment::segment(std::filesystem::path dir, int64_t base, std::string suffix,
                 std::shared_ptr<const file_handle> file, int64_t index_interval)
    : dir_(std::move(dir)),
      base_(base),
      suffix_(std::move(suffix)),
      file_(std::move(file)),
      index_(index_path(dir_, base, suffix_), base),
      time_index_(time_index_path(dir_, base, suffix_), base),
      index_interval_(index_interval),
      next_offset_(base) {}

segment::~segment() = default;

result<std::shared_ptr<segment>> segment::create(const std::filesystem::path& dir,
                                                 int64_t base_offset, const log_config& config,
                                                 const std::string& suffix) {
    auto file = file_handle::open(log_path(dir, base_offset, suffix), O_RDWR | O_CREAT | O_TRUNC);
    if (!file) {
        return file.error();
    }
    std::shared_ptr<segment> seg(new segment(dir, base_offset, suffix, std::move(file).value(),
                                             config.index_interval_bytes));
    seg->index_bytes_ = static_cast<uint64_t>(config.segment_index_bytes);
    // A half-created segment (the disk filled up, the file size limit was hit) must not stay
    // behind: the next startup would load it as the newest segment.
    const auto discard = [&seg](std::error_code ec) {
        for (const auto& p : seg->paths()) {
            ::unlink(p.c_str());
        }
        return ec;
    };
    // Stale index files with these names (a segment recreated at the same base) must not leak
    // entries into the new one.
    for (const auto& p : {seg->index_.path(), seg->time_index_.path()}) {
        if (::unlink(p.c_str()) != 0 && errno != ENOENT) {
            return discard(errno_code());
        }
    }
    if (auto ec = seg->index_.open(seg->index_bytes_, true)) {
        return discard(ec);
    }
    if (auto ec = seg->time_index_.open(seg->index_bytes_, true)) {
        return discard(ec);
    }
    seg->writable_ = true;
    return seg;
}

result<std::shared_ptr<segment>> segment::open(const std::filesystem::path& dir,
                                               int64_t base_offset, const log_config& config,
                                               int64_t now_ms, bool writable, bool recover,
                                               const std::string& suffix) {
    auto file = file_handle::open(log_path(dir, base_offset, suffix), O_RDWR);
    if (!file) {
        return file.error();
    }
    struct stat st {};
    if (::fstat(file.value()->fd(), &st) != 0) {
        return errno_code();
    }
    std::shared_ptr<segment> seg(new segment(dir, base_offset, suffix, std::move(file).value(),
                                             config.index_interval_bytes));
    seg->index_bytes_ = static_cast<uint64_t>(config.segment_index_bytes);
    seg->size_ = static_cast<uint64_t>(st.st_size);
    seg->last_modified_ms_ = mtime_ms(st);

    std::error_code exists_ec;
    bool indexes_present = std::filesystem::exists(seg->index_.path(), exists_ec) &&
                           std::filesystem::exists(seg->time_index_.path(), exists_ec);
    bool rebuild = recover || !indexes_present;
    if (!rebuild) {
        if (auto ec = seg->index_.open(seg->index_bytes_, writable)) {
            return ec;
        }
        if (auto ec = seg->time_index_.open(seg->index_bytes_, writable)) {
            return ec;
        }
        bool consistent = seg->index_.sane(seg->size_) && seg->time_index_.sane();
        if (consistent) {
            if (auto ec = seg->load_tail_state(consistent)) {
                return ec;
            }
        }
        rebuild = !consistent;
        seg->writable_ = writable;
    }
    if (rebuild) {
        // Rebuilding needs room to append entries, so the indexes are opened writable and trimmed
        // afterwards when the segment is not the active one.
        // Start from empty files: a suspect index may be of any size.
        for (const auto& p : {seg->index_.path(), seg->time_index_.path()}) {
            if (::unlink(p.c_str()) != 0 && errno != ENOENT) {
                return errno_code();
            }
        }
        if (auto ec = seg->index_.open(seg->index_bytes_, true)) {
            return ec;
        }
        if (auto ec = seg->time_index_.open(seg->index_bytes_, true)) {
            return ec;
        }
        seg->writable_ = true;
        if (auto ec = seg->recover_from_log()) {
            return ec;
        }
        if (!writable) {
            if (auto ec = seg->close_writes()) {
                return ec;
            }
        }
    }

    if (writable && seg->size_ > 0) {
        // segment.ms counts from the first batch's timestamp when it is plausible, so a restart
        // does not give the active segment a fresh lease; otherwise from now.
        auto first = seg->find_batch(seg->base_);
        int64_t first_ts = -1;
        if (first && first.value()) {
            first_ts = first.value()->header.max_timestamp;
        }
        seg->rolling_base_ms_ = (first_ts >= 0 && first_ts <= now_ms) ? first_ts : now_ms;
    }
    seg->bytes_since_last_index_entry_ = seg->size_ - seg->index_.last_entry().position;
    return seg;
}

std::error_code segment::load_tail_state(bool& consistent) {
    consistent = false;
    offset_position last = index_.last_entry();
    if (size_ == 0) {
        consistent = index_.entries() == 0 && time_index_.entries() == 0;
        next_offset_ = base_;
        max_timestamp_ = -1;
        offset_of_max_timestamp_ = -1;
        return {};
    }
    timestamp_offset_entry last_time = time_index_.last_entry();
    max_timestamp_ = time_index_.entries() > 0 ? last_time.timestamp : -1;
    offset_of_max_timestamp_ = time_index_.entries() > 0 ? last_time.offset : -1;

    batch_reader reader(file_->fd(), last.position, size_, read_buffer_bytes);
    batch_entry b;
    int64_t previous_last = index_.entries() > 0 ? -1 : base_ - 1;
    bool any = false;
    while (true) {
        scan_status st = reader.next(b, false);
        if (st == scan_status::end) {
            break;
        }
        if (st == scan_status::io_error) {
            return reader.error();
        }
        if (st != scan_status::ok) {
            return {};  // torn or corrupt tail: not consistent
        }
        int64_t last_offset = b.header.last_offset();
        if (b.header.base_offset <= previous_last || b.header.base_offset < base_ ||
            last_offset - base_ > std::numeric_limits<int32_t>::max()) {
            return {};
        }
        if (b.header.max_timestamp > max_timestamp_) {
            max_timestamp_ = b.header.max_timestamp;
            offset_of_max_timestamp_ = last_offset;
        }
        previous_last = last_offset;
        any = true;
    }
    if (!any) {
        return {};
    }
    next_offset_ = previous_last + 1;
    consistent = (index_.entries() == 0 || last.offset < next_offset_) &&
                 (time_index_.entries() == 0 || last_time.offset < next_offset_);
    return {};
}

void segment::note_batch(uint64_t position, const protocol::batch_header& header,
                         std::size_t size) {
    int64_t last_offset = header.last_offset();
    if (header.max_timestamp > max_timestamp_) {
        max_timestamp_ = header.max_timestamp;
        offset_of_max_timestamp_ = last_offset;
    }
    if (bytes_since_last_index_entry_ > static_cast<uint64_t>(index_interval_)) {
        index_.append(last_offset, static_cast<uint32_t>(position));
        time_index_.maybe_append(max_timestamp_, offset_of_max_timestamp_);
        bytes_since_last_index_entry_ = 0;
    }
    bytes_since_last_index_entry_ += size;
    next_offset_ = last_offset + 1;
}

std::error_code segment::recover_from_log() {
    recovered_ = true;
    recovery_ = {};
    index_.reset();
    time_index_.reset();
    max_timestamp_ = -1;
    offset_of_max_timestamp_ = -1;
    bytes_since_last_index_entry_ = 0;
    next_offset_ = base_;

    auto file_size = file_->size();
    if (!file_size) {
        return file_size.error();
    }
    batch_reader reader(file_->fd(), 0, file_size.value(), recovery_buffer_bytes);
    batch_entry b;
    uint64_t valid = 0;
    int64_t expected = base_;
    while (true) {
        scan_status st = reader.next(b, true);
        if (st == scan_status::io_error) {
            return reader.error();
        }
        if (st != scan_status::ok) {
            break;  // end, torn tail or a length that cannot be a batch
        }
        if (protocol::validate_batch(b.bytes, false) != protocol::batch_error::ok) {
            break;
        }
        int64_t last_offset = b.header.last_offset();
        if (b.header.base_offset < expected ||
            last_offset - base_ > std::numeric_limits<int32_t>::max()) {
            break;
        }
        note_batch(b.position, b.header, b.size);
        expected = last_offset + 1;
        valid = reader.position();
        ++recovery_.batches;
    }
    if (valid < file_size.value()) {
        if (auto ec = truncate_file(file_->fd(), valid)) {
            return ec;
        }
        recovery_.truncated_bytes = file_size.value() - valid;
    }
    recovery_.valid_bytes = valid;
    size_ = valid;
    return {};
}

std::error_code segment::append(int64_t largest_offset, int64_t max_timestamp,
                                int64_t offset_of_max_timestamp, std::span<const uint8_t> bytes,
                                int64_t now_ms) {
    if (!writable_) {
        return make_error_code(errc::log_closed);
    }
    uint64_t position = size_;
    if (auto ec = write_all(file_->fd(), bytes, position)) {
        // Drop whatever part of the batch reached the file, so the next append (or recovery)
        // does not find half a batch here.
        truncate_file(file_->fd(), size_);
        return ec;
    }
    size_ += bytes.size();
    if (max_timestamp > max_timestamp_) {
        max_timestamp_ = max_timestamp;
        offset_of_max_timestamp_ = offset_of_max_timestamp;
    }
    if (bytes_since_last_index_entry_ > static_cast<uint64_t>(index_interval_)) {
        index_.append(largest_offset, static_cast<uint32_t>(position));
        time_index_.maybe_append(max_timestamp_, offset_of_max_timestamp_);
        bytes_since_last_index_entry_ = 0;
    }
    bytes_since_last_index_entry_ += bytes.size();
    next_offset_ = largest_offset + 1;
    last_modified_ms_ = now_ms;
    if (rolling_base_ms_ < 0) {
        rolling_base_ms_ = now_ms;
    }
    return {};
}

result<std::optional<batch_entry>> segment::find_batch(int64_t target) const {
    offset_position hint = index_.lookup(target);
    batch_reader reader(file_->fd(), hint.position, size_, read_buffer_bytes);
    batch_entry b;
    while (true) {
        scan_status st = reader.next(b, false);
        if (st == scan_status::ok) {
            if (b.header.last_offset() >= target) {
                return std::optional<batch_entry>(b);
            }
            continue;
        }
        if (st == scan_status::io_error) {
            return reader.error();
        }
        if (st == scan_status::corrupt) {
            return make_error_code(errc::corrupt_file);
        }
        return std::optional<batch_entry>();
    }
}

result<segment_read> segment::read(int64_t start_offset, uint64_t max_bytes, int64_t offset_bound,
                                   bool oversize_first) const {
    segment_read r;
    auto found = find_batch(start_offset);
    if (!found) {
        return found.error();
    }
    if (!found.value()) {
        r.next_offset = next_offset_;
        return r;
    }
    const batch_entry first = *found.value();
    if (first.header.last_offset() >= offset_bound || (first.size > max_bytes && !oversize_first)) {
        r.next_offset = first.header.base_offset;
        r.limit_reached = true;
        return r;
    }
    r.position = first.position;
    r.first_offset = first.header.base_offset;
    uint64_t end = first.position + first.size;
    r.next_offset = first.header.last_offset() + 1;
    uint64_t limit = max_bytes >= size_ - first.position ? size_ : first.position + max_bytes;

    // Every batch before an index entry that lies within the byte limit and below the offset bound
    // qualifies, so jump there instead of reading each header in between.
    if (auto e = index_.last_entry_before(limit, offset_bound); e && e->position > end) {
        end = e->position;
    }
    batch_reader reader(file_->fd(), end, size_, read_buffer_bytes);
    batch_entry b;
    while (true) {
        scan_status st = reader.next(b, false);
        if (st == scan_status::end) {
            r.next_offset = next_offset_;
            break;
        }
        if (st == scan_status::io_error) {
            return reader.error();
        }
        if (st != scan_status::ok) {
            return make_error_code(errc::corrupt_file);
        }
        if (b.header.last_offset() >= offset_bound || b.position + b.size > limit) {
            r.next_offset = b.header.base_offset;
            r.limit_reached = true;
            break;
        }
        end = b.position + b.size;
        r.next_offset = b.header.last_offset() + 1;
    }
    r.length = end - r.position;
    return r;
}

std::error_code segment::read_batch(uint64_t position, std::size_t size,
                                    std::vector<uint8_t>& out) const {
    out.resize(size);
    return read_exact(file_->fd(), out, position);
}

result<std::optional<segment::timestamp_match>> segment::find_timestamp(int64_t target,
                                                                        int64_t min_offset) const {
    using answer = std::optional<timestamp_match>;
    if (max_timestamp_ < target) {
        return answer();
    }
    // Records before the time index entry found have timestamps below the target, and records below
    // min_offset do not count, so the scan starts at whichever of the two comes later.
    timestamp_offset_entry start = time_index_.lookup(target);
    offset_position hint = index_.lookup(std::max(start.offset, min_offset));
    batch_reader reader(file_->fd(), hint.position, size_, read_buffer_bytes);
    batch_entry b;
    std::vector<uint8_t> bytes;
    protocol::decoded_batch decoded;
    while (true) {
        scan_status st = reader.next(b, false);
        if (st == scan_status::io_error) {
            return reader.error();
        }
        if (st != scan_status::ok) {
            return answer();
        }
        if (b.header.max_timestamp < target || b.header.record_count == 0 ||
            b.header.last_offset() < min_offset) {
            continue;
        }
        if (auto ec = read_batch(b.position, b.size, bytes)) {
            return ec;
        }
        if (protocol::decode_batch(bytes, decoded) != protocol::batch_error::ok) {
            // Undecodable payload: answer with the batch, which is where a consumer would start.
            return answer(timestamp_match{b.header.max_timestamp,
                                          std::max(b.header.base_offset, min_offset),
                                          b.header.partition_leader_epoch});
        }
        for (const auto& record : decoded.records) {
            int64_t ts = record_timestamp(b.header, record);
            int64_t off = b.header.base_offset + record.offset_delta;
            if (ts >= target && off >= min_offset) {
                return answer(timestamp_match{ts, off, b.header.partition_leader_epoch});
            }
        }
    }
}

result<std::optional<segment::timestamp_match>> segment::find_max_timestamp() const {
    using answer = std::optional<timestamp_match>;
    if (size_ == 0 || offset_of_max_timestamp_ < 0) {
        return answer();
    }
    auto found = find_batch(offset_of_max_timestamp_);
    if (!found) {
        return found.error();
    }
    if (!found.value()) {
        return answer();
    }
    const batch_entry& b = *found.value();
    timestamp_match fallback{b.header.max_timestamp, b.header.last_offset(),
                             b.header.partition_leader_epoch};
    if (b.header.ts_type() == protocol::timestamp_type::log_append_time) {
        fallback.offset = b.header.base_offset;
        return answer(fallback);
    }
    std::vector<uint8_t> bytes;
    if (auto ec = read_batch(b.position, b.size, bytes)) {
        return ec;
    }
    protocol::decoded_batch decoded;
    if (protocol::decode_batch(bytes, decoded) != protocol::batch_error::ok) {
        return answer(fallback);
    }
    for (const auto& record : decoded.records) {
        if (record_timestamp(b.header, record) == b.header.max_timestamp) {
            return answer(timestamp_match{b.header.max_timestamp,
                                          b.header.base_offset + record.offset_delta,
                                          b.header.partition_leader_epoch});
        }
    }
    return answer(fallback);
}

result<uint64_t> segment::truncate_to(int64_t offset) {
    auto found = find_batch(offset);
    if (!found) {
        return found.error();
    }
    if (!found.value()) {
        return uint64_t{0};
    }
    uint64_t position = found.value()->position;
    uint64_t removed = size_ - position;
    if (auto ec = truncate_file(file_->fd(), position)) {
        return ec;
    }
    size_ = position;
    index_.truncate_to(offset);
    time_index_.truncate_to(offset);
    bool consistent = false;
    if (auto ec = load_tail_state(consistent)) {
        return ec;
    }
    if (!consistent) {
        // The indexes disagree with what is left; rebuild them rather than trust them.
        bool was_writable = writable_;
        if (!was_writable) {
            if (auto ec = index_.make_writable(index_bytes_)) {
                return ec;
            }
            if (auto ec = time_index_.make_writable(index_bytes_)) {
                return ec;
            }
            writable_ = true;
        }
        if (auto ec = recover_from_log()) {
            return ec;
        }
        if (!was_writable) {
            if (auto ec = close_writes()) {
                return ec;
            }
        }
    }
    bytes_since_last_index_entry_ = size_ - index_.last_entry().position;
    if (size_ == 0) {
        rolling_base_ms_ = -1;
    }
    return removed;
}

std::error_code segment::close_writes() {
    if (!writable_) {
        return {};
    }
    if (max_timestamp_ >= 0) {
        time_index_.maybe_append(max_timestamp_, offset_of_max_timestamp_, true);
    }
    if (auto ec = index_.trim()) {
        return ec;
    }
    if (auto ec = time_index_.trim()) {
        return ec;
    }
    if (auto ec = truncate_file(file_->fd(), size_)) {
        return ec;
    }
    writable_ = false;
    return {};
}

std::error_code segment::make_writable(const log_config& config) {
    index_bytes_ = static_cast<uint64_t>(config.segment_index_bytes);
    index_interval_ = config.index_interval_bytes;
    if (auto ec = index_.make_writable(index_bytes_)) {
        return ec;
    }
    if (auto ec = time_index_.make_writable(index_bytes_)) {
        return ec;
    }
    writable_ = true;
    return {};
}

std::error_code segment::flush() const {
    if (auto ec = sync_file(file_->fd())) {
        return ec;
    }
    if (auto ec = index_.flush()) {
        return ec;
    }
    return time_index_.flush();
}

std::error_code segment::rename_suffix(const std::string& suffix) {
    if (suffix == suffix_) {
        return {};
    }
    auto from = log_path(dir_, base_, suffix_);
    auto to = log_path(dir_, base_, suffix);
    if (::rename(from.c_str(), to.c_str()) != 0) {
        return errno_code();
    }
    if (auto ec = index_.rename(index_path(dir_, base_, suffix))) {
        return ec;
    }
    if (auto ec = time_index_.rename(time_index_path(dir_, base_, suffix))) {
        return ec;
    }
    suffix_ = suffix;
    return {};
}

std::vector<std::filesystem::path> segment::paths() const {
    return {log_path(dir_, base_, suffix_), index_.path(), time_index_.path()};
}

}  // namespace broker::log
