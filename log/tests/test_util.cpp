#include "log/tests/test_util.h"

#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>

namespace broker::log::test {

temp_dir::temp_dir() {
    static std::atomic<int> counter{0};
    auto base = std::filesystem::temp_directory_path();
    path_ = base / ("log_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
}

temp_dir::~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
}

std::vector<uint8_t> to_bytes(const std::string& s) {
    return std::vector<uint8_t>(s.begin(), s.end());
}

std::string numbered(std::string prefix, int64_t n) {
    prefix += std::to_string(n);
    return prefix;
}

std::vector<uint8_t> make_batch(const std::vector<kv>& records,
                                protocol::compression_type compression, int64_t producer_id,
                                int64_t base_offset, int32_t leader_epoch) {
    std::vector<protocol::record_data> data;
    for (const auto& r : records) {
        protocol::record_data d;
        if (r.key) {
            d.key = to_bytes(*r.key);
        }
        if (r.value) {
            d.value = to_bytes(*r.value);
        }
        d.timestamp = r.timestamp;
        data.push_back(std::move(d));
    }
    protocol::batch_build_options o;
    o.compression = compression;
    o.base_offset = base_offset;
    o.partition_leader_epoch = leader_epoch;
    if (producer_id >= 0) {
        o.producer_id = producer_id;
        o.producer_epoch = 0;
        o.base_sequence = 0;
    }
    return protocol::build_batch(data, o);
}

std::vector<uint8_t> make_simple_batch(int count, std::size_t value_bytes, int64_t ts) {
    std::vector<kv> records;
    for (int i = 0; i < count; ++i) {
        records.push_back(
            {std::nullopt, std::string(value_bytes, static_cast<char>('a' + i % 26)), ts});
    }
    return make_batch(records);
}

log_config small_config() {
    log_config c;
    c.segment_bytes = 1024;
    c.segment_index_bytes = 4096;
    c.index_interval_bytes = 128;
    c.file_delete_delay_ms = 0;
    return c;
}

partition_log_options options_for(const std::filesystem::path& dir, const log_config& config,
                                  const clock& time) {
    partition_log_options o;
    o.dir = dir;
    o.partition = topic_partition{"t", 0};
    o.config = config;
    o.time = &time;
    return o;
}

std::vector<read_record> read_records(const partition_log& log, int64_t from) {
    std::vector<read_record> out;
    int64_t at = from < 0 ? log.log_start_offset().value() : from;
    const offset end = log.log_end_offset();
    while (at < end.value()) {
        auto r = log.read(offset(at), 64 * 1024, end);
        if (!r) {
            throw std::runtime_error("read failed: " + r.error().message());
        }
        if (r.value().empty()) {
            break;
        }
        auto bytes = r.value().read_all();
        if (!bytes) {
            throw std::runtime_error("read_all failed");
        }
        std::span<const uint8_t> rest(bytes.value());
        while (!rest.empty()) {
            auto size = protocol::peek_batch_size(rest);
            if (!size || *size > rest.size()) {
                throw std::runtime_error("read returned a partial batch");
            }
            protocol::decoded_batch d;
            if (protocol::decode_batch(rest.first(*size), d) != protocol::batch_error::ok) {
                throw std::runtime_error("read returned an undecodable batch");
            }
            for (const auto& rec : d.records) {
                read_record rr;
                rr.offset = d.header.base_offset + rec.offset_delta;
                if (rr.offset < at) {
                    continue;
                }
                if (rec.key) {
                    rr.key = std::string(rec.key->begin(), rec.key->end());
                }
                if (rec.value) {
                    rr.value = std::string(rec.value->begin(), rec.value->end());
                }
                rr.timestamp = d.header.ts_type() == protocol::timestamp_type::log_append_time
                                   ? d.header.max_timestamp
                                   : d.header.base_timestamp + rec.timestamp_delta;
                out.push_back(rr);
            }
            rest = rest.subspan(*size);
        }
        int64_t next = r.value().next_offset.value();
        if (next <= at) {
            throw std::runtime_error("read made no progress");
        }
        at = next;
    }
    return out;
}

std::vector<std::pair<int64_t, int64_t>> batch_ranges(const std::vector<uint8_t>& bytes) {
    std::vector<std::pair<int64_t, int64_t>> out;
    std::span<const uint8_t> rest(bytes);
    while (!rest.empty()) {
        auto h = protocol::parse_batch_header(rest);
        if (!h) {
            throw std::runtime_error("not a batch");
        }
        out.emplace_back(h->base_offset, h->last_offset());
        rest = rest.subspan(h->size_bytes());
    }
    return out;
}

std::unique_ptr<partition_log> open_log(const std::filesystem::path& dir, const log_config& config,
                                        const clock& time, bool clean) {
    auto o = options_for(dir, config, time);
    o.had_clean_shutdown = clean;
    auto log = partition_log::open(std::move(o));
    EXPECT_TRUE(log) << "open failed: " << (log ? std::string() : log.error().message());
    return log ? std::move(log).value() : nullptr;
}

}  // namespace broker::log::test
