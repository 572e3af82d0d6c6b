// UpdateMetadata (key 6): the controller's view of the cluster (live brokers with their
// endpoints and racks, the controller, each partition's leader, epoch, replicas and in-sync set),
// which this broker's metadata cache then serves to Metadata, FindCoordinator and the rest
// (cluster mode only; docs/cluster.md).
//
// Rules (UpdateMetadataRequest/Response.json, Kafka's ZooKeeper-mode metadata cache):
//   - served from v5, the first version carrying the broker epoch, to v8; never on a single node;
//   - refused whole with STALE_BROKER_EPOCH / STALE_CONTROLLER_EPOCH as LeaderAndIsr is;
//   - the live broker set replaces the previous one; partition states are upserts, and a
//     partition whose leader is -2 (Kafka's LeaderDuringDelete) is removed
//     (server/cluster/metadata_image.h).
#include "common/asio.h"

#include <mutex>

#include "protocol/generated/messages.h"
#include "server/cluster/cluster_member.h"
#include "server/cluster/metadata_image.h"
#include "server/handlers/common.h"
#include "server/handlers/controller_fence.h"
#include "server/handlers/handlers.h"
#include "server/logging.h"

namespace broker::server {

net::awaitable<handler_result> handle_update_metadata(request_context& ctx,
                                                      protocol::reader& body) {
    protocol::update_metadata_request request;
    if (protocol::decode(body, ctx.api_version, request) != protocol::codec_status::ok) {
        co_return handler_result::close();
    }
    protocol::update_metadata_response response;
    const protocol::error_code refused =
        co_await check_controller_request(ctx, request.controller_epoch, request.broker_epoch);
    if (refused != protocol::error_code::none) {
        BROKER_LOG_WARN("UpdateMetadata from controller "
                        << request.controller_id << " (epoch " << request.controller_epoch
                        << ") refused: " << protocol::error_name(refused));
        response.error_code = code(refused);
        co_return handler_result::reply(encode_response(ctx, response));
    }
    {
        // Applied and published under one lock, so two updates never publish out of order.
        static std::mutex serial;
        std::lock_guard lock(serial);
        const cluster::metadata_image next =
            ctx.broker.cluster()->apply_update_metadata(request, ctx.api_version);
        metadata_cache& cache = ctx.broker.metadata();
        if (next.topics) {
            cache.publish(next.topics);
        }
        if (next.cluster) {
            cache.publish_cluster(next.cluster);
        }
    }
    co_return handler_result::reply(encode_response(ctx, response));
}

}  // namespace broker::server
