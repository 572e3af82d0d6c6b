// DescribeConfigs (key 32), v0-4.
//
// Resources:
//   - topics (type 2): every Kafka topic config with its effective value and source
//     (DYNAMIC_TOPIC_CONFIG for an override, else the broker key it came from:
//     DYNAMIC_BROKER_CONFIG, DYNAMIC_DEFAULT_BROKER_CONFIG, STATIC_BROKER_CONFIG, or
//     DEFAULT_CONFIG). An illegal name answers INVALID_TOPIC_EXCEPTION, an unknown topic
//     UNKNOWN_TOPIC_OR_PARTITION.
//   - the broker (type 4): named "" it lists the cluster-wide dynamic defaults only; named by this
//     broker's id every broker config with value and source (read_only unless it may be altered
//     at run time); any other name is INVALID_REQUEST, as Kafka answers.
//   - anything else: INVALID_REQUEST.
// configuration_keys (null = all) filters the entries. v0 reports is_default instead of a source;
// synonyms (v1+) are sent only when include_synonyms is set; v3+ adds config_type, and each
// config's documentation (a sentence or two from the config tables) when include_documentation is
// set, else null.
#include "common/asio.h"

#include <algorithm>

#include "protocol/generated/messages.h"
#include "server/handlers/common.h"
#include "server/handlers/handlers.h"

namespace broker::server {
namespace {

using request_type = protocol::describe_configs_request;
using response_type = protocol::describe_configs_response;
using protocol::error_code;

response_type::describe_configs_resource_result to_entry(const described_config& c,
                                                         bool include_synonyms,
                                                         bool include_documentation) {
    response_type::describe_configs_resource_result e;
    e.name = c.name;
    e.value = c.value;
    e.read_only = c.read_only;
    e.is_default = c.source == config_source::default_config;
    e.config_source = static_cast<int8_t>(c.source);
    e.is_sensitive = c.sensitive;
    e.config_type = static_cast<int8_t>(c.type);
    if (include_documentation && !c.documentation.empty()) {
        e.documentation = c.documentation;
    } else {
        e.documentation = std::nullopt;
    }
    if (include_synonyms) {
        for (const auto& s : c.synonyms) {
            response_type::describe_configs_synonym syn;
            syn.name = s.name;
            syn.value = s.value;
            syn.source = static_cast<int8_t>(s.source);
            e.synonyms.push_back(std::move(syn));
        }
    }
    return e;
}

}  // namespace

net::awaitable<handler_result> handle_describe_configs(request_context& ctx,
                                                       protocol::reader& body) {
    request_type request;
    if (protocol::decode(body, ctx.api_version, request) != protocol::codec_status::ok) {
        co_return handler_result::close();
    }
    const bool include_synonyms = ctx.api_version >= 1 && request.include_synonyms;
    const bool include_documentation = ctx.api_version >= 3 && request.include_documentation;
    const topic_store& store = ctx.broker.store();
    response_type response;
    response.throttle_time_ms = 0;
    for (const auto& r : request.resources) {
        response_type::describe_configs_result result;
        result.resource_type = r.resource_type;
        result.resource_name = r.resource_name;
        result.error_message = std::nullopt;
        const auto fail = [&](error_code e, std::string message) {
            result.error_code = code(e);
            result.error_message = std::move(message);
        };
        std::vector<described_config> configs;
        if (r.resource_type == resource_type_topic) {
            if (auto error = check_topic_name(r.resource_name)) {
                fail(error_code::invalid_topic_exception, *error);
            } else if (auto described = store.describe_topic_configs(r.resource_name)) {
                configs = std::move(*described);
            } else {
                fail(error_code::unknown_topic_or_partition,
                     "The topic '" + r.resource_name + "' does not exist.");
            }
        } else if (r.resource_type == resource_type_broker) {
            std::string error;
            const auto is_default =
                broker_resource_is_default(r.resource_name, ctx.broker.broker_id(), error);
            if (!is_default) {
                fail(error_code::invalid_request, error);
            } else {
                configs = store.describe_broker_configs(*is_default);
            }
        } else {
            fail(error_code::invalid_request, "Unsupported resource type " +
                                                  std::to_string(r.resource_type) +
                                                  " for DescribeConfigs");
        }
        for (const described_config& c : configs) {
            if (r.configuration_keys &&
                std::find(r.configuration_keys->begin(), r.configuration_keys->end(), c.name) ==
                    r.configuration_keys->end()) {
                continue;
            }
            result.configs.push_back(to_entry(c, include_synonyms, include_documentation));
        }
        response.results.push_back(std::move(result));
    }
    co_return handler_result::reply(encode_response(ctx, response));
}

}  // namespace broker::server
