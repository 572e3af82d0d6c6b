// CreatePartitions (key 37), v0-3.
//
// Per topic: the count may only grow (equal or lower: INVALID_PARTITIONS); an assignment, when
// given, has one replica list per new partition, each naming only this broker
// (INVALID_REPLICA_ASSIGNMENT); unknown topics answer UNKNOWN_TOPIC_OR_PARTITION; a topic named
// twice answers INVALID_REQUEST for every occurrence. validate_only runs the checks only. New
// partitions exist when the response is sent. error_message is null on success.
#include "common/asio.h"

#include <map>

#include "protocol/generated/messages.h"
#include "server/handlers/common.h"
#include "server/handlers/handlers.h"

namespace broker::server {
namespace {

using request_type = protocol::create_partitions_request;
using response_type = protocol::create_partitions_response;
using protocol::error_code;

}  // namespace

net::awaitable<handler_result> handle_create_partitions(request_context& ctx,
                                                        protocol::reader& body) {
    request_type request;
    if (protocol::decode(body, ctx.api_version, request) != protocol::codec_status::ok) {
        co_return handler_result::close();
    }
    std::map<std::string, int> occurrences;
    for (const auto& t : request.topics) {
        ++occurrences[t.name];
    }
    response_type response;
    response.throttle_time_ms = 0;
    admin_backend* admin = &ctx.broker.admin();
    for (const auto& t : request.topics) {
        response_type::create_partitions_topic_result result;
        result.name = t.name;
        result.error_message = std::nullopt;
        if (occurrences[t.name] > 1) {
            result.error_code = code(error_code::invalid_request);
            result.error_message = "Duplicate topic in request.";
            response.results.push_back(std::move(result));
            continue;
        }
        std::optional<std::vector<std::vector<int32_t>>> assignments;
        if (t.assignments) {
            assignments.emplace();
            for (const auto& a : *t.assignments) {
                assignments->push_back(a.broker_ids);
            }
        }
        const auto* wanted = &t;
        const auto* replicas = &assignments;
        const bool validate_only = request.validate_only;
        const topic_result outcome =
            co_await ctx.broker.shards().run_blocking([admin, wanted, replicas, validate_only] {
                return admin->create_partitions(wanted->name, wanted->count, *replicas,
                                                validate_only);
            });
        if (!outcome.ok()) {
            result.error_code = code(outcome.error);
            result.error_message = outcome.message;
        }
        response.results.push_back(std::move(result));
    }
    co_return handler_result::reply(encode_response(ctx, response));
}

}  // namespace broker::server
