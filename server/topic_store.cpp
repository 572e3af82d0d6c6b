#include "server/topic_store.h"

#include <algorithm>
#include <set>
#include <stdexcept>

#include "server/log_dir_space.h"
#include "server/logging.h"

namespace broker::server {
namespace {

using protocol::error_code;

bool hosts(const catalog_topic& topic, int32_t index, node_id local) {
    const auto& replicas = topic.assignment[static_cast<std::size_t>(index)];
    return std::find(replicas.begin(), replicas.end(), local) != replicas.end();
}

}  // namespace

topic_store::topic_store(const broker_config& config, metadata_cache& table,
                         replica_manager& replicas, metadata_source& source)
    : config_(config),
      table_(table),
      replicas_(replicas),
      source_(source),
      index_(std::make_shared<const index>()) {}

topic_store::~topic_store() {
    // A store that was opened but not shut down (a failed start, a test) still releases its logs
    // without a clean-shutdown marker: the next start then recovers them.
}

// ---------------------------------------------------------------------------------------------
// Lookups

std::shared_ptr<const topic_store::index> topic_store::current() const {
    std::lock_guard lock(index_mutex_);
    return index_;
}

std::shared_ptr<const topic_store::topic_entry> topic_store::find_entry(
    std::string_view topic) const {
    const auto idx = current();
    const auto it = idx->by_name.find(topic);
    return it == idx->by_name.end() ? nullptr : it->second;
}

std::shared_ptr<partition> topic_store::find_partition(std::string_view topic,
                                                       int32_t index) const {
    return replicas_.find(topic, partition_index{index});
}

std::shared_ptr<partition> topic_store::find_partition(const protocol::uuid& topic_id,
                                                       int32_t index) const {
    return replicas_.find(topic_id, partition_index{index});
}

std::vector<std::shared_ptr<partition>> topic_store::partitions_of(std::string_view topic) const {
    const auto list = replicas_.partitions_of(topic);
    return list ? *list : std::vector<std::shared_ptr<partition>>{};
}

std::shared_ptr<const topic_store::partition_list> topic_store::partition_table(
    std::string_view topic) const {
    return replicas_.partitions_of(topic);
}

std::vector<std::shared_ptr<partition>> topic_store::all_partitions() const {
    return replicas_.all();
}

std::shared_ptr<const topic_config> topic_store::config_of(std::string_view topic) const {
    const auto entry = find_entry(topic);
    return entry ? entry->config : nullptr;
}

std::shared_ptr<const topic_config> topic_store::config_or_defaults(std::string_view topic) const {
    if (auto config = config_of(topic)) {
        return config;
    }
    const auto now = current();
    return resolve({}, now->dynamic_default, now->dynamic_broker);
}

std::optional<log::log_config> topic_store::log_config_of(std::string_view topic) const {
    const auto entry = find_entry(topic);
    if (!entry) {
        return std::nullopt;
    }
    return entry->config->log;
}

std::optional<protocol::uuid> topic_store::topic_id_of(std::string_view topic) const {
    const auto entry = find_entry(topic);
    if (!entry) {
        return std::nullopt;
    }
    return entry->id;
}

std::optional<std::string> topic_store::topic_name_of(const protocol::uuid& topic_id) const {
    const auto idx = current();
    const auto it = idx->by_id.find(topic_id);
    if (it == idx->by_id.end()) {
        return std::nullopt;
    }
    return it->second->name;
}

namespace {
topic_description describe_entry(const std::string& name, const protocol::uuid& id,
                                 std::size_t partitions, bool internal,
                                 const config_map& overrides) {
    return topic_description{name, id, static_cast<int32_t>(partitions), internal, overrides};
}
}  // namespace

std::optional<topic_description> topic_store::describe(std::string_view topic) const {
    const auto entry = find_entry(topic);
    if (!entry) {
        return std::nullopt;
    }
    return describe_entry(entry->name, entry->id, entry->partition_count, entry->internal,
                          entry->overrides);
}

std::optional<topic_description> topic_store::describe(const protocol::uuid& topic_id) const {
    const auto name = topic_name_of(topic_id);
    return name ? describe(*name) : std::nullopt;
}

std::vector<topic_description> topic_store::list_topics() const {
    const auto idx = current();
    std::vector<topic_description> out;
    for (const auto& [name, e] : idx->by_name) {
        out.push_back(
            describe_entry(e->name, e->id, e->partition_count, e->internal, e->overrides));
    }
    return out;
}

bool topic_store::exists(std::string_view topic) const {
    return find_entry(topic) != nullptr;
}

// ---------------------------------------------------------------------------------------------
// Applying catalog versions

std::shared_ptr<const topic_config> topic_store::resolve(const config_map& overrides,
                                                         const config_map& dynamic_default,
                                                         const config_map& dynamic_broker) const {
    return std::make_shared<const topic_config>(resolve_topic_config(
        overrides, broker_config_view{&config_, &dynamic_default, &dynamic_broker}));
}

void topic_store::open() {
    source_.start(*this);
}

std::error_code topic_store::shutdown() {
    // The source first: no catalog version is applied once the logs start closing.
    source_.stop();
    if (shut_down_.exchange(true) || !replicas_.is_open()) {
        return {};
    }
    return replicas_.shutdown();
}

log::result<std::shared_ptr<partition>> topic_store::open_partition(
    const catalog_topic& topic, int32_t index, const std::shared_ptr<const topic_config>& config,
    bool fresh) {
    auto p = replicas_.create_replica(topic.name, topic.id, partition_index{index}, config, fresh);
    if (!p) {
        return p;
    }
    const std::vector<node_id>& replicas = topic.assignment[static_cast<std::size_t>(index)];
    if (replicas.size() == 1 && replicas.front() == node_id{config_.broker_id}) {
        // This broker is the partition's only replica, so it leads it, with itself as the whole
        // in-sync set, at leader epoch 0. Becoming leader records the epoch at the log end (a new
        // partition's epoch checkpoint is written now rather than by the first append) and moves
        // the high watermark to the log end.
        partition_assignment self;
        self.leader_epoch = leader_epoch_t{0};
        self.replicas = replicas;
        self.isr = replicas;
        self.leader = replicas.front();
        if (auto ec = p.value()->become_leader(self)) {
            return ec;
        }
    }
    return p;
}

std::error_code topic_store::prepare(const catalog& next) {
    std::lock_guard lock(apply_mutex_);
    if (shut_down_) {
        return std::make_error_code(std::errc::operation_canceled);
    }
    prepared_.clear();
    const bool first = !replicas_.is_open();
    if (first) {
        // The first version opens the logs: recovery needs each topic's resolved log config.
        std::map<std::string, std::shared_ptr<const topic_config>, std::less<>> configs;
        for (const auto& [name, topic] : next.topics()) {
            configs[name] = resolve(topic->overrides, next.dynamic_default, next.dynamic_broker);
        }
        const auto broker_defaults = resolve({}, next.dynamic_default, next.dynamic_broker);
        const std::error_code opened = replicas_.open([&](const log::topic_partition& tp) {
            const auto it = configs.find(tp.topic);
            return it == configs.end() ? broker_defaults->log : it->second->log;
        });
        if (opened) {
            return opened;
        }
    }
    if (!config_.single_node()) {
        // In a cluster the controller's LeaderAndIsr decides what this broker hosts (see the file
        // comment); the catalog only brings names, ids and configs.
        return {};
    }
    const auto old = current();
    for (const auto& [name, topic] : next.topics()) {
        const auto hosted = replicas_.partitions_of(name);
        const auto before = old->by_name.find(name);
        const bool same_topic = before != old->by_name.end() && before->second->id == topic->id;
        const int32_t have = same_topic && hosted ? static_cast<int32_t>(hosted->size()) : 0;
        if (have >= topic->partition_count()) {
            continue;
        }
        prepared_topic prepared;
        prepared.config = resolve(topic->overrides, next.dynamic_default, next.dynamic_broker);
        for (int32_t i = have; i < topic->partition_count(); ++i) {
            if (!hosts(*topic, i, node_id{config_.broker_id})) {
                prepared.partitions.emplace_back(i, nullptr);
                continue;
            }
            // A partition that is new to a running broker starts empty; at startup the logs on disk
            // are the partitions' own.
            auto p = open_partition(*topic, i, prepared.config, !first);
            if (!p) {
                BROKER_LOG_ERROR("cannot open partition " << name << "-" << i << ": "
                                                          << p.error().message());
                prepared_.emplace(name, std::move(prepared));
                return p.error();
            }
            prepared.partitions.emplace_back(i, std::move(p).value());
        }
        prepared_.emplace(name, std::move(prepared));
    }
    return {};
}

void topic_store::abandon(const catalog& /*next*/) {
    std::lock_guard lock(apply_mutex_);
    for (auto& [name, prepared] : prepared_) {
        for (const auto& [i, p] : prepared.partitions) {
            if (p) {
                replicas_.discard(name, partition_index{i});
            }
        }
    }
    prepared_.clear();
}

void topic_store::apply(std::shared_ptr<const catalog> next) {
    std::lock_guard lock(apply_mutex_);
    const auto old = current();
    const bool broker_configs_changed = old->dynamic_default != next->dynamic_default ||
                                        old->dynamic_broker != next->dynamic_broker;
    auto built = std::make_shared<index>();
    built->dynamic_default = next->dynamic_default;
    built->dynamic_broker = next->dynamic_broker;
    std::vector<std::shared_ptr<const topic_entry>> reconfigured;
    for (const auto& [name, topic] : next->topics()) {
        auto entry = std::make_shared<topic_entry>();
        entry->name = topic->name;
        entry->id = topic->id;
        entry->internal = topic->internal;
        entry->overrides = topic->overrides;
        entry->partition_count = topic->partition_count();
        const auto before = old->by_name.find(name);
        const bool same_topic = before != old->by_name.end() && before->second->id == topic->id;
        const auto prepared = prepared_.find(name);
        if (same_topic && !broker_configs_changed &&
            before->second->overrides == topic->overrides) {
            entry->config = before->second->config;
        } else if (prepared != prepared_.end() && !same_topic) {
            entry->config = prepared->second.config;
        } else {
            entry->config = resolve(topic->overrides, next->dynamic_default, next->dynamic_broker);
            // In a cluster the controller's LeaderAndIsr may have hosted the partitions before the
            // topic's configs arrived here: they get them now.
            if (same_topic || !config_.single_node()) {
                reconfigured.push_back(entry);
            }
        }
        if (prepared != prepared_.end()) {
            // Hosted before the metadata shows the topic, so a client that sees it finds its
            // partitions.
            const auto hosted = replicas_.partitions_of(name);
            replica_manager::partition_list list =
                same_topic && hosted ? *hosted : replica_manager::partition_list{};
            for (auto& [i, p] : prepared->second.partitions) {
                list.push_back(std::move(p));
            }
            replicas_.host(entry->name, entry->id, std::move(list));
        }
        built->by_id[entry->id] = entry;
        built->by_name[entry->name] = std::move(entry);
    }
    prepared_.clear();
    std::vector<std::string> removed;
    for (const auto& [name, entry] : old->by_name) {
        if (built->by_name.count(name) == 0) {
            removed.push_back(name);
        }
    }
    publish(built);
    if (!config_.single_node()) {
        // The controller removes deleted topics' replicas with StopReplica.
        removed.clear();
    }
    for (const std::string& name : removed) {
        if (const std::error_code first = replicas_.remove_topic(name, true)) {
            // The topic is gone for clients; leftover files are cleaned at the next startup.
            BROKER_LOG_ERROR("deleting the logs of topic " << name << ": " << first.message());
        }
    }
    for (const auto& entry : reconfigured) {
        push_config(*entry);
    }
    if (!first_applied_) {
        first_applied_ = true;
        if (!config_.single_node()) {
            return;  // which partitions are this broker's comes later, from the controller
        }
        for (const log::topic_partition& tp : replicas_.logs().partitions()) {
            const auto it = built->by_name.find(tp.topic);
            if (it == built->by_name.end() || tp.partition >= it->second->partition_count) {
                BROKER_LOG_WARN("partition directory "
                                << tp.dir_name()
                                << " belongs to no known topic; leaving it on disk untouched");
            }
        }
    }
}

void topic_store::publish(std::shared_ptr<const index> next) {
    std::vector<topic_info> topics;
    topics.reserve(next->by_name.size());
    for (const auto& [name, entry] : next->by_name) {
        topic_info info;
        info.name = entry->name;
        info.topic_id = entry->id;
        info.is_internal = entry->internal;
        info.partitions.reserve(static_cast<std::size_t>(entry->partition_count));
        const auto hosted = replicas_.partitions_of(entry->name);
        for (int32_t i = 0; i < entry->partition_count; ++i) {
            const std::shared_ptr<partition> p =
                hosted && static_cast<std::size_t>(i) < hosted->size()
                    ? (*hosted)[static_cast<std::size_t>(i)]
                    : nullptr;
            partition_info pi;
            pi.partition_index = i;
            if (!p) {
                // Not hosted here (yet): no leader known.
                pi.error_code = static_cast<int16_t>(error_code::leader_not_available);
                info.partitions.push_back(std::move(pi));
                continue;
            }
            // What the replica layer serves the partition with.
            pi.leader_id = p->leader_id().value();
            pi.leader_epoch = p->leader_epoch().value();
            pi.replica_nodes = raw_values(p->assigned_replicas());
            pi.isr_nodes = raw_values(p->in_sync_replicas());
            info.partitions.push_back(std::move(pi));
        }
        topics.push_back(std::move(info));
    }
    {
        std::lock_guard lock(index_mutex_);
        index_ = std::move(next);
    }
    if (!config_.single_node()) {
        return;  // in a cluster the metadata cache follows the controller's UpdateMetadata
    }
    table_.publish(std::make_shared<const topic_snapshot>(std::move(topics)));
}

std::pair<topic_result, int64_t> topic_store::delete_records(std::string_view topic, int32_t index,
                                                             int64_t offset) {
    const auto p = find_partition(topic, index);
    if (!p) {
        return {topic_result::failure(error_code::unknown_topic_or_partition,
                                      "This server does not host this topic-partition."),
                -1};
    }
    std::string message;
    const auto [error, low_watermark] = p->delete_records(offset, message);
    if (error != error_code::none) {
        return {topic_result::failure(error, std::move(message)), -1};
    }
    return {topic_result::success(), low_watermark};
}

// ---------------------------------------------------------------------------------------------
// Configs

void topic_store::push_config(const topic_entry& entry) const {
    if (const auto hosted = replicas_.partitions_of(entry.name)) {
        for (const auto& p : *hosted) {
            if (p) {
                p->set_config(entry.config);
            }
        }
    }
}

std::optional<std::vector<described_config>> topic_store::describe_topic_configs(
    std::string_view topic) const {
    // One snapshot: the overrides and the broker configs they are described against match.
    const auto idx = current();
    const auto it = idx->by_name.find(topic);
    if (it == idx->by_name.end()) {
        return std::nullopt;
    }
    return server::describe_topic_configs(
        it->second->overrides,
        broker_config_view{&config_, &idx->dynamic_default, &idx->dynamic_broker});
}

std::vector<described_config> topic_store::describe_broker_configs(bool default_resource) const {
    const auto idx = current();
    return server::describe_broker_configs(
        broker_config_view{&config_, &idx->dynamic_default, &idx->dynamic_broker},
        default_resource);
}

config_map topic_store::dynamic_broker_configs(bool default_resource) const {
    const auto idx = current();
    return default_resource ? idx->dynamic_default : idx->dynamic_broker;
}

// ---------------------------------------------------------------------------------------------
// Log dirs and maintenance

std::vector<log_dir_description> topic_store::describe_log_dirs(
    const std::optional<std::vector<std::pair<std::string, int32_t>>>& only) const {
    std::vector<log_dir_description> out;
    std::map<std::string, std::size_t> by_path;
    for (const std::string& dir : config_.log_dirs) {
        log_dir_description d;
        d.path = std::filesystem::absolute(dir).lexically_normal().string();
        if (const std::optional<filesystem_space> space = filesystem_space_of(dir)) {
            d.total_bytes = static_cast<int64_t>(space->total_bytes);
            d.usable_bytes = static_cast<int64_t>(space->free_bytes);
        } else {
            d.error = error_code::kafka_storage_error;
        }
        by_path[std::filesystem::path(dir).lexically_normal().string()] = out.size();
        out.push_back(std::move(d));
    }
    if (!replicas_.is_open()) {
        return out;
    }
    std::vector<std::shared_ptr<partition>> selected;
    if (only) {
        for (const auto& [topic, index] : *only) {
            if (auto p = find_partition(topic, index)) {
                selected.push_back(std::move(p));
            }
        }
    } else {
        selected = all_partitions();
    }
    for (const auto& p : selected) {
        const auto dir = replicas_.log_dir_of(p->topic(), p->index());
        if (!dir) {
            continue;
        }
        const auto it = by_path.find(dir->lexically_normal().string());
        if (it == by_path.end()) {
            continue;
        }
        if (p->deleted()) {
            continue;
        }
        const auto size = static_cast<int64_t>(p->size_bytes());
        out[it->second].partitions.push_back(
            log_dir_partition{p->topic(), p->index().value(), size});
    }
    return out;
}

void topic_store::run_maintenance(int64_t now_ms) {
    replicas_.run_maintenance(now_ms);
}

}  // namespace broker::server
