#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include "protocol/api.h"
#include "server/dispatch.h"

namespace broker::server {
namespace {

TEST(served_apis, consistent_with_the_protocol_registry) {
    const std::vector<std::string> problems = check_served_apis();
    for (const std::string& p : problems) {
        ADD_FAILURE() << p;
    }
    for (const served_api& api : served_apis()) {
        const protocol::api_info* info = protocol::find_api(api.api_key);
        ASSERT_NE(info, nullptr) << api.api_key;
        EXPECT_GE(api.min_version, info->min_version) << info->name;
        EXPECT_LE(api.max_version, info->max_version) << info->name;
        EXPECT_NE(api.handler, nullptr) << info->name;
        EXPECT_EQ(find_served_api(api.api_key), &api);
    }
}

TEST(served_apis, serves_the_foundation_apis) {
    const served_api* api_versions = find_served_api(18);
    ASSERT_NE(api_versions, nullptr);
    EXPECT_EQ(api_versions->min_version, 0);
    EXPECT_EQ(api_versions->max_version, 4);
    const served_api* metadata = find_served_api(3);
    ASSERT_NE(metadata, nullptr);
    EXPECT_EQ(metadata->min_version, 0);
    EXPECT_EQ(metadata->max_version, 12);
    EXPECT_EQ(find_served_api(-1), nullptr);
    EXPECT_EQ(find_served_api(9999), nullptr);
}

// Apache Kafka 3.9.2's ZooKeeper-mode broker: the APIs it serves and their highest version (from
// kafka-clients 3.9.2's ApiKeys, listener ZK_BROKER). This broker advertises none above them: a
// client that reads the ranges as a 3.9 broker's must not be offered a later version.
TEST(served_apis, no_api_or_version_beyond_kafka_3_9) {
    const std::map<int16_t, int16_t> kafka_3_9_max{
        {0, 11}, {1, 17}, {2, 9},  {3, 12}, {4, 7},  {5, 4},  {6, 8},  {7, 3},  {8, 9},
        {9, 9},  {10, 6}, {11, 9}, {12, 4}, {13, 5}, {14, 5}, {15, 5}, {16, 5}, {17, 1},
        {18, 4}, {19, 7}, {20, 6}, {21, 2}, {22, 5}, {23, 4}, {24, 5}, {25, 4}, {26, 4},
        {27, 1}, {28, 4}, {29, 3}, {30, 3}, {31, 3}, {32, 4}, {33, 2}, {34, 2}, {35, 4},
        {36, 2}, {37, 3}, {38, 3}, {39, 2}, {40, 2}, {41, 3}, {42, 2}, {43, 2}, {44, 1},
        {45, 0}, {46, 0}, {47, 0}, {48, 1}, {49, 1}, {50, 0}, {51, 0}, {56, 3}, {57, 1},
        {58, 0}, {60, 1}, {61, 0}, {65, 0}, {66, 1}, {67, 0}, {68, 0}, {69, 0}};
    for (const served_api& api : served_apis()) {
        const auto it = kafka_3_9_max.find(api.api_key);
        if (it == kafka_3_9_max.end()) {
            ADD_FAILURE() << "key " << api.api_key
                          << " is not served by a Kafka 3.9 ZooKeeper broker";
            continue;
        }
        EXPECT_LE(api.max_version, it->second) << "key " << api.api_key;
    }
}

// docs/api-versions.md has one table row per served API: | key | Name | min-max | ... |
TEST(served_apis, docs_api_versions_md_matches_the_table) {
    std::ifstream in(std::string(BROKER_SOURCE_DIR) + "/docs/api-versions.md");
    ASSERT_TRUE(in) << "docs/api-versions.md missing";
    std::stringstream text;
    text << in.rdbuf();
    const std::regex row(R"(^\|\s*(\d+)\s*\|\s*([A-Za-z]+)\s*\|\s*(\d+)-(\d+)\s*\|)");
    std::map<int, std::tuple<std::string, int, int>> documented;
    std::string line;
    while (std::getline(text, line)) {
        std::smatch m;
        if (std::regex_search(line, m, row)) {
            const int key = std::stoi(m[1].str());
            EXPECT_TRUE(documented
                            .emplace(key, std::make_tuple(m[2].str(), std::stoi(m[3].str()),
                                                          std::stoi(m[4].str())))
                            .second)
                << "key " << key << " listed twice";
        }
    }
    for (const served_api& api : served_apis()) {
        const protocol::api_info* info = protocol::find_api(api.api_key);
        ASSERT_NE(info, nullptr);
        const auto it = documented.find(api.api_key);
        if (it == documented.end()) {
            ADD_FAILURE() << "docs/api-versions.md does not list " << info->name;
            continue;
        }
        EXPECT_EQ(std::get<0>(it->second), info->name);
        EXPECT_EQ(std::get<1>(it->second), api.min_version) << info->name;
        EXPECT_EQ(std::get<2>(it->second), api.max_version) << info->name;
        documented.erase(it);
    }
    for (const auto& [key, row] : documented) {
        ADD_FAILURE() << "docs/api-versions.md lists key " << key << " (" << std::get<0>(row)
                      << "), which is not served";
    }
}

}  // namespace
}  // namespace broker::server
