// Unit tests of zk::session (zk/session.h) over the in-memory ZooKeeper: the first session and
// every replacement run the handlers, expiry runs the on_expired callbacks first, a refusing
// handler rebuilds the session, stop() ends everything; and create_recursive/delete_recursive.
#include "zk/session.h"

#include <gtest/gtest.h>

#include <chrono>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "zk/fake_client.h"

namespace {

namespace net = broker::net;
namespace zk = broker::zk;
using zk::create_mode;
using zk::error_code;
using zk::session_state;

constexpr auto limit = std::chrono::seconds(30);

// Runs `done` to completion on `io` (whose background work may never end), at most `limit`.
template <typename Predicate>
bool run_until(net::io_context& io, Predicate done) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done() && std::chrono::steady_clock::now() < deadline) {
        io.restart();
        io.run_for(std::chrono::milliseconds(5));
    }
    return done();
}

template <typename T>
T run(net::io_context& io, net::awaitable<T> work) {
    std::optional<T> out;
    std::exception_ptr error;
    net::co_spawn(io, std::move(work), [&](std::exception_ptr e, T value) {
        error = e;
        out = std::move(value);
    });
    run_until(io, [&] { return out.has_value() || error != nullptr; });
    if (error) {
        std::rethrow_exception(error);
    }
    if (!out) {
        throw std::runtime_error("operation did not complete in time");
    }
    return std::move(*out);
}

// Runs a void awaitable; true when it completed, with its exception rethrown.
bool run_void(net::io_context& io, net::awaitable<void> work) {
    bool finished = false;
    std::exception_ptr error;
    net::co_spawn(io, std::move(work), [&](std::exception_ptr e) {
        error = e;
        finished = true;
    });
    run_until(io, [&] { return finished; });
    if (error) {
        std::rethrow_exception(error);
    }
    return finished;
}

// The suite is named after the class it tests (ctest names zk.session.*).
class session : public ::testing::Test {
protected:
    // Every client the factory built, in order (the last one is the session's current client
    // while it lives).
    std::vector<zk::fake_client*> made_;
    // Set to make the factory's next clients start disconnected (never connecting).
    bool disconnected_ = false;

    zk::session::factory factory() {
        return [this] {
            auto c = std::make_unique<zk::fake_client>(io_.get_executor(), server_);
            if (disconnected_) {
                c->disconnect();
            }
            made_.push_back(c.get());
            return std::unique_ptr<zk::client>(std::move(c));
        };
    }

    // A handler that registers broker `id` (an ephemeral under /brokers/ids, as a broker does),
    // appending `name` and the session id to the log.
    zk::session::handler registering(std::string name, int id = 0) {
        return [this, name, id](zk::client& c) -> net::awaitable<bool> {
            log_.push_back(name);
            sessions_.push_back(c.session_id());
            auto parents = zk::create_recursive(c, "/brokers/ids");
            error_code made = co_await std::move(parents);
            if (made != error_code::ok) {
                co_return false;
            }
            auto creating =
                c.create("/brokers/ids/" + std::to_string(id), "{}", create_mode::ephemeral);
            auto created = co_await std::move(creating);
            co_return created.ok();
        };
    }

    // The owner of the node's session (0 when it is missing).
    int64_t owner(const std::string& path, zk::client& c) {
        auto got = run(io_, c.get(path));
        return got.ok() ? got.value.stat.ephemeral_owner : 0;
    }

    net::io_context io_;
    zk::fake_server server_;
    // One reader of the tree that outlives the sessions under test.
    zk::fake_client reader_{io_.get_executor(), server_};
    std::vector<std::string> log_;
    std::vector<int64_t> sessions_;
};

TEST_F(session, first_session_runs_the_handlers_in_order) {
    zk::session s(io_.get_executor(), factory());
    s.on_new_session(registering("first", 0));
    s.on_new_session(registering("second", 1));
    EXPECT_EQ(s.generation(), 0);
    ASSERT_TRUE(run_void(io_, s.start(std::chrono::seconds(5))));
    EXPECT_EQ(s.generation(), 1);
    ASSERT_EQ(made_.size(), 1u);
    EXPECT_EQ(&s.current(), made_.back());
    EXPECT_EQ(s.current().state(), session_state::connected);
    EXPECT_EQ(log_, (std::vector<std::string>{"first", "second"}));
    EXPECT_EQ(sessions_,
              (std::vector<int64_t>{s.current().session_id(), s.current().session_id()}));
    EXPECT_EQ(owner("/brokers/ids/0", reader_), s.current().session_id());
    EXPECT_EQ(owner("/brokers/ids/1", reader_), s.current().session_id());
    s.stop();
}

TEST_F(session, expiry_makes_a_new_session_that_runs_the_handlers_again) {
    zk::session s(io_.get_executor(), factory());
    s.on_new_session(registering("register"));
    s.on_expired([this] { log_.push_back("expired"); });
    ASSERT_TRUE(run_void(io_, s.start(std::chrono::seconds(5))));
    const int64_t first = s.current().session_id();
    EXPECT_EQ(owner("/brokers/ids/0", reader_), first);

    // The server drops the first session: its ephemeral goes at once.
    made_.back()->expire_session();
    EXPECT_EQ(owner("/brokers/ids/0", reader_), 0);
    ASSERT_TRUE(run_until(io_, [&] { return s.generation() == 2 && log_.size() == 3; }));
    EXPECT_EQ(log_, (std::vector<std::string>{"register", "expired", "register"}));
    ASSERT_EQ(made_.size(), 2u);
    const int64_t second = s.current().session_id();
    EXPECT_NE(second, first);
    EXPECT_EQ(sessions_, (std::vector<int64_t>{first, second}));
    EXPECT_EQ(&s.current(), made_.back());
    // The handler registered again, under the new session.
    EXPECT_EQ(owner("/brokers/ids/0", reader_), second);

    // And again: every expiry is replaced.
    made_.back()->expire_session();
    ASSERT_TRUE(run_until(io_, [&] { return s.generation() == 3 && log_.size() == 5; }));
    EXPECT_EQ(log_.back(), "register");
    EXPECT_EQ(owner("/brokers/ids/0", reader_), s.current().session_id());
    s.stop();
}

TEST_F(session, a_lost_connection_is_not_an_expiry) {
    zk::session s(io_.get_executor(), factory());
    s.on_new_session(registering("register"));
    s.on_expired([this] { log_.push_back("expired"); });
    ASSERT_TRUE(run_void(io_, s.start(std::chrono::seconds(5))));
    const int64_t id = s.current().session_id();
    // While the connection is lost, the session is kept (the state callback ran before the
    // answer of this round trip).
    made_.back()->disconnect();
    EXPECT_EQ(owner("/brokers/ids/0", reader_), id);
    EXPECT_EQ(s.current().state(), session_state::connecting);
    EXPECT_EQ(s.generation(), 1);
    EXPECT_EQ(made_.size(), 1u);
    made_.back()->reconnect();
    EXPECT_EQ(owner("/brokers/ids/0", reader_), id);
    EXPECT_EQ(s.current().state(), session_state::connected);
    EXPECT_EQ(s.generation(), 1);
    EXPECT_EQ(made_.size(), 1u);
    EXPECT_EQ(log_, (std::vector<std::string>{"register"}));
    s.stop();
}

TEST_F(session, a_refusing_handler_rebuilds_the_session) {
    zk::session s(io_.get_executor(), factory());
    int calls = 0;
    s.on_new_session([&](zk::client& c) -> net::awaitable<bool> {
        ++calls;
        log_.push_back("handler");
        auto creating = c.create("/claim", "", create_mode::ephemeral);
        auto created = co_await std::move(creating);
        // The first session is refused after it made its ephemeral.
        co_return created.ok() && calls > 1;
    });
    s.on_expired([this] { log_.push_back("expired"); });
    ASSERT_TRUE(run_void(io_, s.start(std::chrono::seconds(5))));
    EXPECT_EQ(calls, 2);
    EXPECT_EQ(s.generation(), 2);
    ASSERT_EQ(made_.size(), 2u);
    EXPECT_EQ(&s.current(), made_.back());
    EXPECT_EQ(log_, (std::vector<std::string>{"handler", "expired", "handler"}));
    // The refused session was closed: its ephemeral went with it, and the new one holds the
    // node.
    EXPECT_EQ(owner("/claim", reader_), s.current().session_id());
    s.stop();
}

TEST_F(session, a_refusal_after_an_expiry_rebuilds_again) {
    zk::session s(io_.get_executor(), factory());
    int calls = 0;
    s.on_new_session([&](zk::client&) -> net::awaitable<bool> { co_return ++calls != 2; });
    ASSERT_TRUE(run_void(io_, s.start(std::chrono::seconds(5))));
    made_.back()->expire_session();
    // The second session is refused; a third one is accepted.
    ASSERT_TRUE(run_until(io_, [&] { return calls == 3; }));
    EXPECT_EQ(s.generation(), 3);
    EXPECT_EQ(made_.size(), 3u);
    EXPECT_EQ(s.current().state(), session_state::connected);
    s.stop();
}

TEST_F(session, stop_closes_the_session_and_ends_the_background_work) {
    std::optional<zk::session> s;
    s.emplace(io_.get_executor(), factory());
    s->on_new_session(registering("register"));
    s->on_expired([this] { log_.push_back("expired"); });
    ASSERT_TRUE(run_void(io_, s->start(std::chrono::seconds(5))));
    ASSERT_NE(owner("/brokers/ids/0", reader_), 0);

    s->stop();
    s->stop();  // idempotent
    // The client was closed: its ephemeral is gone.
    EXPECT_EQ(owner("/brokers/ids/0", reader_), 0);
    EXPECT_THROW(s->current(), std::logic_error);
    // Nothing is left to run: the background loop ended (io_ runs out of work).
    io_.restart();
    io_.run_for(limit);
    EXPECT_TRUE(io_.stopped());
    EXPECT_EQ(s->generation(), 1);
    EXPECT_EQ(made_.size(), 1u);
    EXPECT_EQ(log_, (std::vector<std::string>{"register"}));
    s.reset();
}

TEST_F(session, destroying_the_session_stops_it) {
    std::optional<zk::session> s;
    s.emplace(io_.get_executor(), factory());
    s->on_new_session(registering("register"));
    ASSERT_TRUE(run_void(io_, s->start(std::chrono::seconds(5))));
    s.reset();
    EXPECT_EQ(owner("/brokers/ids/0", reader_), 0);
    io_.restart();
    io_.run_for(limit);
    EXPECT_TRUE(io_.stopped());
}

TEST_F(session, start_fails_when_no_session_connects_in_time) {
    disconnected_ = true;
    zk::session s(io_.get_executor(), factory());
    s.on_new_session(registering("register"));
    try {
        run_void(io_, s.start(std::chrono::milliseconds(50)));
        FAIL() << "start() returned without a session";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("50 ms"), std::string::npos) << e.what();
    }
    EXPECT_TRUE(log_.empty());
    EXPECT_EQ(s.generation(), 0);
    // start() gave up: the client is closed and nothing keeps running.
    EXPECT_THROW(s.current(), std::logic_error);
    io_.restart();
    io_.run_for(limit);
    EXPECT_TRUE(io_.stopped());
}

TEST_F(session, start_waits_for_the_connection) {
    disconnected_ = true;
    zk::session s(io_.get_executor(), factory());
    s.on_new_session(registering("register"));
    bool finished = false;
    std::exception_ptr error;
    net::co_spawn(io_, s.start(std::chrono::seconds(20)), [&](std::exception_ptr e) {
        error = e;
        finished = true;
    });
    ASSERT_TRUE(run_until(io_, [&] { return made_.size() == 1; }));
    EXPECT_FALSE(finished);
    made_.back()->reconnect();
    ASSERT_TRUE(run_until(io_, [&] { return finished; }));
    EXPECT_EQ(error, nullptr);
    EXPECT_EQ(log_, (std::vector<std::string>{"register"}));
    EXPECT_EQ(s.generation(), 1);
    s.stop();
}

TEST_F(session, stop_during_start_ends_it) {
    disconnected_ = true;
    zk::session s(io_.get_executor(), factory());
    bool finished = false;
    std::exception_ptr error;
    net::co_spawn(io_, s.start(std::chrono::seconds(20)), [&](std::exception_ptr e) {
        error = e;
        finished = true;
    });
    ASSERT_TRUE(run_until(io_, [&] { return made_.size() == 1; }));
    s.stop();
    ASSERT_TRUE(run_until(io_, [&] { return finished; }));
    EXPECT_NE(error, nullptr);
    EXPECT_THROW(std::rethrow_exception(error), std::runtime_error);
    EXPECT_EQ(s.generation(), 0);
}

TEST_F(session, a_handler_that_throws_fails_start) {
    zk::session s(io_.get_executor(), factory());
    s.on_new_session([](zk::client&) -> net::awaitable<bool> {
        throw std::invalid_argument("bad registration");
        co_return true;
    });
    EXPECT_THROW(run_void(io_, s.start(std::chrono::seconds(5))), std::invalid_argument);
    EXPECT_THROW(s.current(), std::logic_error);
}

// ---- create_recursive, delete_recursive

TEST_F(session, create_recursive_makes_missing_ancestors) {
    EXPECT_EQ(run(io_, zk::create_recursive(reader_, "/a/b/c")), error_code::ok);
    for (const auto* path : {"/a", "/a/b", "/a/b/c"}) {
        auto got = run(io_, reader_.get(path));
        ASSERT_EQ(got.error, error_code::ok) << path;
        EXPECT_EQ(got.value.data, "");
        EXPECT_EQ(got.value.stat.ephemeral_owner, 0);
    }
    // Existing nodes at any level are fine, and keep their data.
    ASSERT_EQ(run(io_, reader_.set("/a/b", "kept", zk::any_version)).error, error_code::ok);
    EXPECT_EQ(run(io_, zk::create_recursive(reader_, "/a/b/c")), error_code::ok);
    EXPECT_EQ(run(io_, zk::create_recursive(reader_, "/a/b/d")), error_code::ok);
    EXPECT_EQ(run(io_, zk::create_recursive(reader_, "/a/b")), error_code::ok);
    EXPECT_EQ(run(io_, zk::create_recursive(reader_, "/")), error_code::ok);
    EXPECT_EQ(run(io_, reader_.get("/a/b")).value.data, "kept");
    EXPECT_EQ(run(io_, reader_.children("/a/b")).value, (std::vector<std::string>{"c", "d"}));

    // Other errors are returned.
    ASSERT_EQ(run(io_, reader_.create("/e", "", create_mode::ephemeral)).error, error_code::ok);
    EXPECT_EQ(run(io_, zk::create_recursive(reader_, "/e/x/y")),
              error_code::no_children_for_ephemerals);
    EXPECT_EQ(run(io_, zk::create_recursive(reader_, "/a//b")), error_code::bad_arguments);
    zk::fake_client expired(io_.get_executor(), server_);
    expired.expire_session();
    EXPECT_EQ(run(io_, zk::create_recursive(expired, "/x/y")), error_code::session_expired);
}

TEST_F(session, delete_recursive_removes_the_subtree) {
    for (const auto* path : {"/t/a/x", "/t/a/y/z", "/t/b", "/keep/me"}) {
        ASSERT_EQ(run(io_, zk::create_recursive(reader_, path)), error_code::ok);
    }
    const auto nodes_before = server_.node_count();
    EXPECT_EQ(run(io_, zk::delete_recursive(reader_, "/t/a")), error_code::ok);
    EXPECT_EQ(run(io_, reader_.exists("/t/a")).error, error_code::no_node);
    EXPECT_EQ(run(io_, reader_.children("/t")).value, (std::vector<std::string>{"b"}));
    EXPECT_EQ(server_.node_count(), nodes_before - 4);

    EXPECT_EQ(run(io_, zk::delete_recursive(reader_, "/t")), error_code::ok);
    EXPECT_EQ(run(io_, reader_.exists("/t")).error, error_code::no_node);
    // A missing node is already deleted.
    EXPECT_EQ(run(io_, zk::delete_recursive(reader_, "/t")), error_code::ok);
    EXPECT_EQ(run(io_, reader_.exists("/keep/me")).error, error_code::ok);

    zk::fake_client expired(io_.get_executor(), server_);
    expired.expire_session();
    EXPECT_EQ(run(io_, zk::delete_recursive(expired, "/keep")), error_code::session_expired);
    EXPECT_EQ(run(io_, reader_.exists("/keep/me")).error, error_code::ok);
}

}  // namespace
