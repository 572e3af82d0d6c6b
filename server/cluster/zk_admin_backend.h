#pragma once
// zk_admin_backend: the admin backend of cluster mode (server/metadata/admin_backend.h). It
// validates a request as the single node does (server/metadata/admin_validation.h, the same codes
// and messages) and then writes Kafka's znodes the way Kafka's ZooKeeper-mode admin path does;
// the controller and every broker's catalog source (zk_catalog_source.h) carry the change out:
//   - CreateTopics: one multi creates (or sets) /config/topics/<t> with the overrides and creates
//     /brokers/topics/<t> with a fresh topic id and the replica assignment, so a reader never sees
//     the topic without its configs. Replicas are placed with assign_replicas over the brokers
//     registered under /brokers/ids (with their racks); a manual assignment may name only those.
//   - DeleteTopics: creates /admin/delete_topics/<t>; the controller deletes the topic.
//   - CreatePartitions: rewrites /brokers/topics/<t> at the version it was read at, with the new
//     partitions placed to continue the topic's pattern (Kafka's AdminZkClient.addPartitions).
//   - AlterConfigs / IncrementalAlterConfigs: set (or create) /config/topics/<t>,
//     /config/brokers/<id> or /config/brokers/<default>, then add a
//     /config/changes/config_change_<seq> notification naming the entity, as Kafka does, for the
//     Kafka brokers that follow that queue.
// A call returns once ZooKeeper has accepted the write, before the controller acted on it.
//
// Threading: calls block (run them on the blocking pool, never on `executor`'s thread): each
// posts a coroutine to `executor` (the zk::session's, where its client's operations complete) and
// waits for it at most zookeeper.session.timeout.ms; past that the call answers REQUEST_TIMED_OUT
// (the write may still happen, as with Kafka). A lost connection or session also answers
// REQUEST_TIMED_OUT, which clients retry. Concurrent calls are safe: ZooKeeper's conditional
// writes (create fails on an existing node, set at a version) settle races.
//
// Lifetime: the config, session and catalog source must outlive the backend, and the executor
// must be stopped (its pending coroutines done or destroyed) before the backend is destroyed.
#include <chrono>
#include <random>

#include "common/asio.h"
#include "server/cluster/zk_catalog_source.h"
#include "server/config.h"
#include "server/metadata/admin_backend.h"
#include "zk/session.h"

namespace broker::server::cluster {

/// See the file comment.
class zk_admin_backend final : public admin_backend {
public:
    zk_admin_backend(const broker_config& config, zk::session& session,
                     net::any_io_executor executor, const zk_catalog_source& catalog);

    created_topic create_topic(const new_topic& topic, bool validate_only) override;
    topic_result auto_create_topic(std::string_view topic, bool allowed) override;
    topic_result delete_topic(std::string_view topic) override;
    topic_result delete_topic(const protocol::uuid& topic_id) override;
    topic_result create_partitions(
        std::string_view topic, int32_t count,
        const std::optional<std::vector<std::vector<int32_t>>>& assignments,
        bool validate_only) override;
    topic_result alter_topic_configs(std::string_view topic, const config_map& overrides,
                                     bool validate_only) override;
    topic_result incremental_alter_topic_configs(std::string_view topic,
                                                 const std::vector<config_operation>& ops,
                                                 bool validate_only) override;
    topic_result alter_broker_configs(bool default_resource, const config_map& configs,
                                      bool validate_only) override;
    topic_result incremental_alter_broker_configs(bool default_resource,
                                                  const std::vector<config_operation>& ops,
                                                  bool validate_only) override;

private:
    // Runs `work` on the executor and waits for it, at most the timeout (then REQUEST_TIMED_OUT).
    template <typename T>
    T run(net::awaitable<T> work);

    broker_config_view broker_view(const catalog& c) const;

    // The coroutines behind the calls; they run on the executor. Parameters are by value: a call
    // that timed out leaves its coroutine running.
    net::awaitable<created_topic> create(new_topic topic, bool validate_only);
    net::awaitable<topic_result> mark_for_deletion(std::string topic);
    net::awaitable<topic_result> add_partitions(
        std::string topic, int32_t count,
        std::optional<std::vector<std::vector<int32_t>>> assignments, bool validate_only);
    net::awaitable<topic_result> set_topic_configs(std::string topic, config_map overrides,
                                                   bool validate_only);
    net::awaitable<topic_result> change_topic_configs(std::string topic,
                                                      std::vector<config_operation> ops,
                                                      bool validate_only);
    net::awaitable<topic_result> set_broker_configs(bool default_resource, config_map configs,
                                                    bool validate_only);
    net::awaitable<topic_result> change_broker_configs(bool default_resource,
                                                       std::vector<config_operation> ops,
                                                       bool validate_only);

    const broker_config& config_;
    zk::session& session_;
    const net::any_io_executor executor_;
    const zk_catalog_source& catalog_;
    const std::chrono::milliseconds timeout_;
    std::mt19937 rng_;  // replica placement; used on the executor only
};

}  // namespace broker::server::cluster
