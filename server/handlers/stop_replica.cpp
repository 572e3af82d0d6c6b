// StopReplica (key 5): the controller tells this broker to stop serving replicas, and to delete
// their logs when their topic is deleted (cluster mode only; docs/cluster.md).
//
// Rules (StopReplicaRequest/Response.json, Kafka's ZooKeeper-mode ReplicaManager):
//   - served from v1, the first version carrying the broker epoch, to v4; never on a single node;
//   - refused whole with STALE_BROKER_EPOCH / STALE_CONTROLLER_EPOCH as LeaderAndIsr is;
//   - v1-2 name partitions per topic with one delete flag for the request; v3+ carry per
//     partition its leader epoch and delete flag: an epoch older than the replica's is refused with
//     FENCED_LEADER_EPOCH (-2, Kafka's "deleted" sentinel, and -1 always pass);
//   - a partition not hosted here answers NONE (there is nothing to stop), as Kafka does;
//   - a partition of __consumer_offsets this broker stops serving is unloaded from the group
//     coordinator.
#include "common/asio.h"

#include <mutex>

#include "protocol/generated/messages.h"
#include "server/cluster/cluster_member.h"
#include "server/handlers/common.h"
#include "server/handlers/controller_fence.h"
#include "server/handlers/handlers.h"
#include "server/logging.h"

namespace broker::server {
namespace {

using protocol::error_code;
using request_type = protocol::stop_replica_request;

struct stop_entry {
    std::string topic;
    int32_t partition = 0;
    int32_t leader_epoch = -1;
    bool delete_log = false;
    error_code error = error_code::none;
};

std::vector<stop_entry> entries_of(const request_type& request, int16_t version) {
    std::vector<stop_entry> out;
    if (version <= 2) {
        for (const auto& t : request.topics) {
            for (int32_t p : t.partition_indexes) {
                out.push_back({t.name, p, -1, request.delete_partitions});
            }
        }
    } else {
        for (const auto& t : request.topic_states) {
            for (const auto& s : t.partition_states) {
                out.push_back(
                    {t.topic_name, s.partition_index, s.leader_epoch, s.delete_partition});
            }
        }
    }
    return out;
}

void apply(broker_core& broker, std::vector<stop_entry>& entries) {
    static std::mutex serial;
    std::lock_guard lock(serial);
    for (stop_entry& e : entries) {
        const partition_index index{e.partition};
        const std::shared_ptr<partition> replica = broker.replicas().find(e.topic, index);
        if (!replica) {
            continue;
        }
        if (e.leader_epoch >= 0 && e.leader_epoch < replica->leader_epoch().value()) {
            e.error = error_code::fenced_leader_epoch;
            continue;
        }
        if (e.topic == offsets_topic_name) {
            broker.groups().on_leadership_change(e.partition, false);
        }
        if (const std::error_code ec =
                broker.replicas().stop_replica(e.topic, index, e.delete_log)) {
            BROKER_LOG_ERROR("stopping " << e.topic << "-" << e.partition << ": " << ec.message());
            e.error = error_code::kafka_storage_error;
        }
    }
}

}  // namespace

net::awaitable<handler_result> handle_stop_replica(request_context& ctx, protocol::reader& body) {
    request_type request;
    if (protocol::decode(body, ctx.api_version, request) != protocol::codec_status::ok) {
        co_return handler_result::close();
    }
    protocol::stop_replica_response response;
    std::vector<stop_entry> entries = entries_of(request, ctx.api_version);
    const error_code refused =
        co_await check_controller_request(ctx, request.controller_epoch, request.broker_epoch);
    if (refused != error_code::none) {
        BROKER_LOG_WARN("StopReplica from controller "
                        << request.controller_id << " (epoch " << request.controller_epoch
                        << ") refused: " << protocol::error_name(refused));
        response.error_code = code(refused);
        for (stop_entry& e : entries) {
            e.error = refused;
        }
    } else {
        broker_core* broker = &ctx.broker;
        std::vector<stop_entry>* list = &entries;
        co_await ctx.broker.shards().run_blocking([broker, list] { apply(*broker, *list); });
    }
    for (const stop_entry& e : entries) {
        response.partition_errors.push_back({e.topic, e.partition, code(e.error), {}});
    }
    co_return handler_result::reply(encode_response(ctx, response));
}

}  // namespace broker::server
