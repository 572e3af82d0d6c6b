#include "server/fuzz/request_path.h"

#include "common/asio.h"

#include <malloc.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <optional>
#include <stdexcept>

#include "common/big_endian.h"
#include "protocol/api.h"
#include "protocol/generated/dispatch.h"
#include "protocol/generated/messages.h"
#include "protocol/header.h"
#include "protocol/records.h"
#include "server/broker_server.h"
#include "server/config.h"
#include "server/dispatch.h"
#include "server/logging.h"

#if defined(__SANITIZE_ADDRESS__)
// From the sanitizer runtime's allocator interface (GCC does not install that header).
extern "C" std::size_t __sanitizer_get_current_allocated_bytes();
#endif

namespace broker::server::fuzz {
namespace {

constexpr int16_t produce_key = 0;
constexpr int16_t api_versions_key = 18;

/// State shared between run() and the handler coroutine on the shard. Heap-allocated and
/// reference-counted so that a handler which never finishes cannot touch freed memory.
struct in_flight {
    std::vector<uint8_t> frame;
    protocol::request_header header;
    connection_close_signal close_signal;
    std::optional<handler_result> result;
    std::string exception;
    std::promise<void> done;
};

/// Copies a response's bytes, reading spliced file regions, into one contiguous frame.
std::optional<std::vector<uint8_t>> materialise(const response_buffer& response,
                                                std::string& problem) {
    std::vector<uint8_t> out;
    out.reserve(response.wire_size());
    std::size_t copied = 0;
    for (const protocol::splice& s : response.splices) {
        if (s.buffer_offset < copied || s.buffer_offset > response.bytes.size()) {
            problem = "splice offsets out of order or past the buffer";
            return std::nullopt;
        }
        out.insert(out.end(), response.bytes.begin() + static_cast<std::ptrdiff_t>(copied),
                   response.bytes.begin() + static_cast<std::ptrdiff_t>(s.buffer_offset));
        copied = s.buffer_offset;
        const std::size_t at = out.size();
        out.resize(at + s.region.length);
        std::size_t got = 0;
        while (got < s.region.length) {
            const ssize_t n =
                ::pread(s.region.fd, out.data() + at + got, s.region.length - got,
                        static_cast<off_t>(s.region.position + static_cast<int64_t>(got)));
            if (n <= 0) {
                problem = "spliced file region cannot be read in full";
                return std::nullopt;
            }
            got += static_cast<std::size_t>(n);
        }
    }
    out.insert(out.end(), response.bytes.begin() + static_cast<std::ptrdiff_t>(copied),
               response.bytes.end());
    return out;
}

/// Checks a response frame (with size prefix) against the request it answers.
std::string check_response(const response_buffer& response, const protocol::request_header& header,
                           bool version_served) {
    std::string problem;
    const auto wire = materialise(response, problem);
    if (!wire) {
        return problem;
    }
    if (wire->size() < 4) {
        return "response shorter than its size prefix";
    }
    const uint32_t size = load_be32(wire->data());
    if (size != wire->size() - 4) {
        return "size prefix " + std::to_string(size) + " but " + std::to_string(wire->size() - 4) +
               " bytes follow";
    }
    const int16_t key = header.request_api_key;
    // KIP-511: an ApiVersions request of a version the broker does not serve gets a v0 answer.
    const int16_t body_version =
        (key == api_versions_key && !version_served) ? 0 : header.request_api_version;
    protocol::reader r(std::span<const uint8_t>(*wire).subspan(4));
    protocol::response_header response_header;
    const int16_t header_version = protocol::response_header_version(key, body_version);
    if (protocol::decode_response_header(r, header_version, response_header) !=
        protocol::codec_status::ok) {
        return "response header does not decode (v" + std::to_string(header_version) + ")";
    }
    if (response_header.correlation_id != header.correlation_id) {
        return "correlation id " + std::to_string(response_header.correlation_id) +
               ", request had " + std::to_string(header.correlation_id);
    }
    std::string body_problem;
    const bool known = protocol::visit_response_type(key, [&](auto type) {
        using response_type = typename decltype(type)::type;
        response_type body;
        if (protocol::decode(r, body_version, body) != protocol::codec_status::ok) {
            body_problem = "response body does not decode at v" + std::to_string(body_version);
        } else if (r.remaining() != 0) {
            body_problem =
                std::to_string(r.remaining()) + " trailing bytes after the response body";
        }
    });
    if (!known) {
        return "no response schema for API key " + std::to_string(key);
    }
    return body_problem;
}

/// Produce with acks=0 is the one request that may legitimately get no response.
bool is_acks_zero_produce(const in_flight& state) {
    if (state.header.request_api_key != produce_key) {
        return false;
    }
    protocol::reader r(state.frame);
    protocol::request_header header;
    int16_t header_version = 0;
    if (protocol::decode_request_header(r, header, header_version) != protocol::codec_status::ok) {
        return false;
    }
    protocol::produce_request request;
    return protocol::decode(r, header.request_api_version, request) == protocol::codec_status::ok &&
           request.acks == 0;
}

template <typename Body>
std::vector<uint8_t> frame_of(int16_t version, int32_t correlation_id, const Body& body) {
    std::vector<uint8_t> out;
    protocol::writer w(out);
    protocol::request_header header;
    header.request_api_key = Body::api_key;
    header.request_api_version = version;
    header.correlation_id = correlation_id;
    header.client_id = "fuzz-setup";
    protocol::encode_request_header(w, protocol::request_header_version(Body::api_key, version),
                                    header);
    protocol::encode(w, version, body);
    return out;
}

std::string make_temp_dir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "request-fuzz-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
        throw std::runtime_error("mkdtemp failed");
    }
    return pattern;
}

}  // namespace

std::string_view outcome_name(request_outcome::kind k) {
    switch (k) {
        case request_outcome::kind::closed_before_dispatch: return "closed_before_dispatch";
        case request_outcome::kind::answered: return "answered";
        case request_outcome::kind::no_reply: return "no_reply";
        case request_outcome::kind::closed_by_handler: return "closed_by_handler";
        case request_outcome::kind::closed_while_parked: return "closed_while_parked";
    }
    return "?";
}

std::size_t live_heap_bytes() {
#if defined(__SANITIZE_ADDRESS__)
    return __sanitizer_get_current_allocated_bytes();
#else
    return mallinfo2().uordblks;
#endif
}

request_path_harness::request_path_harness() : request_path_harness(options{}) {}

request_path_harness::request_path_harness(options opts) : options_(opts) {
    start();
}

request_path_harness::~request_path_harness() {
    stop();
}

void request_path_harness::start() {
    dir_ = make_temp_dir();
    std::vector<property> entries{
        {"listeners", "PLAINTEXT://127.0.0.1:0", 0},
        {"log.dirs", dir_ + "/data", 0},
        {"http.listeners", "", 0},  // no fixed HTTP port: harnesses and brokers run side by side
        {"num.shards", std::to_string(options_.shards), 0},
        {"background.threads", "1", 0},
        {"logger.level", "off", 0},
        {"group.initial.rebalance.delay.ms", "0", 0},
        // Small segments and indexes keep a topic with many partitions cheap on disk.
        {"log.segment.bytes", "1048576", 0},
        {"log.index.size.max.bytes", "65536", 0},
    };
    config_result loaded = make_broker_config(entries);
    set_log_threshold(loaded.config.logger_level);
    server_ = std::make_unique<broker_server>(std::move(loaded.config));
    server_->start();
    for (const std::vector<uint8_t>& frame : setup_frames()) {
        const request_outcome outcome = run(frame, 0);
        if (!outcome.violation.empty()) {
            throw std::runtime_error("setup request failed: " + outcome.violation);
        }
    }
}

void request_path_harness::stop() {
    if (server_) {
        server_->stop();
        server_.reset();
    }
    if (!dir_.empty()) {
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
        dir_.clear();
    }
}

void request_path_harness::restart() {
    stop();
    start();
}

request_outcome request_path_harness::run(std::span<const uint8_t> frame, unsigned shard) {
    request_outcome outcome;
    auto state = std::make_shared<in_flight>();
    state->frame.assign(frame.begin(), frame.end());

    // The connection's checks, in its order (server/connection.cpp serve()).
    protocol::reader header_reader(state->frame);
    int16_t header_version = 0;
    if (protocol::decode_request_header(header_reader, state->header, header_version) !=
        protocol::codec_status::ok) {
        return outcome;
    }
    outcome.api_key = state->header.request_api_key;
    outcome.api_version = state->header.request_api_version;
    const served_api* api = find_served_api(state->header.request_api_key);
    // The fuzzed broker is a single node: the controller's requests are not served there.
    if (api == nullptr || !api->served(true)) {
        return outcome;
    }
    const int16_t version = state->header.request_api_version;
    const bool version_served = version >= api->min_version && version <= api->max_version;
    if (!version_served && state->header.request_api_key != api_versions_key) {
        return outcome;
    }

    broker_core& core = server_->core();
    const unsigned shard_id = shard % server_->shards().size();
    net::co_spawn(
        server_->shards().shard_executor(shard_id),
        [state, &core, shard_id]() -> net::awaitable<void> {
            protocol::reader in(state->frame);
            protocol::request_header header;
            int16_t ignored = 0;
            (void)protocol::decode_request_header(in, header, ignored);
            request_context ctx{
                .broker = core,
                .header = state->header,
                .api_key = state->header.request_api_key,
                .api_version = state->header.request_api_version,
                .response_header_version = protocol::response_header_version(
                    state->header.request_api_key, state->header.request_api_version),
                .correlation_id = state->header.correlation_id,
                .client_id = state->header.client_id ? std::string_view(*state->header.client_id)
                                                     : std::string_view(),
                .peer = net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), 40000),
                .listener_name = "PLAINTEXT",
                .shard_id = shard_id,
                .frame = state->frame,
                .connection_closed = &state->close_signal,
                .frame_release = {},
            };
            try {
                state->result = co_await dispatch(ctx, in);
            } catch (const std::exception& e) {
                state->exception = e.what();
            }
            state->done.set_value();
        },
        net::detached);

    std::future<void> done = state->done.get_future();
    bool parked = false;
    if (done.wait_for(options_.park_limit) != std::future_status::ready) {
        // What a connection does when the client goes away or the broker shuts down: close, which
        // wakes every parked handler through the close signal.
        parked = true;
        net::post(server_->shards().shard_executor(shard_id),
                  [state] { state->close_signal.fire(); });
        if (done.wait_for(options_.close_limit) != std::future_status::ready) {
            outcome.violation = "handler still running " +
                                std::to_string(options_.close_limit.count()) +
                                " ms after its connection closed";
            return outcome;
        }
    }
    if (!state->exception.empty()) {
        outcome.violation = "exception escaped the handler: " + state->exception;
        return outcome;
    }
    const handler_result& result = *state->result;
    if (result.response) {
        outcome.result = request_outcome::kind::answered;
        outcome.violation = check_response(*result.response, state->header, version_served);
    } else if (result.close_connection) {
        outcome.result = request_outcome::kind::closed_by_handler;
    } else if (parked) {
        outcome.result = request_outcome::kind::closed_while_parked;
    } else {
        outcome.result = request_outcome::kind::no_reply;
        if (!is_acks_zero_produce(*state)) {
            outcome.violation = "no response and no close for a request that is not Produce acks=0";
        }
    }
    if (parked && outcome.result != request_outcome::kind::closed_while_parked) {
        outcome.result = request_outcome::kind::closed_while_parked;
    }
    return outcome;
}

std::vector<std::vector<uint8_t>> request_path_harness::setup_frames() {
    std::vector<std::vector<uint8_t>> frames;

    protocol::create_topics_request create;
    protocol::create_topics_request::creatable_topic topic;
    topic.name = "fuzz-topic";
    topic.num_partitions = 2;
    topic.replication_factor = 1;
    create.topics.push_back(topic);
    frames.push_back(frame_of(5, 1, create));

    std::vector<protocol::record_data> records;
    for (int i = 0; i < 3; ++i) {
        protocol::record_data r;
        r.key.emplace(1, static_cast<uint8_t>('k'));
        r.value.emplace(8, static_cast<uint8_t>('a' + i));
        r.timestamp = 1700000000000 + i;
        records.push_back(std::move(r));
    }
    // The batch outlives the encoded frame only for the duration of frame_of(); encoding copies it.
    const std::vector<uint8_t> batch =
        protocol::build_batch(records, protocol::batch_build_options{});
    protocol::produce_request produce;
    produce.acks = -1;
    produce.timeout_ms = 5000;
    protocol::produce_request::topic_produce_data data;
    data.name = "fuzz-topic";
    for (int32_t p = 0; p < 2; ++p) {
        protocol::produce_request::partition_produce_data part;
        part.index = p;
        part.records.emplace();
        part.records->bytes = batch;
        data.partition_data.push_back(part);
    }
    produce.topic_data.push_back(data);
    frames.push_back(frame_of(9, 2, produce));
    frames.push_back(frame_of(3, 3, produce));

    protocol::offset_commit_request commit;
    commit.group_id = "fuzz-group";
    protocol::offset_commit_request::offset_commit_request_topic commit_topic;
    commit_topic.name = "fuzz-topic";
    protocol::offset_commit_request::offset_commit_request_partition committed;
    committed.partition_index = 0;
    committed.committed_offset = 1;
    commit_topic.partitions.push_back(committed);
    commit.topics.push_back(commit_topic);
    frames.push_back(frame_of(8, 4, commit));

    protocol::fetch_request fetch;
    fetch.max_wait_ms = 0;
    fetch.min_bytes = 1;
    fetch.max_bytes = 1 << 20;
    protocol::fetch_request::fetch_topic fetch_topic;
    fetch_topic.topic = "fuzz-topic";
    for (int32_t p = 0; p < 2; ++p) {
        protocol::fetch_request::fetch_partition part;
        part.partition = p;
        part.fetch_offset = 0;
        part.partition_max_bytes = 1 << 20;
        fetch_topic.partitions.push_back(part);
    }
    fetch.topics.push_back(fetch_topic);
    frames.push_back(frame_of(11, 5, fetch));
    frames.push_back(frame_of(12, 6, fetch));
    return frames;
}

}  // namespace broker::server::fuzz
