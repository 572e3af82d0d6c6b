// DeleteTopics (key 20), v0-6.
//
// v0-5 name topics in topic_names; v6 lists topics by name or by id (both set: INVALID_REQUEST).
// Unknown names answer UNKNOWN_TOPIC_OR_PARTITION, unknown ids UNKNOWN_TOPIC_ID (with a null name);
// delete.topic.enable=false answers TOPIC_DELETION_DISABLED. Internal topics are refused with
// INVALID_TOPIC_EXCEPTION: Kafka's broker would delete them (its command-line tool refuses), but
// that silently destroys every group's committed offsets (docs/topics.md). A topic named twice is
// deleted once and answered once. Deletion is complete when the response is sent: the partition
// logs are closed and renamed for removal, and fetches waiting on them are woken.
// error_message (v5+) is null on success.
#include "common/asio.h"

#include <set>

#include "protocol/generated/messages.h"
#include "server/handlers/common.h"
#include "server/handlers/handlers.h"

namespace broker::server {
namespace {

using request_type = protocol::delete_topics_request;
using response_type = protocol::delete_topics_response;
using protocol::error_code;

}  // namespace

net::awaitable<handler_result> handle_delete_topics(request_context& ctx, protocol::reader& body) {
    request_type request;
    if (protocol::decode(body, ctx.api_version, request) != protocol::codec_status::ok) {
        co_return handler_result::close();
    }
    std::vector<request_type::delete_topic_state> wanted;
    if (ctx.api_version >= 6) {
        wanted = std::move(request.topics);
    } else {
        for (std::string& name : request.topic_names) {
            request_type::delete_topic_state state;
            state.name = std::move(name);
            wanted.push_back(std::move(state));
        }
    }

    response_type response;
    response.throttle_time_ms = 0;
    const topic_store* store = &ctx.broker.store();
    admin_backend* admin = &ctx.broker.admin();
    std::set<std::string> seen_names;
    std::set<protocol::uuid> seen_ids;
    for (const auto& t : wanted) {
        response_type::deletable_topic_result result;
        result.name = t.name;
        result.topic_id = t.topic_id;
        result.error_message = std::nullopt;
        if (t.name && !t.topic_id.is_zero()) {
            result.error_code = code(error_code::invalid_request);
            result.error_message = "You may not specify both topic name and topic id.";
            response.responses.push_back(std::move(result));
            continue;
        }
        if (t.name ? !seen_names.insert(*t.name).second : !seen_ids.insert(t.topic_id).second) {
            continue;
        }
        topic_result outcome;
        if (t.name) {
            result.topic_id = store->topic_id_of(*t.name).value_or(protocol::uuid{});
            const std::string* name = &*t.name;
            outcome = co_await ctx.broker.shards().run_blocking(
                [admin, name] { return admin->delete_topic(*name); });
        } else {
            result.name = store->topic_name_of(t.topic_id);
            const protocol::uuid* id = &t.topic_id;
            outcome = co_await ctx.broker.shards().run_blocking(
                [admin, id] { return admin->delete_topic(*id); });
        }
        if (!outcome.ok()) {
            result.error_code = code(outcome.error);
            result.error_message = outcome.message;
            if (outcome.error == error_code::unknown_topic_or_partition ||
                outcome.error == error_code::unknown_topic_id) {
                result.topic_id = t.topic_id;
            }
        }
        response.responses.push_back(std::move(result));
    }
    co_return handler_result::reply(encode_response(ctx, response));
}

}  // namespace broker::server
