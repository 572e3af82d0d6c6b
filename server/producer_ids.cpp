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

producer_id_manager::producer_id_manager(std::filesystem::path file) : file_(std::move(file)) {}

std::error_code producer_id_manager::load_locked() {
    auto text = log::read_small_file(file_, max_file_bytes);
    if (!text) {
        if (text.error() != std::errc::no_such_file_or_directory) {
            return text.error();
        }
        next_ = 0;
        block_end_ = 0;
        loaded_ = true;
        return {};
    }
    auto value = parse_block_file(text.value());
    if (!value) {
        return log::make_error_code(log::errc::corrupt_file);
    }
    next_ = *value;
    block_end_ = *value;
    loaded_ = true;
    return {};
}

std::error_code producer_id_manager::reserve_locked() {
    if (next_ > std::numeric_limits<int64_t>::max() - block_size) {
        return std::make_error_code(std::errc::value_too_large);
    }
    const int64_t end = next_ + block_size;
    std::error_code ec;
    std::filesystem::create_directories(file_.parent_path(), ec);
    if (ec) {
        return ec;
    }
    const std::string content = "0\n" + std::to_string(end) + "\n";
    if (auto write_error = log::replace_file(file_, content, true)) {
        return write_error;
    }
    block_end_ = end;
    return {};
}

producer_id_manager::allocation producer_id_manager::allocate() {
    std::lock_guard lock(mutex_);
    allocation out;
    if (!loaded_) {
        if (auto ec = load_locked()) {
            out.error = ec;
            return out;
        }
    }
    if (next_ >= block_end_) {
        if (auto ec = reserve_locked()) {
            out.error = ec;
            return out;
        }
    }
    out.id = next_++;
    return out;
}

std::optional<int64_t> producer_id_manager::try_allocate() {
    std::lock_guard lock(mutex_);
    if (!loaded_ || next_ >= block_end_) {
        return std::nullopt;
    }
    return next_++;
}

}  // namespace broker::server
