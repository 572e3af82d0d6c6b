#include "server/http/http_server.h"

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <future>
#include <stdexcept>

#include "server/logging.h"

namespace broker::server::http {
namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

/// Pause after an accept failed for lack of descriptors or memory, so the loop does not spin.
constexpr std::chrono::milliseconds resource_pause{100};

bool is_resource_exhaustion(const boost::system::error_code& ec) {
    return ec == net::error::no_descriptors || ec == net::error::no_buffer_space ||
           ec == net::error::no_memory || ec.value() == ENFILE;
}

bool is_disconnect(const boost::system::error_code& ec) {
    return ec == bhttp::error::end_of_stream || ec == beast::error::timeout ||
           ec == net::error::operation_aborted || ec == net::error::eof ||
           ec == net::error::connection_reset || ec == net::error::broken_pipe ||
           ec == net::error::bad_descriptor || ec == bhttp::error::partial_message;
}

std::string label_of(const listener_endpoint& e) {
    return "http://" + (e.host.find(':') != std::string::npos ? "[" + e.host + "]" : e.host) + ":" +
           std::to_string(e.port);
}

}  // namespace

http_server::http_server(std::vector<listener_endpoint> endpoints, get_handler handler,
                         http_limits limits)
    : endpoints_(std::move(endpoints)), handler_(std::move(handler)), limits_(limits) {}

http_server::~http_server() {
    stop();
}

void http_server::bind() {
    for (const listener_endpoint& e : endpoints_) {
        const std::string label = label_of(e);
        boost::system::error_code ec;
        net::ip::tcp::endpoint target;
        if (e.host.empty()) {
            target = net::ip::tcp::endpoint(net::ip::tcp::v4(), e.port);
        } else {
            const net::ip::address address =
                net::ip::make_address(e.host == "localhost" ? "127.0.0.1" : e.host, ec);
            if (ec) {
                throw std::runtime_error("cannot listen on " + label +
                                         " (http.listeners): host must be an IP "
                                         "address or localhost");
            }
            target = net::ip::tcp::endpoint(address, e.port);
        }
        auto acceptor = std::make_unique<net::ip::tcp::acceptor>(io_);
        acceptor->open(target.protocol(), ec);
        if (!ec) {
            acceptor->set_option(net::socket_base::reuse_address(true), ec);
        }
        if (!ec) {
            acceptor->bind(target, ec);
        }
        if (!ec) {
            acceptor->listen(net::socket_base::max_listen_connections, ec);
        }
        net::ip::tcp::endpoint bound;
        if (!ec) {
            bound = acceptor->local_endpoint(ec);
        }
        if (ec) {
            throw std::runtime_error("cannot listen on " + label +
                                     " (http.listeners): " + ec.message());
        }
        bound_.push_back(bound);
        acceptors_.push_back(std::move(acceptor));
    }
}

void http_server::start() {
    if (started_) {
        return;
    }
    started_ = true;
    work_.emplace(net::make_work_guard(io_));
    for (auto& acceptor : acceptors_) {
        net::co_spawn(io_, accept_loop(*acceptor), net::detached);
    }
    thread_ = std::thread([this] {
        set_thread_shard_tag(-1);
        io_.run();
    });
}

void http_server::stop() {
    if (stopped_ || !started_) {
        return;
    }
    stopped_ = true;
    // Closing the acceptors ends the accept loops; closing every stream makes each session's
    // pending read or write fail, so its coroutine ends. Work still out (an answer from the group
    // coordinator) completes on this context, which therefore runs until it is idle.
    net::post(io_, [this] {
        stopping_ = true;
        for (auto& acceptor : acceptors_) {
            boost::system::error_code ignored;
            acceptor->close(ignored);
        }
        for (beast::tcp_stream* stream : sessions_) {
            stream->close();
        }
    });
    work_.reset();
    if (thread_.joinable()) {
        thread_.join();
    }
}

std::vector<net::ip::tcp::endpoint> http_server::bound_endpoints() const {
    return bound_;
}

net::awaitable<void> http_server::accept_loop(net::ip::tcp::acceptor& acceptor) {
    net::steady_timer pause(io_);
    while (acceptor.is_open() && !stopping_) {
        boost::system::error_code ec;
        net::ip::tcp::socket socket =
            co_await acceptor.async_accept(net::redirect_error(net::use_awaitable, ec));
        if (ec) {
            if (ec == net::error::operation_aborted || !acceptor.is_open() || stopping_) {
                break;
            }
            if (is_resource_exhaustion(ec)) {
                BROKER_LOG_WARN("HTTP accept failed: " << ec.message() << "; pausing");
                pause.expires_after(resource_pause);
                co_await pause.async_wait(net::redirect_error(net::use_awaitable, ec));
            } else {
                BROKER_LOG_DEBUG("HTTP accept failed: " << ec.message());
            }
            continue;
        }
        if (stopping_ || sessions_.size() >= limits_.max_sessions) {
            BROKER_LOG_DEBUG("HTTP connection refused: " << sessions_.size() << " already open");
            socket.close(ec);
            continue;
        }
        net::co_spawn(io_, session(std::move(socket)), net::detached);
    }
}

net::awaitable<void> http_server::session(net::ip::tcp::socket socket) {
    beast::tcp_stream stream(std::move(socket));
    sessions_.insert(&stream);
    session_count_.fetch_add(1, std::memory_order_relaxed);
    struct unregister {
        http_server& server;
        beast::tcp_stream* stream;
        ~unregister() {
            server.sessions_.erase(stream);
            server.session_count_.fetch_sub(1, std::memory_order_relaxed);
        }
    } registration{*this, &stream};

    try {
        // Bounded: a whole request fits in header_limit + body_limit; anything larger fails the
        // read.
        beast::flat_buffer buffer(limits_.header_limit + limits_.body_limit + 1024);
        bool keep_going = true;
        while (keep_going && !stopping_) {
            bhttp::request_parser<bhttp::string_body> parser;
            parser.header_limit(static_cast<std::uint32_t>(limits_.header_limit));
            parser.body_limit(limits_.body_limit);
            stream.expires_after(limits_.timeout);
            boost::system::error_code ec;
            co_await bhttp::async_read(stream, buffer, parser,
                                       net::redirect_error(net::use_awaitable, ec));

            http_response answer;
            unsigned version = 11;
            bool keep_alive = false;
            bool allow_header = false;
            if (ec) {
                if (is_disconnect(ec)) {
                    break;
                }
                if (ec == bhttp::error::body_limit) {
                    answer = json_error(413, "payload_too_large",
                                        "request bodies are limited to " +
                                            std::to_string(limits_.body_limit) + " bytes");
                } else if (ec == bhttp::error::header_limit ||
                           ec == bhttp::error::buffer_overflow) {
                    answer = json_error(431, "header_too_large",
                                        "request headers are limited to " +
                                            std::to_string(limits_.header_limit) + " bytes");
                } else {
                    answer =
                        json_error(400, "bad_request", "malformed HTTP request: " + ec.message());
                }
            } else {
                const bhttp::request<bhttp::string_body>& request = parser.get();
                version = request.version();
                keep_alive = request.keep_alive();
                if (request.method() != bhttp::verb::get) {
                    answer = json_error(405, "method_not_allowed", "only GET is supported");
                    allow_header = true;
                } else {
                    std::string target(request.target());
                    std::optional<http_response> handled;
                    try {
                        net::awaitable<http_response> pending = handler_(std::move(target));
                        handled = co_await std::move(pending);
                    } catch (const std::exception& e) {
                        BROKER_LOG_ERROR("HTTP " << request.target() << " failed: " << e.what());
                    }
                    answer = handled ? std::move(*handled)
                                     : json_error(500, "internal_error",
                                                  "the request failed; see the broker log");
                }
            }

            bhttp::response<bhttp::string_body> response{static_cast<bhttp::status>(answer.status),
                                                         version};
            response.set(bhttp::field::server, "sluice");
            response.set(bhttp::field::content_type, answer.content_type);
            if (allow_header) {
                response.set(bhttp::field::allow, "GET");
            }
            keep_going = keep_alive && !ec && !stopping_;
            response.keep_alive(keep_going);
            response.body() = std::move(answer.body);
            response.prepare_payload();
            stream.expires_after(limits_.timeout);
            boost::system::error_code write_error;
            co_await bhttp::async_write(stream, response,
                                        net::redirect_error(net::use_awaitable, write_error));
            if (write_error) {
                break;
            }
        }
        boost::system::error_code ignored;
        stream.socket().shutdown(net::ip::tcp::socket::shutdown_send, ignored);
    } catch (const std::exception& e) {
        BROKER_LOG_ERROR("HTTP session failed: " << e.what());
    }
}

}  // namespace broker::server::http
