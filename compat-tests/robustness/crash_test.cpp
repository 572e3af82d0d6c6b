// Crash consistency: an idempotent librdkafka producer (acks=all) writes numbered messages while
// the broker is killed with SIGKILL at pseudo-random moments and restarted on the same log dir.
// At the end every acknowledged message must be in the log exactly once, at the offset its
// delivery report named, in production order within its partition; no message (acknowledged or
// not) may appear twice; and the broker must come back every time.
//
// Environment: CRASH_TEST_KILLS (default 20) kills; CRASH_TEST_SEED (default fixed) seeds the
// delays, so a failing run can be replayed. Each restart's recovery time (fork+exec until the
// port accepts connections) is printed, with the median and maximum at the end.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <map>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/strings.h"
#include "compat-tests/cpp/broker_fixture.h"
#include "compat-tests/cpp/rdkafka_util.h"

namespace broker::compat {
namespace {

constexpr int partitions = 3;
constexpr std::size_t value_padding = 80;

int env_int(const char* name, int fallback) {
    const char* v = std::getenv(name);
    if (v == nullptr || *v == '\0') {
        return fallback;
    }
    return std::atoi(v);
}

/// What the producer learnt from its delivery reports; touched only from rd_kafka_poll/flush
/// on the test thread.
struct delivery_log {
    struct ack {
        int32_t partition = -1;
        int64_t offset = -1;
    };
    std::map<int64_t, ack> acked;                 // sequence number -> where it was written
    std::map<rd_kafka_resp_err_t, int> failures;  // delivery errors by code
    int64_t acked_since_mark = 0;
};

void on_delivery(rd_kafka_t*, const rd_kafka_message_t* msg, void* opaque) {
    auto* log = static_cast<delivery_log*>(opaque);
    if (msg->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        ++log->failures[msg->err];
        return;
    }
    const std::string key(static_cast<const char*>(msg->key), msg->key_len);
    const int64_t seq = std::stoll(key);
    auto [it, inserted] = log->acked.emplace(seq, delivery_log::ack{msg->partition, msg->offset});
    EXPECT_TRUE(inserted) << "sequence " << seq << " acknowledged twice";
    ++log->acked_since_mark;
}

kafka_handle make_producer(const std::string& bootstrap, delivery_log* log) {
    const std::map<std::string, std::string> props{
        {"bootstrap.servers", bootstrap},
        {"acks", "all"},
        {"enable.idempotence", "true"},
        {"linger.ms", "5"},
        // Batches stay well below the test's segment.bytes (a batch larger than a segment is
        // refused with RECORD_LIST_TOO_LARGE, as in Kafka).
        {"batch.size", "65536"},
        {"message.timeout.ms", "60000"},
        // Reconnect quickly: the broker is back within a second of every kill.
        {"reconnect.backoff.ms", "20"},
        {"reconnect.backoff.max.ms", "500"},
        {"retry.backoff.ms", "20"},
        // The outages are expected: keep librdkafka's "brokers are down" errors out of the output.
        {"log_level", "2"},
    };
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    char err[512];
    for (const auto& [k, v] : props) {
        if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof(err)) != RD_KAFKA_CONF_OK) {
            rd_kafka_conf_destroy(conf);
            throw std::runtime_error(err);
        }
    }
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_opaque(conf, log);
    rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (rk == nullptr) {
        throw std::runtime_error(err);
    }
    return kafka_handle(rk);
}

/// Produces message `seq` to partition seq % partitions; waits (polling) while the local queue is
/// full.
void produce_one(rd_kafka_t* rk, const std::string& topic, int64_t seq) {
    const std::string key = std::to_string(seq);
    std::string value = "seq=" + key + ";";
    value.resize(value.size() + value_padding, 'x');
    for (int attempt = 0; attempt < 6000; ++attempt) {
        const rd_kafka_resp_err_t err = rd_kafka_producev(
            rk, RD_KAFKA_V_TOPIC(topic.c_str()),
            RD_KAFKA_V_PARTITION(static_cast<int32_t>(seq % partitions)),
            RD_KAFKA_V_KEY(key.data(), key.size()), RD_KAFKA_V_VALUE(value.data(), value.size()),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            return;
        }
        ASSERT_EQ(err, RD_KAFKA_RESP_ERR__QUEUE_FULL) << rd_kafka_err2str(err);
        rd_kafka_poll(rk, 10);
    }
    FAIL() << "the producer queue stayed full for a minute";
}

struct stored {
    int64_t offset;
    int64_t seq;
};

/// Every message of every partition, from the log start to the high watermark, in offset order.
std::map<int32_t, std::vector<stored>> read_everything(const std::string& bootstrap,
                                                       const std::string& topic) {
    auto rk = make_client(RD_KAFKA_CONSUMER, {{"bootstrap.servers", bootstrap},
                                              {"group.id", "crash-check"},
                                              {"enable.auto.commit", "false"},
                                              {"enable.partition.eof", "true"}});
    std::map<int32_t, int64_t> high;
    for (int32_t p = 0; p < partitions; ++p) {
        int64_t lo = 0;
        int64_t hi = 0;
        const rd_kafka_resp_err_t err =
            rd_kafka_query_watermark_offsets(rk.get(), topic.c_str(), p, &lo, &hi, 10000);
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            ADD_FAILURE() << "watermarks of partition " << p << ": " << rd_kafka_err2str(err);
            return {};
        }
        high[p] = hi;
    }
    rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(partitions);
    for (int32_t p = 0; p < partitions; ++p) {
        rd_kafka_topic_partition_list_add(list, topic.c_str(), p)->offset =
            RD_KAFKA_OFFSET_BEGINNING;
    }
    rd_kafka_assign(rk.get(), list);
    rd_kafka_topic_partition_list_destroy(list);

    std::map<int32_t, std::vector<stored>> out;
    std::map<int32_t, int64_t> next;
    auto done = [&] {
        for (int32_t p = 0; p < partitions; ++p) {
            if (next[p] < high[p]) {
                return false;
            }
        }
        return true;
    };
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!done() && std::chrono::steady_clock::now() < deadline) {
        rd_kafka_message_t* m = rd_kafka_consumer_poll(rk.get(), 200);
        if (m == nullptr) {
            continue;
        }
        if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            const std::string key(static_cast<const char*>(m->key), m->key_len);
            out[m->partition].push_back({m->offset, std::stoll(key)});
            next[m->partition] = m->offset + 1;
        } else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            ADD_FAILURE() << "consume: " << rd_kafka_message_errstr(m);
        }
        rd_kafka_message_destroy(m);
    }
    EXPECT_TRUE(done()) << "could not read every partition up to its high watermark";
    rd_kafka_consumer_close(rk.get());
    return out;
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const std::size_t n = v.size();
    return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/// Lines of the broker's output from byte `from` on that talk about startup or recovery.
std::vector<std::string> startup_lines(const std::string& output, std::size_t from) {
    std::vector<std::string> out;
    std::istringstream in(output.substr(std::min(from, output.size())));
    std::string line;
    while (std::getline(in, line)) {
        const std::string lower = to_lower(line);
        if (lower.find("recover") != std::string::npos ||
            lower.find("listening") != std::string::npos ||
            lower.find("truncat") != std::string::npos) {
            out.push_back(line);
        }
    }
    return out;
}

/// The wall-clock time of a broker log line ("2026-11-25T21:09:31.502Z INFO ..."), if it has one.
std::optional<std::chrono::system_clock::time_point> line_time(const std::string& line) {
    std::tm tm{};
    int millis = 0;
    if (std::sscanf(line.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &tm.tm_year, &tm.tm_mon,
                    &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &millis) != 7) {
        return std::nullopt;
    }
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return std::chrono::system_clock::from_time_t(::timegm(&tm)) +
           std::chrono::milliseconds(millis);
}

TEST(crash, sigkill_loses_no_acknowledged_message_and_duplicates_none) {
    const int kills = env_int("CRASH_TEST_KILLS", 20);
    const unsigned seed = static_cast<unsigned>(env_int("CRASH_TEST_SEED", 20261125));
    std::mt19937 prng(seed);
    std::uniform_int_distribution<int> delay_ms(30, 400);
    std::cout << "[crash] kills=" << kills << " seed=" << seed << std::endl;

    // Small segments, so that kills also land during rolls and producer-state snapshots.
    broker_process broker(
        std::map<std::string, std::string>{{"log.segment.bytes", "262144"}, {"num.shards", "2"}});
    broker.start();
    const std::string topic = "crash";
    {
        auto admin = make_client(RD_KAFKA_PRODUCER, {{"bootstrap.servers", broker.bootstrap()}});
        const auto created = create_topics(admin.get(), {{topic, partitions}});
        ASSERT_EQ(created.at(topic), RD_KAFKA_RESP_ERR_NO_ERROR);
    }

    delivery_log log;
    auto producer = make_producer(broker.bootstrap(), &log);
    int64_t seq = 0;
    // Produces at a bounded rate (about 10k messages/s) for `ms` milliseconds.
    auto produce_for = [&](int ms) {
        const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
        while (std::chrono::steady_clock::now() < until) {
            for (int i = 0; i < 20; ++i) {
                produce_one(producer.get(), topic, seq++);
                if (::testing::Test::HasFatalFailure()) {
                    return;
                }
            }
            rd_kafka_poll(producer.get(), 2);
        }
    };
    // Produces until at least one new acknowledgement arrived (the broker is serving again).
    auto produce_until_acked = [&] {
        log.acked_since_mark = 0;
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
        while (log.acked_since_mark == 0 && std::chrono::steady_clock::now() < deadline) {
            produce_for(10);
        }
        ASSERT_GT(log.acked_since_mark, 0) << "no acknowledgement within 30 s of a restart\n"
                                           << broker.output();
    };

    std::vector<double> recovery_ms;
    std::vector<double> recovered_log_ms;  // exec to the broker's "logs recovered" line
    std::size_t output_seen = broker.output().size();
    for (int k = 1; k <= kills; ++k) {
        ASSERT_NO_FATAL_FAILURE(produce_until_acked());
        produce_for(delay_ms(prng));
        const int status = broker.stop(SIGKILL, 10000);
        ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "status " << status;
        // Keep producing into the outage: these batches are retried against the restarted broker.
        produce_for(delay_ms(prng) / 4);

        const auto begin = std::chrono::steady_clock::now();
        const auto begin_wall = std::chrono::system_clock::now();
        ASSERT_NO_THROW(broker.start()) << "restart " << k << " failed";
        const double ms =
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - begin)
                .count();
        recovery_ms.push_back(ms);
        // The broker announces itself on stdout just after it binds: wait (bounded) for the line so
        // that this restart's lines are printed with it.
        std::string output = broker.output();
        const auto line_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        while (output.find("listening on", output_seen) == std::string::npos &&
               std::chrono::steady_clock::now() < line_deadline) {
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
            output = broker.output();
        }
        std::cout << "[crash] restart " << k << ": listening after " << ms
                  << " ms (exec to accepting connections)" << std::endl;
        for (const std::string& line : startup_lines(output, output_seen)) {
            std::cout << "[crash]   broker: " << line;
            const auto at = line_time(line);
            if (at && line.find("recovered") != std::string::npos) {
                // Millisecond timestamps from the same clock: exec to the end of log recovery.
                const double recovered_ms =
                    std::chrono::duration<double, std::milli>(*at - begin_wall).count();
                recovered_log_ms.push_back(recovered_ms);
                std::cout << "  (" << recovered_ms << " ms after exec)";
            }
            std::cout << std::endl;
        }
        output_seen = output.size();
    }
    ASSERT_NO_FATAL_FAILURE(produce_until_acked());
    const int64_t produced = seq;
    ASSERT_EQ(rd_kafka_flush(producer.get(), 90000), RD_KAFKA_RESP_ERR_NO_ERROR)
        << "flush timed out";
    char fatal[512];
    const rd_kafka_resp_err_t fatal_err =
        rd_kafka_fatal_error(producer.get(), fatal, sizeof(fatal));
    EXPECT_EQ(fatal_err, RD_KAFKA_RESP_ERR_NO_ERROR)
        << "the idempotent producer failed fatally: " << fatal;
    producer.reset();

    std::cout << "[crash] produced " << produced << ", acknowledged " << log.acked.size();
    for (const auto& [err, n] : log.failures) {
        std::cout << ", " << n << " x " << rd_kafka_err2name(err);
    }
    std::cout << std::endl;
    if (!recovery_ms.empty()) {
        std::cout << "[crash] " << recovery_ms.size() << " kills survived; recovery median "
                  << median(recovery_ms) << " ms, max "
                  << *std::max_element(recovery_ms.begin(), recovery_ms.end()) << " ms"
                  << std::endl;
    }
    if (!recovered_log_ms.empty()) {
        std::cout << "[crash] broker's \"logs recovered\" line: median " << median(recovered_log_ms)
                  << " ms, max "
                  << *std::max_element(recovered_log_ms.begin(), recovered_log_ms.end())
                  << " ms after exec (" << recovered_log_ms.size() << " restarts)" << std::endl;
    }
    ASSERT_GT(log.acked.size(), 0U);

    const auto everything = read_everything(broker.bootstrap(), topic);
    std::map<int64_t, std::pair<int32_t, int64_t>> found;  // seq -> (partition, offset)
    std::size_t duplicates = 0;
    for (const auto& [p, messages] : everything) {
        int64_t last_acked_seq = -1;
        for (const stored& m : messages) {
            if (!found.emplace(m.seq, std::make_pair(p, m.offset)).second) {
                if (++duplicates <= 10) {
                    ADD_FAILURE() << "sequence " << m.seq << " stored twice: partition " << p
                                  << " offsets " << found[m.seq].second << " and " << m.offset;
                }
            }
            EXPECT_EQ(m.seq % partitions, p) << "sequence " << m.seq << " in the wrong partition";
            if (log.acked.count(m.seq) != 0) {
                EXPECT_GT(m.seq, last_acked_seq)
                    << "acknowledged messages out of production order in partition " << p
                    << " at offset " << m.offset;
                last_acked_seq = m.seq;
            }
        }
    }
    EXPECT_EQ(duplicates, 0U);
    std::size_t missing = 0;
    for (const auto& [s, where] : log.acked) {
        const auto it = found.find(s);
        if (it == found.end()) {
            if (++missing <= 10) {
                ADD_FAILURE() << "acknowledged sequence " << s << " (partition " << where.partition
                              << ", offset " << where.offset << ") is missing";
            }
            continue;
        }
        EXPECT_EQ(it->second.first, where.partition) << "sequence " << s;
        EXPECT_EQ(it->second.second, where.offset)
            << "sequence " << s << " is not at the acknowledged offset";
    }
    EXPECT_EQ(missing, 0U);
    std::cout << "[crash] stored " << found.size() << " distinct messages, " << missing
              << " acknowledged missing, " << duplicates << " duplicates" << std::endl;
    broker.stop();
}

}  // namespace
}  // namespace broker::compat
