#pragma once
// Broker configuration: Kafka's `server.properties` format and key names.
//
// Sources, lowest precedence first: built-in defaults, the properties file given with `--config`
// (or as the single positional argument, as `kafka-server-start.sh` takes it), then every
// `--override key=value` in command-line order. A later value for the same key replaces an earlier
// one. Unknown keys produce warnings (returned to the caller, printed at startup) and are otherwise
// ignored, as Kafka does. A value that fails to parse or validate is fatal: `config_error` carries
// a message naming the key and the value.
//
// Every supported key is listed once in a table (`config_keys()`) with its type, its default as it
// would be written in the file, whether it is this broker's own key, and a one-line description.
// docs/configuration.md is checked against that table by a unit test.
//
// broker_config is plain data, built once at startup on the main thread and read-only afterwards,
// so any shard may read it without locking.
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "server/logging.h"

namespace broker::server {

/// A fatal configuration problem (bad value, unreadable file, malformed command line).
class config_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// One `key=value` entry of a properties file, after escapes are resolved. `line` is the 1-based
/// line on which the entry starts (0 for entries that did not come from a file).
struct property {
    std::string key;
    std::string value;
    int line = 0;
    friend bool operator==(const property&, const property&) = default;
};

/// Parses text in java.util.Properties format: `#`/`!` comment lines, `=`, `:` or whitespace
/// separators, a trailing unescaped backslash continuing the entry on the next line (leading
/// whitespace of that line dropped), and the escapes `\t \n \r \f \uXXXX` (any other escaped
/// character stands for itself). Keys and values are trimmed of surrounding whitespace.
/// Throws config_error on a malformed `\u` escape.
std::vector<property> parse_properties(std::string_view text);

/// Reads and parses a properties file. Throws config_error if it cannot be read or parsed.
std::vector<property> read_properties_file(const std::string& path);

/// One entry of `listeners` / `advertised.listeners`: `NAME://host:port`.
/// An empty host means every interface (listeners) or the local host name (advertised).
/// Port 0 means an ephemeral port (listeners) or the port actually bound (advertised).
struct listener_endpoint {
    std::string name;
    std::string host;
    uint16_t port = 0;
    friend bool operator==(const listener_endpoint&, const listener_endpoint&) = default;
};

/// Parses a comma-separated listener list. `key` names the setting in error messages.
/// Throws config_error on a malformed entry or a duplicate listener name.
std::vector<listener_endpoint> parse_listener_list(std::string_view text, std::string_view key);

/// Typed broker settings. Member names are the Kafka keys in snake_case; defaults are this
/// broker's defaults (docs/configuration.md lists where they differ from Kafka's).
struct broker_config {
    int32_t broker_id = 0;
    std::vector<listener_endpoint> listeners{{"PLAINTEXT", "127.0.0.1", 9092}};
    /// Empty = advertise `listeners`.
    std::vector<listener_endpoint> advertised_listeners;
    std::map<std::string, std::string> listener_security_protocol_map{
        {"PLAINTEXT", "PLAINTEXT"},
        {"SSL", "SSL"},
        {"SASL_PLAINTEXT", "SASL_PLAINTEXT"},
        {"SASL_SSL", "SASL_SSL"}};
    std::vector<std::string> log_dirs{"./data"};

    int32_t num_partitions = 1;
    int16_t default_replication_factor = 1;
    bool auto_create_topics_enable = true;
    bool delete_topic_enable = true;

    int32_t log_retention_hours = 168;
    std::optional<int32_t> log_retention_minutes;
    std::optional<int64_t> log_retention_ms;
    int64_t log_retention_bytes = -1;
    int64_t log_retention_check_interval_ms = 300000;
    int32_t log_segment_bytes = 1073741824;
    int32_t log_roll_hours = 168;
    std::optional<int64_t> log_roll_ms;
    int32_t log_roll_jitter_hours = 0;
    std::optional<int64_t> log_roll_jitter_ms;
    int64_t log_segment_delete_delay_ms = 60000;
    int32_t log_index_interval_bytes = 4096;
    int32_t log_index_size_max_bytes = 10485760;
    std::vector<std::string> log_cleanup_policy{"delete"};
    bool log_cleaner_enable = true;
    int64_t log_cleaner_delete_retention_ms = 86400000;
    int64_t log_cleaner_min_compaction_lag_ms = 0;
    double log_cleaner_min_cleanable_ratio = 0.5;
    int64_t log_flush_interval_messages = INT64_MAX;
    std::optional<int64_t> log_flush_interval_ms;
    int64_t log_flush_scheduler_interval_ms = INT64_MAX;
    int32_t log_flush_offset_checkpoint_interval_ms = 60000;
    int32_t num_recovery_threads_per_data_dir = 1;
    std::string log_message_timestamp_type = "CreateTime";
    int32_t message_max_bytes = 1048588;
    int32_t min_insync_replicas = 1;
    std::string compression_type = "producer";
    int32_t compression_gzip_level = -1;
    int32_t compression_lz4_level = 9;
    int32_t compression_zstd_level = 3;
    int32_t fetch_max_bytes = 57671680;
    int32_t max_incremental_fetch_session_cache_slots = 1000;

    int32_t socket_request_max_bytes = 104857600;
    int32_t socket_send_buffer_bytes = 102400;
    int32_t socket_receive_buffer_bytes = 102400;
    int64_t queued_max_request_bytes = -1;
    int32_t num_network_threads = 3;
    int32_t num_io_threads = 8;
    int32_t background_threads = 10;
    int32_t max_connections = INT32_MAX;
    int32_t max_connections_per_ip = INT32_MAX;
    int64_t connections_max_idle_ms = 600000;

    int32_t offsets_topic_num_partitions = 50;
    int16_t offsets_topic_replication_factor = 1;
    int32_t offsets_topic_segment_bytes = 104857600;
    int32_t offsets_retention_minutes = 10080;
    int64_t offsets_retention_check_interval_ms = 600000;
    int32_t offset_metadata_max_bytes = 4096;
    int32_t transaction_state_log_num_partitions = 50;
    int16_t transaction_state_log_replication_factor = 1;
    int32_t transaction_state_log_min_isr = 1;
    int32_t producer_id_expiration_ms = 86400000;
    int32_t producer_id_expiration_check_interval_ms = 600000;
    int32_t group_initial_rebalance_delay_ms = 3000;
    int32_t group_min_session_timeout_ms = 6000;
    int32_t group_max_session_timeout_ms = 1800000;
    int32_t group_max_size = INT32_MAX;

    /// Empty = single-node mode with no ZooKeeper.
    std::string zookeeper_connect;
    int32_t zookeeper_session_timeout_ms = 18000;
    std::optional<int32_t> zookeeper_connection_timeout_ms;
    /// broker.rack; empty = none.
    std::string broker_rack;
    /// inter.broker.listener.name; empty = the PLAINTEXT listener (security.inter.broker.protocol).
    std::string inter_broker_listener_name;
    int32_t controller_socket_timeout_ms = 30000;
    bool unclean_leader_election_enable = false;
    bool auto_leader_rebalance_enable = true;
    int32_t leader_imbalance_per_broker_percentage = 10;
    int64_t leader_imbalance_check_interval_seconds = 300;

    // This broker's own keys.
    /// 0 = one shard per hardware thread (see shard_count()).
    int32_t num_shards = 0;
    /// Admin/metrics HTTP listeners (`http://host:port`, name "http"); empty = disabled.
    std::vector<listener_endpoint> http_listeners{{"http", "127.0.0.1", 9644}};
    log_level logger_level = log_level::info;
    /// Free bytes a log dir's filesystem must keep after a produce append; an append that would
    /// leave less is refused with KAFKA_STORAGE_ERROR (docs/decisions.md, "Storage errors and a
    /// full disk").
    int64_t log_dir_min_free_bytes = 16LL * 1024 * 1024;

    /// Every key set by the file or an --override (last value wins), as written. DescribeConfigs
    /// reports these with source STATIC_BROKER_CONFIG and the others as DEFAULT_CONFIG.
    /// Provenance only: it takes no part in comparing two configs.
    struct provenance : std::map<std::string, std::string> {
        friend bool operator==(const provenance&, const provenance&) { return true; }
    };
    provenance explicit_settings;

    /// log.retention.ms, else log.retention.minutes, else log.retention.hours, in ms (-1 =
    /// forever).
    int64_t effective_log_retention_ms() const;
    /// log.roll.ms, else log.roll.hours, in ms.
    int64_t effective_log_roll_ms() const;
    /// log.roll.jitter.ms, else log.roll.jitter.hours, in ms.
    int64_t effective_log_roll_jitter_ms() const;
    /// num.shards, or the hardware concurrency (at least 1, at most max_auto_shards) when 0.
    unsigned shard_count() const;
    /// Bytes of request frames the whole broker may hold read but not yet answered:
    /// queued.max.request.bytes, or max(256 MiB, socket.request.max.bytes) when it is <= 0.
    int64_t request_memory_budget() const;
    /// `advertised.listeners`, or `listeners` when that is empty.
    const std::vector<listener_endpoint>& effective_advertised_listeners() const;
    /// True for single-node mode (no zookeeper.connect).
    bool single_node() const { return zookeeper_connect.empty(); }
    /// offsets.topic.replication.factor as set, else 1 on a single node and Kafka's 3 in a cluster.
    int16_t effective_offsets_topic_replication_factor() const;
    /// The listener other brokers connect to: inter.broker.listener.name, else the first listener
    /// mapped to PLAINTEXT, else the first listener.
    std::string effective_inter_broker_listener() const;

    static constexpr unsigned max_auto_shards = 64;
    static constexpr int64_t default_request_memory_bound = 256LL * 1024 * 1024;

    friend bool operator==(const broker_config&, const broker_config&) = default;
};

enum class config_type { boolean, int16, int32, int64, double_, string, list };

/// Documentation row for one supported key.
struct config_key_info {
    std::string_view name;
    config_type type;
    /// Default as written in server.properties; "null" when unset (another key decides).
    std::string_view default_value;
    /// Apache Kafka's default when it differs from ours, else empty.
    std::string_view kafka_default;
    /// True for keys Apache Kafka does not have.
    bool ours;
    /// True when the key is accepted for compatibility but does not change this broker's behaviour.
    bool compatibility_only;
    std::string_view documentation;
};

/// Every supported key, in documentation order.
std::span<const config_key_info> config_keys();
const config_key_info* find_config_key(std::string_view name);
std::string_view config_type_name(config_type type);

/// Result of building a configuration: the config and one warning per unknown key.
struct config_result {
    broker_config config;
    std::vector<std::string> warnings;
};

/// Applies `entries` in order over the defaults (later entries win) and validates the result.
/// Throws config_error on an invalid value or an inconsistent combination.
config_result make_broker_config(std::span<const property> entries);

/// Parsed command line of the `broker` executable.
struct command_line {
    std::optional<std::string> config_file;
    std::vector<property> overrides;
    bool show_help = false;
    bool show_version = false;
};

/// Accepts `--config FILE`, `--config=FILE`, one positional FILE, `--override key=value`
/// (repeatable, also `--override=key=value`), `--help`/`-h` and `--version`. Throws config_error
/// otherwise.
command_line parse_command_line(std::span<const std::string_view> args);

/// Reads the file (if any), then applies the overrides, and builds the config.
config_result load_broker_config(const command_line& command);

/// Usage text for --help.
std::string usage_text(std::string_view program);

}  // namespace broker::server
