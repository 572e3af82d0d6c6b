// OffsetCommit (key 8): a group (or a consumer using manual assignment) stores its offsets.
//
// Rules (OffsetCommitRequest/Response.json, Kafka's handler and group coordinator):
//   - partitions of unknown topics, or beyond a topic's partition count, get
//     UNKNOWN_TOPIC_OR_PARTITION and are not committed; the rest go to the coordinator, which
//     appends them to `__consumer_offsets` (acks=all) and answers once the append is done;
//   - the response lists the refused partitions first, then the coordinator's results, grouped by
//     topic in order of first appearance (Kafka's OffsetCommitResponse.Builder);
//   - v0 has no generation or member id: it is a generation -1 commit (Kafka 3.x sent v0 commits
//     to ZooKeeper; this broker has no ZooKeeper offset storage, docs/groups.md);
//   - v1 carries a commit timestamp per partition (-1 = now); v2-4 a retention time (-1 = the
//     broker's offsets.retention.minutes); v5+ neither; v6+ a leader epoch per partition; v7+
//     group_instance_id; v8 flexible; v9 names the generation "member epoch" (same field);
//   - errors are per partition; a group-level problem (NOT_COORDINATOR, ILLEGAL_GENERATION, ...)
//     is reported on every partition the coordinator was given.
#include "common/asio.h"

#include <map>

#include "protocol/generated/messages.h"
#include "server/group_service.h"
#include "server/handlers/common.h"
#include "server/handlers/handlers.h"

namespace broker::server {
namespace {

using response_type = protocol::offset_commit_response;
using response_topic = response_type::offset_commit_response_topic;

/// Kafka's response builder: topics in order of first appearance, partitions appended.
using response_builder = partition_errors_builder<response_topic>;

}  // namespace

net::awaitable<handler_result> handle_offset_commit(request_context& ctx, protocol::reader& body) {
    protocol::offset_commit_request request;
    if (protocol::decode(body, ctx.api_version, request) != protocol::codec_status::ok) {
        co_return handler_result::close();
    }
    const int16_t version = ctx.api_version;
    response_builder builder;
    coordinator::offset_commit_request commit;
    commit.group_id = std::move(request.group_id);
    commit.generation_id = request.generation_id_or_member_epoch;
    commit.member_id = std::move(request.member_id);
    commit.group_instance_id = std::move(request.group_instance_id);
    commit.retention_time_ms = (version >= 2 && version <= 4) ? request.retention_time_ms : -1;

    const std::shared_ptr<const topic_snapshot> snapshot = ctx.broker.metadata().snapshot();
    for (auto& topic : request.topics) {
        const topic_info* known = snapshot->find(topic.name);
        coordinator::offset_commit_topic accepted;
        accepted.name = topic.name;
        for (const auto& p : topic.partitions) {
            const bool exists =
                known != nullptr && p.partition_index >= 0 &&
                static_cast<std::size_t>(p.partition_index) < known->partitions.size();
            if (!exists) {
                builder.add(topic.name, p.partition_index,
                            protocol::error_code::unknown_topic_or_partition);
                continue;
            }
            coordinator::offset_commit_partition partition;
            partition.partition_index = p.partition_index;
            partition.committed_offset = p.committed_offset;
            partition.committed_leader_epoch = version >= 6 ? p.committed_leader_epoch : -1;
            partition.commit_timestamp = version == 1 ? p.commit_timestamp : -1;
            partition.committed_metadata = p.committed_metadata;
            accepted.partitions.push_back(std::move(partition));
        }
        if (!accepted.partitions.empty()) {
            commit.topics.push_back(std::move(accepted));
        }
    }

    if (!commit.topics.empty()) {
        auto work = [commit = std::move(commit)](coordinator::group_coordinator& c, auto done) {
            c.commit_offsets(commit, std::move(done));
        };
        const std::optional<coordinator::offset_commit_result> result =
            co_await ctx.broker.groups().call_async<coordinator::offset_commit_result>(
                std::move(work), ctx.connection_closed);
        if (!result) {
            co_return handler_result::close();  // the connection is closing
        }
        for (const coordinator::offset_commit_topic_result& t : result->topics) {
            for (const coordinator::offset_commit_partition_result& p : t.partitions) {
                builder.add(t.name, p.partition_index, p.error);
            }
        }
    }

    response_type response;
    response.throttle_time_ms = 0;
    response.topics = builder.take();
    co_return handler_result::reply(encode_response(ctx, response));
}

}  // namespace broker::server
