#pragma once
// Declarations of every request handler; the dispatch table (server/dispatch.cpp) points at these.
// One API per file in server/handlers/<api>.cpp. See server/dispatch.h for the handler contract.
#include "server/dispatch.h"

namespace broker::server {

net::awaitable<handler_result> handle_api_versions(request_context& ctx, protocol::reader& body);
net::awaitable<handler_result> handle_metadata(request_context& ctx, protocol::reader& body);

}  // namespace broker::server
