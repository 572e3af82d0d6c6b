#include "server/broker_core.h"

namespace broker::server {

broker_core::broker_core(broker_config config, std::string cluster_id, shard_group& shards)
    : config_(std::move(config)), cluster_id_(std::move(cluster_id)), shards_(shards) {}

void broker_core::set_advertised_endpoints(std::vector<advertised_endpoint> endpoints) {
    advertised_ = std::move(endpoints);
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
