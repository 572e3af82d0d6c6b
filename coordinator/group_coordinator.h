#pragma once
// The classic consumer-group coordinator: group membership (JoinGroup, SyncGroup, Heartbeat,
// LeaveGroup), committed offsets (OffsetCommit, OffsetFetch, OffsetDelete), group administration
// (DescribeGroups, ListGroups, DeleteGroups) and their persistence in `__consumer_offsets`,
// following Apache Kafka's group coordinator. docs/groups.md describes the state machine, the
// timers, the record layouts and every decision taken where Kafka leaves a choice.
//
// Design
//  - Pure logic. No sockets, no threads, no clock: time and timers come from the injected
//    `scheduler`, persistence goes through the injected `offsets_log`. The request handlers map the
//    generated wire structs onto the plain structs below (field names follow the schemas).
//  - Replies that must wait (JoinGroup until the rebalance completes, SyncGroup until the leader's
//    assignment is stored, OffsetCommit until its records are appended) are delivered through
//    callbacks. Every callback passed in is invoked exactly once, possibly before the call that
//    passed it returns. Callbacks must not call back into the coordinator synchronously; they
//    should hand the result to the connection that waits for it.
//  - Ownership: the coordinator serves only groups whose partition
//    `offsets_partition_for(group_id, offsets_topic_num_partitions)` it owns. Others get
//    NOT_COORDINATOR, partitions being loaded get COORDINATOR_LOAD_IN_PROGRESS.
//
// Threading: none inside. Every public call, every scheduler timer callback and every
// offsets_log completion must be serialized by the caller (the network layer runs the coordinator
// on one strand). The scheduler and offsets_log must outlive the coordinator. Call `shutdown()`
// before destroying it so waiting requests are answered; the destructor itself only cancels
// timers, drops pending callbacks and ignores appends that complete later.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "coordinator/bytes.h"
#include "coordinator/errors.h"
#include "coordinator/java_string.h"
#include "coordinator/offsets_log.h"
#include "coordinator/records.h"
#include "coordinator/scheduler.h"

namespace broker::server::coordinator {

class classic_group;
class member_metadata;

/// Kafka's broker settings for the classic group coordinator (same names, same defaults).
struct coordinator_config {
    int32_t offsets_topic_num_partitions = 50;                 // offsets.topic.num.partitions
    int32_t group_min_session_timeout_ms = 6000;               // group.min.session.timeout.ms
    int32_t group_max_session_timeout_ms = 1800000;            // group.max.session.timeout.ms
    int32_t group_max_size = INT32_MAX;                        // group.max.size
    int32_t group_initial_rebalance_delay_ms = 3000;           // group.initial.rebalance.delay.ms
    int32_t offset_metadata_max_bytes = 4096;                  // offset.metadata.max.bytes
    int64_t offsets_retention_ms = 7LL * 24 * 60 * 60 * 1000;  // offsets.retention.minutes (10080)
    int64_t offsets_retention_check_interval_ms = 600000;  // offsets.retention.check.interval.ms
};

/// Kafka's timeout for a JoinGroup of a member that is new to the group (it cannot heartbeat yet).
inline constexpr int32_t new_member_join_timeout_ms = 5 * 60 * 1000;

// ---------------------------------------------------------------------------------------------
// JoinGroup (api key 11)

struct join_group_protocol {
    std::string name;
    bytes metadata;
    friend bool operator==(const join_group_protocol&, const join_group_protocol&) = default;
};

struct join_group_request {
    int16_t api_version = 0;  // v0: rebalance timeout = session timeout; v4+: member id required
                              // for dynamic members (KIP-394); v9+: skip_assignment (KIP-814)
    std::string group_id;
    int32_t session_timeout_ms = 0;
    int32_t rebalance_timeout_ms = -1;
    std::string member_id;
    std::optional<std::string> group_instance_id;  // v5+ (KIP-345)
    std::string protocol_type;
    std::vector<join_group_protocol> protocols;  // in the member's order of preference
    std::optional<std::string> reason;           // v8+, informational
    std::string client_id;                       // from the request header
    std::string client_host;                     // Kafka reports "/" + the peer's IP address
};

struct join_group_member {
    std::string member_id;
    std::optional<std::string> group_instance_id;
    bytes metadata;
    friend bool operator==(const join_group_member&, const join_group_member&) = default;
};

/// JoinGroupResponse fields. `protocol_type`/`protocol_name` are null on errors; below v7 the
/// handler writes a null protocol name as "" (the field is not nullable there).
struct join_group_result {
    error_code error = error_code::none;
    int32_t generation_id = -1;
    std::optional<std::string> protocol_type;
    std::optional<std::string> protocol_name;
    std::string leader;
    bool skip_assignment = false;
    std::string member_id;
    std::vector<join_group_member> members;  // all members for the leader, empty for followers
};
using join_callback = std::function<void(join_group_result)>;

// ---------------------------------------------------------------------------------------------
// SyncGroup (api key 14)

struct sync_group_assignment {
    std::string member_id;
    bytes assignment;
};

struct sync_group_request {
    int16_t api_version = 0;  // v5+: protocol_type and protocol_name are mandatory
    std::string group_id;
    int32_t generation_id = -1;
    std::string member_id;
    std::optional<std::string> group_instance_id;    // v3+
    std::optional<std::string> protocol_type;        // v5+
    std::optional<std::string> protocol_name;        // v5+
    std::vector<sync_group_assignment> assignments;  // from the leader only
};

struct sync_group_result {
    error_code error = error_code::none;
    std::optional<std::string> protocol_type;
    std::optional<std::string> protocol_name;
    bytes assignment;
};
using sync_callback = std::function<void(sync_group_result)>;

// ---------------------------------------------------------------------------------------------
// Heartbeat (api key 12)

struct heartbeat_request {
    std::string group_id;
    int32_t generation_id = -1;
    std::string member_id;
    std::optional<std::string> group_instance_id;  // v3+
};

// ---------------------------------------------------------------------------------------------
// LeaveGroup (api key 13)

struct leave_group_member {
    std::string member_id;
    std::optional<std::string> group_instance_id;
    std::optional<std::string> reason;
};

/// v0-2 carry one member id: pass it as the single entry of `members`.
struct leave_group_request {
    std::string group_id;
    std::vector<leave_group_member> members;
};

struct leave_group_member_result {
    std::string member_id;
    std::optional<std::string> group_instance_id;
    error_code error = error_code::none;
};

struct leave_group_result {
    error_code error = error_code::none;
    std::vector<leave_group_member_result> members;  // in request order; empty on a top-level error
};

/// The single error code of a v0-2 LeaveGroup response: the top-level error if any, else the
/// first member error (Kafka's LeaveGroupResponse does the same).
error_code legacy_leave_group_error(const leave_group_result& result);

// ---------------------------------------------------------------------------------------------
// OffsetCommit (api key 8)

struct offset_commit_partition {
    int32_t partition_index = 0;
    int64_t committed_offset = 0;
    int32_t committed_leader_epoch = -1;            // v6+
    int64_t commit_timestamp = -1;                  // v1 only; -1 = now
    std::optional<std::string> committed_metadata;  // null is stored as ""
};

struct offset_commit_topic {
    std::string name;
    std::vector<offset_commit_partition> partitions;
};

struct offset_commit_request {
    std::string group_id;
    int32_t generation_id = -1;                    // GenerationIdOrMemberEpoch, v1+
    std::string member_id;                         // v1+
    std::optional<std::string> group_instance_id;  // v7+
    int64_t retention_time_ms = -1;                // v2-4; -1 = broker retention
    std::vector<offset_commit_topic> topics;
};

struct offset_commit_partition_result {
    int32_t partition_index = 0;
    error_code error = error_code::none;
};

struct offset_commit_topic_result {
    std::string name;
    std::vector<offset_commit_partition_result> partitions;
};

/// Mirrors the request's topics and partitions, in request order.
struct offset_commit_result {
    std::vector<offset_commit_topic_result> topics;
};
using offset_commit_callback = std::function<void(offset_commit_result)>;

// ---------------------------------------------------------------------------------------------
// OffsetFetch (api key 9)

struct offset_fetch_topic {
    std::string name;
    std::vector<int32_t> partition_indexes;
};

/// One group of the request (v0-7 have exactly one). Null `topics` = every committed partition.
struct offset_fetch_group {
    std::string group_id;
    std::optional<std::vector<offset_fetch_topic>> topics;
};

struct offset_fetch_partition_result {
    int32_t partition_index = 0;
    int64_t committed_offset = -1;
    int32_t committed_leader_epoch = -1;
    std::string metadata;
    error_code error = error_code::none;
};

struct offset_fetch_topic_result {
    std::string name;
    std::vector<offset_fetch_partition_result> partitions;
};

/// `error` is the group-level error (v2+ top level, v8+ per group); with it `topics` is empty.
/// Requested partitions come back in request order; "all partitions" sorted by topic, partition.
struct offset_fetch_group_result {
    std::string group_id;
    error_code error = error_code::none;
    std::vector<offset_fetch_topic_result> topics;
};

// ---------------------------------------------------------------------------------------------
// OffsetDelete (api key 47)

struct offset_delete_topic {
    std::string name;
    std::vector<int32_t> partition_indexes;
};

struct offset_delete_request {
    std::string group_id;
    std::vector<offset_delete_topic> topics;
};

struct offset_delete_partition_result {
    int32_t partition_index = 0;
    error_code error = error_code::none;
};

struct offset_delete_topic_result {
    std::string name;
    std::vector<offset_delete_partition_result> partitions;
};

/// With a top-level `error`, `topics` is empty.
struct offset_delete_result {
    error_code error = error_code::none;
    std::vector<offset_delete_topic_result> topics;
};

// ---------------------------------------------------------------------------------------------
// DescribeGroups (15), ListGroups (16), DeleteGroups (42)

struct described_group_member {
    std::string member_id;
    std::optional<std::string> group_instance_id;
    std::string client_id;
    std::string client_host;
    bytes member_metadata;    // only for Stable groups
    bytes member_assignment;  // only for Stable groups
};

struct described_group {
    error_code error = error_code::none;
    std::string group_id;
    std::string
        group_state;  // "Empty", "PreparingRebalance", "CompletingRebalance", "Stable", "Dead"
    std::string protocol_type;
    std::string protocol_data;  // the selected protocol, only for Stable groups
    std::vector<described_group_member> members;
};

struct listed_group {
    std::string group_id;
    std::string protocol_type;
    std::string group_state;
    std::string group_type;  // always "classic"
};

struct list_groups_result {
    error_code error = error_code::none;
    std::vector<listed_group> groups;  // sorted by group id
};

struct delete_group_result {
    std::string group_id;
    error_code error = error_code::none;
};

// ---------------------------------------------------------------------------------------------
// Loading

struct load_result {
    error_code error = error_code::none;  // not_coordinator if the partition is not loading
    std::size_t applied = 0;              // records replayed
    std::size_t skipped = 0;              // unknown key versions and malformed records
};

/// The group states, with Kafka's names (see `state_name`).
enum class group_state { empty, preparing_rebalance, completing_rebalance, stable, dead };
std::string_view state_name(group_state state);

class group_coordinator {
public:
    group_coordinator(coordinator_config config, scheduler& sched, offsets_log& log);
    ~group_coordinator();
    group_coordinator(const group_coordinator&) = delete;
    group_coordinator& operator=(const group_coordinator&) = delete;

    /// Starts the periodic offset expiry (every offsets.retention.check.interval.ms).
    void start();
    /// Unloads every partition (waiting JoinGroup/SyncGroup requests get NOT_COORDINATOR),
    /// cancels all timers; afterwards every request gets COORDINATOR_NOT_AVAILABLE.
    void shutdown();

    // --- partition ownership and loading (from the controller / leadership changes) ---
    /// Declares the owned `__consumer_offsets` partitions that have nothing to load. Partitions
    /// owned or loading before and absent from `partitions` are unloaded.
    void set_owned_partitions(std::span<const int32_t> partitions);
    /// Starts loading `partition` (unloading it first if it was owned): until `finish_loading`,
    /// its groups answer COORDINATOR_LOAD_IN_PROGRESS.
    void begin_loading(int32_t partition);
    /// Replays records of a loading partition, in log order. May be called repeatedly.
    load_result load_partition(int32_t partition, std::span<const offsets_record> records);
    /// Installs what was loaded and serves the partition's groups: restored members get fresh
    /// session timers, over-capacity groups rebalance (as Kafka's onGroupLoaded).
    void finish_loading(int32_t partition);
    /// Stops serving `partition` (leadership moved): its groups become Dead and are dropped,
    /// waiting requests get NOT_COORDINATOR.
    void unload_partition(int32_t partition);
    bool owns_partition(int32_t partition) const;
    bool is_loading(int32_t partition) const;
    int32_t partition_for(std::string_view group_id) const;

    // --- group membership ---
    void join_group(const join_group_request& request, join_callback done);
    void sync_group(const sync_group_request& request, sync_callback done);
    error_code heartbeat(const heartbeat_request& request);
    leave_group_result leave_group(const leave_group_request& request);

    // --- offsets ---
    void commit_offsets(const offset_commit_request& request, offset_commit_callback done);
    offset_fetch_group_result fetch_offsets(const offset_fetch_group& group, bool require_stable);
    /// OffsetFetch v8+: one result per group, in request order.
    std::vector<offset_fetch_group_result> fetch_offsets(std::span<const offset_fetch_group> groups,
                                                         bool require_stable);
    offset_delete_result delete_offsets(const offset_delete_request& request);
    /// Drops offsets past retention and groups left empty without offsets, writing tombstones.
    /// Runs periodically after `start()`; callable directly. Returns the number of offsets removed.
    std::size_t expire_offsets();

    // --- administration ---
    std::vector<described_group> describe_groups(std::span<const std::string> group_ids);
    list_groups_result list_groups(std::span<const std::string> states_filter,
                                   std::span<const std::string> types_filter);
    /// One result per distinct group id, in request order.
    std::vector<delete_group_result> delete_groups(std::span<const std::string> group_ids);

private:
    using group_ptr = std::shared_ptr<classic_group>;
    enum class api {
        join,
        sync,
        heartbeat,
        leave,
        commit,
        fetch,
        describe,
        delete_groups,
        delete_offsets
    };

    /// "<prefix>-<random UUID>", Kafka's member id format.
    std::string generate_member_id(const std::string& prefix);
    std::optional<error_code> validate_group_status(std::string_view group_id, api which) const;
    group_ptr find_group(std::string_view group_id) const;

    // JoinGroup paths
    bool accept_joining_member(const classic_group& group, std::string_view member_id) const;
    void do_new_member_join(const group_ptr& group, const join_group_request& request,
                            int32_t rebalance_timeout_ms, join_callback& done);
    void do_current_member_join(const group_ptr& group, const join_group_request& request,
                                int32_t rebalance_timeout_ms, join_callback& done);
    void update_static_member_and_rebalance(const group_ptr& group,
                                            const std::string& old_member_id,
                                            const std::string& new_member_id,
                                            const join_group_request& request,
                                            int32_t rebalance_timeout_ms, join_callback& done);
    void add_member_and_rebalance(const group_ptr& group, const join_group_request& request,
                                  int32_t rebalance_timeout_ms, const std::string& member_id,
                                  join_callback done);
    void update_member_and_rebalance(const group_ptr& group, member_metadata& member,
                                     const join_group_request& request,
                                     int32_t rebalance_timeout_ms, join_callback done);
    std::optional<error_code> validate_current_member(
        const classic_group& group, const std::string& member_id,
        const std::optional<std::string>& instance_id) const;
    join_group_result current_generation_result(const classic_group& group,
                                                const std::string& member_id, bool with_members,
                                                bool skip_assignment) const;

    // Rebalance machinery
    void maybe_prepare_rebalance(const group_ptr& group);
    void prepare_rebalance(const group_ptr& group);
    void schedule_join(const group_ptr& group, int64_t timeout_ms);
    void schedule_initial_join(const group_ptr& group, int32_t delay_ms, int32_t remaining_ms);
    void try_complete_join(const group_ptr& group);
    void on_join_timer(const std::weak_ptr<classic_group>& weak);
    void on_complete_join(const group_ptr& group);
    void schedule_pending_sync(const group_ptr& group);
    void remove_pending_sync_member(const group_ptr& group, const std::string& member_id);
    void remove_sync_expiration(classic_group& group);
    void on_expire_pending_sync(const std::weak_ptr<classic_group>& weak, int32_t generation_id);
    void reset_and_propagate_assignment_error(const group_ptr& group, error_code error);
    void set_and_propagate_assignment(const group_ptr& group,
                                      const std::map<std::string, bytes>& assignment);
    void propagate_assignment(const group_ptr& group, error_code error);

    // Members and their timers
    void schedule_heartbeat(const group_ptr& group, member_metadata& member, int64_t timeout_ms);
    void on_expire_heartbeat(const std::weak_ptr<classic_group>& weak,
                             const std::string& member_id);
    void add_pending_member(const group_ptr& group, const std::string& member_id,
                            int32_t timeout_ms);
    void on_expire_pending_member(const std::weak_ptr<classic_group>& weak,
                                  const std::string& member_id);
    void remove_member_and_update_group(const group_ptr& group, const std::string& member_id);
    void remove_pending_member_and_update_group(const group_ptr& group,
                                                const std::string& member_id);
    /// Removes a member (or pending member) outright, cancelling its timers and answering any
    /// request it still has waiting with UNKNOWN_MEMBER_ID.
    void remove_member(classic_group& group, const std::string& member_id);

    // Persistence
    void store_group(const group_ptr& group, const std::map<std::string, bytes>& assignment,
                     std::function<void(error_code)> done);
    struct commit_entry;
    void store_offsets(const group_ptr& group, const offset_commit_request& request,
                       std::vector<commit_entry> entries, offset_commit_callback done);
    /// Drops `removed` offsets of `group` and, if the group is now Empty without offsets, the group
    /// itself; appends the tombstones. Kafka's cleanupGroupMetadata.
    void cleanup_group_metadata(const group_ptr& group,
                                const std::vector<offset_commit_key>& removed);
    void on_group_loaded(const group_ptr& group);
    void on_group_unloaded(classic_group& group);
    void schedule_expiry();

    coordinator_config config_;
    scheduler& scheduler_;
    offsets_log& log_;
    bool active_ = true;
    std::set<int32_t> owned_;
    std::set<int32_t> loading_;
    struct loading_state;
    std::map<int32_t, std::unique_ptr<loading_state>> staging_;
    std::map<std::string, group_ptr, std::less<>> groups_;
    timer_id expiry_timer_ = 0;
    /// Expires when the coordinator is destroyed, so late log completions are ignored.
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
    std::mt19937_64 random_;
};

}  // namespace broker::server::coordinator
