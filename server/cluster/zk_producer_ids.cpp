#include "server/cluster/zk_producer_ids.h"

#include <future>
#include <limits>
#include <optional>
#include <string>

#include "server/logging.h"
#include "zk/session.h"
#include "zk/znodes.h"

namespace broker::server::cluster {
namespace {

struct reserved {
    std::error_code error;
    int64_t first = -1;
};

}  // namespace

zk_producer_id_blocks::zk_producer_id_blocks(zk::session& session, net::any_io_executor executor,
                                             int32_t broker_id, std::chrono::milliseconds timeout)
    : session_(session), executor_(std::move(executor)), broker_id_(broker_id), timeout_(timeout) {}

std::error_code zk_producer_id_blocks::next_block(int64_t size, producer_id_t& first) {
    zk::session* session = &session_;
    const int32_t broker = broker_id_;
    auto work = [session, broker, size]() -> net::awaitable<reserved> {
        const std::string path(zk::znodes::producer_id_block_path);
        // A few rounds: another broker may take the block between our read and our write.
        for (int attempt = 0; attempt < 20; ++attempt) {
            zk::client& c = session->current();
            auto reading = c.get(path);
            const zk::result<zk::node> node = co_await std::move(reading);
            if (!node.ok() && node.error != zk::error_code::no_node) {
                co_return reserved{std::make_error_code(std::errc::io_error)};
            }
            int64_t start = 0;
            if (node.ok() && !node.value.data.empty()) {
                const std::optional<zk::znodes::producer_id_block> last =
                    zk::znodes::decode_producer_id_block(node.value.data);
                if (!last) {
                    BROKER_LOG_ERROR(path << " is malformed: " << node.value.data);
                    co_return reserved{std::make_error_code(std::errc::io_error)};
                }
                if (last->block_end > std::numeric_limits<int64_t>::max() - size) {
                    co_return reserved{std::make_error_code(std::errc::value_too_large)};
                }
                start = last->block_end + 1;
            }
            zk::znodes::producer_id_block next{broker, start, start + size - 1};
            std::string data = zk::znodes::encode_producer_id_block(next);
            if (!node.ok()) {
                auto creating = c.create(path, std::move(data), zk::create_mode::persistent);
                const zk::result<std::string> created = co_await std::move(creating);
                if (created.ok()) {
                    co_return reserved{{}, start};
                }
                if (created.error != zk::error_code::node_exists) {
                    co_return reserved{std::make_error_code(std::errc::io_error)};
                }
                continue;
            }
            auto setting = c.set(path, std::move(data), node.value.stat.version);
            const zk::result<zk::stat> set = co_await std::move(setting);
            if (set.ok()) {
                co_return reserved{{}, start};
            }
            if (set.error != zk::error_code::bad_version) {
                co_return reserved{std::make_error_code(std::errc::io_error)};
            }
        }
        co_return reserved{std::make_error_code(std::errc::resource_unavailable_try_again)};
    };
    std::future<reserved> done = net::co_spawn(executor_, std::move(work), net::use_future);
    if (done.wait_for(timeout_) != std::future_status::ready) {
        return std::make_error_code(std::errc::timed_out);
    }
    reserved r;
    try {
        r = done.get();
    } catch (const std::exception& e) {
        BROKER_LOG_ERROR("reserving producer ids in ZooKeeper: " << e.what());
        return std::make_error_code(std::errc::io_error);
    }
    if (!r.error) {
        first = producer_id_t{r.first};
        BROKER_LOG_INFO("reserved producer ids " << r.first << ".." << r.first + size - 1
                                                 << " in ZooKeeper");
    }
    return r.error;
}

}  // namespace broker::server::cluster
