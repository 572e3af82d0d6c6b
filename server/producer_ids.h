#pragma once
// producer_id_manager: hands out producer ids for InitProducerId, never the same id twice, across
// restarts and crashes.
//
// Ids are reserved in blocks of `block_size` (Kafka's controller hands brokers blocks of 1000 the
// same way). Before the first id of a block is handed out, the end of the block is written durably
// to the block file; after a restart allocation resumes at that end. A crash therefore skips the
// unused rest of the block, but never repeats an id. Ids start at 0.
//
// File format (`<first log dir>/producer-id-block`, text, replaced atomically: temp file, fsync,
// rename, directory fsync):
//   line 1: version, "0"
//   line 2: the first id not yet reserved (decimal)
// A file that does not parse stops allocation (an error) rather than risk reusing ids; an operator
// can remove it only if no producer of this cluster is still alive.
//
// Thread-safety: every member may be called from any thread (a mutex guards the counter). The file
// is read lazily by the first allocate(); allocate() blocks when it reserves a block (one durable
// file write per `block_size` ids), so call it from the blocking pool; try_allocate() never does
// I/O and suits a shard thread.
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <system_error>

namespace broker::server {

class producer_id_manager {
public:
    static constexpr int64_t block_size = 1000;
    static constexpr const char* file_name = "producer-id-block";

    /// `file` is the block file; its directory is created when missing.
    explicit producer_id_manager(std::filesystem::path file);
    producer_id_manager(const producer_id_manager&) = delete;
    producer_id_manager& operator=(const producer_id_manager&) = delete;

    /// What allocate() produced: an id, or the error that prevented reserving one.
    struct allocation {
        int64_t id = -1;
        std::error_code error;
    };

    /// The next id, reserving a new block first (blocking file write) when the current one is used
    /// up. Errors: I/O, log::errc::corrupt_file (unparsable block file), std::errc::value_too_large
    /// (the id space is exhausted).
    allocation allocate();
    /// The next id when the current block still has one (no I/O); nullopt otherwise.
    std::optional<int64_t> try_allocate();

    const std::filesystem::path& file() const { return file_; }

private:
    std::error_code load_locked();
    std::error_code reserve_locked();

    const std::filesystem::path file_;
    std::mutex mutex_;
    bool loaded_ = false;
    int64_t next_ = 0;       // next id to hand out
    int64_t block_end_ = 0;  // first id beyond the reserved block (what the file says)
};

}  // namespace broker::server
