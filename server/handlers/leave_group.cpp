// LeaveGroup (key 13): members leave a group, which then rebalances.
//
// Version rules (LeaveGroupRequest/Response.json, Kafka's LeaveGroupResponse):
//   - v0-2 name one member (member_id); the response has only the top-level error_code: the
//     top-level error if any, else the member's error (legacy_leave_group_error);
//   - v3+ name a batch of members (member_id, group_instance_id; v5+ reason), answered one by one
//     in request order, plus the top-level error (with it, no member results). An entry with an
//     empty member id and an instance id removes that static member (administrative removal).
#include "common/asio.h"

#include "protocol/generated/messages.h"
#include "server/group_service.h"
#include "server/handlers/common.h"
#include "server/handlers/handlers.h"

namespace broker::server {

namespace {
constexpr int16_t first_batched_version = 3;
}  // namespace

net::awaitable<handler_result> handle_leave_group(request_context& ctx, protocol::reader& body) {
    protocol::leave_group_request request;
    if (protocol::decode(body, ctx.api_version, request) != protocol::codec_status::ok) {
        co_return handler_result::close();
    }
    coordinator::leave_group_request leave;
    leave.group_id = std::move(request.group_id);
    if (ctx.api_version < first_batched_version) {
        leave.members.push_back({std::move(request.member_id), std::nullopt, std::nullopt});
    } else {
        leave.members.reserve(request.members.size());
        for (auto& m : request.members) {
            leave.members.push_back(
                {std::move(m.member_id), std::move(m.group_instance_id), std::move(m.reason)});
        }
    }

    auto work = [leave = std::move(leave)](coordinator::group_coordinator& c) {
        return c.leave_group(leave);
    };
    const coordinator::leave_group_result result =
        co_await ctx.broker.groups().call(std::move(work));

    protocol::leave_group_response response;
    response.throttle_time_ms = 0;
    if (ctx.api_version < first_batched_version) {
        response.error_code = code(coordinator::legacy_leave_group_error(result));
    } else {
        response.error_code = code(result.error);
        response.members.reserve(result.members.size());
        for (const coordinator::leave_group_member_result& m : result.members) {
            protocol::leave_group_response::member_response member;
            member.member_id = m.member_id;
            member.group_instance_id = m.group_instance_id;
            member.error_code = code(m.error);
            response.members.push_back(std::move(member));
        }
    }
    co_return handler_result::reply(encode_response(ctx, response));
}

}  // namespace broker::server
