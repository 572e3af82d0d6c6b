// DescribeLogDirs (key 35), v0-4: every log directory with the partitions it holds and their
// sizes (bytes of .log files).
//
// topics null means every partition; otherwise only the named ones (unknown ones are left out, as
// Kafka does). offset_lag is 0 and is_future_key false: there are no replica moves between
// directories. v3+ carries a top-level error code (0); v4 each directory's total and usable bytes
// (statvfs). A directory that cannot be examined answers KAFKA_STORAGE_ERROR.
#include "common/asio.h"

#include <map>

#include "protocol/generated/messages.h"
#include "server/handlers/common.h"
#include "server/handlers/handlers.h"

namespace broker::server {
namespace {

using request_type = protocol::describe_log_dirs_request;
using response_type = protocol::describe_log_dirs_response;

}  // namespace

net::awaitable<handler_result> handle_describe_log_dirs(request_context& ctx,
                                                        protocol::reader& body) {
    request_type request;
    if (protocol::decode(body, ctx.api_version, request) != protocol::codec_status::ok) {
        co_return handler_result::close();
    }
    std::optional<std::vector<std::pair<std::string, int32_t>>> only;
    if (request.topics) {
        only.emplace();
        for (const auto& t : *request.topics) {
            for (int32_t p : t.partitions) {
                only->emplace_back(t.topic, p);
            }
        }
    }
    const topic_store* store = &ctx.broker.store();
    // statvfs and the size walk are file-system calls: off the shard.
    const auto* wanted = &only;
    const std::vector<log_dir_description> dirs = co_await ctx.broker.shards().run_blocking(
        [store, wanted] { return store->describe_log_dirs(*wanted); });

    response_type response;
    response.throttle_time_ms = 0;
    response.error_code = 0;
    for (const log_dir_description& d : dirs) {
        response_type::describe_log_dirs_result result;
        result.error_code = code(d.error);
        result.log_dir = d.path;
        result.total_bytes = d.total_bytes;
        result.usable_bytes = d.usable_bytes;
        std::map<std::string, std::vector<response_type::describe_log_dirs_partition>> by_topic;
        for (const log_dir_partition& p : d.partitions) {
            response_type::describe_log_dirs_partition part;
            part.partition_index = p.partition;
            part.partition_size = p.size_bytes;
            part.offset_lag = 0;
            part.is_future_key = false;
            by_topic[p.topic].push_back(part);
        }
        for (auto& [name, partitions] : by_topic) {
            response_type::describe_log_dirs_topic topic;
            topic.name = name;
            topic.partitions = std::move(partitions);
            result.topics.push_back(std::move(topic));
        }
        response.results.push_back(std::move(result));
    }
    co_return handler_result::reply(encode_response(ctx, response));
}

}  // namespace broker::server
