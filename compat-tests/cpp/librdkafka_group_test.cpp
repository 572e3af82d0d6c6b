// librdkafka's high-level consumer (C API) against the real broker: subscribe with a group,
// rebalance callbacks splitting a topic between two members, synchronous commits, consumption
// resumed at the commits after a broker restart (SIGTERM and SIGKILL), the admin group calls
// (list, describe, delete); then rebalances of three members on a 6-partition topic (join, leave,
// death by session expiry) with the eager and the cooperative-sticky protocol, checked for
// exclusive partition ownership and exactly-once consumption, and static members (KIP-345) that
// restart without a rebalance. Each test starts its own broker.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <sstream>
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
        ASSERT_EQ(rd_kafka_producev(rk.get(), RD_KAFKA_V_TOPIC(topic),
                                    RD_KAFKA_V_PARTITION(i % partitions),
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
            if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof(err)) !=
                RD_KAFKA_CONF_OK) {
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
    ASSERT_TRUE(
        poll_until({&a, &b}, [&] { return a.assigned.size() == 2 && b.assigned.size() == 2; }))
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
    ASSERT_TRUE(poll_until(
        {&a}, [&] { return a.assigned.size() == static_cast<std::size_t>(partitions); }));
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
    if (targets_kafka()) {
        GTEST_SKIP() << "restarts and kills the broker; the reference Kafka is shared";
    }
    // A fresh member of the group finds `from` committed, consumes `count` messages, commits
    // exactly what it consumed and closes. Every partition must continue at its commit: the
    // offsets read from each are contiguous from `from[p]`.
    std::map<int, std::vector<int64_t>> all_seen;
    const auto consume_and_commit = [&](const std::map<int, int64_t>& from, std::size_t count,
                                        std::map<int, int64_t>& positions) {
        member m(broker_.bootstrap(), "rk-restart", "m");
        std::map<int, int64_t> committed;
        // After a restart the coordinator may still be loading: committed() fails and is retried.
        ASSERT_TRUE(poll_until({&m}, [&] { return (committed = m.committed()) == from; }))
            << committed.size();
        std::size_t seen = 0;
        // poll() delivers at most one message, so the member stops at exactly `count`.
        ASSERT_TRUE(poll_until({&m},
                               [&] {
                                   seen = 0;
                                   for (const auto& [p, offsets] : m.seen) {
                                       seen += offsets.size();
                                   }
                                   return seen == count;
                               }))
            << seen << " of " << count;
        for (int p = 0; p < partitions; ++p) {
            const int64_t first = from.at(p) < 0 ? 0 : from.at(p);
            const std::vector<int64_t>& offsets = m.seen[p];
            for (std::size_t i = 0; i < offsets.size(); ++i) {
                ASSERT_EQ(offsets[i], first + static_cast<int64_t>(i)) << "partition " << p;
            }
            positions[p] = first + static_cast<int64_t>(offsets.size());
            all_seen[p].insert(all_seen[p].end(), offsets.begin(), offsets.end());
        }
        ASSERT_EQ(m.commit(positions), RD_KAFKA_RESP_ERR_NO_ERROR);
        m.close();
    };
    const std::size_t total = static_cast<std::size_t>(partitions * per_partition);
    std::map<int, int64_t> nothing;
    for (int p = 0; p < partitions; ++p) {
        nothing[p] = RD_KAFKA_OFFSET_INVALID;
    }

    // Half of the messages, committed, then a clean restart on the same log dir.
    std::map<int, int64_t> half;
    consume_and_commit(nothing, total / 2, half);
    ASSERT_FALSE(HasFatalFailure());
    ASSERT_EQ(broker_.stop(15), 0);  // clean exit
    broker_.start();

    // A quarter more from the commits, committed, then a crash.
    std::map<int, int64_t> three_quarters;
    consume_and_commit(half, total / 4, three_quarters);
    ASSERT_FALSE(HasFatalFailure());
    broker_.stop(9);
    broker_.start();

    // The rest: together the three members read every message once, nothing twice.
    std::map<int, int64_t> end;
    consume_and_commit(three_quarters, total - total / 2 - total / 4, end);
    ASSERT_FALSE(HasFatalFailure());
    for (int p = 0; p < partitions; ++p) {
        std::vector<int64_t> expected(per_partition);
        for (int i = 0; i < per_partition; ++i) {
            expected[static_cast<std::size_t>(i)] = i;
        }
        EXPECT_EQ(all_seen[p], expected) << "partition " << p;
        EXPECT_EQ(end[p], per_partition) << "partition " << p;
    }
}

TEST_F(librdkafka_group, admin_lists_describes_and_deletes_groups) {
    member a(broker_.bootstrap(), "rk-admin", "a");
    ASSERT_TRUE(poll_until(
        {&a}, [&] { return a.assigned.size() == static_cast<std::size_t>(partitions); }));
    ASSERT_EQ(a.commit({{0, 1}}), RD_KAFKA_RESP_ERR_NO_ERROR);

    auto admin = make_client(RD_KAFKA_PRODUCER, {{"bootstrap.servers", broker_.bootstrap()}});
    rd_kafka_queue_t* q = rd_kafka_queue_new(admin.get());

    // ListConsumerGroups: the group is there, Stable, and not a simple (offsets-only) group.
    rd_kafka_ListConsumerGroups(admin.get(), nullptr, q);
    rd_kafka_event_t* listed =
        wait_admin_result(q, RD_KAFKA_EVENT_LISTCONSUMERGROUPS_RESULT, 30000);
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

// ---------------------------------------------------------------------------------------------
// Rebalances on a 6-partition topic: members that join one after another, one that leaves
// (LeaveGroup), one that is killed (its session expires on the broker), with the eager "range"
// assignor and with "cooperative-sticky", and static members (KIP-345) that restart.

constexpr const char* six_topic = "rk-six";
constexpr int six_partitions = 6;
constexpr int per_batch = 10;  // messages per partition in each produced batch

struct member_options {
    std::string group;
    std::string name;
    std::string strategy = "range";
    std::string instance_id;  // empty: a dynamic member
    int session_timeout_ms = 6000;
};

using partition_offset = std::pair<int, int64_t>;

/// One subscribed member of the six-partition topic, with manual commits. Its rebalance callback
/// follows the protocol librdkafka reports (EAGER or COOPERATIVE) and commits the positions of the
/// partitions it gives up before releasing them, so the next owner resumes exactly where this
/// member stopped: across the group every message is then consumed exactly once. Not thread-safe;
/// its callbacks run inside poll() and close().
struct group_member {
    kafka_handle rk;
    std::set<int> assigned;
    std::vector<partition_offset> consumed;
    int assign_calls = 0;
    int revoke_calls = 0;
    std::vector<std::string> errors;  // failed assignment calls and consumes, for diagnostics
    std::vector<rd_kafka_resp_err_t> commit_errors;

    static void on_rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                             rd_kafka_topic_partition_list_t* list, void* opaque) {
        auto* self = static_cast<group_member*>(opaque);
        const bool cooperative = std::string(rd_kafka_rebalance_protocol(rk)) == "COOPERATIVE";
        if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
            ++self->assign_calls;
            if (cooperative) {
                self->check(rd_kafka_incremental_assign(rk, list));
            } else {
                self->assigned.clear();
                self->check(rd_kafka_assign(rk, list));
            }
            for (int i = 0; i < list->cnt; ++i) {
                self->assigned.insert(list->elems[i].partition);
            }
            return;
        }
        if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
            ++self->revoke_calls;
            if (rd_kafka_assignment_lost(rk) == 0) {
                self->commit_positions(list);
            } else {
                // The broker dropped this member (its session expired): nothing is committed,
                // so the next owner re-reads what this member read since its last commit.
                self->errors.push_back("assignment lost");
            }
        } else {
            self->errors.push_back(std::string("rebalance: ") + rd_kafka_err2str(err));
        }
        if (cooperative) {
            self->check(rd_kafka_incremental_unassign(rk, list));
            for (int i = 0; i < list->cnt; ++i) {
                self->assigned.erase(list->elems[i].partition);
            }
        } else {
            self->check(rd_kafka_assign(rk, nullptr));
            self->assigned.clear();
        }
    }

    group_member(const std::string& bootstrap, const member_options& options) {
        std::map<std::string, std::string> props{
            {"bootstrap.servers", bootstrap},
            {"group.id", options.group},
            {"client.id", options.name},
            {"enable.auto.commit", "false"},
            {"auto.offset.reset", "earliest"},
            {"session.timeout.ms", std::to_string(options.session_timeout_ms)},
            {"heartbeat.interval.ms", "200"},
            {"partition.assignment.strategy", options.strategy},
            {"fetch.wait.max.ms", "100"}};
        if (!options.instance_id.empty()) {
            props["group.instance.id"] = options.instance_id;
        }
        rd_kafka_conf_t* conf = rd_kafka_conf_new();
        char err[512];
        for (const auto& [k, v] : props) {
            if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof(err)) !=
                RD_KAFKA_CONF_OK) {
                rd_kafka_conf_destroy(conf);
                throw std::runtime_error(err);
            }
        }
        rd_kafka_conf_set_rebalance_cb(conf, &group_member::on_rebalance);
        rd_kafka_conf_set_opaque(conf, this);
        rd_kafka_t* handle = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
        if (handle == nullptr) {
            throw std::runtime_error(err);
        }
        rk.reset(handle);
        rd_kafka_poll_set_consumer(rk.get());
        rd_kafka_topic_partition_list_t* subscription = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(subscription, six_topic, RD_KAFKA_PARTITION_UA);
        const rd_kafka_resp_err_t subscribed = rd_kafka_subscribe(rk.get(), subscription);
        rd_kafka_topic_partition_list_destroy(subscription);
        if (subscribed != RD_KAFKA_RESP_ERR_NO_ERROR) {
            throw std::runtime_error(rd_kafka_err2str(subscribed));
        }
    }
    ~group_member() { close(); }
    group_member(const group_member&) = delete;
    group_member& operator=(const group_member&) = delete;

    void check(rd_kafka_error_t* error) {
        if (error != nullptr) {
            errors.push_back(std::string("assign: ") + rd_kafka_error_string(error));
            rd_kafka_error_destroy(error);
        }
    }
    void check(rd_kafka_resp_err_t error) {
        if (error != RD_KAFKA_RESP_ERR_NO_ERROR) {
            errors.push_back(std::string("assign: ") + rd_kafka_err2str(error));
        }
    }

    /// Serves callbacks and delivers at most one message; true if a message came.
    bool poll(int timeout_ms) {
        if (!rk) {
            return false;
        }
        rd_kafka_message_t* m = rd_kafka_consumer_poll(rk.get(), timeout_ms);
        if (m == nullptr) {
            return false;
        }
        const bool delivered = m->err == RD_KAFKA_RESP_ERR_NO_ERROR;
        if (delivered) {
            consumed.emplace_back(m->partition, m->offset);
        } else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            errors.push_back(std::string("consume: ") + rd_kafka_message_errstr(m));
        }
        rd_kafka_message_destroy(m);
        return delivered;
    }

    /// Synchronously commits the positions (next offset to read) of `partitions` that have one.
    /// Returns false if the commit failed.
    bool commit_positions(const rd_kafka_topic_partition_list_t* partitions) {
        rd_kafka_topic_partition_list_t* positions = rd_kafka_topic_partition_list_copy(partitions);
        rd_kafka_position(rk.get(), positions);
        rd_kafka_topic_partition_list_t* valid = rd_kafka_topic_partition_list_new(positions->cnt);
        for (int i = 0; i < positions->cnt; ++i) {
            if (positions->elems[i].offset >= 0) {
                rd_kafka_topic_partition_list_add(valid, positions->elems[i].topic,
                                                  positions->elems[i].partition)
                    ->offset = positions->elems[i].offset;
            }
        }
        rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
        if (valid->cnt > 0) {
            err = rd_kafka_commit(rk.get(), valid, /*async=*/0);
        }
        rd_kafka_topic_partition_list_destroy(valid);
        rd_kafka_topic_partition_list_destroy(positions);
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            commit_errors.push_back(err);
            return false;
        }
        return true;
    }

    /// Commits the positions of the whole current assignment.
    bool commit_assignment() {
        rd_kafka_topic_partition_list_t* current = nullptr;
        if (rd_kafka_assignment(rk.get(), &current) != RD_KAFKA_RESP_ERR_NO_ERROR) {
            return false;
        }
        const bool ok = commit_positions(current);
        rd_kafka_topic_partition_list_destroy(current);
        return ok;
    }

    /// The group's committed offsets of every partition (RD_KAFKA_OFFSET_INVALID for none); empty
    /// if the request failed.
    std::map<int, int64_t> committed() {
        rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(six_partitions);
        for (int p = 0; p < six_partitions; ++p) {
            rd_kafka_topic_partition_list_add(list, six_topic, p);
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

    /// Leaves the group (the revoke callback commits first). A static member does not send
    /// LeaveGroup: the broker keeps its partitions until its session times out.
    void close() {
        if (rk) {
            rd_kafka_consumer_close(rk.get());
            rk.reset();
        }
    }
};

/// A group_member in a forked child process, so that it can die without leaving the group:
/// librdkafka sends LeaveGroup whenever a consumer is closed or destroyed, and a SIGKILL of the
/// child is the only way to make the broker find out through the session timeout. The child
/// waits for start() before it creates its consumer, then reports to the parent on a pipe, one
/// line per event:
///   "A <p> <p> ..."  its assignment, after each change
///   "M <p> <o>"      a consumed message
///   "K <n>"          a commit succeeded that covers the first n consumed messages
/// It must be constructed while the parent holds no librdkafka handle, so that no librdkafka
/// thread (or a lock one holds) is lost in the fork. Owned by the test thread.
class child_member {
public:
    child_member(const std::string& bootstrap, const member_options& options) {
        int commands[2];
        int reports[2];
        if (::pipe(commands) != 0 || ::pipe(reports) != 0) {
            throw std::runtime_error("pipe failed");
        }
        pid_ = ::fork();
        if (pid_ < 0) {
            throw std::runtime_error("fork failed");
        }
        if (pid_ == 0) {
            ::close(commands[1]);
            ::close(reports[0]);
            run(commands[0], reports[1], bootstrap, options);
        }
        ::close(commands[0]);
        ::close(reports[1]);
        commands_ = commands[1];
        reports_ = reports[0];
        ::fcntl(reports_, F_SETFL, ::fcntl(reports_, F_GETFL) | O_NONBLOCK);
    }
    ~child_member() {
        kill();
        ::close(commands_);
        ::close(reports_);
    }
    child_member(const child_member&) = delete;
    child_member& operator=(const child_member&) = delete;

    void start() {
        const char go = 's';
        if (::write(commands_, &go, 1) != 1) {
            throw std::runtime_error("the child member is gone");
        }
    }

    /// Reads the reports that arrived since the last call.
    void pump() {
        char buffer[4096];
        ssize_t n = 0;
        while ((n = ::read(reports_, buffer, sizeof(buffer))) > 0) {
            pending_.append(buffer, static_cast<std::size_t>(n));
        }
        std::size_t end = 0;
        while ((end = pending_.find('\n')) != std::string::npos) {
            std::istringstream line(pending_.substr(0, end));
            pending_.erase(0, end + 1);
            char kind = 0;
            line >> kind;
            if (kind == 'A') {
                assigned.clear();
                int p = 0;
                while (line >> p) {
                    assigned.insert(p);
                }
            } else if (kind == 'M') {
                partition_offset m;
                line >> m.first >> m.second;
                consumed.push_back(m);
            } else if (kind == 'K') {
                line >> committed_count;
            }
        }
    }

    /// SIGKILL: no LeaveGroup, no commit, the TCP connections just close.
    void kill() {
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            int status = 0;
            ::waitpid(pid_, &status, 0);
            pid_ = -1;
        }
    }

    std::set<int> assigned;
    std::vector<partition_offset> consumed;
    std::size_t committed_count = 0;

private:
    [[noreturn]] static void run(int commands, int reports, const std::string& bootstrap,
                                 const member_options& options) {
        char go = 0;
        if (::read(commands, &go, 1) != 1) {
            ::_exit(0);
        }
        ::fcntl(commands, F_SETFL, ::fcntl(commands, F_GETFL) | O_NONBLOCK);
        const auto report = [&](const std::string& line) {
            if (::write(reports, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
                ::_exit(0);  // the parent is gone
            }
        };
        try {
            group_member m(bootstrap, options);
            std::set<int> reported;
            std::size_t sent = 0;
            std::size_t committed = 0;
            // Bounded even if the parent never kills it; EOF on the command pipe means the parent
            // died. Either way the child ends with _exit: no destructor runs, so nothing leaves
            // the group and nothing of the parent's state (its broker) is touched.
            const auto deadline = clock_type::now() + std::chrono::seconds(120);
            while (clock_type::now() < deadline) {
                const bool delivered = m.poll(50);
                if (m.assigned != reported) {
                    std::ostringstream line;
                    line << "A";
                    for (int p : m.assigned) {
                        line << " " << p;
                    }
                    line << "\n";
                    report(line.str());
                    reported = m.assigned;
                }
                for (; sent < m.consumed.size(); ++sent) {
                    std::ostringstream line;
                    line << "M " << m.consumed[sent].first << " " << m.consumed[sent].second
                         << "\n";
                    report(line.str());
                }
                if (!delivered && committed < m.consumed.size() && m.commit_assignment()) {
                    committed = m.consumed.size();
                    std::ostringstream line;
                    line << "K " << committed << "\n";
                    report(line.str());
                }
                char c = 0;
                if (::read(commands, &c, 1) == 0) {
                    ::_exit(0);
                }
            }
        } catch (const std::exception&) {
            ::_exit(1);
        }
        ::_exit(0);
    }

    pid_t pid_ = -1;
    int commands_ = -1;
    int reports_ = -1;
    std::string pending_;
};

/// True when `assignments` cover every partition of the six-partition topic, none twice, with
/// the given sizes (in member order).
bool partitioned(const std::vector<const std::set<int>*>& assignments,
                 const std::vector<std::size_t>& sizes) {
    std::multiset<int> all;
    for (std::size_t i = 0; i < assignments.size(); ++i) {
        if (assignments[i]->size() != sizes[i]) {
            return false;
        }
        all.insert(assignments[i]->begin(), assignments[i]->end());
    }
    return all == std::multiset<int>{0, 1, 2, 3, 4, 5};
}

std::string describe(const std::set<int>& partitions) {
    std::ostringstream out;
    out << "{";
    for (int p : partitions) {
        out << " " << p;
    }
    out << " }";
    return out.str();
}

class librdkafka_rebalance : public ::testing::Test {
protected:
    void SetUp() override {
        broker_.start();
        auto admin = make_client(RD_KAFKA_PRODUCER, {{"bootstrap.servers", broker_.bootstrap()}});
        const auto created = create_topics(admin.get(), {{six_topic, six_partitions}});
        ASSERT_EQ(created.at(six_topic), RD_KAFKA_RESP_ERR_NO_ERROR);
    }
    void TearDown() override {
        producer_.reset();
        if (HasFailure()) {
            std::cerr << broker_.output() << "\n";
        }
        broker_.stop();
    }

    /// Produces one batch: per_batch messages to every partition.
    void produce_batch() {
        if (!producer_) {
            producer_ = make_client(
                RD_KAFKA_PRODUCER,
                {{"bootstrap.servers", broker_.bootstrap()}, {"acks", "all"}, {"linger.ms", "1"}});
        }
        for (int p = 0; p < six_partitions; ++p) {
            for (int i = 0; i < per_batch; ++i) {
                std::ostringstream text;
                text << "p" << p << "-" << produced_[p] + i;
                const std::string value = text.str();
                ASSERT_EQ(rd_kafka_producev(
                              producer_.get(), RD_KAFKA_V_TOPIC(six_topic), RD_KAFKA_V_PARTITION(p),
                              RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END),
                          RD_KAFKA_RESP_ERR_NO_ERROR);
            }
            produced_[p] += per_batch;
        }
        ASSERT_EQ(rd_kafka_flush(producer_.get(), 30000), RD_KAFKA_RESP_ERR_NO_ERROR);
    }

    std::size_t produced_total() const {
        std::size_t n = 0;
        for (const auto& [p, count] : produced_) {
            n += static_cast<std::size_t>(count);
        }
        return n;
    }

    /// Every produced message appears exactly once in `consumed` (all members together).
    void expect_exactly_once(const std::vector<const std::vector<partition_offset>*>& consumed) {
        std::map<int, std::multiset<int64_t>> by_partition;
        for (const auto* list : consumed) {
            for (const auto& [p, o] : *list) {
                by_partition[p].insert(o);
            }
        }
        for (int p = 0; p < six_partitions; ++p) {
            std::multiset<int64_t> expected;
            for (int64_t o = 0; o < produced_[p]; ++o) {
                expected.insert(o);
            }
            EXPECT_EQ(by_partition[p], expected)
                << "partition " << p << ": " << by_partition[p].size() << " consumed for "
                << produced_[p] << " produced";
        }
    }

    /// Runs `step` (which polls the members) until `condition` holds; false after 60 s.
    template <typename Step, typename Condition>
    static bool run_until(Step step, Condition condition) {
        const auto deadline = clock_type::now() + std::chrono::seconds(60);
        while (!condition()) {
            if (clock_type::now() > deadline) {
                return false;
            }
            step();
        }
        return true;
    }

    /// Members join one after another (a, b, then c in a child process), b closes (LeaveGroup),
    /// c is killed (session expiry); a batch is produced at each change. After each rebalance
    /// the members own disjoint partitions covering the topic, and every message is consumed once.
    ///
    /// Eager: each batch is produced as the membership changes, so partitions move while they are
    /// being read, and the commits made in the revoke callbacks carry them over.
    /// Cooperative: librdkafka 2.0.2 may rejoin (a new generation) before the application's revoke
    /// callback returns, so a commit made there can be refused with ILLEGAL_GENERATION, against
    /// Apache Kafka as here (librdkafka issues 3306 and 4059, fixed in later versions). The members
    /// therefore commit what they read before each membership change, and each batch is produced
    /// once the rebalance has settled: moved partitions then have nothing uncommitted, and a
    /// refused commit in a revoke callback loses nothing.
    void join_leave_and_die(const std::string& strategy) {
        const bool cooperative = strategy == "cooperative-sticky";
        const std::string group = "rk-rebalance-" + strategy;
        const member_options base{group, "", strategy, "", 10000};
        member_options c_options = base;
        c_options.name = "c";
        // A 2 s session for c (the broker allows 1 s here) keeps the wait for its expiry short.
        // The others keep 10 s, so that a loaded machine cannot make them miss heartbeats. The
        // reference Kafka keeps its default group.min.session.timeout.ms, 6 s.
        c_options.session_timeout_ms = targets_kafka() ? 6000 : 2000;
        // Forked first, while the test holds no librdkafka handle (SetUp's are destroyed).
        ASSERT_EQ(rd_kafka_wait_destroyed(10000), 0);
        child_member c(broker_.bootstrap(), c_options);

        member_options a_options = base;
        a_options.name = "a";
        member_options b_options = base;
        b_options.name = "b";
        group_member a(broker_.bootstrap(), a_options);
        std::unique_ptr<group_member> b;  // joins (subscribes) later
        const std::set<int> none;
        bool c_started = false;
        const auto step = [&] {
            a.poll(10);
            if (b) {
                b->poll(10);
            }
            if (c_started) {
                c.pump();
            }
        };
        const auto consumed_total = [&] {
            return a.consumed.size() + (b ? b->consumed.size() : 0) + c.consumed.size();
        };
        const auto state = [&] {
            std::ostringstream out;
            out << "a " << describe(a.assigned) << " b " << describe(b ? b->assigned : none)
                << " c " << describe(c.assigned) << ", consumed " << consumed_total() << " of "
                << produced_total();
            for (const auto& e : a.errors) {
                out << "\n a: " << e;
            }
            for (const auto e : a.commit_errors) {
                out << "\n a: commit: " << rd_kafka_err2str(e);
            }
            for (const auto e : b ? b->commit_errors : std::vector<rd_kafka_resp_err_t>{}) {
                out << "\n b: commit: " << rd_kafka_err2str(e);
            }
            for (const auto& e : b ? b->errors : std::vector<std::string>{}) {
                out << "\n b: " << e;
            }
            return out.str();
        };

        // a alone: every partition.
        produce_batch();
        ASSERT_TRUE(run_until(step, [&] {
            return partitioned({&a.assigned}, {6}) && consumed_total() >= produced_total();
        })) << state();

        // The batch of a membership change: at once (eager), or once `settled` (cooperative),
        // after the members committed everything they read.
        const auto produce_for_change = [&](auto settled) {
            if (!cooperative) {
                produce_batch();
                return;
            }
            ASSERT_TRUE(run_until(step, settled)) << state();
            produce_batch();
        };
        const auto commit_everything = [&] {
            if (!cooperative) {
                return;
            }
            ASSERT_TRUE(a.commit_assignment()) << state();
            if (b && b->rk) {
                ASSERT_TRUE(b->commit_assignment()) << state();
            }
            if (c_started) {
                ASSERT_TRUE(run_until(step, [&] { return c.committed_count == c.consumed.size(); }))
                    << state();
            }
        };

        // b joins: 3 + 3.
        commit_everything();
        b = std::make_unique<group_member>(broker_.bootstrap(), b_options);
        const auto a_b = [&] { return partitioned({&a.assigned, &b->assigned}, {3, 3}); };
        produce_for_change(a_b);
        ASSERT_TRUE(run_until(step, [&] { return a_b() && consumed_total() >= produced_total(); }))
            << state();

        // c joins: 2 + 2 + 2.
        commit_everything();
        c.start();
        c_started = true;
        const auto a_b_c = [&] {
            return partitioned({&a.assigned, &b->assigned, &c.assigned}, {2, 2, 2});
        };
        produce_for_change(a_b_c);
        ASSERT_TRUE(run_until(step, [&] {
            return a_b_c() && consumed_total() >= produced_total();
        })) << state();

        // b leaves: its revoke commits, its LeaveGroup rebalances a and c to 3 + 3 at once.
        commit_everything();
        b->close();
        b->assigned.clear();
        const auto a_c = [&] { return partitioned({&a.assigned, &c.assigned}, {3, 3}); };
        produce_for_change(a_c);
        ASSERT_TRUE(run_until(step, [&] { return a_c() && consumed_total() >= produced_total(); }))
            << state();

        // c dies once all it read is committed: the broker removes it when its session expires,
        // and a, the survivor, gets every partition and resumes at c's commits.
        ASSERT_TRUE(run_until(step, [&] { return c.committed_count == c.consumed.size(); }))
            << state();
        commit_everything();
        const std::set<int> c_had = c.assigned;
        c.kill();
        c.assigned.clear();
        c_started = false;
        const auto a_alone = [&] { return partitioned({&a.assigned}, {6}); };
        produce_for_change(a_alone);
        ASSERT_TRUE(
            run_until(step, [&] { return a_alone() && consumed_total() >= produced_total(); }))
            << state() << "; c had " << describe(c_had);

        expect_exactly_once({&a.consumed, &b->consumed, &c.consumed});
        // The group's commits end at the log end: a commits what it owns now.
        ASSERT_TRUE(a.commit_assignment()) << state();
        std::map<int, int64_t> expected_commits(produced_.begin(), produced_.end());
        EXPECT_EQ(a.committed(), expected_commits) << state() << "; c had " << describe(c_had);
        EXPECT_TRUE(a.errors.empty()) << state();
        EXPECT_TRUE(b->errors.empty()) << state();
        for (const group_member* m : {&a, b.get()}) {
            for (const rd_kafka_resp_err_t e : m->commit_errors) {
                // Only the client issue described above; eager commits must all succeed.
                EXPECT_TRUE(cooperative && e == RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION) << state();
            }
        }
        a.close();
    }

    broker_process broker_{targets_kafka() ? std::map<std::string, std::string>{}
                                           : std::map<std::string, std::string>{
                                                 {"group.min.session.timeout.ms", "1000"},
                                                 {"group.initial.rebalance.delay.ms", "0"}}};
    kafka_handle producer_;
    std::map<int, int64_t> produced_;
};

TEST_F(librdkafka_rebalance, eager_members_join_leave_and_die) {
    join_leave_and_die("range");
}

TEST_F(librdkafka_rebalance, cooperative_sticky_members_join_leave_and_die) {
    join_leave_and_die("cooperative-sticky");
}

TEST_F(librdkafka_rebalance, static_member_restart_keeps_its_partitions_without_a_rebalance) {
    member_options a_options{"rk-static", "a", "range", "static-a", 10000};
    member_options b_options{"rk-static", "b", "range", "static-b", 10000};
    auto a = std::make_unique<group_member>(broker_.bootstrap(), a_options);
    group_member b(broker_.bootstrap(), b_options);
    std::unique_ptr<group_member> a2;
    const auto step = [&] {
        if (a) {
            a->poll(10);
        }
        if (a2) {
            a2->poll(10);
        }
        b.poll(10);
    };
    std::vector<partition_offset> a_consumed;
    const auto consumed_total = [&] {
        return a_consumed.size() + (a ? a->consumed.size() : 0) + (a2 ? a2->consumed.size() : 0) +
               b.consumed.size();
    };
    produce_batch();
    ASSERT_TRUE(run_until(step,
                          [&] {
                              return partitioned({&a->assigned, &b.assigned}, {3, 3}) &&
                                     consumed_total() >= produced_total();
                          }))
        << describe(a->assigned) << " " << describe(b.assigned);
    const std::set<int> a_partitions = a->assigned;
    const int b_assigns = b.assign_calls;
    const int b_revokes = b.revoke_calls;

    // a restarts: a new consumer with the same group.instance.id, well within the session timeout.
    // Closing a static member commits (its revoke callback) but sends no LeaveGroup.
    a->close();
    a_consumed = a->consumed;
    const std::vector<rd_kafka_resp_err_t> a_errors = a->commit_errors;
    a.reset();
    a2 = std::make_unique<group_member>(broker_.bootstrap(), a_options);
    produce_batch();
    ASSERT_TRUE(run_until(
        step, [&] { return !a2->assigned.empty() && consumed_total() >= produced_total(); }))
        << describe(a2->assigned) << " " << describe(b.assigned);
    // Same partitions, and b saw nothing: an eager rebalance would have revoked b's partitions
    // before a2 could get any.
    EXPECT_EQ(a2->assigned, a_partitions);
    EXPECT_EQ(b.assign_calls, b_assigns);
    EXPECT_EQ(b.revoke_calls, b_revokes);
    expect_exactly_once({&a_consumed, &a2->consumed, &b.consumed});

    // The group is Stable with both static members; a's instance has a new member id.
    auto admin = make_client(RD_KAFKA_PRODUCER, {{"bootstrap.servers", broker_.bootstrap()}});
    rd_kafka_queue_t* q = rd_kafka_queue_new(admin.get());
    const char* ids[] = {"rk-static"};
    rd_kafka_DescribeConsumerGroups(admin.get(), ids, 1, nullptr, q);
    rd_kafka_event_t* described =
        wait_admin_result(q, RD_KAFKA_EVENT_DESCRIBECONSUMERGROUPS_RESULT, 30000);
    size_t count = 0;
    const rd_kafka_ConsumerGroupDescription_t** groups =
        rd_kafka_DescribeConsumerGroups_result_groups(
            rd_kafka_event_DescribeConsumerGroups_result(described), &count);
    ASSERT_EQ(count, 1U);
    EXPECT_EQ(rd_kafka_ConsumerGroupDescription_state(groups[0]),
              RD_KAFKA_CONSUMER_GROUP_STATE_STABLE);
    ASSERT_EQ(rd_kafka_ConsumerGroupDescription_member_count(groups[0]), 2U);
    char* a2_id = rd_kafka_memberid(a2->rk.get());
    std::map<std::string, std::string> instances;  // instance id -> member id
    for (size_t i = 0; i < 2; ++i) {
        const rd_kafka_MemberDescription_t* m =
            rd_kafka_ConsumerGroupDescription_member(groups[0], i);
        const char* instance = rd_kafka_MemberDescription_group_instance_id(m);
        instances[instance != nullptr ? instance : ""] = rd_kafka_MemberDescription_consumer_id(m);
    }
    EXPECT_EQ(instances["static-a"], a2_id != nullptr ? a2_id : "");
    EXPECT_EQ(instances.count("static-b"), 1U);
    rd_kafka_mem_free(nullptr, a2_id);
    rd_kafka_event_destroy(described);
    rd_kafka_queue_destroy(q);
    EXPECT_TRUE(a2->errors.empty());
    EXPECT_TRUE(b.errors.empty());
    EXPECT_TRUE(a_errors.empty());
    EXPECT_TRUE(a2->commit_errors.empty());
    EXPECT_TRUE(b.commit_errors.empty());
}

}  // namespace
}  // namespace broker::compat
