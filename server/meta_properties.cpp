#include "server/meta_properties.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <random>
#include <stdexcept>
#include <system_error>

#include "server/config.h"

namespace broker::server {
namespace {

[[noreturn]] void throw_errno(const std::string& what) {
    throw std::runtime_error(what + ": " + std::strerror(errno));
}

void write_all(int fd, const std::string& data, const std::string& path) {
    const char* p = data.data();
    size_t left = data.size();
    while (left > 0) {
        const ssize_t n = ::write(fd, p, left);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            throw_errno("cannot write " + path);
        }
        p += n;
        left -= static_cast<size_t>(n);
    }
}

void fsync_path(const std::string& path, int flags) {
    const int fd = ::open(path.c_str(), flags | O_CLOEXEC);
    if (fd < 0) {
        throw_errno("cannot open " + path);
    }
    const int rc = ::fsync(fd);
    const int saved = errno;
    ::close(fd);
    if (rc != 0) {
        errno = saved;
        throw_errno("cannot fsync " + path);
    }
}

std::optional<int32_t> parse_int32(const std::string& text) {
    int32_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) {
        return std::nullopt;
    }
    return value;
}

}  // namespace

std::string generate_cluster_id() {
    static constexpr char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::random_device device;
    while (true) {
        std::array<uint8_t, 16> bytes{};
        for (size_t i = 0; i < bytes.size(); i += 4) {
            const uint32_t word = device();
            std::memcpy(bytes.data() + i, &word, 4);
        }
        std::string out;
        uint32_t buffer = 0;
        int bits = 0;
        for (uint8_t b : bytes) {
            buffer = (buffer << 8) | b;
            bits += 8;
            while (bits >= 6) {
                bits -= 6;
                out.push_back(alphabet[(buffer >> bits) & 0x3F]);
            }
        }
        if (bits > 0) {
            out.push_back(alphabet[(buffer << (6 - bits)) & 0x3F]);
        }
        const bool all_zero =
            std::all_of(bytes.begin(), bytes.end(), [](uint8_t b) { return b == 0; });
        // Like Kafka, never hand out the zero id or one that a command line would take for an
        // option.
        if (!all_zero && out.front() != '-') {
            return out;
        }
    }
}

std::optional<meta_properties> read_meta_properties(const std::string& dir) {
    const std::string path = dir + "/meta.properties";
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) {
        if (ec) {
            throw std::runtime_error("cannot stat " + path + ": " + ec.message());
        }
        return std::nullopt;
    }
    std::vector<property> entries;
    try {
        entries = read_properties_file(path);
    } catch (const config_error& e) {
        throw std::runtime_error(e.what());
    }
    std::optional<int32_t> version;
    std::optional<int32_t> broker_id;
    std::optional<std::string> cluster_id;
    for (const property& p : entries) {
        if (p.key == "version") {
            version = parse_int32(p.value);
            if (!version) {
                throw std::runtime_error(path + ": bad version '" + p.value + "'");
            }
        } else if (p.key == "broker.id") {
            broker_id = parse_int32(p.value);
            if (!broker_id) {
                throw std::runtime_error(path + ": bad broker.id '" + p.value + "'");
            }
        } else if (p.key == "cluster.id") {
            cluster_id = p.value;
        }
    }
    if (!version || *version != 0) {
        throw std::runtime_error(path + ": unsupported or missing version (expected version=0)");
    }
    if (!broker_id) {
        throw std::runtime_error(path + ": missing broker.id");
    }
    if (!cluster_id || cluster_id->empty()) {
        throw std::runtime_error(path + ": missing cluster.id");
    }
    return meta_properties{*version, *broker_id, *cluster_id};
}

void write_meta_properties(const std::string& dir, const meta_properties& meta) {
    const std::string path = dir + "/meta.properties";
    const std::string tmp = path + ".tmp";
    const std::time_t now = std::time(nullptr);
    std::tm utc{};
    gmtime_r(&now, &utc);
    char date[64];
    std::strftime(date, sizeof date, "%a %b %d %H:%M:%S UTC %Y", &utc);
    std::string text = "#\n#" + std::string(date) + "\n";
    text += "cluster.id=" + meta.cluster_id + "\n";
    text += "version=" + std::to_string(meta.version) + "\n";
    text += "broker.id=" + std::to_string(meta.broker_id) + "\n";

    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        throw_errno("cannot create " + tmp);
    }
    try {
        write_all(fd, text, tmp);
        if (::fsync(fd) != 0) {
            throw_errno("cannot fsync " + tmp);
        }
    } catch (...) {
        ::close(fd);
        throw;
    }
    if (::close(fd) != 0) {
        throw_errno("cannot close " + tmp);
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        throw_errno("cannot rename " + tmp + " to " + path);
    }
    fsync_path(dir, O_RDONLY | O_DIRECTORY);
}

std::string ensure_log_dirs(const std::vector<std::string>& dirs, int32_t broker_id,
                            const std::optional<std::string>& expected_cluster_id) {
    if (dirs.empty()) {
        throw std::runtime_error("no log directory configured");
    }
    std::optional<std::string> cluster_id;
    std::vector<bool> has_meta(dirs.size(), false);
    for (size_t i = 0; i < dirs.size(); ++i) {
        const std::string& dir = dirs[i];
        std::error_code ec;
        std::filesystem::create_directories(dir, ec);
        if (ec) {
            throw std::runtime_error("cannot create log directory " + dir + ": " + ec.message());
        }
        if (!std::filesystem::is_directory(dir, ec)) {
            throw std::runtime_error("log directory " + dir + " is not a directory");
        }
        const auto meta = read_meta_properties(dir);
        if (!meta) {
            continue;
        }
        has_meta[i] = true;
        if (meta->broker_id != broker_id) {
            throw std::runtime_error(
                "configured broker.id " + std::to_string(broker_id) + " does not match broker.id " +
                std::to_string(meta->broker_id) + " stored in " + dir + "/meta.properties");
        }
        if (cluster_id && *cluster_id != meta->cluster_id) {
            throw std::runtime_error(
                "log directories belong to different clusters: " + *cluster_id + " and " +
                meta->cluster_id + " (in " + dir + ")");
        }
        cluster_id = meta->cluster_id;
    }
    if (expected_cluster_id && cluster_id && *cluster_id != *expected_cluster_id) {
        // Kafka's InconsistentClusterIdException: these logs belong to another cluster.
        throw std::runtime_error("the cluster id " + *expected_cluster_id +
                                 " in ZooKeeper does not match the cluster id " + *cluster_id +
                                 " stored in meta.properties; the log directories belong to "
                                 "another cluster (or zookeeper.connect points at the wrong one)");
    }
    if (!cluster_id) {
        cluster_id = expected_cluster_id ? *expected_cluster_id : generate_cluster_id();
    }
    for (size_t i = 0; i < dirs.size(); ++i) {
        if (!has_meta[i]) {
            write_meta_properties(dirs[i], meta_properties{0, broker_id, *cluster_id});
        }
    }
    return *cluster_id;
}

}  // namespace broker::server
