// Produce and DescribeProducers with a real topic store: acks, every validation error and that a
// refused batch writes nothing, message size, compression rules, record-level checks, idempotent
// retries and sequence errors, flushing before the acknowledgement, snapshots on roll, producer
// state after a restart, and the acks=0 connection close over a real socket.
#include "common/asio.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>

#include "log/producer_state.h"
#include "protocol/errors.h"
#include "protocol/records.h"
#include "server/handlers/handlers.h"
#include "server/tests/test_util.h"

namespace broker::server {
namespace {

using protocol::error_code;
using protocol::produce_request;
using protocol::produce_response;
namespace fs = std::filesystem;

constexpr int16_t ok = 0;
constexpr int16_t err(error_code e) {
    return static_cast<int16_t>(e);
}

int64_t wall_clock_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

struct batch_spec {
    int records = 1;
    protocol::compression_type compression = protocol::compression_type::none;
    int64_t producer_id = -1;
    int16_t epoch = -1;
    int32_t sequence = -1;
    bool transactional = false;
    bool control = false;
    bool keys = true;
    std::optional<int64_t> timestamp = std::nullopt;  // default: now
    protocol::timestamp_type ts_type = protocol::timestamp_type::create_time;
    std::size_t value_bytes = 8;
};

std::vector<uint8_t> make_batch(const batch_spec& spec) {
    std::vector<protocol::record_data> records;
    const int64_t ts = spec.timestamp.value_or(wall_clock_ms());
    for (int i = 0; i < spec.records; ++i) {
        protocol::record_data r;
        if (spec.keys) {
            const std::string key = "k" + std::to_string(i);
            r.key.emplace(key.begin(), key.end());
        }
        r.value.emplace(spec.value_bytes, static_cast<uint8_t>('a' + i % 26));
        r.timestamp = ts;
        records.push_back(std::move(r));
    }
    protocol::batch_build_options o;
    o.compression = spec.compression;
    o.producer_id = spec.producer_id;
    o.producer_epoch = spec.epoch;
    o.base_sequence = spec.sequence;
    o.transactional = spec.transactional;
    o.control = spec.control;
    o.ts_type = spec.ts_type;
    return protocol::build_batch(records, o);
}

/// One partition of a produce request; `records` nullopt sends null.
struct part {
    std::string topic;
    int32_t index = 0;
    std::optional<std::vector<uint8_t>> records;
};

class produce_test : public ::testing::Test {
protected:
    produce_test() { start({}); }
    ~produce_test() override { stop(); }

    void start(std::initializer_list<std::pair<std::string, std::string>> extra) {
        std::vector<property> entries{{"log.dirs", dir_.sub("data"), 0},
                                      {"logger.level", "error", 0}};
        for (const auto& [k, v] : extra) {
            entries.push_back(property{k, v, 0});
        }
        config_result loaded = make_broker_config(entries);
        set_log_threshold(loaded.config.logger_level);
        core_ = std::make_unique<broker_core>(std::move(loaded.config), "cluster-p", shards_);
        core_->store().open();
    }
    void stop() {
        if (core_) {
            core_->store().shutdown();
            core_.reset();
        }
    }

    void create(const std::string& name, int32_t partitions, config_map configs = {}) {
        new_topic t;
        t.name = name;
        t.num_partitions = partitions;
        t.replication_factor = 1;
        t.configs = std::move(configs);
        const created_topic created = core_->admin().create_topic(t, false);
        ASSERT_TRUE(created.result.ok()) << created.result.message.value_or("");
    }

    handler_result run(int16_t version, int16_t acks, const std::vector<part>& parts,
                       std::optional<std::string> transactional_id = std::nullopt) {
        produce_request request;
        request.acks = acks;
        request.timeout_ms = 30000;
        request.transactional_id = std::move(transactional_id);
        for (const part& p : parts) {
            auto it = std::find_if(request.topic_data.begin(), request.topic_data.end(),
                                   [&](const auto& t) { return t.name == p.topic; });
            if (it == request.topic_data.end()) {
                request.topic_data.emplace_back();
                it = std::prev(request.topic_data.end());
                it->name = p.topic;
            }
            produce_request::partition_produce_data data;
            data.index = p.index;
            if (p.records) {
                data.records = protocol::records_ref{std::span<const uint8_t>(*p.records), {}};
            }
            it->partition_data.push_back(std::move(data));
        }
        body_ = test::body_bytes(version, request);
        protocol::request_header header;
        request_context ctx{
            .broker = *core_,
            .header = header,
            .api_key = 0,
            .api_version = version,
            .response_header_version = protocol::response_header_version(0, version),
            .correlation_id = 5,
            .client_id = "",
            .peer = {},
            .listener_name = "PLAINTEXT",
            .shard_id = 0,
            .frame = {}};
        return test::run_handler(&handle_produce, ctx, body_);
    }

    produce_response produce(int16_t version, int16_t acks, const std::vector<part>& parts,
                             std::optional<std::string> transactional_id = std::nullopt) {
        const handler_result result = run(version, acks, parts, std::move(transactional_id));
        EXPECT_FALSE(result.close_connection);
        const auto response = test::parse_response(test::frame_of(result),
                                                   protocol::response_header_version(0, version));
        EXPECT_EQ(response.correlation_id, 5);
        return test::decode_body<produce_response>(response, version);
    }

    /// The single partition answer of a one-partition request.
    produce_response::partition_produce_response produce_one(const std::string& topic,
                                                             std::vector<uint8_t> batch,
                                                             int16_t version = 9,
                                                             int16_t acks = -1) {
        const produce_response r = produce(version, acks, {{topic, 0, std::move(batch)}});
        EXPECT_EQ(r.responses.size(), 1U);
        EXPECT_EQ(r.responses.at(0).partition_responses.size(), 1U);
        return r.responses.at(0).partition_responses.at(0);
    }

    std::shared_ptr<partition> find(const std::string& topic, int32_t index = 0) const {
        return core_->find_partition(topic, index);
    }
    int64_t log_end(const std::string& topic, int32_t index = 0) const {
        return find(topic, index)->offsets()->log_end_offset;
    }
    /// Every stored batch header of a partition.
    std::vector<protocol::batch_header> stored_batches(const std::string& topic,
                                                       int32_t index = 0) const {
        auto p = find(topic, index);
        auto read = p->read_local(0, 1 << 30);
        EXPECT_TRUE(read);
        auto bytes = read.value().read_all();
        EXPECT_TRUE(bytes);
        std::vector<protocol::batch_header> out;
        std::span<const uint8_t> rest(bytes.value());
        while (!rest.empty()) {
            auto size = protocol::peek_batch_size(rest);
            EXPECT_TRUE(size && *size <= rest.size());
            if (!size || *size > rest.size()) {
                break;
            }
            EXPECT_EQ(protocol::validate_batch(rest.subspan(0, *size), false),
                      protocol::batch_error::ok);
            out.push_back(*protocol::parse_batch_header(rest));
            rest = rest.subspan(*size);
        }
        return out;
    }

    test::temp_dir dir_;
    shard_group shards_{1, 1};
    std::unique_ptr<broker_core> core_;
    std::vector<uint8_t> body_;
};

TEST_F(produce_test, acks_one_and_all_append_and_answer_offsets) {
    create("t", 2);
    for (int16_t acks : {int16_t{1}, int16_t{-1}}) {
        const produce_response r =
            produce(9, acks, {{"t", 0, make_batch({.records = 3})}, {"t", 1, make_batch({})}});
        ASSERT_EQ(r.responses.size(), 1U);
        const auto& parts = r.responses[0].partition_responses;
        ASSERT_EQ(parts.size(), 2U);
        EXPECT_EQ(parts[0].index, 0);
        EXPECT_EQ(parts[0].error_code, ok);
        EXPECT_EQ(parts[0].base_offset, acks == 1 ? 0 : 3);
        EXPECT_EQ(parts[0].log_append_time_ms, -1);
        EXPECT_EQ(parts[0].log_start_offset, 0);
        EXPECT_EQ(parts[1].error_code, ok);
        EXPECT_EQ(parts[1].base_offset, acks == 1 ? 0 : 1);
    }
    EXPECT_EQ(log_end("t", 0), 6);
    auto p = find("t");
    EXPECT_EQ(p->offsets()->high_watermark, 6);  // a single node commits at once
}

TEST_F(produce_test, acks_zero_sends_nothing_and_closes_on_failure) {
    create("t", 1);
    handler_result r = run(9, 0, {{"t", 0, make_batch({.records = 2})}});
    EXPECT_FALSE(r.response.has_value());
    EXPECT_FALSE(r.close_connection);
    EXPECT_EQ(log_end("t"), 2);

    r = run(9, 0, {{"t", 0, make_batch({})}, {"t", 7, make_batch({})}});
    EXPECT_FALSE(r.response.has_value());
    EXPECT_TRUE(r.close_connection);
    EXPECT_EQ(log_end("t"), 3);  // the good partition was still written
}

TEST_F(produce_test, invalid_acks_refuse_every_partition_and_write_nothing) {
    create("t", 2);
    for (int16_t acks : {int16_t{2}, int16_t{-2}, int16_t{100}}) {
        const produce_response r =
            produce(7, acks,
                    {{"t", 0, make_batch({})}, {"t", 1, make_batch({})}, {"t", 9, make_batch({})}});
        const auto& parts = r.responses.at(0).partition_responses;
        ASSERT_EQ(parts.size(), 3U);
        EXPECT_EQ(parts[0].error_code, err(error_code::invalid_required_acks));
        EXPECT_EQ(parts[1].error_code, err(error_code::invalid_required_acks));
        EXPECT_EQ(parts[0].base_offset, -1);
        // Kafka checks the partition's existence first.
        EXPECT_EQ(parts[2].error_code, err(error_code::unknown_topic_or_partition));
    }
    EXPECT_EQ(log_end("t", 0), 0);
    EXPECT_EQ(log_end("t", 1), 0);
}

TEST_F(produce_test, unknown_topics_are_not_created_by_produce) {
    const auto r = produce_one("missing", make_batch({}));
    EXPECT_EQ(r.error_code, err(error_code::unknown_topic_or_partition));
    EXPECT_FALSE(core_->store().exists("missing"));
}

/// Recomputes the CRC after a test edited covered bytes.
std::vector<uint8_t> with_crc(std::vector<uint8_t> batch) {
    protocol::update_crc(batch);
    return batch;
}

TEST_F(produce_test, every_malformed_batch_gets_its_code_and_writes_nothing) {
    create("t", 2);
    const std::vector<uint8_t> good = make_batch({.records = 2});

    std::vector<uint8_t> bad_crc = good;
    bad_crc.back() ^= 0x55;

    std::vector<uint8_t> two_batches = good;
    two_batches.insert(two_batches.end(), good.begin(), good.end());

    std::vector<uint8_t> truncated(good.begin(), good.end() - 3);

    std::vector<uint8_t> short_length = good;
    store_be32(short_length.data() + 8, 5);

    std::vector<uint8_t> trailing = good;
    trailing.push_back(0);

    // record_count and last_offset_delta agree (3) but only two records follow.
    std::vector<uint8_t> missing_record = good;
    store_be32(missing_record.data() + 23, 2);
    store_be32(missing_record.data() + 57, 3);
    missing_record = with_crc(missing_record);

    // record_count disagrees with last_offset_delta.
    std::vector<uint8_t> count_mismatch = good;
    store_be32(count_mismatch.data() + 57, 5);
    count_mismatch = with_crc(count_mismatch);

    // A gzip batch whose compressed payload is garbage (with a valid CRC).
    std::vector<uint8_t> bad_gzip =
        make_batch({.records = 4, .compression = protocol::compression_type::gzip});
    for (std::size_t i = protocol::batch_header_size + 12; i < bad_gzip.size(); ++i) {
        bad_gzip[i] = static_cast<uint8_t>(i * 7);
    }
    bad_gzip = with_crc(bad_gzip);

    // A legacy (magic 1) message: offset, size, crc, magic 1, attributes, timestamp, key, value.
    std::vector<uint8_t> legacy(12 + 4 + 1 + 1 + 8 + 4 + 4 + 3, 0);
    store_be32(legacy.data() + 8, static_cast<uint32_t>(legacy.size() - 12));
    legacy[16] = 1;
    store_be32(legacy.data() + 26, 0xFFFFFFFF);
    store_be32(legacy.data() + 30, 3);

    struct check {
        const char* name;
        std::optional<std::vector<uint8_t>> records;
        int16_t version;
        error_code expected;
    };
    const std::vector<check> checks{
        {"null records", std::nullopt, 9, error_code::invalid_record},
        {"empty records", std::vector<uint8_t>{}, 9, error_code::invalid_record},
        {"bad crc", bad_crc, 9, error_code::corrupt_message},
        {"two batches", two_batches, 9, error_code::invalid_record},
        {"truncated", truncated, 9, error_code::invalid_record},
        {"length below any format", short_length, 9, error_code::corrupt_message},
        {"trailing byte", trailing, 9, error_code::invalid_record},
        {"missing record", missing_record, 9, error_code::invalid_record},
        {"count mismatch", count_mismatch, 9, error_code::invalid_record},
        {"garbage gzip payload", bad_gzip, 9, error_code::corrupt_message},
        {"legacy message at v3+", legacy, 3, error_code::invalid_record},
        {"legacy message at v2", legacy, 2, error_code::unsupported_for_message_format},
        {"control batch",
         make_batch({.producer_id = 4, .epoch = 0, .sequence = 0, .control = true}), 9,
         error_code::invalid_record},
        {"producer id without sequence", make_batch({.producer_id = 4, .epoch = 0, .sequence = -1}),
         9, error_code::invalid_record},
        {"zstd before v7",
         make_batch({.records = 3, .compression = protocol::compression_type::zstd}), 6,
         error_code::unsupported_compression_type},
    };
    for (const check& c : checks) {
        const produce_response r = produce(c.version, 1, {{"t", 0, c.records}, {"t", 1, good}});
        const auto& parts = r.responses.at(0).partition_responses;
        ASSERT_EQ(parts.size(), 2U) << c.name;
        EXPECT_EQ(parts[0].error_code, err(c.expected)) << c.name;
        EXPECT_EQ(parts[0].base_offset, -1) << c.name;
        EXPECT_EQ(log_end("t", 0), 0) << c.name;
        EXPECT_EQ(parts[1].error_code, ok) << c.name << ": the other partition proceeds";
    }
    EXPECT_EQ(log_end("t", 1), static_cast<int64_t>(2 * checks.size()));
    // v8+ carries a message for the refused partition.
    const auto r = produce_one("t", bad_crc, 8);
    EXPECT_TRUE(r.error_message.has_value());
}

TEST_F(produce_test, legal_batches_of_every_codec_are_stored_as_sent) {
    create("t", 1);
    int64_t expected = 0;
    for (auto c : {protocol::compression_type::none, protocol::compression_type::gzip,
                   protocol::compression_type::snappy, protocol::compression_type::lz4,
                   protocol::compression_type::zstd}) {
        const auto r = produce_one("t", make_batch({.records = 5, .compression = c}), 7, 1);
        EXPECT_EQ(r.error_code, ok);
        EXPECT_EQ(r.base_offset, expected);
        expected += 5;
    }
    const auto stored = stored_batches("t");
    ASSERT_EQ(stored.size(), 5U);
    EXPECT_EQ(stored[4].compression(), protocol::compression_type::zstd);
    EXPECT_EQ(stored[4].base_offset, 20);
}

TEST_F(produce_test, batches_above_max_message_bytes_are_refused) {
    create("small", 1, {{"max.message.bytes", "1000"}});
    const auto big = make_batch({.records = 4, .value_bytes = 400});
    ASSERT_GT(big.size(), 1000U);
    auto r = produce_one("small", big);
    EXPECT_EQ(r.error_code, err(error_code::message_too_large));
    EXPECT_EQ(log_end("small"), 0);
    r = produce_one("small", make_batch({.records = 2, .value_bytes = 100}));
    EXPECT_EQ(r.error_code, ok);
}

TEST_F(produce_test, zstd_is_accepted_from_v7) {
    create("t", 1);
    const auto zstd = make_batch({.records = 3, .compression = protocol::compression_type::zstd});
    EXPECT_EQ(produce_one("t", zstd, 6).error_code, err(error_code::unsupported_compression_type));
    EXPECT_EQ(produce_one("t", zstd, 7).error_code, ok);
    EXPECT_EQ(log_end("t"), 3);
}

TEST_F(produce_test, every_version_round_trips) {
    create("t", 1);
    for (int16_t v = 0; v <= 11; ++v) {
        const auto r = produce_one("t", make_batch({}), v, 1);
        EXPECT_EQ(r.error_code, ok) << v;
        EXPECT_EQ(r.base_offset, v) << v;
        if (v >= 5) {
            EXPECT_EQ(r.log_start_offset, 0) << v;
        }
    }
}

TEST_F(produce_test, idempotent_retry_returns_the_original_offset_and_writes_nothing) {
    create("t", 1);
    const auto first = make_batch({.records = 5, .producer_id = 42, .epoch = 0, .sequence = 0});
    auto r = produce_one("t", first);
    ASSERT_EQ(r.error_code, ok);
    EXPECT_EQ(r.base_offset, 0);
    // Another producer writes in between.
    ASSERT_EQ(produce_one("t", make_batch({.records = 2})).error_code, ok);
    const auto second = make_batch({.records = 3, .producer_id = 42, .epoch = 0, .sequence = 5});
    r = produce_one("t", second);
    ASSERT_EQ(r.error_code, ok);
    EXPECT_EQ(r.base_offset, 7);
    EXPECT_EQ(log_end("t"), 10);

    // Retries of both: original offsets, nothing written.
    r = produce_one("t", first);
    EXPECT_EQ(r.error_code, ok);
    EXPECT_EQ(r.base_offset, 0);
    EXPECT_EQ(r.log_start_offset, 0);
    r = produce_one("t", second);
    EXPECT_EQ(r.base_offset, 7);
    EXPECT_EQ(log_end("t"), 10);

    // A gap, a partial overlap, and an older epoch are refused (and report the log start).
    r = produce_one("t", make_batch({.records = 1, .producer_id = 42, .epoch = 0, .sequence = 10}));
    EXPECT_EQ(r.error_code, err(error_code::out_of_order_sequence_number));
    EXPECT_EQ(r.log_start_offset, 0);
    r = produce_one("t", make_batch({.records = 2, .producer_id = 42, .epoch = 0, .sequence = 4}));
    EXPECT_EQ(r.error_code, err(error_code::out_of_order_sequence_number));
    ASSERT_EQ(
        produce_one("t", make_batch({.records = 1, .producer_id = 42, .epoch = 1, .sequence = 0}))
            .error_code,
        ok);
    r = produce_one("t", make_batch({.records = 1, .producer_id = 42, .epoch = 0, .sequence = 8}));
    EXPECT_EQ(r.error_code, err(error_code::invalid_producer_epoch));
    EXPECT_EQ(log_end("t"), 11);

    // A new epoch must start at 0; a producer never seen may start anywhere (KIP-360).
    r = produce_one("t", make_batch({.records = 1, .producer_id = 42, .epoch = 2, .sequence = 3}));
    EXPECT_EQ(r.error_code, err(error_code::out_of_order_sequence_number));
    r = produce_one("t",
                    make_batch({.records = 1, .producer_id = 77, .epoch = 0, .sequence = 1234}));
    EXPECT_EQ(r.error_code, ok);
}

TEST_F(produce_test, idempotent_state_survives_a_restart) {
    create("t", 1);
    const auto batch = make_batch({.records = 2, .producer_id = 9, .epoch = 3, .sequence = 0});
    ASSERT_EQ(produce_one("t", batch).base_offset, 0);
    ASSERT_EQ(
        produce_one("t", make_batch({.records = 2, .producer_id = 9, .epoch = 3, .sequence = 2}))
            .base_offset,
        2);
    stop();
    start({});
    EXPECT_EQ(produce_one("t", batch).base_offset, 0);  // still recognised as a duplicate
    EXPECT_EQ(log_end("t"), 4);
    auto r =
        produce_one("t", make_batch({.records = 1, .producer_id = 9, .epoch = 3, .sequence = 7}));
    EXPECT_EQ(r.error_code, err(error_code::out_of_order_sequence_number));
    r = produce_one("t", make_batch({.records = 1, .producer_id = 9, .epoch = 3, .sequence = 4}));
    EXPECT_EQ(r.error_code, ok);
    EXPECT_EQ(r.base_offset, 4);
}

TEST_F(produce_test, transactional_batches_are_refused_for_the_whole_request) {
    create("t", 2);
    const produce_response r = produce(
        9, -1,
        {{"t", 0, make_batch({.producer_id = 1, .epoch = 0, .sequence = 0, .transactional = true})},
         {"t", 1, make_batch({})}},
        "txn-1");
    for (const auto& p : r.responses.at(0).partition_responses) {
        EXPECT_EQ(p.error_code, err(error_code::transactional_id_authorization_failed));
    }
    EXPECT_EQ(log_end("t", 0), 0);
    EXPECT_EQ(log_end("t", 1), 0);
}

TEST_F(produce_test, min_insync_replicas_above_one_refuses_acks_all) {
    create("safe", 1, {{"min.insync.replicas", "2"}});
    EXPECT_EQ(produce_one("safe", make_batch({}), 9, -1).error_code,
              err(error_code::not_enough_replicas));
    EXPECT_EQ(produce_one("safe", make_batch({}), 9, 1).error_code, ok);
    EXPECT_EQ(log_end("safe"), 1);
}

TEST_F(produce_test, record_level_checks_report_record_errors) {
    create("compacted", 1, {{"cleanup.policy", "compact"}});
    auto r = produce_one("compacted", make_batch({.records = 3, .keys = false}), 8);
    EXPECT_EQ(r.error_code, err(error_code::invalid_record));
    ASSERT_EQ(r.record_errors.size(), 3U);
    EXPECT_EQ(r.record_errors[2].batch_index, 2);
    EXPECT_TRUE(r.error_message.has_value());
    EXPECT_EQ(log_end("compacted"), 0);
    EXPECT_EQ(produce_one("compacted", make_batch({.records = 3})).error_code, ok);

    create("recent", 1, {{"message.timestamp.difference.max.ms", "60000"}});
    r = produce_one("recent", make_batch({.records = 2, .timestamp = 1000}), 8);
    EXPECT_EQ(r.error_code, err(error_code::invalid_timestamp));
    EXPECT_EQ(r.record_errors.size(), 2U);
    EXPECT_EQ(r.log_start_offset, 0);
    r = produce_one("recent", make_batch({.records = 2, .timestamp = wall_clock_ms() + 3'600'000}),
                    8);
    EXPECT_EQ(r.error_code, err(error_code::invalid_timestamp));
    EXPECT_EQ(produce_one("recent", make_batch({.records = 2})).error_code, ok);

    create("plain", 1);
    r = produce_one("plain", make_batch({.records = 1,
                                         .timestamp = -1,
                                         .ts_type = protocol::timestamp_type::log_append_time}));
    EXPECT_EQ(r.error_code, err(error_code::invalid_timestamp));
}

TEST_F(produce_test, log_append_time_topics_answer_the_broker_time) {
    create("stamped", 1, {{"message.timestamp.type", "LogAppendTime"}});
    const int64_t before = wall_clock_ms();
    const auto batch =
        make_batch({.records = 2, .producer_id = 5, .epoch = 0, .sequence = 0, .timestamp = 1000});
    auto r = produce_one("stamped", batch);
    const int64_t after = wall_clock_ms();
    ASSERT_EQ(r.error_code, ok);
    EXPECT_GE(r.log_append_time_ms, before);
    EXPECT_LE(r.log_append_time_ms, after);
    const int64_t stamped = r.log_append_time_ms;
    r = produce_one("stamped", batch);  // a duplicate answers the stored time
    EXPECT_EQ(r.log_append_time_ms, stamped);
    EXPECT_EQ(stored_batches("stamped").at(0).max_timestamp, stamped);
}

TEST_F(produce_test, topic_compression_type_recompresses) {
    create("gz", 1, {{"compression.type", "gzip"}});
    const auto r =
        produce_one("gz", make_batch({.records = 20, .producer_id = 8, .epoch = 1, .sequence = 0}));
    ASSERT_EQ(r.error_code, ok);
    const auto stored = stored_batches("gz");
    ASSERT_EQ(stored.size(), 1U);
    EXPECT_EQ(stored[0].compression(), protocol::compression_type::gzip);
    EXPECT_EQ(stored[0].record_count, 20);
    EXPECT_EQ(stored[0].producer_id, 8);
    EXPECT_EQ(stored[0].base_sequence, 0);
}

// Text-like records (words from a small vocabulary, a deterministic sequence): compressible, but
// not so trivially that every level finds the same matches.
std::vector<protocol::record_data> wordy_records(int count) {
    static constexpr std::string_view words[] = {"alpha", "broker", "commit", "delta", "epoch",
                                                 "fetch", "group",  "header", "index", "join",
                                                 "kafka", "leader", "member", "offset"};
    uint32_t state = 12345;
    std::vector<protocol::record_data> records;
    for (int i = 0; i < count; ++i) {
        std::string text;
        for (int w = 0; w < 60; ++w) {
            state = state * 1103515245U + 12345U;
            text += words[(state >> 16) % std::size(words)];
            text += (state >> 8) % 7 == 0 ? ", " : " ";
        }
        protocol::record_data r;
        r.value.emplace(text.begin(), text.end());
        r.timestamp = wall_clock_ms();
        r.offset_delta = i;
        records.push_back(std::move(r));
    }
    return records;
}

TEST_F(produce_test, topic_compression_level_is_used_when_recompressing) {
    const auto records = wordy_records(40);
    const std::vector<uint8_t> plain = protocol::build_batch(records, {});
    struct level_case {
        std::string codec;
        protocol::compression_type type;
        std::string low;
        std::string high;
    };
    const level_case cases[] = {
        {"gzip", protocol::compression_type::gzip, "1", "9"},
        {"zstd", protocol::compression_type::zstd, "-5", "19"},
        {"lz4", protocol::compression_type::lz4, "9", "12"},  // 9: fast mode; 12: LZ4 HC
    };
    for (const level_case& c : cases) {
        std::map<std::string, std::size_t> sizes;
        for (const std::string& level : {c.low, c.high}) {
            const std::string topic = c.codec + "-level" + level;
            create(topic, 1,
                   {{"compression.type", c.codec}, {"compression." + c.codec + ".level", level}});
            ASSERT_EQ(produce_one(topic, plain).error_code, ok) << topic;
            auto read = find(topic)->read_local(0, 1 << 30);
            ASSERT_TRUE(read);
            auto bytes = read.value().read_all();
            ASSERT_TRUE(bytes);
            protocol::decoded_batch decoded;
            ASSERT_EQ(protocol::decode_batch(bytes.value(), decoded), protocol::batch_error::ok);
            EXPECT_EQ(decoded.header.compression(), c.type) << topic;
            ASSERT_EQ(decoded.records.size(), records.size()) << topic;
            for (std::size_t i = 0; i < records.size(); ++i) {
                ASSERT_TRUE(decoded.records[i].value);
                EXPECT_TRUE(std::equal(decoded.records[i].value->begin(),
                                       decoded.records[i].value->end(), records[i].value->begin(),
                                       records[i].value->end()))
                    << topic << " record " << i;
            }
            // The stored batch is exactly what the codec makes at that level.
            protocol::batch_build_options o;
            o.compression = c.type;
            o.compression_level = std::stoi(level);
            EXPECT_EQ(bytes.value().size(), protocol::build_batch(records, o).size()) << topic;
            sizes[level] = bytes.value().size();
        }
        EXPECT_LT(sizes[c.high], sizes[c.low]) << c.codec;
        EXPECT_LT(sizes[c.low], plain.size()) << c.codec;
    }
    // Without a topic level, the broker-wide key decides.
    stop();
    start({{"compression.zstd.level", "19"}});
    create("zstd-broker-level", 1, {{"compression.type", "zstd"}});
    ASSERT_EQ(produce_one("zstd-broker-level", plain).error_code, ok);
    protocol::batch_build_options o;
    o.compression = protocol::compression_type::zstd;
    o.compression_level = 19;
    const std::size_t at19 = protocol::build_batch(records, o).size();
    o.compression_level = 3;
    ASSERT_NE(at19, protocol::build_batch(records, o).size());
    EXPECT_EQ(stored_batches("zstd-broker-level").at(0).batch_length + 12,
              static_cast<int32_t>(at19));
}

TEST_F(produce_test, flush_messages_one_makes_the_write_durable_before_the_answer) {
    create("durable", 1, {{"flush.messages", "1"}});
    for (int i = 0; i < 3; ++i) {
        ASSERT_EQ(produce_one("durable", make_batch({.records = 2})).error_code, ok);
        auto p = find("durable");
        EXPECT_EQ(p->recovery_point(), p->offsets()->log_end_offset);
    }
}

TEST_F(produce_test, concurrent_producers_each_get_a_durable_answer) {
    create("durable", 1, {{"flush.messages", "1"}});
    // Several requests in flight on one executor: flushes of one partition are serialised and
    // shared.
    net::io_context io;
    constexpr int requests = 6;
    std::vector<std::vector<uint8_t>> bodies;
    for (int i = 0; i < requests; ++i) {
        produce_request request;
        request.acks = -1;
        request.topic_data.emplace_back();
        request.topic_data[0].name = "durable";
        request.topic_data[0].partition_data.emplace_back();
        bodies.push_back(make_batch({.records = 1 + i}));
        request.topic_data[0].partition_data[0].records =
            protocol::records_ref{std::span<const uint8_t>(bodies.back()), {}};
        bodies.push_back(test::body_bytes(9, request));
    }
    protocol::request_header header;
    std::vector<std::unique_ptr<request_context>> contexts;
    std::vector<std::optional<handler_result>> results(requests);
    for (int i = 0; i < requests; ++i) {
        contexts.push_back(
            std::make_unique<request_context>(request_context{.broker = *core_,
                                                              .header = header,
                                                              .api_key = 0,
                                                              .api_version = 9,
                                                              .response_header_version = 1,
                                                              .correlation_id = i,
                                                              .client_id = "",
                                                              .peer = {},
                                                              .listener_name = "PLAINTEXT",
                                                              .shard_id = 0,
                                                              .frame = {}}));
        net::co_spawn(
            io,
            [&, i]() -> net::awaitable<void> {
                protocol::reader r(bodies[static_cast<std::size_t>(i) * 2 + 1]);
                results[static_cast<std::size_t>(i)] =
                    co_await handle_produce(*contexts[static_cast<std::size_t>(i)], r);
            },
            net::detached);
    }
    io.run();
    for (int i = 0; i < requests; ++i) {
        ASSERT_TRUE(results[static_cast<std::size_t>(i)].has_value());
        const auto parsed =
            test::parse_response(test::frame_of(*results[static_cast<std::size_t>(i)]), 1);
        const auto body = test::decode_body<produce_response>(parsed, 9);
        EXPECT_EQ(body.responses.at(0).partition_responses.at(0).error_code, ok);
    }
    auto p = find("durable");
    EXPECT_EQ(p->offsets()->log_end_offset, requests * (requests + 1) / 2);
    EXPECT_EQ(p->recovery_point(), p->offsets()->log_end_offset);
}

TEST_F(produce_test, a_segment_roll_writes_a_producer_snapshot) {
    create("rolling", 1, {{"segment.bytes", "1024"}});
    int32_t seq = 0;
    for (int i = 0; i < 30; ++i) {
        ASSERT_EQ(
            produce_one("rolling",
                        make_batch({.records = 2, .producer_id = 3, .epoch = 0, .sequence = seq}))
                .error_code,
            ok);
        seq += 2;
    }
    auto p = find("rolling");
    fs::path dir;
    std::vector<log::offset> bases;
    dir = p->log_dir();
    bases = test::on_log(*p, [](const log::partition_log& l) { return l.segment_base_offsets(); });
    ASSERT_GT(bases.size(), 2U);
    auto snapshots = log::producer_state_table::list_snapshots(dir);
    ASSERT_TRUE(snapshots);
    ASSERT_FALSE(snapshots.value().empty());
    // The newest snapshot sits at the active segment's base offset and knows the producer.
    EXPECT_EQ(snapshots.value().back(), bases.back().value());
    auto text = log::read_small_file(
        log::producer_state_table::snapshot_path(dir, snapshots.value().back()), 1 << 20);
    ASSERT_TRUE(text);
    int64_t offset = -1;
    auto parsed = log::producer_state_table::parse_snapshot(text.value(), offset);
    ASSERT_TRUE(parsed);
    ASSERT_TRUE(parsed.value().count(producer_id_t{3}));
    EXPECT_EQ(parsed.value().at(producer_id_t{3}).batches.back().last_offset, offset - 1);
}

TEST_F(produce_test, appends_wake_waiting_fetches) {
    create("t", 1);
    auto p = find("t");
    bool woken = false;
    p->watch(partition_event::any, [&] { woken = true; });
    ASSERT_EQ(produce_one("t", make_batch({})).error_code, ok);
    EXPECT_TRUE(woken);
}

TEST_F(produce_test, describe_producers_lists_idempotent_producers) {
    create("t", 1);
    ASSERT_EQ(
        produce_one(
            "t",
            make_batch(
                {.records = 4, .producer_id = 12, .epoch = 2, .sequence = 0, .timestamp = 5000}))
            .error_code,
        ok);
    ASSERT_EQ(
        produce_one(
            "t",
            make_batch(
                {.records = 1, .producer_id = 13, .epoch = 0, .sequence = 9, .timestamp = 6000}))
            .error_code,
        ok);
    ASSERT_EQ(produce_one("t", make_batch({.records = 1})).error_code, ok);

    protocol::describe_producers_request request;
    request.topics.push_back({"t", {0, 4}, {}});
    request.topics.push_back({"nope", {0}, {}});
    const auto body = test::body_bytes(0, request);
    protocol::request_header header;
    request_context ctx{.broker = *core_,
                        .header = header,
                        .api_key = 61,
                        .api_version = 0,
                        .response_header_version = 1,
                        .correlation_id = 3,
                        .client_id = "",
                        .peer = {},
                        .listener_name = "PLAINTEXT",
                        .shard_id = 0,
                        .frame = {}};
    const handler_result result = test::run_handler(&handle_describe_producers, ctx, body);
    const auto r = test::decode_body<protocol::describe_producers_response>(
        test::parse_response(test::frame_of(result), 1), 0);
    ASSERT_EQ(r.topics.size(), 2U);
    const auto& parts = r.topics[0].partitions;
    ASSERT_EQ(parts.size(), 2U);
    EXPECT_EQ(parts[0].error_code, ok);
    ASSERT_EQ(parts[0].active_producers.size(), 2U);
    const auto& a = parts[0].active_producers[0];
    EXPECT_EQ(a.producer_id, 12);
    EXPECT_EQ(a.producer_epoch, 2);
    EXPECT_EQ(a.last_sequence, 3);
    EXPECT_EQ(a.last_timestamp, 5000);
    EXPECT_EQ(a.coordinator_epoch, -1);
    EXPECT_EQ(a.current_txn_start_offset, -1);
    EXPECT_EQ(parts[0].active_producers[1].last_sequence, 9);
    EXPECT_EQ(parts[1].error_code, err(error_code::unknown_topic_or_partition));
    EXPECT_EQ(r.topics[1].partitions.at(0).error_code, err(error_code::unknown_topic_or_partition));
}

TEST(produce_wire, acks_zero_failure_closes_the_connection_and_the_broker_keeps_serving) {
    test::running_broker broker;
    {
        new_topic t;
        t.name = "t";
        t.num_partitions = 1;
        ASSERT_TRUE(broker.server().core().admin().create_topic(t, false).result.ok());
    }
    test::raw_client client(broker.port());
    // acks=0, good partition: no answer; the connection stays usable (ApiVersions is answered).
    std::vector<uint8_t> batch = make_batch({});
    produce_request request;
    request.acks = 0;
    request.topic_data.emplace_back();
    request.topic_data[0].name = "t";
    request.topic_data[0].partition_data.emplace_back();
    request.topic_data[0].partition_data[0].records =
        protocol::records_ref{std::span<const uint8_t>(batch), {}};
    ASSERT_TRUE(client.send(test::request_frame(0, 9, 1, request)));
    ASSERT_TRUE(client.send(test::request_frame(18, 0, 2, protocol::api_versions_request{})));
    auto frame = client.read_frame();
    ASSERT_TRUE(frame.has_value());
    EXPECT_EQ(test::parse_response(std::move(*frame), 0).correlation_id, 2);

    // acks=0 to an unknown partition: the broker closes the connection instead of answering.
    request.topic_data[0].partition_data[0].index = 3;
    ASSERT_TRUE(client.send(test::request_frame(0, 9, 3, request)));
    EXPECT_TRUE(client.closed_by_server());
    EXPECT_TRUE(test::broker_answers(broker.port()));
}

}  // namespace
}  // namespace broker::server
