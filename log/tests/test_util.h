#pragma once
// Helpers shared by the log tests: a temporary directory, batch builders and a reader that turns a
// log back into records.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "log/partition_log.h"
#include "protocol/records.h"

namespace broker::log::test {

/// A fresh directory under the system temp dir, removed with everything in it on destruction.
class temp_dir {
public:
    temp_dir();
    ~temp_dir();
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

/// A record for building test batches. An empty optional value is a tombstone.
struct kv {
    std::optional<std::string> key;
    std::optional<std::string> value;
    int64_t timestamp = 1000;
};

std::vector<uint8_t> to_bytes(const std::string& s);
/// prefix + decimal n. (Spelled out because GCC 12 warns falsely on `"k" + std::to_string(n)`.)
std::string numbered(std::string prefix, int64_t n);

/// One batch of `records` (offsets 0..n-1, to be reassigned by the log).
std::vector<uint8_t> make_batch(
    const std::vector<kv>& records,
    protocol::compression_type compression = protocol::compression_type::none,
    int64_t producer_id = -1, int64_t base_offset = 0, int32_t leader_epoch = -1);
/// A batch of `count` records with values of `value_bytes` bytes, all with timestamp `ts`.
std::vector<uint8_t> make_simple_batch(int count, std::size_t value_bytes, int64_t ts = 1000);

/// Small segments and indexes so tests roll and index often.
log_config small_config();

partition_log_options options_for(const std::filesystem::path& dir, const log_config& config,
                                  const clock& time);

/// Opens the log in `dir` (as after a clean shutdown unless `clean` is false); a failed open is a
/// test failure and returns nullptr.
std::unique_ptr<partition_log> open_log(const std::filesystem::path& dir, const log_config& config,
                                        const clock& time, bool clean = true);

/// A record read back from a log.
struct read_record {
    int64_t offset;
    std::optional<std::string> key;
    std::optional<std::string> value;
    int64_t timestamp;
    friend bool operator==(const read_record&, const read_record&) = default;
};
/// Every record from `from` up to the log end, via read() and decode_batch.
std::vector<read_record> read_records(const partition_log& log, int64_t from = -1);
/// The (base offset, last offset) of every batch in a byte buffer of whole batches.
std::vector<std::pair<int64_t, int64_t>> batch_ranges(const std::vector<uint8_t>& bytes);

}  // namespace broker::log::test
