#pragma once
// Where the broker's catalog comes from, and how a new version reaches the parts of the broker
// that act on it.
//
// A metadata source delivers catalog versions (server/metadata/catalog.h), in order, to one
// listener. Applying a version is two-phase so a source can make sure the broker can serve a
// version before anyone sees it:
//   1. prepare(next): do the slow, fallible local work `next` needs (open the logs of partitions
//      this broker will host) without making anything visible;
//   2. apply(next) makes it current (the new partitions are hosted, removed topics are dropped,
//      changed configs are pushed to the logs, the metadata cache is republished), or abandon(next)
//      releases what prepare() opened when the source decides not to go ahead.
//
// Implementations:
//   - local_catalog (server/metadata/local_catalog.h): the single node's catalog file. A change
//     comes from this broker's own admin backend; it is prepared, then written to the file, then
//     applied, so a topic is never listed in the file before its directories exist.
//   - A ZooKeeper-backed source (the cluster) reads the same catalog from Kafka's znodes and
//     watches them; the controller's leadership decisions reach the replica manager separately.
//
// Threading: a source calls its listener from one thread at a time, never concurrently.
#include <memory>
#include <system_error>

#include "server/metadata/catalog.h"

namespace broker::server {

/// Receives catalog versions; see the file comment.
class catalog_listener {
public:
    virtual ~catalog_listener() = default;
    /// Prepares local storage for `next` without making it visible. An error means this broker
    /// cannot serve `next` (the source then abandons it, or reports the partitions offline).
    virtual std::error_code prepare(const catalog& next) = 0;
    /// Makes `next` the current version.
    virtual void apply(std::shared_ptr<const catalog> next) = 0;
    /// Releases what prepare(next) opened; `next` will not be applied.
    virtual void abandon(const catalog& next) = 0;
};

/// The source of catalog versions; see the file comment.
class metadata_source {
public:
    virtual ~metadata_source() = default;
    /// Reads the current catalog and delivers it to `listener` (prepare, then apply), then keeps
    /// delivering changes to it until stop(). Blocking. Throws std::runtime_error with an
    /// operator-facing message when the catalog cannot be read or the first version not prepared.
    virtual void start(catalog_listener& listener) = 0;
    /// No version is delivered after this returns. Idempotent.
    virtual void stop() = 0;
    /// The version last applied; an empty catalog before start().
    virtual std::shared_ptr<const catalog> current() const = 0;
};

}  // namespace broker::server
