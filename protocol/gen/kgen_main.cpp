// kgen driver: kgen <schema dir> <output dir> <codec batches> <sample batches>
// Reads every *.json schema, then writes into <output dir>/protocol/generated/:
//   <message>.h for each schema, messages.h, dispatch.h, registry.cpp,
//   codec_<i>.cpp (i < codec batches), samples.h, samples_<i>.cpp (i < sample batches),
//   samples_index.cpp.
// Messages are spread over the batches by size so the parallel compile jobs get similar work.
//
// kgen --module <module> <namespace> <schema dir> <output dir>
// Another module's own data schemas (not client-protocol messages, so no registry, dispatch or
// samples): writes <message>.h for each and one codec.cpp into <output dir>/<module>/generated/.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <numeric>
#include <sstream>

#include "protocol/gen/kgen.h"

namespace fs = std::filesystem;
using broker::kgen::message_spec;

namespace {

std::size_t weight(const message_spec& m) {
    std::size_t n = m.root.fields.size();
    for (const auto& s : m.structs) {
        n += s->fields.size();
    }
    return n * static_cast<std::size_t>(m.valid.hi - m.valid.lo + 2);
}

std::vector<std::vector<const message_spec*>> batches(const std::vector<message_spec>& messages,
                                                      int count) {
    std::vector<const message_spec*> order;
    for (const auto& m : messages) {
        order.push_back(&m);
    }
    std::stable_sort(order.begin(), order.end(),
                     [](const auto* a, const auto* b) { return weight(*a) > weight(*b); });
    std::vector<std::vector<const message_spec*>> out(static_cast<std::size_t>(count));
    std::vector<std::size_t> load(static_cast<std::size_t>(count), 0);
    for (const auto* m : order) {
        const auto lightest =
            static_cast<std::size_t>(std::min_element(load.begin(), load.end()) - load.begin());
        out[lightest].push_back(m);
        load[lightest] += weight(*m);
    }
    for (auto& b : out) {  // stable, readable order inside each file
        std::sort(b.begin(), b.end(),
                  [](const auto* a, const auto* b2) { return a->name < b2->name; });
    }
    return out;
}

void write_file(const fs::path& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out) {
        throw std::runtime_error("cannot write " + path.string());
    }
}

/// Every *.json in `schema_dir`, parsed, in file-name order.
std::vector<message_spec> load_schemas(const fs::path& schema_dir) {
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(schema_dir)) {
        if (entry.path().extension() == ".json") {
            files.push_back(entry.path());
        }
    }
    std::sort(files.begin(), files.end());
    if (files.empty()) {
        throw std::runtime_error("no schemas in " + schema_dir.string());
    }
    std::vector<message_spec> messages;
    messages.reserve(files.size());
    for (const auto& path : files) {
        std::ifstream in(path);
        auto json = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false,
                                          /*ignore_comments=*/true);
        if (json.is_discarded()) {
            throw std::runtime_error(path.string() + ": not valid JSON");
        }
        messages.push_back(broker::kgen::parse_message(json));
        if (messages.back().name != path.stem().string()) {
            throw std::runtime_error(path.string() + ": file name differs from message name");
        }
    }
    return messages;
}

/// kgen --module: headers and one codec file for a module's data schemas.
void generate_module(const std::string& module, const std::string& cpp_namespace,
                     const fs::path& schema_dir, const fs::path& out_root) {
    const broker::kgen::output_options output{module, cpp_namespace};
    if (module.empty() || module == "protocol" || output.is_protocol()) {
        throw std::runtime_error("--module is for modules other than protocol");
    }
    const std::vector<message_spec> messages = load_schemas(schema_dir);
    std::vector<const message_spec*> all;
    for (const auto& m : messages) {
        // Requests, responses and headers belong to the API registry, which only protocol/ has.
        if (m.type != "data") {
            throw std::runtime_error(m.name +
                                     ": only \"data\" schemas can be generated with --module");
        }
        all.push_back(&m);
    }
    const fs::path out_dir = out_root / module / "generated";
    fs::create_directories(out_dir);
    for (const auto& m : messages) {
        write_file(out_dir / (m.cpp_name + ".h"), broker::kgen::emit_header(m, output));
    }
    write_file(out_dir / "codec.cpp", broker::kgen::emit_codec_batch(all, output));
}

}  // namespace

int main(int argc, char** argv) {
    if (argc == 6 && std::string(argv[1]) == "--module") {
        try {
            generate_module(argv[2], argv[3], argv[4], argv[5]);
        } catch (const std::exception& e) {
            std::cerr << "kgen: " << e.what() << "\n";
            return 1;
        }
        return 0;
    }
    if (argc != 5) {
        std::cerr << "usage: kgen <schema dir> <output dir> <codec batches> <sample batches>\n"
                     "       kgen --module <module> <namespace> <schema dir> <output dir>\n";
        return 2;
    }
    try {
        const fs::path schema_dir = argv[1];
        const fs::path out_dir = fs::path(argv[2]) / "protocol" / "generated";
        const int codec_batches = std::stoi(argv[3]);
        const int sample_batches = std::stoi(argv[4]);
        if (codec_batches < 1 || sample_batches < 1) {
            throw std::runtime_error("batch counts must be positive");
        }
        const std::vector<message_spec> messages = load_schemas(schema_dir);
        std::vector<const message_spec*> all;
        for (const auto& m : messages) {
            all.push_back(&m);
        }

        fs::create_directories(out_dir);
        for (const auto& m : messages) {
            write_file(out_dir / (m.cpp_name + ".h"), broker::kgen::emit_header(m));
        }
        write_file(out_dir / "messages.h", broker::kgen::emit_messages_header(all));
        write_file(out_dir / "dispatch.h", broker::kgen::emit_dispatch_header(all));
        write_file(out_dir / "registry.cpp", broker::kgen::emit_registry(all));
        const auto codec = batches(messages, codec_batches);
        for (std::size_t i = 0; i < codec.size(); ++i) {
            write_file(out_dir / ("codec_" + std::to_string(i) + ".cpp"),
                       broker::kgen::emit_codec_batch(codec[i]));
        }
        write_file(out_dir / "samples.h", broker::kgen::emit_samples_header(all));
        const auto samples = batches(messages, sample_batches);
        for (std::size_t i = 0; i < samples.size(); ++i) {
            write_file(out_dir / ("samples_" + std::to_string(i) + ".cpp"),
                       broker::kgen::emit_sample_batch(samples[i], static_cast<int>(i)));
        }
        write_file(out_dir / "samples_index.cpp", broker::kgen::emit_samples_index(sample_batches));
    } catch (const std::exception& e) {
        std::cerr << "kgen: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
