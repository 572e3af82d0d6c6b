// Writes the fuzzer's seed corpus: every sample request (both variants) at every version, each as a
// request header (in the version the registry picks) followed by the body, one file per input.
// Usage: protocol_fuzz_seeds <directory>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

#include "protocol/api.h"
#include "protocol/generated/samples.h"
#include "protocol/header.h"
#include "protocol/tests/codec_sample.h"

int main(int argc, char** argv) {
    using namespace broker::protocol;
    if (argc != 2) {
        std::cerr << "usage: protocol_fuzz_seeds <directory>\n";
        return 2;
    }
    const std::filesystem::path dir = argv[1];
    std::filesystem::create_directories(dir);
    int written = 0;
    for (const auto& c : testing::all_sample_cases()) {
        if (c.type != "request") {
            continue;
        }
        for (int16_t v = c.min_version; v <= c.max_version; ++v) {
            for (int variant = 0; variant < 2; ++variant) {
                std::vector<uint8_t> frame;
                writer w(frame);
                request_header header;
                header.request_api_key = c.api_key;
                header.request_api_version = v;
                header.correlation_id = 1000 + variant;
                header.client_id = "fuzz-seed";
                encode_request_header(w, request_header_version(c.api_key, v), header);
                c.encode(v, variant, frame);
                const auto name = std::to_string(c.api_key) + "_" + std::to_string(v) + "_" +
                                  std::to_string(variant);
                std::ofstream out(dir / name, std::ios::binary);
                out.write(reinterpret_cast<const char*>(frame.data()),
                          static_cast<std::streamsize>(frame.size()));
                if (!out) {
                    std::cerr << "cannot write " << (dir / name) << "\n";
                    return 1;
                }
                ++written;
            }
        }
    }
    std::cout << "wrote " << written << " seeds to " << dir << "\n";
    return 0;
}
