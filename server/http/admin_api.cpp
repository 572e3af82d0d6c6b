#include "server/http/admin_api.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <tuple>

#include "coordinator/consumer_protocol.h"
#include "protocol/api.h"
#include "protocol/generated/consumer_protocol_assignment.h"
#include "protocol/wire.h"
#include "server/http/prometheus.h"
#include "server/metrics.h"

namespace broker::server::http {
namespace {

using json = nlohmann::json;

http_response json_response(unsigned status, const json& body) {
    http_response r;
    r.status = status;
    // Names come from clients (topics, groups, client ids): never fail on invalid UTF-8.
    r.body = body.dump(2, ' ', false, json::error_handler_t::replace);
    r.body += '\n';
    return r;
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

std::optional<std::string> percent_decode(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '%') {
            out += text[i];
            continue;
        }
        if (i + 2 >= text.size()) {
            return std::nullopt;
        }
        const int high = hex_value(text[i + 1]);
        const int low = hex_value(text[i + 2]);
        if (high < 0 || low < 0) {
            return std::nullopt;
        }
        out += static_cast<char>(high * 16 + low);
        i += 2;
    }
    return out;
}

/// The partition's offsets and size; nullopt when it was deleted meanwhile. The size walks the
/// segment list, so it is read under the partition's mutex (held only for that).
struct partition_state {
    int64_t log_start_offset = 0;
    int64_t log_end_offset = 0;
    int64_t high_watermark = 0;
    uint64_t size_bytes = 0;
};

std::optional<partition_state> read_partition(partition& p) {
    return p.inspect([](const log::partition_log& plog) {
        return partition_state{plog.log_start_offset().value(), plog.log_end_offset().value(),
                               plog.high_watermark().value(), plog.size_bytes()};
    });
}

/// Committed offset of a group against the partition's log.
struct lag_row {
    const group_service::group_snapshot::committed_offset* committed = nullptr;
    std::optional<partition_state> log;  // nullopt: the topic or partition no longer exists
    int64_t lag() const {
        if (!log) {
            return 0;
        }
        return std::max<int64_t>(log->high_watermark - committed->offset, 0);
    }
};

std::vector<lag_row> lag_rows(const broker_core& core, const group_service::group_snapshot& g) {
    std::vector<lag_row> rows;
    rows.reserve(g.offsets.size());
    for (const auto& o : g.offsets) {
        lag_row row;
        row.committed = &o;
        if (const std::shared_ptr<partition> p = core.find_partition(o.topic, o.partition)) {
            row.log = read_partition(*p);
        }
        rows.push_back(std::move(row));
    }
    return rows;
}

std::string api_name(int16_t key) {
    if (const protocol::api_info* info = protocol::find_api(key)) {
        return std::string(info->name);
    }
    return "Unknown";
}

int64_t proc_field(const std::vector<std::string>& fields, std::size_t index) {
    if (index >= fields.size()) {
        return -1;
    }
    try {
        return std::stoll(fields[index]);
    } catch (const std::exception&) {
        return -1;
    }
}

json member_json(const group_service::group_snapshot& g,
                 const group_service::group_snapshot::member& m) {
    json out = {
        {"member_id", m.member_id},
        {"group_instance_id", m.group_instance_id ? json(*m.group_instance_id) : json(nullptr)},
        {"client_id", m.client_id},
        {"client_host", m.client_host}};
    if (g.protocol_type == coordinator::consumer_protocol_type && !m.assignment.empty()) {
        if (auto decoded = decode_consumer_assignment(m.assignment)) {
            json assignment = json::object();
            for (auto& [topic, partitions] : *decoded) {
                json& list = assignment[topic];
                if (list.is_null()) {
                    list = json::array();
                }
                for (const int32_t p : partitions) {
                    list.push_back(p);
                }
            }
            out["assignment"] = std::move(assignment);
        } else {
            out["assignment"] = nullptr;
            out["assignment_error"] = "not a valid consumer protocol assignment";
        }
    } else {
        out["assignment"] = nullptr;
        out["assignment_bytes"] = m.assignment.size();
    }
    return out;
}

}  // namespace

std::optional<std::vector<std::string>> split_target(std::string_view target) {
    if (target.empty() || target.front() != '/') {
        return std::nullopt;
    }
    if (const auto query = target.find_first_of("?#"); query != std::string_view::npos) {
        target = target.substr(0, query);
    }
    std::vector<std::string> segments;
    std::size_t start = 1;
    while (start <= target.size()) {
        const std::size_t end = std::min(target.find('/', start), target.size());
        if (end == target.size() && start == target.size()) {
            break;  // trailing slash (or "/")
        }
        auto decoded = percent_decode(target.substr(start, end - start));
        if (!decoded) {
            return std::nullopt;
        }
        segments.push_back(std::move(*decoded));
        start = end + 1;
    }
    return segments;
}

http_response json_error(unsigned status, std::string_view code, std::string_view message) {
    return json_response(status, json{{"error", code}, {"message", message}});
}

std::optional<std::vector<std::pair<std::string, std::vector<int32_t>>>> decode_consumer_assignment(
    std::span<const uint8_t> bytes) {
    protocol::reader r(bytes);
    // The int16 version prefix: every version shares the version-0 layout of the fields read here
    // (later versions only add fields after them), as the coordinator reads subscriptions.
    (void)r.read_int16();
    if (!r.ok()) {
        return std::nullopt;
    }
    protocol::consumer_protocol_assignment assignment;
    if (protocol::decode(r, 0, assignment) != protocol::codec_status::ok) {
        return std::nullopt;
    }
    std::vector<std::pair<std::string, std::vector<int32_t>>> out;
    for (auto& tp : assignment.assigned_partitions) {
        out.emplace_back(std::move(tp.topic), std::move(tp.partitions));
    }
    return out;
}

process_stats read_process_stats() {
    process_stats s;
    std::ifstream stat("/proc/self/stat");
    std::string line;
    if (stat && std::getline(stat, line)) {
        // The command name (field 2) may hold spaces and parentheses: fields restart after the
        // last ')'. Then fields[0] is field 3 (state), so field N is fields[N - 3].
        const auto close = line.rfind(')');
        if (close != std::string::npos) {
            std::istringstream rest(line.substr(close + 1));
            const std::vector<std::string> fields{std::istream_iterator<std::string>(rest),
                                                  std::istream_iterator<std::string>()};
            const int64_t utime = proc_field(fields, 14 - 3);
            const int64_t stime = proc_field(fields, 15 - 3);
            const long ticks = ::sysconf(_SC_CLK_TCK);
            if (utime >= 0 && stime >= 0 && ticks > 0) {
                s.cpu_seconds = static_cast<double>(utime + stime) / static_cast<double>(ticks);
            }
            s.virtual_memory_bytes = proc_field(fields, 23 - 3);
            const int64_t rss_pages = proc_field(fields, 24 - 3);
            const long page = ::sysconf(_SC_PAGESIZE);
            if (rss_pages >= 0 && page > 0) {
                s.resident_memory_bytes = rss_pages * page;
            }
        }
    }
    if (DIR* dir = ::opendir("/proc/self/fd")) {
        int64_t count = 0;
        while (const dirent* entry = ::readdir(dir)) {
            if (entry->d_name[0] != '.') {
                ++count;
            }
        }
        ::closedir(dir);
        s.open_fds = count - 1;  // the descriptor opendir itself holds
    }
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
        s.max_fds = static_cast<int64_t>(limit.rlim_cur);
    }
    return s;
}

admin_api::admin_api(broker_core& core, std::vector<readiness_check> checks,
                     std::function<std::size_t()> live_connections)
    : core_(core), checks_(std::move(checks)), live_connections_(std::move(live_connections)) {}

net::awaitable<http_response> admin_api::handle_get(std::string target) {
    const std::optional<std::vector<std::string>> path = split_target(target);
    if (!path) {
        co_return json_error(400, "bad_request", "malformed request target");
    }
    const std::vector<std::string>& p = *path;
    if (p.size() == 1 && p[0] == "metrics") {
        net::awaitable<http_response> pending = metrics();
        http_response r = co_await std::move(pending);
        co_return r;
    }
    if (p.size() >= 2 && p[0] == "v1") {
        const std::string& what = p[1];
        if (p.size() == 2) {
            if (what == "health") {
                co_return health();
            }
            if (what == "ready") {
                co_return ready();
            }
            if (what == "brokers") {
                co_return brokers();
            }
            if (what == "topics") {
                co_return topics();
            }
            if (what == "groups") {
                net::awaitable<http_response> pending = groups();
                http_response r = co_await std::move(pending);
                co_return r;
            }
        } else if (p.size() == 3) {
            if (what == "topics") {
                co_return topic(p[2]);
            }
            if (what == "groups") {
                // Built outside the co_await expression: a by-value argument of a coroutine
                // call inside co_await is destroyed twice by GCC 12.
                net::awaitable<http_response> pending = group(p[2]);
                http_response r = co_await std::move(pending);
                co_return r;
            }
        }
    }
    co_return json_error(404, "not_found", "no such endpoint: " + target);
}

http_response admin_api::health() const {
    return json_response(200, json{{"status", "ok"}, {"broker_id", core_.broker_id()}});
}

http_response admin_api::ready() const {
    bool all = true;
    json checks = json::object();
    for (const readiness_check& c : checks_) {
        const bool ok = c.passing();
        checks[c.name] = ok;
        all = all && ok;
    }
    return json_response(all ? 200 : 503, json{{"ready", all}, {"checks", std::move(checks)}});
}

http_response admin_api::brokers() const {
    const std::shared_ptr<const cluster_view> cluster = core_.metadata().cluster();
    json brokers = json::array();
    for (const broker_info& b : cluster->brokers) {
        json endpoints = json::array();
        for (const advertised_endpoint& e : b.endpoints) {
            endpoints.push_back(
                {{"listener", e.listener_name}, {"host", e.host}, {"port", e.port}});
        }
        brokers.push_back({{"broker_id", b.id},
                           {"endpoints", std::move(endpoints)},
                           {"controller", cluster->controller_id == b.id}});
    }
    return json_response(200, json{{"cluster_id", core_.cluster_id()},
                                   {"controller_id", cluster->controller_id},
                                   {"brokers", std::move(brokers)}});
}

http_response admin_api::topics() const {
    json list = json::array();
    for (const topic_description& t : core_.store().list_topics()) {
        list.push_back({{"name", t.name},
                        {"topic_id", t.topic_id.to_string()},
                        {"partitions", t.partition_count},
                        {"internal", t.internal}});
    }
    std::sort(list.begin(), list.end(),
              [](const json& a, const json& b) { return a["name"] < b["name"]; });
    return json_response(200, json{{"topics", std::move(list)}});
}

http_response admin_api::topic(const std::string& name) const {
    const std::optional<topic_description> t = core_.store().describe(name);
    if (!t) {
        return json_error(404, "unknown_topic", "no such topic: " + name);
    }
    const int32_t self = core_.broker_id();
    json partitions = json::array();
    for (const std::shared_ptr<partition>& p : core_.store().partitions_of(name)) {
        const std::optional<partition_state> s = read_partition(*p);
        if (!s) {
            continue;
        }
        partitions.push_back({{"partition", p->index().value()},
                              {"leader", self},
                              {"leader_epoch", p->leader_epoch().value()},
                              {"replicas", json::array({self})},
                              {"isr", json::array({self})},
                              {"log_start_offset", s->log_start_offset},
                              {"log_end_offset", s->log_end_offset},
                              {"high_watermark", s->high_watermark},
                              {"size_bytes", s->size_bytes}});
    }
    json configs = json::object();
    if (const auto described = core_.store().describe_topic_configs(name)) {
        for (const described_config& c : *described) {
            configs[c.name] = c.sensitive || !c.value ? json(nullptr) : json(*c.value);
        }
    }
    json overrides = json::object();
    for (const auto& [key, value] : t->overrides) {
        overrides[key] = value;
    }
    return json_response(200, json{{"name", t->name},
                                   {"topic_id", t->topic_id.to_string()},
                                   {"internal", t->internal},
                                   {"partitions", std::move(partitions)},
                                   {"configs", std::move(configs)},
                                   {"overrides", std::move(overrides)}});
}

net::awaitable<http_response> admin_api::groups() {
    auto pending = core_.groups().snapshot_groups(std::nullopt);
    std::vector<group_service::group_snapshot> snapshot = co_await std::move(pending);
    json list = json::array();
    for (const group_service::group_snapshot& g : snapshot) {
        int64_t total_lag = 0;
        for (const lag_row& row : lag_rows(core_, g)) {
            total_lag += row.lag();
        }
        list.push_back({{"group_id", g.group_id},
                        {"state", g.state},
                        {"protocol_type", g.protocol_type},
                        {"protocol", g.protocol},
                        {"members", g.members.size()},
                        {"total_lag", total_lag}});
    }
    co_return json_response(200, json{{"groups", std::move(list)}});
}

net::awaitable<http_response> admin_api::group(std::string group_id) {
    auto pending = core_.groups().snapshot_groups(group_id);
    std::vector<group_service::group_snapshot> snapshot = co_await std::move(pending);
    if (snapshot.empty()) {
        co_return json_error(404, "unknown_group", "no such group: " + group_id);
    }
    const group_service::group_snapshot& g = snapshot.front();
    json members = json::array();
    for (const auto& m : g.members) {
        members.push_back(member_json(g, m));
    }
    json offsets = json::array();
    int64_t total_lag = 0;
    for (const lag_row& row : lag_rows(core_, g)) {
        const auto& c = *row.committed;
        json entry = {{"topic", c.topic},
                      {"partition", c.partition},
                      {"committed_offset", c.offset},
                      {"metadata", c.metadata}};
        if (row.log) {
            entry["high_watermark"] = row.log->high_watermark;
            entry["log_end_offset"] = row.log->log_end_offset;
            entry["lag"] = row.lag();
            total_lag += row.lag();
        } else {
            entry["high_watermark"] = nullptr;
            entry["log_end_offset"] = nullptr;
            entry["lag"] = nullptr;
        }
        offsets.push_back(std::move(entry));
    }
    json body = {{"group_id", g.group_id},
                 {"state", g.state},
                 {"protocol_type", g.protocol_type},
                 {"protocol", g.protocol},
                 {"members", std::move(members)},
                 {"offsets", std::move(offsets)},
                 {"total_lag", total_lag}};
    if (g.error != protocol::error_code::none) {
        body["coordinator_error"] = static_cast<int>(g.error);
    }
    co_return json_response(200, body);
}

net::awaitable<http_response> admin_api::metrics() {
    metrics_registry& registry = broker_metrics();
    prometheus_writer w;

    // ---- requests
    const auto counts = registry.request_counts();
    w.family("sluice_requests_total", "counter", "Kafka requests handled, by API and version.");
    for (const auto& row : counts) {
        const std::string name = api_name(row.api_key);
        const std::string key = std::to_string(row.api_key);
        const std::string version = std::to_string(row.api_version);
        w.sample("sluice_requests_total", {{"api", name}, {"api_key", key}, {"version", version}},
                 row.requests);
    }
    w.family("sluice_request_errors_total", "counter",
             "Kafka requests whose handling failed (the broker closed the connection: malformed "
             "request or internal error), by API and version.");
    for (const auto& row : counts) {
        const std::string name = api_name(row.api_key);
        const std::string key = std::to_string(row.api_key);
        const std::string version = std::to_string(row.api_version);
        w.sample("sluice_request_errors_total",
                 {{"api", name}, {"api_key", key}, {"version", version}}, row.errors);
    }
    w.family("sluice_request_duration_seconds", "histogram",
             "Time from dispatch to the handler's answer, by API (excludes reading the request and "
             "writing the response).");
    for (const auto& [api_key, h] : registry.request_latencies()) {
        const std::string name = api_name(api_key);
        const std::string key = std::to_string(api_key);
        uint64_t cumulative = 0;
        for (std::size_t i = 0; i < latency_histogram::bounds.size(); ++i) {
            cumulative += h.buckets[i];
            const std::string le = prometheus_writer::format_number(latency_histogram::bounds[i]);
            w.sample("sluice_request_duration_seconds_bucket",
                     {{"api", name}, {"api_key", key}, {"le", le}}, cumulative);
        }
        w.sample("sluice_request_duration_seconds_bucket",
                 {{"api", name}, {"api_key", key}, {"le", "+Inf"}}, h.count);
        w.sample("sluice_request_duration_seconds_sum", {{"api", name}, {"api_key", key}},
                 h.sum_seconds);
        w.sample("sluice_request_duration_seconds_count", {{"api", name}, {"api_key", key}},
                 h.count);
    }

    // ---- topics (counters of deleted topics are dropped first)
    const topic_store& store = core_.store();
    registry.prune_topics([&store](std::string_view topic) { return store.exists(topic); });
    const auto topics = registry.topic_counts();
    const struct {
        const char* name;
        const char* help;
        uint64_t metrics_registry::topic_row::*field;
    } topic_families[] = {
        {"sluice_topic_bytes_in_total", "Record batch bytes appended by Produce, by topic.",
         &metrics_registry::topic_row::bytes_in},
        {"sluice_topic_messages_in_total",
         "Records appended by Produce (batch record counts), by topic.",
         &metrics_registry::topic_row::messages_in},
        {"sluice_topic_bytes_out_total", "Record batch bytes sent in Fetch responses, by topic.",
         &metrics_registry::topic_row::bytes_out},
    };
    for (const auto& f : topic_families) {
        w.family(f.name, "counter", f.help);
        for (const auto& [topic, row] : topics) {
            w.sample(f.name, {{"topic", topic}}, row.*(f.field));
        }
    }

    // ---- connections
    w.family("sluice_connections", "gauge", "Kafka client connections currently open.");
    w.sample("sluice_connections", {},
             static_cast<uint64_t>(live_connections_ ? live_connections_() : 0));
    w.family("sluice_connections_accepted_total", "counter", "Kafka client connections accepted.");
    w.sample("sluice_connections_accepted_total", {}, registry.connections_accepted.value());
    w.family("sluice_connections_rejected_total", "counter",
             "Kafka client connections closed at once by a connection limit.");
    w.sample("sluice_connections_rejected_total", {}, registry.connections_rejected.value());

    // ---- partitions
    struct partition_row {
        std::string topic;
        int32_t index = 0;
        std::string index_label;
        partition_state state;
    };
    std::vector<partition_row> partitions;
    for (const std::shared_ptr<partition>& p : store.all_partitions()) {
        if (auto s = read_partition(*p)) {
            const int32_t index = p->index().value();
            partitions.push_back(partition_row{p->topic(), index, std::to_string(index), *s});
        }
    }
    std::sort(partitions.begin(), partitions.end(),
              [](const partition_row& a, const partition_row& b) {
                  return std::tie(a.topic, a.index) < std::tie(b.topic, b.index);
              });
    const struct {
        const char* name;
        const char* help;
        int64_t partition_state::*field;
    } partition_families[] = {
        {"sluice_partition_log_end_offset", "Offset the next appended record will get.",
         &partition_state::log_end_offset},
        {"sluice_partition_log_start_offset", "First offset still in the log.",
         &partition_state::log_start_offset},
        {"sluice_partition_high_watermark",
         "Last committed offset + 1 (what consumers can read up to).",
         &partition_state::high_watermark},
    };
    for (const auto& f : partition_families) {
        w.family(f.name, "gauge", f.help);
        for (const partition_row& row : partitions) {
            w.sample(f.name, {{"topic", row.topic}, {"partition", row.index_label}},
                     row.state.*(f.field));
        }
    }
    w.family("sluice_partition_size_bytes", "gauge",
             "Bytes of the partition's log segments on disk.");
    for (const partition_row& row : partitions) {
        w.sample("sluice_partition_size_bytes",
                 {{"topic", row.topic}, {"partition", row.index_label}}, row.state.size_bytes);
    }

    // ---- consumer groups
    auto pending = core_.groups().snapshot_groups(std::nullopt);
    std::vector<group_service::group_snapshot> groups = co_await std::move(pending);
    w.family("sluice_consumer_group_committed_offset", "gauge", "Offset committed by the group.");
    std::vector<std::pair<const group_service::group_snapshot*, std::vector<lag_row>>> lags;
    for (const auto& g : groups) {
        lags.emplace_back(&g, lag_rows(core_, g));
    }
    for (const auto& [g, rows] : lags) {
        for (const lag_row& row : rows) {
            const std::string partition = std::to_string(row.committed->partition);
            w.sample(
                "sluice_consumer_group_committed_offset",
                {{"group", g->group_id}, {"topic", row.committed->topic}, {"partition", partition}},
                row.committed->offset);
        }
    }
    w.family(
        "sluice_consumer_group_lag", "gauge",
        "High watermark minus the committed offset (0 when the commit is at or past it), by group "
        "and partition; only partitions that still exist.");
    for (const auto& [g, rows] : lags) {
        for (const lag_row& row : rows) {
            if (!row.log) {
                continue;
            }
            const std::string partition = std::to_string(row.committed->partition);
            w.sample(
                "sluice_consumer_group_lag",
                {{"group", g->group_id}, {"topic", row.committed->topic}, {"partition", partition}},
                row.lag());
        }
    }

    // ---- process
    const process_stats stats = read_process_stats();
    if (stats.cpu_seconds >= 0) {
        w.family("process_cpu_seconds_total", "counter",
                 "User and system CPU time spent, in seconds.");
        w.sample("process_cpu_seconds_total", {}, stats.cpu_seconds);
    }
    if (stats.resident_memory_bytes >= 0) {
        w.family("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
        w.sample("process_resident_memory_bytes", {}, stats.resident_memory_bytes);
    }
    if (stats.virtual_memory_bytes >= 0) {
        w.family("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.");
        w.sample("process_virtual_memory_bytes", {}, stats.virtual_memory_bytes);
    }
    if (stats.open_fds >= 0) {
        w.family("process_open_fds", "gauge", "Open file descriptors.");
        w.sample("process_open_fds", {}, stats.open_fds);
    }
    if (stats.max_fds >= 0) {
        w.family("process_max_fds", "gauge", "Limit on open file descriptors.");
        w.sample("process_max_fds", {}, stats.max_fds);
    }

    http_response r;
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    r.body = w.release();
    co_return r;
}

}  // namespace broker::server::http
