#include <gtest/gtest.h>

#include <random>

#include "coordinator/consumer_protocol.h"
#include "coordinator/records.h"

namespace broker::server::coordinator {
namespace {

bytes hex(std::string_view h) {
    bytes out;
    for (std::size_t i = 0; i + 1 < h.size(); i += 2) {
        out.push_back(static_cast<uint8_t>(std::stoi(std::string(h.substr(i, 2)), nullptr, 16)));
    }
    return out;
}

TEST(records, offset_commit_key_layout) {
    // version 1, "g", "t", partition 5
    EXPECT_EQ(encode_offset_commit_key({"g", "t", 5}), hex("0001"
                                                           "000167"
                                                           "000174"
                                                           "00000005"));
    EXPECT_EQ(encode_offset_commit_key({"g", "t", 5}, 0), hex("0000"
                                                              "000167"
                                                              "000174"
                                                              "00000005"));
    for (int16_t version : {0, 1}) {
        auto key = decode_record_key(encode_offset_commit_key({"group", "topic", 7}, version));
        ASSERT_TRUE(key);
        EXPECT_EQ(std::get<offset_commit_key>(*key), (offset_commit_key{"group", "topic", 7}));
    }
}

TEST(records, group_metadata_key_layout) {
    EXPECT_EQ(encode_group_metadata_key({"g"}), hex("0002"
                                                    "000167"));
    auto key = decode_record_key(encode_group_metadata_key({"my-group"}));
    ASSERT_TRUE(key);
    EXPECT_EQ(std::get<group_metadata_key>(*key).group, "my-group");
}

TEST(records, unknown_and_malformed_keys) {
    auto key =
        decode_record_key(hex("0003"
                              "000167"));
    ASSERT_TRUE(key);
    EXPECT_EQ(std::get<unknown_key>(*key).version, 3);
    EXPECT_FALSE(decode_record_key(hex("00")));
    EXPECT_FALSE(
        decode_record_key(hex("0001"
                              "0005"
                              "6767")));  // length past the end
    EXPECT_FALSE(
        decode_record_key(hex("0002"
                              "ffff")));  // null group
}

TEST(records, offset_commit_value_layouts) {
    offset_commit_value v{42, 3, "m", 1000, -1};
    // v3: offset, leader epoch, metadata, commit timestamp
    EXPECT_EQ(encode_offset_commit_value(v, 3), hex("0003"
                                                    "000000000000002a"
                                                    "00000003"
                                                    "00016d"
                                                    "00000000000003e8"));
    // v0 and v2: offset, metadata, commit timestamp
    EXPECT_EQ(encode_offset_commit_value(v, 0), hex("0000"
                                                    "000000000000002a"
                                                    "00016d"
                                                    "00000000000003e8"));
    EXPECT_EQ(encode_offset_commit_value(v, 2), hex("0002"
                                                    "000000000000002a"
                                                    "00016d"
                                                    "00000000000003e8"));
    // v1 adds the expire timestamp
    offset_commit_value v1{42, -1, "m", 1000, 2000};
    EXPECT_EQ(encode_offset_commit_value(v1, 1), hex("0001"
                                                     "000000000000002a"
                                                     "00016d"
                                                     "00000000000003e8"
                                                     "00000000000007d0"));
    // v4 is flexible: compact string, empty tagged fields
    EXPECT_EQ(encode_offset_commit_value(v, 4), hex("0004"
                                                    "000000000000002a"
                                                    "00000003"
                                                    "026d"
                                                    "00000000000003e8"
                                                    "00"));
}

TEST(records, offset_commit_value_round_trips_every_version) {
    for (int16_t version = 0; version <= max_offset_commit_value_version; ++version) {
        offset_commit_value v{123456789012, version >= 3 ? 17 : -1, "metadata \xc3\xa9",
                              1'700'000'000'000, version == 1 ? 1'700'000'100'000 : -1};
        auto decoded = decode_offset_commit_value(encode_offset_commit_value(v, version));
        ASSERT_TRUE(decoded) << version;
        EXPECT_EQ(*decoded, v) << version;
    }
}

TEST(records, offset_commit_value_version_kafka_writes) {
    EXPECT_EQ(offset_commit_value_version_for({1, -1, "", 5, -1}), 3);
    EXPECT_EQ(offset_commit_value_version_for({1, -1, "", 5, 10}), 1);
}

group_metadata_value sample_group(int16_t version) {
    group_metadata_value g;
    g.protocol_type = "consumer";
    g.generation = 7;
    g.protocol = "range";
    g.leader = "c1-aaaa";
    g.current_state_timestamp = version >= 2 ? 1'700'000'000'123 : -1;
    group_member_value m1;
    m1.member_id = "c1-aaaa";
    m1.group_instance_id = version >= 3 ? std::optional<std::string>("instance-1") : std::nullopt;
    m1.client_id = "c1";
    m1.client_host = "/127.0.0.1";
    m1.session_timeout = 10000;
    m1.rebalance_timeout = version >= 1 ? 60000 : 10000;
    m1.subscription = {0, 1, 2};
    m1.assignment = {3, 4};
    group_member_value m2 = m1;
    m2.member_id = "c2-bbbb";
    m2.group_instance_id.reset();
    m2.client_id = "c2";
    m2.assignment = {};
    g.members = {m1, m2};
    return g;
}

TEST(records, group_metadata_value_round_trips_every_version) {
    for (int16_t version = 0; version <= max_group_metadata_value_version; ++version) {
        auto g = sample_group(version);
        auto decoded = decode_group_metadata_value(encode_group_metadata_value(g, version));
        ASSERT_TRUE(decoded) << version;
        EXPECT_EQ(*decoded, g) << version;
    }
    group_metadata_value empty;
    empty.protocol_type = "consumer";
    empty.generation = 3;
    auto decoded = decode_group_metadata_value(encode_group_metadata_value(empty, 3));
    ASSERT_TRUE(decoded);
    EXPECT_EQ(*decoded, empty);
}

// One group with every field set; each version writes the fields it has and drops the rest.
group_metadata_value layout_group() {
    group_metadata_value g;
    g.protocol_type = "c";
    g.generation = 1;
    g.protocol = "p";
    g.leader = std::nullopt;
    g.current_state_timestamp = 2;
    group_member_value m;
    m.member_id = "m";
    m.group_instance_id = "g";
    m.client_id = "i";
    m.client_host = "h";
    m.rebalance_timeout = 3;
    m.session_timeout = 4;
    m.subscription = {0xaa};
    m.assignment = {};
    g.members = {m};
    return g;
}

TEST(records, group_metadata_value_v3_layout) {
    // No protocol yet, a leader, a member without an instance id.
    group_metadata_value g = layout_group();
    g.protocol = std::nullopt;
    g.leader = "l";
    g.members[0].group_instance_id = std::nullopt;
    EXPECT_EQ(encode_group_metadata_value(g, 3), hex("0003"
                                                     "000163"
                                                     "00000001"
                                                     "ffff"
                                                     "00016c"
                                                     "0000000000000002"
                                                     "00000001"
                                                     "00016d"
                                                     "ffff"
                                                     "000169"
                                                     "000168"
                                                     "00000003"
                                                     "00000004"
                                                     "00000001aa"
                                                     "00000000"));
}

TEST(records, group_metadata_value_layouts_every_version) {
    const char* const golden[] = {
        // v0: protocol type, generation, protocol, leader (null), members; a member has no
        // rebalance timeout and no instance id.
        "0000"
        "000163"
        "00000001"
        "000170"
        "ffff"
        "00000001"
        "00016d"
        "000169"
        "000168"
        "00000004"
        "00000001aa"
        "00000000",
        // v1: the member's rebalance timeout before its session timeout.
        "0001"
        "000163"
        "00000001"
        "000170"
        "ffff"
        "00000001"
        "00016d"
        "000169"
        "000168"
        "00000003"
        "00000004"
        "00000001aa"
        "00000000",
        // v2: the current state timestamp after the leader.
        "0002"
        "000163"
        "00000001"
        "000170"
        "ffff"
        "0000000000000002"
        "00000001"
        "00016d"
        "000169"
        "000168"
        "00000003"
        "00000004"
        "00000001aa"
        "00000000",
        // v3: the member's instance id after its member id.
        "0003"
        "000163"
        "00000001"
        "000170"
        "ffff"
        "0000000000000002"
        "00000001"
        "00016d"
        "000167"
        "000169"
        "000168"
        "00000003"
        "00000004"
        "00000001aa"
        "00000000",
        // v4: compact lengths (length + 1, 0 = null) and an empty tag section after the member
        // and after the value.
        "0004"
        "0263"
        "00000001"
        "0270"
        "00"
        "0000000000000002"
        "02"
        "026d"
        "0267"
        "0269"
        "0268"
        "00000003"
        "00000004"
        "02aa"
        "01"
        "00"
        "00",
    };
    for (int16_t version = 0; version <= max_group_metadata_value_version; ++version) {
        EXPECT_EQ(encode_group_metadata_value(layout_group(), version), hex(golden[version]))
            << version;
        // Reading the golden bytes back gives the fields of that version, the rest at defaults.
        group_metadata_value expected = layout_group();
        if (version < 3) {
            expected.members[0].group_instance_id.reset();
        }
        if (version < 2) {
            expected.current_state_timestamp = -1;
        }
        if (version < 1) {
            expected.members[0].rebalance_timeout = expected.members[0].session_timeout;
        }
        auto decoded = decode_group_metadata_value(hex(golden[version]));
        ASSERT_TRUE(decoded) << version;
        EXPECT_EQ(*decoded, expected) << version;
    }
    // v4 with every nullable field null and no members.
    group_metadata_value empty;
    empty.protocol_type = "c";
    empty.generation = 1;
    empty.protocol = std::nullopt;
    EXPECT_EQ(encode_group_metadata_value(empty, 4), hex("0004"
                                                         "0263"
                                                         "00000001"
                                                         "00"
                                                         "00"
                                                         "ffffffffffffffff"
                                                         "01"
                                                         "00"));
}

TEST(records, offset_commit_value_layouts_read_back) {
    // The same bytes as offset_commit_value_layouts, read back: absent fields read as -1.
    EXPECT_EQ(decode_offset_commit_value(hex("0000"
                                             "000000000000002a"
                                             "00016d"
                                             "00000000000003e8")),
              (offset_commit_value{42, -1, "m", 1000, -1}));
    EXPECT_EQ(decode_offset_commit_value(hex("0001"
                                             "000000000000002a"
                                             "00016d"
                                             "00000000000003e8"
                                             "00000000000007d0")),
              (offset_commit_value{42, -1, "m", 1000, 2000}));
    EXPECT_EQ(decode_offset_commit_value(hex("0003"
                                             "000000000000002a"
                                             "00000003"
                                             "00016d"
                                             "00000000000003e8")),
              (offset_commit_value{42, 3, "m", 1000, -1}));
    // v4 with a tag this broker does not know: skipped, and not written back.
    const bytes tagged =
        hex("0004"
            "000000000000002a"
            "00000003"
            "026d"
            "00000000000003e8"
            "01"
            "05"
            "02"
            "abcd");
    auto decoded = decode_offset_commit_value(tagged);
    ASSERT_TRUE(decoded);
    EXPECT_EQ(*decoded, (offset_commit_value{42, 3, "m", 1000, -1}));
    EXPECT_EQ(encode_offset_commit_value(*decoded, 4), hex("0004"
                                                           "000000000000002a"
                                                           "00000003"
                                                           "026d"
                                                           "00000000000003e8"
                                                           "00"));
    // Trailing bytes after a complete value are ignored, as Kafka does.
    EXPECT_TRUE(
        decode_offset_commit_value(hex("0003"
                                       "000000000000002a"
                                       "00000003"
                                       "00016d"
                                       "00000000000003e8"
                                       "ffff")));
}

TEST(records, garbage_values_are_errors) {
    // Null metadata: the string is not nullable.
    EXPECT_FALSE(
        decode_offset_commit_value(hex("0003"
                                       "000000000000002a"
                                       "00000003"
                                       "ffff"
                                       "00000000000003e8")));
    // A string length below -1.
    EXPECT_FALSE(
        decode_offset_commit_value(hex("0000"
                                       "000000000000002a"
                                       "fffe"
                                       "00000000000003e8")));
    // v4: a compact length whose varint never ends.
    EXPECT_FALSE(
        decode_offset_commit_value(hex("0004"
                                       "000000000000002a"
                                       "00000003"
                                       "ffffffffffff")));
    // v4: a tagged field longer than what is left.
    EXPECT_FALSE(
        decode_offset_commit_value(hex("0004"
                                       "000000000000002a"
                                       "00000003"
                                       "026d"
                                       "00000000000003e8"
                                       "01"
                                       "05"
                                       "05"
                                       "abcd")));
    // A null protocol type, then a null member array: neither is nullable.
    EXPECT_FALSE(
        decode_group_metadata_value(hex("0001"
                                        "ffff"
                                        "00000001"
                                        "ffff"
                                        "ffff"
                                        "00000000")));
    EXPECT_FALSE(
        decode_group_metadata_value(hex("0001"
                                        "000163"
                                        "00000001"
                                        "ffff"
                                        "ffff"
                                        "ffffffff")));
    // Not a value at all.
    EXPECT_FALSE(decode_group_metadata_value(hex("")));
    EXPECT_FALSE(decode_group_metadata_value(hex("0004")));
    EXPECT_FALSE(decode_offset_commit_value(hex("00")));
}

TEST(records, a_member_id_longer_than_a_record_string_is_never_stored) {
    // A member id is the client id plus a UUID, so a client id at the string limit makes one that
    // no record can hold. Encoding must not throw, and what it writes does not load.
    auto g = sample_group(3);
    g.members[0].member_id = std::string(32767, 'c') + "-" + std::string(36, 'u');
    g.leader = g.members[0].member_id;
    bytes value;
    ASSERT_NO_THROW(value = encode_group_metadata_value(g, 3));
    EXPECT_FALSE(decode_group_metadata_value(value));
}

TEST(records, truncated_values_are_rejected_at_every_length) {
    auto offset = encode_offset_commit_value({1, 2, "meta", 3, -1}, 3);
    for (std::size_t n = 0; n < offset.size(); ++n) {
        EXPECT_FALSE(decode_offset_commit_value(std::span(offset.data(), n))) << n;
    }
    for (int16_t version = 0; version <= max_group_metadata_value_version; ++version) {
        auto group = encode_group_metadata_value(sample_group(version), version);
        for (std::size_t n = 0; n < group.size(); ++n) {
            EXPECT_FALSE(decode_group_metadata_value(std::span(group.data(), n)))
                << version << " " << n;
        }
    }
}

TEST(records, unknown_value_versions_and_huge_counts_are_rejected) {
    EXPECT_FALSE(
        decode_offset_commit_value(hex("0005"
                                       "0000000000000001"
                                       "0000"
                                       "0000000000000001")));
    EXPECT_FALSE(decode_group_metadata_value(hex("ffff")));
    // A member count far beyond the remaining bytes fails without allocating.
    EXPECT_FALSE(
        decode_group_metadata_value(hex("0003"
                                        "0000"
                                        "00000001"
                                        "ffff"
                                        "ffff"
                                        "0000000000000000"
                                        "7fffffff")));
}

TEST(records, random_bytes_never_crash) {
    std::mt19937 rng(12345);
    for (int i = 0; i < 2000; ++i) {
        bytes b(rng() % 64);
        for (auto& x : b) {
            x = static_cast<uint8_t>(rng());
        }
        if (!b.empty() && (i % 3) == 0) {
            b[0] = 0;  // often a plausible version
            if (b.size() > 1) {
                b[1] = static_cast<uint8_t>(rng() % 5);
            }
        }
        (void)decode_record_key(b);
        (void)decode_offset_commit_value(b);
        (void)decode_group_metadata_value(b);
        (void)decode_subscription_topics(b);
    }
}

TEST(consumer_protocol, subscription_topics_every_version) {
    // version 0: topics ["a", "bc"], user data null
    EXPECT_EQ(decode_subscription_topics(hex("0000"
                                             "00000002"
                                             "000161"
                                             "00026263"
                                             "ffffffff")),
              (std::vector<std::string>{"a", "bc"}));
    // version 3 with owned partitions, generation and rack appended: only topics are read
    EXPECT_EQ(decode_subscription_topics(hex("0003"
                                             "00000001"
                                             "000174"
                                             "00000000"
                                             "00000000"
                                             "ffffffff"
                                             "ffff")),
              (std::vector<std::string>{"t"}));
    // The version value is ignored, as by Kafka's coordinator: the body is read as version 0.
    EXPECT_EQ(decode_subscription_topics(hex("ffff"
                                             "00000000"
                                             "ffffffff")),
              (std::vector<std::string>{}));
    EXPECT_FALSE(
        decode_subscription_topics(hex("0000"
                                       "00000002"
                                       "000161")));  // truncated
    EXPECT_FALSE(decode_subscription_topics(hex("0001")));
}

}  // namespace
}  // namespace broker::server::coordinator
