#include "server/topic_config.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "common/strings.h"
#include "log/errors.h"

namespace broker::server {
namespace {

using vt = config_value_type;

constexpr std::string_view long_max = "9223372036854775807";

// Kafka 3.x's topic configs, ordered by name. Defaults are Kafka's; the synonyms are the broker
// keys that set the default for every topic, the dynamically alterable one first.
const std::vector<topic_config_def>& defs() {
    static const std::vector<topic_config_def> table = {
        {"cleanup.policy",
         vt::list,
         "delete",
         {"log.cleanup.policy"},
         "What happens to old segments: delete removes them by age or size, compact keeps the last "
         "record of each key; both may be listed."},
        {"compression.gzip.level",
         vt::int_,
         "-1",
         {"compression.gzip.level"},
         "zlib level (1-9, or -1 for zlib's default) used when this topic's compression.type is "
         "gzip and the broker compresses a batch itself."},
        {"compression.lz4.level",
         vt::int_,
         "9",
         {"compression.lz4.level"},
         "Level (1-17) used when this topic's compression.type is lz4 and the broker compresses a "
         "batch itself; 9 selects lz4's fast mode."},
        {"compression.type",
         vt::string,
         "producer",
         {"compression.type"},
         "Codec of stored batches: gzip, snappy, lz4, zstd or uncompressed, to which differing "
         "producer batches are recompressed; producer stores batches as the producer sent them."},
        {"compression.zstd.level",
         vt::int_,
         "3",
         {"compression.zstd.level"},
         "zstd level (-131072 to 22) used when this topic's compression.type is zstd and the "
         "broker compresses a batch itself."},
        {"delete.retention.ms",
         vt::long_,
         "86400000",
         {"log.cleaner.delete.retention.ms"},
         "How long a tombstone (a null value) stays readable in a compacted topic after cleaning "
         "reaches it."},
        {"file.delete.delay.ms",
         vt::long_,
         "60000",
         {"log.segment.delete.delay.ms"},
         "Time between a segment leaving the log and its files being removed from disk."},
        {"flush.messages",
         vt::long_,
         long_max,
         {"log.flush.interval.messages"},
         "Records appended to a partition between two forced fsyncs of its log."},
        {"flush.ms",
         vt::long_,
         long_max,
         {"log.flush.interval.ms", "log.flush.scheduler.interval.ms"},
         "Longest time an appended record may wait before the partition's log is fsynced."},
        {"follower.replication.throttled.replicas",
         vt::list,
         "",
         {},
         "Replicas (partition:broker pairs, or *) whose follower fetches are throttled. Stored "
         "only: a single node has no followers."},
        {"index.interval.bytes",
         vt::int_,
         "4096",
         {"log.index.interval.bytes"},
         "Log bytes between two entries of the offset index; smaller values make lookups finer and "
         "indexes larger."},
        {"leader.replication.throttled.replicas",
         vt::list,
         "",
         {},
         "Replicas (partition:broker pairs, or *) whose leader-side replication is throttled. "
         "Stored only: a single node has no followers."},
        {"local.retention.bytes",
         vt::long_,
         "-2",
         {"log.local.retention.bytes"},
         "Local size limit of a partition when tiered storage keeps the rest remotely; -2 means "
         "retention.bytes. No effect without tiered storage."},
        {"local.retention.ms",
         vt::long_,
         "-2",
         {"log.local.retention.ms"},
         "Local age limit of segments when tiered storage keeps the rest remotely; -2 means "
         "retention.ms. No effect without tiered storage."},
        {"max.compaction.lag.ms",
         vt::long_,
         long_max,
         {"log.cleaner.max.compaction.lag.ms"},
         "Longest time a record may stay uncompacted in a compacted topic before its segment is "
         "cleaned."},
        {"max.message.bytes",
         vt::int_,
         "1048588",
         {"message.max.bytes"},
         "Largest record batch (after compression) a producer may append to this topic."},
        {"message.downconversion.enable",
         vt::boolean,
         "true",
         {"log.message.downconversion.enable"},
         "Whether old fetch versions may receive records converted to older formats. Stored only: "
         "this broker serves no down-converting fetches."},
        {"message.format.version",
         vt::string,
         "3.0-IV1",
         {"log.message.format.version"},
         "Legacy record format version; ignored since record format v2 is always used."},
        {"message.timestamp.after.max.ms",
         vt::long_,
         long_max,
         {"log.message.timestamp.after.max.ms"},
         "For CreateTime topics, how far a record's timestamp may lie ahead of the broker's clock "
         "before the batch is refused."},
        {"message.timestamp.before.max.ms",
         vt::long_,
         long_max,
         {"log.message.timestamp.before.max.ms"},
         "For CreateTime topics, how far a record's timestamp may lie behind the broker's clock "
         "before the batch is refused."},
        {"message.timestamp.difference.max.ms",
         vt::long_,
         long_max,
         {"log.message.timestamp.difference.max.ms"},
         "Older bound on the distance between record timestamps and the broker's clock, used for "
         "whichever of the before/after bounds is unset."},
        {"message.timestamp.type",
         vt::string,
         "CreateTime",
         {"log.message.timestamp.type"},
         "CreateTime keeps the producer's record timestamps; LogAppendTime replaces them with the "
         "broker's time of append."},
        {"min.cleanable.dirty.ratio",
         vt::double_,
         "0.5",
         {"log.cleaner.min.cleanable.ratio"},
         "Share of a compacted log that must be uncleaned before the cleaner works on it."},
        {"min.compaction.lag.ms",
         vt::long_,
         "0",
         {"log.cleaner.min.compaction.lag.ms"},
         "Youngest a record may be and still be compacted away."},
        {"min.insync.replicas",
         vt::int_,
         "1",
         {"min.insync.replicas"},
         "In-sync replicas an acks=all produce needs; above the replica count such produces fail "
         "with NOT_ENOUGH_REPLICAS."},
        {"preallocate",
         vt::boolean,
         "false",
         {"log.preallocate"},
         "Whether a new segment file is allocated at its full size up front. Stored only."},
        {"remote.log.copy.disable",
         vt::boolean,
         "false",
         {},
         "Whether a tiered topic stops copying segments to remote storage. Stored only: this "
         "broker has no tiered storage, and true is refused as in ZooKeeper mode."},
        {"remote.log.delete.on.disable",
         vt::boolean,
         "false",
         {},
         "Whether turning tiered storage off deletes a topic's remote data. Stored only: this "
         "broker has no tiered storage, and true is refused as in ZooKeeper mode."},
        {"remote.storage.enable",
         vt::boolean,
         "false",
         {},
         "Whether the topic uses tiered storage. Stored only: this broker has no tiered storage."},
        {"retention.bytes",
         vt::long_,
         "-1",
         {"log.retention.bytes"},
         "Largest size of one partition before its oldest segments are deleted; -1 means no size "
         "limit."},
        {"retention.ms",
         vt::long_,
         "604800000",
         {"log.retention.ms", "log.retention.minutes", "log.retention.hours"},
         "Age after which closed segments are deleted (delete policy); -1 keeps data forever."},
        {"segment.bytes",
         vt::int_,
         "1073741824",
         {"log.segment.bytes"},
         "Size at which the active segment is closed and a new one started."},
        {"segment.index.bytes",
         vt::int_,
         "10485760",
         {"log.index.size.max.bytes"},
         "Size of each segment's offset and time index files; a full index closes the segment."},
        {"segment.jitter.ms",
         vt::long_,
         "0",
         {"log.roll.jitter.ms", "log.roll.jitter.hours"},
         "Largest random amount taken off segment.ms per segment, to spread segment rolls over "
         "time."},
        {"segment.ms",
         vt::long_,
         "604800000",
         {"log.roll.ms", "log.roll.hours"},
         "Age after which the active segment is closed even if it is not full, so retention and "
         "compaction can act on it."},
        {"unclean.leader.election.enable",
         vt::boolean,
         "false",
         {"unclean.leader.election.enable"},
         "Whether a replica outside the in-sync set may become leader, at the price of lost "
         "records. Stored only on a single node."},
    };
    return table;
}

std::optional<int64_t> parse_long(std::string_view text) {
    text = trim(text);
    if (!text.empty() && text.front() == '+') {
        text.remove_prefix(1);
    }
    int64_t v = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) {
        return std::nullopt;
    }
    return v;
}

std::optional<double> parse_double(std::string_view text) {
    const std::string s(trim(text));
    if (s.empty()) {
        return std::nullopt;
    }
    char* end = nullptr;
    const double v = std::strtod(s.c_str(), &end);
    if (end != s.c_str() + s.size() || !std::isfinite(v)) {
        return std::nullopt;
    }
    return v;
}

std::string invalid(std::string_view name, std::string_view value, std::string_view why) {
    return "Invalid value " + std::string(value) + " for configuration " + std::string(name) +
           ": " + std::string(why);
}

// The minimum (and maximum) Kafka accepts for each numeric topic config.
struct bounds {
    int64_t min;
    int64_t max;
};

std::optional<bounds> numeric_bounds(std::string_view name) {
    constexpr int64_t int_max = std::numeric_limits<int32_t>::max();
    constexpr int64_t lmax = std::numeric_limits<int64_t>::max();
    constexpr int64_t lmin = std::numeric_limits<int64_t>::min();
    if (name == "segment.bytes")
        return bounds{14, int_max};
    if (name == "segment.ms")
        return bounds{1, lmax};
    if (name == "segment.jitter.ms")
        return bounds{0, lmax};
    if (name == "segment.index.bytes")
        return bounds{4, int_max};
    if (name == "flush.messages")
        return bounds{1, lmax};
    if (name == "flush.ms")
        return bounds{0, lmax};
    if (name == "retention.bytes")
        return bounds{lmin, lmax};
    if (name == "retention.ms")
        return bounds{-1, lmax};
    if (name == "local.retention.bytes" || name == "local.retention.ms")
        return bounds{-2, lmax};
    if (name == "max.message.bytes")
        return bounds{0, int_max};
    if (name == "index.interval.bytes")
        return bounds{0, int_max};
    if (name == "delete.retention.ms" || name == "file.delete.delay.ms" ||
        name == "min.compaction.lag.ms") {
        return bounds{0, lmax};
    }
    if (name == "max.compaction.lag.ms")
        return bounds{1, lmax};
    if (name == "min.insync.replicas")
        return bounds{1, int_max};
    if (name.starts_with("message.timestamp.") && name.ends_with(".max.ms"))
        return bounds{0, lmax};
    if (name == "compression.lz4.level")
        return bounds{1, 17};
    if (name == "compression.zstd.level")
        return bounds{-131072, 22};
    return std::nullopt;
}

bool valid_throttled_replicas(std::string_view value) {
    const std::string_view v = trim(value);
    if (v == "*") {
        return true;
    }
    for (const std::string& item : split_list(v)) {
        const std::size_t colon = item.find(':');
        if (colon == std::string::npos) {
            return false;
        }
        const auto p = parse_long(std::string_view(item).substr(0, colon));
        const auto b = parse_long(std::string_view(item).substr(colon + 1));
        if (!p || !b || *p < 0 || *b < 0) {
            return false;
        }
    }
    return true;
}

// Broker keys whose value is in hours or minutes while the topic config is in milliseconds.
int64_t unit_ms(std::string_view broker_key) {
    if (broker_key.ends_with(".hours")) {
        return 3'600'000;
    }
    if (broker_key.ends_with(".minutes")) {
        return 60'000;
    }
    return 1;
}

std::string to_topic_value(std::string_view broker_key, const std::string& value) {
    const int64_t unit = unit_ms(broker_key);
    if (unit == 1) {
        return value;
    }
    const auto v = parse_long(value);
    if (!v) {
        return value;
    }
    if (*v < 0) {
        return "-1";
    }
    if (*v > std::numeric_limits<int64_t>::max() / unit) {
        return std::string(long_max);
    }
    return std::to_string(*v * unit);
}

// The static value of the broker keys that broker_config holds as typed members, as the broker
// uses it (tests may set members directly, bypassing explicit_settings). nullopt: not such a key.
// An inner nullopt: the key is unset ("null" default).
std::optional<std::optional<std::string>> typed_value(const broker_config& c,
                                                      std::string_view key) {
    using opt = std::optional<std::string>;
    const auto num = [](int64_t v) { return opt(std::to_string(v)); };
    const auto maybe = [&](const auto& o) { return o ? num(*o) : opt(); };
    if (key == "log.cleanup.policy")
        return opt(join(c.log_cleanup_policy, ","));
    if (key == "compression.type")
        return opt(c.compression_type);
    if (key == "compression.gzip.level")
        return num(c.compression_gzip_level);
    if (key == "compression.lz4.level")
        return num(c.compression_lz4_level);
    if (key == "compression.zstd.level")
        return num(c.compression_zstd_level);
    if (key == "log.cleaner.delete.retention.ms")
        return num(c.log_cleaner_delete_retention_ms);
    if (key == "log.segment.delete.delay.ms")
        return num(c.log_segment_delete_delay_ms);
    if (key == "log.flush.interval.messages")
        return num(c.log_flush_interval_messages);
    if (key == "log.flush.interval.ms")
        return maybe(c.log_flush_interval_ms);
    if (key == "log.flush.scheduler.interval.ms")
        return num(c.log_flush_scheduler_interval_ms);
    if (key == "log.index.interval.bytes")
        return num(c.log_index_interval_bytes);
    if (key == "message.max.bytes")
        return num(c.message_max_bytes);
    if (key == "log.message.timestamp.type")
        return opt(c.log_message_timestamp_type);
    if (key == "log.cleaner.min.cleanable.ratio") {
        std::string s = std::to_string(c.log_cleaner_min_cleanable_ratio);
        while (s.size() > 1 && s.back() == '0' && s[s.size() - 2] != '.') {
            s.pop_back();
        }
        return opt(s);
    }
    if (key == "log.cleaner.min.compaction.lag.ms")
        return num(c.log_cleaner_min_compaction_lag_ms);
    if (key == "min.insync.replicas")
        return num(c.min_insync_replicas);
    if (key == "log.retention.bytes")
        return num(c.log_retention_bytes);
    if (key == "log.retention.ms")
        return maybe(c.log_retention_ms);
    if (key == "log.retention.minutes")
        return maybe(c.log_retention_minutes);
    if (key == "log.retention.hours")
        return num(c.log_retention_hours);
    if (key == "log.segment.bytes")
        return num(c.log_segment_bytes);
    if (key == "log.index.size.max.bytes")
        return num(c.log_index_size_max_bytes);
    if (key == "log.roll.jitter.ms")
        return maybe(c.log_roll_jitter_ms);
    if (key == "log.roll.jitter.hours")
        return num(c.log_roll_jitter_hours);
    if (key == "log.roll.ms")
        return maybe(c.log_roll_ms);
    if (key == "log.roll.hours")
        return num(c.log_roll_hours);
    if (key == "num.partitions")
        return num(c.num_partitions);
    if (key == "default.replication.factor")
        return num(c.default_replication_factor);
    if (key == "auto.create.topics.enable")
        return opt(c.auto_create_topics_enable ? "true" : "false");
    if (key == "delete.topic.enable")
        return opt(c.delete_topic_enable ? "true" : "false");
    if (key == "broker.id")
        return num(c.broker_id);
    if (key == "log.retention.check.interval.ms")
        return num(c.log_retention_check_interval_ms);
    if (key == "log.flush.offset.checkpoint.interval.ms")
        return num(c.log_flush_offset_checkpoint_interval_ms);
    if (key == "log.cleaner.enable")
        return opt(c.log_cleaner_enable ? "true" : "false");
    if (key == "log.dirs")
        return opt(join(c.log_dirs, ","));
    return std::nullopt;
}

// A broker key that only exists as the synonym of a topic config (log.preallocate, ...), with the
// topic config's default converted to the broker key's unit.
const topic_config_def* synonym_owner(std::string_view key) {
    for (const topic_config_def& def : defs()) {
        if (std::find(def.broker_synonyms.begin(), def.broker_synonyms.end(), key) !=
            def.broker_synonyms.end()) {
            return &def;
        }
    }
    return nullptr;
}

config_value_type broker_key_type(std::string_view key) {
    if (const config_key_info* info = find_config_key(key)) {
        switch (info->type) {
            case config_type::boolean: return vt::boolean;
            case config_type::int16: return vt::short_;
            case config_type::int32: return vt::int_;
            case config_type::int64: return vt::long_;
            case config_type::double_: return vt::double_;
            case config_type::string: return vt::string;
            case config_type::list: return vt::list;
        }
    }
    if (const topic_config_def* def = synonym_owner(key)) {
        return def->type;
    }
    return vt::unknown;
}

// A broker key's documentation: its own row in the broker key table, else (a key that only
// defaults a topic config) the topic config's text, introduced as that config's broker-wide
// default.
std::string broker_key_documentation(std::string_view key) {
    if (const config_key_info* info = find_config_key(key)) {
        return std::string(info->documentation);
    }
    if (const topic_config_def* def = synonym_owner(key)) {
        return "Broker-wide default of the topic config " + std::string(def->name) + ": " +
               std::string(def->documentation);
    }
    return {};
}

// Every source a broker key has a value in, most specific first (Kafka's synonym order).
std::vector<described_config::synonym> broker_key_synonyms(const broker_config_view& broker,
                                                           std::string_view key) {
    std::vector<described_config::synonym> out;
    const std::string k(key);
    if (broker.dynamic_broker != nullptr) {
        if (auto it = broker.dynamic_broker->find(key); it != broker.dynamic_broker->end()) {
            out.push_back({k, it->second, config_source::dynamic_broker_config});
        }
    }
    if (broker.dynamic_default != nullptr) {
        if (auto it = broker.dynamic_default->find(key); it != broker.dynamic_default->end()) {
            out.push_back({k, it->second, config_source::dynamic_default_broker_config});
        }
    }
    if (auto s = static_broker_value(*broker.config, key); s && s->value) {
        out.push_back({k, s->value, s->source});
        if (s->source == config_source::static_broker_config) {
            // Kafka also lists the built-in default under a statically set key.
            if (const config_key_info* info = find_config_key(key);
                info != nullptr && info->default_value != "null") {
                out.push_back({k, std::string(info->default_value), config_source::default_config});
            }
        }
    }
    return out;
}

}  // namespace

std::span<const topic_config_def> topic_config_defs() {
    return defs();
}

const topic_config_def* find_topic_config(std::string_view name) {
    const auto& table = defs();
    const auto it =
        std::lower_bound(table.begin(), table.end(), name,
                         [](const topic_config_def& d, std::string_view n) { return d.name < n; });
    return (it != table.end() && it->name == name) ? &*it : nullptr;
}

std::optional<sourced_value> static_broker_value(const broker_config& config,
                                                 std::string_view key) {
    const config_key_info* info = find_config_key(key);
    const bool explicit_key = config.explicit_settings.count(std::string(key)) != 0;
    if (auto typed = typed_value(config, key)) {
        sourced_value out;
        out.value = *typed;
        const bool differs =
            info != nullptr &&
            (info->default_value == "null" ? out.value.has_value()
                                           : out.value != std::string(info->default_value));
        out.source = (explicit_key || differs) && out.value ? config_source::static_broker_config
                                                            : config_source::default_config;
        return out;
    }
    if (info != nullptr) {
        sourced_value out;
        if (explicit_key) {
            out.value = config.explicit_settings.at(std::string(key));
            out.source = config_source::static_broker_config;
        } else if (info->default_value != "null") {
            out.value = std::string(info->default_value);
        }
        return out;
    }
    if (const topic_config_def* def = synonym_owner(key)) {
        // Only the first synonym of such a topic config exists as a broker key with a default.
        if (def->broker_synonyms.front() == key) {
            return sourced_value{std::string(def->default_value), config_source::default_config};
        }
        return sourced_value{std::nullopt, config_source::default_config};
    }
    return std::nullopt;
}

std::optional<sourced_value> broker_value(const broker_config_view& broker, std::string_view key) {
    if (broker.dynamic_broker != nullptr) {
        if (auto it = broker.dynamic_broker->find(key); it != broker.dynamic_broker->end()) {
            return sourced_value{it->second, config_source::dynamic_broker_config};
        }
    }
    if (broker.dynamic_default != nullptr) {
        if (auto it = broker.dynamic_default->find(key); it != broker.dynamic_default->end()) {
            return sourced_value{it->second, config_source::dynamic_default_broker_config};
        }
    }
    if (broker.config == nullptr) {
        return std::nullopt;
    }
    return static_broker_value(*broker.config, key);
}

std::optional<std::string> validate_topic_config(std::string_view name, std::string_view value) {
    const topic_config_def* def = find_topic_config(name);
    if (def == nullptr) {
        return "Unknown topic config name: " + std::string(name);
    }
    const std::string_view v = trim(value);
    switch (def->type) {
        case vt::int_:
        case vt::long_: {
            const auto n = parse_long(v);
            const bool is_int = def->type == vt::int_;
            if (!n || (is_int && (*n < std::numeric_limits<int32_t>::min() ||
                                  *n > std::numeric_limits<int32_t>::max()))) {
                return invalid(name, value,
                               is_int ? "Not a number of type INT" : "Not a number of type LONG");
            }
            if (name == "compression.gzip.level" && *n != -1 && (*n < 1 || *n > 9)) {
                // zlib's levels, or -1 for zlib's default.
                return invalid(name, value, "Value must be between 1 and 9 or equal to -1");
            }
            if (const auto b = numeric_bounds(name)) {
                if (*n < b->min) {
                    return invalid(name, value, "Value must be at least " + std::to_string(b->min));
                }
                if (*n > b->max) {
                    return invalid(name, value,
                                   "Value must be no more than " + std::to_string(b->max));
                }
            }
            return std::nullopt;
        }
        case vt::double_: {
            const auto d = parse_double(v);
            if (!d) {
                return invalid(name, value, "Not a number of type DOUBLE");
            }
            if (*d < 0.0 || *d > 1.0) {
                return invalid(name, value, "Value must be between 0 and 1");
            }
            return std::nullopt;
        }
        case vt::boolean: {
            const std::string b = to_lower(v);
            if (b != "true" && b != "false") {
                return invalid(name, value, "Expected value to be either true or false");
            }
            return std::nullopt;
        }
        case vt::list: {
            if (name == "cleanup.policy") {
                const auto items = split_list(v);
                if (items.empty()) {
                    return invalid(name, value, "Empty list");
                }
                for (const std::string& item : items) {
                    if (item != "compact" && item != "delete") {
                        return invalid(name, value, "String must be one of: compact, delete");
                    }
                }
                return std::nullopt;
            }
            if (!valid_throttled_replicas(v)) {
                return invalid(
                    name, value,
                    "must be the literal '*' or a list of replicas in the following format: "
                    "[partitionId]:[brokerId],[partitionId]:[brokerId],...");
            }
            return std::nullopt;
        }
        case vt::string: {
            if (name == "compression.type") {
                static constexpr std::string_view allowed[] = {"uncompressed", "zstd", "lz4",
                                                               "snappy",       "gzip", "producer"};
                if (std::find(std::begin(allowed), std::end(allowed), v) == std::end(allowed)) {
                    return invalid(
                        name, value,
                        "String must be one of: uncompressed, zstd, lz4, snappy, gzip, producer");
                }
            } else if (name == "message.timestamp.type") {
                if (v != "CreateTime" && v != "LogAppendTime") {
                    return invalid(name, value, "String must be one of: CreateTime, LogAppendTime");
                }
            } else if (v.empty()) {
                return invalid(name, value, "Value must not be empty");
            }
            return std::nullopt;
        }
        default: return std::nullopt;
    }
}

std::optional<std::string> validate_topic_configs(const config_map& overrides,
                                                  const broker_config_view& broker) {
    for (const auto& [name, value] : overrides) {
        if (auto error = validate_topic_config(name, value)) {
            return error;
        }
    }
    // Kafka in ZooKeeper mode refuses either remote-log switch turned on, whatever
    // remote.storage.enable says (this broker has no tiered storage at all).
    for (std::string_view name : {"remote.log.copy.disable", "remote.log.delete.on.disable"}) {
        if (auto it = overrides.find(name);
            it != overrides.end() && to_lower(trim(it->second)) == "true") {
            return "It is invalid to set `remote.log.delete.on.disable` or "
                   "`remote.log.copy.disable` under Zookeeper's mode.";
        }
    }
    const topic_config resolved = resolve_topic_config(overrides, broker);
    if (resolved.log.min_compaction_lag_ms > resolved.log.max_compaction_lag_ms) {
        return "conflict topic config setting min.compaction.lag.ms (" +
               std::to_string(resolved.log.min_compaction_lag_ms) + ") > max.compaction.lag.ms (" +
               std::to_string(resolved.log.max_compaction_lag_ms) + ")";
    }
    // Every override must have taken effect; a value the log refuses in combination shows up here.
    for (const auto& [name, value] : overrides) {
        log::log_config probe = resolved.log;
        const std::error_code ec = log::apply_topic_config(probe, name, value);
        if (ec && ec != log::errc::unknown_config) {
            return invalid(name, value, "rejected by the log configuration");
        }
    }
    return std::nullopt;
}

topic_config resolve_topic_config(const config_map& overrides, const broker_config_view& broker) {
    topic_config out;
    for (const topic_config_def& def : defs()) {
        std::optional<std::string> value;
        if (auto it = overrides.find(def.name);
            it != overrides.end() && !validate_topic_config(def.name, it->second)) {
            value = std::string(trim(it->second));
        }
        if (!value) {
            // Explicit broker values (dynamic or static) win in synonym order; then the first
            // synonym that has a built-in default; then Kafka's topic default.
            std::optional<std::string> fallback;
            for (std::string_view synonym : def.broker_synonyms) {
                const auto v = broker_value(broker, synonym);
                if (!v || !v->value) {
                    continue;
                }
                const std::string converted = to_topic_value(synonym, *v->value);
                if (validate_topic_config(def.name, converted)) {
                    continue;  // a broker value the topic config cannot take
                }
                if (v->source != config_source::default_config) {
                    value = converted;
                    break;
                }
                if (!fallback) {
                    fallback = converted;
                }
            }
            if (!value) {
                value = fallback ? *fallback : std::string(def.default_value);
            }
        }
        out.values[std::string(def.name)] = *value;
    }
    for (const auto& [name, value] : out.values) {
        // Names the log does not implement answer unknown_config; values were validated above.
        (void)log::apply_topic_config(out.log, name, value);
    }
    out.min_insync_replicas =
        static_cast<int32_t>(parse_long(out.values["min.insync.replicas"]).value_or(1));
    out.compression_type = out.values["compression.type"];
    out.compression_gzip_level =
        static_cast<int32_t>(parse_long(out.values["compression.gzip.level"]).value_or(-1));
    out.compression_lz4_level =
        static_cast<int32_t>(parse_long(out.values["compression.lz4.level"]).value_or(9));
    out.compression_zstd_level =
        static_cast<int32_t>(parse_long(out.values["compression.zstd.level"]).value_or(3));
    const int64_t difference =
        parse_long(out.values["message.timestamp.difference.max.ms"]).value_or(INT64_MAX);
    const int64_t before =
        parse_long(out.values["message.timestamp.before.max.ms"]).value_or(INT64_MAX);
    const int64_t after =
        parse_long(out.values["message.timestamp.after.max.ms"]).value_or(INT64_MAX);
    // Kafka 3.6+: the deprecated difference bound applies to a side whose own bound is unset.
    out.message_timestamp_before_max_ms = before != INT64_MAX ? before : difference;
    out.message_timestamp_after_max_ms = after != INT64_MAX ? after : difference;
    return out;
}

std::vector<described_config> describe_topic_configs(const config_map& overrides,
                                                     const broker_config_view& broker) {
    const topic_config resolved = resolve_topic_config(overrides, broker);
    std::vector<described_config> out;
    out.reserve(defs().size());
    for (const topic_config_def& def : defs()) {
        described_config entry;
        entry.name = std::string(def.name);
        entry.value = resolved.values.at(entry.name);
        entry.type = def.type;
        entry.documentation = std::string(def.documentation);
        entry.source = config_source::default_config;
        const auto it = overrides.find(def.name);
        if (it != overrides.end()) {
            entry.synonyms.push_back(
                {entry.name, std::string(trim(it->second)), config_source::dynamic_topic_config});
        }
        for (std::string_view synonym : def.broker_synonyms) {
            for (auto& s : broker_key_synonyms(broker, synonym)) {
                entry.synonyms.push_back(std::move(s));
            }
        }
        if (def.broker_synonyms.empty()) {
            entry.synonyms.push_back(
                {entry.name, std::string(def.default_value), config_source::default_config});
        }
        // The entry's source is that of the synonym whose value it took.
        for (const auto& s : entry.synonyms) {
            if (s.source == config_source::dynamic_topic_config ||
                (s.value && to_topic_value(s.name, *s.value) == *entry.value)) {
                entry.source = s.source;
                break;
            }
        }
        out.push_back(std::move(entry));
    }
    return out;
}

bool is_dynamic_broker_config(std::string_view key) {
    for (const topic_config_def& def : defs()) {
        if (!def.broker_synonyms.empty() && def.broker_synonyms.front() == key) {
            return true;
        }
    }
    return false;
}

std::optional<std::string> validate_dynamic_broker_config(std::string_view key,
                                                          std::string_view value) {
    for (const topic_config_def& def : defs()) {
        if (!def.broker_synonyms.empty() && def.broker_synonyms.front() == key) {
            if (auto error = validate_topic_config(def.name, value)) {
                // Name the broker key in the message.
                return invalid(key, value, error->substr(error->find(": ") + 2));
            }
            return std::nullopt;
        }
    }
    if (find_config_key(key) != nullptr) {
        return "Cannot update these configs dynamically: [" + std::string(key) + "]";
    }
    return "Unknown broker config name: " + std::string(key);
}

std::vector<described_config> describe_broker_configs(const broker_config_view& broker,
                                                      bool only_dynamic_default) {
    std::vector<described_config> out;
    if (only_dynamic_default) {
        if (broker.dynamic_default != nullptr) {
            for (const auto& [key, value] : *broker.dynamic_default) {
                described_config entry;
                entry.name = key;
                entry.value = value;
                entry.source = config_source::dynamic_default_broker_config;
                entry.type = broker_key_type(key);
                entry.documentation = broker_key_documentation(key);
                entry.synonyms.push_back(
                    {key, value, config_source::dynamic_default_broker_config});
                out.push_back(std::move(entry));
            }
        }
        return out;
    }
    std::vector<std::string> keys;
    for (const config_key_info& info : config_keys()) {
        keys.emplace_back(info.name);
    }
    for (const topic_config_def& def : defs()) {
        for (std::string_view synonym : def.broker_synonyms) {
            if (std::find(keys.begin(), keys.end(), synonym) == keys.end()) {
                keys.emplace_back(synonym);
            }
        }
    }
    std::sort(keys.begin(), keys.end());
    for (const std::string& key : keys) {
        const auto v = broker_value(broker, key);
        if (!v) {
            continue;
        }
        described_config entry;
        entry.name = key;
        entry.value = v->value;
        entry.source = v->source;
        entry.read_only = !is_dynamic_broker_config(key);
        entry.type = broker_key_type(key);
        entry.documentation = broker_key_documentation(key);
        entry.synonyms = broker_key_synonyms(broker, key);
        out.push_back(std::move(entry));
    }
    return out;
}

std::optional<bool> broker_resource_is_default(std::string_view resource_name, int32_t broker_id,
                                               std::string& error) {
    if (resource_name.empty()) {
        return true;
    }
    const auto id = parse_long(resource_name);
    if (!id || trim(resource_name) != resource_name) {
        error = "Broker id must be an integer, but it is: " + std::string(resource_name);
        return std::nullopt;
    }
    if (*id != broker_id) {
        error = "Unexpected broker id, expected " + std::to_string(broker_id) +
                " or empty string, but received " + std::string(resource_name);
        return std::nullopt;
    }
    return false;
}

}  // namespace broker::server
