#include "server/listener.h"

#include <sys/resource.h>

#include <stdexcept>

#include "server/logging.h"
#include "server/metrics.h"

namespace broker::server {
namespace {

// How long the accept loop pauses after running out of descriptors or memory.
constexpr std::chrono::milliseconds resource_pause{100};

bool is_resource_exhaustion(const boost::system::error_code& ec) {
    return ec == net::error::no_descriptors || ec == net::error::no_buffer_space ||
           ec == net::error::no_memory || ec.value() == ENFILE;
}

// Resolves a listener host at startup. Empty = every interface (IPv6 wildcard accepting IPv4 too
// when the host supports it).
net::ip::tcp::endpoint resolve_listener(const listener_endpoint& l) {
    if (l.host.empty()) {
        return net::ip::tcp::endpoint(net::ip::address_v6::any(), l.port);
    }
    boost::system::error_code ec;
    const net::ip::address literal = net::ip::make_address(l.host, ec);
    if (!ec) {
        return net::ip::tcp::endpoint(literal, l.port);
    }
    net::io_context resolver_context;
    net::ip::tcp::resolver resolver(resolver_context);
    const auto results = resolver.resolve(l.host, std::to_string(l.port), ec);
    if (ec || results.empty()) {
        throw std::runtime_error("cannot resolve listener host " + l.host + ": " +
                                 (ec ? ec.message() : "no address"));
    }
    return results.begin()->endpoint();
}

}  // namespace

listener::listener(listener_endpoint endpoint, unsigned accept_shard, shard_group& shards,
                   connection_services& services)
    : endpoint_(std::move(endpoint)),
      accept_shard_(accept_shard),
      shards_(shards),
      services_(services),
      acceptor_(shards.shard_executor(accept_shard)) {}

int64_t raise_open_file_limit() {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) {
        return -1;
    }
    if (limit.rlim_cur < limit.rlim_max) {
        rlimit raised = limit;
        raised.rlim_cur = limit.rlim_max;
        if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) {
            limit = raised;
        } else {
            BROKER_LOG_WARN("cannot raise the open file limit from " << limit.rlim_cur << " to "
                                                                     << limit.rlim_max);
        }
    }
    return limit.rlim_cur == RLIM_INFINITY ? INT64_MAX : static_cast<int64_t>(limit.rlim_cur);
}

void listener::bind() {
    // Each connection is a descriptor; the accept loop pauses rather than fails when they run
    // out, but the limit should be the administrator's hard limit, not the login default.
    raise_open_file_limit();
    net::ip::tcp::endpoint target = resolve_listener(endpoint_);
    const std::string label =
        endpoint_.name + "://" + endpoint_.host + ":" + std::to_string(endpoint_.port);
    boost::system::error_code ec;
    acceptor_.open(target.protocol(), ec);
    if (ec && endpoint_.host.empty()) {
        // No IPv6 on this host: fall back to the IPv4 wildcard.
        target = net::ip::tcp::endpoint(net::ip::address_v4::any(), endpoint_.port);
        ec.clear();
        acceptor_.open(target.protocol(), ec);
    }
    if (!ec && target.protocol() == net::ip::tcp::v6() && endpoint_.host.empty()) {
        acceptor_.set_option(net::ip::v6_only(false), ec);
    }
    if (!ec) {
        acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    }
    if (!ec) {
        acceptor_.bind(target, ec);
    }
    if (!ec) {
        acceptor_.listen(net::socket_base::max_listen_connections, ec);
    }
    if (!ec) {
        bound_ = acceptor_.local_endpoint(ec);
    }
    if (ec) {
        boost::system::error_code ignored;
        acceptor_.close(ignored);
        throw std::runtime_error("cannot listen on " + label + ": " + ec.message());
    }
    next_shard_ = accept_shard_;
}

void listener::start() {
    if (started_) {
        return;
    }
    started_ = true;
    net::co_spawn(acceptor_.get_executor(), accept_loop(), net::detached);
}

void listener::stop() {
    if (stopped_) {
        return;
    }
    stopped_ = true;
    std::promise<void> closed;
    net::post(acceptor_.get_executor(), [this, &closed] {
        boost::system::error_code ignored;
        acceptor_.close(ignored);
        closed.set_value();
    });
    closed.get_future().wait();
    if (started_) {
        loop_done_.get_future().wait();
    }
}

net::awaitable<void> listener::accept_loop() {
    net::steady_timer pause(acceptor_.get_executor());
    async_semaphore& slots = services_.tracker.slots();
    while (acceptor_.is_open()) {
        const unsigned shard = next_shard_ % shards_.size();
        boost::system::error_code ec;
        net::ip::tcp::socket socket = co_await acceptor_.async_accept(
            shards_.shard_executor(shard), net::redirect_error(net::use_awaitable, ec));
        if (ec) {
            if (ec == net::error::operation_aborted || !acceptor_.is_open()) {
                break;
            }
            if (is_resource_exhaustion(ec)) {
                BROKER_LOG_WARN("accept on " << bound_ << " failed: " << ec.message()
                                             << "; pausing");
                pause.expires_after(resource_pause);
                co_await pause.async_wait(net::redirect_error(net::use_awaitable, ec));
            } else {
                BROKER_LOG_DEBUG("accept on " << bound_ << " failed: " << ec.message());
            }
            continue;
        }
        ++next_shard_;
        const net::ip::tcp::endpoint peer = socket.remote_endpoint(ec);
        if (ec) {
            continue;  // the client already left
        }
        // At max.connections a new connection is closed at once, like one over
        // max.connections.per.ip: the client sees the close and backs off, instead of waiting
        // unserved in the kernel backlog (docs/decisions.md).
        if (slots.try_acquire(1) < 0) {
            broker_metrics().connections_rejected.add();
            BROKER_LOG_DEBUG("refusing connection from " << peer << ": max.connections reached");
            socket.close(ec);
            continue;
        }
        if (!services_.tracker.admit(peer.address())) {
            broker_metrics().connections_rejected.add();
            BROKER_LOG_INFO("refusing connection from " << peer
                                                        << ": max.connections.per.ip reached");
            socket.close(ec);
            slots.release(1);
            continue;
        }
        bool spawned = false;
        try {
            auto conn =
                std::make_shared<connection>(std::move(socket), endpoint_.name, shard, services_);
            net::co_spawn(shards_.shard_executor(shard), connection::run(std::move(conn)),
                          net::detached);
            spawned = true;
            broker_metrics().connections_accepted.add();
        } catch (const std::exception& e) {
            BROKER_LOG_ERROR("cannot start connection from " << peer << ": " << e.what());
        }
        if (!spawned) {
            services_.tracker.leave(peer.address());
        }
    }
    loop_done_.set_value();
}

}  // namespace broker::server
