// Regression inputs of the request-path fuzzer (server/fuzz/corpus/*.bin) replayed through the
// same harness: each must be refused, answered with a well-formed response, or closed, on either
// shard. Also checks the harness itself: its setup frames succeed, and the checks it makes can
// fail.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <vector>

#include "protocol/generated/messages.h"
#include "protocol/header.h"
#include "server/fuzz/mutator.h"
#include "server/fuzz/request_path.h"

namespace broker::server::fuzz {
namespace {

namespace fs = std::filesystem;

std::vector<uint8_t> read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)),
                                std::istreambuf_iterator<char>());
}

template <typename Body>
std::vector<uint8_t> frame(int16_t version, const Body& body) {
    std::vector<uint8_t> out;
    protocol::writer w(out);
    protocol::request_header header;
    header.request_api_key = Body::api_key;
    header.request_api_version = version;
    header.correlation_id = 77;
    header.client_id = "regression";
    protocol::encode_request_header(w, protocol::request_header_version(Body::api_key, version),
                                    header);
    protocol::encode(w, version, body);
    return out;
}

TEST(request_path_regression, corpus_inputs_are_refused_answered_or_closed) {
    const fs::path corpus = fs::path(BROKER_SOURCE_DIR) / "server" / "fuzz" / "corpus";
    ASSERT_TRUE(fs::is_directory(corpus));
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(corpus)) {
        if (entry.path().extension() == ".bin") {
            files.push_back(entry.path());
        }
    }
    std::sort(files.begin(), files.end());
    ASSERT_FALSE(files.empty());
    request_path_harness harness;
    for (const fs::path& file : files) {
        const std::vector<uint8_t> input = read_file(file);
        for (unsigned shard = 0; shard < 2; ++shard) {
            const request_outcome outcome = harness.run(input, shard);
            EXPECT_EQ(outcome.violation, "") << file.filename() << " on shard " << shard;
        }
    }
}

TEST(request_path_regression, well_formed_requests_are_answered) {
    request_path_harness harness;
    protocol::api_versions_request api_versions;
    const request_outcome a = harness.run(frame(3, api_versions));
    EXPECT_EQ(a.result, request_outcome::kind::answered);
    EXPECT_EQ(a.violation, "");

    protocol::metadata_request metadata;
    metadata.topics.emplace();
    protocol::metadata_request::metadata_request_topic topic;
    topic.name = "fuzz-topic";
    metadata.topics->push_back(topic);
    const request_outcome m = harness.run(frame(9, metadata), 1);
    EXPECT_EQ(m.result, request_outcome::kind::answered);
    EXPECT_EQ(m.violation, "");
}

TEST(request_path_regression, malformed_frames_close_before_or_in_the_handler) {
    request_path_harness harness;
    // Unknown API key.
    const std::vector<uint8_t> unknown{0x7f, 0x00, 0x00, 0x00, 0, 0, 0, 1, 0xff, 0xff};
    EXPECT_EQ(harness.run(unknown).result, request_outcome::kind::closed_before_dispatch);
    // Metadata v9 whose topic array claims 2^30 elements in a few bytes.
    protocol::metadata_request metadata;
    std::vector<uint8_t> bad = frame(1, metadata);
    bad.resize(bad.size() - 4);
    for (uint8_t b : {0x40, 0x00, 0x00, 0x00}) {
        bad.push_back(b);
    }
    const request_outcome outcome = harness.run(bad);
    EXPECT_EQ(outcome.result, request_outcome::kind::closed_by_handler);
    EXPECT_EQ(outcome.violation, "");
}

TEST(request_path_mutator, same_seed_same_inputs) {
    const std::vector<std::vector<uint8_t>> seeds{{0, 3, 0, 9, 1, 2, 3, 4, 5, 6, 7, 8},
                                                  {0, 18, 0, 3, 9, 9}};
    mutator a(42);
    mutator b(42);
    mutator c(43);
    bool differs = false;
    for (int i = 0; i < 200; ++i) {
        const auto x = a.mutate(seeds, nullptr);
        EXPECT_EQ(x, b.mutate(seeds, nullptr));
        EXPECT_LE(x.size(), max_input_size);
        differs = differs || x != c.mutate(seeds, nullptr);
    }
    EXPECT_TRUE(differs);
}

}  // namespace
}  // namespace broker::server::fuzz
