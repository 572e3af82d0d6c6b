// Golden test over request frames captured from stock clients (protocol/tests/golden/*.jsonl, one
// JSON object per line: api_key, api_version, correlation_id, client_id and the frame body in hex,
// without the size prefix). The files were recorded with compat-tests/tools/capture_proxy.py in
// front of the broker while kcat/librdkafka 2.0.2, kafka-python 2.0.2 and kafkajs 2.2.4 ran their
// handshakes, produced (gzip, zstd, idempotent), consumed, joined groups, committed and ran admin
// calls. Each frame must decode (header, then body at its version) with no byte left over and
// re-encode to exactly the captured bytes; record batches in Produce requests must decode with a
// valid CRC. A codec change that breaks a real client's encoding fails here.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <fstream>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "protocol/generated/dispatch.h"
#include "protocol/generated/messages.h"
#include "protocol/header.h"
#include "protocol/records.h"
#include "protocol/wire.h"

namespace broker::protocol {
namespace {

struct captured_frame {
    int16_t api_key = 0;
    int16_t api_version = 0;
    int32_t correlation_id = 0;
    std::optional<std::string> client_id;
    std::vector<uint8_t> bytes;
};

std::vector<uint8_t> from_hex(const std::string& hex) {
    std::vector<uint8_t> out;
    out.reserve(hex.size() / 2);
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
        out.push_back(static_cast<uint8_t>(std::stoi(hex.substr(i, 2), nullptr, 16)));
    }
    return out;
}

std::vector<captured_frame> load(const std::string& name) {
    std::ifstream in(std::string(BROKER_GOLDEN_DIR) + "/" + name);
    EXPECT_TRUE(in.good()) << name;
    std::vector<captured_frame> frames;
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty()) {
            continue;
        }
        const auto j = nlohmann::json::parse(line);
        captured_frame f;
        f.api_key = j.at("api_key").get<int16_t>();
        f.api_version = j.at("api_version").get<int16_t>();
        f.correlation_id = j.at("correlation_id").get<int32_t>();
        if (!j.at("client_id").is_null()) {
            f.client_id = j.at("client_id").get<std::string>();
        }
        f.bytes = from_hex(j.at("hex").get<std::string>());
        frames.push_back(std::move(f));
    }
    return frames;
}

std::vector<uint8_t> reencode(int16_t header_version, const request_header& header, int16_t version,
                              const auto& body) {
    std::vector<uint8_t> out;
    writer w(out);
    encode_request_header(w, header_version, header);
    encode(w, version, body);
    return out;
}

void check_produce_batches(const produce_request& request) {
    for (const auto& topic : request.topic_data) {
        for (const auto& partition : topic.partition_data) {
            ASSERT_TRUE(partition.records.has_value());
            std::span<const uint8_t> rest = partition.records->bytes;
            ASSERT_FALSE(rest.empty());
            while (!rest.empty()) {
                const auto header = parse_batch_header(rest);
                ASSERT_TRUE(header.has_value()) << topic.name;
                const std::size_t size = static_cast<std::size_t>(header->batch_length) + 12;
                ASSERT_LE(size, rest.size());
                EXPECT_EQ(validate_batch(rest.first(size)), batch_error::ok) << topic.name;
                decoded_batch decoded;
                EXPECT_EQ(decode_batch(rest.first(size), decoded), batch_error::ok) << topic.name;
                EXPECT_EQ(decoded.records.size(), static_cast<std::size_t>(header->record_count));
                rest = rest.subspan(size);
            }
        }
    }
}

/// Decodes and re-encodes every frame of `file`; returns the (key, version) pairs seen.
std::set<std::pair<int16_t, int16_t>> check_file(const std::string& file) {
    std::set<std::pair<int16_t, int16_t>> seen;
    const auto frames = load(file);
    EXPECT_FALSE(frames.empty());
    for (const captured_frame& f : frames) {
        SCOPED_TRACE(file + ": api " + std::to_string(f.api_key) + " v" +
                     std::to_string(f.api_version) + " correlation " +
                     std::to_string(f.correlation_id));
        reader r(f.bytes);
        request_header header;
        int16_t header_version = -1;
        EXPECT_EQ(decode_request_header(r, header, header_version), codec_status::ok);
        if (header_version < 0) {
            continue;
        }
        EXPECT_EQ(header.request_api_key, f.api_key);
        EXPECT_EQ(header.request_api_version, f.api_version);
        EXPECT_EQ(header.correlation_id, f.correlation_id);
        EXPECT_EQ(header.client_id, f.client_id);
        bool visited = false;
        const bool known = visit_request_type(f.api_key, [&](auto type) {
            visited = true;
            typename decltype(type)::type body;
            ASSERT_EQ(decode(r, f.api_version, body), codec_status::ok);
            EXPECT_EQ(r.remaining(), 0u);
            EXPECT_EQ(reencode(header_version, header, f.api_version, body), f.bytes);
            if constexpr (std::is_same_v<decltype(body), produce_request>) {
                check_produce_batches(body);
            }
        });
        EXPECT_TRUE(known && visited);
        seen.emplace(f.api_key, f.api_version);
    }
    return seen;
}

TEST(captured_frames, handshakes_of_three_clients_round_trip) {
    const auto seen = check_file("captured_handshake_frames.jsonl");
    EXPECT_TRUE(seen.contains({18, 3}));  // librdkafka ApiVersions v3 (flexible)
    EXPECT_TRUE(seen.contains({18, 0}));  // kafka-python
}

TEST(captured_frames, client_sessions_round_trip) {
    const auto seen = check_file("captured_client_frames.jsonl");
    // The session covers the data path and the group protocol, not only the handshake.
    for (int16_t key : {0, 1, 2, 3, 8, 9, 10, 11, 12, 13, 14, 19, 20}) {
        bool any = false;
        for (const auto& [k, v] : seen) {
            any = any || k == key;
        }
        EXPECT_TRUE(any) << "no captured frame of api key " << key;
    }
}

}  // namespace
}  // namespace broker::protocol

namespace broker::protocol {
namespace {

/// The frames of `file`, loaded once and kept for the whole run: a decoded body's byte fields
/// (the Produce records) are views into its frame.
const std::vector<captured_frame>& kept_frames(const std::string& file) {
    static std::map<std::string, std::vector<captured_frame>> loaded;
    auto it = loaded.find(file);
    if (it == loaded.end()) {
        it = loaded.emplace(file, load(file)).first;
    }
    return it->second;
}

/// The first captured frame of `client` (prefix of its client id) with this key and version,
/// decoded past its header.
template <typename Body>
Body first_body(const std::string& file, const std::string& client, int16_t key, int16_t version) {
    for (const captured_frame& f : kept_frames(file)) {
        if (f.api_key != key || f.api_version != version || !f.client_id ||
            !f.client_id->starts_with(client)) {
            continue;
        }
        reader r(f.bytes);
        request_header header;
        int16_t header_version = -1;
        EXPECT_EQ(decode_request_header(r, header, header_version), codec_status::ok);
        Body body;
        EXPECT_EQ(decode(r, version, body), codec_status::ok);
        return body;
    }
    ADD_FAILURE() << "no frame of " << client << " api " << key << " v" << version;
    return Body{};
}

// The sessions behind captured_client_frames.jsonl: kcat produced k1:v1,k2:v2 (gzip, header h=1) to
// topic capk and consumed it in group capgroup; kafka-python created topic capp with 2 partitions,
// produced 5 keyed records with a header (gzip configured) with acks=all and committed in group
// pgrp; kafkajs created capj with 2 partitions, produced two gzip records idempotently with acks=-1
// and consumed in group jgrp.
constexpr const char* sessions = "captured_client_frames.jsonl";

TEST(captured_frames, fields_decode_to_what_the_clients_sent) {
    const auto versions =
        first_body<api_versions_request>("captured_handshake_frames.jsonl", "rdkafka", 18, 3);
    EXPECT_EQ(versions.client_software_name, "librdkafka");
    EXPECT_EQ(versions.client_software_version, "2.0.2");

    const auto create = first_body<create_topics_request>(sessions, "kafka-python", 19, 3);
    ASSERT_EQ(create.topics.size(), 1u);
    EXPECT_EQ(create.topics[0].name, "capp");
    EXPECT_EQ(create.topics[0].num_partitions, 2);

    const auto produce = first_body<produce_request>(sessions, "kafka-python", 0, 7);
    EXPECT_EQ(produce.acks, -1);
    ASSERT_FALSE(produce.topic_data.empty());
    EXPECT_EQ(produce.topic_data[0].name, "capp");
    ASSERT_FALSE(produce.topic_data[0].partition_data.empty());
    decoded_batch batch;
    ASSERT_EQ(decode_batch(produce.topic_data[0].partition_data[0].records->bytes, batch),
              batch_error::ok);
    ASSERT_FALSE(batch.records.empty());
    ASSERT_EQ(batch.records[0].headers.size(), 1u);
    EXPECT_EQ(batch.records[0].headers[0].key, "h");
    // kafka-python and librdkafka send a tiny batch uncompressed when gzip would only grow it;
    // kafkajs compresses whatever it is told to, and its producer was idempotent.
    const auto js_produce = first_body<produce_request>(sessions, "capjs", 0, 7);
    EXPECT_EQ(js_produce.acks, -1);
    ASSERT_FALSE(js_produce.topic_data.empty());
    ASSERT_FALSE(js_produce.topic_data[0].partition_data.empty());
    decoded_batch js_batch;
    ASSERT_EQ(decode_batch(js_produce.topic_data[0].partition_data[0].records->bytes, js_batch),
              batch_error::ok);
    EXPECT_EQ(js_batch.header.compression(), compression_type::gzip);
    EXPECT_GE(js_batch.header.producer_id, 0);
    EXPECT_EQ(js_batch.header.base_sequence, 0);

    const auto kcat_produce = first_body<produce_request>(sessions, "rdkafka", 0, 7);
    ASSERT_FALSE(kcat_produce.topic_data.empty());
    EXPECT_EQ(kcat_produce.topic_data[0].name, "capk");

    const auto join = first_body<join_group_request>(sessions, "capjs", 11, 5);
    EXPECT_EQ(join.group_id, "jgrp");
    EXPECT_EQ(join.protocol_type, "consumer");
    ASSERT_FALSE(join.protocols.empty());

    const auto commit = first_body<offset_commit_request>(sessions, "kafka-python", 8, 2);
    EXPECT_EQ(commit.group_id, "pgrp");
    ASSERT_FALSE(commit.topics.empty());
    EXPECT_EQ(commit.topics[0].name, "capp");

    const auto find = first_body<find_coordinator_request>(sessions, "rdkafka", 10, 2);
    EXPECT_EQ(find.key, "capgroup");
    EXPECT_EQ(find.key_type, 0);
}

}  // namespace
}  // namespace broker::protocol
