// End-to-end benchmark: librdkafka clients against the real broker binary ("ours") and, in the same
// run and with the same client code, against Apache Kafka 3.9 in ZooKeeper mode ("kafka", the
// broker users would run instead, started by scripts/reference-kafka.sh) and librdkafka's in-memory
// mock cluster ("mock": no disk, no fsync, one thread, inside this process). Each workload runs its
// repetitions with the peers interleaved (ours, kafka, mock, ours, ...) so all see the same
// background load; the program prints the median of the repetitions, the min..max spread, ours'
// ratio to each peer and PASS/MISS against the targets in docs/performance.md.
//
// Workloads (--only NAME selects one):
//   produce    1,000,000 x 100 B to 32 partitions, acks=1 and acks=all; broker CPU per million
//   produce1k  300,000 x 1 KiB to 32 partitions, client defaults (acks=all)
//   consume    the 1,000,000 x 100 B read back from the beginning, by assign and with a group
//   latency    end-to-end latency at 10,000 msg/s for 10 s on one partition, defaults and
//              linger.ms=0
//   fsync      acks=all against a second broker (and a second Kafka) with
//              log.flush.interval.messages=1
//   scale      50 producer connections at once into 1,000 partitions versus into 32 partitions
//   footprint  start-to-listening time, VmRSS idle with 100 partitions (peak RSS is printed last)
//
// Every loop is bounded by a deadline and every socket is on loopback. The broker process is owned
// by broker_process (compat-tests/cpp/broker_fixture.h), Kafka and its ZooKeeper by the script
// (stopped by their PIDs), and the mock cluster lives in this process. Single-threaded driver; the
// latency and scale workloads start their own client threads and join them before returning.
#include <arpa/inet.h>
#include <fcntl.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "compat-tests/cpp/broker_fixture.h"
#include "compat-tests/cpp/rdkafka_util.h"

namespace {

using namespace broker::compat;
using clock_type = std::chrono::steady_clock;
using properties = std::map<std::string, std::string>;

double seconds_since(clock_type::time_point start) {
    return std::chrono::duration<double>(clock_type::now() - start).count();
}

double median(std::vector<double> v) {
    if (v.empty()) {
        return std::nan("");
    }
    std::sort(v.begin(), v.end());
    std::size_t n = v.size();
    return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

std::string unique_name(const std::string& prefix) {
    static int counter = 0;
    return prefix + "-" + std::to_string(::getpid()) + "-" + std::to_string(++counter);
}

// ---------------------------------------------------------------------------------------------
// Run parameters.

/// Command-line choices and workload sizes; --quick shrinks the sizes. Read-only after main()
/// parses.
struct options {
    bool quick = false;
    bool verbose = false;  // --verbose: every repetition's consume figures, not only the medians
    bool warmup = true;  // --no-warmup: skip writing and deleting warmup_bytes before the workloads
    std::size_t warmup_bytes = std::size_t{2} << 30;
    int reps = 5;
    std::string only;
    // Sizes; --quick divides them.
    int64_t produce_messages = 1'000'000;
    int64_t produce_1k_messages = 300'000;
    int latency_rate = 10'000;
    int latency_seconds = 10;
    int scale_producers = 50;
    int scale_partitions = 1000;
    int64_t scale_messages = 1'000'000;
    // Apache Kafka as the third peer (--no-kafka leaves it out), started by this script.
    bool kafka = true;
    std::string kafka_script;
};

/// Writes `bytes` of zeros to a temporary file and deletes it, then returns the seconds it took
/// (negative when the file cannot be created).
/// On a virtual machine whose memory the hypervisor backs only on first touch (Firecracker, for
/// one), the first use of each guest page costs several microseconds, charged as system time to
/// whichever process touched it. A freshly booted machine would charge that to the first workloads'
/// page-cache writes and distort their CPU figures by 3x or more; afterwards the kernel reuses the
/// pages this freed. Costs nothing measurable on a machine that has already been used.
double warm_up_page_cache(std::size_t bytes) {
    const auto path = std::filesystem::temp_directory_path() / unique_name("broker-bench-warmup");
    const auto start = clock_type::now();
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        return -1;
    }
    const std::vector<char> block(1 << 20, 0);
    for (std::size_t done = 0; done < bytes;) {
        const ssize_t n = ::write(fd, block.data(), std::min(block.size(), bytes - done));
        if (n <= 0) {
            break;
        }
        done += static_cast<std::size_t>(n);
    }
    ::close(fd);
    std::filesystem::remove(path);
    return std::chrono::duration<double>(clock_type::now() - start).count();
}

bool selected(const options& o, const std::string& name) {
    return o.only.empty() || o.only == name;
}

// ---------------------------------------------------------------------------------------------
// The peers.

/// A broker the workloads run against. Workloads loop over the peers in a fixed order (ours,
/// kafka, mock) within each repetition, so that all of them see the same background load.
class peer {
public:
    explicit peer(std::string name) : name_(std::move(name)) {}
    virtual ~peer() = default;
    peer(const peer&) = delete;
    peer& operator=(const peer&) = delete;

    const std::string& name() const { return name_; }
    virtual std::string bootstrap() const = 0;
    virtual void create_topic(const std::string& topic, int partitions) = 0;
    /// Removes a repetition's topic so that a long run does not fill the disk.
    virtual void delete_topic(const std::string& topic) = 0;
    /// Fresh state for a repetition: the mock replaces its cluster; nothing for a real broker,
    /// whose topics have unique names.
    virtual void reset() {}
    /// The broker's process, or -1 when it runs inside this process (the mock).
    virtual pid_t pid() const { return -1; }

    bool has_process() const { return pid() > 0; }
    /// User + system CPU seconds the broker's process has used so far (0 for the mock).
    double cpu_seconds() const { return has_process() ? process_cpu_seconds(pid()) : 0; }
    /// A field of the broker process's /proc status (VmRSS, VmHWM) in MiB, or NaN.
    double status_mib(const std::string& field) const;

private:
    std::string name_;
};

/// A real broker process, reached through the Admin API for topic creation and deletion.
class process_peer : public peer {
public:
    using peer::peer;

    void create_topic(const std::string& topic, int partitions) override {
        auto admin = make_client(RD_KAFKA_PRODUCER, {{"bootstrap.servers", bootstrap()}});
        auto res = create_topics(admin.get(), {{topic, partitions}});
        if (res[topic] != RD_KAFKA_RESP_ERR_NO_ERROR) {
            throw std::runtime_error(name() + ": create topic " + topic + ": " +
                                     rd_kafka_err2str(res[topic]));
        }
    }

    void delete_topic(const std::string& topic) override {
        auto admin = make_client(RD_KAFKA_PRODUCER, {{"bootstrap.servers", bootstrap()}});
        rd_kafka_DeleteTopic_t* dt = rd_kafka_DeleteTopic_new(topic.c_str());
        rd_kafka_queue_t* q = rd_kafka_queue_new(admin.get());
        rd_kafka_DeleteTopics(admin.get(), &dt, 1, nullptr, q);
        try {
            rd_kafka_event_destroy(wait_admin_result(q, RD_KAFKA_EVENT_DELETETOPICS_RESULT, 30000));
        } catch (const std::exception& e) {
            std::fprintf(stderr, "warning: %s: delete topic %s: %s\n", name().c_str(),
                         topic.c_str(), e.what());
        }
        rd_kafka_queue_destroy(q);
        rd_kafka_DeleteTopic_destroy(dt);
    }
};

/// The system under test: one broker process with a temporary log dir.
class ours_peer final : public process_peer {
public:
    explicit ours_peer(properties overrides = {})
        : process_peer("ours"), process_(std::move(overrides)) {
        process_.start();
    }
    std::string bootstrap() const override { return process_.bootstrap(); }
    pid_t pid() const override { return process_.pid(); }

private:
    broker_process process_;
};

/// Apache Kafka 3.9 in ZooKeeper mode, the broker users would run instead: started and stopped by
/// scripts/reference-kafka.sh (Kafka's jars from Maven Central, Debian's ZooKeeper, -Xmx1g, the
/// log in a temporary directory on the same disk as ours). Only the Kafka process is measured;
/// ZooKeeper runs beside it.
class kafka_peer final : public process_peer {
public:
    /// Starts Kafka with Kafka's defaults plus `overrides` (server.properties keys); throws when it
    /// does not come up.
    kafka_peer(const std::string& script, const properties& overrides);
    ~kafka_peer() override;

    std::string bootstrap() const override { return bootstrap_; }
    pid_t pid() const override { return pid_; }
    /// Kafka's own start, as the script measures it: launch of its JVM to the first Metadata
    /// request answered with its broker registered, in ms (0.1 s resolution).
    double start_ms() const { return start_ms_; }

private:
    std::string script_;
    std::string dir_;
    std::string bootstrap_;
    pid_t pid_ = -1;
    double start_ms_ = std::nan("");
};

/// The in-process reference: librdkafka's mock cluster with one broker. reset() replaces it with
/// a new, empty cluster, which is how its memory is given back between repetitions.
class mock_peer final : public peer {
public:
    mock_peer() : peer("mock") {
        host_ = make_client(RD_KAFKA_PRODUCER, {{"log_level", "3"}});
        reset();
    }
    ~mock_peer() override {
        if (cluster_ != nullptr) {
            rd_kafka_mock_cluster_destroy(cluster_);
        }
    }

    std::string bootstrap() const override { return rd_kafka_mock_cluster_bootstraps(cluster_); }

    void create_topic(const std::string& topic, int partitions) override {
        if (rd_kafka_mock_topic_create(cluster_, topic.c_str(), partitions, 1) !=
            RD_KAFKA_RESP_ERR_NO_ERROR) {
            throw std::runtime_error("mock topic create failed: " + topic);
        }
    }
    void delete_topic(const std::string&) override {}

    void reset() override {
        if (cluster_ != nullptr) {
            rd_kafka_mock_cluster_destroy(cluster_);
        }
        cluster_ = rd_kafka_mock_cluster_new(host_.get(), 1);
        if (cluster_ == nullptr) {
            throw std::runtime_error("rd_kafka_mock_cluster_new failed");
        }
    }

private:
    kafka_handle host_;
    rd_kafka_mock_cluster_t* cluster_ = nullptr;
};

/// The peers of one run, in reporting order; `kafka` is null when Kafka is left out (--no-kafka)
/// or could not start.
struct peers {
    ours_peer* ours = nullptr;
    kafka_peer* kafka = nullptr;
    mock_peer* mock = nullptr;

    std::vector<peer*> all() const {
        std::vector<peer*> v{ours};
        if (kafka != nullptr) {
            v.push_back(kafka);
        }
        v.push_back(mock);
        return v;
    }
};

// ---------------------------------------------------------------------------------------------
// Clients.

/// Delivery-report tallies of one producer. Written by librdkafka's callback on the thread that
/// polls the producer, read by the driver afterwards; atomics so the scale threads can share the
/// type.
struct delivery_counts {
    std::atomic<int64_t> ok{0};
    std::atomic<int64_t> failed{0};
    std::atomic<int> first_error{0};
};

void on_delivery(rd_kafka_t*, const rd_kafka_message_t* msg, void* opaque) {
    auto* counts = static_cast<delivery_counts*>(opaque);
    if (msg->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        counts->ok.fetch_add(1, std::memory_order_relaxed);
    } else {
        counts->failed.fetch_add(1, std::memory_order_relaxed);
        int expected = 0;
        counts->first_error.compare_exchange_strong(expected, static_cast<int>(msg->err));
    }
}

/// A producer whose delivery reports count into `counts`.
kafka_handle make_producer(const std::string& bootstrap, const properties& props,
                           delivery_counts* counts) {
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    char err[512];
    properties all = props;
    all["bootstrap.servers"] = bootstrap;
    for (const auto& [k, v] : all) {
        if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof(err)) != RD_KAFKA_CONF_OK) {
            rd_kafka_conf_destroy(conf);
            throw std::runtime_error("config " + k + ": " + err);
        }
    }
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_opaque(conf, counts);
    rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (rk == nullptr) {
        throw std::runtime_error(std::string("rd_kafka_new: ") + err);
    }
    return kafka_handle(rk);
}

/// Waits (bounded) until the client sees `partitions` partitions of `topic`, each with a leader, so
/// that a timed workload does not include topic creation or the first metadata round trip.
void wait_topic_ready(rd_kafka_t* rk, const std::string& topic, int partitions) {
    rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
    auto deadline = clock_type::now() + std::chrono::seconds(60);
    while (clock_type::now() < deadline) {
        const rd_kafka_metadata_t* md = nullptr;
        if (rd_kafka_metadata(rk, 0, rkt, &md, 2000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
            bool ready = md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR &&
                         md->topics[0].partition_cnt == partitions;
            for (int i = 0; ready && i < md->topics[0].partition_cnt; ++i) {
                ready = md->topics[0].partitions[i].leader >= 0;
            }
            rd_kafka_metadata_destroy(md);
            if (ready) {
                rd_kafka_topic_destroy(rkt);
                return;
            }
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    rd_kafka_topic_destroy(rkt);
    throw std::runtime_error("topic " + topic + " not ready in time");
}

std::vector<char> make_payload(std::size_t size) {
    std::vector<char> v(size);
    for (std::size_t i = 0; i < size; ++i) {
        v[i] = static_cast<char>('a' + (i * 7) % 26);
    }
    return v;
}

/// Outcome of one timed produce run; a run cut short by its time limit has complete == false.
struct produce_result {
    double seconds = 0;
    int64_t delivered = 0;
    int64_t failed = 0;
    bool complete = false;
    double rate() const { return seconds > 0 ? static_cast<double>(delivered) / seconds : 0; }
};

/// Produces `count` messages of `size` bytes with the partitioner's choice of partition, then
/// flushes. Timed from the first produce call to the last delivery report; bounded by `limit`.
produce_result produce_messages(rd_kafka_t* rk, delivery_counts& counts, const std::string& topic,
                                int64_t count, std::size_t size, std::chrono::seconds limit) {
    rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
    std::vector<char> payload = make_payload(size);
    auto start = clock_type::now();
    auto deadline = start + limit;
    bool out_of_time = false;
    for (int64_t i = 0; i < count && !out_of_time; ++i) {
        while (rd_kafka_produce(rkt, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, payload.data(),
                                payload.size(), nullptr, 0, nullptr) != 0) {
            if (rd_kafka_last_error() != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                rd_kafka_topic_destroy(rkt);
                throw std::runtime_error(std::string("produce: ") +
                                         rd_kafka_err2str(rd_kafka_last_error()));
            }
            rd_kafka_poll(rk, 1);
            if (clock_type::now() > deadline) {
                out_of_time = true;
                break;
            }
        }
        if ((i & 1023) == 0) {
            rd_kafka_poll(rk, 0);
        }
    }
    while (rd_kafka_outq_len(rk) > 0 && clock_type::now() < deadline) {
        rd_kafka_flush(rk, 100);
    }
    produce_result r;
    r.seconds = seconds_since(start);
    r.delivered = counts.ok.load();
    r.failed = counts.failed.load();
    r.complete = r.delivered == count;
    if (!r.complete) {
        rd_kafka_purge(rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        rd_kafka_poll(rk, 100);
    }
    rd_kafka_topic_destroy(rkt);
    return r;
}

/// One producer client, created and warmed up (metadata known), then timed over the workload.
produce_result run_produce(const std::string& bootstrap, const std::string& topic, int partitions,
                           int64_t count, std::size_t size, const properties& props) {
    delivery_counts counts;
    auto rk = make_producer(bootstrap, props, &counts);
    wait_topic_ready(rk.get(), topic, partitions);
    return produce_messages(rk.get(), counts, topic, count, size, std::chrono::seconds(180));
}

/// A consumer with its own group id; `extra` overrides the defaults.
kafka_handle make_consumer(const std::string& bootstrap, const std::string& group,
                           const properties& extra = {}) {
    properties p{
        {"bootstrap.servers", bootstrap}, {"group.id", group}, {"auto.offset.reset", "earliest"}};
    for (const auto& [k, v] : extra) {
        p[k] = v;
    }
    return make_client(RD_KAFKA_CONSUMER, p);
}

/// Sum over partitions of (high watermark - low watermark): the messages a reader from the
/// beginning will see.
int64_t retained_messages(const std::string& bootstrap, const std::string& topic, int partitions,
                          int64_t* lost) {
    auto rk = make_consumer(bootstrap, unique_name("watermarks"));
    int64_t total = 0;
    int64_t missing = 0;
    for (int p = 0; p < partitions; ++p) {
        int64_t lo = 0;
        int64_t hi = 0;
        rd_kafka_resp_err_t err =
            rd_kafka_query_watermark_offsets(rk.get(), topic.c_str(), p, &lo, &hi, 10000);
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            throw std::runtime_error(std::string("watermarks: ") + rd_kafka_err2str(err));
        }
        total += hi - lo;
        missing += lo;
    }
    if (lost != nullptr) {
        *lost = missing;
    }
    rd_kafka_consumer_close(rk.get());
    return total;
}

/// Outcome of one timed read from the beginning.
struct consume_result {
    double seconds = 0;        // from the first message to the last
    double setup_seconds = 0;  // from assign/subscribe to the first message (group join for groups)
    int64_t received = 0;
    bool complete = false;
    double longest_gap_seconds = 0;  // the longest wait between two consecutive messages
    double gap_at_seconds = 0;       // when it ended, from the first message
    double rate() const { return seconds > 0 ? static_cast<double>(received) / seconds : 0; }
};

/// Reads `expected` messages of `topic` from the beginning, by assign or by subscribing with a
/// new consumer group. Bounded by 120 s.
consume_result run_consume(const std::string& bootstrap, const std::string& topic, int partitions,
                           int64_t expected, bool group, properties extra = {}) {
    if (!group) {
        extra["enable.auto.commit"] = "false";
    }
    auto rk = make_consumer(bootstrap, unique_name("bench-group"), extra);
    rd_kafka_topic_partition_list_t* list =
        rd_kafka_topic_partition_list_new(group ? 1 : partitions);
    if (group) {
        rd_kafka_topic_partition_list_add(list, topic.c_str(), RD_KAFKA_PARTITION_UA);
    } else {
        for (int p = 0; p < partitions; ++p) {
            rd_kafka_topic_partition_list_add(list, topic.c_str(), p)->offset =
                RD_KAFKA_OFFSET_BEGINNING;
        }
    }
    auto start = clock_type::now();
    rd_kafka_resp_err_t err =
        group ? rd_kafka_subscribe(rk.get(), list) : rd_kafka_assign(rk.get(), list);
    rd_kafka_topic_partition_list_destroy(list);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        throw std::runtime_error(std::string("assign/subscribe: ") + rd_kafka_err2str(err));
    }
    consume_result r;
    auto deadline = start + std::chrono::seconds(120);
    clock_type::time_point first{};
    clock_type::time_point last{};
    while (r.received < expected && clock_type::now() < deadline) {
        rd_kafka_message_t* m = rd_kafka_consumer_poll(rk.get(), 100);
        if (m == nullptr) {
            continue;
        }
        if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            const clock_type::time_point now = clock_type::now();
            if (r.received == 0) {
                first = now;
            } else if (const double gap = std::chrono::duration<double>(now - last).count();
                       gap > r.longest_gap_seconds) {
                r.longest_gap_seconds = gap;
                r.gap_at_seconds = std::chrono::duration<double>(now - first).count();
            }
            ++r.received;
            last = now;
        }
        rd_kafka_message_destroy(m);
    }
    r.complete = r.received >= expected;
    if (r.received > 0) {
        r.seconds = std::chrono::duration<double>(last - first).count();
        r.setup_seconds = std::chrono::duration<double>(first - start).count();
    }
    rd_kafka_consumer_close(rk.get());
    return r;
}

// ---------------------------------------------------------------------------------------------
// Latency.

/// Percentiles of one latency run, in milliseconds, and how many timed messages went and came back.
struct latency_result {
    double p50_ms = 0;
    double p99_ms = 0;
    double p999_ms = 0;
    double max_ms = 0;
    int64_t sent = 0;
    int64_t received = 0;
};

constexpr uint32_t latency_magic = 0x6c617431;  // "lat1": a timed message, not a probe

/// Sends `rate` messages per second for `seconds` to partition 0 of a one-partition topic, each
/// carrying its send time, while a consumer positioned at the end records arrival minus send time.
latency_result run_latency(const std::string& bootstrap, const std::string& topic, int rate,
                           int seconds, const properties& producer_props) {
    delivery_counts counts;
    auto producer = make_producer(bootstrap, producer_props, &counts);
    wait_topic_ready(producer.get(), topic, 1);
    rd_kafka_topic_t* rkt = rd_kafka_topic_new(producer.get(), topic.c_str(), nullptr);
    auto consumer =
        make_consumer(bootstrap, unique_name("bench-latency"), {{"enable.auto.commit", "false"}});
    rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(list, topic.c_str(), 0)->offset = RD_KAFKA_OFFSET_END;
    rd_kafka_assign(consumer.get(), list);
    rd_kafka_topic_partition_list_destroy(list);

    const int64_t total = static_cast<int64_t>(rate) * seconds;
    std::vector<double> samples;
    samples.reserve(static_cast<std::size_t>(total));
    std::atomic<bool> probe_seen{false};
    std::atomic<bool> stop{false};
    // The consumer thread only appends to `samples`; the driver reads it after join().
    std::thread reader([&] {
        while (!stop.load()) {
            rd_kafka_message_t* m = rd_kafka_consumer_poll(consumer.get(), 50);
            if (m == nullptr) {
                continue;
            }
            auto now = clock_type::now().time_since_epoch().count();
            if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR && m->len >= 12) {
                uint32_t magic = 0;
                int64_t sent_at = 0;
                std::memcpy(&magic, m->payload, 4);
                std::memcpy(&sent_at, static_cast<const char*>(m->payload) + 4, 8);
                if (magic == latency_magic) {
                    samples.push_back(static_cast<double>(now - sent_at) / 1e6);
                    if (static_cast<int64_t>(samples.size()) >= total) {
                        stop.store(true);
                    }
                } else {
                    probe_seen.store(true);
                }
            }
            rd_kafka_message_destroy(m);
        }
    });

    std::vector<char> payload = make_payload(100);
    // Probes until the consumer has seen one: it is then positioned and fetching.
    auto probe_deadline = clock_type::now() + std::chrono::seconds(20);
    while (!probe_seen.load() && clock_type::now() < probe_deadline) {
        std::memset(payload.data(), 0, 4);
        rd_kafka_produce(rkt, 0, RD_KAFKA_MSG_F_COPY, payload.data(), payload.size(), nullptr, 0,
                         nullptr);
        rd_kafka_poll(producer.get(), 100);
    }
    latency_result r;
    if (probe_seen.load()) {
        auto start = clock_type::now();
        auto interval = std::chrono::nanoseconds(1'000'000'000LL / rate);
        for (int64_t i = 0; i < total; ++i) {
            std::this_thread::sleep_until(start + interval * i);
            int64_t now = clock_type::now().time_since_epoch().count();
            std::memcpy(payload.data(), &latency_magic, 4);
            std::memcpy(payload.data() + 4, &now, 8);
            while (rd_kafka_produce(rkt, 0, RD_KAFKA_MSG_F_COPY, payload.data(), payload.size(),
                                    nullptr, 0, nullptr) != 0 &&
                   seconds_since(start) < seconds + 30) {
                rd_kafka_poll(producer.get(), 1);
            }
            ++r.sent;
            rd_kafka_poll(producer.get(), 0);
        }
        auto deadline = clock_type::now() + std::chrono::seconds(10);
        while (rd_kafka_outq_len(producer.get()) > 0 && clock_type::now() < deadline) {
            rd_kafka_flush(producer.get(), 100);
        }
        while (!stop.load() && clock_type::now() < deadline) {
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
    } else {
        std::fprintf(stderr, "warning: latency consumer never saw a probe\n");
    }
    stop.store(true);
    reader.join();
    rd_kafka_topic_destroy(rkt);
    rd_kafka_consumer_close(consumer.get());
    r.received = static_cast<int64_t>(samples.size());
    if (!samples.empty()) {
        std::sort(samples.begin(), samples.end());
        auto at = [&](double q) {
            auto idx = static_cast<std::size_t>(q * static_cast<double>(samples.size() - 1));
            return samples[idx];
        };
        r.p50_ms = at(0.50);
        r.p99_ms = at(0.99);
        r.p999_ms = at(0.999);
        r.max_ms = samples.back();
    }
    return r;
}

// ---------------------------------------------------------------------------------------------
// Scale: many producer connections at once.

/// `producers` clients, each on its own thread and connection, together send `count` messages of
/// 100 B to a topic of `partitions` partitions. Timed from a common start to the last flush.
produce_result run_many_producers(const std::string& bootstrap, const std::string& topic,
                                  int partitions, int producers, int64_t count,
                                  const std::function<double()>& cpu_seconds = {},
                                  double* cpu_at_start = nullptr) {
    std::vector<std::unique_ptr<delivery_counts>> counts;
    std::vector<kafka_handle> clients;
    for (int i = 0; i < producers; ++i) {
        counts.push_back(std::make_unique<delivery_counts>());
        clients.push_back(make_producer(bootstrap, {{"sticky.partitioning.linger.ms", "0"}},
                                        counts.back().get()));
    }
    for (auto& c : clients) {
        wait_topic_ready(c.get(), topic, partitions);
    }
    std::vector<produce_result> results(static_cast<std::size_t>(producers));
    std::atomic<int> ready{0};
    std::atomic<bool> go{false};
    std::vector<std::thread> threads;
    const int64_t each = count / producers;
    for (int i = 0; i < producers; ++i) {
        threads.emplace_back([&, i] {
            ready.fetch_add(1);
            while (!go.load()) {
                std::this_thread::yield();
            }
            results[static_cast<std::size_t>(i)] = produce_messages(
                clients[static_cast<std::size_t>(i)].get(), *counts[static_cast<std::size_t>(i)],
                topic, each, 100, std::chrono::seconds(180));
        });
    }
    auto ready_deadline = clock_type::now() + std::chrono::seconds(30);
    while (ready.load() < producers && clock_type::now() < ready_deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    if (cpu_at_start != nullptr) {
        *cpu_at_start = cpu_seconds();
    }
    auto start = clock_type::now();
    go.store(true);
    for (auto& t : threads) {
        t.join();
    }
    produce_result total;
    total.seconds = seconds_since(start);
    total.complete = true;
    for (const auto& r : results) {
        total.delivered += r.delivered;
        total.failed += r.failed;
        total.complete = total.complete && r.complete;
    }
    return total;
}

// ---------------------------------------------------------------------------------------------
// Footprint.

/// Time from fork+exec of the broker binary to the first accepted connection, on an empty data dir.
/// Polls connect() every 200 us, so the resolution is well under a millisecond.
double exec_to_listening_ms(const std::string& binary) {
    std::string dir =
        (std::filesystem::temp_directory_path() / unique_name("broker-bench-start")).string();
    std::filesystem::create_directories(dir);
    int port = free_loopback_port();
    std::vector<std::string> args{binary,
                                  "--override",
                                  "listeners=PLAINTEXT://127.0.0.1:" + std::to_string(port),
                                  "--override",
                                  "log.dirs=" + dir + "/data",
                                  "--override",
                                  "http.listeners="};
    auto start = clock_type::now();
    pid_t pid = ::fork();
    if (pid < 0) {
        throw std::runtime_error("fork failed");
    }
    if (pid == 0) {
        int devnull = ::open("/dev/null", O_RDWR);
        if (devnull >= 0) {
            ::dup2(devnull, 0);
            ::dup2(devnull, 1);
            ::dup2(devnull, 2);
        }
        std::vector<char*> argv;
        for (auto& a : args) {
            argv.push_back(a.data());
        }
        argv.push_back(nullptr);
        ::execv(binary.c_str(), argv.data());
        ::_exit(127);
    }
    double ms = -1;
    auto deadline = start + std::chrono::seconds(20);
    while (clock_type::now() < deadline) {
        int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        addr.sin_port = htons(static_cast<uint16_t>(port));
        bool ok = fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
        if (fd >= 0) {
            ::close(fd);
        }
        if (ok) {
            ms = seconds_since(start) * 1000;
            break;
        }
        int status = 0;
        if (::waitpid(pid, &status, WNOHANG) == pid) {
            pid = -1;
            break;
        }
        std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    if (pid > 0) {
        ::kill(pid, SIGTERM);
        int status = 0;
        for (int i = 0; i < 2000 && ::waitpid(pid, &status, WNOHANG) != pid; ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
            if (i == 1999) {
                ::kill(pid, SIGKILL);
                ::waitpid(pid, &status, 0);
            }
        }
    }
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    return ms;
}

/// A field of /proc/<pid>/status in KiB (VmRSS, VmHWM), or -1.
double proc_status_kib(pid_t pid, const std::string& field) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind(field + ":", 0) == 0) {
            std::istringstream s(line.substr(field.size() + 1));
            double v = -1;
            s >> v;
            return v;
        }
    }
    return -1;
}

double peer::status_mib(const std::string& field) const {
    const double kib = has_process() ? proc_status_kib(pid(), field) : -1;
    return kib < 0 ? std::nan("") : kib / 1024;
}

/// Runs `args` with its output appended to `log`, waiting at most `limit`; returns its exit code,
/// or -1 when it had to be killed or could not start.
int run_command(const std::vector<std::string>& args, const std::string& log,
                std::chrono::seconds limit) {
    const pid_t pid = ::fork();
    if (pid < 0) {
        return -1;
    }
    if (pid == 0) {
        const int in = ::open("/dev/null", O_RDONLY);
        const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (in >= 0 && out >= 0) {
            ::dup2(in, 0);
            ::dup2(out, 1);
            ::dup2(out, 2);
        }
        std::vector<char*> argv;
        for (const auto& a : args) {
            argv.push_back(const_cast<char*>(a.c_str()));
        }
        argv.push_back(nullptr);
        ::execvp(argv[0], argv.data());
        ::_exit(127);
    }
    const auto deadline = clock_type::now() + limit;
    int status = 0;
    while (::waitpid(pid, &status, WNOHANG) != pid) {
        if (clock_type::now() > deadline) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, &status, 0);
            return -1;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/// KEY=VALUE lines of a shell-sourceable file (quotes around a value are dropped).
std::map<std::string, std::string> read_env_file(const std::string& path) {
    std::map<std::string, std::string> env;
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
        const auto eq = line.find('=');
        if (line.empty() || line[0] == '#' || eq == std::string::npos) {
            continue;
        }
        std::string key = line.substr(0, eq);
        if (key.rfind("export ", 0) == 0) {
            key = key.substr(7);
        }
        std::string value = line.substr(eq + 1);
        if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
            value.back() == value.front()) {
            value = value.substr(1, value.size() - 2);
        }
        env[key] = value;
    }
    return env;
}

kafka_peer::kafka_peer(const std::string& script, const properties& overrides)
    : process_peer("kafka"), script_(script) {
    dir_ = (std::filesystem::temp_directory_path() / unique_name("broker-bench-kafka")).string();
    std::filesystem::create_directories(dir_);
    std::vector<std::string> args{"bash", script_, "start", dir_};
    for (const auto& [k, v] : overrides) {
        args.push_back(k + "=" + v);
    }
    const std::string log = dir_ + ".log";
    const int rc = run_command(args, log, std::chrono::seconds(240));
    auto env = read_env_file(dir_ + "/reference.env");
    if (rc != 0 || env["BOOTSTRAP"].empty() || env["KAFKA_PID"].empty()) {
        run_command({"bash", script_, "stop", dir_}, log, std::chrono::seconds(120));
        std::ifstream in(log);
        std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        throw std::runtime_error("reference Kafka did not start (exit " + std::to_string(rc) +
                                 "):\n" + text.substr(text.size() > 4000 ? text.size() - 4000 : 0));
    }
    bootstrap_ = env["BOOTSTRAP"];
    pid_ = static_cast<pid_t>(std::stol(env["KAFKA_PID"]));
    if (!env["KAFKA_START_SECONDS"].empty()) {
        start_ms_ = std::stod(env["KAFKA_START_SECONDS"]) * 1000;
    }
}

kafka_peer::~kafka_peer() {
    run_command({"bash", script_, "stop", dir_}, dir_ + ".log", std::chrono::seconds(120));
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
    std::filesystem::remove(dir_ + ".log", ec);
}

// ---------------------------------------------------------------------------------------------
// Report.

/// A target from docs/performance.md: a bound on the ratio of ours to another peer's median, or on
/// ours' own value.
struct target {
    enum kind { ratio_at_least, ratio_at_most, value_at_most, value_below } type = value_at_most;
    std::string against;  // for the ratios: the peer whose median divides ours'
    double bound = 0;
    std::string text;
};

/// One printed figure: its samples on each peer (one per repetition) and its targets.
struct report_line {
    std::string name;
    std::string unit;
    std::map<std::string, std::vector<double>> samples;  // peer name -> samples
    std::vector<target> goals;

    report_line(std::string n, std::string u) : name(std::move(n)), unit(std::move(u)) {}
    void add(const peer& p, double v) { samples[p.name()].push_back(v); }
    void add(const std::string& peer_name, double v) { samples[peer_name].push_back(v); }
    report_line& goal(target t) {
        goals.push_back(std::move(t));
        return *this;
    }
    /// Median of a peer's samples, NaN when it has none.
    double at(const std::string& peer_name) const {
        auto it = samples.find(peer_name);
        return it == samples.end() ? std::nan("") : median(it->second);
    }
};

/// The targets the issue sets against Apache Kafka, for each kind of figure.
target throughput_vs_kafka() {
    return {target::ratio_at_least, "kafka", 1.0, ">= 1.0x kafka"};
}
target cpu_vs_kafka() {
    return {target::ratio_at_most, "kafka", 1.0 / 3, "<= 1/3 kafka"};
}

/// Prints figures to stdout as they complete and counts PASS/MISS. Used by the driver thread only.
class reporter {
public:
    /// Prints one figure: each peer's median and spread, ours' ratio to each other peer, and a
    /// verdict per target (a target whose peer has no samples is not judged).
    void line(const report_line& l) {
        std::string text;
        char buf[160];
        std::snprintf(buf, sizeof(buf), "%-46s %-6s", l.name.c_str(), l.unit.c_str());
        text += buf;
        for (const char* p : {"ours", "kafka", "mock"}) {
            auto it = l.samples.find(p);
            if (it == l.samples.end() || it->second.empty()) {
                continue;
            }
            const auto& v = it->second;
            std::snprintf(buf, sizeof(buf), "  %s %.4g [%.4g..%.4g]", p, median(v),
                          *std::min_element(v.begin(), v.end()),
                          *std::max_element(v.begin(), v.end()));
            text += buf;
        }
        const double o = l.at("ours");
        for (const char* p : {"kafka", "mock"}) {
            const double other = l.at(p);
            if (!std::isnan(o) && !std::isnan(other) && other != 0) {
                std::snprintf(buf, sizeof(buf), "  ours/%s %.2f", p, o / other);
                text += buf;
            }
        }
        for (const target& g : l.goals) {
            double value = o;
            if (g.type == target::ratio_at_least || g.type == target::ratio_at_most) {
                const double other = l.at(g.against);
                value = (std::isnan(other) || other == 0) ? std::nan("") : o / other;
            }
            if (std::isnan(value)) {
                continue;
            }
            bool pass = false;
            switch (g.type) {
                case target::ratio_at_least: pass = value >= g.bound; break;
                case target::ratio_at_most:
                case target::value_at_most: pass = value <= g.bound; break;
                case target::value_below: pass = value < g.bound; break;
            }
            text += std::string(pass ? "  PASS " : "  MISS ") + g.text;
            (pass ? passes_ : misses_) += 1;
        }
        std::printf("%s\n", text.c_str());
        std::fflush(stdout);
    }
    void note(const std::string& text) {
        std::printf("  note: %s\n", text.c_str());
        std::fflush(stdout);
    }
    void header(const std::string& text) {
        std::printf("\n== %s\n", text.c_str());
        std::fflush(stdout);
    }
    /// A ratio of a peer to itself (fsync vs default, 1,000 vs 32 partitions) with its verdict.
    void verdict(const std::string& name, double ratio, bool pass, const std::string& text) {
        std::printf("%-46s %-6s ours %.2f  %s  %s\n", name.c_str(), "ratio", ratio,
                    pass ? "PASS " : "MISS ", text.c_str());
        std::fflush(stdout);
        (pass ? passes_ : misses_) += 1;
    }
    int passes() const { return passes_; }
    int misses() const { return misses_; }

private:
    int passes_ = 0;
    int misses_ = 0;
};

std::string count_text(int64_t n) {
    if (n % 1'000'000 == 0) {
        return std::to_string(n / 1'000'000) + "M";
    }
    if (n % 1000 == 0) {
        return std::to_string(n / 1000) + "k";
    }
    return std::to_string(n);
}

void warn_incomplete(reporter& out, const std::string& what, const produce_result& r,
                     int64_t wanted) {
    if (!r.complete) {
        out.note(what + ": only " + std::to_string(r.delivered) + " of " + std::to_string(wanted) +
                 " delivered before the time limit (" + std::to_string(r.failed) +
                 " failed); rate is over those");
    }
}

/// Broker CPU seconds per million messages.
double per_million(double cpu_seconds, int64_t messages) {
    return cpu_seconds / (static_cast<double>(std::max<int64_t>(messages, 1)) / 1e6);
}

// ---------------------------------------------------------------------------------------------
// Workloads.

/// One repetition of a produce workload on every peer in turn, each into a fresh 32-partition
/// topic. Adds msg/s, MB/s and the broker's CPU per million to the lines.
void produce_rep(reporter& out, const peers& ps, int64_t count, std::size_t size,
                 const properties& props, report_line& rate, report_line& mbs, report_line& cpu) {
    for (peer* p : ps.all()) {
        const std::string topic = unique_name("bench-produce");
        p->reset();
        p->create_topic(topic, 32);
        const double cpu_before = p->cpu_seconds();
        auto r = run_produce(p->bootstrap(), topic, 32, count, size, props);
        const double cpu_used = p->cpu_seconds() - cpu_before;
        warn_incomplete(out, p->name(), r, count);
        rate.add(*p, r.rate());
        mbs.add(*p, r.rate() * static_cast<double>(size) / 1e6);
        if (p->has_process()) {
            cpu.add(*p, per_million(cpu_used, r.delivered));
        }
        p->delete_topic(topic);
        p->reset();
    }
}

void workload_produce(const options& o, reporter& out, const peers& ps) {
    out.header("produce " + count_text(o.produce_messages) +
               " x 100 B to 32 partitions (client defaults, sticky.partitioning.linger.ms=0)");
    for (std::string acks : {"1", "all"}) {
        report_line rate("produce 100 B acks=" + acks, "msg/s");
        rate.goal({target::ratio_at_least, "mock", 0.9, ">= 0.9x mock"})
            .goal(throughput_vs_kafka());
        report_line mbs("produce 100 B acks=" + acks + " (values)", "MB/s");
        report_line cpu("broker CPU per 1M produced, acks=" + acks, "s/1M");
        cpu.goal({target::value_at_most, "", 0.15, "<= 0.15 s/1M"}).goal(cpu_vs_kafka());
        properties props{{"acks", acks}, {"sticky.partitioning.linger.ms", "0"}};
        for (int rep = 0; rep < o.reps; ++rep) {
            produce_rep(out, ps, o.produce_messages, 100, props, rate, mbs, cpu);
        }
        out.line(rate);
        out.line(mbs);
        out.line(cpu);
    }
}

void workload_produce_1k(const options& o, reporter& out, const peers& ps) {
    out.header(
        "produce " + count_text(o.produce_1k_messages) +
        " x 1 KiB to 32 partitions (client defaults: acks=all; sticky.partitioning.linger.ms=0)");
    report_line rate("produce 1 KiB acks=all", "msg/s");
    rate.goal(throughput_vs_kafka());
    report_line mbs("produce 1 KiB acks=all (values)", "MB/s");
    report_line cpu("broker CPU per 1M produced, 1 KiB", "s/1M");
    cpu.goal(cpu_vs_kafka());
    properties props{{"sticky.partitioning.linger.ms", "0"}};
    for (int rep = 0; rep < o.reps; ++rep) {
        produce_rep(out, ps, o.produce_1k_messages, 1024, props, rate, mbs, cpu);
    }
    out.line(rate);
    out.line(mbs);
    out.line(cpu);
}

void workload_consume(const options& o, reporter& out, const peers& ps) {
    out.header("consume " + count_text(o.produce_messages) +
               " x 100 B from the beginning, 32 partitions");
    out.note(
        "librdkafka's mock keeps only about 5 MiB per partition, so the data set is spread over 32 "
        "partitions (about " +
        std::to_string(o.produce_messages * 100 / 32 / 1024) +
        " KiB of values each) and the mock holds all of it; checked with watermarks below");
    const std::string topic = unique_name("bench-consume");
    const properties props{{"acks", "1"}, {"sticky.partitioning.linger.ms", "0"}};
    std::map<std::string, int64_t> expected;
    for (peer* p : ps.all()) {
        p->reset();
        p->create_topic(topic, 32);
        auto r = run_produce(p->bootstrap(), topic, 32, o.produce_messages, 100, props);
        warn_incomplete(out, p->name() + " (fill)", r, o.produce_messages);
        int64_t lost = 0;
        expected[p->name()] = retained_messages(p->bootstrap(), topic, 32, &lost);
        out.note("retained: " + p->name() + " " + std::to_string(expected[p->name()]) + " (" +
                 std::to_string(lost) + " dropped)");
    }

    // librdkafka 2.0 stops fetching a partition once its local queue holds queued.min.messages
    // (100,000) or queued.max.messages.kbytes (64 MiB), and then waits a fixed 1 s before it
    // fetches it again (later versions call this fetch.queue.backoff.ms). A peer that fills the
    // queue fast meets that timer more often, so with defaults the rates step by whole seconds. The
    // second setting lifts both thresholds above the data set, so the client never waits on its own
    // timer and the rate is the peers' delivery rate; the mock target applies to it.
    const properties unbounded{{"queued.min.messages", "10000000"},
                               {"queued.max.messages.kbytes", "2097151"}};
    struct mode {
        bool group;
        bool defaults;
    };
    for (const mode md :
         {mode{false, true}, mode{true, true}, mode{false, false}, mode{true, false}}) {
        const bool group = md.group;
        std::string how = std::string(group ? "with a consumer group" : "by assign") +
                          (md.defaults ? ", client defaults" : ", queue unbounded");
        const properties extra = md.defaults ? properties{} : unbounded;
        report_line rate("consume 100 B " + how, "msg/s");
        if (!md.defaults) {
            rate.goal({target::ratio_at_least, "mock", 1.0, ">= 1.0x mock"});
        }
        rate.goal(throughput_vs_kafka());
        report_line cpu("broker CPU per 1M consumed, " + how, "s/1M");
        cpu.goal({target::value_at_most, "", 0.05, "<= 0.05 s/1M"}).goal(cpu_vs_kafka());
        report_line setup("time to first message, " + how, "ms");
        for (int rep = 0; rep < o.reps; ++rep) {
            for (peer* p : ps.all()) {
                const int64_t want = expected[p->name()];
                const double cpu_before = p->cpu_seconds();
                auto r = run_consume(p->bootstrap(), topic, 32, want, group, extra);
                const double cpu_used = p->cpu_seconds() - cpu_before;
                if (!r.complete) {
                    out.note(p->name() + ": read only " + std::to_string(r.received) + " of " +
                             std::to_string(want));
                }
                rate.add(*p, r.rate());
                if (p->has_process()) {
                    cpu.add(*p, per_million(cpu_used, r.received));
                }
                setup.add(*p, r.setup_seconds * 1000);
                if (o.verbose) {
                    char buf[200];
                    std::snprintf(buf, sizeof buf,
                                  "rep %d %s: %.0f msg/s over %.3f s, first after %.0f ms, "
                                  "longest gap %.0f ms ending at %.3f s",
                                  rep + 1, p->name().c_str(), r.rate(), r.seconds,
                                  r.setup_seconds * 1000, r.longest_gap_seconds * 1000,
                                  r.gap_at_seconds);
                    out.note(buf);
                }
            }
        }
        out.line(rate);
        out.line(cpu);
        out.line(setup);
    }
    out.note(
        "consume rates are timed from the first message to the last; the time to the first message "
        "(assign + first fetch, or group join + sync + offset fetch) is printed separately");
    for (peer* p : ps.all()) {
        p->delete_topic(topic);
        p->reset();
    }
}

void workload_latency(const options& o, reporter& out, const peers& ps) {
    out.header("end-to-end latency, " + std::to_string(o.latency_rate) + " msg/s for " +
               std::to_string(o.latency_seconds) + " s, 100 B, one partition");
    struct variant {
        std::string name;
        properties props;
        bool defaults;
    };
    const std::vector<variant> variants{variant{"client defaults", {}, true},
                                        variant{"linger.ms=0", {{"linger.ms", "0"}}, false}};
    for (const variant& v : variants) {
        report_line p50("latency " + v.name + " p50", "ms");
        report_line p99("latency " + v.name + " p99", "ms");
        report_line p999("latency " + v.name + " p99.9", "ms");
        report_line max("latency " + v.name + " max", "ms");
        if (v.defaults) {
            p99.goal({target::value_at_most, "", 10, "p99 <= 10 ms"});
        } else {
            p50.goal({target::value_below, "", 1, "p50 < 1 ms"});
        }
        p99.goal({target::ratio_at_most, "kafka", 1.0, "p99 <= kafka"});
        for (int rep = 0; rep < o.reps; ++rep) {
            for (peer* p : ps.all()) {
                const std::string topic = unique_name("bench-latency");
                p->reset();
                p->create_topic(topic, 1);
                auto r =
                    run_latency(p->bootstrap(), topic, o.latency_rate, o.latency_seconds, v.props);
                if (r.received < r.sent || r.sent == 0) {
                    out.note(p->name() + ": received " + std::to_string(r.received) + " of " +
                             std::to_string(r.sent) + " timed messages");
                }
                p50.add(*p, r.p50_ms);
                p99.add(*p, r.p99_ms);
                p999.add(*p, r.p999_ms);
                max.add(*p, r.max_ms);
                p->delete_topic(topic);
            }
        }
        out.line(p50);
        out.line(p99);
        out.line(p999);
        out.line(max);
    }
    out.note(
        "percentiles are over all messages of one repetition; the figure is the median over "
        "repetitions");
}

void workload_fsync(const options& o, reporter& out, const peers& ps) {
    out.header("acks=all with log.flush.interval.messages=1 (fsync before acknowledging), " +
               count_text(o.produce_messages) + " x 100 B, 32 partitions");
    const properties flush_each{{"log.flush.interval.messages", "1"}};
    ours_peer ours_fsync(flush_each);
    std::unique_ptr<kafka_peer> kafka_fsync;
    if (ps.kafka != nullptr) {
        kafka_fsync = std::make_unique<kafka_peer>(o.kafka_script, flush_each);
    }
    std::vector<std::pair<peer*, peer*>> pairs{{&ours_fsync, ps.ours}};
    if (kafka_fsync) {
        pairs.emplace_back(kafka_fsync.get(), ps.kafka);
    }
    report_line rate("produce 100 B acks=all, fsync per batch", "msg/s");
    rate.goal(throughput_vs_kafka());
    report_line defaults("produce 100 B acks=all, default mode", "msg/s");
    defaults.goal(throughput_vs_kafka());
    report_line cpu("broker CPU per 1M produced, fsync per batch", "s/1M");
    cpu.goal(cpu_vs_kafka());
    const properties props{{"acks", "all"}, {"sticky.partitioning.linger.ms", "0"}};
    for (int rep = 0; rep < o.reps; ++rep) {
        // Each peer's fsync broker, then the same peer in its default mode, so that both see the
        // same background load; the mock (no disk) once.
        for (auto [flushing, plain] : pairs) {
            std::string topic = unique_name("bench-fsync");
            flushing->create_topic(topic, 32);
            const double cpu_before = flushing->cpu_seconds();
            auto r = run_produce(flushing->bootstrap(), topic, 32, o.produce_messages, 100, props);
            const double cpu_used = flushing->cpu_seconds() - cpu_before;
            warn_incomplete(out, flushing->name() + " (fsync)", r, o.produce_messages);
            rate.add(*flushing, r.rate());
            cpu.add(*flushing, per_million(cpu_used, r.delivered));
            flushing->delete_topic(topic);

            topic = unique_name("bench-fsync-default");
            plain->create_topic(topic, 32);
            auto d = run_produce(plain->bootstrap(), topic, 32, o.produce_messages, 100, props);
            warn_incomplete(out, plain->name() + " (default)", d, o.produce_messages);
            defaults.add(*plain, d.rate());
            plain->delete_topic(topic);
        }
        const std::string topic = unique_name("bench-fsync-mock");
        ps.mock->reset();
        ps.mock->create_topic(topic, 32);
        auto m = run_produce(ps.mock->bootstrap(), topic, 32, o.produce_messages, 100, props);
        rate.add(*ps.mock, m.rate());
        defaults.add(*ps.mock, m.rate());
        ps.mock->reset();
    }
    out.line(rate);
    out.line(defaults);
    out.line(cpu);
    out.note(
        "mock columns: the mock's acks=all rate (it keeps everything in memory and never fsyncs)");
    const double ratio = rate.at("ours") / defaults.at("ours");
    out.verdict("fsync per batch / default mode (ours)", ratio, ratio >= 0.5, ">= 0.5x default");
    if (kafka_fsync) {
        char buf[96];
        std::snprintf(buf, sizeof(buf), "kafka's own fsync per batch / default mode ratio is %.2f",
                      rate.at("kafka") / defaults.at("kafka"));
        out.note(buf);
    }
    std::printf("  peak RSS (VmHWM) of the fsync broker: ours %.1f MiB",
                ours_fsync.status_mib("VmHWM"));
    if (kafka_fsync) {
        std::printf(", kafka %.1f MiB", kafka_fsync->status_mib("VmHWM"));
    }
    std::printf("\n");
}

void workload_scale(const options& o, reporter& out, const peers& ps) {
    out.header("scale: " + std::to_string(o.scale_producers) + " producer connections at once, " +
               count_text(o.scale_messages) + " x 100 B in total, client defaults (acks=all)");
    const std::string many = std::to_string(o.scale_partitions);
    report_line small("produce, " + std::to_string(o.scale_producers) + " producers, 32 partitions",
                      "msg/s");
    small.goal(throughput_vs_kafka());
    report_line big(
        "produce, " + std::to_string(o.scale_producers) + " producers, " + many + " partitions",
        "msg/s");
    big.goal(throughput_vs_kafka());
    report_line cpu_small("broker CPU per 1M, 32 partitions", "s/1M");
    cpu_small.goal(cpu_vs_kafka());
    report_line cpu_big("broker CPU per 1M, " + many + " partitions", "s/1M");
    cpu_big.goal(cpu_vs_kafka());
    report_line create("create topic, " + many + " partitions (wall)", "ms");
    report_line create_cpu("create topic + first metadata, broker CPU", "s");
    for (int rep = 0; rep < o.reps; ++rep) {
        for (int parts : {32, o.scale_partitions}) {
            for (peer* p : ps.all()) {
                const std::string topic = unique_name("bench-scale");
                p->reset();
                const double cpu_create = p->cpu_seconds();
                const auto t0 = clock_type::now();
                p->create_topic(topic, parts);
                const double create_ms = seconds_since(t0) * 1000;
                double cpu_before = 0;
                auto r = run_many_producers(
                    p->bootstrap(), topic, parts, o.scale_producers, o.scale_messages,
                    [p] { return p->cpu_seconds(); }, &cpu_before);
                const double cpu_used = p->cpu_seconds() - cpu_before;
                warn_incomplete(out, p->name(), r, o.scale_messages);
                (parts == 32 ? small : big).add(*p, r.rate());
                if (p->has_process()) {
                    (parts == 32 ? cpu_small : cpu_big).add(*p, per_million(cpu_used, r.delivered));
                    if (parts != 32) {
                        create.add(*p, create_ms);
                        create_cpu.add(*p, cpu_before - cpu_create);
                    }
                }
                p->delete_topic(topic);
                p->reset();
            }
        }
    }
    out.line(small);
    out.line(big);
    out.line(cpu_small);
    out.line(cpu_big);
    out.line(create);
    out.line(create_cpu);
    const double ratio = big.at("ours") / small.at("ours");
    out.verdict("ours " + many + " / 32 partitions", ratio, ratio >= 0.8,
                ">= 0.8x of 32 partitions");
    for (const char* other : {"kafka", "mock"}) {
        if (!std::isnan(big.at(other))) {
            char buf[96];
            std::snprintf(buf, sizeof(buf), "%s's own %d / 32 partitions ratio is %.2f", other,
                          o.scale_partitions, big.at(other) / small.at(other));
            out.note(buf);
        }
    }
}

void workload_footprint(const options& o, reporter& out, const std::string& binary,
                        bool with_kafka) {
    out.header("footprint");
    report_line start("start to listening, empty data dir", "ms");
    start.goal({target::value_at_most, "", 50, "<= 50 ms"})
        .goal({target::ratio_at_most, "kafka", 1.0 / 20, "<= 1/20 kafka"});
    report_line rss("VmRSS idle, 100 partitions", "MiB");
    rss.goal({target::value_below, "", 64, "< 64 MiB"})
        .goal({target::ratio_at_most, "kafka", 1.0 / 10, "<= 1/10 kafka"});
    const int reps = std::max(o.reps, 5);
    // Kafka takes seconds to start (a JVM, and ZooKeeper beside it each time): three starts.
    const int kafka_reps = with_kafka ? std::min(reps, 3) : 0;
    // Idle: the topic's partitions open, no client connected, and a moment for background work.
    auto idle_rss = [](peer& p) {
        p.create_topic(unique_name("bench-idle"), 100);
        std::this_thread::sleep_for(std::chrono::seconds(2));
        return p.status_mib("VmRSS");
    };
    for (int rep = 0; rep < reps; ++rep) {
        start.add("ours", exec_to_listening_ms(binary));
        auto host = make_client(RD_KAFKA_PRODUCER, {{"log_level", "3"}});
        const auto t0 = clock_type::now();
        rd_kafka_mock_cluster_t* mc = rd_kafka_mock_cluster_new(host.get(), 1);
        start.add("mock", seconds_since(t0) * 1000);
        rd_kafka_mock_cluster_destroy(mc);
        if (rep < kafka_reps) {
            ours_peer idle;
            rss.add(idle, idle_rss(idle));
            kafka_peer kafka(o.kafka_script, {});
            start.add(kafka, kafka.start_ms());
            rss.add(kafka, idle_rss(kafka));
        } else if (rep == 0) {
            ours_peer idle;
            rss.add(idle, idle_rss(idle));
        }
    }
    out.line(start);
    out.note(
        "ours: fork+exec of the broker to its port accepting a connection; kafka: launch of "
        "Kafka's "
        "JVM to its first answered Metadata request (ZooKeeper already up; scripts/"
        "reference-kafka.sh measures it, 0.1 s resolution); mock: rd_kafka_mock_cluster_new() "
        "returning with its listener bound");
    out.line(rss);
}

}  // namespace

int main(int argc, char** argv) {
    options o;
    bool reps_given = false;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--quick") {
            o.quick = true;
        } else if (a == "--verbose") {
            o.verbose = true;
        } else if (a == "--no-warmup") {
            o.warmup = false;
        } else if (a == "--no-kafka") {
            o.kafka = false;
        } else if (a == "--reps" && i + 1 < argc) {
            o.reps = std::max(1, std::atoi(argv[++i]));
            reps_given = true;
        } else if (a == "--only" && i + 1 < argc) {
            o.only = argv[++i];
            const std::vector<std::string> known{"produce", "produce1k", "consume",  "latency",
                                                 "fsync",   "scale",     "footprint"};
            if (std::find(known.begin(), known.end(), o.only) == known.end()) {
                std::fprintf(stderr, "unknown workload: %s\n", o.only.c_str());
                return 2;
            }
        } else {
            std::fprintf(stderr,
                         "usage: %s [--quick] [--verbose] [--no-warmup] [--no-kafka] [--reps N] "
                         "[--only produce|produce1k|consume|latency|fsync|scale|footprint]\n",
                         argv[0]);
            return 2;
        }
    }
    if (o.quick) {
        o.reps = reps_given ? o.reps : 1;
        o.produce_messages = 100'000;
        o.produce_1k_messages = 30'000;
        o.latency_seconds = 2;
        o.scale_producers = 10;
        o.scale_messages = 100'000;
        o.warmup_bytes = std::size_t{512} << 20;
    }
    const char* env = std::getenv("BROKER_BIN");
    std::string binary = env != nullptr ? env : BROKER_BENCH_DEFAULT_BINARY;
    ::setenv("BROKER_BIN", binary.c_str(), 1);
    o.kafka_script = std::string(BROKER_BENCH_SOURCE_DIR) + "/scripts/reference-kafka.sh";
    std::signal(SIGPIPE, SIG_IGN);

    std::printf("broker_bench: broker %s\n", binary.c_str());
    std::printf(
        "ours = the broker binary (one process, its own temp log dir on local disk); kafka = "
        "Apache "
        "Kafka 3.9 in ZooKeeper mode (scripts/reference-kafka.sh: Kafka's defaults, -Xmx1g, its "
        "log "
        "on the same disk); mock = librdkafka %s rd_kafka_mock_cluster (1 broker, in memory, in "
        "this process)\n",
        rd_kafka_version_str());
    std::printf(
        "figures: median of %d repetition(s) [min..max]; ratios are ours/kafka and ours/mock; the "
        "peers alternate within each repetition%s\n",
        o.reps, o.quick ? "; --quick sizes" : "");
    if (o.warmup) {
        const double took = warm_up_page_cache(o.warmup_bytes);
        if (took < 0) {
            std::printf("warm-up: skipped, cannot create a file in %s\n",
                        std::filesystem::temp_directory_path().c_str());
        } else {
            std::printf(
                "warm-up: wrote and deleted %zu MiB in %s in %.2f s (page-cache memory touched "
                "once before any workload; --no-warmup skips it)\n",
                o.warmup_bytes >> 20, std::filesystem::temp_directory_path().c_str(), took);
        }
    }
    std::fflush(stdout);

    reporter out;
    try {
        ours_peer ours;
        std::unique_ptr<kafka_peer> kafka;
        if (o.kafka) {
            try {
                kafka = std::make_unique<kafka_peer>(o.kafka_script, properties{});
                std::printf("kafka: pid %d on %s, started in %.0f ms\n",
                            static_cast<int>(kafka->pid()), kafka->bootstrap().c_str(),
                            kafka->start_ms());
            } catch (const std::exception& e) {
                std::printf("kafka: left out of this run: %s\n", e.what());
            }
            std::fflush(stdout);
        }
        mock_peer mock;
        const peers ps{&ours, kafka.get(), &mock};
        if (selected(o, "produce")) {
            workload_produce(o, out, ps);
        }
        if (selected(o, "produce1k")) {
            workload_produce_1k(o, out, ps);
        }
        if (selected(o, "consume")) {
            workload_consume(o, out, ps);
        }
        if (selected(o, "latency")) {
            workload_latency(o, out, ps);
        }
        if (selected(o, "fsync")) {
            workload_fsync(o, out, ps);
        }
        if (selected(o, "scale")) {
            workload_scale(o, out, ps);
        }
        if (selected(o, "footprint")) {
            workload_footprint(o, out, binary, kafka != nullptr);
        }
        out.header("peak memory");
        report_line peak("peak RSS (VmHWM) of the main broker", "MiB");
        peak.add(ours, ours.status_mib("VmHWM"));
        if (kafka) {
            peak.add(*kafka, kafka->status_mib("VmHWM"));
        }
        peak.goal({target::ratio_at_most, "kafka", 1.0 / 10, "<= 1/10 kafka"});
        out.line(peak);
        std::printf("%-46s %-6s  %.1f\n", "peak RSS of this process (clients + mock)", "MiB",
                    proc_status_kib(::getpid(), "VmHWM") / 1024);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "broker_bench: %s\n", e.what());
        return 1;
    }
    std::printf("\ntargets: %d PASS, %d MISS\n", out.passes(), out.misses());
    return 0;
}
