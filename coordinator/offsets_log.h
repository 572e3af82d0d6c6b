#pragma once
// The coordinator's only way to persist state: appends to `__consumer_offsets`.
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "coordinator/bytes.h"
#include "coordinator/errors.h"

namespace broker::server::coordinator {

/// One `__consumer_offsets` record: key and value bytes as records.h lays them out. A missing
/// value is a tombstone.
struct offsets_record {
    bytes key;
    std::optional<bytes> value;
    friend bool operator==(const offsets_record&, const offsets_record&) = default;
};

/// Appends record batches to partitions of `__consumer_offsets`. Implemented by the server over its
/// partition logs; tests use an in-memory list.
///
/// `append` writes `records` as one batch (all or nothing) to `partition` and calls `done` exactly
/// once with the outcome, after the write is durable under acks=all (`none`), or with the log's
/// error (`not_leader_or_follower`, `not_enough_replicas`, `request_timed_out`,
/// `record_list_too_large`, `kafka_storage_error`, ...). `done` may run before `append` returns or
/// later, but always on the coordinator's serialized context (the server posts it to the
/// coordinator's strand). The coordinator maps the error the way Kafka does for the request that
/// caused the write. Appends to one partition must complete in the order they were made.
class offsets_log {
public:
    virtual ~offsets_log() = default;
    virtual void append(int32_t partition, std::vector<offsets_record> records,
                        std::function<void(error_code)> done) = 0;
};

}  // namespace broker::server::coordinator
