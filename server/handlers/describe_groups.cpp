// DescribeGroups (key 15): state, protocol and members of groups.
//
// Rules (DescribeGroupsRequest/Response.json, Kafka's handler and coordinator): one result per
// requested group, in order. An unknown group is described as "Dead" without an error. A group
// this broker does not coordinate (or is still loading) carries NOT_COORDINATOR
// (COORDINATOR_LOAD_IN_PROGRESS) with empty fields. Member metadata, assignments and the chosen
// protocol are filled only for Stable groups. v1+ throttle time, v3+ authorized operations (when
// asked; with no authorizer, every operation Kafka defines on groups: READ, DELETE, DESCRIBE),
// v4+ group_instance_id, v5 flexible.
#include "common/asio.h"

#include <climits>

#include "protocol/generated/messages.h"
#include "server/group_service.h"
#include "server/handlers/common.h"
#include "server/handlers/handlers.h"

namespace broker::server {
namespace {

using response_type = protocol::describe_groups_response;

// AclOperation codes READ 3, DELETE 6, DESCRIBE 8; the bitfield sets bit `code`.
constexpr int32_t group_operations = (1 << 3) | (1 << 6) | (1 << 8);
// The schema default: "not requested".
constexpr int32_t operations_not_requested = INT32_MIN;

}  // namespace

net::awaitable<handler_result> handle_describe_groups(request_context& ctx,
                                                      protocol::reader& body) {
    protocol::describe_groups_request request;
    if (protocol::decode(body, ctx.api_version, request) != protocol::codec_status::ok) {
        co_return handler_result::close();
    }
    const bool with_operations = ctx.api_version >= 3 && request.include_authorized_operations;
    auto work = [ids = std::move(request.groups)](coordinator::group_coordinator& c) {
        return c.describe_groups(std::span<const std::string>(ids));
    };
    const std::vector<coordinator::described_group> described =
        co_await ctx.broker.groups().call(std::move(work));

    response_type response;
    response.throttle_time_ms = 0;
    response.groups.reserve(described.size());
    for (const coordinator::described_group& g : described) {
        response_type::described_group group;
        group.error_code = code(g.error);
        group.group_id = g.group_id;
        group.group_state = g.group_state;
        group.protocol_type = g.protocol_type;
        group.protocol_data = g.protocol_data;
        group.authorized_operations = with_operations ? group_operations : operations_not_requested;
        for (const coordinator::described_group_member& m : g.members) {
            response_type::described_group_member member;
            member.member_id = m.member_id;
            member.group_instance_id = m.group_instance_id;
            member.client_id = m.client_id;
            member.client_host = m.client_host;
            member.member_metadata = m.member_metadata;
            member.member_assignment = m.member_assignment;
            group.members.push_back(std::move(member));
        }
        response.groups.push_back(std::move(group));
    }
    co_return handler_result::reply(encode_response(ctx, response));
}

}  // namespace broker::server
