// Request/response headers, the API registry and its header-version rules, and error codes.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "protocol/api.h"
#include "protocol/errors.h"
#include "protocol/generated/api_versions_request.h"
#include "protocol/header.h"

namespace broker::protocol {
namespace {

using bytes = std::vector<uint8_t>;

bytes with_string(bytes prefix, std::string_view text, bytes suffix = {}) {
    prefix.insert(prefix.end(), text.begin(), text.end());
    prefix.insert(prefix.end(), suffix.begin(), suffix.end());
    return prefix;
}

request_header make_header(int16_t key, int16_t version, int32_t correlation,
                           std::optional<std::string> client) {
    request_header h;
    h.request_api_key = key;
    h.request_api_version = version;
    h.correlation_id = correlation;
    h.client_id = std::move(client);
    return h;
}

TEST(CodecHeader, RequestHeaderV1Layout) {
    // Metadata v4 (not flexible) -> header v1: key, version, correlation id, int16-length client
    // id.
    const bytes frame = with_string({0x00, 0x03, 0x00, 0x04, 0x00, 0x00, 0x00, 0x2a, 0x00, 0x07},
                                    "rdkafka", {0xde, 0xad});
    reader r(frame);
    request_header h;
    int16_t header_version = -1;
    ASSERT_EQ(decode_request_header(r, h, header_version), codec_status::ok);
    EXPECT_EQ(header_version, 1);
    EXPECT_EQ(h.request_api_key, 3);
    EXPECT_EQ(h.request_api_version, 4);
    EXPECT_EQ(h.correlation_id, 42);
    EXPECT_EQ(h.client_id, std::optional<std::string>("rdkafka"));
    EXPECT_EQ(r.remaining(), 2u) << "the body starts right after the header";

    bytes out;
    writer w(out);
    encode_request_header(w, 1, h);
    EXPECT_EQ(out, bytes(frame.begin(), frame.end() - 2));
}

TEST(CodecHeader, RequestHeaderV2KeepsTheInt16ClientIdLength) {
    // ApiVersions v3 (flexible) -> header v2: the client id is still int16-length, then a tag
    // section.
    const bytes frame = with_string({0x00, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01, 0x00, 0x07},
                                    "rdkafka", {0x00});
    reader r(frame);
    request_header h;
    int16_t header_version = -1;
    ASSERT_EQ(decode_request_header(r, h, header_version), codec_status::ok);
    EXPECT_EQ(header_version, 2);
    EXPECT_EQ(h.client_id, std::optional<std::string>("rdkafka"));
    EXPECT_EQ(r.remaining(), 0u);

    bytes out;
    writer w(out);
    encode_request_header(w, 2, make_header(18, 3, 1, "rdkafka"));
    EXPECT_EQ(out, frame);
}

TEST(CodecHeader, RequestHeaderV2WithNullClientIdAndUnknownTag) {
    const bytes frame = {0x00, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00,
                         0x05, 0xff, 0xff, 0x01, 0x09, 0x01, 0x33};
    reader r(frame);
    request_header h;
    int16_t header_version = -1;
    ASSERT_EQ(decode_request_header(r, h, header_version), codec_status::ok);
    EXPECT_FALSE(h.client_id.has_value());
    ASSERT_EQ(h.unknown_tags.size(), 1u);
    EXPECT_EQ(h.unknown_tags[0].tag, 9u);
    bytes out;
    writer w(out);
    encode_request_header(w, 2, h);
    EXPECT_EQ(out, frame);
}

TEST(CodecHeader, ControlledShutdownV0UsesHeaderV0) {
    EXPECT_EQ(request_header_version(7, 0), 0);
    EXPECT_EQ(request_header_version(7, 1), 1);
    EXPECT_EQ(request_header_version(7, 3), 2);
    const bytes frame = {0x00, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x09, 0x00, 0x00, 0x00, 0x01};
    reader r(frame);
    request_header h;
    int16_t header_version = -1;
    ASSERT_EQ(decode_request_header(r, h, header_version), codec_status::ok);
    EXPECT_EQ(header_version, 0);
    EXPECT_EQ(h.correlation_id, 9);
    EXPECT_EQ(r.remaining(), 4u) << "no client id in header v0";
    bytes out;
    writer w(out);
    encode_request_header(w, 0, h);
    EXPECT_EQ(out, bytes(frame.begin(), frame.begin() + 8));
}

TEST(CodecHeader, UnknownApiKeyStillYieldsCorrelationId) {
    const bytes frame =
        with_string({0x03, 0xe7, 0x00, 0x00, 0x00, 0x00, 0x00, 0x63, 0x00, 0x01}, "x");
    reader r(frame);
    request_header h;
    int16_t header_version = -1;
    EXPECT_EQ(decode_request_header(r, h, header_version), codec_status::invalid);
    EXPECT_EQ(header_version, 1);
    EXPECT_EQ(h.request_api_key, 999);
    EXPECT_EQ(h.correlation_id, 99);
    EXPECT_EQ(h.client_id, std::optional<std::string>("x"));
    EXPECT_EQ(find_api(999), nullptr);
}

TEST(CodecHeader, TruncatedHeadersFail) {
    const bytes frame =
        with_string({0x00, 0x03, 0x00, 0x04, 0x00, 0x00, 0x00, 0x2a, 0x00, 0x07}, "rdkafka");
    for (std::size_t k = 0; k < frame.size(); ++k) {
        reader r(std::span<const uint8_t>(frame.data(), k));
        request_header h;
        int16_t header_version = 0;
        EXPECT_EQ(decode_request_header(r, h, header_version), codec_status::truncated)
            << "prefix " << k;
    }
}

TEST(CodecHeader, ResponseHeaderLayouts) {
    bytes v0;
    writer w0(v0);
    encode_response_header(w0, 0, 0x01020304);
    EXPECT_EQ(v0, (bytes{1, 2, 3, 4}));
    bytes v1;
    writer w1(v1);
    encode_response_header(w1, 1, 7);
    EXPECT_EQ(v1, (bytes{0, 0, 0, 7, 0}));
    reader r(v1);
    response_header h;
    ASSERT_EQ(decode_response_header(r, 1, h), codec_status::ok);
    EXPECT_EQ(h.correlation_id, 7);
    EXPECT_EQ(r.remaining(), 0u);
}

TEST(CodecHeader, ResponseHeaderVersionRules) {
    EXPECT_EQ(response_header_version(18, 0), 0);
    EXPECT_EQ(response_header_version(18, 3), 0)
        << "KIP-511: ApiVersions responses always use header v0";
    EXPECT_EQ(response_header_version(18, 4), 0);
    EXPECT_EQ(response_header_version(3, 8), 0);
    EXPECT_EQ(response_header_version(3, 9), 1);
    EXPECT_EQ(response_header_version(0, 9), 1);
    EXPECT_EQ(response_header_version(17, 1), 0) << "SaslHandshake is never flexible";
    EXPECT_EQ(request_header_version(18, 3), 2) << "the ApiVersions request header is still v2";
    EXPECT_EQ(request_header_version(18, 2), 1);
    EXPECT_EQ(request_header_version(999, 0), 1);
}

TEST(CodecHeader, RegistryListsEveryRequestApiSortedByKey) {
    const auto apis = api_registry();
    ASSERT_EQ(apis.size(), 88u);
    for (std::size_t i = 0; i < apis.size(); ++i) {
        EXPECT_EQ(apis[i].key, static_cast<int16_t>(i)) << "keys 0-87 without gaps";
        EXPECT_LE(apis[i].min_version, apis[i].max_version);
        EXPECT_EQ(find_api(apis[i].key), &apis[i]);
    }
    const api_info* produce = find_api(0);
    ASSERT_NE(produce, nullptr);
    EXPECT_EQ(produce->name, "Produce");
    EXPECT_EQ(produce->min_version, 0);
    EXPECT_EQ(produce->max_version, 11);
    EXPECT_EQ(produce->first_flexible, 9);
    EXPECT_FALSE(produce->latest_unstable);
    const api_info* api_versions = find_api(18);
    ASSERT_NE(api_versions, nullptr);
    EXPECT_EQ(api_versions->name, "ApiVersions");
    EXPECT_EQ(api_versions->first_flexible, 3);
    EXPECT_EQ(find_api(17)->first_flexible, -1);
    EXPECT_TRUE(find_api(26)->latest_unstable) << "EndTxn v5 is marked unstable";
    EXPECT_EQ(find_api(-1), nullptr);
    EXPECT_EQ(find_api(88), nullptr);
}

TEST(CodecHeader, DecodeRequestBodyByKey) {
    api_versions_request request;
    request.client_software_name = "a";
    request.client_software_version = "1";
    bytes body;
    writer w(body);
    encode(w, 3, request);
    reader r(body);
    EXPECT_EQ(decode_request_body(18, 3, r), codec_status::ok);
    EXPECT_EQ(r.remaining(), 0u);
    reader bad_version(body);
    EXPECT_EQ(decode_request_body(18, 9, bad_version), codec_status::invalid);
    reader bad_key(body);
    EXPECT_EQ(decode_request_body(500, 0, bad_key), codec_status::invalid);
}

TEST(CodecErrors, KafkaCodesAndNames) {
    EXPECT_EQ(static_cast<int16_t>(error_code::unknown_server_error), -1);
    EXPECT_EQ(static_cast<int16_t>(error_code::none), 0);
    EXPECT_EQ(static_cast<int16_t>(error_code::offset_out_of_range), 1);
    EXPECT_EQ(static_cast<int16_t>(error_code::corrupt_message), 2);
    EXPECT_EQ(static_cast<int16_t>(error_code::unknown_topic_or_partition), 3);
    EXPECT_EQ(static_cast<int16_t>(error_code::not_leader_or_follower), 6);
    EXPECT_EQ(static_cast<int16_t>(error_code::request_timed_out), 7);
    EXPECT_EQ(static_cast<int16_t>(error_code::message_too_large), 10);
    EXPECT_EQ(static_cast<int16_t>(error_code::invalid_required_acks), 21);
    EXPECT_EQ(static_cast<int16_t>(error_code::unsupported_version), 35);
    EXPECT_EQ(static_cast<int16_t>(error_code::invalid_request), 42);
    EXPECT_EQ(static_cast<int16_t>(error_code::kafka_storage_error), 56);
    EXPECT_EQ(static_cast<int16_t>(error_code::member_id_required), 79);
    EXPECT_EQ(static_cast<int16_t>(error_code::invalid_record), 87);
    EXPECT_EQ(static_cast<int16_t>(error_code::position_out_of_range), 99);
    EXPECT_EQ(static_cast<int16_t>(error_code::unknown_topic_id), 100);
    EXPECT_EQ(static_cast<int16_t>(error_code::invalid_regular_expression), 128);
    EXPECT_EQ(error_name(error_code::unknown_topic_or_partition), "UNKNOWN_TOPIC_OR_PARTITION");
    EXPECT_EQ(error_name(error_code::none), "NONE");
    EXPECT_EQ(error_name(static_cast<error_code>(5000)), "UNKNOWN");
    // Every code from -1 to 128 is defined.
    for (int code = -1; code <= 128; ++code) {
        EXPECT_TRUE(is_known_error_code(static_cast<int16_t>(code))) << code;
    }
    EXPECT_FALSE(is_known_error_code(129));
}

TEST(CodecErrors, CodecStatusMapsToErrorCode) {
    EXPECT_FALSE(make_error_code(codec_status::ok));
    const std::error_code truncated = make_error_code(codec_status::truncated);
    EXPECT_EQ(truncated, codec_errc::truncated);
    EXPECT_STREQ(truncated.category().name(), "protocol.codec");
    EXPECT_EQ(make_error_code(codec_status::invalid).message(), "malformed frame");
    const std::error_code unknown = codec_errc::unknown_api_key;
    EXPECT_EQ(unknown.category(), codec_category());
}

}  // namespace
}  // namespace broker::protocol
