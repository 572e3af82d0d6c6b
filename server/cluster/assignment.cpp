// Replica placement and leader election rules (see assignment.h).
//
// Placement follows Kafka's AdminUtils.assignReplicasToBrokers. The brokers are taken in id order
// (Kafka's callers sort them by id before placing), so the same cluster gives the same placement
// whatever order the caller lists its brokers in.
#include "server/cluster/assignment.h"

#include <algorithm>
#include <map>
#include <set>

namespace broker::server::cluster {

namespace {

assignment_result failure(protocol::error_code code, std::string message) {
    assignment_result out;
    out.error = code;
    out.message = std::move(message);
    return out;
}

// The broker index of a follower: past the first replica by 1 + (shift + j) mod (n - 1), so a
// follower never lands on the first replica and the shift spreads followers differently on each
// pass of the round robin.
int32_t follower_index(int32_t first_index, int64_t shift, int64_t j, int32_t broker_count) {
    const int64_t offset = 1 + (shift + j) % (broker_count - 1);
    return static_cast<int32_t>((first_index + offset) % broker_count);
}

// The start index and the initial follower shift: fixed, or both drawn at random.
std::pair<int32_t, int32_t> start_and_shift(int32_t start_index, int32_t broker_count,
                                            std::mt19937& rng) {
    if (start_index >= 0) {
        return {start_index, start_index};
    }
    std::uniform_int_distribution<int32_t> pick(0, broker_count - 1);
    const int32_t start = pick(rng);
    const int32_t shift = pick(rng);
    return {start, shift};
}

std::vector<std::vector<int32_t>> place_rack_unaware(const std::vector<int32_t>& brokers,
                                                     int32_t partitions, int16_t replication_factor,
                                                     int32_t start_index, int32_t first_partition,
                                                     std::mt19937& rng) {
    const auto count = static_cast<int32_t>(brokers.size());
    auto [start, shift] = start_and_shift(start_index, count, rng);
    int64_t next_shift = shift;
    int64_t partition = std::max(0, first_partition);
    std::vector<std::vector<int32_t>> out;
    out.reserve(static_cast<std::size_t>(partitions));
    for (int32_t i = 0; i < partitions; ++i, ++partition) {
        if (partition > 0 && partition % count == 0) {
            ++next_shift;
        }
        const auto first = static_cast<int32_t>((partition + start) % count);
        std::vector<int32_t> replicas{brokers[static_cast<std::size_t>(first)]};
        for (int32_t j = 0; j < replication_factor - 1; ++j) {
            replicas.push_back(
                brokers[static_cast<std::size_t>(follower_index(first, next_shift, j, count))]);
        }
        out.push_back(std::move(replicas));
    }
    return out;
}

// Kafka's rack-alternated list: racks in name order, each contributing its next broker (in id
// order) in turn, so consecutive entries sit on different racks while racks last.
std::vector<int32_t> rack_alternated(const std::map<int32_t, std::string>& rack_of) {
    std::map<std::string, std::vector<int32_t>> by_rack;
    for (const auto& [id, rack] : rack_of) {
        by_rack[rack].push_back(id);  // ids arrive in ascending order
    }
    std::vector<int32_t> out;
    out.reserve(rack_of.size());
    for (std::size_t round = 0; out.size() < rack_of.size(); ++round) {
        for (const auto& [rack, ids] : by_rack) {
            if (round < ids.size()) {
                out.push_back(ids[round]);
            }
        }
    }
    return out;
}

std::vector<std::vector<int32_t>> place_rack_aware(const std::map<int32_t, std::string>& rack_of,
                                                   int32_t partitions, int16_t replication_factor,
                                                   int32_t start_index, int32_t first_partition,
                                                   std::mt19937& rng) {
    std::set<std::string> racks;
    for (const auto& [id, rack] : rack_of) {
        racks.insert(rack);
    }
    const auto rack_count = static_cast<int64_t>(racks.size());
    const std::vector<int32_t> brokers = rack_alternated(rack_of);
    const auto count = static_cast<int32_t>(brokers.size());
    auto [start, shift] = start_and_shift(start_index, count, rng);
    int64_t next_shift = shift;
    int64_t partition = std::max(0, first_partition);
    std::vector<std::vector<int32_t>> out;
    out.reserve(static_cast<std::size_t>(partitions));
    for (int32_t i = 0; i < partitions; ++i, ++partition) {
        if (partition > 0 && partition % count == 0) {
            ++next_shift;
        }
        const auto first = static_cast<int32_t>((partition + start) % count);
        const int32_t leader = brokers[static_cast<std::size_t>(first)];
        std::vector<int32_t> replicas{leader};
        std::set<std::string> racks_used{rack_of.at(leader)};
        std::set<int32_t> brokers_used{leader};
        int64_t k = 0;
        for (int32_t j = 0; j < replication_factor - 1; ++j) {
            // Walk the alternated list from the shifted position; take the first broker on a rack
            // without a replica (until every rack has one) that holds no replica yet (until every
            // broker has one).
            while (true) {
                const int32_t broker = brokers[static_cast<std::size_t>(
                    follower_index(first, next_shift * rack_count, k, count))];
                ++k;
                const std::string& rack = rack_of.at(broker);
                const bool rack_ok = racks_used.count(rack) == 0 ||
                                     static_cast<int64_t>(racks_used.size()) == rack_count;
                const bool broker_ok = brokers_used.count(broker) == 0 ||
                                       static_cast<int32_t>(brokers_used.size()) == count;
                if (rack_ok && broker_ok) {
                    replicas.push_back(broker);
                    racks_used.insert(rack);
                    brokers_used.insert(broker);
                    break;
                }
            }
        }
        out.push_back(std::move(replicas));
    }
    return out;
}

bool contains(std::span<const int32_t> ids, int32_t id) {
    return std::find(ids.begin(), ids.end(), id) != ids.end();
}

}  // namespace

assignment_result assign_replicas(std::span<const broker_placement> brokers, int32_t partitions,
                                  int16_t replication_factor, std::mt19937& rng,
                                  int32_t start_index, int32_t first_partition) {
    // The checks in Kafka's order: partition count, replication factor, broker count, racks.
    if (partitions <= 0) {
        return failure(protocol::error_code::invalid_partitions,
                       "Number of partitions must be larger than 0.");
    }
    if (replication_factor <= 0) {
        return failure(protocol::error_code::invalid_replication_factor,
                       "Replication factor must be larger than 0.");
    }
    if (static_cast<std::size_t>(replication_factor) > brokers.size()) {
        return failure(protocol::error_code::invalid_replication_factor,
                       "Replication factor: " + std::to_string(replication_factor) +
                           " larger than available brokers: " + std::to_string(brokers.size()) +
                           ".");
    }
    std::vector<broker_placement> sorted(brokers.begin(), brokers.end());
    std::sort(sorted.begin(), sorted.end(),
              [](const broker_placement& a, const broker_placement& b) { return a.id < b.id; });
    const auto with_rack = std::count_if(
        sorted.begin(), sorted.end(), [](const broker_placement& b) { return b.rack.has_value(); });
    assignment_result out;
    if (with_rack == 0) {
        std::vector<int32_t> ids;
        ids.reserve(sorted.size());
        for (const auto& b : sorted) {
            ids.push_back(b.id);
        }
        out.replicas = place_rack_unaware(ids, partitions, replication_factor, start_index,
                                          first_partition, rng);
        return out;
    }
    if (static_cast<std::size_t>(with_rack) != sorted.size()) {
        return failure(protocol::error_code::invalid_replication_factor,
                       "Not all brokers have rack information for replica rack aware assignment.");
    }
    std::map<int32_t, std::string> rack_of;
    for (const auto& b : sorted) {
        rack_of.emplace(b.id, *b.rack);
    }
    out.replicas = place_rack_aware(rack_of, partitions, replication_factor, start_index,
                                    first_partition, rng);
    return out;
}

std::optional<election> elect_offline(std::span<const int32_t> assignment,
                                      std::span<const int32_t> isr, std::span<const int32_t> live,
                                      bool unclean) {
    for (int32_t id : assignment) {
        if (contains(live, id) && contains(isr, id)) {
            return election{id, false};
        }
    }
    if (!unclean) {
        return std::nullopt;
    }
    for (int32_t id : assignment) {
        if (contains(live, id)) {
            return election{id, true};
        }
    }
    return std::nullopt;
}

std::optional<int32_t> elect_preferred(std::span<const int32_t> assignment,
                                       std::span<const int32_t> isr,
                                       std::span<const int32_t> live) {
    if (assignment.empty()) {
        return std::nullopt;
    }
    const int32_t preferred = assignment.front();
    if (contains(live, preferred) && contains(isr, preferred)) {
        return preferred;
    }
    return std::nullopt;
}

std::optional<int32_t> elect_controlled_shutdown(std::span<const int32_t> assignment,
                                                 std::span<const int32_t> isr,
                                                 std::span<const int32_t> live,
                                                 std::span<const int32_t> shutting_down) {
    for (int32_t id : assignment) {
        if (contains(live, id) && contains(isr, id) && !contains(shutting_down, id)) {
            return id;
        }
    }
    return std::nullopt;
}

}  // namespace broker::server::cluster
