#include "server/coordinator/consumer_protocol.h"

#include "server/coordinator/byte_io.h"

namespace broker::server::coordinator {

std::optional<std::vector<std::string>> decode_subscription_topics(
    std::span<const uint8_t> metadata) {
    byte_reader r(metadata);
    int16_t version = r.read_int16();
    if (!r.ok() || version < 0) {
        return std::nullopt;
    }
    constexpr std::size_t min_topic_size = 2;  // an empty int16-length string
    int32_t count = r.read_array_count(false, min_topic_size);
    std::vector<std::string> topics;
    topics.reserve(static_cast<std::size_t>(count));
    for (int32_t i = 0; r.ok() && i < count; ++i) {
        topics.push_back(r.read_string(false));
    }
    r.read_nullable_bytes(false);  // user_data: must be well formed, content unused
    if (!r.ok()) {
        return std::nullopt;
    }
    return topics;
}

}  // namespace broker::server::coordinator
