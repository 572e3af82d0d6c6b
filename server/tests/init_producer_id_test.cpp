// InitProducerId and the producer id manager: fresh ids with epoch 0, Kafka's request checks, the
// refusal of transactional ids, and ids that never repeat across restarts and crashes.
#include "common/asio.h"

#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include "log/errors.h"
#include "protocol/errors.h"
#include "server/handlers/handlers.h"
#include "server/producer_ids.h"
#include "server/tests/test_util.h"

namespace broker::server {
namespace {

using protocol::error_code;
using protocol::init_producer_id_request;
using protocol::init_producer_id_response;
namespace fs = std::filesystem;

constexpr int16_t err(error_code e) {
    return static_cast<int16_t>(e);
}

TEST(producer_id_manager, hands_out_increasing_ids_and_reserves_blocks) {
    test::temp_dir dir;
    const fs::path file = fs::path(dir.path()) / "nested" / producer_id_manager::file_name;
    producer_id_manager ids(file);
    EXPECT_FALSE(ids.try_allocate().has_value());  // nothing reserved yet
    for (int64_t expected = 0; expected < 2500; ++expected) {
        std::optional<producer_id_t> id = ids.try_allocate();
        if (!id) {
            const auto a = ids.allocate();
            ASSERT_FALSE(a.error) << a.error.message();
            id = a.id;
        }
        ASSERT_EQ(*id, producer_id_t{expected});
    }
    auto text = log::read_small_file(file, 100);
    ASSERT_TRUE(text);
    EXPECT_EQ(text.value(), "0\n3000\n");
}

TEST(producer_id_manager, ids_never_repeat_after_a_restart_or_crash) {
    test::temp_dir dir;
    const fs::path file = fs::path(dir.path()) / producer_id_manager::file_name;
    std::set<producer_id_t> seen;
    for (int life = 0; life < 3; ++life) {
        producer_id_manager ids(file);  // each life ends without any shutdown step, like a crash
        for (int i = 0; i < 5; ++i) {
            const auto a = ids.allocate();
            ASSERT_FALSE(a.error);
            EXPECT_TRUE(seen.insert(a.id).second) << "id " << a.id << " handed out twice";
        }
    }
    EXPECT_EQ(*seen.begin(), producer_id_t{0});
    EXPECT_EQ(*seen.rbegin(), producer_id_t{2 * producer_id_manager::block_size + 4});
}

/// Blocks from memory, as a cluster's source hands out blocks reserved elsewhere.
class scripted_blocks final : public producer_id_block_source {
public:
    std::error_code next_block(int64_t size, producer_id_t& first) override {
        ++calls;
        if (fail) {
            return std::make_error_code(std::errc::io_error);
        }
        first = producer_id_t{next};
        next += 5 * size;  // another broker took the blocks in between
        return {};
    }
    int calls = 0;
    bool fail = false;
    int64_t next = 7000;
};

TEST(producer_id_manager, ids_come_from_the_blocks_a_source_hands_out) {
    auto owned = std::make_unique<scripted_blocks>();
    scripted_blocks& source = *owned;
    producer_id_manager ids(std::move(owned));
    EXPECT_FALSE(ids.try_allocate().has_value());  // no block yet, and no I/O on this path
    EXPECT_EQ(ids.allocate().id, producer_id_t{7000});
    EXPECT_EQ(ids.try_allocate(), producer_id_t{7001});
    for (int64_t i = 2; i < producer_id_manager::block_size; ++i) {
        ASSERT_EQ(ids.allocate().id, producer_id_t{7000 + i});
    }
    EXPECT_EQ(source.calls, 1);
    EXPECT_EQ(ids.allocate().id, producer_id_t{7000 + 5 * producer_id_manager::block_size});
    EXPECT_EQ(source.calls, 2);
    source.fail = true;
    for (int64_t i = 1; i < producer_id_manager::block_size; ++i) {
        ASSERT_GE(ids.allocate().id, producer_id_t{0});
    }
    const producer_id_manager::allocation refused = ids.allocate();
    EXPECT_EQ(refused.id, no_producer_id);
    EXPECT_EQ(refused.error, std::errc::io_error);
}

TEST(producer_id_manager, an_unreadable_block_file_stops_allocation) {
    test::temp_dir dir;
    const fs::path file = fs::path(dir.path()) / producer_id_manager::file_name;
    std::ofstream(file) << "0\nnot a number\n";
    producer_id_manager ids(file);
    const auto a = ids.allocate();
    EXPECT_EQ(a.error, log::make_error_code(log::errc::corrupt_file));
    EXPECT_EQ(a.id, no_producer_id);
}

class init_producer_id_test : public ::testing::Test {
protected:
    init_producer_id_test()
        : core_(test::make_config({{"log.dirs", dir_.sub("data")}, {"logger.level", "error"}}),
                "cluster-i", shards_) {
        set_log_threshold(log_level::error);
    }

    init_producer_id_response ask(int16_t version, const init_producer_id_request& request) {
        const auto body = test::body_bytes(version, request);
        protocol::request_header header;
        request_context ctx{
            .broker = core_,
            .header = header,
            .api_key = 22,
            .api_version = version,
            .response_header_version = protocol::response_header_version(22, version),
            .correlation_id = 4,
            .client_id = "",
            .peer = {},
            .listener_name = "PLAINTEXT",
            .shard_id = 0,
            .frame = {}};
        const handler_result result = test::run_handler(&handle_init_producer_id, ctx, body);
        EXPECT_FALSE(result.close_connection);
        const auto parsed =
            test::parse_response(test::frame_of(result), ctx.response_header_version);
        EXPECT_EQ(parsed.correlation_id, 4);
        return test::decode_body<init_producer_id_response>(parsed, version);
    }

    static init_producer_id_request idempotent() {
        init_producer_id_request r;
        r.transactional_id = std::nullopt;
        r.transaction_timeout_ms = 60000;
        return r;
    }

    test::temp_dir dir_;
    shard_group shards_{1, 1};
    broker_core core_;
};

TEST_F(init_producer_id_test, idempotent_producers_get_fresh_ids_with_epoch_zero) {
    int64_t previous = -1;
    for (int16_t v = 0; v <= 5; ++v) {
        const auto r = ask(v, idempotent());
        EXPECT_EQ(r.error_code, 0) << v;
        EXPECT_GT(r.producer_id, previous) << v;
        EXPECT_EQ(r.producer_epoch, 0) << v;
        previous = r.producer_id;
    }
    // v3+ with the current id and epoch (KIP-360 recovery): Kafka gives an idempotent producer a
    // new id rather than bumping the epoch.
    init_producer_id_request again = idempotent();
    again.producer_id = previous;
    again.producer_epoch = 0;
    const auto r = ask(4, again);
    EXPECT_EQ(r.error_code, 0);
    EXPECT_GT(r.producer_id, previous);
    EXPECT_EQ(r.producer_epoch, 0);
    EXPECT_TRUE(fs::exists(fs::path(dir_.sub("data")) / producer_id_manager::file_name));
}

TEST_F(init_producer_id_test, half_given_producer_id_and_epoch_is_an_invalid_request) {
    init_producer_id_request r = idempotent();
    r.producer_id = 7;
    r.producer_epoch = -1;
    EXPECT_EQ(ask(3, r).error_code, err(error_code::invalid_request));
    r.producer_id = -1;
    r.producer_epoch = 2;
    const auto answer = ask(5, r);
    EXPECT_EQ(answer.error_code, err(error_code::invalid_request));
    EXPECT_EQ(answer.producer_id, -1);
    EXPECT_EQ(answer.producer_epoch, -1);
}

TEST_F(init_producer_id_test, transactional_ids_are_refused) {
    init_producer_id_request r = idempotent();
    r.transactional_id = "txn";
    for (int16_t v : {0, 2, 5}) {
        const auto answer = ask(v, r);
        EXPECT_EQ(answer.error_code, err(error_code::transactional_id_authorization_failed)) << v;
        EXPECT_EQ(answer.producer_id, -1) << v;
    }
}

TEST_F(init_producer_id_test, an_unusable_block_file_answers_a_retriable_error) {
    fs::create_directories(dir_.sub("data"));
    std::ofstream(fs::path(dir_.sub("data")) / producer_id_manager::file_name) << "garbage";
    const auto r = ask(4, idempotent());
    EXPECT_EQ(r.error_code, err(error_code::coordinator_load_in_progress));
    EXPECT_EQ(r.producer_id, -1);
}

}  // namespace
}  // namespace broker::server
