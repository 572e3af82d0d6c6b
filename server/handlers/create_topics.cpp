// CreateTopics (key 19), v0-7.
//
// Kafka's rules (KafkaApis / the ZooKeeper-mode admin manager), per topic:
//   - a name given twice in one request: every occurrence answers INVALID_REQUEST;
//   - num_partitions / replication_factor -1 mean num.partitions / default.replication.factor
//   (clients
//     send -1 only from v4, KIP-464, or with a manual assignment; the broker does not check which);
//     a manual assignment excludes both counts (INVALID_REQUEST) and must name only this broker,
//     once per partition, for partitions 0..n-1 (INVALID_REPLICA_ASSIGNMENT);
//   - a replication factor above 1 is INVALID_REPLICATION_FACTOR (one broker);
//   - configs are Kafka topic configs; an unknown name, a bad value or a null value is
//     INVALID_CONFIG;
//   - validate_only (v1+) runs every check and reports what would be created, creating nothing.
// v5+ results carry the partition count, replication factor and every config with its source;
// v7 the topic id. error_message (v1+) is null on success. On a single node timeout_ms is not
// needed: creation is finished when the response is sent. In a cluster the admin backend writes
// the topic's znodes and the controller elects the leaders: the answer waits up to timeout_ms for
// them (REQUEST_TIMED_OUT after), as Kafka's does.
#include "common/asio.h"

#include <algorithm>
#include <chrono>
#include <map>

#include "protocol/generated/messages.h"
#include "server/handlers/common.h"
#include "server/handlers/handlers.h"

namespace broker::server {
namespace {

using request_type = protocol::create_topics_request;
using response_type = protocol::create_topics_response;
using protocol::error_code;

std::vector<response_type::creatable_topic_configs> to_response_configs(
    const std::vector<described_config>& configs) {
    std::vector<response_type::creatable_topic_configs> out;
    out.reserve(configs.size());
    for (const described_config& c : configs) {
        response_type::creatable_topic_configs entry;
        entry.name = c.name;
        entry.value = c.value;
        entry.read_only = c.read_only;
        entry.config_source = static_cast<int8_t>(c.source);
        entry.is_sensitive = c.sensitive;
        out.push_back(std::move(entry));
    }
    return out;
}

// In a cluster, as Kafka's delayed CreateTopics: the answer waits (at most `timeout_ms`) until
// the metadata cache shows a leader for every partition of every topic created; a topic still
// without one then answers REQUEST_TIMED_OUT (it was created and its leaders come later).
net::awaitable<void> wait_for_leaders(request_context& ctx, response_type& response,
                                      int32_t timeout_ms) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    const auto led = [&](const response_type::creatable_topic_result& t) {
        const std::shared_ptr<const topic_snapshot> snapshot = ctx.broker.metadata().snapshot();
        const topic_info* topic = snapshot ? snapshot->find(t.name) : nullptr;
        if (topic == nullptr || static_cast<int32_t>(topic->partitions.size()) < t.num_partitions) {
            return false;
        }
        return std::all_of(topic->partitions.begin(), topic->partitions.end(),
                           [](const partition_info& p) { return p.leader_id >= 0; });
    };
    net::steady_timer timer(co_await net::this_coro::executor);
    for (;;) {
        bool all = true;
        for (const auto& t : response.topics) {
            if (t.error_code == 0 && !led(t)) {
                all = false;
            }
        }
        if (all) {
            co_return;
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            break;
        }
        timer.expires_after(std::chrono::milliseconds(10));
        boost::system::error_code ec;
        co_await timer.async_wait(net::redirect_error(net::use_awaitable, ec));
    }
    for (auto& t : response.topics) {
        if (t.error_code == 0 && !led(t)) {
            t.error_code = code(error_code::request_timed_out);
            t.error_message = "Timed out waiting for the partitions' leaders to be elected.";
        }
    }
}

}  // namespace

net::awaitable<handler_result> handle_create_topics(request_context& ctx, protocol::reader& body) {
    request_type request;
    if (protocol::decode(body, ctx.api_version, request) != protocol::codec_status::ok) {
        co_return handler_result::close();
    }
    std::map<std::string, int> occurrences;
    for (const auto& t : request.topics) {
        ++occurrences[t.name];
    }

    response_type response;
    response.throttle_time_ms = 0;
    admin_backend* admin = &ctx.broker.admin();
    for (const auto& t : request.topics) {
        response_type::creatable_topic_result result;
        result.name = t.name;
        result.error_message = std::nullopt;
        result.configs.emplace();
        const auto fail = [&](error_code e, std::string message) {
            result.error_code = code(e);
            result.error_message = std::move(message);
        };
        if (occurrences[t.name] > 1) {
            fail(error_code::invalid_request, "Found multiple entries for this topic.");
            response.topics.push_back(std::move(result));
            continue;
        }
        new_topic topic;
        topic.name = t.name;
        topic.num_partitions = t.num_partitions;
        topic.replication_factor = t.replication_factor;
        bool bad = false;
        std::string null_configs;
        for (const auto& c : t.configs) {
            if (!c.value) {
                null_configs += (null_configs.empty() ? "" : ",") + c.name;
                continue;
            }
            topic.configs[c.name] = *c.value;
        }
        if (!null_configs.empty()) {
            fail(error_code::invalid_config,
                 "Null value not supported for topic configs: " + null_configs);
            bad = true;
        }
        for (const auto& a : t.assignments) {
            if (bad) {
                break;
            }
            if (!topic.assignments.emplace(a.partition_index, a.broker_ids).second) {
                fail(error_code::invalid_replica_assignment, "Partition " +
                                                                 std::to_string(a.partition_index) +
                                                                 " is assigned more than once.");
                bad = true;
            }
        }
        if (!bad) {
            // Pointer captures only (see broker_core::auto_create_topic on GCC 12 closures).
            const bool validate_only = request.validate_only;
            const new_topic* wanted = &topic;
            created_topic created =
                co_await ctx.broker.shards().run_blocking([admin, wanted, validate_only] {
                    return admin->create_topic(*wanted, validate_only);
                });
            if (!created.result.ok()) {
                fail(created.result.error, created.result.message.value_or(""));
            } else {
                result.topic_id = created.topic_id;
                result.num_partitions = created.num_partitions;
                result.replication_factor = created.replication_factor;
                result.configs = to_response_configs(created.configs);
            }
        }
        response.topics.push_back(std::move(result));
    }
    if (!ctx.broker.config().single_node() && !request.validate_only && request.timeout_ms > 0) {
        co_await wait_for_leaders(ctx, response, request.timeout_ms);
    }
    co_return handler_result::reply(encode_response(ctx, response));
}

}  // namespace broker::server
