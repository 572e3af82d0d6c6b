#pragma once
// Request dispatch: the table of APIs this broker serves and the handler each one runs.
//
// `served_apis()` is the single source of truth for both dispatch and the ApiVersions response, so
// what the broker advertises and what it answers cannot drift apart. Each row's range must lie
// within the protocol registry's range for that key (checked by check_served_apis(), at startup
// and in a unit test), and every advertised version must really be handled.
//
// Adding an API: write `server/handlers/<api>.cpp` defining
//     net::awaitable<handler_result> handle_<api>(request_context&, protocol::reader&);
// declare it in server/handlers/handlers.h, add a row to the table in dispatch.cpp, and list the
// range in docs/api-versions.md (a unit test compares the two).
//
// Handler contract:
//   - runs on the connection's shard; may co_await (on_shard hops, timers, blocking pool);
//   - decodes its body from the reader (positioned after the request header); a body that fails
//     to decode returns handler_result::close() — Kafka drops such connections, it does not answer;
//   - a request it refuses is answered with Kafka error codes at the level the schema puts them;
//   - returns handler_result::no_reply() when the protocol says no response is sent (Produce
//   acks=0);
//   - an exception escaping a handler is a bug: it is logged and the connection is closed.
#include "common/asio.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/header.h"
#include "protocol/wire.h"
#include "server/broker_core.h"
#include "server/request_context.h"

namespace broker::server {

/// Problems with the served table (key unknown to the registry, range outside the registry's,
/// unordered or duplicate rows). Empty means the table is consistent.
std::vector<std::string> check_served_apis();

/// Runs the handler of `ctx.api_key`. The caller has already checked that the API is served and
/// the version accepted (or that it is ApiVersions, which answers every version).
net::awaitable<handler_result> dispatch(request_context& ctx, protocol::reader& body);

}  // namespace broker::server
