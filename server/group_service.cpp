#include "server/group_service.h"

#include <chrono>
#include <cstdio>
#include <map>
#include <vector>

#include "common/big_endian.h"
#include "log/errors.h"
#include "protocol/records.h"
#include "server/logging.h"
#include "server/replica/delayed_operation.h"
#include "server/request_context.h"

namespace broker::server {
namespace {

using coordinator::offsets_record;
using protocol::error_code;

int64_t wall_clock_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

/// How long a coordinator append waits for the in-sync replicas (Kafka's
/// offsets.commit.timeout.ms default); on a single node it never waits.
constexpr std::chrono::milliseconds offsets_commit_timeout{5000};

}  // namespace

std::string client_host_of(const net::ip::tcp::endpoint& peer) {
    const net::ip::address address = peer.address();
    if (address.is_v4()) {
        return "/" + address.to_v4().to_string();
    }
    const net::ip::address_v6 v6 = address.to_v6();
    if (v6.is_v4_mapped()) {
        // Java turns IPv4-mapped addresses into Inet4Address (a dual-stack socket's IPv4 peers).
        return "/" + net::ip::make_address_v4(net::ip::v4_mapped, v6).to_string();
    }
    // Java prints every group, without leading zeros and without "::" compression.
    const auto bytes = v6.to_bytes();
    std::string out = "/";
    for (std::size_t i = 0; i < 8; ++i) {
        char group[8];
        const unsigned value = load_be16(bytes.data() + 2 * i);
        std::snprintf(group, sizeof group, "%x", value);
        if (i > 0) {
            out += ':';
        }
        out += group;
    }
    if (v6.scope_id() != 0) {
        out += '%' + std::to_string(v6.scope_id());
    }
    return out;
}

coordinator::coordinator_config coordinator_config_of(const broker_config& config,
                                                      int32_t offsets_partitions) {
    coordinator::coordinator_config c;
    c.offsets_topic_num_partitions = offsets_partitions;
    c.group_min_session_timeout_ms = config.group_min_session_timeout_ms;
    c.group_max_session_timeout_ms = config.group_max_session_timeout_ms;
    c.group_max_size = config.group_max_size;
    c.group_initial_rebalance_delay_ms = config.group_initial_rebalance_delay_ms;
    c.offset_metadata_max_bytes = config.offset_metadata_max_bytes;
    c.offsets_retention_ms = int64_t{config.offsets_retention_minutes} * 60 * 1000;
    c.offsets_retention_check_interval_ms = config.offsets_retention_check_interval_ms;
    return c;
}

// ---------------------------------------------------------------------------------------------
// Timers

/// The coordinator's scheduler over asio steady_timers on the coordinator thread. Used only on
/// that thread. A timer is live while its id is in `timers_`; the completion handler runs `fn`
/// only if the id is still there, so cancel() wins even over an expiry already queued.
class group_service::timer_scheduler final : public coordinator::scheduler {
public:
    explicit timer_scheduler(net::io_context& io) : io_(io) {}

    coordinator::timer_id schedule(std::chrono::milliseconds delay,
                                   std::function<void()> fn) override {
        const coordinator::timer_id id = next_id_++;
        if (stopped_) {
            return id;  // never fires
        }
        auto timer = std::make_unique<net::steady_timer>(io_, delay);
        net::steady_timer& ref = *timer;
        timers_.emplace(id, std::move(timer));
        ref.async_wait([this, id, fn = std::move(fn)](const boost::system::error_code&) {
            const auto it = timers_.find(id);
            if (it == timers_.end()) {
                return;  // cancelled
            }
            // The timer object may go now: its wait has completed.
            std::unique_ptr<net::steady_timer> done = std::move(it->second);
            timers_.erase(it);
            fn();
        });
        return id;
    }

    void cancel(coordinator::timer_id id) override {
        const auto it = timers_.find(id);
        if (it != timers_.end()) {
            it->second->cancel();
            timers_.erase(it);
        }
    }

    int64_t now_ms() override {
        // The contract wants a clock that never goes back while the coordinator runs.
        last_ms_ = std::max(last_ms_, wall_clock_ms());
        return last_ms_;
    }

    /// Cancels every timer; later schedules never fire.
    void stop() {
        stopped_ = true;
        for (auto& [id, timer] : timers_) {
            timer->cancel();
        }
        timers_.clear();
    }

private:
    net::io_context& io_;
    std::map<coordinator::timer_id, std::unique_ptr<net::steady_timer>> timers_;
    coordinator::timer_id next_id_ = 1;
    int64_t last_ms_ = 0;
    bool stopped_ = false;
};

// ---------------------------------------------------------------------------------------------
// Appends to __consumer_offsets

/// The coordinator's offsets_log over the `__consumer_offsets` partitions of the topic store.
/// Used only on the coordinator thread. One append = one batch through the partition's leader
/// append with acks=all, completed when the high watermark passes it (a delayed operation: at once
/// on a single node); `done` runs on the coordinator thread, so completions keep the order of the
/// appends.
class group_service::partition_offsets_log final : public coordinator::offsets_log {
public:
    partition_offsets_log(net::io_context& io, topic_store& store, const broker_config& config)
        : io_(io), store_(store), config_(config) {}

    void append(int32_t partition, std::vector<offsets_record> records,
                std::function<void(error_code)> done) override {
        const std::shared_ptr<server::partition> p =
            store_.find_partition(offsets_topic_name, partition);
        if (!p) {
            net::post(io_,
                      [done = std::move(done)] { done(error_code::unknown_topic_or_partition); });
            return;
        }
        const int64_t now = wall_clock_ms();
        std::vector<protocol::record_data> data;
        data.reserve(records.size());
        for (const offsets_record& r : records) {
            protocol::record_data d;
            d.key = r.key;
            d.value = r.value;
            d.timestamp = now;
            data.push_back(std::move(d));
        }
        std::vector<uint8_t> batch = protocol::build_batch(data, protocol::batch_build_options{});
        leader_append request;
        request.batch = batch;
        request.header = *protocol::parse_batch_header(batch);
        request.required_acks = -1;
        request.now_ms = now;
        const leader_append_result result = p->append_as_leader(request, config_);
        if (!result.ok()) {
            if (result.error != error_code::not_enough_replicas) {
                BROKER_LOG_WARN("append to "
                                << offsets_topic_name << "-" << partition
                                << " failed: " << protocol::error_name(result.error)
                                << (result.message ? ": " + *result.message : std::string()));
            }
            // A deleted partition is one this coordinator no longer owns.
            const error_code e = result.error == error_code::unknown_topic_or_partition
                                     ? error_code::not_leader_or_follower
                                     : result.error;
            net::post(io_, [done = std::move(done), e] { done(e); });
            return;
        }
        when_replicated(io_.get_executor(), p, result.last_offset + 1, offsets_commit_timeout,
                        std::move(done));
    }

private:
    net::io_context& io_;
    topic_store& store_;
    const broker_config& config_;
};

// ---------------------------------------------------------------------------------------------
// The service

group_service::group_service(const broker_config& config, topic_store& store, admin_backend& admin,
                             shard_group& shards)
    : config_(config), store_(store), admin_(admin), shards_(shards) {
    work_.emplace(io_.get_executor());
    scheduler_ = std::make_unique<timer_scheduler>(io_);
    log_ = std::make_unique<partition_offsets_log>(io_, store_, config_);
    partitions_ = config_.offsets_topic_num_partitions;
    coordinator_ = std::make_unique<coordinator::group_coordinator>(
        coordinator_config_of(config_, partitions_), *scheduler_, *log_);
    thread_ = std::thread([this] {
        set_thread_shard_tag(-1);
        io_.run();
    });
}

group_service::~group_service() {
    stop();
    work_.reset();
    io_.stop();
    if (thread_.joinable()) {
        thread_.join();
    }
    // The thread is gone: tear down on this one. The coordinator cancels its timers through the
    // scheduler, so it goes first.
    coordinator_.reset();
    scheduler_.reset();
    log_.reset();
}

uint64_t group_service::subscribe_close(connection_close_signal& closed, std::function<void()> fn) {
    return closed.subscribe(std::move(fn));
}

void group_service::unsubscribe_close(connection_close_signal& closed, uint64_t id) {
    closed.unsubscribe(id);
}

void group_service::run_and_wait(std::function<void()> fn) {
    std::promise<void> done;
    net::post(io_, [&] {
        fn();
        done.set_value();
    });
    done.get_future().wait();
}

void group_service::use_partition_count(int32_t partitions) {
    if (partitions == partitions_) {
        return;
    }
    BROKER_LOG_WARN(offsets_topic_name << " has " << partitions
                                       << " partitions; offsets.topic.num.partitions says "
                                       << partitions_ << ": using the topic's count");
    partitions_ = partitions;
    coordinator_.reset();
    coordinator_ = std::make_unique<coordinator::group_coordinator>(
        coordinator_config_of(config_, partitions_), *scheduler_, *log_);
    if (coordinator_started_) {
        coordinator_->start();
    }
}

void group_service::on_leadership_change(int32_t partition, bool leader) {
    if (stopping_.load(std::memory_order_acquire) || !started_) {
        return;
    }
    if (!leader) {
        run_and_wait([this, partition] {
            if (partitions_ > 0 &&
                (coordinator_->owns_partition(partition) || coordinator_->is_loading(partition))) {
                coordinator_->unload_partition(partition);
            }
        });
        return;
    }
    // Leading a partition of the topic means the topic exists.
    ready_.store(true, std::memory_order_release);
    const std::optional<topic_description> topic = store_.describe(offsets_topic_name);
    const int32_t count = topic ? topic->partition_count : config_.offsets_topic_num_partitions;
    run_and_wait([this, partition, count] {
        if (partitions_ == 0) {
            use_partition_count(count);
        }
        coordinator_->begin_loading(partition);
    });
    std::lock_guard lock(load_mutex_);
    load_queue_.push_back(partition);
    if (!cluster_loader_.joinable()) {
        cluster_loader_ = std::thread([this] {
            set_thread_shard_tag(-1);
            cluster_loader_loop();
        });
    }
    load_cv_.notify_all();
}

void group_service::cluster_loader_loop() {
    for (;;) {
        int32_t partition = 0;
        {
            std::unique_lock lock(load_mutex_);
            load_cv_.wait(lock, [this] {
                return stopping_.load(std::memory_order_acquire) || !load_queue_.empty();
            });
            if (stopping_.load(std::memory_order_acquire)) {
                return;
            }
            partition = load_queue_.front();
            load_queue_.pop_front();
        }
        bool loading = false;
        run_and_wait([&] { loading = coordinator_->is_loading(partition); });
        if (loading && !load_partition(partition)) {
            return;
        }
    }
}

void group_service::start() {
    if (started_) {
        return;
    }
    started_ = true;
    if (!config_.single_node()) {
        // In a cluster the controller says which partitions this broker leads
        // (on_leadership_change); nothing is loaded before.
        run_and_wait([this] {
            coordinator_->start();
            coordinator_started_ = true;
        });
        loaded_.store(true, std::memory_order_release);
        return;
    }
    const std::optional<topic_description> topic = store_.describe(offsets_topic_name);
    const int32_t partitions = topic ? topic->partition_count : 0;
    run_and_wait([this, partitions] {
        if (partitions > 0) {
            use_partition_count(partitions);
            for (int32_t p = 0; p < partitions; ++p) {
                coordinator_->begin_loading(p);
            }
        }
        coordinator_->start();
        coordinator_started_ = true;
    });
    if (partitions == 0) {
        loaded_.store(true, std::memory_order_release);
        return;
    }
    ready_.store(true, std::memory_order_release);
    loader_ = std::thread([this, partitions] {
        set_thread_shard_tag(-1);
        load_partitions(partitions);
    });
}

void group_service::stop() {
    if (stopped_) {
        return;
    }
    stopped_ = true;
    stopping_.store(true, std::memory_order_release);
    if (loader_.joinable()) {
        loader_.join();
    }
    {
        std::lock_guard lock(load_mutex_);
        load_cv_.notify_all();
    }
    if (cluster_loader_.joinable()) {
        cluster_loader_.join();
    }
    run_and_wait([this] {
        coordinator_->shutdown();
        scheduler_->stop();
    });
}

net::awaitable<error_code> group_service::ensure_offsets_topic() {
    if (ready_.load(std::memory_order_acquire)) {
        co_return error_code::none;
    }
    co_return co_await shards_.run_blocking([this] { return create_offsets_topic(); });
}

error_code group_service::create_offsets_topic() {
    std::lock_guard lock(create_mutex_);
    if (ready_.load(std::memory_order_acquire)) {
        return error_code::none;
    }
    if (stopping_.load(std::memory_order_acquire)) {
        return error_code::coordinator_not_available;
    }
    if (!store_.exists(offsets_topic_name)) {
        new_topic topic;
        topic.name = std::string(offsets_topic_name);
        topic.num_partitions = config_.offsets_topic_num_partitions;
        // One broker: the configured factor is capped to the brokers there are. In a cluster it is
        // offsets.topic.replication.factor (Kafka's 3 unless set): until that many brokers are up
        // the creation fails and FindCoordinator answers COORDINATOR_NOT_AVAILABLE, as Kafka's.
        topic.replication_factor = config_.single_node()
                                       ? int16_t{1}
                                       : config_.effective_offsets_topic_replication_factor();
        topic.internal = true;
        topic.configs["cleanup.policy"] = "compact";
        topic.configs["segment.bytes"] = std::to_string(config_.offsets_topic_segment_bytes);
        topic.configs["compression.type"] = "producer";
        const created_topic created = admin_.create_topic(topic, false);
        if (!config_.single_node() &&
            created.result.error == error_code::invalid_replication_factor) {
            BROKER_LOG_INFO("not creating " << offsets_topic_name
                                            << " yet: " << created.result.message.value_or(""));
            return error_code::coordinator_not_available;
        }
        if (!created.result.ok() && created.result.error != error_code::topic_already_exists) {
            BROKER_LOG_ERROR("creating " << offsets_topic_name
                                         << " failed: " << created.result.message.value_or(""));
            return created.result.error;
        }
    }
    if (!config_.single_node()) {
        // The controller elects the partitions' leaders; each loads its share
        // (on_leadership_change). FindCoordinator answers from the metadata cache meanwhile.
        ready_.store(true, std::memory_order_release);
        return error_code::none;
    }
    const std::optional<topic_description> topic = store_.describe(offsets_topic_name);
    if (!topic) {
        return error_code::coordinator_not_available;
    }
    const int32_t partitions = topic->partition_count;
    run_and_wait([this, partitions] {
        use_partition_count(partitions);
        std::vector<int32_t> owned(static_cast<std::size_t>(partitions));
        for (int32_t p = 0; p < partitions; ++p) {
            owned[static_cast<std::size_t>(p)] = p;
        }
        coordinator_->set_owned_partitions(owned);
    });
    ready_.store(true, std::memory_order_release);
    return error_code::none;
}

// ---------------------------------------------------------------------------------------------
// Loading

void group_service::load_partitions(int32_t partitions) {
    const auto started = std::chrono::steady_clock::now();
    for (int32_t p = 0; p < partitions; ++p) {
        if (!load_partition(p)) {
            return;
        }
    }
    loaded_.store(true, std::memory_order_release);
    const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - started);
    BROKER_LOG_INFO("loaded " << partitions << " partitions of " << offsets_topic_name << " in "
                              << elapsed.count() << " ms");
}

bool group_service::load_partition(int32_t partition) {
    const std::shared_ptr<server::partition> p =
        store_.find_partition(offsets_topic_name, partition);
    std::size_t applied = 0;
    std::size_t skipped = 0;
    int64_t next = 0;
    bool first = true;
    while (p) {
        if (stopping_.load(std::memory_order_acquire)) {
            return false;
        }
        if (first) {
            const std::optional<partition_offsets> offsets = p->offsets();
            if (!offsets) {
                break;
            }
            next = offsets->log_start_offset;
            first = false;
        }
        auto r = p->read_local(next, load_buffer_bytes);
        if (!r) {
            if (r.error() != log::errc::log_closed) {
                BROKER_LOG_ERROR("loading " << offsets_topic_name << "-" << partition
                                            << ": read at " << next
                                            << " failed: " << r.error().message());
            }
            break;
        }
        const log::read_result read = std::move(r).value();
        if (read.empty()) {
            break;
        }
        // File I/O without the partition's lock: the regions keep their files open.
        auto bytes = read.read_all();
        if (!bytes) {
            BROKER_LOG_ERROR("loading " << offsets_topic_name << "-" << partition
                                        << ": reading the log failed: " << bytes.error().message());
            break;
        }
        std::span<const uint8_t> rest(bytes.value());
        std::vector<offsets_record> records;
        int64_t progress = next;
        while (!rest.empty()) {
            const std::optional<std::size_t> size = protocol::peek_batch_size(rest);
            if (!size || *size > rest.size()) {
                break;  // a region cut short by a concurrent truncation: the log ends here
            }
            const std::span<const uint8_t> batch = rest.first(*size);
            rest = rest.subspan(*size);
            protocol::decoded_batch decoded;
            if (protocol::decode_batch(batch, decoded) != protocol::batch_error::ok) {
                const auto header = protocol::parse_batch_header(batch);
                if (header) {
                    progress = std::max(progress, header->last_offset() + 1);
                }
                ++skipped;
                continue;
            }
            progress = std::max(progress, decoded.header.last_offset() + 1);
            if (decoded.header.is_control()) {
                continue;  // transaction markers carry no group state
            }
            for (const protocol::record_view& record : decoded.records) {
                if (decoded.header.base_offset + record.offset_delta < next) {
                    continue;  // already replayed (the read started inside this batch)
                }
                if (!record.key) {
                    ++skipped;
                    continue;
                }
                offsets_record r;
                r.key.assign(record.key->begin(), record.key->end());
                if (record.value) {
                    r.value.emplace(record.value->begin(), record.value->end());
                }
                records.push_back(std::move(r));
            }
        }
        if (progress <= next) {
            break;  // no whole batch could be read: nothing more to replay
        }
        next = progress;
        if (!records.empty()) {
            coordinator::load_result result;
            run_and_wait([&] { result = coordinator_->load_partition(partition, records); });
            applied += result.applied;
            skipped += result.skipped;
        }
    }
    if (stopping_.load(std::memory_order_acquire)) {
        return false;
    }
    run_and_wait([&] {
        // Leadership may have moved away while loading (cluster mode): then it stays unloaded.
        if (coordinator_->is_loading(partition)) {
            coordinator_->finish_loading(partition);
        }
    });
    if (skipped > 0) {
        BROKER_LOG_WARN("loading " << offsets_topic_name << "-" << partition << ": skipped "
                                   << skipped << " unreadable records");
    }
    if (applied > 0) {
        BROKER_LOG_DEBUG("loaded " << applied << " records of " << offsets_topic_name << "-"
                                   << partition);
    }
    return true;
}

net::awaitable<std::vector<group_service::group_snapshot>> group_service::snapshot_groups(
    std::optional<std::string> group_id) {
    auto copy = [only = std::move(group_id)](coordinator::group_coordinator& c) {
        std::vector<std::string> ids;
        if (only) {
            ids.push_back(*only);
        } else {
            for (const coordinator::listed_group& g : c.list_groups({}, {}).groups) {
                ids.push_back(g.group_id);
            }
        }
        std::vector<group_snapshot> out;
        for (coordinator::described_group& d : c.describe_groups(ids)) {
            if (only && d.members.empty() && d.protocol_type.empty() &&
                (d.error != error_code::none || d.group_state == "Dead")) {
                // describe_groups reports an unknown group as Dead (or with an error before
                // __consumer_offsets exists); it is known if it still has offsets.
                const auto offsets = c.fetch_offsets(
                    coordinator::offset_fetch_group{d.group_id, std::nullopt}, false);
                if (offsets.topics.empty()) {
                    continue;
                }
            }
            group_snapshot g;
            g.group_id = std::move(d.group_id);
            g.state = std::move(d.group_state);
            g.protocol_type = std::move(d.protocol_type);
            g.protocol = std::move(d.protocol_data);
            g.error = d.error;
            for (coordinator::described_group_member& m : d.members) {
                g.members.push_back(group_snapshot::member{
                    std::move(m.member_id), std::move(m.group_instance_id), std::move(m.client_id),
                    std::move(m.client_host), std::move(m.member_assignment)});
            }
            const coordinator::offset_fetch_group_result offsets =
                c.fetch_offsets(coordinator::offset_fetch_group{g.group_id, std::nullopt}, false);
            if (g.error == error_code::none) {
                g.error = offsets.error;
            }
            for (const coordinator::offset_fetch_topic_result& t : offsets.topics) {
                for (const coordinator::offset_fetch_partition_result& p : t.partitions) {
                    if (p.error == error_code::none && p.committed_offset >= 0) {
                        g.offsets.push_back(group_snapshot::committed_offset{
                            t.name, p.partition_index, p.committed_offset, p.metadata});
                    }
                }
            }
            out.push_back(std::move(g));
        }
        return out;
    };
    std::vector<group_snapshot> groups = co_await call(std::move(copy));
    co_return groups;
}

}  // namespace broker::server
