#pragma once
// Request and response headers (RequestHeader.json / ResponseHeader.json).
//
//   request header v0: int16 api_key, int16 api_version, int32 correlation_id
//   request header v1: v0 + client_id (nullable string, always int16 length)
//   request header v2: v1 + tagged-field section. client_id keeps its int16 length even here, so an
//                      old broker can read the header of any ApiVersions request.
//   response header v0: int32 correlation_id; v1: v0 + tagged-field section.
// Which version applies comes from the API registry (request_header_version /
// response_header_version).
#include <cstdint>

#include "protocol/api.h"
#include "protocol/generated/request_header.h"
#include "protocol/generated/response_header.h"
#include "protocol/wire.h"

namespace broker::protocol {

/// Reads a request header, choosing its version from the api key and version it starts with.
/// Returns ok with `header_version` set when the header is well formed for a known API.
/// An unknown api key is parsed as header v1 (so correlation_id and client_id are filled and can be
/// logged) and reported as `invalid`; callers tell it apart from malformed bytes with find_api().
/// Malformed or short input returns invalid/truncated with whatever fields were read.
[[nodiscard]] codec_status decode_request_header(reader& r, request_header& out,
                                                 int16_t& header_version);

/// Writes a request header in `header_version` (0, 1 or 2). Used by tests and tools acting as
/// clients.
void encode_request_header(writer& w, int16_t header_version, const request_header& header);

/// Writes a response header: correlation id, plus an empty tagged-field section in v1.
void encode_response_header(writer& w, int16_t header_version, int32_t correlation_id);

/// Reads a response header of `header_version` (0 or 1).
[[nodiscard]] codec_status decode_response_header(reader& r, int16_t header_version,
                                                  response_header& out);

}  // namespace broker::protocol
