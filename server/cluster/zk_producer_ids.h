#pragma once
// Producer ids unique across the cluster: blocks reserved in ZooKeeper's
// /latest_producer_id_block, as Kafka's ZooKeeper-mode brokers did before the controller took the
// job over (KIP-730). The node holds the last block handed out
// ({"version":1,"broker":<id>,"block_start":"1000","block_end":"1999"}); a broker reserves the
// next one by writing it at the node's version, so two brokers racing for a block never get the
// same ids (the loser re-reads and takes the following block). The node starts empty (Kafka's
// persistent path): the first block is 0..size-1.
//
// Threading: next_block() blocks the calling thread (the broker's blocking pool) while the
// ZooKeeper work runs on the cluster thread; never call it from that thread.
#include <chrono>

#include "common/asio.h"
#include "server/producer_ids.h"

namespace broker::zk {
class session;
}

namespace broker::server::cluster {

class zk_producer_id_blocks final : public producer_id_block_source {
public:
    /// `session` and `executor` (the cluster thread) must outlive this object.
    zk_producer_id_blocks(zk::session& session, net::any_io_executor executor, int32_t broker_id,
                          std::chrono::milliseconds timeout);
    /// Errors: std::errc::timed_out (ZooKeeper did not answer in time), std::errc::io_error (a
    /// ZooKeeper error, or a malformed node), std::errc::value_too_large (ids exhausted).
    std::error_code next_block(int64_t size, producer_id_t& first) override;

private:
    zk::session& session_;
    net::any_io_executor executor_;
    const int32_t broker_id_;
    const std::chrono::milliseconds timeout_;
};

}  // namespace broker::server::cluster
