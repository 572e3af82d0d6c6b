#pragma once
// Fetch sessions (KIP-227): the broker remembers what a fetcher asked for, so that later requests
// carry only the partitions that changed and responses carry only the partitions with news.
//
// Request metadata (FetchRequest v7+ SessionId / SessionEpoch):
//   - session 0, epoch -1: a full fetch with no session (librdkafka, kafkajs, and every v4-v6
//     request, whose schema has no session fields);
//   - epoch 0: a full fetch that asks for a new session (any session id given is closed first); the
//     response's session id is the new session, or 0 when the cache has no room;
//   - epoch -1 with a non-zero session id: closes that session and is answered as a sessionless
//     full fetch;
//   - epoch n > 0: an incremental fetch in session `id`. The listed partitions are added or have
//     their fetch parameters replaced, ForgottenTopicsData removes partitions, and every other
//     partition of the session is fetched with the parameters remembered from before. The epoch
//     must be the session's current one (INVALID_FETCH_SESSION_EPOCH otherwise); an unknown id is
//     FETCH_SESSION_ID_NOT_FOUND; a session created with topic ids (v13+) cannot be continued
//     with names and vice versa (FETCH_SESSION_TOPIC_ID_ERROR). After a successful incremental
//     request the session expects epoch n+1 (wrapping from INT32_MAX to 1). A session left without
//     partitions is closed and the request served sessionless.
//   - an incremental response lists a partition only when it has records, a high watermark, log
//     start offset or last stable offset different from what the session last reported, an error,
//     or a diverging epoch. A partition that returned records moves to the end of the session's
//     order, so the next response starts with the others (fairness across partitions).
//
// Cache eviction (Kafka's FetchSessionCache rules, one cache for the whole broker):
//   the cache holds at most max.incremental.fetch.session.cache.slots sessions. A new session finds
//   room by evicting, in this order: the least recently used session if it was idle for more than
//   `eviction_ms` (2 minutes, Kafka's minimum eviction time); else the "least valuable" evictable
//   session, ordered by (privileged, partition count, id), if the new one is worth at least as much
//   (a follower's session beats a consumer's; otherwise strictly more partitions win). A session is
//   evictable by consumers only once it is older than `eviction_ms`; by followers (privileged)
//   immediately when it belongs to a consumer.
//
// Threading: one mutex guards the whole cache, the sessions in it included; every public member
// function takes it briefly (no I/O, no waiting under it). Sessions are broker-wide, not tied to a
// connection, so a client may continue a session over a new connection. A fetch_context may outlive
// the request's wait for data (long polling) and is completed with complete(); a session evicted or
// closed in between is simply no longer in the cache, and the fetcher learns it on its next
// request.
#include <cstddef>
#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "protocol/errors.h"
#include "protocol/generated/fetch_response.h"
#include "protocol/wire.h"

namespace broker::server {

/// Names one partition of a fetch: by topic id from Fetch v13 (`topic` empty), by topic name
/// before (`topic_id` zero). A session uses one form for all its partitions.
struct fetch_key {
    protocol::uuid topic_id;
    std::string topic;
    int32_t partition = 0;

    friend auto operator<=>(const fetch_key&, const fetch_key&) = default;
};

/// What a fetcher asks of one partition: the request's fields, or what a session remembers.
struct fetch_partition_request {
    fetch_key key;
    int64_t fetch_offset = 0;
    int32_t partition_max_bytes = 0;
    /// v9+: the leader epoch the fetcher believes current; -1 = not checked.
    int32_t current_leader_epoch = -1;
    /// v12+: epoch of the last batch the fetcher has (followers); -1 = not checked.
    int32_t last_fetched_epoch = -1;
    /// v5+: the fetcher's own log start offset (followers); -1 for consumers.
    int64_t log_start_offset = -1;
};

/// One partition of a response and the key it answers.
struct fetch_partition_response {
    fetch_key key;
    protocol::fetch_response::partition_data data;
};

/// The session fields of a Fetch request (defaults: no session, full fetch).
struct fetch_metadata {
    static constexpr int32_t invalid_session_id = 0;
    static constexpr int32_t initial_epoch = 0;
    static constexpr int32_t final_epoch = -1;

    int32_t session_id = invalid_session_id;
    int32_t epoch = final_epoch;

    /// Epochs 0 and -1 carry every partition; any other epoch is incremental.
    bool is_full() const { return epoch == initial_epoch || epoch == final_epoch; }
    /// The epoch expected after `epoch`: -1 stays -1, INT32_MAX wraps to 1.
    static int32_t next_epoch(int32_t epoch);
};

class fetch_session;

/// How one Fetch request relates to the session cache, from fetch_session_cache::new_context()
/// until complete(). Owned by the request; not thread-safe on its own (one request uses it).
class fetch_context {
public:
    enum class kind {
        session_error,  ///< the session fields are wrong: answer error() and no partitions
        sessionless,    ///< full fetch, no session kept (epoch -1, or a session emptied)
        full,           ///< full fetch that asks for a new session (epoch 0)
        incremental,    ///< continues a session
    };

    kind type() const { return kind_; }
    /// The session error (kind::session_error), else none.
    protocol::error_code error() const { return error_; }
    /// Partitions to read, in the order the response lists them: the request's order for full and
    /// sessionless fetches (duplicates merged, the last parameters winning), the session's order
    /// for incremental ones.
    const std::vector<fetch_partition_request>& partitions() const { return partitions_; }
    /// The session this request continues (kind::incremental), else 0.
    int32_t session_id() const;

private:
    friend class fetch_session_cache;

    kind kind_ = kind::sessionless;
    protocol::error_code error_ = protocol::error_code::none;
    std::vector<fetch_partition_request> partitions_;
    bool uses_topic_ids_ = false;
    bool privileged_ = false;
    int32_t request_epoch_ = fetch_metadata::final_epoch;
    std::shared_ptr<fetch_session> session_;
};

/// What the response's top level says once the partitions were read.
struct fetch_completion {
    protocol::error_code error = protocol::error_code::none;
    int32_t session_id = fetch_metadata::invalid_session_id;
};

/// The broker-wide cache of fetch sessions; see the file comment.
class fetch_session_cache {
public:
    /// Kafka's minimum time before an unused session may be evicted.
    static constexpr int64_t default_eviction_ms = 120'000;

    /// `max_entries` = max.incremental.fetch.session.cache.slots (0 disables sessions).
    explicit fetch_session_cache(std::size_t max_entries,
                                 int64_t eviction_ms = default_eviction_ms);
    ~fetch_session_cache();
    fetch_session_cache(const fetch_session_cache&) = delete;
    fetch_session_cache& operator=(const fetch_session_cache&) = delete;

    /// Interprets a request's session fields. `fetch_data` are the request's partitions in request
    /// order, `to_forget` its ForgottenTopicsData; `uses_topic_ids` is true for v13+ requests;
    /// `from_follower` marks privileged (replica) fetchers. Incremental requests update the session
    /// here (added, updated, forgotten partitions; the epoch advances).
    fetch_context new_context(const fetch_metadata& metadata, bool uses_topic_ids,
                              bool from_follower, std::vector<fetch_partition_request> fetch_data,
                              const std::vector<fetch_key>& to_forget, int64_t now_ms);

    /// Finishes a request once every partition of context.partitions() was read. `responses` holds
    /// one entry per partition (any order; complete() keeps the order given). For a full fetch this
    /// may create a session; for an incremental one it drops the partitions with nothing new and
    /// records what was reported; for a session error it clears `responses`.
    fetch_completion complete(fetch_context& context,
                              std::vector<fetch_partition_response>& responses, int64_t now_ms);

    // Introspection (metrics and tests).
    std::size_t size() const;
    /// Partitions over all sessions, as of each session's last use.
    int64_t total_partitions() const;
    bool contains(int32_t session_id) const;
    /// The epoch the session expects next, when it exists.
    std::optional<int32_t> expected_epoch(int32_t session_id) const;
    /// The session's partitions in their current order, when it exists.
    std::optional<std::vector<fetch_key>> partitions_of(int32_t session_id) const;

private:
    using last_used_key = std::pair<int64_t, int32_t>;         // (last used ms, id)
    using evictable_key = std::tuple<bool, int64_t, int32_t>;  // (privileged, size, id)

    int32_t new_session_id_locked();
    int32_t maybe_create_session_locked(int64_t now_ms, bool privileged, bool uses_topic_ids,
                                        const fetch_context& context,
                                        const std::vector<fetch_partition_response>& responses);
    bool try_evict_locked(bool privileged, const evictable_key& key, int64_t now_ms);
    // By value: callers pass the cache's own entries, which removal erases.
    void remove_locked(std::shared_ptr<fetch_session> session);
    void touch_locked(const std::shared_ptr<fetch_session>& session, int64_t now_ms);

    const std::size_t max_entries_;
    const int64_t eviction_ms_;

    mutable std::mutex mutex_;
    std::map<int32_t, std::shared_ptr<fetch_session>> sessions_;
    std::map<last_used_key, std::shared_ptr<fetch_session>> last_used_;
    /// Sessions any new session may evict (older than eviction_ms).
    std::map<evictable_key, std::shared_ptr<fetch_session>> evictable_by_all_;
    /// Sessions a privileged (follower) session may evict: consumers' at once, followers' once old.
    std::map<evictable_key, std::shared_ptr<fetch_session>> evictable_by_privileged_;
    int64_t total_partitions_ = 0;
    std::mt19937 random_;
};

}  // namespace broker::server
