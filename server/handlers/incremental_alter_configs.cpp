// IncrementalAlterConfigs (key 44), v0-1: changes named configs of a resource, leaving the others.
//
// Operations: SET (0), DELETE (1, back to the inherited value), APPEND (2) and SUBTRACT (3); the
// last two only for list configs (cleanup.policy, the replication throttle lists, and the broker's
// log.cleanup.policy), else INVALID_REQUEST, as Kafka answers. A name given twice in one resource
// is INVALID_REQUEST; an unknown operation INVALID_REQUEST. Resources and validation are as for
// AlterConfigs (alter_configs.cpp). error_message is null on success.
#include "common/asio.h"

#include <set>

#include "protocol/generated/messages.h"
#include "server/handlers/common.h"
#include "server/handlers/handlers.h"

namespace broker::server {
namespace {

using request_type = protocol::incremental_alter_configs_request;
using response_type = protocol::incremental_alter_configs_response;
using protocol::error_code;

net::awaitable<topic_result> apply(request_context& ctx, admin_backend* admin, int32_t broker_id,
                                   const request_type::alter_configs_resource& r,
                                   const std::vector<config_operation>& ops, bool validate_only) {
    const std::vector<config_operation>* wanted = &ops;
    if (r.resource_type == resource_type_topic) {
        if (auto error = check_topic_name(r.resource_name)) {
            co_return topic_result::failure(error_code::invalid_topic_exception, *error);
        } else {
            const std::string* name = &r.resource_name;
            topic_result result =
                co_await ctx.broker.shards().run_blocking([admin, name, wanted, validate_only] {
                    return admin->incremental_alter_topic_configs(*name, *wanted, validate_only);
                });
            co_return result;
        }
    } else if (r.resource_type == resource_type_broker) {
        std::string error;
        const auto is_default = broker_resource_is_default(r.resource_name, broker_id, error);
        if (!is_default) {
            co_return topic_result::failure(error_code::invalid_request, error);
        } else {
            const bool d = *is_default;
            topic_result result =
                co_await ctx.broker.shards().run_blocking([admin, d, wanted, validate_only] {
                    return admin->incremental_alter_broker_configs(d, *wanted, validate_only);
                });
            co_return result;
        }
    } else {
        co_return topic_result::failure(error_code::invalid_request,
                                        "IncrementalAlterConfigs is only supported for topics and "
                                        "brokers, but resource type is " +
                                            std::to_string(r.resource_type));
    }
}

}  // namespace

net::awaitable<handler_result> handle_incremental_alter_configs(request_context& ctx,
                                                                protocol::reader& body) {
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
        std::vector<config_operation> ops;
        std::set<std::string> names;
        for (const auto& c : r.configs) {
            if (!names.insert(c.name).second) {
                outcome = topic_result::failure(error_code::invalid_request,
                                                "Error due to duplicate config keys");
                break;
            }
            if (c.config_operation < 0 || c.config_operation > 3) {
                outcome = topic_result::failure(error_code::invalid_request,
                                                "Unknown config operation " +
                                                    std::to_string(c.config_operation) + " for " +
                                                    c.name);
                break;
            }
            ops.push_back(config_operation{
                c.name, static_cast<config_operation::kind>(c.config_operation), c.value});
        }
        if (outcome.ok()) {
            outcome = co_await apply(ctx, admin, broker_id, r, ops, request.validate_only);
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
