// End-to-end benchmark: librdkafka clients against the real broker binary ("ours") and, in the same
// run and with the same client code, against librdkafka's in-memory mock cluster ("mock", the
// reference peer: no disk, no fsync, one thread). Each workload runs its repetitions interleaved
// (ours, mock, ours, mock, ...) so both peers see the same background load; the program prints the
// median of the repetitions, the min..max spread, the ratio ours/mock and PASS/MISS against the
// targets in docs/performance.md.
//
// Workloads (--only NAME selects one):
//   produce    1,000,000 x 100 B to 32 partitions, acks=1 and acks=all; broker CPU per million
//   produce1k  300,000 x 1 KiB to 32 partitions, client defaults (acks=all)
//   consume    the 1,000,000 x 100 B read back from the beginning, by assign and with a group
//   latency    end-to-end latency at 10,000 msg/s for 10 s on one partition, defaults and
//   linger.ms=0 fsync      acks=all against a second broker with log.flush.interval.messages=1
//   scale      50 producer connections at once into 1,000 partitions versus into 32 partitions
//   footprint  exec-to-listening time, VmRSS idle with 100 partitions (peak RSS is printed last)
//
// Every loop is bounded by a deadline and every socket is on loopback. The broker process is owned
// by broker_process (compat-tests/cpp/broker_fixture.h); the mock cluster lives in this process.
// Single-threaded driver; the latency and scale workloads start their own client threads and join
// them before returning.
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
// The two peers.

/// The system under test: one broker process with a temporary log dir. Topics are deleted after
/// each repetition so that the disk does not fill up over a long run.
class ours_peer {
public:
    explicit ours_peer(properties overrides = {}) : process_(std::move(overrides)) {
        process_.start();
    }

    std::string bootstrap() const { return process_.bootstrap(); }
    double cpu_seconds() const { return process_.cpu_seconds(); }
    const broker_process& process() const { return process_; }

    void create_topic(const std::string& topic, int partitions) {
        auto admin = make_client(RD_KAFKA_PRODUCER, {{"bootstrap.servers", bootstrap()}});
        auto res = create_topics(admin.get(), {{topic, partitions}});
        if (res[topic] != RD_KAFKA_RESP_ERR_NO_ERROR) {
            throw std::runtime_error("create topic " + topic + ": " + rd_kafka_err2str(res[topic]));
        }
    }

    void delete_topic(const std::string& topic) {
        auto admin = make_client(RD_KAFKA_PRODUCER, {{"bootstrap.servers", bootstrap()}});
        rd_kafka_DeleteTopic_t* dt = rd_kafka_DeleteTopic_new(topic.c_str());
        rd_kafka_queue_t* q = rd_kafka_queue_new(admin.get());
        rd_kafka_DeleteTopics(admin.get(), &dt, 1, nullptr, q);
        try {
            rd_kafka_event_destroy(wait_admin_result(q, RD_KAFKA_EVENT_DELETETOPICS_RESULT, 30000));
        } catch (const std::exception& e) {
            std::fprintf(stderr, "warning: delete topic %s: %s\n", topic.c_str(), e.what());
        }
        rd_kafka_queue_destroy(q);
        rd_kafka_DeleteTopic_destroy(dt);
    }

    /// Fresh state for a repetition that needs it: nothing to do, topics have unique names.
    void reset() {}

private:
    broker_process process_;
};

/// The reference: librdkafka's mock cluster with one broker, in this process. reset() replaces
/// it with a new, empty cluster, which is how its memory is given back between repetitions.
class mock_peer {
public:
    mock_peer() {
        host_ = make_client(RD_KAFKA_PRODUCER, {{"log_level", "3"}});
        reset();
    }
    ~mock_peer() {
        if (cluster_ != nullptr) {
            rd_kafka_mock_cluster_destroy(cluster_);
        }
    }
    mock_peer(const mock_peer&) = delete;
    mock_peer& operator=(const mock_peer&) = delete;

    std::string bootstrap() const { return rd_kafka_mock_cluster_bootstraps(cluster_); }

    void create_topic(const std::string& topic, int partitions) {
        if (rd_kafka_mock_topic_create(cluster_, topic.c_str(), partitions, 1) !=
            RD_KAFKA_RESP_ERR_NO_ERROR) {
            throw std::runtime_error("mock topic create failed: " + topic);
        }
    }
    void delete_topic(const std::string&) {}

    void reset() {
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
    auto deadline = clock_type::now() + std::chrono::seconds(30);
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

// ---------------------------------------------------------------------------------------------
// Report.

/// A target from docs/performance.md: a bound on the ratio ours/mock or on ours' own value.
struct target {
    enum kind { none, ratio_at_least, value_at_most, value_below } type = none;
    double bound = 0;
    std::string text;
};

/// One printed figure: its samples on each peer (one per repetition) and its target, if any.
struct report_line {
    std::string name;
    std::string unit;
    std::vector<double> ours;
    std::vector<double> mock;
    target goal;
};

/// Prints figures to stdout as they complete and counts PASS/MISS. Used by the driver thread only.
class reporter {
public:
    /// Prints one figure: medians, spreads, ratio ours/mock, and PASS/MISS against `goal`.
    void line(const report_line& l) {
        double o = median(l.ours);
        double m = median(l.mock);
        double ratio = (!l.mock.empty() && m != 0) ? o / m : std::nan("");
        std::string verdict;
        if (l.goal.type != target::none) {
            bool pass = false;
            switch (l.goal.type) {
                case target::ratio_at_least: pass = ratio >= l.goal.bound; break;
                case target::value_at_most: pass = o <= l.goal.bound; break;
                case target::value_below: pass = o < l.goal.bound; break;
                case target::none: break;
            }
            verdict = (pass ? "PASS  " : "MISS  ") + l.goal.text;
            (pass ? passes_ : misses_) += 1;
        }
        auto spread = [](const std::vector<double>& v) {
            if (v.empty()) {
                return std::string("-");
            }
            char buf[64];
            std::snprintf(buf, sizeof(buf), "%.4g..%.4g", *std::min_element(v.begin(), v.end()),
                          *std::max_element(v.begin(), v.end()));
            return std::string(buf);
        };
        char ratio_text[32] = "-";
        if (!std::isnan(ratio)) {
            std::snprintf(ratio_text, sizeof(ratio_text), "%.2f", ratio);
        }
        char mock_text[32] = "-";
        if (!l.mock.empty()) {
            std::snprintf(mock_text, sizeof(mock_text), "%.4g", m);
        }
        std::printf("%-46s %-10s ours %10.4g [%s]  mock %10s [%s]  ours/mock %5s  %s\n",
                    l.name.c_str(), l.unit.c_str(), o, spread(l.ours).c_str(), mock_text,
                    spread(l.mock).c_str(), ratio_text, verdict.c_str());
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
    /// A ratio of ours to ours (fsync vs default, 1,000 vs 32 partitions) with its verdict.
    void verdict(const std::string& name, double ratio, bool pass, const std::string& text) {
        std::printf("%-46s %-10s ours %10.2f  %s  %s\n", name.c_str(), "ratio", ratio,
                    pass ? "PASS  " : "MISS  ", text.c_str());
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

// ---------------------------------------------------------------------------------------------
// Workloads.

/// One repetition of a produce workload on each peer (ours first), into fresh 32-partition topics.
/// Adds msg/s, MB/s and ours' CPU per million to the lines.
void produce_rep(reporter& out, ours_peer& ours, mock_peer& mock, int64_t count, std::size_t size,
                 const properties& props, report_line& rate, report_line& mbs, report_line& cpu) {
    std::string topic = unique_name("bench-produce");
    ours.create_topic(topic, 32);
    double cpu_before = ours.cpu_seconds();
    auto r = run_produce(ours.bootstrap(), topic, 32, count, size, props);
    double cpu_used = ours.cpu_seconds() - cpu_before;
    warn_incomplete(out, "ours", r, count);
    rate.ours.push_back(r.rate());
    mbs.ours.push_back(r.rate() * static_cast<double>(size) / 1e6);
    cpu.ours.push_back(cpu_used / (static_cast<double>(std::max<int64_t>(r.delivered, 1)) / 1e6));
    ours.delete_topic(topic);

    mock.reset();
    mock.create_topic(topic, 32);
    auto m = run_produce(mock.bootstrap(), topic, 32, count, size, props);
    warn_incomplete(out, "mock", m, count);
    rate.mock.push_back(m.rate());
    mbs.mock.push_back(m.rate() * static_cast<double>(size) / 1e6);
    mock.reset();
}

void workload_produce(const options& o, reporter& out, ours_peer& ours, mock_peer& mock) {
    out.header("produce " + count_text(o.produce_messages) +
               " x 100 B to 32 partitions (client defaults, sticky.partitioning.linger.ms=0)");
    for (std::string acks : {"1", "all"}) {
        report_line rate{"produce 100 B acks=" + acks, "msg/s", {}, {}, {}};
        rate.goal = {target::ratio_at_least, 0.9, ">= 0.9x mock"};
        report_line mbs{"produce 100 B acks=" + acks + " (values)", "MB/s", {}, {}, {}};
        report_line cpu{"broker CPU per 1M produced, acks=" + acks, "s/1M", {}, {}, {}};
        cpu.goal = {target::value_at_most, 0.15, "<= 0.15 s/1M"};
        properties props{{"acks", acks}, {"sticky.partitioning.linger.ms", "0"}};
        for (int rep = 0; rep < o.reps; ++rep) {
            produce_rep(out, ours, mock, o.produce_messages, 100, props, rate, mbs, cpu);
        }
        out.line(rate);
        out.line(mbs);
        out.line(cpu);
    }
}

void workload_produce_1k(const options& o, reporter& out, ours_peer& ours, mock_peer& mock) {
    out.header(
        "produce " + count_text(o.produce_1k_messages) +
        " x 1 KiB to 32 partitions (client defaults: acks=all; sticky.partitioning.linger.ms=0)");
    report_line rate{"produce 1 KiB acks=all", "msg/s", {}, {}, {}};
    report_line mbs{"produce 1 KiB acks=all (values)", "MB/s", {}, {}, {}};
    report_line cpu{"broker CPU per 1M produced, 1 KiB", "s/1M", {}, {}, {}};
    properties props{{"sticky.partitioning.linger.ms", "0"}};
    for (int rep = 0; rep < o.reps; ++rep) {
        produce_rep(out, ours, mock, o.produce_1k_messages, 1024, props, rate, mbs, cpu);
    }
    out.line(rate);
    out.line(mbs);
    out.line(cpu);
}

void workload_consume(const options& o, reporter& out, ours_peer& ours, mock_peer& mock) {
    out.header("consume " + count_text(o.produce_messages) +
               " x 100 B from the beginning, 32 partitions");
    out.note(
        "librdkafka's mock keeps only about 5 MiB per partition, so the data set is spread over 32 "
        "partitions (about " +
        std::to_string(o.produce_messages * 100 / 32 / 1024) +
        " KiB of values each) and the mock holds all of it; checked with watermarks below");
    std::string topic = unique_name("bench-consume");
    properties props{{"acks", "1"}, {"sticky.partitioning.linger.ms", "0"}};
    ours.create_topic(topic, 32);
    auto pr = run_produce(ours.bootstrap(), topic, 32, o.produce_messages, 100, props);
    warn_incomplete(out, "ours (fill)", pr, o.produce_messages);
    mock.reset();
    mock.create_topic(topic, 32);
    auto pm = run_produce(mock.bootstrap(), topic, 32, o.produce_messages, 100, props);
    warn_incomplete(out, "mock (fill)", pm, o.produce_messages);
    int64_t lost_ours = 0;
    int64_t lost_mock = 0;
    int64_t expect_ours = retained_messages(ours.bootstrap(), topic, 32, &lost_ours);
    int64_t expect_mock = retained_messages(mock.bootstrap(), topic, 32, &lost_mock);
    out.note("retained: ours " + std::to_string(expect_ours) + " (" + std::to_string(lost_ours) +
             " dropped), mock " + std::to_string(expect_mock) + " (" + std::to_string(lost_mock) +
             " dropped)");

    // librdkafka 2.0 stops fetching a partition once its local queue holds queued.min.messages
    // (100,000) or queued.max.messages.kbytes (64 MiB), and then waits a fixed 1 s before it
    // fetches it again (later versions call this fetch.queue.backoff.ms). A peer that fills the
    // queue fast meets that timer more often, so with defaults the rates step by whole seconds. The
    // second setting lifts both thresholds above the data set, so the client never waits on its own
    // timer and the rate is the peers' delivery rate; the target applies to it.
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
        report_line rate{"consume 100 B " + how, "msg/s", {}, {}, {}};
        if (!md.defaults) {
            rate.goal = {target::ratio_at_least, 1.0, ">= 1.0x mock"};
        }
        report_line cpu{"broker CPU per 1M consumed, " + how, "s/1M", {}, {}, {}};
        cpu.goal = {target::value_at_most, 0.05, "<= 0.05 s/1M"};
        report_line setup{"time to first message, " + how, "ms", {}, {}, {}};
        for (int rep = 0; rep < o.reps; ++rep) {
            double cpu_before = ours.cpu_seconds();
            auto r = run_consume(ours.bootstrap(), topic, 32, expect_ours, group, extra);
            double cpu_used = ours.cpu_seconds() - cpu_before;
            if (!r.complete) {
                out.note("ours: read only " + std::to_string(r.received) + " of " +
                         std::to_string(expect_ours));
            }
            rate.ours.push_back(r.rate());
            cpu.ours.push_back(cpu_used /
                               (static_cast<double>(std::max<int64_t>(r.received, 1)) / 1e6));
            setup.ours.push_back(r.setup_seconds * 1000);
            auto m = run_consume(mock.bootstrap(), topic, 32, expect_mock, group, extra);
            if (!m.complete) {
                out.note("mock: read only " + std::to_string(m.received) + " of " +
                         std::to_string(expect_mock));
            }
            rate.mock.push_back(m.rate());
            setup.mock.push_back(m.setup_seconds * 1000);
            if (o.verbose) {
                for (const auto& [peer, x] : {std::pair{"ours", r}, std::pair{"mock", m}}) {
                    char buf[200];
                    std::snprintf(buf, sizeof buf,
                                  "rep %d %s: %.0f msg/s over %.3f s, first after %.0f ms, longest "
                                  "gap %.0f ms "
                                  "ending at %.3f s",
                                  rep + 1, peer, x.rate(), x.seconds, x.setup_seconds * 1000,
                                  x.longest_gap_seconds * 1000, x.gap_at_seconds);
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
    ours.delete_topic(topic);
    mock.reset();
}

void workload_latency(const options& o, reporter& out, ours_peer& ours, mock_peer& mock) {
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
        report_line p50{"latency " + v.name + " p50", "ms", {}, {}, {}};
        report_line p99{"latency " + v.name + " p99", "ms", {}, {}, {}};
        report_line p999{"latency " + v.name + " p99.9", "ms", {}, {}, {}};
        report_line max{"latency " + v.name + " max", "ms", {}, {}, {}};
        if (v.defaults) {
            p99.goal = {target::value_at_most, 10, "p99 <= 10 ms"};
        } else {
            p50.goal = {target::value_below, 1, "p50 < 1 ms"};
        }
        for (int rep = 0; rep < o.reps; ++rep) {
            for (int side = 0; side < 2; ++side) {
                std::string topic = unique_name("bench-latency");
                if (side == 0) {
                    ours.create_topic(topic, 1);
                } else {
                    mock.reset();
                    mock.create_topic(topic, 1);
                }
                auto r = run_latency(side == 0 ? ours.bootstrap() : mock.bootstrap(), topic,
                                     o.latency_rate, o.latency_seconds, v.props);
                if (r.received < r.sent || r.sent == 0) {
                    out.note(std::string(side == 0 ? "ours" : "mock") + ": received " +
                             std::to_string(r.received) + " of " + std::to_string(r.sent) +
                             " timed messages");
                }
                auto& dst = side == 0 ? p50.ours : p50.mock;
                dst.push_back(r.p50_ms);
                (side == 0 ? p99.ours : p99.mock).push_back(r.p99_ms);
                (side == 0 ? p999.ours : p999.mock).push_back(r.p999_ms);
                (side == 0 ? max.ours : max.mock).push_back(r.max_ms);
                if (side == 0) {
                    ours.delete_topic(topic);
                }
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

void workload_fsync(const options& o, reporter& out, ours_peer& ours, mock_peer& mock) {
    out.header("acks=all with log.flush.interval.messages=1 (fsync before acknowledging), " +
               count_text(o.produce_messages) + " x 100 B, 32 partitions");
    ours_peer fsync_broker(properties{{"log.flush.interval.messages", "1"}});
    report_line rate{"produce 100 B acks=all, fsync per batch", "msg/s", {}, {}, {}};
    report_line defaults{"produce 100 B acks=all, default mode", "msg/s", {}, {}, {}};
    report_line cpu{"broker CPU per 1M produced, fsync per batch", "s/1M", {}, {}, {}};
    properties props{{"acks", "all"}, {"sticky.partitioning.linger.ms", "0"}};
    for (int rep = 0; rep < o.reps; ++rep) {
        std::string topic = unique_name("bench-fsync");
        fsync_broker.create_topic(topic, 32);
        double cpu_before = fsync_broker.cpu_seconds();
        auto r = run_produce(fsync_broker.bootstrap(), topic, 32, o.produce_messages, 100, props);
        double cpu_used = fsync_broker.cpu_seconds() - cpu_before;
        warn_incomplete(out, "ours (fsync)", r, o.produce_messages);
        rate.ours.push_back(r.rate());
        cpu.ours.push_back(cpu_used /
                           (static_cast<double>(std::max<int64_t>(r.delivered, 1)) / 1e6));
        fsync_broker.delete_topic(topic);

        // The default mode, interleaved so that both see the same background load.
        topic = unique_name("bench-fsync-default");
        ours.create_topic(topic, 32);
        auto d = run_produce(ours.bootstrap(), topic, 32, o.produce_messages, 100, props);
        warn_incomplete(out, "ours (default)", d, o.produce_messages);
        defaults.ours.push_back(d.rate());
        ours.delete_topic(topic);

        mock.reset();
        mock.create_topic(topic, 32);
        auto m = run_produce(mock.bootstrap(), topic, 32, o.produce_messages, 100, props);
        rate.mock.push_back(m.rate());
        defaults.mock.push_back(m.rate());
        mock.reset();
    }
    out.line(rate);
    out.line(defaults);
    out.line(cpu);
    out.note(
        "mock columns: the mock's acks=all rate (it keeps everything in memory and never fsyncs)");
    double ratio = median(rate.ours) / median(defaults.ours);
    out.verdict("fsync per batch / default mode (ours)", ratio, ratio >= 0.5, ">= 0.5x default");
    std::printf("  peak RSS (VmHWM) of the fsync broker: %.1f MiB\n",
                proc_status_kib(fsync_broker.process().pid(), "VmHWM") / 1024);
}

void workload_scale(const options& o, reporter& out, ours_peer& ours, mock_peer& mock) {
    out.header("scale: " + std::to_string(o.scale_producers) + " producer connections at once, " +
               count_text(o.scale_messages) + " x 100 B in total, client defaults (acks=all)");
    report_line small{"produce, " + std::to_string(o.scale_producers) + " producers, 32 partitions",
                      "msg/s",
                      {},
                      {},
                      {}};
    report_line big{"produce, " + std::to_string(o.scale_producers) + " producers, " +
                        std::to_string(o.scale_partitions) + " partitions",
                    "msg/s",
                    {},
                    {},
                    {}};
    report_line cpu_small{"broker CPU per 1M, 32 partitions", "s/1M", {}, {}, {}};
    report_line cpu{"broker CPU per 1M, " + std::to_string(o.scale_partitions) + " partitions",
                    "s/1M",
                    {},
                    {},
                    {}};
    report_line create{"create topic, " + std::to_string(o.scale_partitions) + " partitions (wall)",
                       "ms",
                       {},
                       {},
                       {}};
    report_line create_cpu{"create topic + first metadata, broker CPU", "s", {}, {}, {}};
    for (int rep = 0; rep < o.reps; ++rep) {
        for (int parts : {32, o.scale_partitions}) {
            std::string topic = unique_name("bench-scale");
            double cpu_create = ours.cpu_seconds();
            auto t0 = clock_type::now();
            ours.create_topic(topic, parts);
            double create_ms = seconds_since(t0) * 1000;
            double cpu_before = 0;
            auto r = run_many_producers(
                ours.bootstrap(), topic, parts, o.scale_producers, o.scale_messages,
                [&] { return ours.cpu_seconds(); }, &cpu_before);
            double cpu_used = ours.cpu_seconds() - cpu_before;
            warn_incomplete(out, "ours", r, o.scale_messages);
            (parts == 32 ? small.ours : big.ours).push_back(r.rate());
            (parts == 32 ? cpu_small.ours : cpu.ours)
                .push_back(cpu_used /
                           (static_cast<double>(std::max<int64_t>(r.delivered, 1)) / 1e6));
            if (parts != 32) {
                create.ours.push_back(create_ms);
                create_cpu.ours.push_back(cpu_before - cpu_create);
            }
            ours.delete_topic(topic);

            mock.reset();
            mock.create_topic(topic, parts);
            auto m = run_many_producers(mock.bootstrap(), topic, parts, o.scale_producers,
                                        o.scale_messages);
            warn_incomplete(out, "mock", m, o.scale_messages);
            (parts == 32 ? small.mock : big.mock).push_back(m.rate());
        }
    }
    out.line(small);
    out.line(big);
    out.line(cpu_small);
    out.line(cpu);
    out.line(create);
    out.line(create_cpu);
    double ratio = median(big.ours) / median(small.ours);
    double mock_ratio = median(big.mock) / median(small.mock);
    out.verdict("ours " + std::to_string(o.scale_partitions) + " / 32 partitions", ratio,
                ratio >= 0.8, ">= 0.8x of 32 partitions");
    char buf[96];
    std::snprintf(buf, sizeof(buf), "the mock's own %d / 32 partitions ratio is %.2f",
                  o.scale_partitions, mock_ratio);
    out.note(buf);
}

void workload_footprint(const options& o, reporter& out, const std::string& binary) {
    out.header("footprint");
    report_line start{"exec to listening, empty data dir", "ms", {}, {}, {}};
    start.goal = {target::value_at_most, 50, "<= 50 ms"};
    int reps = std::max(o.reps, 5);
    for (int rep = 0; rep < reps; ++rep) {
        start.ours.push_back(exec_to_listening_ms(binary));
        auto host = make_client(RD_KAFKA_PRODUCER, {{"log_level", "3"}});
        auto t0 = clock_type::now();
        rd_kafka_mock_cluster_t* mc = rd_kafka_mock_cluster_new(host.get(), 1);
        start.mock.push_back(seconds_since(t0) * 1000);
        rd_kafka_mock_cluster_destroy(mc);
    }
    out.line(start);
    out.note(
        "mock: time for rd_kafka_mock_cluster_new() to return with its listener bound (a thread, "
        "no exec)");

    ours_peer idle;
    idle.create_topic(unique_name("bench-idle"), 100);
    // Idle means: no client connected and the topic's partitions open; give background work a
    // moment.
    std::this_thread::sleep_for(std::chrono::seconds(2));
    report_line rss{"VmRSS idle, 100 partitions",
                    "MiB",
                    {proc_status_kib(idle.process().pid(), "VmRSS") / 1024},
                    {},
                    {}};
    rss.goal = {target::value_below, 64, "< 64 MiB"};
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
                         "usage: %s [--quick] [--verbose] [--no-warmup] [--reps N] [--only "
                         "produce|produce1k|consume|"
                         "latency|fsync|scale|footprint]\n",
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
    std::signal(SIGPIPE, SIG_IGN);

    std::printf("broker_bench: broker %s\n", binary.c_str());
    std::printf(
        "ours = the broker binary (one process, its own temp log dir on local disk); mock = "
        "librdkafka %s "
        "rd_kafka_mock_cluster (1 broker, in memory, in this process)\n",
        rd_kafka_version_str());
    std::printf(
        "figures: median of %d repetition(s) [min..max]; ratio = ours/mock; ours and mock "
        "alternate%s\n",
        o.reps, o.quick ? "; --quick sizes" : "");
    if (o.warmup) {
        const double took = warm_up_page_cache(o.warmup_bytes);
        if (took < 0) {
            std::printf("warm-up: skipped, cannot create a file in %s\n",
                        std::filesystem::temp_directory_path().c_str());
        } else {
            std::printf(
                "warm-up: wrote and deleted %zu MiB in %s in %.2f s (page-cache memory touched "
                "once "
                "before any workload; --no-warmup skips it)\n",
                o.warmup_bytes >> 20, std::filesystem::temp_directory_path().c_str(), took);
        }
    }
    std::fflush(stdout);

    reporter out;
    try {
        ours_peer ours;
        mock_peer mock;
        if (selected(o, "produce")) {
            workload_produce(o, out, ours, mock);
        }
        if (selected(o, "produce1k")) {
            workload_produce_1k(o, out, ours, mock);
        }
        if (selected(o, "consume")) {
            workload_consume(o, out, ours, mock);
        }
        if (selected(o, "latency")) {
            workload_latency(o, out, ours, mock);
        }
        if (selected(o, "fsync")) {
            workload_fsync(o, out, ours, mock);
        }
        if (selected(o, "scale")) {
            workload_scale(o, out, ours, mock);
        }
        if (selected(o, "footprint")) {
            workload_footprint(o, out, binary);
        }
        out.header("peak memory");
        std::printf("%-46s %-10s ours %10.1f\n", "peak RSS (VmHWM) of the main broker", "MiB",
                    proc_status_kib(ours.process().pid(), "VmHWM") / 1024);
        std::printf("%-46s %-10s      %10.1f\n", "peak RSS of this process (clients + mock)", "MiB",
                    proc_status_kib(::getpid(), "VmHWM") / 1024);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "broker_bench: %s\n", e.what());
        return 1;
    }
    std::printf("\ntargets: %d PASS, %d MISS\n", out.passes(), out.misses());
    return 0;
}
