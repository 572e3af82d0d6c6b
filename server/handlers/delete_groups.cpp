// DeleteGroups (key 42): deletes empty groups with their offsets (KIP-229).
//
// Rules (DeleteGroupsRequest/Response.json, Kafka's coordinator): one result per distinct group
// id, in request order: GROUP_ID_NOT_FOUND for an unknown group, NON_EMPTY_GROUP while it has
// members, NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS when not (yet) served here. A deleted
// group's offsets and group record get tombstones in `__consumer_offsets`. v2 flexible.
#include "common/asio.h"

#include "protocol/generated/messages.h"
#include "server/group_service.h"
#include "server/handlers/common.h"
#include "server/handlers/handlers.h"

namespace broker::server {

net::awaitable<handler_result> handle_delete_groups(request_context& ctx, protocol::reader& body) {
    protocol::delete_groups_request request;
    if (protocol::decode(body, ctx.api_version, request) != protocol::codec_status::ok) {
        co_return handler_result::close();
    }
    auto work = [ids = std::move(request.groups_names)](coordinator::group_coordinator& c) {
        return c.delete_groups(std::span<const std::string>(ids));
    };
    const std::vector<coordinator::delete_group_result> results =
        co_await ctx.broker.groups().call(std::move(work));

    protocol::delete_groups_response response;
    response.throttle_time_ms = 0;
    response.results.reserve(results.size());
    for (const coordinator::delete_group_result& r : results) {
        protocol::delete_groups_response::deletable_group_result result;
        result.group_id = r.group_id;
        result.error_code = code(r.error);
        response.results.push_back(std::move(result));
    }
    co_return handler_result::reply(encode_response(ctx, response));
}

}  // namespace broker::server
