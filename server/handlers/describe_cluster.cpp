// DescribeCluster (key 60), v0-1: the cluster id, the controller and the brokers, as a broker
// listener answers it.
//
// The broker list is this broker at the address advertised for the listener the request came in
// on. v1's endpoint_type asks for brokers (1) or controllers (2); a broker endpoint answers only
// brokers, so 2 is UNSUPPORTED_ENDPOINT_TYPE, as Kafka answers. The authorized-operations
// bitfield is filled only when asked; with no authorizer every cluster operation is allowed.
#include "common/asio.h"

#include <climits>

#include "protocol/generated/messages.h"
#include "server/handlers/common.h"
#include "server/handlers/handlers.h"

namespace broker::server {
namespace {

using request_type = protocol::describe_cluster_request;
using response_type = protocol::describe_cluster_response;

// AclOperation codes CREATE 5, ALTER 7, DESCRIBE 8, CLUSTER_ACTION 9, DESCRIBE_CONFIGS 10,
// ALTER_CONFIGS 11, IDEMPOTENT_WRITE 12; the bitfield sets bit `code`.
constexpr int32_t cluster_operations =
    (1 << 5) | (1 << 7) | (1 << 8) | (1 << 9) | (1 << 10) | (1 << 11) | (1 << 12);
constexpr int8_t endpoint_type_broker = 1;

}  // namespace

net::awaitable<handler_result> handle_describe_cluster(request_context& ctx,
                                                       protocol::reader& body) {
    request_type request;
    if (protocol::decode(body, ctx.api_version, request) != protocol::codec_status::ok) {
        co_return handler_result::close();
    }
    const broker_core& broker = ctx.broker;
    response_type response;
    response.throttle_time_ms = 0;
    response.endpoint_type = endpoint_type_broker;
    response.cluster_id = broker.cluster_id();
    response.error_message = std::nullopt;
    if (ctx.api_version >= 1 && request.endpoint_type != endpoint_type_broker) {
        response.error_code = code(protocol::error_code::unsupported_endpoint_type);
        response.error_message =
            "The request was sent to an endpoint of type BROKER, but we wanted an endpoint of "
            "type " +
            std::string(request.endpoint_type == 2 ? "CONTROLLER" : "UNKNOWN");
        co_return handler_result::reply(encode_response(ctx, response));
    }
    const std::shared_ptr<const cluster_view> cluster = broker.metadata().cluster();
    response.controller_id = cluster->controller_id;
    add_broker_entries(response.brokers, *cluster, ctx.listener_name,
                       &response_type::describe_cluster_broker::broker_id);
    response.cluster_authorized_operations =
        request.include_cluster_authorized_operations ? cluster_operations : INT32_MIN;
    co_return handler_result::reply(encode_response(ctx, response));
}

}  // namespace broker::server
