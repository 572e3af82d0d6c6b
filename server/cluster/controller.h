#pragma once
// The controller (Kafka's KafkaController in ZooKeeper mode). Every broker runs one; the one whose
// session creates /controller is active, bumps /controller_epoch and, from one serialized event
// loop, owns the cluster's partition state:
//   - it assigns leaders to new partitions (the first live replica of the assignment; the live
//     replicas form the in-sync set) and writes each partition's state znode;
//   - it reacts to /brokers/ids (a broker gone: new leaders with a bumped leader epoch for the
//     partitions it led, in-sync sets shrunk; a broker back: it gets its roles), to
//     /brokers/topics (new topics, new partitions), to /admin/delete_topics (StopReplica with
//     deletion to every replica, then the topic's znodes go), and to the loss of /controller
//     (it resigns at once);
//   - it tells brokers their roles and the cluster state with LeaderAndIsr, UpdateMetadata and
//     StopReplica through a controller_channel, each carrying its controller epoch and the target's
//     broker epoch (the czxid of the target's /brokers/ids node);
//   - with auto.leader.rebalance.enable it moves leadership back to preferred replicas when a
//     broker's imbalance passes leader.imbalance.per.broker.percentage.
// Every write of the active controller is a multi that first checks /controller_epoch's version,
// so a controller that lost its place (a new one bumped the epoch) cannot change anything.
//
// Lifetime: one controller object per ZooKeeper session. The owner (the broker's cluster member)
// builds it on a connected session and runs run(); when the session expires, run() returns and the
// owner builds a new one on the new session. docs/cluster.md describes the state machine.
//
// Threading: everything runs on the zk client's executor (a single thread), including the
// channel's callbacks; the accessors are for that thread too.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <random>

#include "common/asio.h"
#include "server/cluster/controller_channel.h"
#include "zk/client.h"

namespace broker::server::cluster {

struct controller_settings {
    /// This broker's id (broker.id).
    int32_t broker_id = 0;
    /// The listener whose endpoint the controller connects to on every broker
    /// (inter.broker.listener.name, default: the first listener).
    std::string inter_broker_listener = "PLAINTEXT";
    /// unclean.leader.election.enable (the broker default; a topic override in
    /// /config/topics/<t> wins).
    bool unclean_leader_election_enable = false;
    /// auto.leader.rebalance.enable, leader.imbalance.per.broker.percentage,
    /// leader.imbalance.check.interval.seconds.
    bool auto_leader_rebalance_enable = true;
    int32_t leader_imbalance_per_broker_percentage = 10;
    std::chrono::milliseconds leader_imbalance_check_interval{std::chrono::seconds(300)};
    /// delete.topic.enable: when false, /admin/delete_topics entries are removed without deleting.
    bool delete_topic_enable = true;
    /// Seed of the generator behind replica placement (tests fix it; 0 = random).
    uint32_t seed = 0;
};

class controller {
public:
    /// `zk` (a connected session) and `channel` must outlive the controller.
    controller(zk::client& zk, controller_channel& channel, controller_settings settings);
    ~controller();
    controller(const controller&) = delete;
    controller& operator=(const controller&) = delete;

    /// Contends for /controller and, while active, runs the event loop. Returns after stop(), or
    /// when the session is lost (expired); it resigns first when active. Run it once.
    net::awaitable<void> run();
    /// Ends run() soon (it resigns: /controller is deleted when this broker holds it). Idempotent.
    void stop();

    /// True while this broker is the active controller.
    bool active() const;
    /// The epoch this controller won (0 when it never was active).
    int32_t epoch() const;
    /// The broker id in /controller as last seen (-1 when none).
    int32_t controller_id() const;
    /// Called on the executor whenever controller_id() changes.
    void on_controller_change(std::function<void(int32_t)> callback);

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace broker::server::cluster
