#pragma once
// Declarations of every request handler; the dispatch table (server/dispatch.cpp) points at these.
// One API per file in server/handlers/<api>.cpp. See server/dispatch.h for the handler contract.
#include "server/broker_core.h"
#include "server/request_context.h"

namespace broker::server {

net::awaitable<handler_result> handle_api_versions(request_context& ctx, protocol::reader& body);
net::awaitable<handler_result> handle_metadata(request_context& ctx, protocol::reader& body);
net::awaitable<handler_result> handle_create_topics(request_context& ctx, protocol::reader& body);
net::awaitable<handler_result> handle_delete_topics(request_context& ctx, protocol::reader& body);
net::awaitable<handler_result> handle_delete_records(request_context& ctx, protocol::reader& body);
net::awaitable<handler_result> handle_describe_configs(request_context& ctx,
                                                       protocol::reader& body);
net::awaitable<handler_result> handle_alter_configs(request_context& ctx, protocol::reader& body);
net::awaitable<handler_result> handle_describe_log_dirs(request_context& ctx,
                                                        protocol::reader& body);
net::awaitable<handler_result> handle_create_partitions(request_context& ctx,
                                                        protocol::reader& body);
net::awaitable<handler_result> handle_incremental_alter_configs(request_context& ctx,
                                                                protocol::reader& body);
net::awaitable<handler_result> handle_describe_cluster(request_context& ctx,
                                                       protocol::reader& body);
net::awaitable<handler_result> handle_fetch(request_context& ctx, protocol::reader& body);
net::awaitable<handler_result> handle_produce(request_context& ctx, protocol::reader& body);
net::awaitable<handler_result> handle_list_offsets(request_context& ctx, protocol::reader& body);
net::awaitable<handler_result> handle_init_producer_id(request_context& ctx,
                                                       protocol::reader& body);
net::awaitable<handler_result> handle_elect_leaders(request_context& ctx, protocol::reader& body);
net::awaitable<handler_result> handle_leader_and_isr(request_context& ctx, protocol::reader& body);
net::awaitable<handler_result> handle_stop_replica(request_context& ctx, protocol::reader& body);
net::awaitable<handler_result> handle_update_metadata(request_context& ctx, protocol::reader& body);
net::awaitable<handler_result> handle_describe_producers(request_context& ctx,
                                                         protocol::reader& body);
net::awaitable<handler_result> handle_offset_commit(request_context& ctx, protocol::reader& body);
net::awaitable<handler_result> handle_offset_fetch(request_context& ctx, protocol::reader& body);
net::awaitable<handler_result> handle_find_coordinator(request_context& ctx,
                                                       protocol::reader& body);
net::awaitable<handler_result> handle_join_group(request_context& ctx, protocol::reader& body);
net::awaitable<handler_result> handle_heartbeat(request_context& ctx, protocol::reader& body);
net::awaitable<handler_result> handle_leave_group(request_context& ctx, protocol::reader& body);
net::awaitable<handler_result> handle_sync_group(request_context& ctx, protocol::reader& body);
net::awaitable<handler_result> handle_describe_groups(request_context& ctx, protocol::reader& body);
net::awaitable<handler_result> handle_list_groups(request_context& ctx, protocol::reader& body);
net::awaitable<handler_result> handle_delete_groups(request_context& ctx, protocol::reader& body);
net::awaitable<handler_result> handle_offset_delete(request_context& ctx, protocol::reader& body);
net::awaitable<handler_result> handle_describe_acls(request_context& ctx, protocol::reader& body);
net::awaitable<handler_result> handle_create_acls(request_context& ctx, protocol::reader& body);
net::awaitable<handler_result> handle_delete_acls(request_context& ctx, protocol::reader& body);

}  // namespace broker::server
