#include "server/replica/replica_manager.h"

#include <algorithm>
#include <utility>

#include "log/errors.h"
#include "server/config.h"
#include "server/logging.h"

namespace broker::server {
namespace {

/// Kafka runs its first retention check 30 s after startup.
constexpr int64_t initial_retention_delay_ms = 30000;

}  // namespace

replica_manager::replica_manager(const broker_config& config, const metadata_cache& metadata,
                                 const log::clock& clock)
    : config_(config), metadata_(metadata), clock_(clock) {}

std::error_code replica_manager::open(
    std::function<log::log_config(const log::topic_partition&)> config_for) {
    log::log_manager_options options;
    for (const std::string& dir : config_.log_dirs) {
        options.log_dirs.emplace_back(dir);
    }
    options.time = &clock_;
    options.config_for = std::move(config_for);
    auto opened = log::log_manager::open(std::move(options));
    if (!opened) {
        return opened.error();
    }
    logs_ = std::move(opened).value();
    if (!logs_->had_clean_shutdown() && !logs_->partitions().empty()) {
        BROKER_LOG_INFO("logs recovered after an unclean shutdown");
    }
    const int64_t now = clock_.now_ms();
    last_retention_ms_ =
        now - config_.log_retention_check_interval_ms +
        std::min(initial_retention_delay_ms, config_.log_retention_check_interval_ms);
    last_checkpoint_ms_ = now;
    return {};
}

// ---------------------------------------------------------------------------------------------
// Local replicas

log::result<std::shared_ptr<partition>> replica_manager::create_replica(
    const std::string& topic, const protocol::uuid& id, partition_index index,
    const std::shared_ptr<const topic_config>& config, bool fresh) {
    if (!logs_ || shut_down()) {
        return make_error_code(std::errc::not_connected);
    }
    // The log keys partitions by raw index: it is the directory name on disk.
    const log::topic_partition tp{topic, index.value()};
    if (fresh && logs_->get(tp)) {
        // A stray directory left from before (startup keeps them): Kafka would have deleted it
        // already; a new topic must not start with someone else's records.
        BROKER_LOG_WARN("deleting stray partition directory " << tp.dir_name()
                                                              << " to create it afresh");
        if (auto ec = logs_->remove(tp)) {
            return ec;
        }
    }
    auto log = logs_->get_or_create(tp, config->log);
    if (!log) {
        return log.error();
    }
    return std::make_shared<partition>(topic, id, index, std::move(log).value(), config,
                                       node_id{config_.broker_id});
}

void replica_manager::host(const std::string& topic, const protocol::uuid& id,
                           partition_list partitions) {
    std::lock_guard lock(host_mutex_);
    auto next = std::make_shared<index>(*current());
    next->by_name[topic] = std::make_shared<const partition_list>(std::move(partitions));
    if (!id.is_zero()) {
        next->name_by_id[id] = topic;
    }
    publish(std::move(next));
}

void replica_manager::host_partition(const std::string& topic, const protocol::uuid& id,
                                     partition_index index, std::shared_ptr<partition> replica) {
    std::lock_guard lock(host_mutex_);
    auto next = std::make_shared<replica_manager::index>(*current());
    auto& slot = next->by_name[topic];
    auto list = slot ? std::make_shared<partition_list>(*slot) : std::make_shared<partition_list>();
    const auto at = static_cast<std::size_t>(index.value());
    if (list->size() <= at) {
        list->resize(at + 1);
    }
    (*list)[at] = std::move(replica);
    slot = std::move(list);
    if (!id.is_zero()) {
        next->name_by_id[id] = topic;
    }
    publish(std::move(next));
}

std::error_code replica_manager::remove_topic(std::string_view topic, bool delete_logs) {
    std::shared_ptr<const partition_list> removed;
    {
        std::lock_guard lock(host_mutex_);
        auto next = std::make_shared<index>(*current());
        const auto it = next->by_name.find(topic);
        if (it == next->by_name.end()) {
            return {};
        }
        removed = it->second;
        next->by_name.erase(it);
        std::erase_if(next->name_by_id, [&](const auto& entry) { return entry.second == topic; });
        publish(std::move(next));
    }
    std::error_code first;
    for (const auto& p : *removed) {
        if (!p) {
            continue;
        }
        std::error_code ec;
        if (delete_logs && logs_) {
            ec = p->stop([&] {
                return logs_->remove(log::topic_partition{p->topic(), p->index().value()});
            });
        } else {
            ec = p->stop();
        }
        if (ec && !first) {
            first = ec;
        }
    }
    return first;
}

void replica_manager::discard(const std::string& topic, partition_index index) {
    if (logs_) {
        (void)logs_->remove(log::topic_partition{topic, index.value()});
    }
}

// ---------------------------------------------------------------------------------------------
// Roles

std::error_code replica_manager::become_leader(std::string_view topic, partition_index index,
                                               const partition_assignment& a) {
    const auto p = find(topic, index);
    if (!p) {
        return log::make_error_code(log::errc::log_closed);
    }
    return p->become_leader(a);
}

std::error_code replica_manager::become_follower(std::string_view topic, partition_index index,
                                                 const partition_assignment& a) {
    const auto p = find(topic, index);
    if (!p) {
        return log::make_error_code(log::errc::log_closed);
    }
    return p->become_follower(a);
}

std::error_code replica_manager::stop_replica(std::string_view topic, partition_index index,
                                              bool delete_log) {
    const auto p = find(topic, index);
    if (!p) {
        return {};
    }
    if (!delete_log) {
        return p->stop();
    }
    {
        std::lock_guard lock(host_mutex_);
        auto next = std::make_shared<replica_manager::index>(*current());
        const auto it = next->by_name.find(topic);
        if (it != next->by_name.end()) {
            auto list = std::make_shared<partition_list>(*it->second);
            if (index.value() >= 0 && static_cast<std::size_t>(index.value()) < list->size()) {
                (*list)[static_cast<std::size_t>(index.value())] = nullptr;
            }
            it->second = std::move(list);
            publish(std::move(next));
        }
    }
    return p->stop([&] {
        return logs_->remove(log::topic_partition{p->topic(), p->index().value()});
    });
}

// ---------------------------------------------------------------------------------------------
// Lookups

std::shared_ptr<const replica_manager::index> replica_manager::current() const {
    std::lock_guard lock(index_mutex_);
    return index_;
}

void replica_manager::publish(std::shared_ptr<const index> next) {
    std::lock_guard lock(index_mutex_);
    index_ = std::move(next);
}

std::shared_ptr<partition> replica_manager::find(std::string_view topic,
                                                 partition_index index) const {
    const auto list = partitions_of(topic);
    if (!list || index.value() < 0 || static_cast<std::size_t>(index.value()) >= list->size()) {
        return nullptr;
    }
    return (*list)[static_cast<std::size_t>(index.value())];
}

std::shared_ptr<partition> replica_manager::find(const protocol::uuid& topic_id,
                                                 partition_index index) const {
    const auto idx = current();
    const auto it = idx->name_by_id.find(topic_id);
    if (it == idx->name_by_id.end()) {
        return nullptr;
    }
    const auto list = idx->by_name.find(it->second);
    if (list == idx->by_name.end() || index.value() < 0 ||
        static_cast<std::size_t>(index.value()) >= list->second->size()) {
        return nullptr;
    }
    return (*list->second)[static_cast<std::size_t>(index.value())];
}

std::shared_ptr<const replica_manager::partition_list> replica_manager::partitions_of(
    std::string_view topic) const {
    const auto idx = current();
    const auto it = idx->by_name.find(topic);
    return it == idx->by_name.end() ? nullptr : it->second;
}

replica_manager::partition_list replica_manager::all() const {
    const auto idx = current();
    partition_list out;
    for (const auto& [name, list] : idx->by_name) {
        for (const auto& p : *list) {
            if (p) {
                out.push_back(p);
            }
        }
    }
    return out;
}

replica_manager::lookup replica_manager::leader_for(std::string_view topic,
                                                    partition_index index) const {
    lookup out;
    out.target = find(topic, index);
    if (out.target && out.target->role() == replica_role::leader && !out.target->deleted()) {
        return out;
    }
    out.target = nullptr;
    const auto snapshot = metadata_.snapshot();
    const topic_info* known = snapshot ? snapshot->find(topic) : nullptr;
    const bool partition_known = known != nullptr && index.value() >= 0 &&
                                 static_cast<std::size_t>(index.value()) < known->partitions.size();
    out.error = partition_known ? protocol::error_code::not_leader_or_follower
                                : protocol::error_code::unknown_topic_or_partition;
    return out;
}

std::optional<std::filesystem::path> replica_manager::log_dir_of(std::string_view topic,
                                                                 partition_index index) const {
    if (!logs_) {
        return std::nullopt;
    }
    return logs_->log_dir_of(log::topic_partition{std::string(topic), index.value()});
}

// ---------------------------------------------------------------------------------------------
// Maintenance and shutdown

void replica_manager::run_maintenance(int64_t now_ms) {
    std::lock_guard maintenance(maintenance_mutex_);
    if (!logs_ || shut_down()) {
        return;
    }
    const log::owner_guard guard = [this](const log::topic_partition& tp,
                                          const std::function<void()>& work) {
        if (const auto p = find(tp.topic, partition_index{tp.partition})) {
            p->run_owner_step(work);
        }
        // Not hosted: a stray directory (no known topic) or a partition being deleted; left alone.
    };
    // Only hosted replicas are maintained; stray directories are left untouched.
    const log::partition_filter hosted = [this](const log::topic_partition& tp) {
        return find(tp.topic, partition_index{tp.partition}) != nullptr;
    };
    if (now_ms - last_retention_ms_ >= config_.log_retention_check_interval_ms) {
        last_retention_ms_ = now_ms;
        const auto r = logs_->run_retention(now_ms, hosted, guard);
        if (r.first_error) {
            BROKER_LOG_ERROR("retention pass: " << r.first_error.message());
        }
        if (r.totals.deleted_segments > 0) {
            BROKER_LOG_INFO("retention deleted " << r.totals.deleted_segments << " segments ("
                                                 << r.totals.deleted_bytes << " bytes)");
        }
    }
    if (auto ec = logs_->flush_due_logs(now_ms, hosted, guard)) {
        BROKER_LOG_ERROR("flush pass: " << ec.message());
    }
    if (config_.log_cleaner_enable) {
        const auto r = logs_->run_cleaner(now_ms, hosted, guard);
        if (r.first_error) {
            BROKER_LOG_ERROR("cleaner pass: " << r.first_error.message());
        }
    }
    if (now_ms - last_checkpoint_ms_ >= config_.log_flush_offset_checkpoint_interval_ms) {
        last_checkpoint_ms_ = now_ms;
        if (auto ec = logs_->write_checkpoints()) {
            BROKER_LOG_ERROR("writing checkpoints: " << ec.message());
        }
    }
}

std::error_code replica_manager::shutdown() {
    if (shut_down_.exchange(true) || !logs_) {
        return {};
    }
    std::error_code first;
    for (const auto& p : all()) {
        if (auto ec = p->close(); ec && !first) {
            BROKER_LOG_ERROR("closing " << p->topic() << "-" << p->index() << ": " << ec.message());
            first = ec;
        }
    }
    std::lock_guard maintenance(maintenance_mutex_);
    if (auto ec = logs_->shutdown(); ec && !first) {
        BROKER_LOG_ERROR("log shutdown: " << ec.message());
        first = ec;
    }
    return first;
}

}  // namespace broker::server
