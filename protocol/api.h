#pragma once
// The API registry: every request API in protocol/schemas, with the version ranges this codec can
// parse and write. The table itself is generated (protocol/generated/registry.cpp) from the same
// schemas as the messages, so what the broker advertises and what it can decode cannot drift apart.
// All functions are pure lookups over constant data and safe from any thread.
#include <cstdint>
#include <span>
#include <string_view>

#include "protocol/wire.h"

namespace broker::protocol {

struct api_info {
    int16_t key;
    std::string_view name;  // Kafka's API name without "Request", e.g. "Produce"
    int16_t min_version;
    int16_t max_version;
    int16_t first_flexible;  // -1 when no version is flexible
    bool latest_unstable;    // the schema marks max_version as not yet stable (not advertised by
                             // Kafka)
};

/// Every request API, sorted by key.
std::span<const api_info> api_registry();

/// The API with this key, or nullptr.
const api_info* find_api(int16_t key);

/// Whether `version` of a known API uses the flexible (compact, tagged) encoding.
bool is_flexible(const api_info& api, int16_t version);

/// Request header version: 2 for flexible versions, else 1; ControlledShutdown v0 uses header v0.
/// Unknown keys get 1 so the caller can still read the correlation id.
int16_t request_header_version(int16_t api_key, int16_t api_version);

/// Response header version: 1 for flexible versions, else 0. The ApiVersions response always uses
/// v0 (KIP-511), so a client can read it whatever version it asked for.
int16_t response_header_version(int16_t api_key, int16_t api_version);

/// Decodes (and discards) the request body of `api_key` at `api_version`: an unknown key or a
/// version outside the schema's range is `invalid`. Used to validate frames and by the fuzz target;
/// handlers decode into their concrete type (see protocol/generated/dispatch.h for going from key
/// to type).
[[nodiscard]] codec_status decode_request_body(int16_t api_key, int16_t api_version, reader& r);

}  // namespace broker::protocol
