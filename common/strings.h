#pragma once
// Small string helpers shared by the configuration parsers (server/config.cpp,
// server/topic_config.cpp, log/log_config.cpp) and the admin paths: trimming, comma-separated
// lists, joining, ASCII lower case. Header-only and standard library only, so protocol/ and log/
// may include it.
//
// Whitespace is the set the C locale's isspace() accepts (space, \t, \n, \v, \f, \r), spelled out
// so that no call depends on the process locale. Case folding is ASCII only, as std::tolower() is
// in the C locale the broker runs in: Kafka names and config values are compared as ASCII. Every
// function is pure; any thread may call them.
#include <cstddef>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace broker {

/// True for the C locale's isspace() characters.
constexpr bool is_space(char c) noexcept {
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/// `s` without leading and trailing whitespace (is_space).
constexpr std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && is_space(s.front())) {
        s.remove_prefix(1);
    }
    while (!s.empty() && is_space(s.back())) {
        s.remove_suffix(1);
    }
    return s;
}

/// Every piece of `text` between separators, untrimmed and including empty ones: "a,,b" gives
/// {"a", "", "b"}, "" gives {""}. The views point into `text`.
inline std::vector<std::string_view> split(std::string_view text, char separator) {
    std::vector<std::string_view> pieces;
    while (true) {
        const std::size_t at = text.find(separator);
        pieces.push_back(text.substr(0, at));
        if (at == std::string_view::npos) {
            return pieces;
        }
        text.remove_prefix(at + 1);
    }
}

/// A comma-separated list as Kafka's LIST configs are written: each item trimmed, empty items
/// dropped (" a , ,b " gives {"a", "b"}; "" and " " give {}).
inline std::vector<std::string> split_list(std::string_view text) {
    std::vector<std::string> items;
    for (const std::string_view piece : split(text, ',')) {
        const std::string_view item = trim(piece);
        if (!item.empty()) {
            items.emplace_back(item);
        }
    }
    return items;
}

/// The items of `range` with `separator` between each two. Integers are written in decimal;
/// anything else must convert to std::string_view.
template <typename Range>
std::string join(const Range& range, std::string_view separator) {
    std::string out;
    bool first = true;
    for (const auto& item : range) {
        if (!first) {
            out += separator;
        }
        first = false;
        if constexpr (std::is_integral_v<std::remove_cvref_t<decltype(item)>>) {
            out += std::to_string(item);
        } else {
            out += std::string_view(item);
        }
    }
    return out;
}

/// ASCII upper-case letters of `c` folded to lower case; every other byte unchanged.
constexpr char to_lower(char c) noexcept {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

/// `s` with its ASCII letters in lower case.
inline std::string to_lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) {
        c = to_lower(c);
    }
    return out;
}

}  // namespace broker
