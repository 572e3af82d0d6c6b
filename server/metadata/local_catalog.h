#pragma once
// local_catalog: the single node's metadata source, a catalog kept in one JSON file,
// `<first log dir>/__sluice_topics.json` (docs/topics.md):
//     {"version": 1,
//      "topics": [{"name": "t", "id": "<22-char base64url uuid>", "partitions": 3,
//                  "internal": false, "configs": {"retention.ms": "1000"}}, ...],
//      "broker_configs": {"default": {"log.retention.ms": "..."}, "broker": {...}}}
// On a single node every partition is assigned to this broker alone, so the file keeps partition
// counts, not replica lists; reading it assigns each partition to the local broker.
//
// A change (commit) is prepared by the listener first (partition directories are created), then
// the file is rewritten whole (written to `<name>.tmp`, fsynced, renamed over the file, the
// directory fsynced, so a crash leaves either the old or the new version), then applied. A topic
// therefore exists once its entry is in the file, and its directories exist before that (a crash
// in between leaves directories of no topic, which startup reports and leaves alone).
//
// Threading: commit() and stop() are serialised by one mutex and do blocking file I/O (run them on
// the blocking pool); current() may be called from any thread.
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <system_error>

#include "common/types.h"
#include "server/metadata/metadata_source.h"

namespace broker::server {

/// See the file comment.
class local_catalog final : public metadata_source {
public:
    static constexpr const char* file_name = "__sluice_topics.json";
    static constexpr int file_format_version = 1;

    /// `dir`: the directory of the file (the first log dir). `local`: this broker's id, the
    /// replica of every partition.
    local_catalog(std::filesystem::path dir, node_id local);

    void start(catalog_listener& listener) override;
    void stop() override;
    std::shared_ptr<const catalog> current() const override;

    /// Makes `next` the current version: the listener prepares it, the file is rewritten, then the
    /// listener applies it (or abandons it when the write fails). Returns the error of the step
    /// that failed; std::errc::operation_not_permitted when the catalog is not started or stopped.
    std::error_code commit(std::shared_ptr<const catalog> next);
    /// True between start() and stop(): commit() may succeed.
    bool accepting() const;

    const std::filesystem::path& path() const { return path_; }

    /// The file's text for a catalog.
    static std::string encode(const catalog& c);
    /// Parses the file's text. Throws std::runtime_error naming `path` when it is malformed.
    static catalog decode(std::string_view text, const std::string& path, node_id local);

private:
    const std::filesystem::path path_;
    const node_id local_;

    mutable std::mutex mutex_;  // serialises start/commit/stop; guards listener_ and stopped_
    catalog_listener* listener_ = nullptr;
    bool stopped_ = false;
    mutable std::mutex current_mutex_;  // guards current_ (the pointer only)
    std::shared_ptr<const catalog> current_ = std::make_shared<const catalog>();
};

}  // namespace broker::server
