"""Start and stop a real broker process for a compat test.

Each test gets its own broker on a free loopback port with a temporary log dir. Used as a library
(`with BrokerProcess() as b: b.bootstrap`) by the Python tests, and as a command wrapper
(`broker_process.py --broker PATH -- CMD ...`) by the kcat and Node tests: the wrapper exports
BOOTSTRAP=127.0.0.1:<port>, BROKER_BIN and BROKER_DATA (its log dir) to the command and returns
its exit status.
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


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class BrokerProcess:
    """One broker process. start()/stop() may be called repeatedly on the same log dir (restart tests)."""

    def __init__(self, broker=None, overrides=None, log_dir=None, port=None, startup_timeout=20.0,
                 http_port=None):
        self.broker = broker or os.environ.get("BROKER_BIN") or DEFAULT_BROKER
        self.overrides = dict(overrides or {})
        self.own_dir = log_dir is None
        self.log_dir = log_dir or tempfile.mkdtemp(prefix="broker-compat-")
        self.port = port or free_port()
        # The admin/metrics HTTP listener stays off unless asked for (http_port=0 picks a free port):
        # its default port is fixed, and brokers of parallel tests would clash on it.
        self.http_port = None if http_port is None else (http_port or free_port())
        self.startup_timeout = startup_timeout
        self.proc = None
        self.output_path = os.path.join(self.log_dir, "broker.out")

    @property
    def http_base(self):
        return "http://127.0.0.1:%d" % self.http_port

    @property
    def bootstrap(self):
        return "127.0.0.1:%d" % self.port

    def start(self):
        settings = {
            "listeners": "PLAINTEXT://127.0.0.1:%d" % self.port,
            "log.dirs": os.path.join(self.log_dir, "data"),
            "group.initial.rebalance.delay.ms": "0",
            "http.listeners": "" if self.http_port is None else "http://127.0.0.1:%d" % self.http_port,
        }
        settings.update(self.overrides)
        args = [self.broker]
        for k, v in settings.items():
            args += ["--override", "%s=%s" % (k, v)]
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

    def output(self):
        try:
            with open(self.output_path, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def stop(self, sig=signal.SIGTERM, timeout=30.0):
        """Stops the broker with `sig`; returns its exit code. Kills it if it does not exit in time."""
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
    parser = argparse.ArgumentParser(description="Run a command against a fresh broker.")
    parser.add_argument("--broker", default=None)
    parser.add_argument("--override", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--timeout", type=float, default=600.0, help="limit for the command, seconds")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    cmd = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not cmd:
        parser.error("no command given")
    overrides = dict(o.split("=", 1) for o in args.override)
    with BrokerProcess(broker=args.broker, overrides=overrides) as b:
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
