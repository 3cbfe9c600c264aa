#!/usr/bin/env python3
"""The connection-layer attacks of issue 12 at full scale, against a release `plenary serve`.

    bench/edges.py [--half-open 15000] [--silent-ws 3000] [--bin target/release/plenary]

Starts the server (embedded store, default limits except a shorter WebSocket idle timeout so the
run takes a minute, not two, and a 30 s header-read timeout so that every half-open request is
held at once and the connection cap is reached), then:

1. holds N half-open HTTP requests (heads never finished), spread over 127.0.0.2 … 127.0.0.16
   so the per-address cap does not refuse them all, and meanwhile times `GET /healthz` from
   127.0.0.1; reports how many were admitted or refused (503), the server's open descriptors,
   `/healthz` latency, and how long until the server had closed them all;
2. opens M WebSockets that complete the handshake and then never read or write (so never answer
   a ping); reports how long until the server had closed them all.

Standard library only. Prints one summary table; exits non-zero if /healthz stopped answering
or a connection outlived its timeout by more than 50 %.
"""

import argparse
import asyncio
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def fds(pid):
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return -1


def rss_mb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return -1


async def healthz(host, port):
    start = time.monotonic()
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 5)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = await asyncio.wait_for(reader.read(), 5)
        writer.close()
        ok = data.startswith(b"HTTP/1.1 200")
    except (OSError, asyncio.TimeoutError):
        ok = False
    return ok, (time.monotonic() - start) * 1000


async def open_from(host, port, source, payload):
    reader, writer = await asyncio.open_connection(host, port, local_addr=(source, 0))
    writer.write(payload)
    return reader, writer


async def wait_closed(reader, deadline):
    """Seconds until the server closes (EOF), or None if it did not before `deadline`."""
    start = time.monotonic()
    first = b""
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None, first
            chunk = await asyncio.wait_for(reader.read(4096), left)
            if not first:
                first = chunk
            if not chunk:
                return time.monotonic() - start, first
    except (asyncio.TimeoutError,):
        return None, first
    except OSError:
        return time.monotonic() - start, first


async def half_open(host, port, pid, n, header_timeout):
    per = 1000
    sources = [f"127.0.0.{2 + i // per}" for i in range(n)]
    payload = b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
    t0 = time.monotonic()
    conns = []
    for i in range(0, n, 500):
        batch = await asyncio.gather(
            *(open_from(host, port, s, payload) for s in sources[i : i + 500]), return_exceptions=True
        )
        conns.extend(c for c in batch if not isinstance(c, BaseException))
    opened = time.monotonic() - t0
    await asyncio.sleep(0.5)
    probes = [await healthz(host, port) for _ in range(20)]
    held_fds = fds(pid)
    held_rss = rss_mb(pid)
    deadline = time.monotonic() + header_timeout * 1.5 + opened + 5
    results = await asyncio.gather(*(wait_closed(r, deadline) for r, _ in conns))
    for _, w in conns:
        w.close()
    refused = sum(1 for _, first in results if first.startswith(b"HTTP/1.1 503"))
    still_open = sum(1 for t, _ in results if t is None)
    closed_after = max((t for t, _ in results if t is not None), default=0)
    return {
        "half-open requests opened": len(conns),
        "seconds to open them": round(opened, 1),
        "refused at once (503 JSON)": refused,
        "server fds while held": held_fds,
        "server RSS MB while held": round(held_rss, 1),
        "/healthz answered while held": f"{sum(ok for ok, _ in probes)}/{len(probes)}",
        "/healthz max ms while held": round(max(ms for _, ms in probes), 1),
        "still open past the timeout": still_open,
        "last closed after s (timeout %d s)" % header_timeout: round(closed_after, 1),
        "server fds after": fds(pid),
    }, still_open == 0 and all(ok for ok, _ in probes)


async def silent_websockets(host, port, pid, token, m, idle_timeout):
    payload = (
        f"GET /sync/edges?token={token} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n"
        "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
    ).encode()
    sources = [f"127.0.0.{40 + i // 1000}" for i in range(m)]
    conns = []
    for i in range(0, m, 500):
        batch = await asyncio.gather(
            *(open_from(host, port, s, payload) for s in sources[i : i + 500]), return_exceptions=True
        )
        conns.extend(c for c in batch if not isinstance(c, BaseException))
    await asyncio.sleep(2)
    upgraded_fds = fds(pid)
    # Never read until the deadline: the kernel buffers the server's pings and its close.
    await asyncio.sleep(idle_timeout + 2)
    deadline = time.monotonic() + idle_timeout
    results = await asyncio.gather(*(wait_closed(r, deadline) for r, _ in conns))
    for _, w in conns:
        w.close()
    closed = sum(1 for t, _ in results if t is not None)
    return {
        "silent WebSockets opened": len(conns),
        "server fds with them open": upgraded_fds,
        "closed by the server within idle timeout + 2 s": closed,
        "server fds after": fds(pid),
    }, closed == len(conns)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--half-open", type=int, default=15000)
    ap.add_argument("--silent-ws", type=int, default=3000)
    ap.add_argument("--bin", default=os.path.join(ROOT, "target", "release", "plenary"))
    ap.add_argument("--idle-timeout", type=int, default=20)
    ap.add_argument("--header-timeout", type=int, default=30,
                    help="the server's header-read timeout for the run (default 30 s: long enough that "
                         "all the half-open requests are held at once and the connection cap is reached)")
    args = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    data = tempfile.mkdtemp(prefix="plenary-edges-")
    server = subprocess.Popen(
        [args.bin, "serve", "--dev", "--port", "0", "--data-dir", data,
         "--ws-ping-interval-secs", "5", "--ws-idle-timeout-secs", str(args.idle_timeout),
         "--header-read-timeout-secs", str(args.header_timeout)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    addr, token = None, None
    for line in server.stdout:
        m = re.search(r"listening on http://([\d.]+):(\d+)", line)
        if m:
            addr = (m.group(1), int(m.group(2)))
        m = re.search(r"Chair.*token=(\S+)", line)
        if m:
            token = m.group(1)
            break
    host, port = addr
    base = f"http://{host}:{port}"
    req = urllib.request.Request(f"{base}/api/docs", data=json.dumps({"name": "edges"}).encode(),
                                 headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    urllib.request.urlopen(req).read()
    try:
        table, ok1 = asyncio.run(half_open(host, port, server.pid, args.half_open, args.header_timeout))
        table2, ok2 = asyncio.run(silent_websockets(host, port, server.pid, token, args.silent_ws, args.idle_timeout))
        metrics = urllib.request.urlopen(f"{base}/metrics").read().decode()
    finally:
        server.terminate()
        server.wait(timeout=20)
    for k, v in {**table, **table2}.items():
        print(f"{k:<52} {v}")
    for name in ("plenary_header_timeouts_total", "plenary_connections_evicted_total",
                 "plenary_connections_refused_address_cap_total",
                 "plenary_connections_refused_total_cap_total", "plenary_ws_idle_closed_total",
                 "plenary_tcp_connection_cap"):
        m = re.search(rf"^{name} (\S+)$", metrics, re.M)
        print(f"{name:<52} {m.group(1) if m else '?'}")
    print("verdict:", "PASS" if ok1 and ok2 else "FAIL")
    sys.exit(0 if ok1 and ok2 else 1)


if __name__ == "__main__":
    main()
