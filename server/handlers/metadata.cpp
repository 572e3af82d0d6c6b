// Metadata (key 3): brokers, cluster id, controller, and the topics a client asks about.
//
// Version rules (MetadataRequest.json / MetadataResponse.json and Kafka's handler):
//   - v0: an empty topic list means every topic. v1+: null means every topic, empty means none;
//   - v10 and v11 name topics only: a null name or a non-zero topic id there makes the whole
//     request INVALID_REQUEST (each requested topic carries the error, no brokers are listed);
//   - v12 may ask by topic id: unknown ids answer UNKNOWN_TOPIC_ID with a null name;
//   - unknown names are created when auto.create.topics.enable is set and the request allows it
//     (v4+ allow_auto_topic_creation; always for v0-3), except internal topic names. Kafka answers
//     LEADER_NOT_AVAILABLE for a topic it has just started creating; our creation is synchronous,
//     so the new topic is described right away. Unknown names that are not created answer
//     UNKNOWN_TOPIC_OR_PARTITION, illegal names INVALID_TOPIC_EXCEPTION (docs/topics.md);
//   - authorized-operation bitfields are filled only when asked (v8+ topics, v8-10 cluster); with
//   no
//     authorizer every operation Kafka defines for the resource type is allowed;
//   - brokers are the addresses advertised for the listener the request came in on.
// Fields a version lacks are simply not encoded by the generated codec.
#include "common/asio.h"

#include <algorithm>
#include <climits>
#include <map>

#include "protocol/generated/messages.h"
#include "server/handlers/common.h"
#include "server/handlers/handlers.h"

namespace broker::server {
namespace {

using response_type = protocol::metadata_response;
using response_topic = protocol::metadata_response::metadata_response_topic;
using response_partition = protocol::metadata_response::metadata_response_partition;

// AclOperation codes: READ 3, WRITE 4, CREATE 5, DELETE 6, ALTER 7, DESCRIBE 8, CLUSTER_ACTION 9,
// DESCRIBE_CONFIGS 10, ALTER_CONFIGS 11, IDEMPOTENT_WRITE 12. The bitfield sets bit `code`.
constexpr int32_t bit(int code) {
    return int32_t{1} << code;
}
constexpr int32_t topic_operations =
    bit(3) | bit(4) | bit(5) | bit(6) | bit(7) | bit(8) | bit(10) | bit(11);
constexpr int32_t cluster_operations =
    bit(5) | bit(7) | bit(8) | bit(9) | bit(10) | bit(11) | bit(12);
// The schema default: "not requested".
constexpr int32_t operations_not_requested = INT32_MIN;

response_topic describe_topic(const topic_info& topic) {
    response_topic out;
    out.error_code = code(protocol::error_code::none);
    out.name = topic.name;
    out.topic_id = topic.topic_id;
    out.is_internal = topic.is_internal;
    out.partitions.reserve(topic.partitions.size());
    for (const partition_info& p : topic.partitions) {
        response_partition part;
        part.error_code = p.error_code;
        part.partition_index = p.partition_index;
        part.leader_id = p.leader_id;
        part.leader_epoch = p.leader_epoch;
        part.replica_nodes = p.replica_nodes;
        part.isr_nodes = p.isr_nodes;
        part.offline_replicas = p.offline_replicas;
        out.partitions.push_back(std::move(part));
    }
    return out;
}

response_topic topic_error(protocol::error_code error, std::optional<std::string> name,
                           const protocol::uuid& id, bool is_internal) {
    response_topic out;
    out.error_code = code(error);
    out.name = std::move(name);
    out.topic_id = id;
    out.is_internal = is_internal;
    return out;
}

}  // namespace

net::awaitable<handler_result> handle_metadata(request_context& ctx, protocol::reader& body) {
    protocol::metadata_request request;
    if (protocol::decode(body, ctx.api_version, request) != protocol::codec_status::ok) {
        co_return handler_result::close();
    }
    const int16_t version = ctx.api_version;
    const bool all_topics = !request.topics || (version == 0 && request.topics->empty());

    response_type response;
    response.throttle_time_ms = 0;

    if (!all_topics && version < 12) {
        const bool bad =
            std::any_of(request.topics->begin(), request.topics->end(),
                        [](const auto& t) { return !t.name.has_value() || !t.topic_id.is_zero(); });
        if (bad) {
            // Same shape as Kafka's error response: every requested topic carries the error, and
            // nothing else is filled in.
            response.controller_id = -1;
            for (const auto& t : *request.topics) {
                response.topics.push_back(topic_error(protocol::error_code::invalid_request,
                                                      t.name.value_or(""), t.topic_id, false));
            }
            co_return handler_result::reply(encode_response(ctx, response));
        }
    }

    const broker_core& broker = ctx.broker;
    const std::shared_ptr<const cluster_view> cluster = broker.metadata().cluster();
    add_broker_entries(response.brokers, *cluster, ctx.listener_name,
                       &response_type::metadata_response_broker::node_id);
    response.cluster_id = broker.cluster_id();
    response.controller_id = cluster->controller_id;

    // Auto-creation first, so the snapshot below already holds the new topics.
    std::map<std::string, protocol::error_code, std::less<>> creation_errors;
    const bool by_name_request =
        !all_topics && std::none_of(request.topics->begin(), request.topics->end(),
                                    [](const auto& t) { return !t.topic_id.is_zero(); });
    if (by_name_request) {
        const bool allowed = version < 4 || request.allow_auto_topic_creation;
        const std::shared_ptr<const topic_snapshot> before = broker.metadata().snapshot();
        for (const auto& t : *request.topics) {
            if (!t.name) {
                continue;
            }
            const std::string& name = *t.name;
            if (before->find(name) != nullptr || creation_errors.count(name) != 0) {
                continue;
            }
            if (check_topic_name(name)) {
                creation_errors[name] = protocol::error_code::invalid_topic_exception;
                continue;
            }
            const topic_result created = co_await ctx.broker.auto_create_topic(name, allowed);
            if (!created.ok()) {
                creation_errors[name] = created.error;
            } else if (!broker.config().single_node()) {
                // In a cluster the controller elects the new partitions' leaders first: the topic
                // is described once its UpdateMetadata arrives; until then Kafka's answer.
                creation_errors[name] = protocol::error_code::leader_not_available;
            }
        }
    }

    const std::shared_ptr<const topic_snapshot> snapshot = broker.metadata().snapshot();
    // Entries that get authorized operations when the client asks for them; unknown-id entries
    // do not (Kafka fills them only for topics it resolved by name).
    std::vector<response_topic> described;
    std::vector<response_topic> unknown_ids;
    if (all_topics) {
        for (const auto& [name, topic] : snapshot->topics()) {
            described.push_back(describe_topic(topic));
        }
    } else {
        const bool by_id = std::any_of(request.topics->begin(), request.topics->end(),
                                       [](const auto& t) { return !t.topic_id.is_zero(); });
        std::vector<std::string> seen_names;
        std::vector<protocol::uuid> seen_ids;
        for (const auto& t : *request.topics) {
            if (by_id) {
                if (t.topic_id.is_zero() ||
                    std::find(seen_ids.begin(), seen_ids.end(), t.topic_id) != seen_ids.end()) {
                    continue;
                }
                seen_ids.push_back(t.topic_id);
                if (const topic_info* topic = snapshot->find(t.topic_id)) {
                    described.push_back(describe_topic(*topic));
                } else {
                    unknown_ids.push_back(topic_error(protocol::error_code::unknown_topic_id,
                                                      std::nullopt, t.topic_id, false));
                }
                continue;
            }
            if (!t.name) {
                continue;  // v12: neither a name nor an id names nothing
            }
            const std::string& name = *t.name;
            if (std::find(seen_names.begin(), seen_names.end(), name) != seen_names.end()) {
                continue;
            }
            seen_names.push_back(name);
            if (const topic_info* topic = snapshot->find(name)) {
                described.push_back(describe_topic(*topic));
            } else {
                const auto error = creation_errors.find(name);
                described.push_back(
                    topic_error(error != creation_errors.end()
                                    ? error->second
                                    : protocol::error_code::unknown_topic_or_partition,
                                name, protocol::uuid{}, is_internal_topic_name(name)));
            }
        }
    }

    const bool topic_ops = version >= 8 && request.include_topic_authorized_operations;
    for (response_topic& t : described) {
        t.topic_authorized_operations = topic_ops ? topic_operations : operations_not_requested;
    }
    for (response_topic& t : unknown_ids) {
        t.topic_authorized_operations = operations_not_requested;
    }
    response.cluster_authorized_operations =
        (version >= 8 && version <= 10 && request.include_cluster_authorized_operations)
            ? cluster_operations
            : operations_not_requested;

    response.topics = std::move(unknown_ids);
    response.topics.insert(response.topics.end(), std::make_move_iterator(described.begin()),
                           std::make_move_iterator(described.end()));
    co_return handler_result::reply(encode_response(ctx, response));
}

}  // namespace broker::server
