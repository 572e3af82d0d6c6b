#include "server/producer_ids.h"

#include <charconv>
#include <limits>
#include <string>
#include <string_view>

#include "log/errors.h"
#include "log/file.h"

namespace broker::server {
namespace {

constexpr std::size_t max_file_bytes = 4096;

/// Parses "0\n<n>\n" (the final newline optional).
std::optional<int64_t> parse_block_file(std::string_view text) {
    if (text.size() < 2 || text.substr(0, 2) != "0\n") {
        return std::nullopt;
    }
    text.remove_prefix(2);
    if (!text.empty() && text.back() == '\n') {
        text.remove_suffix(1);
    }
    int64_t value = -1;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc() || ptr != text.data() + text.size() || value < 0) {
        return std::nullopt;
    }
    return value;
}

}  // namespace

file_producer_id_blocks::file_producer_id_blocks(std::filesystem::path file)
    : file_(std::move(file)) {}

std::error_code file_producer_id_blocks::next_block(int64_t size, producer_id_t& first) {
    if (!loaded_) {
        auto text = log::read_small_file(file_, max_file_bytes);
        if (text) {
            auto value = parse_block_file(text.value());
            if (!value) {
                return log::make_error_code(log::errc::corrupt_file);
            }
            end_ = *value;
        } else if (text.error() != std::errc::no_such_file_or_directory) {
            return text.error();
        }
        loaded_ = true;
    }
    if (end_ > std::numeric_limits<int64_t>::max() - size) {
        return std::make_error_code(std::errc::value_too_large);
    }
    const int64_t end = end_ + size;
    std::error_code ec;
    std::filesystem::create_directories(file_.parent_path(), ec);
    if (ec) {
        return ec;
    }
    const std::string content = "0\n" + std::to_string(end) + "\n";
    if (auto write_error = log::replace_file(file_, content, true)) {
        return write_error;
    }
    first = producer_id_t{end_};
    end_ = end;
    return {};
}

producer_id_manager::producer_id_manager(std::unique_ptr<producer_id_block_source> source)
    : source_(std::move(source)) {}

producer_id_manager::producer_id_manager(std::filesystem::path file)
    : producer_id_manager(std::make_unique<file_producer_id_blocks>(std::move(file))) {}

producer_id_manager::allocation producer_id_manager::allocate() {
    std::lock_guard lock(mutex_);
    allocation out;
    if (next_ >= block_end_) {
        producer_id_t first;
        if (auto ec = source_->next_block(block_size, first)) {
            out.error = ec;
            return out;
        }
        next_ = first.value();
        block_end_ = next_ + block_size;
    }
    out.id = producer_id_t{next_++};
    return out;
}

std::optional<producer_id_t> producer_id_manager::try_allocate() {
    std::lock_guard lock(mutex_);
    if (next_ >= block_end_) {
        return std::nullopt;
    }
    return producer_id_t{next_++};
}

}  // namespace broker::server
