#include "server/config.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>
#include <thread>

#include "common/strings.h"

namespace broker::server {
namespace {

// ---------------------------------------------------------------------------------------------
// Properties text

bool is_properties_space(char c) {
    return c == ' ' || c == '\t' || c == '\f';
}

bool is_line_end(char c) {
    return c == '\n' || c == '\r';
}

void append_utf8(std::string& out, uint32_t code_point) {
    if (code_point < 0x80) {
        out.push_back(static_cast<char>(code_point));
    } else if (code_point < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (code_point >> 6)));
        out.push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
    } else if (code_point < 0x10000) {
        out.push_back(static_cast<char>(0xE0 | (code_point >> 12)));
        out.push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
    } else {
        out.push_back(static_cast<char>(0xF0 | (code_point >> 18)));
        out.push_back(static_cast<char>(0x80 | ((code_point >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
    }
}

// Resolves escapes in one key or value. `\uXXXX` yields a UTF-16 code unit, as in Java; a high
// surrogate followed by a low one becomes one code point, a lone surrogate becomes U+FFFD.
std::string unescape(std::string_view raw, int line) {
    std::string out;
    out.reserve(raw.size());
    uint32_t pending_high_surrogate = 0;
    const auto flush_surrogate = [&] {
        if (pending_high_surrogate != 0) {
            append_utf8(out, 0xFFFD);
            pending_high_surrogate = 0;
        }
    };
    for (size_t i = 0; i < raw.size(); ++i) {
        const char c = raw[i];
        if (c != '\\' || i + 1 == raw.size()) {
            flush_surrogate();
            out.push_back(c);
            continue;
        }
        const char e = raw[++i];
        if (e != 'u') {
            flush_surrogate();
        }
        switch (e) {
            case 't': out.push_back('\t'); break;
            case 'n': out.push_back('\n'); break;
            case 'r': out.push_back('\r'); break;
            case 'f': out.push_back('\f'); break;
            case 'u': {
                if (raw.size() - (i + 1) < 4) {
                    throw config_error("line " + std::to_string(line) +
                                       ": malformed \\uxxxx escape");
                }
                uint32_t unit = 0;
                for (size_t k = 1; k <= 4; ++k) {
                    const char h = raw[i + k];
                    unit <<= 4;
                    if (h >= '0' && h <= '9') {
                        unit |= static_cast<uint32_t>(h - '0');
                    } else if (h >= 'a' && h <= 'f') {
                        unit |= static_cast<uint32_t>(h - 'a' + 10);
                    } else if (h >= 'A' && h <= 'F') {
                        unit |= static_cast<uint32_t>(h - 'A' + 10);
                    } else {
                        throw config_error("line " + std::to_string(line) +
                                           ": malformed \\uxxxx escape");
                    }
                }
                i += 4;
                if (unit >= 0xD800 && unit <= 0xDBFF) {
                    flush_surrogate();
                    pending_high_surrogate = unit;
                } else if (unit >= 0xDC00 && unit <= 0xDFFF) {
                    if (pending_high_surrogate != 0) {
                        append_utf8(out, 0x10000 + ((pending_high_surrogate - 0xD800) << 10) +
                                             (unit - 0xDC00));
                        pending_high_surrogate = 0;
                    } else {
                        append_utf8(out, 0xFFFD);
                    }
                } else {
                    flush_surrogate();
                    append_utf8(out, unit);
                }
                break;
            }
            default: out.push_back(e); break;
        }
    }
    flush_surrogate();
    return out;
}

// Splits one logical line (escapes still in place) into key and value, as Java's Properties does:
// the key ends at the first unescaped '=', ':' or whitespace; then whitespace and at most one
// separator are skipped.
property split_entry(std::string_view logical, int line) {
    size_t key_end = 0;
    bool has_separator = false;
    bool escaped = false;
    while (key_end < logical.size()) {
        const char c = logical[key_end];
        if (!escaped && (c == '=' || c == ':')) {
            has_separator = true;
            break;
        }
        if (!escaped && is_properties_space(c)) {
            break;
        }
        escaped = (c == '\\') ? !escaped : false;
        ++key_end;
    }
    size_t value_start = key_end + (has_separator ? 1 : 0);
    while (value_start < logical.size()) {
        const char c = logical[value_start];
        if (!is_properties_space(c)) {
            if (!has_separator && (c == '=' || c == ':')) {
                has_separator = true;
            } else {
                break;
            }
        }
        ++value_start;
    }
    property entry;
    entry.key = std::string(trim(unescape(logical.substr(0, key_end), line)));
    entry.value =
        std::string(trim(unescape(logical.substr(std::min(value_start, logical.size())), line)));
    entry.line = line;
    return entry;
}

// ---------------------------------------------------------------------------------------------
// Typed values

[[noreturn]] void invalid(std::string_view key, std::string_view value, std::string_view reason) {
    throw config_error("Invalid value '" + std::string(value) + "' for configuration " +
                       std::string(key) + ": " + std::string(reason));
}

template <typename Int>
Int parse_integer(std::string_view key, std::string_view text,
                  Int min = std::numeric_limits<Int>::min(),
                  Int max = std::numeric_limits<Int>::max()) {
    std::string_view digits = trim(text);
    if (!digits.empty() && digits.front() == '+') {
        digits.remove_prefix(1);
        if (!digits.empty() && digits.front() == '-') {
            invalid(key, text, "not a number");
        }
    }
    int64_t parsed = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), parsed);
    if (digits.empty() || ec == std::errc::invalid_argument ||
        end != digits.data() + digits.size()) {
        invalid(key, text, "not a number");
    }
    if (ec == std::errc::result_out_of_range ||
        parsed < static_cast<int64_t>(std::numeric_limits<Int>::min()) ||
        parsed > static_cast<int64_t>(std::numeric_limits<Int>::max())) {
        invalid(key, text, "out of range for its type");
    }
    if (parsed < static_cast<int64_t>(min)) {
        invalid(key, text, "value must be at least " + std::to_string(min));
    }
    if (parsed > static_cast<int64_t>(max)) {
        invalid(key, text, "value must be no more than " + std::to_string(max));
    }
    return static_cast<Int>(parsed);
}

bool parse_bool(std::string_view key, std::string_view text) {
    const std::string lower = to_lower(trim(text));
    if (lower == "true") {
        return true;
    }
    if (lower == "false") {
        return false;
    }
    invalid(key, text, "expected true or false");
}

double parse_double(std::string_view key, std::string_view text, double min, double max) {
    const std::string value(trim(text));
    if (value.empty()) {
        invalid(key, text, "not a number");
    }
    char* end = nullptr;
    errno = 0;
    const double parsed = std::strtod(value.c_str(), &end);
    if (end != value.c_str() + value.size() || errno == ERANGE || !std::isfinite(parsed)) {
        invalid(key, text, "not a number");
    }
    if (parsed < min || parsed > max) {
        invalid(key, text,
                "value must be between " + std::to_string(min) + " and " + std::to_string(max));
    }
    return parsed;
}

std::string parse_choice(std::string_view key, std::string_view text,
                         std::initializer_list<std::string_view> choices) {
    const std::string_view value = trim(text);
    for (std::string_view choice : choices) {
        if (value == choice) {
            return std::string(value);
        }
    }
    invalid(key, text, "must be one of " + join(choices, ", "));
}

// Parses `host:port`, `[v6]:port` or `:port`.
bool split_host_port(std::string_view text, std::string& host, uint16_t& port) {
    size_t colon;
    if (!text.empty() && text.front() == '[') {
        const size_t close = text.find(']');
        if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
            return false;
        }
        host = std::string(text.substr(1, close - 1));
        colon = close + 1;
    } else {
        colon = text.rfind(':');
        if (colon == std::string_view::npos) {
            return false;
        }
        host = std::string(text.substr(0, colon));
        if (host.find(':') != std::string::npos) {
            return false;  // IPv6 literals must be bracketed
        }
    }
    const std::string_view digits = text.substr(colon + 1);
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (digits.empty() || ec != std::errc{} || end != digits.data() + digits.size() ||
        value > 65535) {
        return false;
    }
    port = static_cast<uint16_t>(value);
    return true;
}

bool valid_listener_name(std::string_view name) {
    return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '-' || c == '.';
    });
}

// ---------------------------------------------------------------------------------------------
// The key table

// State while applying entries: the config plus settings whose meaning depends on other keys.
struct config_builder {
    broker_config config;
    std::optional<std::vector<std::string>> log_dirs;
    std::vector<std::string> log_dir{"./data"};
};

using apply_fn = void (*)(config_builder&, std::string_view key, std::string_view value);

struct key_def {
    config_key_info info;
    apply_fn apply;
};

constexpr int32_t int32_max = std::numeric_limits<int32_t>::max();

// Shorthands for the table below.
#define BROKER_KEY(name, type, def, kafka_def, ours, compat, doc, ...)                     \
    key_def {                                                                              \
        config_key_info{name, config_type::type, def, kafka_def, ours, compat, doc},       \
            [](config_builder& b, std::string_view k, std::string_view v) { __VA_ARGS__; } \
    }

const std::vector<key_def>& key_table() {
    static const std::vector<key_def> table = {
        // ---- broker identity and listeners
        BROKER_KEY("broker.id", int32, "0", "-1", false, false,
                   "Id of this broker in the cluster. Must be >= 0: automatic id generation (-1) is "
                   "not supported; a single-node broker defaults to 0.",
                   b.config.broker_id = parse_integer<int32_t>(k, v, 0)),
        BROKER_KEY("listeners", list, "PLAINTEXT://127.0.0.1:9092", "PLAINTEXT://:9092", false,
                   false,
                   "Comma-separated NAME://host:port addresses to accept clients on. An empty host "
                   "binds every interface and port 0 picks a free port. The default binds loopback "
                   "only, where Kafka binds every interface.",
                   b.config.listeners = parse_listener_list(v, k)),
        BROKER_KEY("advertised.listeners", list, "null", "", false, false,
                   "Addresses given to clients in Metadata, by listener name. Unset: the "
                   "listeners themselves (an empty host becomes the local host name, port 0 the "
                   "bound port).",
                   b.config.advertised_listeners = parse_listener_list(v, k)),
        BROKER_KEY("listener.security.protocol.map", list,
                   "PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL", "",
                   false, false,
                   "NAME:PROTOCOL pairs mapping listener names to security protocols. Only "
                   "PLAINTEXT listeners are supported.",
                   {
                       std::map<std::string, std::string> map;
                       for (const std::string& item : split_list(v)) {
                           const size_t colon = item.find(':');
                           if (colon == std::string::npos || colon == 0 ||
                               colon + 1 == item.size()) {
                               invalid(k, v, "entries must be NAME:PROTOCOL");
                           }
                           map[std::string(trim(item.substr(0, colon)))] =
                               std::string(trim(item.substr(colon + 1)));
                       }
                       b.config.listener_security_protocol_map = std::move(map);
                   }),
        BROKER_KEY("zookeeper.connect", string, "", "null", false, false,
                   "ZooKeeper connection string (host:port[,host:port...][/chroot]). Empty runs a "
                   "single-node broker with no ZooKeeper.",
                   b.config.zookeeper_connect = std::string(trim(v))),
        BROKER_KEY("zookeeper.session.timeout.ms", int32, "18000", "", false, false,
                   "ZooKeeper session timeout.",
                   b.config.zookeeper_session_timeout_ms = parse_integer<int32_t>(k, v, 1)),
        BROKER_KEY("zookeeper.connection.timeout.ms", int32, "null", "", false, false,
                   "Time to wait for the ZooKeeper connection; unset means the session timeout.",
                   b.config.zookeeper_connection_timeout_ms = parse_integer<int32_t>(k, v, 1)),
        BROKER_KEY("zookeeper.set.acl", boolean, "false", "", false, false,
                   "Whether the broker sets ACLs on the znodes it creates. Only false is accepted: "
                   "secure ACLs need an authenticated ZooKeeper session, which this broker does not "
                   "open.",
                   {
                       if (parse_bool(k, v)) {
                           invalid(k, v,
                                   "secure znode ACLs need ZooKeeper authentication (SASL), which "
                                   "this broker does not support");
                       }
                   }),
        BROKER_KEY("broker.rack", string, "null", "", false, false,
                   "Rack of this broker, used by rack-aware replica placement and listed in "
                   "Metadata.",
                   b.config.broker_rack = std::string(trim(v))),
        BROKER_KEY("inter.broker.listener.name", string, "null", "", false, false,
                   "Listener other brokers (the controller) connect to. Unset: the listener whose "
                   "security protocol is security.inter.broker.protocol.",
                   b.config.inter_broker_listener_name = std::string(trim(v))),
        BROKER_KEY("security.inter.broker.protocol", string, "PLAINTEXT", "", false, false,
                   "Security protocol between brokers. Only PLAINTEXT is supported.",
                   {
                       if (trim(v) != "PLAINTEXT") {
                           invalid(k, v, "only PLAINTEXT is supported");
                       }
                   }),
        BROKER_KEY("controller.socket.timeout.ms", int32, "30000", "", false, false,
                   "Time the controller waits for a broker to answer one of its requests before it "
                   "reconnects and sends it again.",
                   b.config.controller_socket_timeout_ms = parse_integer<int32_t>(k, v, 1)),
        BROKER_KEY("unclean.leader.election.enable", boolean, "false", "", false, false,
                   "Whether a replica outside the in-sync set may become leader when no in-sync "
                   "replica is live, at the price of lost records (the topic config overrides it).",
                   b.config.unclean_leader_election_enable = parse_bool(k, v)),
        BROKER_KEY("auto.leader.rebalance.enable", boolean, "true", "", false, false,
                   "Whether the controller moves leadership back to preferred replicas when a "
                   "broker's imbalance passes leader.imbalance.per.broker.percentage.",
                   b.config.auto_leader_rebalance_enable = parse_bool(k, v)),
        BROKER_KEY("leader.imbalance.per.broker.percentage", int32, "10", "", false, false,
                   "Share of a broker's preferred partitions led elsewhere (percent) above which "
                   "the controller rebalances leadership.",
                   b.config.leader_imbalance_per_broker_percentage =
                       parse_integer<int32_t>(k, v, 0)),
        BROKER_KEY("leader.imbalance.check.interval.seconds", int64, "300", "", false, false,
                   "How often the controller checks the leader imbalance.",
                   b.config.leader_imbalance_check_interval_seconds =
                       parse_integer<int64_t>(k, v, 1)),

        // ---- log directories and segments
        BROKER_KEY("log.dirs", list, "null", "", false, false,
                   "Comma-separated data directories. When set it replaces log.dir.",
                   {
                       auto dirs = split_list(v);
                       if (dirs.empty()) {
                           invalid(k, v, "at least one directory is required");
                       }
                       b.log_dirs = std::move(dirs);
                   }),
        BROKER_KEY("log.dir", string, "./data", "/tmp/kafka-logs", false, false,
                   "Data directory used when log.dirs is unset. Relative paths are relative to the "
                   "working directory.",
                   {
                       auto dirs = split_list(v);
                       if (dirs.empty()) {
                           invalid(k, v, "a directory is required");
                       }
                       b.log_dir = std::move(dirs);
                   }),
        BROKER_KEY("num.partitions", int32, "1", "", false, false,
                   "Partition count of automatically created topics.",
                   b.config.num_partitions = parse_integer<int32_t>(k, v, 1)),
        BROKER_KEY("default.replication.factor", int16, "1", "", false, false,
                   "Replication factor of automatically created topics.",
                   b.config.default_replication_factor = parse_integer<int16_t>(k, v, 1)),
        BROKER_KEY("auto.create.topics.enable", boolean, "true", "", false, false,
                   "Create a topic when a client asks for metadata of (or produces to) a topic "
                   "that does not exist.",
                   b.config.auto_create_topics_enable = parse_bool(k, v)),
        BROKER_KEY("delete.topic.enable", boolean, "true", "", false, false,
                   "Allow DeleteTopics to delete topics.",
                   b.config.delete_topic_enable = parse_bool(k, v)),
        BROKER_KEY("log.segment.bytes", int32, "1073741824", "", false, false,
                   "Size at which a segment is closed and a new one started.",
                   b.config.log_segment_bytes = parse_integer<int32_t>(k, v, 14)),
        BROKER_KEY("log.roll.hours", int32, "168", "", false, false,
                   "Age after which a new segment is started even if the active one is not full.",
                   b.config.log_roll_hours = parse_integer<int32_t>(k, v, 1)),
        BROKER_KEY("log.roll.ms", int64, "null", "", false, false,
                   "Like log.roll.hours in milliseconds; takes precedence when set.",
                   b.config.log_roll_ms = parse_integer<int64_t>(k, v, 1)),
        BROKER_KEY("log.roll.jitter.hours", int32, "0", "", false, false,
                   "Maximum random amount subtracted from the roll time, to spread rolls.",
                   b.config.log_roll_jitter_hours = parse_integer<int32_t>(k, v, 0)),
        BROKER_KEY("log.roll.jitter.ms", int64, "null", "", false, false,
                   "Like log.roll.jitter.hours in milliseconds; takes precedence when set.",
                   b.config.log_roll_jitter_ms = parse_integer<int64_t>(k, v, 0)),
        BROKER_KEY("log.index.interval.bytes", int32, "4096", "", false, false,
                   "Log bytes between two offset-index entries.",
                   b.config.log_index_interval_bytes = parse_integer<int32_t>(k, v, 0)),
        BROKER_KEY("log.index.size.max.bytes", int32, "10485760", "", false, false,
                   "Maximum size of an offset or time index file; a full index rolls the segment.",
                   b.config.log_index_size_max_bytes = parse_integer<int32_t>(k, v, 4)),
        BROKER_KEY("log.segment.delete.delay.ms", int64, "60000", "", false, false,
                   "Delay between marking a segment deleted and removing its files.",
                   b.config.log_segment_delete_delay_ms = parse_integer<int64_t>(k, v, 0)),
        BROKER_KEY("num.recovery.threads.per.data.dir", int32, "1", "", false, false,
                   "Threads per data directory that recover logs at startup.",
                   b.config.num_recovery_threads_per_data_dir = parse_integer<int32_t>(k, v, 1)),

        // ---- retention and cleaning
        BROKER_KEY("log.retention.hours", int32, "168", "", false, false,
                   "Age after which a closed segment is deleted. Negative keeps data forever.",
                   b.config.log_retention_hours = parse_integer<int32_t>(k, v)),
        BROKER_KEY("log.retention.minutes", int32, "null", "", false, false,
                   "Like log.retention.hours in minutes; takes precedence when set.",
                   b.config.log_retention_minutes = parse_integer<int32_t>(k, v)),
        BROKER_KEY("log.retention.ms", int64, "null", "", false, false,
                   "Like log.retention.hours in milliseconds; takes precedence over both.",
                   b.config.log_retention_ms = parse_integer<int64_t>(k, v)),
        BROKER_KEY("log.retention.bytes", int64, "-1", "", false, false,
                   "Partition size above which the oldest segments are deleted; -1 = no limit.",
                   b.config.log_retention_bytes = parse_integer<int64_t>(k, v)),
        BROKER_KEY("log.retention.check.interval.ms", int64, "300000", "", false, false,
                   "How often segments are checked against the retention limits.",
                   b.config.log_retention_check_interval_ms = parse_integer<int64_t>(k, v, 1)),
        BROKER_KEY("log.cleanup.policy", list, "delete", "", false, false,
                   "Default cleanup policy of topics: delete, compact, or both.",
                   {
                       auto items = split_list(v);
                       if (items.empty()) {
                           invalid(k, v, "at least one of delete, compact is required");
                       }
                       for (const std::string& item : items) {
                           if (item != "delete" && item != "compact") {
                               invalid(k, v, "entries must be delete or compact");
                           }
                       }
                       b.config.log_cleanup_policy = std::move(items);
                   }),
        BROKER_KEY("log.cleaner.enable", boolean, "true", "", false, false,
                   "Run the log cleaner for compacted topics.",
                   b.config.log_cleaner_enable = parse_bool(k, v)),
        BROKER_KEY("log.cleaner.delete.retention.ms", int64, "86400000", "", false, false,
                   "How long tombstones are kept in compacted topics.",
                   b.config.log_cleaner_delete_retention_ms = parse_integer<int64_t>(k, v, 0)),
        BROKER_KEY("log.cleaner.min.compaction.lag.ms", int64, "0", "", false, false,
                   "Minimum age of a record before it may be compacted.",
                   b.config.log_cleaner_min_compaction_lag_ms = parse_integer<int64_t>(k, v, 0)),
        BROKER_KEY("log.cleaner.min.cleanable.ratio", double_, "0.5", "", false, false,
                   "Minimum dirty/total ratio for a compacted log to be cleaned.",
                   b.config.log_cleaner_min_cleanable_ratio = parse_double(k, v, 0.0, 1.0)),

        // ---- flushing and records
        BROKER_KEY("log.flush.interval.messages", int64, "9223372036854775807", "", false, false,
                   "Messages appended to a partition before it is fsynced.",
                   b.config.log_flush_interval_messages = parse_integer<int64_t>(k, v, 1)),
        BROKER_KEY("log.flush.interval.ms", int64, "null", "", false, false,
                   "Maximum time a message stays unflushed; unset means "
                   "log.flush.scheduler.interval.ms.",
                   b.config.log_flush_interval_ms = parse_integer<int64_t>(k, v, 0)),
        BROKER_KEY("log.flush.scheduler.interval.ms", int64, "9223372036854775807", "", false,
                   false, "How often the flusher checks whether a log needs an fsync.",
                   b.config.log_flush_scheduler_interval_ms = parse_integer<int64_t>(k, v)),
        BROKER_KEY("log.flush.offset.checkpoint.interval.ms", int32, "60000", "", false, false,
                   "How often the recovery-point, log-start, cleaner and high-watermark "
                   "checkpoint files are rewritten.",
                   b.config.log_flush_offset_checkpoint_interval_ms =
                       parse_integer<int32_t>(k, v, 0)),
        BROKER_KEY("log.message.timestamp.type", string, "CreateTime", "", false, false,
                   "CreateTime keeps the producer's timestamps; LogAppendTime stamps records "
                   "with the broker's clock.",
                   b.config.log_message_timestamp_type =
                       parse_choice(k, v, {"CreateTime", "LogAppendTime"})),
        BROKER_KEY("message.max.bytes", int32, "1048588", "", false, false,
                   "Largest record batch a topic accepts by default.",
                   b.config.message_max_bytes = parse_integer<int32_t>(k, v, 0)),
        BROKER_KEY("min.insync.replicas", int32, "1", "", false, false,
                   "Replicas that must acknowledge an acks=all write.",
                   b.config.min_insync_replicas = parse_integer<int32_t>(k, v, 1)),
        BROKER_KEY("compression.type", string, "producer", "", false, false,
                   "Final compression of stored batches: producer keeps the producer's codec.",
                   b.config.compression_type = parse_choice(
                       k, v, {"uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"})),
        BROKER_KEY("compression.gzip.level", int32, "-1", "", false, false,
                   "zlib level (1-9) of batches the broker compresses with gzip; -1 = zlib's "
                   "default (6).",
                   {
                       const int32_t level = parse_integer<int32_t>(k, v, -1, 9);
                       if (level == 0) {
                           invalid(k, v, "value must be between 1 and 9 or equal to -1");
                       }
                       b.config.compression_gzip_level = level;
                   }),
        BROKER_KEY("compression.lz4.level", int32, "9", "", false, false,
                   "Level (1-17) of batches the broker compresses with lz4; 9 uses lz4's fast "
                   "mode, any other level LZ4 HC.",
                   b.config.compression_lz4_level = parse_integer<int32_t>(k, v, 1, 17)),
        BROKER_KEY("compression.zstd.level", int32, "3", "", false, false,
                   "Level (-131072 to 22) of batches the broker compresses with zstd; negative "
                   "levels trade ratio for speed.",
                   b.config.compression_zstd_level = parse_integer<int32_t>(k, v, -131072, 22)),
        BROKER_KEY("fetch.max.bytes", int32, "57671680", "", false, false,
                   "Most record bytes one Fetch response carries (the request's max_bytes is "
                   "capped by it); the first batch is still returned whole when larger.",
                   b.config.fetch_max_bytes = parse_integer<int32_t>(k, v, 1024)),
        BROKER_KEY("max.incremental.fetch.session.cache.slots", int32, "1000", "", false, false,
                   "Fetch sessions (KIP-227) the broker keeps; 0 disables incremental fetches.",
                   b.config.max_incremental_fetch_session_cache_slots =
                       parse_integer<int32_t>(k, v, 0)),

        // ---- network
        BROKER_KEY("socket.request.max.bytes", int32, "104857600", "", false, false,
                   "Largest request frame accepted; a larger size prefix closes the connection "
                   "before the body is read.",
                   b.config.socket_request_max_bytes = parse_integer<int32_t>(k, v, 1)),
        BROKER_KEY("socket.send.buffer.bytes", int32, "102400", "", false, false,
                   "SO_SNDBUF of client sockets; -1 keeps the OS default.",
                   b.config.socket_send_buffer_bytes = parse_integer<int32_t>(k, v, -1)),
        BROKER_KEY("socket.receive.buffer.bytes", int32, "102400", "", false, false,
                   "SO_RCVBUF of client sockets; -1 keeps the OS default.",
                   b.config.socket_receive_buffer_bytes = parse_integer<int32_t>(k, v, -1)),
        BROKER_KEY("queued.max.request.bytes", int64, "-1", "", false, false,
                   "Request bytes the broker holds read but not yet answered; reading pauses at "
                   "the limit. -1 means max(256 MiB, socket.request.max.bytes) here (no bound in "
                   "Kafka). Frames of at most 8 KiB never wait for it.",
                   b.config.queued_max_request_bytes = parse_integer<int64_t>(k, v)),
        BROKER_KEY("max.connections", int32, "2147483647", "", false, false,
                   "Connections the broker accepts at once; further ones wait in the backlog.",
                   b.config.max_connections = parse_integer<int32_t>(k, v, 0)),
        BROKER_KEY("max.connections.per.ip", int32, "2147483647", "", false, false,
                   "Connections allowed from one address; extra ones are closed at once.",
                   b.config.max_connections_per_ip = parse_integer<int32_t>(k, v, 1)),
        BROKER_KEY("connections.max.idle.ms", int64, "600000", "", false, false,
                   "A connection with no request in progress and no bytes moved for this long is "
                   "closed. A value <= 0 disables the check.",
                   b.config.connections_max_idle_ms = parse_integer<int64_t>(k, v)),
        BROKER_KEY("num.network.threads", int32, "3", "", false, true,
                   "Accepted and validated; threads are set with num.shards.",
                   b.config.num_network_threads = parse_integer<int32_t>(k, v, 1)),
        BROKER_KEY("num.io.threads", int32, "8", "", false, true,
                   "Accepted and validated; threads are set with num.shards.",
                   b.config.num_io_threads = parse_integer<int32_t>(k, v, 1)),
        BROKER_KEY("background.threads", int32, "10", "", false, false,
                   "Threads of the pool that runs blocking work (fsync, directory scans) off the "
                   "shards.",
                   b.config.background_threads = parse_integer<int32_t>(k, v, 1)),

        // ---- groups and offsets
        BROKER_KEY("offsets.topic.num.partitions", int32, "50", "", false, false,
                   "Partitions of the __consumer_offsets topic.",
                   b.config.offsets_topic_num_partitions = parse_integer<int32_t>(k, v, 1)),
        BROKER_KEY("offsets.topic.replication.factor", int16, "1", "3", false, false,
                   "Replication factor of the __consumer_offsets topic. Unset: 1 on a single node, "
                   "Kafka's 3 in a cluster (until that many brokers are up, FindCoordinator answers "
                   "COORDINATOR_NOT_AVAILABLE).",
                   b.config.offsets_topic_replication_factor = parse_integer<int16_t>(k, v, 1)),
        BROKER_KEY("offsets.topic.segment.bytes", int32, "104857600", "", false, false,
                   "Segment size of the __consumer_offsets topic.",
                   b.config.offsets_topic_segment_bytes = parse_integer<int32_t>(k, v, 1)),
        BROKER_KEY("offsets.retention.minutes", int32, "10080", "", false, false,
                   "How long committed offsets of an empty group are kept.",
                   b.config.offsets_retention_minutes = parse_integer<int32_t>(k, v, 1)),
        BROKER_KEY("offsets.retention.check.interval.ms", int64, "600000", "", false, false,
                   "How often expired offsets are removed.",
                   b.config.offsets_retention_check_interval_ms = parse_integer<int64_t>(k, v, 1)),
        BROKER_KEY("offset.metadata.max.bytes", int32, "4096", "", false, false,
                   "Largest metadata string an offset commit may carry (in UTF-16 code units, as "
                   "Kafka counts it).",
                   b.config.offset_metadata_max_bytes = parse_integer<int32_t>(k, v)),
        BROKER_KEY("group.initial.rebalance.delay.ms", int32, "3000", "", false, false,
                   "Time a new group waits for more members before its first rebalance.",
                   b.config.group_initial_rebalance_delay_ms = parse_integer<int32_t>(k, v)),
        BROKER_KEY("group.min.session.timeout.ms", int32, "6000", "", false, false,
                   "Smallest session timeout a group member may ask for.",
                   b.config.group_min_session_timeout_ms = parse_integer<int32_t>(k, v)),
        BROKER_KEY("group.max.session.timeout.ms", int32, "1800000", "", false, false,
                   "Largest session timeout a group member may ask for.",
                   b.config.group_max_session_timeout_ms = parse_integer<int32_t>(k, v)),
        BROKER_KEY("group.max.size", int32, "2147483647", "", false, false,
                   "Maximum number of members in one group.",
                   b.config.group_max_size = parse_integer<int32_t>(k, v, 1)),
        BROKER_KEY("transaction.state.log.num.partitions", int32, "50", "", false, false,
                   "Partitions of the __transaction_state topic.",
                   b.config.transaction_state_log_num_partitions = parse_integer<int32_t>(k, v, 1)),
        BROKER_KEY("transaction.state.log.replication.factor", int16, "1", "3", false, false,
                   "Replication factor of the __transaction_state topic.",
                   b.config.transaction_state_log_replication_factor =
                       parse_integer<int16_t>(k, v, 1)),
        BROKER_KEY("transaction.state.log.min.isr", int32, "1", "2", false, false,
                   "min.insync.replicas of the __transaction_state topic.",
                   b.config.transaction_state_log_min_isr = parse_integer<int32_t>(k, v, 1)),
        BROKER_KEY("producer.id.expiration.ms", int32, "86400000", "", false, false,
                   "Time after its last write that a partition forgets an idempotent producer's "
                   "sequence state.",
                   b.config.producer_id_expiration_ms = parse_integer<int32_t>(k, v, 1)),
        BROKER_KEY("producer.id.expiration.check.interval.ms", int32, "600000", "", false, false,
                   "How often a partition looks for expired producer ids (checked on writes).",
                   b.config.producer_id_expiration_check_interval_ms = parse_integer<int32_t>(k, v, 1)),

        // ---- this broker's own keys
        BROKER_KEY("num.shards", int32, "0", "", true, false,
                   "Number of shards (one event-loop thread each). 0 = one per hardware thread, "
                   "capped at 64.",
                   b.config.num_shards = parse_integer<int32_t>(k, v, 0, 1024)),
        BROKER_KEY("http.listeners", list, "http://127.0.0.1:9644", "", true, false,
                   "Admin and metrics HTTP endpoints, written http://host:port (docs/"
                   "observability.md); empty disables them.",
                   {
                       std::vector<listener_endpoint> endpoints;
                       for (const std::string& item : split_list(v)) {
                           constexpr std::string_view scheme = "http://";
                           listener_endpoint e;
                           e.name = "http";
                           if (item.size() <= scheme.size() ||
                               !std::equal(scheme.begin(), scheme.end(), item.begin(),
                                           [](char a, char b) {
                                               const char lower =
                                                   (b >= 'A' && b <= 'Z') ? static_cast<char>(b - 'A' + 'a') : b;
                                               return a == lower;
                                           }) ||
                               !split_host_port(std::string_view(item).substr(scheme.size()), e.host,
                                                e.port)) {
                               invalid(k, item, "expected http://host:port");
                           }
                           endpoints.push_back(std::move(e));
                       }
                       b.config.http_listeners = std::move(endpoints);
                   }),
        BROKER_KEY("logger.level", string, "info", "", true, false,
                   "Threshold of the broker's stderr log: debug, info, warn, error or off.",
                   {
                       const auto level = parse_log_level(trim(v));
                       if (!level) {
                           invalid(k, v, "must be one of debug, info, warn, error, off");
                       }
                       b.config.logger_level = *level;
                   }),
        BROKER_KEY("log.dir.min.free.bytes", int64, "16777216", "", true, false,
                   "Free bytes a log dir's filesystem must keep: a produce append that would leave "
                   "less is refused with KAFKA_STORAGE_ERROR until space is freed. 0 = write until "
                   "the filesystem itself is full.",
                   b.config.log_dir_min_free_bytes = parse_integer<int64_t>(k, v, 0)),
    };
    return table;
}

#undef BROKER_KEY

const key_def* find_key_def(std::string_view name) {
    for (const key_def& def : key_table()) {
        if (def.info.name == name) {
            return &def;
        }
    }
    return nullptr;
}

void check_listeners(const broker_config& c) {
    if (c.listeners.empty()) {
        throw config_error("Configuration listeners must name at least one listener");
    }
    std::vector<uint16_t> ports;
    for (const listener_endpoint& l : c.listeners) {
        const auto protocol = c.listener_security_protocol_map.find(l.name);
        if (protocol == c.listener_security_protocol_map.end()) {
            throw config_error("No security protocol defined for listener " + l.name +
                               " (see listener.security.protocol.map)");
        }
        if (protocol->second != "PLAINTEXT") {
            throw config_error("Listener " + l.name + " uses security protocol " +
                               protocol->second +
                               ", which this broker does not support (only "
                               "PLAINTEXT)");
        }
        if (l.port != 0) {
            if (std::find(ports.begin(), ports.end(), l.port) != ports.end()) {
                throw config_error("Configuration listeners uses port " + std::to_string(l.port) +
                                   " more than once");
            }
            ports.push_back(l.port);
        }
    }
    const bool explicit_advertised = !c.advertised_listeners.empty();
    for (const listener_endpoint& a : c.effective_advertised_listeners()) {
        const bool known =
            std::any_of(c.listeners.begin(), c.listeners.end(),
                        [&](const listener_endpoint& l) { return l.name == a.name; });
        if (!known) {
            throw config_error("advertised.listeners names listener " + a.name +
                               ", which is not in listeners");
        }
        if (a.host == "0.0.0.0" || a.host == "::") {
            throw config_error(std::string(explicit_advertised ? "advertised.listeners"
                                                               : "listeners (advertised "
                                                                 "when advertised."
                                                                 "listeners is unset)") +
                               " cannot advertise the non-routable address " + a.host +
                               "; set advertised.listeners to a routable address");
        }
    }
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Public functions

std::vector<property> parse_properties(std::string_view text) {
    std::vector<property> entries;
    size_t pos = 0;
    int line = 1;
    while (pos < text.size()) {
        // Start of a natural line: skip leading whitespace.
        while (pos < text.size() && is_properties_space(text[pos])) {
            ++pos;
        }
        if (pos >= text.size()) {
            break;
        }
        if (is_line_end(text[pos])) {
            if (text[pos] == '\r' && pos + 1 < text.size() && text[pos + 1] == '\n') {
                ++pos;
            }
            ++pos;
            ++line;
            continue;
        }
        if (text[pos] == '#' || text[pos] == '!') {
            // Comment lines are never continued, even when they end with a backslash.
            while (pos < text.size() && !is_line_end(text[pos])) {
                ++pos;
            }
            continue;
        }
        const int start_line = line;
        std::string logical;
        while (true) {
            const size_t begin = pos;
            while (pos < text.size() && !is_line_end(text[pos])) {
                ++pos;
            }
            std::string_view natural = text.substr(begin, pos - begin);
            size_t backslashes = 0;
            while (backslashes < natural.size() &&
                   natural[natural.size() - 1 - backslashes] == '\\') {
                ++backslashes;
            }
            const bool continued = backslashes % 2 == 1;
            if (continued) {
                natural.remove_suffix(1);
            }
            logical.append(natural);
            // Consume the line terminator.
            if (pos < text.size()) {
                if (text[pos] == '\r' && pos + 1 < text.size() && text[pos + 1] == '\n') {
                    ++pos;
                }
                ++pos;
                ++line;
            }
            if (!continued || pos >= text.size()) {
                break;
            }
            // A continuation line drops its leading whitespace.
            while (pos < text.size() && is_properties_space(text[pos])) {
                ++pos;
            }
        }
        entries.push_back(split_entry(logical, start_line));
    }
    return entries;
}

std::vector<property> read_properties_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw config_error("Cannot read configuration file " + path);
    }
    std::ostringstream buffer;
    buffer << in.rdbuf();
    if (in.bad()) {
        throw config_error("Cannot read configuration file " + path);
    }
    try {
        return parse_properties(buffer.str());
    } catch (const config_error& e) {
        throw config_error(path + ": " + e.what());
    }
}

std::vector<listener_endpoint> parse_listener_list(std::string_view text, std::string_view key) {
    std::vector<listener_endpoint> result;
    for (const std::string& item : split_list(text)) {
        const size_t scheme_end = item.find("://");
        if (scheme_end == std::string::npos) {
            invalid(key, item, "listeners are written NAME://host:port");
        }
        listener_endpoint endpoint;
        endpoint.name = item.substr(0, scheme_end);
        if (!valid_listener_name(endpoint.name)) {
            invalid(key, item, "bad listener name");
        }
        if (!split_host_port(std::string_view(item).substr(scheme_end + 3), endpoint.host,
                             endpoint.port)) {
            invalid(key, item, "listeners are written NAME://host:port");
        }
        for (const listener_endpoint& other : result) {
            if (other.name == endpoint.name) {
                invalid(key, text, "listener name " + endpoint.name + " appears more than once");
            }
        }
        result.push_back(std::move(endpoint));
    }
    return result;
}

int64_t broker_config::effective_log_retention_ms() const {
    int64_t ms;
    if (log_retention_ms) {
        ms = *log_retention_ms;
    } else if (log_retention_minutes) {
        ms = int64_t{*log_retention_minutes} * 60'000;
    } else {
        ms = int64_t{log_retention_hours} * 3'600'000;
    }
    return ms < 0 ? -1 : ms;
}

int64_t broker_config::effective_log_roll_ms() const {
    return log_roll_ms ? *log_roll_ms : int64_t{log_roll_hours} * 3'600'000;
}

int64_t broker_config::effective_log_roll_jitter_ms() const {
    return log_roll_jitter_ms ? *log_roll_jitter_ms : int64_t{log_roll_jitter_hours} * 3'600'000;
}

int16_t broker_config::effective_offsets_topic_replication_factor() const {
    if (explicit_settings.count("offsets.topic.replication.factor") != 0 || single_node()) {
        return offsets_topic_replication_factor;
    }
    return 3;
}

std::string broker_config::effective_inter_broker_listener() const {
    if (!inter_broker_listener_name.empty()) {
        return inter_broker_listener_name;
    }
    for (const listener_endpoint& l : listeners) {
        const auto it = listener_security_protocol_map.find(l.name);
        if (it != listener_security_protocol_map.end() && it->second == "PLAINTEXT") {
            return l.name;
        }
    }
    return listeners.empty() ? std::string("PLAINTEXT") : listeners.front().name;
}

unsigned broker_config::shard_count() const {
    if (num_shards > 0) {
        return static_cast<unsigned>(num_shards);
    }
    const unsigned hardware = std::thread::hardware_concurrency();
    return std::clamp(hardware, 1U, max_auto_shards);
}

int64_t broker_config::request_memory_budget() const {
    if (queued_max_request_bytes > 0) {
        return queued_max_request_bytes;
    }
    return std::max<int64_t>(default_request_memory_bound, socket_request_max_bytes);
}

const std::vector<listener_endpoint>& broker_config::effective_advertised_listeners() const {
    return advertised_listeners.empty() ? listeners : advertised_listeners;
}

std::span<const config_key_info> config_keys() {
    static const std::vector<config_key_info> infos = [] {
        std::vector<config_key_info> out;
        for (const key_def& def : key_table()) {
            out.push_back(def.info);
        }
        return out;
    }();
    return infos;
}

const config_key_info* find_config_key(std::string_view name) {
    for (const config_key_info& info : config_keys()) {
        if (info.name == name) {
            return &info;
        }
    }
    return nullptr;
}

std::string_view config_type_name(config_type type) {
    switch (type) {
        case config_type::boolean: return "boolean";
        case config_type::int16: return "short";
        case config_type::int32: return "int";
        case config_type::int64: return "long";
        case config_type::double_: return "double";
        case config_type::string: return "string";
        case config_type::list: return "list";
    }
    return "unknown";
}

config_result make_broker_config(std::span<const property> entries) {
    config_builder builder;
    config_result result;
    for (const property& entry : entries) {
        const key_def* def = find_key_def(entry.key);
        if (def == nullptr) {
            std::string warning = "unknown configuration key '" + entry.key + "' ignored";
            if (entry.line > 0) {
                warning += " (line " + std::to_string(entry.line) + ")";
            }
            result.warnings.push_back(std::move(warning));
            continue;
        }
        def->apply(builder, entry.key, entry.value);
        builder.config.explicit_settings[entry.key] = entry.value;
    }
    broker_config& c = builder.config;
    c.log_dirs = builder.log_dirs ? *builder.log_dirs : builder.log_dir;

    check_listeners(c);
    if (c.queued_max_request_bytes > 0 && c.queued_max_request_bytes < c.socket_request_max_bytes) {
        throw config_error("queued.max.request.bytes (" +
                           std::to_string(c.queued_max_request_bytes) +
                           ") must be -1 or at least socket.request.max.bytes (" +
                           std::to_string(c.socket_request_max_bytes) + ")");
    }
    if (c.effective_log_retention_ms() == 0) {
        throw config_error("log.retention.ms must be -1 (unlimited) or at least 1");
    }
    if (c.group_min_session_timeout_ms > c.group_max_session_timeout_ms) {
        throw config_error(
            "group.min.session.timeout.ms must not exceed "
            "group.max.session.timeout.ms");
    }
    result.config = std::move(c);
    return result;
}

command_line parse_command_line(std::span<const std::string_view> args) {
    command_line command;
    const auto set_config = [&](std::string_view path) {
        if (command.config_file) {
            throw config_error("only one configuration file may be given");
        }
        if (path.empty()) {
            throw config_error("--config needs a file name");
        }
        command.config_file = std::string(path);
    };
    const auto add_override = [&](std::string_view text) {
        const size_t eq = text.find('=');
        if (eq == std::string_view::npos || trim(text.substr(0, eq)).empty()) {
            throw config_error("--override expects key=value, got '" + std::string(text) + "'");
        }
        command.overrides.push_back(property{std::string(trim(text.substr(0, eq))),
                                             std::string(trim(text.substr(eq + 1))), 0});
    };
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string_view arg = args[i];
        if (arg == "--help" || arg == "-h") {
            command.show_help = true;
        } else if (arg == "--version") {
            command.show_version = true;
        } else if (arg == "--config" || arg == "--override") {
            if (i + 1 >= args.size()) {
                throw config_error(std::string(arg) + " needs an argument");
            }
            if (arg == "--config") {
                set_config(args[++i]);
            } else {
                add_override(args[++i]);
            }
        } else if (arg.starts_with("--config=")) {
            set_config(arg.substr(9));
        } else if (arg.starts_with("--override=")) {
            add_override(arg.substr(11));
        } else if (arg.starts_with("-")) {
            throw config_error("unknown option " + std::string(arg));
        } else {
            set_config(arg);
        }
    }
    return command;
}

config_result load_broker_config(const command_line& command) {
    std::vector<property> entries;
    if (command.config_file) {
        entries = read_properties_file(*command.config_file);
    }
    entries.insert(entries.end(), command.overrides.begin(), command.overrides.end());
    return make_broker_config(entries);
}

std::string usage_text(std::string_view program) {
    std::string text;
    text +=
        "Usage: " + std::string(program) + " [--config FILE | FILE] [--override key=value]...\n";
    text += "       " + std::string(program) + " --version | --help\n\n";
    text += "Runs a Kafka-protocol broker. FILE is in Kafka's server.properties format; each\n";
    text += "--override sets one key and wins over the file. Supported keys are listed in\n";
    text += "docs/configuration.md.\n";
    return text;
}

}  // namespace broker::server
