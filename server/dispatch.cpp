#include "server/dispatch.h"

#include <algorithm>
#include <array>
#include <chrono>

#include "protocol/api.h"
#include "server/handlers/handlers.h"
#include "server/metrics.h"

namespace broker::server {
namespace {

// What this broker serves. Keep it ordered by key, and keep docs/api-versions.md in step (a unit
// test compares them). Ranges never go above what the handler really implements.
constexpr std::array served_table{
    served_api{0, 0, 11, &handle_produce},
    served_api{1, 4, 17, &handle_fetch},
    served_api{2, 0, 9, &handle_list_offsets},
    served_api{3, 0, 12, &handle_metadata},
    // The controller's requests, from the first version that carries the broker epoch.
    served_api{4, 2, 7, &handle_leader_and_isr, true},
    served_api{5, 1, 4, &handle_stop_replica, true},
    served_api{6, 5, 8, &handle_update_metadata, true},
    served_api{8, 0, 9, &handle_offset_commit},
    served_api{9, 0, 9, &handle_offset_fetch},
    served_api{10, 0, 6, &handle_find_coordinator},
    served_api{11, 0, 9, &handle_join_group},
    served_api{12, 0, 4, &handle_heartbeat},
    served_api{13, 0, 5, &handle_leave_group},
    served_api{14, 0, 5, &handle_sync_group},
    served_api{15, 0, 5, &handle_describe_groups},
    served_api{16, 0, 5, &handle_list_groups},
    served_api{18, 0, 4, &handle_api_versions},
    served_api{19, 0, 7, &handle_create_topics},
    served_api{20, 0, 6, &handle_delete_topics},
    served_api{21, 0, 2, &handle_delete_records},
    served_api{22, 0, 5, &handle_init_producer_id},
    served_api{29, 0, 3, &handle_describe_acls},
    served_api{30, 0, 3, &handle_create_acls},
    served_api{31, 0, 3, &handle_delete_acls},
    served_api{32, 0, 4, &handle_describe_configs},
    served_api{33, 0, 2, &handle_alter_configs},
    served_api{35, 0, 4, &handle_describe_log_dirs},
    served_api{37, 0, 3, &handle_create_partitions},
    served_api{42, 0, 2, &handle_delete_groups},
    served_api{43, 0, 2, &handle_elect_leaders},
    served_api{44, 0, 1, &handle_incremental_alter_configs},
    served_api{47, 0, 0, &handle_offset_delete},
    served_api{60, 0, 1, &handle_describe_cluster},
    served_api{61, 0, 0, &handle_describe_producers},
};

}  // namespace

std::span<const served_api> served_apis() {
    return served_table;
}

const served_api* find_served_api(int16_t api_key) {
    const auto it =
        std::lower_bound(served_table.begin(), served_table.end(), api_key,
                         [](const served_api& row, int16_t key) { return row.api_key < key; });
    return (it != served_table.end() && it->api_key == api_key) ? &*it : nullptr;
}

std::vector<std::string> check_served_apis() {
    std::vector<std::string> problems;
    for (std::size_t i = 0; i < served_table.size(); ++i) {
        const served_api& row = served_table[i];
        const std::string label = "API key " + std::to_string(row.api_key);
        if (i > 0 && served_table[i - 1].api_key >= row.api_key) {
            problems.push_back(label + ": table not strictly ordered by key");
        }
        if (row.handler == nullptr) {
            problems.push_back(label + ": no handler");
        }
        const protocol::api_info* info = protocol::find_api(row.api_key);
        if (info == nullptr) {
            problems.push_back(label + ": not in the protocol registry");
            continue;
        }
        if (row.min_version > row.max_version) {
            problems.push_back(label + " (" + std::string(info->name) + "): empty version range");
        }
        if (row.min_version < info->min_version || row.max_version > info->max_version) {
            problems.push_back(label + " (" + std::string(info->name) + "): serves " +
                               std::to_string(row.min_version) + "-" +
                               std::to_string(row.max_version) + " but the registry has " +
                               std::to_string(info->min_version) + "-" +
                               std::to_string(info->max_version));
        }
        if (info->latest_unstable && row.max_version == info->max_version) {
            problems.push_back(label + " (" + std::string(info->name) +
                               "): advertises a version the schema marks unstable");
        }
    }
    return problems;
}

net::awaitable<handler_result> dispatch(request_context& ctx, protocol::reader& body) {
    const served_api* api = find_served_api(ctx.api_key);
    if (api == nullptr) {
        co_return handler_result::close();
    }
    // Requests, errors and handler latency per API (docs/observability.md). An "error" is a
    // request whose handler closed the connection or threw; Kafka error codes inside a response
    // are answers, not failures of the request.
    const auto started = std::chrono::steady_clock::now();
    bool failed = true;
    struct record_on_exit {
        const request_context& ctx;
        const std::chrono::steady_clock::time_point& started;
        const bool& failed;
        ~record_on_exit() {
            broker_metrics().record_request(ctx.api_key, ctx.api_version,
                                            std::chrono::steady_clock::now() - started, failed);
        }
    } record{ctx, started, failed};
    handler_result result = co_await api->handler(ctx, body);
    failed = result.close_connection;
    co_return result;
}

}  // namespace broker::server
