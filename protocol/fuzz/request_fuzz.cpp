// libFuzzer target: a request frame body (everything after the 4-byte size) as the broker sees it.
// Decodes the request header, then the body for that key and version. Whatever decodes must encode
// to exactly encoded_size() bytes, and decoding that encoding and encoding again must give the same
// bytes (encode(decode(x)) is a fixed point). Malformed input may only produce a codec_status.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "protocol/api.h"
#include "protocol/generated/dispatch.h"
#include "protocol/header.h"

namespace {

using namespace broker::protocol;

void check_round_trip(const request_header& header, int16_t header_version, reader& r) {
    const int16_t version = header.request_api_version;
    visit_request_type(header.request_api_key, [&](auto type) {
        using message_type = typename decltype(type)::type;
        message_type message;
        if (decode(r, version, message) != codec_status::ok) {
            return;
        }
        std::vector<uint8_t> first;
        writer w(first);
        encode(w, version, message);
        if (first.size() != encoded_size(version, message)) {
            __builtin_trap();
        }
        message_type again;
        reader r2(first);
        if (decode(r2, version, again) != codec_status::ok || r2.remaining() != 0) {
            __builtin_trap();
        }
        std::vector<uint8_t> second;
        writer w2(second);
        encode(w2, version, again);
        if (second != first) {
            __builtin_trap();
        }
    });
    // The header itself round-trips the same way.
    std::vector<uint8_t> bytes;
    writer w(bytes);
    encode_request_header(w, header_version, header);
    reader hr(bytes);
    request_header decoded;
    int16_t decoded_version = 0;
    if (decode_request_header(hr, decoded, decoded_version) != codec_status::ok ||
        decoded_version != header_version || !(decoded == header)) {
        __builtin_trap();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    reader r(std::span<const uint8_t>(data, size));
    request_header header;
    int16_t header_version = 0;
    if (decode_request_header(r, header, header_version) != codec_status::ok) {
        return 0;
    }
    // The registry's by-key decoder must agree with the typed one.
    reader body(r.remaining_bytes());
    const codec_status by_key =
        decode_request_body(header.request_api_key, header.request_api_version, body);
    reader typed(r.remaining_bytes());
    check_round_trip(header, header_version, typed);
    reader typed_again(r.remaining_bytes());
    codec_status typed_status = codec_status::invalid;
    visit_request_type(header.request_api_key, [&](auto type) {
        typename decltype(type)::type message;
        typed_status = decode(typed_again, header.request_api_version, message);
    });
    if (typed_status != by_key) {
        __builtin_trap();
    }
    return 0;
}
