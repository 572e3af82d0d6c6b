// The generator on small inline schemas: parsing, validation, naming, and the code it emits.
#include <gtest/gtest.h>

#include "protocol/gen/kgen.h"

namespace broker::kgen {
namespace {

nlohmann::json schema(const char* text) {
    return nlohmann::json::parse(text, nullptr, true, /*ignore_comments=*/true);
}

bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

constexpr const char* example = R"({
  // Comments are allowed, as in Kafka's files.
  "apiKey": 90, "type": "request", "name": "ExampleThingRequest",
  "validVersions": "0-4", "flexibleVersions": "3+",
  "fields": [
    {"name": "GroupId", "type": "string", "versions": "1+", "nullableVersions": "2+"},
    {"name": "TxnId", "type": "string", "versions": "0+", "nullableVersions": "0+", "default": "null"},
    {"name": "TimeoutMs", "type": "int32", "versions": "0+", "default": "-1"},
    {"name": "Default", "type": "bool", "versions": "0+", "default": "true"},
    {"name": "Cursor", "type": "Cursor", "versions": "0+", "fields": [
      {"name": "Offset", "type": "int64", "versions": "0+", "default": "0x7fffffffffffffff"}
    ]},
    {"name": "Topics", "type": "[]TopicData", "versions": "0+", "fields": [
      {"name": "Name", "type": "string", "versions": "0+"},
      {"name": "Partitions", "type": "[]int32", "versions": "0+"},
      {"name": "Id", "type": "uuid", "versions": "4+"}
    ]},
    {"name": "Label", "type": "string", "versions": "3+", "taggedVersions": "3+", "tag": 0, "default": "x"},
    {"name": "Shared", "type": "[]Common", "versions": "2+"}
  ],
  "commonStructs": [
    {"name": "Common", "versions": "0+", "fields": [
      {"name": "Value", "type": "int16", "versions": "0+"}
    ]}
  ]
})";

TEST(CodecGenerator, VersionRanges) {
    EXPECT_EQ(versions::parse("none"), versions::none());
    EXPECT_TRUE(versions::parse("none").empty());
    EXPECT_EQ(versions::parse("3+"), (versions{3, versions::unbounded}));
    EXPECT_EQ(versions::parse("2-5"), (versions{2, 5}));
    EXPECT_EQ(versions::parse("7"), (versions{7, 7}));
    EXPECT_EQ(versions::parse("2-5").intersect(versions::parse("4+")), (versions{4, 5}));
    EXPECT_TRUE(versions::parse("0-1").intersect(versions::parse("3+")).empty());
    EXPECT_THROW(versions::parse("5-2"), std::runtime_error);
    EXPECT_THROW(versions::parse("x"), std::runtime_error);
}

TEST(CodecGenerator, SnakeCaseAndKeywords) {
    EXPECT_EQ(snake_case("ProduceRequest"), "produce_request");
    EXPECT_EQ(snake_case("TopicData"), "topic_data");
    EXPECT_EQ(snake_case("KRaftVersionRecord"), "k_raft_version_record");
    EXPECT_EQ(snake_case("ClientID"), "client_id");
    EXPECT_EQ(snake_case("Uint16Field"), "uint16_field");
    EXPECT_EQ(escape_identifier("default"), "default_");
    EXPECT_EQ(escape_identifier("delete"), "delete_");
    EXPECT_EQ(escape_identifier("topics"), "topics");
}

TEST(CodecGenerator, ParsesTheExample) {
    const message_spec m = parse_message(schema(example));
    EXPECT_EQ(m.cpp_name, "example_thing_request");
    EXPECT_EQ(m.api_key, int16_t{90});
    EXPECT_EQ(m.first_flexible(), 3);
    ASSERT_EQ(m.root.fields.size(), 8u);
    EXPECT_EQ(m.root.fields[3].cpp_name, "default_");
    // Struct "Cursor" would be hidden by field "cursor": the type is renamed.
    const field_spec& cursor = m.root.fields[4];
    ASSERT_NE(cursor.structure, nullptr);
    EXPECT_EQ(cursor.structure->cpp_name, "cursor_data");
    EXPECT_EQ(m.root.fields[5].structure->cpp_name, "topic_data");
    // Common structs are defined before anything that uses them; every struct after its children.
    ASSERT_EQ(m.structs.size(), 3u);
    EXPECT_TRUE(m.root.fields[7].structure->common);
    EXPECT_EQ(m.root.fields[7].structure->context, (versions{2, 4}));
}

TEST(CodecGenerator, MinimumEncodedSizes) {
    const message_spec m = parse_message(schema(example));
    const struct_spec& topic = *m.root.fields[5].structure;
    EXPECT_EQ(min_encoded_size(m, topic, 0), 2u + 4u) << "int16 string length + int32 array count";
    EXPECT_EQ(min_encoded_size(m, topic, 3), 1u + 1u + 1u) << "compact lengths + tag count";
    EXPECT_EQ(min_encoded_size(m, topic, 4), 1u + 1u + 16u + 1u) << "uuid from v4";
    // Root at v3: group id (compact 1) + txn id 1 + timeout 4 + bool 1 + cursor (8 + tags 1) +
    // topics 1 + shared 1 + tags 1; the tagged label costs nothing.
    EXPECT_EQ(min_encoded_size(m, m.root, 3), 1u + 1u + 4u + 1u + 9u + 1u + 1u + 1u);
}

TEST(CodecGenerator, HeaderHasDefaultsAndConstants) {
    const std::string h = emit_header(parse_message(schema(example)));
    EXPECT_TRUE(contains(h, "struct example_thing_request {"));
    EXPECT_TRUE(contains(h, "static constexpr int16_t api_key = 90;"));
    EXPECT_TRUE(contains(h, "static constexpr int16_t max_version = 4;"));
    EXPECT_TRUE(contains(h, "static constexpr int16_t first_flexible = 3;"));
    EXPECT_TRUE(contains(h, "std::optional<std::string> group_id{std::string()};"))
        << "nullable, default empty";
    EXPECT_TRUE(contains(h, "std::optional<std::string> txn_id{};")) << "null default";
    EXPECT_TRUE(contains(h, "int32_t timeout_ms{-1};"));
    EXPECT_TRUE(contains(h, "bool default_{true};"));
    EXPECT_TRUE(contains(h, "int64_t offset{9223372036854775807};"));
    EXPECT_TRUE(contains(h, "std::string label{\"x\"};"));
    EXPECT_TRUE(contains(h, "cursor_data cursor{};"));
    EXPECT_TRUE(contains(h, "std::vector<topic_data> topics{};"));
    EXPECT_TRUE(contains(h, "std::vector<int32_t> partitions{};"));
    EXPECT_TRUE(contains(h, "::broker::protocol::uuid id{};"));
    EXPECT_TRUE(contains(h, "::broker::protocol::tagged_fields unknown_tags;"));
    EXPECT_TRUE(contains(h, "bool operator==(const example_thing_request&) const = default;"));
    EXPECT_TRUE(contains(h,
                         "[[nodiscard]] codec_status decode(reader& r, int16_t version, "
                         "example_thing_request& out);"));
}

TEST(CodecGenerator, CodecGuardsEachFieldByVersion) {
    const message_spec m = parse_message(schema(example));
    const std::string code = emit_codec_batch({&m});
    // Present from v1, nullable from v2, compact from v3.
    EXPECT_TRUE(
        contains(code, "if (v >= 1) { r.read_nullable_string(m.group_id, v >= 3, v >= 2); }"));
    EXPECT_TRUE(contains(code, "m.timeout_ms = r.read_int32();"));
    EXPECT_TRUE(contains(code, "if (v >= 4) { m.id = r.read_uuid(); }"));
    // The array's minimum element size depends on the version, so it comes from a table.
    EXPECT_TRUE(contains(
        code, "constexpr uint32_t min_example_thing_request__topic_data[] = {6, 6, 6, 3, 19};"));
    // Tagged field: decoded from the tag section, written only when it differs from its default.
    EXPECT_TRUE(contains(code, "case 0:"));
    EXPECT_TRUE(contains(
        code, "    if (v >= 3) {\n        const bool t0 = !(m.label == std::string{\"x\"});"));
    EXPECT_TRUE(contains(code, "if (v >= 3) { get_tags(r, m.unknown_tags); }"));
}

TEST(CodecGenerator, FieldLevelFlexibleVersionsOverride) {
    const message_spec m = parse_message(schema(R"({
      "type": "header", "name": "TinyHeader", "validVersions": "0-2", "flexibleVersions": "2+",
      "fields": [
        {"name": "ClientId", "type": "string", "versions": "1+", "nullableVersions": "1+", "flexibleVersions": "none"}
      ]})"));
    const std::string code = emit_codec_batch({&m});
    EXPECT_TRUE(contains(code, "r.read_nullable_string(m.client_id, false, true);")) << code;
    EXPECT_EQ(min_encoded_size(m, m.root, 2), 2u + 1u);
}

TEST(CodecGenerator, RejectsInvalidSchemas) {
    auto parse = [](const char* fields) {
        std::string text =
            R"({"apiKey": 1, "type": "request", "name": "BadRequest", "validVersions": "0-3",
                              "flexibleVersions": "2+", "fields": [)";
        text += fields;
        text += "]}";
        return parse_message(schema(text.c_str()));
    };
    EXPECT_NO_THROW(parse(R"({"name": "A", "type": "int32", "versions": "0+"})"));
    EXPECT_THROW(
        parse(R"({"name": "A", "type": "int32", "versions": "0+", "nullableVersions": "0+"})"),
        std::runtime_error)
        << "ints cannot be nullable";
    EXPECT_THROW(
        parse(
            R"({"name": "A", "type": "int32", "versions": "0+", "taggedVersions": "0+", "tag": 0})"),
        std::runtime_error)
        << "tagged in non-flexible versions";
    EXPECT_THROW(parse(R"({"name": "A", "type": "string", "versions": "0+", "default": "null"})"),
                 std::runtime_error)
        << "null default on a non-nullable field";
    EXPECT_THROW(parse(R"({"name": "A", "type": "int8", "versions": "0+", "default": "300"})"),
                 std::runtime_error);
    EXPECT_THROW(parse(R"({"name": "A", "type": "float32", "versions": "0+"})"),
                 std::runtime_error);
    EXPECT_THROW(parse(R"({"name": "A", "type": "[]Missing", "versions": "0+"})"),
                 std::runtime_error);
    EXPECT_THROW(
        parse(R"({"name": "A", "type": "int8", "versions": "2+", "taggedVersions": "2+", "tag": 1},
                          {"name": "B", "type": "int8", "versions": "2+", "taggedVersions": "2+", "tag": 1})"),
        std::runtime_error)
        << "duplicate tag";
    EXPECT_THROW(
        parse(
            R"({"name": "A", "type": "int8", "versions": "0+"}, {"name": "A", "type": "int8", "versions": "0+"})"),
        std::runtime_error);
    EXPECT_THROW(
        parse(
            R"({"name": "A", "type": "records", "versions": "2+", "taggedVersions": "2+", "tag": 0})"),
        std::runtime_error);
}

TEST(CodecGenerator, AnotherModulesDataSchemaGetsItsFolderAndNamespace) {
    // Shaped like Kafka's group-coordinator records: camelCase names, numeric defaults, and a
    // version range that does not start at 0.
    const message_spec m = parse_message(schema(R"({
      "type": "data", "name": "ThingValue", "validVersions": "2-4", "flexibleVersions": "4+",
      "fields": [
        {"name": "protocolType", "type": "string", "versions": "2+"},
        {"name": "rebalanceTimeout", "type": "int32", "versions": "3+", "default": -1, "ignorable": true}
      ]})"));
    const output_options output{"coordinator", "broker::server::coordinator::generated"};
    const std::string h = emit_header(m, output);
    EXPECT_TRUE(contains(h, "// Generated by kgen from coordinator/schemas. Do not edit."));
    EXPECT_TRUE(
        contains(h, "namespace broker::server::coordinator::generated {\n\nstruct thing_value {"));
    EXPECT_TRUE(contains(h, "static constexpr int16_t min_version = 2;"));
    EXPECT_TRUE(contains(h, "std::string protocol_type{};"));
    EXPECT_TRUE(contains(h, "int32_t rebalance_timeout{-1};"));
    // The wire types live in broker::protocol, so the declarations name them in full.
    EXPECT_TRUE(contains(h,
                         "[[nodiscard]] ::broker::protocol::codec_status decode("
                         "::broker::protocol::reader& r, int16_t version, thing_value& out);"));
    EXPECT_TRUE(contains(h,
                         "void encode(::broker::protocol::writer& w, int16_t version, const "
                         "thing_value& message);"));
    const std::string code = emit_codec_batch({&m}, output);
    EXPECT_TRUE(contains(code, "#include \"coordinator/generated/thing_value.h\""));
    EXPECT_TRUE(
        contains(code,
                 "namespace broker::server::coordinator::generated {\n\n"
                 "using ::broker::protocol::codec_status;\nusing ::broker::protocol::reader;"));
    EXPECT_TRUE(contains(code, "r.read_string(m.protocol_type, v >= 4);"));
    EXPECT_TRUE(contains(code, "if (v >= 3) { m.rebalance_timeout = r.read_int32(); }"));
    EXPECT_TRUE(contains(code, "}  // namespace broker::server::coordinator::generated"));
    // The protocol's own output is unchanged by the defaults.
    EXPECT_EQ(emit_header(m), emit_header(m, output_options{}));
    EXPECT_TRUE(contains(emit_header(m), "namespace broker::protocol {"));
}

TEST(CodecGenerator, RegistryAndDispatchCoverRequestsByKey) {
    const message_spec request = parse_message(schema(example));
    const message_spec response = parse_message(schema(R"({
      "apiKey": 90, "type": "response", "name": "ExampleThingResponse", "validVersions": "0-4",
      "flexibleVersions": "3+", "fields": [{"name": "ErrorCode", "type": "int16", "versions": "0+"}]})"));
    const std::string registry = emit_registry({&request, &response});
    EXPECT_TRUE(contains(registry, "{90, \"ExampleThing\", 0, 4, 3, false},"));
    const std::string dispatch = emit_dispatch_header({&request, &response});
    EXPECT_TRUE(
        contains(dispatch, "case 90:\n        f(std::type_identity<example_thing_request>{});"));
    EXPECT_TRUE(contains(dispatch, "f(std::type_identity<example_thing_response>{});"));
}

}  // namespace
}  // namespace broker::kgen
