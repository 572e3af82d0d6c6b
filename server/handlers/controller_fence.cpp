#include "server/handlers/controller_fence.h"

#include <chrono>

#include "server/broker_core.h"
#include "server/cluster/cluster_member.h"

namespace broker::server {

net::awaitable<protocol::error_code> check_controller_request(request_context& ctx,
                                                              int32_t controller_epoch,
                                                              int64_t broker_epoch) {
    cluster::cluster_member* member = ctx.broker.cluster();
    if (member == nullptr) {
        co_return protocol::error_code::stale_broker_epoch;
    }
    constexpr auto registration_wait = std::chrono::seconds(5);
    const auto deadline = std::chrono::steady_clock::now() + registration_wait;
    if (member->broker_epoch() < broker_epoch || member->broker_epoch() < 0) {
        // Possibly our own registration in flight (see the header): wait until the epoch we know
        // reaches the request's, or the bound passes.
        net::steady_timer timer(co_await net::this_coro::executor);
        while ((member->broker_epoch() < broker_epoch || member->broker_epoch() < 0) &&
               std::chrono::steady_clock::now() < deadline) {
            timer.expires_after(std::chrono::milliseconds(5));
            boost::system::error_code ec;
            co_await timer.async_wait(net::redirect_error(net::use_awaitable, ec));
        }
    }
    const int64_t current = member->broker_epoch();
    if (current < 0 || broker_epoch < current) {
        co_return protocol::error_code::stale_broker_epoch;
    }
    if (!member->accept_controller_epoch(controller_epoch)) {
        co_return protocol::error_code::stale_controller_epoch;
    }
    co_return protocol::error_code::none;
}

}  // namespace broker::server
