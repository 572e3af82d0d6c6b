// JoinGroup (key 11): a member joins (or rejoins) a classic group and waits for the rebalance.
//
// The request is handed to the group coordinator (coordinator/, docs/groups.md), which
// answers when the rebalance completes. Meanwhile this coroutine is parked on the coordinator's
// completion, so the shard keeps serving other connections; this connection's later requests wait,
// as in Kafka, which handles one request per connection at a time. If the broker closes the
// connection meanwhile, the handler stops waiting and the connection closes.
//
// Version rules (JoinGroupRequest/Response.json, Kafka's JoinGroupResponse):
//   - v0 has no rebalance timeout: the session timeout is used (the coordinator does this);
//   - v4+: a new dynamic member first gets MEMBER_ID_REQUIRED with its member id (KIP-394);
//   - v5+ group_instance_id (static membership), v8+ reason, v9+ skip_assignment (KIP-814);
//   - protocol_name is nullable from v7; below v7 a null name is written as "", from v7 an empty
//     name is written as null; protocol_type exists from v7;
//   - client_host is "/" + the peer address, as Kafka reports it.
#include "common/asio.h"

#include "protocol/generated/messages.h"
#include "server/group_service.h"
#include "server/handlers/common.h"
#include "server/handlers/handlers.h"

namespace broker::server {

net::awaitable<handler_result> handle_join_group(request_context& ctx, protocol::reader& body) {
    protocol::join_group_request request;
    if (protocol::decode(body, ctx.api_version, request) != protocol::codec_status::ok) {
        co_return handler_result::close();
    }
    coordinator::join_group_request join;
    join.api_version = ctx.api_version;
    join.group_id = std::move(request.group_id);
    join.session_timeout_ms = request.session_timeout_ms;
    join.rebalance_timeout_ms = request.rebalance_timeout_ms;
    join.member_id = std::move(request.member_id);
    join.group_instance_id = std::move(request.group_instance_id);
    join.protocol_type = std::move(request.protocol_type);
    join.protocols.reserve(request.protocols.size());
    for (auto& p : request.protocols) {
        join.protocols.push_back({std::move(p.name), std::move(p.metadata)});
    }
    join.reason = std::move(request.reason);
    join.client_id = std::string(ctx.client_id);
    join.client_host = client_host_of(ctx.peer);

    auto work = [join = std::move(join)](coordinator::group_coordinator& c, auto done) {
        c.join_group(join, std::move(done));
    };
    const std::optional<coordinator::join_group_result> result =
        co_await ctx.broker.groups().call_async<coordinator::join_group_result>(
            std::move(work), ctx.connection_closed);
    if (!result) {
        co_return handler_result::close();  // the connection is closing
    }

    protocol::join_group_response response;
    response.throttle_time_ms = 0;
    response.error_code = code(result->error);
    response.generation_id = result->generation_id;
    response.protocol_type = result->protocol_type;
    response.protocol_name = result->protocol_name;
    if (ctx.api_version < 7 && !response.protocol_name) {
        response.protocol_name = std::string();
    }
    if (ctx.api_version >= 7 && response.protocol_name && response.protocol_name->empty()) {
        response.protocol_name.reset();
    }
    response.leader = result->leader;
    response.skip_assignment = result->skip_assignment;
    response.member_id = result->member_id;
    response.members.reserve(result->members.size());
    for (const coordinator::join_group_member& m : result->members) {
        protocol::join_group_response::join_group_response_member member;
        member.member_id = m.member_id;
        member.group_instance_id = m.group_instance_id;
        member.metadata = m.metadata;
        response.members.push_back(std::move(member));
    }
    co_return handler_result::reply(encode_response(ctx, response));
}

}  // namespace broker::server
