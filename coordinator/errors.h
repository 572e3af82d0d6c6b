#pragma once
// The coordinator's error codes are the codec's: `coordinator::error_code` is an alias of
// `protocol::error_code` (Kafka's values, Kafka's names in snake_case), so results flow into the
// generated response structs without any conversion table.
#include "protocol/errors.h"

namespace broker::server::coordinator {

using error_code = protocol::error_code;
using protocol::error_name;

}  // namespace broker::server::coordinator
