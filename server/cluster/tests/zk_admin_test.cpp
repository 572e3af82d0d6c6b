// The ZooKeeper admin backend and catalog source against the in-memory ZooKeeper: the znodes each
// admin call writes (paths and exact payloads), the checks it makes against the registered
// brokers, and the catalog versions the source delivers as the znodes change, across a session
// expiry too.
//
// The fake ZooKeeper and the session run on one io_context thread, as the broker runs its
// ZooKeeper work; the test thread makes the blocking admin calls, starts and stops the source, and
// reads the tree through a second session (a "tool", like Kafka's command-line tools) by posting
// coroutines to that thread.
#include "server/cluster/zk_admin_backend.h"
#include "server/cluster/zk_catalog_source.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "zk/fake_client.h"
#include "zk/znodes.h"

namespace broker::server::cluster {
namespace {

namespace znodes = zk::znodes;
using protocol::error_code;
using namespace std::chrono_literals;

constexpr auto wait_bound = 10s;

/// Records what a source delivers; a test thread waits for a version that satisfies a condition.
class recording_listener final : public catalog_listener {
public:
    std::error_code prepare(const catalog&) override {
        std::lock_guard lock(mutex_);
        ++prepared_;
        threads_.insert(std::this_thread::get_id());
        return fail_prepare_;
    }
    void apply(std::shared_ptr<const catalog> next) override {
        std::lock_guard lock(mutex_);
        threads_.insert(std::this_thread::get_id());
        applied_.push_back(std::move(next));
        changed_.notify_all();
    }
    void abandon(const catalog&) override {
        std::lock_guard lock(mutex_);
        ++abandoned_;
        changed_.notify_all();
    }

    /// The first applied version (the latest first) that satisfies `condition`, waiting for one at
    /// most wait_bound; nullptr when none came.
    std::shared_ptr<const catalog> wait_for(const std::function<bool(const catalog&)>& condition) {
        std::unique_lock lock(mutex_);
        std::shared_ptr<const catalog> found;
        changed_.wait_for(lock, wait_bound, [&] {
            if (!applied_.empty() && condition(*applied_.back())) {
                found = applied_.back();
            }
            return found != nullptr;
        });
        return found;
    }
    bool wait_abandoned(int count) {
        std::unique_lock lock(mutex_);
        return changed_.wait_for(lock, wait_bound, [&] { return abandoned_ >= count; });
    }
    void fail_prepare(std::error_code ec) {
        std::lock_guard lock(mutex_);
        fail_prepare_ = ec;
    }
    std::size_t applied() {
        std::lock_guard lock(mutex_);
        return applied_.size();
    }
    std::set<std::thread::id> threads() {
        std::lock_guard lock(mutex_);
        return threads_;
    }

private:
    std::mutex mutex_;
    std::condition_variable changed_;
    std::vector<std::shared_ptr<const catalog>> applied_;
    std::set<std::thread::id> threads_;
    int prepared_ = 0;
    int abandoned_ = 0;
    std::error_code fail_prepare_;
};

std::vector<int32_t> ids(const std::vector<node_id>& nodes) {
    std::vector<int32_t> out;
    for (node_id n : nodes) {
        out.push_back(n.value());
    }
    return out;
}

class zk_admin_backend_test : public ::testing::Test {
protected:
    /// Runs `work` on the ZooKeeper thread and waits for it (bounded).
    template <typename F>
    auto run_on_zk(F work) {
        auto done = net::co_spawn(io_, work(), net::use_future);
        if (done.wait_for(wait_bound) != std::future_status::ready) {
            throw std::runtime_error("the ZooKeeper thread did not finish in time");
        }
        return done.get();
    }

    void SetUp() override {
        config_.broker_id = 1;
        thread_ = std::thread([this] { io_.run(); });
        session_ = std::make_unique<zk::session>(io_.get_executor(), [this] {
            auto client = std::make_unique<zk::fake_client>(io_.get_executor(), server_);
            session_clients_.push_back(client.get());
            return client;
        });
        run_on_zk([this]() -> net::awaitable<void> {
            tool_ = std::make_unique<zk::fake_client>(io_.get_executor(), server_);
            for (std::string_view path : znodes::persistent_paths()) {
                auto made = zk::create_recursive(*tool_, std::string(path));
                const zk::error_code e = co_await std::move(made);
                if (e != zk::error_code::ok) {
                    throw std::runtime_error("cannot create " + std::string(path));
                }
            }
            for (int32_t id : {1, 2, 3}) {
                znodes::broker_registration b;
                b.id = id;
                b.endpoints = {{"PLAINTEXT", "127.0.0.1", 9090 + id}};
                b.listener_security_protocol_map = {{"PLAINTEXT", "PLAINTEXT"}};
                auto created = tool_->create(znodes::broker_path(id), znodes::encode_broker(b),
                                             zk::create_mode::ephemeral);
                const zk::result<std::string> r = co_await std::move(created);
                if (!r.ok()) {
                    throw std::runtime_error("cannot register a broker");
                }
            }
            auto started = session_->start(std::chrono::milliseconds(5000));
            co_await std::move(started);
        });
        source_ = std::make_unique<zk_catalog_source>(*session_, io_.get_executor(),
                                                      node_id{config_.broker_id});
        backend_ =
            std::make_unique<zk_admin_backend>(config_, *session_, io_.get_executor(), *source_);
    }

    void TearDown() override {
        source_->stop();
        run_on_zk([this]() -> net::awaitable<void> {
            session_->stop();
            tool_.reset();
            co_return;
        });
        work_.reset();
        io_.stop();
        thread_.join();
        // The backends and the source after their executor stopped (their documented order).
        impatient_.reset();
        backend_.reset();
        source_.reset();
        session_.reset();
    }

    zk::result<zk::node> get(const std::string& path) {
        return run_on_zk([this, path]() -> net::awaitable<zk::result<zk::node>> {
            auto op = tool_->get(path);
            co_return co_await std::move(op);
        });
    }
    std::vector<std::string> children(const std::string& path) {
        return run_on_zk([this, path]() -> net::awaitable<std::vector<std::string>> {
            auto op = tool_->children(path);
            const zk::result<std::vector<std::string>> r = co_await std::move(op);
            co_return r.value;
        });
    }
    zk::error_code create(const std::string& path, const std::string& data) {
        return run_on_zk([this, path, data]() -> net::awaitable<zk::error_code> {
            auto op = tool_->create(path, data, zk::create_mode::persistent);
            const zk::result<std::string> r = co_await std::move(op);
            co_return r.error;
        });
    }
    zk::error_code set(const std::string& path, const std::string& data) {
        return run_on_zk([this, path, data]() -> net::awaitable<zk::error_code> {
            auto op = tool_->set(path, data, zk::any_version);
            const zk::result<zk::stat> r = co_await std::move(op);
            co_return r.error;
        });
    }
    zk::error_code erase(const std::string& path) {
        return run_on_zk([this, path]() -> net::awaitable<zk::error_code> {
            auto op = zk::delete_recursive(*tool_, path);
            co_return co_await std::move(op);
        });
    }
    std::size_t node_count() {
        return run_on_zk(
            [this]() -> net::awaitable<std::size_t> { co_return server_.node_count(); });
    }

    void start_source() {
        source_->start(listener_);
        ASSERT_GE(listener_.applied(), 1u);
    }

    std::optional<znodes::topic_assignment> topic_node(const std::string& topic) {
        const zk::result<zk::node> node = get(znodes::topic_path(topic));
        if (!node.ok()) {
            return std::nullopt;
        }
        return znodes::decode_topic(node.value.data);
    }

    /// The entity paths of the config change notifications, in sequence order.
    std::vector<std::string> notifications() {
        std::vector<std::string> out;
        for (const std::string& name : children(std::string(znodes::config_changes_path))) {
            const zk::result<zk::node> node =
                get(std::string(znodes::config_changes_path) + "/" + name);
            out.push_back(znodes::decode_config_change(node.value.data).value_or("?"));
        }
        return out;
    }

    broker_config config_;
    net::io_context io_;
    net::executor_work_guard<net::io_context::executor_type> work_{io_.get_executor()};
    std::thread thread_;
    zk::fake_server server_;
    std::unique_ptr<zk::fake_client> tool_;
    std::vector<zk::fake_client*> session_clients_;  // touched on the ZooKeeper thread only
    std::unique_ptr<zk::session> session_;
    recording_listener listener_;
    std::unique_ptr<zk_catalog_source> source_;
    std::unique_ptr<zk_admin_backend> backend_;
    std::unique_ptr<zk_admin_backend> impatient_;
};

new_topic topic_request(const std::string& name, int32_t partitions, int16_t replication_factor) {
    new_topic t;
    t.name = name;
    t.num_partitions = partitions;
    t.replication_factor = replication_factor;
    return t;
}

// ---- create_topic

TEST_F(zk_admin_backend_test, create_writes_the_assignment_and_configs_kafka_writes) {
    start_source();
    new_topic request = topic_request("orders", 3, 2);
    request.configs = {{"retention.ms", "1000"}};
    const created_topic created = backend_->create_topic(request, false);
    ASSERT_TRUE(created.result.ok()) << created.result.message.value_or("");
    EXPECT_FALSE(created.topic_id.is_zero());
    EXPECT_EQ(created.num_partitions, 3);
    EXPECT_EQ(created.replication_factor, 2);
    EXPECT_FALSE(created.configs.empty());

    // /brokers/topics/orders: Kafka's version 3 payload with the new id.
    const zk::result<zk::node> node = get(znodes::topic_path("orders"));
    ASSERT_TRUE(node.ok());
    const auto assignment = znodes::decode_topic(node.value.data);
    ASSERT_TRUE(assignment.has_value());
    EXPECT_EQ(assignment->topic_id, created.topic_id.to_string());
    ASSERT_EQ(assignment->partitions.size(), 3u);
    znodes::topic_assignment expected;
    expected.topic_id = created.topic_id.to_string();
    expected.partitions = assignment->partitions;
    EXPECT_EQ(node.value.data, znodes::encode_topic(expected));
    // Placement over the three registered brokers: two distinct replicas per partition, and the
    // round robin gives each broker one preferred leader.
    std::set<int32_t> leaders;
    for (const auto& [partition, replicas] : assignment->partitions) {
        ASSERT_EQ(replicas.size(), 2u);
        EXPECT_NE(replicas[0], replicas[1]);
        for (int32_t r : replicas) {
            EXPECT_TRUE(r >= 1 && r <= 3) << r;
        }
        leaders.insert(replicas[0]);
    }
    EXPECT_EQ(leaders, (std::set<int32_t>{1, 2, 3}));

    // /config/topics/orders: the overrides, Kafka's entity config payload.
    const zk::result<zk::node> config = get(znodes::config_topic_path("orders"));
    ASSERT_TRUE(config.ok());
    EXPECT_EQ(config.value.data, znodes::encode_config({{"retention.ms", "1000"}}));

    // The catalog source delivers the topic as written.
    const auto delivered =
        listener_.wait_for([](const catalog& c) { return c.find("orders") != nullptr; });
    ASSERT_NE(delivered, nullptr);
    const catalog_topic* topic = delivered->find("orders");
    EXPECT_EQ(topic->id, created.topic_id);
    EXPECT_FALSE(topic->internal);
    EXPECT_EQ(topic->overrides, (config_map{{"retention.ms", "1000"}}));
    ASSERT_EQ(topic->partition_count(), 3);
    for (int32_t p = 0; p < 3; ++p) {
        EXPECT_EQ(ids(topic->assignment[static_cast<std::size_t>(p)]),
                  assignment->partitions.at(p));
    }
    EXPECT_EQ(source_->current(), delivered);
    // Every listener call came from the ZooKeeper thread.
    EXPECT_EQ(listener_.threads(), (std::set<std::thread::id>{thread_.get_id()}));
}

TEST_F(zk_admin_backend_test, create_refuses_a_replication_factor_above_the_registered_brokers) {
    const std::size_t before = node_count();
    const created_topic created = backend_->create_topic(topic_request("wide", 1, 4), false);
    EXPECT_EQ(created.result.error, error_code::invalid_replication_factor);
    EXPECT_EQ(created.result.message, "Replication factor: 4 larger than available brokers: 3.");
    EXPECT_EQ(node_count(), before);
}

TEST_F(zk_admin_backend_test, create_takes_a_manual_assignment_of_registered_brokers) {
    new_topic request;
    request.name = "manual";
    request.assignments = {{0, {3, 1}}, {1, {1, 2}}};
    const created_topic created = backend_->create_topic(request, false);
    ASSERT_TRUE(created.result.ok()) << created.result.message.value_or("");
    EXPECT_EQ(created.num_partitions, 2);
    EXPECT_EQ(created.replication_factor, 2);
    const auto assignment = topic_node("manual");
    ASSERT_TRUE(assignment.has_value());
    EXPECT_EQ(assignment->partitions,
              (std::map<int32_t, std::vector<int32_t>>{{0, {3, 1}}, {1, {1, 2}}}));

    new_topic unknown;
    unknown.name = "unknown-broker";
    unknown.assignments = {{0, {1, 9}}};
    created_topic refused = backend_->create_topic(unknown, false);
    EXPECT_EQ(refused.result.error, error_code::invalid_replica_assignment);
    EXPECT_EQ(refused.result.message, "Unknown broker(s) in replica assignment: 9.");

    new_topic twice;
    twice.name = "twice";
    twice.assignments = {{0, {2, 2}}};
    refused = backend_->create_topic(twice, false);
    EXPECT_EQ(refused.result.error, error_code::invalid_replica_assignment);
    EXPECT_EQ(refused.result.message, "Duplicate brokers not allowed in replica assignment: 2, 2.");

    new_topic gap;
    gap.name = "gap";
    gap.assignments = {{0, {1}}, {2, {2}}};
    refused = backend_->create_topic(gap, false);
    EXPECT_EQ(refused.result.error, error_code::invalid_replica_assignment);

    new_topic uneven;
    uneven.name = "uneven";
    uneven.assignments = {{0, {1}}, {1, {2, 3}}};
    refused = backend_->create_topic(uneven, false);
    EXPECT_EQ(refused.result.error, error_code::invalid_replica_assignment);
    EXPECT_EQ(refused.result.message, "All partitions should have the same number of replicas");

    for (const char* name : {"unknown-broker", "twice", "gap", "uneven"}) {
        EXPECT_FALSE(topic_node(name).has_value()) << name;
    }
}

TEST_F(zk_admin_backend_test, create_refuses_an_existing_or_deleted_topic_from_the_znodes) {
    ASSERT_TRUE(backend_->create_topic(topic_request("dup", 1, 1), false).result.ok());
    // The source is not started: the catalog does not know the topic, ZooKeeper does.
    created_topic again = backend_->create_topic(topic_request("dup", 1, 1), false);
    EXPECT_EQ(again.result.error, error_code::topic_already_exists);
    EXPECT_EQ(again.result.message, "Topic 'dup' already exists.");

    ASSERT_EQ(create(znodes::delete_topic_path("going"), ""), zk::error_code::ok);
    again = backend_->create_topic(topic_request("going", 1, 1), false);
    EXPECT_EQ(again.result.error, error_code::topic_already_exists);
    EXPECT_EQ(again.result.message, "Topic 'going' is marked for deletion.");

    again = backend_->create_topic(topic_request("bad/name", 1, 1), false);
    EXPECT_EQ(again.result.error, error_code::invalid_topic_exception);
}

TEST_F(zk_admin_backend_test, create_with_validate_only_writes_nothing) {
    const std::size_t before = node_count();
    new_topic request = topic_request("dry", 4, 3);
    request.configs = {{"cleanup.policy", "compact"}};
    const created_topic created = backend_->create_topic(request, true);
    ASSERT_TRUE(created.result.ok()) << created.result.message.value_or("");
    EXPECT_EQ(created.num_partitions, 4);
    EXPECT_EQ(created.replication_factor, 3);
    EXPECT_FALSE(created.configs.empty());
    EXPECT_TRUE(created.topic_id.is_zero());
    EXPECT_EQ(node_count(), before);

    request.configs = {{"retention.ms", "soon"}};
    EXPECT_EQ(backend_->create_topic(request, true).result.error, error_code::invalid_config);
}

TEST_F(zk_admin_backend_test, topics_created_with_defaults_and_the_offsets_topic) {
    config_.num_partitions = 2;
    config_.default_replication_factor = 3;
    config_.offsets_topic_num_partitions = 5;
    config_.offsets_topic_replication_factor = 2;
    ASSERT_TRUE(backend_->auto_create_topic("auto", true).ok());
    auto assignment = topic_node("auto");
    ASSERT_TRUE(assignment.has_value());
    EXPECT_EQ(assignment->partitions.size(), 2u);
    EXPECT_EQ(assignment->partitions.at(0).size(), 3u);
    // Created already: success.
    EXPECT_TRUE(backend_->auto_create_topic("auto", true).ok());
    EXPECT_EQ(backend_->auto_create_topic("other", false).error,
              error_code::unknown_topic_or_partition);

    new_topic offsets;
    offsets.name = "__consumer_offsets";
    offsets.internal = true;
    ASSERT_TRUE(backend_->create_topic(offsets, false).result.ok());
    assignment = topic_node("__consumer_offsets");
    ASSERT_TRUE(assignment.has_value());
    EXPECT_EQ(assignment->partitions.size(), 5u);
    EXPECT_EQ(assignment->partitions.at(0).size(), 2u);
    const zk::result<zk::node> config = get(znodes::config_topic_path("__consumer_offsets"));
    ASSERT_TRUE(config.ok());
    const auto configs = znodes::decode_config(config.value.data);
    ASSERT_TRUE(configs.has_value());
    EXPECT_EQ(configs->at("cleanup.policy"), "compact");
}

// ---- delete_topic

TEST_F(zk_admin_backend_test, delete_creates_the_marker_the_controller_acts_on) {
    start_source();
    const created_topic created = backend_->create_topic(topic_request("doomed", 1, 1), false);
    ASSERT_TRUE(created.result.ok());
    ASSERT_NE(listener_.wait_for([](const catalog& c) { return c.find("doomed") != nullptr; }),
              nullptr);

    EXPECT_EQ(backend_->delete_topic("missing").error, error_code::unknown_topic_or_partition);
    EXPECT_EQ(backend_->delete_topic(random_topic_id()).error, error_code::unknown_topic_id);

    config_.delete_topic_enable = false;
    EXPECT_EQ(backend_->delete_topic("doomed").error, error_code::topic_deletion_disabled);
    config_.delete_topic_enable = true;

    ASSERT_TRUE(backend_->delete_topic(created.topic_id).ok());
    EXPECT_TRUE(get(znodes::delete_topic_path("doomed")).ok());
    // A second request while the deletion is pending succeeds too.
    EXPECT_TRUE(backend_->delete_topic("doomed").ok());

    // The controller's part, by hand: the topic's nodes go, and the catalog drops it.
    ASSERT_EQ(erase(znodes::topic_path("doomed")), zk::error_code::ok);
    ASSERT_EQ(erase(znodes::config_topic_path("doomed")), zk::error_code::ok);
    ASSERT_NE(listener_.wait_for([](const catalog& c) { return c.find("doomed") == nullptr; }),
              nullptr);
}

TEST_F(zk_admin_backend_test, internal_topics_are_not_deleted) {
    start_source();
    new_topic offsets = topic_request("__consumer_offsets", 1, 1);
    offsets.internal = true;
    ASSERT_TRUE(backend_->create_topic(offsets, false).result.ok());
    const auto delivered = listener_.wait_for(
        [](const catalog& c) { return c.find("__consumer_offsets") != nullptr; });
    ASSERT_NE(delivered, nullptr);
    EXPECT_TRUE(delivered->find("__consumer_offsets")->internal);
    const topic_result refused = backend_->delete_topic("__consumer_offsets");
    EXPECT_EQ(refused.error, error_code::invalid_topic_exception);
    EXPECT_FALSE(get(znodes::delete_topic_path("__consumer_offsets")).ok());
}

// ---- create_partitions

TEST_F(zk_admin_backend_test, create_partitions_continues_the_topic_and_keeps_its_id) {
    start_source();
    new_topic request;
    request.name = "grow";
    request.assignments = {{0, {2, 3}}};
    const created_topic created = backend_->create_topic(request, false);
    ASSERT_TRUE(created.result.ok());

    EXPECT_EQ(backend_->create_partitions("grow", 1, std::nullopt, false).error,
              error_code::invalid_partitions);
    EXPECT_EQ(backend_->create_partitions("nope", 2, std::nullopt, false).error,
              error_code::unknown_topic_or_partition);
    const topic_result wrong_factor =
        backend_->create_partitions("grow", 2, std::vector<std::vector<int32_t>>{{1}}, false);
    EXPECT_EQ(wrong_factor.error, error_code::invalid_replica_assignment);
    EXPECT_EQ(wrong_factor.message,
              "Inconsistent replication factor between partitions, partition 0 has 2 while "
              "partitions [1] have replication factors [1], respectively.");
    EXPECT_TRUE(backend_->create_partitions("grow", 4, std::nullopt, true).ok());
    EXPECT_EQ(topic_node("grow")->partitions.size(), 1u);  // validate_only

    ASSERT_TRUE(backend_->create_partitions("grow", 4, std::nullopt, false).ok());
    const auto assignment = topic_node("grow");
    ASSERT_TRUE(assignment.has_value());
    EXPECT_EQ(assignment->topic_id, created.topic_id.to_string());
    // Kafka's addPartitions: the round robin starts at partition 0's leader (broker 2, index 1),
    // numbered from partition 1, the follower shift starting at the start index.
    EXPECT_EQ(assignment->partitions, (std::map<int32_t, std::vector<int32_t>>{
                                          {0, {2, 3}}, {1, {3, 2}}, {2, {1, 3}}, {3, {2, 3}}}));

    ASSERT_TRUE(
        backend_->create_partitions("grow", 5, std::vector<std::vector<int32_t>>{{1, 2}}, false)
            .ok());
    EXPECT_EQ(topic_node("grow")->partitions.at(4), (std::vector<int32_t>{1, 2}));
    const auto delivered = listener_.wait_for([](const catalog& c) {
        return c.find("grow") != nullptr && c.find("grow")->partition_count() == 5;
    });
    ASSERT_NE(delivered, nullptr);
    EXPECT_EQ(delivered->find("grow")->id, created.topic_id);
}

TEST_F(zk_admin_backend_test, create_partitions_refuses_a_topic_being_reassigned) {
    znodes::topic_assignment moving;
    moving.topic_id = random_topic_id().to_string();
    moving.partitions = {{0, {1, 2}}};
    moving.adding_replicas = {{0, {2}}};
    ASSERT_EQ(create(znodes::topic_path("moving"), znodes::encode_topic(moving)),
              zk::error_code::ok);
    EXPECT_EQ(backend_->create_partitions("moving", 2, std::nullopt, false).error,
              error_code::reassignment_in_progress);
}

// ---- configs

TEST_F(zk_admin_backend_test, topic_config_changes_reach_the_node_the_queue_and_the_catalog) {
    start_source();
    ASSERT_TRUE(backend_->create_topic(topic_request("configured", 1, 1), false).result.ok());

    EXPECT_EQ(backend_->alter_topic_configs("configured", {{"retention.ms", "never"}}, false).error,
              error_code::invalid_config);
    EXPECT_EQ(backend_->alter_topic_configs("missing", {{"retention.ms", "1"}}, false).error,
              error_code::unknown_topic_or_partition);
    EXPECT_TRUE(backend_->alter_topic_configs("configured", {{"retention.ms", "5"}}, true).ok());
    EXPECT_TRUE(notifications().empty());

    ASSERT_TRUE(
        backend_->alter_topic_configs("configured", {{"retention.ms", "5000"}}, false).ok());
    EXPECT_EQ(get(znodes::config_topic_path("configured")).value.data,
              znodes::encode_config({{"retention.ms", "5000"}}));
    EXPECT_EQ(notifications(), (std::vector<std::string>{"topics/configured"}));
    ASSERT_NE(listener_.wait_for([](const catalog& c) {
        const catalog_topic* t = c.find("configured");
        return t != nullptr && t->overrides == config_map{{"retention.ms", "5000"}};
    }),
              nullptr);

    const std::vector<config_operation> ops = {
        {"cleanup.policy", config_operation::kind::set, "compact"},
        {"retention.ms", config_operation::kind::remove, std::nullopt},
    };
    ASSERT_TRUE(backend_->incremental_alter_topic_configs("configured", ops, false).ok());
    EXPECT_EQ(get(znodes::config_topic_path("configured")).value.data,
              znodes::encode_config({{"cleanup.policy", "compact"}}));
    EXPECT_EQ(notifications(),
              (std::vector<std::string>{"topics/configured", "topics/configured"}));
    ASSERT_NE(listener_.wait_for([](const catalog& c) {
        const catalog_topic* t = c.find("configured");
        return t != nullptr && t->overrides == config_map{{"cleanup.policy", "compact"}};
    }),
              nullptr);

    const std::vector<config_operation> unknown = {
        {"no.such.config", config_operation::kind::set, "1"}};
    EXPECT_EQ(backend_->incremental_alter_topic_configs("configured", unknown, false).error,
              error_code::invalid_config);
}

TEST_F(zk_admin_backend_test, broker_config_changes_reach_the_entity_nodes_and_the_catalog) {
    start_source();
    const std::vector<config_operation> ops = {
        {"log.retention.ms", config_operation::kind::set, "1234"}};
    ASSERT_TRUE(backend_->incremental_alter_broker_configs(true, ops, false).ok());
    EXPECT_EQ(get(znodes::config_broker_path("<default>")).value.data,
              znodes::encode_config({{"log.retention.ms", "1234"}}));
    ASSERT_TRUE(backend_->alter_broker_configs(false, {{"log.retention.ms", "99"}}, false).ok());
    EXPECT_EQ(get(znodes::config_broker_path("1")).value.data,
              znodes::encode_config({{"log.retention.ms", "99"}}));
    EXPECT_EQ(notifications(), (std::vector<std::string>{"brokers/<default>", "brokers/1"}));
    ASSERT_NE(listener_.wait_for([](const catalog& c) {
        return c.dynamic_default == config_map{{"log.retention.ms", "1234"}} &&
               c.dynamic_broker == config_map{{"log.retention.ms", "99"}};
    }),
              nullptr);

    EXPECT_EQ(backend_->alter_broker_configs(false, {{"broker.id", "7"}}, false).error,
              error_code::invalid_request);
    EXPECT_EQ(backend_->alter_broker_configs(false, {{"no.such.key", "7"}}, false).error,
              error_code::invalid_config);
}

// ---- failures of ZooKeeper

TEST_F(zk_admin_backend_test, calls_time_out_when_zookeeper_does_not_answer) {
    // A lost connection answers REQUEST_TIMED_OUT (clients retry it).
    run_on_zk([this]() -> net::awaitable<void> {
        session_clients_.back()->disconnect();
        co_return;
    });
    const created_topic cut = backend_->create_topic(topic_request("cut", 1, 1), false);
    EXPECT_EQ(cut.result.error, error_code::request_timed_out);
    EXPECT_EQ(cut.result.message,
              "Creating topic cut failed: ZooKeeper is not reachable (ZCONNECTIONLOSS).");
    run_on_zk([this]() -> net::awaitable<void> {
        session_clients_.back()->reconnect();
        co_return;
    });
    EXPECT_TRUE(backend_->create_topic(topic_request("cut", 1, 1), false).result.ok());

    // So does ZooKeeper work that does not finish within zookeeper.session.timeout.ms: here the
    // ZooKeeper thread is busy until released.
    config_.zookeeper_session_timeout_ms = 100;
    impatient_ =
        std::make_unique<zk_admin_backend>(config_, *session_, io_.get_executor(), *source_);
    std::promise<void> release;
    std::shared_future<void> released = release.get_future().share();
    net::post(io_, [released] { released.wait(); });
    const created_topic late = impatient_->create_topic(topic_request("late", 1, 1), false);
    EXPECT_EQ(late.result.error, error_code::request_timed_out);
    EXPECT_EQ(late.result.message, "ZooKeeper did not answer within 100 ms.");
    release.set_value();
    // The call's work goes on once ZooKeeper answers, as Kafka's does; wait for it to finish.
    const auto deadline = std::chrono::steady_clock::now() + wait_bound;
    while (!get(znodes::topic_path("late")).ok() && std::chrono::steady_clock::now() < deadline) {
    }
    EXPECT_TRUE(get(znodes::topic_path("late")).ok());
}

// ---- the catalog source

TEST_F(zk_admin_backend_test, source_reads_the_existing_catalog_and_skips_malformed_topics) {
    znodes::topic_assignment good;
    good.topic_id = random_topic_id().to_string();
    good.partitions = {{0, {1, 2}}, {1, {2, 3}}};
    ASSERT_EQ(create(znodes::topic_path("good"), znodes::encode_topic(good)), zk::error_code::ok);
    ASSERT_EQ(create(znodes::topic_path("garbage"), "not json"), zk::error_code::ok);
    znodes::topic_assignment no_id = good;
    no_id.topic_id.clear();
    ASSERT_EQ(create(znodes::topic_path("no-id"), znodes::encode_topic(no_id)), zk::error_code::ok);
    ASSERT_EQ(
        create(znodes::config_topic_path("good"), znodes::encode_config({{"retention.ms", "77"}})),
        zk::error_code::ok);
    ASSERT_EQ(create(znodes::config_broker_path("<default>"),
                     znodes::encode_config({{"log.retention.ms", "10"}, {"broker.id", "5"}})),
              zk::error_code::ok);

    start_source();
    const std::shared_ptr<const catalog> first = source_->current();
    ASSERT_EQ(first->topics().size(), 1u);
    const catalog_topic* topic = first->find("good");
    ASSERT_NE(topic, nullptr);
    EXPECT_EQ(topic->id.to_string(), good.topic_id);
    EXPECT_EQ(topic->overrides, (config_map{{"retention.ms", "77"}}));
    ASSERT_EQ(topic->partition_count(), 2);
    EXPECT_EQ(ids(topic->assignment[1]), (std::vector<int32_t>{2, 3}));
    // A key that is not a dynamic broker config is left out.
    EXPECT_EQ(first->dynamic_default, (config_map{{"log.retention.ms", "10"}}));

    // The malformed node gets an id (as Kafka's controller adds one): the topic appears.
    no_id.topic_id = random_topic_id().to_string();
    ASSERT_EQ(set(znodes::topic_path("no-id"), znodes::encode_topic(no_id)), zk::error_code::ok);
    ASSERT_NE(listener_.wait_for([](const catalog& c) { return c.find("no-id") != nullptr; }),
              nullptr);
}

TEST_F(zk_admin_backend_test, source_reads_everything_again_on_a_new_session) {
    start_source();
    ASSERT_TRUE(backend_->create_topic(topic_request("before", 1, 1), false).result.ok());
    ASSERT_NE(listener_.wait_for([](const catalog& c) { return c.find("before") != nullptr; }),
              nullptr);

    // The session expires (its watches are gone); a topic appears meanwhile, which only a read
    // on the new session can find.
    znodes::topic_assignment during;
    during.topic_id = random_topic_id().to_string();
    during.partitions = {{0, {3}}};
    run_on_zk([this, &during]() -> net::awaitable<void> {
        session_clients_.back()->expire_session();
        auto op = tool_->create(znodes::topic_path("during"), znodes::encode_topic(during),
                                zk::create_mode::persistent);
        co_await std::move(op);
    });
    ASSERT_NE(listener_.wait_for([](const catalog& c) {
        return c.find("before") != nullptr && c.find("during") != nullptr;
    }),
              nullptr);
    EXPECT_EQ(
        run_on_zk([this]() -> net::awaitable<std::size_t> { co_return session_clients_.size(); }),
        2u);
    EXPECT_EQ(run_on_zk([this]() -> net::awaitable<int> { co_return session_->generation(); }), 2);

    // A version is delivered once every read is done, so the new session's watches are armed:
    // a later change arrives too.
    ASSERT_EQ(
        create(znodes::config_topic_path("during"), znodes::encode_config({{"retention.ms", "3"}})),
        zk::error_code::ok);
    ASSERT_NE(listener_.wait_for([](const catalog& c) {
        const catalog_topic* t = c.find("during");
        return t != nullptr && t->overrides == config_map{{"retention.ms", "3"}};
    }),
              nullptr);
}

TEST_F(zk_admin_backend_test, source_abandons_a_version_it_cannot_prepare) {
    start_source();
    listener_.fail_prepare(std::make_error_code(std::errc::no_space_on_device));
    ASSERT_TRUE(backend_->create_topic(topic_request("unlucky", 1, 1), false).result.ok());
    ASSERT_TRUE(listener_.wait_abandoned(1));
    EXPECT_EQ(source_->current()->find("unlucky"), nullptr);
    listener_.fail_prepare({});
    ASSERT_TRUE(backend_->create_topic(topic_request("lucky", 1, 1), false).result.ok());
    ASSERT_NE(listener_.wait_for([](const catalog& c) {
        return c.find("unlucky") != nullptr && c.find("lucky") != nullptr;
    }),
              nullptr);
}

TEST_F(zk_admin_backend_test, source_start_fails_when_the_first_version_cannot_be_prepared) {
    listener_.fail_prepare(std::make_error_code(std::errc::no_space_on_device));
    EXPECT_THROW(source_->start(listener_), std::runtime_error);
    EXPECT_EQ(listener_.applied(), 0u);
    EXPECT_TRUE(listener_.wait_abandoned(1));
}

TEST_F(zk_admin_backend_test, source_start_is_bounded_without_a_session) {
    zk::session idle(io_.get_executor(), [this] {
        return std::make_unique<zk::fake_client>(io_.get_executor(), server_);
    });
    zk_catalog_source waiting(idle, io_.get_executor(), node_id{1}, std::chrono::milliseconds(100));
    recording_listener listener;
    EXPECT_THROW(waiting.start(listener), std::runtime_error);
    EXPECT_EQ(listener.applied(), 0u);
    waiting.stop();
}

TEST_F(zk_admin_backend_test, source_delivers_nothing_after_stop) {
    start_source();
    const std::size_t applied = listener_.applied();
    source_->stop();
    source_->stop();  // idempotent
    ASSERT_TRUE(backend_->create_topic(topic_request("unseen", 1, 1), false).result.ok());
    // Let the watches fire and anything they would start run its course.
    for (int i = 0; i < 20; ++i) {
        get(znodes::topic_path("unseen"));
    }
    EXPECT_EQ(listener_.applied(), applied);
    EXPECT_EQ(source_->current()->find("unseen"), nullptr);
}

}  // namespace
}  // namespace broker::server::cluster
