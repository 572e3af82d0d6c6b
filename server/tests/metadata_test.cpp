#include "common/asio.h"

#include <gtest/gtest.h>

#include <climits>

#include "protocol/errors.h"
#include "server/handlers/handlers.h"
#include "server/tests/test_util.h"

namespace broker::server {
namespace {

using protocol::metadata_request;
using protocol::metadata_response;
using request_topic = metadata_request::metadata_request_topic;

constexpr int16_t unknown_topic =
    static_cast<int16_t>(protocol::error_code::unknown_topic_or_partition);
constexpr int16_t unknown_topic_id = static_cast<int16_t>(protocol::error_code::unknown_topic_id);
constexpr int16_t invalid_request = static_cast<int16_t>(protocol::error_code::invalid_request);

protocol::uuid make_uuid(uint8_t seed) {
    protocol::uuid id;
    for (std::size_t i = 0; i < id.bytes.size(); ++i) {
        id.bytes[i] = static_cast<uint8_t>(seed + i);
    }
    return id;
}

class metadata_test : public ::testing::Test {
protected:
    metadata_test()
        // The store is never opened here (topics are published straight into the table), so
        // auto-creation is off; metadata_topics_test.cpp covers it against a real store.
        : shards_(1, 1),
          core_(test::make_config({{"broker.id", "5"}, {"auto.create.topics.enable", "false"}}),
                "cluster-abc", shards_) {
        core_.set_advertised_endpoints(
            {{"PLAINTEXT", "broker.test", 19092}, {"INTERNAL", "internal.test", 29092}});
    }

    void publish_topics() {
        topic_info orders{"orders", make_uuid(1), false, {}};
        orders.partitions.push_back({0, 0, 5, 3, {5}, {5}, {}});
        orders.partitions.push_back(
            {1,
             static_cast<int16_t>(protocol::error_code::leader_not_available),
             -1,
             2,
             {5, 6},
             {},
             {6}});
        topic_info offsets{"__consumer_offsets", make_uuid(100), true, {}};
        offsets.partitions.push_back({0, 0, 5, 0, {5}, {5}, {}});
        core_.metadata().publish(
            std::make_shared<const topic_snapshot>(std::vector<topic_info>{orders, offsets}));
    }

    metadata_response ask(int16_t version, const metadata_request& request,
                          std::string_view listener = "PLAINTEXT") {
        const auto body = test::body_bytes(version, request);
        protocol::request_header header;
        request_context ctx{
            .broker = core_,
            .header = header,
            .api_key = 3,
            .api_version = version,
            .response_header_version = protocol::response_header_version(3, version),
            .correlation_id = 9,
            .client_id = "",
            .peer = {},
            .listener_name = listener,
            .shard_id = 0,
            .frame = {}};
        const handler_result result = test::run_handler(&handle_metadata, ctx, body);
        EXPECT_FALSE(result.close_connection);
        // Flexible versions (9+) use response header v1.
        const auto response = test::parse_response(test::frame_of(result), version >= 9 ? 1 : 0);
        EXPECT_EQ(response.correlation_id, 9);
        return test::decode_body<metadata_response>(response, version);
    }

    static metadata_request names(std::vector<std::string> list) {
        metadata_request request;
        request.topics.emplace();
        for (std::string& name : list) {
            request_topic t;
            t.name = std::move(name);
            request.topics->push_back(std::move(t));
        }
        return request;
    }

    static metadata_request all_topics() {
        metadata_request request;
        request.topics.reset();
        return request;
    }

    shard_group shards_;
    broker_core core_;
};

void expect_this_broker(const metadata_response& r, int16_t version) {
    ASSERT_EQ(r.brokers.size(), 1U);
    EXPECT_EQ(r.brokers[0].node_id, 5);
    EXPECT_EQ(r.brokers[0].host, "broker.test");
    EXPECT_EQ(r.brokers[0].port, 19092);
    EXPECT_FALSE(r.brokers[0].rack.has_value());
    if (version >= 1) {
        EXPECT_EQ(r.controller_id, 5);
    }
    if (version >= 2) {
        EXPECT_EQ(r.cluster_id, "cluster-abc");
    }
}

TEST_F(metadata_test, empty_table_every_version) {
    for (int16_t version = 0; version <= 12; ++version) {
        SCOPED_TRACE(version);
        const metadata_response r = ask(version, version == 0 ? names({}) : all_topics());
        expect_this_broker(r, version);
        EXPECT_TRUE(r.topics.empty());
        EXPECT_EQ(r.throttle_time_ms, 0);
    }
}

TEST_F(metadata_test, v0_empty_list_means_all_topics) {
    publish_topics();
    const metadata_response r = ask(0, names({}));
    expect_this_broker(r, 0);
    ASSERT_EQ(r.topics.size(), 2U);
    EXPECT_EQ(r.topics[0].name, "__consumer_offsets");
    EXPECT_EQ(r.topics[1].name, "orders");
    ASSERT_EQ(r.topics[1].partitions.size(), 2U);
    EXPECT_EQ(r.topics[1].partitions[0].leader_id, 5);
    EXPECT_EQ(r.topics[1].partitions[0].replica_nodes, std::vector<int32_t>{5});
}

TEST_F(metadata_test, v1_empty_means_none_and_null_means_all) {
    publish_topics();
    EXPECT_TRUE(ask(1, names({})).topics.empty());
    const metadata_response all = ask(1, all_topics());
    ASSERT_EQ(all.topics.size(), 2U);
    EXPECT_TRUE(all.topics[0].is_internal);
    EXPECT_FALSE(all.topics[1].is_internal);
    expect_this_broker(all, 1);
}

TEST_F(metadata_test, v4_unknown_topics_and_duplicates) {
    publish_topics();
    metadata_request request = names({"orders", "missing", "orders", "__transaction_state"});
    request.allow_auto_topic_creation = false;
    const metadata_response r = ask(4, request);
    expect_this_broker(r, 4);
    ASSERT_EQ(r.topics.size(), 3U);
    EXPECT_EQ(r.topics[0].name, "orders");
    EXPECT_EQ(r.topics[0].error_code, 0);
    EXPECT_EQ(r.topics[0].partitions.size(), 2U);
    EXPECT_EQ(r.topics[1].name, "missing");
    EXPECT_EQ(r.topics[1].error_code, unknown_topic);
    EXPECT_TRUE(r.topics[1].partitions.empty());
    EXPECT_FALSE(r.topics[1].is_internal);
    EXPECT_EQ(r.topics[2].name, "__transaction_state");
    EXPECT_EQ(r.topics[2].error_code, unknown_topic);
    EXPECT_TRUE(r.topics[2].is_internal);
}

TEST_F(metadata_test, partition_fields_by_version) {
    publish_topics();
    // v4: no leader epoch (default -1 after decode), no offline replicas.
    const auto v4 = ask(4, names({"orders"}));
    ASSERT_EQ(v4.topics.size(), 1U);
    EXPECT_EQ(v4.topics[0].partitions[0].leader_epoch, -1);
    EXPECT_TRUE(v4.topics[0].partitions[1].offline_replicas.empty());
    // v5 adds offline replicas, v7 the leader epoch.
    const auto v5 = ask(5, names({"orders"}));
    EXPECT_EQ(v5.topics[0].partitions[1].offline_replicas, std::vector<int32_t>{6});
    EXPECT_EQ(v5.topics[0].partitions[0].leader_epoch, -1);
    const auto v7 = ask(7, names({"orders"}));
    EXPECT_EQ(v7.topics[0].partitions[0].leader_epoch, 3);
    const auto& p1 = v7.topics[0].partitions[1];
    EXPECT_EQ(p1.error_code, static_cast<int16_t>(protocol::error_code::leader_not_available));
    EXPECT_EQ(p1.leader_id, -1);
    EXPECT_EQ(p1.replica_nodes, (std::vector<int32_t>{5, 6}));
    EXPECT_TRUE(p1.isr_nodes.empty());
}

TEST_F(metadata_test, v9_authorized_operations_when_asked) {
    publish_topics();
    metadata_request request = names({"orders", "missing"});
    request.include_cluster_authorized_operations = true;
    request.include_topic_authorized_operations = true;
    const metadata_response r = ask(9, request);
    expect_this_broker(r, 9);
    ASSERT_EQ(r.topics.size(), 2U);
    // READ, WRITE, CREATE, DELETE, ALTER, DESCRIBE, DESCRIBE_CONFIGS, ALTER_CONFIGS.
    EXPECT_EQ(r.topics[0].topic_authorized_operations, 3576);
    EXPECT_EQ(r.topics[1].topic_authorized_operations, 3576);
    // CREATE, ALTER, DESCRIBE, CLUSTER_ACTION, DESCRIBE_CONFIGS, ALTER_CONFIGS, IDEMPOTENT_WRITE.
    EXPECT_EQ(r.cluster_authorized_operations, 8096);

    const metadata_response plain = ask(9, names({"orders"}));
    EXPECT_EQ(plain.topics[0].topic_authorized_operations, INT32_MIN);
    EXPECT_EQ(plain.cluster_authorized_operations, INT32_MIN);
}

TEST_F(metadata_test, v10_returns_topic_ids_and_refuses_ids_in_requests) {
    publish_topics();
    const metadata_response r = ask(10, names({"orders"}));
    ASSERT_EQ(r.topics.size(), 1U);
    EXPECT_EQ(r.topics[0].topic_id, make_uuid(1));

    metadata_request by_id;
    by_id.topics.emplace();
    request_topic t;
    t.topic_id = make_uuid(1);
    t.name = "orders";
    by_id.topics->push_back(t);
    const metadata_response refused = ask(10, by_id);
    ASSERT_EQ(refused.topics.size(), 1U);
    EXPECT_EQ(refused.topics[0].error_code, invalid_request);
    EXPECT_EQ(refused.topics[0].name, "orders");
    EXPECT_TRUE(refused.brokers.empty());
    EXPECT_EQ(refused.controller_id, -1);

    metadata_request null_name;
    null_name.topics.emplace();
    request_topic n;
    n.name = std::nullopt;
    null_name.topics->push_back(n);
    const metadata_response refused_null = ask(11, null_name);
    ASSERT_EQ(refused_null.topics.size(), 1U);
    EXPECT_EQ(refused_null.topics[0].error_code, invalid_request);
}

TEST_F(metadata_test, v12_by_topic_id) {
    publish_topics();
    metadata_request request;
    request.topics.emplace();
    for (uint8_t seed : {uint8_t{1}, uint8_t{200}, uint8_t{1}}) {
        request_topic t;
        t.topic_id = make_uuid(seed);
        t.name = std::nullopt;
        request.topics->push_back(t);
    }
    request.include_topic_authorized_operations = true;
    const metadata_response r = ask(12, request);
    expect_this_broker(r, 12);
    ASSERT_EQ(r.topics.size(), 2U);
    EXPECT_EQ(r.topics[0].error_code, unknown_topic_id);
    EXPECT_FALSE(r.topics[0].name.has_value());
    EXPECT_EQ(r.topics[0].topic_id, make_uuid(200));
    EXPECT_EQ(r.topics[0].topic_authorized_operations, INT32_MIN);
    EXPECT_EQ(r.topics[1].error_code, 0);
    EXPECT_EQ(r.topics[1].name, "orders");
    EXPECT_EQ(r.topics[1].topic_authorized_operations, 3576);
    // v11+ has no cluster authorized operations field: the decoder leaves the default.
    EXPECT_EQ(r.cluster_authorized_operations, INT32_MIN);
}

TEST_F(metadata_test, brokers_follow_the_listener) {
    const metadata_response r = ask(1, all_topics(), "INTERNAL");
    ASSERT_EQ(r.brokers.size(), 1U);
    EXPECT_EQ(r.brokers[0].host, "internal.test");
    EXPECT_EQ(r.brokers[0].port, 29092);
}

TEST_F(metadata_test, malformed_body_closes_the_connection) {
    protocol::request_header header;
    request_context ctx{.broker = core_,
                        .header = header,
                        .api_key = 3,
                        .api_version = 1,
                        .response_header_version = 0,
                        .correlation_id = 1,
                        .client_id = "",
                        .peer = {},
                        .listener_name = "PLAINTEXT",
                        .shard_id = 0,
                        .frame = {}};
    // An array count of 1000 with no elements behind it.
    const std::vector<uint8_t> body{0, 0, 0x03, 0xe8};
    const handler_result result = test::run_handler(&handle_metadata, ctx, body);
    EXPECT_TRUE(result.close_connection);
    EXPECT_FALSE(result.response.has_value());
}

}  // namespace
}  // namespace broker::server
