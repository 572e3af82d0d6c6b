// Produce (key 0): validates each partition's record batch, checks idempotent producer sequences,
// appends under the partition's mutex, and answers with the assigned offsets. docs/produce.md
// describes the validation order, the error codes and the decisions taken.
//
// The request runs in three passes, so that no partition mutex is ever held while waiting:
//   1. checks that need no lock (Kafka's request-level checks, then the batch itself: framing,
//      CRC-32C, decompression and record walk, record timestamps and keys), all off the lock;
//   2. for each accepted partition in turn: lock, check the producer sequence, append, record the
//      producer batch, advance the high watermark, unlock, wake waiting fetches;
//   3. durability: a partition whose flush.messages / flush.ms is due is flushed on the blocking
//      pool before the answer (group commit: concurrent producers share one fsync per partition).
// acks=0 sends no response at all; if any partition failed the connection is closed instead, which
// is how Kafka tells such a producer something went wrong.
#include "common/asio.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <limits>
#include <mutex>
#include <sys/statvfs.h>
#include <unordered_map>

#include "log/errors.h"
#include "log/producer_state.h"
#include "protocol/generated/messages.h"
#include "protocol/records.h"
#include "server/handlers/common.h"
#include "server/handlers/handlers.h"
#include "server/logging.h"
#include "server/metrics.h"
#include "server/topic_store.h"

namespace broker::server {
namespace {

using protocol::error_code;
using response_type = protocol::produce_response;
using partition_response = response_type::partition_produce_response;
using record_error = response_type::batch_index_and_error_message;

constexpr std::size_t magic_position = 16;  // the magic byte, same place in every message format
constexpr std::size_t legacy_min_length = 14;  // smallest batch_length field of any message format

/// The work and outcome of one partition of the request.
struct partition_work {
    std::size_t topic_index = 0;
    std::size_t partition_index = 0;
    std::string_view topic;
    int32_t index = 0;
    std::shared_ptr<partition> target;
    std::shared_ptr<const topic_config> config;
    std::span<const uint8_t> records;
    protocol::batch_header header;
    /// The batch as it will be written; the log rewrites its offsets in place. Normally the
    /// records' own bytes in the request frame; `rebuilt` when the topic recompresses them, or a
    /// copy when the frame is not writable (handlers run without a connection in tests).
    std::span<uint8_t> batch;
    std::vector<uint8_t> rebuilt;

    error_code error = error_code::none;
    std::optional<std::string> message;
    std::vector<record_error> record_errors;
    /// Fill log_start_offset even though the partition failed (Kafka does for sequence, epoch and
    /// record validation errors, so producers can tell a lost producer state from a real gap).
    bool report_log_start = false;

    /// Written to the log (not a duplicate, not refused): counts in the topic's bytes/messages in.
    bool appended = false;
    int64_t base_offset = -1;
    int64_t log_append_time = -1;
    int64_t log_start_offset = -1;
    /// Offsets below this must be durable before answering (-1: no flush needed).
    int64_t flush_target = -1;
    /// A producer-state snapshot to write (the active segment rolled): contents and offset.
    std::string snapshot;
    int64_t snapshot_offset = -1;
    std::filesystem::path snapshot_dir;

    void fail(error_code e, std::string text = {}) {
        error = e;
        if (!text.empty()) {
            message = std::move(text);
        }
    }
};

std::string partition_name(std::string_view topic, int32_t index) {
    std::string out(topic);
    out += '-';
    out += std::to_string(index);
    return out;
}

/// Log-layer failures as Kafka error codes; the one mapping of the produce path.
error_code map_append_error(const std::error_code& ec) {
    if (ec.category() == log::log_category()) {
        switch (static_cast<log::errc>(ec.value())) {
        case log::errc::message_too_large:
            return error_code::message_too_large;
        case log::errc::record_batch_too_large:
            return error_code::record_list_too_large;
        case log::errc::corrupt_batch:
            return error_code::corrupt_message;
        case log::errc::log_closed:
            return error_code::not_leader_or_follower;
        default:
            return error_code::unknown_server_error;
        }
    }
    // The system category: the disk failed us.
    return error_code::kafka_storage_error;
}

/// Bytes an unprivileged writer may still use on the filesystem holding `dir` (statvfs f_bavail);
/// nullopt when it cannot be read. statvfs reads the superblock counters, it does not touch the disk.
std::optional<uint64_t> free_bytes(const std::filesystem::path& dir) {
    struct statvfs st {};
    if (::statvfs(dir.c_str(), &st) != 0) {
        return std::nullopt;
    }
    return static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
}

/// The error_message of a KAFKA_STORAGE_ERROR: which broker refused, why, and how much space its
/// log dir has left, so that an operator reading the producer's log knows where to look.
std::string storage_error_message(int32_t broker_id, std::string_view topic, int32_t index,
                                  const std::filesystem::path& dir, std::string_view cause) {
    const std::optional<uint64_t> free = free_bytes(dir);
    return "Broker " + std::to_string(broker_id) + " cannot append to " + partition_name(topic, index) + ": " +
           std::string(cause) + " (log dir " + dir.parent_path().string() + " has " +
           (free ? std::to_string(*free) : std::string("unknown")) + " bytes free)";
}

int64_t monotonic_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

/// True at most once every 10 s: a full disk refuses every produce, and one log line per refusal
/// would bury everything else.
bool storage_log_due() {
    static std::atomic<int64_t> last_ms{std::numeric_limits<int64_t>::min() / 2};
    const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::steady_clock::now().time_since_epoch())
                               .count();
    int64_t last = last_ms.load(std::memory_order_relaxed);
    return now_ms - last >= 10000 && last_ms.compare_exchange_strong(last, now_ms, std::memory_order_relaxed);
}

/// A batch_error as Kafka reports the same defect: framing and CRC damage is CORRUPT_MESSAGE
/// (retriable: the bytes may have been damaged on the way), a well-formed batch whose records are
/// inconsistent is INVALID_RECORD (not retriable: the producer built it wrong).
error_code map_batch_error(protocol::batch_error e) {
    switch (e) {
    case protocol::batch_error::truncated:
    case protocol::batch_error::bad_length:
    case protocol::batch_error::bad_crc:
    case protocol::batch_error::bad_compression:
    case protocol::batch_error::bad_magic:
        return error_code::corrupt_message;
    case protocol::batch_error::bad_record:
    case protocol::batch_error::bad_record_count:
    case protocol::batch_error::bad_offset_delta:
        return error_code::invalid_record;
    case protocol::batch_error::ok:
        break;
    }
    return error_code::none;
}

/// Kafka's per-request record checks (ProduceRequest.validateRecords and the batch iterator): one
/// complete v2 batch, no zstd before v7. Sets `w.header` on success.
void check_framing(partition_work& w, int16_t version) {
    const std::span<const uint8_t> r = w.records;
    if (r.size() < protocol::batch_overhead) {
        w.fail(error_code::invalid_record, "Produce requests must have exactly one record batch per partition");
        return;
    }
    const auto length = static_cast<int32_t>((uint32_t{r[8]} << 24) | (uint32_t{r[9]} << 16) |
                                             (uint32_t{r[10]} << 8) | uint32_t{r[11]});
    if (length < static_cast<int32_t>(legacy_min_length)) {
        w.fail(error_code::corrupt_message, "Record batch size " + std::to_string(length) +
                                                " is smaller than the minimum record overhead");
        return;
    }
    const std::size_t total = static_cast<std::size_t>(length) + protocol::batch_overhead;
    if (r.size() <= magic_position || r.size() < total) {
        w.fail(error_code::invalid_record, "Produce requests must have exactly one record batch per partition");
        return;
    }
    const auto magic = static_cast<int8_t>(r[magic_position]);
    if (magic != protocol::current_magic) {
        if (version < 3) {
            // Legacy message sets (magic 0/1) are not stored by this broker (docs/produce.md).
            w.fail(error_code::unsupported_for_message_format,
                   "This broker stores only record batches of magic 2, not " + std::to_string(magic));
        } else {
            w.fail(error_code::invalid_record, "Produce requests with version " + std::to_string(version) +
                                                   " are only allowed to contain record batches with magic version 2");
        }
        return;
    }
    if (r.size() > total) {
        w.fail(error_code::invalid_record, "Produce requests are only allowed to contain exactly one record batch per partition");
        return;
    }
    auto header = protocol::parse_batch_header(r);
    if (total < protocol::batch_header_size || !header) {
        w.fail(error_code::corrupt_message, "Record batch is smaller than its 61-byte header");
        return;
    }
    w.header = *header;
    if (version < 7 && w.header.compression() == protocol::compression_type::zstd) {
        w.fail(error_code::unsupported_compression_type,
               "Produce requests with version " + std::to_string(version) + " are not allowed to use ZStandard compression");
    }
}

std::optional<protocol::compression_type> topic_compression(const std::string& name) {
    if (name == "uncompressed") {
        return protocol::compression_type::none;
    }
    if (name == "gzip") {
        return protocol::compression_type::gzip;
    }
    if (name == "snappy") {
        return protocol::compression_type::snappy;
    }
    if (name == "lz4") {
        return protocol::compression_type::lz4;
    }
    if (name == "zstd") {
        return protocol::compression_type::zstd;
    }
    return std::nullopt;  // "producer": keep the producer's codec
}

/// True when `ts` lies outside [now - before_max, now + after_max] (computed without overflow).
bool timestamp_out_of_range(int64_t ts, int64_t now, int64_t before_max, int64_t after_max) {
    const __int128 diff = static_cast<__int128>(now) - ts;
    return diff > before_max || -diff > after_max;
}

/// Record-level checks (Kafka's LogValidator): keys on compacted topics, timestamps within the
/// topic's bounds, no LogAppendTime set by the producer. Decompresses the batch, so it runs only
/// when one of those checks can fail, or when the topic recompresses. Fills `w.rebuilt` and points
/// `w.batch` at it when the batch is rebuilt with the topic's codec.
void check_records(partition_work& w, int64_t now) {
    const topic_config& cfg = *w.config;
    const bool compacted = log::compacts(cfg.log.policy);
    const bool create_time = cfg.log.message_timestamp_type == protocol::timestamp_type::create_time;
    const bool bounded = create_time && (cfg.message_timestamp_before_max_ms != std::numeric_limits<int64_t>::max() ||
                                         cfg.message_timestamp_after_max_ms != std::numeric_limits<int64_t>::max());
    const bool append_time_from_producer = w.header.ts_type() == protocol::timestamp_type::log_append_time;
    const auto target = topic_compression(cfg.compression_type);
    const bool recompress = target && *target != w.header.compression();
    if (!compacted && !bounded && !append_time_from_producer && !recompress) {
        return;
    }
    protocol::decoded_batch decoded;
    if (auto e = protocol::decode_batch(w.records, decoded); e != protocol::batch_error::ok) {
        w.fail(map_batch_error(e), std::string("Invalid record batch: ") + protocol::to_string(e));
        return;
    }
    bool timestamp_error = false;
    for (std::size_t i = 0; i < decoded.records.size(); ++i) {
        const protocol::record_view& r = decoded.records[i];
        std::optional<std::string> problem;
        if (compacted && !r.key) {
            problem = "Compacted topic cannot accept message without key in topic partition " +
                      partition_name(w.topic, w.index) + ".";
        } else {
            const int64_t ts = decoded.header.base_timestamp + r.timestamp_delta;
            if (create_time && ts != log::no_timestamp) {
                if (timestamp_out_of_range(ts, now, cfg.message_timestamp_before_max_ms,
                                           cfg.message_timestamp_after_max_ms)) {
                    problem = "Timestamp " + std::to_string(ts) + " of message with offset " + std::to_string(i) +
                              " is out of range.";
                    timestamp_error = true;
                }
            } else if (append_time_from_producer) {
                problem = "Invalid timestamp type in message. Producer should not set timestamp type to LogAppendTime.";
                timestamp_error = true;
            }
        }
        if (problem) {
            record_error e;
            e.batch_index = static_cast<int32_t>(i);
            e.batch_index_error_message = std::move(problem);
            w.record_errors.push_back(std::move(e));
        }
    }
    if (!w.record_errors.empty()) {
        w.report_log_start = true;
        if (timestamp_error) {
            w.fail(error_code::invalid_timestamp, "One or more records have been rejected due to invalid timestamp");
        } else {
            w.fail(error_code::invalid_record, "One or more records have been rejected due to " +
                                                   std::to_string(w.record_errors.size()) + " record errors in total");
        }
        return;
    }
    if (recompress) {
        std::vector<protocol::record_data> records;
        records.reserve(decoded.records.size());
        for (const protocol::record_view& r : decoded.records) {
            protocol::record_data d;
            if (r.key) {
                d.key.emplace(r.key->begin(), r.key->end());
            }
            if (r.value) {
                d.value.emplace(r.value->begin(), r.value->end());
            }
            for (const protocol::record_header_view& h : r.headers) {
                protocol::record_header header;
                header.key = std::string(h.key);
                if (h.value) {
                    header.value.emplace(h.value->begin(), h.value->end());
                }
                d.headers.push_back(std::move(header));
            }
            d.timestamp = decoded.header.base_timestamp + r.timestamp_delta;
            d.offset_delta = r.offset_delta;
            records.push_back(std::move(d));
        }
        protocol::batch_build_options o;
        o.compression = *target;
        o.ts_type = decoded.header.ts_type();
        o.producer_id = decoded.header.producer_id;
        o.producer_epoch = decoded.header.producer_epoch;
        o.base_sequence = decoded.header.base_sequence;
        o.transactional = decoded.header.is_transactional();
        o.control = decoded.header.is_control();
        o.last_offset_delta = decoded.header.last_offset_delta;
        o.base_timestamp = decoded.header.base_timestamp;
        o.max_timestamp = decoded.header.max_timestamp;
        w.rebuilt = protocol::build_batch(records, o);
        w.batch = w.rebuilt;
    }
}

/// The bytes of `records` inside the writable request frame, or an empty span when they are not
/// in it.
std::span<uint8_t> writable_view(std::span<uint8_t> frame, std::span<const uint8_t> records) {
    const uint8_t* begin = frame.data();
    const uint8_t* end = begin + frame.size();
    if (records.empty() || records.data() < begin || records.data() > end ||
        records.size() > static_cast<std::size_t>(end - records.data())) {
        return {};
    }
    return frame.subspan(static_cast<std::size_t>(records.data() - begin), records.size());
}

/// Pass 1 for one partition, after check_framing: the batch itself, off the lock.
void validate_partition(partition_work& w, std::span<uint8_t> frame, int64_t now) {
    if (static_cast<int64_t>(w.records.size()) > w.config->log.max_message_bytes) {
        w.fail(error_code::message_too_large,
               "The record batch size in the append to " + partition_name(w.topic, w.index) + " is " +
                   std::to_string(w.records.size()) + " bytes which exceeds the maximum configured value of " +
                   std::to_string(w.config->log.max_message_bytes) + ".");
        return;
    }
    if (auto e = protocol::validate_batch(w.records, true); e != protocol::batch_error::ok) {
        w.fail(map_batch_error(e), std::string("Invalid record batch: ") + protocol::to_string(e));
        return;
    }
    if (w.header.is_control()) {
        w.fail(error_code::invalid_record,
               "Clients are not allowed to write control records in topic partition " + partition_name(w.topic, w.index));
        return;
    }
    if (w.header.producer_id >= 0 && w.header.base_sequence < 0) {
        w.fail(error_code::invalid_record, "Invalid sequence number " + std::to_string(w.header.base_sequence) +
                                               " in record batch with producerId " + std::to_string(w.header.producer_id));
        return;
    }
    check_records(w, now);
    if (w.error == error_code::none && w.batch.empty()) {
        w.batch = writable_view(frame, w.records);
        if (w.batch.empty()) {
            w.rebuilt.assign(w.records.begin(), w.records.end());
            w.batch = w.rebuilt;
        }
    }
}

/// Pass 2 for one partition: the sequence check and the append, under the partition's mutex.
void append_partition(partition_work& w, const broker_config& broker, int64_t now) {
    partition& p = *w.target;
    {
        std::lock_guard lock(p.mutex);
        if (p.deleted || !p.log) {
            w.fail(error_code::unknown_topic_or_partition);
            return;
        }
        log::partition_log& plog = *p.log;
        if (!p.producers.loaded()) {
            // Normally loaded when the partition is opened; this covers any partition that was not.
            if (auto ec = p.producers.load(plog)) {
                BROKER_LOG_ERROR("loading producer state of " << partition_name(w.topic, w.index) << ": "
                                                              << ec.message());
                w.fail(error_code::kafka_storage_error);
                return;
            }
        }
        p.producers.expire_if_due(now, broker.producer_id_expiration_ms, broker.producer_id_expiration_check_interval_ms);

        const protocol::batch_header& h = w.header;
        const bool idempotent = h.producer_id >= 0;
        const int32_t last_sequence =
            idempotent ? log::increment_sequence(h.base_sequence, std::max(h.last_offset_delta, 0)) : -1;
        if (idempotent) {
            const log::sequence_check_result verdict =
                p.producers.check(h.producer_id, h.producer_epoch, h.base_sequence, last_sequence);
            switch (verdict.status) {
            case log::sequence_check::ok:
                break;
            case log::sequence_check::duplicate:
                // A retry of a batch already written: Kafka answers with the original offsets and
                // writes nothing.
                w.base_offset = verdict.duplicate_of.first_offset;
                w.log_start_offset = plog.log_start_offset().value();
                if (w.config->log.message_timestamp_type == protocol::timestamp_type::log_append_time) {
                    w.log_append_time = verdict.duplicate_of.max_timestamp;
                }
                return;
            case log::sequence_check::invalid_producer_epoch: {
                const log::producer_entry* entry = p.producers.find(h.producer_id);
                w.fail(error_code::invalid_producer_epoch,
                       "Epoch of producer " + std::to_string(h.producer_id) + " is " + std::to_string(h.producer_epoch) +
                           ", which is smaller than the last seen epoch " + std::to_string(entry ? entry->epoch : -1));
                w.report_log_start = true;
                w.log_start_offset = plog.log_start_offset().value();
                return;
            }
            case log::sequence_check::out_of_order_sequence: {
                const log::producer_entry* entry = p.producers.find(h.producer_id);
                w.fail(error_code::out_of_order_sequence_number,
                       "Out of order sequence number for producer " + std::to_string(h.producer_id) + " at epoch " +
                           std::to_string(h.producer_epoch) + ": " + std::to_string(h.base_sequence) +
                           " (incoming seq. number), " + std::to_string(entry ? entry->last_sequence() : -1) +
                           " (current end sequence number)");
                w.report_log_start = true;
                w.log_start_offset = plog.log_start_offset().value();
                return;
            }
            }
        }

        if (broker.log_dir_min_free_bytes > 0) {
            // log.dir.min.free.bytes: refuse before the filesystem is really full, so that index
            // pages, checkpoints and snapshots still find room (docs/decisions.md, "Storage errors
            // and a full disk").
            if (!p.space) {
                p.space = log_dir_space::of(plog.dir().parent_path());
            }
            if (!p.space->take(w.batch.size(), static_cast<uint64_t>(broker.log_dir_min_free_bytes), monotonic_ms())) {
                w.fail(error_code::kafka_storage_error,
                       storage_error_message(broker.broker_id, w.topic, w.index, plog.dir(),
                                             "the append would leave less than log.dir.min.free.bytes=" +
                                                 std::to_string(broker.log_dir_min_free_bytes) + " bytes free"));
                if (storage_log_due()) {
                    BROKER_LOG_WARN("refusing appends: " << *w.message);
                }
                return;
            }
        }
        auto appended = plog.append(w.batch, p.leader_epoch());
        if (!appended) {
            const error_code e = map_append_error(appended.error());
            if (e == error_code::kafka_storage_error) {
                // The log has cut any partial write back to the last whole batch and stays
                // writable: the next append tries again (a full disk is not a failed disk).
                w.fail(e, storage_error_message(broker.broker_id, w.topic, w.index, plog.dir(),
                                                "write failed: " + appended.error().message()));
                if (storage_log_due()) {
                    BROKER_LOG_ERROR(*w.message);
                }
                return;
            }
            if (e == error_code::unknown_server_error) {
                BROKER_LOG_ERROR("append to " << partition_name(w.topic, w.index) << ": " << appended.error().message());
            }
            w.fail(e);
            return;
        }
        const log::append_result& a = appended.value();
        if (a.rolled) {
            // A new segment starts at this batch: snapshot the producer state as of its base offset
            // (before this batch is recorded), as Kafka does on every roll.
            w.snapshot_offset = a.base_offset.value();
            w.snapshot = p.producers.serialize_snapshot(w.snapshot_offset);
            w.snapshot_dir = plog.dir();
        }
        if (idempotent) {
            log::producer_batch b;
            b.first_sequence = h.base_sequence;
            b.last_sequence = last_sequence;
            b.first_offset = a.base_offset.value();
            b.last_offset = a.last_offset.value();
            b.max_timestamp = a.log_append_time >= 0 ? a.log_append_time : h.max_timestamp;
            p.producers.record(h.producer_id, h.producer_epoch, b);
        }
        // A single node is the whole ISR: everything appended is committed.
        plog.set_high_watermark(plog.log_end_offset());
        w.base_offset = a.base_offset.value();
        w.log_append_time = a.log_append_time;
        w.log_start_offset = a.log_start_offset.value();
        if (plog.flush_due(now)) {
            w.flush_target = a.last_offset.value() + 1;
        }
    }
    p.notify_waiters();
    w.appended = true;
}

// -------------------------------------------------------------------------------------------------
// Group commit

/// Flushes requested by the produce path, coordinated per partition so that concurrent producers
/// share fsyncs: at most one flush per partition runs at a time; a producer whose data it covers
/// waits for it, and producers arriving meanwhile wait and then share the next one, which covers
/// everything appended until it starts. The registry holds an entry only while a flush runs.
/// Thread-safety: any thread (one mutex); waiters are woken on their own executors.
class flush_groups {
public:
    static flush_groups& instance() {
        static flush_groups groups;
        return groups;
    }

    /// Makes the offsets below `target` of `p` durable. Returns the flush's I/O error, if any.
    net::awaitable<std::error_code> flush(shard_group& shards, std::shared_ptr<partition> p, int64_t target) {
        std::shared_ptr<log::partition_log> plog;
        {
            std::lock_guard lock(p->mutex);
            if (p->deleted || !p->log) {
                co_return log::make_error_code(log::errc::log_closed);
            }
            plog = p->log;
        }
        const net::any_io_executor executor = co_await net::this_coro::executor;
        for (;;) {
            if (plog->recovery_point().value() >= target) {
                co_return std::error_code{};
            }
            std::unique_lock registry(mutex_);
            state& st = states_[p.get()];
            if (st.in_flight) {
                net::steady_timer timer(executor, net::steady_timer::time_point::max());
                st.waiters.push_back(waiter{executor, &timer});
                registry.unlock();
                boost::system::error_code ignored;
                co_await timer.async_wait(net::redirect_error(net::use_awaitable, ignored));
                continue;  // the flush we waited for may not cover us: look again
            }
            st.in_flight = true;
            registry.unlock();

            std::error_code error;
            try {
                error = co_await flush_once(shards, *p, *plog, target);
            } catch (...) {
                finish(p.get());  // waiters must not wait for a flush that will never end
                throw;
            }
            finish(p.get());
            co_return error;
        }
    }

private:
    /// One flush of `plog` covering everything appended so far (at least up to `target`).
    static net::awaitable<std::error_code> flush_once(shard_group& shards, partition& p, log::partition_log& plog,
                                                      int64_t target) {
        log::flush_request request;
        {
            std::lock_guard lock(p.mutex);
            if (p.deleted) {
                co_return log::make_error_code(log::errc::log_closed);
            }
            request = plog.prepare_flush(log::offset(target));
        }
        if (request.done()) {
            co_return std::error_code{};
        }
        const std::error_code error = co_await shards.run_blocking([&request] { return request.run(); });
        if (!error) {
            std::lock_guard lock(p.mutex);
            plog.complete_flush(request);
        }
        co_return error;
    }

    /// Ends the partition's in-flight flush and wakes everyone who waited for it.
    void finish(const partition* p) {
        std::lock_guard registry(mutex_);
        auto it = states_.find(p);
        if (it == states_.end()) {
            return;
        }
        for (const waiter& w : it->second.waiters) {
            // Expiring (not just cancelling) also covers a wait that has not started yet.
            net::post(w.executor, [timer = w.timer] { timer->expires_at(net::steady_timer::time_point::min()); });
        }
        states_.erase(it);
    }

    struct waiter {
        net::any_io_executor executor;
        net::steady_timer* timer;
    };
    struct state {
        bool in_flight = false;
        std::vector<waiter> waiters;
    };
    std::mutex mutex_;
    std::unordered_map<const partition*, state> states_;
};

}  // namespace

net::awaitable<handler_result> handle_produce(request_context& ctx, protocol::reader& body) {
    protocol::produce_request request;
    if (protocol::decode(body, ctx.api_version, request) != protocol::codec_status::ok) {
        co_return handler_result::close();
    }
    const int16_t version = ctx.api_version;
    broker_core& broker = ctx.broker;
    const int64_t now = broker.store().clock().now_ms();

    // Lay out the response in request order and collect the partitions.
    response_type response;
    std::vector<partition_work> work;
    bool transactional = false;
    for (std::size_t t = 0; t < request.topic_data.size(); ++t) {
        const auto& topic = request.topic_data[t];
        response_type::topic_produce_response out_topic;
        out_topic.name = topic.name;
        for (std::size_t i = 0; i < topic.partition_data.size(); ++i) {
            const auto& part = topic.partition_data[i];
            partition_response out;
            out.index = part.index;
            out_topic.partition_responses.push_back(std::move(out));
            partition_work w;
            w.topic_index = t;
            w.partition_index = i;
            w.topic = topic.name;
            w.index = part.index;
            if (part.records) {
                w.records = part.records->bytes;
            }
            // Kafka looks at the first batch of each partition for the transactional flag before
            // anything else (the whole request needs the transactional id authorized).
            if (w.records.size() >= protocol::batch_header_size &&
                static_cast<int8_t>(w.records[magic_position]) == protocol::current_magic) {
                if (auto h = protocol::parse_batch_header(w.records); h && h->is_transactional()) {
                    transactional = true;
                }
            }
            work.push_back(std::move(w));
        }
        response.responses.push_back(std::move(out_topic));
    }

    if (transactional) {
        // No transaction coordinator here: no transactional id is authorized (docs/produce.md).
        for (partition_work& w : work) {
            w.fail(error_code::transactional_id_authorization_failed,
                   "This broker does not support transactions: transactional records are refused");
        }
    } else {
        const bool acks_valid = request.acks == -1 || request.acks == 0 || request.acks == 1;
        // One topic lookup per topic of the request, not per partition.
        std::shared_ptr<const topic_store::partition_list> table;
        std::size_t table_topic = std::numeric_limits<std::size_t>::max();
        for (partition_work& w : work) {
            if (w.topic_index != table_topic) {
                table = broker.store().partition_table(w.topic);
                table_topic = w.topic_index;
            }
            if (table && w.index >= 0 && static_cast<std::size_t>(w.index) < table->size()) {
                w.target = (*table)[static_cast<std::size_t>(w.index)];
            }
            if (!w.target) {
                w.fail(error_code::unknown_topic_or_partition,
                       "This server does not host this topic-partition.");
                continue;
            }
            w.config = w.target->config();
            check_framing(w, version);
            if (w.error != error_code::none) {
                continue;
            }
            if (!acks_valid) {
                w.fail(error_code::invalid_required_acks);
                continue;
            }
            if (topic_store::is_internal_topic_name(w.topic)) {
                w.fail(error_code::invalid_topic_exception, "Cannot append to internal topic " + std::string(w.topic));
                continue;
            }
            if (request.acks == -1 && w.config->min_insync_replicas > 1) {
                // The in-sync replica set of a single node has one member.
                w.fail(error_code::not_enough_replicas,
                       "The size of the current ISR 1 is insufficient to satisfy the min.isr requirement of " +
                           std::to_string(w.config->min_insync_replicas) + " for partition " +
                           partition_name(w.topic, w.index));
                continue;
            }
            validate_partition(w, ctx.frame, now);
        }
        for (partition_work& w : work) {
            if (w.error == error_code::none) {
                append_partition(w, broker.config(), now);
            }
        }
        // Bytes and messages in, once per topic of the request (work is in request order).
        for (std::size_t i = 0; i < work.size();) {
            uint64_t bytes = 0;
            int64_t records = 0;
            std::size_t j = i;
            for (; j < work.size() && work[j].topic_index == work[i].topic_index; ++j) {
                if (work[j].appended) {
                    bytes += work[j].batch.size();
                    records += std::max(work[j].header.record_count, 0);
                }
            }
            if (bytes > 0) {
                record_topic_in(work[i].topic, bytes, records);
            }
            i = j;
        }
        for (partition_work& w : work) {
            if (!w.snapshot.empty()) {
                const std::error_code ec = co_await broker.shards().run_blocking([&w] {
                    return log::producer_state_table::write_snapshot_file(w.snapshot_dir, w.snapshot_offset, w.snapshot);
                });
                if (ec) {
                    // The state is still in memory; a missing snapshot only makes the next startup
                    // scan more of the log.
                    BROKER_LOG_WARN("writing producer snapshot of " << partition_name(w.topic, w.index) << ": "
                                                                   << ec.message());
                }
            }
            if (w.error == error_code::none && w.flush_target >= 0) {
                const std::error_code ec =
                    co_await flush_groups::instance().flush(broker.shards(), w.target, w.flush_target);
                if (ec) {
                    BROKER_LOG_ERROR("flush of " << partition_name(w.topic, w.index) << ": " << ec.message());
                    w.fail(map_append_error(ec));
                }
            }
        }
    }

    bool any_error = false;
    for (partition_work& w : work) {
        partition_response& out = response.responses[w.topic_index].partition_responses[w.partition_index];
        out.error_code = code(w.error);
        if (w.error == error_code::none) {
            out.base_offset = w.base_offset;
            out.log_append_time_ms = w.log_append_time;
            out.log_start_offset = w.log_start_offset;
            continue;
        }
        any_error = true;
        out.base_offset = -1;
        out.log_append_time_ms = -1;
        out.log_start_offset = w.report_log_start ? w.log_start_offset : -1;
        if (w.report_log_start && w.log_start_offset < 0 && w.target) {
            std::lock_guard lock(w.target->mutex);
            if (!w.target->deleted && w.target->log) {
                out.log_start_offset = w.target->log->log_start_offset().value();
            }
        }
        out.record_errors = std::move(w.record_errors);
        out.error_message = std::move(w.message);
    }

    if (request.acks == 0) {
        // No response; a failure closes the connection so the producer notices (Kafka does this).
        co_return any_error ? handler_result::close() : handler_result::no_reply();
    }
    co_return handler_result::reply(encode_response(ctx, response));
}

}  // namespace broker::server
