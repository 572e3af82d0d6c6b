#include "zk/znodes.h"

#include <nlohmann/json.hpp>

#include <array>
#include <charconv>
#include <limits>
#include <set>

namespace broker::zk::znodes {
namespace {

using json = nlohmann::json;

// ---- decoding helpers: each returns nullopt for a missing or mistyped value, never throws.

// The text as a JSON object (nullopt when it is not JSON or not an object).
std::optional<json> parse_object(std::string_view text) {
    json parsed = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
    if (parsed.is_discarded() || !parsed.is_object()) {
        return std::nullopt;
    }
    return parsed;
}

// A JSON integer (not a float: Kafka's reader refuses 1.0 for an Int) within [low, high].
template <typename Int>
std::optional<Int> as_integer(const json& value, Int low = std::numeric_limits<Int>::min(),
                              Int high = std::numeric_limits<Int>::max()) {
    if (value.is_number_unsigned()) {
        auto v = value.get<uint64_t>();
        if (v > static_cast<uint64_t>(high)) {
            return std::nullopt;
        }
        auto out = static_cast<Int>(v);
        if (out < low) {
            return std::nullopt;
        }
        return out;
    }
    if (value.is_number_integer()) {
        auto v = value.get<int64_t>();
        if (v < static_cast<int64_t>(low) || v > static_cast<int64_t>(high)) {
            return std::nullopt;
        }
        return static_cast<Int>(v);
    }
    return std::nullopt;
}

const json* find(const json& object, std::string_view key) {
    auto it = object.find(std::string(key));
    return it == object.end() ? nullptr : &*it;
}

std::optional<int32_t> int32_field(const json& object, std::string_view key,
                                   int32_t low = std::numeric_limits<int32_t>::min()) {
    const json* value = find(object, key);
    if (value == nullptr) {
        return std::nullopt;
    }
    return as_integer<int32_t>(*value, low);
}

std::optional<std::string> string_field(const json& object, std::string_view key) {
    const json* value = find(object, key);
    if (value == nullptr || !value->is_string()) {
        return std::nullopt;
    }
    return value->get<std::string>();
}

// Decimal digits only (what Long.toString writes for a non-negative value), within int64.
std::optional<int64_t> parse_non_negative(std::string_view text) {
    if (text.empty() || text.size() > 19) {
        return std::nullopt;
    }
    for (char c : text) {
        if (c < '0' || c > '9') {
            return std::nullopt;
        }
    }
    int64_t out = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    if (ec != std::errc() || end != text.data() + text.size()) {
        return std::nullopt;
    }
    return out;
}

// A millisecond timestamp written as a string ("1796667904988").
std::optional<int64_t> timestamp_field(const json& object, std::string_view key) {
    auto text = string_field(object, key);
    if (!text) {
        return std::nullopt;
    }
    return parse_non_negative(*text);
}

// A partition key of /brokers/topics/<t>: the decimal form of a non-negative int32, without
// sign or leading zeros (what Integer.toString writes).
std::optional<int32_t> parse_partition(std::string_view text) {
    if (text.size() > 1 && text.front() == '0') {
        return std::nullopt;
    }
    auto v = parse_non_negative(text);
    if (!v || *v > std::numeric_limits<int32_t>::max()) {
        return std::nullopt;
    }
    return static_cast<int32_t>(*v);
}

// A list of broker ids: non-negative, no duplicates; with `allow_empty` false, at least one.
std::optional<std::vector<int32_t>> broker_list(const json& value, bool allow_empty) {
    if (!value.is_array() || (!allow_empty && value.empty())) {
        return std::nullopt;
    }
    std::vector<int32_t> out;
    out.reserve(value.size());
    std::set<int32_t> seen;
    for (const auto& item : value) {
        auto id = as_integer<int32_t>(item, 0);
        if (!id || !seen.insert(*id).second) {
            return std::nullopt;
        }
        out.push_back(*id);
    }
    return out;
}

// The version key: an integer within [low, high].
bool version_in(const json& object, int32_t low, int32_t high) {
    auto version = int32_field(object, "version");
    return version && *version >= low && *version <= high;
}

// A Kafka Uuid's text form: 16 bytes in base64url without padding (22 characters).
bool valid_uuid_text(std::string_view text) {
    if (text.size() != 22) {
        return false;
    }
    for (char c : text) {
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_';
        if (!ok) {
            return false;
        }
    }
    return true;
}

// The security protocols Kafka knows (SecurityProtocol.forName refuses anything else).
bool known_security_protocol(std::string_view name) {
    return name == "PLAINTEXT" || name == "SSL" || name == "SASL_PLAINTEXT" || name == "SASL_SSL";
}

// "NAME://host:port", with an IPv6 host in brackets; an empty host is the default interface.
std::optional<endpoint> parse_endpoint(std::string_view text) {
    auto separator = text.find("://");
    if (separator == std::string_view::npos || separator == 0) {
        return std::nullopt;
    }
    endpoint out;
    out.listener = std::string(text.substr(0, separator));
    if (out.listener.find_first_of(":/") != std::string::npos) {
        return std::nullopt;
    }
    std::string_view rest = text.substr(separator + 3);
    std::string_view port_text;
    if (!rest.empty() && rest.front() == '[') {
        auto close = rest.find(']');
        if (close == std::string_view::npos || close + 1 >= rest.size() || rest[close + 1] != ':') {
            return std::nullopt;
        }
        out.host = std::string(rest.substr(1, close - 1));
        port_text = rest.substr(close + 2);
    } else {
        auto colon = rest.rfind(':');
        if (colon == std::string_view::npos) {
            return std::nullopt;
        }
        out.host = std::string(rest.substr(0, colon));
        if (out.host.find(':') != std::string::npos) {
            return std::nullopt;
        }
        port_text = rest.substr(colon + 1);
    }
    auto port = parse_non_negative(port_text);
    if (!port || *port > 65535) {
        return std::nullopt;
    }
    out.port = static_cast<int32_t>(*port);
    return out;
}

// EndPoint.connectionString: an IPv6 host goes in brackets.
std::string endpoint_text(const endpoint& e) {
    std::string host = e.host.find(':') != std::string::npos ? "[" + e.host + "]" : e.host;
    return e.listener + "://" + host + ":" + std::to_string(e.port);
}

json replica_map(const std::map<int32_t, std::vector<int32_t>>& replicas) {
    json out = json::object();
    for (const auto& [partition, brokers] : replicas) {
        // Kafka writes adding/removing entries only for partitions that have some.
        if (!brokers.empty()) {
            out[std::to_string(partition)] = brokers;
        }
    }
    return out;
}

// adding_replicas / removing_replicas: every key a partition of the assignment.
bool decode_replica_changes(const json& object, std::string_view key,
                            const std::map<int32_t, std::vector<int32_t>>& partitions,
                            std::map<int32_t, std::vector<int32_t>>& out) {
    const json* value = find(object, key);
    if (value == nullptr) {
        return true;
    }
    if (!value->is_object()) {
        return false;
    }
    for (const auto& [name, brokers] : value->items()) {
        auto partition = parse_partition(name);
        if (!partition || partitions.count(*partition) == 0) {
            return false;
        }
        auto list = broker_list(brokers, /*allow_empty=*/true);
        if (!list) {
            return false;
        }
        if (!list->empty()) {
            out.emplace(*partition, std::move(*list));
        }
    }
    return true;
}

bool valid_chroot(std::string_view chroot) {
    if (chroot.size() < 2 || chroot.front() != '/' || chroot.back() == '/') {
        return false;
    }
    std::size_t start = 1;
    while (start <= chroot.size()) {
        std::size_t end = chroot.find('/', start);
        if (end == std::string_view::npos) {
            end = chroot.size();
        }
        std::string_view component = chroot.substr(start, end - start);
        if (component.empty() || component == "." || component == "..") {
            return false;
        }
        for (char c : component) {
            // ZooKeeper refuses the null character and control characters in paths.
            if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
                return false;
            }
        }
        start = end + 1;
    }
    return true;
}

// "host:port" or "[v6]:port", port within 1..65535.
bool valid_host_port(std::string_view entry) {
    std::string_view host;
    std::string_view port;
    if (!entry.empty() && entry.front() == '[') {
        auto close = entry.find(']');
        if (close == std::string_view::npos || close + 1 >= entry.size() ||
            entry[close + 1] != ':') {
            return false;
        }
        host = entry.substr(1, close - 1);
        port = entry.substr(close + 2);
    } else {
        auto colon = entry.find(':');
        if (colon == std::string_view::npos) {
            return false;
        }
        host = entry.substr(0, colon);
        port = entry.substr(colon + 1);
    }
    if (host.empty() || host.find_first_of(" \t/,") != std::string_view::npos) {
        return false;
    }
    if (port.size() > 5) {
        return false;
    }
    auto number = parse_non_negative(port);
    return number && *number >= 1 && *number <= 65535;
}

}  // namespace

// ---- paths

std::span<const std::string_view> persistent_paths() {
    // Kafka's KafkaZkClient.PersistentZkPaths, then a node per config entity type.
    static constexpr std::array<std::string_view, 14> paths = {
        "/consumers",
        broker_ids_path,
        topics_path,
        broker_seqid_path,
        config_changes_path,
        config_topics_path,
        config_brokers_path,
        "/config/clients",
        "/config/users",
        "/config/ips",
        delete_topics_path,
        isr_change_notification_path,
        producer_id_block_path,
        log_dir_event_notification_path,
    };
    return paths;
}

std::vector<std::string> ancestors(std::string_view path) {
    std::vector<std::string> out;
    for (std::size_t slash = path.find('/', 1); slash != std::string_view::npos;
         slash = path.find('/', slash + 1)) {
        out.emplace_back(path.substr(0, slash));
    }
    return out;
}

std::string broker_path(int32_t broker_id) {
    return std::string(broker_ids_path) + "/" + std::to_string(broker_id);
}

std::string topic_path(std::string_view topic) {
    std::string out(topics_path);
    out += '/';
    out += topic;
    return out;
}

std::string partitions_path(std::string_view topic) {
    return topic_path(topic) + "/partitions";
}

std::string partition_path(std::string_view topic, int32_t p) {
    return partitions_path(topic) + "/" + std::to_string(p);
}

std::string partition_state_path(std::string_view topic, int32_t p) {
    return partition_path(topic, p) + "/state";
}

std::string config_topic_path(std::string_view topic) {
    std::string out(config_topics_path);
    out += '/';
    out += topic;
    return out;
}

std::string config_broker_path(std::string_view entity) {
    std::string out(config_brokers_path);
    out += '/';
    out += entity;
    return out;
}

std::string delete_topic_path(std::string_view topic) {
    std::string out(delete_topics_path);
    out += '/';
    out += topic;
    return out;
}

// ---- zookeeper.connect

std::optional<connect_string> parse_connect_string(std::string_view text) {
    connect_string out;
    std::string_view hosts = text;
    auto slash = text.find('/');
    if (slash != std::string_view::npos) {
        hosts = text.substr(0, slash);
        std::string_view chroot = text.substr(slash);
        // A lone "/" is the root: no chroot, as ZooKeeper's connect string parser reads it.
        if (chroot != "/") {
            if (!valid_chroot(chroot)) {
                return std::nullopt;
            }
            out.chroot = std::string(chroot);
        }
    }
    if (hosts.empty()) {
        return std::nullopt;
    }
    std::size_t start = 0;
    while (true) {
        auto comma = hosts.find(',', start);
        std::string_view entry = hosts.substr(
            start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
        if (!valid_host_port(entry)) {
            return std::nullopt;
        }
        if (comma == std::string_view::npos) {
            break;
        }
        start = comma + 1;
    }
    out.hosts = std::string(hosts);
    return out;
}

// ---- payloads

std::string encode_cluster_id(std::string_view id) {
    // ClusterIdZNode: the version is the string "1".
    json out = {{"version", "1"}, {"id", std::string(id)}};
    return out.dump();
}

std::optional<std::string> decode_cluster_id(std::string_view text) {
    auto object = parse_object(text);
    if (!object) {
        return std::nullopt;
    }
    auto version = string_field(*object, "version");
    auto id = string_field(*object, "id");
    if (!version || *version != "1" || !id || id->empty()) {
        return std::nullopt;
    }
    return id;
}

std::string encode_broker(const broker_registration& b) {
    json endpoints = json::array();
    const endpoint* plaintext = nullptr;
    for (const auto& e : b.endpoints) {
        endpoints.push_back(endpoint_text(e));
        // The top-level host/port are the first endpoint whose security protocol is PLAINTEXT
        // (for clients older than 0.10, which read nothing else).
        auto protocol = b.listener_security_protocol_map.find(e.listener);
        std::string_view name =
            protocol != b.listener_security_protocol_map.end() ? protocol->second : e.listener;
        if (plaintext == nullptr && name == "PLAINTEXT") {
            plaintext = &e;
        }
    }
    json out = json::object();
    out["version"] = 5;
    out["host"] =
        plaintext != nullptr && !plaintext->host.empty() ? json(plaintext->host) : json(nullptr);
    out["port"] = plaintext != nullptr ? plaintext->port : -1;
    out["endpoints"] = std::move(endpoints);
    out["jmx_port"] = b.jmx_port;
    out["timestamp"] = std::to_string(b.timestamp_ms);
    if (b.rack) {
        out["rack"] = *b.rack;
    }
    out["listener_security_protocol_map"] = b.listener_security_protocol_map;
    // Supported features (KIP-584): a ZooKeeper-mode broker advertises none.
    out["features"] = json::object();
    return out.dump();
}

std::optional<broker_registration> decode_broker(int32_t id, std::string_view text) {
    auto object = parse_object(text);
    if (id < 0 || !object || !version_in(*object, 4, 5)) {
        return std::nullopt;
    }
    broker_registration out;
    out.id = id;
    auto jmx_port = int32_field(*object, "jmx_port");
    auto timestamp = timestamp_field(*object, "timestamp");
    const json* endpoints = find(*object, "endpoints");
    const json* protocols = find(*object, "listener_security_protocol_map");
    if (!jmx_port || !timestamp || endpoints == nullptr || !endpoints->is_array() ||
        protocols == nullptr || !protocols->is_object()) {
        return std::nullopt;
    }
    out.jmx_port = *jmx_port;
    out.timestamp_ms = *timestamp;
    for (const auto& [listener, protocol] : protocols->items()) {
        if (listener.empty() || !protocol.is_string() ||
            !known_security_protocol(protocol.get_ref<const std::string&>())) {
            return std::nullopt;
        }
        out.listener_security_protocol_map.emplace(listener, protocol.get<std::string>());
    }
    std::set<std::string> listeners;
    for (const auto& item : *endpoints) {
        if (!item.is_string()) {
            return std::nullopt;
        }
        auto e = parse_endpoint(item.get_ref<const std::string&>());
        // Every listener has a protocol in the map, and a name used once (Kafka's
        // listenerListToEndPoints refuses either).
        if (!e || out.listener_security_protocol_map.count(e->listener) == 0 ||
            !listeners.insert(e->listener).second) {
            return std::nullopt;
        }
        out.endpoints.push_back(std::move(*e));
    }
    if (const json* rack = find(*object, "rack"); rack != nullptr && !rack->is_null()) {
        if (!rack->is_string()) {
            return std::nullopt;
        }
        out.rack = rack->get<std::string>();
    }
    // Derived from the endpoints, so not read; still, a mistyped one is malformed.
    if (const json* host = find(*object, "host");
        host != nullptr && !host->is_null() && !host->is_string()) {
        return std::nullopt;
    }
    if (const json* port = find(*object, "port");
        port != nullptr && !as_integer<int32_t>(*port).has_value()) {
        return std::nullopt;
    }
    if (const json* features = find(*object, "features");
        features != nullptr && !features->is_object()) {
        return std::nullopt;
    }
    return out;
}

std::string encode_topic(const topic_assignment& t) {
    json out = json::object();
    out["version"] = 3;
    out["partitions"] = replica_map(t.partitions);
    out["adding_replicas"] = replica_map(t.adding_replicas);
    out["removing_replicas"] = replica_map(t.removing_replicas);
    if (!t.topic_id.empty()) {
        out["topic_id"] = t.topic_id;
    }
    return out.dump();
}

std::optional<topic_assignment> decode_topic(std::string_view text) {
    auto object = parse_object(text);
    if (!object || !version_in(*object, 1, 3)) {
        return std::nullopt;
    }
    topic_assignment out;
    if (const json* id = find(*object, "topic_id"); id != nullptr) {
        if (!id->is_string() || !valid_uuid_text(id->get_ref<const std::string&>())) {
            return std::nullopt;
        }
        out.topic_id = id->get<std::string>();
    }
    const json* partitions = find(*object, "partitions");
    if (partitions == nullptr || !partitions->is_object() || partitions->empty()) {
        return std::nullopt;
    }
    for (const auto& [name, replicas] : partitions->items()) {
        auto partition = parse_partition(name);
        auto list = broker_list(replicas, /*allow_empty=*/false);
        if (!partition || !list) {
            return std::nullopt;
        }
        out.partitions.emplace(*partition, std::move(*list));
    }
    // Partitions are numbered 0..n-1: with distinct keys, the largest is n-1.
    if (out.partitions.rbegin()->first != static_cast<int32_t>(out.partitions.size()) - 1) {
        return std::nullopt;
    }
    if (!decode_replica_changes(*object, "adding_replicas", out.partitions, out.adding_replicas) ||
        !decode_replica_changes(*object, "removing_replicas", out.partitions,
                                out.removing_replicas)) {
        return std::nullopt;
    }
    return out;
}

std::string encode_partition_state(const partition_state& s) {
    json out = json::object();
    out["version"] = 1;
    out["leader"] = s.leader;
    out["leader_epoch"] = s.leader_epoch;
    out["controller_epoch"] = s.controller_epoch;
    out["isr"] = s.isr;
    // KIP-704: written only when the leader is still recovering (not RECOVERED, 0).
    if (s.leader_recovery_state != 0) {
        out["leader_recovery_state"] = s.leader_recovery_state;
    }
    return out.dump();
}

std::optional<partition_state> decode_partition_state(std::string_view text) {
    auto object = parse_object(text);
    if (!object || !version_in(*object, 1, 1)) {
        return std::nullopt;
    }
    partition_state out;
    // -1: no leader (LeaderAndIsr.NoLeader).
    auto leader = int32_field(*object, "leader", -1);
    auto leader_epoch = int32_field(*object, "leader_epoch", 0);
    auto controller_epoch = int32_field(*object, "controller_epoch", 0);
    const json* isr = find(*object, "isr");
    if (!leader || !leader_epoch || !controller_epoch || isr == nullptr) {
        return std::nullopt;
    }
    auto isr_list = broker_list(*isr, /*allow_empty=*/true);
    if (!isr_list) {
        return std::nullopt;
    }
    out.leader = *leader;
    out.leader_epoch = *leader_epoch;
    out.controller_epoch = *controller_epoch;
    out.isr = std::move(*isr_list);
    if (const json* recovery = find(*object, "leader_recovery_state"); recovery != nullptr) {
        // LeaderRecoveryState: 0 RECOVERED, 1 RECOVERING; Kafka refuses any other value.
        auto value = as_integer<int8_t>(*recovery, 0, 1);
        if (!value) {
            return std::nullopt;
        }
        out.leader_recovery_state = *value;
    }
    return out;
}

std::string encode_controller(const controller_registration& c) {
    json out = json::object();
    out["version"] = 2;
    out["brokerid"] = c.broker_id;
    out["timestamp"] = std::to_string(c.timestamp_ms);
    // Set by a KRaft controller during a migration; a ZooKeeper-mode controller writes -1.
    out["kraftControllerEpoch"] = -1;
    return out.dump();
}

std::optional<controller_registration> decode_controller(std::string_view text) {
    auto object = parse_object(text);
    if (!object || !version_in(*object, 1, 2)) {
        return std::nullopt;
    }
    auto broker_id = int32_field(*object, "brokerid", 0);
    auto timestamp = timestamp_field(*object, "timestamp");
    if (!broker_id || !timestamp) {
        return std::nullopt;
    }
    if (const json* epoch = find(*object, "kraftControllerEpoch");
        epoch != nullptr && !as_integer<int32_t>(*epoch).has_value()) {
        return std::nullopt;
    }
    return controller_registration{*broker_id, *timestamp};
}

std::string encode_controller_epoch(int32_t epoch) {
    return std::to_string(epoch);
}

std::optional<int32_t> decode_controller_epoch(std::string_view text) {
    // Kafka writes Int.toString of a non-negative epoch; nothing else is accepted.
    if (text.size() > 1 && text.front() == '0') {
        return std::nullopt;
    }
    auto value = parse_non_negative(text);
    if (!value || *value > std::numeric_limits<int32_t>::max()) {
        return std::nullopt;
    }
    return static_cast<int32_t>(*value);
}

std::string encode_config(const std::map<std::string, std::string>& config) {
    json out = json::object();
    out["version"] = 1;
    out["config"] = config;
    return out.dump();
}

std::optional<std::map<std::string, std::string>> decode_config(std::string_view text) {
    auto object = parse_object(text);
    if (!object || !version_in(*object, 1, 1)) {
        return std::nullopt;
    }
    const json* config = find(*object, "config");
    if (config == nullptr || !config->is_object()) {
        return std::nullopt;
    }
    std::map<std::string, std::string> out;
    for (const auto& [key, value] : config->items()) {
        if (!value.is_string()) {
            return std::nullopt;
        }
        out.emplace(key, value.get<std::string>());
    }
    return out;
}

std::string encode_config_change(std::string_view entity_path) {
    json out = {{"version", 2}, {"entity_path", std::string(entity_path)}};
    return out.dump();
}

std::optional<std::string> decode_config_change(std::string_view text) {
    auto object = parse_object(text);
    if (!object) {
        return std::nullopt;
    }
    auto version = int32_field(*object, "version");
    if (version && *version == 1) {
        // Version 1 named the entity in two keys, for topics and clients only; Kafka still
        // reads it. It maps onto the version 2 path.
        auto type = string_field(*object, "entity_type");
        auto name = string_field(*object, "entity_name");
        if (!type || (*type != "topics" && *type != "clients") || !name || name->empty()) {
            return std::nullopt;
        }
        return *type + "/" + *name;
    }
    if (!version || *version != 2) {
        return std::nullopt;
    }
    auto path = string_field(*object, "entity_path");
    // "<entity type>/<entity name>", both parts non-empty.
    if (!path) {
        return std::nullopt;
    }
    auto slash = path->find('/');
    if (slash == std::string::npos || slash == 0 || slash + 1 == path->size()) {
        return std::nullopt;
    }
    return path;
}

std::string encode_producer_id_block(const producer_id_block& b) {
    json out = json::object();
    out["version"] = 1;
    out["broker"] = b.broker;
    out["block_start"] = std::to_string(b.block_start);
    out["block_end"] = std::to_string(b.block_end);
    return out.dump();
}

std::optional<producer_id_block> decode_producer_id_block(std::string_view text) {
    auto object = parse_object(text);
    if (!object || !version_in(*object, 1, 1)) {
        return std::nullopt;
    }
    auto broker = int32_field(*object, "broker", 0);
    auto start_text = string_field(*object, "block_start");
    auto end_text = string_field(*object, "block_end");
    if (!broker || !start_text || !end_text) {
        return std::nullopt;
    }
    auto start = parse_non_negative(*start_text);
    auto end = parse_non_negative(*end_text);
    // A block holds at least one id, and its size fits an int (Kafka's Math.toIntExact).
    if (!start || !end || *end < *start ||
        *end - *start >= static_cast<int64_t>(std::numeric_limits<int32_t>::max())) {
        return std::nullopt;
    }
    return producer_id_block{*broker, *start, *end};
}

std::string encode_feature() {
    // FeatureZNode version 2, status 1 (enabled), no finalized features.
    json out = {{"version", 2}, {"status", 1}, {"features", json::object()}};
    return out.dump();
}

}  // namespace broker::zk::znodes
