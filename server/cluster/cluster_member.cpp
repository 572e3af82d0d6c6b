#include "server/cluster/cluster_member.h"

#include <chrono>
#include <future>
#include <optional>
#include <stdexcept>

#include "server/cluster/broker_channel.h"
#include "server/cluster/controller.h"
#include "server/cluster/zk_admin_backend.h"
#include "server/cluster/zk_catalog_source.h"
#include "server/cluster/zk_producer_ids.h"
#include "server/logging.h"
#include "server/meta_properties.h"
#include "zk/session.h"
#include "zk/znodes.h"
#include "zk/zookeeper_client.h"

namespace broker::server::cluster {
namespace {

using namespace std::chrono_literals;

int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

/// Runs `fn` (a coroutine) on `io` and waits for it at most `timeout` from the calling thread.
template <typename T>
T run_on(net::io_context& io, std::chrono::milliseconds timeout,
         std::function<net::awaitable<T>()> fn, const std::string& what) {
    std::future<T> done = net::co_spawn(io, std::move(fn), net::use_future);
    if (done.wait_for(timeout) != std::future_status::ready) {
        throw std::runtime_error(what + ": no answer within " + std::to_string(timeout.count()) +
                                 " ms");
    }
    return done.get();
}

}  // namespace

struct cluster_member::impl {
    impl(cluster_member& owner, const broker_config& config)
        : owner(owner), config(config), work(net::make_work_guard(io)) {}

    cluster_member& owner;
    const broker_config& config;
    net::io_context io{1};
    net::executor_work_guard<net::io_context::executor_type> work;
    std::thread thread;
    zk::znodes::connect_string connect;
    std::chrono::milliseconds session_timeout{18000};
    std::chrono::milliseconds connection_timeout{18000};

    std::unique_ptr<zk::session> session;
    std::unique_ptr<zk_catalog_source> catalog;
    std::unique_ptr<zk_admin_backend> admin;

    // The controller of the current session and its channel (cluster thread only).
    std::unique_ptr<broker_channel_manager> channel;
    std::unique_ptr<controller> active;
    std::shared_ptr<std::atomic<bool>> active_running;

    // Cluster thread only.
    bool joined = false;
    std::vector<advertised_endpoint> endpoints;
    std::string cluster_id;
    bool stopped = false;

    std::string registration_data() const {
        zk::znodes::broker_registration r;
        r.id = config.broker_id;
        for (const advertised_endpoint& e : endpoints) {
            r.endpoints.push_back({e.listener_name, e.host, e.port});
            const auto it = config.listener_security_protocol_map.find(e.listener_name);
            r.listener_security_protocol_map[e.listener_name] =
                it == config.listener_security_protocol_map.end() ? std::string("PLAINTEXT")
                                                                  : it->second;
        }
        if (!config.broker_rack.empty()) {
            r.rack = config.broker_rack;
        }
        r.timestamp_ms = now_ms();
        return zk::znodes::encode_broker(r);
    }

    // Kafka's persistent paths and the cluster id, on every new session.
    net::awaitable<bool> prepare_tree(zk::client& c) {
        // Arguments are named before each co_await (STYLE.md: GCC 12 destroys a temporary of a
        // co_await expression twice).
        for (std::string_view path : zk::znodes::persistent_paths()) {
            std::string wanted(path);
            auto create = zk::create_recursive(c, std::move(wanted));
            const zk::error_code ec = co_await std::move(create);
            if (ec != zk::error_code::ok) {
                BROKER_LOG_WARN("ZooKeeper: creating " << path << " failed: " << zk::to_string(ec));
                co_return false;
            }
        }
        {
            // Feature versioning's node, as Kafka 3.9 writes it (no finalized features).
            auto creating = c.create(std::string(zk::znodes::feature_path),
                                     zk::znodes::encode_feature(), zk::create_mode::persistent);
            const zk::result<std::string> created = co_await std::move(creating);
            if (!created.ok() && created.error != zk::error_code::node_exists) {
                co_return false;
            }
        }
        for (int attempt = 0; attempt < 3; ++attempt) {
            auto read = c.get(std::string(zk::znodes::cluster_id_path));
            zk::result<zk::node> node = co_await std::move(read);
            if (node.ok()) {
                const std::optional<std::string> id =
                    zk::znodes::decode_cluster_id(node.value.data);
                if (!id) {
                    BROKER_LOG_ERROR(
                        "ZooKeeper: /cluster/id holds no cluster id: " << node.value.data);
                    co_return false;
                }
                cluster_id = *id;
                co_return true;
            }
            if (node.error != zk::error_code::no_node) {
                co_return false;
            }
            // The first broker of the cluster names it.
            std::string parent_path("/cluster");
            auto create_parent = zk::create_recursive(c, std::move(parent_path));
            const zk::error_code parent = co_await std::move(create_parent);
            if (parent != zk::error_code::ok) {
                co_return false;
            }
            std::string data = zk::znodes::encode_cluster_id(generate_cluster_id());
            auto create = c.create(std::string(zk::znodes::cluster_id_path), std::move(data),
                                   zk::create_mode::persistent);
            const zk::result<std::string> created = co_await std::move(create);
            if (!created.ok() && created.error != zk::error_code::node_exists) {
                co_return false;
            }
        }
        co_return false;
    }

    // /brokers/ids/<id>: the broker epoch is the node's czxid. A node left by this broker's
    // previous process (its session not yet timed out) is waited out.
    net::awaitable<bool> register_broker(zk::client& c) {
        const std::string path = zk::znodes::broker_path(config.broker_id);
        net::steady_timer timer(io);
        const auto deadline = std::chrono::steady_clock::now() + session_timeout + 5s;
        bool warned = false;
        while (!stopped && c.state() == zk::session_state::connected) {
            std::string data = registration_data();
            auto create = c.create(path, std::move(data), zk::create_mode::ephemeral);
            const zk::result<std::string> created = co_await std::move(create);
            if (created.ok() || created.error == zk::error_code::node_exists) {
                auto check = c.exists(path);
                const zk::result<zk::stat> st = co_await std::move(check);
                if (st.ok() && st.value.ephemeral_owner == c.session_id()) {
                    if (created.ok()) {
                        // Kafka's broker writes its registration a second time once it is up
                        // (the node then reads version 1, as in Kafka's tree); the czxid, the
                        // broker epoch, stays.
                        std::string again = registration_data();
                        auto updating = c.set(path, std::move(again), st.value.version);
                        const zk::result<zk::stat> updated = co_await std::move(updating);
                        if (!updated.ok()) {
                            co_return false;
                        }
                    }
                    owner.broker_epoch_.store(st.value.czxid, std::memory_order_release);
                    BROKER_LOG_INFO("registered in ZooKeeper at " << path << " (broker epoch "
                                                                  << st.value.czxid << ")");
                    co_return true;
                }
                if (!st.ok() && st.error != zk::error_code::no_node) {
                    co_return false;
                }
                if (!warned) {
                    warned = true;
                    BROKER_LOG_WARN(path << " is held by another session (this broker's previous "
                                            "process, or another broker with broker.id "
                                         << config.broker_id << "); waiting for it to go away");
                }
                if (std::chrono::steady_clock::now() > deadline) {
                    BROKER_LOG_ERROR("another live broker is registered with broker.id "
                                     << config.broker_id);
                    co_return false;
                }
                timer.expires_after(500ms);
                boost::system::error_code ec;
                co_await timer.async_wait(net::redirect_error(net::use_awaitable, ec));
                continue;
            }
            co_return false;
        }
        co_return false;
    }

    // Stops the controller of the previous session and waits for its loop to end.
    net::awaitable<void> stop_controller() {
        if (active) {
            active->stop();
        }
        if (channel) {
            channel->stop();
        }
        net::steady_timer timer(io);
        for (int i = 0; i < 200 && active_running && active_running->load(); ++i) {
            timer.expires_after(10ms);
            boost::system::error_code ec;
            co_await timer.async_wait(net::redirect_error(net::use_awaitable, ec));
        }
        active.reset();
        channel.reset();
        active_running.reset();
    }

    void start_controller(zk::client& c) {
        controller_settings s;
        s.broker_id = config.broker_id;
        s.inter_broker_listener = config.effective_inter_broker_listener();
        s.unclean_leader_election_enable = config.unclean_leader_election_enable;
        s.auto_leader_rebalance_enable = config.auto_leader_rebalance_enable;
        s.leader_imbalance_per_broker_percentage = config.leader_imbalance_per_broker_percentage;
        s.leader_imbalance_check_interval =
            std::chrono::seconds(config.leader_imbalance_check_interval_seconds);
        s.delete_topic_enable = config.delete_topic_enable;
        channel = std::make_unique<broker_channel_manager>(
            io.get_executor(), config.broker_id,
            std::chrono::milliseconds(config.controller_socket_timeout_ms), 100ms);
        active = std::make_unique<controller>(c, *channel, s);
        auto running = std::make_shared<std::atomic<bool>>(true);
        active_running = running;
        net::co_spawn(io, active->run(), [running](std::exception_ptr e) {
            running->store(false);
            if (e) {
                try {
                    std::rethrow_exception(e);
                } catch (const std::exception& ex) {
                    BROKER_LOG_ERROR("controller stopped on an error: " << ex.what());
                }
            }
        });
    }

    // Every new session: the tree, the cluster id, then (once joined) the registration and the
    // controller.
    net::awaitable<bool> on_session(zk::client& c) {
        auto stopping = stop_controller();
        co_await std::move(stopping);
        auto preparing = prepare_tree(c);
        if (!co_await std::move(preparing)) {
            co_return false;
        }
        if (!joined || stopped) {
            co_return true;
        }
        auto registering = register_broker(c);
        if (!co_await std::move(registering)) {
            co_return false;
        }
        start_controller(c);
        co_return true;
    }
};

cluster_member::cluster_member(const broker_config& config)
    : config_(config), impl_(std::make_unique<impl>(*this, config)) {}

cluster_member::~cluster_member() {
    stop();
    impl_->admin.reset();
    impl_->catalog.reset();
    impl_->session.reset();
}

std::string cluster_member::connect() {
    impl& m = *impl_;
    const std::optional<zk::znodes::connect_string> parsed =
        zk::znodes::parse_connect_string(config_.zookeeper_connect);
    if (!parsed) {
        throw std::runtime_error("zookeeper.connect=" + config_.zookeeper_connect +
                                 " is not host:port[,host:port...][/chroot]");
    }
    m.connect = *parsed;
    m.session_timeout = std::chrono::milliseconds(config_.zookeeper_session_timeout_ms);
    m.connection_timeout = std::chrono::milliseconds(
        config_.zookeeper_connection_timeout_ms.value_or(config_.zookeeper_session_timeout_ms));
    m.thread = std::thread([&m] {
        set_thread_shard_tag(-1);
        m.io.run();
    });

    const std::string hosts = m.connect.hosts;
    const std::string chroot = m.connect.chroot;
    const std::chrono::milliseconds timeout = m.connection_timeout;
    // The chroot is created first, through a session without it (as Kafka's broker does).
    const zk::error_code chrooted = run_on<zk::error_code>(
        m.io, timeout + 2s,
        [&m, hosts, chroot, timeout]() -> net::awaitable<zk::error_code> {
            net::any_io_executor executor = m.io.get_executor();
            std::string h = hosts;
            std::string r = chroot;
            auto ensure = zk::ensure_chroot(executor, std::move(h), std::move(r), timeout);
            co_return co_await std::move(ensure);
        },
        "connecting to ZooKeeper at " + hosts);
    if (chrooted != zk::error_code::ok) {
        throw std::runtime_error("cannot create the chroot " + chroot + " in ZooKeeper at " +
                                 hosts + ": " + std::string(zk::to_string(chrooted)));
    }

    const std::string connect_text = hosts + chroot;
    const std::chrono::milliseconds session_timeout = m.session_timeout;
    m.session = std::make_unique<zk::session>(
        m.io.get_executor(), [&m, connect_text, session_timeout]() -> std::unique_ptr<zk::client> {
            auto c = std::make_unique<zk::zookeeper_client>(
                m.io.get_executor(), zk::zookeeper_options{connect_text, session_timeout});
            if (c->start() != zk::error_code::ok) {
                BROKER_LOG_ERROR("ZooKeeper client refused the connect string " << connect_text);
            }
            return c;
        });
    m.session->on_new_session([&m](zk::client& c) { return m.on_session(c); });
    m.session->on_expired([this, &m] {
        broker_epoch_.store(-1, std::memory_order_release);
        BROKER_LOG_WARN(
            "ZooKeeper session expired; starting a new one (registration and "
            "controller election follow)");
        if (m.active) {
            m.active->stop();
        }
        if (m.channel) {
            m.channel->stop();
        }
    });
    run_on<bool>(
        m.io, timeout + 5s,
        [&m, timeout]() -> net::awaitable<bool> {
            auto starting = m.session->start(timeout);
            co_await std::move(starting);
            co_return true;
        },
        "connecting to ZooKeeper at " + hosts);
    m.catalog = std::make_unique<zk_catalog_source>(*m.session, m.io.get_executor(),
                                                    node_id{config_.broker_id});
    m.admin =
        std::make_unique<zk_admin_backend>(config_, *m.session, m.io.get_executor(), *m.catalog);
    const std::string id = run_on<std::string>(
        m.io, 1s, [&m]() -> net::awaitable<std::string> { co_return m.cluster_id; },
        "reading the cluster id");
    if (id.empty()) {
        throw std::runtime_error("ZooKeeper at " + hosts + chroot + " gave no cluster id");
    }
    BROKER_LOG_INFO("connected to ZooKeeper at " << hosts << chroot << " (cluster id " << id
                                                 << ")");
    return id;
}

std::unique_ptr<producer_id_block_source> cluster_member::producer_id_source() {
    return std::make_unique<zk_producer_id_blocks>(*impl_->session, impl_->io.get_executor(),
                                                   config_.broker_id, impl_->session_timeout);
}

metadata_source& cluster_member::metadata() {
    return *impl_->catalog;
}

admin_backend& cluster_member::admin() {
    return *impl_->admin;
}

void cluster_member::join(std::vector<advertised_endpoint> endpoints) {
    impl& m = *impl_;
    const std::chrono::milliseconds bound = m.session_timeout + m.connection_timeout + 10s;
    const bool ok = run_on<bool>(
        m.io, bound,
        [&m, endpoints = std::move(endpoints)]() -> net::awaitable<bool> {
            m.endpoints = endpoints;
            m.joined = true;
            zk::client& c = m.session->current();
            auto registering = m.register_broker(c);
            if (!co_await std::move(registering)) {
                co_return false;
            }
            m.start_controller(c);
            co_return true;
        },
        "registering in ZooKeeper");
    if (!ok) {
        throw std::runtime_error("cannot register broker " + std::to_string(config_.broker_id) +
                                 " in ZooKeeper (see the log above)");
    }
}

bool cluster_member::accept_controller_epoch(int32_t epoch) {
    int32_t seen = controller_epoch_.load(std::memory_order_acquire);
    while (epoch >= seen) {
        if (controller_epoch_.compare_exchange_weak(seen, epoch, std::memory_order_acq_rel)) {
            return true;
        }
    }
    return false;
}

metadata_image cluster_member::apply_update_metadata(
    const protocol::update_metadata_request& request, int16_t version) {
    std::lock_guard lock(image_mutex_);
    image_ = cluster::apply_update_metadata(image_, request, version);
    return image_;
}

void cluster_member::stop() {
    impl& m = *impl_;
    if (!m.thread.joinable()) {
        return;
    }
    if (m.catalog) {
        m.catalog->stop();  // it synchronises with the cluster thread itself
    }
    try {
        run_on<bool>(
            m.io, 5s,
            [&m]() -> net::awaitable<bool> {
                m.stopped = true;
                auto stopping = m.stop_controller();
                co_await std::move(stopping);
                if (m.session) {
                    m.session->stop();
                }
                co_return true;
            },
            "leaving the cluster");
    } catch (const std::exception& e) {
        BROKER_LOG_WARN("ZooKeeper: " << e.what());
    }
    broker_epoch_.store(-1, std::memory_order_release);
    m.work.reset();
    m.io.stop();
    m.thread.join();
    // The metadata source, admin backend and session stay until the member is destroyed: the
    // broker core still holds them (its topic store stops the source again at shutdown).
    m.active.reset();
    m.channel.reset();
}

}  // namespace broker::server::cluster
