#pragma once
// cluster_member: this broker's place in a cluster on ZooKeeper (cluster mode, zookeeper.connect
// set). It owns the cluster thread and everything that runs on it:
//   - the ZooKeeper session (zk::session: a new session after an expiry), the chroot and Kafka's
//     persistent paths, and /cluster/id (created by the first broker; every broker's
//     meta.properties must agree with it);
//   - the broker's registration, the ephemeral /brokers/ids/<id>, whose czxid is the broker epoch
//     the controller's requests must carry;
//   - the controller (server/cluster/controller.h), one per session, contending for /controller
//     from the moment the broker is registered, with its channel to the brokers;
//   - the cluster's metadata source (topics and configs read from the znodes) and admin backend
//     (CreateTopics and the rest written as znodes), which broker_core uses in place of the single
//     node's catalog file.
// Every new session repeats the same steps (paths, cluster id, registration, controller), so
// start-up and recovery from an expired session are one code path (docs/cluster.md).
//
// Start-up order (broker_server): connect() before the log dirs are checked (the cluster id comes
// from ZooKeeper), then the broker core opens its logs through metadata(), binds and starts its
// listeners, then join() registers the broker; only then can the controller send it requests.
//
// Threading: the cluster thread runs one io_context; ZooKeeper callbacks, the controller, the
// channel and the metadata source's deliveries all run there. The public members are called from
// the main thread (lifecycle) or from request handlers on shards (the epochs, lock-free).
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/asio.h"
#include "server/cluster/metadata_image.h"
#include "server/config.h"
#include "server/metadata/admin_backend.h"
#include "server/metadata/metadata_cache.h"
#include "server/metadata/metadata_source.h"
#include "server/producer_ids.h"

namespace broker::zk {
class session;
}

namespace broker::server::cluster {

class controller;
class broker_channel_manager;
class zk_catalog_source;
class zk_admin_backend;

class cluster_member {
public:
    explicit cluster_member(const broker_config& config);
    ~cluster_member();
    cluster_member(const cluster_member&) = delete;
    cluster_member& operator=(const cluster_member&) = delete;

    /// Starts the cluster thread and the first ZooKeeper session (creating the chroot and Kafka's
    /// persistent paths), then reads or creates /cluster/id. Blocking, bounded by
    /// zookeeper.connection.timeout.ms. Returns the cluster id. Throws std::runtime_error with an
    /// operator-facing message (no ZooKeeper, malformed zookeeper.connect).
    std::string connect();

    /// The cluster's metadata source and admin backend (valid after connect()).
    metadata_source& metadata();
    admin_backend& admin();

    /// Where producer ids come from in the cluster: blocks in /latest_producer_id_block (valid
    /// after connect(); the member must outlive it).
    std::unique_ptr<producer_id_block_source> producer_id_source();

    /// Registers this broker (/brokers/ids/<id>, with the advertised endpoints and broker.rack)
    /// and starts contending for /controller; every later session does the same again. Blocking
    /// until the first registration is in place (a node left by this broker's previous process is
    /// waited out: it goes when that session times out). Throws std::runtime_error on failure.
    void join(std::vector<advertised_endpoint> endpoints);

    /// Resigns (when controller), closes the session (the registration goes at once) and stops the
    /// cluster thread. Idempotent.
    void stop();

    /// The current registration's broker epoch (its czxid); -1 while not registered.
    int64_t broker_epoch() const { return broker_epoch_.load(std::memory_order_acquire); }
    /// The highest controller epoch seen in a controller request (stale ones are refused).
    int32_t controller_epoch_seen() const {
        return controller_epoch_.load(std::memory_order_acquire);
    }
    /// Records `epoch` when it is at least the highest seen; false when it is stale.
    bool accept_controller_epoch(int32_t epoch);
    /// True when the session is connected and this broker is registered.
    bool registered() const { return broker_epoch() >= 0; }

    /// Applies an UpdateMetadata to the image built from the previous ones (it keeps the stated
    /// leaders of offline partitions, which the metadata cache shows as -1) and returns the new
    /// image, for the metadata cache. Serialised; any thread.
    metadata_image apply_update_metadata(const protocol::update_metadata_request& request,
                                         int16_t version);

private:
    struct impl;
    const broker_config& config_;
    std::atomic<int64_t> broker_epoch_{-1};
    std::atomic<int32_t> controller_epoch_{0};
    std::mutex image_mutex_;
    metadata_image image_;  // guarded by image_mutex_
    std::unique_ptr<impl> impl_;
};

}  // namespace broker::server::cluster
