#pragma once
// Raw-socket helpers for the robustness tests: a blocking loopback TCP client with deadlines, the
// few Kafka wire encodings the hostile cases need (request headers, Produce v3, RecordBatch v2 with
// CRC-32C), and /proc readers for the broker process (resident memory, open sockets, fd limits).
//
// Everything here is written from the Kafka protocol description, independently of the broker's
// own codec, so the tests exercise the broker the way a foreign client would.
//
// raw_socket owns one descriptor; not thread-safe (one owner thread). The encoders are pure
// functions.
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace broker::compat::robustness {

using bytes = std::vector<uint8_t>;

/// What the peer did, as seen by a client waiting on its socket.
enum class peer_event {
    data,     // bytes arrived
    closed,   // orderly close (EOF)
    reset,    // ECONNRESET or another socket error
    nothing,  // the deadline passed with the connection open and silent
};
const char* to_string(peer_event e);

class raw_socket {
public:
    /// Connects to 127.0.0.1:`port`, optionally from `source_address` (any 127.0.0.0/8 address),
    /// blocking. Throws std::runtime_error on failure.
    explicit raw_socket(int port, const std::string& source_address = {});
    ~raw_socket();
    raw_socket(raw_socket&& other) noexcept;
    raw_socket& operator=(raw_socket&& other) noexcept;
    raw_socket(const raw_socket&) = delete;
    raw_socket& operator=(const raw_socket&) = delete;

    /// Sends every byte (blocking). False if the connection failed.
    bool send_all(std::span<const uint8_t> data);
    /// Waits up to `timeout` for the peer to do something; consumes nothing.
    peer_event wait(std::chrono::milliseconds timeout);
    /// Reads one size-prefixed response frame (without its size) within `timeout`; nullopt on
    /// close, error or timeout.
    std::optional<bytes> read_frame(std::chrono::milliseconds timeout);
    void close();
    int fd() const { return fd_; }

private:
    int fd_ = -1;
};

// ---- encoders ------------------------------------------------------------------------------

void put_int8(bytes& out, int8_t v);
void put_int16(bytes& out, int16_t v);
void put_int32(bytes& out, int32_t v);
void put_int64(bytes& out, int64_t v);
void put_string(bytes& out, const std::string& s);
void put_varint(bytes& out, int64_t v);  // zig-zag

/// CRC-32C (Castagnoli), as RecordBatch v2 uses it.
uint32_t crc32c(std::span<const uint8_t> data);

/// A request frame with its 4-byte size: request header v1 (key, version, correlation id,
/// client id) followed by `body`. For flexible versions pass `flexible_header` to append the empty
/// tagged-field section of header v2.
bytes request_frame(int16_t api_key, int16_t api_version, int32_t correlation_id,
                    std::span<const uint8_t> body, bool flexible_header = false,
                    const std::string& client_id = "robustness");

/// One uncompressed RecordBatch v2 holding `values` (null keys), CRC filled in.
bytes record_batch(const std::vector<std::string>& values);
/// Recomputes the CRC of a batch after its bytes were edited.
void reseal_batch(bytes& batch);
/// Offsets of RecordBatch v2 header fields.
constexpr std::size_t batch_length_offset = 8;
constexpr std::size_t batch_crc_offset = 17;
constexpr std::size_t batch_attributes_offset = 21;
constexpr std::size_t batch_record_count_offset = 57;
constexpr std::size_t batch_header_bytes = 61;

/// Produce v3 request body (acks=1, 10 s timeout) for one partition.
bytes produce_v3_body(const std::string& topic, int32_t partition,
                      std::span<const uint8_t> records);

/// The (error code, base offset) of the single partition in a Produce v3 response frame (as
/// returned by read_frame: correlation id first). nullopt if the frame does not parse.
struct produce_result {
    int32_t correlation_id = 0;
    int16_t error_code = 0;
    int64_t base_offset = 0;
};
std::optional<produce_result> parse_produce_v3_response(std::span<const uint8_t> frame);

/// The correlation id and error code of an ApiVersions response frame (header v0 in every version).
struct api_versions_result {
    int32_t correlation_id = 0;
    int16_t error_code = 0;
};
std::optional<api_versions_result> parse_api_versions_response(std::span<const uint8_t> frame);

/// An ApiVersions v0 frame (empty body).
bytes api_versions_v0_frame(int32_t correlation_id);

/// Sends ApiVersions v0 on `socket` and checks the answer (correlation id, no error).
bool answers_api_versions(raw_socket& socket, int32_t correlation_id,
                          std::chrono::milliseconds timeout = std::chrono::seconds(10));

// ---- /proc readers for the broker process ---------------------------------------------------

/// A "Vm..." line of /proc/<pid>/status in KiB (VmRSS, VmHWM); -1 if absent.
int64_t proc_status_kib(pid_t pid, const std::string& field);
/// Number of socket descriptors the process holds (listeners included).
int proc_socket_count(pid_t pid);
/// Soft and hard "Max open files" of the process; -1 when unlimited or unreadable.
std::pair<int64_t, int64_t> proc_open_file_limits(pid_t pid);

}  // namespace broker::compat::robustness
