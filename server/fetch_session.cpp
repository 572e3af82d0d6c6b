#include "server/fetch_session.h"

#include <limits>

namespace broker::server {

int32_t fetch_metadata::next_epoch(int32_t epoch) {
    if (epoch < 0) {
        return final_epoch;  // after the final epoch there is nothing
    }
    if (epoch == std::numeric_limits<int32_t>::max()) {
        return 1;  // 0 means "create a session", so the wrap skips it
    }
    return epoch + 1;
}

/// One session: its partitions in fetch order (indexed by key) and the cache's bookkeeping.
/// Guarded by fetch_session_cache's mutex; never touched without it.
class fetch_session {
public:
    struct cached_partition {
        fetch_partition_request request;
        // What the last response that listed the partition reported; -1 forces the next
        // response to list it (a new partition, or one that last reported an error).
        int64_t high_watermark = -1;
        int64_t last_stable_offset = -1;
        int64_t log_start_offset = -1;
    };

    fetch_session(int32_t id, bool privileged, bool uses_topic_ids, int64_t now_ms)
        : id(id),
          privileged(privileged),
          uses_topic_ids(uses_topic_ids),
          creation_ms(now_ms),
          last_used_ms(now_ms),
          epoch(fetch_metadata::next_epoch(fetch_metadata::initial_epoch)) {}

    const int32_t id;
    const bool privileged;
    const bool uses_topic_ids;
    const int64_t creation_ms;
    int64_t last_used_ms;
    /// The epoch the next incremental request must carry.
    int32_t epoch;
    /// Partition count as of the last touch (the cache's eviction key); -1 before the first.
    int64_t cached_size = -1;

    std::size_t size() const { return partitions_.size(); }
    bool empty() const { return partitions_.empty(); }

    /// Appends a partition (new ones go last) or replaces its fetch parameters in place.
    void add_or_update(const fetch_partition_request& request, int64_t high_watermark = -1,
                       int64_t last_stable_offset = -1, int64_t log_start_offset = -1) {
        const auto it = index_.find(request.key);
        if (it != index_.end()) {
            it->second->request = request;
            return;
        }
        partitions_.push_back(
            cached_partition{request, high_watermark, last_stable_offset, log_start_offset});
        index_.emplace(request.key, std::prev(partitions_.end()));
    }

    void forget(const fetch_key& key) {
        const auto it = index_.find(key);
        if (it != index_.end()) {
            partitions_.erase(it->second);
            index_.erase(it);
        }
    }

    std::vector<fetch_partition_request> requests() const {
        std::vector<fetch_partition_request> out;
        out.reserve(partitions_.size());
        for (const cached_partition& p : partitions_) {
            out.push_back(p.request);
        }
        return out;
    }

    std::vector<fetch_key> keys() const {
        std::vector<fetch_key> out;
        out.reserve(partitions_.size());
        for (const cached_partition& p : partitions_) {
            out.push_back(p.request.key);
        }
        return out;
    }

    /// Decides whether an incremental response must list `data`, and records what it reports.
    /// Partitions that returned records move to the end of the fetch order.
    bool must_respond(const fetch_key& key, const protocol::fetch_response::partition_data& data) {
        const auto it = index_.find(key);
        if (it == index_.end()) {
            return true;  // not (or no longer) in the session: never hide it
        }
        cached_partition& cached = *it->second;
        const bool has_records = data.records && data.records->size() > 0;
        bool must = has_records;
        if (cached.high_watermark != data.high_watermark) {
            must = true;
            cached.high_watermark = data.high_watermark;
        }
        if (cached.last_stable_offset != data.last_stable_offset) {
            must = true;
            cached.last_stable_offset = data.last_stable_offset;
        }
        if (cached.log_start_offset != data.log_start_offset) {
            must = true;
            cached.log_start_offset = data.log_start_offset;
        }
        if (data.preferred_read_replica != -1) {
            must = true;
        }
        if (data.error_code != 0) {
            // Reported every time; the cleared watermark makes the partition reappear once the
            // error is gone.
            must = true;
            cached.high_watermark = -1;
        }
        if (data.diverging_epoch.epoch != -1) {
            must = true;
        }
        if (must && has_records) {
            partitions_.splice(partitions_.end(), partitions_, it->second);
        }
        return must;
    }

private:
    std::list<cached_partition> partitions_;
    std::map<fetch_key, std::list<cached_partition>::iterator> index_;
};

int32_t fetch_context::session_id() const {
    return session_ ? session_->id : fetch_metadata::invalid_session_id;
}

namespace {

/// The request's partitions with duplicates merged: the first occurrence keeps its position and
/// the last one's parameters win (a request is a map from partition to parameters).
std::vector<fetch_partition_request> merge_duplicates(std::vector<fetch_partition_request> data) {
    std::map<fetch_key, std::size_t> seen;
    std::vector<fetch_partition_request> out;
    out.reserve(data.size());
    for (fetch_partition_request& r : data) {
        const auto [it, inserted] = seen.emplace(r.key, out.size());
        if (inserted) {
            out.push_back(std::move(r));
        } else {
            out[it->second] = std::move(r);
        }
    }
    return out;
}

}  // namespace

fetch_session_cache::fetch_session_cache(std::size_t max_entries, int64_t eviction_ms)
    : max_entries_(max_entries), eviction_ms_(eviction_ms), random_(std::random_device{}()) {}

fetch_session_cache::~fetch_session_cache() = default;

fetch_context fetch_session_cache::new_context(const fetch_metadata& metadata, bool uses_topic_ids,
                                               bool from_follower,
                                               std::vector<fetch_partition_request> fetch_data,
                                               const std::vector<fetch_key>& to_forget,
                                               int64_t now_ms) {
    fetch_context context;
    context.uses_topic_ids_ = uses_topic_ids;
    context.privileged_ = from_follower;
    context.request_epoch_ = metadata.epoch;
    fetch_data = merge_duplicates(std::move(fetch_data));

    if (metadata.is_full()) {
        if (metadata.session_id != fetch_metadata::invalid_session_id) {
            // A full request closes whatever session it names.
            std::lock_guard lock(mutex_);
            const auto it = sessions_.find(metadata.session_id);
            if (it != sessions_.end()) {
                remove_locked(it->second);
            }
        }
        context.kind_ = metadata.epoch == fetch_metadata::final_epoch
                            ? fetch_context::kind::sessionless
                            : fetch_context::kind::full;
        context.partitions_ = std::move(fetch_data);
        return context;
    }

    std::lock_guard lock(mutex_);
    const auto it = sessions_.find(metadata.session_id);
    if (it == sessions_.end()) {
        context.kind_ = fetch_context::kind::session_error;
        context.error_ = protocol::error_code::fetch_session_id_not_found;
        return context;
    }
    const std::shared_ptr<fetch_session> session = it->second;
    if (session->epoch != metadata.epoch) {
        context.kind_ = fetch_context::kind::session_error;
        context.error_ = protocol::error_code::invalid_fetch_session_epoch;
        return context;
    }
    if (session->uses_topic_ids != uses_topic_ids) {
        context.kind_ = fetch_context::kind::session_error;
        context.error_ = protocol::error_code::fetch_session_topic_id_error;
        return context;
    }
    for (const fetch_partition_request& r : fetch_data) {
        session->add_or_update(r);
    }
    for (const fetch_key& key : to_forget) {
        session->forget(key);
    }
    if (session->empty()) {
        // Nothing left to follow: close the session and answer this request on its own.
        remove_locked(session);
        context.kind_ = fetch_context::kind::sessionless;
        context.partitions_ = std::move(fetch_data);
        return context;
    }
    touch_locked(session, now_ms);
    session->epoch = fetch_metadata::next_epoch(session->epoch);
    context.kind_ = fetch_context::kind::incremental;
    context.partitions_ = session->requests();
    context.session_ = session;
    return context;
}

fetch_completion fetch_session_cache::complete(fetch_context& context,
                                               std::vector<fetch_partition_response>& responses,
                                               int64_t now_ms) {
    switch (context.kind_) {
        case fetch_context::kind::session_error:
            responses.clear();
            return {context.error_, fetch_metadata::invalid_session_id};
        case fetch_context::kind::sessionless: return {};
        case fetch_context::kind::full: {
            std::lock_guard lock(mutex_);
            return {protocol::error_code::none,
                    maybe_create_session_locked(now_ms, context.privileged_,
                                                context.uses_topic_ids_, context, responses)};
        }
        case fetch_context::kind::incremental: break;
    }
    std::lock_guard lock(mutex_);
    fetch_session& session = *context.session_;
    if (session.epoch != fetch_metadata::next_epoch(context.request_epoch_)) {
        // Another request with the same epoch went through meanwhile (a duplicate).
        responses.clear();
        return {protocol::error_code::invalid_fetch_session_epoch, session.id};
    }
    std::vector<fetch_partition_response> kept;
    kept.reserve(responses.size());
    for (fetch_partition_response& r : responses) {
        if (session.must_respond(r.key, r.data)) {
            kept.push_back(std::move(r));
        }
    }
    responses = std::move(kept);
    return {protocol::error_code::none, session.id};
}

int32_t fetch_session_cache::new_session_id_locked() {
    // Positive and unique on this broker; 0 means "no session".
    std::uniform_int_distribution<int32_t> pick(1, std::numeric_limits<int32_t>::max() - 1);
    int32_t id = 0;
    do {
        id = pick(random_);
    } while (sessions_.count(id) != 0);
    return id;
}

int32_t fetch_session_cache::maybe_create_session_locked(
    int64_t now_ms, bool privileged, bool uses_topic_ids, const fetch_context& context,
    const std::vector<fetch_partition_response>& responses) {
    const auto size = static_cast<int64_t>(responses.size());
    if (sessions_.size() >= max_entries_ &&
        !try_evict_locked(privileged, evictable_key{privileged, size, 0}, now_ms)) {
        return fetch_metadata::invalid_session_id;
    }
    std::map<fetch_key, const fetch_partition_request*> requested;
    for (const fetch_partition_request& r : context.partitions_) {
        requested.emplace(r.key, &r);
    }
    auto session = std::make_shared<fetch_session>(new_session_id_locked(), privileged,
                                                   uses_topic_ids, now_ms);
    for (const fetch_partition_response& r : responses) {
        const auto it = requested.find(r.key);
        if (it == requested.end()) {
            continue;
        }
        session->add_or_update(*it->second, r.data.high_watermark, r.data.last_stable_offset,
                               r.data.log_start_offset);
    }
    sessions_.emplace(session->id, session);
    touch_locked(session, now_ms);
    return session->id;
}

bool fetch_session_cache::try_evict_locked(bool privileged, const evictable_key& key,
                                           int64_t now_ms) {
    if (last_used_.empty()) {
        return false;
    }
    const auto oldest = last_used_.begin();
    if (now_ms - oldest->first.first > eviction_ms_) {
        remove_locked(oldest->second);  // stale
        return true;
    }
    auto& candidates = privileged ? evictable_by_privileged_ : evictable_by_all_;
    if (candidates.empty()) {
        return false;
    }
    const auto least = candidates.begin();
    if (key < least->first) {
        return false;  // the newcomer is worth less than every evictable session
    }
    remove_locked(least->second);
    return true;
}

void fetch_session_cache::remove_locked(std::shared_ptr<fetch_session> session) {
    last_used_.erase(last_used_key{session->last_used_ms, session->id});
    const evictable_key key{session->privileged, session->cached_size, session->id};
    evictable_by_all_.erase(key);
    evictable_by_privileged_.erase(key);
    if (sessions_.erase(session->id) != 0) {
        total_partitions_ -= session->cached_size;
    }
}

void fetch_session_cache::touch_locked(const std::shared_ptr<fetch_session>& session,
                                       int64_t now_ms) {
    last_used_.erase(last_used_key{session->last_used_ms, session->id});
    session->last_used_ms = now_ms;
    last_used_.emplace(last_used_key{session->last_used_ms, session->id}, session);

    if (session->cached_size != -1) {
        const evictable_key old_key{session->privileged, session->cached_size, session->id};
        evictable_by_privileged_.erase(old_key);
        evictable_by_all_.erase(old_key);
        total_partitions_ -= session->cached_size;
    }
    session->cached_size = static_cast<int64_t>(session->size());
    const evictable_key key{session->privileged, session->cached_size, session->id};
    const bool old_enough = now_ms - session->creation_ms > eviction_ms_;
    if (!session->privileged || old_enough) {
        evictable_by_privileged_.emplace(key, session);
    }
    if (old_enough) {
        evictable_by_all_.emplace(key, session);
    }
    total_partitions_ += session->cached_size;
}

std::size_t fetch_session_cache::size() const {
    std::lock_guard lock(mutex_);
    return sessions_.size();
}

int64_t fetch_session_cache::total_partitions() const {
    std::lock_guard lock(mutex_);
    return total_partitions_;
}

bool fetch_session_cache::contains(int32_t session_id) const {
    std::lock_guard lock(mutex_);
    return sessions_.count(session_id) != 0;
}

std::optional<int32_t> fetch_session_cache::expected_epoch(int32_t session_id) const {
    std::lock_guard lock(mutex_);
    const auto it = sessions_.find(session_id);
    if (it == sessions_.end()) {
        return std::nullopt;
    }
    return it->second->epoch;
}

std::optional<std::vector<fetch_key>> fetch_session_cache::partitions_of(int32_t session_id) const {
    std::lock_guard lock(mutex_);
    const auto it = sessions_.find(session_id);
    if (it == sessions_.end()) {
        return std::nullopt;
    }
    return it->second->keys();
}

}  // namespace broker::server
