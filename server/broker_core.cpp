#include "server/broker_core.h"

#include "server/cluster/cluster_member.h"

namespace broker::server {

namespace {

std::filesystem::path first_log_dir(const broker_config& config) {
    return std::filesystem::path(config.log_dirs.empty() ? std::string(".")
                                                         : config.log_dirs.front());
}

}  // namespace

broker_core::broker_core(broker_config config, std::string cluster_id, shard_group& shards,
                         cluster::cluster_member* cluster)
    : config_(std::move(config)),
      cluster_id_(std::move(cluster_id)),
      shards_(shards),
      replicas_(std::make_unique<replica_manager>(config_, metadata_)),
      cluster_(cluster),
      catalog_(cluster ? nullptr
                       : std::make_unique<local_catalog>(first_log_dir(config_),
                                                         node_id{config_.broker_id})),
      store_(std::make_unique<topic_store>(
          config_, metadata_, *replicas_,
          cluster ? cluster->metadata() : static_cast<metadata_source&>(*catalog_))),
      local_admin_(cluster ? nullptr : std::make_unique<local_admin_backend>(config_, *catalog_)),
      admin_(cluster ? &cluster->admin() : static_cast<admin_backend*>(local_admin_.get())),
      fetch_sessions_(static_cast<std::size_t>(config_.max_incremental_fetch_session_cache_slots)),
      // Producer ids unique across the cluster come from ZooKeeper; a single node keeps its
      // blocks in a local file.
      producer_ids_(cluster ? std::make_unique<producer_id_manager>(cluster->producer_id_source())
                            : std::make_unique<producer_id_manager>(
                                  first_log_dir(config_) / producer_id_manager::file_name)) {}

net::awaitable<topic_result> broker_core::auto_create_topic(std::string_view topic, bool allowed) {
    if (store_->exists(topic)) {
        co_return topic_result::success();
    }
    // The lambda captures only trivially destructible values: GCC 12 destroys a closure with
    // non-trivial captures (a std::string) twice when it is a temporary of a co_await expression.
    admin_backend* admin = admin_;
    topic_result result = co_await shards_.run_blocking(
        [admin, topic, allowed] { return admin->auto_create_topic(topic, allowed); });
    co_return result;
}

void broker_core::set_advertised_endpoints(std::vector<advertised_endpoint> endpoints) {
    advertised_ = std::move(endpoints);
    // The single node's metadata source: this broker is the only live broker, and the controller.
    // In a cluster the controller's UpdateMetadata brings the live brokers and names the
    // controller; until the first one arrives this broker lists itself, with no controller.
    auto cluster = std::make_shared<cluster_view>();
    broker_info self;
    self.id = config_.broker_id;
    self.endpoints = advertised_;
    if (!config_.broker_rack.empty()) {
        self.rack = config_.broker_rack;
    }
    cluster->brokers.push_back(std::move(self));
    cluster->controller_id = cluster_ ? -1 : config_.broker_id;
    metadata_.publish_cluster(std::move(cluster));
}

const advertised_endpoint* broker_core::advertised_for(std::string_view listener_name) const {
    for (const advertised_endpoint& e : advertised_) {
        if (e.listener_name == listener_name) {
            return &e;
        }
    }
    return nullptr;
}

}  // namespace broker::server
