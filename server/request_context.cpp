#include "server/request_context.h"

#include <algorithm>

namespace broker::server {

std::size_t response_buffer::wire_size() const {
    std::size_t total = bytes.size();
    for (const protocol::splice& s : splices) {
        total += s.region.length;
    }
    return total;
}

uint64_t connection_close_signal::subscribe(std::function<void()> callback) {
    if (fired_) {
        callback();
        return 0;
    }
    const uint64_t id = next_id_++;
    callbacks_.emplace_back(id, std::move(callback));
    return id;
}

void connection_close_signal::unsubscribe(uint64_t id) {
    std::erase_if(callbacks_, [id](const auto& entry) { return entry.first == id; });
}

void connection_close_signal::fire() {
    fired_ = true;
    // Callbacks may unsubscribe others; run a detached copy.
    auto callbacks = std::move(callbacks_);
    callbacks_.clear();
    for (auto& [id, callback] : callbacks) {
        callback();
    }
}

}  // namespace broker::server
