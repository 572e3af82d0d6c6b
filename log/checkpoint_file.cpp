#include "log/checkpoint_file.h"

#include <charconv>
#include <string>
#include <string_view>

#include "log/file.h"

namespace broker::log {
namespace {

constexpr std::size_t max_checkpoint_bytes = 256 * 1024 * 1024;

template <typename T>
bool parse_number(std::string_view text, T& out) {
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc{} && ptr == text.data() + text.size() && !text.empty();
}

/// Splits into lines (the last may lack '\n'); each line into space-separated fields.
std::vector<std::vector<std::string_view>> split(std::string_view text) {
    std::vector<std::vector<std::string_view>> lines;
    while (!text.empty()) {
        auto nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        if (!line.empty() && line.back() == '\r') {
            line.remove_suffix(1);
        }
        std::vector<std::string_view> fields;
        while (!line.empty()) {
            auto space = line.find(' ');
            std::string_view field = line.substr(0, space);
            if (!field.empty()) {
                fields.push_back(field);
            }
            if (space == std::string_view::npos) {
                break;
            }
            line.remove_prefix(space + 1);
        }
        lines.push_back(std::move(fields));
        if (nl == std::string_view::npos) {
            break;
        }
        text.remove_prefix(nl + 1);
    }
    return lines;
}

/// Checks the version and count lines; returns the entry lines.
result<std::vector<std::vector<std::string_view>>> parse_frame(std::string_view text,
                                                               std::size_t fields_per_entry) {
    auto lines = split(text);
    // Tolerate one trailing empty line.
    if (!lines.empty() && lines.back().empty()) {
        lines.pop_back();
    }
    int version = -1;
    std::size_t count = 0;
    if (lines.size() < 2 || lines[0].size() != 1 || !parse_number(lines[0][0], version) ||
        version != 0 || lines[1].size() != 1 || !parse_number(lines[1][0], count) ||
        count != lines.size() - 2) {
        return make_error_code(errc::corrupt_file);
    }
    std::vector<std::vector<std::string_view>> entries(lines.begin() + 2, lines.end());
    for (const auto& e : entries) {
        if (e.size() != fields_per_entry) {
            return make_error_code(errc::corrupt_file);
        }
    }
    return entries;
}

result<std::string> read_text(const std::filesystem::path& path, bool& missing) {
    missing = false;
    auto text = read_small_file(path, max_checkpoint_bytes);
    if (!text && text.error() == std::errc::no_such_file_or_directory) {
        missing = true;
        return std::string();
    }
    return text;
}

}  // namespace

std::error_code write_offset_checkpoint(const std::filesystem::path& path,
                                        const partition_offsets& offsets) {
    std::string text = "0\n" + std::to_string(offsets.size()) + "\n";
    for (const auto& [tp, off] : offsets) {
        text += tp.topic;
        text += ' ';
        text += std::to_string(tp.partition);
        text += ' ';
        text += std::to_string(off);
        text += '\n';
    }
    return replace_file(path, text, true);
}

result<partition_offsets> read_offset_checkpoint(const std::filesystem::path& path) {
    bool missing = false;
    auto text = read_text(path, missing);
    if (!text) {
        return text.error();
    }
    partition_offsets out;
    if (missing) {
        return out;
    }
    auto entries = parse_frame(text.value(), 3);
    if (!entries) {
        return entries.error();
    }
    for (const auto& e : entries.value()) {
        topic_partition tp{std::string(e[0]), 0};
        int64_t off = 0;
        if (!parse_number(e[1], tp.partition) || tp.partition < 0 || !parse_number(e[2], off)) {
            return make_error_code(errc::corrupt_file);
        }
        out[std::move(tp)] = off;
    }
    return out;
}

std::error_code write_epoch_checkpoint(const std::filesystem::path& path,
                                       const std::vector<epoch_entry>& entries, bool durable) {
    std::string text = "0\n" + std::to_string(entries.size()) + "\n";
    for (const auto& e : entries) {
        text += std::to_string(e.epoch);
        text += ' ';
        text += std::to_string(e.start_offset);
        text += '\n';
    }
    return replace_file(path, text, durable);
}

result<std::vector<epoch_entry>> read_epoch_checkpoint(const std::filesystem::path& path) {
    bool missing = false;
    auto text = read_text(path, missing);
    if (!text) {
        return text.error();
    }
    std::vector<epoch_entry> out;
    if (missing) {
        return out;
    }
    auto entries = parse_frame(text.value(), 2);
    if (!entries) {
        return entries.error();
    }
    for (const auto& e : entries.value()) {
        epoch_entry entry;
        if (!parse_number(e[0], entry.epoch) || !parse_number(e[1], entry.start_offset)) {
            return make_error_code(errc::corrupt_file);
        }
        out.push_back(entry);
    }
    return out;
}

}  // namespace broker::log
