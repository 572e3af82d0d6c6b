#pragma once
// Kafka's znode layout (ZooKeeper mode, Apache Kafka 3.9): the paths and the JSON payloads of the
// nodes the cluster reads and writes, so that anyone who knows Kafka's tree reads this one with
// zkCli.sh. docs/cluster.md lists them with example payloads; zk/tests/fixtures holds Kafka
// 3.9.2's own tree, which the tests check these encoders and decoders against.
//
// Paths are relative to the chroot of zookeeper.connect (the client applies the chroot).
// Encoders write exactly Kafka's keys and versions. Decoders accept what Kafka writes (and the
// older versions Kafka still reads where noted) and return nullopt for anything malformed (not
// JSON, a missing or mistyped required key): a node another process wrote is input, never trusted.
//
// Pure functions over strings (nlohmann/json inside); any thread.
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace broker::zk::znodes {

// ---- paths

inline constexpr std::string_view cluster_id_path = "/cluster/id";
inline constexpr std::string_view broker_ids_path = "/brokers/ids";
inline constexpr std::string_view broker_seqid_path = "/brokers/seqid";
inline constexpr std::string_view topics_path = "/brokers/topics";
inline constexpr std::string_view controller_path = "/controller";
inline constexpr std::string_view controller_epoch_path = "/controller_epoch";
inline constexpr std::string_view config_topics_path = "/config/topics";
inline constexpr std::string_view config_brokers_path = "/config/brokers";
inline constexpr std::string_view config_changes_path = "/config/changes";
/// Prefix of the sequential config change notifications (a create with this path and
/// create_mode::persistent_sequential makes `config_change_0000000007`).
inline constexpr std::string_view config_change_prefix = "/config/changes/config_change_";
inline constexpr std::string_view delete_topics_path = "/admin/delete_topics";
inline constexpr std::string_view producer_id_block_path = "/latest_producer_id_block";
inline constexpr std::string_view isr_change_notification_path = "/isr_change_notification";
inline constexpr std::string_view log_dir_event_notification_path = "/log_dir_event_notification";
inline constexpr std::string_view feature_path = "/feature";
/// The entity name of the cluster-wide dynamic broker defaults under /config/brokers.
inline constexpr std::string_view default_broker_entity = "<default>";

/// The persistent nodes every broker makes sure exist at start (each created with null data when
/// missing, parents first), as Kafka's broker does: /consumers, /brokers/ids, /brokers/topics,
/// /brokers/seqid, /config/changes, /config/topics, /config/brokers, /config/clients,
/// /config/users, /config/ips, /admin/delete_topics, /isr_change_notification,
/// /latest_producer_id_block, /log_dir_event_notification.
std::span<const std::string_view> persistent_paths();

/// Every proper ancestor of `path`, root excluded, shortest first ("/a/b/c" -> "/a", "/a/b").
std::vector<std::string> ancestors(std::string_view path);

std::string broker_path(int32_t broker_id);                     // /brokers/ids/<id>
std::string topic_path(std::string_view topic);                 // /brokers/topics/<t>
std::string partitions_path(std::string_view topic);            // /brokers/topics/<t>/partitions
std::string partition_path(std::string_view topic, int32_t p);  // .../partitions/<p>
std::string partition_state_path(std::string_view topic, int32_t p);  // .../partitions/<p>/state
std::string config_topic_path(std::string_view topic);                // /config/topics/<t>
/// /config/brokers/<entity>: a broker id as text, or default_broker_entity.
std::string config_broker_path(std::string_view entity);
std::string delete_topic_path(std::string_view topic);  // /admin/delete_topics/<t>

// ---- zookeeper.connect

/// zookeeper.connect split into the host list the C client connects to and the chroot:
/// "h1:2181,h2:2181/kafka/a" -> hosts "h1:2181,h2:2181", chroot "/kafka/a". No chroot: "".
struct connect_string {
    std::string hosts;
    std::string chroot;
};
/// nullopt for an empty host list, a host without a port or with a port outside 1..65535, or a
/// malformed chroot (not starting with '/', ending with '/', an empty, "." or ".." component).
/// A chroot of "/" alone is the root, hence no chroot (as ZooKeeper's own parser reads it).
std::optional<connect_string> parse_connect_string(std::string_view text);

// ---- payloads

/// /cluster/id: {"version":"1","id":"<22-char base64url uuid>"} (the version is a string).
std::string encode_cluster_id(std::string_view id);
std::optional<std::string> decode_cluster_id(std::string_view json);

/// One advertised endpoint of a broker registration: "NAME://host:port".
struct endpoint {
    std::string listener;
    std::string host;
    int32_t port = 0;
    friend bool operator==(const endpoint&, const endpoint&) = default;
};

/// /brokers/ids/<id> (ephemeral), version 5:
/// {"features":{},"listener_security_protocol_map":{"PLAINTEXT":"PLAINTEXT"},
///  "endpoints":["PLAINTEXT://127.0.0.1:9092"],"jmx_port":-1,"port":9092,"host":"127.0.0.1",
///  "version":5,"timestamp":"1796667904988"} plus "rack" only when set.
/// "host"/"port" are the PLAINTEXT endpoint's (null and -1 when there is none), as Kafka writes
/// them. The broker id is the node's name, the broker epoch its czxid (neither is in the JSON).
struct broker_registration {
    int32_t id = -1;
    std::vector<endpoint> endpoints;
    std::map<std::string, std::string> listener_security_protocol_map;
    std::optional<std::string> rack;
    int32_t jmx_port = -1;
    int64_t timestamp_ms = 0;
    friend bool operator==(const broker_registration&, const broker_registration&) = default;
};
std::string encode_broker(const broker_registration& b);
/// `id` is the node's name. Accepts versions 4 and 5 (endpoints plus the protocol map).
std::optional<broker_registration> decode_broker(int32_t id, std::string_view json);

/// /brokers/topics/<t>, version 3:
/// {"partitions":{"0":[1,2]},"topic_id":"<base64url>","adding_replicas":{},
///  "removing_replicas":{},"version":3}. topic_id is the text form (empty when the node has none:
/// versions 1 and 2, which Kafka still reads).
struct topic_assignment {
    std::string topic_id;
    std::map<int32_t, std::vector<int32_t>> partitions;
    std::map<int32_t, std::vector<int32_t>> adding_replicas;
    std::map<int32_t, std::vector<int32_t>> removing_replicas;
    friend bool operator==(const topic_assignment&, const topic_assignment&) = default;
};
std::string encode_topic(const topic_assignment& t);
/// nullopt also when a partition key is not a non-negative integer or the partitions are not
/// 0..n-1.
std::optional<topic_assignment> decode_topic(std::string_view json);

/// /brokers/topics/<t>/partitions/<p>/state, version 1:
/// {"controller_epoch":1,"leader":0,"version":1,"leader_epoch":0,"isr":[0]}.
/// leader_recovery_state is written only when not 0 (RECOVERED), as Kafka does.
struct partition_state {
    int32_t leader = -1;
    int32_t leader_epoch = 0;
    std::vector<int32_t> isr;
    int32_t controller_epoch = 0;
    int8_t leader_recovery_state = 0;
    friend bool operator==(const partition_state&, const partition_state&) = default;
};
std::string encode_partition_state(const partition_state& s);
std::optional<partition_state> decode_partition_state(std::string_view json);

/// /controller (ephemeral), version 2:
/// {"version":2,"brokerid":0,"timestamp":"1796667905232","kraftControllerEpoch":-1}.
/// Decoding also accepts version 1 (no kraftControllerEpoch).
struct controller_registration {
    int32_t broker_id = -1;
    int64_t timestamp_ms = 0;
    friend bool operator==(const controller_registration&,
                           const controller_registration&) = default;
};
std::string encode_controller(const controller_registration& c);
std::optional<controller_registration> decode_controller(std::string_view json);

/// /controller_epoch: the epoch as decimal text ("1").
std::string encode_controller_epoch(int32_t epoch);
std::optional<int32_t> decode_controller_epoch(std::string_view text);

/// /config/topics/<t>, /config/brokers/<entity>: {"version":1,"config":{"k":"v"}} (overrides
/// only; every value a string).
std::string encode_config(const std::map<std::string, std::string>& config);
std::optional<std::map<std::string, std::string>> decode_config(std::string_view json);

/// /config/changes/config_change_<seq>: {"version":2,"entity_path":"topics/orders"}
/// ("brokers/0", "brokers/<default>"). Decoding also accepts version 1,
/// {"version":1,"entity_type":"topics","entity_name":"orders"} (topics and clients only), which
/// Kafka still reads, as the same path.
std::string encode_config_change(std::string_view entity_path);
std::optional<std::string> decode_config_change(std::string_view json);

/// /latest_producer_id_block: {"version":1,"broker":0,"block_start":"0","block_end":"999"}
/// (the offsets as strings). The block is [block_start, block_end].
struct producer_id_block {
    int32_t broker = -1;
    int64_t block_start = 0;
    int64_t block_end = -1;
    friend bool operator==(const producer_id_block&, const producer_id_block&) = default;
};
std::string encode_producer_id_block(const producer_id_block& b);
std::optional<producer_id_block> decode_producer_id_block(std::string_view json);

/// /feature: {"features":{},"version":2,"status":1} (status 1: enabled).
std::string encode_feature();

}  // namespace broker::zk::znodes
