#pragma once
// producer_id_manager: hands out producer ids for InitProducerId, never the same id twice, across
// restarts and crashes.
//
// Ids are reserved in blocks of `block_size` (Kafka's controller hands brokers blocks of 1000 the
// same way) from a producer_id_block_source: the local block file on a single node
// (file_producer_id_blocks), `/latest_producer_id_block` in ZooKeeper for a cluster. A source
// records a block durably before handing it out, so a crash skips the unused rest of the block but
// never repeats an id. Ids start at 0.
//
// The local file's format (`<first log dir>/producer-id-block`, text, replaced atomically: temp
// file, fsync, rename, directory fsync):
//   line 1: version, "0"
//   line 2: the first id not yet reserved (decimal)
// A file that does not parse stops allocation (an error) rather than risk reusing ids; an operator
// can remove it only if no producer of this cluster is still alive.
//
// Ids are producer_id_t (common/types.h); the block file and the InitProducerId response hold them
// as raw int64.
//
// Thread-safety: every member may be called from any thread (a mutex guards the counter).
// allocate() blocks when it reserves a block (one durable write per `block_size` ids), so call it
// from the blocking pool; try_allocate() never does I/O and suits a shard thread.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <system_error>

#include "common/types.h"

namespace broker::server {

/// Where blocks of producer ids come from.
class producer_id_block_source {
public:
    virtual ~producer_id_block_source() = default;
    /// Reserves the next `size` ids durably and returns the first. Errors: I/O,
    /// log::errc::corrupt_file (an unreadable record of earlier blocks), std::errc::value_too_large
    /// (the id space is exhausted). Blocking.
    virtual std::error_code next_block(int64_t size, producer_id_t& first) = 0;
};

/// Blocks recorded in a local file (see the file comment), for a single node.
class file_producer_id_blocks final : public producer_id_block_source {
public:
    /// `file` is the block file; its directory is created when missing.
    explicit file_producer_id_blocks(std::filesystem::path file);
    std::error_code next_block(int64_t size, producer_id_t& first) override;
    const std::filesystem::path& file() const { return file_; }

private:
    const std::filesystem::path file_;
    bool loaded_ = false;
    int64_t end_ = 0;  // first id beyond every block handed out (what the file says)
};

class producer_id_manager {
public:
    static constexpr int64_t block_size = 1000;
    static constexpr const char* file_name = "producer-id-block";

    explicit producer_id_manager(std::unique_ptr<producer_id_block_source> source);
    /// A manager over the local block file `file`.
    explicit producer_id_manager(std::filesystem::path file);
    producer_id_manager(const producer_id_manager&) = delete;
    producer_id_manager& operator=(const producer_id_manager&) = delete;

    /// What allocate() produced: an id, or the error that prevented reserving one.
    struct allocation {
        producer_id_t id = no_producer_id;
        std::error_code error;
    };

    /// The next id, reserving a new block first (blocking) when the current one is used up. Errors:
    /// those of producer_id_block_source::next_block.
    allocation allocate();
    /// The next id when the current block still has one (no I/O); nullopt otherwise.
    std::optional<producer_id_t> try_allocate();

private:
    const std::unique_ptr<producer_id_block_source> source_;
    std::mutex mutex_;
    // Positions in the id space, counted as raw integers and handed out as producer_id_t.
    int64_t next_ = 0;       // next id to hand out
    int64_t block_end_ = 0;  // first id beyond the current block
};

}  // namespace broker::server
