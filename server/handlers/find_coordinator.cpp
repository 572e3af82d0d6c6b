// FindCoordinator (key 10): which broker coordinates a consumer group (or a transactional id).
//
// Rules (FindCoordinatorRequest/Response.json and Kafka's handler):
//   - v0-3 ask for one `key`; v4+ for a batch of `coordinator_keys`, one result each, in order;
//   - key_type (v1+) 0 = group, 1 = transaction; any other type fails the whole request with
//     INVALID_REQUEST (Kafka's CoordinatorType.forId throws), every key carrying the error;
//   - group: the coordinator is the leader of `__consumer_offsets` partition
//     abs(hash(key)) % partitions; in a cluster the metadata cache names that leader
//     (COORDINATOR_NOT_AVAILABLE while there is none, or while fewer brokers are up than
//     offsets.topic.replication.factor asks for the topic), on a single node it is always this
//     broker, at the address advertised for the request's listener. The topic is created on the
//     first such request, as Kafka does; Kafka creates it in the background and answers
//     COORDINATOR_NOT_AVAILABLE until it exists, here creation is synchronous, so the first answer
//     already names the coordinator;
//   - transaction: this broker has no transaction coordinator. The answer is
//     TRANSACTIONAL_ID_AUTHORIZATION_FAILED, as InitProducerId and Produce answer for
//     transactional ids (docs/produce.md): clients fail at once with a clear error instead of
//     retrying COORDINATOR_NOT_AVAILABLE until their own timeout;
//   - v1-3 carry error_message = the error's default message ("NONE" when there is none, as
//     Kafka's Errors.message() gives); v4+ results carry an empty message. Errors come with
//     node id -1, host "" and port -1 (Kafka's Node.noNode()).
#include "common/asio.h"

#include "coordinator/java_string.h"
#include "protocol/generated/messages.h"
#include "server/group_service.h"
#include "server/handlers/common.h"
#include "server/handlers/handlers.h"

namespace broker::server {
namespace {

using protocol::error_code;
using response_type = protocol::find_coordinator_response;

constexpr int8_t group_key_type = 0;
constexpr int8_t transaction_key_type = 1;
constexpr int16_t first_batched_version = 4;

struct coordinator_answer {
    error_code error = error_code::none;
    int32_t node_id = -1;
    std::string host;
    int32_t port = -1;
};

/// Kafka's default message of each error this handler answers (Errors.message()).
std::string message_of(error_code error) {
    switch (error) {
        case error_code::none: return "NONE";
        case error_code::coordinator_not_available: return "The coordinator is not available.";
        case error_code::transactional_id_authorization_failed:
            return "Transactional Id authorization failed.";
        case error_code::invalid_request:
            return "This most likely occurs because of a request being malformed by the client "
                   "library or the message was sent to an incompatible broker. See the broker "
                   "logs for more details.";
        default: return std::string(protocol::error_name(error));
    }
}

// In a cluster: the leader of the group's __consumer_offsets partition, from the metadata cache
// (COORDINATOR_NOT_AVAILABLE while the topic or the partition's leader is not known).
coordinator_answer find_in_cluster(request_context& ctx, std::string_view key) {
    coordinator_answer answer;
    answer.error = error_code::coordinator_not_available;
    const std::shared_ptr<const topic_snapshot> topics = ctx.broker.metadata().snapshot();
    const topic_info* offsets = topics ? topics->find(offsets_topic_name) : nullptr;
    if (offsets == nullptr || offsets->partitions.empty()) {
        return answer;
    }
    const int32_t p =
        coordinator::offsets_partition_for(key, static_cast<int32_t>(offsets->partitions.size()));
    const partition_info& partition = offsets->partitions[static_cast<std::size_t>(p)];
    const std::shared_ptr<const cluster_view> cluster = ctx.broker.metadata().cluster();
    const broker_info* leader = cluster->find(partition.leader_id);
    const advertised_endpoint* address = leader ? leader->endpoint_for(ctx.listener_name) : nullptr;
    if (partition.leader_id < 0 || address == nullptr) {
        return answer;
    }
    answer.error = error_code::none;
    answer.node_id = partition.leader_id;
    answer.host = address->host;
    answer.port = address->port;
    return answer;
}

net::awaitable<coordinator_answer> find(request_context& ctx, int8_t key_type,
                                        std::string_view key) {
    coordinator_answer answer;
    if (key_type != group_key_type) {
        answer.error = error_code::transactional_id_authorization_failed;
        co_return answer;
    }
    const error_code ready = co_await ctx.broker.groups().ensure_offsets_topic();
    if (!ctx.broker.config().single_node()) {
        if (ready != error_code::none) {
            answer.error = error_code::coordinator_not_available;
            co_return answer;
        }
        co_return find_in_cluster(ctx, key);
    }
    // The coordinator of every group is this broker; its address comes from the metadata cache.
    const std::shared_ptr<const cluster_view> cluster = ctx.broker.metadata().cluster();
    const broker_info* coordinator = cluster->find(ctx.broker.broker_id());
    const advertised_endpoint* self =
        coordinator ? coordinator->endpoint_for(ctx.listener_name) : nullptr;
    if (ready != error_code::none || self == nullptr) {
        answer.error = error_code::coordinator_not_available;
        co_return answer;
    }
    answer.node_id = ctx.broker.broker_id();
    answer.host = self->host;
    answer.port = self->port;
    co_return answer;
}

}  // namespace

net::awaitable<handler_result> handle_find_coordinator(request_context& ctx,
                                                       protocol::reader& body) {
    protocol::find_coordinator_request request;
    if (protocol::decode(body, ctx.api_version, request) != protocol::codec_status::ok) {
        co_return handler_result::close();
    }
    const bool known_type =
        request.key_type == group_key_type || request.key_type == transaction_key_type;
    response_type response;
    response.throttle_time_ms = 0;

    if (ctx.api_version < first_batched_version) {
        coordinator_answer answer;
        if (known_type) {
            answer = co_await find(ctx, request.key_type, request.key);
        } else {
            answer.error = error_code::invalid_request;
        }
        response.error_code = code(answer.error);
        response.error_message = message_of(answer.error);
        response.node_id = answer.node_id;
        response.host = answer.host;
        response.port = answer.port;
        co_return handler_result::reply(encode_response(ctx, response));
    }

    for (const std::string& key : request.coordinator_keys) {
        coordinator_answer answer;
        if (known_type) {
            answer = co_await find(ctx, request.key_type, key);
        } else {
            answer.error = error_code::invalid_request;
        }
        response_type::coordinator entry;
        entry.key = key;
        entry.error_code = code(answer.error);
        // An unknown key type fails the whole request; Kafka's error response then carries the
        // message in every entry. Ordinary results carry none.
        entry.error_message = known_type ? std::string() : message_of(answer.error);
        entry.node_id = answer.node_id;
        entry.host = answer.host;
        entry.port = answer.port;
        response.coordinators.push_back(std::move(entry));
    }
    co_return handler_result::reply(encode_response(ctx, response));
}

}  // namespace broker::server
