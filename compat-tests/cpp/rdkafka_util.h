#pragma once
// Small RAII helpers over librdkafka's C API for compat tests and benchmarks.
#include <librdkafka/rdkafka.h>

#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace broker::compat {

struct rd_kafka_deleter {
    void operator()(rd_kafka_t* rk) const {
        if (rk != nullptr) {
            rd_kafka_destroy(rk);
        }
    }
};
using kafka_handle = std::unique_ptr<rd_kafka_t, rd_kafka_deleter>;

/// Creates a producer or consumer with the given properties; throws with librdkafka's message on
/// error.
inline kafka_handle make_client(rd_kafka_type_t type,
                                const std::map<std::string, std::string>& props) {
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    char err[512];
    for (const auto& [k, v] : props) {
        if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof(err)) != RD_KAFKA_CONF_OK) {
            rd_kafka_conf_destroy(conf);
            throw std::runtime_error("config " + k + ": " + err);
        }
    }
    rd_kafka_t* rk = rd_kafka_new(type, conf, err, sizeof(err));
    if (rk == nullptr) {
        throw std::runtime_error(std::string("rd_kafka_new: ") + err);
    }
    return kafka_handle(rk);
}

/// Waits for one admin result event of `type` on `queue`, bounded by `timeout_ms`. Caller destroys
/// it.
inline rd_kafka_event_t* wait_admin_result(rd_kafka_queue_t* queue, rd_kafka_event_type_t type,
                                           int timeout_ms) {
    for (int waited = 0; waited < timeout_ms; waited += 100) {
        rd_kafka_event_t* ev = rd_kafka_queue_poll(queue, 100);
        if (ev == nullptr) {
            continue;
        }
        if (rd_kafka_event_type(ev) == type) {
            return ev;
        }
        rd_kafka_event_destroy(ev);
    }
    throw std::runtime_error("admin result timed out");
}

/// Creates topics through the admin API and returns the per-topic error codes (by topic name).
inline std::map<std::string, rd_kafka_resp_err_t> create_topics(
    rd_kafka_t* rk, const std::vector<std::pair<std::string, int>>& topics,
    const std::map<std::string, std::string>& configs = {}, int replication = 1) {
    std::vector<rd_kafka_NewTopic_t*> nts;
    char err[512];
    for (const auto& [name, partitions] : topics) {
        rd_kafka_NewTopic_t* nt =
            rd_kafka_NewTopic_new(name.c_str(), partitions, replication, err, sizeof(err));
        if (nt == nullptr) {
            throw std::runtime_error(err);
        }
        for (const auto& [k, v] : configs) {
            rd_kafka_NewTopic_set_config(nt, k.c_str(), v.c_str());
        }
        nts.push_back(nt);
    }
    rd_kafka_queue_t* q = rd_kafka_queue_new(rk);
    rd_kafka_CreateTopics(rk, nts.data(), nts.size(), nullptr, q);
    rd_kafka_event_t* ev = wait_admin_result(q, RD_KAFKA_EVENT_CREATETOPICS_RESULT, 30000);
    std::map<std::string, rd_kafka_resp_err_t> out;
    if (rd_kafka_event_error(ev) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        std::string msg = rd_kafka_event_error_string(ev);
        rd_kafka_event_destroy(ev);
        rd_kafka_queue_destroy(q);
        rd_kafka_NewTopic_destroy_array(nts.data(), nts.size());
        throw std::runtime_error("CreateTopics: " + msg);
    }
    size_t n = 0;
    const rd_kafka_topic_result_t** res =
        rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
    for (size_t i = 0; i < n; ++i) {
        out[rd_kafka_topic_result_name(res[i])] = rd_kafka_topic_result_error(res[i]);
    }
    rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(q);
    rd_kafka_NewTopic_destroy_array(nts.data(), nts.size());
    return out;
}

}  // namespace broker::compat
