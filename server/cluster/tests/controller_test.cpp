// The controller against the in-memory ZooKeeper: several sessions stand for brokers (each writes
// its /brokers/ids node), controllers run on one io_context, and a recording channel shows what
// each controller sent. Every wait is a bounded run of the io_context until a condition holds.
#include "server/cluster/controller.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>

#include "server/cluster/tests/controller_test_support.h"
#include "zk/fake_client.h"

namespace broker::server::cluster {
namespace {

namespace znodes = zk::znodes;
using testing::recording_channel;
using testing::run_until;

using leader_and_isr_request = protocol::leader_and_isr_request;
using update_metadata_request = protocol::update_metadata_request;

constexpr int8_t type_full = 2;

// One broker: its ZooKeeper session, and optionally a controller with its recording channel.
struct member {
    int32_t id = -1;
    std::unique_ptr<zk::fake_client> session;
    recording_channel channel;
    std::unique_ptr<controller> ctl;
    bool finished = true;
    std::vector<int32_t> seen_controller_ids;
};

class controller_test : public ::testing::Test {
protected:
    void SetUp() override {
        admin_ = std::make_unique<zk::fake_client>(io_.get_executor(), server_);
        for (const auto path : znodes::persistent_paths()) {
            testing::create_path(io_, *admin_, std::string(path));
        }
    }

    void TearDown() override {
        for (auto& [id, m] : members_) {
            if (m->ctl) {
                m->ctl->stop();
            }
        }
        EXPECT_TRUE(run_until(io_, [&] {
            return std::all_of(members_.begin(), members_.end(),
                               [](const auto& entry) { return entry.second->finished; });
        }));
        members_.clear();
        admin_.reset();
    }

    static controller_settings settings_for(int32_t id) {
        controller_settings s;
        s.broker_id = id;
        s.auto_leader_rebalance_enable = false;
        s.seed = 1;
        return s;
    }

    // A broker session with its registration; with `settings`, a controller too.
    member& add_broker(int32_t id, std::optional<controller_settings> settings = std::nullopt) {
        auto m = std::make_unique<member>();
        m->id = id;
        auto& ref = *m;
        members_[id] = std::move(m);
        register_broker(ref);
        if (settings) {
            start_controller(ref, *settings);
        }
        return ref;
    }
    member& add_controller(int32_t id) { return add_broker(id, settings_for(id)); }

    void register_broker(member& m) {
        m.session = std::make_unique<zk::fake_client>(io_.get_executor(), server_);
        ASSERT_EQ(
            testing::create_node(io_, *m.session, znodes::broker_path(m.id),
                                 znodes::encode_broker(testing::registration(m.id, 9000 + m.id)),
                                 zk::create_mode::ephemeral),
            zk::error_code::ok);
    }

    void start_controller(member& m, const controller_settings& settings) {
        m.ctl = std::make_unique<controller>(*m.session, m.channel, settings);
        m.ctl->on_controller_change([&m](int32_t id) { m.seen_controller_ids.push_back(id); });
        m.finished = false;
        net::co_spawn(io_, m.ctl->run(), [&m](std::exception_ptr error) {
            m.finished = true;
            EXPECT_FALSE(error) << "run() threw";
        });
    }

    // Ends the broker's session (its registration and any /controller of it go) and waits for
    // its controller's run() to return.
    void expire(int32_t id) {
        auto& m = *members_.at(id);
        m.session->expire_session();
        ASSERT_TRUE(run_until(io_, [&] { return m.finished; }));
    }

    // A new session for a broker whose session expired, registered again; with `settings`, a
    // new controller on it.
    void bring_back(int32_t id, std::optional<controller_settings> settings = std::nullopt) {
        auto& m = *members_.at(id);
        ASSERT_TRUE(m.finished);
        m.ctl.reset();
        m.session.reset();
        register_broker(m);
        if (settings) {
            start_controller(m, *settings);
        }
    }

    member* active_member() {
        member* found = nullptr;
        for (auto& [id, m] : members_) {
            if (m->ctl && m->ctl->active()) {
                EXPECT_EQ(found, nullptr) << "two active controllers";
                found = m.get();
            }
        }
        return found;
    }

    member& wait_active() {
        EXPECT_TRUE(run_until(io_, [&] { return active_member() != nullptr; }));
        auto* m = active_member();
        if (m == nullptr) {
            throw std::runtime_error("no active controller");
        }
        // Let the activation finish its sends.
        testing::run_ready(io_);
        return *m;
    }

    void create_topic(const std::string& name, std::map<int32_t, std::vector<int32_t>> partitions,
                      uint8_t id_seed) {
        znodes::topic_assignment t;
        t.topic_id = testing::topic_id_text(id_seed);
        t.partitions = std::move(partitions);
        ASSERT_EQ(
            testing::create_node(io_, *admin_, znodes::topic_path(name), znodes::encode_topic(t)),
            zk::error_code::ok);
    }

    std::optional<znodes::partition_state> state(const std::string& topic, int32_t p) {
        auto s = testing::read_partition_state(io_, *admin_, topic, p);
        return s ? std::optional<znodes::partition_state>(s->first) : std::nullopt;
    }
    int32_t state_version(const std::string& topic, int32_t p) {
        auto s = testing::read_partition_state(io_, *admin_, topic, p);
        return s ? s->second : -1;
    }

    bool wait_state(const std::string& topic, int32_t p,
                    const std::function<bool(const znodes::partition_state&)>& check) {
        return run_until(io_, [&] {
            auto s = state(topic, p);
            return s && check(*s);
        });
    }
    bool wait_leader(const std::string& topic, int32_t p, int32_t leader) {
        return wait_state(topic, p, [&](const auto& s) { return s.leader == leader; });
    }

    void write_state(const std::string& topic, int32_t p, const znodes::partition_state& s) {
        ASSERT_EQ(testing::set_node(io_, *admin_, znodes::partition_state_path(topic, p),
                                    znodes::encode_partition_state(s)),
                  zk::error_code::ok);
    }

    int64_t czxid(int32_t broker) {
        auto node = testing::run_sync(io_, admin_->get(znodes::broker_path(broker)));
        EXPECT_TRUE(node.ok());
        return node.value.stat.czxid;
    }

    std::string data(const std::string& path) {
        auto node = testing::run_sync(io_, admin_->get(path));
        return node.ok() ? node.value.data : std::string("<missing>");
    }

    bool exists(const std::string& path) { return testing::node_exists(io_, *admin_, path); }

    net::io_context io_;
    zk::fake_server server_;
    std::unique_ptr<zk::fake_client> admin_;
    std::map<int32_t, std::unique_ptr<member>> members_;
};

// ---- request lookups

using partition_state_l = leader_and_isr_request::leader_and_isr_partition_state;
using partition_state_u = update_metadata_request::update_metadata_partition_state;

const partition_state_l* find_partition(const leader_and_isr_request& r, const std::string& topic,
                                        int32_t p) {
    for (const auto& t : r.topic_states) {
        if (t.topic_name != topic) {
            continue;
        }
        for (const auto& s : t.partition_states) {
            if (s.partition_index == p) {
                return &s;
            }
        }
    }
    return nullptr;
}

const partition_state_u* find_partition(const update_metadata_request& r, const std::string& topic,
                                        int32_t p) {
    for (const auto& t : r.topic_states) {
        if (t.topic_name != topic) {
            continue;
        }
        for (const auto& s : t.partition_states) {
            if (s.partition_index == p) {
                return &s;
            }
        }
    }
    return nullptr;
}

// The last request of a kind sent to `to` that names topic-p.
template <typename Request>
const Request* last_with(const std::vector<recording_channel::sent<Request>>& sent, int32_t to,
                         const std::string& topic, int32_t p) {
    for (auto it = sent.rbegin(); it != sent.rend(); ++it) {
        if (it->to == to && find_partition(it->request, topic, p) != nullptr) {
            return &it->request;
        }
    }
    return nullptr;
}

template <typename Request>
std::vector<const Request*> sent_to(const std::vector<recording_channel::sent<Request>>& sent,
                                    int32_t to) {
    std::vector<const Request*> out;
    for (const auto& s : sent) {
        if (s.to == to) {
            out.push_back(&s.request);
        }
    }
    return out;
}

std::vector<int32_t> live_ids(const update_metadata_request& r) {
    std::vector<int32_t> out;
    for (const auto& b : r.live_brokers) {
        out.push_back(b.id);
    }
    return out;
}

using ids = std::vector<int32_t>;

// ---- election

TEST_F(controller_test, one_of_two_wins_and_the_other_sees_it) {
    // Both registered before either contends, so the winner's first sends are its only ones.
    auto& a = add_broker(1);
    auto& b = add_broker(2);
    start_controller(a, settings_for(1));
    start_controller(b, settings_for(2));
    auto& winner = wait_active();
    auto& loser = winner.id == 1 ? b : a;
    ASSERT_TRUE(run_until(io_, [&] { return loser.ctl->controller_id() == winner.id; }));

    EXPECT_FALSE(loser.ctl->active());
    EXPECT_EQ(winner.ctl->controller_id(), winner.id);
    EXPECT_EQ(winner.ctl->epoch(), 1);
    EXPECT_EQ(loser.ctl->epoch(), 0);
    EXPECT_EQ(loser.seen_controller_ids.back(), winner.id);
    EXPECT_EQ(winner.seen_controller_ids.back(), winner.id);

    const auto registration = znodes::decode_controller(data("/controller"));
    ASSERT_TRUE(registration);
    EXPECT_EQ(registration->broker_id, winner.id);
    EXPECT_EQ(data("/controller_epoch"), "1");

    // The winner talks to both brokers; the loser to none.
    ASSERT_EQ(winner.channel.brokers.size(), 2u);
    EXPECT_EQ(winner.channel.brokers.at(1), (broker_address{1, "127.0.0.1", 9001}));
    EXPECT_EQ(winner.channel.brokers.at(2), (broker_address{2, "127.0.0.1", 9002}));
    EXPECT_TRUE(loser.channel.brokers.empty());
    EXPECT_TRUE(loser.channel.update_metadata.empty());
    // The first sends: a full UpdateMetadata and a full LeaderAndIsr to each broker.
    for (int32_t id : {1, 2}) {
        const auto um = sent_to(winner.channel.update_metadata, id);
        ASSERT_EQ(um.size(), 1u) << id;
        EXPECT_EQ(live_ids(*um[0]), (ids{1, 2}));
        EXPECT_EQ(um[0]->controller_epoch, 1);
        EXPECT_EQ(um[0]->controller_id, winner.id);
        EXPECT_EQ(um[0]->broker_epoch, czxid(id));
        const auto lai = sent_to(winner.channel.leader_and_isr, id);
        ASSERT_EQ(lai.size(), 1u) << id;
        EXPECT_EQ(lai[0]->type, type_full);
        EXPECT_EQ(lai[0]->broker_epoch, czxid(id));
    }
}

TEST_F(controller_test, epoch_continues_from_the_stored_one) {
    ASSERT_EQ(testing::create_node(io_, *admin_, "/controller_epoch", "7"), zk::error_code::ok);
    auto& a = add_controller(1);
    wait_active();
    EXPECT_EQ(a.ctl->epoch(), 8);
    EXPECT_EQ(data("/controller_epoch"), "8");
}

TEST_F(controller_test, stop_deletes_controller_node_and_the_other_takes_over) {
    auto& a = add_controller(1);
    auto& b = add_controller(2);
    auto& first = wait_active();
    auto& second = first.id == 1 ? b : a;
    first.ctl->stop();
    ASSERT_TRUE(run_until(io_, [&] { return first.finished; }));
    EXPECT_FALSE(first.ctl->active());
    // Its channel is cleared.
    EXPECT_TRUE(first.channel.brokers.empty());
    ASSERT_TRUE(run_until(io_, [&] { return second.ctl->active(); }));
    EXPECT_EQ(second.ctl->epoch(), 2);
    EXPECT_EQ(data("/controller_epoch"), "2");
    EXPECT_EQ(znodes::decode_controller(data("/controller"))->broker_id, second.id);
}

TEST_F(controller_test, a_deleted_controller_node_means_resign_and_contend_again) {
    auto& a = add_controller(1);
    wait_active();
    ASSERT_EQ(testing::run_sync(io_, admin_->erase("/controller", zk::any_version)).error,
              zk::error_code::ok);
    // It resigns (its channel is cleared), contends again and wins with the next epoch.
    ASSERT_TRUE(run_until(io_, [&] { return a.ctl->active() && a.ctl->epoch() == 2; }));
    EXPECT_EQ(a.channel.removed, (ids{1}));
    EXPECT_EQ(a.channel.brokers.size(), 1u);
}

TEST_F(controller_test, another_id_in_controller_node_means_resign) {
    auto& a = add_controller(1);
    wait_active();
    ASSERT_EQ(testing::set_node(io_, *admin_, "/controller", znodes::encode_controller({9, 1})),
              zk::error_code::ok);
    ASSERT_TRUE(run_until(io_, [&] { return a.ctl->controller_id() == 9; }));
    EXPECT_FALSE(a.ctl->active());
    EXPECT_TRUE(a.channel.brokers.empty());
    EXPECT_EQ(a.seen_controller_ids.back(), 9);
}

TEST_F(controller_test, a_fenced_controller_writes_nothing_and_resigns) {
    auto& a = add_controller(1);
    add_broker(2);
    wait_active();
    ASSERT_EQ(a.ctl->epoch(), 1);
    // Another controller bumped the epoch behind this one's back.
    ASSERT_EQ(testing::set_node(io_, *admin_, "/controller_epoch", "5"), zk::error_code::ok);
    create_topic("t", {{0, {1, 2}}}, 1);
    // The write at epoch 1 fails; it resigns, contends again and writes at epoch 6.
    ASSERT_TRUE(wait_state("t", 0, [](const auto&) { return true; }));
    testing::run_ready(io_);
    const auto s = state("t", 0);
    EXPECT_EQ(s->controller_epoch, 6);
    EXPECT_EQ(state_version("t", 0), 0);  // created once, by the epoch 6 controller
    EXPECT_EQ(a.ctl->epoch(), 6);
    EXPECT_TRUE(a.ctl->active());
    auto removed = a.channel.removed;
    std::sort(removed.begin(), removed.end());
    EXPECT_EQ(removed, (ids{1, 2}));
    // Nothing was ever sent about t at epoch 1.
    for (const auto& sent : a.channel.leader_and_isr) {
        if (find_partition(sent.request, "t", 0) != nullptr) {
            EXPECT_EQ(sent.request.controller_epoch, 6);
        }
    }
}

TEST_F(controller_test, a_lost_connection_is_waited_out) {
    auto& a = add_controller(1);
    wait_active();
    a.session->disconnect();
    create_topic("patient", {{0, {1}}}, 1);
    // The watch fired; every read fails with connection_loss and waits for the next attempt.
    testing::run_ready(io_);
    EXPECT_FALSE(state("patient", 0));
    EXPECT_TRUE(a.ctl->active());
    a.session->reconnect();
    ASSERT_TRUE(wait_leader("patient", 0, 1));
    EXPECT_EQ(state("patient", 0)->controller_epoch, 1);
}

// ---- topics

TEST_F(controller_test, new_topic_gets_leaders_state_nodes_and_requests) {
    auto& a = add_controller(1);
    add_broker(2);
    add_broker(3);
    wait_active();
    a.channel.clear_sent();
    create_topic("orders", {{0, {1, 2, 3}}, {1, {2, 3, 1}}, {2, {3, 1, 2}}}, 7);
    for (int32_t p = 0; p < 3; ++p) {
        ASSERT_TRUE(wait_state("orders", p, [](const auto&) { return true; })) << p;
    }
    ASSERT_TRUE(run_until(io_, [&] { return a.channel.update_metadata.size() >= 3; }));
    testing::run_ready(io_);

    const std::map<int32_t, ids> replicas{{0, {1, 2, 3}}, {1, {2, 3, 1}}, {2, {3, 1, 2}}};
    for (const auto& [p, r] : replicas) {
        const auto s = state("orders", p);
        EXPECT_EQ(s->leader, r.front());
        EXPECT_EQ(s->isr, r);
        EXPECT_EQ(s->leader_epoch, 0);
        EXPECT_EQ(s->controller_epoch, 1);
        EXPECT_EQ(state_version("orders", p), 0);
    }
    const auto topic_id = protocol::uuid::from_string(testing::topic_id_text(7));
    ASSERT_TRUE(topic_id);
    for (int32_t broker : {1, 2, 3}) {
        const auto lai = sent_to(a.channel.leader_and_isr, broker);
        ASSERT_EQ(lai.size(), 1u) << broker;
        const auto& r = *lai[0];
        EXPECT_EQ(r.controller_id, 1);
        EXPECT_EQ(r.controller_epoch, 1);
        EXPECT_EQ(r.broker_epoch, czxid(broker));
        EXPECT_EQ(r.type, 0);
        ASSERT_EQ(r.topic_states.size(), 1u);
        EXPECT_EQ(r.topic_states[0].topic_name, "orders");
        EXPECT_EQ(r.topic_states[0].topic_id, *topic_id);
        ASSERT_EQ(r.topic_states[0].partition_states.size(), 3u);
        for (const auto& [p, reps] : replicas) {
            const auto* ps = find_partition(r, "orders", p);
            ASSERT_NE(ps, nullptr);
            EXPECT_EQ(ps->leader, reps.front());
            EXPECT_EQ(ps->isr, reps);
            EXPECT_EQ(ps->replicas, reps);
            EXPECT_EQ(ps->leader_epoch, 0);
            EXPECT_EQ(ps->controller_epoch, 1);
            EXPECT_EQ(ps->partition_epoch, 0);
            EXPECT_TRUE(ps->is_new);
        }
        ASSERT_EQ(r.live_leaders.size(), 3u);
        for (const auto& l : r.live_leaders) {
            EXPECT_EQ(l.host_name, "127.0.0.1");
            EXPECT_EQ(l.port, 9000 + l.broker_id);
        }

        const auto um = sent_to(a.channel.update_metadata, broker);
        ASSERT_EQ(um.size(), 1u) << broker;
        EXPECT_EQ(um[0]->broker_epoch, czxid(broker));
        EXPECT_EQ(um[0]->controller_epoch, 1);
        EXPECT_EQ(um[0]->topic_states.at(0).topic_id, *topic_id);
        for (const auto& [p, reps] : replicas) {
            const auto* ps = find_partition(*um[0], "orders", p);
            ASSERT_NE(ps, nullptr);
            EXPECT_EQ(ps->leader, reps.front());
            EXPECT_EQ(ps->isr, reps);
            EXPECT_EQ(ps->replicas, reps);
            EXPECT_EQ(ps->zk_version, 0);
            EXPECT_EQ(ps->controller_epoch, 1);
            EXPECT_TRUE(ps->offline_replicas.empty());
        }
        ASSERT_EQ(live_ids(*um[0]), (ids{1, 2, 3}));
        const auto& b = um[0]->live_brokers.at(1);
        ASSERT_EQ(b.endpoints.size(), 1u);
        EXPECT_EQ(b.endpoints[0].host, "127.0.0.1");
        EXPECT_EQ(b.endpoints[0].port, 9002);
        EXPECT_EQ(b.endpoints[0].listener, "PLAINTEXT");
        EXPECT_EQ(b.endpoints[0].security_protocol, 0);
        EXPECT_FALSE(b.rack.has_value());
    }
    // The state nodes' parents exist.
    EXPECT_TRUE(exists("/brokers/topics/orders/partitions/2"));
}

TEST_F(controller_test, a_partition_without_live_replicas_waits_for_one) {
    auto& a = add_controller(1);
    wait_active();
    create_topic("later", {{0, {7}}}, 1);
    create_topic("now", {{0, {1}}}, 2);
    ASSERT_TRUE(wait_leader("now", 0, 1));
    testing::run_ready(io_);
    EXPECT_FALSE(state("later", 0));
    a.channel.clear_sent();
    // Broker 7 registers: the partition gets its first leader.
    add_broker(7);
    ASSERT_TRUE(wait_leader("later", 0, 7));
    const auto s = state("later", 0);
    EXPECT_EQ(s->isr, (ids{7}));
    EXPECT_EQ(s->leader_epoch, 0);
    ASSERT_TRUE(run_until(io_, [&] { return last_with(a.channel.leader_and_isr, 7, "later", 0); }));
    EXPECT_TRUE(
        find_partition(*last_with(a.channel.leader_and_isr, 7, "later", 0), "later", 0)->is_new);
}

TEST_F(controller_test, added_partitions_get_leaders) {
    auto& a = add_controller(1);
    add_broker(2);
    wait_active();
    create_topic("grow", {{0, {1, 2}}}, 3);
    ASSERT_TRUE(wait_leader("grow", 0, 1));
    testing::run_ready(io_);
    a.channel.clear_sent();

    znodes::topic_assignment grown;
    grown.topic_id = testing::topic_id_text(3);
    grown.partitions = {{0, {1, 2}}, {1, {2, 1}}};
    ASSERT_EQ(
        testing::set_node(io_, *admin_, znodes::topic_path("grow"), znodes::encode_topic(grown)),
        zk::error_code::ok);
    ASSERT_TRUE(wait_leader("grow", 1, 2));
    ASSERT_TRUE(run_until(io_, [&] { return a.channel.update_metadata.size() >= 2; }));
    const auto s = state("grow", 1);
    EXPECT_EQ(s->isr, (ids{2, 1}));
    EXPECT_EQ(s->leader_epoch, 0);
    // Only the new partition is sent, as new.
    for (int32_t broker : {1, 2}) {
        const auto lai = sent_to(a.channel.leader_and_isr, broker);
        ASSERT_EQ(lai.size(), 1u);
        EXPECT_EQ(find_partition(*lai[0], "grow", 0), nullptr);
        const auto* ps = find_partition(*lai[0], "grow", 1);
        ASSERT_NE(ps, nullptr);
        EXPECT_TRUE(ps->is_new);
        EXPECT_EQ(ps->leader, 2);
        const auto um = sent_to(a.channel.update_metadata, broker);
        ASSERT_EQ(um.size(), 1u);
        EXPECT_NE(find_partition(*um[0], "grow", 1), nullptr);
    }
    // The first partition is untouched.
    EXPECT_EQ(state_version("grow", 0), 0);
}

TEST_F(controller_test, topic_deletion_stops_replicas_and_removes_znodes) {
    auto& a = add_controller(1);
    add_broker(2);
    add_broker(3);
    wait_active();
    create_topic("doomed", {{0, {1, 2}}, {1, {2, 3}}}, 4);
    ASSERT_EQ(testing::create_node(io_, *admin_, znodes::config_topic_path("doomed"),
                                   znodes::encode_config({{"retention.ms", "1000"}})),
              zk::error_code::ok);
    ASSERT_TRUE(wait_leader("doomed", 1, 2));
    testing::run_ready(io_);
    a.channel.clear_sent();

    ASSERT_EQ(testing::create_node(io_, *admin_, znodes::delete_topic_path("doomed"), ""),
              zk::error_code::ok);
    ASSERT_TRUE(run_until(io_, [&] {
        return !exists(znodes::topic_path("doomed")) &&
               !exists(znodes::delete_topic_path("doomed"));
    }));
    testing::run_ready(io_);
    EXPECT_FALSE(exists(znodes::config_topic_path("doomed")));

    const std::map<int32_t, ids> expected{{1, {0}}, {2, {0, 1}}, {3, {1}}};
    for (const auto& [broker, partitions] : expected) {
        const auto stops = sent_to(a.channel.stop_replica, broker);
        ASSERT_EQ(stops.size(), 1u) << broker;
        const auto& r = *stops[0];
        EXPECT_TRUE(r.delete_partitions);
        EXPECT_EQ(r.controller_epoch, 1);
        EXPECT_EQ(r.broker_epoch, czxid(broker));
        ASSERT_EQ(r.topic_states.size(), 1u);
        EXPECT_EQ(r.topic_states[0].topic_name, "doomed");
        ids got;
        for (const auto& ps : r.topic_states[0].partition_states) {
            got.push_back(ps.partition_index);
            EXPECT_TRUE(ps.delete_partition);
            EXPECT_EQ(ps.leader_epoch, -2);
        }
        EXPECT_EQ(got, partitions);

        const auto um = sent_to(a.channel.update_metadata, broker);
        ASSERT_EQ(um.size(), 1u) << broker;
        for (int32_t p : {0, 1}) {
            const auto* ps = find_partition(*um[0], "doomed", p);
            ASSERT_NE(ps, nullptr);
            EXPECT_EQ(ps->leader, -2);
        }
    }
    // A later topic of the same name is a new topic.
    create_topic("doomed", {{0, {3}}}, 5);
    ASSERT_TRUE(wait_leader("doomed", 0, 3));
}

TEST_F(controller_test, deletion_disabled_drops_the_request) {
    auto settings = settings_for(1);
    settings.delete_topic_enable = false;
    auto& a = add_broker(1, settings);
    wait_active();
    create_topic("kept", {{0, {1}}}, 1);
    ASSERT_TRUE(wait_leader("kept", 0, 1));
    ASSERT_EQ(testing::create_node(io_, *admin_, znodes::delete_topic_path("kept"), ""),
              zk::error_code::ok);
    ASSERT_TRUE(run_until(io_, [&] { return !exists(znodes::delete_topic_path("kept")); }));
    EXPECT_TRUE(exists(znodes::topic_path("kept")));
    EXPECT_TRUE(state("kept", 0));
    EXPECT_TRUE(a.channel.stop_replica.empty());
}

// ---- brokers

class broker_change_test : public controller_test {
protected:
    // Controller on 1; brokers 2 and 3. t: 0 led by 2, 1 led by 3; solo: one replica, on 2.
    void SetUp() override {
        controller_test::SetUp();
        ctl_ = &add_controller(1);
        add_broker(2);
        add_broker(3);
        wait_active();
        create_topic("t", {{0, {2, 3}}, {1, {3, 2}}}, 1);
        create_topic("solo", {{0, {2}}}, 2);
        ASSERT_TRUE(wait_leader("solo", 0, 2));
        testing::run_ready(io_);
        ctl_->channel.clear_sent();
    }
    member* ctl_ = nullptr;
};

TEST_F(broker_change_test, gone_broker_loses_leadership_and_isr_places) {
    expire(2);
    ASSERT_TRUE(wait_leader("t", 0, 3));
    ASSERT_TRUE(wait_state("solo", 0, [](const auto& s) { return s.leader == -1; }));
    ASSERT_TRUE(run_until(io_, [&] { return !ctl_->channel.update_metadata.empty(); }));
    testing::run_ready(io_);

    const auto t0 = state("t", 0);
    EXPECT_EQ(t0->isr, (ids{3}));
    EXPECT_EQ(t0->leader_epoch, 1);
    EXPECT_EQ(t0->controller_epoch, 1);
    const auto t1 = state("t", 1);
    EXPECT_EQ(t1->leader, 3);
    EXPECT_EQ(t1->isr, (ids{3}));
    EXPECT_EQ(t1->leader_epoch, 1);
    // One replica: no leader, the in-sync set keeps its last member.
    const auto solo = state("solo", 0);
    EXPECT_EQ(solo->isr, (ids{2}));
    EXPECT_EQ(solo->leader_epoch, 1);

    EXPECT_EQ(ctl_->channel.removed, (ids{2}));
    EXPECT_EQ(ctl_->channel.brokers.count(2), 0u);
    EXPECT_EQ(ctl_->channel.dropped, 0);
    // LeaderAndIsr to the live replica of t's partitions, with the new epochs.
    const auto* lai = last_with(ctl_->channel.leader_and_isr, 3, "t", 0);
    ASSERT_NE(lai, nullptr);
    EXPECT_EQ(find_partition(*lai, "t", 0)->leader, 3);
    EXPECT_EQ(find_partition(*lai, "t", 0)->leader_epoch, 1);
    EXPECT_FALSE(find_partition(*lai, "t", 0)->is_new);
    EXPECT_EQ(find_partition(*lai, "t", 0)->partition_epoch, state_version("t", 0));
    ASSERT_NE(last_with(ctl_->channel.leader_and_isr, 3, "t", 1), nullptr);
    EXPECT_TRUE(sent_to(ctl_->channel.leader_and_isr, 1).empty());
    // UpdateMetadata to the live brokers, the dead replica offline.
    for (int32_t broker : {1, 3}) {
        const auto* um = last_with(ctl_->channel.update_metadata, broker, "solo", 0);
        ASSERT_NE(um, nullptr) << broker;
        EXPECT_EQ(live_ids(*um), (ids{1, 3}));
        EXPECT_EQ(find_partition(*um, "solo", 0)->leader, -1);
        EXPECT_EQ(find_partition(*um, "solo", 0)->offline_replicas, (ids{2}));
        EXPECT_EQ(find_partition(*um, "t", 0)->offline_replicas, (ids{2}));
        EXPECT_EQ(find_partition(*um, "t", 1)->isr, (ids{3}));
    }
}

TEST_F(broker_change_test, broker_back_gets_its_roles_and_offline_partitions_a_leader) {
    expire(2);
    ASSERT_TRUE(wait_state("solo", 0, [](const auto& s) { return s.leader == -1; }));
    testing::run_ready(io_);
    ctl_->channel.clear_sent();

    bring_back(2);
    ASSERT_TRUE(wait_leader("solo", 0, 2));
    ASSERT_TRUE(
        run_until(io_, [&] { return last_with(ctl_->channel.update_metadata, 3, "solo", 0); }));
    testing::run_ready(io_);
    const auto solo = state("solo", 0);
    EXPECT_EQ(solo->isr, (ids{2}));
    EXPECT_EQ(solo->leader_epoch, 2);
    // t's leaders stay where they are (no rebalance here).
    EXPECT_EQ(state("t", 0)->leader, 3);

    ASSERT_EQ(ctl_->channel.brokers.count(2), 1u);
    const auto back_epoch = czxid(2);
    // A full UpdateMetadata, then a full LeaderAndIsr with all of its partitions.
    const auto um = sent_to(ctl_->channel.update_metadata, 2);
    ASSERT_FALSE(um.empty());
    EXPECT_EQ(um[0]->broker_epoch, back_epoch);
    EXPECT_EQ(live_ids(*um[0]), (ids{1, 2, 3}));
    EXPECT_NE(find_partition(*um[0], "t", 0), nullptr);
    EXPECT_NE(find_partition(*um[0], "t", 1), nullptr);
    const auto lai = sent_to(ctl_->channel.leader_and_isr, 2);
    ASSERT_FALSE(lai.empty());
    EXPECT_EQ(lai[0]->type, type_full);
    EXPECT_EQ(lai[0]->broker_epoch, back_epoch);
    EXPECT_NE(find_partition(*lai[0], "t", 0), nullptr);
    EXPECT_NE(find_partition(*lai[0], "t", 1), nullptr);
    EXPECT_NE(find_partition(*lai[0], "solo", 0), nullptr);
    // The others learn the new live set.
    const auto others = sent_to(ctl_->channel.update_metadata, 3);
    ASSERT_FALSE(others.empty());
    EXPECT_EQ(live_ids(*others[0]), (ids{1, 2, 3}));
    // The election of solo-0 reaches its replica.
    const auto* elected = last_with(ctl_->channel.leader_and_isr, 2, "solo", 0);
    ASSERT_NE(elected, nullptr);
    EXPECT_EQ(find_partition(*elected, "solo", 0)->leader, 2);
    EXPECT_EQ(find_partition(*elected, "solo", 0)->leader_epoch, 2);
}

TEST_F(broker_change_test, a_new_registration_is_the_broker_gone_then_back) {
    const auto before = czxid(2);
    members_.at(2)->session->expire_session();
    bring_back(2);  // registered again before the controller looked
    ASSERT_TRUE(run_until(io_, [&] {
        const auto lai = sent_to(ctl_->channel.leader_and_isr, 2);
        return !lai.empty() && lai.back()->broker_epoch == czxid(2);
    }));
    testing::run_ready(io_);
    EXPECT_NE(czxid(2), before);
    EXPECT_EQ(ctl_->channel.removed, (ids{2}));
    EXPECT_EQ(ctl_->channel.brokers.count(2), 1u);
    // The partitions it led moved while it was "gone".
    EXPECT_EQ(state("t", 0)->leader, 3);
    EXPECT_GE(state("t", 0)->leader_epoch, 1);
    EXPECT_EQ(state("solo", 0)->leader, 2);
    EXPECT_EQ(state("solo", 0)->leader_epoch, 2);
}

// ---- failover

TEST_F(controller_test, failover_to_another_broker_with_the_next_epoch) {
    add_controller(1);
    add_controller(2);
    add_controller(3);
    auto& first = wait_active();
    create_topic("f", {{0, {1, 2, 3}}, {1, {2, 3, 1}}, {2, {3, 1, 2}}}, 9);
    for (int32_t p = 0; p < 3; ++p) {
        ASSERT_TRUE(wait_state("f", p, [](const auto&) { return true; }));
    }
    testing::run_ready(io_);
    const int32_t gone = first.id;

    expire(gone);
    EXPECT_FALSE(first.ctl->active());
    auto& next = wait_active();
    ASSERT_NE(next.id, gone);
    EXPECT_EQ(next.ctl->epoch(), 2);
    EXPECT_EQ(data("/controller_epoch"), "2");

    for (int32_t p = 0; p < 3; ++p) {
        const auto s = state("f", p);
        ASSERT_TRUE(s);
        EXPECT_NE(s->leader, gone) << p;
        EXPECT_TRUE(std::find(s->isr.begin(), s->isr.end(), gone) == s->isr.end()) << p;
        EXPECT_EQ(s->leader_epoch, 1) << p;  // every isr held the dead broker
        EXPECT_EQ(s->controller_epoch, 2) << p;
    }
    // The full state to each live broker, at the new epoch.
    for (const auto& [id, m] : members_) {
        if (id == gone) {
            continue;
        }
        const auto lai = sent_to(next.channel.leader_and_isr, id);
        ASSERT_FALSE(lai.empty()) << id;
        EXPECT_EQ(lai[0]->type, type_full);
        EXPECT_EQ(lai[0]->controller_epoch, 2);
        EXPECT_EQ(lai[0]->controller_id, next.id);
        for (int32_t p = 0; p < 3; ++p) {
            const auto* ps = find_partition(*lai[0], "f", p);
            ASSERT_NE(ps, nullptr);
            EXPECT_EQ(ps->leader, state("f", p)->leader);
        }
        const auto um = sent_to(next.channel.update_metadata, id);
        ASSERT_FALSE(um.empty());
        EXPECT_EQ(um[0]->controller_epoch, 2);
        EXPECT_EQ(um[0]->live_brokers.size(), 2u);
        EXPECT_NE(find_partition(*um[0], "f", 2), nullptr);
    }
}

// ---- auto leader rebalance and unclean election

TEST_F(controller_test, auto_rebalance_restores_the_preferred_leader) {
    auto settings = settings_for(1);
    settings.auto_leader_rebalance_enable = true;
    settings.leader_imbalance_check_interval = std::chrono::milliseconds(20);
    auto& a = add_broker(1, settings);
    add_broker(2);
    add_broker(3);
    wait_active();
    create_topic("r", {{0, {2, 3}}}, 1);
    ASSERT_TRUE(wait_leader("r", 0, 2));
    expire(2);
    ASSERT_TRUE(wait_leader("r", 0, 3));
    bring_back(2);
    ASSERT_TRUE(run_until(io_, [&] { return a.channel.brokers.count(2) != 0; }));
    // Broker 2 is not in sync yet: the preferred replica cannot lead. The leader then takes it
    // back into the in-sync set (as a leader's ISR expansion writes the state node).
    auto s = *state("r", 0);
    EXPECT_EQ(s.isr, (ids{3}));
    EXPECT_EQ(s.leader, 3);
    s.isr = {3, 2};
    a.channel.clear_sent();
    write_state("r", 0, s);
    ASSERT_TRUE(wait_leader("r", 0, 2));
    const auto after = state("r", 0);
    EXPECT_EQ(after->leader_epoch, s.leader_epoch + 1);
    EXPECT_EQ(after->isr, (ids{3, 2}));
    ASSERT_TRUE(run_until(io_, [&] { return last_with(a.channel.leader_and_isr, 3, "r", 0); }));
    for (int32_t broker : {2, 3}) {
        const auto* lai = last_with(a.channel.leader_and_isr, broker, "r", 0);
        ASSERT_NE(lai, nullptr) << broker;
        EXPECT_EQ(find_partition(*lai, "r", 0)->leader, 2);
    }
}

TEST_F(controller_test, unclean_election_follows_the_topic_override) {
    add_controller(1);
    add_broker(2);
    add_broker(3);
    wait_active();
    create_topic("clean", {{0, {2, 3}}}, 1);
    create_topic("dirty", {{0, {2, 3}}}, 2);
    ASSERT_EQ(
        testing::create_node(io_, *admin_, znodes::config_topic_path("dirty"),
                             znodes::encode_config({{"unclean.leader.election.enable", "true"}})),
        zk::error_code::ok);
    ASSERT_TRUE(wait_leader("clean", 0, 2));
    ASSERT_TRUE(wait_leader("dirty", 0, 2));
    // Broker 3 fell out of sync on both.
    for (const std::string topic : {"clean", "dirty"}) {
        auto s = *state(topic, 0);
        s.isr = {2};
        write_state(topic, 0, s);
    }
    expire(2);
    ASSERT_TRUE(wait_leader("dirty", 0, 3));
    ASSERT_TRUE(wait_state("clean", 0, [](const auto& s) { return s.leader_epoch == 1; }));
    const auto dirty = state("dirty", 0);
    EXPECT_EQ(dirty->isr, (ids{3}));
    EXPECT_EQ(dirty->leader_epoch, 1);
    const auto clean = state("clean", 0);
    EXPECT_EQ(clean->leader, -1);
    EXPECT_EQ(clean->isr, (ids{2}));
    // The in-sync replica comes back: a clean election.
    bring_back(2);
    ASSERT_TRUE(wait_leader("clean", 0, 2));
    EXPECT_EQ(state("clean", 0)->leader_epoch, 2);
    EXPECT_EQ(state("dirty", 0)->leader, 3);
}

TEST_F(controller_test, unclean_election_by_broker_default_unless_overridden) {
    auto settings = settings_for(1);
    settings.unclean_leader_election_enable = true;
    add_broker(1, settings);
    add_broker(2);
    add_broker(3);
    wait_active();
    create_topic("lenient", {{0, {2, 3}}}, 1);
    create_topic("strict", {{0, {2, 3}}}, 2);
    ASSERT_EQ(
        testing::create_node(io_, *admin_, znodes::config_topic_path("strict"),
                             znodes::encode_config({{"unclean.leader.election.enable", "false"}})),
        zk::error_code::ok);
    ASSERT_TRUE(wait_leader("lenient", 0, 2));
    ASSERT_TRUE(wait_leader("strict", 0, 2));
    for (const std::string topic : {"lenient", "strict"}) {
        auto s = *state(topic, 0);
        s.isr = {2};
        write_state(topic, 0, s);
    }
    expire(2);
    ASSERT_TRUE(wait_leader("lenient", 0, 3));
    ASSERT_TRUE(wait_state("strict", 0, [](const auto& s) { return s.leader_epoch == 1; }));
    EXPECT_EQ(state("strict", 0)->leader, -1);
}

}  // namespace
}  // namespace broker::server::cluster
