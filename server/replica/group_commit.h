#pragma once
// Group commit for flush.messages / flush.ms: flushes requested by appends are coordinated per
// partition so that concurrent producers share fsyncs. At most one flush per partition runs at a
// time; a producer whose data it covers waits for it, and producers arriving meanwhile wait and
// then share the next one, which covers everything appended until it starts. The registry holds an
// entry only while a flush runs. The fsync itself runs on the blocking pool.
//
// Thread-safety: any thread (one mutex); waiters are woken on their own executors.
#include "common/asio.h"

#include <cstdint>
#include <memory>
#include <mutex>
#include <system_error>
#include <unordered_map>
#include <vector>

#include "server/replica/partition.h"
#include "server/shard.h"

namespace broker::server {

class group_commit {
public:
    static group_commit& instance();

    /// Makes the offsets below `target` of `p` durable. Returns the flush's I/O error, if any
    /// (log_closed when the partition was deleted meanwhile).
    net::awaitable<std::error_code> flush(shard_group& shards, std::shared_ptr<partition> p,
                                          int64_t target);

private:
    /// One flush covering everything appended so far (at least up to `target`).
    static net::awaitable<std::error_code> flush_once(shard_group& shards, partition& p,
                                                      int64_t target);
    /// Ends the partition's in-flight flush and wakes everyone who waited for it.
    void finish(const partition* p);

    struct waiter {
        net::any_io_executor executor;
        net::steady_timer* timer;
    };
    struct state {
        bool in_flight = false;
        std::vector<waiter> waiters;
    };
    std::mutex mutex_;
    std::unordered_map<const partition*, state> states_;
};

}  // namespace broker::server
