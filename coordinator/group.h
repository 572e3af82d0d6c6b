#pragma once
// In-memory state of one classic group and its members (Kafka's GroupMetadata/MemberMetadata).
//
// Plain state with small helpers; every transition rule and timer lives in group_coordinator.cpp.
// Owned by the group_coordinator (through shared_ptr so timers and pending appends can tell that
// a group was dropped); touched only from the coordinator's serialized context.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "coordinator/group_coordinator.h"

namespace broker::server::coordinator {

using topic_partition = std::pair<std::string, int32_t>;

/// A committed offset as the coordinator keeps it (Kafka's OffsetAndMetadata).
struct offset_and_metadata {
    int64_t committed_offset = 0;
    int32_t leader_epoch = -1;
    std::string metadata;
    int64_t commit_timestamp = 0;
    int64_t expire_timestamp = -1;  // -1 = none: the broker's retention applies
    friend bool operator==(const offset_and_metadata&, const offset_and_metadata&) = default;
};

class member_metadata {
public:
    std::string member_id;
    std::optional<std::string> group_instance_id;
    std::string client_id;
    std::string client_host;
    int32_t rebalance_timeout_ms = 0;
    int32_t session_timeout_ms = 0;
    std::string protocol_type;
    std::vector<join_group_protocol> supported_protocols;  // in preference order
    bytes assignment;
    join_callback awaiting_join;  // set while a JoinGroup waits for the rebalance
    sync_callback awaiting_sync;  // set while a SyncGroup waits for the leader's assignment
    bool is_new = false;          // joined in the current rebalance, no generation yet
    timer_id heartbeat_timer = 0;

    bool is_static() const { return group_instance_id.has_value(); }
    bool is_awaiting_join() const { return static_cast<bool>(awaiting_join); }
    bool is_awaiting_sync() const { return static_cast<bool>(awaiting_sync); }
    /// Metadata for `protocol`, or nullptr if the member does not support it.
    const bytes* metadata(std::string_view protocol) const;
    /// Same protocols, same order, same metadata.
    bool matches(const std::vector<join_group_protocol>& protocols) const;
    /// The member's most preferred protocol among `candidates`.
    std::string vote(const std::set<std::string>& candidates) const;
};

class classic_group {
public:
    classic_group(std::string id, group_state initial, int64_t now_ms)
        : group_id(std::move(id)), state(initial), current_state_timestamp(now_ms) {}

    std::string group_id;
    group_state state;
    int64_t current_state_timestamp;  // -1 = unknown (loaded from a record without one)
    std::optional<std::string> protocol_type;
    std::optional<std::string> protocol_name;
    int32_t generation_id = 0;
    std::optional<std::string> leader_id;
    /// Members in join order (the order of the leader's member list).
    std::vector<std::unique_ptr<member_metadata>> members;
    /// group.instance.id -> member id of the static members.
    std::map<std::string, std::string> static_members;
    /// Member ids handed out with MEMBER_ID_REQUIRED and not yet joined -> their expiry timer.
    std::map<std::string, timer_id> pending_members;
    /// Members of the current generation that have not sent SyncGroup yet.
    std::set<std::string> pending_sync_members;
    /// Topics subscribed by the members of a "consumer" group; nullopt when unknown.
    std::optional<std::set<std::string>> subscribed_topics;
    bool new_member_added = false;

    std::map<topic_partition, offset_and_metadata> offsets;
    /// Commits appended but not yet acknowledged by the log.
    std::map<topic_partition, offset_and_metadata> pending_offset_commits;

    // Rebalance timers: at most one join timer (regular or initial delayed) and one sync timer.
    timer_id join_timer = 0;
    bool join_timer_initial = false;
    int32_t initial_delay_ms = 0;
    int32_t initial_remaining_ms = 0;
    timer_id sync_timer = 0;

    bool is(group_state s) const { return state == s; }
    member_metadata* find(std::string_view member_id) const;
    bool has(std::string_view member_id) const { return find(member_id) != nullptr; }
    bool is_leader(std::string_view member_id) const {
        return leader_id && *leader_id == member_id;
    }
    std::size_t size() const { return members.size(); }
    std::size_t num_awaiting_join() const;
    bool has_all_members_joined() const;
    std::optional<std::string> current_static_member_id(const std::string& instance_id) const;
    /// The largest rebalance timeout among the members (0 without members).
    int32_t rebalance_timeout_ms() const;
    /// Whether a member with this protocol type and these protocols may join.
    bool supports_protocols(const std::string& protocol_type,
                            const std::vector<join_group_protocol>& protocols) const;
    /// Protocols every member supports.
    std::set<std::string> candidate_protocols() const;
    /// Kafka's vote: each member votes for its preferred candidate; most votes wins.
    std::string select_protocol() const;
    std::optional<std::set<std::string>> compute_subscribed_topics() const;
    bool is_subscribed_to_topic(const std::string& topic) const;
    bool is_consumer_group() const { return protocol_type && *protocol_type == "consumer"; }
    bool has_offsets() const { return !offsets.empty() || !pending_offset_commits.empty(); }
    bool can_rebalance() const {
        return is(group_state::stable) || is(group_state::completing_rebalance) ||
               is(group_state::empty);
    }
    void transition_to(group_state target, int64_t now_ms);
    /// Adds a member (Kafka's GroupMetadata.add); the first member sets the protocol type and
    /// becomes leader.
    void add(std::unique_ptr<member_metadata> member);
    /// Removes `member_id` from members, pending members and pending syncs, and moves the
    /// leadership if needed. Returns the removed member (null if it was not a member).
    std::unique_ptr<member_metadata> detach(const std::string& member_id);
    /// When the leader did not rejoin, hands leadership to a member that did. False when no member
    /// rejoined (or there is no leader).
    bool maybe_elect_new_joined_leader();
};

}  // namespace broker::server::coordinator
