// AlterConfigs (key 33), v0-2: replaces a resource's whole set of dynamic configs.
//
//   - topics (type 2): the new override set is validated as a whole (unknown names and bad values:
//     INVALID_CONFIG; a null value: INVALID_REQUEST), persisted, and applied to the live partition
//     logs; names left out return to the broker default. Unknown topics answer
//     UNKNOWN_TOPIC_OR_PARTITION.
//   - the broker (type 4): "" sets the cluster-wide dynamic defaults, this broker's id its own
//     dynamic configs (which win). Only the broker keys that default topic configs may be set
//     (topic_config.h is_dynamic_broker_config); other known keys answer INVALID_REQUEST as Kafka
//     does for static configs, unknown keys INVALID_CONFIG. Every topic is re-resolved afterwards.
//   - anything else: INVALID_REQUEST.
// validate_only checks without changing anything. error_message is null on success.
#include "common/asio.h"

#include "protocol/generated/messages.h"
#include "server/handlers/common.h"
#include "server/handlers/handlers.h"

namespace broker::server {
namespace {

using request_type = protocol::alter_configs_request;
using response_type = protocol::alter_configs_response;
using protocol::error_code;

}  // namespace

net::awaitable<handler_result> handle_alter_configs(request_context& ctx, protocol::reader& body) {
    request_type request;
    if (protocol::decode(body, ctx.api_version, request) != protocol::codec_status::ok) {
        co_return handler_result::close();
    }
    admin_backend* admin = &ctx.broker.admin();
    const int32_t broker_id = ctx.broker.broker_id();
    response_type response;
    response.throttle_time_ms = 0;
    for (const auto& r : request.resources) {
        response_type::alter_configs_resource_response result;
        result.resource_type = r.resource_type;
        result.resource_name = r.resource_name;
        result.error_message = std::nullopt;
        topic_result outcome;
        config_map configs;
        std::string null_names;
        for (const auto& c : r.configs) {
            if (!c.value) {
                null_names += (null_names.empty() ? "" : ",") + c.name;
            } else {
                configs[c.name] = *c.value;
            }
        }
        if (!null_names.empty()) {
            outcome = topic_result::failure(error_code::invalid_request,
                                            "Null value not supported for : " + null_names);
        } else if (r.resource_type == resource_type_topic) {
            if (auto error = check_topic_name(r.resource_name)) {
                outcome = topic_result::failure(error_code::invalid_topic_exception, *error);
            } else {
                const std::string* name = &r.resource_name;
                const config_map* wanted = &configs;
                const bool v = request.validate_only;
                outcome = co_await ctx.broker.shards().run_blocking([admin, name, wanted, v] {
                    return admin->alter_topic_configs(*name, *wanted, v);
                });
            }
        } else if (r.resource_type == resource_type_broker) {
            std::string error;
            const auto is_default = broker_resource_is_default(r.resource_name, broker_id, error);
            if (!is_default) {
                outcome = topic_result::failure(error_code::invalid_request, error);
            } else {
                const bool d = *is_default;
                const config_map* wanted = &configs;
                const bool v = request.validate_only;
                outcome = co_await ctx.broker.shards().run_blocking(
                    [admin, d, wanted, v] { return admin->alter_broker_configs(d, *wanted, v); });
            }
        } else {
            outcome = topic_result::failure(
                error_code::invalid_request,
                "AlterConfigs is only supported for topics and brokers, but resource type is " +
                    std::to_string(r.resource_type));
        }
        result.error_code = code(outcome.error);
        if (!outcome.ok()) {
            result.error_message = outcome.message;
        }
        response.responses.push_back(std::move(result));
    }
    co_return handler_result::reply(encode_response(ctx, response));
}

}  // namespace broker::server
