// Disk full: the broker's log dir runs out of space. Produce must fail with KAFKA_STORAGE_ERROR
// and an error message naming the broker and the free space, fetch and metadata must keep
// working, nothing acknowledged may be damaged, and once space is freed (DeleteRecords, topic
// deletion, retention) produce must work again without a restart.
//
// Two ways to run out of space are tested:
//  - a real small filesystem (an 8 MiB tmpfs mounted for the test) with log.dir.min.free.bytes=0,
//    so writes really fail with ENOSPC inside the broker;
//  - the broker's own reserve, log.dir.min.free.bytes, which refuses appends before the disk is
//    full. On a tmpfs when mounting is allowed; otherwise on the ordinary temp dir with the reserve
//    set just below its current free space.
// Mounting needs root and a runtime that allows mount(2); when it is denied the real-filesystem
// test is skipped (and says so) and the reserve test uses the fallback.
//
// Produce requests are sent raw (Produce v9, acks=-1) so the test can read the partition's
// error_message, which librdkafka does not surface; librdkafka checks the error a stock producer
// sees, consumes, reads metadata and deletes records and topics.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/big_endian.h"
#include "compat-tests/cpp/broker_fixture.h"
#include "compat-tests/cpp/rdkafka_util.h"
#include "protocol/api.h"
#include "protocol/generated/messages.h"
#include "protocol/header.h"
#include "protocol/records.h"

namespace broker::compat {
namespace {

constexpr int16_t kafka_storage_error = 56;
constexpr std::size_t value_size = 100 * 1024;

/// A tmpfs of a given size mounted on a fresh temporary directory for the test's lifetime, when
/// this process may mount; mounted() tells. Unmounted (lazily) and removed on destruction.
class small_filesystem {
public:
    explicit small_filesystem(const std::string& size) {
        if (const char* no_mount = std::getenv("DISK_FULL_TEST_NO_MOUNT");
            no_mount != nullptr && *no_mount == '1') {
            why_ = "DISK_FULL_TEST_NO_MOUNT=1";
            return;
        }
        std::string templ =
            (std::filesystem::temp_directory_path() / "broker-diskfull-XXXXXX").string();
        std::vector<char> buf(templ.begin(), templ.end());
        buf.push_back('\0');
        if (::mkdtemp(buf.data()) == nullptr) {
            why_ = std::string("mkdtemp: ") + std::strerror(errno);
            return;
        }
        path_ = buf.data();
        const std::string options = "size=" + size + ",mode=0755";
        if (::mount("tmpfs", path_.c_str(), "tmpfs", 0, options.c_str()) != 0) {
            why_ = std::string("mount -t tmpfs: ") + std::strerror(errno);
            return;
        }
        mounted_ = true;
    }
    ~small_filesystem() {
        if (mounted_) {
            ::umount2(path_.c_str(), MNT_DETACH);
        }
        if (!path_.empty()) {
            std::error_code ec;
            std::filesystem::remove_all(path_, ec);
        }
    }
    small_filesystem(const small_filesystem&) = delete;
    small_filesystem& operator=(const small_filesystem&) = delete;

    bool mounted() const { return mounted_; }
    const std::string& path() const { return path_; }
    const std::string& why_not() const { return why_; }

private:
    std::string path_;
    std::string why_;
    bool mounted_ = false;
};

/// Bytes an unprivileged writer may still use on the filesystem holding `path` (statvfs f_bavail,
/// through the standard library); 0 when it cannot be read.
uint64_t free_bytes(const std::string& path) {
    std::error_code ec;
    const std::filesystem::space_info space = std::filesystem::space(path, ec);
    return ec ? 0 : space.available;
}

/// The value of message `seq`: its number, then filler, `value_size` bytes in all.
std::string value_of(int64_t seq) {
    std::string v = "seq=" + std::to_string(seq) + ";";
    v.resize(value_size, static_cast<char>('a' + seq % 26));
    return v;
}

/// What the broker answered for the one partition of a raw produce request.
struct produce_outcome {
    int16_t error = -1;
    std::optional<std::string> message;
    int64_t base_offset = -1;
};

/// A blocking loopback connection speaking raw Kafka frames, with 10 s send/receive timeouts.
class raw_connection {
public:
    explicit raw_connection(int port) {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        timeval tv{10, 0};
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        addr.sin_port = htons(static_cast<uint16_t>(port));
        if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
            throw std::runtime_error(std::string("connect: ") + std::strerror(errno));
        }
    }
    ~raw_connection() { ::close(fd_); }
    raw_connection(const raw_connection&) = delete;
    raw_connection& operator=(const raw_connection&) = delete;

    /// Sends one Produce v9 request (acks=-1) with a single one-record batch for
    /// `topic`/`partition`.
    produce_outcome produce(const std::string& topic, int32_t partition, int64_t seq) {
        constexpr int16_t version = 9;
        const std::string key = std::to_string(seq);
        const std::string value = value_of(seq);
        protocol::record_data record;
        record.key = std::vector<uint8_t>(key.begin(), key.end());
        record.value = std::vector<uint8_t>(value.begin(), value.end());
        record.timestamp = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
        const std::vector<uint8_t> batch =
            protocol::build_batch({record}, protocol::batch_build_options{});

        protocol::produce_request request;
        request.acks = -1;
        request.timeout_ms = 10000;
        protocol::produce_request::partition_produce_data pd;
        pd.index = partition;
        pd.records = protocol::records_ref{std::span<const uint8_t>(batch), {}};
        protocol::produce_request::topic_produce_data td;
        td.name = topic;
        td.partition_data.push_back(std::move(pd));
        request.topic_data.push_back(std::move(td));

        std::vector<uint8_t> frame(4, 0);
        protocol::writer w(frame);
        protocol::request_header header;
        header.request_api_key = protocol::produce_request::api_key;
        header.request_api_version = version;
        header.correlation_id = ++correlation_;
        header.client_id = "disk-full-test";
        protocol::encode_request_header(
            w, protocol::request_header_version(header.request_api_key, version), header);
        protocol::encode(w, version, request);
        const uint32_t size = static_cast<uint32_t>(frame.size() - 4);
        for (int i = 0; i < 4; ++i) {
            frame[static_cast<std::size_t>(i)] = static_cast<uint8_t>(size >> (24 - 8 * i));
        }
        if (!send_all(frame)) {
            throw std::runtime_error("send failed");
        }
        const std::vector<uint8_t> reply = read_frame();
        protocol::reader r(reply);
        protocol::response_header rh;
        if (protocol::decode_response_header(
                r, protocol::response_header_version(header.request_api_key, version), rh) !=
                protocol::codec_status::ok ||
            rh.correlation_id != correlation_) {
            throw std::runtime_error("bad response header");
        }
        protocol::produce_response response;
        if (protocol::decode(r, version, response) != protocol::codec_status::ok ||
            response.responses.size() != 1 ||
            response.responses[0].partition_responses.size() != 1) {
            throw std::runtime_error("bad produce response");
        }
        const auto& p = response.responses[0].partition_responses[0];
        return {p.error_code, p.error_message, p.base_offset};
    }

private:
    bool send_all(const std::vector<uint8_t>& bytes) {
        std::size_t done = 0;
        while (done < bytes.size()) {
            const ssize_t n = ::send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
            if (n <= 0) {
                return false;
            }
            done += static_cast<std::size_t>(n);
        }
        return true;
    }
    void recv_all(uint8_t* out, std::size_t size) {
        std::size_t done = 0;
        while (done < size) {
            const ssize_t n = ::recv(fd_, out + done, size - done, 0);
            if (n <= 0) {
                throw std::runtime_error("connection closed or timed out");
            }
            done += static_cast<std::size_t>(n);
        }
    }
    std::vector<uint8_t> read_frame() {
        uint8_t size_bytes[4];
        recv_all(size_bytes, 4);
        const uint32_t size = load_be32(size_bytes);
        if (size > 64 * 1024 * 1024) {
            throw std::runtime_error("response frame too large");
        }
        std::vector<uint8_t> frame(size);
        recv_all(frame.data(), size);
        return frame;
    }

    int fd_ = -1;
    int32_t correlation_ = 0;
};

kafka_handle make_admin(const broker_process& broker) {
    return make_client(RD_KAFKA_PRODUCER, {{"bootstrap.servers", broker.bootstrap()}});
}

/// Reads partition 0 of `topic` from the log start to the high watermark: (offset, key) pairs, with
/// every value checked against the key.
std::vector<std::pair<int64_t, int64_t>> read_partition(const broker_process& broker,
                                                        const std::string& topic) {
    auto rk = make_client(RD_KAFKA_CONSUMER, {{"bootstrap.servers", broker.bootstrap()},
                                              {"group.id", "disk-full-check"},
                                              {"enable.auto.commit", "false"},
                                              {"fetch.message.max.bytes", "1048576"}});
    int64_t lo = 0;
    int64_t hi = 0;
    const rd_kafka_resp_err_t err =
        rd_kafka_query_watermark_offsets(rk.get(), topic.c_str(), 0, &lo, &hi, 10000);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        ADD_FAILURE() << "watermarks: " << rd_kafka_err2str(err);
        return {};
    }
    rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(list, topic.c_str(), 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_assign(rk.get(), list);
    rd_kafka_topic_partition_list_destroy(list);
    std::vector<std::pair<int64_t, int64_t>> out;
    int64_t next = lo;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (next < hi && std::chrono::steady_clock::now() < deadline) {
        rd_kafka_message_t* m = rd_kafka_consumer_poll(rk.get(), 200);
        if (m == nullptr) {
            continue;
        }
        if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            const std::string key(static_cast<const char*>(m->key), m->key_len);
            const std::string value(static_cast<const char*>(m->payload), m->len);
            const int64_t seq = std::stoll(key);
            EXPECT_EQ(value, value_of(seq)) << "value of offset " << m->offset << " is damaged";
            out.emplace_back(m->offset, seq);
            next = m->offset + 1;
        } else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            ADD_FAILURE() << "consume: " << rd_kafka_message_errstr(m);
        }
        rd_kafka_message_destroy(m);
    }
    EXPECT_GE(next, hi) << "could not read up to the high watermark";
    rd_kafka_consumer_close(rk.get());
    return out;
}

/// Metadata for every topic answers, and lists `topic`.
void expect_metadata(const broker_process& broker, const std::string& topic) {
    auto rk = make_admin(broker);
    const rd_kafka_metadata_t* md = nullptr;
    ASSERT_EQ(rd_kafka_metadata(rk.get(), 1, nullptr, &md, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
    bool found = false;
    for (int i = 0; i < md->topic_cnt; ++i) {
        found = found || topic == md->topics[i].topic;
    }
    rd_kafka_metadata_destroy(md);
    EXPECT_TRUE(found) << "metadata does not list " << topic;
}

/// What a stock producer (librdkafka, no retries) sees when it produces one message now.
rd_kafka_resp_err_t stock_produce(const broker_process& broker, const std::string& topic) {
    rd_kafka_resp_err_t result = RD_KAFKA_RESP_ERR__FAIL;
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    char err[512];
    const std::map<std::string, std::string> props{{"bootstrap.servers", broker.bootstrap()},
                                                   {"acks", "all"},
                                                   {"retries", "0"},
                                                   {"message.timeout.ms", "20000"}};
    for (const auto& [k, v] : props) {
        rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err);
    }
    rd_kafka_conf_set_dr_msg_cb(conf, [](rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
        *static_cast<rd_kafka_resp_err_t*>(opaque) = m->err;
    });
    rd_kafka_conf_set_opaque(conf, &result);
    kafka_handle rk(rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err));
    if (!rk) {
        ADD_FAILURE() << err;
        return RD_KAFKA_RESP_ERR__FAIL;
    }
    const std::string value = value_of(0);
    rd_kafka_producev(rk.get(), RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(0),
                      RD_KAFKA_V_KEY("0", 1),
                      RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
                      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    rd_kafka_flush(rk.get(), 30000);
    return result;
}

void create_topic(const broker_process& broker, const std::string& topic) {
    auto rk = make_admin(broker);
    const auto created = create_topics(rk.get(), {{topic, 1}});
    ASSERT_EQ(created.at(topic), RD_KAFKA_RESP_ERR_NO_ERROR);
}

void delete_records(const broker_process& broker, const std::string& topic, int64_t before) {
    auto rk = make_admin(broker);
    rd_kafka_topic_partition_list_t* offsets = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(offsets, topic.c_str(), 0)->offset = before;
    rd_kafka_DeleteRecords_t* del = rd_kafka_DeleteRecords_new(offsets);
    rd_kafka_topic_partition_list_destroy(offsets);
    rd_kafka_queue_t* q = rd_kafka_queue_new(rk.get());
    rd_kafka_DeleteRecords(rk.get(), &del, 1, nullptr, q);
    rd_kafka_event_t* ev = wait_admin_result(q, RD_KAFKA_EVENT_DELETERECORDS_RESULT, 30000);
    EXPECT_EQ(rd_kafka_event_error(ev), RD_KAFKA_RESP_ERR_NO_ERROR)
        << rd_kafka_event_error_string(ev);
    const rd_kafka_topic_partition_list_t* result =
        rd_kafka_DeleteRecords_result_offsets(rd_kafka_event_DeleteRecords_result(ev));
    ASSERT_NE(result, nullptr);
    ASSERT_EQ(result->cnt, 1);
    EXPECT_EQ(result->elems[0].err, RD_KAFKA_RESP_ERR_NO_ERROR)
        << rd_kafka_err2str(result->elems[0].err);
    EXPECT_EQ(result->elems[0].offset, before);
    rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(q);
    rd_kafka_DeleteRecords_destroy(del);
}

void delete_topic(const broker_process& broker, const std::string& topic) {
    auto rk = make_admin(broker);
    rd_kafka_DeleteTopic_t* del = rd_kafka_DeleteTopic_new(topic.c_str());
    rd_kafka_queue_t* q = rd_kafka_queue_new(rk.get());
    rd_kafka_DeleteTopics(rk.get(), &del, 1, nullptr, q);
    rd_kafka_event_t* ev = wait_admin_result(q, RD_KAFKA_EVENT_DELETETOPICS_RESULT, 30000);
    size_t n = 0;
    const rd_kafka_topic_result_t** res =
        rd_kafka_DeleteTopics_result_topics(rd_kafka_event_DeleteTopics_result(ev), &n);
    ASSERT_EQ(n, 1U);
    EXPECT_EQ(rd_kafka_topic_result_error(res[0]), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(q);
    rd_kafka_DeleteTopic_destroy(del);
}

/// Sets `key`=`value` on `topic` (AlterConfigs; the topic has no other dynamic configs).
void alter_topic_config(const broker_process& broker, const std::string& topic,
                        const std::string& key, const std::string& value) {
    auto rk = make_admin(broker);
    rd_kafka_ConfigResource_t* res =
        rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic.c_str());
    ASSERT_EQ(rd_kafka_ConfigResource_set_config(res, key.c_str(), value.c_str()),
              RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_queue_t* q = rd_kafka_queue_new(rk.get());
    rd_kafka_AlterConfigs(rk.get(), &res, 1, nullptr, q);
    rd_kafka_event_t* ev = wait_admin_result(q, RD_KAFKA_EVENT_ALTERCONFIGS_RESULT, 30000);
    EXPECT_EQ(rd_kafka_event_error(ev), RD_KAFKA_RESP_ERR_NO_ERROR)
        << rd_kafka_event_error_string(ev);
    size_t n = 0;
    const rd_kafka_ConfigResource_t** out =
        rd_kafka_AlterConfigs_result_resources(rd_kafka_event_AlterConfigs_result(ev), &n);
    ASSERT_EQ(n, 1U);
    EXPECT_EQ(rd_kafka_ConfigResource_error(out[0]), RD_KAFKA_RESP_ERR_NO_ERROR)
        << rd_kafka_ConfigResource_error_string(out[0]);
    rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(q);
    rd_kafka_ConfigResource_destroy(res);
}

/// Produces numbered messages until the broker refuses one (at most `limit` messages); returns
/// the acknowledged sequence numbers by offset and the refusal.
struct fill_result {
    std::map<int64_t, int64_t> acked;  // offset -> seq
    produce_outcome refusal;
};
fill_result fill(raw_connection& conn, const std::string& topic, int64_t& seq, int limit) {
    fill_result out;
    for (int i = 0; i < limit; ++i) {
        const produce_outcome r = conn.produce(topic, 0, seq);
        if (r.error != 0) {
            out.refusal = r;
            return out;
        }
        out.acked[r.base_offset] = seq++;
    }
    ADD_FAILURE() << "the broker accepted " << limit << " messages of " << value_size
                  << " bytes without refusing";
    return out;
}

/// Waits (bounded) until a produce to `topic` succeeds again; returns the last outcome.
produce_outcome produce_until_accepted(raw_connection& conn, const std::string& topic,
                                       int64_t& seq) {
    produce_outcome r;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    do {
        r = conn.produce(topic, 0, seq);
        if (r.error == 0) {
            ++seq;
            return r;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    } while (std::chrono::steady_clock::now() < deadline);
    return r;
}

void expect_storage_error(const produce_outcome& r, const std::string& must_mention) {
    EXPECT_EQ(r.error, kafka_storage_error);
    ASSERT_TRUE(r.message.has_value()) << "KAFKA_STORAGE_ERROR without an error_message";
    std::cout << "[disk-full] refusal: error " << r.error << ": " << *r.message << std::endl;
    EXPECT_NE(r.message->find("Broker 0"), std::string::npos) << *r.message;
    EXPECT_NE(r.message->find("bytes free"), std::string::npos) << *r.message;
    EXPECT_NE(r.message->find(must_mention), std::string::npos) << *r.message;
}

/// The acknowledged messages are all still there, at their offsets, with their values.
void expect_intact(const broker_process& broker, const std::string& topic,
                   const std::map<int64_t, int64_t>& acked, int64_t from_offset) {
    const auto stored = read_partition(broker, topic);
    std::map<int64_t, int64_t> by_offset(stored.begin(), stored.end());
    for (const auto& [off, s] : acked) {
        if (off < from_offset) {
            continue;
        }
        const auto it = by_offset.find(off);
        ASSERT_NE(it, by_offset.end()) << "acknowledged offset " << off << " is missing";
        EXPECT_EQ(it->second, s) << "offset " << off;
    }
}

TEST(disk_full, real_filesystem_full_refuses_produce_and_recovers_after_delete_records) {
    small_filesystem fs("8m");
    if (!fs.mounted()) {
        GTEST_SKIP() << "cannot mount a small filesystem here (" << fs.why_not()
                     << "); the reserve test covers disk-full handling";
    }
    broker_process broker(std::map<std::string, std::string>{{"log.dirs", fs.path()},
                                                             {"log.dir.min.free.bytes", "0"},
                                                             {"log.segment.bytes", "1048576"},
                                                             {"log.segment.delete.delay.ms", "0"},
                                                             {"num.shards", "2"}});
    broker.start();
    const std::string topic = "full";
    create_topic(broker, topic);
    raw_connection conn(broker.port());
    int64_t seq = 0;

    fill_result first = fill(conn, topic, seq, 200);
    ASSERT_GT(first.acked.size(), 10U);
    expect_storage_error(first.refusal, "No space left on device");
    std::cout << "[disk-full] tmpfs full after " << first.acked.size() << " messages; "
              << free_bytes(fs.path()) << " bytes free" << std::endl;
    // Still full: refused again, and a stock producer sees the same error.
    EXPECT_EQ(conn.produce(topic, 0, seq).error, kafka_storage_error);
    EXPECT_EQ(stock_produce(broker, topic), RD_KAFKA_RESP_ERR_KAFKA_STORAGE_ERROR);

    // The broker keeps serving metadata and fetches, and every acknowledged message is intact.
    ASSERT_NO_FATAL_FAILURE(expect_metadata(broker, topic));
    ASSERT_NO_FATAL_FAILURE(expect_intact(broker, topic, first.acked, 0));

    // Free space by deleting the older half of the records: produce works again, no restart.
    const int64_t cut = first.acked.rbegin()->first / 2;
    ASSERT_NO_FATAL_FAILURE(delete_records(broker, topic, cut));
    const produce_outcome resumed = produce_until_accepted(conn, topic, seq);
    ASSERT_EQ(resumed.error, 0) << resumed.message.value_or("");
    EXPECT_EQ(resumed.base_offset, first.acked.rbegin()->first + 1)
        << "a refused write left a gap or a torn batch";
    first.acked[resumed.base_offset] = seq - 1;

    // Fill again, then crash: startup recovery must find no torn batch and keep every acknowledged
    // message that DeleteRecords did not remove.
    fill_result second = fill(conn, topic, seq, 200);
    expect_storage_error(second.refusal, "No space left on device");
    first.acked.insert(second.acked.begin(), second.acked.end());
    broker.stop(SIGKILL);
    ASSERT_NO_THROW(broker.start()) << broker.output();
    ASSERT_NO_FATAL_FAILURE(expect_intact(broker, topic, first.acked, cut));
}

TEST(disk_full, reserve_refuses_produce_early_and_topic_deletion_frees_it) {
    small_filesystem fs("32m");
    std::map<std::string, std::string> overrides{{"log.segment.bytes", "1048576"},
                                                 {"log.segment.delete.delay.ms", "0"},
                                                 {"num.shards", "2"}};
    uint64_t reserve = 16 * 1024 * 1024;
    std::string dir;
    if (fs.mounted()) {
        dir = fs.path();
    } else {
        // Fallback: the ordinary temp dir, with a reserve just below its free space. Other
        // processes writing to the same filesystem can move the point of refusal, not its shape.
        std::cout << "[disk-full] " << fs.why_not() << "; using the temp dir with a reserve"
                  << std::endl;
        dir = std::filesystem::temp_directory_path().string();
        const uint64_t available = free_bytes(dir);
        ASSERT_GT(available, 64ULL * 1024 * 1024) << "not enough free space for the fallback";
        reserve = available - 8 * 1024 * 1024;
    }
    std::map<std::string, std::string> settings = overrides;
    settings["log.dir.min.free.bytes"] = std::to_string(reserve);
    if (fs.mounted()) {
        settings["log.dirs"] = dir;
    }
    broker_process target(settings);
    target.start();
    const std::string filler = "filler";
    const std::string other = "other";
    create_topic(target, filler);
    create_topic(target, other);
    raw_connection conn(target.port());
    int64_t seq = 0;

    fill_result full = fill(conn, filler, seq, 640);
    expect_storage_error(full.refusal, "log.dir.min.free.bytes");
    const uint64_t left = free_bytes(dir);
    std::cout << "[disk-full] reserve " << reserve << " reached after " << full.acked.size()
              << " messages; " << left << " bytes free" << std::endl;
    if (fs.mounted()) {
        // Refused early: the filesystem itself still has about the reserve free.
        EXPECT_GT(left, reserve - 2 * value_size);
        EXPECT_GT(full.acked.size(), 50U);
    }
    // Every topic on the log dir is refused, metadata and fetch still answer.
    EXPECT_EQ(conn.produce(other, 0, seq).error, kafka_storage_error);
    EXPECT_EQ(stock_produce(target, other), RD_KAFKA_RESP_ERR_KAFKA_STORAGE_ERROR);
    ASSERT_NO_FATAL_FAILURE(expect_metadata(target, filler));
    ASSERT_NO_FATAL_FAILURE(expect_intact(target, filler, full.acked, 0));

    // Deleting the filler topic frees its space: the other topic takes writes again, no restart.
    ASSERT_NO_FATAL_FAILURE(delete_topic(target, filler));
    const produce_outcome resumed = produce_until_accepted(conn, other, seq);
    ASSERT_EQ(resumed.error, 0) << resumed.message.value_or("");
    EXPECT_EQ(resumed.base_offset, 0);
}

TEST(disk_full, retention_frees_space_and_produce_resumes) {
    // On the 8 MiB tmpfs the disk really fills; without one, the reserve stands in for it.
    small_filesystem fs("8m");
    std::map<std::string, std::string> settings{{"log.segment.bytes", "1048576"},
                                                {"log.segment.delete.delay.ms", "0"},
                                                {"log.retention.check.interval.ms", "100"},
                                                {"num.shards", "2"}};
    std::string must_mention = "No space left on device";
    if (fs.mounted()) {
        settings["log.dirs"] = fs.path();
        settings["log.dir.min.free.bytes"] = "0";
    } else {
        std::cout << "[disk-full] " << fs.why_not() << "; using the temp dir with a reserve"
                  << std::endl;
        const uint64_t available = free_bytes(std::filesystem::temp_directory_path().string());
        ASSERT_GT(available, 64ULL * 1024 * 1024) << "not enough free space for the fallback";
        settings["log.dir.min.free.bytes"] = std::to_string(available - 8 * 1024 * 1024);
        must_mention = "log.dir.min.free.bytes";
    }
    broker_process broker(settings);
    broker.start();
    const std::string topic = "retained";
    create_topic(broker, topic);
    raw_connection conn(broker.port());
    int64_t seq = 0;
    const fill_result full = fill(conn, topic, seq, 640);
    ASSERT_GT(full.acked.size(), 10U);
    expect_storage_error(full.refusal, must_mention);

    // Keep about 2 MiB: the retention pass deletes the oldest closed segments, and the next
    // produce is accepted at the next offset.
    ASSERT_NO_FATAL_FAILURE(alter_topic_config(broker, topic, "retention.bytes", "2097152"));
    const produce_outcome resumed = produce_until_accepted(conn, topic, seq);
    ASSERT_EQ(resumed.error, 0) << resumed.message.value_or("");
    EXPECT_EQ(resumed.base_offset, full.acked.rbegin()->first + 1);
    const auto stored = read_partition(broker, topic);
    ASSERT_FALSE(stored.empty());
    EXPECT_GT(stored.front().first, 0) << "retention deleted nothing";
    EXPECT_EQ(stored.back().first, resumed.base_offset);
}

}  // namespace
}  // namespace broker::compat
