#include "common/asio.h"

#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "server/config.h"
#include "server/meta_properties.h"
#include "server/tests/test_util.h"

namespace broker::server {
namespace {

using test::temp_dir;

std::vector<std::pair<std::string, std::string>> kv(const std::vector<property>& entries) {
    std::vector<std::pair<std::string, std::string>> out;
    for (const property& p : entries) {
        out.emplace_back(p.key, p.value);
    }
    return out;
}

using pairs = std::vector<std::pair<std::string, std::string>>;

config_result build(std::initializer_list<std::pair<std::string, std::string>> entries) {
    std::vector<property> props;
    for (const auto& [k, v] : entries) {
        props.push_back(property{k, v, 0});
    }
    return make_broker_config(props);
}

void expect_invalid(std::initializer_list<std::pair<std::string, std::string>> entries,
                    const std::string& fragment) {
    try {
        build(entries);
        ADD_FAILURE() << "expected config_error mentioning '" << fragment << "'";
    } catch (const config_error& e) {
        EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
}

// ---- properties syntax

TEST(properties, separators_comments_and_trimming) {
    const auto entries = parse_properties(
        "# a comment\n"
        "   ! another comment\n"
        "\n"
        "a=1\n"
        "b : 2\n"
        "c 3\n"
        "  d   =   spaced value   \n"
        "e=\n"
        "f\n"
        "g==x\n"
        "h=a#not-a-comment\n");
    EXPECT_EQ(kv(entries), (pairs{{"a", "1"},
                                  {"b", "2"},
                                  {"c", "3"},
                                  {"d", "spaced value"},
                                  {"e", ""},
                                  {"f", ""},
                                  {"g", "=x"},
                                  {"h", "a#not-a-comment"}}));
    EXPECT_EQ(entries[0].line, 4);
}

TEST(properties, continuation_lines) {
    const auto entries = parse_properties(
        "listeners=PLAINTEXT://127.0.0.1:9092,\\\n"
        "          OTHER://127.0.0.1:9093\n"
        "two=\\\\\n"
        "three=x\\\\\\\n"
        "   y\n"
        "# comment ending in a backslash \\\n"
        "four=4\r\n"
        "five=a\\\r\n"
        "  b\n");
    EXPECT_EQ(kv(entries),
              (pairs{{"listeners", "PLAINTEXT://127.0.0.1:9092,OTHER://127.0.0.1:9093"},
                     {"two", "\\"},
                     {"three", "x\\y"},
                     {"four", "4"},
                     {"five", "ab"}}));
    EXPECT_EQ(entries[2].line, 4);
    EXPECT_EQ(entries[3].line, 7);
}

TEST(properties, continuation_at_end_of_input) {
    EXPECT_EQ(kv(parse_properties("k=v\\")), (pairs{{"k", "v"}}));
}

TEST(properties, escapes) {
    const auto entries = parse_properties(
        "key\\ with\\ spaces=v\n"
        "k\\=eq\\:colon=v2\n"
        "tabs=a\\tb\\nc\n"
        "unicode=caf\\u00e9 \\u20AC\n"
        "pair=\\ud83d\\ude00\n"
        "other=\\q\\#\n");
    EXPECT_EQ(kv(entries), (pairs{{"key with spaces", "v"},
                                  {"k=eq:colon", "v2"},
                                  {"tabs", "a\tb\nc"},
                                  {"unicode", "caf\xC3\xA9 \xE2\x82\xAC"},
                                  {"pair", "\xF0\x9F\x98\x80"},
                                  {"other", "q#"}}));
}

TEST(properties, malformed_unicode_escape_is_an_error) {
    EXPECT_THROW(parse_properties("a=\\u12\n"), config_error);
    EXPECT_THROW(parse_properties("a=\\uzzzz\n"), config_error);
}

TEST(properties, unreadable_file_is_an_error) {
    EXPECT_THROW(read_properties_file("/nonexistent/server.properties"), config_error);
}

// ---- typed config

TEST(config, defaults) {
    const config_result result = make_broker_config({});
    EXPECT_TRUE(result.warnings.empty());
    EXPECT_EQ(result.config, broker_config{});
    const broker_config& c = result.config;
    EXPECT_EQ(c.broker_id, 0);
    ASSERT_EQ(c.listeners.size(), 1U);
    EXPECT_EQ(c.listeners[0], (listener_endpoint{"PLAINTEXT", "127.0.0.1", 9092}));
    EXPECT_EQ(c.log_dirs, std::vector<std::string>{"./data"});
    EXPECT_EQ(c.effective_log_retention_ms(), 168LL * 3600 * 1000);
    EXPECT_EQ(c.effective_log_roll_ms(), 168LL * 3600 * 1000);
    EXPECT_EQ(c.message_max_bytes, 1048588);
    EXPECT_EQ(c.socket_request_max_bytes, 104857600);
    EXPECT_EQ(c.request_memory_budget(), broker_config::default_request_memory_bound);
    EXPECT_EQ(c.connections_max_idle_ms, 600000);
    EXPECT_EQ(c.offsets_topic_num_partitions, 50);
    EXPECT_EQ(c.offsets_topic_replication_factor, 1);
    EXPECT_EQ(c.group_initial_rebalance_delay_ms, 3000);
    EXPECT_TRUE(c.single_node());
    EXPECT_GE(c.shard_count(), 1U);
    EXPECT_LE(c.shard_count(), broker_config::max_auto_shards);
}

TEST(config, documented_defaults_reproduce_the_default_config) {
    for (const config_key_info& key : config_keys()) {
        if (key.default_value == "null") {
            continue;
        }
        SCOPED_TRACE(std::string(key.name));
        const config_result result = make_broker_config(
            std::vector<property>{{std::string(key.name), std::string(key.default_value), 0}});
        EXPECT_EQ(result.config, broker_config{});
    }
}

TEST(config, every_key_parses_its_documentation_row) {
    std::set<std::string_view> names;
    for (const config_key_info& key : config_keys()) {
        EXPECT_TRUE(names.insert(key.name).second) << "duplicate key " << key.name;
        EXPECT_FALSE(key.documentation.empty()) << key.name;
        EXPECT_EQ(find_config_key(key.name), &key);
    }
    EXPECT_EQ(find_config_key("no.such.key"), nullptr);
}

TEST(config, typed_values) {
    const broker_config c = build({{"broker.id", "7"},
                                   {"num.partitions", " +3 "},
                                   {"auto.create.topics.enable", "FALSE"},
                                   {"log.segment.bytes", "1048576"},
                                   {"log.retention.bytes", "-1"},
                                   {"log.cleanup.policy", "compact, delete"},
                                   {"log.cleaner.min.cleanable.ratio", "0.25"},
                                   {"compression.type", "zstd"},
                                   {"log.message.timestamp.type", "LogAppendTime"},
                                   {"zookeeper.connect", "zk1:2181,zk2:2181/chroot"},
                                   {"num.shards", "3"},
                                   {"logger.level", "DEBUG"},
                                   {"http.listeners", "http://127.0.0.1:9645"}})
                                .config;
    EXPECT_EQ(c.broker_id, 7);
    EXPECT_EQ(c.num_partitions, 3);
    EXPECT_FALSE(c.auto_create_topics_enable);
    EXPECT_EQ(c.log_segment_bytes, 1048576);
    EXPECT_EQ(c.log_cleanup_policy, (std::vector<std::string>{"compact", "delete"}));
    EXPECT_DOUBLE_EQ(c.log_cleaner_min_cleanable_ratio, 0.25);
    EXPECT_EQ(c.compression_type, "zstd");
    EXPECT_EQ(c.log_message_timestamp_type, "LogAppendTime");
    EXPECT_FALSE(c.single_node());
    EXPECT_EQ(c.shard_count(), 3U);
    EXPECT_EQ(c.logger_level, log_level::debug);
    EXPECT_EQ(c.http_listeners, (std::vector<listener_endpoint>{{"http", "127.0.0.1", 9645}}));
}

TEST(config, later_entries_win) {
    EXPECT_EQ(build({{"num.partitions", "2"}, {"num.partitions", "5"}}).config.num_partitions, 5);
}

TEST(config, retention_precedence_follows_kafka) {
    EXPECT_EQ(build({{"log.retention.hours", "1"}}).config.effective_log_retention_ms(), 3600000);
    EXPECT_EQ(build({{"log.retention.minutes", "2"}, {"log.retention.hours", "1"}})
                  .config.effective_log_retention_ms(),
              120000);
    EXPECT_EQ(build({{"log.retention.ms", "5"}, {"log.retention.minutes", "2"}})
                  .config.effective_log_retention_ms(),
              5);
    EXPECT_EQ(build({{"log.retention.hours", "-5"}}).config.effective_log_retention_ms(), -1);
    EXPECT_EQ(build({{"log.retention.ms", "-1"}}).config.effective_log_retention_ms(), -1);
    EXPECT_EQ(build({{"log.roll.ms", "1000"}}).config.effective_log_roll_ms(), 1000);
    EXPECT_EQ(build({{"log.roll.jitter.hours", "1"}}).config.effective_log_roll_jitter_ms(),
              3600000);
    expect_invalid({{"log.retention.ms", "0"}}, "log.retention.ms");
}

TEST(config, log_dirs_wins_over_log_dir_in_any_order) {
    EXPECT_EQ(build({{"log.dir", "/a"}}).config.log_dirs, std::vector<std::string>{"/a"});
    EXPECT_EQ(build({{"log.dirs", "/b, /c"}, {"log.dir", "/a"}}).config.log_dirs,
              (std::vector<std::string>{"/b", "/c"}));
    EXPECT_EQ(build({{"log.dir", "/a"}, {"log.dirs", "/b"}}).config.log_dirs,
              std::vector<std::string>{"/b"});
    expect_invalid({{"log.dirs", " , "}}, "log.dirs");
}

TEST(config, listeners) {
    const broker_config c =
        build({{"listeners", "PLAINTEXT://:0, INTERNAL://[::1]:9093"},
               {"listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,INTERNAL:PLAINTEXT"},
               {"advertised.listeners", "PLAINTEXT://broker.example:19092"}})
            .config;
    ASSERT_EQ(c.listeners.size(), 2U);
    EXPECT_EQ(c.listeners[0], (listener_endpoint{"PLAINTEXT", "", 0}));
    EXPECT_EQ(c.listeners[1], (listener_endpoint{"INTERNAL", "::1", 9093}));
    ASSERT_EQ(c.effective_advertised_listeners().size(), 1U);
    EXPECT_EQ(c.effective_advertised_listeners()[0],
              (listener_endpoint{"PLAINTEXT", "broker.example", 19092}));
    // Unset advertised.listeners advertises the listeners themselves.
    EXPECT_EQ(build({}).config.effective_advertised_listeners(), build({}).config.listeners);
}

TEST(config, listener_errors) {
    expect_invalid({{"listeners", "127.0.0.1:9092"}}, "NAME://host:port");
    expect_invalid({{"listeners", "PLAINTEXT://127.0.0.1"}}, "NAME://host:port");
    expect_invalid({{"listeners", "PLAINTEXT://127.0.0.1:70000"}}, "NAME://host:port");
    expect_invalid({{"listeners", "PLAINTEXT://::1:9092"}}, "NAME://host:port");
    expect_invalid({{"listeners", "A://:1,A://:2"}}, "more than once");
    expect_invalid({{"listeners", "SSL://127.0.0.1:9093"}}, "does not support");
    expect_invalid({{"listeners", "INTERNAL://127.0.0.1:9093"}}, "No security protocol");
    expect_invalid({{"listeners", "PLAINTEXT://127.0.0.1:9092,X://127.0.0.1:9092"},
                    {"listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,X:PLAINTEXT"}},
                   "more than once");
    expect_invalid({{"listeners", "PLAINTEXT://0.0.0.0:9092"}}, "non-routable");
    expect_invalid({{"advertised.listeners", "PLAINTEXT://0.0.0.0:9092"}}, "non-routable");
    expect_invalid({{"advertised.listeners", "OTHER://h:1"}}, "not in listeners");
    // Binding every interface is fine when a routable address is advertised.
    EXPECT_NO_THROW(build({{"listeners", "PLAINTEXT://0.0.0.0:9092"},
                           {"advertised.listeners", "PLAINTEXT://h.example:9092"}}));
}

TEST(config, bad_values_are_fatal_and_name_the_key) {
    expect_invalid({{"broker.id", "-1"}}, "broker.id");
    expect_invalid({{"num.partitions", "0"}}, "at least 1");
    expect_invalid({{"num.partitions", "abc"}}, "not a number");
    expect_invalid({{"num.partitions", ""}}, "not a number");
    expect_invalid({{"num.partitions", "1.5"}}, "not a number");
    expect_invalid({{"num.partitions", "2147483648"}}, "out of range");
    expect_invalid({{"default.replication.factor", "40000"}}, "out of range");
    expect_invalid({{"auto.create.topics.enable", "yes"}}, "true or false");
    expect_invalid({{"log.cleanup.policy", "delete,shred"}}, "log.cleanup.policy");
    expect_invalid({{"compression.type", "brotli"}}, "must be one of");
    expect_invalid({{"log.message.timestamp.type", "createtime"}}, "must be one of");
    expect_invalid({{"log.cleaner.min.cleanable.ratio", "1.5"}}, "between");
    expect_invalid({{"socket.request.max.bytes", "0"}}, "at least 1");
    expect_invalid({{"queued.max.request.bytes", "1000"}}, "queued.max.request.bytes");
    expect_invalid({{"logger.level", "chatty"}}, "logger.level");
    expect_invalid({{"http.listeners", "nowhere"}}, "http://host:port");
    expect_invalid({{"num.shards", "-2"}}, "num.shards");
    expect_invalid({{"group.min.session.timeout.ms", "10"}, {"group.max.session.timeout.ms", "5"}},
                   "group.min.session.timeout.ms");
}

TEST(config, compression_levels) {
    const broker_config defaults = build({}).config;
    EXPECT_EQ(defaults.compression_gzip_level, -1);
    EXPECT_EQ(defaults.compression_lz4_level, 9);
    EXPECT_EQ(defaults.compression_zstd_level, 3);
    const broker_config c = build({{"compression.gzip.level", "9"},
                                   {"compression.lz4.level", "17"},
                                   {"compression.zstd.level", "-131072"}})
                                .config;
    EXPECT_EQ(c.compression_gzip_level, 9);
    EXPECT_EQ(c.compression_lz4_level, 17);
    EXPECT_EQ(c.compression_zstd_level, -131072);
    EXPECT_EQ(build({{"compression.gzip.level", "-1"}}).config.compression_gzip_level, -1);
    expect_invalid({{"compression.gzip.level", "0"}}, "between 1 and 9 or equal to -1");
    expect_invalid({{"compression.gzip.level", "10"}}, "no more than 9");
    expect_invalid({{"compression.gzip.level", "-2"}}, "at least -1");
    expect_invalid({{"compression.lz4.level", "0"}}, "at least 1");
    expect_invalid({{"compression.lz4.level", "18"}}, "no more than 17");
    expect_invalid({{"compression.zstd.level", "23"}}, "no more than 22");
    expect_invalid({{"compression.zstd.level", "-131073"}}, "at least -131072");
}

TEST(config, queued_request_bytes_bounds_memory) {
    EXPECT_EQ(build({{"queued.max.request.bytes", "104857600"}}).config.request_memory_budget(),
              104857600);
    EXPECT_EQ(build({{"socket.request.max.bytes", "536870912"}}).config.request_memory_budget(),
              536870912);
}

TEST(config, unknown_keys_are_warnings) {
    const std::vector<property> entries{
        {"num.partitions", "4", 3}, {"some.plugin.key", "x", 5}, {"other", "y", 0}};
    const config_result result = make_broker_config(entries);
    EXPECT_EQ(result.config.num_partitions, 4);
    ASSERT_EQ(result.warnings.size(), 2U);
    EXPECT_NE(result.warnings[0].find("some.plugin.key"), std::string::npos);
    EXPECT_NE(result.warnings[0].find("line 5"), std::string::npos);
    EXPECT_NE(result.warnings[1].find("'other'"), std::string::npos);
}

// ---- command line

std::vector<std::string_view> args(std::initializer_list<std::string_view> list) {
    return std::vector<std::string_view>(list);
}

TEST(command_line, forms) {
    auto c = parse_command_line(args({"--config", "a.properties", "--override", "x=1",
                                      "--override=y = 2 ", "--override", "z=a=b"}));
    EXPECT_EQ(c.config_file, "a.properties");
    EXPECT_EQ(kv(c.overrides), (pairs{{"x", "1"}, {"y", "2"}, {"z", "a=b"}}));
    EXPECT_FALSE(c.show_help);
    EXPECT_EQ(parse_command_line(args({"--config=b.properties"})).config_file, "b.properties");
    EXPECT_EQ(parse_command_line(args({"c.properties"})).config_file, "c.properties");
    EXPECT_TRUE(parse_command_line(args({"--help"})).show_help);
    EXPECT_TRUE(parse_command_line(args({"-h"})).show_help);
    EXPECT_TRUE(parse_command_line(args({"--version"})).show_version);
    EXPECT_FALSE(parse_command_line(args({})).config_file.has_value());
}

TEST(command_line, errors) {
    EXPECT_THROW(parse_command_line(args({"--config"})), config_error);
    EXPECT_THROW(parse_command_line(args({"--override"})), config_error);
    EXPECT_THROW(parse_command_line(args({"--override", "novalue"})), config_error);
    EXPECT_THROW(parse_command_line(args({"--override", "=1"})), config_error);
    EXPECT_THROW(parse_command_line(args({"--frobnicate"})), config_error);
    EXPECT_THROW(parse_command_line(args({"a.properties", "b.properties"})), config_error);
}

TEST(command_line, file_then_overrides) {
    temp_dir dir;
    const std::string path = dir.sub("server.properties");
    {
        std::ofstream out(path);
        out << "# test\nbroker.id=3\nnum.partitions=2\nlisteners=PLAINTEXT://127.0.0.1:9000,\\\n"
               "  \\\n"
               "\nunknown.key=1\n";
    }
    command_line c = parse_command_line(args({"--config", path, "--override", "num.partitions=9"}));
    const config_result result = load_broker_config(c);
    EXPECT_EQ(result.config.broker_id, 3);
    EXPECT_EQ(result.config.num_partitions, 9);
    EXPECT_EQ(result.config.listeners,
              (std::vector<listener_endpoint>{{"PLAINTEXT", "127.0.0.1", 9000}}));
    ASSERT_EQ(result.warnings.size(), 1U);
    EXPECT_NE(result.warnings[0].find("unknown.key"), std::string::npos);
    EXPECT_NE(result.warnings[0].find("line 7"), std::string::npos);
}

TEST(command_line, the_shipped_example_config_is_valid) {
    const std::string path = std::string(BROKER_SOURCE_DIR) + "/config/server.properties";
    const config_result result = load_broker_config(parse_command_line(args({path})));
    EXPECT_TRUE(result.warnings.empty()) << result.warnings.front();
}

// ---- docs/configuration.md

TEST(config_docs, configuration_md_lists_every_key_and_no_other) {
    std::ifstream in(std::string(BROKER_SOURCE_DIR) + "/docs/configuration.md");
    ASSERT_TRUE(in) << "docs/configuration.md missing";
    std::stringstream text;
    text << in.rdbuf();
    // Rows look like: | `key` | type | default | ...
    const std::regex row(R"(^\|\s*`([a-z0-9._]+)`\s*\|\s*([a-z]+)\s*\|\s*([^|]*)\|)");
    std::map<std::string, std::pair<std::string, std::string>> documented;
    std::string line;
    while (std::getline(text, line)) {
        std::smatch m;
        if (std::regex_search(line, m, row)) {
            std::string def = m[3].str();
            while (!def.empty() && def.back() == ' ') {
                def.pop_back();
            }
            documented[m[1].str()] = {m[2].str(), def};
        }
    }
    for (const config_key_info& key : config_keys()) {
        const auto it = documented.find(std::string(key.name));
        if (it == documented.end()) {
            ADD_FAILURE() << "docs/configuration.md does not list " << key.name;
            continue;
        }
        EXPECT_EQ(it->second.first, config_type_name(key.type)) << key.name;
        const std::string expected_default =
            key.default_value.empty() ? "(empty)" : "`" + std::string(key.default_value) + "`";
        EXPECT_EQ(it->second.second, expected_default) << key.name;
        documented.erase(it);
    }
    for (const auto& [name, unused] : documented) {
        ADD_FAILURE() << "docs/configuration.md lists " << name
                      << ", which the broker does not know";
    }
}

// ---- meta.properties

TEST(meta_properties, cluster_id_format) {
    const std::string id = generate_cluster_id();
    EXPECT_EQ(id.size(), 22U);
    EXPECT_NE(id.front(), '-');
    for (char c : id) {
        EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') << id;
    }
    EXPECT_NE(generate_cluster_id(), id);
}

TEST(meta_properties, created_once_and_then_kept) {
    temp_dir dir;
    const std::vector<std::string> dirs{dir.sub("a"), dir.sub("b/nested")};
    const std::string id = ensure_log_dirs(dirs, 4);
    for (const std::string& d : dirs) {
        const auto meta = read_meta_properties(d);
        ASSERT_TRUE(meta.has_value());
        EXPECT_EQ(*meta, (meta_properties{0, 4, id}));
    }
    EXPECT_EQ(ensure_log_dirs(dirs, 4), id);
    // A new, empty directory joins the existing cluster.
    const std::vector<std::string> more{dirs[0], dir.sub("c")};
    EXPECT_EQ(ensure_log_dirs(more, 4), id);
    EXPECT_EQ(read_meta_properties(dir.sub("c"))->cluster_id, id);
}

TEST(meta_properties, conflicts_are_refused) {
    temp_dir dir;
    ensure_log_dirs({dir.sub("a")}, 1);
    EXPECT_THROW(ensure_log_dirs({dir.sub("a")}, 2), std::runtime_error);
    ensure_log_dirs({dir.sub("b")}, 1);  // a second cluster id
    EXPECT_THROW(ensure_log_dirs({dir.sub("a"), dir.sub("b")}, 1), std::runtime_error);
}

TEST(meta_properties, malformed_file_is_refused) {
    temp_dir dir;
    std::ofstream(dir.sub("meta.properties")) << "version=0\nbroker.id=abc\ncluster.id=x\n";
    EXPECT_THROW(read_meta_properties(dir.path()), std::runtime_error);
    std::ofstream(dir.sub("meta.properties")) << "version=1\nbroker.id=0\ncluster.id=x\n";
    EXPECT_THROW(read_meta_properties(dir.path()), std::runtime_error);
    std::ofstream(dir.sub("meta.properties")) << "version=0\nbroker.id=0\n";
    EXPECT_THROW(read_meta_properties(dir.path()), std::runtime_error);
}

TEST(meta_properties, a_file_where_a_directory_should_be_is_refused) {
    temp_dir dir;
    std::ofstream(dir.sub("file")) << "x";
    EXPECT_THROW(ensure_log_dirs({dir.sub("file")}, 0), std::runtime_error);
}

}  // namespace
}  // namespace broker::server
