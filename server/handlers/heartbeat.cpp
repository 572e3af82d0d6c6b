// Heartbeat (key 12): a member tells the coordinator it is alive, and learns of rebalances
// (REBALANCE_IN_PROGRESS means: rejoin).
//
// Version rules (HeartbeatRequest/Response.json): v1+ throttle_time_ms, v3+ group_instance_id,
// v4 flexible. The coordinator's error goes in the single error_code.
#include "common/asio.h"

#include "protocol/generated/messages.h"
#include "server/group_service.h"
#include "server/handlers/common.h"
#include "server/handlers/handlers.h"

namespace broker::server {

net::awaitable<handler_result> handle_heartbeat(request_context& ctx, protocol::reader& body) {
    protocol::heartbeat_request request;
    if (protocol::decode(body, ctx.api_version, request) != protocol::codec_status::ok) {
        co_return handler_result::close();
    }
    coordinator::heartbeat_request heartbeat;
    heartbeat.group_id = std::move(request.group_id);
    heartbeat.generation_id = request.generation_id;
    heartbeat.member_id = std::move(request.member_id);
    heartbeat.group_instance_id = std::move(request.group_instance_id);

    auto work = [heartbeat = std::move(heartbeat)](coordinator::group_coordinator& c) {
        return c.heartbeat(heartbeat);
    };
    const coordinator::error_code error = co_await ctx.broker.groups().call(std::move(work));

    protocol::heartbeat_response response;
    response.throttle_time_ms = 0;
    response.error_code = code(error);
    co_return handler_result::reply(encode_response(ctx, response));
}

}  // namespace broker::server
