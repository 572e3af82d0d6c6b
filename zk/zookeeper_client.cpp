#include "zk/zookeeper_client.h"

#include <zookeeper/zookeeper.h>

#include <algorithm>
#include <map>
#include <mutex>

#include "zk/session.h"

namespace broker::zk {

static_assert(static_cast<int>(error_code::no_node) == ZNONODE);
static_assert(static_cast<int>(error_code::node_exists) == ZNODEEXISTS);
static_assert(static_cast<int>(error_code::bad_version) == ZBADVERSION);
static_assert(static_cast<int>(error_code::not_empty) == ZNOTEMPTY);
static_assert(static_cast<int>(error_code::session_expired) == ZSESSIONEXPIRED);
static_assert(static_cast<int>(error_code::runtime_inconsistency) == ZRUNTIMEINCONSISTENCY);
static_assert(static_cast<int>(error_code::closing) == ZCLOSING);

namespace {

error_code to_error(int rc) {
    return static_cast<error_code>(rc);
}

zk::stat to_stat(const Stat* s) {
    zk::stat out;
    if (s != nullptr) {
        out.czxid = s->czxid;
        out.mzxid = s->mzxid;
        out.pzxid = s->pzxid;
        out.version = s->version;
        out.cversion = s->cversion;
        out.ephemeral_owner = s->ephemeralOwner;
        out.data_length = s->dataLength;
        out.num_children = s->numChildren;
    }
    return out;
}

int to_mode(create_mode mode) {
    switch (mode) {
        case create_mode::persistent: return ZOO_PERSISTENT;
        case create_mode::ephemeral: return ZOO_EPHEMERAL;
        case create_mode::persistent_sequential: return ZOO_PERSISTENT_SEQUENTIAL;
        case create_mode::ephemeral_sequential: return ZOO_EPHEMERAL_SEQUENTIAL;
    }
    return ZOO_PERSISTENT;
}

// A create's data: empty data is written as null (a NULL buffer of length -1), as Kafka's
// broker creates its structural nodes (zkCli.sh shows "null" for them, as for Kafka's).
const char* create_data(const std::string& data) {
    return data.empty() ? nullptr : data.data();
}

int create_length(const std::string& data) {
    return data.empty() ? -1 : static_cast<int>(data.size());
}

// The completion of one operation, type-erased over the awaiting handler. complete() runs on the
// C client's completion thread and only posts.
template <typename T>
struct pending {
    virtual ~pending() = default;
    virtual void complete(result<T> r) = 0;
};

template <typename T, typename Handler>
struct pending_handler final : pending<T> {
    pending_handler(Handler h, net::any_io_executor ex)
        : handler(std::move(h)),
          // Keeps the executor's io_context running while the C client holds the operation.
          work(net::prefer(std::move(ex), net::execution::outstanding_work.tracked)) {}

    void complete(result<T> r) override {
        auto target = net::get_associated_executor(handler, work);
        net::post(target, [h = std::move(handler), r = std::move(r), w = work]() mutable {
            h(std::move(r));
        });
    }

    Handler handler;
    net::any_io_executor work;
};

// Context of one C call: the completion plus what must live until it (multi buffers).
template <typename T>
struct op_context {
    std::unique_ptr<pending<T>> done;
    zookeeper_client::shared* owner = nullptr;
    void* watch = nullptr;  // the watch context armed with this operation, if any
};

}  // namespace

struct watch_context {
    zookeeper_client::shared* owner = nullptr;
    net::any_io_executor executor;
    watch_callback callback;
};

struct zookeeper_client::shared {
    net::any_io_executor executor;
    zhandle_t* handle = nullptr;
    // Owned by the executor's thread.
    session_state state = session_state::connecting;
    int64_t session_id = 0;
    state_callback on_state;
    // Both threads.
    std::mutex mutex;
    std::map<watch_context*, std::unique_ptr<watch_context>> watches;
    std::weak_ptr<shared> self;

    watch_context* add_watch(watch_callback callback) {
        auto ctx = std::make_unique<watch_context>();
        ctx->owner = this;
        ctx->executor = executor;
        ctx->callback = std::move(callback);
        watch_context* raw = ctx.get();
        std::lock_guard lock(mutex);
        watches.emplace(raw, std::move(ctx));
        return raw;
    }
    // Takes the watch out of the table (nullptr if it already fired).
    std::unique_ptr<watch_context> take_watch(void* ctx) {
        std::lock_guard lock(mutex);
        auto it = watches.find(static_cast<watch_context*>(ctx));
        if (it == watches.end()) {
            return nullptr;
        }
        auto out = std::move(it->second);
        watches.erase(it);
        return out;
    }
};

namespace {

// The session watcher (zookeeper_init's): posts the new state to the executor.
void on_session_event(zhandle_t* zh, int type, int state, const char*, void* context) {
    if (type != ZOO_SESSION_EVENT) {
        return;
    }
    auto* s = static_cast<zookeeper_client::shared*>(context);
    auto owner = s->self.lock();
    if (!owner) {
        return;
    }
    session_state next = state == ZOO_CONNECTED_STATE         ? session_state::connected
                         : state == ZOO_EXPIRED_SESSION_STATE ? session_state::expired
                                                              : session_state::connecting;
    const clientid_t* id = zoo_client_id(zh);
    int64_t session = id != nullptr ? id->client_id : 0;
    net::post(owner->executor, [owner, next, session] {
        if (owner->state == session_state::expired || owner->state == next) {
            return;
        }
        owner->state = next;
        if (next == session_state::connected) {
            owner->session_id = session;
        }
        if (owner->on_state) {
            owner->on_state(next);
        }
    });
}

// A per-path watcher: fires its watch once (connection changes leave it armed).
void on_watch_event(zhandle_t*, int type, int state, const char* path, void* context) {
    auto* ctx = static_cast<watch_context*>(context);
    watch_event event;
    if (type == ZOO_SESSION_EVENT) {
        if (state != ZOO_EXPIRED_SESSION_STATE) {
            return;
        }
        event = watch_event::session_expired;
    } else if (type == ZOO_CREATED_EVENT) {
        event = watch_event::created;
    } else if (type == ZOO_DELETED_EVENT) {
        event = watch_event::deleted;
    } else if (type == ZOO_CHANGED_EVENT) {
        event = watch_event::data_changed;
    } else if (type == ZOO_CHILD_EVENT) {
        event = watch_event::children_changed;
    } else {
        return;
    }
    auto taken = ctx->owner->take_watch(ctx);
    if (!taken) {
        return;
    }
    std::string where = path != nullptr ? path : "";
    auto executor = taken->executor;
    net::post(executor, [w = std::move(taken), event, where = std::move(where)] {
        w->callback(event, where);
    });
}

// A watch is armed only when its operation succeeded (exists: also on no node); otherwise its
// context is dropped here.
void drop_unarmed_watch(zookeeper_client::shared* owner, void* watch, int rc, bool exists) {
    if (watch != nullptr && rc != ZOK && !(exists && rc == ZNONODE)) {
        owner->take_watch(watch);
    }
}

template <typename T, typename Context, typename Issue>
net::awaitable<result<T>> run_op(net::any_io_executor executor, std::unique_ptr<Context> ctx,
                                 Issue issue) {
    auto initiation = [&executor, &ctx, &issue](auto handler) {
        ctx->done =
            std::make_unique<pending_handler<T, decltype(handler)>>(std::move(handler), executor);
        Context* raw = ctx.release();
        int rc = issue(raw);
        // The C client refuses calls on an expired handle with ZINVALIDSTATE; the interface
        // promises session_expired.
        if (rc == ZINVALIDSTATE && raw->owner->handle != nullptr &&
            zoo_state(raw->owner->handle) == ZOO_EXPIRED_SESSION_STATE) {
            rc = ZSESSIONEXPIRED;
        }
        if (rc != ZOK) {
            // No completion will come: complete here (still through a post).
            std::unique_ptr<Context> back(raw);
            if (back->watch != nullptr) {
                back->owner->take_watch(back->watch);
            }
            result<T> failed;
            failed.error = to_error(rc);
            back->done->complete(std::move(failed));
        }
    };
    auto waiting = net::async_initiate<const net::use_awaitable_t<>&, void(result<T>)>(
        initiation, net::use_awaitable);
    co_return co_await std::move(waiting);
}

}  // namespace

zookeeper_client::zookeeper_client(net::any_io_executor executor, zookeeper_options options)
    : executor_(std::move(executor)),
      options_(std::move(options)),
      shared_(std::make_shared<shared>()) {
    shared_->executor = executor_;
    shared_->self = shared_;
}

zookeeper_client::~zookeeper_client() {
    stop();
}

error_code zookeeper_client::start() {
    if (shared_->handle != nullptr) {
        return error_code::ok;
    }
    // The C client logs every connection step at INFO to stderr; warnings and errors are what a
    // broker's operator needs from it. The level is process-wide in the C client.
    static std::once_flag log_level;
    std::call_once(log_level, [] { zoo_set_debug_level(ZOO_LOG_LEVEL_WARN); });
    shared_->handle = zookeeper_init(options_.connect.c_str(), on_session_event,
                                     static_cast<int>(options_.session_timeout.count()), nullptr,
                                     shared_.get(), 0);
    return shared_->handle != nullptr ? error_code::ok : error_code::system_error;
}

void zookeeper_client::stop() {
    if (shared_->handle == nullptr) {
        return;
    }
    // Joins the C client's threads: afterwards no callback can arrive. Completions still in flight
    // were called with ZCLOSING and posted their results.
    zookeeper_close(shared_->handle);
    shared_->handle = nullptr;
    std::lock_guard lock(shared_->mutex);
    shared_->watches.clear();
}

net::awaitable<session_state> zookeeper_client::wait_connected(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    net::steady_timer timer(executor_);
    while (shared_->state == session_state::connecting &&
           std::chrono::steady_clock::now() < deadline) {
        timer.expires_after(std::chrono::milliseconds(10));
        auto tick = timer.async_wait(net::use_awaitable);
        co_await std::move(tick);
    }
    co_return shared_->state;
}

session_state zookeeper_client::state() const {
    return shared_->state;
}

int64_t zookeeper_client::session_id() const {
    return shared_->session_id;
}

std::optional<session_credentials> zookeeper_client::credentials() const {
    if (shared_->handle == nullptr) {
        return std::nullopt;
    }
    const clientid_t* id = zoo_client_id(shared_->handle);
    if (id == nullptr || id->client_id == 0) {
        return std::nullopt;
    }
    return session_credentials{id->client_id, std::string(id->passwd, sizeof id->passwd)};
}

void zookeeper_client::on_state_change(state_callback callback) {
    shared_->on_state = std::move(callback);
}

net::awaitable<result<node>> zookeeper_client::get(std::string path, watch_callback watch) {
    using context = op_context<node>;
    auto ctx = std::make_unique<context>();
    ctx->owner = shared_.get();
    if (watch) {
        ctx->watch = shared_->add_watch(std::move(watch));
    }
    zhandle_t* zh = shared_->handle;
    if (zh == nullptr) {
        co_return result<node>{error_code::invalid_state, {}};
    }
    auto issue = [zh, &path](context* raw) {
        auto done = [](int rc, const char* value, int length, const Stat* st, const void* data) {
            std::unique_ptr<context> c(static_cast<context*>(const_cast<void*>(data)));
            drop_unarmed_watch(c->owner, c->watch, rc, false);
            result<node> r;
            r.error = to_error(rc);
            if (rc == ZOK) {
                if (value != nullptr && length > 0) {
                    r.value.data.assign(value, static_cast<std::size_t>(length));
                }
                r.value.stat = to_stat(st);
            }
            c->done->complete(std::move(r));
        };
        return raw->watch != nullptr
                   ? zoo_awget(zh, path.c_str(), on_watch_event, raw->watch, done, raw)
                   : zoo_aget(zh, path.c_str(), 0, done, raw);
    };
    auto running = run_op<node>(executor_, std::move(ctx), issue);
    co_return co_await std::move(running);
}

net::awaitable<result<std::string>> zookeeper_client::create(std::string path, std::string data,
                                                             create_mode mode) {
    using context = op_context<std::string>;
    auto ctx = std::make_unique<context>();
    ctx->owner = shared_.get();
    zhandle_t* zh = shared_->handle;
    if (zh == nullptr) {
        co_return result<std::string>{error_code::invalid_state, {}};
    }
    auto issue = [zh, &path, &data, mode](context* raw) {
        auto done = [](int rc, const char* created, const void* d) {
            std::unique_ptr<context> c(static_cast<context*>(const_cast<void*>(d)));
            result<std::string> r;
            r.error = to_error(rc);
            if (rc == ZOK && created != nullptr) {
                r.value = created;
            }
            c->done->complete(std::move(r));
        };
        return zoo_acreate(zh, path.c_str(), create_data(data), create_length(data),
                           &ZOO_OPEN_ACL_UNSAFE, to_mode(mode), done, raw);
    };
    auto running = run_op<std::string>(executor_, std::move(ctx), issue);
    co_return co_await std::move(running);
}

net::awaitable<result<stat>> zookeeper_client::set(std::string path, std::string data,
                                                   int32_t version) {
    using context = op_context<zk::stat>;
    auto ctx = std::make_unique<context>();
    ctx->owner = shared_.get();
    zhandle_t* zh = shared_->handle;
    if (zh == nullptr) {
        co_return result<zk::stat>{error_code::invalid_state, {}};
    }
    auto issue = [zh, &path, &data, version](context* raw) {
        auto done = [](int rc, const Stat* st, const void* d) {
            std::unique_ptr<context> c(static_cast<context*>(const_cast<void*>(d)));
            result<zk::stat> r;
            r.error = to_error(rc);
            if (rc == ZOK) {
                r.value = to_stat(st);
            }
            c->done->complete(std::move(r));
        };
        return zoo_aset(zh, path.c_str(), data.data(), static_cast<int>(data.size()), version, done,
                        raw);
    };
    auto running = run_op<zk::stat>(executor_, std::move(ctx), issue);
    co_return co_await std::move(running);
}

net::awaitable<result<none>> zookeeper_client::erase(std::string path, int32_t version) {
    using context = op_context<none>;
    auto ctx = std::make_unique<context>();
    ctx->owner = shared_.get();
    zhandle_t* zh = shared_->handle;
    if (zh == nullptr) {
        co_return result<none>{error_code::invalid_state, {}};
    }
    auto issue = [zh, &path, version](context* raw) {
        auto done = [](int rc, const void* d) {
            std::unique_ptr<context> c(static_cast<context*>(const_cast<void*>(d)));
            c->done->complete(result<none>{to_error(rc), {}});
        };
        return zoo_adelete(zh, path.c_str(), version, done, raw);
    };
    auto running = run_op<none>(executor_, std::move(ctx), issue);
    co_return co_await std::move(running);
}

net::awaitable<result<std::vector<std::string>>> zookeeper_client::children(std::string path,
                                                                            watch_callback watch) {
    using names = std::vector<std::string>;
    using context = op_context<names>;
    auto ctx = std::make_unique<context>();
    ctx->owner = shared_.get();
    if (watch) {
        ctx->watch = shared_->add_watch(std::move(watch));
    }
    zhandle_t* zh = shared_->handle;
    if (zh == nullptr) {
        co_return result<names>{error_code::invalid_state, {}};
    }
    auto issue = [zh, &path](context* raw) {
        auto done = [](int rc, const String_vector* strings, const void* d) {
            std::unique_ptr<context> c(static_cast<context*>(const_cast<void*>(d)));
            drop_unarmed_watch(c->owner, c->watch, rc, false);
            result<names> r;
            r.error = to_error(rc);
            if (rc == ZOK && strings != nullptr) {
                for (int32_t i = 0; i < strings->count; ++i) {
                    r.value.emplace_back(strings->data[i]);
                }
                std::sort(r.value.begin(), r.value.end());
            }
            c->done->complete(std::move(r));
        };
        return raw->watch != nullptr
                   ? zoo_awget_children(zh, path.c_str(), on_watch_event, raw->watch, done, raw)
                   : zoo_aget_children(zh, path.c_str(), 0, done, raw);
    };
    auto running = run_op<names>(executor_, std::move(ctx), issue);
    co_return co_await std::move(running);
}

net::awaitable<result<stat>> zookeeper_client::exists(std::string path, watch_callback watch) {
    using context = op_context<zk::stat>;
    auto ctx = std::make_unique<context>();
    ctx->owner = shared_.get();
    if (watch) {
        ctx->watch = shared_->add_watch(std::move(watch));
    }
    zhandle_t* zh = shared_->handle;
    if (zh == nullptr) {
        co_return result<zk::stat>{error_code::invalid_state, {}};
    }
    auto issue = [zh, &path](context* raw) {
        auto done = [](int rc, const Stat* st, const void* d) {
            std::unique_ptr<context> c(static_cast<context*>(const_cast<void*>(d)));
            drop_unarmed_watch(c->owner, c->watch, rc, true);
            result<zk::stat> r;
            r.error = to_error(rc);
            if (rc == ZOK) {
                r.value = to_stat(st);
            }
            c->done->complete(std::move(r));
        };
        return raw->watch != nullptr
                   ? zoo_awexists(zh, path.c_str(), on_watch_event, raw->watch, done, raw)
                   : zoo_aexists(zh, path.c_str(), 0, done, raw);
    };
    auto running = run_op<zk::stat>(executor_, std::move(ctx), issue);
    co_return co_await std::move(running);
}

namespace {

// A multi's buffers, which the C client fills at completion.
struct multi_context : op_context<std::vector<op_result>> {
    std::vector<op> ops;
    std::vector<zoo_op_t> c_ops;
    std::vector<zoo_op_result_t> c_results;
    std::vector<Stat> stats;
    std::vector<std::string> created;  // path buffers of the creates
};

}  // namespace

net::awaitable<result<std::vector<op_result>>> zookeeper_client::multi(std::vector<op> ops) {
    using results = std::vector<op_result>;
    if (ops.empty()) {
        co_return result<results>{};
    }
    zhandle_t* zh = shared_->handle;
    if (zh == nullptr) {
        co_return result<results>{error_code::invalid_state, results(ops.size())};
    }
    auto ctx = std::make_unique<multi_context>();
    ctx->owner = shared_.get();
    ctx->ops = std::move(ops);
    const std::size_t n = ctx->ops.size();
    ctx->c_ops.resize(n);
    ctx->c_results.resize(n);
    ctx->stats.resize(n);
    ctx->created.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
        const op& o = ctx->ops[i];
        zoo_op_t* c = &ctx->c_ops[i];
        switch (o.type) {
            case op::kind::check: zoo_check_op_init(c, o.path.c_str(), o.version); break;
            case op::kind::create:
                // Room for the path plus a sequence suffix and the terminator.
                ctx->created[i].assign(o.path.size() + 16, '\0');
                zoo_create_op_init(c, o.path.c_str(), create_data(o.data), create_length(o.data),
                                   &ZOO_OPEN_ACL_UNSAFE, to_mode(o.mode), ctx->created[i].data(),
                                   static_cast<int>(ctx->created[i].size()));
                break;
            case op::kind::set:
                zoo_set_op_init(c, o.path.c_str(), o.data.data(), static_cast<int>(o.data.size()),
                                o.version, &ctx->stats[i]);
                break;
            case op::kind::erase: zoo_delete_op_init(c, o.path.c_str(), o.version); break;
        }
    }
    auto issue = [zh](multi_context* raw) {
        auto done = [](int rc, const void* d) {
            std::unique_ptr<multi_context> c(static_cast<multi_context*>(const_cast<void*>(d)));
            result<results> r;
            r.error = to_error(rc);
            r.value.resize(c->ops.size());
            for (std::size_t i = 0; i < c->ops.size(); ++i) {
                // On a connection-level failure the per-op codes are not filled in.
                r.value[i].error =
                    rc == ZOK || rc <= ZAPIERROR ? to_error(c->c_results[i].err) : to_error(rc);
                if (r.value[i].error != error_code::ok) {
                    continue;
                }
                if (c->ops[i].type == op::kind::create) {
                    r.value[i].path = c->created[i].c_str();
                } else if (c->ops[i].type == op::kind::set) {
                    r.value[i].stat = to_stat(&c->stats[i]);
                }
            }
            c->done->complete(std::move(r));
        };
        return zoo_amulti(zh, static_cast<int>(raw->c_ops.size()), raw->c_ops.data(),
                          raw->c_results.data(), done, raw);
    };
    auto running = run_op<results>(executor_, std::move(ctx), issue);
    co_return co_await std::move(running);
}

net::awaitable<error_code> ensure_chroot(net::any_io_executor ex, std::string hosts,
                                         std::string chroot, std::chrono::milliseconds timeout) {
    if (chroot.empty()) {
        co_return error_code::ok;
    }
    zookeeper_options options;
    options.connect = std::move(hosts);
    zookeeper_client root(std::move(ex), std::move(options));
    if (root.start() != error_code::ok) {
        co_return error_code::system_error;
    }
    auto connecting = root.wait_connected(timeout);
    session_state state = co_await std::move(connecting);
    if (state != session_state::connected) {
        co_return state == session_state::expired ? error_code::session_expired
                                                  : error_code::operation_timeout;
    }
    auto creating = create_recursive(root, std::move(chroot));
    error_code created = co_await std::move(creating);
    root.stop();
    co_return created;
}

}  // namespace broker::zk
