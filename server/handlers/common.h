#pragma once
// Helpers shared by request handlers.
#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "common/big_endian.h"
#include "protocol/errors.h"
#include "protocol/header.h"
#include "protocol/wire.h"
#include "server/broker_core.h"
#include "server/request_context.h"

namespace broker::server {

/// Appends to `out` one entry per live broker of `cluster` with an address on `listener` (all of
/// them when `only` is empty, else those whose id it lists), filling the id field `id`, host, port
/// and rack: the broker lists of Metadata and DescribeCluster and Fetch's node endpoints.
template <typename Entry>
void add_broker_entries(std::vector<Entry>& out, const cluster_view& cluster,
                        std::string_view listener, int32_t Entry::*id,
                        const std::vector<int32_t>& only = {}) {
    for (const broker_info& b : cluster.brokers) {
        const advertised_endpoint* address = b.endpoint_for(listener);
        if (address == nullptr ||
            (!only.empty() && std::find(only.begin(), only.end(), b.id) == only.end())) {
            continue;
        }
        Entry entry;
        entry.*id = b.id;
        entry.host = address->host;
        entry.port = address->port;
        entry.rack = b.rack;
        out.push_back(std::move(entry));
    }
}

/// Encodes a complete response frame: size prefix, response header (`header_version`, the
/// request's correlation id) and `body` at `body_version`. File regions in `body` become splices.
template <typename Body>
response_buffer encode_response(int16_t header_version, int32_t correlation_id,
                                int16_t body_version, const Body& body) {
    response_buffer out;
    // encoded_size() counts spliced file regions too, which never enter `bytes`: cap the
    // reservation so a large fetch does not allocate its record bytes for nothing.
    constexpr std::size_t max_reserve = 256 * 1024;
    out.bytes.reserve(
        std::min<std::size_t>(4 + 5 + protocol::encoded_size(body_version, body), max_reserve));
    protocol::writer w(out.bytes);
    w.write_int32(0);  // size, patched below
    protocol::encode_response_header(w, header_version, correlation_id);
    protocol::encode(w, body_version, body);
    const std::size_t size = w.wire_size() - 4;
    if (size > static_cast<std::size_t>(std::numeric_limits<int32_t>::max())) {
        // Handlers bound their responses (fetch sizes etc.); this would be a bug.
        throw std::length_error("response larger than 2 GiB");
    }
    store_be32(out.bytes.data(), static_cast<uint32_t>(size));
    out.splices = w.splices();
    return out;
}

/// Encodes `body` as the answer to the request in `ctx` (its version and header version).
template <typename Body>
response_buffer encode_response(const request_context& ctx, const Body& body) {
    return encode_response(ctx.response_header_version, ctx.correlation_id, ctx.api_version, body);
}

/// The int16 wire value of an error code.
constexpr int16_t code(protocol::error_code e) {
    return static_cast<int16_t>(e);
}

/// Builds a per-topic list of partition results the way Kafka's response builders do: topics in
/// order of first appearance, each topic's partitions in the order they were added. `Topic` is a
/// generated response topic (`name`, `partitions`) whose partitions have `partition_index` and
/// `error_code`.
template <typename Topic>
class partition_errors_builder {
public:
    void add(const std::string& topic, int32_t partition, protocol::error_code error) {
        auto [it, inserted] = index_.try_emplace(topic, topics_.size());
        if (inserted) {
            Topic t;
            t.name = topic;
            topics_.push_back(std::move(t));
        }
        typename decltype(Topic::partitions)::value_type p;
        p.partition_index = partition;
        p.error_code = code(error);
        topics_[it->second].partitions.push_back(std::move(p));
    }
    std::vector<Topic> take() { return std::move(topics_); }

private:
    std::vector<Topic> topics_;
    std::map<std::string, std::size_t, std::less<>> index_;
};

/// The message of the SECURITY_DISABLED results CreateAcls and DeleteAcls answer without an
/// authorizer (DescribeAcls has its own, as in Kafka).
constexpr std::string_view no_authorizer_message = "No Authorizer is configured.";

/// False when an ACL binding or filter names the UNKNOWN (0) code of any of its enums, which
/// Kafka's request parsers refuse (the connection is closed).
constexpr bool acl_filter_codes_known(int8_t resource_type, int8_t pattern_type, int8_t operation,
                                      int8_t permission_type) {
    return resource_type != 0 && pattern_type != 0 && operation != 0 && permission_type != 0;
}

}  // namespace broker::server
