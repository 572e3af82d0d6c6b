#include "compat-tests/robustness/raw_socket.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace broker::compat::robustness {

const char* to_string(peer_event e) {
    switch (e) {
        case peer_event::data: return "data";
        case peer_event::closed: return "closed";
        case peer_event::reset: return "reset";
        case peer_event::nothing: return "nothing";
    }
    return "?";
}

// ---- raw_socket ----------------------------------------------------------------------------

raw_socket::raw_socket(int port, const std::string& source_address) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) {
        throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
    }
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (!source_address.empty()) {
        sockaddr_in local{};
        local.sin_family = AF_INET;
        ::inet_pton(AF_INET, source_address.c_str(), &local.sin_addr);
        if (::bind(fd_, reinterpret_cast<const sockaddr*>(&local), sizeof local) != 0) {
            const int e = errno;
            ::close(fd_);
            throw std::runtime_error("bind " + source_address + ": " + std::strerror(e));
        }
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
        const int e = errno;
        ::close(fd_);
        throw std::runtime_error("connect 127.0.0.1:" + std::to_string(port) + ": " +
                                 std::strerror(e));
    }
}

raw_socket::~raw_socket() {
    close();
}

raw_socket::raw_socket(raw_socket&& other) noexcept : fd_(other.fd_) {
    other.fd_ = -1;
}

raw_socket& raw_socket::operator=(raw_socket&& other) noexcept {
    if (this != &other) {
        close();
        fd_ = other.fd_;
        other.fd_ = -1;
    }
    return *this;
}

void raw_socket::close() {
    if (fd_ >= 0) {
        ::close(fd_);
        fd_ = -1;
    }
}

bool raw_socket::send_all(std::span<const uint8_t> data) {
    std::size_t sent = 0;
    while (sent < data.size()) {
        const ssize_t n = ::send(fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return false;
        }
        sent += static_cast<std::size_t>(n);
    }
    return true;
}

peer_event raw_socket::wait(std::chrono::milliseconds timeout) {
    pollfd p{fd_, POLLIN, 0};
    const int r = ::poll(&p, 1, static_cast<int>(timeout.count()));
    if (r == 0) {
        return peer_event::nothing;
    }
    if (r < 0) {
        return peer_event::reset;
    }
    uint8_t probe = 0;
    const ssize_t n = ::recv(fd_, &probe, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n > 0) {
        return peer_event::data;
    }
    if (n == 0) {
        return peer_event::closed;
    }
    return errno == EAGAIN ? peer_event::nothing : peer_event::reset;
}

namespace {

// Reads exactly `n` bytes before `deadline`.
bool read_exact(int fd, uint8_t* out, std::size_t n,
                std::chrono::steady_clock::time_point deadline) {
    std::size_t got = 0;
    while (got < n) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            return false;
        }
        pollfd p{fd, POLLIN, 0};
        const int r = ::poll(&p, 1, static_cast<int>(left.count()));
        if (r <= 0) {
            if (r < 0 && errno == EINTR) {
                continue;
            }
            return false;
        }
        const ssize_t k = ::recv(fd, out + got, n - got, 0);
        if (k <= 0) {
            if (k < 0 && errno == EINTR) {
                continue;
            }
            return false;
        }
        got += static_cast<std::size_t>(k);
    }
    return true;
}

int32_t get_int32(std::span<const uint8_t> b, std::size_t at) {
    return static_cast<int32_t>((uint32_t{b[at]} << 24) | (uint32_t{b[at + 1]} << 16) |
                                (uint32_t{b[at + 2]} << 8) | uint32_t{b[at + 3]});
}

int16_t get_int16(std::span<const uint8_t> b, std::size_t at) {
    return static_cast<int16_t>((uint16_t{b[at]} << 8) | uint16_t{b[at + 1]});
}

int64_t get_int64(std::span<const uint8_t> b, std::size_t at) {
    return static_cast<int64_t>(
        (static_cast<uint64_t>(static_cast<uint32_t>(get_int32(b, at))) << 32) |
        static_cast<uint32_t>(get_int32(b, at + 4)));
}

}  // namespace

std::optional<bytes> raw_socket::read_frame(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    uint8_t size_bytes[4];
    if (!read_exact(fd_, size_bytes, 4, deadline)) {
        return std::nullopt;
    }
    const int32_t size = get_int32(size_bytes, 0);
    // Responses in these tests are small; anything larger means the stream is out of step.
    if (size < 0 || size > (64 << 20)) {
        return std::nullopt;
    }
    bytes frame(static_cast<std::size_t>(size));
    if (!read_exact(fd_, frame.data(), frame.size(), deadline)) {
        return std::nullopt;
    }
    return frame;
}

// ---- encoders ------------------------------------------------------------------------------

void put_int8(bytes& out, int8_t v) {
    out.push_back(static_cast<uint8_t>(v));
}

void put_int16(bytes& out, int16_t v) {
    const auto u = static_cast<uint16_t>(v);
    out.push_back(static_cast<uint8_t>(u >> 8));
    out.push_back(static_cast<uint8_t>(u));
}

void put_int32(bytes& out, int32_t v) {
    const auto u = static_cast<uint32_t>(v);
    for (int shift = 24; shift >= 0; shift -= 8) {
        out.push_back(static_cast<uint8_t>(u >> shift));
    }
}

void put_int64(bytes& out, int64_t v) {
    const auto u = static_cast<uint64_t>(v);
    for (int shift = 56; shift >= 0; shift -= 8) {
        out.push_back(static_cast<uint8_t>(u >> shift));
    }
}

void put_string(bytes& out, const std::string& s) {
    put_int16(out, static_cast<int16_t>(s.size()));
    out.insert(out.end(), s.begin(), s.end());
}

void put_varint(bytes& out, int64_t v) {
    uint64_t z = (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
    while (z >= 0x80) {
        out.push_back(static_cast<uint8_t>(z | 0x80));
        z >>= 7;
    }
    out.push_back(static_cast<uint8_t>(z));
}

uint32_t crc32c(std::span<const uint8_t> data) {
    static const std::array<uint32_t, 256> table = [] {
        std::array<uint32_t, 256> t{};
        for (uint32_t i = 0; i < 256; ++i) {
            uint32_t c = i;
            for (int k = 0; k < 8; ++k) {
                c = (c & 1) ? (c >> 1) ^ 0x82F63B78U : c >> 1;
            }
            t[i] = c;
        }
        return t;
    }();
    uint32_t crc = 0xFFFFFFFFU;
    for (const uint8_t b : data) {
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8);
    }
    return crc ^ 0xFFFFFFFFU;
}

bytes request_frame(int16_t api_key, int16_t api_version, int32_t correlation_id,
                    std::span<const uint8_t> body, bool flexible_header,
                    const std::string& client_id) {
    bytes out;
    put_int32(out, 0);  // size, patched below
    put_int16(out, api_key);
    put_int16(out, api_version);
    put_int32(out, correlation_id);
    put_string(out, client_id);
    if (flexible_header) {
        out.push_back(0);  // no tagged fields
    }
    out.insert(out.end(), body.begin(), body.end());
    const auto size = static_cast<uint32_t>(out.size() - 4);
    for (int i = 0; i < 4; ++i) {
        out[static_cast<std::size_t>(i)] = static_cast<uint8_t>(size >> (24 - 8 * i));
    }
    return out;
}

bytes record_batch(const std::vector<std::string>& values) {
    bytes records;
    for (std::size_t i = 0; i < values.size(); ++i) {
        bytes r;
        put_int8(r, 0);                          // attributes
        put_varint(r, 0);                        // timestamp delta
        put_varint(r, static_cast<int64_t>(i));  // offset delta
        put_varint(r, -1);                       // null key
        put_varint(r, static_cast<int64_t>(values[i].size()));
        r.insert(r.end(), values[i].begin(), values[i].end());
        put_varint(r, 0);  // no headers
        put_varint(records, static_cast<int64_t>(r.size()));
        records.insert(records.end(), r.begin(), r.end());
    }
    const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
    bytes b;
    put_int64(b, 0);                                        // base offset
    put_int32(b, 0);                                        // batch length, patched
    put_int32(b, -1);                                       // partition leader epoch
    put_int8(b, 2);                                         // magic
    put_int32(b, 0);                                        // crc, patched
    put_int16(b, 0);                                        // attributes: no compression
    put_int32(b, static_cast<int32_t>(values.size()) - 1);  // last offset delta
    put_int64(b, now_ms);                                   // base timestamp
    put_int64(b, now_ms);                                   // max timestamp
    put_int64(b, -1);                                       // producer id
    put_int16(b, -1);                                       // producer epoch
    put_int32(b, -1);                                       // base sequence
    put_int32(b, static_cast<int32_t>(values.size()));      // record count
    b.insert(b.end(), records.begin(), records.end());
    const auto length = static_cast<uint32_t>(b.size() - 12);
    for (int i = 0; i < 4; ++i) {
        b[batch_length_offset + static_cast<std::size_t>(i)] =
            static_cast<uint8_t>(length >> (24 - 8 * i));
    }
    reseal_batch(b);
    return b;
}

void reseal_batch(bytes& batch) {
    const uint32_t crc = crc32c(std::span<const uint8_t>(batch).subspan(batch_attributes_offset));
    for (int i = 0; i < 4; ++i) {
        batch[batch_crc_offset + static_cast<std::size_t>(i)] =
            static_cast<uint8_t>(crc >> (24 - 8 * i));
    }
}

bytes produce_v3_body(const std::string& topic, int32_t partition,
                      std::span<const uint8_t> records) {
    bytes b;
    put_int16(b, -1);     // transactional id: null
    put_int16(b, 1);      // acks
    put_int32(b, 10000);  // timeout
    put_int32(b, 1);      // one topic
    put_string(b, topic);
    put_int32(b, 1);  // one partition
    put_int32(b, partition);
    put_int32(b, static_cast<int32_t>(records.size()));
    b.insert(b.end(), records.begin(), records.end());
    return b;
}

std::optional<produce_result> parse_produce_v3_response(std::span<const uint8_t> f) {
    // correlation id, topic count, name, partition count, index, error, base offset, append time
    std::size_t at = 0;
    const auto need = [&](std::size_t n) { return at + n <= f.size(); };
    if (!need(8)) {
        return std::nullopt;
    }
    produce_result out;
    out.correlation_id = get_int32(f, 0);
    if (get_int32(f, 4) != 1) {
        return std::nullopt;
    }
    at = 8;
    if (!need(2)) {
        return std::nullopt;
    }
    const int16_t name_length = get_int16(f, at);
    at += 2 + static_cast<std::size_t>(std::max<int16_t>(name_length, 0));
    if (!need(4 + 4 + 2 + 8) || get_int32(f, at) != 1) {
        return std::nullopt;
    }
    at += 4 + 4;  // partition count, index
    out.error_code = get_int16(f, at);
    out.base_offset = get_int64(f, at + 2);
    return out;
}

std::optional<api_versions_result> parse_api_versions_response(std::span<const uint8_t> f) {
    if (f.size() < 6) {
        return std::nullopt;
    }
    return api_versions_result{get_int32(f, 0), get_int16(f, 4)};
}

bytes api_versions_v0_frame(int32_t correlation_id) {
    return request_frame(18, 0, correlation_id, {});
}

bool answers_api_versions(raw_socket& socket, int32_t correlation_id,
                          std::chrono::milliseconds timeout) {
    if (!socket.send_all(api_versions_v0_frame(correlation_id))) {
        return false;
    }
    const auto frame = socket.read_frame(timeout);
    if (!frame) {
        return false;
    }
    const auto parsed = parse_api_versions_response(*frame);
    return parsed && parsed->correlation_id == correlation_id && parsed->error_code == 0;
}

// ---- /proc ---------------------------------------------------------------------------------

int64_t proc_status_kib(pid_t pid, const std::string& field) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind(field + ":", 0) == 0) {
            std::istringstream fields(line.substr(field.size() + 1));
            int64_t kib = -1;
            fields >> kib;
            return kib;
        }
    }
    return -1;
}

int proc_socket_count(pid_t pid) {
    const std::string dir = "/proc/" + std::to_string(pid) + "/fd";
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) {
        return -1;
    }
    int count = 0;
    while (const dirent* e = ::readdir(d)) {
        if (e->d_name[0] == '.') {
            continue;
        }
        char target[64] = {};
        const std::string path = dir + "/" + e->d_name;
        const ssize_t n = ::readlink(path.c_str(), target, sizeof target - 1);
        if (n > 0 && std::strncmp(target, "socket:", 7) == 0) {
            ++count;
        }
    }
    ::closedir(d);
    return count;
}

std::pair<int64_t, int64_t> proc_open_file_limits(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/limits");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("Max open files", 0) == 0) {
            std::istringstream fields(line.substr(std::strlen("Max open files")));
            std::string soft;
            std::string hard;
            fields >> soft >> hard;
            const auto value = [](const std::string& s) -> int64_t {
                return s == "unlimited" ? -1 : std::stoll(s);
            };
            return {value(soft), value(hard)};
        }
    }
    return {-1, -1};
}

}  // namespace broker::compat::robustness
