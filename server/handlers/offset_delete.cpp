// OffsetDelete (key 47): removes committed offsets of a group (KIP-496).
//
// Rules (OffsetDeleteRequest/Response.json, Kafka's handler): partitions of unknown topics (or
// beyond a topic's partition count) get UNKNOWN_TOPIC_OR_PARTITION; the rest go to the coordinator
// (GROUP_SUBSCRIBED_TO_TOPIC for topics an active consumer group subscribes to). A group-level
// error (GROUP_ID_NOT_FOUND, NON_EMPTY_GROUP, NOT_COORDINATOR, ...) is the top-level error_code
// of a response without topics. Topics are grouped in order of first appearance, refused
// partitions first (Kafka's OffsetDeleteResponse.Builder).
#include "common/asio.h"

#include <map>

#include "protocol/generated/messages.h"
#include "server/group_service.h"
#include "server/handlers/common.h"
#include "server/handlers/handlers.h"

namespace broker::server {
namespace {

using response_type = protocol::offset_delete_response;
using response_topic = response_type::offset_delete_response_topic;

/// Kafka's response builder: topics in order of first appearance, partitions appended.
using response_builder = partition_errors_builder<response_topic>;

}  // namespace

net::awaitable<handler_result> handle_offset_delete(request_context& ctx, protocol::reader& body) {
    protocol::offset_delete_request request;
    if (protocol::decode(body, ctx.api_version, request) != protocol::codec_status::ok) {
        co_return handler_result::close();
    }
    response_builder builder;
    coordinator::offset_delete_request deletion;
    deletion.group_id = std::move(request.group_id);
    const std::shared_ptr<const topic_snapshot> snapshot = ctx.broker.metadata().snapshot();
    for (const auto& topic : request.topics) {
        const topic_info* known = snapshot->find(topic.name);
        coordinator::offset_delete_topic accepted;
        accepted.name = topic.name;
        for (const auto& p : topic.partitions) {
            const bool exists =
                known != nullptr && p.partition_index >= 0 &&
                static_cast<std::size_t>(p.partition_index) < known->partitions.size();
            if (exists) {
                accepted.partition_indexes.push_back(p.partition_index);
            } else {
                builder.add(topic.name, p.partition_index,
                            protocol::error_code::unknown_topic_or_partition);
            }
        }
        if (known != nullptr) {
            // Kafka passes every known topic on, even one whose partitions were all refused.
            deletion.topics.push_back(std::move(accepted));
        }
    }

    auto work = [deletion = std::move(deletion)](coordinator::group_coordinator& c) {
        return c.delete_offsets(deletion);
    };
    const coordinator::offset_delete_result result =
        co_await ctx.broker.groups().call(std::move(work));

    response_type response;
    response.throttle_time_ms = 0;
    response.error_code = code(result.error);
    if (result.error == protocol::error_code::none) {
        for (const coordinator::offset_delete_topic_result& t : result.topics) {
            for (const coordinator::offset_delete_partition_result& p : t.partitions) {
                builder.add(t.name, p.partition_index, p.error);
            }
        }
        response.topics = builder.take();
    }
    co_return handler_result::reply(encode_response(ctx, response));
}

}  // namespace broker::server
