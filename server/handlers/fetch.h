#pragma once
// Fetch (key 1) building blocks, shared by the handler (server/handlers/fetch.cpp) and its tests.
// docs/fetch.md describes the behaviour: limits, long polling, sessions, zero copy.
//
// The handler runs in three steps:
//   1. targets: the session cache (server/fetch_session.h) turns the request into the list of
//      partitions to read; each is looked up once (fetch_partition_lookup);
//   2. read passes: read_targets() reads every partition (partition::read), returning file regions
//      (no record byte is copied), until min_bytes are available, a partition reports an error, or
//      max_wait_ms passes. Between passes the request waits as a delayed operation
//      (server/replica/delayed_operation.h) that a high-watermark advance (consumers) or an append
//      (replicas) on one of the partitions, or the connection closing, cuts short;
//   3. completion: the session cache filters the last pass (incremental fetches) and the response
//      is encoded with the regions as splices, which the connection sends with sendfile(2).
#include "common/asio.h"

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "common/types.h"
#include "protocol/errors.h"
#include "protocol/generated/fetch_response.h"
#include "protocol/wire.h"
#include "server/broker_core.h"
#include "server/fetch_session.h"
#include "server/replica/partition.h"
#include "server/request_context.h"

namespace broker::server {

/// Where a fetch finds its partitions: the topic store in the broker, a fixed set in tests.
/// Implementations are called from any shard.
class fetch_partition_lookup {
public:
    virtual ~fetch_partition_lookup() = default;
    /// The partition, or nullptr when the topic or the index is unknown.
    virtual std::shared_ptr<partition> find(std::string_view topic, int32_t index) const = 0;
    virtual std::shared_ptr<partition> find(const protocol::uuid& topic_id,
                                            int32_t index) const = 0;
    /// True when a topic has this id (an unknown id is UNKNOWN_TOPIC_ID, an unknown index of a
    /// known topic UNKNOWN_TOPIC_OR_PARTITION).
    virtual bool topic_id_known(const protocol::uuid& topic_id) const = 0;
};

/// How every partition of one request is read.
struct fetch_read_options {
    /// The request's version (Fetch before v10 may not read zstd topics).
    int16_t version = 17;
    /// isolation_level 1: read up to the last stable offset and report aborted transactions (an
    /// empty list: this broker has no transactions, so the last stable offset is the high
    /// watermark). 0: read up to the high watermark, aborted_transactions null.
    bool read_committed = false;
    /// A replica's fetch: its broker id (no_node, or any negative id, for consumers). A replica
    /// reads up to the log end and its fetch moves the leader's view of it (partition::read); a
    /// replica outside the partition's assignment (every replica, on a single node) answers
    /// NOT_LEADER_OR_FOLLOWER.
    node_id replica_id = no_node;
};

/// One partition a request reads: what was asked, and the partition (null when the lookup failed,
/// `lookup_error` then says why).
struct fetch_target {
    fetch_partition_request request;
    std::shared_ptr<server::partition> partition;
    protocol::error_code lookup_error = protocol::error_code::none;
    /// With NOT_LEADER_OR_FOLLOWER (a cluster's partition hosted elsewhere): its leader and epoch
    /// as the metadata cache knows them (-1 when unknown).
    int32_t known_leader = -1;
    int32_t known_leader_epoch = -1;
};

/// The result of reading every target once.
struct fetch_pass {
    /// One entry per target, in target order.
    std::vector<fetch_partition_response> partitions;
    /// Record bytes over all partitions (the file regions' lengths).
    uint64_t bytes = 0;
    /// A partition failed while being read (not a failed lookup) or reported a diverging epoch:
    /// Kafka answers such a fetch at once instead of waiting for min_bytes.
    bool answer_now = false;
};

/// A partition entry for `error`, in Kafka's shape: high watermark, last stable offset and log
/// start offset -1, empty (not null) records.
protocol::fetch_response::partition_data fetch_error_partition(int32_t index,
                                                               protocol::error_code error,
                                                               const fetch_read_options& options);

/// Reads one partition (partition::read): leader epoch and last-fetched-epoch checks, offset range
/// ([log start, log end], else OFFSET_OUT_OF_RANGE), then whole batches from the fetch offset up to
/// the high watermark, at most `max_bytes` unless `min_one_batch` (then the first batch is returned
/// even when larger). Records are file regions sharing ownership of the segment files.
protocol::fetch_response::partition_data fetch_read_partition(
    partition& p, const fetch_partition_request& request, uint64_t max_bytes, bool min_one_batch,
    const fetch_read_options& options);

/// Reads every target in order, applying Kafka's limits: each partition gets
/// min(partition_max_bytes, what is left of `max_bytes`), and until some partition has returned
/// records the first batch found is returned whole even if it exceeds both (so a consumer always
/// makes progress); afterwards the limits are strict.
fetch_pass fetch_read_targets(const std::vector<fetch_target>& targets, uint64_t max_bytes,
                              const fetch_read_options& options);

/// The Fetch handler with its dependencies explicit; handle_fetch() passes the broker's topic
/// store, session cache and fetch.max.bytes.
net::awaitable<handler_result> serve_fetch(request_context& ctx, protocol::reader& body,
                                           const fetch_partition_lookup& lookup,
                                           fetch_session_cache& sessions, int32_t fetch_max_bytes);

}  // namespace broker::server
