#pragma once
// meta.properties: the identity file Kafka keeps in every log directory.
//
// On-disk format (java.util.Properties text, as a ZooKeeper-mode Kafka broker writes it):
//     #
//     #<date comment>
//     cluster.id=<22-character base64url UUID>
//     version=0
//     broker.id=<int>
// The file is written once, when a directory is first used, and read at every start. A directory
// whose file names another broker id or cluster id is refused, so data from two clusters is
// never mixed. Writes go to `meta.properties.tmp`, are fsynced, then renamed over the target and
// the directory is fsynced, so a crash leaves either the old file or the new one.
//
// Used only at startup, on the main thread, before any shard runs (blocking I/O is fine there).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace broker::server {

/// The fields of meta.properties (format in the file comment).
struct meta_properties {
    int32_t version = 0;
    int32_t broker_id = 0;
    std::string cluster_id;
    friend bool operator==(const meta_properties&, const meta_properties&) = default;
};

/// A random 128-bit id in Kafka's text form: URL-safe base64 without padding (22 characters).
std::string generate_cluster_id();

/// Reads `<dir>/meta.properties`. Returns nullopt when the file does not exist.
/// Throws std::runtime_error when it exists but is unreadable or malformed.
std::optional<meta_properties> read_meta_properties(const std::string& dir);

/// Atomically writes `<dir>/meta.properties`. Throws std::runtime_error on I/O failure.
void write_meta_properties(const std::string& dir, const meta_properties& meta);

/// Creates every log directory if missing, checks that existing meta.properties files agree with
/// `broker_id` and with each other, and writes the file where it is missing, generating a cluster
/// id on first start. Returns the cluster id. Throws std::runtime_error with a clear message when a
/// directory cannot be created or its identity conflicts. In a cluster `expected_cluster_id` is the
/// id in ZooKeeper's /cluster/id: stored files must agree with it, and new ones get it.
std::string ensure_log_dirs(const std::vector<std::string>& dirs, int32_t broker_id,
                            const std::optional<std::string>& expected_cluster_id = std::nullopt);

}  // namespace broker::server
