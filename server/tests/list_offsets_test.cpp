// ListOffsets with a real topic store: latest/earliest/max-timestamp/by-timestamp lookups, the
// high watermark bound, leader epochs, duplicates, unknown partitions, and v0's legacy list.
#include "common/asio.h"

#include <gtest/gtest.h>

#include "protocol/errors.h"
#include "protocol/records.h"
#include "server/handlers/handlers.h"
#include "server/tests/test_util.h"

namespace broker::server {
namespace {

using protocol::error_code;
using protocol::list_offsets_request;
using protocol::list_offsets_response;

constexpr int16_t ok = 0;
constexpr int16_t err(error_code e) {
    return static_cast<int16_t>(e);
}

struct query {
    std::string topic;
    int32_t partition = 0;
    int64_t timestamp = -1;
    int32_t current_leader_epoch = -1;
    int32_t max_num_offsets = 1;
};

class list_offsets_test : public ::testing::Test {
protected:
    list_offsets_test()
        : core_(test::make_config({{"log.dirs", dir_.sub("data")}, {"logger.level", "error"}}),
                "cluster-l", shards_) {
        set_log_threshold(log_level::error);
        core_.store().open();
        new_topic t;
        t.name = "t";
        t.num_partitions = 2;
        EXPECT_TRUE(core_.admin().create_topic(t, false).result.ok());
    }
    ~list_offsets_test() override { core_.store().shutdown(); }

    /// Appends one batch of `count` records with timestamps ts, ts+1, ... to t-`index`.
    void append(int32_t index, int count, int64_t ts) {
        std::vector<protocol::record_data> records;
        for (int i = 0; i < count; ++i) {
            protocol::record_data r;
            r.value = std::vector<uint8_t>{1, 2, 3};
            r.timestamp = ts + i;
            records.push_back(std::move(r));
        }
        std::vector<uint8_t> batch = protocol::build_batch(records, {});
        protocol::produce_request request;
        request.acks = 1;
        request.topic_data.emplace_back();
        request.topic_data[0].name = "t";
        request.topic_data[0].partition_data.emplace_back();
        request.topic_data[0].partition_data[0].index = index;
        request.topic_data[0].partition_data[0].records =
            protocol::records_ref{std::span<const uint8_t>(batch), {}};
        const auto body = test::body_bytes(9, request);
        protocol::request_header header;
        request_context ctx{.broker = core_,
                            .header = header,
                            .api_key = 0,
                            .api_version = 9,
                            .response_header_version = 1,
                            .correlation_id = 1,
                            .client_id = "",
                            .peer = {},
                            .listener_name = "PLAINTEXT",
                            .shard_id = 0,
                            .frame = {}};
        const handler_result result = test::run_handler(&handle_produce, ctx, body);
        const auto r = test::decode_body<protocol::produce_response>(
            test::parse_response(test::frame_of(result), 1), 9);
        ASSERT_EQ(r.responses.at(0).partition_responses.at(0).error_code, ok);
    }

    list_offsets_response ask(int16_t version, const std::vector<query>& queries,
                              int8_t isolation = 0, int32_t replica_id = -1) {
        list_offsets_request request;
        request.replica_id = replica_id;
        request.isolation_level = isolation;
        for (const query& q : queries) {
            auto it = std::find_if(request.topics.begin(), request.topics.end(),
                                   [&](const auto& t) { return t.name == q.topic; });
            if (it == request.topics.end()) {
                request.topics.emplace_back();
                it = std::prev(request.topics.end());
                it->name = q.topic;
            }
            list_offsets_request::list_offsets_partition p;
            p.partition_index = q.partition;
            p.timestamp = q.timestamp;
            p.current_leader_epoch = q.current_leader_epoch;
            p.max_num_offsets = q.max_num_offsets;
            it->partitions.push_back(p);
        }
        const auto body = test::body_bytes(version, request);
        protocol::request_header header;
        request_context ctx{
            .broker = core_,
            .header = header,
            .api_key = 2,
            .api_version = version,
            .response_header_version = protocol::response_header_version(2, version),
            .correlation_id = 8,
            .client_id = "",
            .peer = {},
            .listener_name = "PLAINTEXT",
            .shard_id = 0,
            .frame = {}};
        const handler_result result = test::run_handler(&handle_list_offsets, ctx, body);
        EXPECT_FALSE(result.close_connection);
        const auto parsed =
            test::parse_response(test::frame_of(result), ctx.response_header_version);
        EXPECT_EQ(parsed.correlation_id, 8);
        return test::decode_body<list_offsets_response>(parsed, version);
    }

    list_offsets_response::list_offsets_partition_response one(int16_t version, query q,
                                                               int8_t isolation = 0) {
        const auto r = ask(version, {q}, isolation);
        EXPECT_EQ(r.topics.size(), 1U);
        EXPECT_EQ(r.topics.at(0).partitions.size(), 1U);
        return r.topics.at(0).partitions.at(0);
    }

    test::temp_dir dir_;
    shard_group shards_{1, 1};
    broker_core core_;
};

TEST_F(list_offsets_test, empty_partition) {
    for (int16_t v : {1, 4, 7, 9, 10}) {
        auto r = one(v, {"t", 0, -1});
        EXPECT_EQ(r.error_code, ok) << v;
        EXPECT_EQ(r.offset, 0) << v;
        EXPECT_EQ(r.timestamp, -1) << v;
        r = one(v, {"t", 0, -2});
        EXPECT_EQ(r.offset, 0) << v;
        r = one(v, {"t", 0, 5000});
        EXPECT_EQ(r.offset, -1) << v;
        EXPECT_EQ(r.timestamp, -1) << v;
        r = one(v, {"t", 0, -3});
        EXPECT_EQ(r.offset, -1) << v;
    }
}

TEST_F(list_offsets_test, lookups_after_appends) {
    append(0, 3, 1000);  // offsets 0-2, ts 1000-1002
    append(0, 2, 5000);  // offsets 3-4, ts 5000-5001
    append(0, 2, 2000);  // offsets 5-6, ts 2000-2001
    for (int16_t v = 1; v <= 10; ++v) {
        auto r = one(v, {"t", 0, -1});
        EXPECT_EQ(r.offset, 7) << v;
        EXPECT_EQ(r.timestamp, -1) << v;
        if (v >= 4) {
            EXPECT_EQ(r.leader_epoch, 0) << v;
        }
        EXPECT_EQ(one(v, {"t", 0, -2}).offset, 0) << v;
        r = one(v, {"t", 0, 1001});
        EXPECT_EQ(r.offset, 1) << v;
        EXPECT_EQ(r.timestamp, 1001) << v;
        r = one(v, {"t", 0, 1500});  // the first record at or after 1500 is offset 3 (ts 5000)
        EXPECT_EQ(r.offset, 3) << v;
        EXPECT_EQ(r.timestamp, 5000) << v;
        EXPECT_EQ(one(v, {"t", 0, 9000}).offset, -1) << v;
    }
    auto r = one(7, {"t", 0, -3});
    EXPECT_EQ(r.offset, 4);
    EXPECT_EQ(r.timestamp, 5001);
    EXPECT_EQ(r.leader_epoch, 0);
    r = one(9, {"t", 0, -4});
    EXPECT_EQ(r.offset, 0);
    r = one(9, {"t", 0, -5});
    EXPECT_EQ(r.offset, -1);
    EXPECT_EQ(r.timestamp, -1);
    EXPECT_EQ(r.leader_epoch, -1);
    // read_committed: the last stable offset is the high watermark (no transactions).
    EXPECT_EQ(one(5, {"t", 0, -1}, 1).offset, 7);
    // The other partition is independent.
    EXPECT_EQ(one(5, {"t", 1, -1}).offset, 0);
}

TEST_F(list_offsets_test, clients_see_nothing_at_or_above_the_high_watermark) {
    // A second in-sync replica that has fetched only offsets 0-2 holds the high watermark at 3.
    auto p = core_.find_partition("t", 0);
    partition_assignment two;
    two.leader_epoch = p->leader_epoch();
    two.replicas = {node_id{0}, node_id{7}};
    two.isr = {node_id{0}, node_id{7}};
    two.leader = node_id{0};
    ASSERT_FALSE(p->become_leader(two));
    append(0, 3, 1000);
    append(0, 3, 2000);
    ASSERT_EQ(p->update_follower_fetch_state(node_id{7}, 3, 0), error_code::none);
    ASSERT_EQ(p->offsets()->high_watermark, 3);
    EXPECT_EQ(one(5, {"t", 0, -1}).offset, 3);
    EXPECT_EQ(one(5, {"t", 0, 2000}).offset, -1);
    EXPECT_EQ(one(7, {"t", 0, -3}).offset, -1);
    EXPECT_EQ(one(5, {"t", 0, 1002}).offset, 2);
    // A replica reads up to the log end.
    const auto r = ask(5, {{"t", 0, -1}}, 0, 1);
    EXPECT_EQ(r.topics.at(0).partitions.at(0).offset, 6);
}

TEST_F(list_offsets_test, errors) {
    append(0, 1, 1000);
    auto r = ask(4, {{"t", 0, -1}, {"t", 1, -1}, {"t", 0, -2}, {"t", 7, -1}, {"nope", 0, -1}});
    ASSERT_EQ(r.topics.size(), 2U);
    const auto& parts = r.topics[0].partitions;
    ASSERT_EQ(parts.size(), 4U);
    EXPECT_EQ(parts[0].error_code, err(error_code::invalid_request));  // listed twice
    EXPECT_EQ(parts[1].error_code, ok);
    EXPECT_EQ(parts[2].error_code, err(error_code::invalid_request));
    EXPECT_EQ(parts[3].error_code, err(error_code::unknown_topic_or_partition));
    EXPECT_EQ(r.topics[1].partitions.at(0).error_code, err(error_code::unknown_topic_or_partition));

    EXPECT_EQ(one(4, {"t", 0, -1, 0}).error_code, ok);
    EXPECT_EQ(one(4, {"t", 0, -1, 3}).error_code, err(error_code::unknown_leader_epoch));
    // Before v4 the field does not exist on the wire, so it cannot fence.
    EXPECT_EQ(one(3, {"t", 0, -1, 3}).error_code, ok);
}

TEST_F(list_offsets_test, v0_returns_the_legacy_offsets_list) {
    auto r = one(0, {"t", 0, -1, -1, 5});
    EXPECT_EQ(r.error_code, ok);
    EXPECT_EQ(r.old_style_offsets,
              (std::vector<int64_t>{0}));  // an empty log: its one segment base
    append(0, 4, 1000);
    r = one(0, {"t", 0, -1, -1, 5});
    EXPECT_EQ(r.old_style_offsets, (std::vector<int64_t>{4, 0}));
    r = one(0, {"t", 0, -1, -1, 1});
    EXPECT_EQ(r.old_style_offsets, (std::vector<int64_t>{4}));
    r = one(0, {"t", 0, -2, -1, 5});
    EXPECT_EQ(r.old_style_offsets, (std::vector<int64_t>{0}));
    // By time: segments modified before the epoch's second 1 do not exist.
    r = one(0, {"t", 0, 1, -1, 5});
    EXPECT_TRUE(r.old_style_offsets.empty());
    // v0 allows a partition twice.
    const auto twice = ask(0, {{"t", 0, -1, -1, 1}, {"t", 0, -2, -1, 1}});
    EXPECT_EQ(twice.topics.at(0).partitions.at(0).error_code, ok);
    EXPECT_EQ(twice.topics.at(0).partitions.at(1).error_code, ok);
    EXPECT_EQ(one(0, {"t", 9, -1}).error_code, err(error_code::unknown_topic_or_partition));
}

}  // namespace
}  // namespace broker::server
