#pragma once
// broker_core: the state every request handler can reach, through request_context::broker.
//
// It holds the broker's identity (id, cluster id, configuration), the endpoints it advertises
// to clients, the shard group, the metadata cache (what Metadata reads), the metadata source and
// admin backend (on a single node both are the local catalog file: server/metadata/), the topic
// store (topics as the catalog describes them, their partitions and configs) and the replica
// manager. Later subsystems (the controller) are added here as members, so handlers keep one
// entry point.
//
// Lifecycle: built by broker_server on the main thread before any connection is accepted; the
// server then opens the topic store (log recovery) before listening. set_advertised_endpoints() is
// called once, after the listeners are bound (port 0 becomes the real port) and before the first
// connection is served; afterwards everything here is read-only or internally synchronised, so
// handlers on any shard may use it without locks. Tests may build a core without opening its
// store: lookups then find nothing and auto-creation fails with KAFKA_STORAGE_ERROR.
#include "common/asio.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "server/config.h"
#include "server/fetch_session.h"
#include "server/group_service.h"
#include "server/metadata/admin_backend.h"
#include "server/metadata/local_admin_backend.h"
#include "server/metadata/local_catalog.h"
#include "server/metadata/metadata_cache.h"
#include "server/producer_ids.h"
#include "server/replica/partition.h"
#include "server/replica/replica_manager.h"
#include "server/shard.h"
#include "server/topic_store.h"

namespace broker::server {

namespace cluster {
class cluster_member;
}

class broker_core {
public:
    /// `cluster` (cluster mode only, else null) must outlive the core; its metadata source and
    /// admin backend replace the single node's catalog file.
    broker_core(broker_config config, std::string cluster_id, shard_group& shards,
                cluster::cluster_member* cluster = nullptr);
    broker_core(const broker_core&) = delete;
    broker_core& operator=(const broker_core&) = delete;

    const broker_config& config() const { return config_; }
    int32_t broker_id() const { return config_.broker_id; }
    const std::string& cluster_id() const { return cluster_id_; }
    /// The controller, from the metadata cache (-1 before the advertised endpoints are set). A
    /// single-node broker is its own controller.
    int32_t controller_id() const { return metadata_.cluster()->controller_id; }

    shard_group& shards() { return shards_; }
    metadata_cache& metadata() { return metadata_; }
    const metadata_cache& metadata() const { return metadata_; }

    /// This broker's place in the cluster (server/cluster/cluster_member.h); nullptr on a single
    /// node.
    cluster::cluster_member* cluster() const { return cluster_; }

    /// Topics, partitions, configs (server/topic_store.h). Lookups are safe from any thread;
    /// mutations block (use the awaitable wrappers below, or shards().run_blocking).
    topic_store& store() { return *store_; }
    const topic_store& store() const { return *store_; }
    /// Where topic and config changes go (CreateTopics, DeleteTopics, CreatePartitions, the
    /// AlterConfigs pair, auto-creation). Blocking: run its calls on the blocking pool.
    admin_backend& admin() { return *admin_; }
    /// The partitions this broker hosts and their logs (server/replica/replica_manager.h).
    replica_manager& replicas() { return *replicas_; }
    const replica_manager& replicas() const { return *replicas_; }
    /// The hosted replica, whatever its role: nullptr when not hosted here.
    std::shared_ptr<partition> find_partition(std::string_view topic, int32_t index) const {
        return replicas_->find(topic, partition_index{index});
    }
    std::shared_ptr<partition> find_partition(const protocol::uuid& topic_id, int32_t index) const {
        return replicas_->find(topic_id, partition_index{index});
    }
    /// The resolved log config of a topic (broker defaults + overrides); nullopt when unknown.
    std::optional<log::log_config> log_config_of(std::string_view topic) const {
        return store_->log_config_of(topic);
    }
    /// Auto-creation for Metadata and Produce: creates `topic` with the broker defaults on the
    /// blocking pool when auto.create.topics.enable (and `allowed`) permit and it does not exist.
    /// none when the topic exists afterwards; see admin_backend::auto_create_topic for the errors.
    /// Creation is synchronous: once this returns none, find_partition() finds the partitions.
    /// `topic` must stay valid until the call completes.
    net::awaitable<topic_result> auto_create_topic(std::string_view topic, bool allowed = true);

    /// Fetch sessions (KIP-227), broker-wide so a client may continue one on a new connection.
    /// Internally synchronised.
    fetch_session_cache& fetch_sessions() { return fetch_sessions_; }

    /// Producer ids for InitProducerId, from blocks persisted in the first log dir
    /// (server/producer_ids.h). Internally synchronised.
    producer_id_manager& producer_ids() { return *producer_ids_; }

    /// The consumer-group coordinator service (server/group_service.h): membership, offsets,
    /// `__consumer_offsets`. Started and stopped by broker_server.
    group_service& groups() { return *groups_; }

    void set_advertised_endpoints(std::vector<advertised_endpoint> endpoints);
    std::span<const advertised_endpoint> advertised_endpoints() const { return advertised_; }
    /// The endpoint advertised for `listener_name`, or nullptr when it has none.
    const advertised_endpoint* advertised_for(std::string_view listener_name) const;

private:
    const broker_config config_;
    const std::string cluster_id_;
    shard_group& shards_;
    metadata_cache metadata_;
    std::unique_ptr<replica_manager> replicas_;
    cluster::cluster_member* const cluster_;
    // The single node's catalog file and admin backend (null in a cluster).
    std::unique_ptr<local_catalog> catalog_;
    std::unique_ptr<topic_store> store_;
    std::unique_ptr<local_admin_backend> local_admin_;
    admin_backend* admin_;
    fetch_session_cache fetch_sessions_;
    std::unique_ptr<producer_id_manager> producer_ids_;
    // After store_: built from it, and destroyed before it.
    std::unique_ptr<group_service> groups_ =
        std::make_unique<group_service>(config_, *store_, *admin_, shards_);
    std::vector<advertised_endpoint> advertised_;
};

}  // namespace broker::server
