// OffsetFetch (key 9): the committed offsets of a group (one group up to v7, several from v8).
//
// Rules (OffsetFetchRequest/Response.json, Kafka's OffsetFetchResponse and handler):
//   - a partition without a committed offset answers offset -1, leader epoch -1, metadata "" and
//     no error; null `topics` (v2+) asks for every committed partition of the group;
//   - v7+ require_stable: a partition whose commit is still being written answers
//     UNSTABLE_OFFSET_COMMIT;
//   - where a group-level error goes depends on the version: v0-1 have no top-level error, so it
//     is written on every requested partition (offset -1, metadata ""); v2-7 carry it in the
//     top-level error_code (with no topics); v8+ carry one error per group;
//   - v8+ member_id/member_epoch belong to the KIP-848 consumer protocol; classic groups ignore
//   them;
//   - v0 read ZooKeeper-stored offsets in Kafka 3.x; here every version reads the coordinator
//     (docs/groups.md).
#include "common/asio.h"

#include "protocol/generated/messages.h"
#include "server/group_service.h"
#include "server/handlers/common.h"
#include "server/handlers/handlers.h"

namespace broker::server {
namespace {

using response_type = protocol::offset_fetch_response;
constexpr int16_t first_top_level_error_version = 2;
constexpr int16_t first_multi_group_version = 8;

template <typename Partition>
Partition to_partition(const coordinator::offset_fetch_partition_result& p) {
    Partition out;
    out.partition_index = p.partition_index;
    out.committed_offset = p.committed_offset;
    out.committed_leader_epoch = p.committed_leader_epoch;
    out.metadata = p.metadata;
    out.error_code = code(p.error);
    return out;
}

}  // namespace

net::awaitable<handler_result> handle_offset_fetch(request_context& ctx, protocol::reader& body) {
    protocol::offset_fetch_request request;
    if (protocol::decode(body, ctx.api_version, request) != protocol::codec_status::ok) {
        co_return handler_result::close();
    }
    const int16_t version = ctx.api_version;
    const bool require_stable = version >= 7 && request.require_stable;

    std::vector<coordinator::offset_fetch_group> groups;
    if (version < first_multi_group_version) {
        coordinator::offset_fetch_group group;
        group.group_id = std::move(request.group_id);
        if (request.topics) {
            group.topics.emplace();
            for (auto& t : *request.topics) {
                group.topics->push_back({std::move(t.name), std::move(t.partition_indexes)});
            }
        }
        groups.push_back(std::move(group));
    } else {
        groups.reserve(request.groups.size());
        for (auto& g : request.groups) {
            coordinator::offset_fetch_group group;
            group.group_id = std::move(g.group_id);
            if (g.topics) {
                group.topics.emplace();
                for (auto& t : *g.topics) {
                    group.topics->push_back({std::move(t.name), std::move(t.partition_indexes)});
                }
            }
            groups.push_back(std::move(group));
        }
    }

    auto work = [groups, require_stable](coordinator::group_coordinator& c) {
        return c.fetch_offsets(std::span<const coordinator::offset_fetch_group>(groups),
                               require_stable);
    };
    std::vector<coordinator::offset_fetch_group_result> results =
        co_await ctx.broker.groups().call(std::move(work));

    response_type response;
    response.throttle_time_ms = 0;
    if (version >= first_multi_group_version) {
        for (const coordinator::offset_fetch_group_result& g : results) {
            response_type::offset_fetch_response_group group;
            group.group_id = g.group_id;
            group.error_code = code(g.error);
            for (const coordinator::offset_fetch_topic_result& t : g.topics) {
                response_type::offset_fetch_response_topics topic;
                topic.name = t.name;
                for (const auto& p : t.partitions) {
                    topic.partitions.push_back(
                        to_partition<response_type::offset_fetch_response_partitions>(p));
                }
                group.topics.push_back(std::move(topic));
            }
            response.groups.push_back(std::move(group));
        }
        co_return handler_result::reply(encode_response(ctx, response));
    }

    const coordinator::offset_fetch_group_result& result = results.at(0);
    if (result.error != protocol::error_code::none && version < first_top_level_error_version) {
        // No top-level error before v2: every requested partition carries it (Kafka's
        // OffsetFetchResponse.groupError).
        for (const coordinator::offset_fetch_topic& t :
             groups.at(0).topics.value_or(std::vector<coordinator::offset_fetch_topic>{})) {
            response_type::offset_fetch_response_topic topic;
            topic.name = t.name;
            for (int32_t index : t.partition_indexes) {
                response_type::offset_fetch_response_partition p;
                p.partition_index = index;
                p.committed_offset = -1;
                p.committed_leader_epoch = -1;
                p.metadata = std::string();
                p.error_code = code(result.error);
                topic.partitions.push_back(std::move(p));
            }
            response.topics.push_back(std::move(topic));
        }
        co_return handler_result::reply(encode_response(ctx, response));
    }
    response.error_code = code(result.error);
    for (const coordinator::offset_fetch_topic_result& t : result.topics) {
        response_type::offset_fetch_response_topic topic;
        topic.name = t.name;
        for (const auto& p : t.partitions) {
            topic.partitions.push_back(
                to_partition<response_type::offset_fetch_response_partition>(p));
        }
        response.topics.push_back(std::move(topic));
    }
    co_return handler_result::reply(encode_response(ctx, response));
}

}  // namespace broker::server
