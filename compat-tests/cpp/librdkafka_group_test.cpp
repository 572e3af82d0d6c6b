// librdkafka's high-level consumer (C API) against the real broker: subscribe with a group,
// rebalance callbacks splitting a topic between two members, synchronous commits, committed()
// after a broker restart (SIGTERM and SIGKILL), and the admin group calls (list, describe,
// delete). Each test starts its
// own broker.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "compat-tests/cpp/broker_fixture.h"
#include "compat-tests/cpp/rdkafka_util.h"

namespace broker::compat {
namespace {

using clock_type = std::chrono::steady_clock;

constexpr const char* topic = "rk-group";
constexpr int partitions = 4;
constexpr int per_partition = 50;

void produce(const std::string& bootstrap) {
    auto rk = make_client(RD_KAFKA_PRODUCER, {{"bootstrap.servers", bootstrap}, {"acks", "all"}});
    for (int i = 0; i < partitions * per_partition; ++i) {
        const std::string value = std::string("m").append(std::to_string(i));
        ASSERT_EQ(rd_kafka_producev(rk.get(), RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(i % partitions),
                                    RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
                                    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END),
                  RD_KAFKA_RESP_ERR_NO_ERROR);
    }
    ASSERT_EQ(rd_kafka_flush(rk.get(), 60000), RD_KAFKA_RESP_ERR_NO_ERROR);
}

/// One group member: a subscribed consumer whose rebalance callback records the assignment.
struct member {
    kafka_handle rk;
    std::set<int> assigned;
    int assign_calls = 0;
    int revoke_calls = 0;
    std::map<int, std::vector<int64_t>> seen;

    static void on_rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                             rd_kafka_topic_partition_list_t* list, void* opaque) {
        auto* self = static_cast<member*>(opaque);
        if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
            ++self->assign_calls;
            self->assigned.clear();
            for (int i = 0; i < list->cnt; ++i) {
                self->assigned.insert(list->elems[i].partition);
            }
            rd_kafka_assign(rk, list);
        } else {
            ++self->revoke_calls;
            self->assigned.clear();
            rd_kafka_assign(rk, nullptr);
        }
    }

    member(const std::string& bootstrap, const std::string& group, const std::string& name) {
        rd_kafka_conf_t* conf = rd_kafka_conf_new();
        char err[512];
        const std::map<std::string, std::string> props{{"bootstrap.servers", bootstrap},
                                                       {"group.id", group},
                                                       {"client.id", name},
                                                       {"enable.auto.commit", "false"},
                                                       {"auto.offset.reset", "earliest"},
                                                       {"session.timeout.ms", "6000"},
                                                       {"heartbeat.interval.ms", "300"},
                                                       {"partition.assignment.strategy", "range"}};
        for (const auto& [k, v] : props) {
            if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof(err)) != RD_KAFKA_CONF_OK) {
                throw std::runtime_error(err);
            }
        }
        rd_kafka_conf_set_rebalance_cb(conf, &member::on_rebalance);
        rd_kafka_conf_set_opaque(conf, this);
        rd_kafka_t* handle = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
        if (handle == nullptr) {
            throw std::runtime_error(err);
        }
        rk.reset(handle);
        rd_kafka_poll_set_consumer(rk.get());
        rd_kafka_topic_partition_list_t* subscription = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(subscription, topic, RD_KAFKA_PARTITION_UA);
        const rd_kafka_resp_err_t subscribed = rd_kafka_subscribe(rk.get(), subscription);
        rd_kafka_topic_partition_list_destroy(subscription);
        if (subscribed != RD_KAFKA_RESP_ERR_NO_ERROR) {
            throw std::runtime_error(rd_kafka_err2str(subscribed));
        }
    }
    ~member() { close(); }
    member(const member&) = delete;
    member& operator=(const member&) = delete;

    void poll() {
        rd_kafka_message_t* m = rd_kafka_consumer_poll(rk.get(), 100);
        if (m == nullptr) {
            return;
        }
        if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            seen[m->partition].push_back(m->offset);
        }
        rd_kafka_message_destroy(m);
    }

    rd_kafka_resp_err_t commit(const std::map<int, int64_t>& offsets) {
        rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(partitions);
        for (const auto& [p, o] : offsets) {
            rd_kafka_topic_partition_list_add(list, topic, p)->offset = o;
        }
        const rd_kafka_resp_err_t err = rd_kafka_commit(rk.get(), list, /*async=*/0);
        rd_kafka_topic_partition_list_destroy(list);
        return err;
    }

    std::map<int, int64_t> committed() {
        rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(partitions);
        for (int p = 0; p < partitions; ++p) {
            rd_kafka_topic_partition_list_add(list, topic, p);
        }
        std::map<int, int64_t> out;
        if (rd_kafka_committed(rk.get(), list, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
            for (int i = 0; i < list->cnt; ++i) {
                out[list->elems[i].partition] = list->elems[i].offset;
            }
        }
        rd_kafka_topic_partition_list_destroy(list);
        return out;
    }

    void close() {
        if (rk) {
            rd_kafka_consumer_close(rk.get());
            rk.reset();
        }
    }
};

/// Polls every member until `condition` holds; false after `limit`.
template <typename Condition>
bool poll_until(const std::vector<member*>& members, Condition condition,
                std::chrono::seconds limit = std::chrono::seconds(60)) {
    const auto deadline = clock_type::now() + limit;
    while (!condition()) {
        if (clock_type::now() > deadline) {
            return false;
        }
        for (member* m : members) {
            m->poll();
        }
    }
    return true;
}

class librdkafka_group : public ::testing::Test {
protected:
    void SetUp() override {
        broker_.start();
        auto admin = make_client(RD_KAFKA_PRODUCER, {{"bootstrap.servers", broker_.bootstrap()}});
        const auto created = create_topics(admin.get(), {{topic, partitions}});
        ASSERT_EQ(created.at(topic), RD_KAFKA_RESP_ERR_NO_ERROR);
        produce(broker_.bootstrap());
    }
    void TearDown() override {
        if (HasFailure()) {
            std::cerr << broker_.output() << "\n";
        }
        broker_.stop();
    }

    broker_process broker_;
};

TEST_F(librdkafka_group, two_members_split_the_topic_and_the_survivor_takes_all) {
    member a(broker_.bootstrap(), "rk-split", "a");
    member b(broker_.bootstrap(), "rk-split", "b");
    ASSERT_TRUE(poll_until({&a, &b}, [&] { return a.assigned.size() == 2 && b.assigned.size() == 2; }))
        << a.assigned.size() << "+" << b.assigned.size();
    std::set<int> all = a.assigned;
    all.insert(b.assigned.begin(), b.assigned.end());
    EXPECT_EQ(all.size(), static_cast<std::size_t>(partitions));
    const auto consumed_all = [&](member& m) {
        for (int p : m.assigned) {
            if (m.seen[p].size() < static_cast<std::size_t>(per_partition)) {
                return false;
            }
        }
        return true;
    };
    ASSERT_TRUE(poll_until({&a, &b}, [&] { return consumed_all(a) && consumed_all(b); }));
    std::map<int, int64_t> half;
    for (int p = 0; p < partitions; ++p) {
        half[p] = per_partition / 2;
    }
    std::map<int, int64_t> a_half;
    std::map<int, int64_t> b_half;
    for (int p : a.assigned) {
        a_half[p] = half[p];
    }
    for (int p : b.assigned) {
        b_half[p] = half[p];
    }
    ASSERT_EQ(a.commit(a_half), RD_KAFKA_RESP_ERR_NO_ERROR);
    ASSERT_EQ(b.commit(b_half), RD_KAFKA_RESP_ERR_NO_ERROR);
    EXPECT_EQ(a.committed(), half);

    const int revokes_before = a.revoke_calls;
    b.close();
    a.seen.clear();
    ASSERT_TRUE(poll_until({&a}, [&] { return a.assigned.size() == static_cast<std::size_t>(partitions); }));
    EXPECT_GT(a.revoke_calls, revokes_before);  // eager rebalance: revoke, then the new assignment
    // Resumed at the commits: the second half of every partition, from its first offset.
    ASSERT_TRUE(poll_until({&a}, [&] {
        for (int p = 0; p < partitions; ++p) {
            if (a.seen[p].size() < static_cast<std::size_t>(per_partition / 2)) {
                return false;
            }
        }
        return true;
    }));
    for (int p = 0; p < partitions; ++p) {
        ASSERT_FALSE(a.seen[p].empty());
        EXPECT_EQ(a.seen[p].front(), per_partition / 2) << p;  // resumed at the commit
    }
    a.close();
}

TEST_F(librdkafka_group, committed_offsets_survive_restarts) {
    {
        member a(broker_.bootstrap(), "rk-restart", "a");
        ASSERT_TRUE(poll_until({&a}, [&] { return a.assigned.size() == static_cast<std::size_t>(partitions); }));
        ASSERT_EQ(a.commit({{0, 10}, {1, 11}, {2, 12}, {3, 13}}), RD_KAFKA_RESP_ERR_NO_ERROR);
        a.close();
    }
    ASSERT_EQ(broker_.stop(15), 0);  // clean exit
    broker_.start();
    {
        member a(broker_.bootstrap(), "rk-restart", "a");
        const std::map<int, int64_t> expected{{0, 10}, {1, 11}, {2, 12}, {3, 13}};
        std::map<int, int64_t> committed;
        // The coordinator may still be loading its partitions: committed() then retries.
        ASSERT_TRUE(poll_until({&a}, [&] { return (committed = a.committed()) == expected; }))
            << committed.size();
        ASSERT_TRUE(poll_until({&a}, [&] { return a.assigned.size() == static_cast<std::size_t>(partitions); }));
        ASSERT_TRUE(poll_until({&a}, [&] { return a.seen[3].size() >= static_cast<std::size_t>(per_partition - 13); }));
        EXPECT_EQ(a.seen[3].front(), 13);
        ASSERT_EQ(a.commit({{0, 20}, {1, 21}, {2, 22}, {3, 23}}), RD_KAFKA_RESP_ERR_NO_ERROR);
        a.close();
    }
    broker_.stop(9);  // crash
    broker_.start();
    member a(broker_.bootstrap(), "rk-restart", "a");
    const std::map<int, int64_t> expected{{0, 20}, {1, 21}, {2, 22}, {3, 23}};
    std::map<int, int64_t> committed;
    ASSERT_TRUE(poll_until({&a}, [&] { return (committed = a.committed()) == expected; }));
    a.close();
}

TEST_F(librdkafka_group, admin_lists_describes_and_deletes_groups) {
    member a(broker_.bootstrap(), "rk-admin", "a");
    ASSERT_TRUE(poll_until({&a}, [&] { return a.assigned.size() == static_cast<std::size_t>(partitions); }));
    ASSERT_EQ(a.commit({{0, 1}}), RD_KAFKA_RESP_ERR_NO_ERROR);

    auto admin = make_client(RD_KAFKA_PRODUCER, {{"bootstrap.servers", broker_.bootstrap()}});
    rd_kafka_queue_t* q = rd_kafka_queue_new(admin.get());

    // ListConsumerGroups: the group is there, Stable, and not a simple (offsets-only) group.
    rd_kafka_ListConsumerGroups(admin.get(), nullptr, q);
    rd_kafka_event_t* listed = wait_admin_result(q, RD_KAFKA_EVENT_LISTCONSUMERGROUPS_RESULT, 30000);
    size_t listed_count = 0;
    const rd_kafka_ConsumerGroupListing_t** listings = rd_kafka_ListConsumerGroups_result_valid(
        rd_kafka_event_ListConsumerGroups_result(listed), &listed_count);
    bool found = false;
    for (size_t i = 0; i < listed_count; ++i) {
        if (std::string(rd_kafka_ConsumerGroupListing_group_id(listings[i])) == "rk-admin") {
            found = true;
            EXPECT_EQ(rd_kafka_ConsumerGroupListing_state(listings[i]),
                      RD_KAFKA_CONSUMER_GROUP_STATE_STABLE);
            EXPECT_EQ(rd_kafka_ConsumerGroupListing_is_simple_consumer_group(listings[i]), 0);
        }
    }
    EXPECT_TRUE(found);
    rd_kafka_event_destroy(listed);

    // DescribeConsumerGroups: one member, its client id and host, the range assignor.
    const char* described_ids[] = {"rk-admin"};
    rd_kafka_DescribeConsumerGroups(admin.get(), described_ids, 1, nullptr, q);
    rd_kafka_event_t* described =
        wait_admin_result(q, RD_KAFKA_EVENT_DESCRIBECONSUMERGROUPS_RESULT, 30000);
    size_t described_count = 0;
    const rd_kafka_ConsumerGroupDescription_t** descriptions =
        rd_kafka_DescribeConsumerGroups_result_groups(
            rd_kafka_event_DescribeConsumerGroups_result(described), &described_count);
    ASSERT_EQ(described_count, 1U);
    EXPECT_EQ(rd_kafka_ConsumerGroupDescription_error(descriptions[0]), nullptr);
    EXPECT_EQ(rd_kafka_ConsumerGroupDescription_state(descriptions[0]),
              RD_KAFKA_CONSUMER_GROUP_STATE_STABLE);
    EXPECT_EQ(std::string(rd_kafka_ConsumerGroupDescription_partition_assignor(descriptions[0])),
              "range");
    ASSERT_EQ(rd_kafka_ConsumerGroupDescription_member_count(descriptions[0]), 1U);
    const rd_kafka_MemberDescription_t* described_member =
        rd_kafka_ConsumerGroupDescription_member(descriptions[0], 0);
    EXPECT_EQ(std::string(rd_kafka_MemberDescription_client_id(described_member)), "a");
    EXPECT_EQ(std::string(rd_kafka_MemberDescription_host(described_member)), "/127.0.0.1");
    rd_kafka_event_destroy(described);
    a.close();

    const char* groups[] = {"rk-admin", "rk-unknown"};
    rd_kafka_DeleteGroup_t* deletions[] = {rd_kafka_DeleteGroup_new(groups[0]),
                                           rd_kafka_DeleteGroup_new(groups[1])};
    rd_kafka_DeleteGroups(admin.get(), deletions, 2, nullptr, q);
    rd_kafka_event_t* ev = wait_admin_result(q, RD_KAFKA_EVENT_DELETEGROUPS_RESULT, 30000);
    size_t n = 0;
    const rd_kafka_group_result_t** results =
        rd_kafka_DeleteGroups_result_groups(rd_kafka_event_DeleteGroups_result(ev), &n);
    ASSERT_EQ(n, 2U);
    std::map<std::string, rd_kafka_resp_err_t> errors;
    for (size_t i = 0; i < n; ++i) {
        const rd_kafka_error_t* e = rd_kafka_group_result_error(results[i]);
        errors[rd_kafka_group_result_name(results[i])] =
            e == nullptr ? RD_KAFKA_RESP_ERR_NO_ERROR : rd_kafka_error_code(e);
    }
    EXPECT_EQ(errors["rk-admin"], RD_KAFKA_RESP_ERR_NO_ERROR);
    EXPECT_EQ(errors["rk-unknown"], RD_KAFKA_RESP_ERR_GROUP_ID_NOT_FOUND);
    rd_kafka_event_destroy(ev);
    rd_kafka_DeleteGroup_destroy_array(deletions, 2);
    rd_kafka_queue_destroy(q);

    // After the deletion the group has no committed offsets.
    member b(broker_.bootstrap(), "rk-admin", "b");
    std::map<int, int64_t> committed;
    ASSERT_TRUE(poll_until({&b}, [&] {
        committed = b.committed();
        return !committed.empty();
    }));
    for (const auto& [p, o] : committed) {
        EXPECT_EQ(o, RD_KAFKA_OFFSET_INVALID) << p;
    }
    b.close();
}

}  // namespace
}  // namespace broker::compat
