// Unit tests of the in-memory ZooKeeper (zk/fake_client.h): its answers must be ZooKeeper's, since
// cluster code is tested against it.
#include "zk/fake_client.h"

#include <gtest/gtest.h>

#include <chrono>
#include <exception>
#include <optional>
#include <stdexcept>
#include <utility>

namespace {

namespace net = broker::net;
namespace zk = broker::zk;
using zk::any_version;
using zk::create_mode;
using zk::error_code;
using zk::op;
using zk::result;
using zk::session_state;
using zk::watch_callback;
using zk::watch_event;

// Runs one operation to completion on `io`, then everything it posted (watch and state
// callbacks), bounded by a generous deadline.
template <typename T>
T run(net::io_context& io, net::awaitable<T> work) {
    std::optional<T> out;
    std::exception_ptr error;
    net::co_spawn(io, std::move(work), [&](std::exception_ptr e, T value) {
        error = e;
        out = std::move(value);
    });
    io.restart();
    io.run_for(std::chrono::seconds(30));
    if (error) {
        std::rethrow_exception(error);
    }
    if (!out) {
        throw std::runtime_error("operation did not complete");
    }
    return std::move(*out);
}

// Runs the callbacks already posted (after a synchronous call such as expire_session()).
void drain(net::io_context& io) {
    io.restart();
    io.run_for(std::chrono::seconds(30));
}

struct event {
    watch_event type;
    std::string path;
    friend bool operator==(const event&, const event&) = default;
};

// A watch that appends what it receives to `into`.
watch_callback record(std::vector<event>& into) {
    return [&into](watch_event type, const std::string& path) { into.push_back({type, path}); };
}

// The suite is named after the class it tests (ctest names zk.fake_client.*).
class fake_client : public ::testing::Test {
protected:
    net::io_context io_;
    zk::fake_server server_;
    zk::fake_client client_{io_.get_executor(), server_};

    result<std::string> create(const std::string& path, const std::string& data = {},
                               create_mode mode = create_mode::persistent) {
        return run(io_, client_.create(path, data, mode));
    }
};

TEST_F(fake_client, create_get_set_erase_follow_versions) {
    auto created = create("/a", "x");
    ASSERT_EQ(created.error, error_code::ok);
    EXPECT_EQ(created.value, "/a");
    EXPECT_EQ(server_.last_zxid(), 1);

    auto got = run(io_, client_.get("/a"));
    ASSERT_EQ(got.error, error_code::ok);
    EXPECT_EQ(got.value.data, "x");
    EXPECT_EQ(got.value.stat.version, 0);
    EXPECT_EQ(got.value.stat.czxid, 1);
    EXPECT_EQ(got.value.stat.mzxid, 1);
    EXPECT_EQ(got.value.stat.ephemeral_owner, 0);
    EXPECT_EQ(got.value.stat.data_length, 1);

    auto set = run(io_, client_.set("/a", "yz", 0));
    ASSERT_EQ(set.error, error_code::ok);
    EXPECT_EQ(set.value.version, 1);
    EXPECT_EQ(set.value.czxid, 1);
    EXPECT_EQ(set.value.mzxid, 2);
    EXPECT_EQ(set.value.data_length, 2);

    // A stale version is refused and changes nothing.
    EXPECT_EQ(run(io_, client_.set("/a", "stale", 0)).error, error_code::bad_version);
    got = run(io_, client_.get("/a"));
    EXPECT_EQ(got.value.data, "yz");
    EXPECT_EQ(got.value.stat.version, 1);
    EXPECT_EQ(server_.last_zxid(), 2);

    // any_version is unconditional.
    EXPECT_EQ(run(io_, client_.set("/a", "any", any_version)).value.version, 2);

    EXPECT_EQ(run(io_, client_.erase("/a", 1)).error, error_code::bad_version);
    EXPECT_EQ(run(io_, client_.erase("/a", 2)).error, error_code::ok);
    EXPECT_EQ(run(io_, client_.get("/a")).error, error_code::no_node);
    EXPECT_EQ(run(io_, client_.exists("/a")).error, error_code::no_node);
    EXPECT_EQ(run(io_, client_.erase("/a", any_version)).error, error_code::no_node);
    EXPECT_EQ(server_.node_count(), 1u);
}

TEST_F(fake_client, errors_are_the_c_client_codes) {
    EXPECT_EQ(create("/a/b").error, error_code::no_node);
    ASSERT_EQ(create("/a").error, error_code::ok);
    EXPECT_EQ(create("/a").error, error_code::node_exists);
    EXPECT_EQ(create("/").error, error_code::node_exists);
    ASSERT_EQ(create("/a/b").error, error_code::ok);
    EXPECT_EQ(run(io_, client_.erase("/a", any_version)).error, error_code::not_empty);
    // The version is checked before the children, as ZooKeeper does.
    EXPECT_EQ(run(io_, client_.erase("/a", 7)).error, error_code::bad_version);
    EXPECT_EQ(run(io_, client_.erase("/", any_version)).error, error_code::bad_arguments);
    EXPECT_EQ(run(io_, client_.set("/missing", "x", any_version)).error, error_code::no_node);
    EXPECT_EQ(run(io_, client_.children("/missing")).error, error_code::no_node);

    ASSERT_EQ(create("/e", "", create_mode::ephemeral).error, error_code::ok);
    EXPECT_EQ(create("/e/child").error, error_code::no_children_for_ephemerals);

    for (const char* bad : {"", "a", "/a/", "/a//b", "/a/./b", "/a/..", "//"}) {
        EXPECT_EQ(create(bad).error, error_code::bad_arguments) << bad;
        EXPECT_EQ(run(io_, client_.get(bad)).error, error_code::bad_arguments) << bad;
    }
    EXPECT_EQ(server_.node_count(), 4u);
    EXPECT_EQ(zk::to_string(error_code::no_node), "ZNONODE");
    EXPECT_EQ(static_cast<int>(error_code::node_exists), -110);
}

TEST_F(fake_client, sequential_names_count_the_parents_child_changes) {
    ASSERT_EQ(create("/q").error, error_code::ok);
    EXPECT_EQ(create("/q/item-", "", create_mode::persistent_sequential).value,
              "/q/item-0000000000");
    EXPECT_EQ(create("/q/item-", "", create_mode::persistent_sequential).value,
              "/q/item-0000000001");
    EXPECT_EQ(create("/q/other").value, "/q/other");
    // The counter is the parent's cversion: it counts deletes too.
    ASSERT_EQ(run(io_, client_.erase("/q/other", any_version)).error, error_code::ok);
    auto ephemeral = create("/q/item-", "e", create_mode::ephemeral_sequential);
    ASSERT_EQ(ephemeral.error, error_code::ok);
    EXPECT_EQ(ephemeral.value, "/q/item-0000000004");
    EXPECT_EQ(run(io_, client_.get(ephemeral.value)).value.stat.ephemeral_owner,
              client_.session_id());
    // A trailing slash is allowed for a sequential create: the name is the counter alone.
    EXPECT_EQ(create("/q/", "", create_mode::persistent_sequential).value, "/q/0000000005");

    auto children = run(io_, client_.children("/q"));
    ASSERT_EQ(children.error, error_code::ok);
    EXPECT_EQ(children.value, (std::vector<std::string>{"0000000005", "item-0000000000",
                                                        "item-0000000001", "item-0000000004"}));
    auto parent = run(io_, client_.exists("/q"));
    EXPECT_EQ(parent.value.cversion, 6);
    EXPECT_EQ(parent.value.num_children, 4);
}

TEST_F(fake_client, children_lists_direct_children_only) {
    for (const char* path : {"/brokers", "/brokers/ids", "/brokers/ids/1", "/brokers/ids/2",
                             "/brokers/topics", "/brokersx", "/cluster"}) {
        ASSERT_EQ(create(path).error, error_code::ok) << path;
    }
    EXPECT_EQ(run(io_, client_.children("/")).value,
              (std::vector<std::string>{"brokers", "brokersx", "cluster"}));
    EXPECT_EQ(run(io_, client_.children("/brokers")).value,
              (std::vector<std::string>{"ids", "topics"}));
    EXPECT_EQ(run(io_, client_.children("/brokers/ids")).value,
              (std::vector<std::string>{"1", "2"}));
    EXPECT_TRUE(run(io_, client_.children("/brokers/topics")).value.empty());
}

TEST_F(fake_client, multi_applies_all_or_nothing) {
    ASSERT_EQ(create("/m", "v0").error, error_code::ok);
    const int64_t zxid = server_.last_zxid();

    auto failed = run(io_, client_.multi({op::check("/m", 0), op::create("/m/a", "a"),
                                          op::set("/m", "v1", 5), op::create("/m/b", "b")}));
    EXPECT_EQ(failed.error, error_code::bad_version);
    ASSERT_EQ(failed.value.size(), 4u);
    EXPECT_EQ(failed.value[0].error, error_code::ok);
    EXPECT_EQ(failed.value[1].error, error_code::ok);
    EXPECT_EQ(failed.value[2].error, error_code::bad_version);
    EXPECT_EQ(failed.value[3].error, error_code::runtime_inconsistency);
    EXPECT_EQ(run(io_, client_.exists("/m/a")).error, error_code::no_node);
    EXPECT_EQ(run(io_, client_.get("/m")).value.data, "v0");
    EXPECT_EQ(server_.last_zxid(), zxid);
    EXPECT_EQ(server_.node_count(), 2u);

    // A check of a missing node fails the whole transaction too.
    auto missing = run(io_, client_.multi({op::create("/m/a"), op::check("/nope", any_version)}));
    EXPECT_EQ(missing.error, error_code::no_node);
    EXPECT_EQ(run(io_, client_.exists("/m/a")).error, error_code::no_node);

    auto applied =
        run(io_, client_.multi({op::check("/m", 0), op::create("/m/a", "a"),
                                op::create("/m/s-", "", create_mode::ephemeral_sequential),
                                op::set("/m", "v1", 0), op::erase("/m/a", 0)}));
    ASSERT_EQ(applied.error, error_code::ok);
    ASSERT_EQ(applied.value.size(), 5u);
    for (const auto& r : applied.value) {
        EXPECT_EQ(r.error, error_code::ok);
    }
    EXPECT_EQ(applied.value[1].path, "/m/a");
    EXPECT_EQ(applied.value[2].path, "/m/s-0000000001");
    EXPECT_EQ(applied.value[3].stat.version, 1);
    // One transaction, one zxid.
    EXPECT_EQ(server_.last_zxid(), zxid + 1);
    EXPECT_EQ(applied.value[3].stat.mzxid, zxid + 1);
    EXPECT_EQ(run(io_, client_.get("/m/s-0000000001")).value.stat.czxid, zxid + 1);
    EXPECT_EQ(run(io_, client_.exists("/m/a")).error, error_code::no_node);
    EXPECT_EQ(run(io_, client_.children("/m")).value, (std::vector<std::string>{"s-0000000001"}));
}

TEST_F(fake_client, watches_fire_once_and_must_be_rearmed) {
    std::vector<event> exists_events;
    std::vector<event> data_events;
    std::vector<event> child_events;

    // An exists watch on a missing node fires on create.
    EXPECT_EQ(run(io_, client_.exists("/w", record(exists_events))).error, error_code::no_node);
    ASSERT_EQ(create("/w", "1").error, error_code::ok);
    EXPECT_EQ(exists_events, (std::vector<event>{{watch_event::created, "/w"}}));
    EXPECT_EQ(server_.watch_count(), 0u);

    // A data watch fires once: the second set is not seen until it is re-armed.
    ASSERT_EQ(run(io_, client_.get("/w", record(data_events))).error, error_code::ok);
    ASSERT_EQ(run(io_, client_.set("/w", "2", any_version)).error, error_code::ok);
    ASSERT_EQ(run(io_, client_.set("/w", "3", any_version)).error, error_code::ok);
    EXPECT_EQ(data_events, (std::vector<event>{{watch_event::data_changed, "/w"}}));
    ASSERT_EQ(run(io_, client_.get("/w", record(data_events))).error, error_code::ok);

    // A child watch fires on a child's create, and a delete fires data and child watches.
    ASSERT_EQ(run(io_, client_.children("/w", record(child_events))).error, error_code::ok);
    ASSERT_EQ(create("/w/c").error, error_code::ok);
    ASSERT_EQ(create("/w/d").error, error_code::ok);
    EXPECT_EQ(child_events, (std::vector<event>{{watch_event::children_changed, "/w"}}));
    ASSERT_EQ(run(io_, client_.children("/w", record(child_events))).error, error_code::ok);
    ASSERT_EQ(run(io_, client_.erase("/w/c", any_version)).error, error_code::ok);
    ASSERT_EQ(run(io_, client_.erase("/w/d", any_version)).error, error_code::ok);
    ASSERT_EQ(run(io_, client_.children("/w", record(child_events))).error, error_code::ok);
    ASSERT_EQ(run(io_, client_.erase("/w", any_version)).error, error_code::ok);
    EXPECT_EQ(child_events, (std::vector<event>{{watch_event::children_changed, "/w"},
                                                {watch_event::children_changed, "/w"},
                                                {watch_event::deleted, "/w"}}));
    EXPECT_EQ(data_events, (std::vector<event>{{watch_event::data_changed, "/w"},
                                               {watch_event::deleted, "/w"}}));

    // A get or children of a missing node arms nothing; a failed write fires nothing.
    EXPECT_EQ(run(io_, client_.get("/w", record(data_events))).error, error_code::no_node);
    EXPECT_EQ(run(io_, client_.children("/w", record(child_events))).error, error_code::no_node);
    EXPECT_EQ(server_.watch_count(), 0u);
    ASSERT_EQ(create("/v").error, error_code::ok);
    ASSERT_EQ(run(io_, client_.get("/v", record(data_events))).error, error_code::ok);
    EXPECT_EQ(run(io_, client_.multi({op::set("/v", "x"), op::check("/v", 9)})).error,
              error_code::bad_version);
    EXPECT_EQ(data_events.size(), 2u);
    EXPECT_EQ(server_.watch_count(), 1u);
}

TEST_F(fake_client, expiry_removes_ephemerals_and_fires_watches) {
    zk::fake_client other(io_.get_executor(), server_);
    ASSERT_NE(other.session_id(), client_.session_id());
    std::vector<session_state> states;
    client_.on_state_change([&](session_state s) { states.push_back(s); });

    ASSERT_EQ(create("/brokers").error, error_code::ok);
    ASSERT_EQ(create("/brokers/1", "b1", create_mode::ephemeral).error, error_code::ok);
    ASSERT_EQ(run(io_, other.create("/brokers/2", "b2", create_mode::ephemeral)).error,
              error_code::ok);
    ASSERT_EQ(create("/controller", "1", create_mode::ephemeral).error, error_code::ok);
    auto epoch = run(io_, client_.get("/brokers/1")).value.stat;
    EXPECT_EQ(epoch.ephemeral_owner, client_.session_id());

    std::vector<event> other_events;
    std::vector<event> own_events;
    ASSERT_EQ(run(io_, other.exists("/controller", record(other_events))).error, error_code::ok);
    ASSERT_EQ(run(io_, other.children("/brokers", record(other_events))).error, error_code::ok);
    ASSERT_EQ(run(io_, client_.exists("/brokers/2", record(own_events))).error, error_code::ok);

    client_.expire_session();
    drain(io_);
    EXPECT_EQ(client_.state(), session_state::expired);
    EXPECT_EQ(states, (std::vector<session_state>{session_state::expired}));
    EXPECT_EQ(own_events, (std::vector<event>{{watch_event::session_expired, "/brokers/2"}}));
    ASSERT_EQ(other_events.size(), 2u);
    // Both deletes are in one transaction; the watches fire in path order of the deletes.
    EXPECT_EQ(other_events[0], (event{watch_event::children_changed, "/brokers"}));
    EXPECT_EQ(other_events[1], (event{watch_event::deleted, "/controller"}));
    EXPECT_EQ(server_.watch_count(), 0u);

    EXPECT_EQ(run(io_, other.children("/brokers")).value, (std::vector<std::string>{"2"}));
    EXPECT_EQ(run(io_, other.exists("/controller")).error, error_code::no_node);
    EXPECT_EQ(run(io_, client_.get("/brokers")).error, error_code::session_expired);
    EXPECT_EQ(create("/x").error, error_code::session_expired);
    auto multi = run(io_, client_.multi({op::create("/x")}));
    EXPECT_EQ(multi.error, error_code::session_expired);
    ASSERT_EQ(multi.value.size(), 1u);
    EXPECT_EQ(multi.value[0].error, error_code::session_expired);

    // A new session registers again with a later czxid (Kafka's broker epoch grows).
    zk::fake_client again(io_.get_executor(), server_);
    ASSERT_EQ(run(io_, again.create("/brokers/1", "b1", create_mode::ephemeral)).error,
              error_code::ok);
    auto renewed = run(io_, again.get("/brokers/1")).value.stat;
    EXPECT_GT(renewed.czxid, epoch.czxid);
    EXPECT_EQ(renewed.ephemeral_owner, again.session_id());
}

TEST_F(fake_client, connection_loss_keeps_the_session) {
    std::vector<session_state> states;
    client_.on_state_change([&](session_state s) { states.push_back(s); });
    ASSERT_EQ(create("/e", "", create_mode::ephemeral).error, error_code::ok);
    std::vector<event> events;
    ASSERT_EQ(run(io_, client_.get("/e", record(events))).error, error_code::ok);

    client_.disconnect();
    EXPECT_EQ(client_.state(), session_state::connecting);
    EXPECT_EQ(run(io_, client_.get("/e")).error, error_code::connection_loss);
    EXPECT_EQ(run(io_, client_.set("/e", "x", any_version)).error, error_code::connection_loss);

    client_.reconnect();
    EXPECT_EQ(client_.state(), session_state::connected);
    auto got = run(io_, client_.get("/e"));
    ASSERT_EQ(got.error, error_code::ok);
    EXPECT_EQ(got.value.stat.version, 0);
    EXPECT_EQ(states,
              (std::vector<session_state>{session_state::connecting, session_state::connected}));
    // The watch armed before the disconnect is still armed.
    ASSERT_EQ(run(io_, client_.set("/e", "y", any_version)).error, error_code::ok);
    EXPECT_EQ(events, (std::vector<event>{{watch_event::data_changed, "/e"}}));
}

TEST_F(fake_client, closing_a_client_removes_its_ephemerals) {
    std::vector<event> events;
    {
        zk::fake_client broker(io_.get_executor(), server_);
        ASSERT_EQ(run(io_, broker.create("/b", "", create_mode::ephemeral)).error, error_code::ok);
        ASSERT_EQ(run(io_, broker.create("/p", "", create_mode::persistent)).error, error_code::ok);
        ASSERT_EQ(run(io_, client_.exists("/b", record(events))).error, error_code::ok);
    }
    drain(io_);
    EXPECT_EQ(events, (std::vector<event>{{watch_event::deleted, "/b"}}));
    EXPECT_EQ(run(io_, client_.exists("/b")).error, error_code::no_node);
    EXPECT_EQ(run(io_, client_.exists("/p")).error, error_code::ok);
}

}  // namespace
