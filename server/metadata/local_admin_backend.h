#pragma once
// local_admin_backend: the single node's admin backend (server/metadata/admin_backend.h). It
// validates each request against the current catalog and the broker configuration as Kafka does,
// builds the next catalog version and commits it through the local catalog, which prepares,
// persists and applies it before the call returns.
//
// Threading: mutations are serialised by one mutex (a read-modify-commit of the catalog) and block
// on file I/O; see admin_backend.h.
#include <mutex>

#include "server/config.h"
#include "server/metadata/admin_backend.h"
#include "server/metadata/local_catalog.h"

namespace broker::server {

/// See the file comment.
class local_admin_backend final : public admin_backend {
public:
    /// Both must outlive the backend.
    local_admin_backend(const broker_config& config, local_catalog& catalog);

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
    broker_config_view broker_view(const catalog& c) const;
    topic_result delete_locked(const catalog& current, const catalog_topic& topic);
    topic_result set_overrides_locked(const catalog& current, const catalog_topic& topic,
                                      config_map overrides, bool validate_only);
    topic_result set_broker_configs_locked(const catalog& current, bool default_resource,
                                           config_map configs, bool validate_only);

    const broker_config& config_;
    local_catalog& catalog_;
    std::mutex mutex_;  // serialises mutations
};

}  // namespace broker::server
