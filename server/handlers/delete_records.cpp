// DeleteRecords (key 21), v0-2.
//
// Moves each partition's log start offset (partition_log::delete_records) and answers the new
// low watermark. Offset -1 means the high watermark; an offset above the high watermark (or
// negative) is OFFSET_OUT_OF_RANGE; a topic whose cleanup.policy lacks delete answers
// POLICY_VIOLATION, as Kafka does; unknown partitions UNKNOWN_TOPIC_OR_PARTITION. Errors carry
// low_watermark -1. Segments wholly below the new start are deleted before the answer.
//
// Then, as Kafka's delayed DeleteRecords does, each partition waits until its low watermark (the
// smallest log start offset over the leader and its followers, which report theirs in their
// fetches) reaches the new start, for at most `timeout_ms` (REQUEST_TIMED_OUT after it); the
// answer carries that low watermark. A leader with no followers has reached it at once.
#include "common/asio.h"

#include <chrono>
#include <memory>
#include <vector>

#include "protocol/generated/messages.h"
#include "server/handlers/common.h"
#include "server/handlers/handlers.h"
#include "server/replica/delayed_operation.h"

namespace broker::server {
namespace {

using request_type = protocol::delete_records_request;
using response_type = protocol::delete_records_response;
using protocol::error_code;

/// One partition whose log start moved, waiting for its low watermark to follow.
struct pending_partition {
    response_type::delete_records_partition_result* answer = nullptr;
    std::shared_ptr<partition> target;
    int64_t offset = 0;
};

/// True once settled: the low watermark reached the offset (the answer takes it) or can never be
/// read (the answer takes the error).
bool settle_low_watermark(pending_partition& p) {
    int64_t low = -1;
    const error_code e = p.target->low_watermark(low);
    if (e != error_code::none) {
        p.answer->error_code = code(e);
        p.answer->low_watermark = -1;
        return true;
    }
    if (low >= p.offset) {
        p.answer->low_watermark = low;
        return true;
    }
    return false;
}

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

    // The low watermarks. The response's vectors are complete: pointers into them stay valid.
    std::vector<pending_partition> waiting;
    for (auto& topic : response.topics) {
        for (auto& part : topic.partitions) {
            if (part.error_code != 0) {
                continue;
            }
            pending_partition p{&part, ctx.broker.find_partition(topic.name, part.partition_index),
                                part.low_watermark};
            if (!p.target) {
                part.error_code = code(error_code::unknown_topic_or_partition);
                part.low_watermark = -1;
                continue;
            }
            if (!settle_low_watermark(p)) {
                waiting.push_back(std::move(p));
            }
        }
    }
    if (!waiting.empty()) {
        ctx.release_frame();
        std::vector<delayed_watch> watches;
        watches.reserve(waiting.size());
        for (const pending_partition& p : waiting) {
            watches.push_back(delayed_watch{p.target, partition_event::low_watermark});
        }
        const auto try_complete = [&waiting] {
            std::erase_if(waiting, [](pending_partition& p) { return settle_low_watermark(p); });
            return waiting.empty();
        };
        const auto deadline = std::chrono::steady_clock::now() +
                              std::chrono::milliseconds(std::max(request.timeout_ms, 0));
        const delayed_outcome outcome =
            co_await wait_until(watches, deadline, try_complete, ctx.connection_closed);
        if (outcome != delayed_outcome::completed) {
            for (pending_partition& p : waiting) {
                p.answer->error_code = code(error_code::request_timed_out);
                p.answer->low_watermark = -1;
            }
        }
    }
    co_return handler_result::reply(encode_response(ctx, response));
}

}  // namespace broker::server
