#include "coordinator/consumer_protocol.h"

#include "protocol/generated/consumer_protocol_subscription.h"
#include "protocol/wire.h"

namespace broker::server::coordinator {

std::optional<std::vector<std::string>> decode_subscription_topics(
    std::span<const uint8_t> metadata) {
    protocol::reader r(metadata);
    // The int16 version prefix is read and then ignored: like Kafka's coordinator, the body is
    // always parsed as version 0, the prefix every later version extends.
    (void)r.read_int16();
    if (!r.ok()) {
        return std::nullopt;
    }
    protocol::consumer_protocol_subscription subscription;
    if (protocol::decode(r, 0, subscription) != protocol::codec_status::ok) {
        return std::nullopt;
    }
    return std::move(subscription.topics);
}

}  // namespace broker::server::coordinator
