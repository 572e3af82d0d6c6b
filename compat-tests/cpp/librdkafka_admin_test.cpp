// librdkafka's admin API against the real broker: create/delete topics, create partitions,
// describe and alter configs. Each test starts its own broker.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>

#include "compat-tests/cpp/broker_fixture.h"
#include "compat-tests/cpp/rdkafka_util.h"

namespace broker::compat {
namespace {

/// Topic name -> partition count, from a full metadata request.
std::map<std::string, int> list_topics(rd_kafka_t* rk) {
    const rd_kafka_metadata_t* md = nullptr;
    if (rd_kafka_metadata(rk, 1, nullptr, &md, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        throw std::runtime_error("metadata failed");
    }
    std::map<std::string, int> out;
    for (int i = 0; i < md->topic_cnt; ++i) {
        if (md->topics[i].err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            out[md->topics[i].topic] = md->topics[i].partition_cnt;
        }
    }
    rd_kafka_metadata_destroy(md);
    return out;
}

std::map<std::string, std::string> describe_topic_configs(
    rd_kafka_t* rk, const std::string& topic,
    std::map<std::string, rd_kafka_ConfigSource_t>* sources = nullptr) {
    rd_kafka_ConfigResource_t* res =
        rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic.c_str());
    rd_kafka_queue_t* q = rd_kafka_queue_new(rk);
    rd_kafka_DescribeConfigs(rk, &res, 1, nullptr, q);
    rd_kafka_event_t* ev = wait_admin_result(q, RD_KAFKA_EVENT_DESCRIBECONFIGS_RESULT, 30000);
    std::map<std::string, std::string> out;
    EXPECT_EQ(rd_kafka_event_error(ev), RD_KAFKA_RESP_ERR_NO_ERROR)
        << rd_kafka_event_error_string(ev);
    size_t n = 0;
    const rd_kafka_ConfigResource_t** rs =
        rd_kafka_DescribeConfigs_result_resources(rd_kafka_event_DescribeConfigs_result(ev), &n);
    EXPECT_EQ(n, 1u);
    if (n == 1) {
        EXPECT_EQ(rd_kafka_ConfigResource_error(rs[0]), RD_KAFKA_RESP_ERR_NO_ERROR);
        size_t cnt = 0;
        const rd_kafka_ConfigEntry_t** entries = rd_kafka_ConfigResource_configs(rs[0], &cnt);
        for (size_t i = 0; i < cnt; ++i) {
            const char* v = rd_kafka_ConfigEntry_value(entries[i]);
            out[rd_kafka_ConfigEntry_name(entries[i])] = v ? v : "";
            if (sources != nullptr) {
                (*sources)[rd_kafka_ConfigEntry_name(entries[i])] =
                    rd_kafka_ConfigEntry_source(entries[i]);
            }
        }
    }
    rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(q);
    rd_kafka_ConfigResource_destroy(res);
    return out;
}

TEST(librdkafka_admin, create_delete_and_partitions) {
    broker_process broker;
    broker.start();
    auto rk = make_client(RD_KAFKA_PRODUCER, {{"bootstrap.servers", broker.bootstrap()}});
    auto created = create_topics(rk.get(), {{"admin-a", 3}, {"admin-b", 1}});
    EXPECT_EQ(created["admin-a"], RD_KAFKA_RESP_ERR_NO_ERROR);
    EXPECT_EQ(created["admin-b"], RD_KAFKA_RESP_ERR_NO_ERROR);
    auto again = create_topics(rk.get(), {{"admin-a", 3}});
    EXPECT_EQ(again["admin-a"], RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS);
    auto bad = create_topics(rk.get(), {{"bad name!", 1}});
    EXPECT_EQ(bad["bad name!"], RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION);
    auto too_many_replicas = create_topics(rk.get(), {{"admin-rf", 1}}, {}, 3);
    EXPECT_EQ(too_many_replicas["admin-rf"], RD_KAFKA_RESP_ERR_INVALID_REPLICATION_FACTOR);

    auto topics = list_topics(rk.get());
    EXPECT_EQ(topics["admin-a"], 3);
    EXPECT_EQ(topics["admin-b"], 1);

    // Grow admin-b to 4 partitions.
    char err[512];
    rd_kafka_NewPartitions_t* np = rd_kafka_NewPartitions_new("admin-b", 4, err, sizeof(err));
    rd_kafka_queue_t* q = rd_kafka_queue_new(rk.get());
    rd_kafka_CreatePartitions(rk.get(), &np, 1, nullptr, q);
    rd_kafka_event_t* ev = wait_admin_result(q, RD_KAFKA_EVENT_CREATEPARTITIONS_RESULT, 30000);
    size_t n = 0;
    const rd_kafka_topic_result_t** res =
        rd_kafka_CreatePartitions_result_topics(rd_kafka_event_CreatePartitions_result(ev), &n);
    ASSERT_EQ(n, 1u);
    EXPECT_EQ(rd_kafka_topic_result_error(res[0]), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_event_destroy(ev);
    rd_kafka_NewPartitions_destroy(np);
    EXPECT_EQ(list_topics(rk.get())["admin-b"], 4);

    // Delete admin-a.
    rd_kafka_DeleteTopic_t* dt = rd_kafka_DeleteTopic_new("admin-a");
    rd_kafka_DeleteTopics(rk.get(), &dt, 1, nullptr, q);
    ev = wait_admin_result(q, RD_KAFKA_EVENT_DELETETOPICS_RESULT, 30000);
    res = rd_kafka_DeleteTopics_result_topics(rd_kafka_event_DeleteTopics_result(ev), &n);
    ASSERT_EQ(n, 1u);
    EXPECT_EQ(rd_kafka_topic_result_error(res[0]), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_event_destroy(ev);
    rd_kafka_DeleteTopic_destroy(dt);
    rd_kafka_queue_destroy(q);
    topics = list_topics(rk.get());
    EXPECT_EQ(topics.count("admin-a"), 0u);
    EXPECT_EQ(topics.count("admin-b"), 1u);
}

TEST(librdkafka_admin, describe_and_alter_configs) {
    broker_process broker;
    broker.start();
    auto rk = make_client(RD_KAFKA_PRODUCER, {{"bootstrap.servers", broker.bootstrap()}});
    auto created = create_topics(rk.get(), {{"configured", 1}}, {{"retention.ms", "3600000"}});
    ASSERT_EQ(created["configured"], RD_KAFKA_RESP_ERR_NO_ERROR);

    std::map<std::string, rd_kafka_ConfigSource_t> sources;
    auto configs = describe_topic_configs(rk.get(), "configured", &sources);
    EXPECT_EQ(configs["retention.ms"], "3600000");
    EXPECT_EQ(sources["retention.ms"], RD_KAFKA_CONFIG_SOURCE_DYNAMIC_TOPIC_CONFIG);
    EXPECT_EQ(configs["cleanup.policy"], "delete");
    EXPECT_EQ(configs["segment.bytes"], "1073741824");
    EXPECT_EQ(configs["max.message.bytes"], "1048588");
    EXPECT_EQ(configs["message.timestamp.type"], "CreateTime");
    EXPECT_EQ(configs["min.insync.replicas"], "1");
    EXPECT_EQ(configs["compression.type"], "producer");
    EXPECT_EQ(configs["retention.bytes"], "-1");
    EXPECT_EQ(sources["cleanup.policy"], RD_KAFKA_CONFIG_SOURCE_DEFAULT_CONFIG);

    // AlterConfigs replaces the whole set of dynamic configs of the resource.
    rd_kafka_ConfigResource_t* res =
        rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, "configured");
    rd_kafka_ConfigResource_set_config(res, "cleanup.policy", "compact");
    rd_kafka_queue_t* q = rd_kafka_queue_new(rk.get());
    rd_kafka_AlterConfigs(rk.get(), &res, 1, nullptr, q);
    rd_kafka_event_t* ev = wait_admin_result(q, RD_KAFKA_EVENT_ALTERCONFIGS_RESULT, 30000);
    EXPECT_EQ(rd_kafka_event_error(ev), RD_KAFKA_RESP_ERR_NO_ERROR);
    size_t n = 0;
    const rd_kafka_ConfigResource_t** rs =
        rd_kafka_AlterConfigs_result_resources(rd_kafka_event_AlterConfigs_result(ev), &n);
    ASSERT_EQ(n, 1u);
    EXPECT_EQ(rd_kafka_ConfigResource_error(rs[0]), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_event_destroy(ev);
    rd_kafka_ConfigResource_destroy(res);

    configs = describe_topic_configs(rk.get(), "configured", &sources);
    EXPECT_EQ(configs["cleanup.policy"], "compact");
    EXPECT_EQ(configs["retention.ms"],
              "604800000");  // back to the default: AlterConfigs is not incremental
    EXPECT_EQ(sources["retention.ms"], RD_KAFKA_CONFIG_SOURCE_DEFAULT_CONFIG);

    // An invalid value is refused.
    res = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, "configured");
    rd_kafka_ConfigResource_set_config(res, "cleanup.policy", "sometimes");
    rd_kafka_AlterConfigs(rk.get(), &res, 1, nullptr, q);
    ev = wait_admin_result(q, RD_KAFKA_EVENT_ALTERCONFIGS_RESULT, 30000);
    rs = rd_kafka_AlterConfigs_result_resources(rd_kafka_event_AlterConfigs_result(ev), &n);
    ASSERT_EQ(n, 1u);
    EXPECT_EQ(rd_kafka_ConfigResource_error(rs[0]), RD_KAFKA_RESP_ERR_INVALID_CONFIG);
    rd_kafka_event_destroy(ev);
    rd_kafka_ConfigResource_destroy(res);
    rd_kafka_queue_destroy(q);
    EXPECT_EQ(describe_topic_configs(rk.get(), "configured")["cleanup.policy"], "compact");
}

}  // namespace
}  // namespace broker::compat
