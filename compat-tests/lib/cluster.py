"""A ZooKeeper server and a cluster of brokers on it, for the cluster's compat tests.

    with ZooKeeperServer() as zk, Cluster(3, zk, overrides={...}) as cluster:
        cluster.bootstrap            # every broker, for a client's bootstrap.servers
        cluster.controller_id()      # from a broker's Metadata answer
        cluster.kill(2)              # SIGKILL broker 2 (waits for it to exit); SIGSTOP/SIGCONT pause it
        cluster.restart(2)           # the same ports, log.dirs and settings
        cluster.wait_ready()         # every live broker lists every live broker and one controller

ZooKeeperServer is Debian's ZooKeeper (package zookeeper) on a free loopback port with its data
in a temporary directory, in its own process group; it counts as started once it answers the
four-letter word `srvr` with a Mode (a cold JVM accepts connections a moment before it serves
them). One server per test program; each Cluster takes a fresh chroot on it.

Cluster runs brokers 1..n (broker.id) as BrokerProcess objects (lib/broker_process.py), each with
its own listener port, HTTP (admin) port and log.dirs, and zookeeper.connect pointing at the
chroot, which the brokers create. Brokers are queried with a Metadata v1 request sent straight to
one broker (not through a client that may ask another), and with GET /v1/brokers on this broker's
HTTP listener. CLUSTER_TARGET=kafka runs Apache Kafka 3.9.2's jars (.deps/java/kafka-3.9.2, as
scripts/reference-kafka.sh does) instead of this broker, to check a test's own logic against the
spec: what only this broker has (the HTTP listener) is then left out.

Every process is stopped by its PID: at the end of the `with` block (also on failure, after
printing the tail of each broker's output), at interpreter exit (atexit), and by the kernel if the
test program itself is killed (the processes are started with a parent-death signal, so they must
be started from the main thread). Every wait has a deadline. A test that cannot run here (no
ZooKeeper package) ends with exit status 77 (SKIP_EXIT) and a reason, through require_zookeeper().

The znode tree is read with kazoo (pure Python), which scripts/deps.sh --test installs into the
project's venv (.deps/venv, compat-tests/cluster/requirements-cluster.txt); zk_client() finds it
there when the running interpreter (Debian's /usr/bin/python3) has none of its own.
"""
import atexit
import glob
import json
import os
import secrets
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field

from broker_process import SKIP_EXIT, BrokerProcess, free_port, targets_kafka

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))
ZK_SERVER_SCRIPT = "/usr/share/zookeeper/bin/zkServer.sh"
KAFKA_JARS = os.path.join(REPO, ".deps", "java", "kafka-3.9.2")
NODE_PATH = os.path.join(REPO, ".deps", "node", "node_modules")

# What every cluster broker runs with unless the test says otherwise: a short ZooKeeper session
# (Kafka accepts 6000 ms; the default 18000 would slow every failure test), two shards per
# broker (cross-shard paths exercised, three brokers still light on two cores), and no initial
# rebalance delay for group tests.
CLUSTER_DEFAULTS = {
    "zookeeper.session.timeout.ms": "6000",
    "num.shards": "2",
    "group.initial.rebalance.delay.ms": "0",
}
# Settings only this broker knows; left out of a Kafka broker's server.properties.
SLUICE_ONLY_SETTINGS = ("num.shards", "http.listeners")

LEADER_NOT_AVAILABLE = 5

_running = []  # ZooKeeperServer and Cluster objects to stop at exit


@atexit.register
def _stop_everything():
    for thing in reversed(list(_running)):
        try:
            thing.stop()
        except Exception as e:  # noqa: BLE001 - report and go on stopping the rest
            sys.stderr.write("cluster: stopping %r at exit: %r\n" % (thing, e))


def skip(reason):
    """Ends the test as skipped (ctest SKIP_RETURN_CODE 77), saying why."""
    sys.stdout.write("SKIPPED: %s\n" % reason)
    sys.stdout.flush()
    sys.exit(SKIP_EXIT)


def require_zookeeper():
    """Skips the test unless Debian's ZooKeeper server (and, for CLUSTER_TARGET=kafka, Kafka's
    jars) are installed."""
    if not os.access(ZK_SERVER_SCRIPT, os.X_OK):
        skip("%s is missing (Debian package zookeeper; scripts/deps.sh --test installs it)" % ZK_SERVER_SCRIPT)
    if targets_kafka():
        skip("a cluster test starts its own ZooKeeper and brokers; CLUSTER_TARGET=kafka runs it on "
             "Kafka 3.9.2's jars instead of the shared reference Kafka")
    if cluster_target() == "kafka" and not os.path.exists(os.path.join(KAFKA_JARS, ".complete")):
        skip("CLUSTER_TARGET=kafka needs Kafka's jars in %s (scripts/kafka-tool.sh --fetch)" % KAFKA_JARS)


def cluster_target():
    """'kafka' when CLUSTER_TARGET=kafka (Apache Kafka's brokers), else 'sluice' (this broker)."""
    return "kafka" if os.environ.get("CLUSTER_TARGET", "") == "kafka" else "sluice"


def wait_for(condition, what, timeout, interval=0.05):
    """Polls condition() until it returns something true, and returns that. Raises AssertionError
    naming `what` (and the last value or exception seen) once `timeout` seconds have passed."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            value = condition()
            if value:
                return value
            last = value
        except (OSError, ValueError, KeyError, struct.error) as e:
            last = e
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %.1fs waiting for %s (last: %r)" % (timeout, what, last))
        time.sleep(interval)


def _parent_death_prefix():
    # The kernel kills the child when the starting thread ends (setpriv, util-linux).
    return ["setpriv", "--pdeathsig", "KILL", "--"] if shutil.which("setpriv") else []


def _process_exited(proc, timeout):
    try:
        proc.wait(timeout=timeout)
        return True
    except subprocess.TimeoutExpired:
        return False


# ---- ZooKeeper ----------------------------------------------------------------------------------

def zk_mode(hostport, timeout=2.0):
    """ZooKeeper's answer to `srvr`: the value of its Mode line, or None."""
    host, port = hostport.rsplit(":", 1)
    try:
        with socket.create_connection((host, int(port)), timeout=timeout) as s:
            s.sendall(b"srvr")
            out = b""
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                out += chunk
    except OSError:
        return None
    for line in out.decode(errors="replace").splitlines():
        if line.startswith("Mode:"):
            return line.split(":", 1)[1].strip()
    return None


class ZooKeeperServer:
    """One standalone ZooKeeper server on 127.0.0.1 (Debian's zkServer.sh start-foreground).

    start() retries with another free port (up to three times) if the server dies at start-up,
    as when another process took the port in the meantime. stop() sends SIGTERM to the server's
    process group, SIGKILL after a bound, and removes the temporary directory."""

    def __init__(self, startup_timeout=90.0, tick_ms=500):
        self.startup_timeout = startup_timeout
        self.tick_ms = tick_ms
        self.dir = None
        self.port = None
        self.proc = None

    @property
    def connect(self):
        """host:port, for zookeeper.connect (append a chroot)."""
        return "127.0.0.1:%d" % self.port

    def start(self):
        self.dir = tempfile.mkdtemp(prefix="cluster-zk-")
        _running.append(self)
        started = time.monotonic()
        for attempt in range(3):
            self.port = free_port()
            cfg = os.path.join(self.dir, "zoo.cfg")
            with open(cfg, "w") as f:
                # Sessions between 1 s and 60 s are accepted (ZooKeeper's defaults, 2 and 20
                # ticks, would cap a broker's 18000 ms at 10000 with this tick).
                f.write("tickTime=%d\ndataDir=%s\nclientPortAddress=127.0.0.1\nclientPort=%d\n"
                        "maxClientCnxns=0\nadmin.enableServer=false\n4lw.commands.whitelist=srvr\n"
                        "minSessionTimeout=1000\nmaxSessionTimeout=60000\n"
                        % (self.tick_ms, os.path.join(self.dir, "data"), self.port))
            env = dict(os.environ, JMXDISABLE="true", SERVER_JVMFLAGS="-Xmx128m", ZOO_LOG_DIR=self.dir)
            with open(self.output_path, "ab") as out:
                self.proc = subprocess.Popen(
                    _parent_death_prefix() + [ZK_SERVER_SCRIPT, "start-foreground", cfg],
                    stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                    start_new_session=True)
            deadline = time.monotonic() + self.startup_timeout
            while time.monotonic() < deadline and self.proc.poll() is None:
                if zk_mode(self.connect) is not None:
                    print("zookeeper: serving on %s after %.1fs" % (self.connect, time.monotonic() - started))
                    return self
                time.sleep(0.1)
            self._end_process()
            sys.stderr.write("zookeeper: attempt %d failed:\n%s\n" % (attempt + 1, self.output()[-4000:]))
        self.stop()
        raise RuntimeError("ZooKeeper did not serve within %.0fs (3 attempts)" % self.startup_timeout)

    @property
    def output_path(self):
        return os.path.join(self.dir, "zookeeper.out")

    def output(self):
        try:
            with open(self.output_path, "rb") as f:
                return f.read().decode(errors="replace")
        except (OSError, TypeError):
            return ""

    def _end_process(self, timeout=30.0):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            if not _process_exited(self.proc, timeout):
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait()
        self.proc = None

    def stop(self):
        self._end_process()
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None
        if self in _running:
            _running.remove(self)

    def client(self, chroot="", timeout=30.0):
        """A started kazoo client under `chroot` (the caller stops it: client.stop(); client.close())."""
        kazoo_client = import_kazoo()
        client = kazoo_client.KazooClient(hosts=self.connect + chroot, timeout=10.0)
        client.start(timeout=timeout)
        return client

    def __enter__(self):
        return self.start()

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None and self.dir is not None:
            sys.stderr.write("---- zookeeper output (tail) ----\n%s\n" % self.output()[-5000:])
        self.stop()


def import_kazoo():
    """kazoo.client, from the running interpreter or from the project's venv (.deps/venv);
    skips the test (exit 77) when neither has it."""
    try:
        import kazoo.client
    except ImportError:
        # Appended, not prepended: the interpreter's own packages (Debian's confluent_kafka)
        # still win over the venv's.
        for path in sorted(glob.glob(os.path.join(REPO, ".deps", "venv", "lib", "python3*", "site-packages"))):
            if path not in sys.path:
                sys.path.append(path)
        try:
            import kazoo.client
        except ImportError:
            skip("kazoo is not installed (scripts/deps.sh --test puts it into .deps/venv)")
    import logging
    logging.getLogger("kazoo").setLevel(logging.ERROR)  # reconnection chatter
    return kazoo.client


# ---- Metadata v1, sent to one broker -----------------------------------------------------------

@dataclass
class PartitionMetadata:
    error: int
    leader: int
    replicas: list
    isr: list


@dataclass
class TopicMetadata:
    error: int
    internal: bool
    partitions: dict = field(default_factory=dict)  # partition index -> PartitionMetadata


@dataclass
class Metadata:
    brokers: dict  # broker id -> (host, port)
    controller_id: int
    topics: dict  # name -> TopicMetadata


def _recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("connection closed")
        buf += chunk
    return buf


class _Reader:
    def __init__(self, data):
        self.data, self.off = data, 0

    def take(self, fmt):
        values = struct.unpack_from(fmt, self.data, self.off)
        self.off += struct.calcsize(fmt)
        return values[0] if len(values) == 1 else values

    def string(self):
        n = self.take(">h")
        if n < 0:
            return None
        s = self.data[self.off:self.off + n].decode()
        self.off += n
        return s

    def int32s(self):
        return [self.take(">i") for _ in range(self.take(">i"))]


def metadata(hostport, timeout=5.0):
    """One Metadata v1 request for every topic (a null topic list: naming topics would let a
    broker create them) to the broker at hostport; the parsed answer."""
    host, port = hostport.rsplit(":", 1)
    client_id = b"cluster-test"
    body = struct.pack(">hhih", 3, 1, 11, len(client_id)) + client_id + struct.pack(">i", -1)
    with socket.create_connection((host, int(port)), timeout=timeout) as s:
        s.sendall(struct.pack(">i", len(body)) + body)
        (size,) = struct.unpack(">i", _recv_exact(s, 4))
        r = _Reader(_recv_exact(s, size))
    if r.take(">i") != 11:
        raise ValueError("Metadata answer with another correlation id")
    brokers = {}
    for _ in range(r.take(">i")):
        node_id = r.take(">i")
        host_name = r.string()
        brokers[node_id] = (host_name, r.take(">i"))
        r.string()  # rack
    controller_id = r.take(">i")
    topics = {}
    for _ in range(r.take(">i")):
        error = r.take(">h")
        name = r.string()
        t = TopicMetadata(error=error, internal=bool(r.take(">b")))
        for _ in range(r.take(">i")):
            p_error, index, leader = r.take(">hii")
            t.partitions[index] = PartitionMetadata(p_error, leader, r.int32s(), r.int32s())
        topics[name] = t
    return Metadata(brokers, controller_id, topics)


RESOURCE_TOPIC, RESOURCE_BROKER = 2, 4


def incremental_alter_configs(hostport, resource_type, name, configs, timeout=15.0):
    """One IncrementalAlterConfigs v0 request to the broker at hostport, setting `configs`
    ({name: value}) on one resource (RESOURCE_TOPIC or RESOURCE_BROKER; the name "" is the
    cluster-wide broker default, which librdkafka's admin client cannot name). A broker's own
    config must be sent to that broker. Raises RuntimeError with the error the broker answers."""
    def string(s):
        b = s.encode()
        return struct.pack(">h", len(b)) + b

    client_id = b"cluster-test"
    body = struct.pack(">hhih", 44, 0, 13, len(client_id)) + client_id
    body += struct.pack(">i", 1) + struct.pack(">b", resource_type) + string(name) + struct.pack(">i", len(configs))
    for k, v in configs.items():
        body += string(k) + struct.pack(">b", 0) + string(v)  # operation 0: SET
    body += struct.pack(">?", False)  # validate_only
    host, port = hostport.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=timeout) as s:
        s.sendall(struct.pack(">i", len(body)) + body)
        (size,) = struct.unpack(">i", _recv_exact(s, 4))
        r = _Reader(_recv_exact(s, size))
    if r.take(">i") != 13:
        raise ValueError("IncrementalAlterConfigs answer with another correlation id")
    r.take(">i")  # throttle_time_ms
    for _ in range(r.take(">i")):
        error, message = r.take(">h"), r.string()
        r.take(">b")
        r.string()
        if error != 0:
            raise RuntimeError("IncrementalAlterConfigs %s %r: error %d (%s)" % (resource_type, name, error, message))


def http_get_json(url, timeout=5.0):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.loads(response.read().decode())


# ---- brokers ------------------------------------------------------------------------------------

class KafkaBroker(BrokerProcess):
    """An Apache Kafka 3.9.2 broker (the jars scripts/kafka-tool.sh --fetch puts in .deps) in place
    of this broker, with the same settings written to a server.properties: for checking a test's
    logic against the spec. It has no HTTP listener."""

    def __init__(self, overrides=None, broker_id=None, die_with_parent=False, startup_timeout=180.0):
        super().__init__(broker="java", overrides=overrides, broker_id=broker_id,
                         die_with_parent=die_with_parent, startup_timeout=startup_timeout)

    def command(self):
        props = os.path.join(self.log_dir, "server.properties")
        with open(props, "w") as f:
            for k, v in self.settings().items():
                if k not in SLUICE_ONLY_SETTINGS:
                    f.write("%s=%s\n" % (k, v))
        log4j = os.path.join(self.log_dir, "log4j.properties")
        with open(log4j, "w") as f:
            f.write("log4j.rootLogger=INFO, stdout\nlog4j.appender.stdout=org.apache.log4j.ConsoleAppender\n"
                    "log4j.appender.stdout.layout=org.apache.log4j.PatternLayout\n"
                    "log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n\n"
                    "log4j.logger.kafka.request.logger=WARN\n")
        return ["java", "-Xmx512m", "-Xms512m", "-XX:+UseG1GC", "-Djava.awt.headless=true",
                "-Dlog4j.configuration=file:" + log4j, "-Dkafka.logs.dir=" + self.log_dir,
                "-cp", os.path.join(KAFKA_JARS, "*"), "kafka.Kafka", props]


class Cluster:
    """n brokers (ids 1..n unless `ids` says otherwise) on `zk` under a fresh chroot.

    `overrides` are broker settings for every broker, over CLUSTER_DEFAULTS. The object owns its
    brokers' processes and temporary directories; it is used from one thread (the one that
    started it: see the module comment on the parent-death signal)."""

    def __init__(self, n, zk, chroot=None, overrides=None, broker=None, ids=None, ready_timeout=60.0):
        if targets_kafka():
            skip("a cluster test starts its own ZooKeeper and brokers (COMPAT_TARGET=kafka is the shared one)")
        self.kind = cluster_target()
        self.zk = zk
        script = os.path.splitext(os.path.basename(sys.argv[0] or "cluster"))[0]
        self.chroot = chroot or "/%s-%s" % (script.replace("_", "-"), secrets.token_hex(4))
        self.ids = list(ids) if ids is not None else list(range(1, n + 1))
        assert len(self.ids) == n, (n, self.ids)
        self.settings = dict(CLUSTER_DEFAULTS)
        self.settings.update({k: str(v) for k, v in (overrides or {}).items()})
        self.settings["zookeeper.connect"] = zk.connect + self.chroot
        self.ready_timeout = ready_timeout
        self.paused = set()
        self.brokers = {}
        for i in self.ids:
            if self.kind == "kafka":
                self.brokers[i] = KafkaBroker(overrides=self.settings, broker_id=i, die_with_parent=True)
            else:
                self.brokers[i] = BrokerProcess(broker=broker, overrides=self.settings, broker_id=i,
                                                http_port=0, die_with_parent=True, startup_timeout=60.0)

    # ---- addresses

    @property
    def bootstrap(self):
        """Every broker's address, for bootstrap.servers."""
        return ",".join(self.brokers[i].bootstrap for i in self.ids)

    def bootstrap_of(self, ids):
        return ",".join(self.brokers[i].bootstrap for i in ids)

    def address(self, broker_id):
        return self.brokers[broker_id].bootstrap

    def port(self, broker_id):
        return self.brokers[broker_id].port

    def data_dir(self, broker_id):
        """The broker's log.dirs."""
        return self.brokers[broker_id].data_dir

    def http_base(self, broker_id):
        """The broker's admin HTTP listener (None for a Kafka broker)."""
        b = self.brokers[broker_id]
        return None if b.http_port is None else b.http_base

    @property
    def has_http(self):
        return self.kind == "sluice"

    def live_ids(self):
        """Brokers whose process runs and is not paused (SIGSTOP), in id order."""
        return [i for i in self.ids if self.brokers[i].alive() and i not in self.paused]

    # ---- life cycle

    def start(self):
        _running.append(self)
        started = time.monotonic()
        for i in self.ids:
            self.brokers[i].start()
        self.wait_ready()
        print("cluster: %d %s brokers (%s) on %s%s ready after %.1fs"
              % (len(self.ids), self.kind, self.bootstrap, self.zk.connect, self.chroot,
                 time.monotonic() - started))
        return self

    def kill(self, broker_id, sig=signal.SIGKILL, timeout=30.0):
        """Sends `sig` to one broker. SIGSTOP and SIGCONT pause and resume it and return None;
        any other signal is expected to end it: waits for the exit (SIGKILL after `timeout`) and
        returns the exit status."""
        b = self.brokers[broker_id]
        if sig == signal.SIGSTOP:
            b.send_signal(sig)
            self.paused.add(broker_id)
            return None
        if sig == signal.SIGCONT:
            b.send_signal(sig)
            self.paused.discard(broker_id)
            return None
        if broker_id in self.paused and sig != signal.SIGKILL:
            b.send_signal(sig)
            b.send_signal(signal.SIGCONT)  # the pending signal is delivered once it runs
            sig = None
        self.paused.discard(broker_id)
        if sig is None:
            if not _process_exited(b.proc, timeout):
                b.proc.kill()
                b.proc.wait()
            code, b.proc = b.proc.returncode, None
            return code
        return b.stop(sig, timeout=timeout)

    def restart(self, broker_id):
        """Starts a stopped broker again with its ports, log.dirs and settings (does not wait for
        the cluster to take it back: wait_ready() does)."""
        self.brokers[broker_id].start()

    def stop(self, timeout=30.0):
        """Stops every broker (SIGTERM, SIGKILL after `timeout`); returns {broker id: exit status}."""
        codes = {}
        for i in self.ids:
            b = self.brokers[i]
            if b.proc is None:
                continue
            if i in self.paused and b.alive():
                b.send_signal(signal.SIGCONT)
            self.paused.discard(i)
            try:
                codes[i] = b.stop(signal.SIGTERM, timeout=timeout)
            except RuntimeError as e:  # killed after the bound
                sys.stderr.write("cluster: broker %d: %s\n" % (i, e))
                codes[i] = "killed"
        if self in _running:
            _running.remove(self)
        return codes

    def cleanup(self):
        if os.environ.get("CLUSTER_KEEP"):
            print("cluster: kept log dirs %s" % " ".join(self.brokers[i].log_dir for i in self.ids))
            return
        for b in self.brokers.values():
            b.cleanup()

    def outputs(self, tail=15000):
        return "".join("---- broker %d output (tail) ----\n%s\n" % (i, self.brokers[i].output()[-tail:])
                       for i in self.ids)

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            sys.stderr.write(self.outputs())
            self.stop()
            self.cleanup()
            raise

    def __exit__(self, exc_type, exc, tb):
        try:
            codes = self.stop()
            if exc_type is None and self.kind == "sluice":
                bad = {i: c for i, c in codes.items() if c != 0}
                if bad:
                    raise RuntimeError("brokers exited with %s on SIGTERM:\n%s" % (bad, self.outputs()))
        finally:
            if exc_type is not None:
                sys.stderr.write(self.outputs())
            self.cleanup()

    # ---- what the brokers say

    def metadata(self, broker_id=None, timeout=5.0):
        """The Metadata answer of one broker (default: the first live one)."""
        if broker_id is None:
            live = self.live_ids()
            if not live:
                raise RuntimeError("no live broker")
            broker_id = live[0]
        return metadata(self.address(broker_id), timeout=timeout)

    def http_brokers(self, broker_id):
        """GET /v1/brokers on one broker (this broker only)."""
        return http_get_json(self.http_base(broker_id) + "/v1/brokers")

    def controller_id(self, broker_id=None):
        """The controller id in one broker's Metadata answer."""
        return self.metadata(broker_id).controller_id

    def leader_of(self, topic, partition, broker_id=None):
        """The partition's leader in one broker's Metadata answer (-1: none; None: unknown
        partition)."""
        t = self.metadata(broker_id).topics.get(topic)
        p = None if t is None else t.partitions.get(partition)
        return None if p is None else p.leader

    def views(self, ids=None):
        """{broker id: Metadata} from each of `ids` (default: the live brokers)."""
        return {i: self.metadata(i) for i in (self.live_ids() if ids is None else ids)}

    def agreed(self, expected_ids=None, ids=None):
        """The controller id if every broker of `ids` (default: live) lists exactly
        `expected_ids` (default: live) and names the same controller among them, both in its
        Metadata answer and on /v1/brokers; else None."""
        expected = set(self.live_ids() if expected_ids is None else expected_ids)
        controllers = set()
        for i, md in self.views(ids).items():
            if set(md.brokers) != expected or md.controller_id not in expected:
                return None
            for b in expected:
                if md.brokers[b] != ("127.0.0.1", self.port(b)):
                    return None
            controllers.add(md.controller_id)
            if self.has_http:
                listed = self.http_brokers(i)
                if {b["broker_id"] for b in listed["brokers"]} != expected \
                        or listed["controller_id"] != md.controller_id:
                    return None
        return controllers.pop() if len(controllers) == 1 else None

    def wait_ready(self, expected_ids=None, ids=None, timeout=None):
        """Waits until agreed(); returns the seconds it took."""
        started = time.monotonic()
        try:
            wait_for(lambda: self.agreed(expected_ids, ids) is not None,
                     "brokers %s to list %s and one controller" % (ids or self.live_ids(), expected_ids or self.live_ids()),
                     self.ready_timeout if timeout is None else timeout)
        except AssertionError as e:
            raise AssertionError("%s; what they say: %s" % (e, self.describe_views(ids))) from None
        return time.monotonic() - started

    def describe_views(self, ids=None):
        """What each broker says of the cluster (Metadata, /v1/brokers), for failure messages."""
        out = []
        for i in (self.live_ids() if ids is None else ids):
            try:
                md = self.metadata(i)
                view = "broker %d: Metadata brokers %s controller %d" % (i, sorted(md.brokers), md.controller_id)
                if self.has_http:
                    listed = self.http_brokers(i)
                    view += ", /v1/brokers %s controller %s" % (
                        sorted(b["broker_id"] for b in listed["brokers"]), listed["controller_id"])
            except (OSError, ValueError, KeyError, struct.error) as e:
                view = "broker %d: %r" % (i, e)
            out.append(view)
        return "; ".join(out)

    def wait_topic(self, topic, partitions, ids=None, timeout=30.0):
        """Waits until every broker of `ids` (default: live) knows `topic` with `partitions`
        partitions, each led by a live broker and without error; returns {partition: leader}."""
        def led():
            leaders = None
            live = set(self.live_ids())
            for md in self.views(ids).values():
                t = md.topics.get(topic)
                if t is None or t.error != 0 or len(t.partitions) != partitions:
                    return None
                view = {p: m.leader for p, m in t.partitions.items() if m.error == 0 and m.leader in live}
                if len(view) != partitions or (leaders is not None and view != leaders):
                    return None
                leaders = view
            return leaders
        return wait_for(led, "topic %s with %d led partitions" % (topic, partitions), timeout)


# ---- clients ------------------------------------------------------------------------------------

def produce(bootstrap, topic, messages, timeout=60.0):
    """Produces with confluent-kafka (librdkafka; acks all, idempotent, so no retry duplicates):
    `messages` is {partition: [value, ...]}. Asserts every message was acknowledged; returns
    {partition: [offset, ...]} in the order of the values."""
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True,
                         "linger.ms": 5, "message.timeout.ms": int(timeout * 1000)})
    offsets = {p: [None] * len(values) for p, values in messages.items()}
    errors = []

    def delivered(partition, index):
        def callback(err, msg):
            if err is not None:
                errors.append((partition, index, err))
            else:
                offsets[partition][index] = msg.offset()
        return callback

    for p, values in messages.items():
        for i, v in enumerate(values):
            producer.produce(topic, value=v, partition=p, on_delivery=delivered(p, i))
            producer.poll(0)
    left = producer.flush(timeout + 5)
    assert left == 0 and not errors, "produce to %s: %d unacknowledged, errors %s" % (topic, left, errors[:5])
    return offsets


def consume(bootstrap, topic, counts, timeout=60.0):
    """Reads partitions of `topic` from offset 0 with confluent-kafka (assigned, no group), `counts`
    being {partition: number of messages expected}; returns {partition: [(offset, value), ...]}
    once each has its count, after checking that the high watermark is exactly that count."""
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "cluster-check-" + secrets.token_hex(4),
                         "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    got = {p: [] for p in counts}
    try:
        consumer.assign([TopicPartition(topic, p, 0) for p in counts])
        deadline = time.monotonic() + timeout
        while any(len(got[p]) < n for p, n in counts.items()):
            assert time.monotonic() < deadline, "consume %s: got %s of %s" % (
                topic, {p: len(v) for p, v in got.items()}, counts)
            for m in consumer.consume(num_messages=1000, timeout=0.5):
                assert m.error() is None, m.error()
                got[m.partition()].append((m.offset(), m.value()))
        for p, n in counts.items():
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            assert (low, high) == (0, n), "partition %d: watermarks %s, %d messages expected" % (p, (low, high), n)
            assert len(got[p]) == n, "partition %d: %d messages, %d expected" % (p, len(got[p]), n)
    finally:
        consumer.close()
    return got


def create_topic(bootstrap, topic, partitions, replication_factor=1, config=None, timeout=30.0):
    """Creates a topic with confluent-kafka's admin client (which sends it to the controller)."""
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics([NewTopic(topic, partitions, replication_factor, config=config or {})],
                                  request_timeout=timeout)
    futures[topic].result(timeout=timeout + 5)
