#include "server/metadata/local_admin_backend.h"

#include <set>

#include "server/logging.h"
#include "server/metadata/admin_validation.h"

namespace broker::server {
namespace {

using protocol::error_code;

topic_result not_accepting() {
    return topic_result::failure(error_code::kafka_storage_error,
                                 "The broker's logs are not open, or the broker is shutting down.");
}

}  // namespace

local_admin_backend::local_admin_backend(const broker_config& config, local_catalog& catalog)
    : config_(config), catalog_(catalog) {}

broker_config_view local_admin_backend::broker_view(const catalog& c) const {
    return broker_config_view{&config_, &c.dynamic_default, &c.dynamic_broker};
}

// ---------------------------------------------------------------------------------------------
// Topics

created_topic local_admin_backend::create_topic(const new_topic& topic, bool validate_only) {
    std::lock_guard lock(mutex_);
    created_topic out;
    const auto fail = [&](error_code e, std::string message) {
        out.result = topic_result::failure(e, std::move(message));
        return out;
    };
    if (auto error = check_topic_name(topic.name)) {
        return fail(error_code::invalid_topic_exception, *error);
    }
    if (!catalog_.accepting()) {
        out.result = not_accepting();
        return out;
    }
    const std::shared_ptr<const catalog> current = catalog_.current();
    if (current->find(topic.name) != nullptr) {
        return fail(error_code::topic_already_exists, "Topic '" + topic.name + "' already exists.");
    }
    if (auto collision = check_name_collision(topic.name, *current)) {
        return fail(error_code::invalid_topic_exception, *collision);
    }
    const topic_layout layout =
        check_topic_layout(topic, config_.num_partitions, config_.default_replication_factor,
                           std::set<int32_t>{config_.broker_id});
    if (!layout.result.ok()) {
        out.result = layout.result;
        return out;
    }
    const int32_t partitions = layout.partitions;
    const int16_t replication_factor = layout.replication_factor;
    if (auto error = validate_topic_configs(topic.configs, broker_view(*current))) {
        return fail(error_code::invalid_config, *error);
    }
    out.num_partitions = partitions;
    out.replication_factor = replication_factor;
    out.configs = server::describe_topic_configs(topic.configs, broker_view(*current));
    if (validate_only) {
        return out;
    }

    catalog_topic created;
    created.name = topic.name;
    do {
        created.id = random_topic_id();
    } while (current->contains_id(created.id));
    created.internal = topic.internal || is_internal_topic_name(topic.name);
    for (int32_t i = 0; i < partitions; ++i) {
        const auto it = topic.assignments.find(i);
        created.assignment.push_back(it != topic.assignments.end()
                                         ? to_nodes(it->second)
                                         : std::vector<node_id>{node_id{config_.broker_id}});
    }
    created.overrides = topic.configs;
    const protocol::uuid id = created.id;
    auto next = std::make_shared<catalog>(*current);
    next->put(std::move(created));
    if (const std::error_code ec = catalog_.commit(std::move(next))) {
        BROKER_LOG_ERROR("creating topic " << topic.name << " failed: " << ec.message());
        return fail(error_code::kafka_storage_error,
                    "Creating topic " + topic.name + " failed: " + ec.message());
    }
    BROKER_LOG_INFO("created topic " << topic.name << " (" << partitions << " partitions, id "
                                     << id.to_string() << ")");
    out.topic_id = id;
    return out;
}

topic_result local_admin_backend::auto_create_topic(std::string_view topic, bool allowed) {
    if (catalog_.current()->find(topic) != nullptr) {
        return topic_result::success();
    }
    if (auto error = check_topic_name(topic)) {
        return topic_result::failure(error_code::invalid_topic_exception, *error);
    }
    if (!allowed || !config_.auto_create_topics_enable || is_internal_topic_name(topic)) {
        return topic_result::failure(error_code::unknown_topic_or_partition,
                                     "This server does not host this topic-partition.");
    }
    new_topic request;
    request.name = std::string(topic);
    created_topic created = create_topic(request, false);
    if (created.result.error == error_code::topic_already_exists) {
        return topic_result::success();  // created concurrently by another request
    }
    return created.result;
}

topic_result local_admin_backend::delete_topic(std::string_view topic) {
    std::lock_guard lock(mutex_);
    const std::shared_ptr<const catalog> current = catalog_.current();
    const catalog_topic* entry = current->find(topic);
    if (entry == nullptr) {
        return topic_result::failure(error_code::unknown_topic_or_partition,
                                     "This server does not host this topic-partition.");
    }
    return delete_locked(*current, *entry);
}

topic_result local_admin_backend::delete_topic(const protocol::uuid& topic_id) {
    std::lock_guard lock(mutex_);
    const std::shared_ptr<const catalog> current = catalog_.current();
    const catalog_topic* entry = current->find(topic_id);
    if (entry == nullptr) {
        return topic_result::failure(error_code::unknown_topic_id,
                                     "This server does not host this topic ID.");
    }
    return delete_locked(*current, *entry);
}

topic_result local_admin_backend::delete_locked(const catalog& current,
                                                const catalog_topic& topic) {
    if (!config_.delete_topic_enable) {
        return topic_result::failure(error_code::topic_deletion_disabled,
                                     "Topic deletion is disabled.");
    }
    if (topic.internal) {
        return topic_result::failure(
            error_code::invalid_topic_exception,
            "Topic " + topic.name + " is an internal topic and cannot be deleted.");
    }
    if (!catalog_.accepting()) {
        return not_accepting();
    }
    const std::string name = topic.name;
    auto next = std::make_shared<catalog>(current);
    next->erase(name);
    // The file first: once it no longer lists the topic, a crash cannot bring the topic back (its
    // directories would then be reported as strays at startup).
    if (const std::error_code ec = catalog_.commit(std::move(next))) {
        return topic_result::failure(error_code::kafka_storage_error,
                                     "Deleting topic " + name + " failed: " + ec.message());
    }
    BROKER_LOG_INFO("deleted topic " << name);
    return topic_result::success();
}

topic_result local_admin_backend::create_partitions(
    std::string_view topic, int32_t count,
    const std::optional<std::vector<std::vector<int32_t>>>& assignments, bool validate_only) {
    std::lock_guard lock(mutex_);
    const std::shared_ptr<const catalog> current = catalog_.current();
    const catalog_topic* entry = current->find(topic);
    if (entry == nullptr) {
        return topic_result::failure(error_code::unknown_topic_or_partition,
                                     "The topic '" + std::string(topic) + "' does not exist.");
    }
    const int32_t current_count = entry->partition_count();
    // Every partition of the single node has one replica, this broker.
    const topic_result checked = check_new_partitions(current_count, count, assignments, 1,
                                                      std::set<int32_t>{config_.broker_id});
    if (!checked.ok()) {
        return checked;
    }
    if (validate_only) {
        return topic_result::success();
    }
    if (!catalog_.accepting()) {
        return not_accepting();
    }
    catalog_topic grown = *entry;
    for (int32_t i = current_count; i < count; ++i) {
        grown.assignment.push_back(
            assignments ? to_nodes((*assignments)[static_cast<std::size_t>(i - current_count)])
                        : std::vector<node_id>{node_id{config_.broker_id}});
    }
    const std::string name = grown.name;
    auto next = std::make_shared<catalog>(*current);
    next->put(std::move(grown));
    if (const std::error_code ec = catalog_.commit(std::move(next))) {
        return topic_result::failure(error_code::kafka_storage_error,
                                     "Creating partitions of " + name + " failed: " + ec.message());
    }
    BROKER_LOG_INFO("topic " << name << " now has " << count << " partitions");
    return topic_result::success();
}

// ---------------------------------------------------------------------------------------------
// Configs

topic_result local_admin_backend::set_overrides_locked(const catalog& current,
                                                       const catalog_topic& topic,
                                                       config_map overrides, bool validate_only) {
    if (auto error = validate_topic_configs(overrides, broker_view(current))) {
        return topic_result::failure(error_code::invalid_config, *error);
    }
    if (validate_only) {
        return topic_result::success();
    }
    if (!catalog_.accepting()) {
        return not_accepting();
    }
    catalog_topic changed = topic;
    changed.overrides = std::move(overrides);
    auto next = std::make_shared<catalog>(current);
    next->put(std::move(changed));
    if (const std::error_code ec = catalog_.commit(std::move(next))) {
        return topic_result::failure(error_code::kafka_storage_error,
                                     "Saving the configs failed: " + ec.message());
    }
    return topic_result::success();
}

topic_result local_admin_backend::alter_topic_configs(std::string_view topic,
                                                      const config_map& overrides,
                                                      bool validate_only) {
    std::lock_guard lock(mutex_);
    const std::shared_ptr<const catalog> current = catalog_.current();
    const catalog_topic* entry = current->find(topic);
    if (entry == nullptr) {
        return topic_result::failure(error_code::unknown_topic_or_partition,
                                     "The topic '" + std::string(topic) + "' does not exist.");
    }
    return set_overrides_locked(*current, *entry, overrides, validate_only);
}

topic_result local_admin_backend::incremental_alter_topic_configs(
    std::string_view topic, const std::vector<config_operation>& ops, bool validate_only) {
    std::lock_guard lock(mutex_);
    const std::shared_ptr<const catalog> current = catalog_.current();
    const catalog_topic* entry = current->find(topic);
    if (entry == nullptr) {
        return topic_result::failure(error_code::unknown_topic_or_partition,
                                     "The topic '" + std::string(topic) + "' does not exist.");
    }
    config_map next = entry->overrides;
    if (topic_result applied = apply_topic_config_operations(next, ops); !applied.ok()) {
        return applied;
    }
    return set_overrides_locked(*current, *entry, std::move(next), validate_only);
}

topic_result local_admin_backend::set_broker_configs_locked(const catalog& current,
                                                            bool default_resource,
                                                            config_map configs,
                                                            bool validate_only) {
    if (topic_result checked = check_broker_configs(configs); !checked.ok()) {
        return checked;
    }
    if (validate_only) {
        return topic_result::success();
    }
    if (!catalog_.accepting()) {
        return not_accepting();
    }
    auto next = std::make_shared<catalog>(current);
    (default_resource ? next->dynamic_default : next->dynamic_broker) = std::move(configs);
    if (const std::error_code ec = catalog_.commit(std::move(next))) {
        return topic_result::failure(error_code::kafka_storage_error,
                                     "Saving the configs failed: " + ec.message());
    }
    return topic_result::success();
}

topic_result local_admin_backend::alter_broker_configs(bool default_resource,
                                                       const config_map& configs,
                                                       bool validate_only) {
    std::lock_guard lock(mutex_);
    return set_broker_configs_locked(*catalog_.current(), default_resource, configs, validate_only);
}

topic_result local_admin_backend::incremental_alter_broker_configs(
    bool default_resource, const std::vector<config_operation>& ops, bool validate_only) {
    std::lock_guard lock(mutex_);
    const std::shared_ptr<const catalog> current = catalog_.current();
    config_map next = default_resource ? current->dynamic_default : current->dynamic_broker;
    if (topic_result applied = apply_broker_config_operations(next, ops, broker_view(*current));
        !applied.ok()) {
        return applied;
    }
    return set_broker_configs_locked(*current, default_resource, std::move(next), validate_only);
}

}  // namespace broker::server
