// Unit tests of zk/znodes.h: the decoders read Kafka 3.9.2's own tree
// (zk/tests/fixtures/kafka-3.9.2-znodes.json), the encoders write it back as the same JSON values,
// and anything malformed decodes to nullopt.
#include "zk/znodes.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <stdexcept>
#include <string>

#ifndef ZK_FIXTURE_DIR
#error "ZK_FIXTURE_DIR must name zk/tests/fixtures"
#endif

namespace {

namespace znodes = broker::zk::znodes;
using json = nlohmann::json;

// The fixture's znodes by path.
const std::map<std::string, json>& fixture() {
    static const std::map<std::string, json> nodes = [] {
        std::ifstream in(std::string(ZK_FIXTURE_DIR) + "/kafka-3.9.2-znodes.json");
        if (!in) {
            throw std::runtime_error("cannot open the znode fixture");
        }
        json parsed = json::parse(in);
        std::map<std::string, json> out;
        for (const auto& node : parsed.at("znodes")) {
            out.emplace(node.at("path").get<std::string>(), node);
        }
        return out;
    }();
    return nodes;
}

// A fixture node's payload, as the text Kafka wrote (the fixture stores JSON payloads parsed).
std::string payload(const std::string& path) {
    const auto& node = fixture().at(path);
    const auto& data = node.at("data");
    return data.is_string() && node.at("format") == "text" ? data.get<std::string>() : data.dump();
}

json parsed_payload(const std::string& path) {
    return fixture().at(path).at("data");
}

// The same JSON value (key order and spacing aside).
void expect_same_json(const std::string& encoded, const json& expected) {
    json actual = json::parse(encoded, nullptr, false);
    ASSERT_FALSE(actual.is_discarded()) << encoded;
    EXPECT_EQ(actual, expected) << "encoded: " << encoded << "\nexpected: " << expected.dump();
}

// ---- paths

TEST(znodes, paths_follow_kafkas_layout) {
    EXPECT_EQ(znodes::broker_path(0), "/brokers/ids/0");
    EXPECT_EQ(znodes::broker_path(1234), "/brokers/ids/1234");
    EXPECT_EQ(znodes::topic_path("orders"), "/brokers/topics/orders");
    EXPECT_EQ(znodes::partitions_path("orders"), "/brokers/topics/orders/partitions");
    EXPECT_EQ(znodes::partition_path("orders", 2), "/brokers/topics/orders/partitions/2");
    EXPECT_EQ(znodes::partition_state_path("orders", 0),
              "/brokers/topics/orders/partitions/0/state");
    EXPECT_EQ(znodes::config_topic_path("orders"), "/config/topics/orders");
    EXPECT_EQ(znodes::config_broker_path("0"), "/config/brokers/0");
    EXPECT_EQ(znodes::config_broker_path(znodes::default_broker_entity),
              "/config/brokers/<default>");
    EXPECT_EQ(znodes::delete_topic_path("orders"), "/admin/delete_topics/orders");
    EXPECT_EQ(std::string(znodes::config_change_prefix) + "0000000001",
              "/config/changes/config_change_0000000001");

    // Every path the fixture's tree has for these (a node of each exists in Kafka's tree).
    for (const auto& path :
         {znodes::broker_path(0), znodes::topic_path("orders"), znodes::partitions_path("orders"),
          znodes::partition_path("orders", 2), znodes::partition_state_path("orders", 2),
          znodes::config_topic_path("orders"), znodes::config_broker_path("0"),
          znodes::config_broker_path(znodes::default_broker_entity)}) {
        EXPECT_EQ(fixture().count(path), 1u) << path;
    }
    for (auto path : {znodes::cluster_id_path, znodes::broker_ids_path, znodes::broker_seqid_path,
                      znodes::topics_path, znodes::controller_path, znodes::controller_epoch_path,
                      znodes::config_topics_path, znodes::config_brokers_path,
                      znodes::config_changes_path, znodes::delete_topics_path,
                      znodes::producer_id_block_path, znodes::isr_change_notification_path,
                      znodes::log_dir_event_notification_path, znodes::feature_path}) {
        EXPECT_EQ(fixture().count(std::string(path)), 1u) << path;
    }
}

TEST(znodes, persistent_paths_are_kafkas_and_exist_in_its_tree) {
    auto paths = znodes::persistent_paths();
    std::vector<std::string> listed(paths.begin(), paths.end());
    EXPECT_EQ(listed, (std::vector<std::string>{
                          "/consumers", "/brokers/ids", "/brokers/topics", "/brokers/seqid",
                          "/config/changes", "/config/topics", "/config/brokers", "/config/clients",
                          "/config/users", "/config/ips", "/admin/delete_topics",
                          "/isr_change_notification", "/latest_producer_id_block",
                          "/log_dir_event_notification"}));
    for (const auto& path : listed) {
        EXPECT_EQ(fixture().count(path), 1u) << path;
    }
}

TEST(znodes, ancestors_are_listed_shortest_first) {
    EXPECT_EQ(znodes::ancestors("/a/b/c"), (std::vector<std::string>{"/a", "/a/b"}));
    EXPECT_EQ(znodes::ancestors("/brokers/topics/orders/partitions/0/state"),
              (std::vector<std::string>{"/brokers", "/brokers/topics", "/brokers/topics/orders",
                                        "/brokers/topics/orders/partitions",
                                        "/brokers/topics/orders/partitions/0"}));
    EXPECT_TRUE(znodes::ancestors("/a").empty());
    EXPECT_TRUE(znodes::ancestors("/").empty());
}

// ---- zookeeper.connect

TEST(znodes, connect_strings_split_hosts_and_chroot) {
    auto plain = znodes::parse_connect_string("127.0.0.1:2181");
    ASSERT_TRUE(plain);
    EXPECT_EQ(plain->hosts, "127.0.0.1:2181");
    EXPECT_EQ(plain->chroot, "");

    auto several = znodes::parse_connect_string("h1:2181,h2:2182,h3:65535/kafka/a");
    ASSERT_TRUE(several);
    EXPECT_EQ(several->hosts, "h1:2181,h2:2182,h3:65535");
    EXPECT_EQ(several->chroot, "/kafka/a");

    auto chroot = znodes::parse_connect_string("localhost:1/sluice-reference");
    ASSERT_TRUE(chroot);
    EXPECT_EQ(chroot->hosts, "localhost:1");
    EXPECT_EQ(chroot->chroot, "/sluice-reference");

    auto v6 = znodes::parse_connect_string("[::1]:2181,[fe80::1%eth0]:2182/k");
    ASSERT_TRUE(v6);
    EXPECT_EQ(v6->hosts, "[::1]:2181,[fe80::1%eth0]:2182");
    EXPECT_EQ(v6->chroot, "/k");

    // A lone "/" is the root.
    auto root = znodes::parse_connect_string("h:2181/");
    ASSERT_TRUE(root);
    EXPECT_EQ(root->hosts, "h:2181");
    EXPECT_EQ(root->chroot, "");
}

TEST(znodes, malformed_connect_strings_are_refused) {
    for (std::string_view bad : {"",
                                 "/kafka",
                                 "h",
                                 "h:",
                                 ":2181",
                                 "h:0",
                                 "h:65536",
                                 "h:2181x",
                                 "h:-1",
                                 "h:+1",
                                 "h:2181,",
                                 ",h:2181",
                                 "h:2181,,g:2181",
                                 "h:2181,g",
                                 "h:2181/kafka/",
                                 "h:2181//kafka",
                                 "h:2181/kafka//a",
                                 "h:2181/a/./b",
                                 "h:2181/a/..",
                                 "h:2181/.",
                                 "h:2181/a\x01",
                                 "::1:2181",
                                 "[::1]2181",
                                 "[::1]:",
                                 "[::1",
                                 "h:2181 ",
                                 "h :2181",
                                 "h:123456"}) {
        EXPECT_FALSE(znodes::parse_connect_string(bad).has_value()) << bad;
    }
}

// ---- /cluster/id

TEST(znodes, cluster_id_matches_kafka) {
    const std::string path(znodes::cluster_id_path);
    auto id = znodes::decode_cluster_id(payload(path));
    ASSERT_TRUE(id);
    EXPECT_EQ(*id, "_nUxnik9RcCWvelNRgH8Eg");
    expect_same_json(znodes::encode_cluster_id(*id), parsed_payload(path));
    EXPECT_EQ(znodes::decode_cluster_id(znodes::encode_cluster_id("abc")), "abc");

    for (std::string_view bad :
         {"", "not json", "[]", "\"x\"", R"({"version":"1"})", R"({"version":"1","id":5})",
          R"({"version":1,"id":"x"})", R"({"id":"x"})", R"({"version":"1","id":""})",
          R"({"version":"1","id":"x")"}) {
        EXPECT_FALSE(znodes::decode_cluster_id(bad).has_value()) << bad;
    }
}

// ---- /brokers/ids/<id>

TEST(znodes, broker_registration_matches_kafka) {
    auto b = znodes::decode_broker(0, payload("/brokers/ids/0"));
    ASSERT_TRUE(b);
    EXPECT_EQ(b->id, 0);
    ASSERT_EQ(b->endpoints.size(), 1u);
    EXPECT_EQ(b->endpoints[0], (znodes::endpoint{"PLAINTEXT", "127.0.0.1", 46445}));
    EXPECT_EQ(b->listener_security_protocol_map,
              (std::map<std::string, std::string>{{"PLAINTEXT", "PLAINTEXT"}}));
    EXPECT_FALSE(b->rack.has_value());
    EXPECT_EQ(b->jmx_port, -1);
    EXPECT_EQ(b->timestamp_ms, 1796667904988);
    expect_same_json(znodes::encode_broker(*b), parsed_payload("/brokers/ids/0"));
}

TEST(znodes, broker_registration_round_trips) {
    znodes::broker_registration b;
    b.id = 7;
    b.endpoints = {{"INTERNAL", "10.0.0.7", 9093},
                   {"CLIENT", "::1", 9092},
                   {"ANY", "", 9094},
                   {"EXTERNAL", "broker7.example", 19092}};
    b.listener_security_protocol_map = {{"INTERNAL", "SSL"},
                                        {"CLIENT", "PLAINTEXT"},
                                        {"ANY", "PLAINTEXT"},
                                        {"EXTERNAL", "SASL_SSL"}};
    b.rack = "rack-a";
    b.jmx_port = 9999;
    b.timestamp_ms = 1700000000123;
    std::string encoded = znodes::encode_broker(b);
    EXPECT_EQ(znodes::decode_broker(7, encoded), b);

    // Host and port come from the first endpoint whose protocol is PLAINTEXT; an IPv6 host is
    // bracketed in the endpoint; the rack is written when set.
    json j = json::parse(encoded);
    EXPECT_EQ(j["host"], "::1");
    EXPECT_EQ(j["port"], 9092);
    EXPECT_EQ(j["rack"], "rack-a");
    EXPECT_EQ(j["version"], 5);
    EXPECT_EQ(j["timestamp"], "1700000000123");
    EXPECT_EQ(j["features"], json::object());
    EXPECT_EQ(j["endpoints"], (json{"INTERNAL://10.0.0.7:9093", "CLIENT://[::1]:9092",
                                    "ANY://:9094", "EXTERNAL://broker7.example:19092"}));

    // No PLAINTEXT endpoint: host null, port -1; no rack key.
    znodes::broker_registration secure;
    secure.id = 1;
    secure.endpoints = {{"SSL", "h", 9093}};
    secure.listener_security_protocol_map = {{"SSL", "SSL"}};
    json s = json::parse(znodes::encode_broker(secure));
    EXPECT_TRUE(s["host"].is_null());
    EXPECT_EQ(s["port"], -1);
    EXPECT_FALSE(s.contains("rack"));
    EXPECT_EQ(znodes::decode_broker(1, s.dump()), secure);

    // Version 4 (no features) is read as well, and a null rack is no rack.
    json v4 = json::parse(payload("/brokers/ids/0"));
    v4["version"] = 4;
    v4.erase("features");
    v4["rack"] = nullptr;
    auto decoded = znodes::decode_broker(3, v4.dump());
    ASSERT_TRUE(decoded);
    EXPECT_EQ(decoded->id, 3);
    EXPECT_FALSE(decoded->rack.has_value());
}

TEST(znodes, malformed_broker_registrations_are_refused) {
    const json good = json::parse(payload("/brokers/ids/0"));
    ASSERT_TRUE(znodes::decode_broker(0, good.dump()));
    EXPECT_FALSE(znodes::decode_broker(-1, good.dump()));
    EXPECT_FALSE(znodes::decode_broker(0, "not json"));
    EXPECT_FALSE(znodes::decode_broker(0, ""));
    EXPECT_FALSE(znodes::decode_broker(0, "[1]"));

    auto changed = [&](const char* key, json value) {
        json j = good;
        if (value.is_discarded()) {
            j.erase(key);
        } else {
            j[key] = std::move(value);
        }
        return znodes::decode_broker(0, j.dump()).has_value();
    };
    const json missing(json::value_t::discarded);
    EXPECT_FALSE(changed("version", missing));
    EXPECT_FALSE(changed("version", 3));
    EXPECT_FALSE(changed("version", 6));
    EXPECT_FALSE(changed("version", "5"));
    EXPECT_FALSE(changed("version", 5.0));
    EXPECT_FALSE(changed("jmx_port", missing));
    EXPECT_FALSE(changed("jmx_port", "-1"));
    EXPECT_FALSE(changed("timestamp", missing));
    EXPECT_FALSE(changed("timestamp", 1796667904988));
    EXPECT_FALSE(changed("timestamp", "17966x"));
    EXPECT_FALSE(changed("endpoints", missing));
    EXPECT_FALSE(changed("endpoints", "PLAINTEXT://h:1"));
    EXPECT_FALSE(changed("endpoints", json{1}));
    EXPECT_FALSE(changed("endpoints", json{"PLAINTEXT//h:1"}));
    EXPECT_FALSE(changed("endpoints", json{"PLAINTEXT://h"}));
    EXPECT_FALSE(changed("endpoints", json{"PLAINTEXT://h:70000"}));
    EXPECT_FALSE(changed("endpoints", json{"PLAINTEXT://h:x"}));
    EXPECT_FALSE(changed("endpoints", json{"PLAINTEXT://::1:9092"}));
    EXPECT_FALSE(changed("endpoints", json{"://h:1"}));
    EXPECT_FALSE(changed("endpoints", json{"SSL://h:1"}));  // not in the protocol map
    EXPECT_FALSE(changed("endpoints", json({"PLAINTEXT://h:1", "PLAINTEXT://g:2"})));
    EXPECT_FALSE(changed("listener_security_protocol_map", missing));
    EXPECT_FALSE(changed("listener_security_protocol_map", json::array()));
    EXPECT_FALSE(changed("listener_security_protocol_map", json{{"PLAINTEXT", 1}}));
    EXPECT_FALSE(changed("listener_security_protocol_map", json{{"PLAINTEXT", "TLS"}}));
    EXPECT_FALSE(changed("rack", 1));
    EXPECT_FALSE(changed("host", 1));
    EXPECT_FALSE(changed("port", "9092"));
    EXPECT_FALSE(changed("features", json::array()));
    EXPECT_TRUE(changed("rack", "r"));
    EXPECT_TRUE(changed("endpoints", json::array()));
}

// ---- /brokers/topics/<t>

TEST(znodes, topic_assignments_match_kafka) {
    for (const auto& [topic, count, id] :
         {std::tuple<std::string, int, std::string>{"orders", 3, "OihZk_faTxii-LOAeVLE0A"},
          {"compacted", 2, "K111NJRHRVWSuRL8HG2lVw"},
          {"__consumer_offsets", 50, ""}}) {
        const std::string path = znodes::topic_path(topic);
        auto t = znodes::decode_topic(payload(path));
        ASSERT_TRUE(t) << topic;
        ASSERT_EQ(t->partitions.size(), static_cast<std::size_t>(count)) << topic;
        for (int p = 0; p < count; ++p) {
            EXPECT_EQ(t->partitions.at(p), std::vector<int32_t>{0});
        }
        EXPECT_TRUE(t->adding_replicas.empty());
        EXPECT_TRUE(t->removing_replicas.empty());
        if (!id.empty()) {
            EXPECT_EQ(t->topic_id, id);
        }
        expect_same_json(znodes::encode_topic(*t), parsed_payload(path));
    }
}

TEST(znodes, topic_assignments_round_trip) {
    znodes::topic_assignment t;
    t.topic_id = "AAECAwQFBgcICQoLDA0ODw";
    t.partitions = {{0, {1, 2, 3}}, {1, {2, 3, 4}}, {2, {3, 1, 2}}};
    t.adding_replicas = {{1, {4}}};
    t.removing_replicas = {{1, {1}}, {2, {3}}};
    std::string encoded = znodes::encode_topic(t);
    EXPECT_EQ(znodes::decode_topic(encoded), t);
    expect_same_json(encoded, json::parse(R"({"version":3,"topic_id":"AAECAwQFBgcICQoLDA0ODw",
        "partitions":{"0":[1,2,3],"1":[2,3,4],"2":[3,1,2]},
        "adding_replicas":{"1":[4]},"removing_replicas":{"1":[1],"2":[3]}})"));

    // Versions 1 and 2 (no topic id, no reassignment keys) are read too.
    auto v1 = znodes::decode_topic(R"({"version":1,"partitions":{"1":[5],"0":[6,5]}})");
    ASSERT_TRUE(v1);
    EXPECT_EQ(v1->topic_id, "");
    EXPECT_EQ(v1->partitions, (std::map<int32_t, std::vector<int32_t>>{{0, {6, 5}}, {1, {5}}}));
    // Without a topic id, the encoder writes no topic_id key.
    EXPECT_FALSE(json::parse(znodes::encode_topic(*v1)).contains("topic_id"));
}

TEST(znodes, malformed_topic_assignments_are_refused) {
    for (std::string_view bad : {
             "",
             "not json",
             "[]",
             R"({"partitions":{"0":[1]}})",                               // no version
             R"({"version":4,"partitions":{"0":[1]}})",                   // unknown version
             R"({"version":"3","partitions":{"0":[1]}})",                 // version mistyped
             R"({"version":3})",                                          // no partitions
             R"({"version":3,"partitions":{}})",                          // none at all
             R"({"version":3,"partitions":[[1]]})",                       // not an object
             R"({"version":3,"partitions":{"1":[1]}})",                   // not 0..n-1
             R"({"version":3,"partitions":{"0":[1],"2":[1]}})",           // a gap
             R"({"version":3,"partitions":{"0":[1],"-1":[1]}})",          // negative
             R"({"version":3,"partitions":{"0":[1],"01":[1]}})",          // leading zero
             R"({"version":3,"partitions":{"x":[1]}})",                   // not a number
             R"({"version":3,"partitions":{"0":[]}})",                    // no replicas
             R"({"version":3,"partitions":{"0":[-1]}})",                  // negative broker id
             R"({"version":3,"partitions":{"0":[1,1]}})",                 // duplicate replica
             R"({"version":3,"partitions":{"0":["1"]}})",                 // mistyped replica
             R"({"version":3,"partitions":{"0":[1.5]}})",                 // not an integer
             R"({"version":3,"partitions":{"0":[4294967296]}})",          // beyond int32
             R"({"version":3,"partitions":{"0":1}})",                     // not a list
             R"({"version":3,"partitions":{"0":[1]},"topic_id":5})",      // mistyped id
             R"({"version":3,"partitions":{"0":[1]},"topic_id":"abc"})",  // not a uuid
             R"({"version":3,"partitions":{"0":[1]},"adding_replicas":[]})",
             R"({"version":3,"partitions":{"0":[1]},"adding_replicas":{"1":[2]}})",
             R"({"version":3,"partitions":{"0":[1]},"removing_replicas":{"0":[-2]}})",
         }) {
        EXPECT_FALSE(znodes::decode_topic(bad).has_value()) << bad;
    }
}

// ---- /brokers/topics/<t>/partitions/<p>/state

TEST(znodes, partition_states_match_kafka) {
    for (const auto& topic : {"orders", "compacted", "__consumer_offsets"}) {
        const std::string path = znodes::partition_state_path(topic, 0);
        auto s = znodes::decode_partition_state(payload(path));
        ASSERT_TRUE(s) << path;
        EXPECT_EQ(s->leader, 0);
        EXPECT_EQ(s->leader_epoch, 0);
        EXPECT_EQ(s->isr, std::vector<int32_t>{0});
        EXPECT_EQ(s->controller_epoch, 1);
        EXPECT_EQ(s->leader_recovery_state, 0);
        expect_same_json(znodes::encode_partition_state(*s), parsed_payload(path));
    }
}

TEST(znodes, partition_states_round_trip) {
    znodes::partition_state s{2, 17, {2, 0, 1}, 5, 0};
    EXPECT_EQ(znodes::decode_partition_state(znodes::encode_partition_state(s)), s);
    EXPECT_FALSE(json::parse(znodes::encode_partition_state(s)).contains("leader_recovery_state"));

    znodes::partition_state recovering{-1, 3, {}, 9, 1};
    std::string encoded = znodes::encode_partition_state(recovering);
    EXPECT_EQ(json::parse(encoded)["leader_recovery_state"], 1);
    EXPECT_EQ(znodes::decode_partition_state(encoded), recovering);
}

TEST(znodes, malformed_partition_states_are_refused) {
    for (std::string_view bad : {
             "",
             "{",
             "1",
             R"({"leader":0,"leader_epoch":0,"isr":[0],"controller_epoch":1})",  // no version
             R"({"version":2,"leader":0,"leader_epoch":0,"isr":[0],"controller_epoch":1})",
             R"({"version":1,"leader_epoch":0,"isr":[0],"controller_epoch":1})",
             R"({"version":1,"leader":0,"isr":[0],"controller_epoch":1})",
             R"({"version":1,"leader":0,"leader_epoch":0,"controller_epoch":1})",
             R"({"version":1,"leader":0,"leader_epoch":0,"isr":[0]})",
             R"({"version":1,"leader":"0","leader_epoch":0,"isr":[0],"controller_epoch":1})",
             R"({"version":1,"leader":-2,"leader_epoch":0,"isr":[0],"controller_epoch":1})",
             R"({"version":1,"leader":0,"leader_epoch":-1,"isr":[0],"controller_epoch":1})",
             R"({"version":1,"leader":0,"leader_epoch":0,"isr":[-1],"controller_epoch":1})",
             R"({"version":1,"leader":0,"leader_epoch":0,"isr":0,"controller_epoch":1})",
             R"({"version":1,"leader":0,"leader_epoch":0,"isr":[0],"controller_epoch":-1})",
             R"({"version":1,"leader":0,"leader_epoch":0,"isr":[0],"controller_epoch":1,
                 "leader_recovery_state":2})",
             R"({"version":1,"leader":0,"leader_epoch":0,"isr":[0],"controller_epoch":1,
                 "leader_recovery_state":"1"})",
         }) {
        EXPECT_FALSE(znodes::decode_partition_state(bad).has_value()) << bad;
    }
}

// ---- /controller, /controller_epoch

TEST(znodes, controller_matches_kafka) {
    const std::string path(znodes::controller_path);
    auto c = znodes::decode_controller(payload(path));
    ASSERT_TRUE(c);
    EXPECT_EQ(c->broker_id, 0);
    EXPECT_EQ(c->timestamp_ms, 1796667905232);
    expect_same_json(znodes::encode_controller(*c), parsed_payload(path));

    znodes::controller_registration other{42, 1700000000000};
    EXPECT_EQ(znodes::decode_controller(znodes::encode_controller(other)), other);
    // Version 1 (before kraftControllerEpoch) is read too.
    EXPECT_EQ(znodes::decode_controller(R"({"version":1,"brokerid":3,"timestamp":"12"})"),
              (znodes::controller_registration{3, 12}));

    for (std::string_view bad : {
             "",
             "null",
             R"({"brokerid":0,"timestamp":"1"})",
             R"({"version":3,"brokerid":0,"timestamp":"1"})",
             R"({"version":2,"timestamp":"1"})",
             R"({"version":2,"brokerid":-1,"timestamp":"1"})",
             R"({"version":2,"brokerid":"0","timestamp":"1"})",
             R"({"version":2,"brokerid":0})",
             R"({"version":2,"brokerid":0,"timestamp":1})",
             R"({"version":2,"brokerid":0,"timestamp":"1","kraftControllerEpoch":"x"})",
         }) {
        EXPECT_FALSE(znodes::decode_controller(bad).has_value()) << bad;
    }
}

TEST(znodes, controller_epoch_is_decimal_text) {
    const std::string path(znodes::controller_epoch_path);
    EXPECT_EQ(payload(path), "1");
    EXPECT_EQ(znodes::decode_controller_epoch(payload(path)), 1);
    EXPECT_EQ(znodes::encode_controller_epoch(1), payload(path));
    EXPECT_EQ(znodes::encode_controller_epoch(2147483647), "2147483647");
    EXPECT_EQ(znodes::decode_controller_epoch("0"), 0);
    EXPECT_EQ(znodes::decode_controller_epoch("2147483647"), 2147483647);
    for (std::string_view bad :
         {"", "-1", "+1", " 1", "1 ", "01", "1.0", "x", "2147483648", "99999999999999999999"}) {
        EXPECT_FALSE(znodes::decode_controller_epoch(bad).has_value()) << bad;
    }
}

// ---- /config/...

TEST(znodes, entity_configs_match_kafka) {
    const std::map<std::string, std::map<std::string, std::string>> expected = {
        {"/config/topics/orders",
         {{"cleanup.policy", "delete"},
          {"max.message.bytes", "2000000"},
          {"retention.ms", "7200000"}}},
        {"/config/topics/compacted", {{"cleanup.policy", "compact"}}},
        {"/config/topics/__consumer_offsets",
         {{"cleanup.policy", "compact"},
          {"compression.type", "producer"},
          {"segment.bytes", "104857600"}}},
        {"/config/brokers/0", {{"log.cleaner.threads", "2"}}},
        {"/config/brokers/<default>", {{"log.retention.ms", "86400000"}}},
    };
    for (const auto& [path, config] : expected) {
        auto decoded = znodes::decode_config(payload(path));
        ASSERT_TRUE(decoded) << path;
        EXPECT_EQ(*decoded, config) << path;
        expect_same_json(znodes::encode_config(*decoded), parsed_payload(path));
    }
    EXPECT_EQ(znodes::decode_config(znodes::encode_config({})),
              (std::map<std::string, std::string>{}));

    for (std::string_view bad : {
             "",
             "[]",
             R"({"config":{}})",
             R"({"version":2,"config":{}})",
             R"({"version":1})",
             R"({"version":1,"config":[]})",
             R"({"version":1,"config":{"retention.ms":7200000}})",
             R"({"version":1,"config":{"a":null}})",
         }) {
        EXPECT_FALSE(znodes::decode_config(bad).has_value()) << bad;
    }
}

TEST(znodes, config_changes_match_kafka) {
    const std::map<std::string, std::string> expected = {
        {"/config/changes/config_change_0000000000", "topics/orders"},
        {"/config/changes/config_change_0000000001", "brokers/0"},
        {"/config/changes/config_change_0000000002", "brokers/<default>"},
    };
    for (const auto& [path, entity] : expected) {
        auto decoded = znodes::decode_config_change(payload(path));
        ASSERT_TRUE(decoded) << path;
        EXPECT_EQ(*decoded, entity);
        expect_same_json(znodes::encode_config_change(*decoded), parsed_payload(path));
    }
    EXPECT_EQ(znodes::decode_config_change(znodes::encode_config_change("users/a/clients/b")),
              "users/a/clients/b");
    EXPECT_EQ(znodes::decode_config_change(
                  R"({"version":1,"entity_type":"topics","entity_name":"orders"})"),
              "topics/orders");

    for (std::string_view bad : {
             "",
             "x",
             R"({"entity_path":"topics/orders"})",
             R"({"version":3,"entity_path":"topics/orders"})",
             R"({"version":2})",
             R"({"version":2,"entity_path":1})",
             R"({"version":2,"entity_path":"topics"})",
             R"({"version":2,"entity_path":"/orders"})",
             R"({"version":2,"entity_path":"topics/"})",
             R"({"version":1,"entity_type":"brokers","entity_name":"0"})",
             R"({"version":1,"entity_type":"topics"})",
         }) {
        EXPECT_FALSE(znodes::decode_config_change(bad).has_value()) << bad;
    }
}

// ---- /latest_producer_id_block

TEST(znodes, producer_id_block_matches_kafka) {
    const std::string path(znodes::producer_id_block_path);
    auto b = znodes::decode_producer_id_block(payload(path));
    ASSERT_TRUE(b);
    EXPECT_EQ(*b, (znodes::producer_id_block{0, 0, 999}));
    expect_same_json(znodes::encode_producer_id_block(*b), parsed_payload(path));

    znodes::producer_id_block next{3, 1000, 1999};
    EXPECT_EQ(znodes::decode_producer_id_block(znodes::encode_producer_id_block(next)), next);
    znodes::producer_id_block high{1, 9223372036854774807, 9223372036854775806};
    EXPECT_EQ(znodes::decode_producer_id_block(znodes::encode_producer_id_block(high)), high);

    for (std::string_view bad : {
             "",
             "{}",
             R"({"broker":0,"block_start":"0","block_end":"999"})",
             R"({"version":2,"broker":0,"block_start":"0","block_end":"999"})",
             R"({"version":1,"block_start":"0","block_end":"999"})",
             R"({"version":1,"broker":-1,"block_start":"0","block_end":"999"})",
             R"({"version":1,"broker":0,"block_start":0,"block_end":"999"})",
             R"({"version":1,"broker":0,"block_start":"0","block_end":999})",
             R"({"version":1,"broker":0,"block_start":"0"})",
             R"({"version":1,"broker":0,"block_start":"-1","block_end":"999"})",
             R"({"version":1,"broker":0,"block_start":"10","block_end":"9"})",
             R"({"version":1,"broker":0,"block_start":"0","block_end":"9223372036854775808"})",
             R"({"version":1,"broker":0,"block_start":"0","block_end":"4294967296"})",
         }) {
        EXPECT_FALSE(znodes::decode_producer_id_block(bad).has_value()) << bad;
    }
}

// ---- /feature

TEST(znodes, feature_matches_kafka) {
    expect_same_json(znodes::encode_feature(), parsed_payload(std::string(znodes::feature_path)));
}

}  // namespace
