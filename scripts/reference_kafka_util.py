"""Helpers for scripts/reference-kafka.sh (Python 3 standard library only).

  free-port                          a free TCP port on 127.0.0.1
  zk-mode HOST:PORT                  ZooKeeper's `srvr` answer's Mode (exit 1 if none yet)
  metadata HOST:PORT                 one Metadata request (v1); prints the brokers it lists
                                     (exit 1 if it fails or lists none)
  wait-zk HOST:PORT SECONDS PID     polls zk-mode until a Mode shows (exit 1 on timeout or if PID
                                     exits)
  wait-kafka HOST:PORT SECONDS PID ZK_CONNECT
                                     polls metadata likewise, and until the broker's znode
                                     (brokers/ids/0 under ZK_CONNECT's chroot) exists: a port
                                     taken by another server in the meantime does not count
  dump-zk HOST:PORT CHROOT OUT       every znode under CHROOT (paths relative to it) with its data
                                     and whether it is ephemeral, as JSON into OUT

The ZooKeeper reader speaks the client protocol directly (connect, getChildren, getData); it only
reads.
"""
import json
import socket
import struct
import sys
import time


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def split_hostport(hp):
    host, port = hp.rsplit(":", 1)
    return host, int(port)


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("connection closed")
        buf += chunk
    return buf


def recv_frame(sock):
    (size,) = struct.unpack(">i", recv_exact(sock, 4))
    return recv_exact(sock, size)


def zk_mode(hp):
    """Sends the four-letter word `srvr` and returns the Mode line's value, or None."""
    try:
        with socket.create_connection(split_hostport(hp), timeout=2.0) as s:
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


def metadata_brokers(hp):
    """One Metadata v1 request for no topics; returns [(node_id, host, port)]."""
    client_id = b"reference-kafka"
    # Header v1: api_key, api_version, correlation_id, client_id; body: topics = [] (none).
    body = struct.pack(">hhih", 3, 1, 7, len(client_id)) + client_id + struct.pack(">i", 0)
    with socket.create_connection(split_hostport(hp), timeout=5.0) as s:
        s.sendall(struct.pack(">i", len(body)) + body)
        frame = recv_frame(s)
    (correlation,) = struct.unpack_from(">i", frame, 0)
    if correlation != 7:
        raise ValueError("correlation id %d" % correlation)
    off = 4
    (count,) = struct.unpack_from(">i", frame, off)
    off += 4
    brokers = []
    for _ in range(count):
        node_id, hlen = struct.unpack_from(">ih", frame, off)
        off += 6
        host = frame[off:off + hlen].decode()
        off += hlen
        (port, rlen) = struct.unpack_from(">ih", frame, off)
        off += 6
        if rlen > 0:
            off += rlen
        brokers.append((node_id, host, port))
    return brokers


class ZkReader:
    """A read-only ZooKeeper client session (protocol version 0)."""

    def __init__(self, hp, timeout_ms=10000):
        self.sock = socket.create_connection(split_hostport(hp), timeout=10.0)
        req = struct.pack(">iqiqi", 0, 0, timeout_ms, 0, 16) + b"\0" * 16 + b"\0"
        self.sock.sendall(struct.pack(">i", len(req)) + req)
        resp = recv_frame(self.sock)
        _, negotiated, session = struct.unpack_from(">iiq", resp, 0)
        if negotiated <= 0:
            raise ConnectionError("ZooKeeper refused the session")
        self.xid = 0

    def call(self, op, path):
        self.xid += 1
        p = path.encode()
        req = struct.pack(">ii", self.xid, op) + struct.pack(">i", len(p)) + p + b"\0"
        self.sock.sendall(struct.pack(">i", len(req)) + req)
        while True:
            frame = recv_frame(self.sock)
            xid, _zxid, err = struct.unpack_from(">iqi", frame, 0)
            if xid == self.xid:
                break  # (watch events, xid -1, are not asked for)
        if err != 0:
            raise KeyError("%s: ZooKeeper error %d" % (path, err))
        return frame[16:]

    def children(self, path):
        body = self.call(8, path)
        (count,) = struct.unpack_from(">i", body, 0)
        off, out = 4, []
        for _ in range(max(count, 0)):
            (n,) = struct.unpack_from(">i", body, off)
            off += 4
            out.append(body[off:off + n].decode())
            off += n
        return sorted(out)

    def get(self, path):
        body = self.call(4, path)
        (n,) = struct.unpack_from(">i", body, 0)
        data = None if n < 0 else body[4:4 + n]
        off = 4 + max(n, 0)
        (czxid, mzxid, ctime, mtime, version, cversion, aversion, ephemeral_owner, data_length,
         num_children, pzxid) = struct.unpack_from(">qqqqiiiqiiq", body, off)
        return data, {"version": version, "cversion": cversion, "ephemeral": ephemeral_owner != 0,
                      "num_children": num_children, "ctime": ctime, "mtime": mtime}

    def close(self):
        try:
            req = struct.pack(">ii", self.xid + 1, -11)
            self.sock.sendall(struct.pack(">i", len(req)) + req)
        finally:
            self.sock.close()


def describe_data(data):
    if data is None:
        return "null", None
    if data == b"":
        return "empty", ""
    text = data.decode("utf-8", errors="replace")
    try:
        return "json", json.loads(text)
    except ValueError:
        return "text", text


def dump_zk(hp, chroot, out_path):
    zk = ZkReader(hp)
    nodes = []
    try:
        stack = [chroot]
        while stack:
            path = stack.pop()
            data, stat = zk.get(path)
            fmt, value = describe_data(data)
            rel = path[len(chroot):] if chroot != "/" else path
            nodes.append({"path": rel or "/", "ephemeral": stat["ephemeral"], "format": fmt,
                          "data": value, "version": stat["version"],
                          "num_children": stat["num_children"]})
            for child in reversed(zk.children(path)):
                stack.append(path.rstrip("/") + "/" + child)
    finally:
        zk.close()
    nodes.sort(key=lambda n: n["path"])
    with open(out_path, "w") as f:
        json.dump({"chroot": chroot, "znodes": nodes}, f, indent=2, sort_keys=True)
        f.write("\n")
    return len(nodes)


def pid_alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state not in ("Z", "X")
    except (OSError, IndexError):
        return False


def wait_until(probe, seconds, pid, what):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            sys.stderr.write("%s: process %d exited\n" % (what, pid))
            return 1
        try:
            if probe():
                return 0
        except (OSError, ValueError, struct.error):
            pass
        time.sleep(0.1)
    sys.stderr.write("%s: not ready within %.0fs\n" % (what, seconds))
    return 1


def main(argv):
    if len(argv) < 2:
        sys.stderr.write(__doc__)
        return 2
    cmd = argv[1]
    if cmd == "free-port":
        print(free_port())
        return 0
    if cmd == "zk-mode":
        mode = zk_mode(argv[2])
        if mode is None:
            return 1
        print(mode)
        return 0
    if cmd == "metadata":
        try:
            brokers = metadata_brokers(argv[2])
        except (OSError, ValueError, struct.error):
            return 1
        for b in brokers:
            print("%d %s:%d" % b)
        return 0 if brokers else 1
    if cmd == "wait-zk":
        return wait_until(lambda: zk_mode(argv[2]) is not None, float(argv[3]), int(argv[4]),
                          "zookeeper")
    if cmd == "wait-kafka":
        zk_hostport, _, chroot = argv[5].partition("/")

        def registered():
            zk = ZkReader(zk_hostport)
            try:
                zk.get("/" + chroot + "/brokers/ids/0")
                return True
            except KeyError:
                return False
            finally:
                zk.close()

        return wait_until(lambda: registered() and bool(metadata_brokers(argv[2])), float(argv[3]),
                          int(argv[4]), "kafka")
    if cmd == "dump-zk":
        n = dump_zk(argv[2], argv[3], argv[4])
        print("%d znodes" % n)
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
