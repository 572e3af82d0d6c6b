#include "server/cluster/metadata_image.h"

#include <algorithm>
#include <optional>
#include <set>
#include <utility>

#include "protocol/errors.h"

namespace broker::server::cluster {
namespace {

using request_type = protocol::update_metadata_request;

// UpdateMetadata versions whose fields change what a broker reads (UpdateMetadataRequest.json).
constexpr int16_t first_version_with_endpoints = 1;
constexpr int16_t first_version_with_rack = 2;
constexpr int16_t first_version_with_listener = 3;
constexpr int16_t first_version_with_offline_replicas = 4;
constexpr int16_t first_version_with_topic_states = 5;

// Before version 3 an endpoint names no listener; Kafka names it after its security protocol
// (ListenerName.forSecurityProtocol). nullopt for an id Kafka does not know.
std::optional<std::string> listener_of_security_protocol(int16_t id) {
    switch (id) {
        case 0: return "PLAINTEXT";
        case 1: return "SSL";
        case 2: return "SASL_PLAINTEXT";
        case 3: return "SASL_SSL";
        default: return std::nullopt;
    }
}

std::optional<uint16_t> valid_port(int32_t port) {
    if (port < 0 || port > 0xffff) {
        return std::nullopt;
    }
    return static_cast<uint16_t>(port);
}

broker_info to_broker_info(const request_type::update_metadata_broker& broker, int16_t version) {
    broker_info out;
    out.id = broker.id;
    // The rack field exists from version 2; the generated default (an empty string) is not a rack.
    if (version >= first_version_with_rack) {
        out.rack = broker.rack;
    }
    if (version < first_version_with_endpoints) {
        // Version 0: one plaintext host and port.
        if (const auto port = valid_port(broker.v0_port)) {
            out.endpoints.push_back({"PLAINTEXT", broker.v0_host, *port});
        }
        return out;
    }
    for (const request_type::update_metadata_endpoint& endpoint : broker.endpoints) {
        const auto port = valid_port(endpoint.port);
        if (!port) {
            continue;
        }
        std::optional<std::string> listener = endpoint.listener;
        if (version < first_version_with_listener) {
            listener = listener_of_security_protocol(endpoint.security_protocol);
        }
        if (!listener) {
            continue;
        }
        out.endpoints.push_back({std::move(*listener), endpoint.host, *port});
    }
    return out;
}

std::shared_ptr<const cluster_view> make_cluster(const request_type& request, int16_t version) {
    // Kafka keys live brokers by id, so a repeated id keeps its last entry.
    std::map<int32_t, broker_info> by_id;
    for (const request_type::update_metadata_broker& broker : request.live_brokers) {
        by_id[broker.id] = to_broker_info(broker, version);
    }
    auto view = std::make_shared<cluster_view>();
    view->brokers.reserve(by_id.size());
    for (auto& [id, info] : by_id) {
        view->brokers.push_back(std::move(info));
    }
    view->controller_id = request.controller_id < 0 ? -1 : request.controller_id;
    return view;
}

// The states of an image that carries none: its topics read back as states.
partition_state_table states_of(const topic_snapshot& topics) {
    partition_state_table out;
    for (const auto& [name, topic] : topics.topics()) {
        topic_state state;
        state.topic_id = topic.topic_id;
        for (const partition_info& p : topic.partitions) {
            state.partitions[p.partition_index] = {p.leader_id, p.leader_epoch, p.replica_nodes,
                                                   p.isr_nodes, p.offline_replicas};
        }
        if (!state.partitions.empty()) {
            out.emplace(name, std::move(state));
        }
    }
    return out;
}

bool valid_partition_index(int32_t index) {
    return index >= 0 && index < max_partitions_per_topic;
}

// Applies one partition state of topic `name`: an upsert, or a removal for LeaderDuringDelete
// (which also drops the topic, with its id, once it has no partitions left).
void apply_partition(partition_state_table& table, const std::string& name,
                     const request_type::update_metadata_partition_state& state, int16_t version) {
    if (!valid_partition_index(state.partition_index)) {
        return;
    }
    if (state.leader == leader_during_delete) {
        const auto topic = table.find(name);
        if (topic != table.end()) {
            topic->second.partitions.erase(state.partition_index);
            if (topic->second.partitions.empty()) {
                table.erase(topic);
            }
        }
        return;
    }
    partition_state& out = table[name].partitions[state.partition_index];
    out.leader = state.leader;
    out.leader_epoch = state.leader_epoch;
    out.replicas = state.replicas;
    out.isr = state.isr;
    if (version >= first_version_with_offline_replicas) {
        out.offline_replicas = state.offline_replicas;
    } else {
        out.offline_replicas.clear();
    }
}

partition_info placeholder(int32_t index) {
    partition_info out;
    out.partition_index = index;
    out.error_code = static_cast<int16_t>(protocol::error_code::leader_not_available);
    out.leader_id = -1;
    return out;
}

partition_info derive_partition(int32_t index, const partition_state& state,
                                const std::set<int32_t>& live) {
    partition_info out;
    out.partition_index = index;
    out.leader_epoch = state.leader_epoch;
    out.replica_nodes = state.replicas;
    out.isr_nodes = state.isr;
    out.offline_replicas = state.offline_replicas;
    // Kafka's Metadata: a leader that is not a live broker (including -1, no leader) reads as no
    // leader, with LEADER_NOT_AVAILABLE.
    if (state.leader >= 0 && live.contains(state.leader)) {
        out.leader_id = state.leader;
        out.error_code = static_cast<int16_t>(protocol::error_code::none);
    } else {
        out.leader_id = -1;
        out.error_code = static_cast<int16_t>(protocol::error_code::leader_not_available);
    }
    return out;
}

std::shared_ptr<const topic_snapshot> derive_topics(const partition_state_table& table,
                                                    const cluster_view& cluster) {
    std::set<int32_t> live;
    for (const broker_info& broker : cluster.brokers) {
        live.insert(broker.id);
    }
    std::vector<topic_info> topics;
    topics.reserve(table.size());
    // topic_snapshot refuses two topics with one id; the controller never assigns one twice, but
    // should it happen, the first topic by name keeps the id and the others read a zero id.
    std::set<protocol::uuid> ids_taken;
    for (const auto& [name, state] : table) {
        if (state.partitions.empty()) {
            continue;
        }
        topic_info info;
        info.name = name;
        if (!state.topic_id.is_zero() && ids_taken.insert(state.topic_id).second) {
            info.topic_id = state.topic_id;
        }
        info.is_internal = is_internal_topic(name);
        // Keys are ordered and bounded by max_partitions_per_topic, so the last one sizes the
        // list; indexes without a state become placeholders.
        const int32_t count = state.partitions.rbegin()->first + 1;
        info.partitions.reserve(static_cast<std::size_t>(count));
        auto next = state.partitions.begin();
        for (int32_t index = 0; index < count; ++index) {
            if (next != state.partitions.end() && next->first == index) {
                info.partitions.push_back(derive_partition(index, next->second, live));
                ++next;
            } else {
                info.partitions.push_back(placeholder(index));
            }
        }
        topics.push_back(std::move(info));
    }
    return std::make_shared<const topic_snapshot>(std::move(topics));
}

bool same_broker_ids(const cluster_view& a, const cluster_view& b) {
    return std::equal(a.brokers.begin(), a.brokers.end(), b.brokers.begin(), b.brokers.end(),
                      [](const broker_info& x, const broker_info& y) { return x.id == y.id; });
}

}  // namespace

bool is_internal_topic(std::string_view topic) {
    return topic == "__consumer_offsets" || topic == "__transaction_state";
}

metadata_image apply_update_metadata(const metadata_image& current,
                                     const protocol::update_metadata_request& request,
                                     int16_t version) {
    static const cluster_view empty_cluster;
    const cluster_view& old_cluster = current.cluster ? *current.cluster : empty_cluster;

    metadata_image next;
    next.cluster = make_cluster(request, version);

    const bool grouped = version >= first_version_with_topic_states;
    const bool touches_topics =
        grouped ? !request.topic_states.empty() : !request.ungrouped_partition_states.empty();
    if (!touches_topics && current.topics && current.states &&
        same_broker_ids(old_cluster, *next.cluster)) {
        // Neither the states nor the live set behind each partition's answer changed.
        next.topics = current.topics;
        next.states = current.states;
        return next;
    }

    auto table = std::make_shared<partition_state_table>();
    if (current.states) {
        *table = *current.states;
    } else if (current.topics) {
        *table = states_of(*current.topics);
    }
    if (grouped) {
        for (const request_type::update_metadata_topic_state& topic : request.topic_states) {
            for (const request_type::update_metadata_partition_state& partition :
                 topic.partition_states) {
                apply_partition(*table, topic.topic_name, partition, version);
            }
            // The id as sent (zero before version 7, which clears it, as Kafka does).
            const auto it = table->find(topic.topic_name);
            if (it != table->end()) {
                it->second.topic_id = topic.topic_id;
            }
        }
    } else {
        for (const request_type::update_metadata_partition_state& partition :
             request.ungrouped_partition_states) {
            apply_partition(*table, partition.topic_name, partition, version);
        }
    }
    next.topics = derive_topics(*table, *next.cluster);
    next.states = std::move(table);
    return next;
}

}  // namespace broker::server::cluster
