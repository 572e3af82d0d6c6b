#pragma once
// The request-path harness: runs one request frame through exactly what a connection does with it
// (header decode, the served-API and version checks, dispatch into the real handler) against an
// in-process broker on a temporary log dir, and checks the result.
//
// Invariants checked for every frame (anything else is a `violation`):
//   - the frame either is refused before dispatch (connection closed: malformed header, unknown or
//     unserved key, unsupported version), or the handler completes;
//   - a handler's response is well formed: the size prefix matches the bytes on the wire, the
//     response header (v0/v1 as the registry says) carries the request's correlation id, and the
//     body decodes with the response schema at the request's version (v0 for an ApiVersions
//     request of a version the broker does not serve, KIP-511) with no trailing bytes;
//   - no response and no close happens only for Produce with acks=0;
//   - no exception escapes a handler;
//   - a handler that parks (long-poll Fetch, group joins) finishes once its connection is closed.
// Sanitizer reports (ASan, UBSan, LSan) abort the process; the fuzzer's death callback saves the
// input first.
//
// Owner and threading: one harness per thread that calls run(); the broker it owns runs handlers
// on its own shard threads, run() blocks until the handler finishes. restart() replaces the broker
// with a fresh one on a fresh directory, which bounds on-disk and in-memory state during long runs.
#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace broker::server {
class broker_server;
}

namespace broker::server::fuzz {

/// What happened to one frame.
struct request_outcome {
    enum class kind : uint8_t {
        closed_before_dispatch,  // header unreadable, key unknown/unserved, version unsupported
        answered,                // handler sent a response (and may also close)
        no_reply,                // Produce acks=0 without errors
        closed_by_handler,       // handler closed without answering (malformed body, acks=0 error)
        closed_while_parked,     // handler had to be woken by closing the connection
    };
    kind result = kind::closed_before_dispatch;
    int16_t api_key = -1;
    int16_t api_version = -1;
    /// Empty when every invariant held; otherwise what broke.
    std::string violation;
};

std::string_view outcome_name(request_outcome::kind k);

class request_path_harness {
public:
    struct options {
        unsigned shards = 2;
        /// How long a handler may run before the harness closes its "connection" (long polls park
        /// until then), and how long it may take to finish after that.
        std::chrono::milliseconds park_limit{250};
        std::chrono::milliseconds close_limit{10000};
    };

    request_path_harness();
    explicit request_path_harness(options opts);
    ~request_path_harness();
    request_path_harness(const request_path_harness&) = delete;
    request_path_harness& operator=(const request_path_harness&) = delete;

    /// Runs one request frame (everything after the 4-byte size prefix) on shard `shard % shards`.
    request_outcome run(std::span<const uint8_t> frame, unsigned shard = 0);

    /// Stops the broker and starts a fresh one on a new, empty log dir.
    void restart();

    /// Frames that put the fresh broker into a state worth fuzzing (a topic with data, a group);
    /// run after every start. Also useful as seeds.
    static std::vector<std::vector<uint8_t>> setup_frames();

private:
    void start();
    void stop();

    options options_;
    std::string dir_;
    std::unique_ptr<broker_server> server_;
};

/// Live heap bytes as the allocator sees them (excluding ASan's quarantine when built with it).
std::size_t live_heap_bytes();

}  // namespace broker::server::fuzz
