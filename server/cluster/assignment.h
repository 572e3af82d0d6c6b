#pragma once
// The controller's pure decisions: where the replicas of new partitions go, and which replica
// leads a partition. Kafka's rules (AdminUtils.assignReplicasToBrokers and the controller's
// PartitionLeaderElectionAlgorithms), kept free of ZooKeeper and I/O so unit tests can check each
// case exactly.
//
// Pure functions; any thread. Randomness comes from the caller's generator (tests seed it).
#include <cstdint>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "protocol/errors.h"

namespace broker::server::cluster {

/// A live broker as replica placement sees it.
struct broker_placement {
    int32_t id = -1;
    std::optional<std::string> rack;
};

/// The outcome of a placement: the replica list of each new partition (in partition order), or
/// Kafka's error code and message.
struct assignment_result {
    protocol::error_code error = protocol::error_code::none;
    std::string message;
    std::vector<std::vector<int32_t>> replicas;

    bool ok() const { return error == protocol::error_code::none; }
};

/// Places `partitions` new partitions with `replication_factor` replicas each over `brokers`, as
/// Kafka's AdminUtils does: without racks, round robin from a start index, followers shifted by an
/// increasing amount each time the round robin wraps; with a rack on every broker, brokers
/// interleaved across racks and no two replicas of a partition on one rack while racks remain.
/// `start_index` < 0 draws a random start (and shift) from `rng`, as Kafka does; `first_partition`
/// is the index of the first new partition (partitions added to an existing topic continue its
/// pattern: Kafka passes the current count).
/// Errors: INVALID_REPLICATION_FACTOR ("Replication factor must be larger than 0." / "Replication
/// factor: 3 larger than available brokers: 1."), INVALID_PARTITIONS (count <= 0),
/// INVALID_REPLICATION_FACTOR for brokers with racks mixed with brokers without (Kafka's message:
/// "Not all brokers have rack information for replica rack aware assignment.").
assignment_result assign_replicas(std::span<const broker_placement> brokers, int32_t partitions,
                                  int16_t replication_factor, std::mt19937& rng,
                                  int32_t start_index = -1, int32_t first_partition = 0);

/// Offline (or new) partition election: the first replica of `assignment` that is live and in
/// `isr`; when none is and `unclean` is allowed, the first live replica of the assignment (an
/// unclean election: the caller logs it and counts it); else nullopt.
struct election {
    int32_t leader = -1;
    bool unclean = false;
};
std::optional<election> elect_offline(std::span<const int32_t> assignment,
                                      std::span<const int32_t> isr, std::span<const int32_t> live,
                                      bool unclean);

/// Preferred replica election: the first replica of `assignment`, when it is live and in `isr`.
std::optional<int32_t> elect_preferred(std::span<const int32_t> assignment,
                                       std::span<const int32_t> isr, std::span<const int32_t> live);

/// Controlled shutdown election: the first replica of `assignment` that is live, in `isr` and not
/// shutting down.
std::optional<int32_t> elect_controlled_shutdown(std::span<const int32_t> assignment,
                                                 std::span<const int32_t> isr,
                                                 std::span<const int32_t> live,
                                                 std::span<const int32_t> shutting_down);

}  // namespace broker::server::cluster
