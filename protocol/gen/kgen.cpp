#include "protocol/gen/kgen.h"

#include <algorithm>
#include <charconv>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>

namespace broker::kgen {

// ============================================================================================
// versions
// ============================================================================================

namespace {
int16_t parse_version_number(std::string_view text, std::string_view whole) {
    int value = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || ptr != text.data() + text.size() || value < 0 ||
        value >= versions::unbounded) {
        throw std::runtime_error("bad version range '" + std::string(whole) + "'");
    }
    return static_cast<int16_t>(value);
}
}  // namespace

versions versions::parse(std::string_view text) {
    if (text == "none") {
        return none();
    }
    if (!text.empty() && text.back() == '+') {
        return {parse_version_number(text.substr(0, text.size() - 1), text), unbounded};
    }
    const auto dash = text.find('-');
    if (dash != std::string_view::npos) {
        versions v{parse_version_number(text.substr(0, dash), text),
                   parse_version_number(text.substr(dash + 1), text)};
        if (v.empty()) {
            throw std::runtime_error("empty version range '" + std::string(text) + "'");
        }
        return v;
    }
    const int16_t n = parse_version_number(text, text);
    return {n, n};
}

versions versions::intersect(const versions& other) const {
    versions v{std::max(lo, other.lo), std::min(hi, other.hi)};
    return v.empty() ? none() : v;
}

versions versions::hull(const versions& other) const {
    if (empty()) {
        return other;
    }
    if (other.empty()) {
        return *this;
    }
    return {std::min(lo, other.lo), std::max(hi, other.hi)};
}

// ============================================================================================
// names
// ============================================================================================

std::string snake_case(std::string_view name) {
    std::string out;
    auto is_upper = [](char c) { return c >= 'A' && c <= 'Z'; };
    auto is_lower_or_digit = [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    };
    for (std::size_t i = 0; i < name.size(); ++i) {
        const char c = name[i];
        if (is_upper(c) && i > 0) {
            const char prev = name[i - 1];
            const bool next_lower = i + 1 < name.size() && name[i + 1] >= 'a' && name[i + 1] <= 'z';
            if (is_lower_or_digit(prev) || (is_upper(prev) && next_lower)) {
                out.push_back('_');
            }
        }
        out.push_back(is_upper(c) ? static_cast<char>(c - 'A' + 'a') : c);
    }
    return out;
}

std::string escape_identifier(std::string name) {
    static const std::set<std::string> reserved = {
        "alignas", "alignof", "and", "and_eq", "asm", "auto", "bitand", "bitor", "bool", "break",
        "case", "catch", "char", "char8_t", "char16_t", "char32_t", "class", "compl", "concept",
        "const", "consteval", "constexpr", "constinit", "const_cast", "continue", "co_await",
        "co_return", "co_yield", "decltype", "default", "delete", "do", "double", "dynamic_cast",
        "else", "enum", "explicit", "export", "extern", "false", "float", "for", "friend", "goto",
        "if", "inline", "int", "long", "mutable", "namespace", "new", "noexcept", "not", "not_eq",
        "nullptr", "operator", "or", "or_eq", "private", "protected", "public", "register",
        "reinterpret_cast", "requires", "return", "short", "signed", "sizeof", "static",
        "static_assert", "static_cast", "struct", "switch", "template", "this", "thread_local",
        "throw", "true", "try", "typedef", "typeid", "typename", "union", "unsigned", "using",
        "virtual", "void", "volatile", "wchar_t", "while", "xor", "xor_eq",
        // Names the generated code itself uses inside struct scope or function bodies.
        "std", "broker", "m", "v", "r", "w", "s", "e"};
    if (reserved.count(name) != 0) {
        name.push_back('_');
    }
    return name;
}

// ============================================================================================
// parsing
// ============================================================================================

namespace {

struct primitive_name {
    std::string_view name;
    kind k;
};
constexpr primitive_name primitives[] = {
    {"bool", kind::boolean},  {"int8", kind::int8},       {"int16", kind::int16},
    {"uint16", kind::uint16}, {"int32", kind::int32},     {"uint32", kind::uint32},
    {"int64", kind::int64},   {"float64", kind::float64}, {"string", kind::string},
    {"bytes", kind::bytes},   {"uuid", kind::uuid},       {"records", kind::records},
};

std::optional<kind> primitive_kind(std::string_view name) {
    for (const auto& p : primitives) {
        if (p.name == name) {
            return p.k;
        }
    }
    return std::nullopt;
}

std::string json_text(const nlohmann::json& value) {
    if (value.is_string()) {
        return value.get<std::string>();
    }
    if (value.is_boolean()) {
        return value.get<bool>() ? "true" : "false";
    }
    if (value.is_number()) {
        return value.dump();
    }
    throw std::runtime_error("unsupported default value " + value.dump());
}

versions versions_key(const nlohmann::json& j, const char* key, versions fallback) {
    auto it = j.find(key);
    if (it == j.end()) {
        return fallback;
    }
    return versions::parse(it->get<std::string>());
}

bool nullable_kind(const field_spec& f) {
    return f.is_array || f.element == kind::string || f.element == kind::bytes ||
           f.element == kind::records || f.element == kind::structure;
}

/// Builds one message_spec from its schema JSON: defines inline structs as it meets them and common
/// structs on first use, so message_spec::structs ends up in dependency order. Used once per
/// schema.
class parser {
public:
    explicit parser(message_spec& message) : message_(message) {}

    void parse(const nlohmann::json& schema) {
        if (schema.contains("commonStructs")) {
            for (const auto& cs : schema.at("commonStructs")) {
                const auto name = cs.at("name").get<std::string>();
                if (!common_json_.emplace(name, &cs).second) {
                    throw std::runtime_error("common struct " + name + " defined twice");
                }
            }
        }
        message_.root.name = message_.name;
        message_.root.cpp_name = message_.cpp_name;
        message_.root.present = message_.valid;
        parse_fields(message_.root, schema.at("fields"), message_.name);
        // Common structs nobody references still become types (they are part of the schema).
        for (const auto& [name, json] : common_json_) {
            resolve_common(name);
        }
    }

private:
    struct_spec* resolve_common(const std::string& name) {
        if (auto it = defined_.find(name); it != defined_.end()) {
            return it->second;
        }
        auto it = common_json_.find(name);
        if (it == common_json_.end()) {
            throw std::runtime_error("struct " + name +
                                     " is used without fields and is not a common struct");
        }
        if (!in_progress_.insert(name).second) {
            throw std::runtime_error("common struct " + name + " contains itself");
        }
        const auto& j = *it->second;
        auto s = std::make_unique<struct_spec>();
        s->name = name;
        s->common = true;
        s->present = versions_key(j, "versions", {0, versions::unbounded});
        parse_fields(*s, j.at("fields"), name);
        in_progress_.erase(name);
        return add_struct(std::move(s));
    }

    struct_spec* define_inline(const std::string& name, const nlohmann::json& fields,
                               versions present) {
        if (defined_.count(name) != 0 || common_json_.count(name) != 0) {
            throw std::runtime_error("struct " + name + " defined more than once");
        }
        auto s = std::make_unique<struct_spec>();
        s->name = name;
        s->present = present;
        parse_fields(*s, fields, name);
        return add_struct(std::move(s));
    }

    struct_spec* add_struct(std::unique_ptr<struct_spec> s) {
        struct_spec* raw = s.get();
        defined_[raw->name] = raw;
        message_.structs.push_back(std::move(s));
        return raw;
    }

    void parse_fields(struct_spec& s, const nlohmann::json& fields, const std::string& where) {
        std::set<std::string> names;
        std::set<uint32_t> tags;
        for (const auto& j : fields) {
            field_spec f = parse_field(j, where);
            if (!names.insert(f.cpp_name).second) {
                throw std::runtime_error(where + ": two fields named " + f.cpp_name);
            }
            if (f.tag && !tags.insert(*f.tag).second) {
                throw std::runtime_error(where + ": tag " + std::to_string(*f.tag) + " used twice");
            }
            s.fields.push_back(std::move(f));
        }
    }

    field_spec parse_field(const nlohmann::json& j, const std::string& where) {
        field_spec f;
        f.name = j.at("name").get<std::string>();
        const std::string context = where + "." + f.name;
        f.cpp_name = escape_identifier(snake_case(f.name));
        if (f.cpp_name == "unknown_tags") {
            throw std::runtime_error(context + ": field name clashes with unknown_tags");
        }
        if (!j.contains("versions")) {
            throw std::runtime_error(context + ": no versions");
        }
        f.present = versions::parse(j.at("versions").get<std::string>());
        f.nullable = versions_key(j, "nullableVersions", versions::none());
        f.tagged = versions_key(j, "taggedVersions", versions::none());
        if (j.contains("flexibleVersions")) {
            f.flexible_override = versions::parse(j.at("flexibleVersions").get<std::string>());
        }
        if (j.contains("tag")) {
            // Kafka's schemas write the tag as a number, except one that writes it as a string.
            const auto& t = j.at("tag");
            int tag = -1;
            if (t.is_string()) {
                const auto text = t.get<std::string>();
                auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), tag);
                if (ec != std::errc() || ptr != text.data() + text.size()) {
                    throw std::runtime_error(context + ": bad tag '" + text + "'");
                }
            } else {
                tag = t.get<int>();
            }
            if (tag < 0) {
                throw std::runtime_error(context + ": negative tag");
            }
            f.tag = static_cast<uint32_t>(tag);
        }
        if (j.contains("default")) {
            f.default_value = json_text(j.at("default"));
        }
        f.ignorable = j.value("ignorable", false);
        f.zero_copy = j.value("zeroCopy", false);
        f.map_key = j.value("mapKey", false);
        f.entity_type = j.value("entityType", std::string());

        std::string type = j.at("type").get<std::string>();
        if (type.rfind("[]", 0) == 0) {
            f.is_array = true;
            type = type.substr(2);
        }
        if (auto k = primitive_kind(type)) {
            f.element = *k;
            if (j.contains("fields")) {
                throw std::runtime_error(context + ": primitive type with fields");
            }
            if (f.is_array && f.element == kind::records) {
                throw std::runtime_error(context + ": arrays of records are not supported");
            }
        } else {
            if (type.empty() || type[0] < 'A' || type[0] > 'Z') {
                throw std::runtime_error(context + ": unknown type " + type);
            }
            f.element = kind::structure;
            f.structure = j.contains("fields") ? define_inline(type, j.at("fields"), f.present)
                                               : resolve_common(type);
        }

        // Validation, following the rules the schemas are written against.
        if (!f.nullable.empty() && !nullable_kind(f)) {
            throw std::runtime_error(context + ": type cannot be nullable");
        }
        if (f.tag.has_value() != !f.tagged.empty()) {
            throw std::runtime_error(context + ": tag and taggedVersions must come together");
        }
        if (!f.tagged.empty()) {
            if (!f.present.covers(f.tagged)) {
                throw std::runtime_error(context + ": taggedVersions outside versions");
            }
            if (!message_.flexible.covers(f.tagged.intersect(message_.valid))) {
                throw std::runtime_error(context + ": tagged in versions that are not flexible");
            }
            if (f.tagged.hi < f.present.hi) {
                throw std::runtime_error(context +
                                         ": a field must stay tagged once it becomes tagged");
            }
            if (f.element == kind::records) {
                throw std::runtime_error(context + ": records cannot be tagged");
            }
        }
        if (f.default_value && *f.default_value == "null") {
            if (!nullable_kind(f) || !f.nullable.covers(f.present)) {
                throw std::runtime_error(context +
                                         ": null default on a field that is not always nullable");
            }
        }
        return f;
    }

    message_spec& message_;
    std::map<std::string, const nlohmann::json*> common_json_;
    std::map<std::string, struct_spec*> defined_;
    std::set<std::string> in_progress_;
};

std::string default_init(const field_spec& f, const std::string& qualifier = "");

/// Checks every default parses and fits its type (the emitters render them later).
void validate_defaults(const struct_spec& s) {
    for (const auto& f : s.fields) {
        (void)default_init(f);
    }
}

void compute_contexts(struct_spec& s, versions context) {
    for (auto& f : s.fields) {
        if (f.element != kind::structure) {
            continue;
        }
        const versions used = f.present.intersect(context).intersect(f.structure->present);
        if (used.empty()) {
            continue;
        }
        f.structure->context = f.structure->context.hull(used);
        compute_contexts(*f.structure, used);
    }
}

void assign_struct_names(message_spec& m) {
    std::set<std::string> taken = {m.cpp_name,    "unknown_tags", "api_key",
                                   "min_version", "max_version",  "first_flexible"};
    auto collect = [&](const struct_spec& s) {
        for (const auto& f : s.fields) {
            taken.insert(f.cpp_name);
        }
    };
    collect(m.root);
    for (const auto& s : m.structs) {
        collect(*s);
    }
    for (const auto& f : m.root.fields) {
        if (f.cpp_name == m.cpp_name) {
            throw std::runtime_error(m.name + "." + f.name + " has the name of its message");
        }
        if (f.cpp_name == "api_key" || f.cpp_name == "min_version" || f.cpp_name == "max_version" ||
            f.cpp_name == "first_flexible") {
            throw std::runtime_error(m.name + "." + f.name + " clashes with a generated constant");
        }
    }
    std::set<std::string> originals;
    for (const auto& s : m.structs) {
        originals.insert(escape_identifier(snake_case(s->name)));
    }
    for (auto& s : m.structs) {
        const std::string base = escape_identifier(snake_case(s->name));
        std::string name = base;
        if (taken.count(name) != 0) {
            // A struct named like a field (Kafka: type "Cursor", field "Cursor") would be hidden by
            // the member in C++, so the type gets a suffix.
            name = base + "_data";
            if (taken.count(name) != 0 || originals.count(name) != 0) {
                name = base + "_struct";
            }
            if (taken.count(name) != 0 || originals.count(name) != 0) {
                throw std::runtime_error(m.name + ": cannot find a free C++ name for struct " +
                                         s->name);
            }
        }
        s->cpp_name = name;
        taken.insert(name);
    }
}

}  // namespace

message_spec parse_message(const nlohmann::json& schema) {
    message_spec m;
    m.name = schema.at("name").get<std::string>();
    m.cpp_name = escape_identifier(snake_case(m.name));
    m.type = schema.at("type").get<std::string>();
    try {
        if (m.type != "request" && m.type != "response" && m.type != "header" && m.type != "data") {
            throw std::runtime_error("unknown message type " + m.type);
        }
        if (schema.contains("apiKey")) {
            m.api_key = schema.at("apiKey").get<int16_t>();
        }
        if ((m.type == "request" || m.type == "response") && !m.api_key) {
            throw std::runtime_error("request/response without apiKey");
        }
        m.valid = versions::parse(schema.at("validVersions").get<std::string>());
        if (m.valid.empty() || m.valid.hi == versions::unbounded) {
            throw std::runtime_error("validVersions must be a closed range");
        }
        m.flexible = versions_key(schema, "flexibleVersions", versions::none());
        if (schema.contains("deprecatedVersions")) {
            m.deprecated = versions::parse(schema.at("deprecatedVersions").get<std::string>());
        }
        m.latest_unstable = schema.value("latestVersionUnstable", false);
        if (schema.contains("listeners")) {
            m.listeners = schema.at("listeners").get<std::vector<std::string>>();
        }
        parser(m).parse(schema);
        validate_defaults(m.root);
        for (const auto& s : m.structs) {
            validate_defaults(*s);
        }
        compute_contexts(m.root, m.valid);
        assign_struct_names(m);
    } catch (const nlohmann::json::exception& e) {
        throw std::runtime_error(m.name + ": " + e.what());
    } catch (const std::runtime_error& e) {
        throw std::runtime_error(m.name + ": " + e.what());
    }
    return m;
}

// ============================================================================================
// helpers shared by the emitters
// ============================================================================================

std::size_t min_encoded_size(const message_spec& message, const struct_spec& s, int16_t version) {
    const bool flexible = message.flexible.contains(version);
    std::size_t size = flexible ? 1 : 0;  // the tagged-field count
    for (const auto& f : s.fields) {
        if (!f.present.contains(version) || f.tagged.contains(version)) {
            continue;
        }
        const bool compact =
            flexible && (!f.flexible_override || f.flexible_override->contains(version));
        if (f.is_array) {
            size += compact ? 1 : 4;
            continue;
        }
        switch (f.element) {
            case kind::boolean:
            case kind::int8: size += 1; break;
            case kind::int16:
            case kind::uint16: size += 2; break;
            case kind::int32:
            case kind::uint32: size += 4; break;
            case kind::int64:
            case kind::float64: size += 8; break;
            case kind::uuid: size += 16; break;
            case kind::string: size += compact ? 1 : 2; break;
            case kind::bytes:
            case kind::records: size += compact ? 1 : 4; break;
            case kind::structure:
                size += f.nullable.contains(version)
                            ? 1
                            : min_encoded_size(message, *f.structure, version);
                break;
        }
    }
    return size;
}

namespace {

constexpr std::string_view generated_banner =
    "// Generated by kgen from protocol/schemas. Do not edit.\n";

std::string banner(const output_options& output) {
    return "// Generated by kgen from " + output.module + "/schemas. Do not edit.\n";
}

/// How code in `output`'s namespace names the wire types (reader, writer, codec_status).
std::string wire_qualifier(const output_options& output) {
    return output.is_protocol() ? std::string() : std::string("::broker::protocol::");
}

/// A version condition relative to what is already known about `v` (the context range).
struct condition {
    bool never = false;
    std::string expr;  // empty: always true

    bool always() const { return !never && expr.empty(); }
    /// As a C++ boolean expression.
    std::string text() const { return never ? "false" : (expr.empty() ? "true" : expr); }
};

condition make_condition(versions wanted, versions context) {
    const versions in = wanted.intersect(context);
    if (in.empty()) {
        return {true, {}};
    }
    const bool need_lo = in.lo > context.lo;
    const bool need_hi = in.hi < context.hi;
    condition c;
    if (need_lo && need_hi) {
        c.expr = in.lo == in.hi
                     ? "v == " + std::to_string(in.lo)
                     : "(v >= " + std::to_string(in.lo) + " && v <= " + std::to_string(in.hi) + ")";
    } else if (need_lo) {
        c.expr = "v >= " + std::to_string(in.lo);
    } else if (need_hi) {
        c.expr = "v <= " + std::to_string(in.hi);
    }
    return c;
}

/// Versions in which the field is a regular (untagged) field.
versions mandatory_versions(const field_spec& f) {
    if (f.tagged.empty()) {
        return f.present;
    }
    // Validated: tagged is a suffix of present.
    if (f.tagged.lo <= f.present.lo) {
        return versions::none();
    }
    return {f.present.lo, static_cast<int16_t>(f.tagged.lo - 1)};
}

bool is_optional(const field_spec& f) {
    return (!f.is_array && f.element == kind::records) || !f.nullable.empty();
}

std::string primitive_cpp(kind k) {
    switch (k) {
        case kind::boolean: return "bool";
        case kind::int8: return "int8_t";
        case kind::int16: return "int16_t";
        case kind::uint16: return "uint16_t";
        case kind::int32: return "int32_t";
        case kind::uint32: return "uint32_t";
        case kind::int64: return "int64_t";
        case kind::float64: return "double";
        case kind::string: return "std::string";
        case kind::bytes: return "std::vector<uint8_t>";
        case kind::uuid: return "::broker::protocol::uuid";
        case kind::records: return "::broker::protocol::records_ref";
        case kind::structure: break;
    }
    throw std::logic_error("not a primitive");
}

/// `qualifier` is "" inside the message struct and "<message>::" outside it.
std::string element_cpp(const field_spec& f, const std::string& qualifier) {
    return f.element == kind::structure ? qualifier + f.structure->cpp_name
                                        : primitive_cpp(f.element);
}

std::string field_cpp(const field_spec& f, const std::string& qualifier) {
    std::string t = element_cpp(f, qualifier);
    if (f.is_array) {
        t = "std::vector<" + t + ">";
    }
    if (is_optional(f)) {
        t = "std::optional<" + t + ">";
    }
    return t;
}

std::string quote(std::string_view text) {
    std::string out = "\"";
    for (char c : text) {
        if (c == '"' || c == '\\') {
            out.push_back('\\');
        }
        out.push_back(c);
    }
    out.push_back('"');
    return out;
}

/// Integer default: decimal, or 0x-prefixed hex, range-checked for the type.
std::string integer_literal(const field_spec& f, const std::string& text) {
    int64_t lo = 0;
    int64_t hi = 0;
    std::string type = primitive_cpp(f.element);
    switch (f.element) {
        case kind::int8: lo = INT8_MIN, hi = INT8_MAX; break;
        case kind::int16: lo = INT16_MIN, hi = INT16_MAX; break;
        case kind::uint16: lo = 0, hi = UINT16_MAX; break;
        case kind::int32: lo = INT32_MIN, hi = INT32_MAX; break;
        case kind::uint32: lo = 0, hi = UINT32_MAX; break;
        case kind::int64: lo = INT64_MIN, hi = INT64_MAX; break;
        default: throw std::logic_error("not an integer");
    }
    int64_t value = 0;
    std::string_view digits = text;
    int base = 10;
    bool negative = false;
    if (!digits.empty() && digits[0] == '-') {
        negative = true;
        digits.remove_prefix(1);
    }
    if (digits.rfind("0x", 0) == 0 || digits.rfind("0X", 0) == 0) {
        base = 16;
        digits.remove_prefix(2);
    }
    uint64_t magnitude = 0;
    auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), magnitude, base);
    if (ec != std::errc() || ptr != digits.data() + digits.size() || digits.empty()) {
        throw std::runtime_error(f.name + ": bad integer default '" + text + "'");
    }
    if (negative) {
        if (magnitude > static_cast<uint64_t>(INT64_MAX) + 1) {
            throw std::runtime_error(f.name + ": default out of range");
        }
        value = magnitude == static_cast<uint64_t>(INT64_MAX) + 1
                    ? INT64_MIN
                    : -static_cast<int64_t>(magnitude);
    } else {
        if (magnitude > static_cast<uint64_t>(INT64_MAX)) {
            throw std::runtime_error(f.name + ": default out of range");
        }
        value = static_cast<int64_t>(magnitude);
    }
    if (value < lo || value > hi) {
        throw std::runtime_error(f.name + ": default '" + text + "' out of range for " + type);
    }
    if (value == lo && lo < 0) {
        return "std::numeric_limits<" + type + ">::min()";
    }
    return std::to_string(value);
}

int64_t integer_value(const field_spec& f) {
    if (!f.default_value || f.default_value->empty()) {
        return 0;
    }
    const std::string lit = integer_literal(f, *f.default_value);
    if (lit.rfind("std::numeric_limits", 0) == 0) {
        switch (f.element) {
            case kind::int8: return INT8_MIN;
            case kind::int16: return INT16_MIN;
            case kind::int32: return INT32_MIN;
            default: return INT64_MIN;
        }
    }
    return std::stoll(lit);
}

std::string uuid_literal(const field_spec& f, const std::string& text) {
    auto decode = [](char c) -> int {
        if (c >= 'A' && c <= 'Z') {
            return c - 'A';
        }
        if (c >= 'a' && c <= 'z') {
            return c - 'a' + 26;
        }
        if (c >= '0' && c <= '9') {
            return c - '0' + 52;
        }
        if (c == '-') {
            return 62;
        }
        if (c == '_') {
            return 63;
        }
        return -1;
    };
    if (text.size() != 22) {
        throw std::runtime_error(f.name + ": bad uuid default");
    }
    std::vector<int> bytes;
    uint32_t acc = 0;
    int bits = 0;
    for (char c : text) {
        const int d = decode(c);
        if (d < 0) {
            throw std::runtime_error(f.name + ": bad uuid default");
        }
        acc = (acc << 6) | static_cast<uint32_t>(d);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            bytes.push_back(static_cast<int>((acc >> bits) & 0xff));
        }
    }
    std::string out = "::broker::protocol::uuid{{";
    for (std::size_t i = 0; i < 16; ++i) {
        out += (i ? ", " : "") + std::to_string(bytes[i]);
    }
    return out + "}}";
}

/// The initializer inside `{}` for the field's default ("" = value-initialised). `qualifier` as for
/// element_cpp.
std::string default_init(const field_spec& f, const std::string& qualifier) {
    const std::string d = f.default_value.value_or("");
    if (is_optional(f)) {
        if (d == "null" || f.element == kind::records) {
            return "";
        }
        if (f.is_array || f.element == kind::bytes || f.element == kind::structure) {
            if (!d.empty()) {
                throw std::runtime_error(f.name + ": only empty or null defaults are allowed");
            }
            // A present, empty value. For structs a temporary, not std::in_place (see
            // decode_field).
            return f.element == kind::structure && !f.is_array
                       ? qualifier + f.structure->cpp_name + "{}"
                       : "std::in_place";
        }
        return "std::string(" + (d.empty() ? std::string() : quote(d)) + ")";  // string
    }
    if (f.is_array || f.element == kind::structure || f.element == kind::bytes) {
        if (!d.empty()) {
            throw std::runtime_error(f.name + ": only empty defaults are allowed");
        }
        return "";
    }
    switch (f.element) {
        case kind::boolean:
            if (d.empty() || d == "false" || d == "False") {
                return "false";
            }
            if (d == "true" || d == "True") {
                return "true";
            }
            throw std::runtime_error(f.name + ": bad bool default '" + d + "'");
        case kind::float64:
            if (d.empty()) {
                return "0.0";
            }
            try {
                (void)std::stod(d);
            } catch (const std::exception&) {
                throw std::runtime_error(f.name + ": bad float64 default '" + d + "'");
            }
            return d;
        case kind::string: return d.empty() ? "" : quote(d);
        case kind::uuid: return d.empty() ? "" : uuid_literal(f, d);
        default: return d.empty() ? "0" : integer_literal(f, d);
    }
}

/// A value of the field's type equal to its default, for "differs from default" checks.
std::string default_value_expr(const field_spec& f, const std::string& qualifier) {
    return field_cpp(f, qualifier) + "{" + default_init(f, qualifier) + "}";
}

/// What every emitter needs to know about the message it is rendering.
struct emit_context {
    const message_spec& message;
    std::string qualifier;  // "<message>::"
};

std::string struct_qualified(const emit_context& c, const struct_spec& s) {
    return &s == &c.message.root ? c.message.cpp_name : c.qualifier + s.cpp_name;
}

std::string min_size_name(const emit_context& c, const struct_spec& s) {
    return "min_" + c.message.cpp_name + "__" + s.cpp_name;
}

/// Minimum element size expression for arrays of `s`: a literal when constant over the context.
std::string min_size_expr(const emit_context& c, const struct_spec& s) {
    std::set<std::size_t> sizes;
    for (int v = s.context.lo; v <= s.context.hi; ++v) {
        sizes.insert(min_encoded_size(c.message, s, static_cast<int16_t>(v)));
    }
    if (sizes.size() == 1) {
        return std::to_string(*sizes.begin());
    }
    return min_size_name(c, s) + "[v]";
}

std::size_t primitive_min_size(kind k, const std::string& compact) {
    switch (k) {
        case kind::boolean:
        case kind::int8: return 1;
        case kind::int16:
        case kind::uint16: return 2;
        case kind::int32:
        case kind::uint32: return 4;
        case kind::int64:
        case kind::float64: return 8;
        case kind::uuid: return 16;
        default: return compact == "false" ? 2 : 1;  // strings: int16 or uvarint length
    }
}

std::string read_primitive(kind k, const std::string& r) {
    switch (k) {
        case kind::boolean: return r + ".read_bool()";
        case kind::int8: return r + ".read_int8()";
        case kind::int16: return r + ".read_int16()";
        case kind::uint16: return r + ".read_uint16()";
        case kind::int32: return r + ".read_int32()";
        case kind::uint32: return r + ".read_uint32()";
        case kind::int64: return r + ".read_int64()";
        case kind::float64: return r + ".read_float64()";
        case kind::uuid: return r + ".read_uuid()";
        default: throw std::logic_error("not a fixed-size primitive");
    }
}

std::string write_primitive(kind k, const std::string& w, const std::string& value) {
    switch (k) {
        case kind::boolean: return w + ".write_bool(" + value + ")";
        case kind::int8: return w + ".write_int8(" + value + ")";
        case kind::int16: return w + ".write_int16(" + value + ")";
        case kind::uint16: return w + ".write_uint16(" + value + ")";
        case kind::int32: return w + ".write_int32(" + value + ")";
        case kind::uint32: return w + ".write_uint32(" + value + ")";
        case kind::int64: return w + ".write_int64(" + value + ")";
        case kind::float64: return w + ".write_float64(" + value + ")";
        case kind::uuid: return w + ".write_uuid(" + value + ")";
        default: throw std::logic_error("not a fixed-size primitive");
    }
}

/// Compact-encoding expression for a field in the versions `range`.
std::string compact_expr(const emit_context& c, const field_spec& f, versions range, bool tagged) {
    if (tagged) {
        return "true";  // tagged fields only exist in flexible versions
    }
    versions flexible = c.message.flexible;
    if (f.flexible_override) {
        flexible = flexible.intersect(*f.flexible_override);
    }
    return make_condition(flexible, range).text();
}

// ---- decode ----

std::string decode_field(const emit_context& c, const field_spec& f, versions range,
                         const std::string& r, bool tagged) {
    const std::string m = "m." + f.cpp_name;
    const std::string cx = compact_expr(c, f, range, tagged);
    const std::string nx = make_condition(f.nullable, range).text();
    if (f.is_array) {
        std::string element;
        std::string min;
        if (f.element == kind::structure) {
            element = "dec(" + r + ", v, e);";
            min = min_size_expr(c, *f.structure);
        } else if (f.element == kind::string) {
            element = r + ".read_string(e, " + cx + ");";
            min = cx == "false" ? "2" : "1";
        } else if (f.element == kind::bytes) {
            element = r + ".read_bytes(e, " + cx + ");";
            min = cx == "false" ? "4" : "1";
        } else {
            element = "e = " + read_primitive(f.element, r) + ";";
            min = std::to_string(primitive_min_size(f.element, cx));
        }
        if (is_optional(f)) {
            return "get_nullable_array(" + r + ", " + m + ", " + cx + ", " + nx + ", " + min +
                   ", [&](auto& e) { " + element + " });";
        }
        return "get_array(" + r + ", " + m + ", " + cx + ", " + min + ", [&](auto& e) { " +
               element + " });";
    }
    switch (f.element) {
        case kind::string:
            return is_optional(f) ? r + ".read_nullable_string(" + m + ", " + cx + ", " + nx + ");"
                                  : r + ".read_string(" + m + ", " + cx + ");";
        case kind::bytes:
            return is_optional(f) ? r + ".read_nullable_bytes(" + m + ", " + cx + ", " + nx + ");"
                                  : r + ".read_bytes(" + m + ", " + cx + ");";
        case kind::records: return r + ".read_records(" + m + ", " + cx + ", " + nx + ");";
        case kind::structure: {
            if (!is_optional(f)) {
                return "dec(" + r + ", v, " + m + ");";
            }
            const condition nullable = make_condition(f.nullable, range);
            // Nullable structs carry a presence marker: int8 (-1 null, 1 present) in regular fields
            // and an unsigned varint (0 null, 1 present) inside a tagged field.
            const std::string marker =
                tagged ? r + ".read_unsigned_varint() == 0" : r + ".read_int8() < 0";
            // Assign a temporary instead of emplace(): clang rejects default-constructing a nested
            // struct with member initializers through std::optional's constrained emplace().
            const std::string present = m + " = " + c.qualifier + f.structure->cpp_name +
                                        "{}; dec(" + r + ", v, *" + m + ");";
            if (nullable.never) {
                return present;
            }
            const std::string body =
                "if (" + marker + ") { " + m + ".reset(); } else { " + present + " }";
            if (nullable.always()) {
                return body;
            }
            return "if (" + nullable.expr + ") { " + body + " } else { " + present + " }";
        }
        default: return m + " = " + read_primitive(f.element, r) + ";";
    }
}

// ---- encode ----

std::string encode_field(const emit_context& c, const field_spec& f, versions range,
                         const std::string& w, bool tagged) {
    const std::string m = "m." + f.cpp_name;
    const std::string cx = compact_expr(c, f, range, tagged);
    const std::string nx = make_condition(f.nullable, range).text();
    if (f.is_array) {
        std::string element;
        if (f.element == kind::structure) {
            element = "enc(" + w + ", v, e);";
        } else if (f.element == kind::string) {
            element = w + ".write_string(e, " + cx + ");";
        } else if (f.element == kind::bytes) {
            element = w + ".write_bytes(e, " + cx + ");";
        } else {
            element = write_primitive(f.element, w, "e") + ";";
        }
        if (is_optional(f)) {
            return "put_nullable_array(" + w + ", " + m + ", " + cx + ", " + nx +
                   ", [&](const auto& e) { " + element + " });";
        }
        return "put_array(" + w + ", " + m + ", " + cx + ", [&](const auto& e) { " + element +
               " });";
    }
    switch (f.element) {
        case kind::string:
            return is_optional(f)
                       ? "put_nullable_string(" + w + ", " + m + ", " + cx + ", " + nx + ");"
                       : w + ".write_string(" + m + ", " + cx + ");";
        case kind::bytes:
            return is_optional(f)
                       ? "put_nullable_bytes(" + w + ", " + m + ", " + cx + ", " + nx + ");"
                       : w + ".write_bytes(" + m + ", " + cx + ");";
        case kind::records: return "put_records(" + w + ", " + m + ", " + cx + ", " + nx + ");";
        case kind::structure: {
            if (!is_optional(f)) {
                return "enc(" + w + ", v, " + m + ");";
            }
            const condition nullable = make_condition(f.nullable, range);
            const std::string type = c.qualifier + f.structure->cpp_name;
            // Where the version has no null, an empty optional is sent as the default struct.
            const std::string plain = "enc(" + w + ", v, " + m + " ? *" + m + " : " + type + "{});";
            if (nullable.never) {
                return plain;
            }
            const std::string present_marker =
                tagged ? w + ".write_unsigned_varint(1);" : w + ".write_int8(1);";
            const std::string null_marker =
                tagged ? w + ".write_unsigned_varint(0);" : w + ".write_int8(-1);";
            const std::string body = "if (" + m + ") { " + present_marker + " enc(" + w + ", v, *" +
                                     m + "); } else { " + null_marker + " }";
            if (nullable.always()) {
                return body;
            }
            return "if (" + nullable.expr + ") { " + body + " } else { " + plain + " }";
        }
        default: return write_primitive(f.element, w, m) + ";";
    }
}

void emit_guarded(std::ostringstream& out, const condition& cond, const std::string& statement,
                  const std::string& indent) {
    if (cond.never) {
        return;
    }
    if (cond.always()) {
        out << indent << statement << "\n";
    } else {
        out << indent << "if (" << cond.expr << ") { " << statement << " }\n";
    }
}

struct tagged_field_ref {
    const field_spec* field;
    versions range;  // versions in which it is tagged, within the struct's context
};

std::vector<tagged_field_ref> tagged_fields_of(const emit_context& c, const struct_spec& s) {
    std::vector<tagged_field_ref> out;
    const versions context = &s == &c.message.root ? c.message.valid : s.context;
    for (const auto& f : s.fields) {
        const versions range = f.tagged.intersect(f.present).intersect(context);
        if (!range.empty()) {
            out.push_back({&f, range});
        }
    }
    std::sort(out.begin(), out.end(), [](const tagged_field_ref& a, const tagged_field_ref& b) {
        return *a.field->tag < *b.field->tag;
    });
    return out;
}

versions context_of(const emit_context& c, const struct_spec& s) {
    return &s == &c.message.root ? c.message.valid : s.context;
}

void emit_decode_function(std::ostringstream& out, const emit_context& c, const struct_spec& s) {
    const versions context = context_of(c, s);
    out << "void dec(reader& r, int16_t v, " << struct_qualified(c, s) << "& m) {\n";
    for (const auto& f : s.fields) {
        const versions mandatory = mandatory_versions(f).intersect(context);
        if (mandatory.empty()) {
            continue;
        }
        emit_guarded(out, make_condition(mandatory, context),
                     decode_field(c, f, mandatory, "r", false), "    ");
    }
    const condition flexible = make_condition(c.message.flexible, context);
    if (!flexible.never) {
        const auto tagged = tagged_fields_of(c, s);
        std::string statement;
        if (tagged.empty()) {
            statement = "get_tags(r, m.unknown_tags);";
        } else {
            std::ostringstream lambda;
            lambda << "get_tags(r, m.unknown_tags, [&](uint32_t tag, reader& s) -> bool {\n";
            lambda << "        switch (tag) {\n";
            for (const auto& t : tagged) {
                const condition when =
                    make_condition(t.range, context.intersect(c.message.flexible));
                lambda << "        case " << *t.field->tag << ":\n";
                const std::string read = decode_field(c, *t.field, t.range, "s", true);
                if (when.always()) {
                    lambda << "            " << read << "\n            return true;\n";
                } else {
                    lambda << "            if (" << when.text() << ") { " << read
                           << " return true; }\n";
                    lambda << "            return false;\n";
                }
            }
            lambda << "        default:\n            return false;\n        }\n    });";
            statement = lambda.str();
        }
        emit_guarded(out, flexible, statement, "    ");
    }
    out << "}\n\n";
}

void emit_encode_function(std::ostringstream& out, const emit_context& c, const struct_spec& s) {
    const versions context = context_of(c, s);
    out << "template <typename W>\nvoid enc(W& w, int16_t v, const " << struct_qualified(c, s)
        << "& m) {\n";
    for (const auto& f : s.fields) {
        const versions mandatory = mandatory_versions(f).intersect(context);
        if (mandatory.empty()) {
            continue;
        }
        emit_guarded(out, make_condition(mandatory, context),
                     encode_field(c, f, mandatory, "w", false), "    ");
    }
    const condition flexible = make_condition(c.message.flexible, context);
    if (!flexible.never) {
        const auto tagged = tagged_fields_of(c, s);
        if (tagged.empty()) {
            emit_guarded(out, flexible, "put_tags(w, m.unknown_tags);", "    ");
        } else {
            std::string indent = "    ";
            if (!flexible.always()) {
                out << "    if (" << flexible.expr << ") {\n";
                indent = "        ";
            }
            std::string count;
            for (std::size_t i = 0; i < tagged.size(); ++i) {
                const auto& t = tagged[i];
                const condition when =
                    make_condition(t.range, context.intersect(c.message.flexible));
                std::string present = "!(m." + t.field->cpp_name +
                                      " == " + default_value_expr(*t.field, c.qualifier) + ")";
                if (!when.always()) {
                    present = when.expr + " && " + present;
                }
                out << indent << "const bool t" << i << " = " << present << ";\n";
                count += (i ? " + " : "") + std::string("uint32_t{t") + std::to_string(i) + "}";
            }
            out << indent << "tag_writer<W> tags(w, m.unknown_tags, " << count << ");\n";
            for (std::size_t i = 0; i < tagged.size(); ++i) {
                const auto& t = tagged[i];
                out << indent << "if (t" << i << ") { tags.field(" << *t.field->tag
                    << ", [&](auto& s) { " << encode_field(c, *t.field, t.range, "s", true)
                    << " }); }\n";
            }
            out << indent << "tags.finish();\n";
            if (!flexible.always()) {
                out << "    }\n";
            }
        }
    }
    out << "}\n\n";
}

/// Structs that get codec functions: the root plus every struct used in some version.
std::vector<const struct_spec*> used_structs(const message_spec& m) {
    std::vector<const struct_spec*> out;
    for (const auto& s : m.structs) {
        if (!s->context.empty()) {
            out.push_back(s.get());
        }
    }
    out.push_back(&m.root);
    return out;
}

}  // namespace

// ============================================================================================
// header
// ============================================================================================

namespace {

void emit_struct_body(std::ostringstream& out, const struct_spec& s, const std::string& indent) {
    for (const auto& f : s.fields) {
        out << indent << field_cpp(f, "") << " " << f.cpp_name << "{" << default_init(f) << "};\n";
    }
    out << indent << "::broker::protocol::tagged_fields unknown_tags;\n";
}

}  // namespace

std::string emit_header(const message_spec& message, const output_options& output) {
    std::ostringstream out;
    out << "#pragma once\n" << banner(output);
    out << "// " << message.name << " (" << message.type;
    if (message.api_key) {
        out << ", api key " << *message.api_key;
    }
    out << "), versions " << message.valid.lo << "-" << message.valid.hi << ", flexible from "
        << (message.flexible.empty() ? std::string("never") : std::to_string(message.flexible.lo))
        << ".\n";
    out << "#include <cstddef>\n#include <cstdint>\n#include <limits>\n#include "
           "<optional>\n#include "
           "<string>\n"
           "#include <utility>\n#include <vector>\n\n#include \"protocol/wire.h\"\n\n";
    out << "namespace " << output.cpp_namespace << " {\n\n";
    out << "struct " << message.cpp_name << " {\n";
    out << "    static constexpr int16_t api_key = " << (message.api_key ? *message.api_key : -1)
        << ";\n";
    out << "    static constexpr int16_t min_version = " << message.valid.lo << ";\n";
    out << "    static constexpr int16_t max_version = " << message.valid.hi << ";\n";
    out << "    static constexpr int16_t first_flexible = " << message.first_flexible() << ";\n\n";
    for (const auto& s : message.structs) {
        out << "    struct " << s->cpp_name << " {\n";
        emit_struct_body(out, *s, "        ");
        out << "\n        bool operator==(const " << s->cpp_name << "&) const = default;\n";
        out << "    };\n\n";
    }
    emit_struct_body(out, message.root, "    ");
    out << "\n    bool operator==(const " << message.cpp_name << "&) const = default;\n";
    out << "};\n\n";
    const std::string wire = wire_qualifier(output);
    out << "[[nodiscard]] " << wire << "codec_status decode(" << wire
        << "reader& r, int16_t version, " << message.cpp_name << "& out);\n";
    out << "void encode(" << wire << "writer& w, int16_t version, const " << message.cpp_name
        << "& message);\n";
    out << "std::size_t encoded_size(int16_t version, const " << message.cpp_name
        << "& message);\n\n";
    out << "}  // namespace " << output.cpp_namespace << "\n";
    return out.str();
}

// ============================================================================================
// codec batch
// ============================================================================================

std::string emit_codec_batch(const std::vector<const message_spec*>& messages,
                             const output_options& output) {
    std::ostringstream out;
    out << banner(output);
    for (const auto* m : messages) {
        out << "#include \"" << output.module << "/generated/" << m->cpp_name << ".h\"\n";
    }
    out << "\nnamespace " << output.cpp_namespace << " {\n";
    if (!output.is_protocol()) {
        out << "\nusing ::broker::protocol::codec_status;\nusing ::broker::protocol::reader;\n"
               "using ::broker::protocol::size_counter;\nusing ::broker::protocol::writer;\n\n";
    }
    out << "namespace {\n\nusing namespace ::broker::protocol::codegen;\n\n";
    // Declarations first: every function can then call any other regardless of order.
    for (const auto* m : messages) {
        const emit_context c{*m, m->cpp_name + "::"};
        for (const auto* s : used_structs(*m)) {
            out << "void dec(reader& r, int16_t v, " << struct_qualified(c, *s) << "& m);\n";
            out << "template <typename W>\nvoid enc(W& w, int16_t v, const "
                << struct_qualified(c, *s) << "& m);\n";
        }
    }
    out << "\n";
    for (const auto* m : messages) {
        const emit_context c{*m, m->cpp_name + "::"};
        // Tables of minimum element sizes for arrays whose element size varies by version.
        for (const auto* s : used_structs(*m)) {
            if (s == &m->root) {
                continue;
            }
            const std::string expr = min_size_expr(c, *s);
            if (expr.find('[') == std::string::npos) {
                continue;
            }
            out << "constexpr uint32_t " << min_size_name(c, *s) << "[] = {";
            for (int v = 0; v <= m->valid.hi; ++v) {
                out << (v ? ", " : "") << min_encoded_size(*m, *s, static_cast<int16_t>(v));
            }
            out << "};\n";
        }
    }
    out << "\n";
    for (const auto* m : messages) {
        const emit_context c{*m, m->cpp_name + "::"};
        out << "// ---- " << m->name << " ----\n\n";
        for (const auto* s : used_structs(*m)) {
            emit_decode_function(out, c, *s);
            emit_encode_function(out, c, *s);
        }
    }
    out << "}  // namespace\n\n";
    for (const auto* m : messages) {
        const std::string& t = m->cpp_name;
        out << "codec_status decode(reader& r, int16_t version, " << t << "& out) {\n";
        out << "    if (version < " << t << "::min_version || version > " << t
            << "::max_version) {\n";
        out << "        r.fail(codec_status::invalid);\n        return r.status();\n    }\n";
        out << "    out = " << t << "{};\n    dec(r, version, out);\n    return r.status();\n}\n\n";
        out << "void encode(writer& w, int16_t version, const " << t
            << "& message) { enc(w, version, message); }\n\n";
        out << "std::size_t encoded_size(int16_t version, const " << t << "& message) {\n";
        out << "    size_counter s;\n    enc(s, version, message);\n    return s.size();\n}\n\n";
    }
    out << "}  // namespace " << output.cpp_namespace << "\n";
    return out.str();
}

// ============================================================================================
// samples (tests)
// ============================================================================================

namespace {

/// A value of the field's element type that differs from its default, derived from `salt`.
std::string sample_value(const field_spec& f, int salt, const std::string& index) {
    const std::string offset = index.empty() ? std::string() : " + " + index;
    switch (f.element) {
        case kind::boolean: {
            const std::string d = f.default_value.value_or("false");
            return (d == "true" || d == "True") ? "false" : "true";
        }
        case kind::float64: return "double(" + std::to_string(salt) + ".5" + offset + ")";
        case kind::string:
            return "std::string(\"s" + std::to_string(salt) + "_\")" +
                   (index.empty() ? "" : " + std::to_string(" + index + ")");
        case kind::bytes: return "sample_bytes(" + std::to_string(salt) + offset + ")";
        case kind::uuid: return "sample_uuid(" + std::to_string(salt) + offset + ")";
        case kind::records: return "sample_records()";
        default: {
            const int64_t d = f.is_array ? 0 : integer_value(f);
            int64_t hi = 0;
            switch (f.element) {
                case kind::int8: hi = INT8_MAX; break;
                case kind::int16: hi = INT16_MAX; break;
                case kind::uint16: hi = UINT16_MAX; break;
                case kind::int32: hi = INT32_MAX; break;
                case kind::uint32: hi = UINT32_MAX; break;
                default: hi = INT64_MAX; break;
            }
            // Arrays add the element index (at most 1), so keep room for it.
            const int64_t value = d <= hi - salt - 2 ? d + salt : d - salt - 2;
            return "static_cast<" + primitive_cpp(f.element) + ">(" + std::to_string(value) +
                   (value < 0 ? "LL" : "") + offset + ")";
        }
    }
}

void emit_sample_function(std::ostringstream& out, const emit_context& c, const struct_spec& s,
                          int& salt) {
    const versions context = context_of(c, s);
    out << "void smp(" << struct_qualified(c, s) << "& m, int16_t v, int variant) {\n";
    for (const auto& f : s.fields) {
        const versions present = f.present.intersect(context);
        if (present.empty()) {
            continue;
        }
        const versions mandatory = mandatory_versions(f).intersect(context);
        const versions tagged = f.tagged.intersect(present);
        ++salt;
        // Where to set the field: every version it is a regular field; tagged versions only in
        // variant 0 (variant 1 leaves tagged fields at their default so they are not written).
        std::string when;
        const condition cm = make_condition(mandatory, context);
        const condition ct = make_condition(tagged, context);
        if (ct.never) {
            when = cm.text();
        } else if (cm.never) {
            when = "(" + ct.text() + ") && variant == 0";
        } else {
            when = "(" + cm.text() + ") || ((" + ct.text() + ") && variant == 0)";
        }
        const std::string nullable =
            "variant == 1 && (" + make_condition(f.nullable, present).text() + ")";
        const std::string m = "m." + f.cpp_name;
        std::string body;
        if (f.is_array) {
            std::string target = is_optional(f) ? m + ".emplace()" : m;
            std::string fill;
            if (f.element == kind::structure) {
                fill = "for (auto& e : a) { smp(e, v, variant); }";
            } else {
                fill = "for (std::size_t i = 0; i < a.size(); ++i) { a[i] = " +
                       sample_value(f, salt, "i") + "; }";
            }
            body = "auto& a = " + target + "; a.resize(variant == 0 ? 2 : 1); " + fill;
            if (is_optional(f)) {
                body = "if (" + nullable + ") { " + m + ".reset(); } else { " + body + " }";
            }
        } else if (f.element == kind::structure) {
            body = is_optional(f) ? "if (" + nullable + ") { " + m + ".reset(); } else { " + m +
                                        " = " + c.qualifier + f.structure->cpp_name + "{}; smp(*" +
                                        m + ", v, variant); }"
                                  : "smp(" + m + ", v, variant);";
        } else if (is_optional(f)) {
            body = "if (" + nullable + ") { " + m + ".reset(); } else { " + m + " = " +
                   sample_value(f, salt, "") + "; }";
        } else {
            body = m + " = " + sample_value(f, salt, "") + ";";
        }
        if (when == "true") {
            out << "    { " << body << " }\n";
        } else {
            out << "    if (" << when << ") { " << body << " }\n";
        }
    }
    const condition flexible = make_condition(c.message.flexible, context);
    if (!flexible.never) {
        out << "    if ((" << flexible.text()
            << ") && variant == 0) { m.unknown_tags = sample_unknown_tags(); }\n";
    }
    out << "}\n\n";
}

}  // namespace

std::string emit_sample_batch(const std::vector<const message_spec*>& messages, int batch_index) {
    std::ostringstream out;
    out << generated_banner;
    out << "#include \"protocol/generated/samples.h\"\n#include "
           "\"protocol/tests/codec_sample.h\"\n\n";
    out << "namespace broker::protocol {\nnamespace {\n\nusing namespace "
           "::broker::protocol::testing;\n\n";
    for (const auto* m : messages) {
        const emit_context c{*m, m->cpp_name + "::"};
        for (const auto* s : used_structs(*m)) {
            out << "void smp(" << struct_qualified(c, *s) << "& m, int16_t v, int variant);\n";
        }
    }
    out << "\n";
    for (const auto* m : messages) {
        const emit_context c{*m, m->cpp_name + "::"};
        int salt = 0;
        for (const auto* s : used_structs(*m)) {
            emit_sample_function(out, c, *s, salt);
        }
    }
    out << "}  // namespace\n\n";
    for (const auto* m : messages) {
        out << "void fill_sample(" << m->cpp_name << "& m, int16_t version, int variant) {\n";
        out << "    m = " << m->cpp_name << "{};\n    smp(m, version, variant);\n}\n\n";
    }
    out << "namespace testing {\n\n";
    out << "std::span<const sample_case> sample_cases_" << batch_index << "() {\n";
    out << "    static const sample_case cases[] = {\n";
    for (const auto* m : messages) {
        out << "        make_sample_case<" << m->cpp_name << ">(" << quote(m->name) << ", "
            << quote(m->type) << "),\n";
    }
    out << "    };\n    return cases;\n}\n\n}  // namespace testing\n}  // namespace "
           "broker::protocol\n";
    return out.str();
}

std::string emit_samples_header(const std::vector<const message_spec*>& messages) {
    std::ostringstream out;
    out << "#pragma once\n" << generated_banner;
    out << "// Test-only: fill_sample() sets every field present in `version` to a non-default "
           "value.\n";
    out << "// variant 0: two elements per array, optional fields set, tagged fields and unknown "
           "tags set;\n";
    out << "// variant 1: one element per array, nullable fields null where the version allows "
           "it.\n";
    out << "#include \"protocol/generated/messages.h\"\n\nnamespace broker::protocol {\n\n";
    for (const auto* m : messages) {
        out << "void fill_sample(" << m->cpp_name << "& m, int16_t version, int variant);\n";
    }
    out << "\n}  // namespace broker::protocol\n";
    return out.str();
}

std::string emit_samples_index(int batch_count) {
    std::ostringstream out;
    out << generated_banner << "#include \"protocol/tests/codec_sample.h\"\n\n";
    out << "namespace broker::protocol::testing {\n\n";
    for (int i = 0; i < batch_count; ++i) {
        out << "std::span<const sample_case> sample_cases_" << i << "();\n";
    }
    out << "\nstd::span<const sample_case> all_sample_cases() {\n";
    out << "    static const std::vector<sample_case> all = [] {\n        std::vector<sample_case> "
           "v;\n";
    for (int i = 0; i < batch_count; ++i) {
        out << "        for (const auto& c : sample_cases_" << i << "()) { v.push_back(c); }\n";
    }
    out << "        return v;\n    }();\n    return all;\n}\n\n}  // namespace "
           "broker::protocol::testing\n";
    return out.str();
}

// ============================================================================================
// aggregate headers and registry
// ============================================================================================

std::string emit_messages_header(const std::vector<const message_spec*>& messages) {
    std::ostringstream out;
    out << "#pragma once\n" << generated_banner << "// Every generated message.\n";
    for (const auto* m : messages) {
        out << "#include \"protocol/generated/" << m->cpp_name << ".h\"\n";
    }
    return out.str();
}

namespace {
std::vector<const message_spec*> by_key(const std::vector<const message_spec*>& messages,
                                        const std::string& type) {
    std::vector<const message_spec*> out;
    for (const auto* m : messages) {
        if (m->type == type) {
            out.push_back(m);
        }
    }
    std::sort(out.begin(), out.end(),
              [](const auto* a, const auto* b) { return *a->api_key < *b->api_key; });
    for (std::size_t i = 1; i < out.size(); ++i) {
        if (*out[i]->api_key == *out[i - 1]->api_key) {
            throw std::runtime_error("two " + type + "s with api key " +
                                     std::to_string(*out[i]->api_key));
        }
    }
    return out;
}
}  // namespace

std::string emit_dispatch_header(const std::vector<const message_spec*>& messages) {
    std::ostringstream out;
    out << "#pragma once\n" << generated_banner;
    out << "// Calls f(std::type_identity<T>{}) with the request (or response) type of an API key; "
           "returns\n";
    out << "// false for an unknown key. Handlers and tools use it to go from a key to a concrete "
           "type.\n";
    out << "#include <type_traits>\n\n#include \"protocol/generated/messages.h\"\n\nnamespace "
           "broker::protocol {\n\n";
    for (const std::string type : {"request", "response"}) {
        out << "template <typename F>\nbool visit_" << type << "_type(int16_t api_key, F&& f) {\n";
        out << "    switch (api_key) {\n";
        for (const auto* m : by_key(messages, type)) {
            out << "    case " << *m->api_key << ":\n        f(std::type_identity<" << m->cpp_name
                << ">{});\n        return true;\n";
        }
        out << "    default:\n        return false;\n    }\n}\n\n";
    }
    out << "}  // namespace broker::protocol\n";
    return out.str();
}

std::string emit_registry(const std::vector<const message_spec*>& messages) {
    std::ostringstream out;
    out << generated_banner;
    out << "#include <algorithm>\n\n#include \"protocol/api.h\"\n#include "
           "\"protocol/generated/dispatch.h\"\n\n";
    out << "namespace broker::protocol {\nnamespace {\n\n";
    out << "constexpr api_info registry[] = {\n";
    for (const auto* m : by_key(messages, "request")) {
        std::string name = m->name;
        if (name.size() > 7 && name.compare(name.size() - 7, 7, "Request") == 0) {
            name.resize(name.size() - 7);
        }
        out << "    {" << *m->api_key << ", " << quote(name) << ", " << m->valid.lo << ", "
            << m->valid.hi << ", " << m->first_flexible() << ", "
            << (m->latest_unstable ? "true" : "false") << "},\n";
    }
    out << "};\n\n}  // namespace\n\n";
    out << "std::span<const api_info> api_registry() { return registry; }\n\n";
    out << "const api_info* find_api(int16_t key) {\n";
    out << "    const auto* it = std::lower_bound(std::begin(registry), std::end(registry), key,\n";
    out << "                                      [](const api_info& a, int16_t k) { return a.key "
           "< k; });\n";
    out << "    return it != std::end(registry) && it->key == key ? it : nullptr;\n}\n\n";
    out << "codec_status decode_request_body(int16_t api_key, int16_t api_version, reader& r) {\n";
    out << "    codec_status status = codec_status::invalid;\n";
    out << "    const bool known = visit_request_type(api_key, [&](auto type) {\n";
    out << "        typename decltype(type)::type message;\n";
    out << "        status = decode(r, api_version, message);\n    });\n";
    out << "    if (!known) {\n        r.fail(codec_status::invalid);\n        return "
           "r.status();\n    }\n";
    out << "    return status;\n}\n\n";
    out << "}  // namespace broker::protocol\n";
    return out.str();
}

}  // namespace broker::kgen
