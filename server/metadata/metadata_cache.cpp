#include "server/metadata/metadata_cache.h"

#include <stdexcept>

namespace broker::server {

topic_snapshot::topic_snapshot(std::vector<topic_info> topics) {
    for (topic_info& topic : topics) {
        if (!topic.topic_id.is_zero()) {
            if (!name_by_id_.emplace(topic.topic_id, topic.name).second) {
                throw std::invalid_argument("duplicate topic id for topic " + topic.name);
            }
        }
        std::string name = topic.name;
        if (!by_name_.emplace(std::move(name), std::move(topic)).second) {
            throw std::invalid_argument("duplicate topic name");
        }
    }
}

const topic_info* topic_snapshot::find(std::string_view name) const {
    const auto it = by_name_.find(name);
    return it == by_name_.end() ? nullptr : &it->second;
}

const topic_info* topic_snapshot::find(const protocol::uuid& id) const {
    if (id.is_zero()) {
        return nullptr;
    }
    const auto it = name_by_id_.find(id);
    return it == name_by_id_.end() ? nullptr : find(it->second);
}

metadata_cache::metadata_cache() : current_(std::make_shared<const topic_snapshot>()) {}

std::shared_ptr<const topic_snapshot> metadata_cache::snapshot() const {
    std::lock_guard lock(mutex_);
    return current_;
}

void metadata_cache::publish(std::shared_ptr<const topic_snapshot> next) {
    if (!next) {
        next = std::make_shared<const topic_snapshot>();
    }
    std::lock_guard lock(mutex_);
    current_.swap(next);
    // `next` (the old snapshot) is released after the lock is dropped.
}

const advertised_endpoint* broker_info::endpoint_for(std::string_view listener_name) const {
    for (const advertised_endpoint& e : endpoints) {
        if (e.listener_name == listener_name) {
            return &e;
        }
    }
    return nullptr;
}

const broker_info* cluster_view::find(int32_t id) const {
    for (const broker_info& b : brokers) {
        if (b.id == id) {
            return &b;
        }
    }
    return nullptr;
}

std::shared_ptr<const cluster_view> metadata_cache::cluster() const {
    std::lock_guard lock(mutex_);
    return cluster_;
}

void metadata_cache::publish_cluster(std::shared_ptr<const cluster_view> next) {
    std::lock_guard lock(mutex_);
    cluster_ = next ? std::move(next) : std::make_shared<const cluster_view>();
}

}  // namespace broker::server
