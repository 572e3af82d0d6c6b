// ListOffsets (key 2): offsets by timestamp, as Kafka's leader answers them (docs/produce.md).
//
//   -1 LATEST               the high watermark for clients (read_uncommitted), the last stable
//                           offset for read_committed (the same here: there are no transactions),
//                           the log end offset for a replica (replica_id >= 0); leader epoch = the
//                           partition's current epoch;
//   -2 EARLIEST, -4 EARLIEST_LOCAL   the log start offset, with the epoch in force there;
//   -3 MAX_TIMESTAMP        the first record carrying the largest timestamp (v7+ clients);
//   -5 LATEST_TIERED        no tiered storage: offset -1, epoch -1;
//   other                   the first record with timestamp >= the target.
// A lookup that finds nothing, or only records at or above the client's bound (high watermark),
// answers timestamp -1 / offset -1. v0 returns Kafka's legacy list of segment base offsets
// ("offsets before", by segment modification time, at most max_num_offsets, newest first).
// From v1 a partition listed twice makes every occurrence INVALID_REQUEST; v4+ checks the
// current leader epoch (FENCED_LEADER_EPOCH / UNKNOWN_LEADER_EPOCH).
#include "common/asio.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <mutex>

#include "log/producer_state.h"
#include "protocol/generated/messages.h"
#include "server/handlers/common.h"
#include "server/handlers/handlers.h"
#include "server/logging.h"
#include "server/replica/errors.h"

namespace broker::server {
namespace {

using protocol::error_code;
using response_type = protocol::list_offsets_response;
using partition_response = response_type::list_offsets_partition_response;

constexpr int64_t latest_timestamp = -1;
constexpr int64_t earliest_timestamp = -2;
constexpr int64_t max_timestamp = -3;
constexpr int64_t earliest_local_timestamp = -4;
constexpr int64_t latest_tiered_timestamp = -5;
constexpr int32_t consumer_replica_id = -1;

std::string segment_log_path(const std::filesystem::path& dir, int64_t base) {
    std::string digits = std::to_string(base);
    std::string name(digits.size() < 20 ? 20 - digits.size() : 0, '0');
    name += digits;
    name += ".log";
    return (dir / name).string();
}

/// Kafka's legacy (v0) answer: candidate offsets are each segment's base offset (at least the log
/// start) with the segment file's modification time, plus the log end offset "now" when the active
/// segment holds data; the newest candidate whose time is <= the target, and older ones, up to
/// `max_num_offsets`, in descending order. Consumers never see offsets above the high watermark.
std::vector<int64_t> legacy_offsets(partition& p, int64_t timestamp, int32_t max_num_offsets,
                                    bool from_consumer, int64_t now_ms, error_code& error) {
    std::vector<int64_t> bases;
    std::filesystem::path dir;
    int64_t log_start = 0;
    int64_t log_end = 0;
    int64_t high_watermark = 0;
    const bool found = p.inspect([&](const log::partition_log& plog) {
                            for (const log::offset& o : plog.segment_base_offsets()) {
                                bases.push_back(o.value());
                            }
                            dir = plog.dir();
                            log_start = plog.log_start_offset().value();
                            log_end = plog.log_end_offset().value();
                            high_watermark = plog.high_watermark().value();
                            return true;
                        }).has_value();
    if (!found) {
        error = error_code::unknown_topic_or_partition;
        return {};
    }
    std::vector<std::pair<int64_t, int64_t>> candidates;  // (offset, time)
    for (int64_t base : bases) {
        int64_t modified = 0;
        if (timestamp != latest_timestamp && timestamp != earliest_timestamp) {
            std::error_code ec;
            const auto t = std::filesystem::last_write_time(segment_log_path(dir, base), ec);
            if (!ec) {
                modified = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::file_clock::to_sys(t).time_since_epoch())
                               .count();
            }
        }
        candidates.emplace_back(std::max(base, log_start), modified);
    }
    if (!bases.empty() && log_end > bases.back()) {
        candidates.emplace_back(log_end, now_ms);
    }
    int64_t start = -1;
    if (timestamp == latest_timestamp) {
        start = static_cast<int64_t>(candidates.size()) - 1;
    } else if (timestamp == earliest_timestamp) {
        start = candidates.empty() ? -1 : 0;
    } else {
        start = static_cast<int64_t>(candidates.size()) - 1;
        while (start >= 0 && candidates[static_cast<std::size_t>(start)].second > timestamp) {
            --start;
        }
    }
    const int64_t count = std::min<int64_t>(std::max(max_num_offsets, 0), start + 1);
    std::vector<int64_t> offsets;
    for (int64_t j = 0; j < count; ++j) {
        offsets.push_back(candidates[static_cast<std::size_t>(start - j)].first);
    }
    std::sort(offsets.begin(), offsets.end(), std::greater<>());
    if (from_consumer && std::any_of(offsets.begin(), offsets.end(),
                                     [&](int64_t o) { return o > high_watermark; })) {
        std::vector<int64_t> bounded{high_watermark};
        for (int64_t o : offsets) {
            if (o <= high_watermark) {
                bounded.push_back(o);
            }
        }
        offsets = std::move(bounded);
    }
    return offsets;
}

void lookup_in_log(partition& p, const log::partition_log& plog, int64_t timestamp,
                   bool client_request, partition_response& out);

/// v1+: one partition's answer.
void lookup(partition& p, int64_t timestamp, bool client_request, partition_response& out) {
    if (p.role() != replica_role::leader && !p.deleted()) {
        out.error_code = code(error_code::not_leader_or_follower);
        return;
    }
    const bool found = p.inspect([&](const log::partition_log& plog) {
                            lookup_in_log(p, plog, timestamp, client_request, out);
                            return true;
                        }).has_value();
    if (!found) {
        out.error_code = code(error_code::unknown_topic_or_partition);
    }
}

/// lookup() with the partition's log held.
void lookup_in_log(partition& p, const log::partition_log& plog, int64_t timestamp,
                   bool client_request, partition_response& out) {
    // Clients read up to the high watermark, which is also the last stable offset (read_committed)
    // since there are no transactions; replicas read up to the log end.
    const int64_t bound =
        client_request ? plog.high_watermark().value() : plog.log_end_offset().value();
    auto epoch_at = [&](int64_t offset) {
        auto e = plog.leader_epochs().epoch_for_offset(offset);
        return e ? *e : -1;
    };
    out.timestamp = -1;
    out.offset = -1;
    out.leader_epoch = -1;
    switch (timestamp) {
        case latest_timestamp:
            out.offset = bound;
            out.leader_epoch = p.leader_epoch().value();
            return;
        case earliest_timestamp:
        case earliest_local_timestamp:
            out.offset = plog.log_start_offset().value();
            out.leader_epoch = epoch_at(out.offset);
            return;
        case latest_tiered_timestamp:
            return;  // no tiered storage: -1 / -1 / -1, as Kafka answers without remote storage
        default: break;
    }
    auto found = timestamp == max_timestamp ? plog.offset_of_max_timestamp()
                                            : plog.offset_for_timestamp(timestamp);
    if (!found) {
        BROKER_LOG_ERROR("ListOffsets on " << p.topic() << "-" << p.index() << ": "
                                           << found.error().message());
        out.error_code = code(to_kafka_error(found.error()));
        return;
    }
    const std::optional<log::timestamp_offset>& t = found.value();
    if (!t || t->offset_value.value() >= bound) {
        return;
    }
    out.timestamp = t->timestamp;
    out.offset = t->offset_value.value();
    out.leader_epoch = t->leader_epoch ? *t->leader_epoch : epoch_at(out.offset);
}

}  // namespace

net::awaitable<handler_result> handle_list_offsets(request_context& ctx, protocol::reader& body) {
    protocol::list_offsets_request request;
    if (protocol::decode(body, ctx.api_version, request) != protocol::codec_status::ok) {
        co_return handler_result::close();
    }
    const int16_t version = ctx.api_version;
    const bool client_request = request.replica_id == consumer_replica_id;
    const int64_t now = ctx.broker.store().clock().now_ms();

    // v1+: a partition asked for twice is refused everywhere it appears.
    std::map<std::pair<std::string_view, int32_t>, int> occurrences;
    if (version >= 1) {
        for (const auto& topic : request.topics) {
            for (const auto& part : topic.partitions) {
                ++occurrences[{topic.name, part.partition_index}];
            }
        }
    }

    response_type response;
    response.throttle_time_ms = 0;
    for (const auto& topic : request.topics) {
        response_type::list_offsets_topic_response out_topic;
        out_topic.name = topic.name;
        for (const auto& part : topic.partitions) {
            partition_response out;
            out.partition_index = part.partition_index;
            out.timestamp = -1;
            out.offset = -1;
            out.leader_epoch = -1;
            std::shared_ptr<partition> p =
                ctx.broker.find_partition(topic.name, part.partition_index);
            if (version >= 1 && occurrences[{topic.name, part.partition_index}] > 1) {
                out.error_code = code(error_code::invalid_request);
            } else if (!p) {
                out.error_code = code(error_code::unknown_topic_or_partition);
            } else if (version >= 4 && part.current_leader_epoch >= 0 &&
                       part.current_leader_epoch != p->leader_epoch().value()) {
                out.error_code = code(part.current_leader_epoch < p->leader_epoch().value()
                                          ? error_code::fenced_leader_epoch
                                          : error_code::unknown_leader_epoch);
            } else if (version == 0) {
                error_code error = error_code::none;
                out.old_style_offsets = legacy_offsets(*p, part.timestamp, part.max_num_offsets,
                                                       client_request, now, error);
                out.error_code = code(error);
            } else {
                lookup(*p, part.timestamp, client_request, out);
            }
            out_topic.partitions.push_back(std::move(out));
        }
        response.topics.push_back(std::move(out_topic));
    }
    co_return handler_result::reply(encode_response(ctx, response));
}

}  // namespace broker::server
