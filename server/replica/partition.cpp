#include "server/replica/partition.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <limits>
#include <utility>

#include "server/config.h"
#include "server/logging.h"
#include "server/replica/errors.h"

namespace broker::server {
namespace {

using protocol::error_code;

std::string partition_name(std::string_view topic, partition_index index) {
    std::string out(topic);
    out += '-';
    out += std::to_string(index.value());
    return out;
}

int64_t monotonic_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

/// True at most once every 10 s: a full disk refuses every produce, and one log line per refusal
/// would bury everything else.
bool storage_log_due() {
    static std::atomic<int64_t> last_ms{std::numeric_limits<int64_t>::min() / 2};
    const int64_t now_ms = monotonic_ms();
    int64_t last = last_ms.load(std::memory_order_relaxed);
    return now_ms - last >= 10000 &&
           last_ms.compare_exchange_strong(last, now_ms, std::memory_order_relaxed);
}

/// The error_message of a KAFKA_STORAGE_ERROR: which broker refused, why, and how much space its
/// log dir has left, so that an operator reading the producer's log knows where to look.
std::string storage_error_message(int32_t broker_id, std::string_view topic, partition_index index,
                                  const std::filesystem::path& dir, std::string_view cause) {
    const std::optional<filesystem_space> space = filesystem_space_of(dir.parent_path());
    const std::optional<uint64_t> free =
        space ? std::optional<uint64_t>(space->free_bytes) : std::nullopt;
    return "Broker " + std::to_string(broker_id) + " cannot append to " +
           partition_name(topic, index) + ": " + std::string(cause) + " (log dir " +
           dir.parent_path().string() + " has " +
           (free ? std::to_string(*free) : std::string("unknown")) + " bytes free)";
}

bool contains(const std::vector<node_id>& ids, node_id id) {
    return std::find(ids.begin(), ids.end(), id) != ids.end();
}

}  // namespace

partition::partition(std::string topic, protocol::uuid topic_id, partition_index index,
                     std::shared_ptr<log::partition_log> log,
                     std::shared_ptr<const topic_config> config, node_id local_id)
    : topic_(std::move(topic)),
      topic_id_(topic_id),
      index_(index),
      local_id_(local_id),
      log_(std::move(log)) {
    if (!config) {
        config = std::make_shared<const topic_config>();
    }
    min_insync_replicas_.store(config->min_insync_replicas, std::memory_order_release);
    config_.store(std::move(config), std::memory_order_release);
}

void partition::set_config(std::shared_ptr<const topic_config> config) {
    if (!config) {
        return;
    }
    std::lock_guard lock(mutex_);
    min_insync_replicas_.store(config->min_insync_replicas, std::memory_order_release);
    config_.store(config, std::memory_order_release);
    if (!deleted_ && log_ && !log_->closed()) {
        if (auto ec = log_->set_config(config->log)) {
            BROKER_LOG_ERROR("applying config to " << partition_name(topic_, index_) << ": "
                                                   << ec.message());
        }
    }
}

std::vector<node_id> partition::assigned_replicas() const {
    std::lock_guard lock(mutex_);
    return replicas_;
}

std::vector<node_id> partition::in_sync_replicas() const {
    std::lock_guard lock(mutex_);
    return isr_;
}

std::vector<replica_fetch_state> partition::follower_states() const {
    std::lock_guard lock(mutex_);
    return followers_;
}

std::optional<partition_offsets> partition::offsets() const {
    std::lock_guard lock(mutex_);
    if (deleted_ || !log_) {
        return std::nullopt;
    }
    return partition_offsets{log_->log_start_offset().value(), log_->log_end_offset().value(),
                             log_->high_watermark().value()};
}

std::filesystem::path partition::log_dir() const {
    std::lock_guard lock(mutex_);
    return log_ ? log_->dir() : std::filesystem::path();
}

// ---------------------------------------------------------------------------------------------
// Roles

void partition::set_isr_locked(std::vector<node_id> isr) {
    isr_ = std::move(isr);
    isr_size_.store(isr_.size(), std::memory_order_release);
}

bool partition::is_in_sync_locked(node_id id) const {
    return contains(isr_, id);
}

std::error_code partition::become_leader(const partition_assignment& a) {
    {
        std::lock_guard lock(mutex_);
        if (deleted_ || !log_) {
            return log::make_error_code(log::errc::log_closed);
        }
        // A new epoch starts at the log end, as Kafka's makeLeader does (no-op for the epoch the
        // cache already ends with). The log's epoch cache keeps raw epochs (it persists them).
        if (auto ec = log_->assign_leader_epoch(a.leader_epoch.value(), log_->log_end_offset())) {
            return ec;
        }
        leader_epoch_.store(a.leader_epoch, std::memory_order_release);
        replicas_ = a.replicas.empty() ? std::vector<node_id>{local_id_} : a.replicas;
        set_isr_locked(a.isr.empty() ? std::vector<node_id>{local_id_} : a.isr);
        followers_.clear();
        for (node_id r : replicas_) {
            if (r != local_id_) {
                followers_.push_back(replica_fetch_state{r, -1, 0, 0});
            }
        }
        role_.store(replica_role::leader, std::memory_order_release);
        leader_id_.store(local_id_, std::memory_order_release);
        // With an in-sync set of one the high watermark is the log end at once; the checkpointed
        // value may lag (it is written periodically), and after a crash it would hide
        // acknowledged records until the next append.
        maybe_increment_high_watermark_locked();
    }
    fire(partition_event::any);
    return {};
}

std::error_code partition::become_follower(const partition_assignment& a) {
    {
        std::lock_guard lock(mutex_);
        if (deleted_ || !log_) {
            return log::make_error_code(log::errc::log_closed);
        }
        leader_epoch_.store(a.leader_epoch, std::memory_order_release);
        replicas_ = a.replicas;
        set_isr_locked(a.isr);
        followers_.clear();
        leader_high_watermark_ = log_->high_watermark().value();
        role_.store(replica_role::follower, std::memory_order_release);
        leader_id_.store(a.leader, std::memory_order_release);
    }
    fire(partition_event::any);
    return {};
}

std::error_code partition::stop(const std::function<std::error_code()>& remove_log) {
    std::error_code result;
    {
        std::lock_guard lock(mutex_);
        role_.store(replica_role::none, std::memory_order_release);
        leader_id_.store(no_node, std::memory_order_release);
        followers_.clear();
        if (remove_log) {
            deleted_.store(true, std::memory_order_release);
            result = remove_log();
        }
    }
    fire(partition_event::any);
    return result;
}

// ---------------------------------------------------------------------------------------------
// The high watermark

bool partition::maybe_increment_high_watermark_locked() {
    if (!log_ || deleted_) {
        return false;
    }
    const int64_t log_end = log_->log_end_offset().value();
    int64_t candidate = log_end;
    switch (role_.load(std::memory_order_relaxed)) {
        case replica_role::leader:
            for (const replica_fetch_state& f : followers_) {
                if (is_in_sync_locked(f.id)) {
                    candidate = std::min(candidate, std::max<int64_t>(f.log_end_offset, 0));
                }
            }
            break;
        case replica_role::follower: candidate = std::min(candidate, leader_high_watermark_); break;
        case replica_role::none: return false;
    }
    if (candidate <= log_->high_watermark().value()) {
        return false;
    }
    log_->set_high_watermark(log::offset(candidate));
    return true;
}

// ---------------------------------------------------------------------------------------------
// Leader

bool partition::check_min_isr(int16_t required_acks, leader_append_result& out) const {
    const int32_t min_isr = min_insync_replicas_.load(std::memory_order_acquire);
    const std::size_t isr = in_sync_count();
    if (required_acks != -1 || static_cast<int64_t>(isr) >= min_isr) {
        return true;
    }
    out.error = error_code::not_enough_replicas;
    out.message = "The size of the current ISR " + std::to_string(isr) +
                  " is insufficient to satisfy the min.isr requirement of " +
                  std::to_string(min_isr) + " for partition " + partition_name(topic_, index_);
    return false;
}

bool partition::ensure_producers_loaded_locked() {
    if (producers_.loaded()) {
        return true;
    }
    // Normally loaded when the partition is opened; this covers any partition that was not.
    if (auto ec = producers_.load(*log_)) {
        BROKER_LOG_ERROR("loading producer state of " << partition_name(topic_, index_) << ": "
                                                      << ec.message());
        return false;
    }
    return true;
}

leader_append_result partition::append_as_leader(leader_append& request,
                                                 const broker_config& broker) {
    leader_append_result out;
    const auto fail = [&out](error_code e, std::string text = {}) {
        out.error = e;
        if (!text.empty()) {
            out.message = std::move(text);
        }
        return out;
    };
    std::shared_ptr<const topic_config> held;
    const topic_config* cfg = request.config;
    if (cfg == nullptr) {
        held = config();
        cfg = held.get();
    }
    bool advanced = false;
    {
        std::lock_guard lock(mutex_);
        if (deleted_ || !log_) {
            return fail(error_code::unknown_topic_or_partition);
        }
        if (role_.load(std::memory_order_relaxed) != replica_role::leader) {
            return fail(error_code::not_leader_or_follower,
                        "Leader not local for partition " + partition_name(topic_, index_) +
                            " on broker " + std::to_string(local_id_.value()));
        }
        log::partition_log& plog = *log_;
        if (!ensure_producers_loaded_locked()) {
            return fail(error_code::kafka_storage_error);
        }
        producers_.expire_if_due(request.now_ms, broker.producer_id_expiration_ms,
                                 broker.producer_id_expiration_check_interval_ms);

        const protocol::batch_header& h = request.header;
        const producer_id_t producer{h.producer_id};
        const bool idempotent = h.producer_id >= 0;
        const int32_t last_sequence =
            idempotent ? log::increment_sequence(h.base_sequence, std::max(h.last_offset_delta, 0))
                       : -1;
        if (idempotent) {
            const log::sequence_check_result verdict =
                producers_.check(producer, h.producer_epoch, h.base_sequence, last_sequence);
            switch (verdict.status) {
                case log::sequence_check::ok: break;
                case log::sequence_check::duplicate:
                    // A retry of a batch already written: Kafka answers with the original offsets
                    // and writes nothing.
                    out.base_offset = verdict.duplicate_of.first_offset;
                    out.last_offset = verdict.duplicate_of.last_offset;
                    out.log_start_offset = plog.log_start_offset().value();
                    if (cfg->log.message_timestamp_type ==
                        protocol::timestamp_type::log_append_time) {
                        out.log_append_time = verdict.duplicate_of.max_timestamp;
                    }
                    return out;
                case log::sequence_check::invalid_producer_epoch: {
                    const log::producer_entry* entry = producers_.find(producer);
                    out.report_log_start = true;
                    out.log_start_offset = plog.log_start_offset().value();
                    return fail(error_code::invalid_producer_epoch,
                                "Epoch of producer " + std::to_string(h.producer_id) + " is " +
                                    std::to_string(h.producer_epoch) +
                                    ", which is smaller than the last seen epoch " +
                                    std::to_string(entry ? entry->epoch : -1));
                }
                case log::sequence_check::out_of_order_sequence: {
                    const log::producer_entry* entry = producers_.find(producer);
                    out.report_log_start = true;
                    out.log_start_offset = plog.log_start_offset().value();
                    return fail(error_code::out_of_order_sequence_number,
                                "Out of order sequence number for producer " +
                                    std::to_string(h.producer_id) + " at epoch " +
                                    std::to_string(h.producer_epoch) + ": " +
                                    std::to_string(h.base_sequence) + " (incoming seq. number), " +
                                    std::to_string(entry ? entry->last_sequence() : -1) +
                                    " (current end sequence number)");
                }
            }
        }
        if (!check_min_isr(request.required_acks, out)) {
            return out;
        }

        if (broker.log_dir_min_free_bytes > 0) {
            // log.dir.min.free.bytes: refuse before the filesystem is really full, so that index
            // pages, checkpoints and snapshots still find room (docs/decisions.md, "Storage errors
            // and a full disk").
            if (!space_) {
                space_ = log_dir_space::of(plog.dir().parent_path());
            }
            if (!space_->take(request.batch.size(),
                              static_cast<uint64_t>(broker.log_dir_min_free_bytes),
                              monotonic_ms())) {
                fail(error_code::kafka_storage_error,
                     storage_error_message(
                         broker.broker_id, topic_, index_, plog.dir(),
                         "the append would leave less than log.dir.min.free.bytes=" +
                             std::to_string(broker.log_dir_min_free_bytes) + " bytes free"));
                if (storage_log_due()) {
                    BROKER_LOG_WARN("refusing appends: " << *out.message);
                }
                return out;
            }
        }
        auto appended = plog.append(request.batch, leader_epoch().value());
        if (!appended) {
            const error_code e = to_kafka_error(appended.error());
            if (e == error_code::kafka_storage_error) {
                // The log has cut any partial write back to the last whole batch and stays
                // writable: the next append tries again (a full disk is not a failed disk).
                fail(e, storage_error_message(broker.broker_id, topic_, index_, plog.dir(),
                                              "write failed: " + appended.error().message()));
                if (storage_log_due()) {
                    BROKER_LOG_ERROR(*out.message);
                }
                return out;
            }
            if (e == error_code::unknown_server_error) {
                BROKER_LOG_ERROR("append to " << partition_name(topic_, index_) << ": "
                                              << appended.error().message());
            }
            return fail(e);
        }
        const log::append_result& a = appended.value();
        if (a.rolled) {
            // A new segment starts at this batch: snapshot the producer state as of its base offset
            // (before this batch is recorded), as Kafka does on every roll.
            out.snapshot_offset = a.base_offset.value();
            out.snapshot = producers_.serialize_snapshot(out.snapshot_offset);
            out.snapshot_dir = plog.dir();
        }
        if (idempotent) {
            log::producer_batch b;
            b.first_sequence = h.base_sequence;
            b.last_sequence = last_sequence;
            b.first_offset = a.base_offset.value();
            b.last_offset = a.last_offset.value();
            b.max_timestamp = a.log_append_time >= 0 ? a.log_append_time : h.max_timestamp;
            producers_.record(producer, h.producer_epoch, b);
        }
        advanced = maybe_increment_high_watermark_locked();
        out.appended = true;
        out.base_offset = a.base_offset.value();
        out.last_offset = a.last_offset.value();
        out.log_append_time = a.log_append_time;
        out.log_start_offset = a.log_start_offset.value();
        if (plog.flush_due(request.now_ms)) {
            out.flush_target = a.last_offset.value() + 1;
        }
    }
    fire(advanced ? partition_event::log_end | partition_event::high_watermark
                  : partition_event::log_end);
    return out;
}

error_code partition::replicated_to(int64_t offset, bool& reached) const {
    reached = false;
    std::lock_guard lock(mutex_);
    if (deleted_ || !log_) {
        return error_code::unknown_topic_or_partition;
    }
    if (role_.load(std::memory_order_relaxed) != replica_role::leader) {
        return error_code::not_leader_or_follower;
    }
    if (log_->high_watermark().value() >= offset) {
        reached = true;
        // Kafka answers NOT_ENOUGH_REPLICAS_AFTER_APPEND when the set shrank below the minimum
        // while the request waited.
        if (static_cast<int64_t>(isr_.size()) <
            min_insync_replicas_.load(std::memory_order_acquire)) {
            return error_code::not_enough_replicas_after_append;
        }
    }
    return error_code::none;
}

error_code partition::update_follower_fetch_state(node_id replica, int64_t fetch_offset,
                                                  int64_t now_ms, int64_t log_start_offset) {
    uint8_t events = 0;
    error_code e = error_code::none;
    {
        std::lock_guard lock(mutex_);
        e = update_follower_fetch_state_locked(replica, fetch_offset, now_ms, log_start_offset,
                                               events);
    }
    if (events != 0) {
        fire(static_cast<partition_event>(events));
    }
    return e;
}

error_code partition::update_follower_fetch_state_locked(node_id replica, int64_t fetch_offset,
                                                         int64_t now_ms, int64_t log_start_offset,
                                                         uint8_t& events) {
    if (deleted_ || !log_) {
        return error_code::unknown_topic_or_partition;
    }
    if (role_.load(std::memory_order_relaxed) != replica_role::leader) {
        return error_code::not_leader_or_follower;
    }
    const auto it =
        std::find_if(followers_.begin(), followers_.end(),
                     [replica](const replica_fetch_state& f) { return f.id == replica; });
    if (it == followers_.end()) {
        // Kafka's answer to a replica outside the partition's assignment.
        return error_code::not_leader_or_follower;
    }
    const int64_t log_end = log_->log_end_offset().value();
    it->log_end_offset = std::min(fetch_offset, log_end);
    it->last_fetch_ms = now_ms;
    if (fetch_offset >= log_end) {
        it->last_caught_up_ms = now_ms;
    }
    if (log_start_offset >= 0 && log_start_offset != it->log_start_offset) {
        it->log_start_offset = log_start_offset;
        events |= static_cast<uint8_t>(partition_event::low_watermark);
    }
    if (maybe_increment_high_watermark_locked()) {
        events |= static_cast<uint8_t>(partition_event::high_watermark);
    }
    return error_code::none;
}

error_code partition::low_watermark(int64_t& low) const {
    std::lock_guard lock(mutex_);
    if (deleted_ || !log_ || log_->closed()) {
        return error_code::unknown_topic_or_partition;
    }
    if (role_.load(std::memory_order_relaxed) != replica_role::leader) {
        return error_code::not_leader_or_follower;
    }
    low = log_->log_start_offset().value();
    for (const replica_fetch_state& f : followers_) {
        low = std::min(low, f.log_start_offset);
    }
    return error_code::none;
}

// ---------------------------------------------------------------------------------------------
// Follower

log::result<log::append_result> partition::append_as_follower(std::span<uint8_t> batches,
                                                              int64_t leader_high_watermark) {
    bool advanced = false;
    log::result<log::append_result> result = log::make_error_code(log::errc::log_closed);
    {
        std::lock_guard lock(mutex_);
        if (deleted_ || !log_) {
            return result;
        }
        if (!ensure_producers_loaded_locked()) {
            return make_error_code(std::errc::io_error);
        }
        if (!batches.empty()) {
            result = log_->append_as_follower(batches);
            if (!result) {
                return result;
            }
            // Producer state follows the leader's, so that a new leader deduplicates the retries
            // of batches it received as a follower.
            std::span<const uint8_t> rest(batches);
            while (!rest.empty()) {
                const std::optional<std::size_t> size = protocol::peek_batch_size(rest);
                if (!size || *size > rest.size()) {
                    break;
                }
                if (const auto h = protocol::parse_batch_header(rest.first(*size));
                    h && h->producer_id >= 0) {
                    log::producer_batch b;
                    b.first_sequence = h->base_sequence;
                    b.last_sequence = log::increment_sequence(h->base_sequence,
                                                              std::max(h->last_offset_delta, 0));
                    b.first_offset = h->base_offset;
                    b.last_offset = h->base_offset + h->last_offset_delta;
                    b.max_timestamp = h->max_timestamp;
                    producers_.record(producer_id_t{h->producer_id}, h->producer_epoch, b);
                }
                rest = rest.subspan(*size);
            }
        } else {
            log::append_result none;
            none.base_offset = log_->log_end_offset();
            none.last_offset = log::offset(log_->log_end_offset().value() - 1);
            none.log_start_offset = log_->log_start_offset();
            result = none;
        }
        leader_high_watermark_ = std::max(leader_high_watermark_, leader_high_watermark);
        advanced = maybe_increment_high_watermark_locked();
    }
    fire(advanced ? partition_event::log_end | partition_event::high_watermark
                  : partition_event::log_end);
    return result;
}

// ---------------------------------------------------------------------------------------------
// Reads

partition_read_result partition::read(const partition_read_request& request) {
    uint8_t events = 0;
    partition_read_result out;
    {
        std::lock_guard lock(mutex_);
        out = read_locked(request, events);
    }
    if (events != 0) {
        fire(static_cast<partition_event>(events));
    }
    return out;
}

partition_read_result partition::read_locked(const partition_read_request& request,
                                             uint8_t& events) {
    partition_read_result out;
    if (deleted_ || !log_) {
        out.error = error_code::unknown_topic_or_partition;
        return out;
    }
    const leader_epoch_t epoch = leader_epoch_.load(std::memory_order_relaxed);
    const auto leadership_error = [&](error_code e) {
        out.error = e;
        out.leader_id = leader_id_.load(std::memory_order_relaxed);
        out.leader_epoch = epoch;
        return out;
    };
    if (role_.load(std::memory_order_relaxed) != replica_role::leader) {
        return leadership_error(error_code::not_leader_or_follower);
    }
    // KIP-320: -1 (or any negative) means the fetcher does not know the epoch.
    if (request.current_leader_epoch.value() >= 0) {
        if (request.current_leader_epoch < epoch) {
            return leadership_error(error_code::fenced_leader_epoch);
        }
        if (request.current_leader_epoch > epoch) {
            out.error = error_code::unknown_leader_epoch;
            return out;
        }
    }
    const log::partition_log& plog = *log_;
    out.log_start_offset = plog.log_start_offset().value();
    if (request.last_fetched_epoch.value() >= 0) {
        // KIP-595 truncation detection: does the fetcher's last epoch end where it thinks?
        const auto [raw_last_epoch, end] =
            plog.end_offset_for_epoch(request.last_fetched_epoch.value());
        const leader_epoch_t last_epoch{raw_last_epoch};
        if (last_epoch.value() < 0 || end.value() < 0 ||
            request.fetch_offset < out.log_start_offset) {
            out.error = error_code::offset_out_of_range;
            return out;
        }
        if (last_epoch < request.last_fetched_epoch || end.value() < request.fetch_offset) {
            // A diverging fetcher's offset says nothing about what it holds: its fetch state is
            // left alone (as in Kafka) until it has truncated.
            out.high_watermark = plog.high_watermark().value();
            out.last_stable_offset = out.high_watermark;
            out.diverging_epoch = last_epoch;
            out.diverging_end_offset = end.value();
            return out;
        }
    }
    const bool from_replica = request.replica_id.value() >= 0;
    if (from_replica) {
        // The follower has everything below its fetch offset: record it before reading, so that
        // the high watermark it allows is part of this very answer.
        const error_code e =
            update_follower_fetch_state_locked(request.replica_id, request.fetch_offset,
                                               request.now_ms, request.log_start_offset, events);
        if (e != error_code::none) {
            return leadership_error(e);
        }
    }
    out.high_watermark = plog.high_watermark().value();
    // No transactions: nothing is pending below the high watermark.
    out.last_stable_offset = out.high_watermark;
    const int64_t upper = from_replica             ? plog.log_end_offset().value()
                          : request.read_committed ? out.last_stable_offset
                                                   : out.high_watermark;
    auto read = plog.read(log::offset(request.fetch_offset), request.max_bytes, log::offset(upper));
    if (!read) {
        out.error = to_kafka_error(read.error());
        return out;
    }
    if (!request.min_one_batch && read.value().size_bytes > request.max_bytes) {
        // The log always returns the first batch; once the response holds data, a batch that does
        // not fit waits for the next fetch.
        return out;
    }
    out.records = std::move(read).value();
    return out;
}

log::result<log::read_result> partition::read_local(int64_t start, uint64_t max_bytes) const {
    std::lock_guard lock(mutex_);
    if (deleted_ || !log_) {
        return log::make_error_code(log::errc::log_closed);
    }
    const log::offset end = log_->log_end_offset();
    const int64_t from = std::max(start, log_->log_start_offset().value());
    if (from >= end.value()) {
        return log::read_result{};
    }
    return log_->read(log::offset(from), max_bytes, end);
}

log::result<std::map<producer_id_t, log::producer_entry>> partition::active_producers(
    int64_t now_ms, const broker_config& broker) {
    std::lock_guard lock(mutex_);
    if (deleted_ || !log_) {
        return log::make_error_code(log::errc::log_closed);
    }
    if (!ensure_producers_loaded_locked()) {
        return make_error_code(std::errc::io_error);
    }
    producers_.expire_if_due(now_ms, broker.producer_id_expiration_ms,
                             broker.producer_id_expiration_check_interval_ms);
    return producers_.producers();
}

// ---------------------------------------------------------------------------------------------
// Admin and maintenance

std::pair<error_code, int64_t> partition::delete_records(int64_t offset, std::string& message) {
    std::pair<error_code, int64_t> result{error_code::none, -1};
    {
        std::lock_guard lock(mutex_);
        if (deleted_ || !log_ || log_->closed()) {
            message = "This server does not host this topic-partition.";
            return {error_code::unknown_topic_or_partition, -1};
        }
        if (role_.load(std::memory_order_relaxed) != replica_role::leader) {
            message = "Leader not local for partition " + partition_name(topic_, index_);
            return {error_code::not_leader_or_follower, -1};
        }
        if (!log::deletes(log_->config().policy)) {
            message = "Records of partition " + partition_name(topic_, index_) +
                      " can not be deleted due to the configured policy";
            return {error_code::policy_violation, -1};
        }
        const int64_t hw = log_->high_watermark().value();
        const int64_t target = offset == -1 ? hw : offset;
        if (target < 0) {
            message = "The requested offset " + std::to_string(offset) + " is not valid.";
            return {error_code::offset_out_of_range, -1};
        }
        if (auto ec = log_->delete_records(log::offset(target))) {
            result.first = to_kafka_error(ec);
            message = ec == log::errc::offset_out_of_range
                          ? "Cannot increment the log start offset to " + std::to_string(target) +
                                " of partition " + partition_name(topic_, index_) +
                                " since it is larger than the high watermark " + std::to_string(hw)
                          : ec.message();
        } else {
            result.second = log_->log_start_offset().value();
        }
    }
    fire(partition_event::any);
    return result;
}

void partition::run_owner_step(const std::function<void()>& work) {
    std::lock_guard lock(mutex_);
    if (deleted_ || !log_ || log_->closed()) {
        return;
    }
    work();
}

std::optional<log::flush_request> partition::prepare_flush(int64_t target) {
    std::lock_guard lock(mutex_);
    if (deleted_ || !log_) {
        return std::nullopt;
    }
    return log_->prepare_flush(log::offset(target));
}

void partition::complete_flush(const log::flush_request& request) {
    std::lock_guard lock(mutex_);
    if (!deleted_ && log_) {
        log_->complete_flush(request);
    }
}

int64_t partition::recovery_point() const {
    std::lock_guard lock(mutex_);
    return log_ ? log_->recovery_point().value() : 0;
}

uint64_t partition::size_bytes() const {
    std::lock_guard lock(mutex_);
    return (deleted_ || !log_ || log_->closed()) ? 0 : log_->size_bytes();
}

std::error_code partition::close() {
    std::error_code result;
    {
        std::lock_guard lock(mutex_);
        if (!deleted_ && log_) {
            // A snapshot at the log end spares the next start a scan of the batches written since
            // the last segment roll (producer state is otherwise rebuilt from the log).
            if (producers_.loaded()) {
                if (auto ec =
                        producers_.write_snapshot(log_->dir(), log_->log_end_offset().value())) {
                    BROKER_LOG_WARN("writing producer snapshot of "
                                    << partition_name(topic_, index_) << ": " << ec.message());
                }
            }
            result = log_->close(true);
        }
        deleted_.store(true, std::memory_order_release);
        role_.store(replica_role::none, std::memory_order_release);
    }
    fire(partition_event::any);
    return result;
}

// ---------------------------------------------------------------------------------------------
// Events

uint64_t partition::watch(partition_event events, std::function<void()> callback) {
    {
        std::lock_guard lock(waiters_mutex_);
        if (!deleted_.load(std::memory_order_acquire)) {
            const uint64_t id = next_waiter_id_++;
            waiters_.push_back(waiter{id, events, std::move(callback)});
            return id;
        }
    }
    callback();
    return 0;
}

void partition::unwatch(uint64_t id) {
    if (id == 0) {
        return;
    }
    std::lock_guard lock(waiters_mutex_);
    std::erase_if(waiters_, [id](const waiter& w) { return w.id == id; });
}

std::size_t partition::watchers() const {
    std::lock_guard lock(waiters_mutex_);
    return waiters_.size();
}

void partition::fire(partition_event events) {
    std::vector<waiter> fired;
    {
        std::lock_guard lock(waiters_mutex_);
        if (waiters_.empty()) {
            return;
        }
        auto it = std::stable_partition(
            waiters_.begin(), waiters_.end(),
            [events](const waiter& w) { return !includes(w.events, events); });
        fired.assign(std::make_move_iterator(it), std::make_move_iterator(waiters_.end()));
        waiters_.erase(it, waiters_.end());
    }
    for (waiter& w : fired) {
        w.callback();
    }
}

}  // namespace broker::server
