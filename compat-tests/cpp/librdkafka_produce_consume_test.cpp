// librdkafka (the C library under kcat and confluent-kafka) against the real broker: produce with
// acks=all and idempotence, consume by assign, every compression codec, message size limits, admin
// calls and offsets by time. Each test starts its own broker.
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "compat-tests/cpp/broker_fixture.h"
#include "compat-tests/cpp/rdkafka_util.h"

namespace broker::compat {
namespace {

struct delivery_stats {
    int delivered = 0;
    int failed = 0;
    rd_kafka_resp_err_t last_error = RD_KAFKA_RESP_ERR_NO_ERROR;
};

void on_delivery(rd_kafka_t*, const rd_kafka_message_t* msg, void* opaque) {
    auto* stats = static_cast<delivery_stats*>(opaque);
    if (msg->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        ++stats->failed;
        stats->last_error = msg->err;
    } else {
        ++stats->delivered;
    }
}

kafka_handle make_producer(const std::string& bootstrap, delivery_stats* stats,
                           std::map<std::string, std::string> extra = {}) {
    std::map<std::string, std::string> props{{"bootstrap.servers", bootstrap},
                                             {"acks", "all"},
                                             {"enable.idempotence", "true"},
                                             {"linger.ms", "5"},
                                             {"message.timeout.ms", "30000"}};
    for (auto& [k, v] : extra) {
        props[k] = v;
    }
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    char err[512];
    for (const auto& [k, v] : props) {
        if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof(err)) != RD_KAFKA_CONF_OK) {
            throw std::runtime_error(err);
        }
    }
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_opaque(conf, stats);
    rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (rk == nullptr) {
        throw std::runtime_error(err);
    }
    return kafka_handle(rk);
}

void flush_all(rd_kafka_t* rk) {
    ASSERT_EQ(rd_kafka_flush(rk, 60000), RD_KAFKA_RESP_ERR_NO_ERROR) << "flush timed out";
}

struct consumed {
    int partition;
    int64_t offset;
    std::string key;
    std::string value;
    int64_t timestamp;
    rd_kafka_timestamp_type_t ts_type;
    std::vector<std::pair<std::string, std::string>> headers;
};

/// Reads `expected` messages from all `partitions` of `topic` from the beginning, by assign.
std::vector<consumed> consume_all(const std::string& bootstrap, const std::string& topic,
                                  int partitions, size_t expected) {
    auto rk = make_client(RD_KAFKA_CONSUMER, {{"bootstrap.servers", bootstrap},
                                              {"group.id", "compat-assign"},
                                              {"enable.auto.commit", "false"},
                                              {"enable.partition.eof", "false"}});
    rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(partitions);
    for (int p = 0; p < partitions; ++p) {
        rd_kafka_topic_partition_list_add(list, topic.c_str(), p)->offset =
            RD_KAFKA_OFFSET_BEGINNING;
    }
    EXPECT_EQ(rd_kafka_assign(rk.get(), list), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_topic_partition_list_destroy(list);
    std::vector<consumed> out;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(90);
    while (out.size() < expected && std::chrono::steady_clock::now() < deadline) {
        rd_kafka_message_t* m = rd_kafka_consumer_poll(rk.get(), 200);
        if (m == nullptr) {
            continue;
        }
        if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            ADD_FAILURE() << "consume error: " << rd_kafka_message_errstr(m);
            rd_kafka_message_destroy(m);
            break;
        }
        consumed c;
        c.partition = m->partition;
        c.offset = m->offset;
        if (m->key != nullptr) {
            c.key.assign(static_cast<const char*>(m->key), m->key_len);
        }
        if (m->payload != nullptr) {
            c.value.assign(static_cast<const char*>(m->payload), m->len);
        }
        c.timestamp = rd_kafka_message_timestamp(m, &c.ts_type);
        rd_kafka_headers_t* hdrs = nullptr;
        if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
            const char* name;
            const void* val;
            size_t size;
            for (size_t i = 0;
                 rd_kafka_header_get_all(hdrs, i, &name, &val, &size) == RD_KAFKA_RESP_ERR_NO_ERROR;
                 ++i) {
                c.headers.emplace_back(name,
                                       val ? std::string(static_cast<const char*>(val), size) : "");
            }
        }
        out.push_back(std::move(c));
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(rk.get());
    return out;
}

TEST(librdkafka, produce_100k_keyed_idempotent_and_consume_by_assign) {
    broker_process broker;
    broker.start();
    delivery_stats stats;
    auto producer = make_producer(broker.bootstrap(), &stats);
    auto created = create_topics(producer.get(), {{"keyed", 4}});
    ASSERT_EQ(created["keyed"], RD_KAFKA_RESP_ERR_NO_ERROR);

    constexpr int n = 100000;
    const int64_t base_ts = 1700000000000;
    for (int i = 0; i < n; ++i) {
        std::string key = "key-" + std::to_string(i % 97);
        std::string value = "value-" + std::to_string(i);
        std::string seq = std::to_string(i);
        rd_kafka_resp_err_t err;
        do {
            err = rd_kafka_producev(
                producer.get(), RD_KAFKA_V_TOPIC("keyed"), RD_KAFKA_V_KEY(key.data(), key.size()),
                RD_KAFKA_V_VALUE(value.data(), value.size()),
                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_TIMESTAMP(base_ts + i),
                RD_KAFKA_V_HEADER("seq", seq.data(), static_cast<ssize_t>(seq.size())),
                RD_KAFKA_V_HEADER("origin", "compat", 6), RD_KAFKA_V_END);
            if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                rd_kafka_poll(producer.get(), 50);
            }
        } while (err == RD_KAFKA_RESP_ERR__QUEUE_FULL);
        ASSERT_EQ(err, RD_KAFKA_RESP_ERR_NO_ERROR);
        rd_kafka_poll(producer.get(), 0);
    }
    flush_all(producer.get());
    EXPECT_EQ(stats.delivered, n);
    EXPECT_EQ(stats.failed, 0) << rd_kafka_err2str(stats.last_error);

    auto msgs = consume_all(broker.bootstrap(), "keyed", 4, n);
    ASSERT_EQ(msgs.size(), static_cast<size_t>(n));
    std::map<int, int64_t> last_offset;
    std::map<int, int> last_seq;
    std::map<std::string, int> key_partition;
    for (const auto& m : msgs) {
        ASSERT_EQ(m.headers.size(), 2u);
        ASSERT_EQ(m.headers[0].first, "seq");
        ASSERT_EQ(m.headers[1], (std::pair<std::string, std::string>{"origin", "compat"}));
        int seq = std::stoi(m.headers[0].second);
        EXPECT_EQ(m.value, "value-" + std::to_string(seq));
        EXPECT_EQ(m.key, "key-" + std::to_string(seq % 97));
        EXPECT_EQ(m.timestamp, base_ts + seq);
        EXPECT_EQ(m.ts_type, RD_KAFKA_TIMESTAMP_CREATE_TIME);
        // Same key, same partition; offsets and sequence strictly increase within a partition.
        auto [it, inserted] = key_partition.emplace(m.key, m.partition);
        EXPECT_EQ(it->second, m.partition);
        if (last_offset.count(m.partition) != 0) {
            EXPECT_EQ(m.offset, last_offset[m.partition] + 1);
            EXPECT_GT(seq, last_seq[m.partition]);
        } else {
            EXPECT_EQ(m.offset, 0);
        }
        last_offset[m.partition] = m.offset;
        last_seq[m.partition] = seq;
    }
    EXPECT_EQ(broker.stop(), 0);
}

class librdkafka_codec : public ::testing::TestWithParam<std::string> {};

TEST_P(librdkafka_codec, produce_and_consume) {
    broker_process broker;
    broker.start();
    delivery_stats stats;
    auto producer = make_producer(broker.bootstrap(), &stats, {{"compression.codec", GetParam()}});
    const std::string topic = "codec-" + GetParam();
    constexpr int n = 2000;
    for (int i = 0; i < n; ++i) {
        std::string value(100 + i % 50, static_cast<char>('a' + i % 26));
        value += std::to_string(i);
        ASSERT_EQ(rd_kafka_producev(producer.get(), RD_KAFKA_V_TOPIC(topic.c_str()),
                                    RD_KAFKA_V_VALUE(value.data(), value.size()),
                                    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END),
                  RD_KAFKA_RESP_ERR_NO_ERROR);
    }
    flush_all(producer.get());
    EXPECT_EQ(stats.delivered, n);
    EXPECT_EQ(stats.failed, 0) << rd_kafka_err2str(stats.last_error);
    auto msgs = consume_all(broker.bootstrap(), topic, 1, n);
    ASSERT_EQ(msgs.size(), static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) {
        std::string expected(100 + i % 50, static_cast<char>('a' + i % 26));
        expected += std::to_string(i);
        ASSERT_EQ(msgs[i].value, expected);
        ASSERT_EQ(msgs[i].offset, i);
    }
}

INSTANTIATE_TEST_SUITE_P(codecs, librdkafka_codec,
                         ::testing::Values("none", "gzip", "snappy", "lz4", "zstd"));

TEST(librdkafka, message_max_bytes_limit) {
    broker_process broker;
    broker.start();
    delivery_stats stats;
    // The client limit is raised so the broker's own limit (message.max.bytes = 1048588) decides.
    auto producer = make_producer(broker.bootstrap(), &stats,
                                  {{"message.max.bytes", "4000000"},
                                   {"compression.codec", "none"},
                                   {"enable.idempotence", "false"},
                                   {"linger.ms", "0"},
                                   {"message.send.max.retries", "0"}});
    std::string under(1048588 - 200, 'u');  // batch header and record framing fit in the rest
    std::string over(1048588 + 1000, 'o');
    ASSERT_EQ(rd_kafka_producev(producer.get(), RD_KAFKA_V_TOPIC("sizes"),
                                RD_KAFKA_V_VALUE(under.data(), under.size()),
                                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END),
              RD_KAFKA_RESP_ERR_NO_ERROR);
    flush_all(producer.get());
    EXPECT_EQ(stats.delivered, 1);
    EXPECT_EQ(stats.failed, 0) << rd_kafka_err2str(stats.last_error);
    ASSERT_EQ(rd_kafka_producev(producer.get(), RD_KAFKA_V_TOPIC("sizes"),
                                RD_KAFKA_V_VALUE(over.data(), over.size()),
                                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END),
              RD_KAFKA_RESP_ERR_NO_ERROR);
    flush_all(producer.get());
    EXPECT_EQ(stats.failed, 1);
    EXPECT_EQ(stats.last_error, RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE)
        << rd_kafka_err2str(stats.last_error);
    auto msgs = consume_all(broker.bootstrap(), "sizes", 1, 1);
    ASSERT_EQ(msgs.size(), 1u);
    EXPECT_EQ(msgs[0].value.size(), under.size());
}

TEST(librdkafka, offsets_for_times) {
    broker_process broker;
    broker.start();
    delivery_stats stats;
    auto producer = make_producer(broker.bootstrap(), &stats, {{"linger.ms", "0"}});
    for (int i = 0; i < 10; ++i) {
        std::string v = "t" + std::to_string(i);
        ASSERT_EQ(
            rd_kafka_producev(producer.get(), RD_KAFKA_V_TOPIC("times"),
                              RD_KAFKA_V_VALUE(v.data(), v.size()),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                              RD_KAFKA_V_TIMESTAMP(int64_t{1000000} + i * 1000), RD_KAFKA_V_END),
            RD_KAFKA_RESP_ERR_NO_ERROR);
        flush_all(producer.get());  // one batch per message, so lookups cross batches
    }
    ASSERT_EQ(stats.delivered, 10);
    // librdkafka merges a partition listed twice into one lookup, so each timestamp gets its own
    // call.
    for (auto [ts, expected] : {std::pair<int64_t, int64_t>{1000000 + 4500, 5}, {0, 0}}) {
        rd_kafka_topic_partition_list_t* one = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(one, "times", 0)->offset = ts;
        ASSERT_EQ(rd_kafka_offsets_for_times(producer.get(), one, 10000),
                  RD_KAFKA_RESP_ERR_NO_ERROR);
        EXPECT_EQ(one->elems[0].offset, expected) << "timestamp " << ts;
        rd_kafka_topic_partition_list_destroy(one);
    }
    rd_kafka_topic_partition_list_t* list = nullptr;
    list = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(list, "times", 0)->offset =
        1000000 + 99000;  // after the last
    ASSERT_EQ(rd_kafka_offsets_for_times(producer.get(), list, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
    EXPECT_EQ(list->elems[0].offset, -1);  // RD_KAFKA_OFFSET_END: no such message
    rd_kafka_topic_partition_list_destroy(list);
    int64_t low = -1, high = -1;
    ASSERT_EQ(rd_kafka_query_watermark_offsets(producer.get(), "times", 0, &low, &high, 10000),
              RD_KAFKA_RESP_ERR_NO_ERROR);
    EXPECT_EQ(low, 0);
    EXPECT_EQ(high, 10);
}

}  // namespace
}  // namespace broker::compat
