#include "coordinator/group.h"

#include <algorithm>

#include "coordinator/consumer_protocol.h"

namespace broker::server::coordinator {

const bytes* member_metadata::metadata(std::string_view protocol) const {
    for (const auto& p : supported_protocols) {
        if (p.name == protocol) {
            return &p.metadata;
        }
    }
    return nullptr;
}

bool member_metadata::matches(const std::vector<join_group_protocol>& protocols) const {
    return protocols == supported_protocols;
}

std::string member_metadata::vote(const std::set<std::string>& candidates) const {
    for (const auto& p : supported_protocols) {
        if (candidates.contains(p.name)) {
            return p.name;
        }
    }
    return {};
}

member_metadata* classic_group::find(std::string_view member_id) const {
    for (const auto& m : members) {
        if (m->member_id == member_id) {
            return m.get();
        }
    }
    return nullptr;
}

std::size_t classic_group::num_awaiting_join() const {
    return static_cast<std::size_t>(std::count_if(
        members.begin(), members.end(), [](const auto& m) { return m->is_awaiting_join(); }));
}

bool classic_group::has_all_members_joined() const {
    return members.size() == num_awaiting_join() && pending_members.empty();
}

std::optional<std::string> classic_group::current_static_member_id(
    const std::string& instance_id) const {
    auto it = static_members.find(instance_id);
    if (it == static_members.end()) {
        return std::nullopt;
    }
    return it->second;
}

int32_t classic_group::rebalance_timeout_ms() const {
    int32_t timeout = 0;
    for (const auto& m : members) {
        timeout = std::max(timeout, m->rebalance_timeout_ms);
    }
    return timeout;
}

std::set<std::string> classic_group::candidate_protocols() const {
    std::map<std::string, std::size_t> counts;
    for (const auto& m : members) {
        std::set<std::string> distinct;
        for (const auto& p : m->supported_protocols) {
            distinct.insert(p.name);
        }
        for (const auto& name : distinct) {
            ++counts[name];
        }
    }
    std::set<std::string> candidates;
    for (const auto& [name, count] : counts) {
        if (count == members.size()) {
            candidates.insert(name);
        }
    }
    return candidates;
}

bool classic_group::supports_protocols(const std::string& type,
                                       const std::vector<join_group_protocol>& protocols) const {
    if (is(group_state::empty)) {
        return !type.empty() && !protocols.empty();
    }
    if (!protocol_type || *protocol_type != type) {
        return false;
    }
    auto candidates = candidate_protocols();
    return std::any_of(protocols.begin(), protocols.end(),
                       [&](const join_group_protocol& p) { return candidates.contains(p.name); });
}

std::string classic_group::select_protocol() const {
    auto candidates = candidate_protocols();
    // Votes in the order protocols first received one, so that a tie goes to the protocol the
    // earliest-joined member voted for (Kafka breaks ties by hash-map order, i.e. arbitrarily).
    std::vector<std::pair<std::string, std::size_t>> votes;
    for (const auto& m : members) {
        std::string choice = m->vote(candidates);
        auto it = std::find_if(votes.begin(), votes.end(),
                               [&](const auto& v) { return v.first == choice; });
        if (it == votes.end()) {
            votes.emplace_back(std::move(choice), 1);
        } else {
            ++it->second;
        }
    }
    std::size_t best = 0;
    for (std::size_t i = 1; i < votes.size(); ++i) {
        if (votes[i].second > votes[best].second) {
            best = i;
        }
    }
    return votes.empty() ? std::string() : votes[best].first;
}

std::optional<std::set<std::string>> classic_group::compute_subscribed_topics() const {
    if (!is_consumer_group()) {
        return std::nullopt;
    }
    if (members.empty()) {
        return std::set<std::string>{};
    }
    if (!protocol_name) {
        return std::nullopt;
    }
    std::set<std::string> topics;
    for (const auto& m : members) {
        const bytes* metadata = m->metadata(*protocol_name);
        if (metadata == nullptr) {
            return std::nullopt;
        }
        auto decoded = decode_subscription_topics(*metadata);
        if (!decoded) {
            return std::nullopt;  // unparsable: the coordinator does not know the subscription
        }
        topics.insert(decoded->begin(), decoded->end());
    }
    return topics;
}

bool classic_group::is_subscribed_to_topic(const std::string& topic) const {
    return !subscribed_topics || subscribed_topics->contains(topic);
}

void classic_group::transition_to(group_state target, int64_t now_ms) {
    state = target;
    current_state_timestamp = now_ms;
}

void classic_group::add(std::unique_ptr<member_metadata> member) {
    if (member->group_instance_id) {
        static_members[*member->group_instance_id] = member->member_id;
    }
    if (members.empty()) {
        protocol_type = member->protocol_type;
    }
    if (!leader_id) {
        leader_id = member->member_id;
    }
    pending_members.erase(member->member_id);
    members.push_back(std::move(member));
}

std::unique_ptr<member_metadata> classic_group::detach(const std::string& member_id) {
    std::unique_ptr<member_metadata> removed;
    auto it = std::find_if(members.begin(), members.end(),
                           [&](const auto& m) { return m->member_id == member_id; });
    if (it != members.end()) {
        removed = std::move(*it);
        members.erase(it);
        if (removed->group_instance_id) {
            static_members.erase(*removed->group_instance_id);
        }
    }
    if (is_leader(member_id)) {
        leader_id =
            members.empty() ? std::nullopt : std::optional<std::string>(members.front()->member_id);
    }
    pending_members.erase(member_id);
    pending_sync_members.erase(member_id);
    return removed;
}

bool classic_group::maybe_elect_new_joined_leader() {
    if (!leader_id) {
        return false;
    }
    member_metadata* leader = find(*leader_id);
    if (leader != nullptr && leader->is_awaiting_join()) {
        return true;
    }
    for (const auto& m : members) {
        if (m->is_awaiting_join()) {
            leader_id = m->member_id;
            return true;
        }
    }
    return false;
}

}  // namespace broker::server::coordinator
