#pragma once
// The memory-mapped file behind offset_index and time_index: an array of fixed-size entries.
//
// An index that can grow (the active segment's) is preallocated to segment.index.bytes, rounded
// down to whole entries, with ftruncate (a sparse file, so it costs no disk space) and mapped
// read-write; entries are appended by storing into the mapping. When the segment rolls or the log
// closes, the file is trimmed to the entries actually written and remapped read-only, so a cleanly
// closed index file holds exactly its entries. After an unclean shutdown an active index may still
// be preallocated (trailing zero entries); the partition log rebuilds such indexes from the log.
//
// Threading: owned by its segment, used on the partition's owner thread. flush() (msync) may run on
// another thread concurrently with owner operations: remapping and flushing share a mutex, appends
// only store into mapped memory.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <system_error>

namespace broker::log {

class mapped_index {
public:
    mapped_index(std::filesystem::path path, std::size_t entry_size);
    ~mapped_index();
    mapped_index(const mapped_index&) = delete;
    mapped_index& operator=(const mapped_index&) = delete;

    /// Opens the file, creating it if missing. The entry count is the file size divided by the
    /// entry size (a partial trailing entry is ignored). With `writable`, the file is extended to
    /// `max_bytes` and mapped read-write; otherwise the entries are mapped read-only.
    std::error_code open(uint64_t max_bytes, bool writable);
    /// Extends (or shrinks, never below the current entries) the preallocation and maps read-write.
    std::error_code make_writable(uint64_t max_bytes);
    /// Shrinks the file to exactly the current entries and maps them read-only.
    std::error_code trim();
    /// msync of the mapping; safe to call from another thread.
    std::error_code flush() const;
    /// Unmaps and deletes the file.
    std::error_code remove();
    /// Renames the file; the mapping stays valid.
    std::error_code rename(const std::filesystem::path& to);

    const std::filesystem::path& path() const { return path_; }
    std::size_t entries() const { return entries_; }
    std::size_t max_entries() const { return max_entries_; }
    bool writable() const { return writable_; }
    /// Drops entries beyond `n` (they are overwritten by later appends and trimmed on close).
    void set_entries(std::size_t n) { entries_ = n < entries_ ? n : entries_; }
    /// Pointer to entry `i` (< entries(), or == entries() < max_entries() for writing).
    const uint8_t* entry(std::size_t i) const { return base_ + i * entry_size_; }
    uint8_t* slot(std::size_t i) { return base_ + i * entry_size_; }
    /// Counts a slot written with slot(entries()) as an entry.
    void commit_entry() { ++entries_; }
    /// The file size found by open(), before any preallocation: a cleanly closed index is a whole
    /// number of entries.
    uint64_t opened_bytes() const { return opened_bytes_; }

private:
    std::error_code map(uint64_t bytes, bool writable);
    void unmap();

    std::filesystem::path path_;
    std::size_t entry_size_;
    uint8_t* base_ = nullptr;
    uint64_t mapped_bytes_ = 0;
    std::size_t entries_ = 0;
    std::size_t max_entries_ = 0;
    uint64_t opened_bytes_ = 0;
    bool writable_ = false;
    mutable std::mutex map_mutex_;
};

}  // namespace broker::log
