// Fetch (key 1), versions 4-17: consumers read record batches, straight from the segment files.
//
// Version rules (FetchRequest.json / FetchResponse.json and Kafka's handler):
//   - v4: isolation_level, last_stable_offset, aborted_transactions (null for read_uncommitted, an
//     empty list for read_committed: there are no transactions, so nothing was aborted);
//   - v5: log_start_offset; v7: fetch sessions (server/fetch_session.h) and a top-level error;
//   - v9: current_leader_epoch is checked (older: FENCED_LEADER_EPOCH, newer:
//   UNKNOWN_LEADER_EPOCH);
//   - v10: topics whose compression.type is zstd answer UNSUPPORTED_COMPRESSION_TYPE below v10;
//   - v11: preferred_read_replica is always -1 (no follower fetching on a single node);
//   - v12: flexible; last_fetched_epoch is checked against the leader epoch cache and may answer a
//     diverging epoch; v13: topics by id (unknown id: UNKNOWN_TOPIC_ID), sessions keyed by id;
//   - v15: the replica id moves into ReplicaState; v16: leadership errors carry the current leader
//     and this broker's endpoint; v17: ReplicaDirectoryId is for KRaft voters and is ignored.
// Versions 0-3 are not served: they need record formats older than v2, which this broker does not
// store or convert.
//
// Errored partitions carry high watermark, last stable offset and log start offset -1 and empty
// records, as Kafka answers them. See server/handlers/fetch.h for the steps and docs/fetch.md.
#include "server/handlers/fetch.h"

#include <algorithm>
#include <chrono>
#include <limits>
#include <mutex>
#include <optional>
#include <system_error>
#include <utility>

#include "log/errors.h"
#include "protocol/generated/messages.h"
#include "server/handlers/common.h"
#include "server/handlers/handlers.h"
#include "server/metrics.h"
#include "server/replica/delayed_operation.h"

namespace broker::server {
namespace {

using partition_data = protocol::fetch_response::partition_data;
using protocol::error_code;

constexpr int16_t first_topic_id_version = 13;
constexpr int16_t first_replica_state_version = 15;
constexpr int16_t first_node_endpoints_version = 16;
constexpr int16_t first_zstd_version = 10;

std::optional<std::vector<protocol::fetch_response::aborted_transaction>> aborted_transactions(
    const fetch_read_options& options) {
    if (options.read_committed) {
        return std::vector<protocol::fetch_response::aborted_transaction>{};
    }
    return std::nullopt;
}

// The read's file regions as response regions. A region shares ownership of its segment file, so
// the descriptor stays open until the bytes are on the wire.
protocol::records_ref to_records(const log::read_result& read) {
    protocol::records_ref out;
    out.regions.reserve(read.regions.size());
    for (const log::file_region& region : read.regions) {
        uint64_t position = region.position;
        uint64_t left = region.length;
        while (left > 0) {
            // Wire regions are at most INT32_MAX bytes (records fields are int32-sized).
            const auto chunk = static_cast<uint32_t>(std::min<uint64_t>(
                left, static_cast<uint64_t>(std::numeric_limits<int32_t>::max())));
            out.regions.push_back(protocol::file_region{region.fd(), static_cast<int64_t>(position),
                                                        chunk, region.file});
            position += chunk;
            left -= chunk;
        }
    }
    return out;
}

uint64_t records_size(const partition_data& data) {
    return data.records ? data.records->size() : 0;
}

int64_t steady_now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

// ---- waiting for data

// Reads until min_bytes are there, a partition needs an answer now, the connection closes or
// max_wait passes: a delayed operation watching each partition's high watermark (consumers) or
// log end (replicas). Every exit follows a fresh read, so the answer is never staler than the wake.
net::awaitable<fetch_pass> read_with_wait(request_context& ctx,
                                          const std::vector<fetch_target>& targets,
                                          uint64_t max_bytes, int32_t min_bytes,
                                          std::chrono::milliseconds max_wait,
                                          const fetch_read_options& options) {
    const partition_event event = options.replica_id.value() >= 0 ? partition_event::log_end
                                                                  : partition_event::high_watermark;
    std::vector<delayed_watch> watches;
    watches.reserve(targets.size());
    for (const fetch_target& t : targets) {
        if (t.partition) {
            watches.push_back(delayed_watch{t.partition, event});
        }
    }
    fetch_pass pass;
    const auto try_complete = [&] {
        pass = fetch_read_targets(targets, max_bytes, options);
        return pass.bytes >= static_cast<uint64_t>(min_bytes) || pass.answer_now;
    };
    co_await wait_until(watches, std::chrono::steady_clock::now() + max_wait, try_complete,
                        ctx.connection_closed);
    co_return pass;
}

// ---- request and response shapes

fetch_key key_of(bool uses_topic_ids, const std::string& topic, const protocol::uuid& topic_id,
                 int32_t partition) {
    fetch_key key;
    if (uses_topic_ids) {
        key.topic_id = topic_id;
    } else {
        key.topic = topic;
    }
    key.partition = partition;
    return key;
}

// Kafka's answer to a request it cannot serve as a whole: the top-level error (v7+) and, before
// v13, every requested partition carrying it too.
protocol::fetch_response whole_request_error(int16_t version,
                                             const protocol::fetch_request& request,
                                             error_code error) {
    protocol::fetch_response response;
    response.error_code = code(error);
    response.session_id = fetch_metadata::invalid_session_id;
    if (version >= first_topic_id_version) {
        return response;
    }
    const fetch_read_options options;  // read_uncommitted: aborted_transactions null
    for (const auto& topic : request.topics) {
        protocol::fetch_response::fetchable_topic_response t;
        t.topic = topic.topic;
        for (const auto& p : topic.partitions) {
            t.partitions.push_back(fetch_error_partition(p.partition, error, options));
        }
        response.responses.push_back(std::move(t));
    }
    return response;
}

// The broker's partitions, from the topic store (lookups are lock-free snapshots, any thread).
class store_lookup final : public fetch_partition_lookup {
public:
    explicit store_lookup(const broker_core& core) : core_(core) {}
    std::shared_ptr<partition> find(std::string_view topic, int32_t index) const override {
        return core_.find_partition(topic, index);
    }
    std::shared_ptr<partition> find(const protocol::uuid& topic_id, int32_t index) const override {
        return core_.find_partition(topic_id, index);
    }
    bool topic_id_known(const protocol::uuid& topic_id) const override {
        return !topic_id.is_zero() && core_.store().topic_name_of(topic_id).has_value();
    }

private:
    const broker_core& core_;
};

}  // namespace

partition_data fetch_error_partition(int32_t index, error_code error,
                                     const fetch_read_options& options) {
    partition_data out;
    out.partition_index = index;
    out.error_code = code(error);
    out.high_watermark = -1;
    out.last_stable_offset = -1;
    out.log_start_offset = -1;
    out.aborted_transactions = aborted_transactions(options);
    out.preferred_read_replica = -1;
    out.records.emplace();
    return out;
}

partition_data fetch_read_partition(partition& p, const fetch_partition_request& request,
                                    uint64_t max_bytes, bool min_one_batch,
                                    const fetch_read_options& options) {
    const int32_t index = request.key.partition;
    if (options.version < first_zstd_version && p.config()->compression_type == "zstd") {
        // Clients this old cannot decompress what the topic stores.
        return fetch_error_partition(index, error_code::unsupported_compression_type, options);
    }
    partition_read_request read;
    read.fetch_offset = request.fetch_offset;
    read.max_bytes = max_bytes;
    read.min_one_batch = min_one_batch;
    read.current_leader_epoch = leader_epoch_t{request.current_leader_epoch};
    read.last_fetched_epoch = leader_epoch_t{request.last_fetched_epoch};
    read.replica_id = options.replica_id;
    read.log_start_offset = request.log_start_offset;
    read.read_committed = options.read_committed;
    read.now_ms = steady_now_ms();
    partition_read_result result = p.read(read);
    if (result.error != error_code::none) {
        partition_data out = fetch_error_partition(index, result.error, options);
        if (result.leader_id.value() >= 0 || result.leader_epoch.value() >= 0) {
            out.current_leader.leader_id = result.leader_id.value();
            out.current_leader.leader_epoch = result.leader_epoch.value();
        }
        return out;
    }
    partition_data out;
    out.partition_index = index;
    out.error_code = code(error_code::none);
    out.high_watermark = result.high_watermark;
    out.last_stable_offset = result.last_stable_offset;
    out.log_start_offset = result.log_start_offset;
    out.aborted_transactions = aborted_transactions(options);
    out.preferred_read_replica = -1;
    out.records.emplace();
    if (result.diverging_epoch.value() >= 0) {
        out.diverging_epoch.epoch = result.diverging_epoch.value();
        out.diverging_epoch.end_offset = result.diverging_end_offset;
        return out;
    }
    out.records = to_records(result.records);
    return out;
}

fetch_pass fetch_read_targets(const std::vector<fetch_target>& targets, uint64_t max_bytes,
                              const fetch_read_options& options) {
    fetch_pass pass;
    pass.partitions.reserve(targets.size());
    uint64_t left = max_bytes;
    bool min_one_batch = true;
    for (const fetch_target& t : targets) {
        fetch_partition_response entry;
        entry.key = t.request.key;
        if (!t.partition) {
            // Failed lookups are answered but, as in Kafka, do not end a wait.
            entry.data = fetch_error_partition(t.request.key.partition, t.lookup_error, options);
            if (t.known_leader >= 0) {
                entry.data.current_leader.leader_id = t.known_leader;
                entry.data.current_leader.leader_epoch = t.known_leader_epoch;
            }
        } else {
            const uint64_t partition_max =
                static_cast<uint64_t>(std::max(t.request.partition_max_bytes, 0));
            entry.data = fetch_read_partition(
                *t.partition, t.request, std::min(partition_max, left), min_one_batch, options);
            const uint64_t size = records_size(entry.data);
            if (size > 0) {
                min_one_batch = false;
            }
            left = left > size ? left - size : 0;
            pass.bytes += size;
            if (entry.data.error_code != 0 || entry.data.diverging_epoch.epoch != -1) {
                pass.answer_now = true;
            }
        }
        pass.partitions.push_back(std::move(entry));
    }
    return pass;
}

net::awaitable<handler_result> serve_fetch(request_context& ctx, protocol::reader& body,
                                           const fetch_partition_lookup& lookup,
                                           fetch_session_cache& sessions, int32_t fetch_max_bytes) {
    const int16_t version = ctx.api_version;
    protocol::fetch_request request;
    if (protocol::decode(body, version, request) != protocol::codec_status::ok) {
        co_return handler_result::close();
    }
    if (request.isolation_level != 0 && request.isolation_level != 1) {
        co_return handler_result::reply(encode_response(
            ctx, whole_request_error(version, request, error_code::invalid_request)));
    }
    const bool uses_topic_ids = version >= first_topic_id_version;
    const int32_t replica_id = version >= first_replica_state_version
                                   ? request.replica_state.replica_id
                                   : request.replica_id;

    fetch_read_options options;
    options.version = version;
    options.read_committed = request.isolation_level == 1;
    options.replica_id = node_id{replica_id};

    std::vector<fetch_partition_request> fetch_data;
    for (const auto& topic : request.topics) {
        for (const auto& p : topic.partitions) {
            fetch_partition_request r;
            r.key = key_of(uses_topic_ids, topic.topic, topic.topic_id, p.partition);
            r.fetch_offset = p.fetch_offset;
            r.partition_max_bytes = p.partition_max_bytes;
            r.current_leader_epoch = p.current_leader_epoch;
            r.last_fetched_epoch = p.last_fetched_epoch;
            r.log_start_offset = p.log_start_offset;
            fetch_data.push_back(std::move(r));
        }
    }
    std::vector<fetch_key> to_forget;
    for (const auto& topic : request.forgotten_topics_data) {
        for (const int32_t index : topic.partitions) {
            to_forget.push_back(key_of(uses_topic_ids, topic.topic, topic.topic_id, index));
        }
    }

    fetch_context context = sessions.new_context(
        fetch_metadata{request.session_id, request.session_epoch}, uses_topic_ids,
        options.replica_id.value() >= 0, std::move(fetch_data), to_forget, steady_now_ms());

    std::vector<fetch_target> targets;
    targets.reserve(context.partitions().size());
    bool any_found = false;
    for (const fetch_partition_request& r : context.partitions()) {
        fetch_target t;
        t.request = r;
        if (uses_topic_ids) {
            t.partition = lookup.find(r.key.topic_id, r.key.partition);
            if (!t.partition) {
                t.lookup_error = lookup.topic_id_known(r.key.topic_id)
                                     ? error_code::unknown_topic_or_partition
                                     : error_code::unknown_topic_id;
            }
        } else {
            t.partition = lookup.find(r.key.topic, r.key.partition);
            if (!t.partition) {
                t.lookup_error = error_code::unknown_topic_or_partition;
            }
        }
        if (!t.partition && !ctx.broker.config().single_node()) {
            // In a cluster a partition not hosted here may be led by another broker.
            const std::shared_ptr<const topic_snapshot> snapshot = ctx.broker.metadata().snapshot();
            const topic_info* topic =
                uses_topic_ids ? snapshot->find(r.key.topic_id) : snapshot->find(r.key.topic);
            if (topic != nullptr && r.key.partition >= 0 &&
                static_cast<std::size_t>(r.key.partition) < topic->partitions.size()) {
                const partition_info& known =
                    topic->partitions[static_cast<std::size_t>(r.key.partition)];
                t.lookup_error = error_code::not_leader_or_follower;
                t.known_leader = known.leader_id;
                t.known_leader_epoch = known.leader_epoch;
            }
        }
        any_found = any_found || t.partition != nullptr;
        targets.push_back(std::move(t));
    }

    // The request's max_bytes (v3+), bounded by fetch.max.bytes.
    const uint64_t max_bytes =
        static_cast<uint64_t>(std::max(std::min(request.max_bytes, fetch_max_bytes), 0));
    fetch_pass pass;
    if (request.max_wait_ms <= 0 || request.min_bytes <= 0 || !any_found) {
        pass = fetch_read_targets(targets, max_bytes, options);
    } else {
        // The request is decoded and copied into the targets: a parked fetch holds no frame.
        ctx.release_frame();
        pass = co_await read_with_wait(ctx, targets, max_bytes, request.min_bytes,
                                       std::chrono::milliseconds(request.max_wait_ms), options);
    }

    const fetch_completion done = sessions.complete(context, pass.partitions, steady_now_ms());

    protocol::fetch_response response;
    response.throttle_time_ms = 0;
    response.error_code = code(done.error);
    response.session_id = done.session_id;
    bool leader_reported = false;
    // Bytes out per topic; pass.partitions is in target order.
    for (std::size_t i = 0; i < pass.partitions.size() && i < targets.size(); ++i) {
        const std::optional<protocol::records_ref>& records = pass.partitions[i].data.records;
        if (targets[i].partition && records && options.replica_id.value() < 0) {
            record_topic_out(targets[i].partition->topic(), records->size());
        }
    }
    for (fetch_partition_response& entry : pass.partitions) {
        // Consecutive partitions of one topic share a topic entry, as Kafka groups them.
        const bool same_topic =
            !response.responses.empty() &&
            (uses_topic_ids ? response.responses.back().topic_id == entry.key.topic_id
                            : response.responses.back().topic == entry.key.topic);
        if (!same_topic) {
            protocol::fetch_response::fetchable_topic_response t;
            t.topic = entry.key.topic;
            t.topic_id = entry.key.topic_id;
            response.responses.push_back(std::move(t));
        }
        if (version < first_node_endpoints_version) {
            entry.data.current_leader = {};  // KIP-951 leader hints are v16+
        } else if (entry.data.current_leader.leader_id >= 0) {
            leader_reported = true;
        }
        response.responses.back().partitions.push_back(std::move(entry.data));
    }
    if (leader_reported) {
        // KIP-951: the address of every leader reported, from the metadata cache.
        const std::shared_ptr<const cluster_view> cluster = ctx.broker.metadata().cluster();
        std::vector<int32_t> leaders;
        for (const auto& topic : response.responses) {
            for (const auto& part : topic.partitions) {
                if (part.current_leader.leader_id >= 0) {
                    leaders.push_back(part.current_leader.leader_id);
                }
            }
        }
        add_broker_entries(response.node_endpoints, *cluster, ctx.listener_name,
                           &protocol::fetch_response::node_endpoint::node_id, leaders);
    }
    co_return handler_result::reply(encode_response(ctx, response));
}

net::awaitable<handler_result> handle_fetch(request_context& ctx, protocol::reader& body) {
    const store_lookup lookup(ctx.broker);
    co_return co_await serve_fetch(ctx, body, lookup, ctx.broker.fetch_sessions(),
                                   ctx.broker.config().fetch_max_bytes);
}

}  // namespace broker::server
