#include "server/connection.h"

#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/types.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <new>
#include <optional>
#include <span>
#include <tuple>
#include <vector>

#include "common/big_endian.h"
#include "protocol/api.h"
#include "server/logging.h"

namespace broker::server {
namespace {

constexpr int16_t api_versions_key = 18;

// Returns a memory-budget reservation when the request is done with, however it ends.
class reservation {
public:
    reservation(async_semaphore& budget, int64_t units) : budget_(budget), units_(units) {}
    ~reservation() {
        if (units_ > 0) {
            budget_.release(units_);
        }
    }
    reservation(const reservation&) = delete;
    reservation& operator=(const reservation&) = delete;

private:
    async_semaphore& budget_;
    int64_t units_;
};

// Mappings of finished large frames, kept for the next large frame on the same thread: a stream
// of large produce requests then reuses pages it already faulted in instead of paying page faults
// and kernel zeroing for every frame. At most `limit` bytes per thread; larger frames, and any
// beyond the limit, are unmapped at once.
class mapping_cache {
public:
    static constexpr std::size_t limit = 8 * 1024 * 1024;
    static constexpr std::size_t granule = 64 * 1024;

    static mapping_cache& local() {
        thread_local mapping_cache cache;
        return cache;
    }
    ~mapping_cache() {
        for (const entry& e : free_) {
            ::munmap(e.data, e.size);
        }
    }

    /// A mapping of at least `size` bytes (rounded up to the granule): a cached one no more than
    /// twice as large, or a new one. Throws std::bad_alloc.
    std::pair<uint8_t*, std::size_t> take(std::size_t size) {
        const std::size_t rounded = (size + granule - 1) / granule * granule;
        auto best = free_.end();
        for (auto it = free_.begin(); it != free_.end(); ++it) {
            if (it->size >= rounded && it->size / 2 <= rounded &&
                (best == free_.end() || it->size < best->size)) {
                best = it;
            }
        }
        if (best != free_.end()) {
            const entry e = *best;
            free_.erase(best);
            bytes_ -= e.size;
            return {e.data, e.size};
        }
        void* p =
            ::mmap(nullptr, rounded, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
            throw std::bad_alloc();
        }
        return {static_cast<uint8_t*>(p), rounded};
    }

    void give(uint8_t* data, std::size_t size) {
        if (bytes_ + size > limit) {
            ::munmap(data, size);
            return;
        }
        free_.push_back({data, size});
        bytes_ += size;
    }

private:
    struct entry {
        uint8_t* data;
        std::size_t size;
    };
    std::vector<entry> free_;
    std::size_t bytes_ = 0;
};

// Storage of one request frame. Frames above mapped_frame_bytes are mapped straight from the
// kernel (through the thread's mapping_cache) and handed back when the request is done. Fresh
// mapped pages stay unbacked until bytes arrive, so a large frame that is announced but only partly
// sent costs only what was received; and freeing one returns its memory at once, apart from the
// bounded cache. Heap buffers of that size would be kept by the allocator in the shard's own arena
// after use, so two shards could together hold twice the request memory budget.
class frame_buffer {
public:
    static constexpr std::size_t mapped_frame_bytes = 256 * 1024;

    explicit frame_buffer(std::size_t size) : size_(size) {
        if (size_ <= mapped_frame_bytes) {
            // Not zero-filled: the read overwrites every byte before anything looks at it.
            heap_ = std::make_unique_for_overwrite<uint8_t[]>(size_);
            return;
        }
        std::tie(mapped_, mapped_size_) = mapping_cache::local().take(size_);
    }
    ~frame_buffer() {
        if (mapped_ != nullptr) {
            mapping_cache::local().give(mapped_, mapped_size_);
        }
    }
    frame_buffer(const frame_buffer&) = delete;
    frame_buffer& operator=(const frame_buffer&) = delete;

    uint8_t* data() { return mapped_ != nullptr ? mapped_ : heap_.get(); }
    std::size_t size() const { return size_; }
    std::span<uint8_t> bytes() { return {data(), size_}; }

private:
    std::size_t size_;
    std::unique_ptr<uint8_t[]> heap_;
    uint8_t* mapped_ = nullptr;
    std::size_t mapped_size_ = 0;
};

// Makes sure the busy flag drops whatever way a request ends.
class busy_scope {
public:
    explicit busy_scope(bool& flag) : flag_(flag) { flag_ = true; }
    ~busy_scope() { flag_ = false; }
    busy_scope(const busy_scope&) = delete;
    busy_scope& operator=(const busy_scope&) = delete;

private:
    bool& flag_;
};

}  // namespace

// ---------------------------------------------------------------------------------------------
// connection_registry

bool connection_registry::add(connection* c) {
    if (closed_) {
        return false;
    }
    connections_.insert(c);
    return true;
}

void connection_registry::remove(connection* c) {
    connections_.erase(c);
}

void connection_registry::close_all() {
    closed_ = true;
    // close() does not unregister (the connection's own coroutine does that when it ends), so
    // iterating the set here is safe.
    for (connection* c : connections_) {
        c->close();
    }
}

// ---------------------------------------------------------------------------------------------
// connection_tracker

connection_tracker::connection_tracker(int32_t max_connections, int32_t max_connections_per_ip)
    : slots_(max_connections), max_per_ip_(max_connections_per_ip) {}

bool connection_tracker::admit(const net::ip::address& address) {
    std::lock_guard lock(mutex_);
    int32_t& count = per_address_[address];
    if (count >= max_per_ip_) {
        if (count == 0) {
            per_address_.erase(address);
        }
        return false;
    }
    ++count;
    ++live_;
    return true;
}

void connection_tracker::leave(const net::ip::address& address) {
    {
        std::lock_guard lock(mutex_);
        const auto it = per_address_.find(address);
        if (it != per_address_.end() && --it->second <= 0) {
            per_address_.erase(it);
        }
        if (live_ > 0) {
            --live_;
        }
        if (live_ == 0) {
            idle_.notify_all();
        }
    }
    slots_.release(1);
}

std::size_t connection_tracker::live() const {
    std::lock_guard lock(mutex_);
    return live_;
}

bool connection_tracker::wait_until_idle(std::chrono::steady_clock::time_point deadline) {
    std::unique_lock lock(mutex_);
    return idle_.wait_until(lock, deadline, [this] { return live_ == 0; });
}

// ---------------------------------------------------------------------------------------------
// connection

connection::connection(net::ip::tcp::socket socket, std::string listener_name, unsigned shard_id,
                       connection_services& services)
    : socket_(std::move(socket)),
      idle_timer_(socket_.get_executor()),
      listener_name_(std::move(listener_name)),
      shard_id_(shard_id),
      services_(services),
      last_activity_(std::chrono::steady_clock::now()),
      idle_limit_(services.broker.config().connections_max_idle_ms) {
    boost::system::error_code ec;
    peer_ = socket_.remote_endpoint(ec);
    // sendfile(2) is called on the raw descriptor, so it must not block the shard.
    socket_.native_non_blocking(true, ec);
    socket_.set_option(net::ip::tcp::no_delay(true), ec);
    const broker_config& config = services.broker.config();
    if (config.socket_send_buffer_bytes > 0) {
        socket_.set_option(net::socket_base::send_buffer_size(config.socket_send_buffer_bytes), ec);
    }
    if (config.socket_receive_buffer_bytes > 0) {
        socket_.set_option(
            net::socket_base::receive_buffer_size(config.socket_receive_buffer_bytes), ec);
    }
}

void connection::close() {
    if (closed_) {
        return;
    }
    closed_ = true;
    boost::system::error_code ec;
    socket_.shutdown(net::ip::tcp::socket::shutdown_both, ec);
    socket_.close(ec);
    idle_timer_.cancel();
    close_signal_.fire();
}

net::awaitable<void> connection::run(std::shared_ptr<connection> self) {
    connection_registry& registry = *self->services_.registries.at(self->shard_id_);
    const net::ip::address address = self->peer_.address();
    if (registry.add(self.get())) {
        if (self->idle_limit_.count() > 0) {
            net::co_spawn(self->socket_.get_executor(), watch_idle(self), net::detached);
        }
        // The one place a connection catches exceptions: anything thrown below is a bug or an
        // allocation failure, never a client mistake. Log it and drop this connection only.
        try {
            co_await self->serve();
        } catch (const std::exception& e) {
            BROKER_LOG_ERROR("connection from " << self->peer_ << " failed: " << e.what());
        }
        registry.remove(self.get());
    }
    self->close();
    self->services_.tracker.leave(address);
}

net::awaitable<void> connection::watch_idle(std::shared_ptr<connection> self) {
    while (!self->closed_) {
        self->idle_timer_.expires_at(self->last_activity_ + self->idle_limit_);
        boost::system::error_code ec;
        co_await self->idle_timer_.async_wait(net::redirect_error(net::use_awaitable, ec));
        if (self->closed_) {
            break;
        }
        const auto now = std::chrono::steady_clock::now();
        if (!self->busy_ && now >= self->last_activity_ + self->idle_limit_) {
            BROKER_LOG_DEBUG("closing idle connection from " << self->peer_);
            self->close();
            break;
        }
        if (self->busy_) {
            // A request is in progress; look again one idle period from now.
            self->last_activity_ = now;
        }
    }
}

net::awaitable<bool> connection::read_exact(uint8_t* out, std::size_t n) {
    std::size_t got = 0;
    while (got < n) {
        const std::size_t buffered = read_end_ - read_begin_;
        if (buffered > 0) {
            const std::size_t take = std::min(buffered, n - got);
            std::memcpy(out + got, read_buffer_.data() + read_begin_, take);
            read_begin_ += take;
            got += take;
            continue;
        }
        if (closed_) {
            co_return false;
        }
        boost::system::error_code ec;
        const std::size_t need = n - got;
        if (need >= read_buffer_.size() / 2) {
            // Large bodies go straight into their destination, skipping a copy. Reading in
            // chunks keeps the idle clock moving while a big frame trickles in.
            got += co_await socket_.async_read_some(net::buffer(out + got, need),
                                                    net::redirect_error(net::use_awaitable, ec));
        } else {
            read_begin_ = 0;
            read_end_ = co_await socket_.async_read_some(
                net::buffer(read_buffer_), net::redirect_error(net::use_awaitable, ec));
        }
        if (ec) {
            if (ec != net::error::eof && ec != net::error::operation_aborted) {
                BROKER_LOG_DEBUG("read from " << peer_ << " failed: " << ec.message());
            }
            co_return false;
        }
        touch();
    }
    co_return true;
}

namespace {

net::awaitable<boost::system::error_code> send_region(net::ip::tcp::socket& socket,
                                                      const protocol::file_region& region) {
    off_t offset = static_cast<off_t>(region.position);
    std::size_t left = region.length;
    while (left > 0) {
        if (!socket.is_open()) {
            co_return net::error::bad_descriptor;
        }
        const ssize_t n = ::sendfile(socket.native_handle(), region.fd, &offset, left);
        if (n > 0) {
            left -= static_cast<std::size_t>(n);
            continue;
        }
        if (n == 0) {
            // The file ended before the region did. The size prefix already promised these bytes,
            // so the connection cannot continue.
            co_return boost::system::errc::make_error_code(boost::system::errc::io_error);
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            boost::system::error_code ec;
            co_await socket.async_wait(net::ip::tcp::socket::wait_write,
                                       net::redirect_error(net::use_awaitable, ec));
            if (ec) {
                co_return ec;
            }
            continue;
        }
        co_return boost::system::error_code(errno, boost::system::system_category());
    }
    co_return boost::system::error_code{};
}

}  // namespace

net::awaitable<boost::system::error_code> send_response(net::ip::tcp::socket& socket,
                                                        const response_buffer& response) {
    boost::system::error_code ec;
    std::size_t written = 0;
    const auto write_upto = [&](std::size_t upto) -> net::awaitable<void> {
        if (upto > written) {
            co_await net::async_write(socket,
                                      net::buffer(response.bytes.data() + written, upto - written),
                                      net::redirect_error(net::use_awaitable, ec));
            written = upto;
        }
    };
    for (const protocol::splice& s : response.splices) {
        co_await write_upto(std::min(s.buffer_offset, response.bytes.size()));
        if (ec) {
            co_return ec;
        }
        ec = co_await send_region(socket, s.region);
        if (ec) {
            co_return ec;
        }
    }
    co_await write_upto(response.bytes.size());
    co_return ec;
}

net::awaitable<void> connection::serve() {
    const broker_config& config = services_.broker.config();
    const int64_t max_frame = config.socket_request_max_bytes;
    while (!closed_) {
        uint8_t size_bytes[4];
        if (!co_await read_exact(size_bytes, sizeof size_bytes)) {
            co_return;
        }
        const auto size = static_cast<int32_t>(load_be32(size_bytes));
        if (size < 0 || size > max_frame) {
            BROKER_LOG_DEBUG("closing connection from " << peer_ << ": request size " << size
                                                        << " outside [0, " << max_frame << "]");
            co_return;
        }
        // Small frames never wait for the budget (connection.h): stalled large frames must not
        // starve them. They are charged when it has room, and otherwise go through uncharged.
        int64_t reserved = 0;
        if (size <= unbudgeted_request_bytes) {
            reserved = std::max<int64_t>(services_.request_memory.try_acquire(size), 0);
        } else {
            reserved = co_await services_.request_memory.acquire(size);
            if (reserved < 0) {
                co_return;  // shutting down
            }
        }
        // Both end with the request, or earlier when the handler releases the frame before it
        // waits (request_context::release_frame).
        std::optional<reservation> held(std::in_place, services_.request_memory, reserved);
        std::optional<frame_buffer> buffer(std::in_place, static_cast<std::size_t>(size));
        if (!co_await read_exact(buffer->data(), buffer->size())) {
            co_return;
        }

        const std::span<uint8_t> frame = buffer->bytes();
        protocol::reader in(frame);
        protocol::request_header header;
        int16_t header_version = 0;
        if (protocol::decode_request_header(in, header, header_version) !=
            protocol::codec_status::ok) {
            // Kafka closes the connection both for unreadable headers and for API keys it does
            // not know; there is no response format it could use.
            if (in.ok() && protocol::find_api(header.request_api_key) == nullptr) {
                BROKER_LOG_DEBUG("closing connection from " << peer_ << ": unknown API key "
                                                            << header.request_api_key);
            } else {
                BROKER_LOG_DEBUG("closing connection from " << peer_
                                                            << ": malformed request header");
            }
            co_return;
        }
        const served_api* api = find_served_api(header.request_api_key);
        if (api == nullptr || !api->served(config.single_node())) {
            BROKER_LOG_DEBUG("closing connection from " << peer_ << ": API key "
                                                        << header.request_api_key
                                                        << " is not served");
            co_return;
        }
        const int16_t version = header.request_api_version;
        const bool version_served = version >= api->min_version && version <= api->max_version;
        // Every version of ApiVersions gets an answer (KIP-511); the handler sends the fallback.
        if (!version_served && header.request_api_key != api_versions_key) {
            BROKER_LOG_DEBUG("closing connection from " << peer_ << ": API key "
                                                        << header.request_api_key << " version "
                                                        << version << " is not supported");
            co_return;
        }

        // From here until the response is written the connection is working, not idle: a slow
        // handler (a long-poll, a disk wait) must not be mistaken for an idle client. Reading a
        // frame is not covered, so a client that stalls mid-request is still closed when idle.
        busy_scope busy(busy_);
        request_context ctx{
            .broker = services_.broker,
            .header = header,
            .api_key = header.request_api_key,
            .api_version = version,
            .response_header_version =
                protocol::response_header_version(header.request_api_key, version),
            .correlation_id = header.correlation_id,
            .client_id =
                header.client_id ? std::string_view(*header.client_id) : std::string_view(),
            .peer = peer_,
            .listener_name = listener_name_,
            .shard_id = shard_id_,
            .frame = frame,
            .connection_closed = &close_signal_,
            .frame_release =
                [&buffer, &held] {
                    buffer.reset();
                    held.reset();
                },
        };
        handler_result result = co_await dispatch(ctx, in);
        if (result.response) {
            const boost::system::error_code ec = co_await send_response(socket_, *result.response);
            if (ec) {
                BROKER_LOG_DEBUG("writing response to " << peer_ << " failed: " << ec.message());
                co_return;
            }
            touch();
        }
        if (result.close_connection) {
            BROKER_LOG_DEBUG("closing connection from " << peer_ << " after API key "
                                                        << header.request_api_key);
            co_return;
        }
    }
}

}  // namespace broker::server
