#pragma once
// http_server: the admin/metrics HTTP/1.1 listener (Boost.Beast), configured by `http.listeners`.
//
// Shape: one accept loop per configured endpoint and one coroutine per connection, reading
// requests with a bounded parser and answering them in order (keep-alive supported). Each
// request is checked before it reaches the handler:
//   - header block larger than `header_limit` -> 431, connection closed;
//   - a body larger than `body_limit` (declared or sent) -> 413, connection closed;
//   - unparseable request -> 400, connection closed;
//   - any method but GET -> 405 with `Allow: GET`;
//   - a client that does not finish sending a request (or reading the answer) within `timeout`
//     is disconnected (beast::tcp_stream::expires_after);
//   - at most `max_sessions` connections; a further one is closed at once.
// Everything else goes to the handler (admin_api::handle_get in the broker).
//
// Threading and isolation: the server owns its io_context and one thread that runs it. It shares
// no executor, lock or budget with the Kafka listeners and shards, so a slow or hostile HTTP
// client can only slow other HTTP clients. The handler runs on that thread.
//
// Lifecycle: construct -> bind() (main thread; throws std::runtime_error naming the endpoint when
// it cannot listen; port 0 picks a free port) -> start() (starts the thread) -> stop() (any thread
// but its own; closes the acceptors and every open connection, waits for the coroutines to end,
// joins the thread). stop() is idempotent and also run by the destructor. The accept loop never
// exits on a per-connection error: it logs, pauses briefly on descriptor exhaustion, and goes on.
#include "common/asio.h"

#include <boost/beast/core/tcp_stream.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "server/config.h"
#include "server/http/admin_api.h"

namespace broker::server::http {

/// Bounds of the HTTP listener. The defaults suit an admin API that takes no request bodies.
struct http_limits {
    /// Time a client has to send one whole request (or to read one answer) before it is dropped;
    /// also the keep-alive idle limit.
    std::chrono::milliseconds timeout{std::chrono::seconds(10)};
    std::size_t header_limit = 8 * 1024;
    std::size_t body_limit = 1024;
    std::size_t max_sessions = 64;
};

/// Answers one GET. Runs on the server's thread; must not block for long.
using get_handler = std::function<net::awaitable<http_response>(std::string target)>;

/// See the file comment.
class http_server {
public:
    http_server(std::vector<listener_endpoint> endpoints, get_handler handler,
                http_limits limits = {});
    ~http_server();
    http_server(const http_server&) = delete;
    http_server& operator=(const http_server&) = delete;

    void bind();
    void start();
    void stop();

    /// The bound address of each endpoint, in configuration order. Valid after bind().
    std::vector<net::ip::tcp::endpoint> bound_endpoints() const;
    /// Connections open now (any thread; for tests and diagnostics).
    std::size_t open_sessions() const { return session_count_.load(std::memory_order_relaxed); }

private:
    net::awaitable<void> accept_loop(net::ip::tcp::acceptor& acceptor);
    net::awaitable<void> session(net::ip::tcp::socket socket);

    const std::vector<listener_endpoint> endpoints_;
    const get_handler handler_;
    const http_limits limits_;

    net::io_context io_;
    std::optional<net::executor_work_guard<net::io_context::executor_type>> work_;
    std::vector<std::unique_ptr<net::ip::tcp::acceptor>> acceptors_;
    std::vector<net::ip::tcp::endpoint> bound_;
    std::set<boost::beast::tcp_stream*> sessions_;  // server thread only
    std::atomic<std::size_t> session_count_{0};
    bool stopping_ = false;  // server thread only
    std::thread thread_;
    bool started_ = false;
    bool stopped_ = false;
};

}  // namespace broker::server::http
