// SyncGroup (key 14): the leader hands in the assignment; every member gets its own.
//
// Followers (and the leader until the group record is written) wait for the coordinator; as with
// JoinGroup the coroutine is parked on the coordinator's completion, never blocking the shard, and
// stops waiting if the broker closes the connection.
//
// Version rules (SyncGroupRequest/Response.json, Kafka's handler):
//   - v3+ group_instance_id;
//   - v5+ protocol_type and protocol_name are mandatory: a request without them gets
//     INCONSISTENT_GROUP_PROTOCOL (the coordinator checks it), and both come back in the response.
#include "common/asio.h"

#include "protocol/generated/messages.h"
#include "server/group_service.h"
#include "server/handlers/common.h"
#include "server/handlers/handlers.h"

namespace broker::server {

net::awaitable<handler_result> handle_sync_group(request_context& ctx, protocol::reader& body) {
    protocol::sync_group_request request;
    if (protocol::decode(body, ctx.api_version, request) != protocol::codec_status::ok) {
        co_return handler_result::close();
    }
    coordinator::sync_group_request sync;
    sync.api_version = ctx.api_version;
    sync.group_id = std::move(request.group_id);
    sync.generation_id = request.generation_id;
    sync.member_id = std::move(request.member_id);
    sync.group_instance_id = std::move(request.group_instance_id);
    sync.protocol_type = std::move(request.protocol_type);
    sync.protocol_name = std::move(request.protocol_name);
    sync.assignments.reserve(request.assignments.size());
    for (auto& a : request.assignments) {
        sync.assignments.push_back({std::move(a.member_id), std::move(a.assignment)});
    }

    auto work = [sync = std::move(sync)](coordinator::group_coordinator& c, auto done) {
        c.sync_group(sync, std::move(done));
    };
    const std::optional<coordinator::sync_group_result> result =
        co_await ctx.broker.groups().call_async<coordinator::sync_group_result>(
            std::move(work), ctx.connection_closed);
    if (!result) {
        co_return handler_result::close();  // the connection is closing
    }

    protocol::sync_group_response response;
    response.throttle_time_ms = 0;
    response.error_code = code(result->error);
    response.protocol_type = result->protocol_type;
    response.protocol_name = result->protocol_name;
    response.assignment = result->assignment;
    co_return handler_result::reply(encode_response(ctx, response));
}

}  // namespace broker::server
