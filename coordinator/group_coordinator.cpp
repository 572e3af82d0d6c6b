#include "coordinator/group_coordinator.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <random>
#include <utility>

#include "common/strings.h"
#include "coordinator/group.h"

namespace broker::server::coordinator {
namespace {

using std::chrono::milliseconds;

// Kafka's translation of an append error when storing group metadata (GroupMetadataManager
// storeGroup).
error_code map_group_store_error(error_code e) {
    switch (e) {
        case error_code::unknown_topic_or_partition:
        case error_code::not_enough_replicas:
        case error_code::not_enough_replicas_after_append:
            return error_code::coordinator_not_available;
        case error_code::not_leader_or_follower:
        case error_code::kafka_storage_error: return error_code::not_coordinator;
        case error_code::request_timed_out: return error_code::rebalance_in_progress;
        case error_code::message_too_large:
        case error_code::record_list_too_large:
        case error_code::invalid_fetch_size: return error_code::unknown_server_error;
        default: return e;
    }
}

// Kafka's translation of an append error for an offset commit (maybeConvertOffsetCommitError).
error_code map_offset_commit_error(error_code e) {
    switch (e) {
        case error_code::network_exception: return error_code::coordinator_load_in_progress;
        case error_code::unknown_topic_or_partition:
        case error_code::not_enough_replicas:
        case error_code::not_enough_replicas_after_append:
            return error_code::coordinator_not_available;
        case error_code::not_leader_or_follower:
        case error_code::kafka_storage_error: return error_code::not_coordinator;
        case error_code::message_too_large:
        case error_code::record_list_too_large:
        case error_code::invalid_fetch_size: return error_code::invalid_commit_offset_size;
        default: return e;
    }
}

join_group_result join_error(std::string member_id, error_code error) {
    join_group_result r;
    r.error = error;
    r.member_id = std::move(member_id);
    return r;
}

sync_group_result sync_error(error_code error) {
    sync_group_result r;
    r.error = error;
    return r;
}

}  // namespace

std::string_view state_name(group_state state) {
    switch (state) {
        case group_state::empty: return "Empty";
        case group_state::preparing_rebalance: return "PreparingRebalance";
        case group_state::completing_rebalance: return "CompletingRebalance";
        case group_state::stable: return "Stable";
        case group_state::dead: return "Dead";
    }
    return "Dead";
}

error_code legacy_leave_group_error(const leave_group_result& result) {
    if (result.error != error_code::none) {
        return result.error;
    }
    for (const auto& m : result.members) {
        if (m.error != error_code::none) {
            return m.error;
        }
    }
    return error_code::none;
}

/// Offsets and group records replayed from a loading partition, installed by finish_loading.
struct group_coordinator::loading_state {
    std::map<std::string, std::map<topic_partition, offset_and_metadata>> offsets;
    std::map<std::string, group_metadata_value> groups;
};

/// One partition of an OffsetCommit, flattened, with Kafka's timestamps applied.
struct group_coordinator::commit_entry {
    topic_partition partition;
    offset_and_metadata value;
    bool metadata_too_large = false;
};

group_coordinator::group_coordinator(coordinator_config config, scheduler& sched, offsets_log& log)
    : config_(config), scheduler_(sched), log_(log) {
    std::random_device rd;
    random_.seed((static_cast<uint64_t>(rd()) << 32) ^ rd());
}

group_coordinator::~group_coordinator() {
    *alive_ = false;
    scheduler_.cancel(expiry_timer_);
    for (auto& [id, group] : groups_) {
        scheduler_.cancel(group->join_timer);
        scheduler_.cancel(group->sync_timer);
        for (auto& [pending, timer] : group->pending_members) {
            scheduler_.cancel(timer);
        }
        for (auto& m : group->members) {
            scheduler_.cancel(m->heartbeat_timer);
        }
        group->state = group_state::dead;
    }
}

void group_coordinator::start() {
    active_ = true;
    schedule_expiry();
}

void group_coordinator::schedule_expiry() {
    scheduler_.cancel(expiry_timer_);
    expiry_timer_ =
        scheduler_.schedule(milliseconds(config_.offsets_retention_check_interval_ms), [this] {
            expiry_timer_ = 0;
            expire_offsets();
            schedule_expiry();
        });
}

void group_coordinator::shutdown() {
    std::set<int32_t> partitions = owned_;
    partitions.insert(loading_.begin(), loading_.end());
    for (int32_t p : partitions) {
        unload_partition(p);
    }
    scheduler_.cancel(expiry_timer_);
    expiry_timer_ = 0;
    active_ = false;
}

std::string group_coordinator::generate_member_id(const std::string& prefix) {
    // A random (version 4) UUID in its canonical text form, like java.util.UUID.randomUUID().
    uint64_t hi = random_();
    uint64_t lo = random_();
    hi = (hi & ~0xf000ULL) | 0x4000ULL;
    lo = (lo & ~(0xc0ULL << 56)) | (0x80ULL << 56);
    char buf[37];
    std::snprintf(buf, sizeof buf, "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(hi >> 32),
                  static_cast<unsigned>((hi >> 16) & 0xffff), static_cast<unsigned>(hi & 0xffff),
                  static_cast<unsigned>(lo >> 48),
                  static_cast<unsigned long long>(lo & 0xffffffffffffULL));
    return prefix + "-" + buf;
}

// ---------------------------------------------------------------------------------------------
// Ownership

int32_t group_coordinator::partition_for(std::string_view group_id) const {
    return offsets_partition_for(group_id, config_.offsets_topic_num_partitions);
}

bool group_coordinator::owns_partition(int32_t partition) const {
    return owned_.contains(partition);
}

bool group_coordinator::is_loading(int32_t partition) const {
    return loading_.contains(partition);
}

void group_coordinator::set_owned_partitions(std::span<const int32_t> partitions) {
    std::set<int32_t> wanted(partitions.begin(), partitions.end());
    std::set<int32_t> current = owned_;
    current.insert(loading_.begin(), loading_.end());
    for (int32_t p : current) {
        if (!wanted.contains(p)) {
            unload_partition(p);
        }
    }
    for (int32_t p : wanted) {
        if (!loading_.contains(p)) {
            owned_.insert(p);
        }
    }
}

void group_coordinator::begin_loading(int32_t partition) {
    if (owned_.contains(partition) || loading_.contains(partition)) {
        unload_partition(partition);
    }
    loading_.insert(partition);
    staging_[partition] = std::make_unique<loading_state>();
}

load_result group_coordinator::load_partition(int32_t partition,
                                              std::span<const offsets_record> records) {
    load_result result;
    auto it = staging_.find(partition);
    if (it == staging_.end()) {
        result.error = error_code::not_coordinator;
        result.skipped = records.size();
        return result;
    }
    loading_state& state = *it->second;
    for (const auto& record : records) {
        auto key = decode_record_key(record.key);
        if (!key || std::holds_alternative<unknown_key>(*key)) {
            ++result.skipped;
            continue;
        }
        if (const auto* k = std::get_if<offset_commit_key>(&*key)) {
            topic_partition tp{k->topic, k->partition};
            if (!record.value) {
                auto g = state.offsets.find(k->group);
                if (g != state.offsets.end()) {
                    g->second.erase(tp);
                    if (g->second.empty()) {
                        state.offsets.erase(g);
                    }
                }
            } else {
                auto value = decode_offset_commit_value(*record.value);
                if (!value) {
                    ++result.skipped;
                    continue;
                }
                state.offsets[k->group][tp] =
                    offset_and_metadata{value->offset, value->leader_epoch, value->metadata,
                                        value->commit_timestamp, value->expire_timestamp};
            }
        } else {
            const auto& gk = std::get<group_metadata_key>(*key);
            if (!record.value) {
                state.groups.erase(gk.group);
            } else {
                auto value = decode_group_metadata_value(*record.value);
                if (!value) {
                    ++result.skipped;
                    continue;
                }
                state.groups[gk.group] = std::move(*value);
            }
        }
        ++result.applied;
    }
    return result;
}

void group_coordinator::finish_loading(int32_t partition) {
    auto it = staging_.find(partition);
    if (it == staging_.end()) {
        return;
    }
    std::unique_ptr<loading_state> state = std::move(it->second);
    staging_.erase(it);
    loading_.erase(partition);
    owned_.insert(partition);

    const int64_t now = scheduler_.now_ms();
    std::vector<group_ptr> loaded;
    for (auto& [group_id, value] : state->groups) {
        auto group = std::make_shared<classic_group>(
            group_id, value.members.empty() ? group_state::empty : group_state::stable, now);
        group->generation_id = value.generation;
        group->protocol_name = value.protocol;
        group->current_state_timestamp = value.current_state_timestamp;
        for (auto& m : value.members) {
            auto member = std::make_unique<member_metadata>();
            member->member_id = m.member_id;
            member->group_instance_id = m.group_instance_id;
            member->client_id = m.client_id;
            member->client_host = m.client_host;
            member->rebalance_timeout_ms = m.rebalance_timeout;
            member->session_timeout_ms = m.session_timeout;
            member->protocol_type = value.protocol_type;
            member->supported_protocols = {
                join_group_protocol{value.protocol.value_or(""), m.subscription}};
            member->assignment = m.assignment;
            group->add(std::move(member));
        }
        // add() takes the protocol type and the leader from the first member; the record's own
        // fields are authoritative (an empty protocol type means none).
        group->protocol_type = value.protocol_type.empty()
                                   ? std::nullopt
                                   : std::optional<std::string>(value.protocol_type);
        group->leader_id = value.leader;
        group->subscribed_topics = group->compute_subscribed_topics();
        auto offsets = state->offsets.find(group_id);
        if (offsets != state->offsets.end()) {
            group->offsets = std::move(offsets->second);
            state->offsets.erase(offsets);
        }
        loaded.push_back(std::move(group));
    }
    // Groups that only store offsets (simple consumers, or groups whose metadata was deleted).
    for (auto& [group_id, offsets] : state->offsets) {
        auto group = std::make_shared<classic_group>(group_id, group_state::empty, now);
        group->offsets = std::move(offsets);
        loaded.push_back(std::move(group));
    }
    for (auto& group : loaded) {
        if (groups_.contains(group->group_id)) {
            continue;  // a cached group wins, as in Kafka's loadGroup
        }
        groups_.emplace(group->group_id, group);
        on_group_loaded(group);
    }
}

void group_coordinator::on_group_loaded(const group_ptr& group) {
    if (group->size() > static_cast<std::size_t>(config_.group_max_size)) {
        // Over capacity after a config change: rebalance so members learn and commit first.
        prepare_rebalance(group);
    }
    for (auto& m : group->members) {
        schedule_heartbeat(group, *m, m->session_timeout_ms);
    }
}

void group_coordinator::unload_partition(int32_t partition) {
    owned_.erase(partition);
    loading_.erase(partition);
    staging_.erase(partition);
    std::vector<group_ptr> unloaded;
    for (auto it = groups_.begin(); it != groups_.end();) {
        if (partition_for(it->first) == partition) {
            unloaded.push_back(it->second);
            it = groups_.erase(it);
        } else {
            ++it;
        }
    }
    for (auto& group : unloaded) {
        on_group_unloaded(*group);
    }
}

void group_coordinator::on_group_unloaded(classic_group& group) {
    group.transition_to(group_state::dead, scheduler_.now_ms());
    scheduler_.cancel(group.join_timer);
    scheduler_.cancel(group.sync_timer);
    group.join_timer = group.sync_timer = 0;
    for (auto& [pending, timer] : group.pending_members) {
        scheduler_.cancel(timer);
    }
    group.pending_members.clear();
    group.pending_sync_members.clear();
    for (auto& m : group.members) {
        scheduler_.cancel(m->heartbeat_timer);
        m->heartbeat_timer = 0;
        if (m->awaiting_join) {
            auto cb = std::exchange(m->awaiting_join, nullptr);
            cb(join_error(m->member_id, error_code::not_coordinator));
        }
        if (m->awaiting_sync) {
            auto cb = std::exchange(m->awaiting_sync, nullptr);
            cb(sync_error(error_code::not_coordinator));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Validation

std::optional<error_code> group_coordinator::validate_group_status(std::string_view group_id,
                                                                   api which) const {
    // OffsetCommit/OffsetFetch/DescribeGroups/DeleteGroups accept the empty group id for backward
    // compatibility; the membership APIs need a real one.
    const bool empty_allowed = which == api::commit || which == api::fetch ||
                               which == api::describe || which == api::delete_groups;
    if (group_id.empty() && !empty_allowed) {
        return error_code::invalid_group_id;
    }
    if (!active_) {
        return error_code::coordinator_not_available;
    }
    int32_t partition = partition_for(group_id);
    if (loading_.contains(partition)) {
        return error_code::coordinator_load_in_progress;
    }
    if (!owned_.contains(partition)) {
        return error_code::not_coordinator;
    }
    return std::nullopt;
}

group_coordinator::group_ptr group_coordinator::find_group(std::string_view group_id) const {
    auto it = groups_.find(group_id);
    return it == groups_.end() ? nullptr : it->second;
}

std::optional<error_code> group_coordinator::validate_current_member(
    const classic_group& group, const std::string& member_id,
    const std::optional<std::string>& instance_id) const {
    if (instance_id) {
        auto current = group.current_static_member_id(*instance_id);
        if (!current) {
            return error_code::unknown_member_id;
        }
        if (*current != member_id) {
            return error_code::fenced_instance_id;
        }
        return std::nullopt;
    }
    if (!group.has(member_id)) {
        return error_code::unknown_member_id;
    }
    return std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// JoinGroup

bool group_coordinator::accept_joining_member(const classic_group& group,
                                              std::string_view member_id) const {
    const auto max = static_cast<std::size_t>(config_.group_max_size);
    switch (group.state) {
        case group_state::empty:
        case group_state::dead: return true;
        case group_state::preparing_rebalance: {
            // Awaiting members are counted, not the size: the size may exceed a lowered maximum,
            // and counting joiners lets the last ones to rejoin be turned away.
            const member_metadata* m = group.find(member_id);
            return (m != nullptr && m->is_awaiting_join()) || group.num_awaiting_join() < max;
        }
        case group_state::completing_rebalance:
        case group_state::stable: return group.has(member_id) || group.size() < max;
    }
    return false;
}

void group_coordinator::join_group(const join_group_request& request, join_callback done) {
    if (auto error = validate_group_status(request.group_id, api::join)) {
        done(join_error(request.member_id, *error));
        return;
    }
    if (request.session_timeout_ms < config_.group_min_session_timeout_ms ||
        request.session_timeout_ms > config_.group_max_session_timeout_ms) {
        done(join_error(request.member_id, error_code::invalid_session_timeout));
        return;
    }
    // JoinGroup v0 has no rebalance timeout; Kafka uses the session timeout.
    const int32_t rebalance_timeout_ms =
        request.api_version == 0 ? request.session_timeout_ms : request.rebalance_timeout_ms;
    const bool is_unknown_member = request.member_id.empty();

    group_ptr group = find_group(request.group_id);
    if (!group) {
        if (!is_unknown_member) {
            // A member id for a group that does not exist: the member must start over.
            done(join_error(request.member_id, error_code::unknown_member_id));
            return;
        }
        group = std::make_shared<classic_group>(request.group_id, group_state::empty,
                                                scheduler_.now_ms());
        groups_.emplace(request.group_id, group);
    }

    if (!accept_joining_member(*group, request.member_id)) {
        remove_member(*group, request.member_id);
        done(join_error("", error_code::group_max_size_reached));
    } else if (is_unknown_member) {
        do_new_member_join(group, request, rebalance_timeout_ms, done);
    } else {
        do_current_member_join(group, request, rebalance_timeout_ms, done);
    }

    if (group->is(group_state::preparing_rebalance)) {
        try_complete_join(group);
    }
}

void group_coordinator::do_new_member_join(const group_ptr& group,
                                           const join_group_request& request,
                                           int32_t rebalance_timeout_ms, join_callback& done) {
    if (group->is(group_state::dead)) {
        done(join_error("", error_code::coordinator_not_available));
        return;
    }
    if (!group->supports_protocols(request.protocol_type, request.protocols)) {
        done(join_error("", error_code::inconsistent_group_protocol));
        return;
    }
    // Kafka's member ids: "<group.instance.id>-<uuid>" for static members, else
    // "<client.id>-<uuid>".
    std::string new_member_id = generate_member_id(
        request.group_instance_id ? *request.group_instance_id : request.client_id);

    if (request.group_instance_id) {
        auto old_member_id = group->current_static_member_id(*request.group_instance_id);
        if (old_member_id) {
            // KIP-345: a known static member restarted; it takes over its old identity.
            update_static_member_and_rebalance(group, *old_member_id, new_member_id, request,
                                               rebalance_timeout_ms, done);
        } else {
            add_member_and_rebalance(group, request, rebalance_timeout_ms, new_member_id,
                                     std::move(done));
        }
        return;
    }
    if (request.api_version >= 4) {
        // KIP-394: hand out a member id and wait for the member to rejoin with it, so that a
        // client retrying a timed-out JoinGroup does not leave orphan members behind.
        add_pending_member(group, new_member_id, request.session_timeout_ms);
        done(join_error(new_member_id, error_code::member_id_required));
        return;
    }
    add_member_and_rebalance(group, request, rebalance_timeout_ms, new_member_id, std::move(done));
}

void group_coordinator::do_current_member_join(const group_ptr& group,
                                               const join_group_request& request,
                                               int32_t rebalance_timeout_ms, join_callback& done) {
    const std::string& member_id = request.member_id;
    if (group->is(group_state::dead)) {
        done(join_error(member_id, error_code::coordinator_not_available));
        return;
    }
    if (!group->supports_protocols(request.protocol_type, request.protocols)) {
        done(join_error(member_id, error_code::inconsistent_group_protocol));
        return;
    }
    if (group->pending_members.contains(member_id)) {
        if (request.group_instance_id) {
            // Pending members are always dynamic; Kafka fails this request as an internal error.
            done(join_error(member_id, error_code::unknown_server_error));
            return;
        }
        add_member_and_rebalance(group, request, rebalance_timeout_ms, member_id, std::move(done));
        return;
    }
    if (auto error = validate_current_member(*group, member_id, request.group_instance_id)) {
        done(join_error(member_id, *error));
        return;
    }
    member_metadata& member = *group->find(member_id);
    switch (group->state) {
        case group_state::preparing_rebalance:
            update_member_and_rebalance(group, member, request, rebalance_timeout_ms,
                                        std::move(done));
            return;
        case group_state::completing_rebalance:
            if (member.matches(request.protocols)) {
                // Same metadata: the member probably lost the JoinGroup response; resend it.
                done(current_generation_result(*group, member_id, group->is_leader(member_id),
                                               false));
            } else {
                update_member_and_rebalance(group, member, request, rebalance_timeout_ms,
                                            std::move(done));
            }
            return;
        case group_state::stable:
            if (group->is_leader(member_id) || !member.matches(request.protocols)) {
                // A leader's JoinGroup always rebalances: it is how the leader reacts to changes
                // that do not show in member metadata (new partitions, for consumers).
                update_member_and_rebalance(group, member, request, rebalance_timeout_ms,
                                            std::move(done));
            } else {
                done(current_generation_result(*group, member_id, false, false));
            }
            return;
        case group_state::empty:
        case group_state::dead: done(join_error(member_id, error_code::unknown_member_id)); return;
    }
}

join_group_result group_coordinator::current_generation_result(const classic_group& group,
                                                               const std::string& member_id,
                                                               bool with_members,
                                                               bool skip_assignment) const {
    join_group_result r;
    r.member_id = member_id;
    r.generation_id = group.generation_id;
    r.protocol_type = group.protocol_type;
    r.protocol_name = group.protocol_name;
    r.leader = group.leader_id.value_or("");
    r.skip_assignment = skip_assignment;
    if (with_members && group.protocol_name) {
        for (const auto& m : group.members) {
            const bytes* metadata = m->metadata(*group.protocol_name);
            r.members.push_back(join_group_member{m->member_id, m->group_instance_id,
                                                  metadata != nullptr ? *metadata : bytes{}});
        }
    }
    return r;
}

void group_coordinator::update_static_member_and_rebalance(
    const group_ptr& group, const std::string& old_member_id, const std::string& new_member_id,
    const join_group_request& request, int32_t rebalance_timeout_ms, join_callback& done) {
    const std::optional<std::string> current_leader = group->leader_id;
    member_metadata* member = group->find(old_member_id);
    // The old incarnation's waiting requests are answered FENCED_INSTANCE_ID; from now on its
    // member id is fenced (validate_current_member) and its session timer is replaced.
    if (member->awaiting_join) {
        auto cb = std::exchange(member->awaiting_join, nullptr);
        cb(join_error(old_member_id, error_code::fenced_instance_id));
    }
    if (member->awaiting_sync) {
        auto cb = std::exchange(member->awaiting_sync, nullptr);
        cb(sync_error(error_code::fenced_instance_id));
    }
    member->member_id = new_member_id;
    if (group->is_leader(old_member_id)) {
        group->leader_id = new_member_id;
    }
    group->static_members[*request.group_instance_id] = new_member_id;
    if (group->pending_sync_members.erase(old_member_id) > 0) {
        group->pending_sync_members.insert(new_member_id);
    }
    schedule_heartbeat(group, *member, member->session_timeout_ms);

    const auto old_protocols = member->supported_protocols;
    const int32_t old_rebalance_timeout = member->rebalance_timeout_ms;
    const int32_t old_session_timeout = member->session_timeout_ms;
    member->supported_protocols = request.protocols;
    member->rebalance_timeout_ms = rebalance_timeout_ms;
    member->session_timeout_ms = request.session_timeout_ms;
    member->awaiting_join = std::move(done);

    switch (group->state) {
        case group_state::stable: {
            if (group->protocol_name && group->select_protocol() == *group->protocol_name) {
                // The selected protocol stays: persist the new member id, no rebalance.
                std::map<std::string, bytes> assignment;
                for (const auto& m : group->members) {
                    assignment[m->member_id] = m->assignment;
                }
                const bool support_skipping_assignment = request.api_version >= 9;
                const std::string instance_id = *request.group_instance_id;
                const int32_t generation = group->generation_id;
                std::weak_ptr<classic_group> weak = group;
                store_group(
                    group, assignment,
                    [this, weak, instance_id, old_member_id, new_member_id, generation,
                     current_leader, old_protocols, old_rebalance_timeout, old_session_timeout,
                     support_skipping_assignment](error_code error) {
                        group_ptr g = weak.lock();
                        if (!g) {
                            return;
                        }
                        member_metadata* m = g->find(new_member_id);
                        // If the member left, or rejoined and the group is rebalancing, its request
                        // was already answered and the rebalance owns the new one.
                        if (m == nullptr || !m->awaiting_join || !g->is(group_state::stable) ||
                            g->generation_id != generation) {
                            return;
                        }
                        if (error != error_code::none) {
                            // Revert to the old member id: the new one was never persisted.
                            auto cb = std::exchange(m->awaiting_join, nullptr);
                            m->supported_protocols = old_protocols;
                            m->rebalance_timeout_ms = old_rebalance_timeout;
                            m->session_timeout_ms = old_session_timeout;
                            m->member_id = old_member_id;
                            if (g->is_leader(new_member_id)) {
                                g->leader_id = old_member_id;
                            }
                            g->static_members[instance_id] = old_member_id;
                            if (g->pending_sync_members.erase(new_member_id) > 0) {
                                g->pending_sync_members.insert(old_member_id);
                            }
                            schedule_heartbeat(g, *m, m->session_timeout_ms);
                            join_group_result r;
                            r.error = error;
                            r.generation_id = g->generation_id;
                            r.protocol_type = g->protocol_type;
                            r.protocol_name = g->protocol_name;
                            r.leader = current_leader.value_or("");
                            cb(std::move(r));
                            return;
                        }
                        auto cb = std::exchange(m->awaiting_join, nullptr);
                        if (support_skipping_assignment) {
                            // KIP-814: a static leader learns it leads but must not reassign.
                            const bool is_leader = g->is_leader(new_member_id);
                            cb(current_generation_result(*g, new_member_id, is_leader, is_leader));
                        } else {
                            // Before v9, report the old leader id so that a returning static leader
                            // does not run an assignment a Stable group would ignore.
                            join_group_result r =
                                current_generation_result(*g, new_member_id, false, false);
                            r.leader = current_leader.value_or("");
                            cb(std::move(r));
                        }
                    });
            } else {
                maybe_prepare_rebalance(group);
            }
            return;
        }
        case group_state::completing_rebalance:
            // The leader may be assigning with the old member id; start over.
            prepare_rebalance(group);
            return;
        case group_state::preparing_rebalance:
        case group_state::empty:
        case group_state::dead: return;
    }
}

void group_coordinator::add_member_and_rebalance(const group_ptr& group,
                                                 const join_group_request& request,
                                                 int32_t rebalance_timeout_ms,
                                                 const std::string& member_id, join_callback done) {
    auto member = std::make_unique<member_metadata>();
    member->member_id = member_id;
    member->group_instance_id = request.group_instance_id;
    member->client_id = request.client_id;
    member->client_host = request.client_host;
    member->rebalance_timeout_ms = rebalance_timeout_ms;
    member->session_timeout_ms = request.session_timeout_ms;
    member->protocol_type = request.protocol_type;
    member->supported_protocols = request.protocols;
    member->is_new = true;
    member->awaiting_join = std::move(done);

    // A brand-new group keeps extending its initial delay while members keep arriving.
    if (group->is(group_state::preparing_rebalance) && group->generation_id == 0) {
        group->new_member_added = true;
    }
    auto pending = group->pending_members.find(member_id);
    if (pending != group->pending_members.end()) {
        scheduler_.cancel(pending->second);
    }
    member_metadata& added = *member;
    group->add(std::move(member));
    // A new member cannot heartbeat until its JoinGroup returns, and a client that gave up on a
    // long rebalance would leave it behind: bound its wait by Kafka's new-member join timeout.
    schedule_heartbeat(group, added, new_member_join_timeout_ms);
    maybe_prepare_rebalance(group);
}

void group_coordinator::update_member_and_rebalance(const group_ptr& group, member_metadata& member,
                                                    const join_group_request& request,
                                                    int32_t rebalance_timeout_ms,
                                                    join_callback done) {
    member.supported_protocols = request.protocols;
    member.rebalance_timeout_ms = rebalance_timeout_ms;
    member.session_timeout_ms = request.session_timeout_ms;
    if (member.awaiting_join) {
        // A retried JoinGroup replaces the one still waiting; release the old one.
        auto old = std::exchange(member.awaiting_join, nullptr);
        old(join_error(member.member_id, error_code::rebalance_in_progress));
    }
    member.awaiting_join = std::move(done);
    maybe_prepare_rebalance(group);
}

// ---------------------------------------------------------------------------------------------
// Rebalance

void group_coordinator::maybe_prepare_rebalance(const group_ptr& group) {
    if (group->can_rebalance()) {
        prepare_rebalance(group);
    }
}

void group_coordinator::prepare_rebalance(const group_ptr& group) {
    if (group->is(group_state::completing_rebalance)) {
        // Members waiting in SyncGroup must rejoin.
        reset_and_propagate_assignment_error(group, error_code::rebalance_in_progress);
    }
    remove_sync_expiration(*group);
    const bool initial = group->is(group_state::empty);
    const int32_t rebalance_timeout = group->rebalance_timeout_ms();
    group->transition_to(group_state::preparing_rebalance, scheduler_.now_ms());
    if (initial) {
        const int32_t delay = config_.group_initial_rebalance_delay_ms;
        schedule_initial_join(group, delay, std::max(rebalance_timeout - delay, 0));
    } else {
        schedule_join(group, rebalance_timeout);
        try_complete_join(group);
    }
}

void group_coordinator::schedule_join(const group_ptr& group, int64_t timeout_ms) {
    scheduler_.cancel(group->join_timer);
    group->join_timer_initial = false;
    std::weak_ptr<classic_group> weak = group;
    group->join_timer =
        scheduler_.schedule(milliseconds(timeout_ms), [this, weak] { on_join_timer(weak); });
}

void group_coordinator::schedule_initial_join(const group_ptr& group, int32_t delay_ms,
                                              int32_t remaining_ms) {
    scheduler_.cancel(group->join_timer);
    group->join_timer_initial = true;
    group->initial_delay_ms = delay_ms;
    group->initial_remaining_ms = remaining_ms;
    std::weak_ptr<classic_group> weak = group;
    group->join_timer =
        scheduler_.schedule(milliseconds(delay_ms), [this, weak] { on_join_timer(weak); });
}

void group_coordinator::try_complete_join(const group_ptr& group) {
    // The initial delayed join never completes early: it exists to let more members arrive.
    if (group->join_timer == 0 || group->join_timer_initial ||
        !group->is(group_state::preparing_rebalance)) {
        return;
    }
    if (group->has_all_members_joined()) {
        scheduler_.cancel(group->join_timer);
        group->join_timer = 0;
        on_complete_join(group);
    }
}

void group_coordinator::on_join_timer(const std::weak_ptr<classic_group>& weak) {
    group_ptr group = weak.lock();
    if (!group) {
        return;
    }
    group->join_timer = 0;
    if (group->join_timer_initial) {
        group->join_timer_initial = false;
        if (group->new_member_added && group->initial_remaining_ms != 0) {
            // Members arrived during the delay: wait again, up to the rebalance timeout.
            group->new_member_added = false;
            const int32_t delay =
                std::min(config_.group_initial_rebalance_delay_ms, group->initial_remaining_ms);
            const int32_t remaining =
                std::max(group->initial_remaining_ms - group->initial_delay_ms, 0);
            schedule_initial_join(group, delay, remaining);
            return;
        }
    }
    on_complete_join(group);
}

void group_coordinator::on_complete_join(const group_ptr& group) {
    // Dynamic members that did not rejoin in time are dropped; static members keep their place.
    std::vector<std::string> failed;
    for (const auto& m : group->members) {
        if (!m->is_awaiting_join() && !m->is_static()) {
            failed.push_back(m->member_id);
        }
    }
    for (const auto& id : failed) {
        remove_member(*group, id);
    }
    if (group->is(group_state::dead)) {
        return;
    }
    if (!group->maybe_elect_new_joined_leader() && !group->members.empty()) {
        // Nobody rejoined: wait another rebalance timeout for sessions to expire.
        schedule_join(group, group->rebalance_timeout_ms());
        try_complete_join(group);
        return;
    }

    // Kafka's initNextGeneration.
    const int64_t now = scheduler_.now_ms();
    ++group->generation_id;
    if (!group->members.empty()) {
        group->protocol_name = group->select_protocol();
        group->subscribed_topics = group->compute_subscribed_topics();
        group->transition_to(group_state::completing_rebalance, now);
    } else {
        group->protocol_name.reset();
        group->subscribed_topics = group->compute_subscribed_topics();
        group->transition_to(group_state::empty, now);
    }
    group->pending_sync_members.clear();

    if (group->is(group_state::empty)) {
        // A failed write is harmless: with no members the previous generation would simply expire.
        store_group(group, {}, [](error_code) {});
        return;
    }
    for (auto& m : group->members) {
        join_group_result r =
            current_generation_result(*group, m->member_id, group->is_leader(m->member_id), false);
        if (m->awaiting_join) {
            auto cb = std::exchange(m->awaiting_join, nullptr);
            cb(std::move(r));
        }
        schedule_heartbeat(group, *m, m->session_timeout_ms);
        m->is_new = false;
        group->pending_sync_members.insert(m->member_id);
    }
    schedule_pending_sync(group);
}

void group_coordinator::schedule_pending_sync(const group_ptr& group) {
    scheduler_.cancel(group->sync_timer);
    std::weak_ptr<classic_group> weak = group;
    const int32_t generation = group->generation_id;
    group->sync_timer =
        scheduler_.schedule(milliseconds(group->rebalance_timeout_ms()),
                            [this, weak, generation] { on_expire_pending_sync(weak, generation); });
}

void group_coordinator::remove_pending_sync_member(const group_ptr& group,
                                                   const std::string& member_id) {
    group->pending_sync_members.erase(member_id);
    if (group->pending_sync_members.empty()) {
        scheduler_.cancel(group->sync_timer);
        group->sync_timer = 0;
    }
}

void group_coordinator::remove_sync_expiration(classic_group& group) {
    group.pending_sync_members.clear();
    scheduler_.cancel(group.sync_timer);
    group.sync_timer = 0;
}

void group_coordinator::on_expire_pending_sync(const std::weak_ptr<classic_group>& weak,
                                               int32_t generation_id) {
    group_ptr group = weak.lock();
    if (!group) {
        return;
    }
    group->sync_timer = 0;
    if (generation_id != group->generation_id ||
        !(group->is(group_state::completing_rebalance) || group->is(group_state::stable))) {
        return;
    }
    if (group->pending_sync_members.empty()) {
        return;
    }
    // Members that got their JoinGroup response but never sent SyncGroup are gone.
    std::vector<std::string> missing(group->pending_sync_members.begin(),
                                     group->pending_sync_members.end());
    for (const auto& id : missing) {
        remove_member(*group, id);
    }
    prepare_rebalance(group);
}

void group_coordinator::reset_and_propagate_assignment_error(const group_ptr& group,
                                                             error_code error) {
    for (auto& m : group->members) {
        m->assignment.clear();
    }
    propagate_assignment(group, error);
}

void group_coordinator::set_and_propagate_assignment(
    const group_ptr& group, const std::map<std::string, bytes>& assignment) {
    for (auto& m : group->members) {
        auto it = assignment.find(m->member_id);
        m->assignment = it != assignment.end() ? it->second : bytes{};
    }
    propagate_assignment(group, error_code::none);
}

void group_coordinator::propagate_assignment(const group_ptr& group, error_code error) {
    for (auto& m : group->members) {
        if (!m->awaiting_sync) {
            continue;
        }
        sync_group_result r;
        r.error = error;
        if (error == error_code::none) {
            r.protocol_type = group->protocol_type;
            r.protocol_name = group->protocol_name;
            r.assignment = m->assignment;
        }
        auto cb = std::exchange(m->awaiting_sync, nullptr);
        cb(std::move(r));
        // Sessions were paused while the member waited; restart its timer now.
        schedule_heartbeat(group, *m, m->session_timeout_ms);
    }
}

// ---------------------------------------------------------------------------------------------
// Member timers

void group_coordinator::schedule_heartbeat(const group_ptr& group, member_metadata& member,
                                           int64_t timeout_ms) {
    scheduler_.cancel(member.heartbeat_timer);
    member.heartbeat_timer = 0;
    // A known member waiting in JoinGroup or SyncGroup satisfies its heartbeat by waiting (its
    // connection is busy); its timer restarts when the wait ends.
    if (!member.is_new && (member.is_awaiting_join() || member.is_awaiting_sync())) {
        return;
    }
    std::weak_ptr<classic_group> weak = group;
    std::string member_id = member.member_id;
    member.heartbeat_timer = scheduler_.schedule(milliseconds(timeout_ms), [this, weak, member_id] {
        on_expire_heartbeat(weak, member_id);
    });
}

void group_coordinator::on_expire_heartbeat(const std::weak_ptr<classic_group>& weak,
                                            const std::string& member_id) {
    group_ptr group = weak.lock();
    if (!group || group->is(group_state::dead)) {
        return;
    }
    member_metadata* member = group->find(member_id);
    if (member == nullptr) {
        return;
    }
    member->heartbeat_timer = 0;
    const bool satisfied =
        !member->is_new && (member->is_awaiting_join() || member->is_awaiting_sync());
    if (!satisfied) {
        remove_member_and_update_group(group, member_id);
    }
}

void group_coordinator::add_pending_member(const group_ptr& group, const std::string& member_id,
                                           int32_t timeout_ms) {
    std::weak_ptr<classic_group> weak = group;
    group->pending_members[member_id] =
        scheduler_.schedule(milliseconds(timeout_ms),
                            [this, weak, member_id] { on_expire_pending_member(weak, member_id); });
}

void group_coordinator::on_expire_pending_member(const std::weak_ptr<classic_group>& weak,
                                                 const std::string& member_id) {
    group_ptr group = weak.lock();
    if (!group || group->is(group_state::dead)) {
        return;
    }
    auto it = group->pending_members.find(member_id);
    if (it == group->pending_members.end()) {
        return;
    }
    it->second = 0;
    remove_pending_member_and_update_group(group, member_id);
}

void group_coordinator::remove_member(classic_group& group, const std::string& member_id) {
    auto pending = group.pending_members.find(member_id);
    if (pending != group.pending_members.end()) {
        scheduler_.cancel(pending->second);
    }
    std::unique_ptr<member_metadata> removed = group.detach(member_id);
    if (!removed) {
        return;
    }
    scheduler_.cancel(removed->heartbeat_timer);
    if (removed->awaiting_join) {
        removed->awaiting_join(join_error("", error_code::unknown_member_id));
    }
    if (removed->awaiting_sync) {
        removed->awaiting_sync(sync_error(error_code::unknown_member_id));
    }
}

void group_coordinator::remove_member_and_update_group(const group_ptr& group,
                                                       const std::string& member_id) {
    // A new member timing out while its JoinGroup waits is answered UNKNOWN_MEMBER_ID (inside
    // remove_member) so that a client still there rejoins.
    remove_member(*group, member_id);
    switch (group->state) {
        case group_state::stable:
        case group_state::completing_rebalance: maybe_prepare_rebalance(group); break;
        case group_state::preparing_rebalance: try_complete_join(group); break;
        case group_state::empty:
        case group_state::dead: break;
    }
}

void group_coordinator::remove_pending_member_and_update_group(const group_ptr& group,
                                                               const std::string& member_id) {
    remove_member(*group, member_id);
    if (group->is(group_state::preparing_rebalance)) {
        try_complete_join(group);
    }
}

// ---------------------------------------------------------------------------------------------
// SyncGroup

void group_coordinator::sync_group(const sync_group_request& request, sync_callback done) {
    if (request.api_version >= 5 && (!request.protocol_type || !request.protocol_name)) {
        // SyncGroup v5 made protocol type and name mandatory.
        done(sync_error(error_code::inconsistent_group_protocol));
        return;
    }
    if (auto error = validate_group_status(request.group_id, api::sync)) {
        // While loading, the rebalance state is lost anyway: REBALANCE_IN_PROGRESS makes the
        // member rejoin without rediscovering the coordinator (older clients do not expect
        // COORDINATOR_LOAD_IN_PROGRESS here).
        done(sync_error(*error == error_code::coordinator_load_in_progress
                            ? error_code::rebalance_in_progress
                            : *error));
        return;
    }
    group_ptr group = find_group(request.group_id);
    if (!group) {
        done(sync_error(error_code::unknown_member_id));
        return;
    }
    if (group->is(group_state::dead)) {
        done(sync_error(error_code::coordinator_not_available));
        return;
    }
    if (auto error =
            validate_current_member(*group, request.member_id, request.group_instance_id)) {
        done(sync_error(*error));
        return;
    }
    if (request.generation_id != group->generation_id) {
        done(sync_error(error_code::illegal_generation));
        return;
    }
    if ((request.protocol_type && group->protocol_type != request.protocol_type) ||
        (request.protocol_name && group->protocol_name != request.protocol_name)) {
        done(sync_error(error_code::inconsistent_group_protocol));
        return;
    }

    switch (group->state) {
        case group_state::empty: done(sync_error(error_code::unknown_member_id)); return;
        case group_state::preparing_rebalance:
            done(sync_error(error_code::rebalance_in_progress));
            return;
        case group_state::completing_rebalance: {
            member_metadata& member = *group->find(request.member_id);
            if (member.awaiting_sync) {
                // A retried SyncGroup replaces the one still waiting; release the old one.
                auto old = std::exchange(member.awaiting_sync, nullptr);
                old(sync_error(error_code::rebalance_in_progress));
            }
            member.awaiting_sync = std::move(done);
            remove_pending_sync_member(group, request.member_id);
            if (group->is_leader(request.member_id)) {
                // Members the leader left out get an empty assignment.
                std::map<std::string, bytes> assignment;
                for (const auto& a : request.assignments) {
                    assignment[a.member_id] = a.assignment;
                }
                for (const auto& m : group->members) {
                    assignment.try_emplace(m->member_id);
                }
                const int32_t generation = group->generation_id;
                std::weak_ptr<classic_group> weak = group;
                store_group(group, assignment,
                            [this, weak, generation, assignment](error_code error) {
                                group_ptr g = weak.lock();
                                // Another member may have joined meanwhile: act only if nothing
                                // moved on.
                                if (!g || !g->is(group_state::completing_rebalance) ||
                                    g->generation_id != generation) {
                                    return;
                                }
                                if (error != error_code::none) {
                                    reset_and_propagate_assignment_error(g, error);
                                    maybe_prepare_rebalance(g);
                                } else {
                                    set_and_propagate_assignment(g, assignment);
                                    g->transition_to(group_state::stable, scheduler_.now_ms());
                                }
                            });
            }
            return;
        }
        case group_state::stable: {
            remove_pending_sync_member(group, request.member_id);
            member_metadata& member = *group->find(request.member_id);
            sync_group_result r;
            r.protocol_type = group->protocol_type;
            r.protocol_name = group->protocol_name;
            r.assignment = member.assignment;
            done(std::move(r));
            schedule_heartbeat(group, member, member.session_timeout_ms);
            return;
        }
        case group_state::dead: done(sync_error(error_code::coordinator_not_available)); return;
    }
}

// ---------------------------------------------------------------------------------------------
// Heartbeat

error_code group_coordinator::heartbeat(const heartbeat_request& request) {
    if (auto error = validate_group_status(request.group_id, api::heartbeat)) {
        // While loading, answer blindly: the member will learn about the state soon enough.
        return *error == error_code::coordinator_load_in_progress ? error_code::none : *error;
    }
    group_ptr group = find_group(request.group_id);
    if (!group) {
        return error_code::unknown_member_id;
    }
    if (group->is(group_state::dead)) {
        return error_code::coordinator_not_available;
    }
    if (auto error =
            validate_current_member(*group, request.member_id, request.group_instance_id)) {
        return *error;
    }
    if (request.generation_id != group->generation_id) {
        return error_code::illegal_generation;
    }
    member_metadata& member = *group->find(request.member_id);
    switch (group->state) {
        case group_state::empty: return error_code::unknown_member_id;
        case group_state::completing_rebalance:
            // Members may heartbeat between their JoinGroup and SyncGroup.
            schedule_heartbeat(group, member, member.session_timeout_ms);
            return error_code::none;
        case group_state::preparing_rebalance:
            schedule_heartbeat(group, member, member.session_timeout_ms);
            return error_code::rebalance_in_progress;
        case group_state::stable:
            schedule_heartbeat(group, member, member.session_timeout_ms);
            return error_code::none;
        case group_state::dead: return error_code::coordinator_not_available;
    }
    return error_code::unknown_server_error;
}

// ---------------------------------------------------------------------------------------------
// LeaveGroup

leave_group_result group_coordinator::leave_group(const leave_group_request& request) {
    leave_group_result result;
    if (auto error = validate_group_status(request.group_id, api::leave)) {
        result.error = *error;
        return result;
    }
    group_ptr group = find_group(request.group_id);
    if (!group) {
        for (const auto& m : request.members) {
            result.members.push_back(
                {m.member_id, m.group_instance_id, error_code::unknown_member_id});
        }
        return result;
    }
    if (group->is(group_state::dead)) {
        result.error = error_code::coordinator_not_available;
        return result;
    }
    for (const auto& leaving : request.members) {
        error_code error = error_code::none;
        if (leaving.member_id.empty()) {
            // Administrative removal of a static member by its instance id.
            auto current = leaving.group_instance_id
                               ? group->current_static_member_id(*leaving.group_instance_id)
                               : std::nullopt;
            if (current) {
                remove_member_and_update_group(group, *current);
            } else {
                error = error_code::unknown_member_id;
            }
        } else if (group->pending_members.contains(leaving.member_id)) {
            remove_pending_member_and_update_group(group, leaving.member_id);
        } else if (auto invalid = validate_current_member(*group, leaving.member_id,
                                                          leaving.group_instance_id)) {
            error = *invalid;
        } else {
            remove_member_and_update_group(group, leaving.member_id);
        }
        result.members.push_back({leaving.member_id, leaving.group_instance_id, error});
    }
    return result;
}

// ---------------------------------------------------------------------------------------------
// Persistence

void group_coordinator::store_group(const group_ptr& group,
                                    const std::map<std::string, bytes>& assignment,
                                    std::function<void(error_code)> done) {
    group_metadata_value value;
    value.protocol_type = group->protocol_type.value_or("");
    value.generation = group->generation_id;
    value.protocol = group->protocol_name;
    value.leader = group->leader_id;
    value.current_state_timestamp = group->current_state_timestamp;
    for (const auto& m : group->members) {
        group_member_value mv;
        mv.member_id = m->member_id;
        mv.group_instance_id = m->group_instance_id;
        mv.client_id = m->client_id;
        mv.client_host = m->client_host;
        mv.rebalance_timeout = m->rebalance_timeout_ms;
        mv.session_timeout = m->session_timeout_ms;
        if (group->protocol_name) {
            if (const bytes* metadata = m->metadata(*group->protocol_name)) {
                mv.subscription = *metadata;
            }
        }
        auto it = assignment.find(m->member_id);
        if (it != assignment.end()) {
            mv.assignment = it->second;
        }
        value.members.push_back(std::move(mv));
    }
    std::vector<offsets_record> records;
    records.push_back(
        {encode_group_metadata_key({group->group_id}), encode_group_metadata_value(value, 3)});
    std::weak_ptr<bool> alive = alive_;
    log_.append(partition_for(group->group_id), std::move(records),
                [alive, done = std::move(done)](error_code error) {
                    if (!alive.expired()) {
                        done(map_group_store_error(error));
                    }
                });
}

void group_coordinator::commit_offsets(const offset_commit_request& request,
                                       offset_commit_callback done) {
    // Kafka's timestamps: the commit time is now unless v1 gave one; a v2-4 retention time fixes
    // an expire timestamp, otherwise the broker's retention applies.
    const int64_t now = scheduler_.now_ms();
    std::vector<commit_entry> entries;
    for (const auto& topic : request.topics) {
        for (const auto& p : topic.partitions) {
            commit_entry e;
            e.partition = {topic.name, p.partition_index};
            e.value.committed_offset = p.committed_offset;
            e.value.leader_epoch = p.committed_leader_epoch;
            e.value.metadata = p.committed_metadata.value_or("");
            e.value.commit_timestamp = p.commit_timestamp == -1 ? now : p.commit_timestamp;
            e.value.expire_timestamp =
                request.retention_time_ms == -1 ? -1 : now + request.retention_time_ms;
            // Kafka bounds String.length(), i.e. UTF-16 code units.
            e.metadata_too_large =
                p.committed_metadata &&
                java_string_length(*p.committed_metadata) > config_.offset_metadata_max_bytes;
            entries.push_back(std::move(e));
        }
    }
    auto respond_all = [&](error_code error) {
        offset_commit_result result;
        for (const auto& topic : request.topics) {
            offset_commit_topic_result t{topic.name, {}};
            for (const auto& p : topic.partitions) {
                t.partitions.push_back({p.partition_index, error});
            }
            result.topics.push_back(std::move(t));
        }
        done(std::move(result));
    };

    if (auto error = validate_group_status(request.group_id, api::commit)) {
        respond_all(*error);
        return;
    }
    group_ptr group = find_group(request.group_id);
    if (!group) {
        if (request.generation_id >= 0) {
            // A generation for a group that does not exist: an old member; reject.
            respond_all(error_code::illegal_generation);
            return;
        }
        // A consumer that does not use group management commits to a group created for it.
        group = std::make_shared<classic_group>(request.group_id, group_state::empty, now);
        groups_.emplace(request.group_id, group);
    }

    // Kafka's validateOffsetCommit.
    std::optional<error_code> invalid;
    if (group->is(group_state::dead)) {
        invalid = error_code::coordinator_not_available;
    } else if (request.generation_id < 0 && group->is(group_state::empty)) {
        // Admin clients and manual-assignment consumers may commit while the group is empty.
    } else if (request.generation_id >= 0 || !request.member_id.empty() ||
               request.group_instance_id) {
        invalid = validate_current_member(*group, request.member_id, request.group_instance_id);
        if (!invalid && request.generation_id != group->generation_id) {
            invalid = error_code::illegal_generation;
        }
    } else if (!group->is(group_state::empty)) {
        // Only members may commit to a group with members.
        invalid = error_code::unknown_member_id;
    }
    if (invalid) {
        respond_all(*invalid);
        return;
    }

    switch (group->state) {
        case group_state::empty: break;
        case group_state::stable:
        case group_state::preparing_rebalance: {
            // A commit proves the member alive. During PreparingRebalance commits are still
            // accepted; the next heartbeat tells the member to rejoin.
            member_metadata& member = *group->find(request.member_id);
            schedule_heartbeat(group, member, member.session_timeout_ms);
            break;
        }
        case group_state::completing_rebalance:
            // The member already has the new generation from JoinGroup but no assignment yet.
            respond_all(error_code::rebalance_in_progress);
            return;
        case group_state::dead: respond_all(error_code::coordinator_not_available); return;
    }
    store_offsets(group, request, std::move(entries), std::move(done));
}

void group_coordinator::store_offsets(const group_ptr& group, const offset_commit_request& request,
                                      std::vector<commit_entry> entries,
                                      offset_commit_callback done) {
    // The response mirrors the request; entries are in the same order.
    offset_commit_result shape;
    for (const auto& topic : request.topics) {
        offset_commit_topic_result t{topic.name, {}};
        for (const auto& p : topic.partitions) {
            t.partitions.push_back({p.partition_index, error_code::none});
        }
        shape.topics.push_back(std::move(t));
    }
    auto finish = [](offset_commit_result result, const std::vector<commit_entry>& entries,
                     error_code error) {
        std::size_t i = 0;
        for (auto& t : result.topics) {
            for (auto& p : t.partitions) {
                p.error =
                    entries[i].metadata_too_large ? error_code::offset_metadata_too_large : error;
                ++i;
            }
        }
        return result;
    };

    std::vector<offsets_record> records;
    for (const auto& e : entries) {
        if (e.metadata_too_large) {
            continue;
        }
        offset_commit_value value{e.value.committed_offset, e.value.leader_epoch, e.value.metadata,
                                  e.value.commit_timestamp, e.value.expire_timestamp};
        records.push_back(
            {encode_offset_commit_key({group->group_id, e.partition.first, e.partition.second}),
             encode_offset_commit_value(value, offset_commit_value_version_for(value))});
    }
    if (records.empty()) {
        done(finish(std::move(shape), entries, error_code::offset_metadata_too_large));
        return;
    }
    for (const auto& e : entries) {
        if (!e.metadata_too_large) {
            group->pending_offset_commits[e.partition] = e.value;
        }
    }
    std::weak_ptr<bool> alive = alive_;
    std::weak_ptr<classic_group> weak = group;
    log_.append(partition_for(group->group_id), std::move(records),
                [alive, weak, entries = std::move(entries), shape = std::move(shape), finish,
                 done = std::move(done)](error_code append_error) mutable {
                    if (alive.expired()) {
                        return;
                    }
                    group_ptr g = weak.lock();
                    const bool live = g && !g->is(group_state::dead);
                    error_code error = error_code::none;
                    if (append_error == error_code::none) {
                        if (live) {
                            for (const auto& e : entries) {
                                if (e.metadata_too_large) {
                                    continue;
                                }
                                auto pending = g->pending_offset_commits.find(e.partition);
                                // Deleted while in flight (OffsetDelete/DeleteGroups):
                                // stays deleted.
                                if (pending == g->pending_offset_commits.end()) {
                                    continue;
                                }
                                g->offsets[e.partition] = e.value;
                                if (pending->second == e.value) {
                                    g->pending_offset_commits.erase(pending);
                                }
                            }
                        }
                    } else {
                        if (live) {
                            for (const auto& e : entries) {
                                auto pending = g->pending_offset_commits.find(e.partition);
                                if (pending != g->pending_offset_commits.end() &&
                                    pending->second == e.value) {
                                    g->pending_offset_commits.erase(pending);
                                }
                            }
                        }
                        error = map_offset_commit_error(append_error);
                    }
                    done(finish(std::move(shape), entries, error));
                });
}

// ---------------------------------------------------------------------------------------------
// OffsetFetch

offset_fetch_group_result group_coordinator::fetch_offsets(const offset_fetch_group& request,
                                                           bool require_stable) {
    offset_fetch_group_result result;
    result.group_id = request.group_id;
    if (auto error = validate_group_status(request.group_id, api::fetch)) {
        result.error = *error;
        return result;
    }
    // Offsets are returned whatever the group state: a group may use Kafka only to store offsets.
    group_ptr group = find_group(request.group_id);
    if (group && group->is(group_state::dead)) {
        group = nullptr;
    }
    auto lookup = [&](const std::string& topic, int32_t partition) {
        offset_fetch_partition_result r;
        r.partition_index = partition;
        if (!group) {
            return r;
        }
        topic_partition tp{topic, partition};
        if (require_stable && group->pending_offset_commits.contains(tp)) {
            // KIP-447: a commit for this partition is still being written.
            r.error = error_code::unstable_offset_commit;
            return r;
        }
        auto it = group->offsets.find(tp);
        if (it != group->offsets.end()) {
            r.committed_offset = it->second.committed_offset;
            r.committed_leader_epoch = it->second.leader_epoch;
            r.metadata = it->second.metadata;
        }
        return r;
    };
    if (request.topics) {
        for (const auto& topic : *request.topics) {
            offset_fetch_topic_result t{topic.name, {}};
            for (int32_t partition : topic.partition_indexes) {
                t.partitions.push_back(lookup(topic.name, partition));
            }
            result.topics.push_back(std::move(t));
        }
    } else if (group) {
        for (const auto& [tp, offset] : group->offsets) {
            if (result.topics.empty() || result.topics.back().name != tp.first) {
                result.topics.push_back({tp.first, {}});
            }
            result.topics.back().partitions.push_back(lookup(tp.first, tp.second));
        }
    }
    return result;
}

std::vector<offset_fetch_group_result> group_coordinator::fetch_offsets(
    std::span<const offset_fetch_group> groups, bool require_stable) {
    std::vector<offset_fetch_group_result> results;
    results.reserve(groups.size());
    for (const auto& g : groups) {
        results.push_back(fetch_offsets(g, require_stable));
    }
    return results;
}

// ---------------------------------------------------------------------------------------------
// Offset expiry and deletion

void group_coordinator::cleanup_group_metadata(const group_ptr& group,
                                               const std::vector<offset_commit_key>& removed) {
    if (group->is(group_state::empty) && !group->has_offsets()) {
        group->transition_to(group_state::dead, scheduler_.now_ms());
    }
    std::vector<offsets_record> tombstones;
    for (const auto& key : removed) {
        tombstones.push_back({encode_offset_commit_key(key), std::nullopt});
    }
    if (group->is(group_state::dead)) {
        auto it = groups_.find(group->group_id);
        if (it != groups_.end() && it->second == group) {
            groups_.erase(it);
            // Generation 0 never wrote group metadata (offset storage only): nothing to delete.
            if (group->generation_id > 0) {
                tombstones.push_back({encode_group_metadata_key({group->group_id}), std::nullopt});
            }
        }
    }
    if (!tombstones.empty()) {
        // A lost tombstone is harmless: the next cleanup writes it again. Kafka uses acks=0 here.
        log_.append(partition_for(group->group_id), std::move(tombstones), [](error_code) {});
    }
}

std::size_t group_coordinator::expire_offsets() {
    const int64_t now = scheduler_.now_ms();
    const int64_t retention = config_.offsets_retention_ms;
    std::size_t total = 0;
    std::vector<group_ptr> groups;
    for (const auto& [id, group] : groups_) {
        groups.push_back(group);
    }
    for (const auto& group : groups) {
        // Kafka's removeExpiredOffsets: which clock an offset's retention runs on depends on the
        // group. Groups with a protocol start it when they become Empty; Stable consumer groups
        // expire only offsets of topics they no longer subscribe to; offset-only groups count from
        // the commit. Other groups keep their offsets.
        enum class base { state_change, commit, none } basis = base::none;
        const std::set<std::string> no_topics;
        const std::set<std::string>* subscribed = &no_topics;
        if (group->protocol_type && group->is(group_state::empty)) {
            basis = base::state_change;
        } else if (group->is_consumer_group() && group->subscribed_topics &&
                   group->is(group_state::stable)) {
            basis = base::commit;
            subscribed = &*group->subscribed_topics;
        } else if (!group->protocol_type) {
            basis = base::commit;
        }
        std::vector<offset_commit_key> removed;
        if (basis != base::none) {
            for (auto it = group->offsets.begin(); it != group->offsets.end();) {
                const auto& [tp, offset] = *it;
                bool expired = false;
                if (!subscribed->contains(tp.first) &&
                    !group->pending_offset_commits.contains(tp)) {
                    if (offset.expire_timestamp == -1) {
                        int64_t start =
                            basis == base::state_change && group->current_state_timestamp != -1
                                ? group->current_state_timestamp
                                : offset.commit_timestamp;
                        expired = now - start >= retention;
                    } else {
                        expired = now >= offset.expire_timestamp;
                    }
                }
                if (expired) {
                    removed.push_back({group->group_id, tp.first, tp.second});
                    it = group->offsets.erase(it);
                } else {
                    ++it;
                }
            }
        }
        total += removed.size();
        cleanup_group_metadata(group, removed);
    }
    return total;
}

offset_delete_result group_coordinator::delete_offsets(const offset_delete_request& request) {
    offset_delete_result result;
    if (auto error = validate_group_status(request.group_id, api::delete_offsets)) {
        result.error = *error;
        return result;
    }
    group_ptr group = find_group(request.group_id);
    if (!group || group->is(group_state::dead)) {
        result.error = error_code::group_id_not_found;
        return result;
    }
    const bool empty = group->is(group_state::empty);
    if (!empty && !group->is_consumer_group()) {
        result.error = error_code::non_empty_group;
        return result;
    }
    std::vector<offset_commit_key> removed;
    for (const auto& topic : request.topics) {
        offset_delete_topic_result t{topic.name, {}};
        // An active consumer group keeps offsets of topics it consumes.
        const bool subscribed = !empty && group->is_subscribed_to_topic(topic.name);
        for (int32_t partition : topic.partition_indexes) {
            if (subscribed) {
                t.partitions.push_back({partition, error_code::group_subscribed_to_topic});
                continue;
            }
            topic_partition tp{topic.name, partition};
            group->pending_offset_commits.erase(tp);
            if (group->offsets.erase(tp) > 0) {
                removed.push_back({group->group_id, topic.name, partition});
            }
            t.partitions.push_back({partition, error_code::none});
        }
        result.topics.push_back(std::move(t));
    }
    cleanup_group_metadata(group, removed);
    return result;
}

// ---------------------------------------------------------------------------------------------
// Administration

std::vector<described_group> group_coordinator::describe_groups(
    std::span<const std::string> group_ids) {
    std::vector<described_group> results;
    for (const auto& id : group_ids) {
        described_group d;
        d.group_id = id;
        if (auto error = validate_group_status(id, api::describe)) {
            d.error = *error;
            results.push_back(std::move(d));
            continue;
        }
        group_ptr group = find_group(id);
        if (!group) {
            d.group_state = std::string(state_name(group_state::dead));  // unknown groups are Dead
            results.push_back(std::move(d));
            continue;
        }
        d.group_state = std::string(state_name(group->state));
        d.protocol_type = group->protocol_type.value_or("");
        const bool stable = group->is(group_state::stable) && group->protocol_name;
        if (stable) {
            d.protocol_data = *group->protocol_name;
        }
        for (const auto& m : group->members) {
            described_group_member dm{
                m->member_id, m->group_instance_id, m->client_id, m->client_host, {}, {}};
            if (stable) {
                if (const bytes* metadata = m->metadata(*group->protocol_name)) {
                    dm.member_metadata = *metadata;
                }
                dm.member_assignment = m->assignment;
            }
            d.members.push_back(std::move(dm));
        }
        results.push_back(std::move(d));
    }
    return results;
}

list_groups_result group_coordinator::list_groups(std::span<const std::string> states_filter,
                                                  std::span<const std::string> types_filter) {
    list_groups_result result;
    if (!active_) {
        result.error = error_code::coordinator_not_available;
        return result;
    }
    // Groups of loaded partitions are listed even while others load, with the error set.
    if (!loading_.empty()) {
        result.error = error_code::coordinator_load_in_progress;
    }
    std::set<std::string> states;
    for (const auto& s : states_filter) {
        states.insert(to_lower(s));
    }
    bool classic_type_wanted = types_filter.empty();
    for (const auto& t : types_filter) {
        classic_type_wanted = classic_type_wanted || to_lower(t) == "classic";
    }
    if (!classic_type_wanted) {
        return result;
    }
    for (const auto& [id, group] : groups_) {
        std::string state(state_name(group->state));
        if (!states.empty() && !states.contains(to_lower(state))) {
            continue;
        }
        result.groups.push_back({id, group->protocol_type.value_or(""), state, "classic"});
    }
    return result;
}

std::vector<delete_group_result> group_coordinator::delete_groups(
    std::span<const std::string> group_ids) {
    std::vector<delete_group_result> results;
    std::set<std::string> seen;
    std::vector<group_ptr> eligible;
    for (const auto& id : group_ids) {
        if (!seen.insert(id).second) {
            continue;
        }
        delete_group_result r{id, error_code::none};
        if (auto error = validate_group_status(id, api::delete_groups)) {
            r.error = *error;
        } else if (group_ptr group = find_group(id); !group || group->is(group_state::dead)) {
            r.error = error_code::group_id_not_found;
        } else if (group->is(group_state::empty)) {
            group->transition_to(group_state::dead, scheduler_.now_ms());
            eligible.push_back(group);
        } else {
            r.error = error_code::non_empty_group;
        }
        results.push_back(std::move(r));
    }
    for (const auto& group : eligible) {
        std::vector<offset_commit_key> removed;
        for (const auto& [tp, offset] : group->offsets) {
            removed.push_back({group->group_id, tp.first, tp.second});
        }
        group->offsets.clear();
        group->pending_offset_commits.clear();
        cleanup_group_metadata(group, removed);
    }
    return results;
}

}  // namespace broker::server::coordinator
