#pragma once
// How the controller tells brokers their roles and the cluster state: LeaderAndIsr,
// UpdateMetadata and StopReplica (Kafka's controller-to-broker requests), each sent over an
// outbound Kafka connection to the broker's inter-broker listener.
//
// Per broker, requests go out one at a time in the order they were queued (Kafka's
// ControllerChannelManager has one send thread per broker); a request whose connection fails is
// retried on a new connection, with a backoff, until it is answered or the broker is removed.
// Responses (or the error that ended a request) reach the caller's callback.
//
// Implementations: broker_channel_manager (server/cluster/broker_channel.h) over TCP; unit tests
// of the controller use a recording fake.
//
// Threading: every member is called from the controller's executor, and every callback runs
// there.
#include <cstdint>
#include <functional>
#include <string>
#include <system_error>

#include "protocol/generated/leader_and_isr_request.h"
#include "protocol/generated/leader_and_isr_response.h"
#include "protocol/generated/stop_replica_request.h"
#include "protocol/generated/stop_replica_response.h"
#include "protocol/generated/update_metadata_request.h"
#include "protocol/generated/update_metadata_response.h"

namespace broker::server::cluster {

/// Where a broker of the cluster listens for inter-broker requests.
struct broker_address {
    int32_t id = -1;
    std::string host;
    uint16_t port = 0;
    friend bool operator==(const broker_address&, const broker_address&) = default;
};

class controller_channel {
public:
    template <typename Response>
    using callback = std::function<void(std::error_code, const Response&)>;

    virtual ~controller_channel() = default;

    /// Starts sending to a broker (idempotent; a changed address replaces the old one and the
    /// connection is reopened).
    virtual void add_broker(const broker_address& broker) = 0;
    /// Stops sending to a broker: its queued requests end with net::error::operation_aborted.
    virtual void remove_broker(int32_t broker_id) = 0;

    /// Queues a request to `to` (ignored, with operation_aborted, when `to` was not added). The
    /// channel picks the version: the highest the generated message has (every broker of the
    /// cluster is this broker). `done` may be empty.
    virtual void send(int32_t to, protocol::leader_and_isr_request request,
                      callback<protocol::leader_and_isr_response> done = {}) = 0;
    virtual void send(int32_t to, protocol::update_metadata_request request,
                      callback<protocol::update_metadata_response> done = {}) = 0;
    virtual void send(int32_t to, protocol::stop_replica_request request,
                      callback<protocol::stop_replica_response> done = {}) = 0;

    /// Removes every broker and closes every connection. Idempotent.
    virtual void stop() = 0;
};

}  // namespace broker::server::cluster
