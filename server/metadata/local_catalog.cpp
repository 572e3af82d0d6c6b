#include "server/metadata/local_catalog.h"

#include <set>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "log/file.h"
#include "server/logging.h"

namespace broker::server {
namespace {

using json = nlohmann::json;

/// The file is small; refuse to read anything absurd.
constexpr std::size_t max_file_bytes = 64 * 1024 * 1024;

json to_object(const config_map& m) {
    json out = json::object();
    for (const auto& [k, v] : m) {
        out[k] = v;
    }
    return out;
}

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

/// Dynamic broker configs that no longer validate (a hand-edited file) are dropped with a warning.
void drop_invalid_broker_configs(config_map& m) {
    for (auto it = m.begin(); it != m.end();) {
        if (auto error = validate_dynamic_broker_config(it->first, it->second)) {
            BROKER_LOG_WARN("ignoring stored dynamic broker config: " << *error);
            it = m.erase(it);
        } else {
            ++it;
        }
    }
}

}  // namespace

local_catalog::local_catalog(std::filesystem::path dir, node_id local)
    : path_(std::move(dir) / file_name), local_(local) {}

std::string local_catalog::encode(const catalog& c) {
    json doc;
    doc["version"] = file_format_version;
    json topics = json::array();
    for (const auto& [name, topic] : c.topics()) {
        json t;
        t["name"] = topic->name;
        t["id"] = topic->id.to_string();
        t["partitions"] = topic->partition_count();
        t["internal"] = topic->internal;
        t["configs"] = to_object(topic->overrides);
        topics.push_back(std::move(t));
    }
    doc["topics"] = std::move(topics);
    json broker_configs = json::object();
    broker_configs["default"] = to_object(c.dynamic_default);
    broker_configs["broker"] = to_object(c.dynamic_broker);
    doc["broker_configs"] = std::move(broker_configs);
    return doc.dump(1) + "\n";
}

catalog local_catalog::decode(std::string_view text, const std::string& path, node_id local) {
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
    if (doc["version"].get<int64_t>() != file_format_version) {
        throw fail("unsupported version " + doc["version"].dump());
    }
    catalog out;
    try {
        if (doc.contains("topics")) {
            const json& topics = doc["topics"];
            if (!topics.is_array()) {
                throw std::runtime_error("topics is not an array");
            }
            std::set<protocol::uuid> ids;
            for (const json& t : topics) {
                if (!t.is_object() || !t.contains("name") || !t["name"].is_string() ||
                    !t.contains("id") || !t["id"].is_string() || !t.contains("partitions") ||
                    !t["partitions"].is_number_integer()) {
                    throw std::runtime_error("a topic lacks name, id or partitions");
                }
                catalog_topic topic;
                topic.name = t["name"].get<std::string>();
                if (check_topic_name(topic.name) || out.find(topic.name) != nullptr) {
                    throw std::runtime_error("bad or duplicate topic name '" + topic.name + "'");
                }
                const auto id = protocol::uuid::from_string(t["id"].get<std::string>());
                if (!id || id->is_zero() || !ids.insert(*id).second) {
                    throw std::runtime_error("bad or duplicate topic id for topic " + topic.name);
                }
                topic.id = *id;
                const int64_t n = t["partitions"].get<int64_t>();
                if (n < 1 || n > max_partitions_per_topic) {
                    throw std::runtime_error("bad partition count for topic " + topic.name);
                }
                topic.assignment.assign(static_cast<std::size_t>(n), std::vector<node_id>{local});
                topic.internal = t.contains("internal") && t["internal"].is_boolean() &&
                                 t["internal"].get<bool>();
                topic.overrides = read_string_map(t.contains("configs") ? t["configs"] : json(),
                                                  "configs of " + topic.name);
                out.put(std::move(topic));
            }
        }
        if (doc.contains("broker_configs")) {
            const json& b = doc["broker_configs"];
            if (!b.is_object()) {
                throw std::runtime_error("broker_configs is not an object");
            }
            out.dynamic_default = read_string_map(b.contains("default") ? b["default"] : json(),
                                                  "broker_configs.default");
            out.dynamic_broker = read_string_map(b.contains("broker") ? b["broker"] : json(),
                                                 "broker_configs.broker");
        }
    } catch (const std::runtime_error& e) {
        throw fail(e.what());
    } catch (const json::exception& e) {
        throw fail(e.what());
    }
    return out;
}

void local_catalog::start(catalog_listener& listener) {
    std::lock_guard lock(mutex_);
    if (listener_ != nullptr) {
        return;
    }
    auto first = std::make_shared<catalog>();
    auto text = log::read_small_file(path_, max_file_bytes);
    if (text) {
        *first = decode(text.value(), path_.string(), local_);
    } else if (text.error() != std::errc::no_such_file_or_directory) {
        throw std::runtime_error("cannot read topic metadata file " + path_.string() + ": " +
                                 text.error().message());
    }
    drop_invalid_broker_configs(first->dynamic_default);
    drop_invalid_broker_configs(first->dynamic_broker);
    if (const std::error_code ec = listener.prepare(*first)) {
        listener.abandon(*first);
        throw std::runtime_error("cannot open the logs of the stored topics: " + ec.message());
    }
    listener_ = &listener;
    {
        std::lock_guard current(current_mutex_);
        current_ = first;
    }
    listener.apply(std::move(first));
}

void local_catalog::stop() {
    std::lock_guard lock(mutex_);
    stopped_ = true;
}

std::shared_ptr<const catalog> local_catalog::current() const {
    std::lock_guard lock(current_mutex_);
    return current_;
}

bool local_catalog::accepting() const {
    std::lock_guard lock(mutex_);
    return listener_ != nullptr && !stopped_;
}

std::error_code local_catalog::commit(std::shared_ptr<const catalog> next) {
    std::lock_guard lock(mutex_);
    if (listener_ == nullptr || stopped_) {
        return std::make_error_code(std::errc::operation_not_permitted);
    }
    if (std::error_code ec = listener_->prepare(*next)) {
        listener_->abandon(*next);
        return ec;
    }
    if (std::error_code ec = log::replace_file(path_, encode(*next), true)) {
        listener_->abandon(*next);
        return ec;
    }
    {
        std::lock_guard current(current_mutex_);
        current_ = next;
    }
    listener_->apply(std::move(next));
    return {};
}

}  // namespace broker::server
