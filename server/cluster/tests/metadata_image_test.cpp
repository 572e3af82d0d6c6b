// apply_update_metadata: UpdateMetadata requests of each shape applied to an image, checked
// against Kafka's ZkMetadataCache.updateMetadata semantics.
#include "server/cluster/metadata_image.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "protocol/errors.h"

namespace broker::server::cluster {
namespace {

using request_type = protocol::update_metadata_request;
using partition_type = request_type::update_metadata_partition_state;

constexpr int16_t latest = request_type::max_version;
constexpr auto leader_not_available =
    static_cast<int16_t>(protocol::error_code::leader_not_available);

request_type::update_metadata_broker live_broker(int32_t id, std::optional<std::string> rack = {}) {
    request_type::update_metadata_broker out;
    out.id = id;
    out.rack = std::move(rack);
    request_type::update_metadata_endpoint endpoint;
    endpoint.host = "host-" + std::to_string(id);
    endpoint.port = 9000 + id;
    endpoint.listener = "PLAINTEXT";
    endpoint.security_protocol = 0;
    out.endpoints.push_back(endpoint);
    return out;
}

partition_type partition(int32_t index, int32_t leader, std::vector<int32_t> replicas,
                         int32_t leader_epoch = 0) {
    partition_type out;
    out.partition_index = index;
    out.leader = leader;
    out.leader_epoch = leader_epoch;
    out.isr = replicas;
    out.replicas = std::move(replicas);
    return out;
}

request_type::update_metadata_topic_state topic(std::string name,
                                                std::vector<partition_type> partitions,
                                                protocol::uuid id = {}) {
    request_type::update_metadata_topic_state out;
    out.topic_name = std::move(name);
    out.topic_id = id;
    out.partition_states = std::move(partitions);
    return out;
}

protocol::uuid make_id(uint8_t seed) {
    protocol::uuid out;
    for (std::size_t i = 0; i < out.bytes.size(); ++i) {
        out.bytes[i] = static_cast<uint8_t>(seed + i);
    }
    return out;
}

request_type request_with(std::vector<int32_t> live, int32_t controller_id = 1) {
    request_type out;
    out.controller_id = controller_id;
    out.controller_epoch = 1;
    for (const int32_t id : live) {
        out.live_brokers.push_back(live_broker(id));
    }
    return out;
}

const partition_info& partition_of(const metadata_image& image, std::string_view name,
                                   std::size_t index) {
    const topic_info* info = image.topics->find(name);
    EXPECT_NE(info, nullptr) << name;
    static const partition_info missing;
    if (info == nullptr || index >= info->partitions.size()) {
        ADD_FAILURE() << name << "-" << index << " missing";
        return missing;
    }
    return info->partitions[index];
}

TEST(metadata_image, empty_image_takes_brokers_controller_and_partitions) {
    request_type request = request_with({1, 2, 3}, 2);
    request.live_brokers[1].rack = "rack-b";
    request.topic_states.push_back(
        topic("orders", {partition(1, 2, {2, 3}, 4), partition(0, 1, {1, 2})}));
    const metadata_image image = apply_update_metadata({}, request, latest);

    ASSERT_NE(image.cluster, nullptr);
    ASSERT_NE(image.topics, nullptr);
    ASSERT_NE(image.states, nullptr);
    EXPECT_EQ(image.cluster->controller_id, 2);
    ASSERT_EQ(image.cluster->brokers.size(), 3u);
    EXPECT_EQ(image.cluster->brokers[0].id, 1);
    EXPECT_EQ(image.cluster->brokers[0].rack, std::nullopt);
    EXPECT_EQ(image.cluster->brokers[1].rack, "rack-b");
    const advertised_endpoint* endpoint = image.cluster->brokers[2].endpoint_for("PLAINTEXT");
    ASSERT_NE(endpoint, nullptr);
    EXPECT_EQ(endpoint->host, "host-3");
    EXPECT_EQ(endpoint->port, 9003);

    const topic_info* orders = image.topics->find("orders");
    ASSERT_NE(orders, nullptr);
    EXPECT_FALSE(orders->is_internal);
    ASSERT_EQ(orders->partitions.size(), 2u);
    EXPECT_EQ(orders->partitions[0].partition_index, 0);
    EXPECT_EQ(orders->partitions[0].leader_id, 1);
    EXPECT_EQ(orders->partitions[0].error_code, 0);
    EXPECT_EQ(orders->partitions[1].partition_index, 1);
    EXPECT_EQ(orders->partitions[1].leader_id, 2);
    EXPECT_EQ(orders->partitions[1].leader_epoch, 4);
    EXPECT_EQ(orders->partitions[1].replica_nodes, (std::vector<int32_t>{2, 3}));
    EXPECT_EQ(orders->partitions[1].isr_nodes, (std::vector<int32_t>{2, 3}));
}

TEST(metadata_image, partition_states_are_upserts) {
    request_type first = request_with({1, 2});
    first.topic_states.push_back(topic("a", {partition(0, 1, {1, 2}), partition(1, 2, {2, 1})}));
    first.topic_states.push_back(topic("b", {partition(0, 2, {2})}));
    const metadata_image one = apply_update_metadata({}, first, latest);

    // Only a-1 changes: a new leader, epoch, in-sync set and an offline replica.
    request_type second = request_with({1, 2});
    partition_type changed = partition(1, 1, {2, 1}, 7);
    changed.isr = {1};
    changed.offline_replicas = {2};
    second.topic_states.push_back(topic("a", {changed}));
    const metadata_image two = apply_update_metadata(one, second, latest);

    EXPECT_EQ(partition_of(two, "a", 0), partition_of(one, "a", 0));
    const partition_info& a1 = partition_of(two, "a", 1);
    EXPECT_EQ(a1.leader_id, 1);
    EXPECT_EQ(a1.leader_epoch, 7);
    EXPECT_EQ(a1.replica_nodes, (std::vector<int32_t>{2, 1}));
    EXPECT_EQ(a1.isr_nodes, (std::vector<int32_t>{1}));
    EXPECT_EQ(a1.offline_replicas, (std::vector<int32_t>{2}));
    EXPECT_EQ(*two.topics->find("b"), *one.topics->find("b"));

    // The image it was applied to is unchanged.
    EXPECT_EQ(partition_of(one, "a", 1).leader_id, 2);
}

TEST(metadata_image, leader_during_delete_removes_partitions_then_the_topic) {
    request_type create = request_with({1});
    create.topic_states.push_back(
        topic("gone", {partition(0, 1, {1}), partition(1, 1, {1})}, make_id(10)));
    create.topic_states.push_back(topic("kept", {partition(0, 1, {1})}));
    const metadata_image one = apply_update_metadata({}, create, latest);
    ASSERT_NE(one.topics->find(make_id(10)), nullptr);

    request_type delete_last = request_with({1});
    delete_last.topic_states.push_back(
        topic("gone", {partition(1, leader_during_delete, {1})}, make_id(10)));
    const metadata_image two = apply_update_metadata(one, delete_last, latest);
    ASSERT_NE(two.topics->find("gone"), nullptr);
    EXPECT_EQ(two.topics->find("gone")->partitions.size(), 1u);

    request_type delete_rest = request_with({1});
    delete_rest.topic_states.push_back(
        topic("gone", {partition(0, leader_during_delete, {1})}, make_id(10)));
    const metadata_image three = apply_update_metadata(two, delete_rest, latest);
    EXPECT_EQ(three.topics->find("gone"), nullptr);
    EXPECT_EQ(three.topics->find(make_id(10)), nullptr);
    EXPECT_EQ(three.states->count("gone"), 0u);
    EXPECT_NE(three.topics->find("kept"), nullptr);

    // Deleting what the broker never knew changes nothing.
    request_type unknown = request_with({1});
    unknown.topic_states.push_back(topic("never", {partition(0, leader_during_delete, {1})}));
    const metadata_image four = apply_update_metadata(three, unknown, latest);
    EXPECT_EQ(four.topics->topics().size(), 1u);
}

TEST(metadata_image, live_brokers_replace_the_old_set) {
    request_type first = request_with({1, 2, 3}, 1);
    const metadata_image one = apply_update_metadata({}, first, latest);
    ASSERT_EQ(one.cluster->brokers.size(), 3u);

    request_type second = request_with({4, 2}, 4);
    second.live_brokers[0].rack = "r4";
    const metadata_image two = apply_update_metadata(one, second, latest);
    ASSERT_EQ(two.cluster->brokers.size(), 2u);
    EXPECT_EQ(two.cluster->brokers[0].id, 2);  // ordered by id
    EXPECT_EQ(two.cluster->brokers[1].id, 4);
    EXPECT_EQ(two.cluster->brokers[1].rack, "r4");
    EXPECT_EQ(two.cluster->find(1), nullptr);
    EXPECT_EQ(two.cluster->controller_id, 4);

    // Several listeners per broker.
    request_type third = request_with({5}, -1);
    request_type::update_metadata_endpoint internal;
    internal.host = "10.0.0.5";
    internal.port = 19092;
    internal.listener = "INTERNAL";
    third.live_brokers[0].endpoints.push_back(internal);
    const metadata_image three = apply_update_metadata(two, third, latest);
    ASSERT_EQ(three.cluster->brokers.size(), 1u);
    EXPECT_EQ(three.cluster->controller_id, -1);
    const advertised_endpoint* endpoint = three.cluster->brokers[0].endpoint_for("INTERNAL");
    ASSERT_NE(endpoint, nullptr);
    EXPECT_EQ(endpoint->host, "10.0.0.5");
    EXPECT_EQ(endpoint->port, 19092);
    EXPECT_NE(three.cluster->brokers[0].endpoint_for("PLAINTEXT"), nullptr);
}

TEST(metadata_image, offline_leader_reads_leader_not_available_and_recovers_with_the_broker) {
    request_type first = request_with({1, 2});
    first.topic_states.push_back(topic("t", {partition(0, 2, {2, 1}, 3), partition(1, -1, {1})}));
    const metadata_image one = apply_update_metadata({}, first, latest);
    EXPECT_EQ(partition_of(one, "t", 0).error_code, 0);
    EXPECT_EQ(partition_of(one, "t", 0).leader_id, 2);
    // No leader at all.
    EXPECT_EQ(partition_of(one, "t", 1).error_code, leader_not_available);
    EXPECT_EQ(partition_of(one, "t", 1).leader_id, -1);

    // Broker 2 leaves; the controller sends only the live set.
    const metadata_image two = apply_update_metadata(one, request_with({1}), latest);
    const partition_info& offline = partition_of(two, "t", 0);
    EXPECT_EQ(offline.error_code, leader_not_available);
    EXPECT_EQ(offline.leader_id, -1);
    EXPECT_EQ(offline.leader_epoch, 3);
    EXPECT_EQ(offline.replica_nodes, (std::vector<int32_t>{2, 1}));
    // The stated leader is kept.
    EXPECT_EQ(two.states->at("t").partitions.at(0).leader, 2);

    // Broker 2 returns: its leadership reads again without a new partition state.
    const metadata_image three = apply_update_metadata(two, request_with({1, 2}), latest);
    EXPECT_EQ(partition_of(three, "t", 0).error_code, 0);
    EXPECT_EQ(partition_of(three, "t", 0).leader_id, 2);
    EXPECT_EQ(partition_of(three, "t", 1).error_code, leader_not_available);
}

TEST(metadata_image, unchanged_topics_are_shared) {
    request_type first = request_with({1});
    first.topic_states.push_back(topic("t", {partition(0, 1, {1})}));
    const metadata_image one = apply_update_metadata({}, first, latest);
    // Same live ids, new address: the topics do not depend on it.
    request_type moved = request_with({1}, 1);
    moved.live_brokers[0].endpoints[0].port = 1234;
    const metadata_image two = apply_update_metadata(one, moved, latest);
    EXPECT_EQ(two.topics, one.topics);
    EXPECT_EQ(two.cluster->brokers[0].endpoints[0].port, 1234);
}

TEST(metadata_image, several_topics_and_internal_topics) {
    request_type request = request_with({1});
    request.topic_states.push_back(topic("__consumer_offsets", {partition(0, 1, {1})}));
    request.topic_states.push_back(topic("__transaction_state", {partition(0, 1, {1})}));
    request.topic_states.push_back(topic("_private", {partition(0, 1, {1})}));
    request.topic_states.push_back(
        topic("events", {partition(2, 1, {1}), partition(0, 1, {1}), partition(1, 1, {1})}));
    const metadata_image image = apply_update_metadata({}, request, latest);
    ASSERT_EQ(image.topics->topics().size(), 4u);
    EXPECT_TRUE(image.topics->find("__consumer_offsets")->is_internal);
    EXPECT_TRUE(image.topics->find("__transaction_state")->is_internal);
    EXPECT_FALSE(image.topics->find("_private")->is_internal);
    const topic_info* events = image.topics->find("events");
    ASSERT_EQ(events->partitions.size(), 3u);
    for (std::size_t i = 0; i < 3; ++i) {
        EXPECT_EQ(events->partitions[i].partition_index, static_cast<int32_t>(i));
    }
}

TEST(metadata_image, topic_ids_are_set_as_sent) {
    request_type first = request_with({1});
    first.topic_states.push_back(topic("a", {partition(0, 1, {1})}, make_id(1)));
    first.topic_states.push_back(topic("b", {partition(0, 1, {1})}, make_id(50)));
    const metadata_image one = apply_update_metadata({}, first, latest);
    ASSERT_NE(one.topics->find(make_id(1)), nullptr);
    EXPECT_EQ(one.topics->find(make_id(1))->name, "a");
    EXPECT_EQ(one.topics->find("b")->topic_id, make_id(50));

    // A topic state with no partitions still sets its topic's id (Kafka updates ids for every
    // topic state).
    request_type second = request_with({1});
    second.topic_states.push_back(topic("a", {}, make_id(2)));
    const metadata_image two = apply_update_metadata(one, second, latest);
    EXPECT_EQ(two.topics->find("a")->topic_id, make_id(2));
    EXPECT_EQ(two.topics->find(make_id(1)), nullptr);

    // Versions 5 and 6 carry no id: the topic's id is cleared, as Kafka does.
    request_type third = request_with({1});
    third.topic_states.push_back(topic("b", {partition(0, 1, {1}, 1)}));
    const metadata_image three = apply_update_metadata(two, third, 6);
    EXPECT_TRUE(three.topics->find("b")->topic_id.is_zero());
    EXPECT_EQ(three.topics->find("a")->topic_id, make_id(2));

    // A duplicate id (never sent by a sane controller) does not break the snapshot: the first
    // topic by name keeps it.
    request_type fourth = request_with({1});
    fourth.topic_states.push_back(topic("c", {partition(0, 1, {1})}, make_id(2)));
    const metadata_image four = apply_update_metadata(three, fourth, latest);
    EXPECT_EQ(four.topics->find(make_id(2))->name, "a");
    EXPECT_TRUE(four.topics->find("c")->topic_id.is_zero());
}

TEST(metadata_image, ungrouped_states_of_versions_0_to_4) {
    for (int16_t version = 0; version <= 4; ++version) {
        SCOPED_TRACE(version);
        request_type request;
        request.controller_id = 7;
        request_type::update_metadata_broker broker;
        broker.id = 7;
        broker.v0_host = "old-host";
        broker.v0_port = 9092;
        request_type::update_metadata_endpoint ssl;
        ssl.host = "ssl-host";
        ssl.port = 9093;
        ssl.security_protocol = 1;
        ssl.listener = "CUSTOM";
        broker.endpoints.push_back(ssl);
        broker.rack = "rack-7";
        request.live_brokers.push_back(broker);

        partition_type p0 = partition(0, 7, {7});
        p0.topic_name = "legacy";
        p0.offline_replicas = {9};
        partition_type p1 = partition(1, 7, {7});
        p1.topic_name = "legacy";
        partition_type other = partition(0, 8, {8});
        other.topic_name = "other";
        request.ungrouped_partition_states = {p1, p0, other};
        // Grouped states are not part of these versions and are ignored.
        request.topic_states.push_back(topic("ignored", {partition(0, 7, {7})}));

        const metadata_image image = apply_update_metadata({}, request, version);
        ASSERT_EQ(image.cluster->brokers.size(), 1u);
        const broker_info& b = image.cluster->brokers[0];
        EXPECT_EQ(image.cluster->controller_id, 7);
        ASSERT_EQ(b.endpoints.size(), 1u);
        if (version == 0) {
            EXPECT_EQ(b.endpoints[0], (advertised_endpoint{"PLAINTEXT", "old-host", 9092}));
        } else if (version < 3) {
            // The listener is named after the security protocol.
            EXPECT_EQ(b.endpoints[0], (advertised_endpoint{"SSL", "ssl-host", 9093}));
        } else {
            EXPECT_EQ(b.endpoints[0], (advertised_endpoint{"CUSTOM", "ssl-host", 9093}));
        }
        EXPECT_EQ(b.rack, version >= 2 ? std::optional<std::string>("rack-7") : std::nullopt);

        EXPECT_EQ(image.topics->find("ignored"), nullptr);
        const topic_info* legacy = image.topics->find("legacy");
        ASSERT_NE(legacy, nullptr);
        ASSERT_EQ(legacy->partitions.size(), 2u);
        EXPECT_EQ(legacy->partitions[0].leader_id, 7);
        EXPECT_EQ(legacy->partitions[0].offline_replicas,
                  version >= 4 ? std::vector<int32_t>{9} : std::vector<int32_t>{});
        EXPECT_TRUE(legacy->topic_id.is_zero());
        const topic_info* other_topic = image.topics->find("other");
        ASSERT_NE(other_topic, nullptr);
        EXPECT_EQ(other_topic->partitions[0].error_code, leader_not_available);
    }
}

TEST(metadata_image, ungrouped_states_keep_a_known_topic_id) {
    request_type first = request_with({1});
    first.topic_states.push_back(topic("t", {partition(0, 1, {1})}, make_id(3)));
    const metadata_image one = apply_update_metadata({}, first, latest);
    request_type second = request_with({1});
    partition_type p = partition(0, 1, {1}, 2);
    p.topic_name = "t";
    second.ungrouped_partition_states.push_back(p);
    const metadata_image two = apply_update_metadata(one, second, 4);
    EXPECT_EQ(two.topics->find("t")->topic_id, make_id(3));
    EXPECT_EQ(partition_of(two, "t", 0).leader_epoch, 2);
}

TEST(metadata_image, a_gap_is_listed_as_a_placeholder) {
    request_type request = request_with({1});
    request.topic_states.push_back(topic("gappy", {partition(0, 1, {1}), partition(3, 1, {1})}));
    // Indexes no topic can have are ignored.
    request.topic_states.push_back(
        topic("absurd", {partition(-1, 1, {1}), partition(max_partitions_per_topic, 1, {1})}));
    const metadata_image image = apply_update_metadata({}, request, latest);
    const topic_info* gappy = image.topics->find("gappy");
    ASSERT_NE(gappy, nullptr);
    ASSERT_EQ(gappy->partitions.size(), 4u);
    for (int32_t i = 0; i < 4; ++i) {
        EXPECT_EQ(gappy->partitions[static_cast<std::size_t>(i)].partition_index, i);
    }
    EXPECT_EQ(gappy->partitions[0].error_code, 0);
    EXPECT_EQ(gappy->partitions[1].error_code, leader_not_available);
    EXPECT_EQ(gappy->partitions[1].leader_id, -1);
    EXPECT_TRUE(gappy->partitions[2].replica_nodes.empty());
    EXPECT_EQ(gappy->partitions[3].leader_id, 1);
    EXPECT_EQ(image.topics->find("absurd"), nullptr);
}

TEST(metadata_image, an_image_without_states_reads_its_topics_back) {
    auto topics = std::make_shared<const topic_snapshot>(std::vector<topic_info>{
        topic_info{"local", make_id(5), false, {partition_info{0, 0, 1, 2, {1}, {1}, {}}}}});
    const metadata_image current{topics, nullptr, nullptr};
    request_type request = request_with({1});
    request.topic_states.push_back(topic("new", {partition(0, 1, {1})}));
    const metadata_image next = apply_update_metadata(current, request, latest);
    ASSERT_NE(next.topics->find("local"), nullptr);
    EXPECT_EQ(next.topics->find("local")->topic_id, make_id(5));
    EXPECT_EQ(partition_of(next, "local", 0).leader_epoch, 2);
    EXPECT_NE(next.topics->find("new"), nullptr);
}

}  // namespace
}  // namespace broker::server::cluster
