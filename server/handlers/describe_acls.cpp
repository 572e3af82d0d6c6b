// DescribeAcls (key 29), v0-3, answered as Kafka 3.9 answers it with no `authorizer.class.name`:
// SECURITY_DISABLED at the top level with no resources. This broker has no authorizer at all
// (docs/decisions.md, "ACL APIs without an authorizer").
//
// A filter naming an UNKNOWN (0) resource type, pattern type, operation or permission type is a
// malformed request: Kafka's request parser throws and the connection is closed, so it is here too.
#include "common/asio.h"

#include "protocol/generated/messages.h"
#include "server/handlers/common.h"
#include "server/handlers/handlers.h"

namespace broker::server {

net::awaitable<handler_result> handle_describe_acls(request_context& ctx, protocol::reader& body) {
    protocol::describe_acls_request request;
    if (protocol::decode(body, ctx.api_version, request) != protocol::codec_status::ok ||
        !acl_filter_codes_known(request.resource_type_filter, request.pattern_type_filter,
                                request.operation, request.permission_type)) {
        co_return handler_result::close();
    }
    protocol::describe_acls_response response;
    response.throttle_time_ms = 0;
    response.error_code = code(protocol::error_code::security_disabled);
    response.error_message = "No Authorizer is configured on the broker";
    co_return handler_result::reply(encode_response(ctx, response));
}

}  // namespace broker::server
