// DeleteAcls (key 31), v0-3, answered as Kafka 3.9 answers it with no `authorizer.class.name`: one
// SECURITY_DISABLED filter result per filter, with no matching ACLs (docs/decisions.md, "ACL APIs
// without an authorizer").
//
// A filter naming an UNKNOWN (0) resource type, pattern type, operation or permission type is a
// malformed request: Kafka's request parser throws and the connection is closed, so it is here too.
#include "common/asio.h"

#include "protocol/generated/messages.h"
#include "server/handlers/common.h"
#include "server/handlers/handlers.h"

namespace broker::server {

net::awaitable<handler_result> handle_delete_acls(request_context& ctx, protocol::reader& body) {
    protocol::delete_acls_request request;
    if (protocol::decode(body, ctx.api_version, request) != protocol::codec_status::ok) {
        co_return handler_result::close();
    }
    for (const auto& filter : request.filters) {
        if (!acl_filter_codes_known(filter.resource_type_filter, filter.pattern_type_filter,
                                    filter.operation, filter.permission_type)) {
            co_return handler_result::close();
        }
    }
    protocol::delete_acls_response response;
    response.throttle_time_ms = 0;
    response.filter_results.resize(request.filters.size());
    for (auto& result : response.filter_results) {
        result.error_code = code(protocol::error_code::security_disabled);
        result.error_message = std::string(no_authorizer_message);
    }
    co_return handler_result::reply(encode_response(ctx, response));
}

}  // namespace broker::server
