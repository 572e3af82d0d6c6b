// Produce (key 0): validates each partition's record batch, appends it through the partition's
// leader append, and answers with the assigned offsets. docs/produce.md describes the validation
// order, the error codes and the decisions taken.
//
// The request runs in four passes, so that no partition lock is ever held while waiting:
//   1. checks that need no lock (Kafka's request-level checks, min.insync.replicas for acks=-1,
//      then the batch itself: framing, CRC-32C, decompression and record walk, record timestamps
//      and keys);
//   2. for each accepted partition, one call: partition::append_as_leader (producer sequence,
//      disk reserve, append, producer state, high watermark, waking waiters);
//   3. durability: a partition whose flush.messages / flush.ms is due is flushed on the blocking
//      pool before the answer (group commit: concurrent producers share one fsync per partition);
//   4. acks=-1: a delayed operation waits until every appended partition's high watermark passes
//      its batch, or the request's timeout_ms (REQUEST_TIMED_OUT). The request frame is released
//      first: the batches are written, nothing needs it any more.
// acks=0 sends no response at all; if any partition failed the connection is closed instead, which
// is how Kafka tells such a producer something went wrong.
#include "common/asio.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <limits>
#include <mutex>
#include <unordered_map>

#include "common/big_endian.h"
#include "log/errors.h"
#include "log/producer_state.h"
#include "protocol/generated/messages.h"
#include "protocol/records.h"
#include "server/handlers/common.h"
#include "server/handlers/handlers.h"
#include "server/logging.h"
#include "server/metrics.h"
#include "server/replica/delayed_operation.h"
#include "server/replica/errors.h"
#include "server/replica/group_commit.h"
#include "server/topic_store.h"

namespace broker::server {
namespace {

using protocol::error_code;
using response_type = protocol::produce_response;
using partition_response = response_type::partition_produce_response;
using record_error = response_type::batch_index_and_error_message;

constexpr std::size_t magic_position = 16;     // the magic byte, same place in every message format
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

    /// The leader append's outcome (offsets, flush and snapshot duties).
    leader_append_result result;

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

/// A batch_error as Kafka reports the same defect: framing and CRC damage is CORRUPT_MESSAGE
/// (retriable: the bytes may have been damaged on the way), a well-formed batch whose records are
/// inconsistent is INVALID_RECORD (not retriable: the producer built it wrong).
error_code map_batch_error(protocol::batch_error e) {
    switch (e) {
        case protocol::batch_error::truncated:
        case protocol::batch_error::bad_length:
        case protocol::batch_error::bad_crc:
        case protocol::batch_error::bad_compression:
        case protocol::batch_error::bad_magic: return error_code::corrupt_message;
        case protocol::batch_error::bad_record:
        case protocol::batch_error::bad_record_count:
        case protocol::batch_error::bad_offset_delta: return error_code::invalid_record;
        case protocol::batch_error::ok: break;
    }
    return error_code::none;
}

/// Kafka's per-request record checks (ProduceRequest.validateRecords and the batch iterator): one
/// complete v2 batch, no zstd before v7. Sets `w.header` on success.
void check_framing(partition_work& w, int16_t version) {
    const std::span<const uint8_t> r = w.records;
    if (r.size() < protocol::batch_overhead) {
        w.fail(error_code::invalid_record,
               "Produce requests must have exactly one record batch per partition");
        return;
    }
    const auto length = static_cast<int32_t>(load_be32(r.data() + 8));
    if (length < static_cast<int32_t>(legacy_min_length)) {
        w.fail(error_code::corrupt_message, "Record batch size " + std::to_string(length) +
                                                " is smaller than the minimum record overhead");
        return;
    }
    const std::size_t total = static_cast<std::size_t>(length) + protocol::batch_overhead;
    if (r.size() <= magic_position || r.size() < total) {
        w.fail(error_code::invalid_record,
               "Produce requests must have exactly one record batch per partition");
        return;
    }
    const auto magic = static_cast<int8_t>(r[magic_position]);
    if (magic != protocol::current_magic) {
        if (version < 3) {
            // Legacy message sets (magic 0/1) are not stored by this broker (docs/produce.md).
            w.fail(
                error_code::unsupported_for_message_format,
                "This broker stores only record batches of magic 2, not " + std::to_string(magic));
        } else {
            w.fail(error_code::invalid_record,
                   "Produce requests with version " + std::to_string(version) +
                       " are only allowed to contain record batches with magic version 2");
        }
        return;
    }
    if (r.size() > total) {
        w.fail(
            error_code::invalid_record,
            "Produce requests are only allowed to contain exactly one record batch per partition");
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
               "Produce requests with version " + std::to_string(version) +
                   " are not allowed to use ZStandard compression");
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
    const bool create_time =
        cfg.log.message_timestamp_type == protocol::timestamp_type::create_time;
    const bool bounded =
        create_time &&
        (cfg.message_timestamp_before_max_ms != std::numeric_limits<int64_t>::max() ||
         cfg.message_timestamp_after_max_ms != std::numeric_limits<int64_t>::max());
    const bool append_time_from_producer =
        w.header.ts_type() == protocol::timestamp_type::log_append_time;
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
                    problem = "Timestamp " + std::to_string(ts) + " of message with offset " +
                              std::to_string(i) + " is out of range.";
                    timestamp_error = true;
                }
            } else if (append_time_from_producer) {
                problem =
                    "Invalid timestamp type in message. Producer should not set timestamp type to "
                    "LogAppendTime.";
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
            w.fail(error_code::invalid_timestamp,
                   "One or more records have been rejected due to invalid timestamp");
        } else {
            w.fail(error_code::invalid_record, "One or more records have been rejected due to " +
                                                   std::to_string(w.record_errors.size()) +
                                                   " record errors in total");
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
        switch (*target) {
            case protocol::compression_type::gzip:
                o.compression_level = cfg.compression_gzip_level;
                break;
            case protocol::compression_type::lz4:
                o.compression_level = cfg.compression_lz4_level;
                break;
            case protocol::compression_type::zstd:
                o.compression_level = cfg.compression_zstd_level;
                break;
            default: break;
        }
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
               "The record batch size in the append to " + partition_name(w.topic, w.index) +
                   " is " + std::to_string(w.records.size()) +
                   " bytes which exceeds the maximum configured value of " +
                   std::to_string(w.config->log.max_message_bytes) + ".");
        return;
    }
    if (auto e = protocol::validate_batch(w.records, true); e != protocol::batch_error::ok) {
        w.fail(map_batch_error(e), std::string("Invalid record batch: ") + protocol::to_string(e));
        return;
    }
    if (w.header.is_control()) {
        w.fail(error_code::invalid_record,
               "Clients are not allowed to write control records in topic partition " +
                   partition_name(w.topic, w.index));
        return;
    }
    if (w.header.producer_id >= 0 && w.header.base_sequence < 0) {
        w.fail(error_code::invalid_record,
               "Invalid sequence number " + std::to_string(w.header.base_sequence) +
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

/// Pass 2 for one partition: the one call that appends.
void append_partition(partition_work& w, const broker_config& broker, int16_t acks, int64_t now) {
    leader_append request{w.batch, w.header, acks, now, w.config.get()};
    w.result = w.target->append_as_leader(request, broker);
    if (!w.result.ok()) {
        w.error = w.result.error;
        w.message = std::move(w.result.message);
        w.report_log_start = w.report_log_start || w.result.report_log_start;
    }
}

/// One partition's acks=-1 condition: true once it is settled, either replicated (its high
/// watermark passed the batch) or failed with the error that stops it from ever getting there.
bool settle_replicated(partition_work& w) {
    bool reached = false;
    const error_code e = w.target->replicated_to(w.result.last_offset + 1, reached);
    if (e != error_code::none) {
        w.fail(e);
        return true;
    }
    return reached;
}

/// Pass 4, acks=-1: waits (a delayed operation) until each appended partition's high watermark
/// has passed its batch, or `timeout_ms`. A partition still short at the deadline answers
/// REQUEST_TIMED_OUT; one that can never get there (deleted, no longer led here) its error; one
/// whose in-sync set shrank below min.insync.replicas meanwhile NOT_ENOUGH_REPLICAS_AFTER_APPEND.
net::awaitable<void> wait_for_replicas(request_context& ctx, std::vector<partition_work>& work,
                                       int32_t timeout_ms) {
    // The usual case on a single node: the append itself moved the high watermark, and every
    // partition settles here without arming anything.
    std::vector<partition_work*> waiting;
    for (partition_work& w : work) {
        if (w.error == error_code::none && w.result.last_offset >= 0 && !settle_replicated(w)) {
            waiting.push_back(&w);
        }
    }
    if (waiting.empty()) {
        co_return;
    }
    std::vector<delayed_watch> watches;
    watches.reserve(waiting.size());
    for (partition_work* w : waiting) {
        watches.push_back(delayed_watch{w->target, partition_event::high_watermark});
    }
    // Each check settles the partitions that are done; the operation completes when none is left.
    const auto try_complete = [&waiting] {
        std::erase_if(waiting, [](partition_work* w) { return settle_replicated(*w); });
        return waiting.empty();
    };
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(std::max(timeout_ms, 0));
    const delayed_outcome outcome =
        co_await wait_until(watches, deadline, try_complete, ctx.connection_closed);
    if (outcome != delayed_outcome::completed) {
        for (partition_work* w : waiting) {
            w->fail(error_code::request_timed_out);
        }
    }
}

/// Produce v10+ carries leader hints (KIP-951) with NOT_LEADER_OR_FOLLOWER.
constexpr int16_t first_leader_hint_version = 10;

/// The partition as the metadata cache knows it.
std::optional<partition_info> known_partition(broker_core& broker, std::string_view topic,
                                              int32_t index) {
    const std::shared_ptr<const topic_snapshot> snapshot = broker.metadata().snapshot();
    const topic_info* t = snapshot ? snapshot->find(topic) : nullptr;
    if (t == nullptr || index < 0 || static_cast<std::size_t>(index) >= t->partitions.size()) {
        return std::nullopt;
    }
    return t->partitions[static_cast<std::size_t>(index)];
}

/// In a cluster: the partition exists but another broker hosts it.
bool led_elsewhere(broker_core& broker, std::string_view topic, int32_t index) {
    return !broker.config().single_node() && known_partition(broker, topic, index).has_value();
}

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
                if (led_elsewhere(broker, w.topic, w.index)) {
                    w.fail(error_code::not_leader_or_follower,
                           "This server is not the leader for that topic-partition.");
                } else {
                    w.fail(error_code::unknown_topic_or_partition,
                           "This server does not host this topic-partition.");
                }
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
            if (is_internal_topic_name(w.topic)) {
                w.fail(error_code::invalid_topic_exception,
                       "Cannot append to internal topic " + std::string(w.topic));
                continue;
            }
            if (!w.target->check_min_isr(request.acks, w.result)) {
                w.fail(w.result.error, w.result.message.value_or(std::string()));
                continue;
            }
            validate_partition(w, ctx.frame, now);
        }
        for (partition_work& w : work) {
            if (w.error == error_code::none) {
                append_partition(w, broker.config(), request.acks, now);
            }
        }
        // Bytes and messages in, once per topic of the request (work is in request order).
        for (std::size_t i = 0; i < work.size();) {
            uint64_t bytes = 0;
            int64_t records = 0;
            std::size_t j = i;
            for (; j < work.size() && work[j].topic_index == work[i].topic_index; ++j) {
                if (work[j].result.appended) {
                    bytes += work[j].batch.size();
                    records += std::max(work[j].header.record_count, 0);
                }
            }
            if (bytes > 0) {
                record_topic_in(work[i].topic, bytes, records);
            }
            i = j;
        }
        // Every batch is written: nothing below reads the request frame, and a produce that waits
        // for its replicas must not hold request memory meanwhile.
        ctx.release_frame();
        for (partition_work& w : work) {
            if (!w.result.snapshot.empty()) {
                const leader_append_result& r = w.result;
                const std::error_code ec = co_await broker.shards().run_blocking([&r] {
                    return log::producer_state_table::write_snapshot_file(
                        r.snapshot_dir, r.snapshot_offset, r.snapshot);
                });
                if (ec) {
                    // The state is still in memory; a missing snapshot only makes the next startup
                    // scan more of the log.
                    BROKER_LOG_WARN("writing producer snapshot of "
                                    << partition_name(w.topic, w.index) << ": " << ec.message());
                }
            }
            if (w.error == error_code::none && w.result.flush_target >= 0) {
                const std::error_code ec = co_await group_commit::instance().flush(
                    broker.shards(), w.target, w.result.flush_target);
                if (ec) {
                    BROKER_LOG_ERROR("flush of " << partition_name(w.topic, w.index) << ": "
                                                 << ec.message());
                    w.fail(to_kafka_error(ec));
                }
            }
        }
        if (request.acks == -1) {
            co_await wait_for_replicas(ctx, work, request.timeout_ms);
        }
    }

    bool any_error = false;
    std::vector<int32_t> hinted;  // leaders named in current_leader hints
    for (partition_work& w : work) {
        partition_response& out =
            response.responses[w.topic_index].partition_responses[w.partition_index];
        out.error_code = code(w.error);
        if (w.error == error_code::none) {
            out.base_offset = w.result.base_offset;
            out.log_append_time_ms = w.result.log_append_time;
            out.log_start_offset = w.result.log_start_offset;
            continue;
        }
        any_error = true;
        out.base_offset = -1;
        out.log_append_time_ms = -1;
        out.log_start_offset = w.report_log_start ? w.result.log_start_offset : -1;
        if (w.report_log_start && w.result.log_start_offset < 0 && w.target) {
            if (const std::optional<partition_offsets> o = w.target->offsets()) {
                out.log_start_offset = o->log_start_offset;
            }
        }
        out.record_errors = std::move(w.record_errors);
        out.error_message = std::move(w.message);
        if (version >= first_leader_hint_version && w.error == error_code::not_leader_or_follower) {
            // KIP-951: where the partition is led now, so the producer need not ask Metadata.
            if (const std::optional<partition_info> known =
                    known_partition(broker, w.topic, w.index);
                known && known->leader_id >= 0) {
                out.current_leader.leader_id = known->leader_id;
                out.current_leader.leader_epoch = known->leader_epoch;
                if (std::find(hinted.begin(), hinted.end(), known->leader_id) == hinted.end()) {
                    hinted.push_back(known->leader_id);
                }
            }
        }
    }
    if (!hinted.empty()) {
        add_broker_entries(response.node_endpoints, *broker.metadata().cluster(), ctx.listener_name,
                           &protocol::produce_response::node_endpoint::node_id, hinted);
    }

    if (request.acks == 0) {
        // No response; a failure closes the connection so the producer notices (Kafka does this).
        co_return any_error ? handler_result::close() : handler_result::no_reply();
    }
    co_return handler_result::reply(encode_response(ctx, response));
}

}  // namespace broker::server
