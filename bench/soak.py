#!/usr/bin/env python3
"""Soak: Plenary with its default limits under mixed load for MINUTES (default 30). Not in CI.

  bench/soak.sh [MINUTES] [--no-build] [--clients 60] [--typists 12] [--docs 4] [--rate 1]

Starts `plenary serve` (release build, embedded store, **default limits**: no limit flag is passed) and runs, all at
once, for the whole time:

well-behaved
  - `plenary bench --mode load`: CLIENTS clients on DOCS documents (soak-0 …), TYPISTS of them typing at RATE
    updates/s with cursor presence, the others reading; with `--final-texts`, so that the end can compare what every
    typist holds with the server's document;
  - a joiner: every sample, `plenary bench --mode first-sync` on soak-0 (a stock client can still join);
misbehaving (a handful of each, from this script, stdlib only)
  - fill floods: `plenary bench --mode fill` (200 updates in flight, as fast as acknowledged) on fresh documents,
    one after the other: over the 50/s rate limit, so they must be slowed, not cut off nor lost;
  - half-open HTTP requests that never finish their headers (closed after the header-read timeout);
  - WebSockets that never read nor answer pings (closed idle, or as slow consumers);
  - unread floods: empty updates sent as fast as TCP takes them, nothing read;
  - presence floods on soak-0: valid small states, 6 ids per message, 8 KiB states, states that are not JSON;
  - oversized (5 MiB) frames, malformed frames, state-vector length bombs;
  - expired tokens (401), tokens expiring while connected (close 4001), connects to missing documents (404).

Every SAMPLE seconds (30) it reads the server's RSS (/proc/<pid>/status), open fds (/proc/<pid>/fd) and /metrics.
At the end: a table per sample and the verdicts "RSS flat", "fds flat" (last sample within 20 % of the median after
the first 2 minutes; for fds, 20 % + 16 to allow for misbehaving sockets in flight), "nothing lost" (every typist's
final paragraph texts equal the server's document, `GET /api/docs/soak-N`; every update delivered to every member;
no well-behaved connection dropped; every fill acknowledged), and what each misbehaviour met. Written to
bench/results/soak-<date>.txt (and .json with the raw samples).
"""
import argparse, asyncio, base64, collections, datetime, json, os, random, re, shutil, statistics, struct, subprocess, sys
import tempfile, threading, time, urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR", "/work/target-bench")
PLENARY = os.environ.get("PLENARY_BIN", os.path.join(TARGET, "release", "plenary"))
RESULTS = os.path.join(ROOT, "bench", "results")
SECRET = "soak-secret-soak-secret-soak-secret-0123456789"
ENV = {**os.environ, "PLENARY_JWT_SECRET": SECRET, "PLENARY_LOG": "warn"}
FLOOD_DOC = "soak-x"  # the raw misbehavers' own document (the typists' documents stay theirs)
METRICS = ["plenary_connections", "plenary_tcp_connections", "plenary_rooms_loaded", "plenary_updates_accepted_total",
           "plenary_deliveries_total", "plenary_updates_throttled_total", "plenary_presence_deferred_total",
           "plenary_presence_refused_total", "plenary_messages_malformed_total", "plenary_messages_oversize_total",
           "plenary_header_timeouts_total", "plenary_ws_idle_closed_total", "plenary_slow_consumers_total",
           "plenary_auth_failures_total", "plenary_missing_docs_total", "plenary_updates_forbidden_total",
           "plenary_connections_refused_address_cap_total", "plenary_connections_refused_total_cap_total",
           "plenary_accept_errors_total", "plenary_store_errors_total"]

outcomes = collections.defaultdict(collections.Counter)  # misbehaviour -> what happened -> count
stopping = False


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, flush=True)


# ---------------------------------------------------------------------------------------------- server and tools

class Server:
    def __init__(self, redis=False):
        self.data = tempfile.mkdtemp(prefix="plenary-soak-")
        self.log_path = os.path.join(self.data, "server.log")
        os.makedirs(os.path.join(self.data, "store"))
        cmd = [PLENARY, "serve", "--port", "0", "--data-dir", os.path.join(self.data, "store"), "--no-demo"]
        self.redis = None
        if redis:  # a redis-server of our own (AOF on, everysec), for comparison with the embedded store
            import socket
            with socket.socket() as sock:
                sock.bind(("127.0.0.1", 0))
                rport = sock.getsockname()[1]
            self.redis = subprocess.Popen(["redis-server", "--port", str(rport), "--bind", "127.0.0.1", "--dir",
                                           os.path.join(self.data, "store"), "--appendonly", "yes", "--save", ""],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(1)
            cmd += ["--redis", f"redis://127.0.0.1:{rport}"]
        log("$", " ".join(cmd), "(default limits)")
        self.proc = subprocess.Popen(cmd, env=ENV, stdout=subprocess.PIPE, stderr=open(self.log_path, "w"), text=True)
        deadline = time.time() + 60
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            m = re.search(r"listening on http://[\d.]+:(\d+)", line or "")
            if m:
                self.port = int(m.group(1))
                break
            if not line and self.proc.poll() is not None:
                raise RuntimeError("plenary serve did not start: see " + self.log_path)
        else:
            raise RuntimeError("plenary serve did not start")
        threading.Thread(target=lambda: [None for _ in self.proc.stdout], daemon=True).start()
        self.http = f"http://127.0.0.1:{self.port}"
        self.url = f"ws://127.0.0.1:{self.port}/sync"

    def mint(self, role, ttl="8h", delegation=None, name="soak"):
        cmd = [PLENARY, "token", "--role", role, "--name", name, "--ttl", ttl]
        if delegation:
            cmd += ["--delegation", delegation]
        return subprocess.run(cmd, env=ENV, check=True, capture_output=True, text=True).stdout.strip()

    def get(self, path, token=None, timeout=30):
        req = urllib.request.Request(self.http + path, headers={"Authorization": f"Bearer {token}"} if token else {})
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.read()

    def post_doc(self, name, token):
        req = urllib.request.Request(self.http + "/api/docs", data=json.dumps({"name": name}).encode(), method="POST",
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status
        except urllib.error.HTTPError as e:
            return e.code

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        if self.redis:
            self.redis.terminate()
            self.redis.wait(15)


def sample(srv, started):
    pid = srv.proc.pid
    rss = 0.0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) / 1024
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    store = os.path.join(srv.data, "store")
    store_mb = sum(os.stat(os.path.join(d, f)).st_blocks * 512 for d, _, fs in os.walk(store) for f in fs) / 2**20
    metrics = {}
    try:
        for line in srv.get("/metrics", timeout=10).decode().splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[0] in METRICS:
                metrics[parts[0]] = float(parts[1])
    except OSError as e:
        metrics["error"] = str(e)
    return {"t_s": time.time() - started, "rss_mb": rss, "fds": fds, "store_mb": store_mb, "metrics": metrics,
            "outcomes": {k: dict(v) for k, v in outcomes.items()}}


# ---------------------------------------------------------------------------------------------- a minimal WebSocket

def ws_frame(payload, opcode=2):
    """A client frame; the mask key is zero (allowed by RFC 6455), so the payload goes as is."""
    n = len(payload)
    head = bytearray([0x80 | opcode])
    if n < 126:
        head.append(0x80 | n)
    elif n < 65536:
        head += bytes([0x80 | 126]) + struct.pack(">H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack(">Q", n)
    return bytes(head) + b"\0\0\0\0" + payload


async def ws_open(port, path, token=None, timeout=15):
    """(status, reader, writer): 101 and an open socket, or the HTTP status and None."""
    r, w = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), timeout)
    key = base64.b64encode(os.urandom(16)).decode()
    q = f"?token={token}" if token else ""
    w.write(f"GET {path}{q} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode())
    try:
        head = await asyncio.wait_for(r.readuntil(b"\r\n\r\n"), timeout)
    except (asyncio.IncompleteReadError, asyncio.TimeoutError, ConnectionError) as e:
        w.close()
        return f"no answer ({type(e).__name__})", None, None
    status = int(head.split(b" ", 2)[1])
    if status != 101:
        w.close()
        return status, None, None
    return 101, r, w


async def ws_read(r):
    h = await r.readexactly(2)
    op, n = h[0] & 15, h[1] & 127
    if n == 126:
        n = struct.unpack(">H", await r.readexactly(2))[0]
    elif n == 127:
        n = struct.unpack(">Q", await r.readexactly(8))[0]
    return op, await r.readexactly(n)


async def until_close(r, w, timeout, pong=True):
    """Reads until the server closes: 'close <code>', 'eof' or 'still open'."""
    deadline = time.time() + timeout
    try:
        while True:
            op, data = await asyncio.wait_for(ws_read(r), max(0.01, deadline - time.time()))
            if op == 8:
                return f"close {struct.unpack('>H', data[:2])[0] if len(data) >= 2 else 'no code'}"
            if op == 9 and pong:
                w.write(ws_frame(data, 10))
    except asyncio.TimeoutError:
        return "still open"
    except (asyncio.IncompleteReadError, ConnectionError):
        return "eof"


def close(w):
    try:
        w.close()
    except Exception:
        pass


def varuint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def varstring(s):
    b = s.encode() if isinstance(s, str) else s
    return varuint(len(b)) + b


def awareness(entries):
    """A y-protocols awareness message: [(client id, clock, state json text)]."""
    body = varuint(len(entries)) + b"".join(varuint(c) + varuint(k) + varstring(s) for c, k, s in entries)
    return varuint(1) + varstring(body)


EMPTY_UPDATE_FRAME = bytes([0, 2, 2, 0, 0])  # sync update carrying an update with no structs and no deletions


# ---------------------------------------------------------------------------------------------- misbehaviours

async def forever(name, fn, pause):
    while not stopping:
        try:
            outcomes[name][await fn()] += 1
        except Exception as e:  # the misbehaver's own trouble is an outcome too, never the end of the soak
            outcomes[name][f"error {type(e).__name__}"] += 1
        await asyncio.sleep(pause * (0.5 + random.random()))


async def half_open(port):
    t = time.time()
    r, w = await asyncio.open_connection("127.0.0.1", port)
    w.write(b"GET /healthz HTTP/1.1\r\nHost: soak\r\nX-Slow: ")
    try:
        data = await asyncio.wait_for(r.read(4096), 60)
    except asyncio.TimeoutError:
        close(w)
        return "still open after 60 s"
    close(w)
    what = "closed" if not data else "answered " + data[:12].decode(errors="replace")
    return f"{what} after {'<=' if time.time() - t < 15 else '>'}15 s"


async def silent_ws(port, token):
    status, r, w = await ws_open(port, "/sync/soak-0", token)
    if status != 101:
        return f"upgrade {status}"
    await asyncio.sleep(130)  # never reads, never answers a ping
    res = await until_close(r, w, 5, pong=False)
    close(w)
    return res


async def unread_flood(port, token):
    status, r, w = await ws_open(port, f"/sync/{FLOOD_DOC}", token)
    if status != 101:
        return f"upgrade {status}"
    t, sent = time.time(), 0
    batch = ws_frame(EMPTY_UPDATE_FRAME) * 50
    ended = "still open"
    try:
        while time.time() - t < 60:
            w.write(batch)
            sent += 50
            await asyncio.wait_for(w.drain(), 70 - (time.time() - t))
    except asyncio.TimeoutError:
        ended = "writes blocked"
    except ConnectionError:
        ended = "closed by the server"
    # abort, not close: close() would first flush what the transport still holds, at the server's
    # throttled pace, and keep this connection open for minutes after the flood ended.
    w.transport.abort()
    rate = sent / (time.time() - t)
    # The socket buffers take tens of thousands of these 11-byte frames; what the server reads is throttled
    # (plenary_updates_throttled_total), and the writer blocks once the buffers are full.
    return f"~{round(rate, -2):.0f} frames/s written (socket buffers included), {ended}"


async def presence_flood(port, token, variant):
    status, r, w = await ws_open(port, "/sync/soak-0", token)
    if status != 101:
        return f"upgrade {status}"

    async def drain_reader():
        try:
            while True:
                op, data = await ws_read(r)
                if op == 9:
                    w.write(ws_frame(data, 10))
                if op == 8:
                    return f"close {struct.unpack('>H', data[:2])[0] if len(data) >= 2 else ''}"
        except (asyncio.IncompleteReadError, ConnectionError):
            return "eof"

    reader = asyncio.ensure_future(drain_reader())
    me = random.randrange(1 << 30, 1 << 31)
    t, clock = time.time(), 0
    try:
        while time.time() - t < 60 and not reader.done():
            clock += 1
            if variant == "small":
                msg = awareness([(me, clock, json.dumps({"user": {"name": "flood"}, "n": clock}))])
            elif variant == "many-ids":
                msg = awareness([(me + i, clock, '{"user":{"name":"x"}}') for i in range(6)])
            elif variant == "big":
                msg = awareness([(me, clock, json.dumps({"pad": "x" * 8192}))])
            else:
                msg = awareness([(me, clock, "{not json")])
            w.write(ws_frame(msg))
            await asyncio.wait_for(w.drain(), 30)
            await asyncio.sleep(0.001)
    except (asyncio.TimeoutError, ConnectionError):
        pass
    ended = reader.result() if reader.done() else "open after 60 s"
    reader.cancel()
    close(w)
    return f"{variant}: {ended}"


async def oversized(port, token):
    status, r, w = await ws_open(port, f"/sync/{FLOOD_DOC}", token)
    if status != 101:
        return f"upgrade {status}"
    payload = bytes([0, 2]) + varuint(5 << 20) + os.urandom(16) * (5 << 16)
    # Read while writing: the server answers before the 5 MiB are through, then stops reading.
    reader = asyncio.ensure_future(until_close(r, w, 25))
    w.write(ws_frame(payload))
    try:
        await asyncio.wait_for(w.drain(), 20)
    except (asyncio.TimeoutError, ConnectionError):
        pass
    res = await reader
    close(w)
    return res


MALFORMED = {
    "random bytes": lambda: os.urandom(64),
    "truncated varint": lambda: bytes([0, 0x80]),
    "unknown message type": lambda: bytes([9, 1, 2, 3]),
    "unknown sync step": lambda: bytes([0, 7, 1, 0]),
    "garbage update": lambda: bytes([0, 2, 6, 1, 200, 3, 4, 5, 6]),
    "length beyond frame": lambda: bytes([0, 2, 0xFF, 0xFF, 0x03, 1]),
    "text frame": None,
}


async def malformed(port, token):
    kind = random.choice(list(MALFORMED))
    status, r, w = await ws_open(port, f"/sync/{FLOOD_DOC}", token)
    if status != 101:
        return f"upgrade {status}"
    make = MALFORMED[kind]
    w.write(ws_frame(b"hello", 1) if make is None else ws_frame(make()))
    res = await until_close(r, w, 5)
    close(w)
    return f"{kind}: {res}"


async def sv_bomb(port, token):
    variant = random.choice(["entries 2^28", "length 2^28"])
    status, r, w = await ws_open(port, f"/sync/{FLOOD_DOC}", token)
    if status != 101:
        return f"upgrade {status}"
    if variant == "entries 2^28":  # sync step 1 whose state vector claims 2^28 entries in 5 bytes
        frame = bytes([0, 0]) + varstring(varuint(1 << 28))
    else:  # sync step 1 whose payload length claims 2^28 bytes
        frame = bytes([0, 0]) + varuint(1 << 28) + bytes(8)
    w.write(ws_frame(frame))
    res = await until_close(r, w, 5)
    close(w)
    return f"{variant}: {res}"


async def expired(port, token):
    status, r, w = await ws_open(port, "/sync/soak-0", token)
    if w:
        close(w)
    return f"upgrade {status}"


async def expiring(port, srv):
    token = await asyncio.get_running_loop().run_in_executor(None, lambda: srv.mint("delegate", "5s", "JPN", "expiring"))
    t = time.time()
    status, r, w = await ws_open(port, "/sync/soak-1", token)
    if status != 101:
        return f"upgrade {status}"
    res = await until_close(r, w, 80)  # exp 5 s + leeway 30 s
    close(w)
    return f"{res} after {'<=' if time.time() - t <= 50 else '>'}50 s"


async def missing(port, token):
    path = random.choice([f"/sync/missing-{random.randrange(1 << 30)}", f"/sync/missing-{random.randrange(1 << 30)}/comments/public"])
    status, r, w = await ws_open(port, path, token)
    if w:
        close(w)
    return f"{'comment scope' if 'comments' in path else 'document'}: upgrade {status}"


# ---------------------------------------------------------------------------------------------- the run

def bench_cmd(srv, token, *extra):
    return [PLENARY, "bench", "--url", srv.url, "--token", token, "--pid", str(srv.proc.pid), *map(str, extra)]


async def fill_floods(srv, chair, tmp, fills):
    k = 0
    while not stopping:
        k += 1
        out = os.path.join(tmp, f"fill-{k}.json")
        proc = await asyncio.create_subprocess_exec(*bench_cmd(srv, chair, "--mode", "fill", "--updates", 2000,
                                                               "--doc-prefix", f"soak-fill-{k}", "--label", f"fill-{k}",
                                                               "--json", out),
                                                    stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
        _, err = await proc.communicate()
        if proc.returncode == 0:
            with open(out) as f:
                r = json.load(f)
            fills.append({"updates": r["updates"], "updates_per_s": r["updates_per_s"]})
            outcomes["fill flood (2 000 updates, 200 in flight)"]["all acknowledged"] += 1
        else:
            fills.append({"error": err.decode()[-300:]})
            outcomes["fill flood (2 000 updates, 200 in flight)"]["failed"] += 1
        await asyncio.sleep(2)


async def joiner(srv, chair, tmp, joins):
    out = os.path.join(tmp, "join.json")
    proc = await asyncio.create_subprocess_exec(*bench_cmd(srv, chair, "--mode", "first-sync", "--doc-prefix", "soak",
                                                           "--repeat", 1, "--json", out),
                                                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    _, err = await proc.communicate()
    if proc.returncode == 0:
        with open(out) as f:
            joins.append(json.load(f)["first_sync_ms"][0])
        outcomes["joiner (stock client syncs soak-0)"]["synced"] += 1
    else:
        outcomes["joiner (stock client syncs soak-0)"]["failed: " + err.decode()[-120:]] += 1


def paragraph_texts(srv, doc, token):
    view = json.loads(srv.get(f"/api/docs/{doc}", token, timeout=120))
    return ["".join(run["text"] for run in p["text"]) for p in view["resolution"]["paragraphs"]]


async def run(a):
    global stopping
    srv = Server(redis=a.redis)
    tmp = srv.data
    started = time.time()
    chair = srv.mint("chair", name="Soak chair")
    delegate = srv.mint("delegate", delegation="JPN", name="Soak delegate")
    observer = srv.mint("observer", name="Soak observer")
    dead = srv.mint("delegate", "1s", "FRA", "Soak expired")
    log("documents:", FLOOD_DOC, srv.post_doc(FLOOD_DOC, chair))
    port = srv.port
    duration = max(30, a.minutes * 60 - 20)
    load_json = os.path.join(tmp, "load.json")
    load_cmd = bench_cmd(srv, chair, "--mode", "load", "--docs", a.docs, "--clients", a.clients, "--typists", a.typists,
                         "--rate", a.rate, "--duration", duration, "--doc-prefix", "soak", "--label", "soak",
                         "--final-texts", "--json", load_json)
    log("$", " ".join(c if c != chair else "$CHAIR_TOKEN" for c in load_cmd))
    load = await asyncio.create_subprocess_exec(*load_cmd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    await asyncio.sleep(10)  # the load's clients connect and seed first

    fills, joins, samples = [], [], []
    tasks = [asyncio.ensure_future(fill_floods(srv, chair, tmp, fills))] if "fills" in a.parts else []
    mis = [("half-open HTTP request", lambda: half_open(port), 1, 5),
           ("WebSocket that never reads", lambda: silent_ws(port, observer), 1, 4),
           ("unread flood of empty updates", lambda: unread_flood(port, delegate), 2, 2),
           ("oversized frame (5 MiB)", lambda: oversized(port, delegate), 10, 1),
           ("malformed frame", lambda: malformed(port, delegate), 3, 2),
           ("state-vector length bomb", lambda: sv_bomb(port, observer), 5, 1),
           ("missing document", lambda: missing(port, chair), 3, 1),
           ("token expiring while connected", lambda: expiring(port, srv), 20, 1)]
    for variant in ("small", "many-ids", "big", "not-json"):
        mis.append((f"presence flood", (lambda v: lambda: presence_flood(port, delegate, v))(variant), 5, 1))
    if a.only:  # one misbehaviour alone (to find which one a counter or the memory follows)
        mis = [m for m in mis if a.only in m[0]]
    for name, fn, pause, n in (mis if "misbehave" in a.parts else []):
        for _ in range(n):
            tasks.append(asyncio.ensure_future(forever(name, fn, pause)))

    async def expired_later():  # the 1 s token is past its leeway after 31 s
        await asyncio.sleep(max(0, 35 - (time.time() - started)))
        await forever("expired token", lambda: expired(port, dead), 5)
    if "misbehave" in a.parts and (not a.only or a.only in "expired token"):
        tasks.append(asyncio.ensure_future(expired_later()))

    end = started + a.minutes * 60
    next_sample = time.time()
    while time.time() < end and load.returncode is None:
        if time.time() >= next_sample:
            s = await asyncio.get_running_loop().run_in_executor(None, sample, srv, started)
            asyncio.ensure_future(joiner(srv, chair, tmp, joins))
            samples.append(s)
            m = s["metrics"]
            log(f"t={s['t_s'] / 60:5.1f} min  RSS {s['rss_mb']:6.1f} MB  fds {s['fds']:4d}  "
                f"connections {m.get('plenary_connections', 0):.0f}  accepted {m.get('plenary_updates_accepted_total', 0):.0f}  "
                f"throttled {m.get('plenary_updates_throttled_total', 0):.0f}")
            next_sample += a.sample
        try:
            await asyncio.wait_for(asyncio.shield(load.wait()), min(5, max(0.1, next_sample - time.time())))
        except asyncio.TimeoutError:
            pass
    stopping = True
    log("stopping the misbehaving clients")
    await asyncio.sleep(3)
    for t in tasks:
        t.cancel()
    load_out, load_err = await load.communicate()
    await asyncio.sleep(5)
    after = await asyncio.get_running_loop().run_in_executor(None, sample, srv, started)
    after["after_stop"] = True
    samples.append(after)

    # Nothing lost?
    lost = []
    report = None
    if load.returncode != 0:
        lost.append(f"the load generator failed: {load_err.decode()[-500:]}")
    else:
        with open(load_json) as f:
            report = json.load(f)
        for key in ("connect_errors", "unsynced", "dropped", "denied"):
            if report[key]:
                lost.append(f"load: {key} = {report[key]}")
        if report["deliveries"] != report["expected_deliveries"]:
            lost.append(f"load: {report['deliveries']} deliveries of {report['expected_deliveries']} expected")
        for doc, typists in sorted(report["final_texts"].items()):
            server_texts = paragraph_texts(srv, doc, chair)
            for i, texts in enumerate(typists):
                if texts != server_texts:
                    diff = sum(abs(len(x) - len(y)) for x, y in zip(texts, server_texts)) + abs(len(texts) - len(server_texts))
                    lost.append(f"{doc}: typist {i} holds a text that differs from the server's (~{diff} characters)")
    failed_fills = [f for f in fills if "error" in f]
    if failed_fills:
        lost.append(f"{len(failed_fills)} of {len(fills)} fill floods failed: {failed_fills[0]['error']}")
    alive = srv.proc.poll() is None
    srv.stop()
    return srv, samples, report, fills, joins, lost, alive, load_err.decode()


def flat(values, slack=0.0):
    if len(values) < 3:
        return True, float("nan")
    med = statistics.median(values)
    return values[-1] <= med * 1.2 + slack and values[-1] >= med * 0.8 - slack, med


def render(a, samples, report, fills, joins, lost, alive, server_log):
    # The verdicts compare the last sample under load with the median after the warm-up; the sample taken
    # after every client has gone is shown apart (what the server keeps once its clients leave).
    during = [s for s in samples if not s.get("after_stop")]
    warm = [s for s in during if s["t_s"] >= 120] or during
    rss_ok, rss_med = flat([s["rss_mb"] for s in warm])
    fds_ok, fds_med = flat([s["fds"] for s in warm], slack=16)
    lines = [f"# Plenary soak, {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC",
             f"command: bench/soak.sh {a.minutes}{' --redis' if a.redis else ''} (plenary serve with default limits, "
             f"{'Redis (a redis-server of its own, AOF everysec)' if a.redis else 'embedded store'}; "
             f"load: {a.clients} clients on {a.docs} documents, {a.typists} typists at {a.rate}/s)", "",
             "| minute | RSS MB | fds | store MB | connections (WS / TCP) | rooms | updates accepted | throttled | presence deferred / refused "
             "| malformed | oversize | header timeouts | idle closed | slow consumers | auth failures | missing docs |",
             "|" + "---|" * 16]
    c = lambda m, k: f"{m.get(k, 0):.0f}"
    for s in samples:
        m = s["metrics"]
        lines.append(f"| {s['t_s'] / 60:.1f}{' (clients gone)' if s.get('after_stop') else ''} | {s['rss_mb']:.1f} | {s['fds']} | "
                     f"{s.get('store_mb', 0):.1f} | {c(m, 'plenary_connections')} / "
                     f"{c(m, 'plenary_tcp_connections')} | {c(m, 'plenary_rooms_loaded')} | {c(m, 'plenary_updates_accepted_total')} | "
                     f"{c(m, 'plenary_updates_throttled_total')} | {c(m, 'plenary_presence_deferred_total')} / "
                     f"{c(m, 'plenary_presence_refused_total')} | {c(m, 'plenary_messages_malformed_total')} | "
                     f"{c(m, 'plenary_messages_oversize_total')} | {c(m, 'plenary_header_timeouts_total')} | "
                     f"{c(m, 'plenary_ws_idle_closed_total')} | {c(m, 'plenary_slow_consumers_total')} | "
                     f"{c(m, 'plenary_auth_failures_total')} | {c(m, 'plenary_missing_docs_total')} |")
    last = samples[-1]["metrics"]
    lines += ["", "Verdicts:",
              f"- RSS flat: {'YES' if rss_ok else 'NO'} (last under load {warm[-1]['rss_mb']:.1f} MB, median after 2 min "
              f"{rss_med:.1f} MB, min {min(s['rss_mb'] for s in warm):.1f}, max {max(s['rss_mb'] for s in warm):.1f}; "
              f"{samples[-1]['rss_mb']:.1f} MB once the clients had gone; store file {samples[-1].get('store_mb', 0):.1f} MB)",
              f"- fds flat: {'YES' if fds_ok else 'NO'} (last under load {warm[-1]['fds']}, median after 2 min {fds_med:.0f}, "
              f"min {min(s['fds'] for s in warm)}, max {max(s['fds'] for s in warm)}; {samples[-1]['fds']} once the clients had gone)",
              f"- nothing lost: {'YES' if not lost else 'NO'}" + "".join(f"\n  - {x}" for x in lost),
              f"- server alive at the end: {'YES' if alive else 'NO'}; other limits reached: address cap "
              f"{c(last, 'plenary_connections_refused_address_cap_total')}, total cap {c(last, 'plenary_connections_refused_total_cap_total')}, "
              f"accept errors {c(last, 'plenary_accept_errors_total')}, store errors {c(last, 'plenary_store_errors_total')}"]
    if report:
        l = report["latency"]
        lines += ["", f"Well-behaved load: {report['clients']} clients, {report['updates_sent']} updates sent over "
                      f"{report['duration_s']:.0f} s, {report['deliveries']} of {report['expected_deliveries']} deliveries "
                      f"({report['delivery_ratio'] * 100:.2f} %), latency p50 {l['p50_ms']:.1f} / p99 {l['p99_ms']:.1f} / "
                      f"max {l['max_ms']:.0f} ms; dropped {report['dropped']}, denied {report['denied']}; final texts of "
                      f"{sum(len(v) for v in report['final_texts'].values())} typists compared with GET /api/docs/soak-N."]
    ok = [f for f in fills if "error" not in f]
    if ok:
        rates = [f["updates_per_s"] for f in ok]
        lines.append(f"Fill floods: {len(ok)} of {len(fills)} completed (2 000 updates each, all acknowledged), "
                     f"rate {min(rates):.0f}–{max(rates):.0f} updates/s (limit 50/s, burst 500).")
    if joins:
        lines.append(f"Joiner: {len(joins)} first syncs of soak-0, p50 {statistics.median(joins):.0f} ms, max {max(joins):.0f} ms.")
    lines += ["", "What each misbehaviour met (count):"]
    for name, counter in sorted(outcomes.items()):
        lines.append(f"- {name}: " + "; ".join(f"{k} × {v}" for k, v in counter.most_common()))
    warn = [l for l in server_log.splitlines() if " WARN " in l or " ERROR " in l]
    kinds = collections.Counter(re.sub(r"^\S+\s+(WARN|ERROR)\s+", r"\1 ", l)[:90] for l in warn)
    if kinds:
        lines += ["", f"Server log: {len(warn)} WARN/ERROR lines; most frequent:"]
        lines += [f"  {v} × {k}" for k, v in kinds.most_common(8)]
    return "\n".join(lines) + "\n", rss_ok and fds_ok and not lost and alive


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("minutes", nargs="?", type=float, default=30)
    ap.add_argument("--clients", type=int, default=60)
    ap.add_argument("--typists", type=int, default=12)
    ap.add_argument("--docs", type=int, default=4)
    ap.add_argument("--rate", type=float, default=1.0)
    ap.add_argument("--sample", type=float, default=30, help="seconds between samples")
    ap.add_argument("--parts", default="fills,misbehave",
                    help="besides the well-behaved load: fills (the fill floods), misbehave (the raw misbehaving clients)")
    ap.add_argument("--only", help="run only the misbehaviour whose name contains this (e.g. 'presence')")
    ap.add_argument("--tag", help="appended to the result file names")
    ap.add_argument("--redis", action="store_true", help="Plenary on a redis-server of its own instead of the embedded store")
    ap.add_argument("--no-build", action="store_true")
    a = ap.parse_args()
    if not a.no_build and not os.environ.get("PLENARY_BIN"):
        subprocess.run(["cargo", "build", "--release", "-p", "plenary-server", "-p", "plenary-bench"], cwd=ROOT, check=True,
                       env={**os.environ, "CARGO_TARGET_DIR": TARGET})
    srv, samples, report, fills, joins, lost, alive, load_err = asyncio.run(run(a))
    with open(srv.log_path) as f:
        server_log = f.read()
    text, ok = render(a, samples, report, fills, joins, lost, alive, server_log)
    print(text)
    os.makedirs(RESULTS, exist_ok=True)
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d-%H%M") + (f"-{a.tag}" if a.tag else "")
    with open(os.path.join(RESULTS, f"soak-{stamp}.txt"), "w") as f:
        f.write(text)
    with open(os.path.join(RESULTS, f"soak-{stamp}.json"), "w") as f:
        json.dump({"samples": samples, "fills": fills, "joins_ms": joins, "outcomes": outcomes}, f, indent=1)
    log(f"written bench/results/soak-{stamp}.txt; server data and log in {srv.data}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
