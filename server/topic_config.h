#pragma once
// Topic-level configuration: Kafka's topic config names, their broker-level synonyms, validation,
// and the resolution of "topic override, else dynamic broker value, else static broker value, else
// Kafka's default" into one resolved topic_config.
//
// Every topic config Apache Kafka 3.x defines is known here (so CreateTopics/AlterConfigs accept
// what a Kafka broker accepts and refuse unknown names with INVALID_CONFIG). The ones the log
// implements are applied to log::log_config; min.insync.replicas, compression.type with the
// compression.*.level configs and the message.timestamp.*.max.ms bounds are typed members for the
// produce path; the rest (replication throttles, preallocate, remote storage, message format) are
// validated, stored and described but change nothing on a single node (docs/topics.md lists them).
//
// Broker-level values come from two places: the static configuration (broker_config, which records
// which keys were set explicitly) and the dynamic broker configs changed with AlterConfigs and kept
// in the topic store's metadata file. `broker_config_view` bundles them for resolution.
//
// Plain functions and data; thread-safe as long as the inputs are not modified concurrently.
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "log/log_config.h"
#include "server/config.h"

namespace broker::server {

/// Topic config overrides or dynamic broker configs: Kafka name -> value.
using config_map = std::map<std::string, std::string, std::less<>>;

/// DescribeConfigs' ConfigSource codes.
enum class config_source : int8_t {
    unknown = 0,
    dynamic_topic_config = 1,
    dynamic_broker_config = 2,
    dynamic_default_broker_config = 3,
    static_broker_config = 4,
    default_config = 5,
    dynamic_broker_logger_config = 6,
};

/// DescribeConfigs v3+ ConfigType codes.
enum class config_value_type : int8_t {
    unknown = 0,
    boolean = 1,
    string = 2,
    int_ = 3,
    short_ = 4,
    long_ = 5,
    double_ = 6,
    list = 7,
    class_ = 8,
    password = 9,
};

/// One topic config Kafka defines.
struct topic_config_def {
    std::string_view name;
    config_value_type type;
    /// Kafka's default, as DescribeConfigs prints it, used when no broker key sets it.
    std::string_view default_value;
    /// Broker keys that set the default for every topic, highest precedence first
    /// (retention.ms <- log.retention.ms, log.retention.minutes, log.retention.hours).
    std::vector<std::string_view> broker_synonyms;
    /// What the config does, in one or two sentences (DescribeConfigs v3+ with
    /// include_documentation).
    std::string_view documentation;
};

/// Every topic config, ordered by name.
std::span<const topic_config_def> topic_config_defs();
const topic_config_def* find_topic_config(std::string_view name);

/// The resolved configuration of one topic.
struct topic_config {
    log::log_config log;
    int32_t min_insync_replicas = 1;
    /// producer, uncompressed, gzip, snappy, lz4 or zstd.
    std::string compression_type = "producer";
    /// Levels used when the broker compresses a batch with the topic's codec (KIP-390):
    /// compression.gzip.level (-1 = zlib's default), compression.lz4.level (9 = lz4's fast mode),
    /// compression.zstd.level.
    int32_t compression_gzip_level = -1;
    int32_t compression_lz4_level = 9;
    int32_t compression_zstd_level = 3;
    /// Bounds on (broker time - record timestamp) and (record timestamp - broker time) for
    /// CreateTime topics; INT64_MAX = no bound (message.timestamp.before/after.max.ms, with
    /// message.timestamp.difference.max.ms as the fallback for both, as in Kafka 3.6+).
    int64_t message_timestamp_before_max_ms = INT64_MAX;
    int64_t message_timestamp_after_max_ms = INT64_MAX;
    /// Every topic config (Kafka name -> effective value), for DescribeConfigs.
    config_map values;
};

/// The broker-level settings topic configs default to: static broker configuration plus dynamic
/// broker configs (cluster-wide defaults, then this broker's own, which win).
struct broker_config_view {
    const broker_config* config = nullptr;
    const config_map* dynamic_default = nullptr;  // resource name ""
    const config_map* dynamic_broker = nullptr;   // resource name "<broker id>"
};

/// One broker-level value with its source.
struct sourced_value {
    std::optional<std::string> value;
    config_source source = config_source::default_config;
};

/// The value a broker key has (dynamic, static or default) or nullopt when the broker does not know
/// the key. Keys like log.roll.ms whose default is "null" yield a null value with default_config.
std::optional<sourced_value> broker_value(const broker_config_view& broker, std::string_view key);

/// A broker key's static value as the operator wrote it (or its default) and its source, ignoring
/// dynamic configs; nullopt for an unknown key.
std::optional<sourced_value> static_broker_value(const broker_config& config, std::string_view key);

/// Checks one topic config: nullopt when acceptable, else the error message Kafka-style
/// ("Unknown topic config name: x", "Invalid value abc for configuration retention.ms: ...").
std::optional<std::string> validate_topic_config(std::string_view name, std::string_view value);

/// Checks a whole override set (each value, then their combination, e.g. a log_config whose bounds
/// hold together). nullopt when acceptable, else a message.
std::optional<std::string> validate_topic_configs(const config_map& overrides,
                                                  const broker_config_view& broker);

/// Resolves a topic's configuration: each topic config takes the topic override, else the broker
/// synonyms' value (dynamic per-broker, dynamic default, static), else Kafka's default. Values that
/// fail to apply (only possible if validation was bypassed) keep the broker-level value.
topic_config resolve_topic_config(const config_map& overrides, const broker_config_view& broker);

/// One DescribeConfigs entry with its synonyms (most specific first).
struct described_config {
    std::string name;
    std::optional<std::string> value;
    config_source source = config_source::default_config;
    bool read_only = false;
    bool sensitive = false;
    config_value_type type = config_value_type::unknown;
    /// The config's documentation (the topic config table's, or the broker key table's; a broker
    /// key that only defaults a topic config names that config and carries its text).
    std::string documentation;
    struct synonym {
        std::string name;
        std::optional<std::string> value;
        config_source source = config_source::default_config;
    };
    std::vector<synonym> synonyms;
};

/// Every topic config of a topic, with sources and synonyms (topic override, then the broker keys
/// that set it, then Kafka's default).
std::vector<described_config> describe_topic_configs(const config_map& overrides,
                                                     const broker_config_view& broker);

/// Broker keys AlterConfigs may change at run time (the log.* defaults of topic configs and the
/// other broker synonyms of topic configs). Everything else is read-only.
bool is_dynamic_broker_config(std::string_view key);

/// Checks a dynamic broker config value (same rules as the static configuration file). nullopt when
/// acceptable, else a message.
std::optional<std::string> validate_dynamic_broker_config(std::string_view key,
                                                          std::string_view value);

/// Every broker config (the keys of config_keys()) with its value and source. With
/// `only_dynamic_default`, only the cluster-wide dynamic defaults are listed (DescribeConfigs of
/// the broker resource named "").
std::vector<described_config> describe_broker_configs(const broker_config_view& broker,
                                                      bool only_dynamic_default);

/// Config resource types of DescribeConfigs / AlterConfigs / IncrementalAlterConfigs.
constexpr int8_t resource_type_topic = 2;
constexpr int8_t resource_type_broker = 4;
constexpr int8_t resource_type_broker_logger = 8;

/// Which dynamic broker config set a broker resource name selects: "" the cluster-wide defaults
/// (true), this broker's id its own (false). Any other name yields the INVALID_REQUEST message
/// Kafka sends in `error`.
std::optional<bool> broker_resource_is_default(std::string_view resource_name, int32_t broker_id,
                                               std::string& error);

}  // namespace broker::server
