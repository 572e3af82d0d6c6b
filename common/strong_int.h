#pragma once
// strong_int: an integer with a tag, so that two quantities of the same width (a broker id and a
// leader epoch, an offset and a timestamp) are distinct types, and a signature that takes one
// cannot silently be handed the other (Redpanda's `named_type` does the same job).
//
// What it has: explicit construction from T, value(), == and <=> against the same type only,
// printing to an ostream, and std::hash (so it can key unordered containers). What it does not
// have, on purpose: any implicit conversion, to or from T or another strong_int, and arithmetic.
// A type that needs an operation gets it as a named function beside its definition; raw values
// come out with value() only at the wire and on disk.
//
// A strong_int is trivially copyable and as large as T, so it can be kept in std::atomic.
// Header-only and standard library only, so every module may use it.
#include <compare>
#include <cstddef>
#include <functional>
#include <iosfwd>
#include <vector>

namespace broker {

template <typename T, typename Tag>
class strong_int {
public:
    using value_type = T;

    /// T{} (zero): callers that mean "none" say so with a named constant.
    constexpr strong_int() = default;
    constexpr explicit strong_int(T value) : value_(value) {}

    constexpr T value() const { return value_; }

    friend constexpr bool operator==(const strong_int&, const strong_int&) = default;
    friend constexpr auto operator<=>(const strong_int&, const strong_int&) = default;

    /// Prints the bare number, as the raw integer printed before.
    template <typename CharT, typename Traits>
    friend std::basic_ostream<CharT, Traits>& operator<<(std::basic_ostream<CharT, Traits>& out,
                                                         const strong_int& v) {
        return out << v.value_;
    }

private:
    T value_{};
};

/// The raw values of `ids`, in order, for the places that hand a list of ids to the wire or to a
/// structure that still holds raw integers.
template <typename T, typename Tag>
std::vector<T> raw_values(const std::vector<strong_int<T, Tag>>& ids) {
    std::vector<T> out;
    out.reserve(ids.size());
    for (const strong_int<T, Tag>& id : ids) {
        out.push_back(id.value());
    }
    return out;
}

}  // namespace broker

template <typename T, typename Tag>
struct std::hash<broker::strong_int<T, Tag>> {
    std::size_t operator()(const broker::strong_int<T, Tag>& v) const noexcept {
        return std::hash<T>{}(v.value());
    }
};
