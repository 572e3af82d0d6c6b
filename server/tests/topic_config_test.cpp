// topic_config: Kafka's names, defaults, validation messages, resolution through broker synonyms
// (static, dynamic default, dynamic per broker), sources and synonyms as DescribeConfigs shows
// them.
#include <gtest/gtest.h>

#include <algorithm>

#include "server/tests/test_util.h"
#include "server/topic_config.h"

namespace broker::server {
namespace {

const described_config& find(const std::vector<described_config>& all, std::string_view name) {
    const auto it = std::find_if(all.begin(), all.end(),
                                 [&](const described_config& c) { return c.name == name; });
    if (it == all.end()) {
        throw std::runtime_error("no config " + std::string(name));
    }
    return *it;
}

TEST(topic_config, table_is_sorted_and_has_kafkas_topic_configs) {
    const auto defs = topic_config_defs();
    EXPECT_TRUE(std::is_sorted(
        defs.begin(), defs.end(),
        [](const topic_config_def& a, const topic_config_def& b) { return a.name < b.name; }));
    for (const char* name :
         {"retention.ms", "retention.bytes", "segment.bytes", "segment.ms", "cleanup.policy",
          "max.message.bytes", "message.timestamp.type", "min.insync.replicas", "compression.type",
          "unclean.leader.election.enable", "preallocate"}) {
        EXPECT_NE(find_topic_config(name), nullptr) << name;
    }
    EXPECT_EQ(find_topic_config("log.retention.ms"), nullptr);
    // Every config the log implements is known here.
    for (const auto& [name, value] : log::topic_config_entries(log::log_config{})) {
        EXPECT_NE(find_topic_config(name), nullptr) << name;
    }
}

TEST(topic_config, defaults_resolve_to_kafkas_defaults) {
    const broker_config config;
    const topic_config resolved =
        resolve_topic_config({}, broker_config_view{&config, nullptr, nullptr});
    EXPECT_EQ(resolved.log, log::log_config{});
    EXPECT_EQ(resolved.min_insync_replicas, 1);
    EXPECT_EQ(resolved.compression_type, "producer");
    EXPECT_EQ(resolved.message_timestamp_before_max_ms, INT64_MAX);
    EXPECT_EQ(resolved.values.at("retention.ms"), "604800000");
    EXPECT_EQ(resolved.values.at("segment.bytes"), "1073741824");
    EXPECT_EQ(resolved.values.at("max.message.bytes"), "1048588");
    EXPECT_EQ(resolved.values.at("unclean.leader.election.enable"), "false");

    const auto described =
        describe_topic_configs({}, broker_config_view{&config, nullptr, nullptr});
    EXPECT_EQ(described.size(), topic_config_defs().size());
    for (const char* name :
         {"cleanup.policy", "retention.ms", "segment.ms", "flush.ms", "preallocate"}) {
        EXPECT_EQ(find(described, name).source, config_source::default_config) << name;
        EXPECT_FALSE(find(described, name).read_only);
    }
    EXPECT_EQ(find(described, "retention.ms").type, config_value_type::long_);
    EXPECT_EQ(find(described, "cleanup.policy").type, config_value_type::list);
    EXPECT_EQ(find(described, "segment.bytes").type, config_value_type::int_);
}

TEST(topic_config, static_broker_keys_with_units_and_precedence) {
    const broker_config hours =
        test::make_config({{"log.retention.hours", "1"}, {"log.roll.ms", "5000"}});
    const broker_config_view view{&hours, nullptr, nullptr};
    topic_config resolved = resolve_topic_config({}, view);
    EXPECT_EQ(resolved.log.retention_ms, 3'600'000);
    EXPECT_EQ(resolved.log.segment_ms, 5000);
    const auto described = describe_topic_configs({}, view);
    const described_config& retention = find(described, "retention.ms");
    EXPECT_EQ(retention.value, "3600000");
    EXPECT_EQ(retention.source, config_source::static_broker_config);
    ASSERT_EQ(retention.synonyms.size(), 2U);
    EXPECT_EQ(retention.synonyms[0].name, "log.retention.hours");
    EXPECT_EQ(retention.synonyms[0].value, "1");
    EXPECT_EQ(retention.synonyms[0].source, config_source::static_broker_config);
    EXPECT_EQ(retention.synonyms[1].value, "168");
    EXPECT_EQ(retention.synonyms[1].source, config_source::default_config);

    const broker_config minutes =
        test::make_config({{"log.retention.hours", "1"}, {"log.retention.minutes", "2"}});
    EXPECT_EQ(resolve_topic_config({}, {&minutes, nullptr, nullptr}).log.retention_ms, 120'000);
    const broker_config ms = test::make_config(
        {{"log.retention.minutes", "2"}, {"log.retention.ms", "-1"}, {"message.max.bytes", "77"}});
    resolved = resolve_topic_config({}, {&ms, nullptr, nullptr});
    EXPECT_EQ(resolved.log.retention_ms, -1);
    EXPECT_EQ(resolved.log.max_message_bytes, 77);
    const broker_config policy = test::make_config({{"log.cleanup.policy", "compact, delete"}});
    EXPECT_EQ(resolve_topic_config({}, {&policy, nullptr, nullptr}).log.policy,
              log::cleanup_policy::compact_delete);
}

TEST(topic_config, overrides_then_dynamic_broker_then_static) {
    const broker_config config = test::make_config({{"log.retention.ms", "100"}});
    config_map dynamic_default{{"log.retention.ms", "200"}};
    config_map dynamic_broker;
    broker_config_view view{&config, &dynamic_default, &dynamic_broker};
    EXPECT_EQ(resolve_topic_config({}, view).log.retention_ms, 200);
    dynamic_broker["log.retention.ms"] = "300";
    EXPECT_EQ(resolve_topic_config({}, view).log.retention_ms, 300);
    EXPECT_EQ(resolve_topic_config({{"retention.ms", "400"}}, view).log.retention_ms, 400);

    const auto described = describe_topic_configs({{"retention.ms", "400"}}, view);
    const described_config& retention = find(described, "retention.ms");
    EXPECT_EQ(retention.source, config_source::dynamic_topic_config);
    std::vector<config_source> sources;
    for (const auto& s : retention.synonyms) {
        sources.push_back(s.source);
    }
    EXPECT_EQ(sources,
              (std::vector<config_source>{
                  config_source::dynamic_topic_config, config_source::dynamic_broker_config,
                  config_source::dynamic_default_broker_config, config_source::static_broker_config,
                  config_source::default_config}));
    EXPECT_EQ(retention.synonyms[4].name, "log.retention.hours");
}

TEST(topic_config, validation_messages_follow_kafka) {
    EXPECT_FALSE(validate_topic_config("retention.ms", "-1"));
    EXPECT_FALSE(validate_topic_config("cleanup.policy", "compact,delete"));
    EXPECT_FALSE(validate_topic_config("unclean.leader.election.enable", "TRUE"));
    EXPECT_FALSE(validate_topic_config("min.cleanable.dirty.ratio", "0.25"));
    EXPECT_FALSE(validate_topic_config("leader.replication.throttled.replicas", "0:0,1:0"));
    EXPECT_FALSE(validate_topic_config("follower.replication.throttled.replicas", "*"));
    EXPECT_EQ(validate_topic_config("foo", "1"), "Unknown topic config name: foo");
    EXPECT_EQ(validate_topic_config("retention.ms", "abc"),
              "Invalid value abc for configuration retention.ms: Not a number of type LONG");
    EXPECT_EQ(validate_topic_config("segment.bytes", "3000000000"),
              "Invalid value 3000000000 for configuration segment.bytes: Not a number of type INT");
    EXPECT_EQ(validate_topic_config("segment.bytes", "13"),
              "Invalid value 13 for configuration segment.bytes: Value must be at least 14");
    EXPECT_EQ(validate_topic_config("min.insync.replicas", "0"),
              "Invalid value 0 for configuration min.insync.replicas: Value must be at least 1");
    EXPECT_TRUE(validate_topic_config("cleanup.policy", "shred"));
    EXPECT_TRUE(validate_topic_config("cleanup.policy", ""));
    EXPECT_TRUE(validate_topic_config("compression.type", "brotli"));
    EXPECT_TRUE(validate_topic_config("message.timestamp.type", "createtime"));
    EXPECT_TRUE(validate_topic_config("preallocate", "yes"));
    EXPECT_TRUE(validate_topic_config("min.cleanable.dirty.ratio", "1.5"));
    EXPECT_TRUE(validate_topic_config("leader.replication.throttled.replicas", "0-0"));

    const broker_config config;
    const broker_config_view view{&config, nullptr, nullptr};
    EXPECT_FALSE(
        validate_topic_configs({{"retention.ms", "5"}, {"compression.type", "zstd"}}, view));
    EXPECT_TRUE(validate_topic_configs(
        {{"min.compaction.lag.ms", "10"}, {"max.compaction.lag.ms", "5"}}, view));
    // Whitespace around a value is trimmed alike by the validator and the log (Kafka trims it too).
    EXPECT_FALSE(
        validate_topic_configs({{"segment.ms", "100\n"}, {"cleanup.policy", "\rcompact\f"}}, view));
}

TEST(topic_config, typed_fields_for_the_produce_path) {
    const broker_config config;
    const broker_config_view view{&config, nullptr, nullptr};
    topic_config c = resolve_topic_config({{"min.insync.replicas", "2"},
                                           {"compression.type", "lz4"},
                                           {"message.timestamp.difference.max.ms", "100"},
                                           {"message.timestamp.after.max.ms", "50"},
                                           {"message.timestamp.type", "LogAppendTime"}},
                                          view);
    EXPECT_EQ(c.min_insync_replicas, 2);
    EXPECT_EQ(c.compression_type, "lz4");
    EXPECT_EQ(c.message_timestamp_before_max_ms, 100);
    EXPECT_EQ(c.message_timestamp_after_max_ms, 50);
    EXPECT_EQ(c.log.message_timestamp_type, protocol::timestamp_type::log_append_time);
}

TEST(topic_config, broker_configs_described_with_sources) {
    const broker_config config = test::make_config({{"num.partitions", "3"}});
    config_map dynamic_default{{"log.retention.ms", "1000"}};
    const broker_config_view view{&config, &dynamic_default, nullptr};
    const auto all = describe_broker_configs(view, false);
    const described_config& partitions = find(all, "num.partitions");
    EXPECT_EQ(partitions.value, "3");
    EXPECT_EQ(partitions.source, config_source::static_broker_config);
    EXPECT_TRUE(partitions.read_only);
    const described_config& retention = find(all, "log.retention.ms");
    EXPECT_EQ(retention.value, "1000");
    EXPECT_EQ(retention.source, config_source::dynamic_default_broker_config);
    EXPECT_FALSE(retention.read_only);
    const described_config& hours = find(all, "log.retention.hours");
    EXPECT_EQ(hours.value, "168");
    EXPECT_EQ(hours.source, config_source::default_config);
    EXPECT_EQ(find(all, "log.preallocate").value, "false");
    EXPECT_EQ(find(all, "log.roll.ms").value, std::nullopt);

    const auto defaults = describe_broker_configs(view, true);
    ASSERT_EQ(defaults.size(), 1U);
    EXPECT_EQ(defaults[0].name, "log.retention.ms");
    EXPECT_EQ(defaults[0].source, config_source::dynamic_default_broker_config);

    EXPECT_TRUE(is_dynamic_broker_config("log.retention.ms"));
    EXPECT_TRUE(is_dynamic_broker_config("log.cleanup.policy"));
    EXPECT_TRUE(is_dynamic_broker_config("message.max.bytes"));
    EXPECT_FALSE(is_dynamic_broker_config("log.retention.hours"));
    EXPECT_FALSE(is_dynamic_broker_config("num.partitions"));
    EXPECT_FALSE(validate_dynamic_broker_config("log.retention.ms", "5"));
    EXPECT_EQ(validate_dynamic_broker_config("log.retention.ms", "x"),
              "Invalid value x for configuration log.retention.ms: Not a number of type LONG");
    EXPECT_EQ(validate_dynamic_broker_config("num.partitions", "2"),
              "Cannot update these configs dynamically: [num.partitions]");
}

TEST(topic_config, compression_levels_validated_with_kafkas_ranges) {
    // gzip: zlib's 1..9, or -1 for zlib's default.
    for (const char* ok : {"-1", "1", "5", "9"}) {
        EXPECT_FALSE(validate_topic_config("compression.gzip.level", ok)) << ok;
    }
    for (const char* bad : {"0", "10", "-2"}) {
        EXPECT_EQ(validate_topic_config("compression.gzip.level", bad),
                  "Invalid value " + std::string(bad) +
                      " for configuration compression.gzip.level: Value must be between 1 and 9 "
                      "or equal to -1");
    }
    EXPECT_EQ(validate_topic_config("compression.gzip.level", "high"),
              "Invalid value high for configuration compression.gzip.level: Not a number of type "
              "INT");
    // lz4: 1..17.
    EXPECT_FALSE(validate_topic_config("compression.lz4.level", "1"));
    EXPECT_FALSE(validate_topic_config("compression.lz4.level", "17"));
    EXPECT_EQ(validate_topic_config("compression.lz4.level", "0"),
              "Invalid value 0 for configuration compression.lz4.level: Value must be at least 1");
    EXPECT_EQ(validate_topic_config("compression.lz4.level", "18"),
              "Invalid value 18 for configuration compression.lz4.level: Value must be no more "
              "than 17");
    // zstd: -131072..22.
    EXPECT_FALSE(validate_topic_config("compression.zstd.level", "-131072"));
    EXPECT_FALSE(validate_topic_config("compression.zstd.level", "-5"));
    EXPECT_FALSE(validate_topic_config("compression.zstd.level", "22"));
    EXPECT_EQ(validate_topic_config("compression.zstd.level", "-131073"),
              "Invalid value -131073 for configuration compression.zstd.level: Value must be at "
              "least -131072");
    EXPECT_EQ(validate_topic_config("compression.zstd.level", "23"),
              "Invalid value 23 for configuration compression.zstd.level: Value must be no more "
              "than 22");
}

TEST(topic_config, compression_levels_default_from_the_broker_keys) {
    const broker_config defaults;
    const broker_config_view plain{&defaults, nullptr, nullptr};
    topic_config c = resolve_topic_config({}, plain);
    EXPECT_EQ(c.compression_gzip_level, -1);
    EXPECT_EQ(c.compression_lz4_level, 9);
    EXPECT_EQ(c.compression_zstd_level, 3);
    auto described = describe_topic_configs({}, plain);
    EXPECT_EQ(find(described, "compression.gzip.level").value, "-1");
    EXPECT_EQ(find(described, "compression.gzip.level").source, config_source::default_config);
    EXPECT_EQ(find(described, "compression.gzip.level").type, config_value_type::int_);
    EXPECT_EQ(find(described, "compression.lz4.level").value, "9");
    EXPECT_EQ(find(described, "compression.zstd.level").value, "3");

    // Static broker keys of the same name set every topic's default.
    const broker_config set =
        test::make_config({{"compression.gzip.level", "2"}, {"compression.zstd.level", "-7"}});
    config_map dynamic_broker{{"compression.lz4.level", "12"}};
    const broker_config_view view{&set, nullptr, &dynamic_broker};
    c = resolve_topic_config({}, view);
    EXPECT_EQ(c.compression_gzip_level, 2);
    EXPECT_EQ(c.compression_lz4_level, 12);
    EXPECT_EQ(c.compression_zstd_level, -7);
    described = describe_topic_configs({{"compression.zstd.level", "19"}}, view);
    const described_config& gzip = find(described, "compression.gzip.level");
    EXPECT_EQ(gzip.value, "2");
    EXPECT_EQ(gzip.source, config_source::static_broker_config);
    ASSERT_EQ(gzip.synonyms.size(), 2U);
    EXPECT_EQ(gzip.synonyms[0].name, "compression.gzip.level");
    EXPECT_EQ(gzip.synonyms[1].value, "-1");
    EXPECT_EQ(gzip.synonyms[1].source, config_source::default_config);
    EXPECT_EQ(find(described, "compression.lz4.level").value, "12");
    EXPECT_EQ(find(described, "compression.lz4.level").source,
              config_source::dynamic_broker_config);
    const described_config& zstd = find(described, "compression.zstd.level");
    EXPECT_EQ(zstd.value, "19");
    EXPECT_EQ(zstd.source, config_source::dynamic_topic_config);
    EXPECT_EQ(resolve_topic_config({{"compression.zstd.level", "19"}}, view).compression_zstd_level,
              19);

    // The broker keys may change at run time and are checked like the topic configs.
    EXPECT_TRUE(is_dynamic_broker_config("compression.gzip.level"));
    EXPECT_TRUE(is_dynamic_broker_config("compression.zstd.level"));
    EXPECT_FALSE(validate_dynamic_broker_config("compression.lz4.level", "3"));
    EXPECT_EQ(validate_dynamic_broker_config("compression.lz4.level", "0"),
              "Invalid value 0 for configuration compression.lz4.level: Value must be at least 1");
    const auto broker = describe_broker_configs(view, false);
    EXPECT_EQ(find(broker, "compression.zstd.level").value, "-7");
    EXPECT_EQ(find(broker, "compression.zstd.level").source, config_source::static_broker_config);
    EXPECT_FALSE(find(broker, "compression.zstd.level").read_only);
}

TEST(topic_config, remote_log_switches_are_stored_and_true_is_refused) {
    const broker_config config;
    const broker_config_view view{&config, nullptr, nullptr};
    for (const char* name : {"remote.log.copy.disable", "remote.log.delete.on.disable"}) {
        const topic_config_def* def = find_topic_config(name);
        ASSERT_NE(def, nullptr) << name;
        EXPECT_EQ(def->type, config_value_type::boolean);
        EXPECT_EQ(def->default_value, "false");
        EXPECT_TRUE(def->broker_synonyms.empty());
        EXPECT_FALSE(validate_topic_config(name, "true"));  // a well-formed boolean
        EXPECT_EQ(validate_topic_config(name, "maybe"),
                  "Invalid value maybe for configuration " + std::string(name) +
                      ": Expected value to be either true or false");
        EXPECT_FALSE(validate_topic_configs({{name, "false"}}, view)) << name;
        // Kafka 3.9 in ZooKeeper mode refuses either switch turned on, remote storage or not.
        EXPECT_EQ(validate_topic_configs({{name, "TRUE"}}, view),
                  "It is invalid to set `remote.log.delete.on.disable` or "
                  "`remote.log.copy.disable` under Zookeeper's mode.")
            << name;
        EXPECT_TRUE(
            validate_topic_configs({{name, "true"}, {"remote.storage.enable", "false"}}, view));

        const auto described = describe_topic_configs({{name, "false"}}, view);
        EXPECT_EQ(find(described, name).value, "false");
        EXPECT_EQ(find(described, name).source, config_source::dynamic_topic_config);
        const auto defaults = describe_topic_configs({}, view);
        EXPECT_EQ(find(defaults, name).value, "false");
        EXPECT_EQ(find(defaults, name).source, config_source::default_config);
    }
}

TEST(topic_config, broker_resource_names) {
    std::string error;
    EXPECT_EQ(broker_resource_is_default("", 3, error), std::optional<bool>(true));
    EXPECT_EQ(broker_resource_is_default("3", 3, error), std::optional<bool>(false));
    EXPECT_FALSE(broker_resource_is_default("4", 3, error));
    EXPECT_EQ(error, "Unexpected broker id, expected 3 or empty string, but received 4");
    EXPECT_FALSE(broker_resource_is_default("three", 3, error));
    EXPECT_EQ(error, "Broker id must be an integer, but it is: three");
}

}  // namespace
}  // namespace broker::server
