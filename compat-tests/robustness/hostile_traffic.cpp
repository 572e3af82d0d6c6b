#include "compat-tests/robustness/hostile_traffic.h"

#include <map>
#include <stdexcept>

namespace broker::compat::robustness {
namespace {

// A client whose error callback and delivery callback report to `owner`.
kafka_handle make_reporting_client(rd_kafka_type_t type,
                                   const std::map<std::string, std::string>& props, void* owner,
                                   void (*error_cb)(rd_kafka_t*, int, const char*, void*),
                                   void (*delivery_cb)(rd_kafka_t*, const rd_kafka_message_t*,
                                                       void*)) {
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    char err[512];
    for (const auto& [k, v] : props) {
        if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
            rd_kafka_conf_destroy(conf);
            throw std::runtime_error("config " + k + ": " + err);
        }
    }
    rd_kafka_conf_set_opaque(conf, owner);
    rd_kafka_conf_set_error_cb(conf, error_cb);
    if (delivery_cb != nullptr) {
        rd_kafka_conf_set_dr_msg_cb(conf, delivery_cb);
    }
    rd_kafka_t* rk = rd_kafka_new(type, conf, err, sizeof err);
    if (rk == nullptr) {
        throw std::runtime_error(std::string("rd_kafka_new: ") + err);
    }
    return kafka_handle(rk);
}

}  // namespace

steady_traffic::steady_traffic(std::string bootstrap, std::string topic)
    : bootstrap_(std::move(bootstrap)), topic_(std::move(topic)) {
    producer_ =
        make_reporting_client(RD_KAFKA_PRODUCER,
                              {{"bootstrap.servers", bootstrap_},
                               {"acks", "all"},
                               {"linger.ms", "0"},
                               {"message.timeout.ms", "30000"}},
                              this, &steady_traffic::on_error, &steady_traffic::on_delivery);
    if (!ensure_topic(producer_.get(), topic_)) {
        throw std::runtime_error("cannot create topic " + topic_);
    }
    consumer_ = make_reporting_client(RD_KAFKA_CONSUMER,
                                      // No group.id: a group would open a coordinator connection
                                      // at times of its choosing, which the connection-limit tests
                                      // could not account for.
                                      {{"bootstrap.servers", bootstrap_},
                                       {"enable.auto.commit", "false"},
                                       {"enable.partition.eof", "false"},
                                       {"fetch.wait.max.ms", "100"}},
                                      this, &steady_traffic::on_error, nullptr);
    // The simple (legacy) consumer API: one partition, no group.
    consumer_topic_ = rd_kafka_topic_new(consumer_.get(), topic_.c_str(), nullptr);
    if (consumer_topic_ == nullptr ||
        rd_kafka_consume_start(consumer_topic_, 0, RD_KAFKA_OFFSET_BEGINNING) != 0) {
        throw std::runtime_error("consume_start: " +
                                 std::string(rd_kafka_err2str(rd_kafka_last_error())));
    }
    thread_ = std::thread([this] { run(); });
}

steady_traffic::~steady_traffic() {
    stop();
}

void steady_traffic::stop() {
    stopping_ = true;
    if (thread_.joinable()) {
        thread_.join();
    }
    if (consumer_topic_ != nullptr) {
        rd_kafka_consume_stop(consumer_topic_, 0);
        rd_kafka_topic_destroy(consumer_topic_);
        consumer_topic_ = nullptr;
    }
}

uint64_t steady_traffic::round_trips() const {
    std::lock_guard lock(mutex_);
    return round_trips_;
}

std::vector<std::string> steady_traffic::problems() const {
    std::lock_guard lock(mutex_);
    return problems_;
}

bool steady_traffic::wait_for_round_trips(uint64_t more, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    const uint64_t target = round_trips_ + more;
    progressed_.wait_for(lock, timeout, [&] { return round_trips_ >= target || finished_; });
    return round_trips_ >= target;
}

void steady_traffic::record(std::string problem) {
    std::lock_guard lock(mutex_);
    problems_.push_back(std::move(problem));
}

void steady_traffic::on_error(rd_kafka_t* rk, int err, const char* reason, void* opaque) {
    auto* self = static_cast<steady_traffic*>(opaque);
    self->record(std::string(rd_kafka_name(rk)) + " error " +
                 rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err)) + ": " + reason);
}

void steady_traffic::on_delivery(rd_kafka_t*, const rd_kafka_message_t* message, void* opaque) {
    auto* self = static_cast<steady_traffic*>(opaque);
    self->delivered_ = true;
    self->delivery_error_ = message->err;
}

void steady_traffic::run() {
    round_trip_loop();
    {
        std::lock_guard lock(mutex_);
        finished_ = true;
    }
    progressed_.notify_all();
}

void steady_traffic::round_trip_loop() {
    for (uint64_t i = 0; !stopping_; ++i) {
        const std::string value = "steady-" + std::to_string(i);
        const auto deadline = std::chrono::steady_clock::now() + stall_limit;
        delivered_ = false;
        const rd_kafka_resp_err_t queued = rd_kafka_producev(
            producer_.get(), RD_KAFKA_V_TOPIC(topic_.c_str()), RD_KAFKA_V_PARTITION(0),
            RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
        if (queued != RD_KAFKA_RESP_ERR_NO_ERROR) {
            record("produce " + value + ": " + rd_kafka_err2name(queued));
            return;
        }
        while (!delivered_ && std::chrono::steady_clock::now() < deadline) {
            rd_kafka_poll(producer_.get(), 50);
        }
        if (!delivered_) {
            record("stall: no delivery report for " + value);
            return;
        }
        if (delivery_error_ != RD_KAFKA_RESP_ERR_NO_ERROR) {
            record("delivery of " + value + " failed: " + rd_kafka_err2name(delivery_error_));
            return;
        }
        bool seen = false;
        while (!seen && std::chrono::steady_clock::now() < deadline) {
            rd_kafka_message_t* m = rd_kafka_consume(consumer_topic_, 0, 50);
            if (m == nullptr) {
                continue;
            }
            if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
                record(std::string("consume error: ") + rd_kafka_message_errstr(m));
            } else if (m->payload != nullptr &&
                       std::string(static_cast<const char*>(m->payload), m->len) == value) {
                seen = true;
            }
            rd_kafka_message_destroy(m);
        }
        if (!seen) {
            record("stall: " + value + " not consumed within the limit");
            return;
        }
        {
            std::lock_guard lock(mutex_);
            ++round_trips_;
        }
        progressed_.notify_all();
    }
}

bool ensure_topic(rd_kafka_t* rk, const std::string& topic, int partitions) {
    const auto results = create_topics(rk, {{topic, partitions}});
    const auto it = results.find(topic);
    return it != results.end() && (it->second == RD_KAFKA_RESP_ERR_NO_ERROR ||
                                   it->second == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS);
}

std::vector<std::pair<int64_t, std::string>> consume_from_start(const std::string& bootstrap,
                                                                const std::string& topic,
                                                                int32_t partition,
                                                                std::size_t count,
                                                                std::chrono::milliseconds timeout) {
    auto rk = make_client(RD_KAFKA_CONSUMER, {{"bootstrap.servers", bootstrap},
                                              {"group.id", "robustness-check"},
                                              {"enable.auto.commit", "false"},
                                              {"enable.partition.eof", "false"}});
    rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(list, topic.c_str(), partition)->offset =
        RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_assign(rk.get(), list);
    rd_kafka_topic_partition_list_destroy(list);
    std::vector<std::pair<int64_t, std::string>> out;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (out.size() < count && std::chrono::steady_clock::now() < deadline) {
        rd_kafka_message_t* m = rd_kafka_consumer_poll(rk.get(), 100);
        if (m == nullptr) {
            continue;
        }
        if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            out.emplace_back(m->offset,
                             m->payload != nullptr
                                 ? std::string(static_cast<const char*>(m->payload), m->len)
                                 : std::string());
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(rk.get());
    return out;
}

}  // namespace broker::compat::robustness
