#pragma once
// The fences of the controller's requests (LeaderAndIsr, StopReplica, UpdateMetadata): the broker
// epoch (this broker's registration) and the controller epoch. docs/cluster.md, "Why LeaderAndIsr,
// UpdateMetadata and StopReplica".
#include "common/asio.h"

#include <cstdint>

#include "protocol/errors.h"
#include "server/request_context.h"

namespace broker::server {

/// none when the request may be applied; STALE_BROKER_EPOCH when this broker is not registered or
/// `broker_epoch` is older than its registration; STALE_CONTROLLER_EPOCH when a newer controller
/// was already heard (the highest epoch seen is recorded otherwise).
///
/// A request that arrives while this broker's registration is being written waits for it (at most
/// a few seconds): the controller sees the new /brokers/ids node, and sends to it, before the
/// broker has read back the node's czxid, its epoch.
net::awaitable<protocol::error_code> check_controller_request(request_context& ctx,
                                                              int32_t controller_epoch,
                                                              int64_t broker_epoch);

}  // namespace broker::server
