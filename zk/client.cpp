#include "zk/client.h"

namespace broker::zk {

std::string_view to_string(error_code code) noexcept {
    switch (code) {
        case error_code::ok: return "ZOK";
        case error_code::system_error: return "ZSYSTEMERROR";
        case error_code::runtime_inconsistency: return "ZRUNTIMEINCONSISTENCY";
        case error_code::connection_loss: return "ZCONNECTIONLOSS";
        case error_code::operation_timeout: return "ZOPERATIONTIMEOUT";
        case error_code::bad_arguments: return "ZBADARGUMENTS";
        case error_code::invalid_state: return "ZINVALIDSTATE";
        case error_code::api_error: return "ZAPIERROR";
        case error_code::no_node: return "ZNONODE";
        case error_code::no_auth: return "ZNOAUTH";
        case error_code::bad_version: return "ZBADVERSION";
        case error_code::no_children_for_ephemerals: return "ZNOCHILDRENFOREPHEMERALS";
        case error_code::node_exists: return "ZNODEEXISTS";
        case error_code::not_empty: return "ZNOTEMPTY";
        case error_code::session_expired: return "ZSESSIONEXPIRED";
        case error_code::closing: return "ZCLOSING";
    }
    return "ZUNKNOWN";
}

std::string_view to_string(session_state state) noexcept {
    switch (state) {
        case session_state::connecting: return "connecting";
        case session_state::connected: return "connected";
        case session_state::expired: return "expired";
    }
    return "unknown";
}

std::string_view to_string(watch_event event) noexcept {
    switch (event) {
        case watch_event::created: return "created";
        case watch_event::deleted: return "deleted";
        case watch_event::data_changed: return "data_changed";
        case watch_event::children_changed: return "children_changed";
        case watch_event::session_expired: return "session_expired";
    }
    return "unknown";
}

op op::check(std::string path, int32_t version) {
    op o;
    o.type = kind::check;
    o.path = std::move(path);
    o.version = version;
    return o;
}

op op::create(std::string path, std::string data, create_mode mode) {
    op o;
    o.type = kind::create;
    o.path = std::move(path);
    o.data = std::move(data);
    o.mode = mode;
    return o;
}

op op::set(std::string path, std::string data, int32_t version) {
    op o;
    o.type = kind::set;
    o.path = std::move(path);
    o.data = std::move(data);
    o.version = version;
    return o;
}

op op::erase(std::string path, int32_t version) {
    op o;
    o.type = kind::erase;
    o.path = std::move(path);
    o.version = version;
    return o;
}

}  // namespace broker::zk
