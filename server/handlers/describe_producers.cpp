// DescribeProducers (key 61): the idempotent producers each partition knows (KIP-664), for
// kafka-transactions.sh / Admin.describeProducers. Per partition: producer id, epoch, last
// sequence, last timestamp, coordinator epoch (-1: no transactions) and the current transaction's
// start offset (-1). Unknown topics or partitions answer UNKNOWN_TOPIC_OR_PARTITION.
#include "common/asio.h"

#include <mutex>

#include "log/errors.h"
#include "protocol/generated/messages.h"
#include "server/handlers/common.h"
#include "server/handlers/handlers.h"
#include "server/logging.h"

namespace broker::server {

net::awaitable<handler_result> handle_describe_producers(request_context& ctx,
                                                         protocol::reader& body) {
    protocol::describe_producers_request request;
    if (protocol::decode(body, ctx.api_version, request) != protocol::codec_status::ok) {
        co_return handler_result::close();
    }
    const broker_config& config = ctx.broker.config();
    const int64_t now = ctx.broker.store().clock().now_ms();
    protocol::describe_producers_response response;
    response.throttle_time_ms = 0;
    for (const auto& topic : request.topics) {
        protocol::describe_producers_response::topic_response out_topic;
        out_topic.name = topic.name;
        for (int32_t index : topic.partition_indexes) {
            protocol::describe_producers_response::partition_response out;
            out.partition_index = index;
            std::shared_ptr<partition> p = ctx.broker.find_partition(topic.name, index);
            if (!p) {
                out.error_code = code(protocol::error_code::unknown_topic_or_partition);
                out_topic.partitions.push_back(std::move(out));
                continue;
            }
            auto producers = p->active_producers(now, config);
            if (!producers && producers.error() == log::errc::log_closed) {
                out.error_code = code(protocol::error_code::unknown_topic_or_partition);
            } else if (!producers) {
                BROKER_LOG_ERROR("loading producer state of " << topic.name << "-" << index << ": "
                                                              << producers.error().message());
                out.error_code = code(protocol::error_code::kafka_storage_error);
            } else if (p->role() != replica_role::leader) {
                out.error_code = code(protocol::error_code::not_leader_or_follower);
            } else {
                for (const auto& [id, entry] : producers.value()) {
                    protocol::describe_producers_response::producer_state state;
                    state.producer_id = id.value();
                    state.producer_epoch = entry.epoch;
                    state.last_sequence = entry.last_sequence();
                    state.last_timestamp = entry.last_timestamp;
                    state.coordinator_epoch = entry.coordinator_epoch;
                    state.current_txn_start_offset = -1;
                    out.active_producers.push_back(std::move(state));
                }
            }
            out_topic.partitions.push_back(std::move(out));
        }
        response.topics.push_back(std::move(out_topic));
    }
    co_return handler_result::reply(encode_response(ctx, response));
}

}  // namespace broker::server
