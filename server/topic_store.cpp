#include "server/topic_store.h"


#include <algorithm>
#include <random>
#include <set>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "common/strings.h"
#include "log/file.h"
#include "server/log_dir_space.h"
#include "server/logging.h"

namespace broker::server {
namespace {

using protocol::error_code;
using json = nlohmann::json;

/// Upper bound on the partitions of one topic, so one request cannot make the broker open an
/// unbounded number of files (Kafka has no such limit; docs/topics.md).
constexpr int32_t max_partitions_per_topic = 10000;
/// The metadata file is small; refuse to read anything absurd.
constexpr std::size_t max_metadata_file_bytes = 64 * 1024 * 1024;
/// Kafka runs its first retention check 30 s after startup.
constexpr int64_t initial_retention_delay_ms = 30000;

protocol::uuid random_topic_id() {
    static thread_local std::mt19937_64 engine{std::random_device{}()};
    while (true) {
        protocol::uuid id;
        for (std::size_t i = 0; i < id.bytes.size(); i += 8) {
            uint64_t v = engine();
            for (std::size_t j = 0; j < 8; ++j) {
                id.bytes[i + j] = static_cast<uint8_t>(v >> (j * 8));
            }
        }
        // Kafka never hands out the zero id, the metadata topic's id (1) or one whose text form
        // starts with '-' (it would read as a command-line option).
        protocol::uuid one;
        one.bytes[15] = 1;
        if (!id.is_zero() && id != one && id.to_string().front() != '-') {
            return id;
        }
    }
}

std::string unify_collision_chars(std::string_view name) {
    std::string out(name);
    std::replace(out.begin(), out.end(), '.', '_');
    return out;
}

std::string error_text(const std::error_code& ec) {
    return ec.message();
}

/// Checks replica lists against a single broker: every list names only `broker_id`, once.
/// Returns a message for INVALID_REPLICA_ASSIGNMENT, or nullopt.
std::optional<std::string> check_replicas(const std::vector<int32_t>& replicas, int32_t broker_id) {
    if (replicas.empty()) {
        return std::string("Replica assignment must not be empty.");
    }
    std::vector<int32_t> unknown;
    std::set<int32_t> seen;
    for (int32_t r : replicas) {
        if (!seen.insert(r).second) {
            return "Duplicate brokers not allowed in replica assignment: " + join(replicas, ", ") + ".";
        }
        if (r != broker_id) {
            unknown.push_back(r);
        }
    }
    if (!unknown.empty()) {
        return "Unknown broker(s) in replica assignment: " + join(unknown, ", ") + ".";
    }
    return std::nullopt;
}

}  // namespace

topic_store::topic_store(const broker_config& config, topic_table& table, replica_manager& replicas)
    : config_(config), table_(table), replicas_(replicas), index_(std::make_shared<const index>()) {}

topic_store::~topic_store() {
    // A store that was opened but not shut down (a failed start, a test) still releases its logs
    // without a clean-shutdown marker: the next start then recovers them.
}

std::filesystem::path topic_store::metadata_path() const {
    return std::filesystem::path(config_.log_dirs.empty() ? std::string(".") : config_.log_dirs.front()) /
           metadata_file_name;
}

// ---------------------------------------------------------------------------------------------
// Names

std::optional<std::string> topic_store::check_topic_name(std::string_view name) {
    if (name.empty()) {
        return std::string("Topic name is illegal, it can't be empty");
    }
    if (name == "." || name == "..") {
        return std::string("Topic name cannot be \".\" or \"..\"");
    }
    if (name.size() > 249) {
        return "Topic name is illegal, it can't be longer than 249 characters, topic name: " + std::string(name);
    }
    for (char c : name) {
        const bool legal = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                           c == '_' || c == '-';
        if (!legal) {
            return "Topic name \"" + std::string(name) +
                   "\" is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'";
        }
    }
    return std::nullopt;
}

bool topic_store::has_collision_chars(std::string_view name) {
    return name.find('.') != std::string_view::npos || name.find('_') != std::string_view::npos;
}

bool topic_store::is_internal_topic_name(std::string_view name) {
    return name == "__consumer_offsets" || name == "__transaction_state";
}

// ---------------------------------------------------------------------------------------------
// Lookups

std::shared_ptr<const topic_store::index> topic_store::current() const {
    std::lock_guard lock(index_mutex_);
    return index_;
}

std::shared_ptr<const topic_store::topic_entry> topic_store::find_entry(std::string_view topic) const {
    const auto idx = current();
    const auto it = idx->by_name.find(topic);
    return it == idx->by_name.end() ? nullptr : it->second;
}

std::shared_ptr<partition> topic_store::find_partition(std::string_view topic, int32_t index) const {
    return replicas_.find(topic, partition_index{index});
}

std::shared_ptr<partition> topic_store::find_partition(const protocol::uuid& topic_id, int32_t index) const {
    return replicas_.find(topic_id, partition_index{index});
}

std::vector<std::shared_ptr<partition>> topic_store::partitions_of(std::string_view topic) const {
    const auto list = replicas_.partitions_of(topic);
    return list ? *list : std::vector<std::shared_ptr<partition>>{};
}

std::shared_ptr<const topic_store::partition_list> topic_store::partition_table(std::string_view topic) const {
    return replicas_.partitions_of(topic);
}

std::vector<std::shared_ptr<partition>> topic_store::all_partitions() const {
    return replicas_.all();
}

std::shared_ptr<const topic_config> topic_store::config_of(std::string_view topic) const {
    const auto entry = find_entry(topic);
    return entry ? entry->config : nullptr;
}

std::optional<log::log_config> topic_store::log_config_of(std::string_view topic) const {
    const auto entry = find_entry(topic);
    if (!entry) {
        return std::nullopt;
    }
    return entry->config->log;
}

std::optional<protocol::uuid> topic_store::topic_id_of(std::string_view topic) const {
    const auto entry = find_entry(topic);
    if (!entry) {
        return std::nullopt;
    }
    return entry->id;
}

std::optional<std::string> topic_store::topic_name_of(const protocol::uuid& topic_id) const {
    const auto idx = current();
    const auto it = idx->by_id.find(topic_id);
    if (it == idx->by_id.end()) {
        return std::nullopt;
    }
    return it->second->name;
}

namespace {
topic_description describe_entry(const std::string& name, const protocol::uuid& id, std::size_t partitions,
                                 bool internal, const config_map& overrides) {
    return topic_description{name, id, static_cast<int32_t>(partitions), internal, overrides};
}
}  // namespace

std::optional<topic_description> topic_store::describe(std::string_view topic) const {
    const auto entry = find_entry(topic);
    if (!entry) {
        return std::nullopt;
    }
    return describe_entry(entry->name, entry->id, entry->partition_count, entry->internal, entry->overrides);
}

std::optional<topic_description> topic_store::describe(const protocol::uuid& topic_id) const {
    const auto name = topic_name_of(topic_id);
    return name ? describe(*name) : std::nullopt;
}

std::vector<topic_description> topic_store::list_topics() const {
    const auto idx = current();
    std::vector<topic_description> out;
    for (const auto& [name, e] : idx->by_name) {
        out.push_back(describe_entry(e->name, e->id, e->partition_count, e->internal, e->overrides));
    }
    return out;
}

bool topic_store::exists(std::string_view topic) const {
    return find_entry(topic) != nullptr;
}

// ---------------------------------------------------------------------------------------------
// Publishing and persistence

broker_config_view topic_store::broker_view(const index& idx) const {
    return broker_config_view{&config_, &idx.dynamic_default, &idx.dynamic_broker};
}

std::shared_ptr<const topic_config> topic_store::resolve(const config_map& overrides, const index& idx) const {
    return std::make_shared<const topic_config>(resolve_topic_config(overrides, broker_view(idx)));
}

void topic_store::publish(std::shared_ptr<const index> next) {
    std::vector<topic_info> topics;
    topics.reserve(next->by_name.size());
    for (const auto& [name, entry] : next->by_name) {
        topic_info info;
        info.name = entry->name;
        info.topic_id = entry->id;
        info.is_internal = entry->internal;
        info.partitions.reserve(static_cast<std::size_t>(entry->partition_count));
        const auto hosted = replicas_.partitions_of(entry->name);
        for (int32_t i = 0; i < entry->partition_count; ++i) {
            const std::shared_ptr<partition> p =
                hosted && static_cast<std::size_t>(i) < hosted->size() ? (*hosted)[static_cast<std::size_t>(i)] : nullptr;
            partition_info pi;
            pi.partition_index = i;
            if (!p) {
                // Not hosted here (yet): no leader known.
                pi.error_code = static_cast<int16_t>(error_code::leader_not_available);
                info.partitions.push_back(std::move(pi));
                continue;
            }
            // What the replica layer serves the partition with (today: led here, alone).
            pi.leader_id = p->leader_id().value();
            pi.leader_epoch = p->leader_epoch().value();
            pi.replica_nodes = raw_values(p->assigned_replicas());
            pi.isr_nodes = raw_values(p->in_sync_replicas());
            info.partitions.push_back(std::move(pi));
        }
        topics.push_back(std::move(info));
    }
    {
        std::lock_guard lock(index_mutex_);
        index_ = std::move(next);
    }
    table_.publish(std::make_shared<const topic_snapshot>(std::move(topics)));
}

std::error_code topic_store::persist(const index& next) const {
    json doc;
    doc["version"] = file_format_version;
    json topics = json::array();
    for (const auto& [name, entry] : next.by_name) {
        json t;
        t["name"] = entry->name;
        t["id"] = entry->id.to_string();
        t["partitions"] = entry->partition_count;
        t["internal"] = entry->internal;
        json configs = json::object();
        for (const auto& [k, v] : entry->overrides) {
            configs[k] = v;
        }
        t["configs"] = std::move(configs);
        topics.push_back(std::move(t));
    }
    doc["topics"] = std::move(topics);
    json broker_configs = json::object();
    json defaults = json::object();
    for (const auto& [k, v] : next.dynamic_default) {
        defaults[k] = v;
    }
    json own = json::object();
    for (const auto& [k, v] : next.dynamic_broker) {
        own[k] = v;
    }
    broker_configs["default"] = std::move(defaults);
    broker_configs["broker"] = std::move(own);
    doc["broker_configs"] = std::move(broker_configs);
    return log::replace_file(metadata_path(), doc.dump(1) + "\n", true);
}

// ---------------------------------------------------------------------------------------------
// Startup and shutdown

namespace {

struct stored_topic {
    std::string name;
    protocol::uuid id;
    int32_t partitions = 0;
    bool internal = false;
    config_map configs;
};

struct stored_state {
    std::vector<stored_topic> topics;
    config_map dynamic_default;
    config_map dynamic_broker;
};

config_map read_string_map(const json& j, const std::string& what) {
    config_map out;
    if (j.is_null()) {
        return out;
    }
    if (!j.is_object()) {
        throw std::runtime_error(what + " is not an object");
    }
    for (const auto& [k, v] : j.items()) {
        if (!v.is_string()) {
            throw std::runtime_error(what + "." + k + " is not a string");
        }
        out[k] = v.get<std::string>();
    }
    return out;
}

stored_state parse_metadata_file(const std::string& text, const std::string& path) {
    const json doc = json::parse(text, nullptr, false);
    const auto fail = [&](const std::string& why) -> std::runtime_error {
        return std::runtime_error("topic metadata file " + path + " is malformed: " + why);
    };
    if (doc.is_discarded() || !doc.is_object()) {
        throw fail("not a JSON object");
    }
    if (!doc.contains("version") || !doc["version"].is_number_integer()) {
        throw fail("no version");
    }
    if (doc["version"].get<int64_t>() != topic_store::file_format_version) {
        throw fail("unsupported version " + doc["version"].dump());
    }
    stored_state state;
    try {
        if (doc.contains("topics")) {
            const json& topics = doc["topics"];
            if (!topics.is_array()) {
                throw std::runtime_error("topics is not an array");
            }
            std::set<std::string> names;
            for (const json& t : topics) {
                if (!t.is_object() || !t.contains("name") || !t["name"].is_string() || !t.contains("id") ||
                    !t["id"].is_string() || !t.contains("partitions") || !t["partitions"].is_number_integer()) {
                    throw std::runtime_error("a topic lacks name, id or partitions");
                }
                stored_topic st;
                st.name = t["name"].get<std::string>();
                if (topic_store::check_topic_name(st.name) || !names.insert(st.name).second) {
                    throw std::runtime_error("bad or duplicate topic name '" + st.name + "'");
                }
                const auto id = protocol::uuid::from_string(t["id"].get<std::string>());
                if (!id || id->is_zero()) {
                    throw std::runtime_error("bad topic id for topic " + st.name);
                }
                st.id = *id;
                const int64_t n = t["partitions"].get<int64_t>();
                if (n < 1 || n > max_partitions_per_topic) {
                    throw std::runtime_error("bad partition count for topic " + st.name);
                }
                st.partitions = static_cast<int32_t>(n);
                st.internal = t.contains("internal") && t["internal"].is_boolean() && t["internal"].get<bool>();
                st.configs = read_string_map(t.contains("configs") ? t["configs"] : json(), "configs of " + st.name);
                state.topics.push_back(std::move(st));
            }
        }
        if (doc.contains("broker_configs")) {
            const json& b = doc["broker_configs"];
            if (!b.is_object()) {
                throw std::runtime_error("broker_configs is not an object");
            }
            state.dynamic_default = read_string_map(b.contains("default") ? b["default"] : json(), "broker_configs.default");
            state.dynamic_broker = read_string_map(b.contains("broker") ? b["broker"] : json(), "broker_configs.broker");
        }
    } catch (const std::runtime_error& e) {
        throw fail(e.what());
    } catch (const json::exception& e) {
        throw fail(e.what());
    }
    return state;
}

}  // namespace

void topic_store::open() {
    std::lock_guard admin(admin_mutex_);
    if (replicas_.is_open()) {
        return;
    }
    stored_state state;
    const std::filesystem::path path = metadata_path();
    auto text = log::read_small_file(path, max_metadata_file_bytes);
    if (text) {
        state = parse_metadata_file(text.value(), path.string());
    } else if (text.error() != std::errc::no_such_file_or_directory) {
        throw std::runtime_error("cannot read topic metadata file " + path.string() + ": " + error_text(text.error()));
    }
    // Dynamic broker configs that no longer validate (hand-edited file) are dropped with a warning.
    for (auto* m : {&state.dynamic_default, &state.dynamic_broker}) {
        for (auto it = m->begin(); it != m->end();) {
            if (auto error = validate_dynamic_broker_config(it->first, it->second)) {
                BROKER_LOG_WARN("ignoring stored dynamic broker config: " << *error);
                it = m->erase(it);
            } else {
                ++it;
            }
        }
    }
    auto next = std::make_shared<index>();
    next->dynamic_default = std::move(state.dynamic_default);
    next->dynamic_broker = std::move(state.dynamic_broker);

    std::map<std::string, std::shared_ptr<const topic_config>, std::less<>> configs;
    for (const stored_topic& t : state.topics) {
        configs[t.name] = resolve(t.configs, *next);
    }
    const auto broker_defaults = resolve({}, *next);

    const std::error_code opened = replicas_.open([&](const log::topic_partition& tp) {
        const auto it = configs.find(tp.topic);
        return it == configs.end() ? broker_defaults->log : it->second->log;
    });
    if (opened) {
        throw std::runtime_error("cannot open the logs: " + error_text(opened));
    }

    for (const stored_topic& t : state.topics) {
        auto entry = std::make_shared<topic_entry>();
        entry->name = t.name;
        entry->id = t.id;
        entry->internal = t.internal;
        entry->overrides = t.configs;
        entry->config = configs[t.name];
        entry->partition_count = t.partitions;
        replica_manager::partition_list hosted;
        for (int32_t i = 0; i < t.partitions; ++i) {
            auto p = open_partition(t.name, t.id, i, entry->config, false);
            if (!p) {
                throw std::runtime_error("cannot open partition " + t.name + "-" + std::to_string(i) + ": " +
                                         error_text(p.error()));
            }
            hosted.push_back(std::move(p).value());
        }
        replicas_.host(entry->name, entry->id, std::move(hosted));
        next->by_id[entry->id] = entry;
        next->by_name[entry->name] = std::move(entry);
    }
    for (const log::topic_partition& tp : replicas_.logs().partitions()) {
        const auto it = next->by_name.find(tp.topic);
        if (it == next->by_name.end() || tp.partition >= it->second->partition_count) {
            BROKER_LOG_WARN("partition directory " << tp.dir_name()
                                                   << " belongs to no known topic; leaving it on disk untouched");
        }
    }
    publish(std::move(next));
}

log::result<std::shared_ptr<partition>> topic_store::open_partition(const std::string& topic, const protocol::uuid& id,
                                                                    int32_t index,
                                                                    const std::shared_ptr<const topic_config>& config,
                                                                    bool fresh) {
    auto p = replicas_.create_replica(topic, id, partition_index{index}, config, fresh);
    if (!p) {
        return p;
    }
    // The local catalog's assignment: a single node leads every partition it hosts, with itself as
    // the whole assignment and in-sync set, at leader epoch 0. Becoming leader records the epoch at
    // the log end (a new partition's epoch checkpoint is written now rather than by the first
    // append) and moves the high watermark to the log end.
    partition_assignment self;
    self.leader_epoch = leader_epoch_t{0};
    self.replicas = {node_id{config_.broker_id}};
    self.isr = {node_id{config_.broker_id}};
    self.leader = node_id{config_.broker_id};
    if (auto ec = p.value()->become_leader(self)) {
        return ec;
    }
    return p;
}

std::error_code topic_store::shutdown() {
    std::lock_guard admin(admin_mutex_);
    if (shut_down_ || !replicas_.is_open()) {
        return {};
    }
    shut_down_ = true;
    return replicas_.shutdown();
}

// ---------------------------------------------------------------------------------------------
// Topic creation and deletion

created_topic topic_store::create_topic(const new_topic& topic, bool validate_only) {
    std::lock_guard admin(admin_mutex_);
    created_topic out;
    const auto fail = [&](error_code e, std::string message) {
        out.result = topic_result::failure(e, std::move(message));
        return out;
    };
    if (auto error = check_topic_name(topic.name)) {
        return fail(error_code::invalid_topic_exception, *error);
    }
    if (!replicas_.is_open() || shut_down_) {
        return fail(error_code::kafka_storage_error, "The broker's logs are not open.");
    }
    const auto idx = current();
    if (idx->by_name.count(topic.name) != 0) {
        return fail(error_code::topic_already_exists, "Topic '" + topic.name + "' already exists.");
    }
    if (has_collision_chars(topic.name)) {
        std::vector<std::string> colliding;
        const std::string unified = unify_collision_chars(topic.name);
        for (const auto& [name, entry] : idx->by_name) {
            if (unify_collision_chars(name) == unified) {
                colliding.push_back(name);
            }
        }
        if (!colliding.empty()) {
            std::string list;
            for (const auto& c : colliding) {
                list += list.empty() ? "" : ", ";
                list += c;
            }
            return fail(error_code::invalid_topic_exception,
                        "Topic '" + topic.name + "' collides with existing topics: " + list);
        }
    }
    int32_t partitions = 0;
    int16_t replication_factor = 0;
    if (!topic.assignments.empty()) {
        if (topic.num_partitions != -1 || topic.replication_factor != -1) {
            return fail(error_code::invalid_request,
                        "Both numPartitions or replicationFactor and replicasAssignments were set. Both cannot be "
                        "used at the same time.");
        }
        int32_t expected = 0;
        std::size_t replicas = topic.assignments.begin()->second.size();
        for (const auto& [p, list] : topic.assignments) {
            if (p != expected++) {
                return fail(error_code::invalid_replica_assignment,
                            "Partitions should be a consecutive 0-based integer sequence");
            }
            if (list.size() != replicas) {
                return fail(error_code::invalid_replica_assignment, "All partitions should have the same number of replicas");
            }
            if (auto error = check_replicas(list, config_.broker_id)) {
                return fail(error_code::invalid_replica_assignment, *error);
            }
        }
        partitions = static_cast<int32_t>(topic.assignments.size());
        replication_factor = static_cast<int16_t>(replicas);
    } else {
        partitions = topic.num_partitions == -1 ? config_.num_partitions : topic.num_partitions;
        replication_factor = topic.replication_factor == -1 ? config_.default_replication_factor : topic.replication_factor;
        if (partitions <= 0) {
            return fail(error_code::invalid_partitions, "Number of partitions must be larger than 0.");
        }
        if (replication_factor <= 0) {
            return fail(error_code::invalid_replication_factor, "Replication factor must be larger than 0.");
        }
        if (replication_factor > 1) {
            return fail(error_code::invalid_replication_factor,
                        "Replication factor: " + std::to_string(replication_factor) +
                            " larger than available brokers: 1.");
        }
    }
    if (partitions > max_partitions_per_topic) {
        return fail(error_code::invalid_partitions,
                    "Number of partitions must not exceed " + std::to_string(max_partitions_per_topic) + ".");
    }
    if (auto error = validate_topic_configs(topic.configs, broker_view(*idx))) {
        return fail(error_code::invalid_config, *error);
    }
    out.num_partitions = partitions;
    out.replication_factor = replication_factor;
    out.configs = server::describe_topic_configs(topic.configs, broker_view(*idx));
    if (validate_only) {
        return out;
    }
    new_topic resolved = topic;
    resolved.internal = topic.internal || is_internal_topic_name(topic.name);
    out.result = create_locked(resolved, partitions);
    if (out.result.ok()) {
        out.topic_id = current()->by_name.at(topic.name)->id;
    }
    return out;
}

topic_result topic_store::create_locked(const new_topic& topic, int32_t partitions) {
    const auto idx = current();
    auto entry = std::make_shared<topic_entry>();
    entry->name = topic.name;
    do {
        entry->id = random_topic_id();
    } while (idx->by_id.count(entry->id) != 0);
    entry->internal = topic.internal;
    for (const auto& [k, v] : topic.configs) {
        entry->overrides[k] = v;
    }
    entry->config = resolve(entry->overrides, *idx);
    entry->partition_count = partitions;
    std::error_code failure;
    replica_manager::partition_list hosted;
    for (int32_t i = 0; i < partitions; ++i) {
        auto p = open_partition(entry->name, entry->id, i, entry->config, true);
        if (!p) {
            failure = p.error();
            break;
        }
        hosted.push_back(std::move(p).value());
    }
    auto next = std::make_shared<index>(*idx);
    if (!failure) {
        next->by_id[entry->id] = entry;
        next->by_name[entry->name] = entry;
        failure = persist(*next);
    }
    if (failure) {
        for (int32_t i = 0; i < partitions; ++i) {
            replicas_.discard(entry->name, partition_index{i});
        }
        BROKER_LOG_ERROR("creating topic " << topic.name << " failed: " << failure.message());
        return topic_result::failure(error_code::kafka_storage_error,
                                     "Creating topic " + topic.name + " failed: " + failure.message());
    }
    BROKER_LOG_INFO("created topic " << entry->name << " (" << partitions << " partitions, id "
                                     << entry->id.to_string() << ")");
    // Hosted before the metadata shows the topic, so a client that sees it finds its partitions.
    replicas_.host(entry->name, entry->id, std::move(hosted));
    publish(std::move(next));
    return topic_result::success();
}

topic_result topic_store::auto_create_topic(std::string_view topic, bool allowed) {
    if (exists(topic)) {
        return topic_result::success();
    }
    if (auto error = check_topic_name(topic)) {
        return topic_result::failure(error_code::invalid_topic_exception, *error);
    }
    if (!allowed || !config_.auto_create_topics_enable || is_internal_topic_name(topic)) {
        return topic_result::failure(error_code::unknown_topic_or_partition,
                                     "This server does not host this topic-partition.");
    }
    new_topic request;
    request.name = std::string(topic);
    created_topic created = create_topic(request, false);
    if (created.result.error == error_code::topic_already_exists) {
        return topic_result::success();  // created concurrently by another request
    }
    return created.result;
}

topic_result topic_store::delete_topic(std::string_view topic) {
    std::lock_guard admin(admin_mutex_);
    const auto entry = find_entry(topic);
    if (!entry) {
        return topic_result::failure(error_code::unknown_topic_or_partition,
                                     "This server does not host this topic-partition.");
    }
    return delete_locked(entry);
}

topic_result topic_store::delete_topic(const protocol::uuid& topic_id) {
    std::lock_guard admin(admin_mutex_);
    const auto idx = current();
    const auto it = idx->by_id.find(topic_id);
    if (it == idx->by_id.end()) {
        return topic_result::failure(error_code::unknown_topic_id, "This server does not host this topic ID.");
    }
    return delete_locked(it->second);
}

topic_result topic_store::delete_locked(const std::shared_ptr<const topic_entry>& entry) {
    if (!config_.delete_topic_enable) {
        return topic_result::failure(error_code::topic_deletion_disabled,
                                     "Topic deletion is disabled.");
    }
    if (entry->internal) {
        return topic_result::failure(error_code::invalid_topic_exception,
                                     "Topic " + entry->name + " is an internal topic and cannot be deleted.");
    }
    if (shut_down_) {
        return topic_result::failure(error_code::kafka_storage_error, "The broker is shutting down.");
    }
    auto next = std::make_shared<index>(*current());
    next->by_name.erase(entry->name);
    next->by_id.erase(entry->id);
    // The file first: once it no longer lists the topic, a crash cannot bring the topic back (its
    // directories would then be reported as strays at startup).
    if (auto ec = persist(*next)) {
        return topic_result::failure(error_code::kafka_storage_error,
                                     "Deleting topic " + entry->name + " failed: " + ec.message());
    }
    publish(std::move(next));
    if (const std::error_code first = replicas_.remove_topic(entry->name, true)) {
        // The topic is gone for clients; leftover files are cleaned at the next startup.
        BROKER_LOG_ERROR("deleting the logs of topic " << entry->name << ": " << first.message());
    }
    BROKER_LOG_INFO("deleted topic " << entry->name);
    return topic_result::success();
}

topic_result topic_store::create_partitions(std::string_view topic, int32_t count,
                                            const std::optional<std::vector<std::vector<int32_t>>>& assignments,
                                            bool validate_only) {
    std::lock_guard admin(admin_mutex_);
    const auto entry = find_entry(topic);
    if (!entry) {
        return topic_result::failure(error_code::unknown_topic_or_partition,
                                     "The topic '" + std::string(topic) + "' does not exist.");
    }
    const int32_t current_count = entry->partition_count;
    if (count < current_count) {
        return topic_result::failure(error_code::invalid_partitions,
                                     "Topic currently has " + std::to_string(current_count) +
                                         " partitions, which is higher than the requested " + std::to_string(count) +
                                         ".");
    }
    if (count == current_count) {
        return topic_result::failure(error_code::invalid_partitions,
                                     "Topic already has " + std::to_string(current_count) + " partitions.");
    }
    if (count > max_partitions_per_topic) {
        return topic_result::failure(error_code::invalid_partitions,
                                     "Number of partitions must not exceed " +
                                         std::to_string(max_partitions_per_topic) + ".");
    }
    if (assignments) {
        const int32_t added = count - current_count;
        if (static_cast<int64_t>(assignments->size()) != added) {
            return topic_result::failure(error_code::invalid_replica_assignment,
                                         "Increasing the number of partitions by " + std::to_string(added) + " but " +
                                             std::to_string(assignments->size()) + " assignments provided.");
        }
        for (std::size_t i = 0; i < assignments->size(); ++i) {
            const auto& list = (*assignments)[i];
            if (auto error = check_replicas(list, config_.broker_id)) {
                return topic_result::failure(error_code::invalid_replica_assignment, *error);
            }
            if (list.size() != 1) {
                return topic_result::failure(
                    error_code::invalid_replica_assignment,
                    "Inconsistent replication factor between partitions, partition 0 has 1 while partitions [" +
                        std::to_string(current_count + static_cast<int32_t>(i)) + "] have replication factors [" +
                        std::to_string(list.size()) + "], respectively.");
            }
        }
    }
    if (validate_only) {
        return topic_result::success();
    }
    if (!replicas_.is_open() || shut_down_) {
        return topic_result::failure(error_code::kafka_storage_error, "The broker's logs are not open.");
    }
    auto grown = std::make_shared<topic_entry>(*entry);
    grown->partition_count = count;
    replica_manager::partition_list hosted = partitions_of(grown->name);
    std::error_code failure;
    for (int32_t i = current_count; i < count; ++i) {
        auto p = open_partition(grown->name, grown->id, i, grown->config, true);
        if (!p) {
            failure = p.error();
            break;
        }
        hosted.push_back(std::move(p).value());
    }
    auto next = std::make_shared<index>(*current());
    if (!failure) {
        next->by_name[grown->name] = grown;
        next->by_id[grown->id] = grown;
        failure = persist(*next);
    }
    if (failure) {
        for (int32_t i = current_count; i < count; ++i) {
            replicas_.discard(grown->name, partition_index{i});
        }
        return topic_result::failure(error_code::kafka_storage_error,
                                     "Creating partitions of " + grown->name + " failed: " + failure.message());
    }
    BROKER_LOG_INFO("topic " << grown->name << " now has " << count << " partitions");
    replicas_.host(grown->name, grown->id, std::move(hosted));
    publish(std::move(next));
    return topic_result::success();
}

std::pair<topic_result, int64_t> topic_store::delete_records(std::string_view topic, int32_t index, int64_t offset) {
    const auto p = find_partition(topic, index);
    if (!p) {
        return {topic_result::failure(error_code::unknown_topic_or_partition,
                                      "This server does not host this topic-partition."),
                -1};
    }
    std::string message;
    const auto [error, low_watermark] = p->delete_records(offset, message);
    if (error != error_code::none) {
        return {topic_result::failure(error, std::move(message)), -1};
    }
    return {topic_result::success(), low_watermark};
}

// ---------------------------------------------------------------------------------------------
// Configs

void topic_store::push_config(const topic_entry& entry) const {
    if (const auto hosted = replicas_.partitions_of(entry.name)) {
        for (const auto& p : *hosted) {
            if (p) {
                p->set_config(entry.config);
            }
        }
    }
}

topic_result topic_store::apply_topic_overrides_locked(const std::shared_ptr<const topic_entry>& entry,
                                                       config_map overrides, bool validate_only) {
    const auto idx = current();
    if (auto error = validate_topic_configs(overrides, broker_view(*idx))) {
        return topic_result::failure(error_code::invalid_config, *error);
    }
    if (validate_only) {
        return topic_result::success();
    }
    if (shut_down_) {
        return topic_result::failure(error_code::kafka_storage_error, "The broker is shutting down.");
    }
    auto changed = std::make_shared<topic_entry>(*entry);
    changed->overrides = std::move(overrides);
    changed->config = resolve(changed->overrides, *idx);
    auto next = std::make_shared<index>(*idx);
    next->by_name[changed->name] = changed;
    next->by_id[changed->id] = changed;
    if (auto ec = persist(*next)) {
        return topic_result::failure(error_code::kafka_storage_error, "Saving the configs failed: " + ec.message());
    }
    publish(std::move(next));
    push_config(*changed);
    return topic_result::success();
}

topic_result topic_store::alter_topic_configs(std::string_view topic, const config_map& overrides, bool validate_only) {
    std::lock_guard admin(admin_mutex_);
    const auto entry = find_entry(topic);
    if (!entry) {
        return topic_result::failure(error_code::unknown_topic_or_partition,
                                     "The topic '" + std::string(topic) + "' does not exist.");
    }
    return apply_topic_overrides_locked(entry, overrides, validate_only);
}

namespace {

/// Applies IncrementalAlterConfigs operations to `current`. `is_list` tells which names take
/// APPEND/SUBTRACT; `list_default` gives the value APPEND/SUBTRACT start from when the name is
/// not set. Returns an error result or nullopt.
std::optional<topic_result> apply_operations(config_map& current, const std::vector<config_operation>& ops,
                                             const std::function<bool(std::string_view)>& is_list,
                                             const std::function<std::string(std::string_view)>& list_default) {
    for (const config_operation& op : ops) {
        switch (op.op) {
            case config_operation::kind::set:
                if (!op.value) {
                    return topic_result::failure(error_code::invalid_request,
                                                 "Null value not supported for : " + op.name);
                }
                current[op.name] = *op.value;
                break;
            case config_operation::kind::remove: current.erase(op.name); break;
            case config_operation::kind::append:
            case config_operation::kind::subtract: {
                const bool append = op.op == config_operation::kind::append;
                if (!is_list(op.name)) {
                    return topic_result::failure(error_code::invalid_request,
                                                 std::string("Config value ") + (append ? "append" : "subtract") +
                                                     " is not allowed for config key: " + op.name);
                }
                const auto it = current.find(op.name);
                std::vector<std::string> items =
                    broker::split_list(it != current.end() ? it->second : list_default(op.name));
                for (const std::string& v : broker::split_list(op.value.value_or(""))) {
                    const auto pos = std::find(items.begin(), items.end(), v);
                    if (append && pos == items.end()) {
                        items.push_back(v);
                    } else if (!append && pos != items.end()) {
                        items.erase(pos);
                    }
                }
                current[op.name] = join(items, ",");
                break;
            }
        }
    }
    return std::nullopt;
}

}  // namespace

topic_result topic_store::incremental_alter_topic_configs(std::string_view topic,
                                                          const std::vector<config_operation>& ops, bool validate_only) {
    std::lock_guard admin(admin_mutex_);
    const auto entry = find_entry(topic);
    if (!entry) {
        return topic_result::failure(error_code::unknown_topic_or_partition,
                                     "The topic '" + std::string(topic) + "' does not exist.");
    }
    for (const config_operation& op : ops) {
        if (find_topic_config(op.name) == nullptr) {
            return topic_result::failure(error_code::invalid_config, "Unknown topic config name: " + op.name);
        }
    }
    config_map next = entry->overrides;
    const auto is_list = [](std::string_view name) {
        const topic_config_def* def = find_topic_config(name);
        return def != nullptr && def->type == config_value_type::list;
    };
    const auto list_default = [](std::string_view name) {
        const topic_config_def* def = find_topic_config(name);
        return def != nullptr ? std::string(def->default_value) : std::string();
    };
    if (auto error = apply_operations(next, ops, is_list, list_default)) {
        return *error;
    }
    return apply_topic_overrides_locked(entry, std::move(next), validate_only);
}

topic_result topic_store::apply_broker_configs_locked(bool default_resource, config_map configs, bool validate_only) {
    for (const auto& [key, value] : configs) {
        if (!is_dynamic_broker_config(key)) {
            if (find_config_key(key) != nullptr) {
                return topic_result::failure(error_code::invalid_request,
                                             "Cannot update these configs dynamically: [" + key + "]");
            }
            return topic_result::failure(error_code::invalid_config, "Unknown broker config name: " + key);
        }
        if (auto error = validate_dynamic_broker_config(key, value)) {
            return topic_result::failure(error_code::invalid_config, *error);
        }
    }
    if (validate_only) {
        return topic_result::success();
    }
    if (shut_down_) {
        return topic_result::failure(error_code::kafka_storage_error, "The broker is shutting down.");
    }
    auto next = std::make_shared<index>(*current());
    (default_resource ? next->dynamic_default : next->dynamic_broker) = std::move(configs);
    if (auto ec = persist(*next)) {
        return topic_result::failure(error_code::kafka_storage_error, "Saving the configs failed: " + ec.message());
    }
    refresh_all_configs_locked(std::move(next));
    return topic_result::success();
}

void topic_store::refresh_all_configs_locked(std::shared_ptr<index> next) {
    std::vector<std::shared_ptr<const topic_entry>> changed;
    for (auto& [name, entry] : next->by_name) {
        auto refreshed = std::make_shared<topic_entry>(*entry);
        refreshed->config = resolve(refreshed->overrides, *next);
        next->by_id[refreshed->id] = refreshed;
        entry = refreshed;
        changed.push_back(std::move(refreshed));
    }
    publish(std::move(next));
    for (const auto& entry : changed) {
        push_config(*entry);
    }
}

topic_result topic_store::alter_broker_configs(bool default_resource, const config_map& configs, bool validate_only) {
    std::lock_guard admin(admin_mutex_);
    return apply_broker_configs_locked(default_resource, configs, validate_only);
}

topic_result topic_store::incremental_alter_broker_configs(bool default_resource,
                                                           const std::vector<config_operation>& ops,
                                                           bool validate_only) {
    std::lock_guard admin(admin_mutex_);
    const auto idx = current();
    config_map next = default_resource ? idx->dynamic_default : idx->dynamic_broker;
    const auto is_list = [](std::string_view name) {
        const config_key_info* info = find_config_key(name);
        return info != nullptr && info->type == config_type::list;
    };
    const auto list_default = [this, &idx](std::string_view name) {
        const auto v = broker_value(broker_view(*idx), name);
        return v && v->value ? *v->value : std::string();
    };
    for (const config_operation& op : ops) {
        if (!is_dynamic_broker_config(op.name)) {
            if (find_config_key(op.name) != nullptr) {
                return topic_result::failure(error_code::invalid_request,
                                             "Cannot update these configs dynamically: [" + op.name + "]");
            }
            return topic_result::failure(error_code::invalid_config, "Unknown broker config name: " + op.name);
        }
    }
    if (auto error = apply_operations(next, ops, is_list, list_default)) {
        return *error;
    }
    return apply_broker_configs_locked(default_resource, std::move(next), validate_only);
}

std::optional<std::vector<described_config>> topic_store::describe_topic_configs(std::string_view topic) const {
    // One snapshot: the overrides and the broker configs they are described against match.
    const auto idx = current();
    const auto it = idx->by_name.find(topic);
    if (it == idx->by_name.end()) {
        return std::nullopt;
    }
    return server::describe_topic_configs(it->second->overrides, broker_view(*idx));
}

std::vector<described_config> topic_store::describe_broker_configs(bool default_resource) const {
    const auto idx = current();
    return server::describe_broker_configs(broker_view(*idx), default_resource);
}

config_map topic_store::dynamic_broker_configs(bool default_resource) const {
    const auto idx = current();
    return default_resource ? idx->dynamic_default : idx->dynamic_broker;
}

// ---------------------------------------------------------------------------------------------
// Log dirs and maintenance

std::vector<log_dir_description> topic_store::describe_log_dirs(
    const std::optional<std::vector<std::pair<std::string, int32_t>>>& only) const {
    std::vector<log_dir_description> out;
    std::map<std::string, std::size_t> by_path;
    for (const std::string& dir : config_.log_dirs) {
        log_dir_description d;
        d.path = std::filesystem::absolute(dir).lexically_normal().string();
        if (const std::optional<filesystem_space> space = filesystem_space_of(dir)) {
            d.total_bytes = static_cast<int64_t>(space->total_bytes);
            d.usable_bytes = static_cast<int64_t>(space->free_bytes);
        } else {
            d.error = error_code::kafka_storage_error;
        }
        by_path[std::filesystem::path(dir).lexically_normal().string()] = out.size();
        out.push_back(std::move(d));
    }
    if (!replicas_.is_open()) {
        return out;
    }
    std::vector<std::shared_ptr<partition>> selected;
    if (only) {
        for (const auto& [topic, index] : *only) {
            if (auto p = find_partition(topic, index)) {
                selected.push_back(std::move(p));
            }
        }
    } else {
        selected = all_partitions();
    }
    for (const auto& p : selected) {
        const auto dir = replicas_.log_dir_of(p->topic(), p->index());
        if (!dir) {
            continue;
        }
        const auto it = by_path.find(dir->lexically_normal().string());
        if (it == by_path.end()) {
            continue;
        }
        if (p->deleted()) {
            continue;
        }
        const auto size = static_cast<int64_t>(p->size_bytes());
        out[it->second].partitions.push_back(log_dir_partition{p->topic(), p->index().value(), size});
    }
    return out;
}

void topic_store::run_maintenance(int64_t now_ms) {
    replicas_.run_maintenance(now_ms);
}

}  // namespace broker::server
