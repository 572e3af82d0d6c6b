#include "server/partition.h"

#include <utility>

namespace broker::server {

partition::partition(std::string topic, protocol::uuid topic_id, int32_t index,
                     std::shared_ptr<log::partition_log> log_ptr, std::shared_ptr<const topic_config> config)
    : log(std::move(log_ptr)), topic_(std::move(topic)), topic_id_(topic_id), index_(index) {
    if (!config) {
        config = std::make_shared<const topic_config>();
    }
    config_.store(std::move(config), std::memory_order_release);
}

void partition::set_config(std::shared_ptr<const topic_config> config) {
    if (config) {
        config_.store(std::move(config), std::memory_order_release);
    }
}

uint64_t partition::on_append(std::function<void()> callback) {
    std::lock_guard lock(waiters_mutex_);
    uint64_t id = next_waiter_id_++;
    waiters_.emplace_back(id, std::move(callback));
    return id;
}

void partition::cancel_waiter(uint64_t id) {
    std::lock_guard lock(waiters_mutex_);
    for (auto it = waiters_.begin(); it != waiters_.end(); ++it) {
        if (it->first == id) {
            waiters_.erase(it);
            return;
        }
    }
}

void partition::notify_waiters() {
    std::vector<std::pair<uint64_t, std::function<void()>>> fired;
    {
        std::lock_guard lock(waiters_mutex_);
        if (waiters_.empty()) {
            return;
        }
        fired.swap(waiters_);
    }
    for (auto& [id, callback] : fired) {
        callback();
    }
}

}  // namespace broker::server
