#pragma once
// prometheus_writer: builds a response body in the Prometheus text exposition format (version
// 0.0.4): for each metric family one `# HELP` line, one `# TYPE` line, then its samples
// `name{label="value",...} number`, one per line, families never interleaved.
//
// Label values are escaped as the format requires (backslash, double quote, newline); metric and
// label names are fixed by the caller (the renderer in admin_api.cpp). Numbers print in the
// shortest form that reads back exactly; infinities as +Inf/-Inf, NaN as NaN.
//
// Plain value type; one writer per scrape, used on one thread.
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace broker::server::http {

class prometheus_writer {
public:
    using label = std::pair<std::string_view, std::string_view>;

    /// Starts a family: writes its HELP and TYPE lines. `type` is counter, gauge or histogram.
    void family(std::string_view name, std::string_view type, std::string_view help);

    void sample(std::string_view name, std::initializer_list<label> labels, double value);
    void sample(std::string_view name, std::initializer_list<label> labels, uint64_t value);
    void sample(std::string_view name, std::initializer_list<label> labels, int64_t value);

    const std::string& text() const { return out_; }
    std::string release() { return std::move(out_); }

    /// `value` with \\, \" and \n escaped.
    static std::string escape_label_value(std::string_view value);
    /// Shortest exact decimal form; "+Inf", "-Inf" or "NaN" for the special values.
    static std::string format_number(double value);

private:
    void write_labels(std::initializer_list<label> labels);

    std::string out_;
};

}  // namespace broker::server::http
