#include "common/asio.h"

#include <gtest/gtest.h>

#include "protocol/errors.h"
#include "server/handlers/handlers.h"
#include "server/tests/test_util.h"

namespace broker::server {
namespace {

using protocol::api_versions_request;
using protocol::api_versions_response;

class api_versions_test : public ::testing::Test {
protected:
    api_versions_test() : shards_(1, 1), core_(broker_config{}, "cluster-x", shards_) {}

    // Runs the handler for a request whose header said `version`, with `body` as its body bytes.
    handler_result call(int16_t version, std::span<const uint8_t> body) {
        header_.request_api_key = 18;
        header_.request_api_version = version;
        header_.correlation_id = 77;
        request_context ctx{
            .broker = core_,
            .header = header_,
            .api_key = 18,
            .api_version = version,
            .response_header_version = protocol::response_header_version(18, version),
            .correlation_id = 77,
            .client_id = "test",
            .peer = {},
            .listener_name = "PLAINTEXT",
            .shard_id = 0,
            .frame = {}};
        return test::run_handler(&handle_api_versions, ctx, body);
    }

    api_versions_response answer(int16_t version, const api_versions_request& request,
                                 int16_t decode_version) {
        const auto bytes = test::body_bytes(version, request);
        const handler_result result = call(version, bytes);
        EXPECT_FALSE(result.close_connection);
        // KIP-511: the ApiVersions response header is v0 for every version.
        const auto response = test::parse_response(test::frame_of(result), 0);
        EXPECT_EQ(response.correlation_id, 77);
        return test::decode_body<api_versions_response>(response, decode_version);
    }

    shard_group shards_;
    broker_core core_;
    protocol::request_header header_;
};

// What a single node advertises: the served table without the controller's requests.
std::vector<served_api> single_node_apis() {
    std::vector<served_api> out;
    for (const served_api& api : served_apis()) {
        if (api.served(true)) {
            out.push_back(api);
        }
    }
    return out;
}

api_versions_request request_from(std::string name, std::string version) {
    api_versions_request request;
    request.client_software_name = std::move(name);
    request.client_software_version = std::move(version);
    return request;
}

TEST_F(api_versions_test, every_version_lists_exactly_the_served_table) {
    for (int16_t version = 0; version <= 4; ++version) {
        SCOPED_TRACE(version);
        const api_versions_response body =
            answer(version, request_from("librdkafka", "2.0.2"), version);
        EXPECT_EQ(body.error_code, 0);
        EXPECT_EQ(body.throttle_time_ms, 0);
        ASSERT_EQ(body.api_keys.size(), single_node_apis().size());
        for (std::size_t i = 0; i < body.api_keys.size(); ++i) {
            EXPECT_EQ(body.api_keys[i].api_key, single_node_apis()[i].api_key);
            EXPECT_EQ(body.api_keys[i].min_version, single_node_apis()[i].min_version);
            EXPECT_EQ(body.api_keys[i].max_version, single_node_apis()[i].max_version);
        }
        EXPECT_TRUE(body.supported_features.empty());
        EXPECT_TRUE(body.finalized_features.empty());
        EXPECT_EQ(body.finalized_features_epoch, -1);
        EXPECT_FALSE(body.zk_migration_ready);
    }
}

void append_int16(std::vector<uint8_t>& out, int v) {
    out.push_back(static_cast<uint8_t>((v >> 8) & 0xff));
    out.push_back(static_cast<uint8_t>(v & 0xff));
}

TEST_F(api_versions_test, v0_body_bytes) {
    const handler_result result = call(0, {});
    std::vector<uint8_t> expected{0, 0, 0, 77,  // correlation id (header v0)
                                  0, 0,         // error_code
                                  0, 0, 0, static_cast<uint8_t>(single_node_apis().size())};
    for (const served_api& api : single_node_apis()) {
        append_int16(expected, api.api_key);
        append_int16(expected, api.min_version);
        append_int16(expected, api.max_version);
    }
    EXPECT_EQ(test::frame_of(result), expected);
}

TEST_F(api_versions_test, v3_body_is_flexible_with_empty_tag_sections) {
    const auto frame = test::frame_of(call(3, test::body_bytes(3, request_from("a", "1"))));
    std::vector<uint8_t> expected{
        0,
        0,
        0,
        77,  // header v0: no tag byte even though v3 is flexible
        0,
        0,                                                     // error_code
        static_cast<uint8_t>(single_node_apis().size() + 1)};  // compact count
    for (const served_api& api : single_node_apis()) {
        append_int16(expected, api.api_key);
        append_int16(expected, api.min_version);
        append_int16(expected, api.max_version);
        expected.push_back(0);  // no tagged fields
    }
    expected.insert(expected.end(), {0, 0, 0, 0,  // throttle_time_ms
                                     0});         // no tagged fields: features stay at defaults
    EXPECT_EQ(frame, expected);
}

TEST_F(api_versions_test, versions_above_the_max_get_the_v0_fallback) {
    for (int16_t version : {int16_t{5}, int16_t{6}, int16_t{127}, int16_t{32767}}) {
        SCOPED_TRACE(version);
        // The body of a future version is unknown; whatever it holds is ignored.
        const std::vector<uint8_t> body{0xde, 0xad, 0xbe, 0xef};
        const handler_result result = call(version, body);
        EXPECT_FALSE(result.close_connection);
        const auto response = test::parse_response(test::frame_of(result), 0);
        const auto decoded = test::decode_body<api_versions_response>(response, 0);
        EXPECT_EQ(decoded.error_code,
                  static_cast<int16_t>(protocol::error_code::unsupported_version));
        ASSERT_EQ(decoded.api_keys.size(), 1U);
        EXPECT_EQ(decoded.api_keys[0].api_key, 18);
        EXPECT_EQ(decoded.api_keys[0].min_version, 0);
        EXPECT_EQ(decoded.api_keys[0].max_version, 4);
    }
}

TEST_F(api_versions_test, negative_version_gets_the_fallback_too) {
    const auto response = test::parse_response(test::frame_of(call(-1, {})), 0);
    EXPECT_EQ(test::decode_body<api_versions_response>(response, 0).error_code,
              static_cast<int16_t>(protocol::error_code::unsupported_version));
}

TEST_F(api_versions_test, v3_software_names_are_validated) {
    const int16_t invalid_request = static_cast<int16_t>(protocol::error_code::invalid_request);
    const std::vector<std::pair<std::string, std::string>> bad{
        {"", "1.0"},     {"librdkafka", ""},   {"-lead", "1"},   {"trail-", "1"}, {"trail.", "1"},
        {"sp ace", "1"}, {"under_score", "1"}, {"ok", "1.0.0-"}, {"ok", ".1"},    {"ok", "1/2"}};
    for (int16_t version : {int16_t{3}, int16_t{4}}) {
        for (const auto& [name, software_version] : bad) {
            SCOPED_TRACE(name + " / " + software_version);
            const api_versions_response body =
                answer(version, request_from(name, software_version), version);
            EXPECT_EQ(body.error_code, invalid_request);
            EXPECT_TRUE(body.api_keys.empty());
        }
    }
    const std::vector<std::pair<std::string, std::string>> good{
        {"a", "1"}, {"confluent-kafka-python", "1.7.0-rdkafka-2.0.2"}, {"x.y-z", "0.0.1"}};
    for (const auto& [name, software_version] : good) {
        SCOPED_TRACE(name);
        EXPECT_EQ(answer(3, request_from(name, software_version), 3).error_code, 0);
    }
    // Before v3 the fields do not exist, so nothing is validated.
    EXPECT_EQ(answer(2, request_from("", ""), 2).error_code, 0);
}

TEST_F(api_versions_test, malformed_body_closes_the_connection) {
    // v3: compact string length 10 with only 2 bytes following.
    const std::vector<uint8_t> truncated{11, 'a', 'b'};
    const handler_result result = call(3, truncated);
    EXPECT_TRUE(result.close_connection);
    EXPECT_FALSE(result.response.has_value());
}

}  // namespace
}  // namespace broker::server
