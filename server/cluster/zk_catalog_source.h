#pragma once
// zk_catalog_source: the metadata source of cluster mode (server/metadata/metadata_source.h). The
// catalog lives in Kafka's znodes (zk/znodes.h) and this class reads it from there:
//   /brokers/topics                 the topic names (a child watch);
//   /brokers/topics/<t>             each topic's id and replica assignment (a data watch);
//   /config/topics/<t>              each topic's config overrides (an exists watch: a missing node
//                                   means no overrides, and its creation fires the watch);
//   /config/brokers/<default>       the cluster-wide dynamic broker configs (dynamic_default);
//   /config/brokers/<local id>      this broker's own dynamic broker configs (dynamic_broker).
// The internal flag of a topic comes from its name (is_internal_topic_name). A topic whose node
// is malformed (not Kafka's JSON, no topic id yet, a partition without replicas, an id another
// topic has) is left out of the catalog with a warning until its node changes.
//
// Config changes: the config nodes are watched directly, not Kafka's notification queue under
// /config/changes. Kafka's brokers follow /config/changes because they must know which entity to
// re-read without watching every config node; this source keeps one watch per config node it
// reads anyway (the topics it lists, the two broker entities), so a watch names the node that
// changed, no notification can be missed or replayed, and nothing has to track which sequence
// number was processed last. The notifications writers create (Kafka's tools, the ZooKeeper
// admin backend) are still written, for Kafka's brokers sharing the ensemble, and left to their
// readers.
//
// Versions: start() reads everything, builds the first catalog and delivers it (listener
// prepare, then apply; abandon when prepare fails). Afterwards each watch that fires marks what it
// covers as stale, and one refresh pass (started on a later turn of the executor, so a burst of
// watches is read and delivered once) re-reads the stale nodes, re-arms their watches and
// delivers the new catalog when it differs from the current one. A version whose prepare fails is
// abandoned and logged; the next change delivers a complete version again. When a read fails
// because the connection is lost, the pass is retried about a second later. When the session
// expires, an on_expired callback stops every read on the old client (and voids its answers),
// and the new-session handler this source registers on the zk::session re-reads everything on
// the new session (every watch of the old one is gone), re-arming the watches.
//
// Threading: start() and stop() are called from any thread other than the executor's (start()
// blocks until the first version is applied). `executor` must be the zk::session's executor (a
// single-threaded io_context, which completes the client's operations and runs its watches); all
// reads, watch handling and listener calls run there, one at a time. A mutex serialises each
// delivery with stop(), so no listener call is made after stop() returns (and a listener call
// must not call stop()). current() may be called from any thread.
//
// Lifetime: the session must outlive this object. The state shared with pending watches and
// reads is reference-counted, so a watch firing after destruction finds nothing to do.
#include <chrono>
#include <memory>

#include "common/asio.h"
#include "common/types.h"
#include "server/metadata/metadata_source.h"
#include "zk/session.h"

namespace broker::server::cluster {

namespace detail {
/// The source's state, shared with its pending reads and watches (zk_catalog_source.cpp).
struct catalog_source_state;
}  // namespace detail

/// See the file comment.
class zk_catalog_source final : public metadata_source {
public:
    /// How long start() waits for the first version by default.
    static constexpr std::chrono::milliseconds default_start_timeout{30000};

    /// `local`: this broker's id (which /config/brokers entity is its own). `start_timeout`
    /// bounds start().
    zk_catalog_source(zk::session& session, net::any_io_executor executor, node_id local,
                      std::chrono::milliseconds start_timeout = default_start_timeout);
    ~zk_catalog_source() override;
    zk_catalog_source(const zk_catalog_source&) = delete;
    zk_catalog_source& operator=(const zk_catalog_source&) = delete;

    /// Registers the new-session handler, reads the catalog and delivers it to `listener`; returns
    /// once it is applied. Throws std::runtime_error when it is not within the start timeout (the
    /// session not yet connected, ZooKeeper not answering) or when the listener cannot prepare it.
    /// A second call does nothing.
    void start(catalog_listener& listener) override;
    void stop() override;
    std::shared_ptr<const catalog> current() const override;

    /// How many versions were applied (tests wait on it).
    int64_t versions_applied() const;

private:
    std::shared_ptr<detail::catalog_source_state> state_;
};

}  // namespace broker::server::cluster
