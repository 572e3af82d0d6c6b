// DeleteRecords (key 21), v0-2.
//
// Moves each partition's log start offset (partition_log::delete_records) and answers the new
// low watermark. Offset -1 means the high watermark; an offset above the high watermark (or
// negative) is OFFSET_OUT_OF_RANGE; a topic whose cleanup.policy lacks delete answers
// POLICY_VIOLATION, as Kafka does; unknown partitions UNKNOWN_TOPIC_OR_PARTITION. Errors carry
// low_watermark -1. Segments wholly below the new start are deleted before the answer.
#include "common/asio.h"

#include "protocol/generated/messages.h"
#include "server/handlers/common.h"
#include "server/handlers/handlers.h"

namespace broker::server {
namespace {

using request_type = protocol::delete_records_request;
using response_type = protocol::delete_records_response;

}  // namespace

net::awaitable<handler_result> handle_delete_records(request_context& ctx, protocol::reader& body) {
    request_type request;
    if (protocol::decode(body, ctx.api_version, request) != protocol::codec_status::ok) {
        co_return handler_result::close();
    }
    topic_store* store = &ctx.broker.store();
    // One hop to the blocking pool for the whole request: deleting segments unlinks files.
    response_type response = co_await ctx.broker.shards().run_blocking([store, &request] {
        response_type out;
        out.throttle_time_ms = 0;
        for (const auto& t : request.topics) {
            response_type::delete_records_topic_result topic;
            topic.name = t.name;
            for (const auto& p : t.partitions) {
                response_type::delete_records_partition_result part;
                part.partition_index = p.partition_index;
                const auto [result, low_watermark] =
                    store->delete_records(t.name, p.partition_index, p.offset);
                part.error_code = code(result.error);
                part.low_watermark = result.ok() ? low_watermark : -1;
                topic.partitions.push_back(part);
            }
            out.topics.push_back(std::move(topic));
        }
        return out;
    });
    co_return handler_result::reply(encode_response(ctx, response));
}

}  // namespace broker::server
