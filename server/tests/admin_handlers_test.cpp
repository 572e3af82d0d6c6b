// The admin handlers (CreateTopics, DeleteTopics, CreatePartitions, DeleteRecords, DescribeConfigs,
// AlterConfigs, IncrementalAlterConfigs, DescribeCluster, DescribeLogDirs) and Metadata with a real
// topic store: each request is encoded at a given version, run through its handler, and the
// response decoded at the same version.
#include "common/asio.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <climits>

#include "protocol/errors.h"
#include "protocol/records.h"
#include "server/handlers/handlers.h"
#include "server/tests/test_util.h"

namespace broker::server {
namespace {

using protocol::error_code;

constexpr int16_t ok = 0;
constexpr int16_t err(error_code e) {
    return static_cast<int16_t>(e);
}

class admin_handlers_test : public ::testing::Test {
protected:
    admin_handlers_test()
        : shards_(1, 1),
          core_(test::make_config(
                    {{"broker.id", "3"}, {"log.dirs", dir_.sub("data")}, {"num.partitions", "2"}}),
                "cluster-xyz", shards_) {
        core_.set_advertised_endpoints({{"PLAINTEXT", "broker.test", 19092}});
        core_.store().open();
    }
    ~admin_handlers_test() override { core_.store().shutdown(); }

    template <typename Response, typename Request>
    Response ask(handler_fn handler, int16_t api_key, int16_t version, const Request& request) {
        const auto body = test::body_bytes(version, request);
        protocol::request_header header;
        request_context ctx{
            .broker = core_,
            .header = header,
            .api_key = api_key,
            .api_version = version,
            .response_header_version = protocol::response_header_version(api_key, version),
            .correlation_id = 77,
            .client_id = "",
            .peer = {},
            .listener_name = "PLAINTEXT",
            .shard_id = 0,
            .frame = {}};
        const handler_result result = test::run_handler(handler, ctx, body);
        EXPECT_FALSE(result.close_connection);
        const auto response =
            test::parse_response(test::frame_of(result), ctx.response_header_version);
        EXPECT_EQ(response.correlation_id, 77);
        return test::decode_body<Response>(response, version);
    }

    protocol::create_topics_response create(
        int16_t version, const std::string& name, int32_t partitions,
        std::vector<std::pair<std::string, std::optional<std::string>>> configs = {},
        bool validate_only = false) {
        protocol::create_topics_request request;
        protocol::create_topics_request::creatable_topic t;
        t.name = name;
        t.num_partitions = partitions;
        t.replication_factor = partitions == -1 ? -1 : 1;
        for (auto& [k, v] : configs) {
            t.configs.push_back({k, v, {}});
        }
        request.topics.push_back(t);
        request.validate_only = validate_only;
        return ask<protocol::create_topics_response>(&handle_create_topics, 19, version, request);
    }

    protocol::describe_configs_response describe(
        int16_t version, int8_t type, const std::string& name, bool synonyms = false,
        std::optional<std::vector<std::string>> keys = std::nullopt) {
        protocol::describe_configs_request request;
        request.resources.push_back({type, name, std::move(keys), {}});
        request.include_synonyms = synonyms;
        return ask<protocol::describe_configs_response>(&handle_describe_configs, 32, version,
                                                        request);
    }

    static const protocol::describe_configs_response::describe_configs_resource_result* entry(
        const protocol::describe_configs_response& r, std::string_view name) {
        for (const auto& c : r.results.at(0).configs) {
            if (c.name == name) {
                return &c;
            }
        }
        return nullptr;
    }

    test::temp_dir dir_;
    shard_group shards_;
    broker_core core_;
};

TEST_F(admin_handlers_test, create_topics_across_versions) {
    auto v0 = create(0, "v0-topic", 3);
    ASSERT_EQ(v0.topics.size(), 1U);
    EXPECT_EQ(v0.topics[0].error_code, ok);
    EXPECT_EQ(core_.store().partitions_of("v0-topic").size(), 3U);

    auto v1 = create(1, "v0-topic", 3);
    EXPECT_EQ(v1.topics[0].error_code, err(error_code::topic_already_exists));
    EXPECT_EQ(v1.topics[0].error_message, "Topic 'v0-topic' already exists.");
    EXPECT_EQ(create(1, "fresh-v1", 1).topics[0].error_message, std::nullopt);

    auto v4 = create(4, "defaults", -1);
    EXPECT_EQ(v4.topics[0].error_code, ok);
    EXPECT_EQ(core_.store().partitions_of("defaults").size(), 2U);

    auto v5 = create(5, "configured", 1, {{"retention.ms", "3600000"}});
    ASSERT_EQ(v5.topics[0].error_code, ok);
    EXPECT_EQ(v5.topics[0].num_partitions, 1);
    EXPECT_EQ(v5.topics[0].replication_factor, 1);
    ASSERT_TRUE(v5.topics[0].configs);
    bool found = false;
    for (const auto& c : *v5.topics[0].configs) {
        if (c.name == "retention.ms") {
            found = true;
            EXPECT_EQ(c.value, "3600000");
            EXPECT_EQ(c.config_source, 1);
            EXPECT_FALSE(c.read_only);
        }
    }
    EXPECT_TRUE(found);

    auto v7 = create(7, "with-id", 1);
    EXPECT_EQ(v7.topics[0].topic_id, core_.store().topic_id_of("with-id").value());
    EXPECT_FALSE(v7.topics[0].topic_id.is_zero());

    auto bad = create(7, "bad name!", 1);
    EXPECT_EQ(bad.topics[0].error_code, err(error_code::invalid_topic_exception));
    EXPECT_EQ(bad.topics[0].num_partitions, -1);
    EXPECT_TRUE(bad.topics[0].topic_id.is_zero());
    EXPECT_EQ(create(7, "rf3", 1).topics[0].error_code, ok);
    EXPECT_EQ(create(7, "null-config", 1, {{"retention.ms", std::nullopt}}).topics[0].error_code,
              err(error_code::invalid_config));
    EXPECT_EQ(create(7, "bad-config", 1, {{"retention.ms", "soon"}}).topics[0].error_code,
              err(error_code::invalid_config));

    auto dry = create(7, "dry", 5, {}, true);
    EXPECT_EQ(dry.topics[0].error_code, ok);
    EXPECT_EQ(dry.topics[0].num_partitions, 5);
    EXPECT_FALSE(core_.store().exists("dry"));
}

TEST_F(admin_handlers_test, create_topics_duplicates_and_replication) {
    protocol::create_topics_request request;
    protocol::create_topics_request::creatable_topic t;
    t.name = "twice";
    t.num_partitions = 1;
    t.replication_factor = 1;
    request.topics = {t, t};
    t.name = "rf";
    t.replication_factor = 3;
    request.topics.push_back(t);
    t.name = "assigned";
    t.num_partitions = -1;
    t.replication_factor = -1;
    t.assignments = {{0, {3}, {}}, {1, {3}, {}}};
    request.topics.push_back(t);
    t.name = "assigned-elsewhere";
    t.assignments = {{0, {4}, {}}};
    request.topics.push_back(t);
    const auto r = ask<protocol::create_topics_response>(&handle_create_topics, 19, 5, request);
    ASSERT_EQ(r.topics.size(), 5U);
    EXPECT_EQ(r.topics[0].error_code, err(error_code::invalid_request));
    EXPECT_EQ(r.topics[1].error_code, err(error_code::invalid_request));
    EXPECT_EQ(r.topics[2].error_code, err(error_code::invalid_replication_factor));
    EXPECT_EQ(r.topics[2].error_message, "Replication factor: 3 larger than available brokers: 1.");
    EXPECT_EQ(r.topics[3].error_code, ok);
    EXPECT_EQ(r.topics[3].num_partitions, 2);
    EXPECT_EQ(r.topics[4].error_code, err(error_code::invalid_replica_assignment));
    EXPECT_FALSE(core_.store().exists("twice"));
}

TEST_F(admin_handlers_test, delete_topics_by_name_and_by_id) {
    ASSERT_EQ(create(4, "a", 1).topics[0].error_code, ok);
    ASSERT_EQ(create(4, "b", 1).topics[0].error_code, ok);
    const protocol::uuid b_id = core_.store().topic_id_of("b").value();

    protocol::delete_topics_request v0;
    v0.topic_names = {"a", "a", "missing"};
    const auto r0 = ask<protocol::delete_topics_response>(&handle_delete_topics, 20, 0, v0);
    ASSERT_EQ(r0.responses.size(), 2U);
    EXPECT_EQ(r0.responses[0].name, "a");
    EXPECT_EQ(r0.responses[0].error_code, ok);
    EXPECT_EQ(r0.responses[1].error_code, err(error_code::unknown_topic_or_partition));
    EXPECT_FALSE(core_.store().exists("a"));

    protocol::delete_topics_request v6;
    protocol::uuid unknown;
    unknown.bytes[0] = 9;
    v6.topics.push_back({std::nullopt, b_id, {}});
    v6.topics.push_back({std::nullopt, unknown, {}});
    v6.topics.push_back({std::string("x"), unknown, {}});
    const auto r6 = ask<protocol::delete_topics_response>(&handle_delete_topics, 20, 6, v6);
    ASSERT_EQ(r6.responses.size(), 3U);
    EXPECT_EQ(r6.responses[0].name, "b");
    EXPECT_EQ(r6.responses[0].topic_id, b_id);
    EXPECT_EQ(r6.responses[0].error_code, ok);
    EXPECT_EQ(r6.responses[0].error_message, std::nullopt);
    EXPECT_EQ(r6.responses[1].name, std::nullopt);
    EXPECT_EQ(r6.responses[1].error_code, err(error_code::unknown_topic_id));
    EXPECT_EQ(r6.responses[2].error_code, err(error_code::invalid_request));
    EXPECT_FALSE(core_.store().exists("b"));
}

TEST_F(admin_handlers_test, create_partitions) {
    ASSERT_EQ(create(4, "grow", 1).topics[0].error_code, ok);
    protocol::create_partitions_request request;
    request.topics.push_back({"grow", 3, std::nullopt, {}});
    request.topics.push_back({"missing", 3, std::nullopt, {}});
    const auto r =
        ask<protocol::create_partitions_response>(&handle_create_partitions, 37, 3, request);
    ASSERT_EQ(r.results.size(), 2U);
    EXPECT_EQ(r.results[0].error_code, ok);
    EXPECT_EQ(r.results[0].error_message, std::nullopt);
    EXPECT_EQ(r.results[1].error_code, err(error_code::unknown_topic_or_partition));
    EXPECT_EQ(core_.store().partitions_of("grow").size(), 3U);

    request.topics = {{"grow", 2, std::nullopt, {}}};
    const auto lower =
        ask<protocol::create_partitions_response>(&handle_create_partitions, 37, 0, request);
    EXPECT_EQ(lower.results[0].error_code, err(error_code::invalid_partitions));
    request.topics = {
        {"grow",
         4,
         std::vector<protocol::create_partitions_request::create_partitions_assignment>{{{7}, {}}},
         {}}};
    const auto elsewhere =
        ask<protocol::create_partitions_response>(&handle_create_partitions, 37, 1, request);
    EXPECT_EQ(elsewhere.results[0].error_code, err(error_code::invalid_replica_assignment));
}

TEST_F(admin_handlers_test, elect_leaders_finds_every_leader_already_elected) {
    ASSERT_EQ(create(4, "led", 2).topics[0].error_code, ok);
    protocol::elect_leaders_request request;
    request.election_type = 0;
    request.topic_partitions = std::vector<protocol::elect_leaders_request::topic_partitions_data>{
        {"led", {0, 1, 5}, {}}, {"missing", {0}, {}}};
    for (int16_t version = 0; version <= 2; ++version) {
        SCOPED_TRACE(version);
        const auto r =
            ask<protocol::elect_leaders_response>(&handle_elect_leaders, 43, version, request);
        EXPECT_EQ(r.error_code, ok);
        ASSERT_EQ(r.replica_election_results.size(), 2U);
        const auto& led = r.replica_election_results[0].partition_result;
        ASSERT_EQ(led.size(), 3U);
        EXPECT_EQ(led[0].error_code, err(error_code::election_not_needed));
        EXPECT_EQ(led[1].error_code, err(error_code::election_not_needed));
        EXPECT_EQ(led[2].error_code, err(error_code::unknown_topic_or_partition));
        EXPECT_EQ(r.replica_election_results[1].partition_result.at(0).error_code,
                  err(error_code::unknown_topic_or_partition));
    }
    // Over every partition (a null list), preferred or unclean: the leaders are live and
    // preferred, nothing to elect, and like Kafka the answer then lists no partition at all (it
    // leaves out those that needed no election).
    request.topic_partitions = std::nullopt;
    for (const int8_t type : {0, 1}) {
        request.election_type = type;
        const auto all =
            ask<protocol::elect_leaders_response>(&handle_elect_leaders, 43, 2, request);
        EXPECT_EQ(all.error_code, ok);
        EXPECT_TRUE(all.replica_election_results.empty())
            << all.replica_election_results.size() << " topics listed";
    }
    request.election_type = 7;
    const auto bad = ask<protocol::elect_leaders_response>(&handle_elect_leaders, 43, 1, request);
    EXPECT_EQ(bad.error_code, err(error_code::invalid_request));
}

TEST_F(admin_handlers_test, delete_records) {
    ASSERT_EQ(create(4, "recs", 1).topics[0].error_code, ok);
    auto p = core_.find_partition("recs", 0);
    for (int i = 0; i < 4; ++i) {
        protocol::record_data rec;
        rec.value = std::vector<uint8_t>{static_cast<uint8_t>(i)};
        std::vector<uint8_t> batch = protocol::build_batch({rec}, {});
        ASSERT_TRUE(test::append_batch(*p, batch).ok());
    }
    protocol::delete_records_request request;
    request.topics.push_back({"recs", {{0, 2, {}}, {5, 0, {}}}, {}});
    const auto r = ask<protocol::delete_records_response>(&handle_delete_records, 21, 2, request);
    ASSERT_EQ(r.topics.size(), 1U);
    ASSERT_EQ(r.topics[0].partitions.size(), 2U);
    EXPECT_EQ(r.topics[0].partitions[0].error_code, ok);
    EXPECT_EQ(r.topics[0].partitions[0].low_watermark, 2);
    EXPECT_EQ(r.topics[0].partitions[1].error_code, err(error_code::unknown_topic_or_partition));
    EXPECT_EQ(r.topics[0].partitions[1].low_watermark, -1);

    request.topics = {{"recs", {{0, 9, {}}}, {}}};
    EXPECT_EQ(ask<protocol::delete_records_response>(&handle_delete_records, 21, 0, request)
                  .topics[0]
                  .partitions[0]
                  .error_code,
              err(error_code::offset_out_of_range));
    request.topics = {{"recs", {{0, -1, {}}}, {}}};
    EXPECT_EQ(ask<protocol::delete_records_response>(&handle_delete_records, 21, 1, request)
                  .topics[0]
                  .partitions[0]
                  .low_watermark,
              4);
}

TEST_F(admin_handlers_test, describe_configs_of_topics) {
    ASSERT_EQ(create(4, "described", 1, {{"retention.ms", "1000"}}).topics[0].error_code, ok);
    const auto v0 = describe(0, resource_type_topic, "described");
    ASSERT_EQ(v0.results.size(), 1U);
    EXPECT_EQ(v0.results[0].error_code, ok);
    ASSERT_NE(entry(v0, "retention.ms"), nullptr);
    EXPECT_EQ(entry(v0, "retention.ms")->value, "1000");
    EXPECT_FALSE(entry(v0, "retention.ms")->is_default);
    EXPECT_TRUE(entry(v0, "cleanup.policy")->is_default);
    EXPECT_EQ(entry(v0, "min.insync.replicas")->value, "1");
    EXPECT_EQ(entry(v0, "compression.type")->value, "producer");

    const auto v1 = describe(1, resource_type_topic, "described", true);
    EXPECT_EQ(entry(v1, "retention.ms")->config_source, 1);
    EXPECT_EQ(entry(v1, "segment.bytes")->config_source, 5);
    ASSERT_FALSE(entry(v1, "retention.ms")->synonyms.empty());
    EXPECT_EQ(entry(v1, "retention.ms")->synonyms[0].name, "retention.ms");
    EXPECT_EQ(entry(v1, "retention.ms")->synonyms[0].source, 1);
    EXPECT_TRUE(describe(1, resource_type_topic, "described", false)
                    .results[0]
                    .configs.at(0)
                    .synonyms.empty());

    const auto v4 = describe(4, resource_type_topic, "described", false,
                             std::vector<std::string>{"segment.bytes", "cleanup.policy"});
    ASSERT_EQ(v4.results[0].configs.size(), 2U);
    EXPECT_EQ(entry(v4, "segment.bytes")->config_type, 3);   // INT
    EXPECT_EQ(entry(v4, "cleanup.policy")->config_type, 7);  // LIST
    EXPECT_EQ(entry(v4, "cleanup.policy")->documentation, std::nullopt);

    EXPECT_EQ(describe(4, resource_type_topic, "missing").results[0].error_code,
              err(error_code::unknown_topic_or_partition));
    EXPECT_EQ(describe(4, resource_type_topic, "bad/name").results[0].error_code,
              err(error_code::invalid_topic_exception));
    EXPECT_EQ(describe(4, 3, "x").results[0].error_code, err(error_code::invalid_request));
}

TEST_F(admin_handlers_test, newer_topic_configs_created_described_and_refused) {
    auto created = create(7, "levels", 1,
                          {{"compression.type", "zstd"},
                           {"compression.zstd.level", "-5"},
                           {"compression.gzip.level", "9"},
                           {"remote.log.copy.disable", "false"},
                           {"remote.log.delete.on.disable", "false"}});
    ASSERT_EQ(created.topics[0].error_code, ok) << created.topics[0].error_message.value_or("");
    const auto described = describe(4, resource_type_topic, "levels");
    ASSERT_NE(entry(described, "compression.zstd.level"), nullptr);
    EXPECT_EQ(entry(described, "compression.zstd.level")->value, "-5");
    EXPECT_EQ(entry(described, "compression.zstd.level")->config_source, 1);
    EXPECT_EQ(entry(described, "compression.zstd.level")->config_type, 3);  // INT
    EXPECT_EQ(entry(described, "compression.gzip.level")->value, "9");
    EXPECT_EQ(entry(described, "compression.lz4.level")->value, "9");
    EXPECT_EQ(entry(described, "compression.lz4.level")->config_source, 5);
    EXPECT_EQ(entry(described, "remote.log.copy.disable")->value, "false");
    EXPECT_EQ(entry(described, "remote.log.copy.disable")->config_source, 1);
    EXPECT_EQ(entry(described, "remote.log.copy.disable")->config_type, 1);  // BOOLEAN
    EXPECT_EQ(entry(described, "remote.log.delete.on.disable")->value, "false");

    auto bad = create(7, "bad-level", 1, {{"compression.gzip.level", "0"}});
    EXPECT_EQ(bad.topics[0].error_code, err(error_code::invalid_config));
    EXPECT_EQ(bad.topics[0].error_message,
              "Invalid value 0 for configuration compression.gzip.level: Value must be between 1 "
              "and 9 or equal to -1");
    bad = create(7, "bad-level", 1, {{"compression.lz4.level", "18"}});
    EXPECT_EQ(bad.topics[0].error_code, err(error_code::invalid_config));
    bad = create(7, "bad-remote", 1, {{"remote.log.copy.disable", "true"}});
    EXPECT_EQ(bad.topics[0].error_code, err(error_code::invalid_config));
    EXPECT_EQ(bad.topics[0].error_message,
              "It is invalid to set `remote.log.delete.on.disable` or `remote.log.copy.disable` "
              "under Zookeeper's mode.");
    EXPECT_TRUE(core_.store().partitions_of("bad-level").empty());
    EXPECT_TRUE(core_.store().partitions_of("bad-remote").empty());
}

TEST_F(admin_handlers_test, describe_configs_documentation_when_asked) {
    ASSERT_EQ(create(4, "documented", 1).topics[0].error_code, ok);
    for (int16_t version : {3, 4}) {
        protocol::describe_configs_request request;
        request.resources.push_back({resource_type_topic, "documented", std::nullopt, {}});
        request.resources.push_back({resource_type_broker, "3", std::nullopt, {}});
        request.include_documentation = true;
        const auto r = ask<protocol::describe_configs_response>(&handle_describe_configs, 32,
                                                                version, request);
        ASSERT_EQ(r.results.size(), 2U);
        ASSERT_EQ(r.results[0].configs.size(), topic_config_defs().size());
        for (const auto& c : r.results[0].configs) {
            const topic_config_def* def = find_topic_config(c.name);
            ASSERT_NE(def, nullptr) << c.name;
            EXPECT_FALSE(def->documentation.empty()) << c.name;
            EXPECT_EQ(c.documentation, std::string(def->documentation)) << c.name;
        }
        ASSERT_FALSE(r.results[1].configs.empty());
        for (const auto& c : r.results[1].configs) {
            ASSERT_TRUE(c.documentation.has_value()) << c.name;
            EXPECT_FALSE(c.documentation->empty()) << c.name;
        }
        const auto broker_entry = [&](std::string_view name) {
            for (const auto& c : r.results[1].configs) {
                if (c.name == name) {
                    return c.documentation;
                }
            }
            return std::optional<std::string>();
        };
        EXPECT_EQ(broker_entry("num.partitions"),
                  std::string(find_config_key("num.partitions")->documentation));
        // A broker key that only defaults a topic config carries that config's text.
        EXPECT_EQ(broker_entry("log.preallocate"),
                  "Broker-wide default of the topic config preallocate: " +
                      std::string(find_topic_config("preallocate")->documentation));
    }
    // Not asked: null (v0-2 have neither the flag nor the field).
    for (int16_t version : {3, 4}) {
        const auto r = describe(version, resource_type_topic, "documented");
        ASSERT_FALSE(r.results[0].configs.empty());
        for (const auto& c : r.results[0].configs) {
            EXPECT_EQ(c.documentation, std::nullopt) << c.name;
        }
    }
}

TEST_F(admin_handlers_test, describe_and_alter_broker_configs) {
    const auto own = describe(4, resource_type_broker, "3");
    ASSERT_EQ(own.results[0].error_code, ok);
    EXPECT_EQ(entry(own, "num.partitions")->value, "2");
    EXPECT_EQ(entry(own, "num.partitions")->config_source, 4);
    EXPECT_TRUE(entry(own, "num.partitions")->read_only);
    EXPECT_FALSE(entry(own, "log.retention.ms")->read_only);
    EXPECT_TRUE(describe(4, resource_type_broker, "").results[0].configs.empty());
    EXPECT_EQ(describe(4, resource_type_broker, "4").results[0].error_code,
              err(error_code::invalid_request));

    protocol::alter_configs_request alter;
    alter.resources.push_back({resource_type_broker, "", {{"log.retention.ms", "5000", {}}}, {}});
    alter.resources.push_back({resource_type_broker, "3", {{"num.partitions", "4", {}}}, {}});
    alter.resources.push_back({resource_type_broker, "9", {}, {}});
    const auto r = ask<protocol::alter_configs_response>(&handle_alter_configs, 33, 2, alter);
    ASSERT_EQ(r.responses.size(), 3U);
    EXPECT_EQ(r.responses[0].error_code, ok);
    EXPECT_EQ(r.responses[0].error_message, std::nullopt);
    EXPECT_EQ(r.responses[1].error_code, err(error_code::invalid_request));
    EXPECT_EQ(r.responses[2].error_code, err(error_code::invalid_request));

    const auto defaults = describe(4, resource_type_broker, "");
    ASSERT_EQ(defaults.results[0].configs.size(), 1U);
    EXPECT_EQ(defaults.results[0].configs[0].name, "log.retention.ms");
    EXPECT_EQ(defaults.results[0].configs[0].config_source, 3);
    ASSERT_EQ(create(4, "inherits", 1).topics[0].error_code, ok);
    EXPECT_EQ(entry(describe(4, resource_type_topic, "inherits"), "retention.ms")->value, "5000");
}

TEST_F(admin_handlers_test, alter_configs_replaces_topic_overrides) {
    ASSERT_EQ(create(4, "alter", 1, {{"retention.ms", "1000"}}).topics[0].error_code, ok);
    protocol::alter_configs_request request;
    request.resources.push_back(
        {resource_type_topic, "alter", {{"cleanup.policy", "compact", {}}}, {}});
    request.resources.push_back({resource_type_topic, "missing", {}, {}});
    request.resources.push_back(
        {resource_type_topic, "alter", {{"retention.ms", std::nullopt, {}}}, {}});
    request.resources.push_back({2, "alter", {{"retention.ms", "x", {}}}, {}});
    const auto r = ask<protocol::alter_configs_response>(&handle_alter_configs, 33, 0, request);
    ASSERT_EQ(r.responses.size(), 4U);
    EXPECT_EQ(r.responses[0].error_code, ok);
    EXPECT_EQ(r.responses[1].error_code, err(error_code::unknown_topic_or_partition));
    EXPECT_EQ(r.responses[2].error_code, err(error_code::invalid_request));
    EXPECT_EQ(r.responses[3].error_code, err(error_code::invalid_config));
    const auto described = describe(1, resource_type_topic, "alter");
    EXPECT_EQ(entry(described, "cleanup.policy")->value, "compact");
    EXPECT_EQ(entry(described, "retention.ms")->value, "604800000");
    EXPECT_EQ(entry(described, "retention.ms")->config_source, 5);
    EXPECT_EQ(test::on_log(*core_.find_partition("alter", 0),
                           [](const log::partition_log& l) { return l.policy(); }),
              log::cleanup_policy::compact);

    request.resources = {{resource_type_topic, "alter", {{"retention.ms", "1", {}}}, {}}};
    request.validate_only = true;
    EXPECT_EQ(ask<protocol::alter_configs_response>(&handle_alter_configs, 33, 1, request)
                  .responses[0]
                  .error_code,
              ok);
    EXPECT_EQ(entry(describe(1, resource_type_topic, "alter"), "retention.ms")->value, "604800000");
}

TEST_F(admin_handlers_test, incremental_alter_configs) {
    ASSERT_EQ(create(4, "inc", 1, {{"retention.ms", "1000"}}).topics[0].error_code, ok);
    protocol::incremental_alter_configs_request request;
    request.resources.push_back(
        {resource_type_topic,
         "inc",
         {{"segment.ms", 0, "60000", {}}, {"cleanup.policy", 2, "compact", {}}},
         {}});
    request.resources.push_back({resource_type_topic, "inc", {{"retention.ms", 2, "5", {}}}, {}});
    request.resources.push_back(
        {resource_type_topic,
         "inc",
         {{"retention.ms", 1, std::nullopt, {}}, {"retention.ms", 0, "1", {}}},
         {}});
    request.resources.push_back({resource_type_topic, "inc", {{"retention.ms", 9, "1", {}}}, {}});
    request.resources.push_back(
        {resource_type_broker, "3", {{"log.cleanup.policy", 2, "compact", {}}}, {}});
    const auto r = ask<protocol::incremental_alter_configs_response>(
        &handle_incremental_alter_configs, 44, 1, request);
    ASSERT_EQ(r.responses.size(), 5U);
    EXPECT_EQ(r.responses[0].error_code, ok);
    EXPECT_EQ(r.responses[1].error_code, err(error_code::invalid_request));
    EXPECT_EQ(r.responses[2].error_code, err(error_code::invalid_request));
    EXPECT_EQ(r.responses[2].error_message, "Error due to duplicate config keys");
    EXPECT_EQ(r.responses[3].error_code, err(error_code::invalid_request));
    EXPECT_EQ(r.responses[4].error_code, ok);
    const auto described = describe(1, resource_type_topic, "inc");
    EXPECT_EQ(entry(described, "retention.ms")->value,
              "1000");  // untouched by the incremental change
    EXPECT_EQ(entry(described, "segment.ms")->value, "60000");
    EXPECT_EQ(entry(described, "cleanup.policy")->value, "delete,compact");
    EXPECT_EQ(core_.store().dynamic_broker_configs(false).at("log.cleanup.policy"),
              "delete,compact");
}

TEST_F(admin_handlers_test, describe_cluster) {
    protocol::describe_cluster_request request;
    request.include_cluster_authorized_operations = true;
    const auto v0 =
        ask<protocol::describe_cluster_response>(&handle_describe_cluster, 60, 0, request);
    EXPECT_EQ(v0.error_code, ok);
    EXPECT_EQ(v0.cluster_id, "cluster-xyz");
    EXPECT_EQ(v0.controller_id, 3);
    ASSERT_EQ(v0.brokers.size(), 1U);
    EXPECT_EQ(v0.brokers[0].broker_id, 3);
    EXPECT_EQ(v0.brokers[0].host, "broker.test");
    EXPECT_EQ(v0.brokers[0].port, 19092);
    EXPECT_NE(v0.cluster_authorized_operations, INT32_MIN);

    request.include_cluster_authorized_operations = false;
    const auto v1 =
        ask<protocol::describe_cluster_response>(&handle_describe_cluster, 60, 1, request);
    EXPECT_EQ(v1.endpoint_type, 1);
    EXPECT_EQ(v1.cluster_authorized_operations, INT32_MIN);
    request.endpoint_type = 2;
    const auto controllers =
        ask<protocol::describe_cluster_response>(&handle_describe_cluster, 60, 1, request);
    EXPECT_EQ(controllers.error_code, err(error_code::unsupported_endpoint_type));
    EXPECT_TRUE(controllers.brokers.empty());
}

TEST_F(admin_handlers_test, describe_log_dirs) {
    ASSERT_EQ(create(4, "dirs", 2).topics[0].error_code, ok);
    protocol::describe_log_dirs_request all;
    all.topics.reset();
    const auto v4 =
        ask<protocol::describe_log_dirs_response>(&handle_describe_log_dirs, 35, 4, all);
    EXPECT_EQ(v4.error_code, ok);
    ASSERT_EQ(v4.results.size(), 1U);
    EXPECT_EQ(v4.results[0].error_code, ok);
    EXPECT_EQ(v4.results[0].log_dir,
              std::filesystem::absolute(dir_.sub("data")).lexically_normal().string());
    EXPECT_GT(v4.results[0].total_bytes, 0);
    ASSERT_EQ(v4.results[0].topics.size(), 1U);
    EXPECT_EQ(v4.results[0].topics[0].name, "dirs");
    EXPECT_EQ(v4.results[0].topics[0].partitions.size(), 2U);

    protocol::describe_log_dirs_request some;
    some.topics = std::vector<protocol::describe_log_dirs_request::describable_log_dir_topic>{
        {"dirs", {1}, {}}};
    const auto v0 =
        ask<protocol::describe_log_dirs_response>(&handle_describe_log_dirs, 35, 0, some);
    ASSERT_EQ(v0.results[0].topics.size(), 1U);
    ASSERT_EQ(v0.results[0].topics[0].partitions.size(), 1U);
    EXPECT_EQ(v0.results[0].topics[0].partitions[0].partition_index, 1);
    EXPECT_EQ(v0.results[0].topics[0].partitions[0].offset_lag, 0);
}

TEST_F(admin_handlers_test, metadata_auto_creates_and_reports_ids) {
    using request_topic = protocol::metadata_request::metadata_request_topic;
    protocol::metadata_request request;
    request.topics.emplace();
    request_topic t;
    t.name = "auto-one";
    request.topics->push_back(t);
    t.name = "bad name";
    request.topics->push_back(t);
    t.name = "__consumer_offsets";
    request.topics->push_back(t);
    request.allow_auto_topic_creation = false;
    auto r = ask<protocol::metadata_response>(&handle_metadata, 3, 4, request);
    ASSERT_EQ(r.topics.size(), 3U);
    EXPECT_EQ(r.topics[0].error_code, err(error_code::unknown_topic_or_partition));
    EXPECT_EQ(r.topics[1].error_code, err(error_code::invalid_topic_exception));
    EXPECT_EQ(r.topics[2].error_code, err(error_code::unknown_topic_or_partition));
    EXPECT_TRUE(r.topics[2].is_internal);
    EXPECT_FALSE(core_.store().exists("auto-one"));

    request.allow_auto_topic_creation = true;
    r = ask<protocol::metadata_response>(&handle_metadata, 3, 10, request);
    ASSERT_EQ(r.topics.size(), 3U);
    EXPECT_EQ(r.topics[0].error_code, ok);
    EXPECT_EQ(r.topics[0].name, "auto-one");
    EXPECT_EQ(r.topics[0].topic_id, core_.store().topic_id_of("auto-one").value());
    ASSERT_EQ(r.topics[0].partitions.size(), 2U);
    EXPECT_EQ(r.topics[0].partitions[1].leader_id, 3);
    EXPECT_EQ(r.topics[0].partitions[1].replica_nodes, std::vector<int32_t>{3});
    EXPECT_EQ(r.topics[0].partitions[1].isr_nodes, std::vector<int32_t>{3});
    EXPECT_EQ(r.topics[1].error_code, err(error_code::invalid_topic_exception));
    EXPECT_EQ(r.topics[2].error_code, err(error_code::unknown_topic_or_partition));

    // v0-3 always auto-create.
    protocol::metadata_request v1;
    v1.topics.emplace();
    t.name = "auto-v1";
    v1.topics->push_back(t);
    EXPECT_EQ(ask<protocol::metadata_response>(&handle_metadata, 3, 1, v1).topics.at(0).error_code,
              ok);
    EXPECT_TRUE(core_.store().exists("auto-v1"));

    // v12 by id.
    protocol::metadata_request by_id;
    by_id.topics.emplace();
    request_topic id_topic;
    id_topic.name = std::nullopt;
    id_topic.topic_id = core_.store().topic_id_of("auto-v1").value();
    by_id.topics->push_back(id_topic);
    id_topic.topic_id.bytes[0] ^= 0xff;
    by_id.topics->push_back(id_topic);
    r = ask<protocol::metadata_response>(&handle_metadata, 3, 12, by_id);
    ASSERT_EQ(r.topics.size(), 2U);
    EXPECT_EQ(r.topics[0].error_code, err(error_code::unknown_topic_id));
    EXPECT_EQ(r.topics[0].name, std::nullopt);
    EXPECT_EQ(r.topics[1].name, "auto-v1");

    // v1 null = every topic, with no creation.
    protocol::metadata_request all;
    all.topics.reset();
    r = ask<protocol::metadata_response>(&handle_metadata, 3, 1, all);
    EXPECT_EQ(r.topics.size(), 2U);
}

}  // namespace
}  // namespace broker::server
