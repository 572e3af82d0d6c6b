// ElectLeaders (key 43), v0-2: kafka-leader-election and Admin.electLeaders.
//
// Kafka's controller moves leadership to the preferred replica (the first of the assignment,
// election type 0) or to any live replica of a partition without a live leader (unclean, type 1).
// A partition whose current leader already satisfies the election answers ELECTION_NOT_NEEDED, as
// Kafka's does; that is every partition of a single node, which leads each partition it alone
// replicates. A partition that would need a new leader answers PREFERRED_LEADER_NOT_AVAILABLE
// (preferred) or ELIGIBLE_LEADERS_NOT_AVAILABLE (unclean) until the cluster's controller can move
// leadership. A null partition list means every partition the metadata cache knows, and then, as
// in Kafka, the answer leaves out the partitions that needed no election (only elections and
// errors are listed, so on a single node it is empty); unknown partitions answer
// UNKNOWN_TOPIC_OR_PARTITION; an unknown election type INVALID_REQUEST for the whole request.
#include "common/asio.h"

#include <memory>
#include <string>

#include "protocol/generated/messages.h"
#include "server/handlers/common.h"
#include "server/handlers/handlers.h"

namespace broker::server {
namespace {

using protocol::error_code;
using response_type = protocol::elect_leaders_response;

constexpr int8_t preferred_election = 0;
constexpr int8_t unclean_election = 1;

response_type::partition_result_data elect_one(const topic_snapshot& snapshot,
                                               const std::string& topic, int32_t index,
                                               int8_t election_type) {
    response_type::partition_result_data out;
    out.partition_id = index;
    out.error_message = std::nullopt;
    const topic_info* info = snapshot.find(topic);
    if (info == nullptr || index < 0 ||
        static_cast<std::size_t>(index) >= info->partitions.size()) {
        out.error_code = code(error_code::unknown_topic_or_partition);
        out.error_message = "The partition does not exist.";
        return out;
    }
    const partition_info& p = info->partitions[static_cast<std::size_t>(index)];
    const bool has_leader = p.leader_id >= 0;
    const bool satisfied =
        election_type == preferred_election
            ? has_leader && !p.replica_nodes.empty() && p.replica_nodes.front() == p.leader_id
            : has_leader;
    if (satisfied) {
        out.error_code = code(error_code::election_not_needed);
        out.error_message = "Leader election not needed for topic partition.";
        return out;
    }
    if (election_type == preferred_election) {
        out.error_code = code(error_code::preferred_leader_not_available);
        out.error_message = "Failed to elect leader for partition " + topic + "-" +
                            std::to_string(index) +
                            " under strategy PreferredReplicaPartitionLeaderElectionStrategy";
    } else {
        out.error_code = code(error_code::eligible_leaders_not_available);
        out.error_message = "Failed to elect leader for partition " + topic + "-" +
                            std::to_string(index) +
                            " under strategy UncleanPartitionLeaderElectionStrategy";
    }
    return out;
}

}  // namespace

net::awaitable<handler_result> handle_elect_leaders(request_context& ctx, protocol::reader& body) {
    protocol::elect_leaders_request request;
    if (protocol::decode(body, ctx.api_version, request) != protocol::codec_status::ok) {
        co_return handler_result::close();
    }
    response_type response;
    response.throttle_time_ms = 0;
    const int8_t type = ctx.api_version >= 1 ? request.election_type : preferred_election;
    if (type != preferred_election && type != unclean_election) {
        response.error_code = code(error_code::invalid_request);
        co_return handler_result::reply(encode_response(ctx, response));
    }
    const std::shared_ptr<const topic_snapshot> snapshot = ctx.broker.metadata().snapshot();
    if (!request.topic_partitions) {
        for (const auto& [name, topic] : snapshot->topics()) {
            response_type::replica_election_result result;
            result.topic = name;
            for (const partition_info& p : topic.partitions) {
                auto one = elect_one(*snapshot, name, p.partition_index, type);
                if (one.error_code != code(error_code::election_not_needed)) {
                    result.partition_result.push_back(std::move(one));
                }
            }
            if (!result.partition_result.empty()) {
                response.replica_election_results.push_back(std::move(result));
            }
        }
    } else {
        for (const auto& t : *request.topic_partitions) {
            response_type::replica_election_result result;
            result.topic = t.topic;
            for (const int32_t index : t.partitions) {
                result.partition_result.push_back(elect_one(*snapshot, t.topic, index, type));
            }
            response.replica_election_results.push_back(std::move(result));
        }
    }
    co_return handler_result::reply(encode_response(ctx, response));
}

}  // namespace broker::server
