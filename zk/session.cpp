#include "zk/session.h"

#include <iostream>
#include <optional>
#include <stdexcept>

#include "zk/znodes.h"
#include "zk/zookeeper_client.h"

namespace broker::zk {

namespace {

using steady_clock = std::chrono::steady_clock;

// Between two attempts at a session (a factory that failed, a client that did not connect in
// time, a handler that refused the session), as Kafka's ZooKeeperClient waits before it retries.
constexpr std::chrono::milliseconds retry_backoff{1000};

// A node's child path ("/" + name under the root).
std::string child_path(const std::string& parent, const std::string& name) {
    return parent == "/" ? "/" + name : parent + "/" + name;
}

}  // namespace

net::awaitable<error_code> create_recursive(client& c, std::string path) {
    if (path == "/") {
        co_return error_code::ok;
    }
    // Most calls find the parents in place: one create then. A missing parent makes the
    // ancestors first, shortest first.
    auto first = c.create(path, std::string(), create_mode::persistent);
    auto created = co_await std::move(first);
    if (created.error == error_code::ok || created.error == error_code::node_exists) {
        co_return error_code::ok;
    }
    if (created.error != error_code::no_node) {
        co_return created.error;
    }
    for (auto& ancestor : znodes::ancestors(path)) {
        auto making = c.create(std::move(ancestor), std::string(), create_mode::persistent);
        auto made = co_await std::move(making);
        if (made.error != error_code::ok && made.error != error_code::node_exists) {
            co_return made.error;
        }
    }
    auto again = c.create(std::move(path), std::string(), create_mode::persistent);
    created = co_await std::move(again);
    if (created.error == error_code::node_exists) {
        co_return error_code::ok;
    }
    co_return created.error;
}

net::awaitable<error_code> delete_recursive(client& c, std::string path) {
    // Another writer may add a child between the listing and the delete (not_empty): list again,
    // a bounded number of times.
    constexpr int attempts = 10;
    error_code last = error_code::not_empty;
    for (int attempt = 0; attempt < attempts && last == error_code::not_empty; ++attempt) {
        auto listing = c.children(path);
        auto listed = co_await std::move(listing);
        if (listed.error == error_code::no_node) {
            co_return error_code::ok;
        }
        if (!listed.ok()) {
            co_return listed.error;
        }
        for (const auto& name : listed.value) {
            auto deleting = delete_recursive(c, child_path(path, name));
            auto deleted = co_await std::move(deleting);
            if (deleted != error_code::ok) {
                co_return deleted;
            }
        }
        auto erasing = c.erase(path, any_version);
        auto erased = co_await std::move(erasing);
        last = erased.error == error_code::no_node ? error_code::ok : erased.error;
    }
    co_return last;
}

struct session::impl : std::enable_shared_from_this<impl> {
    impl(net::any_io_executor ex, factory f)
        : executor(ex), make(std::move(f)), wake(std::move(ex)) {}

    net::awaitable<void> wait_until(steady_clock::time_point deadline);
    void retire();
    void run_expired_callbacks();
    std::shared_ptr<client> build(std::string& error);
    net::awaitable<bool> run_handlers(std::shared_ptr<client> c, bool first);
    net::awaitable<bool> establish(bool first, std::string& error);
    net::awaitable<void> replace_expired();
    void stop();

    net::any_io_executor executor;
    factory make;
    std::vector<handler> handlers;
    std::vector<std::function<void()>> expired_callbacks;
    // The current client. Shared with the coroutine running the handlers, so that stop() can
    // let go of it while a handler still awaits an operation on it.
    std::shared_ptr<client> current;
    // Numbers the clients built, so that a state callback of a replaced client is ignored.
    uint64_t serial = 0;
    int generation = 0;
    std::chrono::milliseconds connection_timeout{0};
    bool started = false;
    bool stopped = false;
    // What the session waits on (a state change, the retry backoff); cancelled to wake it up:
    // by a state change of the current client and by stop().
    net::steady_timer wake;
};

// Waits until `deadline` or until something wakes the session; callers check their condition
// again afterwards.
net::awaitable<void> session::impl::wait_until(steady_clock::time_point deadline) {
    wake.expires_at(deadline);
    boost::system::error_code ignored;  // operation_aborted: woken up
    auto waiting = wake.async_wait(net::redirect_error(net::use_awaitable, ignored));
    co_await std::move(waiting);
}

// Lets go of the current client: its state callback is removed and a zookeeper_client's handle
// is closed at once (its ephemerals go now; operations still in flight complete with `closing`).
// The object itself goes with the last reference (a handler may still hold it).
void session::impl::retire() {
    if (!current) {
        return;
    }
    current->on_state_change({});
    if (auto* real = dynamic_cast<zookeeper_client*>(current.get())) {
        real->stop();
    }
    current.reset();
}

void session::impl::run_expired_callbacks() {
    // By index: a callback may register another.
    for (std::size_t i = 0; i < expired_callbacks.size(); ++i) {
        auto callback = expired_callbacks[i];
        callback();
    }
}

// A new client from the factory, its state changes waking the session; nullptr (with the reason
// in `error`) when the factory failed.
std::shared_ptr<client> session::impl::build(std::string& error) {
    std::unique_ptr<client> made;
    try {
        made = make();
    } catch (const std::exception& e) {
        error = e.what();
        return nullptr;
    }
    if (!made) {
        error = "the client could not be created";
        return nullptr;
    }
    std::shared_ptr<client> c(std::move(made));
    const uint64_t number = ++serial;
    c->on_state_change([weak = weak_from_this(), number](session_state) {
        auto owner = weak.lock();
        if (owner && owner->serial == number) {
            owner->wake.cancel();
        }
    });
    return c;
}

// Runs the handlers in registration order on `c`; false as soon as one refuses the session.
// In the background (`first` false) a handler that throws refuses the session too: the session
// outlives a failing handler, as it outlives a ZooKeeper outage. At start, the exception goes to
// the caller of start().
net::awaitable<bool> session::impl::run_handlers(std::shared_ptr<client> c, bool first) {
    auto self = shared_from_this();
    for (std::size_t i = 0; i < handlers.size() && !stopped; ++i) {
        auto h = handlers[i];  // a copy: a handler may register another
        if (first) {
            auto running = h(*c);
            if (!co_await std::move(running)) {
                co_return false;
            }
            continue;
        }
        try {
            auto running = h(*c);
            if (!co_await std::move(running)) {
                co_return false;
            }
        } catch (const std::exception& e) {
            std::cerr << "zk session " << generation
                      << ": a new-session handler failed: " << e.what() << "\n";
            co_return false;
        }
    }
    co_return !stopped;
}

// Builds clients until one is connected and every handler accepted it: true then. Each client has
// connection_timeout to connect. At start (`first`), a client that does not connect ends the
// attempt (false, the reason in `error`); in the background it is replaced after the backoff.
// A handler refusing the session makes a new one after the backoff in both cases, the
// on_expired callbacks running first (the handlers' work on the refused session is stale).
// False once stopped.
net::awaitable<bool> session::impl::establish(bool first, std::string& error) {
    auto self = shared_from_this();
    while (!stopped) {
        retire();
        auto c = build(error);
        current = c;
        if (c) {
            const auto deadline = steady_clock::now() + connection_timeout;
            while (!stopped && c->state() == session_state::connecting &&
                   steady_clock::now() < deadline) {
                auto waiting = wait_until(deadline);
                co_await std::move(waiting);
            }
            if (stopped) {
                co_return false;
            }
            if (c->state() == session_state::connected) {
                ++generation;
                auto running = run_handlers(c, first);
                if (co_await std::move(running)) {
                    co_return true;
                }
                if (stopped) {
                    co_return false;
                }
                run_expired_callbacks();
            } else if (first) {
                error =
                    c->state() == session_state::expired
                        ? "the session expired before it was established"
                        : "no session within " + std::to_string(connection_timeout.count()) + " ms";
                co_return false;
            }
        } else if (first) {
            co_return false;
        }
        const auto retry_at = steady_clock::now() + retry_backoff;
        while (!stopped && steady_clock::now() < retry_at) {
            auto waiting = wait_until(retry_at);
            co_await std::move(waiting);
        }
    }
    co_return false;
}

// After start: waits for the current session to expire, then replaces it, until stop().
net::awaitable<void> session::impl::replace_expired() {
    auto self = shared_from_this();
    while (!stopped) {
        if (current && current->state() != session_state::expired) {
            auto waiting = wait_until(steady_clock::time_point::max());
            co_await std::move(waiting);
            continue;
        }
        run_expired_callbacks();
        if (stopped) {
            break;
        }
        std::string error;
        auto establishing = establish(/*first=*/false, error);
        co_await std::move(establishing);
    }
}

void session::impl::stop() {
    if (stopped) {
        return;
    }
    stopped = true;
    wake.cancel();
    retire();
}

session::session(net::any_io_executor executor, factory make)
    : impl_(std::make_shared<impl>(std::move(executor), std::move(make))) {}

session::~session() {
    stop();
}

void session::on_new_session(handler h) {
    impl_->handlers.push_back(std::move(h));
}

void session::on_expired(std::function<void()> callback) {
    impl_->expired_callbacks.push_back(std::move(callback));
}

net::awaitable<void> session::start(std::chrono::milliseconds connection_timeout) {
    // Only `s` from here on: the session object may be gone when this coroutine resumes.
    std::shared_ptr<impl> s = impl_;
    if (s->started) {
        throw std::logic_error("zk::session::start called twice");
    }
    s->started = true;
    s->connection_timeout = connection_timeout;
    std::string error;
    auto establishing = s->establish(/*first=*/true, error);
    bool established = false;
    try {
        established = co_await std::move(establishing);
    } catch (...) {
        // A handler threw on the first session: the session ends, and start() fails with it.
        s->stop();
        throw;
    }
    if (!established) {
        const bool stopped = s->stopped;
        s->stop();
        if (stopped) {
            throw std::runtime_error("ZooKeeper session: stopped before a session was established");
        }
        throw std::runtime_error(
            "ZooKeeper session not established within zookeeper.connection.timeout.ms (" +
            std::to_string(connection_timeout.count()) + " ms): " + error);
    }
    auto background = s->replace_expired();
    net::co_spawn(s->executor, std::move(background), net::detached);
}

void session::stop() {
    impl_->stop();
}

client& session::current() {
    if (!impl_->current) {
        throw std::logic_error("zk::session has no client (not started, or stopped)");
    }
    return *impl_->current;
}

int session::generation() const {
    return impl_->generation;
}

}  // namespace broker::zk
