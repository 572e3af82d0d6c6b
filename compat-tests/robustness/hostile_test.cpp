// Hostile and broken input against the real broker process, one test per case, with a
// well-behaved librdkafka producer and consumer running alongside (steady_traffic). Every test
// asserts what the attacking socket sees (closed, or an error response, or held open as Kafka
// holds it), that the well-behaved client keeps making round trips during and after the attack,
// and that it recorded no error and no stall. docs/reliability.md describes each case.
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include <iostream>
#include <memory>
#include <random>
#include <thread>

#include "compat-tests/cpp/broker_fixture.h"
#include "compat-tests/robustness/hostile_traffic.h"
#include "compat-tests/robustness/raw_socket.h"

namespace broker::compat::robustness {
namespace {

using namespace std::chrono_literals;

constexpr int32_t request_max_bytes = 1 << 20;  // socket.request.max.bytes for these brokers

bytes be32(int32_t v) {
    bytes out;
    put_int32(out, v);
    return out;
}

bool closed_or_reset(peer_event e) {
    return e == peer_event::closed || e == peer_event::reset;
}

// One broker and one steady_traffic per test. TearDown checks the well-behaved client once more.
class hostile : public ::testing::Test {
protected:
    virtual std::map<std::string, std::string> overrides() const {
        return {{"socket.request.max.bytes", std::to_string(request_max_bytes)},
                {"num.shards", "2"}};
    }

    void SetUp() override {
        broker_ = std::make_unique<broker_process>(overrides());
        broker_->start();
        traffic_ = std::make_unique<steady_traffic>(broker_->bootstrap(), "steady");
        ASSERT_TRUE(traffic_->wait_for_round_trips(2)) << problems();
    }

    void TearDown() override {
        if (traffic_) {
            expect_traffic_flows();
            traffic_->stop();
        }
        traffic_.reset();
        if (broker_) {
            if (HasFailure()) {
                const std::string out = broker_->output();
                std::cerr << "broker output (tail):\n"
                          << out.substr(out.size() > 4000 ? out.size() - 4000 : 0);
            }
            const int status = broker_->stop();
            EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
                << "broker did not exit cleanly (status " << status << ")\n"
                << broker_->output();
        }
    }

    std::string problems() const {
        std::string out;
        for (const auto& p : traffic_->problems()) {
            out += p + "\n";
        }
        return out;
    }

    /// The well-behaved client completes a few more round trips, and has seen no problem.
    void expect_traffic_flows() {
        EXPECT_TRUE(traffic_->wait_for_round_trips(3)) << problems();
        EXPECT_TRUE(traffic_->problems().empty()) << problems();
    }

    raw_socket connect() { return raw_socket(broker_->port()); }

    /// Sends `data` on a fresh connection and expects the broker to close it without answering.
    void expect_closed_after(const bytes& data) {
        raw_socket s = connect();
        ASSERT_TRUE(s.send_all(data));
        const peer_event e = s.wait(10s);
        EXPECT_TRUE(closed_or_reset(e)) << "socket saw " << to_string(e);
    }

    std::unique_ptr<broker_process> broker_;
    std::unique_ptr<steady_traffic> traffic_;
};

// ---- framing -------------------------------------------------------------------------------

TEST_F(hostile, length_prefix_over_socket_request_max_bytes_closes) {
    expect_closed_after(be32(request_max_bytes + 1));
    expect_closed_after(be32(INT32_MAX));
    // The body may follow at once; the broker still closes without reading it into memory.
    bytes with_body = be32(request_max_bytes + 1);
    with_body.resize(4 + 64 * 1024, 0x41);
    expect_closed_after(with_body);
    expect_traffic_flows();
}

TEST_F(hostile, negative_length_prefix_closes) {
    expect_closed_after(be32(-1));
    expect_closed_after(be32(INT32_MIN));
    expect_traffic_flows();
}

TEST_F(hostile, frame_cut_short_is_held_open_then_completed) {
    // Kafka keeps waiting for the rest of a frame (only connections.max.idle.ms ends it).
    const bytes frame = api_versions_v0_frame(41);
    raw_socket s = connect();
    ASSERT_TRUE(s.send_all(std::span<const uint8_t>(frame).first(frame.size() - 3)));
    EXPECT_TRUE(traffic_->wait_for_round_trips(3)) << problems();
    EXPECT_EQ(s.wait(0ms), peer_event::nothing);  // open, and nothing was answered
    // The rest arrives: the request is answered as if it had come at once.
    ASSERT_TRUE(s.send_all(std::span<const uint8_t>(frame).last(3)));
    const auto answer = s.read_frame(10s);
    ASSERT_TRUE(answer.has_value());
    const auto parsed = parse_api_versions_response(*answer);
    ASSERT_TRUE(parsed.has_value());
    EXPECT_EQ(parsed->correlation_id, 41);
    EXPECT_EQ(parsed->error_code, 0);
}

TEST_F(hostile, frame_cut_short_and_abandoned_frees_the_connection) {
    const int sockets_before = proc_socket_count(broker_->pid());
    {
        raw_socket s = connect();
        ASSERT_TRUE(s.send_all(std::span<const uint8_t>(api_versions_v0_frame(1)).first(7)));
        EXPECT_TRUE(traffic_->wait_for_round_trips(1)) << problems();
    }
    // The broker notices the close while waiting for the body and releases the socket.
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (proc_socket_count(broker_->pid()) > sockets_before &&
           std::chrono::steady_clock::now() < deadline) {
        traffic_->wait_for_round_trips(1, 200ms);
    }
    EXPECT_LE(proc_socket_count(broker_->pid()), sockets_before);
}

TEST_F(hostile, slowloris_clients_do_not_hold_up_others) {
    // 32 connections each send an ApiVersions request one byte at a time, one byte per 300 ms on
    // every connection. The broker must keep serving the well-behaved client meanwhile and answer
    // every trickled request once complete.
    constexpr int connections = 32;
    const bytes frame = request_frame(18, 0, 7, {}, false, /*client_id=*/"");  // 14 bytes
    std::vector<raw_socket> slow;
    for (int i = 0; i < connections; ++i) {
        slow.push_back(connect());
    }
    const uint64_t before = traffic_->round_trips();
    for (std::size_t b = 0; b < frame.size(); ++b) {
        for (raw_socket& s : slow) {
            ASSERT_TRUE(s.send_all(std::span<const uint8_t>(frame).subspan(b, 1)));
        }
        // The pause is the attack itself (a slow sender), not synchronisation; the well-behaved
        // client runs during it.
        std::this_thread::sleep_for(300ms);
        if (b + 1 < frame.size()) {
            EXPECT_EQ(slow.front().wait(0ms), peer_event::nothing);
        }
    }
    EXPECT_GE(traffic_->round_trips(), before + 3) << "the well-behaved client stalled\n"
                                                   << problems();
    for (raw_socket& s : slow) {
        const auto answer = s.read_frame(10s);
        ASSERT_TRUE(answer.has_value());
        EXPECT_EQ(parse_api_versions_response(*answer)->correlation_id, 7);
    }
    expect_traffic_flows();
}

// ---- headers -------------------------------------------------------------------------------

TEST_F(hostile, unknown_api_key_closes) {
    expect_closed_after(request_frame(32000, 0, 1, {}));
    expect_closed_after(request_frame(-5, 0, 1, {}));
    expect_traffic_flows();
}

TEST_F(hostile, unsupported_version_closes_except_api_versions) {
    // Metadata v999: Kafka cannot parse the request and closes.
    expect_closed_after(request_frame(3, 999, 1, {}));
    // ApiVersions v999 is answered (KIP-511) with UNSUPPORTED_VERSION in a v0 response.
    raw_socket s = connect();
    // Versions past the newest are read with the flexible header (v2), as Kafka reads them.
    ASSERT_TRUE(s.send_all(request_frame(18, 999, 9, {}, /*flexible_header=*/true)));
    const auto answer = s.read_frame(10s);
    ASSERT_TRUE(answer.has_value());
    const auto parsed = parse_api_versions_response(*answer);
    ASSERT_TRUE(parsed.has_value());
    EXPECT_EQ(parsed->correlation_id, 9);
    EXPECT_EQ(parsed->error_code, 35);
    expect_traffic_flows();
}

TEST_F(hostile, valid_header_with_garbage_body_closes) {
    // Produce v3 whose transactional id length is 0xdead (negative, not -1).
    bytes garbage{0xde, 0xad, 0xbe, 0xef, 0x01, 0x02, 0x03};
    expect_closed_after(request_frame(0, 3, 1, garbage));
    // Seeded random bodies for Metadata v1, Produce v3 and FindCoordinator v1: each must be closed
    // or answered, never crash the broker or hang the connection.
    std::mt19937 random(20261125);
    for (const auto& [key, version] : {std::pair<int16_t, int16_t>{3, 1}, {0, 3}, {10, 1}}) {
        for (int round = 0; round < 8; ++round) {
            bytes body(1 + random() % 200);
            for (uint8_t& b : body) {
                b = static_cast<uint8_t>(random());
            }
            raw_socket s = connect();
            ASSERT_TRUE(s.send_all(request_frame(key, version, 1, body)));
            const peer_event e = s.wait(10s);
            EXPECT_NE(e, peer_event::nothing) << "key " << key << " round " << round;
        }
    }
    expect_traffic_flows();
}

TEST_F(hostile, counts_and_lengths_larger_than_the_frame_close) {
    // Metadata v1 whose topic array claims INT32_MAX entries.
    expect_closed_after(request_frame(3, 1, 1, be32(INT32_MAX)));
    // Metadata v1 with one topic whose name claims 32767 bytes of the 3 that follow.
    bytes name_too_long = be32(1);
    put_int16(name_too_long, 32767);
    name_too_long.insert(name_too_long.end(), {'a', 'b', 'c'});
    expect_closed_after(request_frame(3, 1, 1, name_too_long));
    // A request header whose client id claims 32767 bytes.
    bytes header{0, 18, 0, 0, 0, 0, 0, 1, 0x7f, 0xff, 'x'};
    bytes client_id_too_long = be32(static_cast<int32_t>(header.size()));
    client_id_too_long.insert(client_id_too_long.end(), header.begin(), header.end());
    expect_closed_after(client_id_too_long);
    // Produce v3 whose records field claims INT32_MAX bytes.
    bytes records_too_long;
    put_int16(records_too_long, -1);
    put_int16(records_too_long, 1);
    put_int32(records_too_long, 1000);
    put_int32(records_too_long, 1);
    put_string(records_too_long, "steady");
    put_int32(records_too_long, 1);
    put_int32(records_too_long, 0);
    put_int32(records_too_long, INT32_MAX);
    expect_closed_after(request_frame(0, 3, 1, records_too_long));
    // Metadata v9 (flexible): a compact array length varint of 2^32 - 1.
    bytes compact_count{0xff, 0xff, 0xff, 0xff, 0x0f};
    expect_closed_after(request_frame(3, 9, 1, compact_count, /*flexible_header=*/true));
    // Produce v3 with a topic array of 2^31 - 1 entries.
    bytes topics_too_many;
    put_int16(topics_too_many, -1);
    put_int16(topics_too_many, 1);
    put_int32(topics_too_many, 1000);
    put_int32(topics_too_many, INT32_MAX);
    expect_closed_after(request_frame(0, 3, 1, topics_too_many));
    expect_traffic_flows();
}

// ---- record batches --------------------------------------------------------------------------

struct corrupt_case {
    const char* name;
    void (*damage)(bytes& batch);
    int16_t expected_error;
};

void flip_crc(bytes& b) {
    b[batch_crc_offset] ^= 0x5a;
}

void wrong_record_count(bytes& b) {
    b[batch_record_count_offset + 3] = 3;  // one record present, three declared
    reseal_batch(b);
}

void length_past_the_end(bytes& b) {
    b[batch_length_offset + 2] += 1;  // 256 bytes more than were sent
}

void negative_length(bytes& b) {
    b[batch_length_offset] = 0xff;
}

void garbage_gzip_payload(bytes& b) {
    b[batch_attributes_offset + 1] |= 0x01;  // gzip; the records are not a gzip stream
    reseal_batch(b);
}

void garbage_lz4_payload(bytes& b) {
    b[batch_attributes_offset + 1] |= 0x03;
    reseal_batch(b);
}

TEST_F(hostile, corrupt_record_batches_are_refused_and_nothing_is_written) {
    // Kafka's answers: CRC, framing and decompression damage is CORRUPT_MESSAGE (2); a batch whose
    // declared record count disagrees with its offsets, or that does not fit in the records field
    // (no complete batch), is INVALID_RECORD (87). Produce v3 answers per partition and keeps the
    // connection open.
    const std::vector<corrupt_case> cases = {
        {"bad CRC", flip_crc, 2},
        {"wrong record count", wrong_record_count, 87},
        {"batch length past the end", length_past_the_end, 87},
        {"negative batch length", negative_length, 2},
        {"garbage gzip payload", garbage_gzip_payload, 2},
        {"garbage lz4 payload", garbage_lz4_payload, 2},
    };
    const std::string topic = "hostile-produce";
    ASSERT_TRUE(ensure_topic(traffic_->producer(), topic));
    raw_socket s = connect();
    int32_t correlation = 100;
    for (const corrupt_case& c : cases) {
        SCOPED_TRACE(c.name);
        bytes batch = record_batch({"should-not-be-stored"});
        c.damage(batch);
        ASSERT_TRUE(
            s.send_all(request_frame(0, 3, ++correlation, produce_v3_body(topic, 0, batch))));
        const auto answer = s.read_frame(10s);
        ASSERT_TRUE(answer.has_value()) << "connection closed instead of an error response";
        const auto parsed = parse_produce_v3_response(*answer);
        ASSERT_TRUE(parsed.has_value());
        EXPECT_EQ(parsed->correlation_id, correlation);
        EXPECT_EQ(parsed->error_code, c.expected_error);
        EXPECT_EQ(parsed->base_offset, -1);
        // ListOffsets: nothing was appended.
        int64_t low = -1;
        int64_t high = -1;
        ASSERT_EQ(rd_kafka_query_watermark_offsets(traffic_->producer(), topic.c_str(), 0, &low,
                                                   &high, 10000),
                  RD_KAFKA_RESP_ERR_NO_ERROR);
        EXPECT_EQ(low, 0);
        EXPECT_EQ(high, 0);
    }
    // A sound batch on the same connection lands at offset 0, and Fetch returns only it.
    ASSERT_TRUE(s.send_all(
        request_frame(0, 3, ++correlation, produce_v3_body(topic, 0, record_batch({"good"})))));
    const auto answer = s.read_frame(10s);
    ASSERT_TRUE(answer.has_value());
    const auto parsed = parse_produce_v3_response(*answer);
    ASSERT_TRUE(parsed.has_value());
    EXPECT_EQ(parsed->error_code, 0);
    EXPECT_EQ(parsed->base_offset, 0);
    const auto fetched = consume_from_start(broker_->bootstrap(), topic, 0, 1, 20s);
    ASSERT_EQ(fetched.size(), 1U);
    EXPECT_EQ(fetched[0].first, 0);
    EXPECT_EQ(fetched[0].second, "good");
    int64_t low = -1;
    int64_t high = -1;
    ASSERT_EQ(rd_kafka_query_watermark_offsets(traffic_->producer(), topic.c_str(), 0, &low, &high,
                                               10000),
              RD_KAFKA_RESP_ERR_NO_ERROR);
    EXPECT_EQ(high, 1);
    expect_traffic_flows();
}

// ---- memory ----------------------------------------------------------------------------------

constexpr int64_t large_frame = 16 << 20;
constexpr int64_t memory_budget = 48 << 20;

class hostile_memory : public hostile {
protected:
    std::map<std::string, std::string> overrides() const override {
        return {{"socket.request.max.bytes", std::to_string(large_frame)},
                {"queued.max.request.bytes", std::to_string(memory_budget)},
                {"num.shards", "2"}};
    }

    int64_t peak_rss_kib() const { return proc_status_kib(broker_->pid(), "VmHWM"); }
};

// A Produce v3 frame of exactly `large_frame` bytes whose records field is zeros (a batch length of
// 0, refused as CORRUPT_MESSAGE without being stored).
bytes large_produce_frame(int32_t correlation) {
    const bytes empty_frame = request_frame(0, 3, correlation, produce_v3_body("steady", 0, {}));
    const std::size_t records = static_cast<std::size_t>(large_frame) - (empty_frame.size() - 4);
    return request_frame(0, 3, correlation, produce_v3_body("steady", 0, bytes(records, 0)));
}

TEST_F(hostile_memory, many_large_requests_without_reading_responses_stay_within_the_budget) {
    // 12 connections each send 3 requests of 16 MiB (576 MiB in all) and never read a response.
    // The broker may hold at most queued.max.request.bytes (48 MiB) of them at a time.
    constexpr int senders = 12;
    constexpr int requests_each = 3;
    const int64_t baseline_kib = peak_rss_kib();
    ASSERT_GT(baseline_kib, 0);
    std::vector<raw_socket> sockets;
    for (int i = 0; i < senders; ++i) {
        sockets.push_back(connect());
    }
    std::vector<std::thread> threads;
    std::atomic<int> sent{0};
    for (raw_socket& s : sockets) {
        threads.emplace_back([&s, &sent] {
            for (int r = 0; r < requests_each; ++r) {
                if (!s.send_all(large_produce_frame(r))) {
                    return;
                }
                ++sent;
            }
        });
    }
    EXPECT_TRUE(traffic_->wait_for_round_trips(3)) << "stalled while large requests arrive\n"
                                                   << problems();
    for (std::thread& t : threads) {
        t.join();
    }
    EXPECT_EQ(sent.load(), senders * requests_each);
    // Every request was answered (the responses sit unread in the sockets' buffers).
    for (raw_socket& s : sockets) {
        for (int r = 0; r < requests_each; ++r) {
            const auto answer = s.read_frame(30s);
            ASSERT_TRUE(answer.has_value());
            EXPECT_EQ(parse_produce_v3_response(*answer)->error_code, 2);
        }
    }
    const int64_t peak_kib = peak_rss_kib();
    const int64_t growth_kib = peak_kib - baseline_kib;
    std::cout << "broker peak RSS " << peak_kib / 1024 << " MiB, baseline " << baseline_kib / 1024
              << " MiB, growth " << growth_kib / 1024 << " MiB (budget " << (memory_budget >> 20)
              << " MiB, offered " << (senders * requests_each * large_frame >> 20) << " MiB)\n";
    RecordProperty("peak_rss_growth_kib", std::to_string(growth_kib));
    // The budget plus one frame's slack for allocator and buffers; without the budget the 12
    // concurrent frames alone would need 192 MiB.
    EXPECT_LT(growth_kib, (memory_budget + large_frame) / 1024);
    expect_traffic_flows();
}

TEST_F(hostile_memory, stalled_large_frames_do_not_starve_small_requests) {
    // Five connections announce 16 MiB frames, send 64 KiB of each and stop. Three of them take
    // the whole 48 MiB budget and the other two wait for it; the well-behaved client's small
    // requests must still be served.
    const int64_t baseline_kib = peak_rss_kib();
    std::vector<raw_socket> stalled;
    for (int i = 0; i < 5; ++i) {
        stalled.push_back(connect());
        bytes partial = large_produce_frame(i);
        partial.resize(64 * 1024);
        ASSERT_TRUE(stalled.back().send_all(partial));
    }
    EXPECT_TRUE(traffic_->wait_for_round_trips(5)) << "small requests starved\n" << problems();
    for (raw_socket& s : stalled) {
        EXPECT_EQ(s.wait(0ms), peer_event::nothing);  // held open, as Kafka holds them
    }
    const int64_t growth_kib = peak_rss_kib() - baseline_kib;
    std::cout << "broker peak RSS growth with 5 stalled 16 MiB frames: " << growth_kib / 1024
              << " MiB\n";
    EXPECT_LT(growth_kib, (memory_budget + large_frame) / 1024);
    stalled.clear();
    // A large request is served once the stalled frames are gone.
    raw_socket s = connect();
    ASSERT_TRUE(s.send_all(large_produce_frame(99)));
    const auto answer = s.read_frame(30s);
    ASSERT_TRUE(answer.has_value());
    EXPECT_EQ(parse_produce_v3_response(*answer)->correlation_id, 99);
    expect_traffic_flows();
}

}  // namespace
}  // namespace broker::compat::robustness
