// LeaderAndIsr (key 4): the controller tells this broker which partitions it hosts and with which
// role (cluster mode only; docs/cluster.md, "Controller requests").
//
// Rules (LeaderAndIsrRequest/Response.json and Kafka's ZooKeeper-mode ReplicaManager):
//   - served from v2, the first version carrying the broker epoch, to v7; never on a single node
//     (the connection refuses the key there);
//   - the whole request is refused with STALE_BROKER_EPOCH when this broker is not registered or
//     the request's broker epoch is older than its registration (a request meant for an earlier
//     life of this broker), and with STALE_CONTROLLER_EPOCH when an older controller sent it;
//   - per partition: one whose leader epoch is older than the replica's is refused with
//     STALE_CONTROLLER_EPOCH (Kafka's answer too); otherwise the replica is opened and hosted if it
//     is new here (is_new: a fresh log) and becomes leader when the request names this broker,
//     else follower of the named leader;
//   - a partition of __consumer_offsets that this broker starts (or stops) leading is loaded into
//     (or unloaded from) the group coordinator.
#include "common/asio.h"

#include <algorithm>
#include <mutex>

#include "protocol/generated/messages.h"
#include "server/cluster/cluster_member.h"
#include "server/handlers/common.h"
#include "server/handlers/controller_fence.h"
#include "server/handlers/handlers.h"
#include "server/logging.h"
#include "server/replica/errors.h"

namespace broker::server {
namespace {

using protocol::error_code;
using request_type = protocol::leader_and_isr_request;
using response_type = protocol::leader_and_isr_response;

constexpr int16_t first_topic_id_version = 5;

struct partition_outcome {
    std::string topic;
    protocol::uuid topic_id;
    int32_t partition = 0;
    error_code error = error_code::none;
};

std::vector<node_id> to_nodes(const std::vector<int32_t>& ids) {
    std::vector<node_id> out;
    out.reserve(ids.size());
    for (int32_t id : ids) {
        out.emplace_back(id);
    }
    return out;
}

// Blocking: opens logs. One request at a time, so two controllers' requests never interleave
// on one replica.
std::vector<partition_outcome> apply(broker_core& broker, const request_type& request) {
    static std::mutex serial;
    std::lock_guard lock(serial);
    const node_id self{broker.broker_id()};
    std::vector<partition_outcome> out;
    std::vector<std::pair<int32_t, bool>> offsets_changes;
    for (const auto& topic : request.topic_states) {
        const protocol::uuid topic_id =
            !topic.topic_id.is_zero()
                ? topic.topic_id
                : broker.store().topic_id_of(topic.topic_name).value_or(protocol::uuid{});
        for (const auto& state : topic.partition_states) {
            partition_outcome outcome{topic.topic_name, topic_id, state.partition_index};
            const partition_index index{state.partition_index};
            std::shared_ptr<partition> replica = broker.replicas().find(topic.topic_name, index);
            if (replica && state.leader_epoch < replica->leader_epoch().value()) {
                BROKER_LOG_INFO("LeaderAndIsr for "
                                << topic.topic_name << "-" << state.partition_index
                                << " ignored: leader epoch " << state.leader_epoch
                                << " is older than " << replica->leader_epoch().value());
                outcome.error = error_code::stale_controller_epoch;
                out.push_back(std::move(outcome));
                continue;
            }
            if (std::find(state.replicas.begin(), state.replicas.end(), self.value()) ==
                state.replicas.end()) {
                // Not a replica here (the controller sends LeaderAndIsr to replicas only).
                outcome.error = error_code::unknown_topic_or_partition;
                out.push_back(std::move(outcome));
                continue;
            }
            if (!replica) {
                auto created = broker.replicas().create_replica(
                    topic.topic_name, topic_id, index,
                    broker.store().config_or_defaults(topic.topic_name), state.is_new);
                if (!created) {
                    BROKER_LOG_ERROR("cannot open " << topic.topic_name << "-"
                                                    << state.partition_index << ": "
                                                    << created.error().message());
                    outcome.error = error_code::kafka_storage_error;
                    out.push_back(std::move(outcome));
                    continue;
                }
                replica = std::move(created).value();
                broker.replicas().host_partition(topic.topic_name, topic_id, index, replica);
            }
            partition_assignment a;
            a.leader_epoch = leader_epoch_t{state.leader_epoch};
            a.replicas = to_nodes(state.replicas);
            a.isr = to_nodes(state.isr);
            a.leader = node_id{state.leader};
            const bool lead = state.leader == self.value();
            const std::error_code ec =
                lead ? replica->become_leader(a) : replica->become_follower(a);
            if (ec) {
                BROKER_LOG_ERROR("cannot make " << topic.topic_name << "-" << state.partition_index
                                                << (lead ? " leader: " : " a follower: ")
                                                << ec.message());
                outcome.error = error_code::kafka_storage_error;
            } else if (topic.topic_name == offsets_topic_name) {
                offsets_changes.emplace_back(state.partition_index, lead);
            }
            out.push_back(std::move(outcome));
        }
    }
    for (const auto& [p, lead] : offsets_changes) {
        broker.groups().on_leadership_change(p, lead);
    }
    return out;
}

}  // namespace

net::awaitable<handler_result> handle_leader_and_isr(request_context& ctx, protocol::reader& body) {
    request_type request;
    if (protocol::decode(body, ctx.api_version, request) != protocol::codec_status::ok) {
        co_return handler_result::close();
    }
    response_type response;
    const error_code refused =
        co_await check_controller_request(ctx, request.controller_epoch, request.broker_epoch);
    std::vector<partition_outcome> outcomes;
    if (refused != error_code::none) {
        BROKER_LOG_WARN("LeaderAndIsr from controller "
                        << request.controller_id << " (epoch " << request.controller_epoch
                        << ") refused: " << protocol::error_name(refused));
        response.error_code = code(refused);
        for (const auto& topic : request.topic_states) {
            for (const auto& state : topic.partition_states) {
                outcomes.push_back(
                    {topic.topic_name, topic.topic_id, state.partition_index, refused});
            }
        }
    } else {
        broker_core* broker = &ctx.broker;
        const request_type* r = &request;
        outcomes =
            co_await ctx.broker.shards().run_blocking([broker, r] { return apply(*broker, *r); });
    }
    if (ctx.api_version < first_topic_id_version) {
        for (const partition_outcome& o : outcomes) {
            response.partition_errors.push_back({o.topic, o.partition, code(o.error), {}});
        }
    } else {
        for (const partition_outcome& o : outcomes) {
            auto it = std::find_if(response.topics.begin(), response.topics.end(),
                                   [&](const auto& t) { return t.topic_id == o.topic_id; });
            if (it == response.topics.end()) {
                response.topics.push_back({o.topic_id, {}, {}});
                it = std::prev(response.topics.end());
            }
            it->partition_errors.push_back({{}, o.partition, code(o.error), {}});
        }
    }
    co_return handler_result::reply(encode_response(ctx, response));
}

}  // namespace broker::server
