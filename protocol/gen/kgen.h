#pragma once
// kgen: turns Kafka message schemas (protocol/schemas/*.json) into C++ structs and codecs.
//
// Pipeline: parse_message() builds a message_spec from one schema (validating names, versions, tags
// and defaults); the emit_* functions render it. The driver (kgen_main.cpp) writes, per message,
// one header with the plain-data struct, then groups the codec bodies into a fixed number of .cpp
// batches (compile time on two cores), plus the API registry, a by-key dispatch header, and test
// samples. With --module it instead renders another module's data schemas (no registry, no samples)
// into that module's folder and namespace. docs/codec.md describes the emitted code and the
// decisions behind it.
//
// Everything here is single-threaded host-tool code; errors are reported as std::runtime_error.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace broker::kgen {

/// An inclusive version range as the schemas write it: "none", "N", "N-M" or "N+".
struct versions {
    static constexpr int16_t unbounded = INT16_MAX;
    int16_t lo = 0;
    int16_t hi = -1;  // hi < lo means empty

    static versions none() { return {0, -1}; }
    static versions parse(std::string_view text);

    bool empty() const { return hi < lo; }
    bool contains(int16_t v) const { return v >= lo && v <= hi; }
    bool covers(const versions& other) const {
        return other.empty() || (lo <= other.lo && hi >= other.hi);
    }
    versions intersect(const versions& other) const;
    /// Smallest range containing both.
    versions hull(const versions& other) const;
    bool operator==(const versions&) const = default;
};

enum class kind {
    boolean,
    int8,
    int16,
    uint16,
    int32,
    uint32,
    int64,
    float64,
    string,
    bytes,
    uuid,
    records,
    structure
};

struct struct_spec;

struct field_spec {
    std::string name;      // schema name (PascalCase)
    std::string cpp_name;  // snake_case, keyword-escaped
    bool is_array = false;
    kind element = kind::int32;        // the field's type, or the array's element type
    struct_spec* structure = nullptr;  // when element == kind::structure
    versions present;
    versions nullable = versions::none();
    versions tagged = versions::none();
    std::optional<uint32_t> tag;
    std::optional<versions> flexible_override;  // the field-level "flexibleVersions"
    std::optional<std::string> default_value;   // the schema's "default", as text
    bool ignorable = false;
    bool zero_copy = false;
    bool map_key = false;
    std::string entity_type;
};

struct struct_spec {
    std::string name;      // schema name
    std::string cpp_name;  // snake_case, renamed when it would clash with a field name
    versions present;      // versions in which the struct can appear
    versions context = versions::none();  // hull of the versions of every place it is used
    std::vector<field_spec> fields;
    bool common = false;
};

struct message_spec {
    std::string name;      // e.g. ProduceRequest
    std::string cpp_name;  // e.g. produce_request
    std::string type;      // request, response, header, data
    std::optional<int16_t> api_key;
    versions valid;
    versions flexible = versions::none();
    std::optional<versions> deprecated;
    bool latest_unstable = false;
    std::vector<std::string> listeners;
    struct_spec root;
    /// Every named struct (common and inline), in definition order: a struct always comes after the
    /// structs its fields use, so the emitted C++ never needs forward declarations.
    std::vector<std::unique_ptr<struct_spec>> structs;

    int16_t first_flexible() const { return flexible.empty() ? int16_t{-1} : flexible.lo; }
};

/// PascalCase -> snake_case ("ProduceRequest" -> "produce_request", "KRaftVersion" ->
/// "k_raft_version").
std::string snake_case(std::string_view name);
/// Appends '_' to C++ keywords and reserved spellings.
std::string escape_identifier(std::string name);

/// Parses and validates one schema. Throws std::runtime_error naming the schema and field.
message_spec parse_message(const nlohmann::json& schema);

/// Minimum encoded size of `s` at `version` (used to bound array counts before allocating).
std::size_t min_encoded_size(const message_spec& message, const struct_spec& s, int16_t version);

// ---- emission ----

/// Where a set of schemas is generated to. The defaults are the client protocol's; another module
/// (coordinator/, for the `__consumer_offsets` records) keeps its own data schemas and gets their
/// codecs in its own folder and namespace, built on the same wire reader and writer.
struct output_options {
    std::string module = "protocol";                 // files go to <module>/generated/
    std::string cpp_namespace = "broker::protocol";  // the namespace of structs and codecs

    bool is_protocol() const { return cpp_namespace == "broker::protocol"; }
};

/// <module>/generated/<cpp_name>.h: the struct and its decode/encode/encoded_size declarations.
std::string emit_header(const message_spec& message, const output_options& output = {});
/// A .cpp holding the codecs of `messages`.
std::string emit_codec_batch(const std::vector<const message_spec*>& messages,
                             const output_options& output = {});
/// A test-only .cpp filling `messages` with sample values and listing them as sample cases.
std::string emit_sample_batch(const std::vector<const message_spec*>& messages, int batch_index);
/// samples.h / samples_index.cpp: declarations and the concatenated case list.
std::string emit_samples_header(const std::vector<const message_spec*>& messages);
std::string emit_samples_index(int batch_count);
/// messages.h: includes every message header.
std::string emit_messages_header(const std::vector<const message_spec*>& messages);
/// dispatch.h: visit_request_type / visit_response_type switches over the API key.
std::string emit_dispatch_header(const std::vector<const message_spec*>& messages);
/// registry.cpp: api_registry(), find_api(), decode_request_body().
std::string emit_registry(const std::vector<const message_spec*>& messages);

}  // namespace broker::kgen
