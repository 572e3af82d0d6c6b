#include "protocol/api.h"

namespace broker::protocol {

namespace {
constexpr int16_t controlled_shutdown_key = 7;
constexpr int16_t api_versions_key = 18;
}  // namespace

bool is_flexible(const api_info& api, int16_t version) {
    return api.first_flexible >= 0 && version >= api.first_flexible;
}

int16_t request_header_version(int16_t api_key, int16_t api_version) {
    const api_info* api = find_api(api_key);
    if (api == nullptr) {
        return 1;
    }
    if (api_key == controlled_shutdown_key && api_version == 0) {
        return 0;  // RequestHeader v0 exists only for ControlledShutdown v0 (no client id)
    }
    return is_flexible(*api, api_version) ? 2 : 1;
}

int16_t response_header_version(int16_t api_key, int16_t api_version) {
    if (api_key == api_versions_key) {
        return 0;  // KIP-511: clients parse this response before knowing the broker's versions
    }
    const api_info* api = find_api(api_key);
    if (api == nullptr) {
        return 0;
    }
    return is_flexible(*api, api_version) ? 1 : 0;
}

}  // namespace broker::protocol
