// ApiVersions (key 18): the APIs and version ranges this broker serves.
//
// Rules (KIP-511 and Kafka's ApiVersions handling):
//   - every request version gets an answer; one above our maximum gets UNSUPPORTED_VERSION in a
//     v0-format body listing only ApiVersions' own range, so an old or new client can read it and
//     retry with a version we serve;
//   - the response header is always v0, even for flexible request versions;
//   - from v3 the client names its software; a name or version outside
//     [a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])? is INVALID_REQUEST with no API list;
//   - the advertised list is exactly served_apis(), the same table dispatch uses.
#include "common/asio.h"

#include "protocol/generated/messages.h"
#include "server/handlers/common.h"
#include "server/handlers/handlers.h"

namespace broker::server {
namespace {

constexpr int16_t api_versions_key = 18;

bool valid_software_text(std::string_view text) {
    const auto alnum = [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    };
    if (text.empty() || !alnum(text.front()) || !alnum(text.back())) {
        return false;
    }
    for (char c : text) {
        if (!alnum(c) && c != '-' && c != '.') {
            return false;
        }
    }
    return true;
}

}  // namespace

net::awaitable<handler_result> handle_api_versions(request_context& ctx, protocol::reader& body) {
    const served_api* self = find_served_api(api_versions_key);
    protocol::api_versions_response response;
    response.throttle_time_ms = 0;

    if (ctx.api_version < self->min_version || ctx.api_version > self->max_version) {
        // The body of an unknown version cannot be parsed and is not needed.
        response.error_code = code(protocol::error_code::unsupported_version);
        protocol::api_versions_response::api_version own;
        own.api_key = self->api_key;
        own.min_version = self->min_version;
        own.max_version = self->max_version;
        response.api_keys.push_back(own);
        co_return handler_result::reply(encode_response(/*header_version=*/0, ctx.correlation_id,
                                                        /*body_version=*/0, response));
    }

    protocol::api_versions_request request;
    if (protocol::decode(body, ctx.api_version, request) != protocol::codec_status::ok) {
        co_return handler_result::close();
    }
    if (ctx.api_version >= 3 && (!valid_software_text(request.client_software_name) ||
                                 !valid_software_text(request.client_software_version))) {
        response.error_code = code(protocol::error_code::invalid_request);
        co_return handler_result::reply(encode_response(ctx, response));
    }

    response.error_code = code(protocol::error_code::none);
    for (const served_api& api : served_apis()) {
        if (!api.served(ctx.broker.config().single_node())) {
            continue;
        }
        protocol::api_versions_response::api_version entry;
        entry.api_key = api.api_key;
        entry.min_version = api.min_version;
        entry.max_version = api.max_version;
        response.api_keys.push_back(entry);
    }
    // No features are advertised (supported_features stays empty, finalized_features_epoch at its
    // default of -1): a ZooKeeper-mode broker without feature versioning looks like this to
    // clients.
    co_return handler_result::reply(encode_response(ctx, response));
}

}  // namespace broker::server
