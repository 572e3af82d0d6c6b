#pragma once
// The coordinator's byte strings: `__consumer_offsets` keys and values, member metadata and
// assignments.
#include <cstdint>
#include <vector>

namespace broker::server::coordinator {

using bytes = std::vector<uint8_t>;

}  // namespace broker::server::coordinator
