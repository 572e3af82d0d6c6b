#include "protocol/header.h"

namespace broker::protocol {

codec_status decode_request_header(reader& r, request_header& out, int16_t& header_version) {
    out = request_header{};
    header_version = 1;
    // Peek at key and version (the first four bytes) to pick the header version, then decode the
    // whole header from the start with the generated codec.
    reader peek(r.remaining_bytes());
    const int16_t api_key = peek.read_int16();
    const int16_t api_version = peek.read_int16();
    if (!peek.ok()) {
        out.request_api_key = api_key;
        r.fail(peek.status());
        return r.status();
    }
    const bool known = find_api(api_key) != nullptr;
    header_version = request_header_version(api_key, api_version);
    const codec_status status = decode(r, header_version, out);
    if (status != codec_status::ok) {
        return status;
    }
    return known ? codec_status::ok : codec_status::invalid;
}

void encode_request_header(writer& w, int16_t header_version, const request_header& header) {
    encode(w, header_version, header);
}

void encode_response_header(writer& w, int16_t header_version, int32_t correlation_id) {
    w.write_int32(correlation_id);
    if (header_version >= 1) {
        w.write_unsigned_varint(0);  // no tagged fields
    }
}

codec_status decode_response_header(reader& r, int16_t header_version, response_header& out) {
    return decode(r, header_version, out);
}

}  // namespace broker::protocol
