// Topic config: Kafka's defaults, parsing by Kafka name, validation.
#include <gtest/gtest.h>

#include "log/errors.h"
#include "log/log_config.h"

namespace broker::log {
namespace {

TEST(log_config, defaults_are_kafkas) {
    log_config c;
    EXPECT_EQ(c.segment_bytes, 1073741824);
    EXPECT_EQ(c.segment_ms, 604800000);
    EXPECT_EQ(c.segment_index_bytes, 10485760);
    EXPECT_EQ(c.index_interval_bytes, 4096);
    EXPECT_EQ(c.retention_ms, 604800000);
    EXPECT_EQ(c.retention_bytes, -1);
    EXPECT_EQ(c.policy, cleanup_policy::delete_);
    EXPECT_EQ(c.delete_retention_ms, 86400000);
    EXPECT_DOUBLE_EQ(c.min_cleanable_dirty_ratio, 0.5);
    EXPECT_EQ(c.min_compaction_lag_ms, 0);
    EXPECT_EQ(c.max_message_bytes, 1048588);
    EXPECT_EQ(c.message_timestamp_type, protocol::timestamp_type::create_time);
    EXPECT_EQ(c.flush_messages, INT64_MAX);
    EXPECT_EQ(c.flush_ms, INT64_MAX);
    EXPECT_EQ(c.file_delete_delay_ms, 60000);
    EXPECT_FALSE(c.validate());
}

TEST(log_config, apply_by_kafka_name) {
    log_config c;
    EXPECT_FALSE(apply_topic_config(c, "segment.bytes", "2048"));
    EXPECT_EQ(c.segment_bytes, 2048);
    EXPECT_FALSE(apply_topic_config(c, "cleanup.policy", "compact, delete"));
    EXPECT_EQ(c.policy, cleanup_policy::compact_delete);
    EXPECT_TRUE(compacts(c.policy) && deletes(c.policy));
    EXPECT_FALSE(apply_topic_config(c, "cleanup.policy", "compact"));
    EXPECT_EQ(c.policy, cleanup_policy::compact);
    EXPECT_FALSE(apply_topic_config(c, "message.timestamp.type", "LogAppendTime"));
    EXPECT_EQ(c.message_timestamp_type, protocol::timestamp_type::log_append_time);
    EXPECT_FALSE(apply_topic_config(c, "min.cleanable.dirty.ratio", "0.01"));
    EXPECT_DOUBLE_EQ(c.min_cleanable_dirty_ratio, 0.01);
    EXPECT_FALSE(apply_topic_config(c, "retention.ms", "-1"));
    EXPECT_EQ(c.retention_ms, -1);

    log_config before = c;
    EXPECT_EQ(apply_topic_config(c, "segment.bytes", "13"), errc::invalid_config);
    EXPECT_EQ(apply_topic_config(c, "segment.bytes", "abc"), errc::invalid_config);
    EXPECT_EQ(apply_topic_config(c, "segment.bytes", "99999999999"), errc::invalid_config);
    EXPECT_EQ(apply_topic_config(c, "min.cleanable.dirty.ratio", "1.5"), errc::invalid_config);
    EXPECT_EQ(apply_topic_config(c, "cleanup.policy", "remove"), errc::invalid_config);
    EXPECT_EQ(apply_topic_config(c, "message.timestamp.type", "Now"), errc::invalid_config);
    EXPECT_EQ(apply_topic_config(c, "no.such.config", "1"), errc::unknown_config);
    EXPECT_EQ(c, before);
}

TEST(log_config, values_are_trimmed_of_any_whitespace) {
    log_config c;
    EXPECT_FALSE(apply_topic_config(c, "segment.ms", " 100\r\n"));
    EXPECT_EQ(c.segment_ms, 100);
    EXPECT_FALSE(apply_topic_config(c, "cleanup.policy", "\tcompact ,\ndelete\f"));
    EXPECT_EQ(c.policy, cleanup_policy::compact_delete);
    EXPECT_FALSE(apply_topic_config(c, "message.timestamp.type", "LogAppendTime\n"));
    EXPECT_EQ(c.message_timestamp_type, protocol::timestamp_type::log_append_time);
    EXPECT_FALSE(apply_topic_config(c, "min.cleanable.dirty.ratio", "\v0.25 "));
    EXPECT_DOUBLE_EQ(c.min_cleanable_dirty_ratio, 0.25);
    // An empty policy item is still refused (Kafka: not one of compact, delete).
    EXPECT_EQ(apply_topic_config(c, "cleanup.policy", "compact,,delete"), errc::invalid_config);
    EXPECT_EQ(apply_topic_config(c, "cleanup.policy", ""), errc::invalid_config);
    EXPECT_EQ(apply_topic_config(c, "segment.ms", "1 00"), errc::invalid_config);
}

TEST(log_config, entries_round_trip) {
    log_config c;
    c.policy = cleanup_policy::compact_delete;
    c.min_cleanable_dirty_ratio = 0.25;
    c.segment_ms = 1234;
    log_config parsed;
    for (const auto& [name, value] : topic_config_entries(c)) {
        EXPECT_FALSE(apply_topic_config(parsed, name, value)) << name << "=" << value;
    }
    EXPECT_EQ(parsed, c);
}

}  // namespace
}  // namespace broker::log
