#include "server/broker_server.h"

#include <unistd.h>

#include <future>
#include <stdexcept>

#include "server/dispatch.h"
#include "server/logging.h"
#include "server/meta_properties.h"

namespace broker::server {
namespace {

std::string local_host_name() {
    char name[256] = {};
    if (::gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') {
        return "localhost";
    }
    return name;
}

}  // namespace

broker_server::broker_server(broker_config config) : config_(std::move(config)) {}

broker_server::~broker_server() {
    stop();
    // Shards go first: coroutine frames still parked on them (only if draining timed out) are
    // destroyed while the objects around them still exist.
    listeners_.clear();
    shards_.reset();
}

void broker_server::start() {
    if (started_) {
        return;
    }
    started_ = true;
    const std::vector<std::string> problems = check_served_apis();
    if (!problems.empty()) {
        std::string message = "served API table is inconsistent with the protocol registry:";
        for (const std::string& p : problems) {
            message += "\n  " + p;
        }
        throw std::runtime_error(message);
    }
    const std::string cluster_id = ensure_log_dirs(config_.log_dirs, config_.broker_id);

    const unsigned shard_count = config_.shard_count();
    shards_ = std::make_unique<shard_group>(shard_count,
                                            static_cast<unsigned>(config_.background_threads));
    core_ = std::make_unique<broker_core>(config_, cluster_id, *shards_);
    request_memory_ = std::make_unique<async_semaphore>(config_.request_memory_budget());
    tracker_ = std::make_unique<connection_tracker>(config_.max_connections,
                                                    config_.max_connections_per_ip);
    for (unsigned i = 0; i < shard_count; ++i) {
        registries_.push_back(std::make_unique<connection_registry>());
    }
    services_ = std::make_unique<connection_services>(
        connection_services{*core_, *request_memory_, *tracker_, registries_});

    // Accept loops are spread over the shards too, starting at shard 0.
    unsigned accept_shard = 0;
    for (const listener_endpoint& endpoint : config_.listeners) {
        listeners_.push_back(std::make_unique<listener>(endpoint, accept_shard % shard_count,
                                                        *shards_, *services_));
        ++accept_shard;
    }
    for (auto& l : listeners_) {
        l->bind();
    }

    std::vector<advertised_endpoint> advertised;
    for (const listener_endpoint& a : config_.effective_advertised_listeners()) {
        advertised_endpoint e{a.name, a.host, a.port};
        if (e.host.empty()) {
            e.host = local_host_name();
        }
        if (e.port == 0) {
            for (const auto& l : listeners_) {
                if (l->endpoint().name == a.name) {
                    e.port = l->bound_endpoint().port();
                }
            }
        }
        advertised.push_back(std::move(e));
    }
    core_->set_advertised_endpoints(std::move(advertised));

    shards_->start();
    running_ = true;
    for (auto& l : listeners_) {
        l->start();
    }
}

void broker_server::stop(std::chrono::milliseconds drain_timeout) {
    if (!running_ || stopped_) {
        return;  // never ran (or start() failed before the shards started), or already stopped
    }
    stopped_ = true;
    // 1. Stop accepting. Closing the slot semaphore releases an accept loop waiting for a slot.
    if (tracker_) {
        tracker_->slots().close();
    }
    for (auto& l : listeners_) {
        l->stop();
    }
    // 2. Close every connection from its own shard.
    std::vector<std::future<void>> closed;
    for (unsigned i = 0; i < registries_.size(); ++i) {
        auto done = std::make_shared<std::promise<void>>();
        closed.push_back(done->get_future());
        net::post(shards_->shard_executor(i), [registry = registries_[i].get(), done] {
            registry->close_all();
            done->set_value();
        });
    }
    for (auto& f : closed) {
        f.wait();
    }
    // 3. Nobody may stay parked on the memory budget.
    if (request_memory_) {
        request_memory_->close();
    }
    // 4. Drain: connection coroutines finish their current step and unregister.
    if (tracker_ && !tracker_->wait_until_idle(std::chrono::steady_clock::now() + drain_timeout)) {
        BROKER_LOG_WARN("shutdown: " << tracker_->live()
                                     << " connections still finishing; stopping anyway");
    }
    // 5. Stop the shard threads.
    shards_->stop();
}

std::vector<net::ip::tcp::endpoint> broker_server::bound_endpoints() const {
    std::vector<net::ip::tcp::endpoint> out;
    for (const auto& l : listeners_) {
        out.push_back(l->bound_endpoint());
    }
    return out;
}

std::size_t broker_server::live_connections() const {
    return tracker_ ? tracker_->live() : 0;
}

int64_t broker_server::request_memory_available() const {
    return request_memory_ ? request_memory_->available() : 0;
}

std::size_t broker_server::request_memory_waiters() const {
    return request_memory_ ? request_memory_->waiters() : 0;
}

}  // namespace broker::server
