// The metadata layer's seams: catalog versions, the local catalog file (encode/decode, the
// prepare → write → apply order of a commit, abandon on failure), and the topic store driven by a
// metadata source other than the local file, with partitions assigned to other brokers.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "log/types.h"
#include "server/metadata/catalog.h"
#include "server/metadata/local_catalog.h"
#include "server/metadata/metadata_cache.h"
#include "server/metadata/metadata_source.h"
#include "server/replica/replica_manager.h"
#include "server/tests/test_util.h"
#include "server/topic_store.h"

namespace broker::server {
namespace {

namespace fs = std::filesystem;
using protocol::error_code;

catalog_topic make_topic(const std::string& name, std::vector<std::vector<node_id>> assignment) {
    catalog_topic t;
    t.name = name;
    t.id = random_topic_id();
    t.assignment = std::move(assignment);
    return t;
}

TEST(catalog_test, versions_share_unchanged_topics_and_index_by_name_and_id) {
    catalog a;
    a.put(make_topic("one", {{node_id{1}}}));
    a.put(make_topic("two", {{node_id{1}}, {node_id{1}}}));
    const protocol::uuid two_id = a.find("two")->id;

    catalog b = a;
    catalog_topic grown = *b.find("two");
    grown.assignment.push_back({node_id{1}});
    b.put(grown);
    EXPECT_EQ(a.find("two")->partition_count(), 2);
    EXPECT_EQ(b.find("two")->partition_count(), 3);
    EXPECT_EQ(b.find(two_id)->name, "two");
    EXPECT_EQ(a.find_ptr("one")->get(), b.find_ptr("one")->get());  // shared, not copied
    EXPECT_FALSE(a == b);

    EXPECT_TRUE(b.erase("two"));
    EXPECT_FALSE(b.erase("two"));
    EXPECT_EQ(b.find(two_id), nullptr);
    EXPECT_EQ(b.find("two"), nullptr);
    EXPECT_TRUE(a.contains_id(two_id));
}

TEST(catalog_test, topic_name_rules) {
    EXPECT_FALSE(check_topic_name("orders.v1_x-2"));
    EXPECT_TRUE(check_topic_name(""));
    EXPECT_TRUE(check_topic_name(".."));
    EXPECT_TRUE(check_topic_name(std::string(250, 'a')));
    EXPECT_TRUE(check_topic_name("a b"));
    EXPECT_EQ(unify_collision_chars("a.b_c"), "a_b_c");
    EXPECT_TRUE(is_internal_topic_name("__consumer_offsets"));
    EXPECT_FALSE(is_internal_topic_name("__consumer_offsets2"));
    for (int i = 0; i < 100; ++i) {
        const protocol::uuid id = random_topic_id();
        EXPECT_FALSE(id.is_zero());
        EXPECT_NE(id.to_string().front(), '-');
    }
}

TEST(local_catalog_test, the_file_round_trips_and_assigns_every_partition_to_the_local_broker) {
    catalog c;
    catalog_topic t = make_topic("orders", {{node_id{7}}, {node_id{7}}, {node_id{7}}});
    t.overrides = {{"retention.ms", "1000"}};
    t.internal = true;
    c.put(t);
    c.dynamic_default = {{"log.retention.ms", "5"}};
    const catalog back = local_catalog::decode(local_catalog::encode(c), "f", node_id{7});
    EXPECT_TRUE(back == c);
    const catalog other = local_catalog::decode(local_catalog::encode(c), "f", node_id{3});
    EXPECT_EQ(other.find("orders")->assignment.at(2), std::vector<node_id>{node_id{3}});

    // The same id twice is refused: ids name topics.
    const std::string id = t.id.to_string();
    const std::string twice = "{\"version\": 1, \"topics\": [{\"name\": \"a\", \"id\": \"" + id +
                              "\", \"partitions\": 1}, {\"name\": \"b\", \"id\": \"" + id +
                              "\", \"partitions\": 1}]}";
    EXPECT_THROW(local_catalog::decode(twice, "f", node_id{1}), std::runtime_error);
}

/// Records what the catalog asks of its listener, and what the file held at each step.
class recording_listener final : public catalog_listener {
public:
    explicit recording_listener(fs::path file) : file_(std::move(file)) {}

    std::error_code prepare(const catalog& next) override {
        calls.push_back("prepare:" + std::to_string(next.topics().size()) + ":" + file_text());
        return fail_prepare ? std::make_error_code(std::errc::no_space_on_device)
                            : std::error_code{};
    }
    void apply(std::shared_ptr<const catalog> next) override {
        calls.push_back("apply:" + std::to_string(next->topics().size()) + ":" + file_text());
    }
    void abandon(const catalog& next) override {
        calls.push_back("abandon:" + std::to_string(next.topics().size()));
    }

    std::vector<std::string> calls;
    bool fail_prepare = false;

private:
    /// "none", or the number of topics the file lists.
    std::string file_text() const {
        std::ifstream in(file_);
        if (!in) {
            return "none";
        }
        std::stringstream text;
        text << in.rdbuf();
        return std::to_string(local_catalog::decode(text.str(), "f", node_id{1}).topics().size());
    }
    fs::path file_;
};

TEST(local_catalog_test,
     a_commit_is_prepared_then_written_then_applied_and_abandoned_when_it_cannot_be) {
    test::temp_dir dir;
    local_catalog source(dir.path(), node_id{1});
    recording_listener listener(source.path());

    auto one = std::make_shared<catalog>();
    one->put(make_topic("a", {{node_id{1}}}));
    // Not started: nothing is prepared or written.
    EXPECT_EQ(source.commit(one), std::errc::operation_not_permitted);
    EXPECT_TRUE(listener.calls.empty());

    source.start(listener);
    EXPECT_EQ(listener.calls, (std::vector<std::string>{"prepare:0:none", "apply:0:none"}));
    listener.calls.clear();

    ASSERT_FALSE(source.commit(one));
    // Prepared before the file lists the topic; applied after.
    EXPECT_EQ(listener.calls, (std::vector<std::string>{"prepare:1:none", "apply:1:1"}));
    EXPECT_EQ(source.current()->find("a")->name, "a");
    listener.calls.clear();

    auto two = std::make_shared<catalog>(*one);
    two->put(make_topic("b", {{node_id{1}}}));
    listener.fail_prepare = true;
    EXPECT_EQ(source.commit(two), std::errc::no_space_on_device);
    EXPECT_EQ(listener.calls, (std::vector<std::string>{"prepare:2:1", "abandon:2"}));
    EXPECT_EQ(source.current()->find("b"),
              nullptr);  // the file and the current version are unchanged

    listener.fail_prepare = false;
    source.stop();
    listener.calls.clear();
    EXPECT_EQ(source.commit(two), std::errc::operation_not_permitted);
    EXPECT_TRUE(listener.calls.empty());
    EXPECT_FALSE(source.accepting());
}

/// A metadata source that is not a file: versions are handed to it by the test, as a cluster's
/// source would hand over what it read from ZooKeeper.
class pushed_source final : public metadata_source {
public:
    void start(catalog_listener& listener) override {
        listener_ = &listener;
        deliver(std::make_shared<const catalog>());
    }
    void stop() override { listener_ = nullptr; }
    std::shared_ptr<const catalog> current() const override { return current_; }

    std::error_code deliver(std::shared_ptr<const catalog> next) {
        if (std::error_code ec = listener_->prepare(*next)) {
            listener_->abandon(*next);
            return ec;
        }
        current_ = next;
        listener_->apply(std::move(next));
        return {};
    }

private:
    catalog_listener* listener_ = nullptr;
    std::shared_ptr<const catalog> current_ = std::make_shared<const catalog>();
};

TEST(topic_store_source_test,
     hosts_only_the_partitions_assigned_here_and_leads_only_those_it_alone_replicates) {
    test::temp_dir dir;
    broker_config config =
        make_broker_config(
            std::vector<property>{{"log.dirs", dir.sub("data"), 0}, {"broker.id", "1", 0}})
            .config;
    log::manual_clock clock;
    metadata_cache cache;
    replica_manager replicas(config, cache, clock);
    pushed_source source;
    topic_store store(config, cache, replicas, source);
    store.open();

    // Partition 0: this broker alone. Partition 1: another broker alone. Partition 2: this broker
    // and another (a replicated partition: hosted, with no role until the controller gives one).
    auto next = std::make_shared<catalog>();
    next->put(make_topic("spread", {{node_id{1}}, {node_id{2}}, {node_id{2}, node_id{1}}}));
    ASSERT_FALSE(source.deliver(next));

    EXPECT_EQ(store.describe("spread")->partition_count, 3);
    ASSERT_TRUE(store.find_partition("spread", 0));
    EXPECT_EQ(store.find_partition("spread", 0)->role(), replica_role::leader);
    EXPECT_EQ(store.find_partition("spread", 1), nullptr);
    ASSERT_TRUE(store.find_partition("spread", 2));
    EXPECT_EQ(store.find_partition("spread", 2)->role(), replica_role::none);
    EXPECT_FALSE(fs::exists(fs::path(dir.sub("data")) / "spread-1"));

    EXPECT_EQ(replicas.leader_for("spread", partition_index{0}).error, error_code::none);
    EXPECT_EQ(replicas.leader_for("spread", partition_index{1}).error,
              error_code::not_leader_or_follower);
    EXPECT_EQ(replicas.leader_for("spread", partition_index{2}).error,
              error_code::not_leader_or_follower);
    EXPECT_EQ(replicas.leader_for("spread", partition_index{3}).error,
              error_code::unknown_topic_or_partition);

    const auto snapshot = cache.snapshot();
    const topic_info* info = snapshot->find("spread");
    ASSERT_NE(info, nullptr);
    ASSERT_EQ(info->partitions.size(), 3U);
    EXPECT_EQ(info->partitions[0].leader_id, 1);
    EXPECT_EQ(info->partitions[1].error_code,
              static_cast<int16_t>(error_code::leader_not_available));

    // The next version drops the topic: its hosted replicas are stopped and their logs removed.
    ASSERT_FALSE(source.deliver(std::make_shared<const catalog>()));
    EXPECT_EQ(store.find_partition("spread", 0), nullptr);
    EXPECT_EQ(cache.snapshot()->find("spread"), nullptr);
    EXPECT_FALSE(fs::exists(fs::path(dir.sub("data")) / "spread-0"));
    EXPECT_FALSE(store.shutdown());
}

}  // namespace
}  // namespace broker::server
