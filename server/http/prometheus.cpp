#include "server/http/prometheus.h"

#include <charconv>
#include <cmath>

namespace broker::server::http {

void prometheus_writer::family(std::string_view name, std::string_view type,
                               std::string_view help) {
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    // HELP text escapes only backslash and newline.
    for (const char c : help) {
        if (c == '\\') {
            out_ += "\\\\";
        } else if (c == '\n') {
            out_ += "\\n";
        } else {
            out_ += c;
        }
    }
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
}

void prometheus_writer::write_labels(std::initializer_list<label> labels) {
    if (labels.size() == 0) {
        return;
    }
    out_ += '{';
    bool first = true;
    for (const auto& [name, value] : labels) {
        if (!first) {
            out_ += ',';
        }
        first = false;
        out_ += name;
        out_ += "=\"";
        out_ += escape_label_value(value);
        out_ += '"';
    }
    out_ += '}';
}

void prometheus_writer::sample(std::string_view name, std::initializer_list<label> labels,
                               double value) {
    out_ += name;
    write_labels(labels);
    out_ += ' ';
    out_ += format_number(value);
    out_ += '\n';
}

void prometheus_writer::sample(std::string_view name, std::initializer_list<label> labels,
                               uint64_t value) {
    out_ += name;
    write_labels(labels);
    out_ += ' ';
    out_ += std::to_string(value);
    out_ += '\n';
}

void prometheus_writer::sample(std::string_view name, std::initializer_list<label> labels,
                               int64_t value) {
    out_ += name;
    write_labels(labels);
    out_ += ' ';
    out_ += std::to_string(value);
    out_ += '\n';
}

std::string prometheus_writer::escape_label_value(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    for (const char c : value) {
        switch (c) {
            case '\\': out += "\\\\"; break;
            case '"': out += "\\\""; break;
            case '\n': out += "\\n"; break;
            default: out += c;
        }
    }
    return out;
}

std::string prometheus_writer::format_number(double value) {
    if (std::isnan(value)) {
        return "NaN";
    }
    if (std::isinf(value)) {
        return value > 0 ? "+Inf" : "-Inf";
    }
    char buffer[64];
    // Fixed notation in the usual range ("0.0005", not "5e-04": bucket bounds read as written).
    const double magnitude = std::fabs(value);
    const bool fixed = value == 0 || (magnitude >= 1e-6 && magnitude < 1e15);
    const auto [end, ec] =
        fixed ? std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::fixed)
              : std::to_chars(buffer, buffer + sizeof buffer, value);
    if (ec != std::errc{}) {
        return "NaN";  // cannot happen with 64 bytes; keeps the line parseable regardless
    }
    return std::string(buffer, end);
}

}  // namespace broker::server::http
