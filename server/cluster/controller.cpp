// The controller (see controller.h): Kafka's ZooKeeper-mode KafkaController with its partition
// and replica state machines folded into one event loop.
//
// Shape:
//   - run() owns one coroutine that takes events from a queue and handles them one at a time.
//     Watch callbacks only append to the queue (through a weak pointer, so a watch that fires
//     after the controller is gone does nothing) and wake the loop; the queue's wake-up is a
//     steady_timer set to "never" and cancelled by each append (Boost 1.74 has no channel).
//   - While not active the only events that matter are changes of /controller: the loop keeps one
//     exists watch armed on it and contends whenever it is missing.
//   - Becoming active bumps /controller_epoch with a conditional set; its new znode version
//     fences every later write: each is a multi that starts with a check of that version, so a
//     controller whose epoch was bumped behind its back (another controller won) writes nothing
//     and resigns.
//   - Every activation starts a new generation; the watches armed while active carry it, and an
//     event from an older generation (a watch armed before a resignation) is dropped.
//
// Simplifications against Kafka:
//   - no partition reassignment, no controlled shutdown, no ISR change notifications, no log dir
//     events, no preferred replica election requests from /admin: the events are broker changes,
//     topic changes, partition additions, topic deletions, /controller changes, the rebalance
//     tick and the session's end;
//   - a partition state write is retried once after a bad version (re-read, recompute), where
//     Kafka retries until it sticks;
//   - topic deletion does not wait for replicas on dead brokers: StopReplica goes to the live
//     replicas, then the topic's znodes are deleted at once. A broker that was down keeps the
//     topic's directories until it cleans up what no LeaderAndIsr names (Kafka instead keeps the
//     topic queued until every replica confirmed the deletion);
//   - an unclean election keeps the leader recovery state as it was (Kafka marks it RECOVERING
//     until the new leader reports through AlterPartition, which this controller does not serve);
//   - in-sync set changes a leader writes to a state node are picked up when the controller next
//     changes that partition (every change reads the node first), not announced to the other
//     brokers as Kafka's ISR change notifications are.
#include "server/cluster/controller.h"

#include <algorithm>
#include <cctype>
#include <deque>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "protocol/wire.h"
#include "server/cluster/assignment.h"
#include "server/logging.h"
#include "zk/znodes.h"

namespace broker::server::cluster {

namespace znodes = zk::znodes;
using namespace std::chrono_literals;

namespace {

/// Kafka's LeaderAndIsr.NoLeader, LeaderDuringDelete and EpochDuringDelete.
constexpr int32_t no_leader = -1;
constexpr int32_t leader_during_delete = -2;
constexpr int32_t epoch_during_delete = -2;
/// AbstractControlRequest.Type: 0 is what a ZooKeeper-mode controller sends (UNKNOWN), 2 is
/// FULL (the request names every partition the broker hosts). INCREMENTAL (1) is never sent.
constexpr int8_t request_type_unknown = 0;
constexpr int8_t request_type_full = 2;
/// How long a ZooKeeper operation that met a lost connection waits before it is retried.
constexpr auto connection_retry_backoff = 100ms;
/// Ops per multi when a topic's subtree is deleted (a multi is one ZooKeeper request, bounded by
/// jute.maxbuffer).
constexpr std::size_t max_ops_per_multi = 500;

constexpr std::string_view unclean_leader_election_key = "unclean.leader.election.enable";

using partition_key = std::pair<std::string, int32_t>;

bool contains(const std::vector<int32_t>& ids, int32_t id) {
    return std::find(ids.begin(), ids.end(), id) != ids.end();
}

int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

/// SecurityProtocol ids (org.apache.kafka.common.security.auth.SecurityProtocol).
int16_t security_protocol_id(std::string_view name) {
    if (name == "SSL") {
        return 1;
    }
    if (name == "SASL_PLAINTEXT") {
        return 2;
    }
    if (name == "SASL_SSL") {
        return 3;
    }
    return 0;  // PLAINTEXT
}

/// Kafka's boolean config parsing: "true"/"false", any case, surrounding blanks ignored.
std::optional<bool> parse_bool(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
        text.remove_prefix(1);
    }
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) {
        text.remove_suffix(1);
    }
    std::string lower(text);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (lower == "true") {
        return true;
    }
    if (lower == "false") {
        return false;
    }
    return std::nullopt;
}

/// Removes `dead` from `isr` one broker at a time, never emptying it (Kafka's
/// removeReplicasFromIsr keeps the last member so the partition remembers who was in sync).
std::vector<int32_t> shrink_isr(std::vector<int32_t> isr, const std::set<int32_t>& dead) {
    for (int32_t id : dead) {
        if (isr.size() > 1 && contains(isr, id)) {
            isr.erase(std::remove(isr.begin(), isr.end(), id), isr.end());
        }
    }
    return isr;
}

std::optional<int32_t> parse_broker_id(const std::string& name) {
    if (name.empty() || name.size() > 10) {
        return std::nullopt;
    }
    int64_t value = 0;
    for (char c : name) {
        if (c < '0' || c > '9') {
            return std::nullopt;
        }
        value = value * 10 + (c - '0');
    }
    if (value > std::numeric_limits<int32_t>::max()) {
        return std::nullopt;
    }
    return static_cast<int32_t>(value);
}

}  // namespace

struct controller::impl {
    enum class event_kind {
        controller_change,       // /controller created, changed or deleted (or: contend again)
        broker_change,           // children of /brokers/ids
        topic_change,            // children of /brokers/topics
        partition_modification,  // data of /brokers/topics/<topic>
        topic_deletion,          // children of /admin/delete_topics
        rebalance,               // the auto leader rebalance tick
        session_expired,         // the session ended (every armed watch reports it)
    };
    struct event {
        event_kind kind = event_kind::controller_change;
        std::string topic;
        uint64_t generation = 0;
    };

    // The queue, shared with the watch callbacks through weak pointers.
    struct mailbox {
        explicit mailbox(const net::any_io_executor& executor) : signal(executor) {}
        void push(event e) {
            queue.push_back(std::move(e));
            signal.cancel();
        }
        std::deque<event> queue;
        net::steady_timer signal;
        // An exists watch on /controller is armed (one at a time: a fired one is re-armed by the
        // event it queued).
        bool controller_watch_armed = false;
    };

    struct live_broker {
        znodes::broker_registration registration;
        int64_t epoch = 0;  // the czxid of its /brokers/ids node
    };
    struct partition_info {
        std::vector<int32_t> replicas;
        // The state node's content and version; nullopt while the partition has no state node
        // (Kafka's NewPartition: no replica was live when it was created).
        std::optional<znodes::partition_state> state;
        int32_t zk_version = 0;
    };
    struct topic_info {
        protocol::uuid id;
        std::map<int32_t, partition_info> partitions;
    };
    // What a handler changed, to be told to the brokers.
    struct changes {
        std::vector<partition_key> partitions;  // state written (new or changed)
        std::set<partition_key> fresh;          // of those, the ones just created (is_new)
    };
    using state_change = std::function<std::optional<znodes::partition_state>(
        const partition_info&, const znodes::partition_state&)>;

    enum class write_status { ok, fenced, failed };
    struct write_result {
        write_status status = write_status::failed;
        zk::error_code error = zk::error_code::ok;
        std::vector<zk::op_result> results;  // one per op the caller passed (the check excluded)
    };

    impl(zk::client& zk, controller_channel& channel, controller_settings settings)
        : zk_(zk),
          channel_(channel),
          settings_(std::move(settings)),
          mailbox_(std::make_shared<mailbox>(zk.get_executor())) {}

    // ---- the event loop

    net::awaitable<void> run() {
        if (ran_) {
            co_return;
        }
        ran_ = true;
        const auto box = mailbox_;
        box->push({event_kind::controller_change, {}, 0});
        while (!stopping_ && !expired_) {
            if (zk_.state() == zk::session_state::expired) {
                expired_ = true;
                break;
            }
            if (box->queue.empty()) {
                auto waited = wait_for_event();
                co_await std::move(waited);
                continue;
            }
            event next = std::move(box->queue.front());
            box->queue.pop_front();
            unclean_cache_.clear();
            try {
                auto handled = handle(next);
                co_await std::move(handled);
            } catch (const std::exception& e) {
                BROKER_LOG_ERROR("controller " << settings_.broker_id
                                               << ": event handling failed: " << e.what());
            }
            if (fenced_ && active_) {
                resign("a write was fenced: another controller bumped the controller epoch");
                // Contend again: a /controller left by this session is removed first.
                box->push({event_kind::controller_change, {}, 0});
            }
        }
        resign(expired_ ? "the ZooKeeper session expired" : "stopping");
        if (!expired_ && zk_.state() == zk::session_state::connected) {
            auto removed = release_controller_node();
            co_await std::move(removed);
        }
    }

    net::awaitable<void> wait_for_event() {
        auto& timer = mailbox_->signal;
        const bool rebalancing = active_ && settings_.auto_leader_rebalance_enable;
        timer.expires_at(rebalancing ? next_rebalance_ : net::steady_timer::time_point::max());
        boost::system::error_code ec;
        auto waited = timer.async_wait(net::redirect_error(net::use_awaitable, ec));
        co_await std::move(waited);
        if (rebalancing && active_ && std::chrono::steady_clock::now() >= next_rebalance_) {
            next_rebalance_ =
                std::chrono::steady_clock::now() + settings_.leader_imbalance_check_interval;
            mailbox_->push({event_kind::rebalance, {}, generation_});
        }
    }

    net::awaitable<void> handle(event e) {
        if (e.kind == event_kind::session_expired) {
            expired_ = true;
            co_return;
        }
        if (e.kind == event_kind::controller_change) {
            auto changed = on_controller_change();
            co_await std::move(changed);
            co_return;
        }
        if (!active_ || e.generation != generation_) {
            co_return;  // a watch of an earlier term
        }
        switch (e.kind) {
            case event_kind::broker_change: {
                auto handled = on_broker_change();
                co_await std::move(handled);
                break;
            }
            case event_kind::topic_change: {
                auto handled = on_topic_change();
                co_await std::move(handled);
                break;
            }
            case event_kind::partition_modification: {
                auto handled = on_partition_modification(e.topic);
                co_await std::move(handled);
                break;
            }
            case event_kind::topic_deletion: {
                auto handled = on_topic_deletion();
                co_await std::move(handled);
                break;
            }
            case event_kind::rebalance: {
                auto handled = on_rebalance();
                co_await std::move(handled);
                break;
            }
            default: break;
        }
    }

    zk::watch_callback watch_for(event_kind kind, std::string topic = {}) {
        std::weak_ptr<mailbox> weak = mailbox_;
        const uint64_t generation = generation_;
        return [weak, kind, topic = std::move(topic), generation](zk::watch_event what,
                                                                  const std::string&) {
            const auto box = weak.lock();
            if (!box) {
                return;
            }
            if (kind == event_kind::controller_change) {
                box->controller_watch_armed = false;
            }
            if (what == zk::watch_event::session_expired) {
                box->push({event_kind::session_expired, {}, 0});
                return;
            }
            box->push({kind, topic, generation});
        };
    }

    // ---- ZooKeeper operations: a lost connection is waited out (the client reconnects within
    // the session timeout), as Kafka's retryRequestsUntilConnected does; an expired session ends
    // the loop.

    net::awaitable<bool> retry_after(zk::error_code error) {
        if (error == zk::error_code::session_expired || error == zk::error_code::closing ||
            zk_.state() == zk::session_state::expired) {
            expired_ = true;
            co_return false;
        }
        if (error != zk::error_code::connection_loss &&
            error != zk::error_code::operation_timeout) {
            co_return false;
        }
        if (stopping_) {
            co_return false;
        }
        net::steady_timer backoff(zk_.get_executor());
        backoff.expires_after(connection_retry_backoff);
        boost::system::error_code ec;
        auto waited = backoff.async_wait(net::redirect_error(net::use_awaitable, ec));
        co_await std::move(waited);
        co_return !stopping_ && zk_.state() != zk::session_state::expired;
    }

    // Coroutine parameters are values: a reference would outlive a caller's temporary.
    net::awaitable<zk::result<zk::node>> get(std::string path, zk::watch_callback watch = {}) {
        while (true) {
            auto op = zk_.get(path, watch);
            auto r = co_await std::move(op);
            auto again = retry_after(r.error);
            if (r.ok() || !co_await std::move(again)) {
                co_return r;
            }
        }
    }

    net::awaitable<zk::result<std::vector<std::string>>> children(std::string path,
                                                                  zk::watch_callback watch = {}) {
        while (true) {
            auto op = zk_.children(path, watch);
            auto r = co_await std::move(op);
            auto again = retry_after(r.error);
            if (r.ok() || !co_await std::move(again)) {
                co_return r;
            }
        }
    }

    net::awaitable<zk::result<zk::stat>> exists(std::string path, zk::watch_callback watch = {}) {
        while (true) {
            auto op = zk_.exists(path, watch);
            auto r = co_await std::move(op);
            auto again = retry_after(r.error);
            if (r.ok() || !co_await std::move(again)) {
                co_return r;
            }
        }
    }

    net::awaitable<zk::result<std::string>> create(std::string path, std::string data,
                                                   zk::create_mode mode) {
        while (true) {
            auto op = zk_.create(path, data, mode);
            auto r = co_await std::move(op);
            auto again = retry_after(r.error);
            if (r.ok() || !co_await std::move(again)) {
                co_return r;
            }
        }
    }

    net::awaitable<zk::result<zk::stat>> set(std::string path, std::string data, int32_t version) {
        while (true) {
            auto op = zk_.set(path, data, version);
            auto r = co_await std::move(op);
            auto again = retry_after(r.error);
            if (r.ok() || !co_await std::move(again)) {
                co_return r;
            }
        }
    }

    net::awaitable<zk::result<zk::none>> erase(std::string path, int32_t version) {
        while (true) {
            auto op = zk_.erase(path, version);
            auto r = co_await std::move(op);
            auto again = retry_after(r.error);
            if (r.ok() || !co_await std::move(again)) {
                co_return r;
            }
        }
    }

    /// Applies `ops` after a check of /controller_epoch's version. A failed check means another
    /// controller bumped the epoch: the write is fenced and the controller resigns after the
    /// current event.
    net::awaitable<write_result> fenced_write(std::vector<zk::op> ops) {
        write_result out;
        if (!active_ || fenced_) {
            out.status = write_status::fenced;
            co_return out;
        }
        std::vector<zk::op> all;
        all.reserve(ops.size() + 1);
        all.push_back(zk::op::check(std::string(znodes::controller_epoch_path), epoch_zk_version_));
        for (auto& o : ops) {
            all.push_back(std::move(o));
        }
        zk::result<std::vector<zk::op_result>> r;
        while (true) {
            auto op = zk_.multi(all);
            auto answered = co_await std::move(op);
            r = std::move(answered);
            auto again = retry_after(r.error);
            if (r.ok() || !co_await std::move(again)) {
                break;
            }
        }
        out.error = r.error;
        if (!r.value.empty()) {
            out.results.assign(std::next(r.value.begin()), r.value.end());
        }
        if (r.ok()) {
            out.status = write_status::ok;
            co_return out;
        }
        const zk::error_code check = r.value.empty() ? zk::error_code::ok : r.value.front().error;
        if (check == zk::error_code::bad_version || check == zk::error_code::no_node) {
            BROKER_LOG_WARN("controller " << settings_.broker_id << ": epoch " << epoch_
                                          << " is fenced (/controller_epoch moved on)");
            fenced_ = true;
            out.status = write_status::fenced;
            co_return out;
        }
        out.status = write_status::failed;
        co_return out;
    }

    /// The error of the caller's op at `index` in a failed write (ok when another op failed).
    static zk::error_code op_error(const write_result& w, std::size_t index) {
        return index < w.results.size() ? w.results[index].error : w.error;
    }

    // ---- contending for /controller

    void set_controller_id(int32_t id) {
        if (id == controller_id_) {
            return;
        }
        controller_id_ = id;
        if (on_change_) {
            on_change_(id);
        }
    }

    net::awaitable<void> on_controller_change() {
        const std::string path(znodes::controller_path);
        zk::watch_callback watch;
        if (!mailbox_->controller_watch_armed) {
            watch = watch_for(event_kind::controller_change);
        }
        auto looked = exists(path, watch);
        const auto st = co_await std::move(looked);
        if (watch && (st.ok() || st.error == zk::error_code::no_node)) {
            mailbox_->controller_watch_armed = true;
        }
        if (expired_ || stopping_) {
            co_return;
        }
        if (st.error == zk::error_code::no_node) {
            if (active_) {
                resign("/controller was deleted");
            }
            set_controller_id(-1);
            auto elected = try_elect();
            co_await std::move(elected);
            co_return;
        }
        if (!st.ok()) {
            BROKER_LOG_WARN("controller " << settings_.broker_id
                                          << ": reading /controller: " << zk::to_string(st.error));
            co_return;
        }
        auto read = get(path);
        const auto node = co_await std::move(read);
        if (node.error == zk::error_code::no_node) {
            mailbox_->push({event_kind::controller_change, {}, 0});
            co_return;
        }
        if (!node.ok()) {
            co_return;
        }
        const auto registration = znodes::decode_controller(node.value.data);
        const int32_t id = registration ? registration->broker_id : -1;
        set_controller_id(id);
        if (active_ && id != settings_.broker_id) {
            resign("/controller names broker " + std::to_string(id));
            co_return;
        }
        if (!active_ && id == settings_.broker_id &&
            node.value.stat.ephemeral_owner == zk_.session_id()) {
            // This session holds /controller without being active: an activation failed or a
            // write was fenced. Release it so that a fresh election reads the current epoch; the
            // armed watch brings the deletion back here.
            auto erased = erase(path, node.value.stat.version);
            co_await std::move(erased);
        }
    }

    net::awaitable<void> try_elect() {
        const std::string path(znodes::controller_path);
        const std::string data = znodes::encode_controller({settings_.broker_id, now_ms()});
        auto made = create(path, data, zk::create_mode::ephemeral);
        const auto created = co_await std::move(made);
        if (created.ok()) {
            auto activated = become_active();
            co_await std::move(activated);
            co_return;
        }
        if (created.error != zk::error_code::node_exists) {
            if (!expired_) {
                BROKER_LOG_ERROR("controller " << settings_.broker_id
                                               << ": creating /controller failed: "
                                               << zk::to_string(created.error));
            }
            co_return;
        }
        auto read = get(path);
        const auto node = co_await std::move(read);
        if (node.ok()) {
            const auto registration = znodes::decode_controller(node.value.data);
            set_controller_id(registration ? registration->broker_id : -1);
        }
    }

    /// Bumps /controller_epoch (created at 0 when missing, as Kafka creates it) with a
    /// conditional set; true with epoch_ and epoch_zk_version_ set.
    net::awaitable<bool> bump_epoch() {
        const std::string path(znodes::controller_epoch_path);
        for (int attempt = 0; attempt < 5 && !expired_ && !stopping_; ++attempt) {
            auto read = get(path);
            const auto node = co_await std::move(read);
            if (node.error == zk::error_code::no_node) {
                const std::string initial = znodes::encode_controller_epoch(0);
                auto made = create(path, initial, zk::create_mode::persistent);
                const auto created = co_await std::move(made);
                if (!created.ok() && created.error != zk::error_code::node_exists) {
                    co_return false;
                }
                continue;
            }
            if (!node.ok()) {
                co_return false;
            }
            const auto current = znodes::decode_controller_epoch(node.value.data);
            if (!current) {
                BROKER_LOG_ERROR("controller " << settings_.broker_id
                                               << ": /controller_epoch is not a number");
                co_return false;
            }
            const std::string next = znodes::encode_controller_epoch(*current + 1);
            auto written = set(path, next, node.value.stat.version);
            const auto stat = co_await std::move(written);
            if (stat.ok()) {
                epoch_ = *current + 1;
                epoch_zk_version_ = stat.value.version;
                co_return true;
            }
            if (stat.error != zk::error_code::bad_version) {
                co_return false;
            }
        }
        co_return false;
    }

    net::awaitable<void> become_active() {
        auto bumped = bump_epoch();
        if (!co_await std::move(bumped)) {
            if (!expired_ && !stopping_) {
                BROKER_LOG_ERROR("controller " << settings_.broker_id
                                               << ": could not bump /controller_epoch");
                auto released = release_controller_node();
                co_await std::move(released);
            }
            co_return;
        }
        active_ = true;
        fenced_ = false;
        ++generation_;
        next_rebalance_ =
            std::chrono::steady_clock::now() + settings_.leader_imbalance_check_interval;
        set_controller_id(settings_.broker_id);
        BROKER_LOG_INFO("controller " << settings_.broker_id << ": active with epoch " << epoch_);

        auto loaded = load_cluster();
        co_await std::move(loaded);
        if (!active_ || fenced_ || expired_) {
            co_return;
        }
        for (const auto& [id, broker] : live_) {
            add_to_channel(id);
        }
        // New partitions get their first leader; partitions whose leader is gone get a new one,
        // and brokers that died while nobody was controller leave the in-sync sets.
        std::vector<partition_key> fresh;
        std::vector<partition_key> offline;
        std::set<int32_t> dead;
        for (const auto& [name, topic] : topics_) {
            for (const auto& [p, info] : topic.partitions) {
                if (!info.state) {
                    fresh.emplace_back(name, p);
                    continue;
                }
                bool hosts_dead = false;
                for (int32_t id : info.replicas) {
                    if (!is_live(id)) {
                        dead.insert(id);
                        hosts_dead = true;
                    }
                }
                if (hosts_dead || !is_live(info.state->leader)) {
                    offline.emplace_back(name, p);
                }
            }
        }
        changes changed;
        auto created = elect_partitions(fresh, changed);
        co_await std::move(created);
        auto repaired = handle_offline_replicas(offline, dead, changed);
        co_await std::move(repaired);
        if (!active_ || fenced_) {
            co_return;
        }
        // The full state to every live broker.
        const auto all = all_partitions();
        for (const auto& [id, broker] : live_) {
            send_update_metadata(id, all);
        }
        for (const auto& [id, broker] : live_) {
            send_leader_and_isr(id, partitions_of(id, all), changed.fresh, true);
        }
        auto deletions = on_topic_deletion();
        co_await std::move(deletions);
    }

    void resign(const std::string& reason) {
        if (!active_) {
            return;
        }
        BROKER_LOG_INFO("controller " << settings_.broker_id << ": resigning (epoch " << epoch_
                                      << "): " << reason);
        active_ = false;
        ++generation_;
        for (int32_t id : channel_brokers_) {
            channel_.remove_broker(id);
        }
        channel_brokers_.clear();
        live_.clear();
        topics_.clear();
    }

    /// Deletes /controller when this session holds it.
    net::awaitable<void> release_controller_node() {
        const std::string path(znodes::controller_path);
        auto op = zk_.get(path);
        const auto node = co_await std::move(op);
        if (node.ok() && node.value.stat.ephemeral_owner == zk_.session_id() &&
            zk_.session_id() != 0) {
            auto erased = zk_.erase(path, node.value.stat.version);
            co_await std::move(erased);
        }
    }

    // ---- reading the cluster

    net::awaitable<void> ensure_path(std::string path) {
        // Persistent parents with null data, as the brokers create them at start.
        std::string prefix;
        std::size_t at = 0;
        while (at != std::string::npos) {
            at = path.find('/', at + 1);
            prefix = path.substr(0, at);
            auto made = create(prefix, {}, zk::create_mode::persistent);
            const auto created = co_await std::move(made);
            if (!created.ok() && created.error != zk::error_code::node_exists) {
                co_return;
            }
        }
    }

    /// Children with a watch; a missing parent is created first (brokers create these paths at
    /// start; a controller that runs first must still watch them).
    net::awaitable<zk::result<std::vector<std::string>>> watched_children(std::string path,
                                                                          event_kind kind) {
        auto first = children(path, watch_for(kind));
        auto r = co_await std::move(first);
        if (r.error == zk::error_code::no_node) {
            auto made = ensure_path(path);
            co_await std::move(made);
            auto second = children(path, watch_for(kind));
            auto answered = co_await std::move(second);
            r = std::move(answered);
        }
        co_return r;
    }

    net::awaitable<std::map<int32_t, live_broker>> read_brokers() {
        std::map<int32_t, live_broker> out;
        auto listed =
            watched_children(std::string(znodes::broker_ids_path), event_kind::broker_change);
        const auto names = co_await std::move(listed);
        if (!names.ok()) {
            co_return out;
        }
        for (const auto& name : names.value) {
            const auto id = parse_broker_id(name);
            if (!id) {
                continue;
            }
            auto read = get(znodes::broker_path(*id));
            const auto node = co_await std::move(read);
            if (!node.ok()) {
                continue;  // gone since the listing: the next broker change sees it
            }
            auto registration = znodes::decode_broker(*id, node.value.data);
            if (!registration) {
                BROKER_LOG_ERROR("controller " << settings_.broker_id << ": broker " << *id
                                               << " has an unreadable registration");
                continue;
            }
            out[*id] = live_broker{std::move(*registration), node.value.stat.czxid};
        }
        co_return out;
    }

    /// Reads a topic's assignment (arming its data watch) and the state of each partition.
    net::awaitable<std::optional<topic_info>> read_topic(std::string name) {
        auto read =
            get(znodes::topic_path(name), watch_for(event_kind::partition_modification, name));
        const auto node = co_await std::move(read);
        if (!node.ok()) {
            co_return std::nullopt;
        }
        const auto assignment = znodes::decode_topic(node.value.data);
        if (!assignment) {
            BROKER_LOG_ERROR("controller " << settings_.broker_id << ": topic " << name
                                           << " has an unreadable assignment");
            co_return std::nullopt;
        }
        topic_info topic;
        if (auto id = protocol::uuid::from_string(assignment->topic_id)) {
            topic.id = *id;
        }
        for (const auto& [p, replicas] : assignment->partitions) {
            partition_info info;
            info.replicas = replicas;
            auto state = read_state(name, p);
            auto [decoded, version] = co_await std::move(state);
            info.state = std::move(decoded);
            info.zk_version = version;
            topic.partitions.emplace(p, std::move(info));
        }
        co_return topic;
    }

    net::awaitable<std::pair<std::optional<znodes::partition_state>, int32_t>> read_state(
        std::string topic, int32_t partition) {
        auto read = get(znodes::partition_state_path(topic, partition));
        const auto node = co_await std::move(read);
        if (!node.ok()) {
            co_return std::pair<std::optional<znodes::partition_state>, int32_t>{std::nullopt, 0};
        }
        auto state = znodes::decode_partition_state(node.value.data);
        if (!state) {
            BROKER_LOG_ERROR("controller " << settings_.broker_id << ": " << topic << "-"
                                           << partition << " has an unreadable state node");
        }
        co_return std::pair<std::optional<znodes::partition_state>, int32_t>{
            std::move(state), node.value.stat.version};
    }

    net::awaitable<void> load_cluster() {
        live_.clear();
        topics_.clear();
        auto brokers = read_brokers();
        auto brokers_read = co_await std::move(brokers);
        live_ = std::move(brokers_read);
        auto listed = watched_children(std::string(znodes::topics_path), event_kind::topic_change);
        const auto names = co_await std::move(listed);
        if (!names.ok()) {
            co_return;
        }
        for (const auto& name : names.value) {
            auto read = read_topic(name);
            auto topic = co_await std::move(read);
            if (topic) {
                topics_.emplace(name, std::move(*topic));
            }
        }
    }

    // ---- helpers over the state

    bool is_live(int32_t id) const { return id >= 0 && live_.count(id) != 0; }

    std::vector<int32_t> live_ids() const {
        std::vector<int32_t> out;
        for (const auto& [id, broker] : live_) {
            out.push_back(id);
        }
        return out;
    }

    partition_info* find(const partition_key& key) {
        auto topic = topics_.find(key.first);
        if (topic == topics_.end()) {
            return nullptr;
        }
        auto partition = topic->second.partitions.find(key.second);
        return partition == topic->second.partitions.end() ? nullptr : &partition->second;
    }

    std::vector<partition_key> all_partitions() const {
        std::vector<partition_key> out;
        for (const auto& [name, topic] : topics_) {
            for (const auto& [p, info] : topic.partitions) {
                out.emplace_back(name, p);
            }
        }
        return out;
    }

    std::vector<partition_key> partitions_of(int32_t broker,
                                             const std::vector<partition_key>& keys) {
        std::vector<partition_key> out;
        for (const auto& key : keys) {
            const auto* info = find(key);
            if (info && contains(info->replicas, broker)) {
                out.push_back(key);
            }
        }
        return out;
    }

    const znodes::endpoint* inter_broker_endpoint(const live_broker& broker) const {
        for (const auto& e : broker.registration.endpoints) {
            if (e.listener == settings_.inter_broker_listener) {
                return &e;
            }
        }
        return nullptr;
    }

    void add_to_channel(int32_t id) {
        const auto it = live_.find(id);
        if (it == live_.end()) {
            return;
        }
        const auto* endpoint = inter_broker_endpoint(it->second);
        if (!endpoint) {
            BROKER_LOG_ERROR("controller " << settings_.broker_id << ": broker " << id << " has no "
                                           << settings_.inter_broker_listener
                                           << " endpoint; it gets no requests");
            return;
        }
        channel_.add_broker({id, endpoint->host, static_cast<uint16_t>(endpoint->port)});
        channel_brokers_.insert(id);
    }

    void remove_from_channel(int32_t id) {
        if (channel_brokers_.erase(id) != 0) {
            channel_.remove_broker(id);
        }
    }

    /// unclean.leader.election.enable for a topic: its override in /config/topics/<t>, else the
    /// broker default. Read once per event.
    net::awaitable<bool> unclean_enabled(std::string topic) {
        if (const auto it = unclean_cache_.find(topic); it != unclean_cache_.end()) {
            co_return it->second;
        }
        bool enabled = settings_.unclean_leader_election_enable;
        auto read = get(znodes::config_topic_path(topic));
        const auto node = co_await std::move(read);
        if (node.ok()) {
            if (const auto config = znodes::decode_config(node.value.data)) {
                const auto it = config->find(std::string(unclean_leader_election_key));
                if (it != config->end()) {
                    if (const auto value = parse_bool(it->second)) {
                        enabled = *value;
                    }
                }
            }
        }
        unclean_cache_[topic] = enabled;
        co_return enabled;
    }

    // ---- writing partition state

    /// Writes the state `change` computes from the partition's current one, conditional on the
    /// state node's version. The node is read first, as Kafka's elections read it: leaders change
    /// their in-sync set in it without telling the controller. After a bad version (written again
    /// meanwhile) it is read and `change` runs again, once. True when a new state was written.
    net::awaitable<bool> update_state(partition_key key, state_change change) {
        for (int attempt = 0; attempt < 2; ++attempt) {
            auto read = read_state(key.first, key.second);
            auto [state, version] = co_await std::move(read);
            partition_info* info = find(key);
            if (!info || !state || !active_) {
                co_return false;
            }
            info->state = std::move(state);
            info->zk_version = version;
            auto next = change(*info, *info->state);
            if (!next) {
                co_return false;
            }
            next->controller_epoch = epoch_;
            const std::string path = znodes::partition_state_path(key.first, key.second);
            std::vector<zk::op> ops{
                zk::op::set(path, znodes::encode_partition_state(*next), info->zk_version)};
            auto write = fenced_write(std::move(ops));
            const auto written = co_await std::move(write);
            if (written.status == write_status::ok) {
                if (auto* current = find(key)) {
                    current->state = std::move(*next);
                    current->zk_version = written.results.at(0).stat.version;
                }
                co_return true;
            }
            if (written.status == write_status::fenced) {
                co_return false;
            }
            if (op_error(written, 0) != zk::error_code::bad_version) {
                BROKER_LOG_ERROR("controller " << settings_.broker_id << ": writing the state of "
                                               << key.first << "-" << key.second << ": "
                                               << zk::to_string(written.error));
                co_return false;
            }
        }
        co_return false;
    }

    /// Creates the state node of a partition that has none: leader = the first live replica,
    /// isr = the live replicas. No live replica: the partition stays without state.
    net::awaitable<void> create_state(partition_key key, changes& out) {
        const partition_info* info = find(key);
        if (!info || info->state) {
            co_return;
        }
        std::vector<int32_t> live;
        for (int32_t id : info->replicas) {
            if (is_live(id)) {
                live.push_back(id);
            }
        }
        if (live.empty()) {
            BROKER_LOG_WARN("controller " << settings_.broker_id << ": no replica of " << key.first
                                          << "-" << key.second << " is live; it stays offline");
            co_return;
        }
        znodes::partition_state state;
        state.leader = live.front();
        state.leader_epoch = 0;
        state.isr = live;
        state.controller_epoch = epoch_;
        const std::string encoded = znodes::encode_partition_state(state);
        const std::string partition_path = znodes::partition_path(key.first, key.second);
        const std::string state_path = znodes::partition_state_path(key.first, key.second);

        // The partition node and its state in one write; the topic's `partitions` node too when
        // it is missing (the first partition), the state alone when the partition node exists.
        std::vector<zk::op> ops{zk::op::create(partition_path),
                                zk::op::create(state_path, encoded)};
        auto write = fenced_write(std::move(ops));
        auto written = co_await std::move(write);
        if (written.status == write_status::failed &&
            op_error(written, 0) == zk::error_code::no_node) {
            std::vector<zk::op> with_parent{zk::op::create(znodes::partitions_path(key.first)),
                                            zk::op::create(partition_path),
                                            zk::op::create(state_path, encoded)};
            auto again = fenced_write(std::move(with_parent));
            auto retried = co_await std::move(again);
            written = std::move(retried);
        } else if (written.status == write_status::failed &&
                   op_error(written, 0) == zk::error_code::node_exists) {
            std::vector<zk::op> only{zk::op::create(state_path, encoded)};
            auto again = fenced_write(std::move(only));
            auto retried = co_await std::move(again);
            written = std::move(retried);
        }
        if (written.status == write_status::ok) {
            if (auto* current = find(key)) {
                current->state = std::move(state);
                current->zk_version = 0;
                out.partitions.push_back(key);
                out.fresh.insert(key);
            }
            co_return;
        }
        if (written.status == write_status::fenced) {
            co_return;
        }
        const bool exists_already = std::any_of(
            written.results.begin(), written.results.end(),
            [](const zk::op_result& r) { return r.error == zk::error_code::node_exists; });
        if (exists_already) {
            // A state node written by an earlier controller: adopt it.
            auto read = read_state(key.first, key.second);
            auto [existing, version] = co_await std::move(read);
            if (auto* current = find(key); current && existing) {
                current->state = std::move(existing);
                current->zk_version = version;
            }
            co_return;
        }
        BROKER_LOG_ERROR("controller " << settings_.broker_id << ": creating the state of "
                                       << key.first << "-" << key.second << ": "
                                       << zk::to_string(written.error));
    }

    /// The offline election of a partition whose leader is not live (Kafka's
    /// OfflinePartitionLeaderElectionStrategy): nullopt when the leader is live or nobody is
    /// eligible.
    std::optional<znodes::partition_state> offline_election(const partition_info& info,
                                                            const znodes::partition_state& current,
                                                            bool unclean) {
        if (is_live(current.leader)) {
            return std::nullopt;
        }
        const auto live = live_ids();
        const auto elected = elect_offline(info.replicas, current.isr, live, unclean);
        if (!elected) {
            return std::nullopt;
        }
        znodes::partition_state next = current;
        next.leader = elected->leader;
        if (contains(current.isr, elected->leader)) {
            next.isr.clear();
            for (int32_t id : current.isr) {
                if (is_live(id)) {
                    next.isr.push_back(id);
                }
            }
        } else {
            next.isr = {elected->leader};
        }
        next.leader_epoch = current.leader_epoch + 1;
        return next;
    }

    /// New partitions get their first state; partitions with a state but no live leader get an
    /// offline election.
    net::awaitable<void> elect_partitions(std::vector<partition_key> keys, changes& out) {
        for (const auto& key : keys) {
            if (!active_ || fenced_ || expired_) {
                co_return;
            }
            const partition_info* info = find(key);
            if (!info) {
                continue;
            }
            if (!info->state) {
                auto created = create_state(key, out);
                co_await std::move(created);
                continue;
            }
            if (is_live(info->state->leader)) {
                continue;
            }
            auto read = unclean_enabled(key.first);
            const bool unclean = co_await std::move(read);
            auto updated = update_state(
                key, [this, unclean](const partition_info& i, const znodes::partition_state& s) {
                    return offline_election(i, s, unclean);
                });
            if (co_await std::move(updated)) {
                out.partitions.push_back(key);
                log_election(key);
            }
        }
    }

    void log_election(const partition_key& key) {
        if (const auto* info = find(key); info && info->state) {
            BROKER_LOG_INFO("controller " << settings_.broker_id << ": " << key.first << "-"
                                          << key.second << " leader " << info->state->leader
                                          << " epoch " << info->state->leader_epoch);
        }
    }

    // ---- requests to brokers

    protocol::update_metadata_request::update_metadata_partition_state metadata_state(
        int32_t partition, const partition_info& info) const {
        protocol::update_metadata_request::update_metadata_partition_state out;
        out.partition_index = partition;
        out.controller_epoch = info.state->controller_epoch;
        out.leader = info.state->leader;
        out.leader_epoch = info.state->leader_epoch;
        out.isr = info.state->isr;
        out.zk_version = info.zk_version;
        out.replicas = info.replicas;
        for (int32_t id : info.replicas) {
            if (!is_live(id)) {
                out.offline_replicas.push_back(id);
            }
        }
        return out;
    }

    std::vector<protocol::update_metadata_request::update_metadata_broker> live_brokers() const {
        std::vector<protocol::update_metadata_request::update_metadata_broker> out;
        for (const auto& [id, broker] : live_) {
            protocol::update_metadata_request::update_metadata_broker b;
            b.id = id;
            for (const auto& e : broker.registration.endpoints) {
                protocol::update_metadata_request::update_metadata_endpoint endpoint;
                endpoint.port = e.port;
                endpoint.host = e.host;
                endpoint.listener = e.listener;
                const auto& map = broker.registration.listener_security_protocol_map;
                const auto protocol = map.find(e.listener);
                endpoint.security_protocol =
                    security_protocol_id(protocol == map.end() ? e.listener : protocol->second);
                b.endpoints.push_back(std::move(endpoint));
            }
            b.rack = broker.registration.rack;
            out.push_back(std::move(b));
        }
        return out;
    }

    protocol::update_metadata_request update_metadata(const std::vector<partition_key>& keys) {
        protocol::update_metadata_request request;
        request.controller_id = settings_.broker_id;
        request.controller_epoch = epoch_;
        std::map<std::string, std::vector<int32_t>> by_topic;
        for (const auto& key : keys) {
            by_topic[key.first].push_back(key.second);
        }
        for (const auto& [name, partitions] : by_topic) {
            const auto topic = topics_.find(name);
            if (topic == topics_.end()) {
                continue;
            }
            protocol::update_metadata_request::update_metadata_topic_state state;
            state.topic_name = name;
            state.topic_id = topic->second.id;
            for (int32_t p : partitions) {
                const auto it = topic->second.partitions.find(p);
                if (it == topic->second.partitions.end() || !it->second.state) {
                    continue;  // no leader yet: brokers learn of it once it has one
                }
                state.partition_states.push_back(metadata_state(p, it->second));
            }
            if (!state.partition_states.empty()) {
                request.topic_states.push_back(std::move(state));
            }
        }
        request.live_brokers = live_brokers();
        return request;
    }

    void send_update_metadata(int32_t to, const std::vector<partition_key>& keys) {
        const auto it = live_.find(to);
        if (it == live_.end() || channel_brokers_.count(to) == 0) {
            return;
        }
        auto request = update_metadata(keys);
        request.broker_epoch = it->second.epoch;
        channel_.send(to, std::move(request));
    }

    void send_leader_and_isr(int32_t to, const std::vector<partition_key>& keys,
                             const std::set<partition_key>& fresh, bool full) {
        const auto target = live_.find(to);
        if (target == live_.end() || channel_brokers_.count(to) == 0) {
            return;
        }
        protocol::leader_and_isr_request request;
        request.controller_id = settings_.broker_id;
        request.controller_epoch = epoch_;
        request.broker_epoch = target->second.epoch;
        request.type = full ? request_type_full : request_type_unknown;
        std::set<int32_t> leaders;
        std::map<std::string, std::vector<int32_t>> by_topic;
        for (const auto& key : keys) {
            by_topic[key.first].push_back(key.second);
        }
        for (const auto& [name, partitions] : by_topic) {
            const auto topic = topics_.find(name);
            if (topic == topics_.end()) {
                continue;
            }
            protocol::leader_and_isr_request::leader_and_isr_topic_state state;
            state.topic_name = name;
            state.topic_id = topic->second.id;
            for (int32_t p : partitions) {
                const auto it = topic->second.partitions.find(p);
                if (it == topic->second.partitions.end() || !it->second.state) {
                    continue;
                }
                const auto& s = *it->second.state;
                protocol::leader_and_isr_request::leader_and_isr_partition_state ps;
                ps.partition_index = p;
                ps.controller_epoch = s.controller_epoch;
                ps.leader = s.leader;
                ps.leader_epoch = s.leader_epoch;
                ps.isr = s.isr;
                ps.partition_epoch = it->second.zk_version;
                ps.replicas = it->second.replicas;
                ps.is_new = fresh.count({name, p}) != 0;
                ps.leader_recovery_state = s.leader_recovery_state;
                state.partition_states.push_back(std::move(ps));
                if (s.leader >= 0) {
                    leaders.insert(s.leader);
                }
            }
            if (!state.partition_states.empty()) {
                request.topic_states.push_back(std::move(state));
            }
        }
        if (request.topic_states.empty() && !full) {
            return;
        }
        for (int32_t leader : leaders) {
            const auto broker = live_.find(leader);
            if (broker == live_.end()) {
                continue;
            }
            if (const auto* endpoint = inter_broker_endpoint(broker->second)) {
                protocol::leader_and_isr_request::leader_and_isr_live_leader live;
                live.broker_id = leader;
                live.host_name = endpoint->host;
                live.port = endpoint->port;
                request.live_leaders.push_back(std::move(live));
            }
        }
        channel_.send(to, std::move(request));
    }

    /// Tells the brokers about changed partitions, as Kafka's request batch does: LeaderAndIsr to
    /// each live replica of a changed partition, then UpdateMetadata for the changed partitions
    /// (and `metadata_only` ones) to every live broker.
    void send_changes(const changes& changed, const std::vector<partition_key>& metadata_only = {},
                      bool always_update_metadata = false) {
        for (const auto& [id, broker] : live_) {
            const auto mine = partitions_of(id, changed.partitions);
            if (!mine.empty()) {
                send_leader_and_isr(id, mine, changed.fresh, false);
            }
        }
        std::vector<partition_key> metadata = changed.partitions;
        for (const auto& key : metadata_only) {
            if (std::find(metadata.begin(), metadata.end(), key) == metadata.end()) {
                metadata.push_back(key);
            }
        }
        if (metadata.empty() && !always_update_metadata) {
            return;
        }
        for (const auto& [id, broker] : live_) {
            send_update_metadata(id, metadata);
        }
    }

    // ---- brokers

    net::awaitable<void> on_broker_change() {
        auto read = read_brokers();
        auto current = co_await std::move(read);
        if (!active_ || expired_) {
            co_return;
        }
        std::set<int32_t> dead;
        std::set<int32_t> fresh;
        for (const auto& [id, broker] : live_) {
            const auto now = current.find(id);
            if (now == current.end() || now->second.epoch != broker.epoch) {
                dead.insert(id);  // gone, or registered again (a new session): gone then back
            }
        }
        for (const auto& [id, broker] : current) {
            const auto before = live_.find(id);
            if (before == live_.end() || before->second.epoch != broker.epoch) {
                fresh.insert(id);
            }
        }
        if (!dead.empty()) {
            auto handled = on_brokers_gone(dead);
            co_await std::move(handled);
        }
        if (!fresh.empty() && active_ && !fenced_) {
            auto handled = on_brokers_new(fresh, current);
            co_await std::move(handled);
        }
    }

    /// Partitions with replicas on dead brokers (or with a leader that is not live): a dead
    /// leader is replaced by an offline election, or, with nobody eligible, the partition is left
    /// without a leader; dead brokers leave the in-sync set unless they are its last member
    /// (Kafka's OfflineReplica transition). Each change bumps the leader epoch.
    net::awaitable<void> handle_offline_replicas(std::vector<partition_key> keys,
                                                 std::set<int32_t> dead, changes& out) {
        for (const auto& key : keys) {
            if (!active_ || fenced_ || expired_) {
                co_return;
            }
            const partition_info* info = find(key);
            if (!info || !info->state) {
                continue;
            }
            bool unclean = false;
            if (!is_live(info->state->leader)) {
                auto read = unclean_enabled(key.first);
                unclean = co_await std::move(read);
            }
            // The state is read again before it changes (update_state): the in-sync set may have
            // moved since it was cached.
            auto updated =
                update_state(key,
                             [this, &dead, unclean](const partition_info& i,
                                                    const znodes::partition_state& current)
                                 -> std::optional<znodes::partition_state> {
                                 znodes::partition_state next = current;
                                 if (!is_live(current.leader)) {
                                     if (auto elected = offline_election(i, current, unclean)) {
                                         return elected;
                                     }
                                     next.leader = no_leader;
                                 }
                                 next.isr = shrink_isr(current.isr, dead);
                                 if (next.leader == current.leader && next.isr == current.isr) {
                                     return std::nullopt;
                                 }
                                 next.leader_epoch = current.leader_epoch + 1;
                                 return next;
                             });
            if (co_await std::move(updated)) {
                out.partitions.push_back(key);
                log_election(key);
            }
        }
    }

    net::awaitable<void> on_brokers_gone(std::set<int32_t> dead) {
        for (int32_t id : dead) {
            BROKER_LOG_INFO("controller " << settings_.broker_id << ": broker " << id
                                          << " is gone");
            live_.erase(id);
            remove_from_channel(id);
        }
        std::vector<partition_key> touched;  // a replica is dead: offline_replicas changed
        for (const auto& key : all_partitions()) {
            const partition_info* info = find(key);
            if (info && std::any_of(info->replicas.begin(), info->replicas.end(),
                                    [&](int32_t id) { return dead.count(id) != 0; })) {
                touched.push_back(key);
            }
        }
        changes changed;
        auto handled = handle_offline_replicas(touched, dead, changed);
        co_await std::move(handled);
        if (!active_ || fenced_) {
            co_return;
        }
        send_changes(changed, touched, true);
    }

    net::awaitable<void> on_brokers_new(std::set<int32_t> fresh,
                                        std::map<int32_t, live_broker> current) {
        for (int32_t id : fresh) {
            BROKER_LOG_INFO("controller " << settings_.broker_id << ": broker " << id
                                          << " is live");
            live_[id] = current.at(id);
            add_to_channel(id);
        }
        const auto all = all_partitions();
        std::vector<partition_key> hosted;  // partitions with a replica on a new broker
        for (const auto& key : all) {
            const auto* info = find(key);
            if (info && std::any_of(info->replicas.begin(), info->replicas.end(),
                                    [&](int32_t id) { return fresh.count(id) != 0; })) {
                hosted.push_back(key);
            }
        }
        for (const auto& [id, broker] : live_) {
            send_update_metadata(id, fresh.count(id) != 0 ? all : hosted);
        }
        for (int32_t id : fresh) {
            send_leader_and_isr(id, partitions_of(id, all), {}, true);
        }
        // Offline partitions (and partitions still without state) this broker makes electable.
        std::vector<partition_key> electable;
        for (const auto& key : hosted) {
            const auto* info = find(key);
            if (info && (!info->state || !is_live(info->state->leader))) {
                electable.push_back(key);
            }
        }
        changes changed;
        auto elected = elect_partitions(electable, changed);
        co_await std::move(elected);
        if (active_ && !fenced_) {
            send_changes(changed);
        }
    }

    // ---- topics

    net::awaitable<void> on_topic_change() {
        auto listed = watched_children(std::string(znodes::topics_path), event_kind::topic_change);
        const auto names = co_await std::move(listed);
        if (!names.ok() || !active_) {
            co_return;
        }
        const std::set<std::string> present(names.value.begin(), names.value.end());
        for (auto it = topics_.begin(); it != topics_.end();) {
            it = present.count(it->first) ? std::next(it) : topics_.erase(it);
        }
        changes changed;
        for (const auto& name : names.value) {
            if (topics_.count(name) != 0) {
                continue;
            }
            auto read = read_topic(name);
            auto topic = co_await std::move(read);
            if (!topic || !active_) {
                continue;
            }
            BROKER_LOG_INFO("controller " << settings_.broker_id << ": new topic " << name << " ("
                                          << topic->partitions.size() << " partitions)");
            std::vector<partition_key> keys;
            for (const auto& [p, info] : topic->partitions) {
                if (!info.state || !is_live(info.state->leader)) {
                    keys.emplace_back(name, p);
                }
            }
            topics_.emplace(name, std::move(*topic));
            auto elected = elect_partitions(keys, changed);
            co_await std::move(elected);
        }
        if (active_ && !fenced_) {
            send_changes(changed);
        }
    }

    net::awaitable<void> on_partition_modification(std::string name) {
        if (topics_.count(name) == 0) {
            co_return;  // not known yet: the topic change reads it whole
        }
        auto read =
            get(znodes::topic_path(name), watch_for(event_kind::partition_modification, name));
        const auto node = co_await std::move(read);
        if (!node.ok() || !active_) {
            co_return;  // deleted: the topic change or the deletion handles it
        }
        const auto assignment = znodes::decode_topic(node.value.data);
        auto topic = topics_.find(name);
        if (!assignment || topic == topics_.end()) {
            co_return;
        }
        std::vector<partition_key> added;
        for (const auto& [p, replicas] : assignment->partitions) {
            if (topic->second.partitions.count(p) != 0) {
                continue;
            }
            partition_info info;
            info.replicas = replicas;
            topic->second.partitions.emplace(p, std::move(info));
            added.emplace_back(name, p);
        }
        if (added.empty()) {
            co_return;
        }
        BROKER_LOG_INFO("controller " << settings_.broker_id << ": topic " << name << " has "
                                      << added.size() << " new partitions");
        changes changed;
        auto elected = elect_partitions(added, changed);
        co_await std::move(elected);
        if (active_ && !fenced_) {
            send_changes(changed);
        }
    }

    net::awaitable<void> on_topic_deletion() {
        auto listed =
            watched_children(std::string(znodes::delete_topics_path), event_kind::topic_deletion);
        const auto names = co_await std::move(listed);
        if (!names.ok()) {
            co_return;
        }
        for (const auto& name : names.value) {
            if (!active_ || fenced_ || expired_) {
                co_return;
            }
            if (!settings_.delete_topic_enable || topics_.count(name) == 0) {
                // Deletion disabled, or no such topic: the request is dropped, as Kafka drops it.
                std::vector<zk::op> ops{zk::op::erase(znodes::delete_topic_path(name))};
                auto write = fenced_write(std::move(ops));
                co_await std::move(write);
                continue;
            }
            auto deleted = delete_topic(name);
            co_await std::move(deleted);
        }
    }

    /// The paths under `path` (itself last), children before their parents.
    net::awaitable<void> collect_subtree(std::string path, std::vector<std::string>& out) {
        auto listed = children(path);
        const auto names = co_await std::move(listed);
        if (names.ok()) {
            for (const auto& name : names.value) {
                auto below = collect_subtree(path + "/" + name, out);
                co_await std::move(below);
            }
        } else if (names.error == zk::error_code::no_node) {
            co_return;
        }
        out.push_back(path);
    }

    net::awaitable<bool> delete_topic_nodes(std::string name) {
        std::vector<std::string> paths;
        auto collected = collect_subtree(znodes::topic_path(name), paths);
        co_await std::move(collected);
        const std::string config = znodes::config_topic_path(name);
        auto probe = exists(config);
        const auto config_node = co_await std::move(probe);
        if (config_node.ok()) {
            paths.push_back(config);
        }
        paths.push_back(znodes::delete_topic_path(name));
        for (std::size_t at = 0; at < paths.size(); at += max_ops_per_multi) {
            std::vector<zk::op> ops;
            for (std::size_t i = at; i < std::min(paths.size(), at + max_ops_per_multi); ++i) {
                ops.push_back(zk::op::erase(paths[i]));
            }
            auto write = fenced_write(std::move(ops));
            const auto written = co_await std::move(write);
            if (written.status != write_status::ok) {
                if (written.status == write_status::failed) {
                    BROKER_LOG_WARN("controller " << settings_.broker_id << ": deleting topic "
                                                  << name << ": " << zk::to_string(written.error));
                }
                co_return false;
            }
        }
        co_return true;
    }

    net::awaitable<void> delete_topic(std::string name) {
        BROKER_LOG_INFO("controller " << settings_.broker_id << ": deleting topic " << name);
        const auto topic = topics_.find(name);
        if (topic == topics_.end()) {
            co_return;
        }
        // StopReplica with deletion to every live replica.
        for (const auto& [id, broker] : live_) {
            protocol::stop_replica_request request;
            request.controller_id = settings_.broker_id;
            request.controller_epoch = epoch_;
            request.broker_epoch = broker.epoch;
            request.delete_partitions = true;
            protocol::stop_replica_request::stop_replica_topic_state state;
            state.topic_name = name;
            for (const auto& [p, info] : topic->second.partitions) {
                if (contains(info.replicas, id)) {
                    protocol::stop_replica_request::stop_replica_partition_state ps;
                    ps.partition_index = p;
                    ps.leader_epoch = epoch_during_delete;
                    ps.delete_partition = true;
                    state.partition_states.push_back(ps);
                }
            }
            if (state.partition_states.empty() || channel_brokers_.count(id) == 0) {
                continue;
            }
            request.topic_states.push_back(std::move(state));
            channel_.send(id, std::move(request));
        }
        // The znodes (a retry after a concurrent change lists the tree again).
        bool removed = false;
        for (int attempt = 0; attempt < 2 && !removed && active_ && !fenced_; ++attempt) {
            auto deleted = delete_topic_nodes(name);
            const bool done = co_await std::move(deleted);
            removed = done;
        }
        if (!removed || !active_) {
            co_return;
        }
        // UpdateMetadata with the leader at LeaderDuringDelete: brokers drop the partitions.
        protocol::update_metadata_request request;
        request.controller_id = settings_.broker_id;
        request.controller_epoch = epoch_;
        const auto gone = topics_.find(name);
        if (gone == topics_.end()) {
            co_return;
        }
        protocol::update_metadata_request::update_metadata_topic_state state;
        state.topic_name = name;
        state.topic_id = gone->second.id;
        for (const auto& [p, info] : gone->second.partitions) {
            protocol::update_metadata_request::update_metadata_partition_state ps;
            if (info.state) {
                ps = metadata_state(p, info);
            } else {
                ps.partition_index = p;
                ps.controller_epoch = epoch_;
                ps.replicas = info.replicas;
            }
            ps.leader = leader_during_delete;
            state.partition_states.push_back(std::move(ps));
        }
        request.topic_states.push_back(std::move(state));
        request.live_brokers = live_brokers();
        topics_.erase(gone);
        for (const auto& [id, broker] : live_) {
            if (channel_brokers_.count(id) == 0) {
                continue;
            }
            auto copy = request;
            copy.broker_epoch = broker.epoch;
            channel_.send(id, std::move(copy));
        }
    }

    // ---- auto leader rebalance

    net::awaitable<void> on_rebalance() {
        if (!settings_.auto_leader_rebalance_enable) {
            co_return;
        }
        // Per preferred replica: its partitions, and those another broker leads.
        std::map<int32_t, std::pair<int, std::vector<partition_key>>> by_preferred;
        for (const auto& [name, topic] : topics_) {
            for (const auto& [p, info] : topic.partitions) {
                if (info.replicas.empty() || !info.state) {
                    continue;
                }
                auto& [total, moved] = by_preferred[info.replicas.front()];
                ++total;
                if (info.state->leader != info.replicas.front()) {
                    moved.emplace_back(name, p);
                }
            }
        }
        const auto live = live_ids();
        changes changed;
        for (const auto& [broker, counts] : by_preferred) {
            const auto& [total, moved] = counts;
            const double ratio = static_cast<double>(moved.size()) / total;
            if (ratio <= settings_.leader_imbalance_per_broker_percentage / 100.0 ||
                !is_live(broker)) {
                continue;
            }
            for (const auto& key : moved) {
                if (!active_ || fenced_ || expired_) {
                    co_return;
                }
                auto updated = update_state(
                    key,
                    [&live](const partition_info& i, const znodes::partition_state& current)
                        -> std::optional<znodes::partition_state> {
                        const auto preferred = elect_preferred(i.replicas, current.isr, live);
                        if (!preferred || *preferred == current.leader) {
                            return std::nullopt;
                        }
                        znodes::partition_state next = current;
                        next.leader = *preferred;
                        next.leader_epoch = current.leader_epoch + 1;
                        return next;
                    });
                if (co_await std::move(updated)) {
                    changed.partitions.push_back(key);
                    log_election(key);
                }
            }
        }
        if (active_ && !fenced_) {
            send_changes(changed);
        }
    }

    zk::client& zk_;
    controller_channel& channel_;
    const controller_settings settings_;
    std::shared_ptr<mailbox> mailbox_;

    bool ran_ = false;
    bool stopping_ = false;
    bool expired_ = false;
    bool active_ = false;
    bool fenced_ = false;
    int32_t epoch_ = 0;
    int32_t epoch_zk_version_ = 0;
    int32_t controller_id_ = -1;
    uint64_t generation_ = 0;
    std::function<void(int32_t)> on_change_;
    std::chrono::steady_clock::time_point next_rebalance_{};

    // While active: the live brokers, the brokers added to the channel, the topics.
    std::map<int32_t, live_broker> live_;
    std::set<int32_t> channel_brokers_;
    std::map<std::string, topic_info> topics_;
    std::map<std::string, bool> unclean_cache_;
};

controller::controller(zk::client& zk, controller_channel& channel, controller_settings settings)
    : impl_(std::make_unique<impl>(zk, channel, std::move(settings))) {}

controller::~controller() = default;

net::awaitable<void> controller::run() {
    auto running = impl_->run();
    co_await std::move(running);
}

void controller::stop() {
    impl_->stopping_ = true;
    impl_->mailbox_->signal.cancel();
}

bool controller::active() const {
    return impl_->active_;
}

int32_t controller::epoch() const {
    return impl_->epoch_;
}

int32_t controller::controller_id() const {
    return impl_->controller_id_;
}

void controller::on_controller_change(std::function<void(int32_t)> callback) {
    impl_->on_change_ = std::move(callback);
}

}  // namespace broker::server::cluster
