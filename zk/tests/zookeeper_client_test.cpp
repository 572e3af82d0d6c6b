// Tests of zk::zookeeper_client against a real ZooKeeper server (Debian's zookeeper package),
// started once for the binary on a free loopback port and stopped by its process group at the
// end. Each test works under its own top-level node.
#include "zk/zookeeper_client.h"

#include <zookeeper/zookeeper.h>

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <optional>
#include <stdexcept>
#include <thread>

#include "zk/session.h"

extern char** environ;

namespace {

namespace net = broker::net;
namespace zk = broker::zk;
using zk::any_version;
using zk::create_mode;
using zk::error_code;
using zk::op;
using zk::session_state;
using zk::watch_event;

constexpr const char* zk_server_script = "/usr/share/zookeeper/bin/zkServer.sh";

template <typename T>
T run(net::io_context& io, net::awaitable<T> work, std::chrono::seconds limit) {
    std::optional<T> out;
    std::exception_ptr error;
    net::co_spawn(io, std::move(work), [&](std::exception_ptr e, T value) {
        error = e;
        out = std::move(value);
    });
    io.restart();
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!out && !error && std::chrono::steady_clock::now() < deadline) {
        io.run_for(std::chrono::milliseconds(50));
        io.restart();
    }
    if (error) {
        std::rethrow_exception(error);
    }
    if (!out) {
        throw std::runtime_error("operation did not complete in time");
    }
    return std::move(*out);
}

// Runs the io_context until `done()` holds, at most `limit`.
template <typename Predicate>
bool run_until(net::io_context& io, Predicate done, std::chrono::seconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done() && std::chrono::steady_clock::now() < deadline) {
        io.restart();
        io.run_for(std::chrono::milliseconds(20));
    }
    return done();
}

uint16_t free_port() {
    net::io_context io;
    net::ip::tcp::acceptor acceptor(io, {net::ip::make_address("127.0.0.1"), 0});
    return acceptor.local_endpoint().port();
}

// One ZooKeeper server for the whole binary.
class zookeeper_server : public ::testing::Environment {
public:
    static inline std::string connect;

    void SetUp() override {
        if (::access(zk_server_script, X_OK) != 0) {
            return;
        }
        char tmpl[] = "/tmp/zk-client-test-XXXXXX";
        if (::mkdtemp(tmpl) == nullptr) {
            throw std::runtime_error("mkdtemp failed");
        }
        dir_ = tmpl;
        const uint16_t port = free_port();
        {
            std::ofstream cfg(dir_ / "zoo.cfg");
            cfg << "tickTime=500\ndataDir=" << (dir_ / "data").string()
                << "\nclientPortAddress=127.0.0.1\nclientPort=" << port
                << "\nmaxClientCnxns=0\nadmin.enableServer=false\n"
                   "minSessionTimeout=1000\nmaxSessionTimeout=60000\n";
        }
        const std::string out = (dir_ / "zookeeper.out").string();
        const std::string cfg = (dir_ / "zoo.cfg").string();
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                         0644);
        posix_spawn_file_actions_adddup2(&actions, 1, 2);
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
        posix_spawnattr_t attr;
        posix_spawnattr_init(&attr);
        // Its own process group: the script's JVM is stopped with it.
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
        posix_spawnattr_setpgroup(&attr, 0);
        std::string log_dir = "ZOO_LOG_DIR=" + dir_.string();
        std::vector<std::string> env_strings = {"JMXDISABLE=true", "SERVER_JVMFLAGS=-Xmx128m",
                                                log_dir};
        std::vector<char*> env;
        for (char** e = environ; *e != nullptr; ++e) {
            env.push_back(*e);
        }
        for (auto& s : env_strings) {
            env.push_back(s.data());
        }
        env.push_back(nullptr);
        const char* argv[] = {zk_server_script, "start-foreground", cfg.c_str(), nullptr};
        int rc = posix_spawn(&pid_, zk_server_script, &actions, &attr,
                             const_cast<char* const*>(argv), env.data());
        posix_spawn_file_actions_destroy(&actions);
        posix_spawnattr_destroy(&attr);
        if (rc != 0) {
            throw std::runtime_error("cannot start the ZooKeeper server");
        }
        connect = "127.0.0.1:" + std::to_string(port);
    }

    void TearDown() override {
        if (pid_ <= 0) {
            return;
        }
        ::kill(-pid_, SIGTERM);
        int status = 0;
        bool exited = false;
        for (int i = 0; i < 300 && !exited; ++i) {  // at most 30 s
            exited = ::waitpid(pid_, &status, WNOHANG) == pid_;
            if (!exited) {
                std::this_thread::sleep_for(std::chrono::milliseconds(100));
            }
        }
        if (!exited) {
            ::kill(-pid_, SIGKILL);
            ::waitpid(pid_, &status, 0);
        }
        pid_ = 0;
        std::error_code ignored;
        std::filesystem::remove_all(dir_, ignored);
    }

private:
    pid_t pid_ = 0;
    std::filesystem::path dir_;
};

// A second handle on the same session, then closed: the server ends the session, and the
// client that owns it learns it (expired) when it reconnects.
void end_session(const zk::session_credentials& credentials) {
    clientid_t id{};
    id.client_id = credentials.id;
    std::memcpy(id.passwd, credentials.password.data(),
                std::min(sizeof id.passwd, credentials.password.size()));
    auto ignore = [](zhandle_t*, int, int, const char*, void*) {};
    zhandle_t* twin =
        zookeeper_init(zookeeper_server::connect.c_str(), ignore, 6000, &id, nullptr, 0);
    ASSERT_NE(twin, nullptr);
    for (int i = 0; i < 600 && zoo_state(twin) != ZOO_CONNECTED_STATE; ++i) {  // at most 60 s
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    EXPECT_EQ(zoo_state(twin), ZOO_CONNECTED_STATE);
    EXPECT_EQ(zoo_client_id(twin)->client_id, credentials.id);
    zookeeper_close(twin);
}

// Whether the node's data is null (created without data) rather than empty, read with the C
// client directly (the client interface reads both as ""). nullopt when it cannot be read.
std::optional<bool> has_null_data(const std::string& path) {
    auto ignore = [](zhandle_t*, int, int, const char*, void*) {};
    zhandle_t* raw =
        zookeeper_init(zookeeper_server::connect.c_str(), ignore, 6000, nullptr, nullptr, 0);
    if (raw == nullptr) {
        return std::nullopt;
    }
    for (int i = 0; i < 600 && zoo_state(raw) != ZOO_CONNECTED_STATE; ++i) {  // at most 60 s
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    // The data length the completion saw: -1 for null data.
    std::promise<std::pair<int, int>> answer;
    auto read = answer.get_future();
    auto done = [](int rc, const char*, int length, const Stat*, const void* data) {
        auto* to = static_cast<std::promise<std::pair<int, int>>*>(const_cast<void*>(data));
        to->set_value({rc, length});
    };
    int rc = zoo_aget(raw, path.c_str(), 0, done, &answer);
    std::optional<bool> out;
    if (rc == ZOK && read.wait_for(std::chrono::seconds(30)) == std::future_status::ready) {
        auto [code, length] = read.get();
        if (code == ZOK) {
            out = length == -1;
        }
    }
    // Joins the C client's threads: the completion cannot run after this.
    zookeeper_close(raw);
    return out;
}

class zookeeper_client : public ::testing::Test {
protected:
    void SetUp() override {
        if (zookeeper_server::connect.empty()) {
            GTEST_SKIP() << zk_server_script << " is not installed (Debian package zookeeper)";
        }
        client_ = connect();
        base_ = std::string("/") + ::testing::UnitTest::GetInstance()->current_test_info()->name();
    }

    std::unique_ptr<zk::zookeeper_client> connect() {
        zk::zookeeper_options options;
        options.connect = zookeeper_server::connect;
        options.session_timeout = std::chrono::milliseconds(6000);
        auto c = std::make_unique<zk::zookeeper_client>(io_.get_executor(), options);
        EXPECT_EQ(c->start(), error_code::ok);
        // A cold JVM: generous but bounded.
        auto state =
            run(io_, c->wait_connected(std::chrono::seconds(90)), std::chrono::seconds(100));
        EXPECT_EQ(state, session_state::connected);
        return c;
    }

    template <typename T>
    T await(net::awaitable<T> work) {
        return run(io_, std::move(work), std::chrono::seconds(30));
    }

    net::io_context io_;
    std::unique_ptr<zk::zookeeper_client> client_;
    std::string base_;
};

TEST_F(zookeeper_client, create_get_set_erase_follow_versions) {
    ASSERT_NE(client_->session_id(), 0);
    auto created = await(client_->create(base_, "x", create_mode::persistent));
    ASSERT_EQ(created.error, error_code::ok);
    EXPECT_EQ(created.value, base_);
    EXPECT_EQ(await(client_->create(base_, "", create_mode::persistent)).error,
              error_code::node_exists);

    auto got = await(client_->get(base_));
    ASSERT_EQ(got.error, error_code::ok);
    EXPECT_EQ(got.value.data, "x");
    EXPECT_EQ(got.value.stat.version, 0);
    EXPECT_EQ(got.value.stat.ephemeral_owner, 0);
    EXPECT_GT(got.value.stat.czxid, 0);

    auto set = await(client_->set(base_, "yz", 0));
    ASSERT_EQ(set.error, error_code::ok);
    EXPECT_EQ(set.value.version, 1);
    EXPECT_EQ(set.value.czxid, got.value.stat.czxid);
    EXPECT_GT(set.value.mzxid, got.value.stat.mzxid);
    EXPECT_EQ(await(client_->set(base_, "stale", 0)).error, error_code::bad_version);

    auto child = base_ + "/c";
    ASSERT_EQ(await(client_->create(child, "", create_mode::ephemeral)).error, error_code::ok);
    EXPECT_EQ(await(client_->get(child)).value.stat.ephemeral_owner, client_->session_id());
    EXPECT_EQ(await(client_->erase(base_, any_version)).error, error_code::not_empty);
    EXPECT_EQ(await(client_->create(child + "/x", "", create_mode::persistent)).error,
              error_code::no_children_for_ephemerals);
    ASSERT_EQ(await(client_->erase(child, 0)).error, error_code::ok);
    EXPECT_EQ(await(client_->erase(base_, 0)).error, error_code::bad_version);
    EXPECT_EQ(await(client_->erase(base_, 1)).error, error_code::ok);
    EXPECT_EQ(await(client_->get(base_)).error, error_code::no_node);
    EXPECT_EQ(await(client_->exists(base_)).error, error_code::no_node);
    EXPECT_EQ(await(client_->create(base_ + "/a/b", "", create_mode::persistent)).error,
              error_code::no_node);
}

TEST_F(zookeeper_client, sequential_children_and_multi) {
    ASSERT_EQ(await(client_->create(base_, "", create_mode::persistent)).error, error_code::ok);
    auto first = await(client_->create(base_ + "/s-", "", create_mode::persistent_sequential));
    auto second = await(client_->create(base_ + "/s-", "", create_mode::ephemeral_sequential));
    EXPECT_EQ(first.value, base_ + "/s-0000000000");
    EXPECT_EQ(second.value, base_ + "/s-0000000001");
    EXPECT_EQ(await(client_->children(base_)).value,
              (std::vector<std::string>{"s-0000000000", "s-0000000001"}));

    auto failed = await(client_->multi({op::check(base_, 0), op::create(base_ + "/m", "m"),
                                        op::set(base_, "v", 7), op::erase(first.value)}));
    EXPECT_EQ(failed.error, error_code::bad_version);
    ASSERT_EQ(failed.value.size(), 4u);
    EXPECT_EQ(failed.value[0].error, error_code::ok);
    EXPECT_EQ(failed.value[1].error, error_code::ok);
    EXPECT_EQ(failed.value[2].error, error_code::bad_version);
    EXPECT_EQ(failed.value[3].error, error_code::runtime_inconsistency);
    EXPECT_EQ(await(client_->exists(base_ + "/m")).error, error_code::no_node);

    auto applied =
        await(client_->multi({op::check(base_, 0), op::create(base_ + "/m", "m"),
                              op::create(base_ + "/q-", "", create_mode::persistent_sequential),
                              op::set(base_, "v", 0), op::erase(first.value)}));
    ASSERT_EQ(applied.error, error_code::ok);
    ASSERT_EQ(applied.value.size(), 5u);
    EXPECT_EQ(applied.value[1].path, base_ + "/m");
    EXPECT_EQ(applied.value[2].path, base_ + "/q-0000000003");
    EXPECT_EQ(applied.value[3].stat.version, 1);
    EXPECT_EQ(await(client_->children(base_)).value,
              (std::vector<std::string>{"m", "q-0000000003", "s-0000000001"}));
}

TEST_F(zookeeper_client, watches_fire_once_on_the_executor) {
    std::vector<std::pair<watch_event, std::string>> events;
    const auto main_thread = std::this_thread::get_id();
    bool on_executor = true;
    auto record = [&](watch_event e, const std::string& path) {
        on_executor = on_executor && std::this_thread::get_id() == main_thread;
        events.emplace_back(e, path);
    };
    EXPECT_EQ(await(client_->exists(base_, record)).error, error_code::no_node);
    ASSERT_EQ(await(client_->create(base_, "", create_mode::persistent)).error, error_code::ok);
    ASSERT_TRUE(run_until(
        io_, [&] { return events.size() == 1; }, std::chrono::seconds(30)));
    EXPECT_EQ(events[0], std::make_pair(watch_event::created, base_));

    ASSERT_EQ(await(client_->get(base_, record)).error, error_code::ok);
    ASSERT_EQ(await(client_->children(base_, record)).error, error_code::ok);
    ASSERT_EQ(await(client_->set(base_, "1", any_version)).error, error_code::ok);
    ASSERT_EQ(await(client_->create(base_ + "/c", "", create_mode::persistent)).error,
              error_code::ok);
    // Not re-armed: these two are not seen.
    ASSERT_EQ(await(client_->set(base_, "2", any_version)).error, error_code::ok);
    ASSERT_EQ(await(client_->erase(base_ + "/c", any_version)).error, error_code::ok);
    ASSERT_TRUE(run_until(
        io_, [&] { return events.size() >= 3; }, std::chrono::seconds(30)));
    // A last round trip: any late event would have arrived before its answer.
    ASSERT_EQ(await(client_->exists(base_)).error, error_code::ok);
    ASSERT_EQ(events.size(), 3u);
    EXPECT_EQ(events[1], std::make_pair(watch_event::data_changed, base_));
    EXPECT_EQ(events[2], std::make_pair(watch_event::children_changed, base_));
    EXPECT_TRUE(on_executor);
}

TEST_F(zookeeper_client, closing_the_session_removes_its_ephemerals) {
    ASSERT_EQ(await(client_->create(base_, "", create_mode::persistent)).error, error_code::ok);
    auto other = connect();
    ASSERT_EQ(await(other->create(base_ + "/e", "", create_mode::ephemeral)).error, error_code::ok);
    std::vector<watch_event> events;
    ASSERT_EQ(await(client_->exists(base_ + "/e", [&](watch_event e,
                                                      const std::string&) { events.push_back(e); }))
                  .error,
              error_code::ok);
    other->stop();
    ASSERT_TRUE(run_until(
        io_, [&] { return !events.empty(); }, std::chrono::seconds(30)));
    EXPECT_EQ(events, (std::vector<watch_event>{watch_event::deleted}));
    EXPECT_EQ(await(client_->exists(base_ + "/e")).error, error_code::no_node);
    // A stopped client answers without a session.
    EXPECT_EQ(await(other->get(base_)).error, error_code::invalid_state);
}

TEST_F(zookeeper_client, session_expiry_ends_the_session) {
    ASSERT_EQ(await(client_->create(base_, "", create_mode::persistent)).error, error_code::ok);
    auto other = connect();
    std::vector<session_state> states;
    other->on_state_change([&](session_state s) { states.push_back(s); });
    ASSERT_EQ(await(other->create(base_ + "/e", "", create_mode::ephemeral)).error, error_code::ok);
    std::vector<watch_event> own;
    std::vector<watch_event> seen;
    ASSERT_EQ(
        await(other->exists(base_, [&](watch_event e, const std::string&) { own.push_back(e); }))
            .error,
        error_code::ok);
    ASSERT_EQ(await(client_->exists(base_ + "/e",
                                    [&](watch_event e, const std::string&) { seen.push_back(e); }))
                  .error,
              error_code::ok);

    auto credentials = other->credentials();
    ASSERT_TRUE(credentials.has_value());
    ASSERT_EQ(credentials->id, other->session_id());
    ASSERT_NO_FATAL_FAILURE(end_session(*credentials));

    ASSERT_TRUE(run_until(
        io_, [&] { return other->state() == session_state::expired; }, std::chrono::seconds(60)));
    ASSERT_TRUE(run_until(
        io_, [&] { return !own.empty() && !seen.empty(); }, std::chrono::seconds(30)));
    EXPECT_EQ(std::count(states.begin(), states.end(), session_state::expired), 1);
    EXPECT_EQ(states.back(), session_state::expired);
    EXPECT_EQ(own, (std::vector<watch_event>{watch_event::session_expired}));
    EXPECT_EQ(seen, (std::vector<watch_event>{watch_event::deleted}));
    EXPECT_EQ(await(other->get(base_)).error, error_code::session_expired);
    EXPECT_EQ(await(client_->exists(base_ + "/e")).error, error_code::no_node);
}

TEST_F(zookeeper_client, ensure_chroot_creates_it_and_a_chrooted_client_lives_under_it) {
    const std::string chroot = base_ + "/kafka/a";
    // No chroot: nothing to do.
    EXPECT_EQ(await(zk::ensure_chroot(io_.get_executor(), zookeeper_server::connect, "",
                                      std::chrono::seconds(30))),
              error_code::ok);
    EXPECT_EQ(await(client_->exists(base_)).error, error_code::no_node);

    EXPECT_EQ(await(zk::ensure_chroot(io_.get_executor(), zookeeper_server::connect, chroot,
                                      std::chrono::seconds(30))),
              error_code::ok);
    for (const auto& path : {base_, base_ + "/kafka", chroot}) {
        auto got = await(client_->get(path));
        ASSERT_EQ(got.error, error_code::ok) << path;
        EXPECT_EQ(got.value.stat.ephemeral_owner, 0);
        // Created without data, as Kafka's broker creates its chroot.
        EXPECT_EQ(has_null_data(path), std::optional<bool>(true)) << path;
    }
    // Existing: still fine.
    EXPECT_EQ(await(zk::ensure_chroot(io_.get_executor(), zookeeper_server::connect, chroot,
                                      std::chrono::seconds(30))),
              error_code::ok);

    // A client whose connect string carries the chroot sees it as its root.
    zk::zookeeper_options options;
    options.connect = zookeeper_server::connect + chroot;
    options.session_timeout = std::chrono::milliseconds(6000);
    zk::zookeeper_client chrooted(io_.get_executor(), options);
    ASSERT_EQ(chrooted.start(), error_code::ok);
    ASSERT_EQ(await(chrooted.wait_connected(std::chrono::seconds(60))), session_state::connected);
    EXPECT_EQ(await(zk::create_recursive(chrooted, "/brokers/ids")), error_code::ok);
    auto created = await(chrooted.create("/brokers/ids/0", "{}", create_mode::ephemeral));
    ASSERT_EQ(created.error, error_code::ok);
    EXPECT_EQ(created.value, "/brokers/ids/0");
    EXPECT_EQ(await(chrooted.children("/")).value, (std::vector<std::string>{"brokers"}));
    auto outside = await(client_->get(chroot + "/brokers/ids/0"));
    ASSERT_EQ(outside.error, error_code::ok);
    EXPECT_EQ(outside.value.data, "{}");
    EXPECT_EQ(outside.value.stat.ephemeral_owner, chrooted.session_id());

    EXPECT_EQ(await(zk::delete_recursive(chrooted, "/brokers")), error_code::ok);
    EXPECT_EQ(await(client_->exists(chroot + "/brokers")).error, error_code::no_node);
    EXPECT_EQ(await(client_->exists(chroot)).error, error_code::ok);
}

TEST_F(zookeeper_client, ensure_chroot_without_a_server_times_out) {
    // Nothing listens on this port.
    const std::string nowhere = "127.0.0.1:" + std::to_string(free_port());
    EXPECT_EQ(await(zk::ensure_chroot(io_.get_executor(), nowhere, "/kafka",
                                      std::chrono::milliseconds(500))),
              error_code::operation_timeout);
}

TEST_F(zookeeper_client, session_replaces_an_expired_session) {
    ASSERT_EQ(await(client_->create(base_, "", create_mode::persistent)).error, error_code::ok);
    zk::zookeeper_options options;
    options.connect = zookeeper_server::connect;
    options.session_timeout = std::chrono::milliseconds(6000);
    std::vector<zk::zookeeper_client*> made;
    zk::session s(io_.get_executor(), [&] {
        auto c = std::make_unique<zk::zookeeper_client>(io_.get_executor(), options);
        if (c->start() != error_code::ok) {
            return std::unique_ptr<zk::client>();
        }
        made.push_back(c.get());
        return std::unique_ptr<zk::client>(std::move(c));
    });
    const std::string registration = base_ + "/e";
    std::vector<std::string> log;
    s.on_new_session([&](zk::client& c) -> net::awaitable<bool> {
        log.push_back("register");
        auto creating = c.create(registration, "{}", create_mode::ephemeral);
        auto created = co_await std::move(creating);
        co_return created.ok();
    });
    s.on_expired([&] { log.push_back("expired"); });
    run(
        io_,
        [&]() -> net::awaitable<bool> {
            auto starting = s.start(std::chrono::seconds(90));
            co_await std::move(starting);
            co_return true;
        }(),
        std::chrono::seconds(100));
    ASSERT_EQ(s.generation(), 1);
    const int64_t first = s.current().session_id();
    EXPECT_EQ(await(client_->get(registration)).value.stat.ephemeral_owner, first);

    auto credentials = made.back()->credentials();
    ASSERT_TRUE(credentials.has_value());
    ASSERT_NO_FATAL_FAILURE(end_session(*credentials));
    ASSERT_TRUE(run_until(
        io_, [&] { return s.generation() == 2 && log.size() == 3; }, std::chrono::seconds(90)));
    EXPECT_EQ(log, (std::vector<std::string>{"register", "expired", "register"}));
    const int64_t second = s.current().session_id();
    EXPECT_NE(second, first);
    EXPECT_EQ(s.current().state(), session_state::connected);
    // Registered again, under the new session.
    auto registered = await(client_->get(registration));
    ASSERT_EQ(registered.error, error_code::ok);
    EXPECT_EQ(registered.value.stat.ephemeral_owner, second);

    // stop() closes the session: its ephemeral goes at once.
    s.stop();
    ASSERT_TRUE(run_until(
        io_,
        [&] {
            return run(io_, client_->exists(registration), std::chrono::seconds(30)).error ==
                   error_code::no_node;
        },
        std::chrono::seconds(30)));
}

}  // namespace

int main(int argc, char** argv) {
    ::testing::InitGoogleTest(&argc, argv);
    ::testing::AddGlobalTestEnvironment(new zookeeper_server);
    return RUN_ALL_TESTS();
}
