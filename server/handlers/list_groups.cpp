// ListGroups (key 16): every group this broker coordinates.
//
// Rules (ListGroupsRequest/Response.json, Kafka's coordinator): groups sorted by id; while any
// `__consumer_offsets` partition is loading the error is COORDINATOR_LOAD_IN_PROGRESS and the
// loaded groups are still listed. v4+ states_filter (case-insensitive Kafka state names; empty =
// all), v5+ types_filter (every group here is "classic"; a non-empty filter without it lists
// nothing) and group_type in the answer. v1+ throttle time, v3+ flexible.
#include "common/asio.h"

#include "protocol/generated/messages.h"
#include "server/group_service.h"
#include "server/handlers/common.h"
#include "server/handlers/handlers.h"

namespace broker::server {

net::awaitable<handler_result> handle_list_groups(request_context& ctx, protocol::reader& body) {
    protocol::list_groups_request request;
    if (protocol::decode(body, ctx.api_version, request) != protocol::codec_status::ok) {
        co_return handler_result::close();
    }
    std::vector<std::string> states =
        ctx.api_version >= 4 ? std::move(request.states_filter) : std::vector<std::string>{};
    std::vector<std::string> types =
        ctx.api_version >= 5 ? std::move(request.types_filter) : std::vector<std::string>{};
    auto work = [states = std::move(states),
                 types = std::move(types)](coordinator::group_coordinator& c) {
        return c.list_groups(std::span<const std::string>(states),
                             std::span<const std::string>(types));
    };
    const coordinator::list_groups_result result =
        co_await ctx.broker.groups().call(std::move(work));

    protocol::list_groups_response response;
    response.throttle_time_ms = 0;
    response.error_code = code(result.error);
    response.groups.reserve(result.groups.size());
    for (const coordinator::listed_group& g : result.groups) {
        protocol::list_groups_response::listed_group group;
        group.group_id = g.group_id;
        group.protocol_type = g.protocol_type;
        group.group_state = g.group_state;
        group.group_type = g.group_type;
        response.groups.push_back(std::move(group));
    }
    co_return handler_result::reply(encode_response(ctx, response));
}

}  // namespace broker::server
