// request_path_fuzz: deterministic mutation fuzzer for the whole request path (header decode, body
// decode, handlers) of an in-process broker. See server/fuzz/request_path.h for the invariants and
// docs/reliability.md for how CI runs it.
//
// Usage: request_path_fuzz [--seed N] [--iterations N] [--seconds S] [--golden FILE]
//                          [--corpus DIR] [--crash-dir DIR] [--restart-every N]
//                          [--heap-growth-limit-mb N] [--replay FILE...]
//
// Order of work: every regression input in --corpus, every seed (golden client frames, sample
// requests of every served API at every served version, the harness's setup frames), then
// mutated inputs until --iterations or --seconds runs out, whichever comes first. A violation or
// a sanitizer report saves the input to --crash-dir (as <api>-<hash>.bin, ready to copy into
// the corpus) and exits non-zero.
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
#endif

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "protocol/api.h"
#include "protocol/generated/dispatch.h"
#include "protocol/generated/samples.h"
#include "protocol/header.h"
#include "server/dispatch.h"
#include "server/fuzz/mutator.h"
#include "server/fuzz/request_path.h"

namespace {

using namespace broker;
using namespace broker::server::fuzz;
namespace fs = std::filesystem;

struct settings {
    uint64_t seed = 20240611;
    uint64_t iterations = 20000;
    double seconds = 0;  // 0: no time bound
    std::string golden;
    std::string corpus;
    std::string crash_dir = ".";
    uint64_t restart_every = 2000;
    std::size_t heap_growth_limit_mb = 64;
    std::vector<std::string> replay;
};

// The input being run, for the sanitizer death callback.
const std::vector<uint8_t>* current_input = nullptr;
std::string crash_dir;

uint64_t fnv1a(std::span<const uint8_t> bytes) {
    uint64_t h = 1469598103934665603ULL;
    for (uint8_t b : bytes) {
        h = (h ^ b) * 1099511628211ULL;
    }
    return h;
}

std::string save_input(std::span<const uint8_t> input) {
    char name[64];
    const int api = input.size() >= 2 ? (input[0] << 8 | input[1]) : -1;
    std::snprintf(name, sizeof name, "crash-%d-%016llx.bin", api,
                  static_cast<unsigned long long>(fnv1a(input)));
    const fs::path path = fs::path(crash_dir) / name;
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(input.data()),
              static_cast<std::streamsize>(input.size()));
    return path.string();
}

[[maybe_unused]] void on_sanitizer_death() {
    if (current_input != nullptr) {
        const std::string path = save_input(*current_input);
        std::fprintf(stderr, "request_path_fuzz: input saved to %s\n", path.c_str());
    }
}

std::vector<uint8_t> read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)),
                                std::istreambuf_iterator<char>());
}

/// Client frames captured from real clients: one JSON object per line with a "hex" member.
std::vector<std::vector<uint8_t>> golden_frames(const std::string& path) {
    std::vector<std::vector<uint8_t>> out;
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
        const std::size_t key = line.find("\"hex\"");
        if (key == std::string::npos) {
            continue;
        }
        const std::size_t open = line.find('"', line.find(':', key));
        const std::size_t close = line.find('"', open + 1);
        if (open == std::string::npos || close == std::string::npos) {
            continue;
        }
        const std::string hex = line.substr(open + 1, close - open - 1);
        std::vector<uint8_t> frame;
        for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
            frame.push_back(static_cast<uint8_t>(std::stoul(hex.substr(i, 2), nullptr, 16)));
        }
        out.push_back(std::move(frame));
    }
    return out;
}

/// Sample requests (both sample variants and a default-constructed message) for every served API
/// at every served version, each with its request header.
std::vector<std::vector<uint8_t>> sample_frames() {
    std::vector<std::vector<uint8_t>> out;
    int32_t correlation_id = 100;
    for (const server::served_api& api : server::served_apis()) {
        if (!api.served(true)) {
            continue;  // the fuzzed broker is a single node
        }
        for (int16_t version = api.min_version; version <= api.max_version; ++version) {
            for (int variant = -1; variant < 2; ++variant) {
                std::vector<uint8_t> frame;
                protocol::writer w(frame);
                protocol::request_header header;
                header.request_api_key = api.api_key;
                header.request_api_version = version;
                header.correlation_id = correlation_id++;
                header.client_id = "fuzz";
                protocol::encode_request_header(
                    w, protocol::request_header_version(api.api_key, version), header);
                protocol::visit_request_type(api.api_key, [&](auto type) {
                    using request_type = typename decltype(type)::type;
                    request_type request;
                    if (variant >= 0) {
                        protocol::fill_sample(request, version, variant);
                    }
                    protocol::encode(w, version, request);
                });
                out.push_back(std::move(frame));
            }
        }
    }
    return out;
}

bool parse_arguments(int argc, char** argv, settings& s) {
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        const auto value = [&]() -> std::string {
            if (i + 1 >= argc) {
                throw std::invalid_argument(arg + " needs a value");
            }
            return argv[++i];
        };
        if (arg == "--seed") {
            s.seed = std::stoull(value());
        } else if (arg == "--iterations") {
            s.iterations = std::stoull(value());
        } else if (arg == "--seconds") {
            s.seconds = std::stod(value());
        } else if (arg == "--golden") {
            s.golden = value();
        } else if (arg == "--corpus") {
            s.corpus = value();
        } else if (arg == "--crash-dir") {
            s.crash_dir = value();
        } else if (arg == "--restart-every") {
            s.restart_every = std::max<uint64_t>(1, std::stoull(value()));
        } else if (arg == "--heap-growth-limit-mb") {
            s.heap_growth_limit_mb = std::stoull(value());
        } else if (arg == "--replay") {
            while (i + 1 < argc && std::strncmp(argv[i + 1], "--", 2) != 0) {
                s.replay.emplace_back(argv[++i]);
            }
        } else {
            std::cerr << "unknown argument " << arg << "\n";
            return false;
        }
    }
    return true;
}

struct statistics {
    std::map<std::string, uint64_t> outcomes;
    std::map<int16_t, uint64_t> dispatched_by_key;
    uint64_t runs = 0;

    void add(const request_outcome& o) {
        ++runs;
        ++outcomes[std::string(outcome_name(o.result))];
        if (o.result != request_outcome::kind::closed_before_dispatch) {
            ++dispatched_by_key[o.api_key];
        }
    }
};

}  // namespace

int main(int argc, char** argv) {
    settings s;
    try {
        if (!parse_arguments(argc, argv, s)) {
            return 2;
        }
    } catch (const std::exception& e) {
        std::cerr << e.what() << "\n";
        return 2;
    }
    crash_dir = s.crash_dir;
    fs::create_directories(crash_dir);
#if defined(__SANITIZE_ADDRESS__)
    __sanitizer_set_death_callback(on_sanitizer_death);
#endif

    const auto started = std::chrono::steady_clock::now();
    request_path_harness harness;
    statistics stats;
    const auto run_one = [&](const std::vector<uint8_t>& input, unsigned shard,
                             const std::string& what) {
        current_input = &input;
        const request_outcome outcome = harness.run(input, shard);
        current_input = nullptr;
        stats.add(outcome);
        if (!outcome.violation.empty()) {
            const std::string path = save_input(input);
            std::cerr << "VIOLATION (" << what << ", API key " << outcome.api_key << " v"
                      << outcome.api_version << "): " << outcome.violation << "\ninput saved to "
                      << path << "\n";
            return false;
        }
        return true;
    };

    if (!s.replay.empty()) {
        for (const std::string& file : s.replay) {
            if (!run_one(read_file(file), 0, file)) {
                return 1;
            }
        }
        std::cout << "replayed " << s.replay.size() << " inputs, no violation\n";
        return 0;
    }

    // Regression inputs first: each once on each shard.
    std::size_t regressions = 0;
    if (!s.corpus.empty() && fs::is_directory(s.corpus)) {
        std::vector<fs::path> files;
        for (const auto& entry : fs::directory_iterator(s.corpus)) {
            if (entry.is_regular_file() && entry.path().extension() == ".bin") {
                files.push_back(entry.path());
            }
        }
        std::sort(files.begin(), files.end());
        for (const fs::path& file : files) {
            const std::vector<uint8_t> input = read_file(file);
            if (!run_one(input, 0, file.string()) || !run_one(input, 1, file.string())) {
                return 1;
            }
        }
        regressions = files.size();
    }

    std::vector<std::vector<uint8_t>> seeds;
    if (!s.golden.empty()) {
        seeds = golden_frames(s.golden);
    }
    for (auto& frame : sample_frames()) {
        seeds.push_back(std::move(frame));
    }
    for (auto& frame : request_path_harness::setup_frames()) {
        seeds.push_back(std::move(frame));
    }
    for (std::size_t i = 0; i < seeds.size(); ++i) {
        if (!run_one(seeds[i], static_cast<unsigned>(i), "seed " + std::to_string(i))) {
            return 1;
        }
    }

    mutator m(s.seed);
    std::vector<std::size_t> heap_samples;
    uint64_t iteration = 0;
    const auto out_of_time = [&] {
        return s.seconds > 0 &&
               std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count() >=
                   s.seconds;
    };
    for (; iteration < s.iterations && !out_of_time(); ++iteration) {
        if (iteration % s.restart_every == 0) {
            harness.restart();
            heap_samples.push_back(live_heap_bytes());
        }
        const std::vector<uint8_t> input = m.mutate(seeds, nullptr);
        if (!run_one(input, static_cast<unsigned>(iteration),
                     "iteration " + std::to_string(iteration))) {
            return 1;
        }
    }
    harness.restart();
    heap_samples.push_back(live_heap_bytes());

    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::cout << "request_path_fuzz: seed " << s.seed << ", " << regressions
              << " regression inputs, " << seeds.size() << " seeds, " << iteration
              << " mutated inputs, " << stats.runs << " runs in " << elapsed << " s\n";
    for (const auto& [name, count] : stats.outcomes) {
        std::cout << "  " << name << ": " << count << "\n";
    }
    std::cout << "  dispatched by API key:";
    for (const auto& [key, count] : stats.dispatched_by_key) {
        std::cout << " " << key << "=" << count;
    }
    std::cout << "\n  live heap after each fresh broker (KiB):";
    for (std::size_t bytes : heap_samples) {
        std::cout << " " << bytes / 1024;
    }
    std::cout << "\n";
    // Each sample is taken right after a fresh broker started, so they measure what survives a
    // broker's lifetime. The first sample is a warm-up (one-time static state); after it, growth
    // beyond the limit means something outlives the broker that should not.
    if (heap_samples.size() >= 3) {
        const std::size_t base = heap_samples[1];
        const std::size_t last = heap_samples.back();
        if (last > base && last - base > s.heap_growth_limit_mb * 1024 * 1024) {
            std::cerr << "VIOLATION: live heap grew by " << (last - base) / (1024 * 1024)
                      << " MiB across broker restarts (limit " << s.heap_growth_limit_mb
                      << " MiB)\n";
            return 1;
        }
    }
    return 0;
}
