#include "server/cluster/broker_channel.h"

#include <algorithm>
#include <deque>
#include <exception>
#include <optional>
#include <utility>
#include <vector>

#include "common/big_endian.h"
#include "protocol/api.h"
#include "protocol/header.h"
#include "protocol/wire.h"
#include "server/logging.h"

namespace broker::server::cluster {

// ---------------------------------------------------------------------------------------------
// A queued request: its body encoded once at send(), its response decoded into the callback's
// type.

struct broker_channel_manager::pending_request {
    virtual ~pending_request() = default;

    /// Decodes the response body (after the response header); false when it is malformed.
    [[nodiscard]] virtual bool decode_response(protocol::reader& in) = 0;
    /// Runs the callback, if any, with `ec` and the decoded response (a default one on error).
    virtual void complete(std::error_code ec) = 0;

    int16_t api_key = 0;
    int16_t version = 0;
    std::vector<uint8_t> body;
};

namespace {

using pending_request = broker_channel_manager::pending_request;
using request_queue = std::deque<std::unique_ptr<pending_request>>;
using tcp = net::ip::tcp;

template <typename Request, typename Response>
class typed_request final : public pending_request {
public:
    typed_request(const Request& request, controller_channel::callback<Response> done)
        : done_(std::move(done)) {
        api_key = Request::api_key;
        // Every broker of the cluster runs this code, so the newest version is understood.
        version = Request::max_version;
        protocol::writer out(body);
        encode(out, version, request);
    }

    bool decode_response(protocol::reader& in) override {
        Response decoded;
        if (decode(in, version, decoded) != protocol::codec_status::ok) {
            return false;
        }
        response_ = std::move(decoded);
        return true;
    }

    void complete(std::error_code ec) override {
        if (done_) {
            done_(ec, response_);
        }
    }

private:
    controller_channel::callback<Response> done_;
    Response response_;
};

std::error_code aborted() {
    return boost::system::error_code(net::error::operation_aborted);
}

// Completes every request of `queue`, in order, with `ec`, from a handler posted to `executor`
// (never from inside the caller's own call).
void post_completions(const net::any_io_executor& executor, request_queue queue,
                      std::error_code ec) {
    if (queue.empty()) {
        return;
    }
    net::post(executor, [queue = std::move(queue), ec]() mutable {
        for (const std::unique_ptr<pending_request>& request : queue) {
            request->complete(ec);
        }
    });
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// One broker: shared by the manager (until the broker is removed) and the broker's coroutine (until
// it ends). The watchdog holds it weakly.

struct broker_channel_manager::broker_link {
    broker_link(const net::any_io_executor& executor, const broker_address& address,
                std::string client, std::chrono::milliseconds timeout,
                std::chrono::milliseconds backoff)
        : id(address.id),
          host(address.host),
          port(address.port),
          client_id(std::move(client)),
          request_timeout(timeout),
          reconnect_backoff(backoff),
          socket(executor),
          resolver(executor),
          wake(executor),
          watchdog(executor) {}

    /// Closes the connection (and stops a pending lookup); the coroutine reconnects when it next
    /// needs one.
    void close_connection() {
        boost::system::error_code ignored;
        resolver.cancel();
        if (socket.is_open()) {
            socket.shutdown(tcp::socket::shutdown_both, ignored);
            socket.close(ignored);
        }
    }

    const int32_t id;
    std::string host;
    uint16_t port;
    /// Bumped when the address changes: the failure it causes needs no backoff.
    uint64_t address_generation = 0;
    const std::string client_id;
    const std::chrono::milliseconds request_timeout;
    const std::chrono::milliseconds reconnect_backoff;

    request_queue queue;
    int32_t next_correlation_id = 0;

    tcp::socket socket;
    tcp::resolver resolver;
    /// Idle wait (cancelled by a new request) and backoff wait (cancelled by removal or a new
    /// address).
    net::steady_timer wake;
    /// Closes the connection when the current phase (connect, or one exchange) overruns.
    net::steady_timer watchdog;
    uint64_t phase = 0;
    bool timed_out = false;

    /// Waiting on `wake` with nothing to send.
    bool idle = false;
    /// Set once by remove_broker or stop: the coroutine ends at its next step.
    bool removed = false;
};

namespace {

using broker_link = broker_channel_manager::broker_link;

// Starts a timeout for one phase: when it fires before disarm(), the connection is closed, which
// ends the phase's pending operation.
void arm(const std::shared_ptr<broker_link>& link) {
    const uint64_t phase = ++link->phase;
    link->timed_out = false;
    link->watchdog.expires_after(link->request_timeout);
    link->watchdog.async_wait(
        [weak = std::weak_ptr<broker_link>(link), phase](const boost::system::error_code& ec) {
            const std::shared_ptr<broker_link> self = weak.lock();
            if (ec || !self || self->phase != phase) {
                return;
            }
            self->timed_out = true;
            self->close_connection();
        });
}

void disarm(broker_link& link) {
    ++link.phase;
    link.watchdog.cancel();
}

// Opens a connection to the broker's current address within the request timeout.
net::awaitable<bool> connect(std::shared_ptr<broker_link> link) {
    link->close_connection();
    arm(link);
    boost::system::error_code ec;
    std::vector<tcp::endpoint> endpoints;
    const std::string host = link->host;
    const uint16_t port = link->port;
    const net::ip::address literal = net::ip::make_address(host, ec);
    if (!ec) {
        endpoints.emplace_back(literal, port);
    } else {
        ec.clear();
        const std::string service = std::to_string(port);
        const tcp::resolver::results_type results = co_await link->resolver.async_resolve(
            host, service, net::redirect_error(net::use_awaitable, ec));
        for (const auto& entry : results) {
            endpoints.push_back(entry.endpoint());
        }
    }
    if (!ec && !link->removed && !link->timed_out && endpoints.empty()) {
        ec = net::error::host_not_found;
    }
    if (!ec && !link->removed && !link->timed_out) {
        co_await net::async_connect(link->socket, endpoints,
                                    net::redirect_error(net::use_awaitable, ec));
    }
    disarm(*link);
    if (link->removed) {
        co_return false;
    }
    if (ec || link->timed_out) {
        if (ec == net::error::operation_aborted && !link->timed_out) {
            // Closed on purpose: the broker's address changed.
            BROKER_LOG_DEBUG("controller channel: connecting to broker "
                             << link->id << " at " << host << ":" << port << " interrupted");
        } else {
            BROKER_LOG_WARN("controller channel: connecting to broker "
                            << link->id << " at " << host << ":" << port << " failed: "
                            << (link->timed_out ? std::string("timed out") : ec.message()));
        }
        link->close_connection();
        co_return false;
    }
    link->socket.set_option(tcp::no_delay(true), ec);
    BROKER_LOG_DEBUG("controller channel: connected to broker " << link->id << " at " << host << ":"
                                                                << port);
    co_return true;
}

// Writes one request frame and reads the response frame (its bytes after the size) within the
// request timeout. nullopt on any failure.
net::awaitable<std::optional<std::vector<uint8_t>>> exchange(std::shared_ptr<broker_link> link,
                                                             std::vector<uint8_t> frame) {
    arm(link);
    boost::system::error_code ec;
    std::optional<std::vector<uint8_t>> response;
    const char* failed_step = "write";
    co_await net::async_write(link->socket, net::buffer(frame),
                              net::redirect_error(net::use_awaitable, ec));
    if (!ec) {
        failed_step = "read";
        uint8_t size_bytes[4] = {};
        co_await net::async_read(link->socket, net::buffer(size_bytes),
                                 net::redirect_error(net::use_awaitable, ec));
        const auto size = static_cast<int32_t>(load_be32(size_bytes));
        if (!ec && (size <= 0 || size > broker_channel_manager::max_response_bytes)) {
            failed_step = "size check";
            ec = net::error::message_size;
        }
        if (!ec) {
            std::vector<uint8_t> body(static_cast<std::size_t>(size));
            co_await net::async_read(link->socket, net::buffer(body),
                                     net::redirect_error(net::use_awaitable, ec));
            if (!ec) {
                response = std::move(body);
            }
        }
    }
    disarm(*link);
    if (!response && !link->removed) {
        if (ec == net::error::operation_aborted && !link->timed_out) {
            // Closed on purpose: the broker's address changed.
            BROKER_LOG_DEBUG("controller channel: request to broker " << link->id
                                                                      << " interrupted; resending");
        } else {
            BROKER_LOG_WARN("controller channel: request to broker "
                            << link->id << " failed (" << failed_step
                            << "): " << (link->timed_out ? std::string("timed out") : ec.message())
                            << "; reconnecting");
        }
    }
    co_return response;
}

// The frame of the queue's first request, with the next correlation id.
std::vector<uint8_t> build_frame(broker_link& link, const pending_request& request,
                                 int32_t correlation_id) {
    std::vector<uint8_t> frame(4);
    protocol::writer out(frame);
    protocol::request_header header;
    header.request_api_key = request.api_key;
    header.request_api_version = request.version;
    header.correlation_id = correlation_id;
    header.client_id = link.client_id;
    protocol::encode_request_header(
        out, protocol::request_header_version(request.api_key, request.version), header);
    out.write_raw(request.body);
    store_be32(frame.data(), static_cast<uint32_t>(frame.size() - 4));
    return frame;
}

// Decodes a response frame for the queue's first request: the header must carry
// `correlation_id`, and the body must decode.
bool accept_response(broker_link& link, pending_request& request, int32_t correlation_id,
                     const std::vector<uint8_t>& frame) {
    protocol::reader in(frame);
    protocol::response_header header;
    const int16_t header_version =
        protocol::response_header_version(request.api_key, request.version);
    if (protocol::decode_response_header(in, header_version, header) !=
        protocol::codec_status::ok) {
        BROKER_LOG_WARN("controller channel: malformed response header from broker "
                        << link.id << "; reconnecting");
        return false;
    }
    if (header.correlation_id != correlation_id) {
        BROKER_LOG_WARN("controller channel: broker " << link.id << " answered correlation id "
                                                      << header.correlation_id << ", expected "
                                                      << correlation_id << "; reconnecting");
        return false;
    }
    if (!request.decode_response(in)) {
        BROKER_LOG_WARN("controller channel: malformed response body (API key "
                        << request.api_key << ") from broker " << link.id << "; reconnecting");
        return false;
    }
    return true;
}

// Waits out the backoff after a failure (cut short by removal or an address change).
net::awaitable<void> back_off(std::shared_ptr<broker_link> link,
                              std::chrono::milliseconds& backoff) {
    link->wake.expires_after(backoff);
    boost::system::error_code ec;
    co_await link->wake.async_wait(net::redirect_error(net::use_awaitable, ec));
    backoff = std::min(backoff * 2, broker_channel_manager::max_reconnect_backoff);
}

// The broker's send loop: one request at a time, in queue order, until the broker is removed.
net::awaitable<void> serve(std::shared_ptr<broker_link> link) {
    std::chrono::milliseconds backoff = link->reconnect_backoff;
    while (!link->removed) {
        if (link->queue.empty()) {
            link->idle = true;
            link->wake.expires_at(net::steady_timer::time_point::max());
            boost::system::error_code ec;
            co_await link->wake.async_wait(net::redirect_error(net::use_awaitable, ec));
            link->idle = false;
            continue;
        }
        const uint64_t generation = link->address_generation;
        if (!link->socket.is_open()) {
            auto connecting = connect(link);  // named: see STYLE.md, co_await temporaries
            const bool connected = co_await std::move(connecting);
            if (link->removed) {
                break;
            }
            if (!connected) {
                if (generation == link->address_generation) {
                    auto waiting = back_off(link, backoff);
                    co_await std::move(waiting);
                }
                continue;
            }
        }
        // No reference into the queue is held across a suspension: remove_broker takes the queue
        // away while a request is in flight.
        const int32_t correlation_id = link->next_correlation_id++;
        std::vector<uint8_t> frame = build_frame(*link, *link->queue.front(), correlation_id);
        auto exchanging = exchange(link, std::move(frame));
        std::optional<std::vector<uint8_t>> response = co_await std::move(exchanging);
        if (link->removed) {
            break;
        }
        if (!response || !accept_response(*link, *link->queue.front(), correlation_id, *response)) {
            link->close_connection();
            if (generation == link->address_generation) {
                auto waiting = back_off(link, backoff);
                co_await std::move(waiting);
            }
            continue;
        }
        backoff = link->reconnect_backoff;
        std::unique_ptr<pending_request> done = std::move(link->queue.front());
        link->queue.pop_front();
        // The callback may remove this broker or stop the manager; the loop checks `removed`.
        done->complete({});
    }
    link->close_connection();
}

net::awaitable<void> run_link(std::shared_ptr<broker_link> link) {
    // The one catch of the coroutine: anything thrown is a bug or an allocation failure.
    try {
        auto serving = serve(link);  // named: see STYLE.md, co_await temporaries
        co_await std::move(serving);
    } catch (const std::exception& e) {
        BROKER_LOG_ERROR("controller channel: the send loop of broker " << link->id
                                                                        << " failed: " << e.what());
        link->close_connection();
    }
}

// Ends a link: its coroutine stops at its next step and its queued requests end with
// operation_aborted.
void abort_link(const net::any_io_executor& executor, broker_link& link) {
    link.removed = true;
    link.close_connection();
    link.wake.cancel();
    link.watchdog.cancel();
    post_completions(executor, std::exchange(link.queue, {}), aborted());
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// broker_channel_manager

broker_channel_manager::broker_channel_manager(net::any_io_executor executor,
                                               int32_t controller_broker_id,
                                               std::chrono::milliseconds request_timeout,
                                               std::chrono::milliseconds reconnect_backoff)
    : executor_(std::move(executor)),
      client_id_("controller-" + std::to_string(controller_broker_id)),
      request_timeout_(request_timeout),
      reconnect_backoff_(std::max(reconnect_backoff, std::chrono::milliseconds(1))) {}

broker_channel_manager::~broker_channel_manager() {
    stop();
}

void broker_channel_manager::add_broker(const broker_address& broker) {
    if (stopped_) {
        return;
    }
    const auto it = links_.find(broker.id);
    if (it != links_.end()) {
        broker_link& link = *it->second;
        if (link.host == broker.host && link.port == broker.port) {
            return;
        }
        BROKER_LOG_INFO("controller channel: broker " << broker.id << " moved to " << broker.host
                                                      << ":" << broker.port);
        link.host = broker.host;
        link.port = broker.port;
        ++link.address_generation;
        // The in-flight request (if any) fails and is sent again on a connection to the new
        // address; a backoff in progress is cut short.
        link.close_connection();
        link.wake.cancel();
        return;
    }
    auto link = std::make_shared<broker_link>(executor_, broker, client_id_, request_timeout_,
                                              reconnect_backoff_);
    links_.emplace(broker.id, link);
    net::co_spawn(executor_, run_link(std::move(link)), net::detached);
}

void broker_channel_manager::remove_broker(int32_t broker_id) {
    const auto it = links_.find(broker_id);
    if (it == links_.end()) {
        return;
    }
    const std::shared_ptr<broker_link> link = std::move(it->second);
    links_.erase(it);
    abort_link(executor_, *link);
}

void broker_channel_manager::enqueue(int32_t to, std::unique_ptr<pending_request> request) {
    const auto it = links_.find(to);
    if (it == links_.end()) {
        request_queue rejected;
        rejected.push_back(std::move(request));
        post_completions(executor_, std::move(rejected), aborted());
        return;
    }
    broker_link& link = *it->second;
    if (link.queue.size() >= max_queued_requests) {
        BROKER_LOG_WARN("controller channel: "
                        << link.queue.size() << " requests already wait for broker " << to
                        << "; refusing a request with API key " << request->api_key);
        request_queue rejected;
        rejected.push_back(std::move(request));
        post_completions(executor_, std::move(rejected),
                         std::make_error_code(std::errc::no_buffer_space));
        return;
    }
    link.queue.push_back(std::move(request));
    if (link.idle) {
        link.wake.cancel();
    }
}

void broker_channel_manager::send(int32_t to, protocol::leader_and_isr_request request,
                                  callback<protocol::leader_and_isr_response> done) {
    enqueue(to,
            std::make_unique<
                typed_request<protocol::leader_and_isr_request, protocol::leader_and_isr_response>>(
                request, std::move(done)));
}

void broker_channel_manager::send(int32_t to, protocol::update_metadata_request request,
                                  callback<protocol::update_metadata_response> done) {
    enqueue(
        to,
        std::make_unique<
            typed_request<protocol::update_metadata_request, protocol::update_metadata_response>>(
            request, std::move(done)));
}

void broker_channel_manager::send(int32_t to, protocol::stop_replica_request request,
                                  callback<protocol::stop_replica_response> done) {
    enqueue(to, std::make_unique<
                    typed_request<protocol::stop_replica_request, protocol::stop_replica_response>>(
                    request, std::move(done)));
}

void broker_channel_manager::stop() {
    stopped_ = true;
    std::map<int32_t, std::shared_ptr<broker_link>> links = std::exchange(links_, {});
    for (const auto& [id, link] : links) {
        abort_link(executor_, *link);
    }
}

std::size_t broker_channel_manager::queued(int32_t broker_id) const {
    const auto it = links_.find(broker_id);
    return it == links_.end() ? 0 : it->second->queue.size();
}

}  // namespace broker::server::cluster
