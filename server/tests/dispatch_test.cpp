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
