// Fetch (key 1): the handler over real partition logs in a temporary directory (response fields at
// every version, limits, errors, zero-copy splices, sessions, long polling), then an in-process
// broker over TCP (long polling woken by an append, max_wait without data, shutdown during a wait).
//
// Long-polling tests run the handler on a private single-threaded io_context and post their steps
// (append, close, delete) behind it: the fetch runs first and parks on its timer, then each step
// runs, so the order is deterministic and nothing sleeps.
#include "common/asio.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <climits>
#include <functional>
#include <map>
#include <set>
#include <thread>

#include "log/partition_log.h"
#include "protocol/errors.h"
#include "protocol/records.h"
#include "server/handlers/fetch.h"
#include "server/handlers/handlers.h"
#include "server/tests/test_util.h"

namespace broker::server {
namespace {

using protocol::error_code;
using protocol::fetch_request;
using protocol::fetch_response;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

/// The broker id of the fixture's broker.
constexpr node_id self_id{1};

constexpr int16_t err(error_code e) {
    return static_cast<int16_t>(e);
}

protocol::uuid make_uuid(uint8_t seed) {
    protocol::uuid id;
    for (std::size_t i = 0; i < id.bytes.size(); ++i) {
        id.bytes[i] = static_cast<uint8_t>(seed + i);
    }
    return id;
}

/// One v2 batch of `count` records whose values are `value_bytes` bytes of `fill`.
std::vector<uint8_t> make_batch(int count, std::size_t value_bytes, uint8_t fill = 'v') {
    std::vector<protocol::record_data> records;
    for (int i = 0; i < count; ++i) {
        protocol::record_data r;
        r.value = std::vector<uint8_t>(value_bytes, fill);
        r.timestamp = 1'700'000'000'000 + i;
        records.push_back(std::move(r));
    }
    return protocol::build_batch(records, protocol::batch_build_options{});
}

struct batch_info {
    int64_t base_offset;
    int32_t record_count;
    std::size_t size;
};

/// The whole batches in a records field (a trailing partial batch would be ignored, as clients do).
std::vector<batch_info> batches_in(std::span<const uint8_t> records) {
    std::vector<batch_info> out;
    std::size_t pos = 0;
    while (records.size() - pos >= protocol::batch_header_size) {
        const std::size_t length = load_be32(records.data() + pos + 8);
        const std::size_t total = length + protocol::batch_overhead;
        if (records.size() - pos < total) {
            break;
        }
        out.push_back({static_cast<int64_t>(load_be64(records.data() + pos)),
                       static_cast<int32_t>(load_be32(records.data() + pos + 57)), total});
        pos += total;
    }
    return out;
}

/// A fixed set of partitions, findable by name and by id.
class map_lookup final : public fetch_partition_lookup {
public:
    void add(const std::shared_ptr<partition>& p) {
        by_name_[{p->topic(), p->index().value()}] = p;
        by_id_[{p->topic_id(), p->index().value()}] = p;
        ids_.insert(p->topic_id());
    }
    std::shared_ptr<partition> find(std::string_view topic, int32_t index) const override {
        const auto it = by_name_.find({std::string(topic), index});
        return it == by_name_.end() ? nullptr : it->second;
    }
    std::shared_ptr<partition> find(const protocol::uuid& id, int32_t index) const override {
        const auto it = by_id_.find({id, index});
        return it == by_id_.end() ? nullptr : it->second;
    }
    bool topic_id_known(const protocol::uuid& id) const override { return ids_.count(id) != 0; }

private:
    std::map<std::pair<std::string, int32_t>, std::shared_ptr<partition>> by_name_;
    std::map<std::pair<protocol::uuid, int32_t>, std::shared_ptr<partition>> by_id_;
    std::set<protocol::uuid> ids_;
};

/// The response as a client receives it: the spliced regions read back from their files.
struct received {
    response_buffer raw;
    test::parsed_response frame;
    fetch_response body;
};

std::vector<uint8_t> wire_bytes(const response_buffer& response) {
    std::vector<uint8_t> out;
    std::size_t pos = 0;
    for (const protocol::splice& s : response.splices) {
        out.insert(out.end(), response.bytes.begin() + static_cast<std::ptrdiff_t>(pos),
                   response.bytes.begin() + static_cast<std::ptrdiff_t>(s.buffer_offset));
        pos = s.buffer_offset;
        std::vector<uint8_t> region(s.region.length);
        const ssize_t n = ::pread(s.region.fd, region.data(), region.size(), s.region.position);
        EXPECT_EQ(n, static_cast<ssize_t>(region.size()));
        out.insert(out.end(), region.begin(), region.end());
    }
    out.insert(out.end(), response.bytes.begin() + static_cast<std::ptrdiff_t>(pos),
               response.bytes.end());
    return out;
}

fetch_request::fetch_partition fetch_at(int32_t partition, int64_t offset,
                                        int32_t max_bytes = 1 << 20) {
    fetch_request::fetch_partition p;
    p.partition = partition;
    p.fetch_offset = offset;
    p.partition_max_bytes = max_bytes;
    return p;
}

/// A request for (topic, partitions) that answers at once (max_wait 0).
fetch_request request_for(const std::shared_ptr<partition>& p,
                          std::vector<fetch_request::fetch_partition> parts) {
    fetch_request r;
    r.max_wait_ms = 0;
    r.min_bytes = 0;
    fetch_request::fetch_topic t;
    t.topic = p->topic();
    t.topic_id = p->topic_id();
    t.partitions = std::move(parts);
    r.topics.push_back(std::move(t));
    return r;
}

const fetch_response::partition_data& only_partition(const fetch_response& body) {
    EXPECT_EQ(body.responses.size(), 1U);
    EXPECT_EQ(body.responses.at(0).partitions.size(), 1U);
    return body.responses.at(0).partitions.at(0);
}

std::span<const uint8_t> records_of(const fetch_response::partition_data& p) {
    EXPECT_TRUE(p.records.has_value());
    return p.records ? p.records->bytes : std::span<const uint8_t>();
}

/// Appends a 3-record batch (values of 'z') the way the produce path does; returns its size.
std::size_t fetch_test_append(partition& p) {
    std::vector<uint8_t> batch = make_batch(3, 50, 'z');
    const std::size_t size = batch.size();
    const leader_append_result appended = test::append_batch(p, batch);
    EXPECT_TRUE(appended.ok()) << protocol::error_name(appended.error);
    return size;
}

class fetch_test : public ::testing::Test {
protected:
    fetch_test()
        : shards_(1, 1), core_(test::make_config({{"broker.id", "1"}}), "cluster", shards_) {
        core_.set_advertised_endpoints({{"PLAINTEXT", "broker.test", 19092}});
    }

    std::shared_ptr<partition> add_partition(const std::string& topic, uint8_t id_seed,
                                             int32_t index,
                                             std::shared_ptr<const topic_config> config = nullptr) {
        log::partition_log_options options;
        options.dir = dir_.sub(topic + "-" + std::to_string(index));
        options.partition = log::topic_partition{topic, index};
        auto opened = log::partition_log::open(options);
        EXPECT_TRUE(opened.has_value()) << opened.error().message();
        auto p = std::make_shared<partition>(
            topic, make_uuid(id_seed), partition_index{index},
            std::shared_ptr<log::partition_log>(std::move(opened.value())), std::move(config),
            self_id);
        // Led here (broker 1) alone, at epoch 0, as a single node leads its partitions.
        partition_assignment self;
        self.replicas = {self_id};
        self.isr = {self_id};
        self.leader = self_id;
        EXPECT_FALSE(p->become_leader(self));
        lookup_.add(p);
        return p;
    }

    /// Appends one batch the way the produce path does: under the mutex, high watermark to the log
    /// end, then the waiters. Returns the batch size.
    static std::size_t append(partition& p, int count, std::size_t value_bytes,
                              uint8_t fill = 'v') {
        std::vector<uint8_t> batch = make_batch(count, value_bytes, fill);
        const std::size_t size = batch.size();
        const leader_append_result appended = test::append_batch(p, batch);
        EXPECT_TRUE(appended.ok()) << protocol::error_name(appended.error);
        return size;
    }

    /// Runs the handler on a private io_context. `steps` are posted behind the handler's start, so
    /// they run once it has parked (or finished).
    received fetch(int16_t version, const fetch_request& request,
                   std::vector<std::function<void(net::io_context&)>> steps = {},
                   connection_close_signal* closed = nullptr) {
        const auto body = test::body_bytes(version, request);
        protocol::request_header header;
        request_context ctx{
            .broker = core_,
            .header = header,
            .api_key = 1,
            .api_version = version,
            .response_header_version = protocol::response_header_version(1, version),
            .correlation_id = 77,
            .client_id = "",
            .peer = {},
            .listener_name = "PLAINTEXT",
            .shard_id = 0,
            .frame = {},
            .connection_closed = closed};
        net::io_context io;
        std::optional<handler_result> result;
        net::co_spawn(
            io,
            [&]() -> net::awaitable<void> {
                protocol::reader r(body);
                result = co_await serve_fetch(ctx, r, lookup_, sessions_, fetch_max_bytes_);
                done_ = true;
            },
            net::detached);
        done_ = false;
        for (auto& step : steps) {
            net::post(io, [&io, step] { step(io); });
        }
        io.run();
        received out;
        EXPECT_TRUE(result.has_value());
        if (!result) {
            return out;
        }
        EXPECT_FALSE(result->close_connection);
        EXPECT_TRUE(result->response.has_value());
        out.raw = std::move(*result->response);
        std::vector<uint8_t> wire = wire_bytes(out.raw);
        EXPECT_EQ(wire.size(), out.raw.wire_size());
        const uint32_t size = load_be32(wire.data());
        EXPECT_EQ(size, wire.size() - 4);
        out.frame = test::parse_response(std::vector<uint8_t>(wire.begin() + 4, wire.end()),
                                         protocol::response_header_version(1, version));
        EXPECT_EQ(out.frame.correlation_id, 77);
        out.body = test::decode_body<fetch_response>(out.frame, version);
        return out;
    }

    test::temp_dir dir_;
    shard_group shards_;
    broker_core core_;
    map_lookup lookup_;
    fetch_session_cache sessions_{100};
    int32_t fetch_max_bytes_ = 55 * 1024 * 1024;
    bool done_ = false;
};

TEST_F(fetch_test, reads_batches_with_offsets_and_watermarks_at_every_version) {
    const auto p = add_partition("orders", 1, 0);
    for (int i = 0; i < 3; ++i) {
        append(*p, 2, 100);
    }
    for (int16_t version = 4; version <= 17; ++version) {
        SCOPED_TRACE("version " + std::to_string(version));
        const received r = fetch(version, request_for(p, {fetch_at(0, 0)}));
        EXPECT_EQ(r.body.error_code, 0);
        EXPECT_EQ(r.body.session_id, 0);
        ASSERT_EQ(r.body.responses.size(), 1U);
        if (version >= 13) {
            EXPECT_EQ(r.body.responses[0].topic_id, p->topic_id());
        } else {
            EXPECT_EQ(r.body.responses[0].topic, "orders");
        }
        const auto& part = only_partition(r.body);
        EXPECT_EQ(part.partition_index, 0);
        EXPECT_EQ(part.error_code, 0);
        EXPECT_EQ(part.high_watermark, 6);
        EXPECT_EQ(part.last_stable_offset, 6);
        EXPECT_EQ(part.log_start_offset, version >= 5 ? 0 : -1);
        EXPECT_EQ(part.preferred_read_replica, -1);
        EXPECT_FALSE(part.aborted_transactions.has_value()) << "read_uncommitted: null";
        const auto batches = batches_in(records_of(part));
        ASSERT_EQ(batches.size(), 3U);
        EXPECT_EQ(batches[0].base_offset, 0);
        EXPECT_EQ(batches[1].base_offset, 2);
        EXPECT_EQ(batches[2].base_offset, 4);
        EXPECT_EQ(batches[2].record_count, 2);
        EXPECT_TRUE(r.body.node_endpoints.empty());
    }
}

TEST_F(fetch_test, read_committed_reads_to_the_last_stable_offset_with_an_empty_aborted_list) {
    const auto p = add_partition("orders", 1, 0);
    append(*p, 3, 10);
    fetch_request request = request_for(p, {fetch_at(0, 1)});
    request.isolation_level = 1;
    for (int16_t version : {4, 11, 12, 17}) {
        const received part_response = fetch(version, request);
        const auto& part = only_partition(part_response.body);
        EXPECT_EQ(part.last_stable_offset, 3);
        ASSERT_TRUE(part.aborted_transactions.has_value()) << "read_committed: a list, not null";
        EXPECT_TRUE(part.aborted_transactions->empty());
        // Fetching offset 1 starts with the batch that contains it.
        const auto batches = batches_in(records_of(part));
        ASSERT_EQ(batches.size(), 1U);
        EXPECT_EQ(batches[0].base_offset, 0);
    }
}

TEST_F(fetch_test, an_unknown_isolation_level_is_an_invalid_request) {
    const auto p = add_partition("orders", 1, 0);
    fetch_request request = request_for(p, {fetch_at(0, 0)});
    request.isolation_level = 2;
    const received old = fetch(12, request);
    EXPECT_EQ(old.body.error_code, err(error_code::invalid_request));
    EXPECT_EQ(only_partition(old.body).error_code, err(error_code::invalid_request));
    const received recent = fetch(13, request);
    EXPECT_EQ(recent.body.error_code, err(error_code::invalid_request));
    EXPECT_TRUE(recent.body.responses.empty());
}

TEST_F(fetch_test, offsets_outside_the_log_are_out_of_range) {
    const auto p = add_partition("orders", 1, 0);
    append(*p, 2, 10);  // offsets 0-1
    append(*p, 2, 10);  // offsets 2-3

    const received beyond_response = fetch(12, request_for(p, {fetch_at(0, 5)}));
    const auto& beyond = only_partition(beyond_response.body);
    EXPECT_EQ(beyond.error_code, err(error_code::offset_out_of_range));
    EXPECT_EQ(beyond.high_watermark, -1);
    EXPECT_EQ(beyond.log_start_offset, -1);
    EXPECT_TRUE(records_of(beyond).empty());

    // The log end itself is in range: nothing yet.
    const received at_end_response = fetch(12, request_for(p, {fetch_at(0, 4)}));
    const auto& at_end = only_partition(at_end_response.body);
    EXPECT_EQ(at_end.error_code, 0);
    EXPECT_EQ(at_end.high_watermark, 4);
    EXPECT_TRUE(records_of(at_end).empty());

    std::string message;
    ASSERT_EQ(p->delete_records(2, message).first, error_code::none) << message;
    const received below_response = fetch(12, request_for(p, {fetch_at(0, 0)}));
    const auto& below = only_partition(below_response.body);
    EXPECT_EQ(below.error_code, err(error_code::offset_out_of_range));
    const received from_start_response = fetch(12, request_for(p, {fetch_at(0, 2)}));
    const auto& from_start = only_partition(from_start_response.body);
    EXPECT_EQ(from_start.error_code, 0);
    EXPECT_EQ(from_start.log_start_offset, 2);
    EXPECT_EQ(batches_in(records_of(from_start)).size(), 1U);
}

TEST_F(fetch_test, unknown_topics_partitions_and_ids) {
    const auto p = add_partition("orders", 1, 0);
    append(*p, 1, 10);

    fetch_request by_name = request_for(p, {fetch_at(0, 0), fetch_at(7, 0)});
    fetch_request::fetch_topic missing;
    missing.topic = "missing";
    missing.partitions.push_back(fetch_at(0, 0));
    by_name.topics.push_back(missing);
    const received named = fetch(12, by_name);
    ASSERT_EQ(named.body.responses.size(), 2U);
    ASSERT_EQ(named.body.responses[0].partitions.size(), 2U);
    EXPECT_EQ(named.body.responses[0].partitions[0].error_code, 0);
    EXPECT_EQ(named.body.responses[0].partitions[1].error_code,
              err(error_code::unknown_topic_or_partition));
    EXPECT_EQ(named.body.responses[1].topic, "missing");
    EXPECT_EQ(named.body.responses[1].partitions[0].error_code,
              err(error_code::unknown_topic_or_partition));

    fetch_request by_id = request_for(p, {fetch_at(7, 0)});
    fetch_request::fetch_topic unknown_id;
    unknown_id.topic_id = make_uuid(99);
    unknown_id.partitions.push_back(fetch_at(0, 0));
    by_id.topics.push_back(unknown_id);
    fetch_request::fetch_topic zero_id;
    zero_id.partitions.push_back(fetch_at(0, 0));
    by_id.topics.push_back(zero_id);
    const received ids = fetch(13, by_id);
    ASSERT_EQ(ids.body.responses.size(), 3U);
    EXPECT_EQ(ids.body.responses[0].partitions[0].error_code,
              err(error_code::unknown_topic_or_partition));
    EXPECT_EQ(ids.body.responses[1].topic_id, make_uuid(99));
    EXPECT_EQ(ids.body.responses[1].partitions[0].error_code, err(error_code::unknown_topic_id));
    EXPECT_EQ(ids.body.responses[2].partitions[0].error_code, err(error_code::unknown_topic_id));
}

TEST_F(fetch_test, an_oversized_first_batch_is_still_returned_whole) {
    const auto p = add_partition("orders", 1, 0);
    const std::size_t size = append(*p, 1, 5000);
    fetch_request request = request_for(p, {fetch_at(0, 0, /*partition_max_bytes=*/100)});
    request.max_bytes = 100;
    const received part_response = fetch(11, request);
    const auto& part = only_partition(part_response.body);
    EXPECT_EQ(part.error_code, 0);
    const auto batches = batches_in(records_of(part));
    ASSERT_EQ(batches.size(), 1U);
    EXPECT_EQ(batches[0].size, size);
}

TEST_F(fetch_test, max_bytes_spans_partitions_and_only_the_first_batch_may_exceed_it) {
    const auto p0 = add_partition("orders", 1, 0);
    const auto p1 = add_partition("orders", 1, 1);
    const auto empty = add_partition("orders", 1, 2);
    const std::size_t size = append(*p0, 1, 1000);
    append(*p0, 1, 1000);
    append(*p1, 1, 1000);

    // 1.5 batches' worth: p0 gets its first batch, nothing fits for p1.
    fetch_request request = request_for(p0, {fetch_at(0, 0), fetch_at(1, 0)});
    request.max_bytes = static_cast<int32_t>(size + size / 2);
    received r = fetch(11, request);
    ASSERT_EQ(r.body.responses[0].partitions.size(), 2U);
    EXPECT_EQ(batches_in(records_of(r.body.responses[0].partitions[0])).size(), 1U);
    const auto& starved = r.body.responses[0].partitions[1];
    EXPECT_EQ(starved.error_code, 0);
    EXPECT_EQ(starved.high_watermark, 1);
    EXPECT_TRUE(records_of(starved).empty());

    // Room for two and a half: p0 gets both, p1 still nothing.
    request.max_bytes = static_cast<int32_t>(2 * size + size / 2);
    r = fetch(11, request);
    EXPECT_EQ(batches_in(records_of(r.body.responses[0].partitions[0])).size(), 2U);
    EXPECT_TRUE(records_of(r.body.responses[0].partitions[1]).empty());

    // An empty partition first does not use up the "one whole batch" allowance.
    request = request_for(empty, {fetch_at(2, 0), fetch_at(1, 0)});
    request.max_bytes = 10;
    r = fetch(11, request);
    EXPECT_TRUE(records_of(r.body.responses[0].partitions[0]).empty());
    EXPECT_EQ(batches_in(records_of(r.body.responses[0].partitions[1])).size(), 1U);
}

TEST_F(fetch_test, partition_max_bytes_bounds_each_partition) {
    const auto p = add_partition("orders", 1, 0);
    const std::size_t size = append(*p, 1, 1000);
    append(*p, 1, 1000);
    append(*p, 1, 1000);
    const auto limit = static_cast<int32_t>(2 * size + 10);
    const received part_response = fetch(11, request_for(p, {fetch_at(0, 0, limit)}));
    const auto& part = only_partition(part_response.body);
    EXPECT_EQ(batches_in(records_of(part)).size(), 2U);
}

TEST_F(fetch_test, fetch_max_bytes_caps_the_request) {
    const auto p = add_partition("orders", 1, 0);
    const std::size_t size = append(*p, 1, 1000);
    append(*p, 1, 1000);
    fetch_max_bytes_ = static_cast<int32_t>(size + 10);
    fetch_request request = request_for(p, {fetch_at(0, 0)});
    request.max_bytes = INT32_MAX;
    EXPECT_EQ(batches_in(records_of(only_partition(fetch(11, request).body))).size(), 1U);
}

TEST_F(fetch_test, records_are_spliced_from_the_segment_file_not_copied) {
    const auto p = add_partition("orders", 1, 0);
    const std::size_t size = append(*p, 1, 4000, 0xAB);
    const received r = fetch(12, request_for(p, {fetch_at(0, 0)}));
    ASSERT_EQ(r.raw.splices.size(), 1U);
    EXPECT_EQ(r.raw.splices[0].region.length, size);
    EXPECT_EQ(r.raw.splices[0].region.position, 0);
    EXPECT_LT(r.raw.bytes.size(), 200U) << "record bytes must not be in the response buffer";
    struct stat spliced {};
    struct stat segment {};
    ASSERT_EQ(::fstat(r.raw.splices[0].region.fd, &spliced), 0);
    ASSERT_EQ(::stat((dir_.sub("orders-0") + "/00000000000000000000.log").c_str(), &segment), 0);
    EXPECT_EQ(spliced.st_ino, segment.st_ino);
    EXPECT_NE(r.raw.splices[0].region.owner, nullptr) << "the region keeps its file open";
    const auto records = records_of(only_partition(r.body));
    ASSERT_EQ(records.size(), size);
    EXPECT_EQ(records.back(), 0) << "no headers: the last byte is the header count";
    EXPECT_EQ(records[records.size() - 2], 0xAB);
}

TEST_F(fetch_test, current_leader_epoch_is_checked) {
    const auto p = add_partition("orders", 1, 0);
    append(*p, 1, 10);
    auto with_epoch = [&](int32_t epoch) {
        fetch_request::fetch_partition part = fetch_at(0, 0);
        part.current_leader_epoch = epoch;
        return only_partition(fetch(12, request_for(p, {part})).body).error_code;
    };
    EXPECT_EQ(with_epoch(-1), 0);
    EXPECT_EQ(with_epoch(0), 0);
    EXPECT_EQ(with_epoch(1), err(error_code::unknown_leader_epoch));
}

TEST_F(fetch_test, replica_fetches_are_refused_with_a_leader_hint_from_v16) {
    const auto p = add_partition("orders", 1, 0);
    append(*p, 1, 10);
    fetch_request request = request_for(p, {fetch_at(0, 0)});
    request.max_wait_ms = 10'000;  // an error answers at once
    request.min_bytes = 1;
    request.replica_state.replica_id = 2;
    const received recent = fetch(16, request);
    const auto& part = only_partition(recent.body);
    EXPECT_EQ(part.error_code, err(error_code::not_leader_or_follower));
    EXPECT_EQ(part.current_leader.leader_id, 1);
    EXPECT_EQ(part.current_leader.leader_epoch, 0);
    ASSERT_EQ(recent.body.node_endpoints.size(), 1U);
    EXPECT_EQ(recent.body.node_endpoints[0].node_id, 1);
    EXPECT_EQ(recent.body.node_endpoints[0].host, "broker.test");
    EXPECT_EQ(recent.body.node_endpoints[0].port, 19092);

    request.replica_state = {};
    request.replica_id = 2;
    const received old = fetch(12, request);
    EXPECT_EQ(only_partition(old.body).error_code, err(error_code::not_leader_or_follower));
    EXPECT_EQ(only_partition(old.body).current_leader.leader_id, -1) << "leader hints are v16+";
}

TEST_F(fetch_test, zstd_topics_need_fetch_v10) {
    auto config = std::make_shared<topic_config>();
    config->compression_type = "zstd";
    const auto p = add_partition("packed", 3, 0, config);
    append(*p, 1, 10);
    EXPECT_EQ(only_partition(fetch(9, request_for(p, {fetch_at(0, 0)})).body).error_code,
              err(error_code::unsupported_compression_type));
    EXPECT_EQ(only_partition(fetch(10, request_for(p, {fetch_at(0, 0)})).body).error_code, 0);
}

TEST_F(fetch_test, a_diverging_last_fetched_epoch_is_reported_at_once) {
    const auto p = add_partition("orders", 1, 0);
    append(*p, 2, 10);
    append(*p, 2, 10);  // offsets 0-3 in leader epoch 0
    {
        // Offsets 4-5 in epoch 2, as if leadership had moved twice.
        partition_assignment again;
        again.leader_epoch = leader_epoch_t{2};
        again.replicas = {self_id};
        again.isr = {self_id};
        again.leader = self_id;
        ASSERT_FALSE(p->become_leader(again));
        std::vector<uint8_t> batch = make_batch(2, 10);
        ASSERT_TRUE(test::append_batch(*p, batch).ok());
    }
    // The fetcher claims epoch 1 up to offset 5; this log's epoch 0 ended at 4.
    fetch_request::fetch_partition part = fetch_at(0, 5);
    part.last_fetched_epoch = 1;
    fetch_request request = request_for(p, {part});
    request.max_wait_ms = 10'000;
    request.min_bytes = 1;
    bool answered_before_steps = false;
    const received r =
        fetch(12, request, {[&](net::io_context&) { answered_before_steps = done_; }});
    EXPECT_TRUE(answered_before_steps) << "a diverging epoch is answered without waiting";
    const auto& diverged = only_partition(r.body);
    EXPECT_EQ(diverged.error_code, 0);
    EXPECT_EQ(diverged.diverging_epoch.epoch, 0);
    EXPECT_EQ(diverged.diverging_epoch.end_offset, 4);
    EXPECT_EQ(diverged.high_watermark, 6);
    EXPECT_TRUE(records_of(diverged).empty());

    // An epoch newer than any this log knows cannot be placed.
    part.last_fetched_epoch = 3;
    EXPECT_EQ(only_partition(fetch(12, request_for(p, {part})).body).error_code,
              err(error_code::offset_out_of_range));

    // Consistent history: an ordinary read.
    part.last_fetched_epoch = 0;
    part.fetch_offset = 2;
    const received fine_response = fetch(12, request_for(p, {part}));
    const auto& fine = only_partition(fine_response.body);
    EXPECT_EQ(fine.diverging_epoch.epoch, -1);
    EXPECT_EQ(batches_in(records_of(fine)).size(), 2U);
}

TEST_F(fetch_test, sessions_answer_only_partitions_with_news) {
    const auto p0 = add_partition("orders", 1, 0);
    const auto p1 = add_partition("orders", 1, 1);
    append(*p0, 1, 10);
    append(*p1, 1, 10);

    fetch_request create = request_for(p0, {fetch_at(0, 0), fetch_at(1, 0)});
    create.session_id = 0;
    create.session_epoch = 0;
    const received first = fetch(7, create);
    const int32_t id = first.body.session_id;
    ASSERT_NE(id, 0);
    ASSERT_EQ(first.body.responses.at(0).partitions.size(), 2U);

    // Move both offsets to the end: nothing new to say.
    fetch_request next = request_for(p0, {fetch_at(0, 1), fetch_at(1, 1)});
    next.session_id = id;
    next.session_epoch = 1;
    const received quiet = fetch(7, next);
    EXPECT_EQ(quiet.body.session_id, id);
    EXPECT_EQ(quiet.body.error_code, 0);
    EXPECT_TRUE(quiet.body.responses.empty());

    // New data in p1 only: the session remembers the offsets, the request lists nothing.
    append(*p1, 1, 10);
    fetch_request incremental;
    incremental.session_id = id;
    incremental.session_epoch = 2;
    const received news = fetch(7, incremental);
    ASSERT_EQ(news.body.responses.size(), 1U);
    ASSERT_EQ(news.body.responses[0].partitions.size(), 1U);
    EXPECT_EQ(news.body.responses[0].partitions[0].partition_index, 1);
    EXPECT_EQ(news.body.responses[0].partitions[0].high_watermark, 2);
    EXPECT_EQ(batches_in(records_of(news.body.responses[0].partitions[0])).size(), 1U);

    // Forget p1; its next append is no news for this session.
    fetch_request forget;
    forget.session_id = id;
    forget.session_epoch = 3;
    fetch_request::forgotten_topic gone;
    gone.topic = "orders";
    gone.partitions = {1};
    forget.forgotten_topics_data.push_back(gone);
    // p1 was answered last time with records at offset 1, but the session keeps the requested
    // fetch offset (1), so it would be answered again: forgetting it removes it from the answer.
    const received after_forget = fetch(7, forget);
    EXPECT_TRUE(after_forget.body.responses.empty());
    append(*p1, 1, 10);
    incremental.session_epoch = 4;
    EXPECT_TRUE(fetch(7, incremental).body.responses.empty());

    // A stale epoch is refused at the top level, with no partitions and no session id.
    incremental.session_epoch = 2;
    const received stale = fetch(7, incremental);
    EXPECT_EQ(stale.body.error_code, err(error_code::invalid_fetch_session_epoch));
    EXPECT_EQ(stale.body.session_id, 0);
    EXPECT_TRUE(stale.body.responses.empty());

    incremental.session_id = id + 1;
    EXPECT_EQ(fetch(7, incremental).body.error_code, err(error_code::fetch_session_id_not_found));
}

TEST_F(fetch_test, topic_id_sessions_cannot_continue_by_name) {
    const auto p = add_partition("orders", 1, 0);
    append(*p, 1, 10);
    fetch_request create = request_for(p, {fetch_at(0, 0)});
    create.session_epoch = 0;
    const received first = fetch(13, create);
    ASSERT_NE(first.body.session_id, 0);
    EXPECT_EQ(first.body.responses.at(0).topic_id, p->topic_id());

    fetch_request by_name;
    by_name.session_id = first.body.session_id;
    by_name.session_epoch = 1;
    EXPECT_EQ(fetch(12, by_name).body.error_code, err(error_code::fetch_session_topic_id_error));
    // The refused request did not advance the session: epoch 1 by id still works.
    const received by_id = fetch(13, by_name);
    EXPECT_EQ(by_id.body.error_code, 0);
    EXPECT_EQ(by_id.body.session_id, first.body.session_id);
}

// ---- long polling

TEST_F(fetch_test, a_waiting_fetch_returns_when_data_arrives) {
    const auto p = add_partition("orders", 1, 0);
    fetch_request request = request_for(p, {fetch_at(0, 0)});
    request.max_wait_ms = 10'000;
    request.min_bytes = 1;
    bool parked = false;
    const auto start = steady_clock::now();
    const received r = fetch(12, request, {[&](net::io_context&) {
                                 parked = !done_;
                                 append(*p, 1, 100);
                             }});
    EXPECT_TRUE(parked) << "the fetch should have been waiting when the append came";
    EXPECT_LT(steady_clock::now() - start, std::chrono::seconds(5))
        << "woken by the append, not the timer";
    const auto batches = batches_in(records_of(only_partition(r.body)));
    ASSERT_EQ(batches.size(), 1U);
    EXPECT_EQ(only_partition(r.body).high_watermark, 1);
}

TEST_F(fetch_test, a_waiting_fetch_keeps_waiting_until_min_bytes) {
    const auto p = add_partition("orders", 1, 0);
    const std::size_t size = make_batch(1, 500).size();
    fetch_request request = request_for(p, {fetch_at(0, 0)});
    request.max_wait_ms = 10'000;
    request.min_bytes = static_cast<int32_t>(size + 1);
    bool parked_after_first = false;
    // The first append wakes the fetch, which finds too little and parks again (the wake was
    // posted before the second step, so it runs first); the second append completes it.
    const received r = fetch(12, request, {[&](net::io_context& io) {
                                 append(*p, 1, 500);
                                 net::post(io, [&] {
                                     parked_after_first = !done_;
                                     append(*p, 1, 500);
                                 });
                             }});
    EXPECT_TRUE(parked_after_first) << "one batch is below min_bytes: the fetch must keep waiting";
    EXPECT_EQ(batches_in(records_of(only_partition(r.body))).size(), 2U);
}

TEST_F(fetch_test, a_fetch_without_data_returns_after_max_wait) {
    const auto p = add_partition("orders", 1, 0);
    fetch_request request = request_for(p, {fetch_at(0, 0)});
    request.max_wait_ms = 150;
    request.min_bytes = 1;
    const auto start = steady_clock::now();
    const received r = fetch(12, request);
    // A steady timer never fires early, so this bound is exact, not a timing guess.
    EXPECT_GE(steady_clock::now() - start, milliseconds(150));
    const auto& part = only_partition(r.body);
    EXPECT_EQ(part.error_code, 0);
    EXPECT_TRUE(records_of(part).empty());
}

TEST_F(fetch_test, a_waiting_fetch_ends_when_its_connection_closes) {
    const auto p = add_partition("orders", 1, 0);
    fetch_request request = request_for(p, {fetch_at(0, 0)});
    request.max_wait_ms = 60'000;
    request.min_bytes = 1;
    connection_close_signal closed;
    bool parked = false;
    const auto start = steady_clock::now();
    const received r = fetch(12, request, {[&](net::io_context&) {
                                 parked = !done_;
                                 closed.fire();
                             }},
                             &closed);
    EXPECT_TRUE(parked);
    EXPECT_LT(steady_clock::now() - start, std::chrono::seconds(30));
    EXPECT_TRUE(records_of(only_partition(r.body)).empty());
}

TEST_F(fetch_test, a_waiting_fetch_ends_when_its_partition_is_deleted) {
    const auto p = add_partition("orders", 1, 0);
    fetch_request request = request_for(p, {fetch_at(0, 0)});
    request.max_wait_ms = 60'000;
    request.min_bytes = 1;
    bool parked = false;
    const auto start = steady_clock::now();
    const received r = fetch(12, request, {[&](net::io_context&) {
                                 parked = !done_;
                                 p->stop([] { return std::error_code{}; });
                             }});
    EXPECT_TRUE(parked);
    EXPECT_LT(steady_clock::now() - start, std::chrono::seconds(30));
    EXPECT_EQ(only_partition(r.body).error_code, err(error_code::unknown_topic_or_partition));
}

TEST_F(fetch_test, an_unknown_partition_alone_does_not_wait) {
    const auto p = add_partition("orders", 1, 0);
    fetch_request request = request_for(p, {fetch_at(9, 0)});
    request.max_wait_ms = 60'000;
    request.min_bytes = 1;
    bool answered_before_steps = false;
    const received r =
        fetch(12, request, {[&](net::io_context&) { answered_before_steps = done_; }});
    EXPECT_TRUE(answered_before_steps);
    EXPECT_EQ(only_partition(r.body).error_code, err(error_code::unknown_topic_or_partition));
}

TEST_F(fetch_test, an_incremental_fetch_waits_on_every_session_partition) {
    const auto p0 = add_partition("orders", 1, 0);
    const auto p1 = add_partition("orders", 1, 1);
    fetch_request create = request_for(p0, {fetch_at(0, 0), fetch_at(1, 0)});
    create.session_epoch = 0;
    const int32_t id = fetch(12, create).body.session_id;
    ASSERT_NE(id, 0);

    fetch_request incremental;  // lists nothing: the session knows both partitions
    incremental.session_id = id;
    incremental.session_epoch = 1;
    incremental.max_wait_ms = 10'000;
    incremental.min_bytes = 1;
    bool parked = false;
    const received r = fetch(12, incremental, {[&](net::io_context&) {
                                 parked = !done_;
                                 append(*p1, 1, 10);
                             }});
    EXPECT_TRUE(parked);
    ASSERT_EQ(r.body.responses.size(), 1U);
    ASSERT_EQ(r.body.responses[0].partitions.size(), 1U);
    EXPECT_EQ(r.body.responses[0].partitions[0].partition_index, 1);
}

// ---- an in-process broker over TCP (2 shards; appends come from the test thread, as from another
// connection's produce)

class fetch_broker_test : public ::testing::Test {
protected:
    std::shared_ptr<partition> create_topic(const std::string& name) {
        new_topic topic;
        topic.name = name;
        topic.num_partitions = 1;
        const created_topic created = broker_.server().core().admin().create_topic(topic, false);
        EXPECT_TRUE(created.result.ok()) << created.result.message.value_or("");
        return broker_.server().core().find_partition(name, 0);
    }

    fetch_request wait_request(const std::string& topic, int32_t max_wait_ms) {
        fetch_request r;
        r.max_wait_ms = max_wait_ms;
        r.min_bytes = 1;
        r.isolation_level = 1;
        fetch_request::fetch_topic t;
        t.topic = topic;
        t.partitions.push_back(fetch_at(0, 0));
        r.topics.push_back(std::move(t));
        return r;
    }

    /// True once a fetch is parked on `p` (a delayed operation watches it) and, parked, holds no
    /// request memory: its frame was released when it started waiting.
    bool parked_on(const partition& p, int64_t idle_budget) {
        return test::wait_for([&] { return p.watchers() > 0; }) &&
               broker_.server().request_memory_available() == idle_budget;
    }

    test::running_broker broker_;
};

TEST_F(fetch_broker_test, a_parked_fetch_is_answered_when_a_batch_arrives) {
    const auto p = create_topic("waiting");
    ASSERT_NE(p, nullptr);
    test::raw_client client(broker_.port(), std::chrono::seconds(30));
    const int64_t idle = broker_.server().request_memory_available();
    const auto start = steady_clock::now();
    ASSERT_TRUE(client.send(test::request_frame(1, 12, 5, wait_request("waiting", 10'000))));
    ASSERT_TRUE(parked_on(*p, idle));
    const std::size_t size = fetch_test_append(*p);
    const auto frame = client.read_frame();
    ASSERT_TRUE(frame.has_value()) << client.last_error().message();
    EXPECT_LT(steady_clock::now() - start, std::chrono::seconds(5))
        << "woken by the append, not the timer";
    const auto response = test::parse_response(*frame, 1);
    EXPECT_EQ(response.correlation_id, 5);
    const auto body = test::decode_body<fetch_response>(response, 12);
    const auto& part = only_partition(body);
    EXPECT_EQ(part.error_code, 0);
    EXPECT_EQ(part.high_watermark, 3);
    ASSERT_TRUE(part.aborted_transactions.has_value());
    // The batch came through sendfile intact.
    const auto records = records_of(part);
    ASSERT_EQ(records.size(), size);
    const auto batches = batches_in(records);
    ASSERT_EQ(batches.size(), 1U);
    EXPECT_EQ(batches[0].record_count, 3);
    EXPECT_EQ(records[records.size() - 2], 'z');
}

TEST_F(fetch_broker_test, a_fetch_without_data_is_answered_after_max_wait) {
    ASSERT_NE(create_topic("quiet"), nullptr);
    test::raw_client client(broker_.port(), std::chrono::seconds(30));
    const auto start = steady_clock::now();
    ASSERT_TRUE(client.send(test::request_frame(1, 11, 6, wait_request("quiet", 200))));
    const auto frame = client.read_frame();
    ASSERT_TRUE(frame.has_value()) << client.last_error().message();
    EXPECT_GE(steady_clock::now() - start, milliseconds(200));
    const auto body = test::decode_body<fetch_response>(test::parse_response(*frame, 0), 11);
    EXPECT_EQ(only_partition(body).error_code, 0);
    EXPECT_TRUE(records_of(only_partition(body)).empty());
}

TEST_F(fetch_broker_test, shutdown_ends_a_parked_fetch) {
    const auto p = create_topic("parked");
    ASSERT_NE(p, nullptr);
    test::raw_client client(broker_.port(), std::chrono::seconds(60));
    const int64_t idle = broker_.server().request_memory_available();
    ASSERT_TRUE(client.send(test::request_frame(1, 12, 7, wait_request("parked", 120'000))));
    ASSERT_TRUE(parked_on(*p, idle));
    const auto start = steady_clock::now();
    broker_.server().stop(std::chrono::seconds(60));
    // Without the wake-up the drain would wait for the fetch's two minutes, then give up at 60 s.
    EXPECT_LT(steady_clock::now() - start, std::chrono::seconds(30));
    EXPECT_EQ(broker_.server().live_connections(), 0U);
    EXPECT_TRUE(client.closed_by_server());
}

}  // namespace
}  // namespace broker::server
