#pragma once
// broker_channel_manager: the controller_channel over TCP (Kafka's ControllerChannelManager and its
// per-broker RequestSendThread).
//
// Per broker, one coroutine owns a queue and a connection to the broker's inter-broker listener.
// It sends the queue's first request, waits for its response, hands the response to the request's
// callback, then goes on with the next: one request in flight per broker, in queue order. Each
// request goes out as a Kafka frame:
//   int32 size | request header (version from the API registry; client id "controller-<id>";
//   a new correlation id on every attempt, increasing) | body at the message's max_version
// and the response is read back the same way (a size of at most max_response_bytes, the response
// header of the registry's version with the same correlation id, the generated body decode).
//
// Failures: when connecting, writing or reading fails, when the broker does not answer within the
// request timeout (controller.socket.timeout.ms; each of the connect and the exchange has that
// long), or when the answer is malformed, the connection is closed and, after a backoff (starting
// at the reconnect backoff, doubling up to 1 s, back to the start after an answer), a new one is
// opened and the same request is sent again, until it is answered or the broker removed. A request
// is therefore answered at most once, but may reach the broker more than once (Kafka's controller
// requests are idempotent on the broker for the same controller epoch).
//
// Bounds: at most max_queued_requests wait per broker. A request sent to a full queue is not
// queued: its callback gets std::errc::no_buffer_space (and a warning is logged), so nothing,
// UpdateMetadata included, is dropped without its sender knowing. Responses larger than
// max_response_bytes are refused (a reconnect and a resend).
//
// Lifetime: start-free (add_broker starts a broker's coroutine); stop() (also run by the
// destructor) removes every broker. The coroutines hold their state through shared pointers and
// never touch the manager, so it may be destroyed after stop() while they are still unwinding on
// the executor. After stop(), add_broker is ignored and send() aborts.
//
// Threading: every member is called from the executor given at construction, which must be single
// threaded (one thread runs it, or it is a strand); the coroutines and every callback run there.
// A callback is never called from inside add_broker, remove_broker, send or stop: those post it.
#include "common/asio.h"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "server/cluster/controller_channel.h"

namespace broker::server::cluster {

class broker_channel_manager final : public controller_channel {
public:
    /// Requests waiting per broker (the one in flight included).
    static constexpr std::size_t max_queued_requests = 10000;
    /// Largest response frame accepted (Kafka's socket.request.max.bytes default).
    static constexpr int32_t max_response_bytes = 100 * 1024 * 1024;
    /// The reconnect backoff doubles up to this.
    static constexpr std::chrono::milliseconds max_reconnect_backoff{1000};

    /// `request_timeout`: controller.socket.timeout.ms (Kafka: 30000). `reconnect_backoff`: the
    /// first wait after a failure (100 ms in the broker).
    broker_channel_manager(net::any_io_executor executor, int32_t controller_broker_id,
                           std::chrono::milliseconds request_timeout,
                           std::chrono::milliseconds reconnect_backoff);
    ~broker_channel_manager() override;
    broker_channel_manager(const broker_channel_manager&) = delete;
    broker_channel_manager& operator=(const broker_channel_manager&) = delete;

    void add_broker(const broker_address& broker) override;
    void remove_broker(int32_t broker_id) override;

    void send(int32_t to, protocol::leader_and_isr_request request,
              callback<protocol::leader_and_isr_response> done = {}) override;
    void send(int32_t to, protocol::update_metadata_request request,
              callback<protocol::update_metadata_response> done = {}) override;
    void send(int32_t to, protocol::stop_replica_request request,
              callback<protocol::stop_replica_response> done = {}) override;

    void stop() override;

    /// Requests queued for `broker_id` (the one in flight included); 0 for an unknown broker.
    std::size_t queued(int32_t broker_id) const;

    /// One request of any type, waiting in a broker's queue (defined in the .cpp).
    struct pending_request;
    /// One broker's queue, connection and settings, shared with its coroutine (defined in the
    /// .cpp).
    struct broker_link;

private:
    void enqueue(int32_t to, std::unique_ptr<pending_request> request);

    net::any_io_executor executor_;
    std::string client_id_;
    std::chrono::milliseconds request_timeout_;
    std::chrono::milliseconds reconnect_backoff_;
    std::map<int32_t, std::shared_ptr<broker_link>> links_;
    bool stopped_ = false;
};

}  // namespace broker::server::cluster
