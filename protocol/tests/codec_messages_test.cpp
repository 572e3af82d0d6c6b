// Generated message codecs: every message at every version round-trips, every truncated prefix
// fails, and hand-computed byte layouts for messages real clients send.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "protocol/generated/dispatch.h"
#include "protocol/generated/messages.h"
#include "protocol/generated/samples.h"
#include "protocol/tests/codec_sample.h"

namespace broker::protocol {
namespace {

using bytes = std::vector<uint8_t>;
using testing::all_sample_cases;
using testing::sample_case;

std::string label(const sample_case& c, int16_t version, int variant) {
    return std::string(c.name) + " v" + std::to_string(version) + " variant " +
           std::to_string(variant);
}

template <typename T>
bytes encode_message(int16_t version, const T& message) {
    bytes out;
    writer w(out);
    encode(w, version, message);
    EXPECT_EQ(out.size(), encoded_size(version, message));
    return out;
}

template <typename T>
T decode_message(int16_t version, const bytes& in) {
    T out;
    reader r(in);
    EXPECT_EQ(decode(r, version, out), codec_status::ok);
    EXPECT_EQ(r.remaining(), 0u);
    return out;
}

TEST(CodecMessages, EverySchemaIsGenerated) {
    const auto cases = all_sample_cases();
    EXPECT_EQ(cases.size(), 186u);
    std::set<std::string_view> names;
    int requests = 0;
    int responses = 0;
    for (const auto& c : cases) {
        names.insert(c.name);
        requests += c.type == "request";
        responses += c.type == "response";
    }
    EXPECT_EQ(names.size(), cases.size());
    EXPECT_EQ(requests, 88);
    EXPECT_EQ(responses, 88);
}

TEST(CodecMessages, EveryMessageRoundTripsAtEveryVersion) {
    int checked = 0;
    for (const auto& c : all_sample_cases()) {
        for (int16_t v = c.min_version; v <= c.max_version; ++v) {
            for (int variant = 0; variant < 2; ++variant) {
                SCOPED_TRACE(label(c, v, variant));
                bytes encoded;
                const std::size_t predicted = c.encode(v, variant, encoded);
                ASSERT_EQ(predicted, encoded.size()) << "encoded_size disagrees with encode";
                std::size_t consumed = 0;
                bool equals_sample = false;
                bytes reencoded;
                ASSERT_EQ(c.round_trip(v, variant, encoded, consumed, equals_sample, reencoded),
                          codec_status::ok);
                EXPECT_EQ(consumed, encoded.size()) << "decode must consume exactly the encoding";
                EXPECT_TRUE(equals_sample) << "decoded value differs from the sample";
                EXPECT_EQ(reencoded, encoded) << "re-encoding the decoded value changed the bytes";
                ++checked;
            }
        }
    }
    EXPECT_GT(checked, 1000);
}

TEST(CodecMessages, SamplesDifferFromDefaults) {
    // Guards the round-trip test against vacuous samples: wherever a version has any field (or a
    // tag section), the full sample (variant 0) must encode differently from a default-constructed
    // message.
    for (const auto& c : all_sample_cases()) {
        for (int16_t v = c.min_version; v <= c.max_version; ++v) {
            bytes defaults;
            c.encode_default(v, defaults);
            if (defaults.empty()) {
                continue;  // no field at all in this version (e.g. ApiVersionsRequest v0)
            }
            bytes sample;
            c.encode(v, 0, sample);
            EXPECT_NE(sample, defaults) << label(c, v, 0);
        }
    }
}

TEST(CodecMessages, EveryTruncatedPrefixFails) {
    constexpr std::size_t max_prefixes = 48;
    std::size_t decodes = 0;
    for (const auto& c : all_sample_cases()) {
        for (int16_t v = c.min_version; v <= c.max_version; ++v) {
            bytes encoded;
            c.encode(v, 0, encoded);
            const std::size_t n = encoded.size();
            const std::size_t step = n <= max_prefixes ? 1 : n / max_prefixes;
            std::set<std::size_t> lengths;
            for (std::size_t k = 0; k < n; k += step) {
                lengths.insert(k);
            }
            for (std::size_t k = n > 4 ? n - 4 : 0; k < n; ++k) {
                lengths.insert(k);  // the last few bytes are tag sections: the easiest to miss
            }
            for (std::size_t k : lengths) {
                const auto status = c.decode(v, std::span<const uint8_t>(encoded.data(), k));
                EXPECT_NE(status, codec_status::ok)
                    << label(c, v, 0) << " prefix " << k << "/" << n;
                ++decodes;
            }
        }
    }
    EXPECT_GT(decodes, 5000u);
}

TEST(CodecMessages, VersionOutsideTheSchemaIsInvalid) {
    produce_request request;
    const bytes empty;
    reader r(empty);
    EXPECT_EQ(decode(r, 12, request), codec_status::invalid);
    reader r2(empty);
    EXPECT_EQ(decode(r2, -1, request), codec_status::invalid);
}

// ---- byte layouts computed by hand from the schemas ----

TEST(CodecMessages, ApiVersionsRequestV3AsLibrdkafkaSendsIt) {
    api_versions_request request;
    request.client_software_name = "librdkafka";
    request.client_software_version = "2.0.2";
    bytes expected = {0x0b};
    for (char ch : std::string("librdkafka")) {
        expected.push_back(static_cast<uint8_t>(ch));
    }
    expected.push_back(0x06);
    for (char ch : std::string("2.0.2")) {
        expected.push_back(static_cast<uint8_t>(ch));
    }
    expected.push_back(0x00);  // no tagged fields
    EXPECT_EQ(encode_message(3, request), expected);
    EXPECT_EQ(decode_message<api_versions_request>(3, expected), request);
    // v0-v2 have no fields at all.
    EXPECT_TRUE(encode_message(0, request).empty());
}

TEST(CodecMessages, MetadataRequestTopicListSemantics) {
    metadata_request all_v0;  // v0: empty array = all topics
    EXPECT_EQ(encode_message(0, all_v0), (bytes{0, 0, 0, 0}));

    metadata_request all_v1;  // v1+: null = all topics
    all_v1.topics.reset();
    EXPECT_EQ(encode_message(1, all_v1), (bytes{0xff, 0xff, 0xff, 0xff}));
    // Null cannot be said in v0: it goes out as an empty array.
    EXPECT_EQ(encode_message(0, all_v1), (bytes{0, 0, 0, 0}));

    metadata_request
        brokers_only;  // librdkafka's first request: v4, empty list, auto-create default true
    EXPECT_EQ(encode_message(4, brokers_only), (bytes{0, 0, 0, 0, 1}));

    metadata_request one;
    auto& topic = one.topics->emplace_back();
    topic.name = "t";
    // v9 flexible: compact array(1)=0x02, [topic_id absent before v10], compact name "t", topic
    // tags, allow_auto_topic_creation, include_cluster_authorized_operations, include_topic_...,
    // tags.
    EXPECT_EQ(encode_message(9, one), (bytes{0x02, 0x02, 't', 0x00, 0x01, 0x00, 0x00, 0x00}));

    const bytes null_in_v0 = {0xff, 0xff, 0xff, 0xff};
    metadata_request decoded;
    reader r(null_in_v0);
    EXPECT_EQ(decode(r, 0, decoded), codec_status::invalid) << "topics is not nullable in v0";
}

TEST(CodecMessages, ProduceRequestV3WithOneBatch) {
    static const uint8_t batch[] = {0xaa, 0xbb, 0xcc};
    produce_request request;
    request.transactional_id.reset();
    request.acks = -1;
    request.timeout_ms = 1000;
    auto& topic = request.topic_data.emplace_back();
    topic.name = "t";
    auto& partition = topic.partition_data.emplace_back();
    partition.index = 0;
    partition.records.emplace().bytes = batch;
    const bytes expected = {0xff, 0xff,              // transactional_id null
                            0xff, 0xff,              // acks -1
                            0x00, 0x00, 0x03, 0xe8,  // timeout 1000
                            0x00, 0x00, 0x00, 0x01,  // 1 topic
                            0x00, 0x01, 't',         // name
                            0x00, 0x00, 0x00, 0x01,  // 1 partition
                            0x00, 0x00, 0x00, 0x00,  // index 0
                            0x00, 0x00, 0x00, 0x03, 0xaa, 0xbb, 0xcc};
    EXPECT_EQ(encode_message(3, request), expected);
    const auto decoded = decode_message<produce_request>(3, expected);
    EXPECT_EQ(decoded, request);
    // Before v3 there is no transactional_id on the wire.
    EXPECT_EQ(encode_message(2, request).size(), expected.size() - 2);
}

TEST(CodecMessages, ApiVersionsResponseV0AndV3) {
    api_versions_response response;
    auto& key = response.api_keys.emplace_back();
    key.api_key = 18;
    key.min_version = 0;
    key.max_version = 3;
    EXPECT_EQ(encode_message(0, response), (bytes{0, 0, 0, 0, 0, 1, 0, 18, 0, 0, 0, 3}));

    response.finalized_features_epoch = 5;              // tag 1, int64
    const bytes v3 = {0,    0,                          // error_code
                      0x02,                             // compact array of 1
                      0,    18,   0,    0, 0, 3, 0x00,  // key entry + its tags
                      0,    0,    0,    0,              // throttle_time_ms
                      0x01, 0x01, 0x08, 0, 0, 0, 0,    0, 0, 0, 5};
    EXPECT_EQ(encode_message(3, response), v3);
    EXPECT_EQ(decode_message<api_versions_response>(3, v3), response);
}

TEST(CodecMessages, TaggedFieldsWrittenOnlyWhenNotDefault) {
    fetch_request request;  // v12+: ClusterId (tag 0, default null), v15+: ReplicaState (tag 1)
    const auto plain = encode_message(15, request);
    request.cluster_id = "c";
    const auto with_cluster = encode_message(15, request);
    // Tag section grows by: tag(1) + size(1) + compact string "c"(2), and the count stays one byte.
    EXPECT_EQ(with_cluster.size(), plain.size() + 4);
    request.replica_state.replica_epoch = 7;  // default -1
    const auto both = encode_message(15, request);
    EXPECT_EQ(decode_message<fetch_request>(15, both), request);
    // At v11 (not flexible) tagged fields do not exist: nothing is written for them.
    EXPECT_EQ(encode_message(11, request), encode_message(11, fetch_request{}));
}

TEST(CodecMessages, UnknownTagsSurviveARoundTripInTagOrder) {
    fetch_request request;
    request.cluster_id = "c";                              // known tag 0
    request.unknown_tags = {{2, {0xde, 0xad}}, {40, {}}};  // unknown tags after it
    auto& topic = request.topics.emplace_back();
    topic.topic_id.bytes[0] = 1;
    topic.unknown_tags = {{9, {1}}};
    const auto encoded = encode_message(15, request);
    const auto decoded = decode_message<fetch_request>(15, encoded);
    EXPECT_EQ(decoded.unknown_tags, request.unknown_tags);
    EXPECT_EQ(decoded.topics.at(0).unknown_tags, topic.unknown_tags);
    EXPECT_EQ(decoded, request);
    EXPECT_EQ(encode_message(15, decoded), encoded);
    // The top-level section is the last bytes: count 3, then tag 0 ("c"), tag 2, tag 40.
    const bytes tail = {0x03, 0x00, 0x02, 0x02, 'c', 0x02, 0x02, 0xde, 0xad, 40, 0x00};
    ASSERT_GE(encoded.size(), tail.size());
    EXPECT_TRUE(std::equal(tail.begin(), tail.end(),
                           encoded.end() - static_cast<std::ptrdiff_t>(tail.size())));
}

TEST(CodecMessages, NullableStructUsesAPresenceByte) {
    describe_topic_partitions_request request;  // Cursor: nullable struct, default null
    request.topics.emplace_back().name = "a";
    const auto without = encode_message(0, request);
    // compact array(1), name "a", topic tags, partition limit int32, cursor marker -1, tags.
    EXPECT_EQ(without, (bytes{0x02, 0x02, 'a', 0x00, 0x00, 0x00, 0x07, 0xd0, 0xff, 0x00}));
    request.cursor.emplace();
    request.cursor->topic_name = "b";
    request.cursor->partition_index = 3;
    const auto with = encode_message(0, request);
    EXPECT_EQ(with, (bytes{0x02, 0x02, 'a', 0x00, 0x00, 0x00, 0x07, 0xd0, 0x01, 0x02, 'b', 0, 0, 0,
                           3, 0x00, 0x00}));
    EXPECT_EQ(decode_message<describe_topic_partitions_request>(0, with), request);
}

TEST(CodecMessages, DefaultsComeFromTheSchema) {
    metadata_request metadata;
    EXPECT_TRUE(metadata.allow_auto_topic_creation);
    EXPECT_TRUE(metadata.topics.has_value())
        << "nullable without a null default starts empty, not null";
    produce_request produce;
    EXPECT_FALSE(produce.transactional_id.has_value()) << "default null";
    fetch_request fetch;
    EXPECT_EQ(fetch.replica_id, -1);
    EXPECT_EQ(fetch.max_bytes, 0x7fffffff);
    EXPECT_EQ(fetch.isolation_level, 0);
    EXPECT_EQ(fetch.session_epoch, -1);
    EXPECT_EQ(fetch.replica_state.replica_epoch, -1);
    EXPECT_EQ(produce_request::api_key, 0);
    EXPECT_EQ(produce_request::first_flexible, 9);
    EXPECT_EQ(sasl_handshake_request::first_flexible, -1);
    EXPECT_EQ(consumer_protocol_assignment::api_key, -1);
}

// ---- encodings produced by an independent client implementation ----
// Bytes written by kafka-python 2.0.2's protocol classes for these (non-flexible) versions, with
// every int8 = 3, int16 = 5, int32 = 7, int64 = 11, bool = true, string = "abc", bytes = 01 02, and
// two elements in every array. Our codec must decode each completely and re-encode the same bytes.
struct independent_encoding {
    const char* name;
    bool request;
    int16_t api_key;
    int16_t version;
    const char* hex;
};

const independent_encoding independent_encodings[] = {
    {"MetadataResponse_v5", false, 3, 5,
     "000000070000000200000007000361626300000007000361626300000007000361626300000007000361626300036"
     "162"
     "630000000700000002000500036162630100000002000500000007000000070000000200000007000000070000000"
     "200"
     "000007000000070000000200000007000000070005000000070000000700000002000000070000000700000002000"
     "000"
     "070000000700000002000000070000000700050003616263010000000200050000000700000007000000020000000"
     "700"
     "000007000000020000000700000007000000020000000700000007000500000007000000070000000200000007000"
     "000"
     "07000000020000000700000007000000020000000700000007"},
    {"FetchResponse_v11", false, 1, 11,
     "0000000700050000000700000002000361626300000002000000070005000000000000000b000000000000000b000"
     "000"
     "000000000b00000002000000000000000b000000000000000b000000000000000b000000000000000b00000007000"
     "000"
     "020102000000070005000000000000000b000000000000000b000000000000000b00000002000000000000000b000"
     "000"
     "000000000b000000000000000b000000000000000b000000070000000201020003616263000000020000000700050"
     "000"
     "00000000000b000000000000000b000000000000000b00000002000000000000000b000000000000000b000000000"
     "000"
     "000b000000000000000b00000007000000020102000000070005000000000000000b000000000000000b000000000"
     "000"
     "000b00000002000000000000000b000000000000000b000000000000000b000000000000000b00000007000000020"
     "102"},
    {"FetchRequest_v6", true, 1, 6,
     "00000007000000070000000700000007030000000200036162630000000200000007000000000000000b000000000"
     "000"
     "000b0000000700000007000000000000000b000000000000000b00000007000361626300000002000000070000000"
     "000"
     "00000b000000000000000b0000000700000007000000000000000b000000000000000b00000007"},
    {"OffsetCommitRequest_v2", true, 8, 2,
     "0003616263000000070003616263000000000000000b0000000200036162630000000200000007000000000000000"
     "b00"
     "0361626300000007000000000000000b000361626300036162630000000200000007000000000000000b000361626"
     "300"
     "000007000000000000000b0003616263"},
    {"JoinGroupRequest_v2", true, 11, 2,
     "000361626300000007000000070003616263000361626300000002000361626300000002010200036162630000000"
     "201"
     "02"},
    {"JoinGroupResponse_v2", false, 11, 2,
     "000000070005000000070003616263000361626300036162630000000200036162630000000201020003616263000"
     "000"
     "020102"},
    {"DescribeConfigsResponse_v1", false, 32, 1,
     "000000070000000200050003616263030003616263000000020003616263000361626301010100000002000361626"
     "300"
     "036162630300036162630003616263030003616263000361626301010100000002000361626300036162630300036"
     "162"
     "630003616263030005000361626303000361626300000002000361626300036162630101010000000200036162630"
     "003"
     "616263030003616263000361626303000361626300036162630101010000000200036162630003616263030003616"
     "263"
     "000361626303"},
    {"CreateTopicsRequest_v3", true, 19, 3,
     "000000020003616263000000070005000000020000000700000002000000070000000700000007000000020000000"
     "700"
     "000007000000020003616263000361626300036162630003616263000361626300000007000500000002000000070"
     "000"
     "000200000007000000070000000700000002000000070000000700000002000361626300036162630003616263000"
     "361"
     "62630000000701"},
    {"ProduceResponse_v7", false, 0, 7,
     "00000002000361626300000002000000070005000000000000000b000000000000000b000000000000000b0000000"
     "700"
     "05000000000000000b000000000000000b000000000000000b0003616263000000020000000700050000000000000"
     "00b"
     "000000000000000b000000000000000b000000070005000000000000000b000000000000000b000000000000000b0"
     "000"
     "0007"},
    {"OffsetResponse_v5", false, 2, 5,
     "0000000700000002000361626300000002000000070005000000000000000b000000000000000b000000070000000"
     "700"
     "05000000000000000b000000000000000b00000007000361626300000002000000070005000000000000000b00000"
     "000"
     "0000000b00000007000000070005000000000000000b000000000000000b00000007"},
    {"SyncGroupRequest_v1", true, 14, 1,
     "00036162630000000700036162630000000200036162630000000201020003616263000000020102"},
};

bytes from_hex(std::string_view hex) {
    bytes out;
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
        out.push_back(static_cast<uint8_t>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
    }
    return out;
}

TEST(CodecMessages, IndependentEncodingsDecodeAndReencodeIdentically) {
    for (const auto& sample : independent_encodings) {
        SCOPED_TRACE(sample.name);
        const bytes in = from_hex(sample.hex);
        bool visited = false;
        auto check = [&](auto type) {
            visited = true;
            typename decltype(type)::type message;
            reader r(in);
            ASSERT_EQ(decode(r, sample.version, message), codec_status::ok);
            EXPECT_EQ(r.remaining(), 0u);
            EXPECT_EQ(encode_message(sample.version, message), in);
        };
        if (sample.request) {
            visit_request_type(sample.api_key, check);
        } else {
            visit_response_type(sample.api_key, check);
        }
        EXPECT_TRUE(visited);
    }
}

TEST(CodecMessages, IndependentMetadataResponseFieldValues) {
    const auto response =
        decode_message<metadata_response>(5, from_hex(independent_encodings[0].hex));
    EXPECT_EQ(response.throttle_time_ms, 7);
    ASSERT_EQ(response.brokers.size(), 2u);
    EXPECT_EQ(response.brokers[1].node_id, 7);
    EXPECT_EQ(response.brokers[1].host, "abc");
    EXPECT_EQ(response.brokers[1].rack, std::optional<std::string>("abc"));
    EXPECT_EQ(response.cluster_id, std::optional<std::string>("abc"));
    EXPECT_EQ(response.controller_id, 7);
    ASSERT_EQ(response.topics.size(), 2u);
    EXPECT_EQ(response.topics[0].error_code, 5);
    EXPECT_EQ(response.topics[0].name, std::optional<std::string>("abc"));
    EXPECT_TRUE(response.topics[0].is_internal);
    ASSERT_EQ(response.topics[0].partitions.size(), 2u);
    EXPECT_EQ(response.topics[0].partitions[1].replica_nodes, (std::vector<int32_t>{7, 7}));
    EXPECT_EQ(response.topics[0].partitions[1].offline_replicas, (std::vector<int32_t>{7, 7}));
}

}  // namespace
}  // namespace broker::protocol
