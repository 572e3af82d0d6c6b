// broker_server with the topic store: topics created over the wire survive a stop/start, the stop
// leaves the clean-shutdown marker, and the admin APIs are reachable through dispatch.
#include "common/asio.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "log/log_manager.h"
#include "server/tests/test_util.h"

namespace broker::server {
namespace {

broker_config lifecycle_config(const std::string& data_dir) {
    std::vector<property> entries{
        {"listeners", "PLAINTEXT://127.0.0.1:0", 0},
        {"log.dirs", data_dir, 0},
        {"num.shards", "2", 0},
        {"background.threads", "1", 0},
        {"logger.level", "error", 0},
        {"http.listeners", "", 0},  // tests run in parallel: no fixed HTTP port
    };
    return make_broker_config(entries).config;
}

protocol::create_topics_response create_over_the_wire(uint16_t port, const std::string& name,
                                                      int32_t partitions) {
    test::raw_client client(port);
    protocol::create_topics_request request;
    protocol::create_topics_request::creatable_topic t;
    t.name = name;
    t.num_partitions = partitions;
    t.replication_factor = 1;
    request.topics.push_back(t);
    EXPECT_TRUE(client.send(test::request_frame(19, 7, 5, request)));
    auto frame = client.read_frame();
    EXPECT_TRUE(frame.has_value());
    if (!frame) {
        return {};
    }
    return test::decode_body<protocol::create_topics_response>(
        test::parse_response(std::move(*frame), 1), 7);
}

TEST(broker_lifecycle, topics_survive_a_clean_restart) {
    test::temp_dir dir;
    const std::string data = dir.sub("data");
    protocol::uuid id;
    {
        broker_server server(lifecycle_config(data));
        server.start();
        const auto created = create_over_the_wire(server.bound_endpoints().at(0).port(), "kept", 3);
        ASSERT_EQ(created.topics.size(), 1U);
        ASSERT_EQ(created.topics[0].error_code, 0) << created.topics[0].error_message.value_or("");
        id = created.topics[0].topic_id;
        EXPECT_TRUE(std::filesystem::exists(std::filesystem::path(data) / "kept-2"));
        server.stop();
        EXPECT_TRUE(std::filesystem::exists(std::filesystem::path(data) /
                                            log::log_manager::clean_shutdown_marker_name));
    }
    broker_server server(lifecycle_config(data));
    server.start();
    EXPECT_TRUE(server.core().store().logs().had_clean_shutdown());
    EXPECT_FALSE(std::filesystem::exists(std::filesystem::path(data) /
                                         log::log_manager::clean_shutdown_marker_name));
    EXPECT_EQ(server.core().store().topic_id_of("kept"), id);
    EXPECT_EQ(server.core().store().partitions_of("kept").size(), 3U);
    const auto snapshot = server.core().metadata().snapshot();
    ASSERT_NE(snapshot->find(id), nullptr);
    EXPECT_EQ(snapshot->find(id)->partitions.size(), 3U);
    const auto again = create_over_the_wire(server.bound_endpoints().at(0).port(), "kept", 1);
    ASSERT_EQ(again.topics.size(), 1U);
    EXPECT_EQ(again.topics[0].error_code,
              static_cast<int16_t>(protocol::error_code::topic_already_exists));
    EXPECT_TRUE(test::broker_answers(server.bound_endpoints().at(0).port()));
}

TEST(broker_lifecycle, a_failed_start_leaves_the_logs_closed) {
    test::temp_dir dir;
    const std::string data = dir.sub("data");
    broker_server first(lifecycle_config(data));
    first.start();
    const uint16_t port = first.bound_endpoints().at(0).port();
    // Same fixed port: the second broker cannot bind and must fail cleanly (its logs are closed
    // with the clean-shutdown marker even though it never served).
    test::temp_dir other;
    broker_config clash = lifecycle_config(other.sub("data"));
    clash.listeners = {{"PLAINTEXT", "127.0.0.1", port}};
    {
        broker_server second(clash);
        EXPECT_THROW(second.start(), std::exception);
    }
    EXPECT_TRUE(std::filesystem::exists(std::filesystem::path(other.sub("data")) /
                                        log::log_manager::clean_shutdown_marker_name));
    EXPECT_TRUE(test::broker_answers(port));
}

}  // namespace
}  // namespace broker::server
