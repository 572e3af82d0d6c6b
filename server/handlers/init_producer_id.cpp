// InitProducerId (key 22): a producer id for an idempotent producer (docs/produce.md).
//
//   - transactional_id null: a fresh producer id with epoch 0, every time. This is Kafka's rule for
//     idempotent producers, also when v3+ passes the current producer_id/epoch (KIP-360): only a
//     transaction coordinator bumps epochs; an idempotent client that must reset its sequences
//     bumps its epoch itself or asks for a new id, and both work with a new id.
//   - producer_id and producer_epoch must be both -1 or both set, else INVALID_REQUEST (Kafka).
//   - transactional_id set: there is no transaction coordinator here. The answer is
//     TRANSACTIONAL_ID_AUTHORIZATION_FAILED, which every stock client treats as fatal at once
//     ("transactional id authorization failed") instead of retrying until a timeout as it would
//     for COORDINATOR_NOT_AVAILABLE; Produce refuses transactional batches the same way.
//   - ids come from producer_id_manager (persisted blocks, never reused); when no block can be
//     reserved the answer is COORDINATOR_LOAD_IN_PROGRESS (retriable), as Kafka answers when its
//     id manager has no block yet.
#include "common/asio.h"

#include "protocol/generated/messages.h"
#include "server/handlers/common.h"
#include "server/handlers/handlers.h"
#include "server/logging.h"
#include "server/producer_ids.h"

namespace broker::server {

net::awaitable<handler_result> handle_init_producer_id(request_context& ctx,
                                                       protocol::reader& body) {
    protocol::init_producer_id_request request;
    if (protocol::decode(body, ctx.api_version, request) != protocol::codec_status::ok) {
        co_return handler_result::close();
    }
    protocol::init_producer_id_response response;
    response.throttle_time_ms = 0;
    response.producer_id = -1;
    response.producer_epoch = -1;

    if (request.transactional_id) {
        response.error_code = code(protocol::error_code::transactional_id_authorization_failed);
        co_return handler_result::reply(encode_response(ctx, response));
    }
    if ((request.producer_id == -1) != (request.producer_epoch == -1)) {
        response.error_code = code(protocol::error_code::invalid_request);
        co_return handler_result::reply(encode_response(ctx, response));
    }

    producer_id_manager& ids = ctx.broker.producer_ids();
    producer_id_manager::allocation allocated;
    if (auto id = ids.try_allocate()) {
        allocated.id = *id;
    } else {
        // Reserving the next block writes the block file durably: off the shard.
        allocated = co_await ctx.broker.shards().run_blocking([&ids] { return ids.allocate(); });
    }
    if (allocated.error) {
        BROKER_LOG_ERROR("allocating a producer id: " << allocated.error.message());
        response.error_code = code(protocol::error_code::coordinator_load_in_progress);
        co_return handler_result::reply(encode_response(ctx, response));
    }
    response.error_code = code(protocol::error_code::none);
    response.producer_id = allocated.id.value();
    response.producer_epoch = 0;
    co_return handler_result::reply(encode_response(ctx, response));
}

}  // namespace broker::server
