#pragma once
// The catalog: which topics exist (name, topic id, internal flag, the replica assignment of each
// partition, config overrides) and the dynamic broker configs. It is what a metadata source
// (server/metadata/metadata_source.h) delivers and what an admin backend changes; the broker
// derives everything else from it (hosted replicas, resolved configs, the metadata cache).
//
// A `catalog` is an immutable value: a change builds a new version from the old one (the copy
// shares the unchanged topics), so readers keep whatever version they hold for as long as they
// need it. Plain data; any thread may read a version.
//
// Topic-name rules live here too, since every writer of the catalog checks them.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/types.h"
#include "protocol/wire.h"
#include "server/topic_config.h"

namespace broker::server {

/// One topic of the catalog.
struct catalog_topic {
    std::string name;
    protocol::uuid id;
    bool internal = false;
    /// The replica list of each partition, by partition index; the first broker of a list is the
    /// partition's preferred leader. Never empty for a topic in a catalog.
    std::vector<std::vector<node_id>> assignment;
    /// Topic config overrides (Kafka names).
    config_map overrides;

    int32_t partition_count() const { return static_cast<int32_t>(assignment.size()); }
    friend bool operator==(const catalog_topic&, const catalog_topic&) = default;
};

/// One version of the catalog. Build a new version with the mutators on a copy; a published
/// version is never modified (it is handed out as shared_ptr<const catalog>).
class catalog {
public:
    using topic_ptr = std::shared_ptr<const catalog_topic>;

    const topic_ptr* find_ptr(std::string_view name) const;
    const catalog_topic* find(std::string_view name) const;
    const catalog_topic* find(const protocol::uuid& id) const;
    /// Every topic, ordered by name.
    const std::map<std::string, topic_ptr, std::less<>>& topics() const { return by_name_; }
    bool contains_id(const protocol::uuid& id) const { return by_id_.count(id) != 0; }

    /// Adds or replaces a topic (matched by name; a replaced topic keeps no stale id entry).
    void put(catalog_topic topic);
    /// Removes a topic; false when it is not there.
    bool erase(std::string_view name);

    /// Dynamic broker configs: the cluster-wide defaults (resource name "") and this broker's own.
    config_map dynamic_default;
    config_map dynamic_broker;

    friend bool operator==(const catalog& a, const catalog& b);

private:
    std::map<std::string, topic_ptr, std::less<>> by_name_;
    std::map<protocol::uuid, topic_ptr> by_id_;
};

/// Upper bound on the partitions of one topic, so one request cannot make the broker open an
/// unbounded number of files (Kafka has no such limit; docs/topics.md).
inline constexpr int32_t max_partitions_per_topic = 10000;

// ---- topic names

/// Kafka's rules: 1..249 characters of [a-zA-Z0-9._-], not "." or "..". nullopt when legal, else
/// Kafka's message for INVALID_TOPIC_EXCEPTION.
std::optional<std::string> check_topic_name(std::string_view name);
/// True for names containing '.' or '_' (which collide in metric names).
bool has_collision_chars(std::string_view name);
/// The name with '.' replaced by '_': two topics whose unified names are equal collide.
std::string unify_collision_chars(std::string_view name);
/// Internal topics clients may not create or delete by hand.
bool is_internal_topic_name(std::string_view name);
/// A fresh random topic id, as Kafka makes them (never zero, never the metadata topic's id, never
/// one whose text form starts with '-').
protocol::uuid random_topic_id();

}  // namespace broker::server
