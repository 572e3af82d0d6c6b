#pragma once
// broker_server: one running broker — shards, core state, listeners and connections — behind a
// start/stop interface used by main() and by in-process tests.
//
// start() (main thread): checks the served-API table against the protocol registry, creates the
// log directories and meta.properties (cluster id), opens the topic store (which recovers the
// logs) before anything listens, binds every listener (resolving port 0), fixes the advertised
// endpoints, starts the shards, starts accepting, starts the maintenance loop, and last starts the
// admin/metrics HTTP server (`http.listeners`, bound with the listeners; docs/observability.md)
// on its own thread. Any failure
// throws std::runtime_error (or config_error) with a message for the operator; nothing is left
// running and logs already opened are closed cleanly.
//
// Maintenance: a timer on shard 0 fires every `maintenance_tick` and hands one pass of
// topic_store::run_maintenance (retention on its own interval, flush.ms/flush.messages, a cleaner
// round for compacted topics, checkpoints on their interval) to the blocking pool; the next tick
// is armed only after the pass finished, so passes never overlap.
//
// stop() (any non-shard thread; idempotent, also run by the destructor): stops the HTTP server
// (readiness turns false first), stops the maintenance loop (waiting for a running pass), stops
// accepting, closes every connection from its own shard, wakes anything waiting on the
// request-memory budget, waits (bounded) for the connection coroutines to finish, shuts the topic
// store down (logs closed durably under each partition's mutex, checkpoints, clean-shutdown
// marker), then stops the shards.
#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "server/async_semaphore.h"
#include "server/broker_core.h"
#include "server/cluster/cluster_member.h"
#include "server/config.h"
#include "server/connection.h"
#include "server/http/admin_api.h"
#include "server/http/http_server.h"
#include "server/listener.h"
#include "server/shard.h"

namespace broker::server {

class broker_server {
public:
    explicit broker_server(broker_config config);
    ~broker_server();
    broker_server(const broker_server&) = delete;
    broker_server& operator=(const broker_server&) = delete;

    /// How often the maintenance loop runs a pass.
    static constexpr std::chrono::milliseconds maintenance_tick{1000};

    void start();
    void stop(std::chrono::milliseconds drain_timeout = std::chrono::seconds(5));

    /// Valid after start().
    broker_core& core() { return *core_; }
    shard_group& shards() { return *shards_; }
    /// The bound address of each listener, in `listeners` order. Valid after start().
    std::vector<net::ip::tcp::endpoint> bound_endpoints() const;
    /// Live client connections (all shards).
    std::size_t live_connections() const;
    /// Bytes of the request-memory budget currently free.
    int64_t request_memory_available() const;
    /// Connections waiting for request-memory budget.
    std::size_t request_memory_waiters() const;
    /// The bound address of each `http.listeners` entry (admin/metrics HTTP). Valid after start().
    std::vector<net::ip::tcp::endpoint> http_bound_endpoints() const;

private:
    void start_maintenance();
    void stop_maintenance();

    broker_config config_;
    std::unique_ptr<shard_group> shards_;
    // Cluster mode only; outlives the core, which uses its metadata source and admin backend.
    std::unique_ptr<cluster::cluster_member> cluster_;
    std::unique_ptr<broker_core> core_;
    std::unique_ptr<async_semaphore> request_memory_;
    std::unique_ptr<connection_tracker> tracker_;
    std::vector<std::unique_ptr<connection_registry>> registries_;
    std::unique_ptr<connection_services> services_;
    std::vector<std::unique_ptr<listener>> listeners_;
    // Admin/metrics HTTP (docs/observability.md): its own thread; stopped first in stop().
    std::atomic<bool> accepting_{false};    // readiness: the Kafka listeners accept
    std::atomic<bool> logs_loaded_{false};  // readiness: the topic store is open (logs recovered)
    std::unique_ptr<http::admin_api> admin_api_;
    std::unique_ptr<http::http_server> http_;
    std::unique_ptr<net::steady_timer> maintenance_timer_;
    std::atomic<bool> maintenance_stopping_{false};
    std::promise<void> maintenance_done_;
    bool maintenance_running_ = false;
    bool started_ = false;
    bool running_ = false;
    bool stopped_ = false;
};

}  // namespace broker::server
