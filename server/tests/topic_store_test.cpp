// topic_store: persistence across restarts, name rules, creation/deletion, partitions, configs,
// auto-creation, DeleteRecords, stray directories and the maintenance pass. Every test works in
// its own temporary log directory with a manual clock.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "log/log_manager.h"
#include "protocol/records.h"
#include "server/metadata/local_admin_backend.h"
#include "server/metadata/local_catalog.h"
#include "server/tests/test_util.h"
#include "server/topic_store.h"

namespace broker::server {
namespace {

using protocol::error_code;
namespace fs = std::filesystem;

std::vector<uint8_t> one_record_batch(const std::string& value, int64_t timestamp) {
    protocol::record_data r;
    r.value = std::vector<uint8_t>(value.begin(), value.end());
    r.timestamp = timestamp;
    return protocol::build_batch({r}, protocol::batch_build_options{});
}

class topic_store_test : public ::testing::Test {
protected:
    explicit topic_store_test(
        std::initializer_list<std::pair<std::string, std::string>> extra = {}) {
        std::vector<property> entries{{"log.dirs", dir_.sub("data"), 0},
                                      {"num.partitions", "2", 0}};
        for (const auto& [k, v] : extra) {
            entries.push_back(property{k, v, 0});
        }
        config_ = make_broker_config(entries).config;
        reopen();
    }
    ~topic_store_test() override {
        if (store_) {
            store_->shutdown();
        }
    }

    void reopen() {
        if (store_) {
            store_->shutdown();
        }
        admin_.reset();
        store_.reset();
        catalog_.reset();
        replicas_ = std::make_unique<replica_manager>(config_, table_, clock_);
        catalog_ = std::make_unique<local_catalog>(data_dir(), node_id{config_.broker_id});
        store_ = std::make_unique<topic_store>(config_, table_, *replicas_, *catalog_);
        admin_ = std::make_unique<local_admin_backend>(config_, *catalog_);
        store_->open();
    }

    created_topic create(const std::string& name, int32_t partitions = 1, config_map configs = {},
                         bool validate_only = false) {
        new_topic t;
        t.name = name;
        t.num_partitions = partitions;
        t.replication_factor = 1;
        t.configs = std::move(configs);
        return admin_->create_topic(t, validate_only);
    }

    /// Appends one single-record batch to a partition and moves its high watermark to the end.
    void append(const std::string& topic, int32_t index, const std::string& value) {
        auto p = store_->find_partition(topic, index);
        ASSERT_TRUE(p);
        std::vector<uint8_t> batch = one_record_batch(value, clock_.now_ms());
        ASSERT_TRUE(test::append_batch(*p, batch).ok());
    }

    std::string data_dir() const { return dir_.sub("data"); }

    test::temp_dir dir_;
    broker_config config_;
    log::manual_clock clock_;
    metadata_cache table_;
    std::unique_ptr<replica_manager> replicas_;
    std::unique_ptr<local_catalog> catalog_;
    std::unique_ptr<topic_store> store_;
    std::unique_ptr<local_admin_backend> admin_;
};

TEST_F(topic_store_test, topics_ids_and_configs_survive_a_restart) {
    const created_topic orders =
        create("orders", 3, {{"retention.ms", "3600000"}, {"cleanup.policy", "compact"}});
    ASSERT_TRUE(orders.result.ok()) << orders.result.message.value_or("");
    EXPECT_FALSE(orders.topic_id.is_zero());
    new_topic offsets;
    offsets.name = "__consumer_offsets";
    offsets.num_partitions = 1;
    offsets.internal = true;
    ASSERT_TRUE(admin_->create_topic(offsets, false).result.ok());
    ASSERT_TRUE(admin_->alter_broker_configs(true, {{"log.retention.bytes", "5000"}}, false).ok());
    append("orders", 1, "kept");

    reopen();
    EXPECT_TRUE(store_->logs().had_clean_shutdown());
    const auto described = store_->describe("orders");
    ASSERT_TRUE(described);
    EXPECT_EQ(described->topic_id, orders.topic_id);
    EXPECT_EQ(described->partition_count, 3);
    EXPECT_FALSE(described->internal);
    EXPECT_EQ(described->overrides.at("retention.ms"), "3600000");
    const auto config = store_->config_of("orders");
    ASSERT_TRUE(config);
    EXPECT_EQ(config->log.retention_ms, 3600000);
    EXPECT_EQ(config->log.policy, log::cleanup_policy::compact);
    EXPECT_EQ(config->log.retention_bytes, 5000);  // the dynamic broker default came back too
    EXPECT_TRUE(store_->describe("__consumer_offsets")->internal);
    EXPECT_EQ(store_->dynamic_broker_configs(true).at("log.retention.bytes"), "5000");

    auto p = store_->find_partition(orders.topic_id, 1);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->topic(), "orders");
    EXPECT_EQ(p->offsets()->log_end_offset, 1);
    EXPECT_EQ(test::on_log(*p, [](const log::partition_log& l) { return l.config(); }).retention_ms,
              3600000);
    EXPECT_EQ(p->config()->log.retention_ms, 3600000);

    const auto snapshot = table_.snapshot();
    const topic_info* info = snapshot->find(orders.topic_id);
    ASSERT_NE(info, nullptr);
    EXPECT_EQ(info->name, "orders");
    ASSERT_EQ(info->partitions.size(), 3U);
    EXPECT_EQ(info->partitions[2].leader_id, 0);
    EXPECT_EQ(info->partitions[2].replica_nodes, std::vector<int32_t>{0});
    EXPECT_EQ(info->partitions[2].isr_nodes, std::vector<int32_t>{0});
    EXPECT_TRUE(snapshot->find("__consumer_offsets")->is_internal);
}

TEST_F(topic_store_test, unclean_restart_recovers_and_exposes_every_record) {
    ASSERT_TRUE(create("crashy", 1).result.ok());
    for (int i = 0; i < 3; ++i) {
        append("crashy", 0, "r" + std::to_string(i));
    }
    // No shutdown: no clean-shutdown marker, and the high-watermark checkpoint still says 0.
    store_.reset();
    reopen();
    EXPECT_FALSE(store_->logs().had_clean_shutdown());
    const auto p = store_->find_partition("crashy", 0);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->offsets()->log_end_offset, 3);
    EXPECT_EQ(p->offsets()->high_watermark, 3);
}

TEST_F(topic_store_test, metadata_file_is_json_with_the_documented_fields) {
    ASSERT_TRUE(create("a", 2, {{"retention.ms", "1000"}}).result.ok());
    std::ifstream in(catalog_->path());
    ASSERT_TRUE(in);
    std::stringstream text;
    text << in.rdbuf();
    const std::string s = text.str();
    EXPECT_NE(s.find("\"version\": 1"), std::string::npos) << s;
    EXPECT_NE(s.find("\"name\": \"a\""), std::string::npos) << s;
    EXPECT_NE(s.find("\"partitions\": 2"), std::string::npos) << s;
    EXPECT_NE(s.find("\"retention.ms\": \"1000\""), std::string::npos) << s;
    EXPECT_NE(s.find("\"id\": \"" + store_->topic_id_of("a")->to_string() + "\""),
              std::string::npos)
        << s;
    EXPECT_FALSE(fs::exists(catalog_->path().string() + ".tmp"));
}

TEST_F(topic_store_test, malformed_metadata_file_refuses_to_start) {
    store_->shutdown();
    store_.reset();
    for (const std::string& text :
         {std::string("not json"), std::string("{\"version\": 2}"),
          std::string("{\"version\": 1, \"topics\": [{\"name\": \"a b\", \"id\": \"x\", "
                      "\"partitions\": 1}]}"),
          std::string("{\"version\": 1, \"topics\": [{\"name\": \"a\", \"id\": "
                      "\"AAAAAAAAAAAAAAAAAAAAAA\", \"partitions\": 1}]}")}) {
        SCOPED_TRACE(text);
        std::ofstream(fs::path(data_dir()) / local_catalog::file_name) << text;
        replica_manager replicas(config_, table_, clock_);
        local_catalog catalog(data_dir(), node_id{config_.broker_id});
        topic_store store(config_, table_, replicas, catalog);
        EXPECT_THROW(store.open(), std::runtime_error);
    }
}

TEST_F(topic_store_test, topic_name_rules) {
    EXPECT_TRUE(check_topic_name(""));
    EXPECT_TRUE(check_topic_name("."));
    EXPECT_TRUE(check_topic_name(".."));
    EXPECT_TRUE(check_topic_name("bad name!"));
    EXPECT_TRUE(check_topic_name("caf\xc3\xa9"));
    EXPECT_TRUE(check_topic_name(std::string(250, 'a')));
    EXPECT_FALSE(check_topic_name(std::string(249, 'a')));
    EXPECT_FALSE(check_topic_name("Ok.name_with-all-9"));
    EXPECT_FALSE(check_topic_name("..."));
    EXPECT_EQ(*check_topic_name("a/b"),
              "Topic name \"a/b\" is illegal, it contains a character other than ASCII "
              "alphanumerics, '.', '_' "
              "and '-'");

    EXPECT_EQ(create("bad name!").result.error, error_code::invalid_topic_exception);
    ASSERT_TRUE(create("metrics.a").result.ok());
    const created_topic collision = create("metrics_a");
    EXPECT_EQ(collision.result.error, error_code::invalid_topic_exception);
    EXPECT_EQ(collision.result.message.value_or(""),
              "Topic 'metrics_a' collides with existing topics: metrics.a");
    EXPECT_EQ(create("metrics.a").result.error, error_code::topic_already_exists);
    EXPECT_EQ(create("metrics.a").result.message.value_or(""), "Topic 'metrics.a' already exists.");
}

TEST_F(topic_store_test, creation_checks_counts_assignments_and_configs) {
    new_topic t;
    t.name = "defaults";
    t.num_partitions = -1;
    t.replication_factor = -1;
    const created_topic defaults = admin_->create_topic(t, false);
    ASSERT_TRUE(defaults.result.ok());
    EXPECT_EQ(defaults.num_partitions, 2);  // num.partitions
    EXPECT_EQ(defaults.replication_factor, 1);
    EXPECT_EQ(store_->partitions_of("defaults").size(), 2U);

    t.name = "rf";
    t.replication_factor = 3;
    EXPECT_EQ(admin_->create_topic(t, false).result.error, error_code::invalid_replication_factor);
    t.replication_factor = 0;
    EXPECT_EQ(admin_->create_topic(t, false).result.error, error_code::invalid_replication_factor);
    t.replication_factor = 1;
    t.num_partitions = 0;
    EXPECT_EQ(admin_->create_topic(t, false).result.error, error_code::invalid_partitions);
    t.num_partitions = 100000;
    EXPECT_EQ(admin_->create_topic(t, false).result.error, error_code::invalid_partitions);

    new_topic a;
    a.name = "assigned";
    a.assignments = {{0, {0}}, {1, {0}}, {2, {0}}};
    const created_topic assigned = admin_->create_topic(a, false);
    ASSERT_TRUE(assigned.result.ok()) << assigned.result.message.value_or("");
    EXPECT_EQ(assigned.num_partitions, 3);
    a.name = "other-broker";
    a.assignments = {{0, {1}}};
    EXPECT_EQ(admin_->create_topic(a, false).result.error, error_code::invalid_replica_assignment);
    a.assignments = {{0, {0, 0}}};
    EXPECT_EQ(admin_->create_topic(a, false).result.error, error_code::invalid_replica_assignment);
    a.assignments = {{1, {0}}};
    EXPECT_EQ(admin_->create_topic(a, false).result.error, error_code::invalid_replica_assignment);
    a.assignments = {{0, {0}}};
    a.num_partitions = 1;
    EXPECT_EQ(admin_->create_topic(a, false).result.error, error_code::invalid_request);

    EXPECT_EQ(create("c1", 1, {{"retention.ms", "abc"}}).result.error, error_code::invalid_config);
    EXPECT_EQ(create("c2", 1, {{"no.such.config", "1"}}).result.error, error_code::invalid_config);
    EXPECT_EQ(create("c3", 1, {{"segment.bytes", "1"}}).result.error, error_code::invalid_config);
    EXPECT_EQ(create("c4", 1, {{"min.compaction.lag.ms", "10"}, {"max.compaction.lag.ms", "5"}})
                  .result.error,
              error_code::invalid_config);
    EXPECT_EQ(create("c5", 1, {{"compression.type", "brotli"}}).result.error,
              error_code::invalid_config);
    EXPECT_FALSE(store_->exists("c1"));
    EXPECT_FALSE(fs::exists(fs::path(data_dir()) / "c1-0"));

    const created_topic dry = create("dry", 4, {{"retention.ms", "5"}}, true);
    ASSERT_TRUE(dry.result.ok());
    EXPECT_EQ(dry.num_partitions, 4);
    EXPECT_TRUE(dry.topic_id.is_zero());
    EXPECT_FALSE(store_->exists("dry"));
    EXPECT_FALSE(fs::exists(fs::path(data_dir()) / "dry-0"));
    const auto retention =
        std::find_if(dry.configs.begin(), dry.configs.end(),
                     [](const described_config& c) { return c.name == "retention.ms"; });
    ASSERT_NE(retention, dry.configs.end());
    EXPECT_EQ(retention->value, "5");
    EXPECT_EQ(retention->source, config_source::dynamic_topic_config);
}

TEST_F(topic_store_test, deletion_closes_logs_wakes_waiters_and_frees_the_name) {
    const created_topic t = create("doomed", 2);
    ASSERT_TRUE(t.result.ok());
    append("doomed", 0, "x");
    auto p = store_->find_partition("doomed", 0);
    bool woken = false;
    p->watch(partition_event::any, [&] { woken = true; });

    ASSERT_TRUE(admin_->delete_topic("doomed").ok());
    EXPECT_TRUE(woken);
    EXPECT_TRUE(p->deleted());
    EXPECT_EQ(store_->find_partition("doomed", 0), nullptr);
    EXPECT_EQ(store_->find_partition(t.topic_id, 0), nullptr);
    EXPECT_EQ(table_.snapshot()->find("doomed"), nullptr);
    EXPECT_FALSE(fs::exists(fs::path(data_dir()) / "doomed-0"));
    EXPECT_EQ(admin_->delete_topic("doomed").error, error_code::unknown_topic_or_partition);
    EXPECT_EQ(admin_->delete_topic(t.topic_id).error, error_code::unknown_topic_id);

    const created_topic again = create("doomed", 1);
    ASSERT_TRUE(again.result.ok());
    EXPECT_NE(again.topic_id, t.topic_id);
    EXPECT_EQ(store_->find_partition("doomed", 0)->offsets()->log_end_offset, 0);
    ASSERT_TRUE(admin_->delete_topic(again.topic_id).ok());

    new_topic internal;
    internal.name = "__consumer_offsets";
    internal.num_partitions = 1;
    internal.internal = true;
    ASSERT_TRUE(admin_->create_topic(internal, false).result.ok());
    EXPECT_EQ(admin_->delete_topic("__consumer_offsets").error,
              error_code::invalid_topic_exception);

    reopen();
    EXPECT_FALSE(store_->exists("doomed"));
    EXPECT_TRUE(store_->exists("__consumer_offsets"));
}

class topic_store_no_delete_test : public topic_store_test {
protected:
    topic_store_no_delete_test() : topic_store_test({{"delete.topic.enable", "false"}}) {}
};

TEST_F(topic_store_no_delete_test, deletion_can_be_disabled) {
    ASSERT_TRUE(create("kept").result.ok());
    EXPECT_EQ(admin_->delete_topic("kept").error, error_code::topic_deletion_disabled);
    EXPECT_TRUE(store_->exists("kept"));
}

TEST_F(topic_store_test, partitions_only_grow) {
    ASSERT_TRUE(create("grow", 1).result.ok());
    EXPECT_EQ(admin_->create_partitions("grow", 1, std::nullopt, false).error,
              error_code::invalid_partitions);
    EXPECT_EQ(admin_->create_partitions("grow", 0, std::nullopt, false).error,
              error_code::invalid_partitions);
    EXPECT_EQ(admin_->create_partitions("missing", 3, std::nullopt, false).error,
              error_code::unknown_topic_or_partition);
    EXPECT_EQ(
        admin_->create_partitions("grow", 3, std::vector<std::vector<int32_t>>{{0}}, false).error,
        error_code::invalid_replica_assignment);
    EXPECT_EQ(
        admin_->create_partitions("grow", 2, std::vector<std::vector<int32_t>>{{4}}, false).error,
        error_code::invalid_replica_assignment);
    EXPECT_TRUE(admin_->create_partitions("grow", 5, std::nullopt, true).ok());
    EXPECT_EQ(store_->partitions_of("grow").size(), 1U);

    const auto before = store_->find_partition("grow", 0);
    ASSERT_TRUE(
        admin_->create_partitions("grow", 3, std::vector<std::vector<int32_t>>{{0}, {0}}, false)
            .ok());
    EXPECT_EQ(store_->partitions_of("grow").size(), 3U);
    EXPECT_EQ(store_->find_partition("grow", 0), before);  // existing partitions are untouched
    EXPECT_TRUE(store_->find_partition("grow", 2));
    EXPECT_EQ(table_.snapshot()->find("grow")->partitions.size(), 3U);
    reopen();
    EXPECT_EQ(store_->partitions_of("grow").size(), 3U);
}

TEST_F(topic_store_test, alter_replaces_and_incremental_edits_the_overrides) {
    ASSERT_TRUE(create("cfg", 2).result.ok());
    auto p = store_->find_partition("cfg", 1);
    ASSERT_TRUE(admin_
                    ->alter_topic_configs(
                        "cfg", {{"retention.ms", "1000"}, {"segment.bytes", "2048"}}, false)
                    .ok());
    EXPECT_EQ(test::on_log(*p, [](const log::partition_log& l) { return l.config(); }).retention_ms,
              1000);
    EXPECT_EQ(
        test::on_log(*p, [](const log::partition_log& l) { return l.config(); }).segment_bytes,
        2048);
    EXPECT_EQ(p->config()->log.retention_ms, 1000);

    // AlterConfigs replaces the whole set: retention.ms returns to the default.
    ASSERT_TRUE(admin_->alter_topic_configs("cfg", {{"cleanup.policy", "compact"}}, false).ok());
    EXPECT_EQ(test::on_log(*p, [](const log::partition_log& l) { return l.config(); }).retention_ms,
              604800000);
    EXPECT_EQ(test::on_log(*p, [](const log::partition_log& l) { return l.policy(); }),
              log::cleanup_policy::compact);

    EXPECT_EQ(admin_->alter_topic_configs("cfg", {{"retention.ms", "-7"}}, false).error,
              error_code::invalid_config);
    EXPECT_EQ(admin_->alter_topic_configs("nope", {}, false).error,
              error_code::unknown_topic_or_partition);
    EXPECT_TRUE(admin_->alter_topic_configs("cfg", {{"retention.ms", "5"}}, true).ok());
    EXPECT_EQ(store_->describe("cfg")->overrides, (config_map{{"cleanup.policy", "compact"}}));

    using op = config_operation::kind;
    ASSERT_TRUE(admin_
                    ->incremental_alter_topic_configs(
                        "cfg",
                        {{"retention.ms", op::set, "42"}, {"cleanup.policy", op::append, "delete"}},
                        false)
                    .ok());
    EXPECT_EQ(store_->describe("cfg")->overrides,
              (config_map{{"cleanup.policy", "compact,delete"}, {"retention.ms", "42"}}));
    EXPECT_EQ(test::on_log(*p, [](const log::partition_log& l) { return l.policy(); }),
              log::cleanup_policy::compact_delete);
    ASSERT_TRUE(admin_
                    ->incremental_alter_topic_configs("cfg",
                                                      {{"retention.ms", op::remove, std::nullopt},
                                                       {"cleanup.policy", op::subtract, "compact"}},
                                                      false)
                    .ok());
    EXPECT_EQ(store_->describe("cfg")->overrides, (config_map{{"cleanup.policy", "delete"}}));
    EXPECT_EQ(test::on_log(*p, [](const log::partition_log& l) { return l.config(); }).retention_ms,
              604800000);

    EXPECT_EQ(
        admin_->incremental_alter_topic_configs("cfg", {{"retention.ms", op::append, "1"}}, false)
            .error,
        error_code::invalid_request);
    EXPECT_EQ(admin_
                  ->incremental_alter_topic_configs(
                      "cfg", {{"retention.ms", op::set, std::nullopt}}, false)
                  .error,
              error_code::invalid_request);
    EXPECT_EQ(
        admin_->incremental_alter_topic_configs("cfg", {{"bogus", op::set, "1"}}, false).error,
        error_code::invalid_config);
    EXPECT_EQ(admin_
                  ->incremental_alter_topic_configs(
                      "cfg", {{"cleanup.policy", op::subtract, "delete"}}, false)
                  .error,
              error_code::invalid_config);  // an empty policy list is not a valid value
}

TEST_F(topic_store_test, dynamic_broker_configs_reach_every_topic) {
    ASSERT_TRUE(create("plain").result.ok());
    ASSERT_TRUE(create("overridden", 1, {{"retention.ms", "7"}}).result.ok());
    auto p = store_->find_partition("plain", 0);
    ASSERT_TRUE(admin_->alter_broker_configs(true, {{"log.retention.ms", "1000"}}, false).ok());
    EXPECT_EQ(test::on_log(*p, [](const log::partition_log& l) { return l.config(); }).retention_ms,
              1000);
    EXPECT_EQ(store_->config_of("overridden")->log.retention_ms, 7);
    auto described = store_->describe_topic_configs("plain");
    ASSERT_TRUE(described);
    auto entry = std::find_if(described->begin(), described->end(),
                              [](const described_config& c) { return c.name == "retention.ms"; });
    EXPECT_EQ(entry->value, "1000");
    EXPECT_EQ(entry->source, config_source::dynamic_default_broker_config);

    // This broker's own dynamic config wins over the cluster-wide default.
    ASSERT_TRUE(admin_->alter_broker_configs(false, {{"log.retention.ms", "2000"}}, false).ok());
    EXPECT_EQ(test::on_log(*p, [](const log::partition_log& l) { return l.config(); }).retention_ms,
              2000);
    described = store_->describe_topic_configs("plain");
    entry = std::find_if(described->begin(), described->end(),
                         [](const described_config& c) { return c.name == "retention.ms"; });
    EXPECT_EQ(entry->source, config_source::dynamic_broker_config);

    EXPECT_EQ(admin_->alter_broker_configs(false, {{"num.partitions", "3"}}, false).error,
              error_code::invalid_request);
    EXPECT_EQ(admin_->alter_broker_configs(false, {{"made.up", "3"}}, false).error,
              error_code::invalid_config);
    EXPECT_EQ(admin_->alter_broker_configs(false, {{"log.retention.ms", "soon"}}, false).error,
              error_code::invalid_config);
    using op = config_operation::kind;
    ASSERT_TRUE(admin_
                    ->incremental_alter_broker_configs(
                        true, {{"log.cleanup.policy", op::append, "compact"}}, false)
                    .ok());
    EXPECT_EQ(store_->dynamic_broker_configs(true).at("log.cleanup.policy"), "delete,compact");
    EXPECT_EQ(test::on_log(*p, [](const log::partition_log& l) { return l.policy(); }),
              log::cleanup_policy::compact_delete);
    // Removing the per-broker value falls back to the cluster default.
    ASSERT_TRUE(admin_->alter_broker_configs(false, {}, false).ok());
    EXPECT_EQ(test::on_log(*p, [](const log::partition_log& l) { return l.config(); }).retention_ms,
              1000);
}

TEST_F(topic_store_test, auto_creation_uses_the_broker_defaults) {
    EXPECT_TRUE(admin_->auto_create_topic("auto", true).ok());
    EXPECT_EQ(store_->partitions_of("auto").size(), 2U);
    EXPECT_TRUE(admin_->auto_create_topic("auto", true).ok());  // exists: nothing to do
    EXPECT_EQ(admin_->auto_create_topic("not-allowed", false).error,
              error_code::unknown_topic_or_partition);
    EXPECT_EQ(admin_->auto_create_topic("bad name", true).error,
              error_code::invalid_topic_exception);
    EXPECT_EQ(admin_->auto_create_topic("__consumer_offsets", true).error,
              error_code::unknown_topic_or_partition);
    EXPECT_FALSE(store_->exists("not-allowed"));
}

class topic_store_no_auto_test : public topic_store_test {
protected:
    topic_store_no_auto_test() : topic_store_test({{"auto.create.topics.enable", "false"}}) {}
};

TEST_F(topic_store_no_auto_test, auto_creation_can_be_disabled) {
    EXPECT_EQ(admin_->auto_create_topic("auto", true).error,
              error_code::unknown_topic_or_partition);
    EXPECT_FALSE(store_->exists("auto"));
}

TEST_F(topic_store_test, delete_records_moves_the_log_start) {
    ASSERT_TRUE(create("records", 1).result.ok());
    for (int i = 0; i < 3; ++i) {
        append("records", 0, "v" + std::to_string(i));
    }
    auto [r1, low1] = store_->delete_records("records", 0, 2);
    ASSERT_TRUE(r1.ok()) << r1.message.value_or("");
    EXPECT_EQ(low1, 2);
    auto [r2, low2] = store_->delete_records("records", 0, -1);
    ASSERT_TRUE(r2.ok());
    EXPECT_EQ(low2, 3);
    EXPECT_EQ(store_->delete_records("records", 0, 10).first.error,
              error_code::offset_out_of_range);
    EXPECT_EQ(store_->delete_records("records", 0, -5).first.error,
              error_code::offset_out_of_range);
    EXPECT_EQ(store_->delete_records("records", 1, 0).first.error,
              error_code::unknown_topic_or_partition);
    ASSERT_TRUE(create("compacted", 1, {{"cleanup.policy", "compact"}}).result.ok());
    EXPECT_EQ(store_->delete_records("compacted", 0, 0).first.error, error_code::policy_violation);
    reopen();
    EXPECT_EQ(store_->find_partition("records", 0)->offsets()->log_start_offset, 3);
}

TEST_F(topic_store_test, stray_directories_are_kept_until_their_name_is_reused) {
    ASSERT_TRUE(create("ghost", 1).result.ok());
    append("ghost", 0, "old");
    store_->shutdown();
    store_.reset();
    fs::remove(fs::path(data_dir()) / local_catalog::file_name);

    reopen();
    EXPECT_FALSE(store_->exists("ghost"));
    EXPECT_TRUE(fs::exists(fs::path(data_dir()) / "ghost-0"));
    clock_.advance(365LL * 24 * 3600 * 1000);
    store_->run_maintenance(clock_.now_ms());
    EXPECT_TRUE(fs::exists(fs::path(data_dir()) / "ghost-0"));
    EXPECT_TRUE(store_->describe_log_dirs(std::nullopt).at(0).partitions.empty());

    ASSERT_TRUE(create("ghost", 1).result.ok());
    EXPECT_EQ(store_->find_partition("ghost", 0)->offsets()->log_end_offset, 0);
}

TEST_F(topic_store_test, describe_log_dirs_reports_sizes) {
    ASSERT_TRUE(create("sized", 2).result.ok());
    append("sized", 1, "some bytes");
    const auto dirs = store_->describe_log_dirs(std::nullopt);
    ASSERT_EQ(dirs.size(), 1U);
    EXPECT_EQ(dirs[0].error, error_code::none);
    EXPECT_EQ(dirs[0].path, fs::absolute(data_dir()).lexically_normal().string());
    EXPECT_GT(dirs[0].total_bytes, 0);
    EXPECT_GE(dirs[0].usable_bytes, 0);
    ASSERT_EQ(dirs[0].partitions.size(), 2U);
    for (const auto& p : dirs[0].partitions) {
        EXPECT_EQ(p.topic, "sized");
        EXPECT_EQ(p.size_bytes > 0, p.partition == 1);
    }
    const auto only = store_->describe_log_dirs(
        std::vector<std::pair<std::string, int32_t>>{{"sized", 1}, {"x", 0}});
    ASSERT_EQ(only[0].partitions.size(), 1U);
    EXPECT_EQ(only[0].partitions[0].partition, 1);
}

TEST_F(topic_store_test, maintenance_applies_retention_and_writes_checkpoints) {
    ASSERT_TRUE(
        create("aging", 1, {{"segment.bytes", "300"}, {"retention.ms", "1000"}}).result.ok());
    for (int i = 0; i < 4; ++i) {
        append("aging", 0, std::string(60, 'a'));
    }
    auto p = store_->find_partition("aging", 0);
    ASSERT_GT(test::on_log(*p, [](const log::partition_log& l) { return l.segment_count(); }), 1U);
    // Retention runs on its interval (300 s here), the first time 30 s after startup.
    clock_.advance(10'000);
    store_->run_maintenance(clock_.now_ms());
    EXPECT_EQ(p->offsets()->log_start_offset, 0);
    clock_.advance(60'000);
    store_->run_maintenance(clock_.now_ms());
    EXPECT_GT(p->offsets()->log_start_offset, 0);
    EXPECT_EQ(test::on_log(*p, [](const log::partition_log& l) { return l.segment_count(); }), 1U);
    EXPECT_TRUE(
        fs::exists(fs::path(data_dir()) / log::log_manager::recovery_point_checkpoint_name));
}

}  // namespace
}  // namespace broker::server
