#pragma once
// The one mapping of log-layer errors to Kafka error codes, used by every path that touches a
// partition's log (produce, fetch, ListOffsets, DeleteRecords, the group coordinator's appends).
#include <system_error>

#include "protocol/errors.h"

namespace broker::server {

/// Log errors by kind; any system error (the disk failed us) is KAFKA_STORAGE_ERROR; anything else
/// is UNKNOWN_SERVER_ERROR. A closed log means the partition is going away or the broker is
/// stopping: NOT_LEADER_OR_FOLLOWER sends the client back to Metadata.
protocol::error_code to_kafka_error(const std::error_code& ec);

}  // namespace broker::server
