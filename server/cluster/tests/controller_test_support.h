#pragma once
// Test support for the controller's unit tests: a controller_channel that records what it is
// asked to send, a bounded "run the io_context until" helper, a way to run one awaitable to its
// end, and writers of the znodes brokers and admins write (registrations, topics, configs).
//
// Single-threaded: everything runs on the test's io_context, on the test's thread.
#include <chrono>
#include <exception>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/asio.h"
#include "protocol/wire.h"
#include "server/cluster/controller_channel.h"
#include "zk/client.h"
#include "zk/znodes.h"

namespace broker::server::cluster::testing {

/// Records add/remove and every request, as the controller hands them over. A request to a
/// broker that is not added is counted in `dropped` (the real channel aborts it).
class recording_channel final : public controller_channel {
public:
    template <typename Request>
    struct sent {
        int32_t to = -1;
        Request request;
    };

    void add_broker(const broker_address& broker) override { brokers[broker.id] = broker; }
    void remove_broker(int32_t broker_id) override {
        brokers.erase(broker_id);
        removed.push_back(broker_id);
    }
    void send(int32_t to, protocol::leader_and_isr_request request,
              callback<protocol::leader_and_isr_response> /*done*/) override {
        record(to, std::move(request), leader_and_isr);
    }
    void send(int32_t to, protocol::update_metadata_request request,
              callback<protocol::update_metadata_response> /*done*/) override {
        record(to, std::move(request), update_metadata);
    }
    void send(int32_t to, protocol::stop_replica_request request,
              callback<protocol::stop_replica_response> /*done*/) override {
        record(to, std::move(request), stop_replica);
    }
    void stop() override {
        brokers.clear();
        ++stops;
    }

    /// Forgets the requests recorded so far (not the brokers).
    void clear_sent() {
        leader_and_isr.clear();
        update_metadata.clear();
        stop_replica.clear();
    }

    std::map<int32_t, broker_address> brokers;
    std::vector<int32_t> removed;
    std::vector<sent<protocol::leader_and_isr_request>> leader_and_isr;
    std::vector<sent<protocol::update_metadata_request>> update_metadata;
    std::vector<sent<protocol::stop_replica_request>> stop_replica;
    int dropped = 0;
    int stops = 0;

private:
    template <typename Request>
    void record(int32_t to, Request request, std::vector<sent<Request>>& into) {
        if (brokers.count(to) == 0) {
            ++dropped;
            return;
        }
        into.push_back({to, std::move(request)});
    }
};

/// Runs `io` in short slices until `done()` holds; false when `limit` passed first.
inline bool run_until(net::io_context& io, const std::function<bool()>& done,
                      std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
        if (std::chrono::steady_clock::now() >= deadline) {
            return false;
        }
        io.restart();
        io.run_for(std::chrono::milliseconds(2));
    }
    return true;
}

/// Runs `io` until nothing is left to do right now (every ready handler ran; timers waiting in
/// the future are left waiting).
inline void run_ready(net::io_context& io) {
    io.restart();
    while (io.poll() != 0) {
        io.restart();
    }
}

/// Runs one awaitable to its end on `io` and returns its value (throws what it threw, or when it
/// did not finish within ten seconds).
template <typename T>
T run_sync(net::io_context& io, net::awaitable<T> work) {
    std::optional<T> out;
    std::exception_ptr error;
    bool finished = false;
    net::co_spawn(io, std::move(work), [&](std::exception_ptr e, T value) {
        error = e;
        out = std::move(value);
        finished = true;
    });
    if (!run_until(io, [&] { return finished; })) {
        throw std::runtime_error("run_sync: the operation did not finish");
    }
    if (error) {
        std::rethrow_exception(error);
    }
    return std::move(*out);
}

/// A topic id for tests: 16 bytes from `seed`, in Kafka's text form.
inline std::string topic_id_text(uint8_t seed) {
    protocol::uuid id;
    for (std::size_t i = 0; i < id.bytes.size(); ++i) {
        id.bytes[i] = static_cast<uint8_t>(seed + i);
    }
    return id.to_string();
}

/// The registration a broker writes at /brokers/ids/<id>: PLAINTEXT on 127.0.0.1:<port>.
inline zk::znodes::broker_registration registration(int32_t id, int32_t port,
                                                    std::optional<std::string> rack = {}) {
    zk::znodes::broker_registration b;
    b.id = id;
    b.endpoints = {{"PLAINTEXT", "127.0.0.1", port}};
    b.listener_security_protocol_map = {{"PLAINTEXT", "PLAINTEXT"}};
    b.rack = std::move(rack);
    b.timestamp_ms = 1700000000000;
    return b;
}

/// Creates `path` and its missing parents (persistent, no data).
inline void create_path(net::io_context& io, zk::client& c, const std::string& path) {
    for (const auto& parent : zk::znodes::ancestors(path)) {
        run_sync(io, c.create(parent, {}, zk::create_mode::persistent));
    }
    run_sync(io, c.create(path, {}, zk::create_mode::persistent));
}

inline zk::error_code create_node(net::io_context& io, zk::client& c, const std::string& path,
                                  const std::string& data,
                                  zk::create_mode mode = zk::create_mode::persistent) {
    return run_sync(io, c.create(path, data, mode)).error;
}

inline zk::error_code set_node(net::io_context& io, zk::client& c, const std::string& path,
                               const std::string& data) {
    return run_sync(io, c.set(path, data, zk::any_version)).error;
}

inline bool node_exists(net::io_context& io, zk::client& c, const std::string& path) {
    return run_sync(io, c.exists(path)).ok();
}

/// The state node of a partition, decoded, with its version; nullopt when missing.
inline std::optional<std::pair<zk::znodes::partition_state, int32_t>> read_partition_state(
    net::io_context& io, zk::client& c, const std::string& topic, int32_t partition) {
    auto node = run_sync(io, c.get(zk::znodes::partition_state_path(topic, partition)));
    if (!node.ok()) {
        return std::nullopt;
    }
    auto state = zk::znodes::decode_partition_state(node.value.data);
    if (!state) {
        return std::nullopt;
    }
    return std::make_pair(*state, node.value.stat.version);
}

}  // namespace broker::server::cluster::testing
