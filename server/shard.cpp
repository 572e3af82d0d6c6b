#include "server/shard.h"

#include <pthread.h>

#include <stdexcept>
#include <string>

#include "server/logging.h"

namespace broker::server {
namespace {

thread_local const shard_group* current_group = nullptr;
thread_local unsigned current_id = 0;

}  // namespace

shard_group::shard_group(unsigned shard_count, unsigned blocking_threads)
    : blocking_(blocking_threads == 0 ? 1 : blocking_threads) {
    if (shard_count == 0) {
        throw std::invalid_argument("shard_group needs at least one shard");
    }
    shards_.reserve(shard_count);
    for (unsigned i = 0; i < shard_count; ++i) {
        shards_.push_back(std::make_unique<shard>(i));
    }
}

shard_group::~shard_group() {
    stop();
}

void shard_group::start() {
    if (started_) {
        return;
    }
    started_ = true;
    for (auto& s : shards_) {
        s->work.emplace(s->context.get_executor());
        shard* raw = s.get();
        s->thread = std::thread([this, raw] {
            current_group = this;
            current_id = raw->id;
            set_thread_shard_tag(static_cast<int>(raw->id));
            const std::string name = "shard-" + std::to_string(raw->id);
            pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
            // A handler that throws is a bug; log it and keep the shard alive rather than take the
            // whole broker down with an unhandled exception on a worker thread.
            while (true) {
                try {
                    raw->context.run();
                    break;
                } catch (const std::exception& e) {
                    BROKER_LOG_ERROR("unhandled exception on shard " << raw->id << ": "
                                                                     << e.what());
                }
            }
            current_group = nullptr;
        });
    }
}

void shard_group::stop() {
    if (stopped_) {
        return;
    }
    stopped_ = true;
    for (auto& s : shards_) {
        s->work.reset();
        s->context.stop();
    }
    for (auto& s : shards_) {
        if (s->thread.joinable()) {
            s->thread.join();
        }
    }
    blocking_.stop();
    blocking_.join();
}

net::any_io_executor shard_group::shard_executor(unsigned id) const {
    return shards_.at(id)->context.get_executor();
}

std::optional<unsigned> shard_group::current_shard() const {
    if (current_group == this) {
        return current_id;
    }
    return std::nullopt;
}

}  // namespace broker::server
