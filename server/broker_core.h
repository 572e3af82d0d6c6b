#pragma once
// broker_core: the state every request handler can reach, through request_context::broker.
//
// Today it holds the broker's identity (id, cluster id, configuration), the endpoints it advertises
// to clients, the shard group and the topic table. Later subsystems (log manager, group
// coordinator, controller) are added here as members, so handlers keep one entry point.
//
// Lifecycle: built by broker_server on the main thread before any connection is accepted.
// set_advertised_endpoints() is called once, after the listeners are bound (port 0 becomes the
// real port) and before the first connection is served; afterwards everything here is read-only
// or internally synchronised, so handlers on any shard may use it without locks.
#include "zk/asio.h"

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "server/config.h"
#include "server/shard.h"
#include "server/topic_table.h"

namespace broker::server {

/// An address clients are told to connect to, for one listener.
struct advertised_endpoint {
    std::string listener_name;
    std::string host;
    uint16_t port = 0;
    friend bool operator==(const advertised_endpoint&, const advertised_endpoint&) = default;
};

class broker_core {
public:
    broker_core(broker_config config, std::string cluster_id, shard_group& shards);
    broker_core(const broker_core&) = delete;
    broker_core& operator=(const broker_core&) = delete;

    const broker_config& config() const { return config_; }
    int32_t broker_id() const { return config_.broker_id; }
    const std::string& cluster_id() const { return cluster_id_; }
    /// The controller as Metadata reports it. A single-node broker is its own controller.
    int32_t controller_id() const { return config_.broker_id; }

    shard_group& shards() { return shards_; }
    topic_table& topics() { return topics_; }
    const topic_table& topics() const { return topics_; }

    void set_advertised_endpoints(std::vector<advertised_endpoint> endpoints);
    std::span<const advertised_endpoint> advertised_endpoints() const { return advertised_; }
    /// The endpoint advertised for `listener_name`, or nullptr when it has none.
    const advertised_endpoint* advertised_for(std::string_view listener_name) const;

private:
    const broker_config config_;
    const std::string cluster_id_;
    shard_group& shards_;
    topic_table topics_;
    std::vector<advertised_endpoint> advertised_;
};

}  // namespace broker::server
