// The group APIs end to end on an in-process broker: version mapping of every request and
// response field the coordinator fills, error placement per version, FindCoordinator and the
// creation of `__consumer_offsets`, a JoinGroup that waits without holding up the broker, and
// offsets and groups surviving a restart.
#include "common/asio.h"

#include <gtest/gtest.h>

#include <climits>
#include <memory>
#include <string>
#include <vector>

#include "coordinator/java_string.h"
#include "protocol/api.h"
#include "protocol/errors.h"
#include "server/group_service.h"
#include "server/tests/test_util.h"

namespace broker::server {
namespace {

using protocol::error_code;

constexpr int16_t none = 0;
constexpr int16_t err(error_code e) {
    return static_cast<int16_t>(e);
}

/// A broker on 127.0.0.1:0 over a directory that outlives it, so it can be restarted.
class restartable_broker {
public:
    explicit restartable_broker(const std::string& dir,
                                std::vector<std::pair<std::string, std::string>> extra = {})
        : dir_(dir), extra_(std::move(extra)) {
        start();
    }

    void start() {
        std::vector<std::pair<std::string, std::string>> settings{
            {"group.initial.rebalance.delay.ms", "0"},
            {"offsets.topic.num.partitions", "5"},
        };
        settings.insert(settings.end(), extra_.begin(), extra_.end());
        server_ = test::start_test_broker(dir_, settings);
        port_ = server_->bound_endpoints().at(0).port();
    }
    void stop() { server_.reset(); }
    /// Adds (or replaces) a setting for the next start().
    void set(const std::string& key, const std::string& value) { extra_.emplace_back(key, value); }
    void restart() {
        stop();
        start();
    }

    uint16_t port() const { return port_; }
    broker_server& server() { return *server_; }

private:
    std::string dir_;
    std::vector<std::pair<std::string, std::string>> extra_;
    std::unique_ptr<broker_server> server_;
    uint16_t port_ = 0;
};

/// A client connection that sends typed requests and decodes typed responses.
class client {
public:
    explicit client(uint16_t port) : socket_(port) {}

    template <typename Response, typename Request>
    Response ask(int16_t key, int16_t version, const Request& request) {
        send(key, version, request);
        return receive<Response>(key, version);
    }
    template <typename Request>
    void send(int16_t key, int16_t version, const Request& request) {
        const int32_t id = ++correlation_;
        EXPECT_TRUE(socket_.send(test::request_frame(key, version, id, request)));
        pending_.push_back(id);
    }
    template <typename Response>
    Response receive(int16_t key, int16_t version) {
        auto frame = socket_.read_frame();
        if (!frame) {
            ADD_FAILURE() << "no response to API " << key << " v" << version;
            return Response{};
        }
        const int16_t header_version = protocol::response_header_version(key, version);
        const auto parsed = test::parse_response(std::move(*frame), header_version);
        EXPECT_FALSE(pending_.empty());
        if (!pending_.empty()) {
            EXPECT_EQ(parsed.correlation_id, pending_.front());
            pending_.erase(pending_.begin());
        }
        return test::decode_body<Response>(parsed, version);
    }
    test::raw_client& socket() { return socket_; }

private:
    test::raw_client socket_;
    int32_t correlation_ = 0;
    std::vector<int32_t> pending_;
};

// API keys.
constexpr int16_t offset_commit_key = 8;
constexpr int16_t offset_fetch_key = 9;
constexpr int16_t find_coordinator_key = 10;
constexpr int16_t join_group_key = 11;
constexpr int16_t heartbeat_key = 12;
constexpr int16_t leave_group_key = 13;
constexpr int16_t sync_group_key = 14;
constexpr int16_t describe_groups_key = 15;
constexpr int16_t list_groups_key = 16;
constexpr int16_t delete_groups_key = 42;
constexpr int16_t offset_delete_key = 47;

/// ConsumerProtocolSubscription v0 for `topics` (int16 version, then the v0 fields).
std::vector<uint8_t> subscription(const std::vector<std::string>& topics) {
    std::vector<uint8_t> out{0, 0};  // the int16 version, 0
    protocol::writer w(out);
    protocol::consumer_protocol_subscription s;
    s.topics = topics;
    protocol::encode(w, 0, s);
    return out;
}

protocol::join_group_request join_request(const std::string& group, const std::string& member,
                                          std::vector<std::string> topics = {"t"}) {
    protocol::join_group_request r;
    r.group_id = group;
    r.session_timeout_ms = 10000;
    r.rebalance_timeout_ms = 10000;
    r.member_id = member;
    r.protocol_type = "consumer";
    protocol::join_group_request::join_group_request_protocol p;
    p.name = "range";
    p.metadata = subscription(topics);
    r.protocols.push_back(std::move(p));
    return r;
}

/// Joins `group` as a new member at `version` (rejoining after MEMBER_ID_REQUIRED from v4).
protocol::join_group_response join(client& c, int16_t version, const std::string& group,
                                   std::vector<std::string> topics = {"t"}) {
    auto response = c.ask<protocol::join_group_response>(join_group_key, version,
                                                         join_request(group, "", topics));
    if (version >= 4) {
        EXPECT_EQ(response.error_code, err(error_code::member_id_required));
        EXPECT_FALSE(response.member_id.empty());
        response = c.ask<protocol::join_group_response>(
            join_group_key, version, join_request(group, response.member_id, topics));
    }
    return response;
}

protocol::sync_group_response sync(client& c, int16_t version, const std::string& group,
                                   int32_t generation, const std::string& member,
                                   std::vector<std::pair<std::string, std::vector<uint8_t>>> plan) {
    protocol::sync_group_request r;
    r.group_id = group;
    r.generation_id = generation;
    r.member_id = member;
    if (version >= 5) {
        r.protocol_type = "consumer";
        r.protocol_name = "range";
    }
    for (auto& [m, a] : plan) {
        protocol::sync_group_request::sync_group_request_assignment entry;
        entry.member_id = m;
        entry.assignment = a;
        r.assignments.push_back(std::move(entry));
    }
    return c.ask<protocol::sync_group_response>(sync_group_key, version, r);
}

protocol::heartbeat_request heartbeat_request(const std::string& group, int32_t generation,
                                              const std::string& member) {
    protocol::heartbeat_request r;
    r.group_id = group;
    r.generation_id = generation;
    r.member_id = member;
    return r;
}

protocol::offset_commit_request commit_request(
    const std::string& group, std::vector<std::tuple<std::string, int32_t, int64_t>> offsets) {
    protocol::offset_commit_request r;
    r.group_id = group;
    for (const auto& [topic, partition, offset] : offsets) {
        auto it = std::find_if(r.topics.begin(), r.topics.end(),
                               [&](const auto& t) { return t.name == topic; });
        if (it == r.topics.end()) {
            r.topics.emplace_back();
            r.topics.back().name = topic;
            it = std::prev(r.topics.end());
        }
        protocol::offset_commit_request::offset_commit_request_partition p;
        p.partition_index = partition;
        p.committed_offset = offset;
        p.committed_metadata = "m";
        it->partitions.push_back(p);
    }
    return r;
}

protocol::offset_fetch_request fetch_request(const std::string& group, const std::string& topic,
                                             std::vector<int32_t> partitions) {
    protocol::offset_fetch_request r;
    r.group_id = group;
    r.topics.emplace();
    protocol::offset_fetch_request::offset_fetch_request_topic t;
    t.name = topic;
    t.partition_indexes = std::move(partitions);
    r.topics->push_back(std::move(t));
    return r;
}

class group_handlers_test : public ::testing::Test {
protected:
    group_handlers_test() : broker_(dir_.sub("data")) {}

    void create_topic(const std::string& name, int32_t partitions) {
        new_topic t;
        t.name = name;
        t.num_partitions = partitions;
        ASSERT_TRUE(broker_.server().core().admin().create_topic(t, false).result.ok());
    }

    /// FindCoordinator v0 for `group`; the first one creates __consumer_offsets.
    void find_coordinator(client& c, const std::string& group) {
        protocol::find_coordinator_request r;
        r.key = group;
        const auto response =
            c.ask<protocol::find_coordinator_response>(find_coordinator_key, 0, r);
        ASSERT_EQ(response.error_code, none);
    }

    test::temp_dir dir_;
    restartable_broker broker_;
};

TEST(client_host, formats_addresses_as_java_prints_them) {
    using net::ip::make_address;
    using net::ip::tcp;
    EXPECT_EQ(client_host_of(tcp::endpoint(make_address("127.0.0.1"), 5)), "/127.0.0.1");
    EXPECT_EQ(client_host_of(tcp::endpoint(make_address("::1"), 5)), "/0:0:0:0:0:0:0:1");
    EXPECT_EQ(client_host_of(tcp::endpoint(make_address("fe80::a:bc%3"), 5)),
              "/fe80:0:0:0:0:0:a:bc%3");
    EXPECT_EQ(client_host_of(tcp::endpoint(make_address("::ffff:10.1.2.3"), 5)), "/10.1.2.3");
}

TEST_F(group_handlers_test, find_coordinator_creates_the_offsets_topic_at_every_version) {
    const topic_store& store = broker_.server().core().store();
    EXPECT_FALSE(store.exists(offsets_topic_name));  // not before a client asks (as Kafka)
    client c(broker_.port());
    for (int16_t v = 0; v <= 6; ++v) {
        protocol::find_coordinator_request r;
        r.key = "group-a";
        r.coordinator_keys = {"group-a", "group-b"};
        const auto response =
            c.ask<protocol::find_coordinator_response>(find_coordinator_key, v, r);
        if (v < 4) {
            EXPECT_EQ(response.error_code, none) << v;
            EXPECT_EQ(response.node_id, 0) << v;
            EXPECT_EQ(response.host, "127.0.0.1") << v;
            EXPECT_EQ(response.port, broker_.port()) << v;
            if (v >= 1) {
                EXPECT_EQ(response.error_message, "NONE") << v;
            }
        } else {
            ASSERT_EQ(response.coordinators.size(), 2U) << v;
            EXPECT_EQ(response.coordinators[0].key, "group-a");
            EXPECT_EQ(response.coordinators[1].key, "group-b");
            for (const auto& entry : response.coordinators) {
                EXPECT_EQ(entry.error_code, none) << v;
                EXPECT_EQ(entry.node_id, 0);
                EXPECT_EQ(entry.port, broker_.port());
            }
        }
    }
    const auto description = store.describe(offsets_topic_name);
    ASSERT_TRUE(description);
    EXPECT_TRUE(description->internal);
    EXPECT_EQ(description->partition_count, 5);
    const auto log_config = store.log_config_of(offsets_topic_name);
    ASSERT_TRUE(log_config);
    EXPECT_EQ(log_config->segment_bytes, 104857600);
    const auto snapshot = broker_.server().core().metadata().snapshot();
    const topic_info* listed = snapshot->find(offsets_topic_name);
    ASSERT_NE(listed, nullptr);
    EXPECT_TRUE(listed->is_internal);
}

TEST_F(group_handlers_test, find_coordinator_for_transactions_and_unknown_key_types) {
    client c(broker_.port());
    protocol::find_coordinator_request r;
    r.key = "txn";
    r.key_type = 1;
    auto response = c.ask<protocol::find_coordinator_response>(find_coordinator_key, 3, r);
    EXPECT_EQ(response.error_code, err(error_code::transactional_id_authorization_failed));
    EXPECT_EQ(response.error_message, "Transactional Id authorization failed.");
    EXPECT_EQ(response.node_id, -1);
    EXPECT_EQ(response.port, -1);
    EXPECT_EQ(response.host, "");

    r.key_type = 7;
    response = c.ask<protocol::find_coordinator_response>(find_coordinator_key, 2, r);
    EXPECT_EQ(response.error_code, err(error_code::invalid_request));
    r.coordinator_keys = {"a", "b"};
    response = c.ask<protocol::find_coordinator_response>(find_coordinator_key, 4, r);
    ASSERT_EQ(response.coordinators.size(), 2U);
    EXPECT_EQ(response.coordinators[1].key, "b");
    EXPECT_EQ(response.coordinators[1].error_code, err(error_code::invalid_request));
    r.key_type = 1;
    response = c.ask<protocol::find_coordinator_response>(find_coordinator_key, 5, r);
    ASSERT_EQ(response.coordinators.size(), 2U);
    EXPECT_EQ(response.coordinators[0].error_code,
              err(error_code::transactional_id_authorization_failed));
}

TEST_F(group_handlers_test, a_full_membership_cycle_at_every_join_group_version) {
    client c(broker_.port());
    find_coordinator(c, "g");
    for (int16_t v = 0; v <= 9; ++v) {
        const std::string group = "cycle-" + std::to_string(v);
        SCOPED_TRACE(group);
        const auto joined = join(c, v, group);
        ASSERT_EQ(joined.error_code, none);
        EXPECT_EQ(joined.generation_id, 1);
        EXPECT_EQ(joined.leader, joined.member_id);
        EXPECT_TRUE(joined.member_id.starts_with("test-"));  // the client id, then a UUID
        EXPECT_EQ(joined.protocol_name, std::optional<std::string>("range"));
        if (v >= 7) {
            EXPECT_EQ(joined.protocol_type, std::optional<std::string>("consumer"));
        }
        ASSERT_EQ(joined.members.size(), 1U);
        EXPECT_EQ(joined.members[0].member_id, joined.member_id);
        EXPECT_EQ(joined.members[0].metadata, subscription({"t"}));

        const int16_t sync_version = std::min<int16_t>(v, 5);
        const std::vector<uint8_t> plan{1, 2, 3};
        const auto synced =
            sync(c, sync_version, group, 1, joined.member_id, {{joined.member_id, plan}});
        EXPECT_EQ(synced.error_code, none);
        EXPECT_EQ(synced.assignment, plan);
        if (sync_version >= 5) {
            EXPECT_EQ(synced.protocol_type, std::optional<std::string>("consumer"));
            EXPECT_EQ(synced.protocol_name, std::optional<std::string>("range"));
        }

        const int16_t heartbeat_version = std::min<int16_t>(v, 4);
        auto beat = c.ask<protocol::heartbeat_response>(
            heartbeat_key, heartbeat_version, heartbeat_request(group, 1, joined.member_id));
        EXPECT_EQ(beat.error_code, none);
        beat = c.ask<protocol::heartbeat_response>(heartbeat_key, heartbeat_version,
                                                   heartbeat_request(group, 1, "stranger"));
        EXPECT_EQ(beat.error_code, err(error_code::unknown_member_id));
        beat = c.ask<protocol::heartbeat_response>(heartbeat_key, heartbeat_version,
                                                   heartbeat_request(group, 7, joined.member_id));
        EXPECT_EQ(beat.error_code, err(error_code::illegal_generation));

        protocol::describe_groups_request describe;
        describe.groups = {group};
        const int16_t describe_version = std::min<int16_t>(v, 5);
        auto described = c.ask<protocol::describe_groups_response>(describe_groups_key,
                                                                   describe_version, describe);
        ASSERT_EQ(described.groups.size(), 1U);
        EXPECT_EQ(described.groups[0].group_state, "Stable");
        EXPECT_EQ(described.groups[0].protocol_data, "range");
        ASSERT_EQ(described.groups[0].members.size(), 1U);
        EXPECT_EQ(described.groups[0].members[0].client_id, "test");
        EXPECT_EQ(described.groups[0].members[0].client_host, "/127.0.0.1");
        EXPECT_EQ(described.groups[0].members[0].member_assignment, plan);

        const int16_t leave_version = std::min<int16_t>(v, 5);
        protocol::leave_group_request leave;
        leave.group_id = group;
        if (leave_version < 3) {
            leave.member_id = joined.member_id;
        } else {
            leave.members.resize(2);
            leave.members[0].member_id = joined.member_id;
            leave.members[1].member_id = "stranger";
        }
        const auto left =
            c.ask<protocol::leave_group_response>(leave_group_key, leave_version, leave);
        EXPECT_EQ(left.error_code, none);
        if (leave_version >= 3) {
            ASSERT_EQ(left.members.size(), 2U);
            EXPECT_EQ(left.members[0].member_id, joined.member_id);
            EXPECT_EQ(left.members[0].error_code, none);
            EXPECT_EQ(left.members[1].error_code, err(error_code::unknown_member_id));
        }
        described = c.ask<protocol::describe_groups_response>(describe_groups_key, describe_version,
                                                              describe);
        ASSERT_EQ(described.groups.size(), 1U);
        EXPECT_EQ(described.groups[0].group_state, "Empty");
    }
}

TEST_F(group_handlers_test, legacy_leave_group_reports_the_member_error) {
    client c(broker_.port());
    find_coordinator(c, "g");
    const auto joined = join(c, 5, "legacy");
    ASSERT_EQ(joined.error_code, none);
    protocol::leave_group_request leave;
    leave.group_id = "legacy";
    leave.member_id = "stranger";
    const auto left = c.ask<protocol::leave_group_response>(leave_group_key, 1, leave);
    EXPECT_EQ(left.error_code, err(error_code::unknown_member_id));
}

TEST_F(group_handlers_test, sync_group_v5_requires_protocol_type_and_name) {
    client c(broker_.port());
    find_coordinator(c, "g");
    const auto joined = join(c, 9, "strict");
    ASSERT_EQ(joined.error_code, none);
    protocol::sync_group_request r;
    r.group_id = "strict";
    r.generation_id = joined.generation_id;
    r.member_id = joined.member_id;
    const auto synced = c.ask<protocol::sync_group_response>(sync_group_key, 5, r);
    EXPECT_EQ(synced.error_code, err(error_code::inconsistent_group_protocol));
}

TEST_F(group_handlers_test, a_waiting_join_group_does_not_hold_up_the_broker) {
    client first(broker_.port());
    client second(broker_.port());
    find_coordinator(first, "g");
    const auto a = join(first, 5, "busy");
    ASSERT_EQ(a.error_code, none);
    ASSERT_EQ(sync(first, 3, "busy", 1, a.member_id, {{a.member_id, {9}}}).error_code, none);

    // A second member: its JoinGroup waits until the first member rejoins.
    auto b = second.ask<protocol::join_group_response>(join_group_key, 5, join_request("busy", ""));
    ASSERT_EQ(b.error_code, err(error_code::member_id_required));
    second.send(join_group_key, 5, join_request("busy", b.member_id));

    // Meanwhile the broker serves everyone else, including more connections on every shard.
    for (int i = 0; i < 4; ++i) {
        EXPECT_TRUE(test::broker_answers(broker_.port()));
    }
    // The first member learns of the rebalance once the second one's request is in.
    ASSERT_TRUE(test::wait_for([&] {
        return first
                   .ask<protocol::heartbeat_response>(heartbeat_key, 3,
                                                      heartbeat_request("busy", 1, a.member_id))
                   .error_code == err(error_code::rebalance_in_progress);
    }));

    const auto a2 = first.ask<protocol::join_group_response>(join_group_key, 5,
                                                             join_request("busy", a.member_id));
    b = second.receive<protocol::join_group_response>(join_group_key, 5);
    EXPECT_EQ(a2.error_code, none);
    EXPECT_EQ(b.error_code, none);
    EXPECT_EQ(a2.generation_id, 2);
    EXPECT_EQ(b.generation_id, 2);
    EXPECT_EQ(a2.leader, a.member_id);  // the leader stays
    EXPECT_EQ(a2.members.size(), 2U);
    EXPECT_TRUE(b.members.empty());  // followers get no member list
}

TEST_F(group_handlers_test, shutdown_releases_a_waiting_join_group) {
    client first(broker_.port());
    client second(broker_.port());
    find_coordinator(first, "g");
    const auto a = join(first, 5, "parked");
    ASSERT_EQ(a.error_code, none);
    ASSERT_EQ(sync(first, 3, "parked", 1, a.member_id, {{a.member_id, {}}}).error_code, none);
    auto b =
        second.ask<protocol::join_group_response>(join_group_key, 5, join_request("parked", ""));
    ASSERT_EQ(b.error_code, err(error_code::member_id_required));
    second.send(join_group_key, 5, join_request("parked", b.member_id));
    // The waiting request is parked; make sure it reached the broker before stopping.
    ASSERT_TRUE(test::wait_for([&] {
        return first
                   .ask<protocol::heartbeat_response>(heartbeat_key, 3,
                                                      heartbeat_request("parked", 1, a.member_id))
                   .error_code == err(error_code::rebalance_in_progress);
    }));
    broker_.server().stop();
    EXPECT_FALSE(second.socket().read_frame().has_value());  // closed, not answered later
    EXPECT_EQ(broker_.server().live_connections(), 0U);
}

TEST_F(group_handlers_test, offsets_before_the_offsets_topic_exists_are_not_coordinated) {
    // No FindCoordinator yet: this broker coordinates nothing. The error's place depends on the
    // version.
    create_topic("t", 2);
    client c(broker_.port());
    for (int16_t v = 0; v <= 7; ++v) {
        const auto fetched = c.ask<protocol::offset_fetch_response>(
            offset_fetch_key, v, fetch_request("early", "t", {0, 1}));
        if (v < 2) {
            EXPECT_EQ(fetched.error_code, none);  // not on the wire
            ASSERT_EQ(fetched.topics.size(), 1U) << v;
            ASSERT_EQ(fetched.topics[0].partitions.size(), 2U) << v;
            for (const auto& p : fetched.topics[0].partitions) {
                EXPECT_EQ(p.error_code, err(error_code::not_coordinator)) << v;
                EXPECT_EQ(p.committed_offset, -1);
                EXPECT_EQ(p.metadata, std::optional<std::string>(""));
            }
        } else {
            EXPECT_EQ(fetched.error_code, err(error_code::not_coordinator)) << v;
            EXPECT_TRUE(fetched.topics.empty()) << v;
        }
    }
    protocol::offset_fetch_request multi;
    multi.groups.resize(1);
    multi.groups[0].group_id = "early";
    multi.groups[0].topics.reset();
    const auto fetched = c.ask<protocol::offset_fetch_response>(offset_fetch_key, 8, multi);
    ASSERT_EQ(fetched.groups.size(), 1U);
    EXPECT_EQ(fetched.groups[0].error_code, err(error_code::not_coordinator));

    const auto committed = c.ask<protocol::offset_commit_response>(
        offset_commit_key, 2, commit_request("early", {{"t", 0, 5}}));
    ASSERT_EQ(committed.topics.size(), 1U);
    EXPECT_EQ(committed.topics[0].partitions[0].error_code, err(error_code::not_coordinator));
}

TEST_F(group_handlers_test, offset_commit_and_fetch_at_every_version) {
    create_topic("t", 2);
    client c(broker_.port());
    find_coordinator(c, "g");
    for (int16_t v = 0; v <= 9; ++v) {
        const std::string group = "offsets-" + std::to_string(v);
        SCOPED_TRACE(group);
        auto request = commit_request(group, {{"t", 0, 100 + v}, {"nope", 0, 1}, {"t", 9, 1}});
        if (v == 1) {
            request.topics[0].partitions[0].commit_timestamp = 1234;
        }
        if (v >= 2 && v <= 4) {
            request.retention_time_ms = 60000;
        }
        request.topics[0].partitions[0].committed_leader_epoch = 3;
        const auto committed =
            c.ask<protocol::offset_commit_response>(offset_commit_key, v, request);
        // Refused partitions come first, grouped by topic in order of appearance.
        ASSERT_EQ(committed.topics.size(), 2U);
        EXPECT_EQ(committed.topics[0].name, "t");
        ASSERT_EQ(committed.topics[0].partitions.size(), 2U);
        EXPECT_EQ(committed.topics[0].partitions[0].partition_index, 9);
        EXPECT_EQ(committed.topics[0].partitions[0].error_code,
                  err(error_code::unknown_topic_or_partition));
        EXPECT_EQ(committed.topics[0].partitions[1].partition_index, 0);
        EXPECT_EQ(committed.topics[0].partitions[1].error_code, none);
        EXPECT_EQ(committed.topics[1].name, "nope");
        EXPECT_EQ(committed.topics[1].partitions[0].error_code,
                  err(error_code::unknown_topic_or_partition));

        const int16_t fetch_version = v;
        if (fetch_version < 8) {
            const auto fetched = c.ask<protocol::offset_fetch_response>(
                offset_fetch_key, fetch_version, fetch_request(group, "t", {0, 1}));
            EXPECT_EQ(fetched.error_code, none);
            ASSERT_EQ(fetched.topics.size(), 1U);
            ASSERT_EQ(fetched.topics[0].partitions.size(), 2U);
            const auto& p0 = fetched.topics[0].partitions[0];
            EXPECT_EQ(p0.committed_offset, 100 + v);
            EXPECT_EQ(p0.metadata, std::optional<std::string>("m"));
            if (fetch_version >= 5) {
                EXPECT_EQ(p0.committed_leader_epoch, v >= 6 ? 3 : -1);
            }
            const auto& p1 = fetched.topics[0].partitions[1];
            EXPECT_EQ(p1.committed_offset, -1);
            EXPECT_EQ(p1.error_code, none);
        } else {
            protocol::offset_fetch_request multi;
            multi.groups.resize(2);
            multi.groups[0].group_id = group;
            multi.groups[0].topics.reset();  // everything committed
            multi.groups[1].group_id = "no-such-group";
            const auto fetched =
                c.ask<protocol::offset_fetch_response>(offset_fetch_key, fetch_version, multi);
            ASSERT_EQ(fetched.groups.size(), 2U);
            EXPECT_EQ(fetched.groups[0].group_id, group);
            EXPECT_EQ(fetched.groups[0].error_code, none);
            ASSERT_EQ(fetched.groups[0].topics.size(), 1U);
            ASSERT_EQ(fetched.groups[0].topics[0].partitions.size(), 1U);
            EXPECT_EQ(fetched.groups[0].topics[0].partitions[0].committed_offset, 100 + v);
            EXPECT_EQ(fetched.groups[1].error_code, none);
            EXPECT_TRUE(fetched.groups[1].topics.empty());
        }
    }
    // v2+: null topics = every committed partition.
    protocol::offset_fetch_request all;
    all.group_id = "offsets-3";
    all.topics.reset();
    const auto fetched = c.ask<protocol::offset_fetch_response>(offset_fetch_key, 3, all);
    ASSERT_EQ(fetched.topics.size(), 1U);
    EXPECT_EQ(fetched.topics[0].partitions[0].committed_offset, 103);
}

TEST_F(group_handlers_test, offset_commit_errors_per_partition) {
    create_topic("t", 2);
    client c(broker_.port());
    find_coordinator(c, "g");
    auto request = commit_request("unknown-generation", {{"t", 0, 1}, {"t", 1, 1}});
    request.generation_id_or_member_epoch = 4;
    request.member_id = "m";
    auto committed = c.ask<protocol::offset_commit_response>(offset_commit_key, 2, request);
    ASSERT_EQ(committed.topics.size(), 1U);
    for (const auto& p : committed.topics[0].partitions) {
        EXPECT_EQ(p.error_code, err(error_code::illegal_generation));
    }
    request = commit_request("big-metadata", {{"t", 0, 1}, {"t", 1, 1}});
    request.topics[0].partitions[0].committed_metadata = std::string(4097, 'x');
    committed = c.ask<protocol::offset_commit_response>(offset_commit_key, 7, request);
    ASSERT_EQ(committed.topics.size(), 1U);
    ASSERT_EQ(committed.topics[0].partitions.size(), 2U);
    EXPECT_EQ(committed.topics[0].partitions[0].error_code,
              err(error_code::offset_metadata_too_large));
    EXPECT_EQ(committed.topics[0].partitions[1].error_code, none);
}

TEST_F(group_handlers_test, list_describe_and_delete_groups) {
    create_topic("t", 2);
    client c(broker_.port());
    find_coordinator(c, "g");
    ASSERT_EQ(c.ask<protocol::offset_commit_response>(
                   offset_commit_key, 2, commit_request("idle", {{"t", 0, 7}, {"t", 1, 8}}))
                  .topics[0]
                  .partitions[1]
                  .error_code,
              none);
    const auto active = join(c, 5, "active");
    ASSERT_EQ(active.error_code, none);
    ASSERT_EQ(sync(c, 3, "active", 1, active.member_id, {{active.member_id, {}}}).error_code, none);

    for (int16_t v = 0; v <= 5; ++v) {
        const protocol::list_groups_request everything;
        const auto listed = c.ask<protocol::list_groups_response>(list_groups_key, v, everything);
        EXPECT_EQ(listed.error_code, none);
        ASSERT_EQ(listed.groups.size(), 2U) << v;
        EXPECT_EQ(listed.groups[0].group_id, "active");
        EXPECT_EQ(listed.groups[0].protocol_type, "consumer");
        EXPECT_EQ(listed.groups[1].group_id, "idle");
        EXPECT_EQ(listed.groups[1].protocol_type, "");
        if (v >= 4) {
            EXPECT_EQ(listed.groups[0].group_state, "Stable");
            EXPECT_EQ(listed.groups[1].group_state, "Empty");
        }
        if (v >= 5) {
            EXPECT_EQ(listed.groups[0].group_type, "classic");
        }
    }
    protocol::list_groups_request filtered;
    filtered.states_filter = {"stable"};
    auto listed = c.ask<protocol::list_groups_response>(list_groups_key, 4, filtered);
    ASSERT_EQ(listed.groups.size(), 1U);
    EXPECT_EQ(listed.groups[0].group_id, "active");
    filtered.states_filter.clear();
    filtered.types_filter = {"consumer"};
    listed = c.ask<protocol::list_groups_response>(list_groups_key, 5, filtered);
    EXPECT_TRUE(listed.groups.empty());
    filtered.types_filter = {"Classic"};
    listed = c.ask<protocol::list_groups_response>(list_groups_key, 5, filtered);
    EXPECT_EQ(listed.groups.size(), 2U);

    protocol::describe_groups_request describe;
    describe.groups = {"active", "missing"};
    describe.include_authorized_operations = true;
    auto described = c.ask<protocol::describe_groups_response>(describe_groups_key, 3, describe);
    ASSERT_EQ(described.groups.size(), 2U);
    EXPECT_EQ(described.groups[0].authorized_operations, (1 << 3) | (1 << 6) | (1 << 8));
    EXPECT_EQ(described.groups[1].group_state, "Dead");
    EXPECT_EQ(described.groups[1].error_code, none);
    describe.include_authorized_operations = false;
    described = c.ask<protocol::describe_groups_response>(describe_groups_key, 5, describe);
    EXPECT_EQ(described.groups[0].authorized_operations, INT32_MIN);

    // OffsetDelete: unknown partitions are refused; a group-level error replaces everything.
    protocol::offset_delete_request remove;
    remove.group_id = "idle";
    remove.topics.resize(1);
    remove.topics[0].name = "t";
    remove.topics[0].partitions.resize(2);
    remove.topics[0].partitions[0].partition_index = 0;
    remove.topics[0].partitions[1].partition_index = 5;
    auto removed = c.ask<protocol::offset_delete_response>(offset_delete_key, 0, remove);
    EXPECT_EQ(removed.error_code, none);
    ASSERT_EQ(removed.topics.size(), 1U);
    ASSERT_EQ(removed.topics[0].partitions.size(), 2U);
    EXPECT_EQ(removed.topics[0].partitions[0].partition_index, 5);
    EXPECT_EQ(removed.topics[0].partitions[0].error_code,
              err(error_code::unknown_topic_or_partition));
    EXPECT_EQ(removed.topics[0].partitions[1].error_code, none);
    remove.group_id = "active";
    removed = c.ask<protocol::offset_delete_response>(offset_delete_key, 0, remove);
    EXPECT_EQ(removed.error_code, none);
    ASSERT_EQ(removed.topics.size(), 1U);
    EXPECT_EQ(removed.topics[0].partitions[1].error_code,
              err(error_code::group_subscribed_to_topic));
    remove.group_id = "missing";
    removed = c.ask<protocol::offset_delete_response>(offset_delete_key, 0, remove);
    EXPECT_EQ(removed.error_code, err(error_code::group_id_not_found));
    EXPECT_TRUE(removed.topics.empty());

    for (int16_t v = 0; v <= 2; ++v) {
        const auto again = join(c, 5, "to-delete-" + std::to_string(v));
        ASSERT_EQ(again.error_code, none);
        protocol::delete_groups_request deletion;
        deletion.groups_names = {"active", "missing", "to-delete-" + std::to_string(v)};
        auto deleted = c.ask<protocol::delete_groups_response>(delete_groups_key, v, deletion);
        ASSERT_EQ(deleted.results.size(), 3U);
        EXPECT_EQ(deleted.results[0].error_code, err(error_code::non_empty_group));
        EXPECT_EQ(deleted.results[1].error_code, err(error_code::group_id_not_found));
        EXPECT_EQ(deleted.results[2].error_code, err(error_code::non_empty_group));
    }
    protocol::delete_groups_request deletion;
    deletion.groups_names = {"idle"};
    const auto deleted = c.ask<protocol::delete_groups_response>(delete_groups_key, 2, deletion);
    ASSERT_EQ(deleted.results.size(), 1U);
    EXPECT_EQ(deleted.results[0].error_code, none);
    const auto fetched = c.ask<protocol::offset_fetch_response>(offset_fetch_key, 3,
                                                                fetch_request("idle", "t", {1}));
    EXPECT_EQ(fetched.topics[0].partitions[0].committed_offset, -1);  // deleted with the group
}

TEST_F(group_handlers_test, offsets_and_groups_survive_a_restart) {
    create_topic("t", 2);
    std::string member;
    {
        client c(broker_.port());
        find_coordinator(c, "g");
        ASSERT_EQ(c.ask<protocol::offset_commit_response>(
                       offset_commit_key, 2, commit_request("kept", {{"t", 0, 42}, {"t", 1, 43}}))
                      .topics[0]
                      .partitions[1]
                      .error_code,
                  none);
        ASSERT_EQ(c.ask<protocol::offset_commit_response>(offset_commit_key, 2,
                                                          commit_request("gone", {{"t", 0, 1}}))
                      .topics[0]
                      .partitions[0]
                      .error_code,
                  none);
        protocol::delete_groups_request deletion;
        deletion.groups_names = {"gone"};
        ASSERT_EQ(c.ask<protocol::delete_groups_response>(delete_groups_key, 1, deletion)
                      .results[0]
                      .error_code,
                  none);
        const auto joined = join(c, 5, "members");
        ASSERT_EQ(joined.error_code, none);
        member = joined.member_id;
        ASSERT_EQ(sync(c, 3, "members", 1, member, {{member, {4, 2}}}).error_code, none);
    }
    broker_.restart();
    client c(broker_.port());
    // Loading runs in the background; meanwhile the groups answer COORDINATOR_LOAD_IN_PROGRESS.
    protocol::offset_fetch_response fetched;
    ASSERT_TRUE(test::wait_for([&] {
        fetched = c.ask<protocol::offset_fetch_response>(offset_fetch_key, 5,
                                                         fetch_request("kept", "t", {0, 1}));
        return fetched.error_code != err(error_code::coordinator_load_in_progress);
    }));
    EXPECT_EQ(fetched.error_code, none);
    ASSERT_EQ(fetched.topics.size(), 1U);
    EXPECT_EQ(fetched.topics[0].partitions[0].committed_offset, 42);
    EXPECT_EQ(fetched.topics[0].partitions[1].committed_offset, 43);

    fetched = c.ask<protocol::offset_fetch_response>(offset_fetch_key, 5,
                                                     fetch_request("gone", "t", {0}));
    EXPECT_EQ(fetched.topics[0].partitions[0].committed_offset, -1);  // the tombstone held

    ASSERT_TRUE(test::wait_for([&] { return broker_.server().core().groups().loaded(); }));
    protocol::describe_groups_request describe;
    describe.groups = {"members"};
    const auto described =
        c.ask<protocol::describe_groups_response>(describe_groups_key, 4, describe);
    ASSERT_EQ(described.groups.size(), 1U);
    EXPECT_EQ(described.groups[0].group_state, "Stable");
    ASSERT_EQ(described.groups[0].members.size(), 1U);
    EXPECT_EQ(described.groups[0].members[0].member_id, member);
    EXPECT_EQ(described.groups[0].members[0].member_assignment, (std::vector<uint8_t>{4, 2}));
    // The restored member is still in generation 1.
    const auto beat = c.ask<protocol::heartbeat_response>(heartbeat_key, 2,
                                                          heartbeat_request("members", 1, member));
    EXPECT_EQ(beat.error_code, none);
}

TEST_F(group_handlers_test, the_offsets_topic_partition_count_wins_over_the_setting) {
    create_topic("t", 1);
    // A group that lives in a partition the topic does not have once the setting says 7.
    std::string group;
    for (int i = 0; group.empty(); ++i) {
        const std::string candidate = "moved-" + std::to_string(i);
        if (coordinator::offsets_partition_for(candidate, 7) >= 5) {
            group = candidate;
        }
    }
    {
        client c(broker_.port());
        find_coordinator(c, "g");  // created with 5 partitions
        ASSERT_EQ(c.ask<protocol::offset_commit_response>(offset_commit_key, 2,
                                                          commit_request(group, {{"t", 0, 9}}))
                      .topics[0]
                      .partitions[0]
                      .error_code,
                  none);
    }
    broker_.set("offsets.topic.num.partitions", "7");
    broker_.restart();
    client c(broker_.port());
    protocol::offset_fetch_response fetched;
    ASSERT_TRUE(test::wait_for([&] {
        fetched = c.ask<protocol::offset_fetch_response>(offset_fetch_key, 5,
                                                         fetch_request(group, "t", {0}));
        return fetched.error_code != err(error_code::coordinator_load_in_progress);
    }));
    EXPECT_EQ(fetched.error_code, none);  // not NOT_COORDINATOR: partition_for uses 5
    ASSERT_EQ(fetched.topics.size(), 1U);
    EXPECT_EQ(fetched.topics[0].partitions[0].committed_offset, 9);
}

}  // namespace
}  // namespace broker::server
