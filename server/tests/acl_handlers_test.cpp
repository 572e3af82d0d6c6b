// DescribeAcls, CreateAcls and DeleteAcls as Kafka 3.9 answers them without an authorizer: every
// version, SECURITY_DISABLED with Kafka's messages at the level each response puts errors (top
// level, per creation, per filter), and a closed connection for UNKNOWN enum codes.
#include "common/asio.h"

#include <gtest/gtest.h>

#include "protocol/errors.h"
#include "server/handlers/handlers.h"
#include "server/tests/test_util.h"

namespace broker::server {
namespace {

using protocol::error_code;

constexpr int16_t security_disabled = static_cast<int16_t>(error_code::security_disabled);

// Kafka's enum codes: resource TOPIC 2, GROUP 3; pattern ANY 1, LITERAL 3, PREFIXED 4;
// operation ANY 1, READ 3, WRITE 4; permission ANY 1, ALLOW 3.
constexpr int8_t topic_resource = 2;
constexpr int8_t group_resource = 3;
constexpr int8_t any_code = 1;
constexpr int8_t literal = 3;
constexpr int8_t prefixed = 4;
constexpr int8_t read_op = 3;
constexpr int8_t write_op = 4;
constexpr int8_t allow = 3;

class acl_handlers_test : public ::testing::Test {
protected:
    acl_handlers_test()
        : shards_(1, 1),
          core_(test::make_config({{"log.dirs", dir_.sub("data")}}), "cluster-acl", shards_) {
        core_.store().open();
    }
    ~acl_handlers_test() override { core_.store().shutdown(); }

    template <typename Request>
    handler_result run(handler_fn handler, int16_t api_key, int16_t version,
                       const Request& request) {
        body_ = test::body_bytes(version, request);
        ctx_.emplace(request_context{
            .broker = core_,
            .header = header_,
            .api_key = api_key,
            .api_version = version,
            .response_header_version = protocol::response_header_version(api_key, version),
            .correlation_id = 41,
            .client_id = "",
            .peer = {},
            .listener_name = "PLAINTEXT",
            .shard_id = 0,
            .frame = {}});
        return test::run_handler(handler, *ctx_, body_);
    }

    template <typename Response, typename Request>
    Response ask(handler_fn handler, int16_t api_key, int16_t version, const Request& request) {
        const handler_result result = run(handler, api_key, version, request);
        EXPECT_FALSE(result.close_connection);
        const auto response =
            test::parse_response(test::frame_of(result), ctx_->response_header_version);
        EXPECT_EQ(response.correlation_id, 41);
        return test::decode_body<Response>(response, version);
    }

    static protocol::delete_acls_request::delete_acls_filter delete_filter(int8_t resource,
                                                                           int8_t pattern) {
        protocol::delete_acls_request::delete_acls_filter f;
        f.resource_type_filter = resource;
        f.resource_name_filter = std::nullopt;
        f.pattern_type_filter = pattern;
        f.principal_filter = "User:alice";
        f.host_filter = std::nullopt;
        f.operation = any_code;
        f.permission_type = any_code;
        return f;
    }

    static protocol::create_acls_request::acl_creation creation(const std::string& name,
                                                                int8_t pattern, int8_t op) {
        protocol::create_acls_request::acl_creation c;
        c.resource_type = topic_resource;
        c.resource_name = name;
        c.resource_pattern_type = pattern;
        c.principal = "User:alice";
        c.host = "*";
        c.operation = op;
        c.permission_type = allow;
        return c;
    }

    test::temp_dir dir_;
    shard_group shards_;
    broker_core core_;
    protocol::request_header header_;
    std::vector<uint8_t> body_;
    std::optional<request_context> ctx_;
};

TEST_F(acl_handlers_test, describe_acls_is_security_disabled_at_every_version) {
    for (int16_t version = 0; version <= 3; ++version) {
        protocol::describe_acls_request request;
        request.resource_type_filter = any_code;
        request.resource_name_filter = std::nullopt;
        request.pattern_type_filter = version == 0 ? literal : any_code;
        request.principal_filter = std::nullopt;
        request.host_filter = std::nullopt;
        request.operation = any_code;
        request.permission_type = any_code;
        const auto response =
            ask<protocol::describe_acls_response>(&handle_describe_acls, 29, version, request);
        EXPECT_EQ(response.error_code, security_disabled) << "v" << version;
        EXPECT_EQ(response.error_message, "No Authorizer is configured on the broker");
        EXPECT_TRUE(response.resources.empty());
        EXPECT_EQ(response.throttle_time_ms, 0);
    }
}

TEST_F(acl_handlers_test, create_acls_answers_each_creation) {
    for (int16_t version = 0; version <= 3; ++version) {
        protocol::create_acls_request request;
        request.creations.push_back(creation("orders", literal, read_op));
        request.creations.push_back(creation("orders", literal, write_op));
        if (version >= 1) {
            request.creations.push_back(creation("ord", prefixed, read_op));
        }
        const auto response =
            ask<protocol::create_acls_response>(&handle_create_acls, 30, version, request);
        ASSERT_EQ(response.results.size(), request.creations.size()) << "v" << version;
        for (const auto& result : response.results) {
            EXPECT_EQ(result.error_code, security_disabled);
            EXPECT_EQ(result.error_message, "No Authorizer is configured.");
        }
    }
    const auto none = ask<protocol::create_acls_response>(&handle_create_acls, 30, 3,
                                                          protocol::create_acls_request{});
    EXPECT_TRUE(none.results.empty());
}

TEST_F(acl_handlers_test, delete_acls_answers_each_filter) {
    for (int16_t version = 0; version <= 3; ++version) {
        protocol::delete_acls_request request;
        request.filters.push_back(delete_filter(topic_resource, literal));
        request.filters.push_back(delete_filter(group_resource, literal));
        request.filters.push_back(delete_filter(any_code, literal));
        const auto response =
            ask<protocol::delete_acls_response>(&handle_delete_acls, 31, version, request);
        ASSERT_EQ(response.filter_results.size(), 3U) << "v" << version;
        for (const auto& result : response.filter_results) {
            EXPECT_EQ(result.error_code, security_disabled);
            EXPECT_EQ(result.error_message, "No Authorizer is configured.");
            EXPECT_TRUE(result.matching_acls.empty());
        }
    }
}

TEST_F(acl_handlers_test, unknown_codes_close_the_connection) {
    protocol::describe_acls_request describe;
    describe.resource_type_filter = 0;  // UNKNOWN
    describe.pattern_type_filter = any_code;
    describe.operation = any_code;
    describe.permission_type = any_code;
    EXPECT_TRUE(run(&handle_describe_acls, 29, 2, describe).close_connection);
    describe.resource_type_filter = any_code;
    describe.permission_type = 0;
    EXPECT_TRUE(run(&handle_describe_acls, 29, 2, describe).close_connection);

    protocol::create_acls_request create;
    create.creations.push_back(creation("orders", literal, read_op));
    create.creations.push_back(creation("orders", literal, 0));
    EXPECT_TRUE(run(&handle_create_acls, 30, 1, create).close_connection);
    create.creations[1] = creation("orders", 0, read_op);
    EXPECT_TRUE(run(&handle_create_acls, 30, 1, create).close_connection);

    protocol::delete_acls_request remove;
    remove.filters.push_back(delete_filter(topic_resource, literal));
    remove.filters.push_back(delete_filter(topic_resource, 0));
    EXPECT_TRUE(run(&handle_delete_acls, 31, 3, remove).close_connection);
    remove.filters[1] = delete_filter(0, literal);
    EXPECT_TRUE(run(&handle_delete_acls, 31, 3, remove).close_connection);
}

}  // namespace
}  // namespace broker::server
