"""Start and stop a real broker process for a compat test.

Each test gets its own broker on a free loopback port with a temporary log dir. Used as a library
(`with BrokerProcess() as b: b.bootstrap`) by the Python tests, and as a command wrapper
(`broker_process.py --broker PATH -- CMD ...`) by the kcat and Node tests: the wrapper exports
BOOTSTRAP=127.0.0.1:<port>, BROKER_BIN and BROKER_DATA (its log dir) to the command and returns
its exit status.

COMPAT_TARGET=kafka points both at a running reference Apache Kafka instead (scripts/reference-kafka.sh,
whose env file $REFERENCE_ENV names it): nothing is started, the instance is shared by every test of
the pass, so each start first deletes the topics and consumer groups earlier tests left, and a
test that needs what a shared Kafka cannot give (a restart, broker overrides other than the shared
defaults, this broker's own files or features) skips with exit status 77 (SKIP_EXIT), saying why.
"""
import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_BROKER = os.path.normpath(os.path.join(HERE, "..", "..", "build", "bin", "broker"))
SKIP_EXIT = 77
# Broker settings the shared reference Kafka runs with (scripts/reference-kafka.sh), as a test
# may ask for them; any other override cannot be honoured there.
REFERENCE_SETTINGS = {"group.initial.rebalance.delay.ms": "0", "offsets.topic.replication.factor": "1",
                      "transaction.state.log.replication.factor": "1",
                      "transaction.state.log.min.isr": "1"}


def targets_kafka():
    return os.environ.get("COMPAT_TARGET", "") == "kafka"


def skip(reason):
    """Ends the test as skipped (ctest SKIP_RETURN_CODE 77), saying why."""
    sys.stdout.write("SKIPPED against the reference Kafka: %s\n" % reason)
    sys.stdout.flush()
    sys.exit(SKIP_EXIT)


def reference_env():
    """The reference instance's settings (BOOTSTRAP, ZK_CONNECT, KAFKA_LOG_DIR, ...)."""
    path = os.environ.get("REFERENCE_ENV") or os.path.join(HERE, "..", "..", "build", "reference-kafka",
                                                           "reference.env")
    env = {}
    try:
        with open(path) as f:
            for line in f:
                if "=" in line:
                    k, v = line.rstrip("\n").split("=", 1)
                    env[k] = v
    except OSError as e:
        raise RuntimeError("COMPAT_TARGET=kafka but no reference Kafka (%s): %s" % (path, e))
    return env


def unsupported_overrides(overrides):
    return sorted(k for k, v in overrides.items() if REFERENCE_SETTINGS.get(k) != str(v))


def reset_reference(env, timeout=60.0):
    """Deletes every consumer group and non-internal topic on the reference Kafka and waits until
    ZooKeeper holds none of those topics (not even as pending deletions), so the next test may
    create them again."""
    try:
        from kafka import KafkaAdminClient  # Debian's kafka-python, under /usr/bin/python3
        from kafka.errors import KafkaError
    except ImportError:
        # Another interpreter (the venv of the newest PyPI clients): Debian's does the reset.
        rc = subprocess.run(["/usr/bin/python3", os.path.abspath(__file__), "--reset-reference"],
                            stdin=subprocess.DEVNULL, timeout=timeout + 30).returncode
        if rc != 0:
            raise RuntimeError("reference reset failed (exit %s)" % rc)
        return
    sys.path.insert(0, os.path.join(HERE, "..", "..", "scripts"))
    from reference_kafka_util import ZkReader

    bootstrap = env["BOOTSTRAP"]
    zk_hostport, _, chroot = env["ZK_CONNECT"].partition("/")
    chroot = "/" + chroot
    deadline = time.monotonic() + timeout
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="reference-reset",
                             request_timeout_ms=15000)
    try:
        groups = [g for g, _ in admin.list_consumer_groups()]
        if groups:
            for group, err in admin.delete_consumer_groups(groups):
                if err.errno != 0:
                    sys.stderr.write("reference reset: group %s not deleted: %s\n" % (group, err.__name__))
        zk = ZkReader(zk_hostport)
        try:
            while True:
                topics = [t for t in zk.children(chroot + "/brokers/topics") if not t.startswith("__")]
                pending = zk.children(chroot + "/admin/delete_topics") \
                    if "delete_topics" in zk.children(chroot + "/admin") else []
                if not topics and not pending:
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError("reference reset: topics %s (deleting %s) still there" % (topics, pending))
                doomed = [t for t in topics if t not in pending]
                if doomed:
                    try:
                        admin.delete_topics(doomed, timeout_ms=15000)
                    except KafkaError as e:
                        sys.stderr.write("reference reset: delete_topics: %r\n" % e)
                time.sleep(0.1)
        finally:
            zk.close()
    finally:
        admin.close()


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class BrokerProcess:
    """One broker process. start()/stop() may be called repeatedly on the same log dir (restart tests)."""

    def __init__(self, broker=None, overrides=None, log_dir=None, port=None, startup_timeout=20.0,
                 http_port=None, broker_id=None, die_with_parent=False):
        self.broker = broker or os.environ.get("BROKER_BIN") or DEFAULT_BROKER
        self.overrides = dict(overrides or {})
        # broker_id sets broker.id (a cluster member's id); an explicit override of it wins.
        self.broker_id = broker_id
        if broker_id is not None:
            self.overrides.setdefault("broker.id", str(broker_id))
        # die_with_parent: the kernel kills the broker (SIGKILL) when the thread that started it
        # ends, so a test killed by its runner's timeout leaves no broker behind (setpriv
        # --pdeathsig, util-linux).
        self.die_with_parent = die_with_parent and shutil.which("setpriv") is not None
        self.own_dir = log_dir is None
        self.log_dir = log_dir or tempfile.mkdtemp(prefix="broker-compat-")
        self.port = port or free_port()
        # The admin/metrics HTTP listener stays off unless asked for (http_port=0 picks a free port):
        # its default port is fixed, and brokers of parallel tests would clash on it.
        self.http_port = None if http_port is None else (http_port or free_port())
        self.startup_timeout = startup_timeout
        self.proc = None
        self.output_path = os.path.join(self.log_dir, "broker.out")
        self.reference = None
        if targets_kafka():
            # Nothing of our own to start: the port and log dir are the reference Kafka's.
            unsupported = unsupported_overrides(self.overrides)
            if unsupported:
                skip("needs broker overrides %s, which the shared Kafka does not have" % unsupported)
            if http_port is not None:
                skip("uses this broker's HTTP listener (metrics/admin), which Kafka does not have")
            if self.own_dir:
                shutil.rmtree(self.log_dir, ignore_errors=True)
            self.own_dir = False
            self.reference = reference_env()
            self.port = int(self.reference["BOOTSTRAP"].rsplit(":", 1)[1])
            self.log_dir = self.reference["KAFKA_LOG_DIR"]
            self.output_path = os.path.join(os.path.dirname(self.log_dir), "kafka.out")
            self.broker = "reference Kafka (pid %s)" % self.reference["KAFKA_PID"]
            self.started_once = False
            self.running = False

    @property
    def http_base(self):
        return "http://127.0.0.1:%d" % self.http_port

    @property
    def bootstrap(self):
        return "127.0.0.1:%d" % self.port

    def start(self):
        if self.reference is not None:
            if self.started_once:
                raise RuntimeError("the shared reference Kafka cannot be restarted by a test "
                                   "(skip this test with broker_process.skip() when targets_kafka())")
            reset_reference(self.reference)
            self.started_once = True
            self.running = True
            return self
        args = self.command()
        if self.die_with_parent:
            args = ["setpriv", "--pdeathsig", "KILL", "--"] + args
        out = open(self.output_path, "ab")
        self.proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        out.close()
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("broker exited with %s during startup:\n%s" % (self.proc.returncode, self.output()))
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.02)
        self.kill()
        raise RuntimeError("broker did not listen within %.0fs:\n%s" % (self.startup_timeout, self.output()))

    def settings(self):
        """The broker settings start() passes: the test's overrides over the per-process ones."""
        settings = {
            "listeners": "PLAINTEXT://127.0.0.1:%d" % self.port,
            "log.dirs": self.data_dir,
            "group.initial.rebalance.delay.ms": "0",
            "http.listeners": "" if self.http_port is None else "http://127.0.0.1:%d" % self.http_port,
        }
        settings.update(self.overrides)
        return settings

    def command(self):
        """The command line start() runs (a subclass may run another broker)."""
        args = [self.broker]
        for k, v in self.settings().items():
            args += ["--override", "%s=%s" % (k, v)]
        return args

    @property
    def data_dir(self):
        """The broker's log.dirs: <topic>-<partition>/ directories live here."""
        return os.path.join(self.log_dir, "data")

    @property
    def pid(self):
        """The running process's id, or None."""
        return None if self.proc is None else self.proc.pid

    def alive(self):
        """Whether the process runs (a stopped, SIGSTOP'd, process counts as running)."""
        return self.proc is not None and self.proc.poll() is None

    def send_signal(self, sig):
        """Sends `sig` without waiting (SIGSTOP, SIGCONT); stop() is the way to end the process."""
        if self.proc is None or self.proc.poll() is not None:
            raise RuntimeError("broker is not running")
        self.proc.send_signal(sig)

    def output(self):
        if self.reference is not None:
            return "(the reference Kafka's log: %s)\n" % self.output_path
        try:
            with open(self.output_path, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def stop(self, sig=signal.SIGTERM, timeout=30.0):
        """Stops the broker with `sig`; returns its exit code. Kills it if it does not exit in time."""
        if self.reference is not None:
            # The shared instance keeps running; report what a clean stop reports.
            was_running, self.running = self.running, False
            return 0 if was_running else None
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise RuntimeError("broker did not stop within %.0fs after signal %d" % (timeout, sig))
        code = self.proc.returncode
        self.proc = None
        return code

    def kill(self):
        return self.stop(signal.SIGKILL)

    def cleanup(self):
        if self.own_dir:
            shutil.rmtree(self.log_dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, exc_type, exc, tb):
        try:
            code = self.stop()
            if exc_type is None and code not in (0, None):
                raise RuntimeError("broker exited with %s on SIGTERM:\n%s" % (code, self.output()))
        finally:
            if exc_type is not None:
                sys.stderr.write("---- broker output ----\n%s\n" % self.output()[-20000:])
            self.cleanup()


def main():
    if sys.argv[1:] == ["--reset-reference"]:
        reset_reference(reference_env())
        return 0
    parser = argparse.ArgumentParser(description="Run a command against a fresh broker.")
    parser.add_argument("--broker", default=None)
    parser.add_argument("--override", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--timeout", type=float, default=600.0, help="limit for the command, seconds")
    parser.add_argument("--reset-reference", action="store_true",
                        help="with COMPAT_TARGET=kafka: only delete the reference Kafka's topics and groups")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    cmd = args.command[1:] if args.command[:1] == ["--"] else args.command
    overrides = dict(o.split("=", 1) for o in args.override)
    if args.reset_reference:
        reset_reference(reference_env())
        return 0
    if not cmd:
        parser.error("no command given")
    with BrokerProcess(broker=args.broker, overrides=overrides) as b:
        if b.reference is not None:
            # Kafka's log dir has the same layout (<topic>-<partition>/ segment and index files).
            env = dict(os.environ, BOOTSTRAP=b.bootstrap, BROKER_DATA=b.log_dir)
        else:
            env = dict(os.environ, BOOTSTRAP=b.bootstrap, BROKER_BIN=b.broker,
                       BROKER_DATA=os.path.join(b.log_dir, "data"))
        try:
            rc = subprocess.run(cmd, env=env, timeout=args.timeout, stdin=subprocess.DEVNULL).returncode
        except subprocess.TimeoutExpired:
            sys.stderr.write("command timed out after %.0fs\n" % args.timeout)
            rc = 124
        if rc != 0:
            sys.stderr.write("---- broker output ----\n%s\n" % b.output()[-20000:])
    return rc


if __name__ == "__main__":
    sys.exit(main())
