#pragma once
// admin_api: what the admin/metrics HTTP listener answers (docs/observability.md).
//
//   GET /metrics              Prometheus text format: request, topic, connection, partition,
//                             consumer-group lag and process metrics
//   GET /v1/health            liveness: 200 while the process serves HTTP at all
//   GET /v1/ready             readiness: 200 when every readiness check passes, else 503
//   GET /v1/brokers           cluster id, controller, brokers and their advertised endpoints
//   GET /v1/topics            every topic with its id and partition count
//   GET /v1/topics/{topic}    partitions (offsets, size, leader, replicas, ISR) and configs
//   GET /v1/groups            every consumer group with state and member count
//   GET /v1/groups/{group}    members (with decoded assignments), committed offsets and lag
// Anything else is 404 with a JSON error body. The server (http_server) refuses other methods,
// oversized requests and slow clients before a request reaches this class.
//
// Readiness checks are a list of named predicates given by the owner (broker_server): today "the
// Kafka listeners accept" and "the logs are loaded"; a ZooKeeper session check is one more entry.
//
// Threading: handle() runs on the HTTP server's own thread. It reads broker state through its
// thread-safe lookups (topic store snapshots, partition logs under their own mutex for the short
// size read, atomics for offsets) and reaches the group coordinator through
// group_service::snapshot_groups() (posted to the coordinator thread, resumed here), so it never
// runs on, or waits for, a shard. broker_core must outlive it.
#include "common/asio.h"

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "server/broker_core.h"

namespace broker::server::http {

/// An answer for the HTTP server to send.
struct http_response {
    unsigned status = 200;
    std::string content_type = "application/json";
    std::string body;
};

/// One readiness condition: `passing` is called on the HTTP thread and must be thread-safe and
/// non-blocking (it should read an atomic).
struct readiness_check {
    std::string name;
    std::function<bool()> passing;
};

/// Splits `target` (an origin-form request target) into its path segments, percent-decoded, with
/// any query string dropped. nullopt when the target does not start with '/' or holds a malformed
/// %-escape. "/v1/topics/a%2Fb" -> {"v1", "topics", "a/b"}; "/" -> {}.
std::optional<std::vector<std::string>> split_target(std::string_view target);

/// A JSON error body: {"error": code, "message": message}.
http_response json_error(unsigned status, std::string_view code, std::string_view message);

/// Decodes a "consumer" protocol member assignment (int16 version + ConsumerProtocolAssignment):
/// topic -> partitions, in the order given. nullopt when the bytes are not a valid assignment.
std::optional<std::vector<std::pair<std::string, std::vector<int32_t>>>> decode_consumer_assignment(
    std::span<const uint8_t> bytes);

/// CPU seconds (user + system), resident and virtual memory bytes, open descriptors and the
/// descriptor limit of this process, read from /proc/self; -1 for values that cannot be read.
struct process_stats {
    double cpu_seconds = -1;
    int64_t resident_memory_bytes = -1;
    int64_t virtual_memory_bytes = -1;
    int64_t open_fds = -1;
    int64_t max_fds = -1;
};
process_stats read_process_stats();

/// See the file comment.
class admin_api {
public:
    /// `live_connections` reports the Kafka connections currently open (thread-safe).
    admin_api(broker_core& core, std::vector<readiness_check> checks,
              std::function<std::size_t()> live_connections);
    admin_api(const admin_api&) = delete;
    admin_api& operator=(const admin_api&) = delete;

    /// Answers a GET of `target`.
    net::awaitable<http_response> handle_get(std::string target);

private:
    net::awaitable<http_response> metrics();
    http_response health() const;
    http_response ready() const;
    http_response brokers() const;
    http_response topics() const;
    http_response topic(const std::string& name) const;
    net::awaitable<http_response> groups();
    net::awaitable<http_response> group(std::string group_id);

    broker_core& core_;
    const std::vector<readiness_check> checks_;
    const std::function<std::size_t()> live_connections_;
};

}  // namespace broker::server::http
