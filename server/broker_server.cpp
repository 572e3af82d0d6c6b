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
    // destroyed while the objects around them still exist. The timer must go before its
    // io_context.
    listeners_.clear();
    maintenance_timer_.reset();
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
    // In a cluster the cluster id is ZooKeeper's (/cluster/id), and meta.properties must agree.
    std::optional<std::string> cluster_id_in_zookeeper;
    if (!config_.single_node()) {
        cluster_ = std::make_unique<cluster::cluster_member>(config_);
        cluster_id_in_zookeeper = cluster_->connect();
    }
    const std::string cluster_id =
        ensure_log_dirs(config_.log_dirs, config_.broker_id, cluster_id_in_zookeeper);

    const unsigned shard_count = config_.shard_count();
    shards_ = std::make_unique<shard_group>(shard_count,
                                            static_cast<unsigned>(config_.background_threads));
    core_ = std::make_unique<broker_core>(config_, cluster_id, *shards_, cluster_.get());
    // Recovery happens here, before anything listens: a client never sees a half-loaded broker.
    core_->store().open();
    logs_loaded_.store(true, std::memory_order_release);
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
        listeners_.push_back(
            std::make_unique<listener>(endpoint, accept_shard % shard_count, *shards_, *services_));
        ++accept_shard;
    }
    if (!config_.http_listeners.empty()) {
        // Readiness checks, in order; in a cluster also the ZooKeeper registration.
        std::vector<http::readiness_check> checks{
            {"kafka_listeners", [this] { return accepting_.load(std::memory_order_acquire); }},
            {"logs_loaded", [this] { return logs_loaded_.load(std::memory_order_acquire); }},
        };
        if (cluster_) {
            checks.push_back({"zookeeper_registered", [this] { return cluster_->registered(); }});
        }
        admin_api_ = std::make_unique<http::admin_api>(
            *core_, std::move(checks), [this] { return tracker_ ? tracker_->live() : 0; });
        http_ = std::make_unique<http::http_server>(config_.http_listeners,
                                                    [api = admin_api_.get()](std::string target) {
                                                        return api->handle_get(std::move(target));
                                                    });
    }
    try {
        for (auto& l : listeners_) {
            l->bind();
        }
        if (http_) {
            http_->bind();
        }
    } catch (...) {
        core_->store().shutdown();
        throw;
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
    // Groups: take over __consumer_offsets (loading starts) before the first request arrives.
    core_->groups().start();
    for (auto& l : listeners_) {
        l->start();
    }
    accepting_.store(true, std::memory_order_release);
    if (cluster_) {
        // Registered once it can serve: the controller's first requests follow at once.
        const auto endpoints = core_->advertised_endpoints();
        cluster_->join(std::vector<advertised_endpoint>(endpoints.begin(), endpoints.end()));
    }
    start_maintenance();
    if (http_) {
        http_->start();
    }
}

void broker_server::start_maintenance() {
    maintenance_timer_ = std::make_unique<net::steady_timer>(shards_->shard_executor(0));
    maintenance_running_ = true;
    net::co_spawn(
        shards_->shard_executor(0),
        [this]() -> net::awaitable<void> {
            while (!maintenance_stopping_.load()) {
                maintenance_timer_->expires_after(maintenance_tick);
                boost::system::error_code ec;
                co_await maintenance_timer_->async_wait(
                    net::redirect_error(net::use_awaitable, ec));
                if (maintenance_stopping_.load()) {
                    break;
                }
                try {
                    topic_store* store = &core_->store();
                    co_await shards_->run_blocking([store] {
                        store->run_maintenance(log::system_clock::instance().now_ms());
                    });
                } catch (const std::exception& e) {
                    BROKER_LOG_ERROR("maintenance pass failed: " << e.what());
                }
            }
            maintenance_done_.set_value();
        },
        net::detached);
}

void broker_server::stop_maintenance() {
    if (!maintenance_running_) {
        return;
    }
    maintenance_running_ = false;
    maintenance_stopping_.store(true);
    net::post(shards_->shard_executor(0), [timer = maintenance_timer_.get()] { timer->cancel(); });
    // A pass in progress finishes first (it is bounded: one retention/flush/cleaner round).
    maintenance_done_.get_future().wait();
}

void broker_server::stop(std::chrono::milliseconds drain_timeout) {
    if (!running_ || stopped_) {
        return;  // never ran (or start() failed before the shards started), or already stopped
    }
    stopped_ = true;
    // 0a. The admin/metrics HTTP server first: it reads the state torn down below.
    accepting_.store(false, std::memory_order_release);
    if (http_) {
        http_->stop();
    }
    // 0. No new maintenance pass; wait for a running one.
    stop_maintenance();
    // 0b. Leave the cluster: the registration goes at once, so the controller moves what this
    // broker led without waiting for a session timeout.
    if (cluster_) {
        cluster_->stop();
    }
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
    // 4b. The group coordinator answers whatever still waits and stops its timers and writes;
    // the shards still run, so its answers reach their handlers.
    core_->groups().stop();
    // 5. Close the logs durably, write checkpoints and the clean-shutdown marker. Shards still run,
    // so wake-ups posted to them by partitions being closed are delivered.
    if (auto ec = core_->store().shutdown()) {
        BROKER_LOG_ERROR("shutdown: logs not closed cleanly ("
                         << ec.message() << "); the next start recovers them");
    }
    // 6. Stop the shard threads.
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

std::vector<net::ip::tcp::endpoint> broker_server::http_bound_endpoints() const {
    return http_ ? http_->bound_endpoints() : std::vector<net::ip::tcp::endpoint>{};
}

std::size_t broker_server::request_memory_waiters() const {
    return request_memory_ ? request_memory_->waiters() : 0;
}

}  // namespace broker::server
