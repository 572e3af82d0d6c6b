#pragma once
// Shared test support: an in-memory offsets_log, a coordinator on a manual scheduler that owns
// every `__consumer_offsets` partition, and helpers to drive members through JoinGroup/SyncGroup.
#include <gtest/gtest.h>

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "coordinator/bytes.h"
#include "coordinator/group_coordinator.h"
#include "coordinator/manual_scheduler.h"

namespace broker::protocol {
/// Readable error codes in test failure messages (found by argument-dependent lookup).
inline void PrintTo(error_code e, std::ostream* os) {
    *os << error_name(e);
}
}  // namespace broker::protocol

namespace broker::server::coordinator::testing {

/// Keeps appended records per partition. With `hold`, appends wait until released; with
/// `fail_with`, they complete with that error and write nothing.
class memory_log final : public offsets_log {
public:
    struct pending_append {
        int32_t partition;
        std::vector<offsets_record> records;
        std::function<void(error_code)> done;
    };

    void append(int32_t partition, std::vector<offsets_record> records,
                std::function<void(error_code)> done) override {
        ++appends;
        pending_append a{partition, std::move(records), std::move(done)};
        if (hold) {
            held.push_back(std::move(a));
            return;
        }
        complete(std::move(a), fail_with);
    }

    void release_all(error_code error = error_code::none) {
        while (!held.empty()) {
            auto a = std::move(held.front());
            held.pop_front();
            complete(std::move(a), error);
        }
    }

    std::vector<offsets_record> all_records(int32_t partition) const {
        auto it = partitions.find(partition);
        return it == partitions.end() ? std::vector<offsets_record>{} : it->second;
    }

    std::map<int32_t, std::vector<offsets_record>> partitions;
    std::deque<pending_append> held;
    bool hold = false;
    error_code fail_with = error_code::none;
    int appends = 0;

private:
    void complete(pending_append a, error_code error) {
        if (error == error_code::none) {
            auto& log = partitions[a.partition];
            log.insert(log.end(), a.records.begin(), a.records.end());
        }
        a.done(error);
    }
};

/// ConsumerProtocolSubscription v0 bytes for `topics` (what a Java consumer sends).
inline bytes subscription(const std::vector<std::string>& topics) {
    bytes out{0, 0};
    auto put32 = [&](uint32_t v) {
        for (int i = 3; i >= 0; --i) {
            out.push_back(static_cast<uint8_t>(v >> (8 * i)));
        }
    };
    put32(static_cast<uint32_t>(topics.size()));
    for (const auto& t : topics) {
        out.push_back(static_cast<uint8_t>(t.size() >> 8));
        out.push_back(static_cast<uint8_t>(t.size()));
        out.insert(out.end(), t.begin(), t.end());
    }
    put32(0xffffffff);  // null user data
    return out;
}

template <typename T>
using slot = std::shared_ptr<std::optional<T>>;

class coordinator_test : public ::testing::Test {
protected:
    void SetUp() override {
        config.group_initial_rebalance_delay_ms = 0;
        config.offsets_topic_num_partitions = 5;
        make_coordinator();
    }

    void make_coordinator() {
        coordinator = std::make_unique<group_coordinator>(config, sched, log);
        std::vector<int32_t> all;
        for (int32_t p = 0; p < config.offsets_topic_num_partitions; ++p) {
            all.push_back(p);
        }
        coordinator->set_owned_partitions(all);
    }

    join_group_request join_request(const std::string& group, const std::string& member_id,
                                    const std::string& client_id, int16_t version = 3,
                                    std::vector<join_group_protocol> protocols = {}) {
        join_group_request r;
        r.api_version = version;
        r.group_id = group;
        r.session_timeout_ms = 10000;
        r.rebalance_timeout_ms = 30000;
        r.member_id = member_id;
        r.protocol_type = "consumer";
        r.protocols = protocols.empty()
                          ? std::vector<join_group_protocol>{{"range", subscription({"topic"})}}
                          : std::move(protocols);
        r.client_id = client_id;
        r.client_host = "/127.0.0.1";
        return r;
    }

    slot<join_group_result> join(const join_group_request& request) {
        auto s = std::make_shared<std::optional<join_group_result>>();
        coordinator->join_group(request, [s](join_group_result r) {
            ASSERT_FALSE(s->has_value()) << "join callback invoked twice";
            *s = std::move(r);
        });
        return s;
    }

    slot<sync_group_result> sync(const std::string& group, int32_t generation,
                                 const std::string& member_id,
                                 std::vector<sync_group_assignment> assignments = {},
                                 std::optional<std::string> instance = std::nullopt) {
        sync_group_request r;
        r.api_version = 3;
        r.group_id = group;
        r.generation_id = generation;
        r.member_id = member_id;
        r.group_instance_id = std::move(instance);
        r.assignments = std::move(assignments);
        auto s = std::make_shared<std::optional<sync_group_result>>();
        coordinator->sync_group(r, [s](sync_group_result res) {
            ASSERT_FALSE(s->has_value()) << "sync callback invoked twice";
            *s = std::move(res);
        });
        return s;
    }

    error_code heartbeat(const std::string& group, int32_t generation, const std::string& member_id,
                         std::optional<std::string> instance = std::nullopt) {
        return coordinator->heartbeat({group, generation, member_id, std::move(instance)});
    }

    slot<offset_commit_result> commit(const std::string& group, int32_t generation,
                                      const std::string& member_id,
                                      std::vector<offset_commit_topic> topics,
                                      int64_t retention_ms = -1) {
        offset_commit_request r;
        r.group_id = group;
        r.generation_id = generation;
        r.member_id = member_id;
        r.retention_time_ms = retention_ms;
        r.topics = std::move(topics);
        auto s = std::make_shared<std::optional<offset_commit_result>>();
        coordinator->commit_offsets(r, [s](offset_commit_result res) {
            ASSERT_FALSE(s->has_value()) << "commit callback invoked twice";
            *s = std::move(res);
        });
        return s;
    }

    std::string state_of(const std::string& group) {
        std::vector<std::string> ids{group};
        return coordinator->describe_groups(ids).at(0).group_state;
    }

    /// Two dynamic members join and sync a "consumer" group; returns their member ids (leader
    /// first).
    std::pair<std::string, std::string> stable_group_of_two(const std::string& group,
                                                            int32_t session_timeout_ms = 10000) {
        auto ra = join_request(group, "", "client-a");
        auto rb = join_request(group, "", "client-b");
        ra.session_timeout_ms = rb.session_timeout_ms = session_timeout_ms;
        auto a = join(ra);
        auto b = join(rb);
        sched.run_due();
        EXPECT_TRUE(a->has_value() && b->has_value());
        std::string leader = (*a)->member_id;
        std::string follower = (*b)->member_id;
        EXPECT_EQ((*a)->leader, leader);
        auto sa = sync(group, 1, leader, {{leader, {1}}, {follower, {2}}});
        auto sb = sync(group, 1, follower);
        EXPECT_TRUE(sa->has_value() && sb->has_value());
        EXPECT_EQ(state_of(group), "Stable");
        return {leader, follower};
    }

    static std::vector<offset_commit_topic> offsets_for(
        const std::string& topic, std::vector<std::pair<int32_t, int64_t>> partitions,
        std::optional<std::string> metadata = "") {
        offset_commit_topic t{topic, {}};
        for (auto [p, o] : partitions) {
            offset_commit_partition part;
            part.partition_index = p;
            part.committed_offset = o;
            part.committed_metadata = metadata;
            t.partitions.push_back(part);
        }
        return {t};
    }

    static error_code single_error(const offset_commit_result& r) {
        EXPECT_FALSE(r.topics.empty());
        error_code first = r.topics.at(0).partitions.at(0).error;
        for (const auto& t : r.topics) {
            for (const auto& p : t.partitions) {
                EXPECT_EQ(p.error, first);
            }
        }
        return first;
    }

    int64_t fetched(const std::string& group, const std::string& topic, int32_t partition) {
        offset_fetch_group g{group, std::vector<offset_fetch_topic>{{topic, {partition}}}};
        auto r = coordinator->fetch_offsets(g, false);
        EXPECT_EQ(r.error, error_code::none);
        return r.topics.at(0).partitions.at(0).committed_offset;
    }

    coordinator_config config;
    manual_scheduler sched;
    memory_log log;
    std::unique_ptr<group_coordinator> coordinator;
};

}  // namespace broker::server::coordinator::testing
