"""A loopback TCP proxy that records every request frame a client sends to the broker.

Used to capture golden byte vectors from stock clients (protocol/tests/golden/): run the broker, run
this proxy in front of it, point a client at the proxy, and the proxy appends one JSON line per request
frame ({"api_key", "api_version", "correlation_id", "client_id", "hex"}) to the output file. Responses
are forwarded untouched. It stops after --seconds.

    capture_proxy.py --listen 19092 --target 127.0.0.1:9092 --out frames.jsonl --seconds 20
"""
import argparse
import json
import selectors
import socket
import struct
import time


def parse_header(frame):
    key, version, corr = struct.unpack(">hhi", frame[:8])
    client_id = None
    if len(frame) >= 10:
        (n,) = struct.unpack(">h", frame[8:10])
        if n >= 0:
            client_id = frame[10:10 + n].decode(errors="replace")
    return key, version, corr, client_id


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", type=int, required=True)
    ap.add_argument("--target", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seconds", type=float, default=30.0)
    args = ap.parse_args()
    host, port = args.target.split(":")
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", args.listen))
    srv.listen()
    srv.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(srv, selectors.EVENT_READ, ("accept", None))
    pending = {}  # client socket -> bytes not yet framed
    peers = {}
    out = open(args.out, "a")
    deadline = time.monotonic() + args.seconds
    while time.monotonic() < deadline:
        for k, _ in sel.select(timeout=0.2):
            kind, other = k.data
            if kind == "accept":
                c, _ = srv.accept()
                b = socket.create_connection((host, int(port)))
                peers[c], peers[b] = b, c
                pending[c] = b""
                sel.register(c, selectors.EVENT_READ, ("client", b))
                sel.register(b, selectors.EVENT_READ, ("broker", c))
                continue
            s = k.fileobj
            try:
                data = s.recv(1 << 20)
            except OSError:
                data = b""
            if not data:
                for x in (s, other):
                    try:
                        sel.unregister(x)
                    except (KeyError, ValueError):
                        pass
                    x.close()
                continue
            other.sendall(data)
            if kind == "client":
                buf = pending[s] + data
                while len(buf) >= 4:
                    (size,) = struct.unpack(">i", buf[:4])
                    if len(buf) < 4 + size:
                        break
                    frame = buf[4:4 + size]
                    buf = buf[4 + size:]
                    key, version, corr, cid = parse_header(frame)
                    out.write(json.dumps({"api_key": key, "api_version": version, "correlation_id": corr,
                                          "client_id": cid, "hex": frame.hex()}) + "\n")
                    out.flush()
                pending[s] = buf


if __name__ == "__main__":
    main()
