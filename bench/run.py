#!/usr/bin/env python3
"""Benchmark scenarios for Plenary side by side with the Yjs reference servers.

One command per scenario (see BENCHMARKS.md):
  bench/run.py fanout   # (a) 1 document, 200/500/1 000 clients, 20/50/100 typists at 5 updates/s
  bench/run.py rooms    # (b) 500 documents x 4 clients
  bench/run.py cold     # (c) first sync of a document with 100 000 logged updates after a restart
  bench/run.py replay   # (d) materialise 100 random points of that history (GET /api/docs/{doc}/state?seq=N)
  bench/run.py idle     # 1 000 documents, one idle client each: server RSS per 1 000 documents
  bench/run.py writer   # one writer: accepted updates/s at 3 000, 30 000, 100 000 log entries, Plenary and y-websocket
  bench/run.py crafted  # crafted worst-case 4 MiB update frames: time until the server has checked each
  bench/run.py refusal  # round trip of a refused edit (permission-denied, compensation) vs an accepted one
  bench/run.py fsync    # this disk's write + fdatasync latency, the floor under "logged before broadcast"
  bench/run.py plot     # redraw every scenario's plot (bench/*.png) from the JSON in bench/results

Reference servers are installed with npm into a temporary directory at run time;
nothing of theirs is committed. Results go to bench/results/<scenario>.json and
a Markdown table on stdout; fanout, rooms, nodes, joinstorm, cold, replay, idle and fsync
also draw a plot from that JSON (bench/plots.py): bench/fanout-latency.png, bench/rooms.png,
bench/nodes.png, bench/joinstorm.png, bench/cold.png, bench/replay.png, bench/idle.png, bench/fsync.png.
`cold`, `replay`, `crafted` and `refusal` run Plenary only (the references keep nothing
across a restart, and check nothing);
`--redis` runs them on a redis-server of their own (temporary, AOF on, free port).
"""
import argparse, json, os, random, re, shutil, socket, statistics, subprocess, sys, tempfile, time
import urllib.error, urllib.request

sys.dont_write_bytecode = True  # no bench/__pycache__ from importing plots
import plots

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR", "/work/target-bench")
PLENARY = os.environ.get("PLENARY_BIN", os.path.join(TARGET, "release", "plenary"))
BASELINE = os.environ.get("BASELINE_BIN", os.path.join(TARGET, "release", "bench-baseline"))
# BENCH_RESULTS: write the JSON (and the plots) elsewhere, e.g. for a smoke run that must not replace the committed results.
RESULTS = os.environ.get("BENCH_RESULTS", os.path.join(ROOT, "bench", "results"))
PLOT_DIR = RESULTS if os.environ.get("BENCH_RESULTS") else os.path.join(ROOT, "bench")  # where the PNGs go (plots.PLOTS)
PLOT = os.path.join(PLOT_DIR, "fanout-latency.png")
COLD_DOC = "cold-0"  # `plenary bench --mode fill --doc-prefix cold` writes this document
SECRET = "bench-secret-bench-secret-bench-secret-0123456789"
NPM_PACKAGES = ["y-websocket-server-ref@npm:y-websocket@1.5.4", "@hocuspocus/server@3", "yjs@13", "ws@8"]
SERVERS = ["plenary", "y-websocket", "hocuspocus", "baseline"]

# Limit flags of `plenary serve` per scenario (BENCHMARKS.md, "Limits in the benchmarks"). A benchmark measures the
# server's ceiling, not an operator's policy: where a scenario would run into a per-connection or per-address limit
# that exists to stop abuse, it raises that limit explicitly here; every other limit keeps its default.
# - one connection sending faster than the default 50 updates/s (writer, fill, refusal, crafted's floor):
RATE_LIMITS = ["--update-rate", "1000000", "--update-burst", "1000000", "--presence-rate", "1000000", "--presence-burst", "1000000"]
# - more than the default 1 000 connections from one address (every client of the generator is 127.0.0.1):
ADDRESS_LIMITS = ["--max-connections-per-address", "100000"]
# - a 100 000-update fill types ~800 000 characters into 12 paragraphs, past the default 20 000 per paragraph:
FILL_LIMITS = RATE_LIMITS + ADDRESS_LIMITS + ["--max-paragraph-chars", "10000000"]
SCENARIO_LIMITS = {
    "fanout": [],  # 5 updates/s per typist, at most 500 clients: the defaults hold (see load_limits for bigger points)
    "rooms": ADDRESS_LIMITS,  # 2 000 sockets from 127.0.0.1
    "idle": ADDRESS_LIMITS,  # 1 000 sockets + 10 probes from 127.0.0.1
    "cold": [],  # the fill (filled()) runs with FILL_LIMITS; the restarted server, timed, with the defaults
    "replay": [],  # HTTP requests one at a time on a filled document: the defaults hold
    "writer": FILL_LIMITS,
    "crafted": RATE_LIMITS + ADDRESS_LIMITS,  # size caps stay at their defaults: they are part of what is measured
    "refusal": RATE_LIMITS + ADDRESS_LIMITS,
    "joinstorm": [],  # 200 joins from one address: under the per-address default
    "nodes": [],  # at most 500 clients over one or two nodes: the defaults hold
}


def load_limits(scenario, clients):
    """A load point with more clients than the per-address default also needs ADDRESS_LIMITS."""
    limits = list(SCENARIO_LIMITS[scenario])
    if clients + 16 > 1000 and ADDRESS_LIMITS[0] not in limits:
        limits += ADDRESS_LIMITS
    return limits


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


def build():
    if not os.environ.get("PLENARY_BIN"):
        subprocess.run(["cargo", "build", "--release", "-p", "plenary-server", "-p", "plenary-bench"],
                       cwd=ROOT, check=True, env={**os.environ, "CARGO_TARGET_DIR": TARGET})


def npm_install(workdir):
    subprocess.run(["npm", "init", "-y"], cwd=workdir, check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--silent", *NPM_PACKAGES], cwd=workdir, check=True)
    shutil.copy(os.path.join(ROOT, "bench", "hocuspocus-server.js"), workdir)


class Server:
    """A server under test: started fresh for every measurement."""

    def __init__(self, kind, workdir, data_dir=None, redis=None, limits=()):
        self.kind, self.workdir, self.redis, self.limits = kind, workdir, redis, list(limits)
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="plenary-bench-data-")
        self.env = {**os.environ, "PLENARY_JWT_SECRET": SECRET, "PLENARY_LOG": "warn"}
        self.token = None
        self.protocol = {"hocuspocus": "hocuspocus", "baseline": "relay"}.get(kind, "yws")

    def start(self, node_id=None):
        if self.kind == "plenary":
            cmd = [PLENARY, "serve", "--dev", "--port", "0", "--data-dir", self.data_dir]
            if self.redis:
                cmd += ["--redis", self.redis]
            if node_id:
                cmd += ["--node-id", node_id]
            cmd += self.limits
            print("$", " ".join(cmd), flush=True)
            self.proc = subprocess.Popen(cmd, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            port = self._read_port()
            self.url = f"ws://127.0.0.1:{port}/sync"
            self.http = f"http://127.0.0.1:{port}"
            self.token = subprocess.run([PLENARY, "token", "--role", "chair", "--name", "bench", "--data-dir", self.data_dir],
                                        env=self.env, check=True, capture_output=True, text=True).stdout.strip()
        elif self.kind == "baseline":
            self.proc = subprocess.Popen([BASELINE, "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            self.url = f"ws://127.0.0.1:{self._read_port()}/sync"
        else:
            port = free_port()
            script = "node_modules/y-websocket-server-ref/bin/server.js" if self.kind == "y-websocket" else "hocuspocus-server.js"
            env = {**os.environ, "HOST": "127.0.0.1", "PORT": str(port), "NODE_ENV": "production"}
            self.proc = subprocess.Popen(["node", script], cwd=self.workdir, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            wait_port(port)
            self.url = f"ws://127.0.0.1:{port}" + ("/sync" if self.kind == "y-websocket" else "")
        return self

    def mint(self, role, delegation=None, name="bench sender"):
        """A token for another participant, from the same secret."""
        cmd = [PLENARY, "token", "--role", role, "--name", name, "--data-dir", self.data_dir]
        if delegation:
            cmd += ["--delegation", delegation]
        return subprocess.run(cmd, env=self.env, check=True, capture_output=True, text=True).stdout.strip()

    def _read_port(self):
        deadline = time.time() + 60
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            m = re.search(r"listening on http://[\d.]+:(\d+)", line or "")
            if m:
                return int(m.group(1))
            if not line and self.proc.poll() is not None:
                break
        raise RuntimeError(f"{self.kind} did not start")

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


class Redis:
    """A redis-server of our own: free port, temporary directory, append-only file on."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="plenary-bench-redis-")
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.dir,
                                      "--appendonly", "yes", "--save", ""], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


def bench_cmd(server, out_json, *extra):
    cmd = [PLENARY, "bench", "--url", server.url, "--protocol", server.protocol, "--pid", str(server.proc.pid),
           "--label", server.kind, "--json", out_json, *map(str, extra)]
    if server.token:
        cmd += ["--token", server.token]
    secrets = {server.token: "$TOKEN", getattr(server, "sender_token", None): "$SENDER_TOKEN"}
    print("$", " ".join(secrets.get(c, c) if c else c for c in cmd), flush=True)
    return cmd


def bench(server, out_json, *extra):
    subprocess.run(bench_cmd(server, out_json, *extra), check=True)
    with open(out_json) as f:
        return json.load(f)


def load_table(rows):
    head = "| server | clients | typists | docs | sent | deliveries/s | delivered | p50 ms | p95 ms | p99 ms | max ms | conn err | RSS MB | CPU % |"
    lines = [head, "|" + "---|" * head.count("|")[:-1] if False else "|" + "|".join(["---"] * 14) + "|"]
    for r in rows:
        s = r.get("server") or {}
        l = r["latency"]
        err = r["connect_errors"] + r["unsynced"] + r["dropped"]
        lines.append(f"| {r['label']} | {r['clients']} | {r['typists']} | {r['docs']} | {r['updates_sent']} | {r['deliveries_per_s']:.0f} | "
                     f"{r['delivery_ratio']*100:.1f} % | {l['p50_ms']:.2f} | {l['p95_ms']:.2f} | {l['p99_ms']:.2f} | {l['max_ms']:.1f} | {err} | "
                     f"{s.get('peak_rss_mb', 0):.0f} | {s.get('cpu_percent', 0):.0f} |")
    return "\n".join(lines)


def ratio_table(rows):
    """Plenary against each other server, per point: deliveries/s ratio and p99 ratio."""
    out = ["| clients/typists | vs | deliveries/s ratio (Plenary/other) | p99 ratio (Plenary/other) |", "|---|---|---|---|"]
    points = sorted({(r["clients"], r["typists"], r["docs"]) for r in rows})
    for p in points:
        at = {r["label"]: r for r in rows if (r["clients"], r["typists"], r["docs"]) == p}
        me = at.get("plenary")
        if not me:
            continue
        for other in SERVERS[1:]:
            o = at.get(other)
            if not o:
                continue
            dr = me["deliveries_per_s"] / o["deliveries_per_s"] if o["deliveries_per_s"] else float("nan")
            lr = me["latency"]["p99_ms"] / o["latency"]["p99_ms"] if o["latency"]["p99_ms"] else float("nan")
            out.append(f"| {p[0]}/{p[1]} ({p[2]} docs) | {other} | {dr:.2f} | {lr:.2f} |")
    return "\n".join(out)


def plot(rows, path=PLOT):
    """The fanout plot: latency percentiles against clients, per server (bench/fanout-latency.png)."""
    plots.fanout(rows, path)


def draw_plot(scenario):
    """A scenario's plot, from the JSON it has just written (bench/plots.py; a failure there costs no results)."""
    plots.draw(scenario, RESULTS, PLOT_DIR)


def scenario_load(name, points, servers, duration, workdir):
    rows = []
    for clients, typists, docs, rate in points:
        for kind in servers:
            srv = Server(kind, workdir, limits=load_limits(name, clients)).start()
            try:
                time.sleep(1)
                out = os.path.join(RESULTS, f"{name}-{kind}-{docs}x{clients}-{typists}.json")
                r = bench(srv, out, "--docs", docs, "--clients", clients, "--typists", typists, "--rate", rate, "--duration", duration)
                rows.append(r)
            except subprocess.CalledProcessError as e:
                print(f"!! {kind} {clients}/{typists}: {e}", flush=True)
            finally:
                srv.stop()
            time.sleep(1)
    with open(os.path.join(RESULTS, f"{name}.json"), "w") as f:
        json.dump(rows, f, indent=1)
    print()
    print(load_table(rows))
    print()
    print(ratio_table(rows))
    return rows


def api_get(server, path, patience=600):
    """GET with the server's token; a 503 with Retry-After (history still being prepared) is waited out."""
    req = urllib.request.Request(server.http + path, headers={"Authorization": f"Bearer {server.token}"})
    deadline = time.time() + patience
    while True:
        try:
            with urllib.request.urlopen(req, timeout=120) as r:
                return r.read()
        except urllib.error.HTTPError as e:
            wait = e.headers.get("Retry-After")
            if e.code != 503 or wait is None or time.time() > deadline:
                raise
            time.sleep(min(float(wait), 1.0))


def logged_seq(server, doc):
    """The document's last log position, 0 if it does not exist."""
    for d in json.loads(api_get(server, "/api/docs")):
        if d["name"] == doc:
            return d["seq"]
    return 0


def filled(workdir, data, store, updates, redis):
    """Fills COLD_DOC with `updates` updates unless a previous run already did (same data dir)."""
    srv = Server("plenary", workdir, data_dir=data, redis=redis, limits=FILL_LIMITS).start()
    try:
        have = logged_seq(srv, COLD_DOC)
        if have >= updates:
            print(f"{COLD_DOC} already holds {have} log entries in {data}: not refilled", flush=True)
            return None
        return bench(srv, os.path.join(RESULTS, f"cold-fill-{store}.json"), "--mode", "fill", "--updates", updates, "--doc-prefix", "cold")
    finally:
        srv.stop()


def scenario_cold(workdir, updates, data, redis):
    store = "redis" if redis else "embedded"
    fill = filled(workdir, data, store, updates, redis)
    srv = Server("plenary", workdir, data_dir=data, redis=redis, limits=SCENARIO_LIMITS["cold"]).start()
    try:
        time.sleep(1)
        rss_before = rss_mb(srv.proc.pid)
        first = bench(srv, os.path.join(RESULTS, f"cold-first-sync-{store}.json"), "--mode", "first-sync", "--repeat", 3,
                      "--doc-prefix", "cold")
        # The document stays loaded (no client, until the idle timeout): what it costs resident.
        time.sleep(1)
        rss_loaded = rss_mb(srv.proc.pid)
        seq = logged_seq(srv, COLD_DOC)
    finally:
        srv.stop()
    state_mb = first["step2_bytes"] / (1024 * 1024)
    row = {"store": store, "log_entries": seq, "first_sync_ms": first["first_sync_ms"], "step2_bytes": first["step2_bytes"],
           "synced_with_state_ms": first.get("synced_with_state_ms"), "rss_before_mb": rss_before, "rss_loaded_mb": rss_loaded,
           "loaded_over_encoded": (rss_loaded - rss_before) / state_mb if state_mb else None,
           "fill_updates": fill and fill["updates"], "fill_updates_per_s": fill and fill["updates_per_s"]}
    with open(os.path.join(RESULTS, f"cold-{store}.json"), "w") as f:
        json.dump(row, f, indent=1)
    fill_txt = f"fill {fill['updates']} updates at {fill['updates_per_s']:.0f}/s; " if fill else ""
    print(f"\n{store}: {fill_txt}{seq} log entries; first sync after restart (ms, cold then warm): "
          f"{', '.join(f'{m:.1f}' for m in first['first_sync_ms'])}; state {first['step2_bytes']} bytes; "
          f"one more client that decodes and applies it: {first.get('synced_with_state_ms') or 0:.1f} ms\n"
          f"server RSS {rss_before:.1f} MB before, {rss_loaded:.1f} MB with the document loaded: "
          f"{rss_loaded - rss_before:.1f} MB for {state_mb:.2f} MB encoded ({row['loaded_over_encoded']:.1f}x)")


def quantiles(ms):
    t = sorted(ms)
    at = lambda q: t[round((len(t) - 1) * q)]
    return {"n": len(t), "p50_ms": at(0.5), "p90_ms": at(0.9), "p99_ms": at(0.99), "max_ms": t[-1]}


def scenario_joinstorm(workdir, updates, data, redis, clients):
    """`clients` connect at once to COLD_DOC (`updates` logged updates): right after a restart
    (cold: the first join loads the document, the others wait for it) and again (warm)."""
    store = "redis" if redis else "embedded"
    filled(workdir, data, store, updates, redis)
    srv = Server("plenary", workdir, data_dir=data, redis=redis, limits=SCENARIO_LIMITS["joinstorm"]).start()
    rows = {}
    try:
        for phase in ("cold", "warm"):
            r = bench(srv, os.path.join(RESULTS, f"joinstorm-{store}-{phase}.json"), "--mode", "join-storm",
                      "--clients", clients, "--connect-parallelism", clients, "--doc-prefix", "cold")
            rows[phase] = {**quantiles(r["first_sync_ms"]), "step2_bytes": r["step2_bytes"],
                           "synced_with_state_ms": r.get("synced_with_state_ms"), "server": r.get("server")}
        seq = logged_seq(srv, COLD_DOC)
    finally:
        srv.stop()
    with open(os.path.join(RESULTS, f"joinstorm-{store}.json"), "w") as f:
        json.dump({"store": store, "log_entries": seq, "clients": clients, **rows}, f, indent=1)
    print(f"\n{store}: {clients} clients join a document of {seq} log entries at once "
          f"(state {rows['cold']['step2_bytes']} bytes); time until the whole state has arrived, and for one more client "
          f"that also decodes and applies it\n\n| phase | p50 ms | p90 ms | p99 ms | max ms | one client with apply, ms |\n"
          f"|---|---|---|---|---|---|")
    for phase, q in rows.items():
        print(f"| {phase} | {q['p50_ms']:.1f} | {q['p90_ms']:.1f} | {q['p99_ms']:.1f} | {q['max_ms']:.1f} | "
              f"{q['synced_with_state_ms'] or 0:.1f} |")


def rss_mb(pid):
    """A process's resident memory now, in MB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def redis_clients(port):
    """Clients connected to the redis-server on `port` (the asking one not counted)."""
    out = subprocess.run(["redis-cli", "-p", str(port), "INFO", "clients"], capture_output=True, text=True).stdout
    m = re.search(r"connected_clients:(\d+)", out)
    return int(m.group(1)) - 1 if m else None


def scenario_fsync(samples):
    """Append 4 KiB and fdatasync, `samples` times, in a temporary directory (where the servers keep their data):
    what one durable commit costs on this disk, whatever the server."""
    d = tempfile.mkdtemp(prefix="plenary-bench-fsync-")
    try:
        fd = os.open(os.path.join(d, "log"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        block, ms = os.urandom(4096), []
        for _ in range(samples):
            t = time.perf_counter()
            os.write(fd, block)
            os.fdatasync(fd)
            ms.append((time.perf_counter() - t) * 1000)
        os.close(fd)
    finally:
        shutil.rmtree(d, ignore_errors=True)
    q = {**quantiles(ms), "mean_ms": statistics.mean(ms), "dir": tempfile.gettempdir(),
         "samples_ms": [round(m, 6) for m in ms]}  # every commit, in order: fsync.png's histogram
    with open(os.path.join(RESULTS, "fsync.json"), "w") as f:
        json.dump(q, f, indent=1)
    print(f"\nwrite 4 KiB + fdatasync in {q['dir']}, {samples} times\n\n| p50 ms | p90 ms | p99 ms | max ms | mean ms |\n"
          f"|---|---|---|---|---|\n| {q['p50_ms']:.2f} | {q['p90_ms']:.2f} | {q['p99_ms']:.2f} | {q['max_ms']:.2f} | {q['mean_ms']:.2f} |")


def cpu_seconds(pid):
    """User + system CPU seconds of process `pid` so far (Linux /proc)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def scenario_nodes(workdir, clients, typists, duration):
    """The same load on one Plenary node and on two nodes sharing one Redis (clients split
    round-robin, typists on both): deliveries, latency across nodes, and Redis's CPU."""
    rows = []
    for n in (1, 2):
        redis = Redis()
        nodes = []
        try:
            for i in range(n):
                nodes.append(Server("plenary", workdir, redis=redis.url, limits=SCENARIO_LIMITS["nodes"]).start(f"node-{i + 1}"))
            time.sleep(1)
            first = nodes[0]
            first.url = ",".join(s.url for s in nodes)
            cpu0, t0 = cpu_seconds(redis.proc.pid), time.time()
            r = bench(first, os.path.join(RESULTS, f"nodes-{n}.json"), "--clients", clients, "--typists", typists,
                      "--rate", 5, "--duration", duration)
            redis_cpu = 100 * (cpu_seconds(redis.proc.pid) - cpu0) / (time.time() - t0)
            rows.append({"nodes": n, "redis_cpu_percent": redis_cpu, **r})
        finally:
            for s in nodes:
                s.stop()
            redis.stop()
        time.sleep(1)
    with open(os.path.join(RESULTS, "nodes.json"), "w") as f:
        json.dump(rows, f, indent=1)
    print(f"\n{clients} clients, {typists} typists, one document, Plenary on one Redis\n")
    print("| nodes | deliveries/s | delivered | p50 ms | p99 ms | max ms | Redis CPU % |\n|---|---|---|---|---|---|---|")
    for r in rows:
        l = r["latency"]
        print(f"| {r['nodes']} | {r['deliveries_per_s']:.0f} | {r['delivery_ratio'] * 100:.1f} % | {l['p50_ms']:.2f} | "
              f"{l['p99_ms']:.2f} | {l['max_ms']:.1f} | {r['redis_cpu_percent']:.0f} |")
    one, two = rows[0], rows[1]
    print(f"\ntwo nodes against one: deliveries/s {two['deliveries_per_s'] / one['deliveries_per_s']:.2f}, "
          f"p99 {two['latency']['p99_ms'] / one['latency']['p99_ms']:.2f}")


def scenario_replay(workdir, updates, data, redis, points):
    """Materialises `points` random points of COLD_DOC's history through the HTTP API, one request at a time."""
    store = "redis" if redis else "embedded"
    filled(workdir, data, store, updates, redis)
    srv = Server("plenary", workdir, data_dir=data, redis=redis, limits=SCENARIO_LIMITS["replay"]).start()
    try:
        last = logged_seq(srv, COLD_DOC)
        # A log that outgrew its checkpoints (a fill of 100 000 at full speed) is indexed in the background after a
        # restart; until then the API answers 503 + Retry-After. Wait for it, untimed, and say how long it took.
        t = time.perf_counter()
        api_get(srv, f"/api/docs/{COLD_DOC}/state?seq={last}")
        prepared_s = time.perf_counter() - t
        print(f"history ready after {prepared_s:.1f} s", flush=True)
        rng = random.Random(8)
        seqs = [rng.randint(1, last) for _ in range(points)]
        times = []
        for n in seqs:
            t = time.perf_counter()
            body = api_get(srv, f"/api/docs/{COLD_DOC}/state?seq={n}")
            times.append((time.perf_counter() - t) * 1000)
            if json.loads(body)["seq"] != n:
                raise RuntimeError(f"asked for seq {n}, got {json.loads(body)['seq']}")
    finally:
        srv.stop()
    ordered = sorted(times)
    pct = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]
    row = {"store": store, "log_entries": last, "points": points, "prepared_s": prepared_s, "first_ms": times[0],
           "mean_ms": statistics.mean(times),
           "p50_ms": pct(0.5), "p99_ms": pct(0.99), "max_ms": ordered[-1], "seqs": seqs, "times_ms": times}
    with open(os.path.join(RESULTS, f"replay-{store}.json"), "w") as f:
        json.dump(row, f, indent=1)
    print(f"\n{store}: {points} random points of {last} entries: first {times[0]:.1f} ms, mean {row['mean_ms']:.1f}, "
          f"p50 {row['p50_ms']:.1f}, p99 {row['p99_ms']:.1f}, max {row['max_ms']:.1f} ms")


def scenario_idle(workdir, servers, docs, redis=None, quiet=65):
    """With `redis` (a Redis()), Plenary runs on it, and the Redis connections it holds with every document loaded
    are counted."""
    rows = []
    for kind in servers:
        on_redis = redis if kind == "plenary" else None
        srv = Server(kind, workdir, redis=on_redis and on_redis.url, limits=load_limits("idle", docs)).start()
        try:
            time.sleep(2)
            row = bench(srv, os.path.join(RESULTS, f"idle-{kind}-{docs}{'-redis' if on_redis else ''}.json"),
                        "--mode", "idle", "--docs", docs, "--quiet-secs", quiet)
            if on_redis:
                row["redis_connections_loaded"] = redis_clients(on_redis.port)
                print(f"{kind} on Redis with {docs} documents loaded: {row['redis_connections_loaded']} Redis connections",
                      flush=True)
            rows.append(row)
        except subprocess.CalledProcessError as e:
            print(f"!! {kind} idle: {e}", flush=True)
        finally:
            srv.stop()
        time.sleep(1)
    with open(os.path.join(RESULTS, "idle-redis.json" if redis else "idle.json"), "w") as f:
        json.dump(rows, f, indent=1)
    print(f"\n| server | docs (connected) | seed kept | RSS empty MB | RSS loaded MB | MB per 1 000 docs | "
          f"RSS after {quiet} s quiet MB | MB per 1 000 docs quiet |\n|---|---|---|---|---|---|---|---|")
    for r in rows:
        q = r.get("mb_per_1000_docs_quiet")
        print(f"| {r['label']} | {r['docs']} ({r['clients']}) | {r['seeded']}/{r['checked']} | {r['rss_empty_mb']:.1f} | "
              f"{r['rss_loaded_mb']:.1f} | {r['mb_per_1000_docs']:.1f} | {r.get('rss_quiet_mb') or 0:.1f} | "
              f"{q if q is None else round(q, 1)} |")


PERF_EVENTS = ["-e", "cpu-clock", "-F", "999", "--call-graph", "dwarf,16384"]


PROFILE_KEEP = re.compile(r"plenary_|yrs::|redb::|tungstenite|memmove|memcpy|malloc|_int_free|fdatasync|fsync|read_runs|resolution|"
                          r"text_runs|resolve_all|touches|place_|climb|format|join|drop_in_place|fmt")
PROFILE_SKIP = re.compile(r"\] (call_once|catch_unwind|do_call|poll|poll_future|poll_inner|with_mut|__rust_begin|run<|set<|enter|budget)")


def perf_report(data, out_txt):
    """Inclusive (children) and self time by symbol: the project's, yrs's, the store's and libc's copies."""
    with open(out_txt, "w") as out:
        for title, flags in (("inclusive (children)", ["--children"]), ("self", ["--no-children"])):
            r = subprocess.run(["perf", "report", "-i", data, "--stdio", "--sort", "symbol", "-g", "none",
                                "--percent-limit", "0.5", *flags], capture_output=True, text=True)
            lines = [l.rstrip()[:200] for l in r.stdout.splitlines()
                     if l.strip() and not l.startswith("#") and PROFILE_KEEP.search(l) and not PROFILE_SKIP.search(l)]
            out.write(f"## {title}\n" + "\n".join(lines[:40]) + "\n\n")
    print(f"profile: {out_txt}", flush=True)


def scenario_writer(workdir, servers, checkpoints, window, profile):
    """One writer, one observer, one document per server; rate over `window` updates at each checkpoint.
    With `profile`, Plenary only, under `perf record` in each window: the rates of that run are slowed by the
    profiler and are written to writer-profiled.json, not writer.json."""
    if profile:
        servers = ["plenary"]
    rows = []
    for kind in servers:
        srv = Server(kind, workdir, limits=SCENARIO_LIMITS["writer"]).start()
        try:
            time.sleep(1)
            out = os.path.join(RESULTS, f"writer-{kind}{'-profiled' if profile else ''}.json")
            cmd = bench_cmd(srv, out, "--mode", "writer", "--checkpoints", checkpoints, "--window", window)
            perf, profiles = None, []
            gen = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
            for line in gen.stderr:
                sys.stderr.write(line)
                m = re.search(r"measuring at (\d+) entries", line)
                if m and profile and kind == "plenary":
                    data = os.path.join(tempfile.gettempdir(), f"plenary-writer-{m.group(1)}.perf")
                    perf = (subprocess.Popen(["perf", "record", *PERF_EVENTS, "-p", str(srv.proc.pid), "-o", data],
                                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL), data, m.group(1))
                elif "measured at" in line and perf:
                    perf[0].send_signal(2)
                    perf[0].wait()
                    profiles.append(perf[1:])
                    perf = None
            if gen.wait() != 0:
                raise subprocess.CalledProcessError(gen.returncode, cmd)
            # Reports only now: `perf report` takes seconds, and the next window must not wait for it.
            for data, at in profiles:
                perf_report(data, os.path.join(RESULTS, f"writer-profile-{at}.txt"))
            with open(out) as f:
                rows.append(json.load(f))
        except subprocess.CalledProcessError as e:
            print(f"!! {kind} writer: {e}", flush=True)
        finally:
            srv.stop()
        time.sleep(1)
    with open(os.path.join(RESULTS, "writer-profiled.json" if profile else "writer.json"), "w") as f:
        json.dump(rows, f, indent=1)
    by = {r["label"]: {w["at_entries"]: w for w in r["windows"]} for r in rows}
    sizes = sorted({n for r in by.values() for n in r})
    print("\n| log entries | " + " | ".join(f"{k} updates/s (server CPU %)" for k in by) +
          (" | Plenary / y-websocket |" if "plenary" in by and "y-websocket" in by else " |"))
    print("|---" * (len(by) + 1 + ("plenary" in by and "y-websocket" in by)) + "|")
    for n in sizes:
        cells = []
        for k in by:
            w = by[k].get(n)
            cells.append(f"{w['median_updates_per_s']:.0f} ({w['server_cpu_percent'] or 0:.0f})" if w else "-")
        ratio = ""
        if "plenary" in by and "y-websocket" in by and n in by["plenary"] and n in by["y-websocket"]:
            ratio = f" | {by['plenary'][n]['median_updates_per_s'] / by['y-websocket'][n]['median_updates_per_s']:.2f}"
        print(f"| {n} | " + " | ".join(cells) + ratio + " |")
    for k, ws in by.items():
        rates = [w["median_updates_per_s"] for w in ws.values()]
        if rates:
            print(f"{k}: slowest / fastest size = {min(rates) / max(rates):.2f}")


def scenario_crafted(workdir, kinds, sizes, timeout, samples, profile):
    """Each kind of crafted frame against a fresh Plenary (a frame that hangs a room cannot skew the next).
    With `profile`, the server runs under `perf record` (bench/results/crafted-profile-<kind>.txt) and the
    figures go to crafted-profiled.json."""
    result = {"tiny": None, "frames": []}
    for kind in kinds:
        srv = Server("plenary", workdir, limits=SCENARIO_LIMITS["crafted"]).start()
        perf = None
        try:
            srv.sender_token = srv.mint("delegate", "JPN", "Delegate of Japan")
            out = os.path.join(tempfile.gettempdir(), f"plenary-crafted-{kind}.json")  # all kinds go to crafted.json
            if profile:
                data = os.path.join(tempfile.gettempdir(), f"plenary-crafted-{kind}.perf")
                perf = subprocess.Popen(["perf", "record", *PERF_EVENTS, "-p", str(srv.proc.pid), "-o", data],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                time.sleep(1)
            r = bench(srv, out, "--mode", "crafted", "--sender-token", srv.sender_token, "--kinds", kind,
                      "--sizes", sizes, "--frame-timeout", timeout, "--samples", samples)
            result["tiny"] = result["tiny"] or r["tiny"]
            result["frames"] += r["frames"]
        except subprocess.CalledProcessError as e:
            print(f"!! crafted {kind}: {e}", flush=True)
        finally:
            if perf:
                perf.send_signal(2)
                perf.wait()
            srv.stop()
        if perf:
            perf_report(data, os.path.join(RESULTS, f"crafted-profile-{kind}.txt"))
    with open(os.path.join(RESULTS, "crafted-profiled.json" if profile else "crafted.json"), "w") as f:
        json.dump(result, f, indent=1)
    t = result["tiny"] or {}
    print(f"\ntiny edit + query round trip: p50 {t.get('p50_ms', 0):.2f} ms, p99 {t.get('p99_ms', 0):.2f} ms\n")
    print("| frame | bytes | structs / ranges | outcome | check ms | × tiny p50 | denial reason bytes | server RSS MB before → after |")
    print("|---|---|---|---|---|---|---|---|")
    for fr in result["frames"]:
        ms = fr["check_ms"]
        x = f"{ms / t['p50_ms']:.0f}" if ms and t.get("p50_ms") else "-"
        rss = (f"{fr['server_rss_before_mb']:.0f} → {fr['server_rss_after_mb']:.0f}"
               if fr.get("server_rss_before_mb") and fr.get("server_rss_after_mb") else "-")
        outcome = fr["outcome"][:60]
        print(f"| {fr['kind']} | {fr['frame_bytes']} | {fr['parts']} | {outcome} | "
              f"{f'{ms:.1f}' if ms is not None else '> ' + str(timeout) + ' s'} | {x} | {fr.get('reason_bytes') or '-'} | {rss} |")


def scenario_refusal(workdir, samples, same_client):
    srv = Server("plenary", workdir, limits=SCENARIO_LIMITS["refusal"]).start()
    try:
        srv.sender_token = srv.mint("delegate", "JPN", "Delegate of Japan")
        extra = ["--same-client"] if same_client else []
        r = bench(srv, os.path.join(RESULTS, "refusal.json"), "--mode", "refusal", "--sender-token", srv.sender_token,
                  "--samples", samples, *extra)
    finally:
        srv.stop()
    print("\n| round trip | n | p50 ms | p90 ms | p99 ms | max ms |\n|---|---|---|---|---|---|")
    for key, what in (("accepted_echo", "accepted edit → echo at another client"),
                      ("accepted_ack", "accepted edit → own sync step 2 (durable)"),
                      ("refused_denied", "refused edit → permission-denied"),
                      ("refused_compensated", "refused edit → compensating update")):
        x = r[key]
        if x["n"]:
            print(f"| {what} | {x['n']} | {x['p50_ms']:.2f} | {x['p90_ms']:.2f} | {x['p99_ms']:.2f} | {x['max_ms']:.2f} |")
        else:
            print(f"| {what} | 0 | none | | | |")
    print(f"\nrefused without denial {r['refused_without_denial']}, without compensation {r['refused_without_compensation']}, "
          f"accepted lost {r['accepted_lost']}, leaked frames {r['leaked_frames']}; denials by rule: "
          + ", ".join(f"{k} × {v}" for k, v in r.get("denial_rules", {}).items()))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("scenario", choices=["fanout", "rooms", "cold", "replay", "idle", "writer", "crafted", "refusal",
                                         "joinstorm", "nodes", "fsync", "plot"])
    ap.add_argument("--duration", type=float, default=15)
    ap.add_argument("--servers", default=",".join(SERVERS))
    ap.add_argument("--points", default="200:20,500:50,1000:100", help="fanout: clients:typists,…")
    ap.add_argument("--updates", type=int, default=100_000, help="cold/replay: log entries to fill")
    ap.add_argument("--docs", type=int, help="rooms: documents (default 500, 4 clients each); idle: documents (default 1000)")
    ap.add_argument("--redis", action="store_true", help="cold/replay/joinstorm/idle: Plenary on a redis-server of our own")
    ap.add_argument("--clients", type=int, help="joinstorm: clients joining at once (default 200); nodes: clients (default 500)")
    ap.add_argument("--typists", type=int, default=50, help="nodes: typists")
    ap.add_argument("--data-dir", help="cold/replay: keep the filled data here and reuse it on the next run")
    ap.add_argument("--quiet", type=int, default=65,
                    help="idle: read memory again after the documents have been quiet this long (Plenary drops a quiet "
                         "document's effect index after 60 s, --index-quiet-secs)")
    ap.add_argument("--replay-points", type=int, default=100, help="replay: points of history")
    ap.add_argument("--checkpoints", default="3000,30000,100000", help="writer: log sizes to measure at")
    ap.add_argument("--window", type=int, help="writer: updates per measurement (default 3000; 10000 with --profile)")
    ap.add_argument("--profile", action="store_true",
                    help="writer: perf-record Plenary during each window (bench/results/writer-profile-N.txt); "
                         "crafted: during each kind (bench/results/crafted-profile-KIND.txt)")
    ap.add_argument("--kinds", default="unknown,text-append,text-reverse,deep-maps,deletes,paste", help="crafted: frames")
    ap.add_argument("--sizes", default="262144,1048576,4194304", help="crafted: frame sizes in bytes, ascending")
    ap.add_argument("--frame-timeout", type=float, default=60, help="crafted: seconds to wait for one frame")
    ap.add_argument("--samples", type=int, help="crafted: tiny round trips (default 50); refusal: edits of each kind (default 200); "
                                                      "fsync: commits (default 500)")
    ap.add_argument("--same-client", action="store_true", help="refusal: refused edits from the sender's own client id")
    ap.add_argument("--no-build", action="store_true")
    a = ap.parse_args()
    os.makedirs(RESULTS, exist_ok=True)
    if a.scenario == "fsync":
        scenario_fsync(a.samples or 500)
        draw_plot("fsync")
        return
    if a.scenario == "plot":
        sys.exit(0 if plots.draw_all(RESULTS, PLOT_DIR) else 1)
    if not a.no_build:
        build()
    workdir = tempfile.mkdtemp(prefix="plenary-bench-npm-")
    redis = None
    data = a.data_dir or tempfile.mkdtemp(prefix="plenary-bench-cold-")
    try:
        if a.scenario == "writer" and a.servers == ",".join(SERVERS):
            a.servers = "plenary,y-websocket"
        servers = a.servers.split(",") if a.scenario in ("fanout", "rooms", "idle", "writer") else ["plenary"]
        if any(s in ("y-websocket", "hocuspocus") for s in servers):
            npm_install(workdir)
        if a.redis:
            redis = Redis()
        if a.scenario == "fanout":
            pts = [(int(c), int(t), 1, 5) for c, t in (p.split(":") for p in a.points.split(","))]
            rows = scenario_load("fanout", pts, servers, a.duration, workdir)
            plot(rows)
        elif a.scenario == "rooms":
            docs = a.docs or 500
            scenario_load("rooms", [(4 * docs, docs, docs, 2)], servers, a.duration, workdir)
            draw_plot("rooms")
        elif a.scenario == "cold":
            scenario_cold(workdir, a.updates, data, redis and redis.url)
            draw_plot("cold")
        elif a.scenario == "joinstorm":
            scenario_joinstorm(workdir, a.updates, data, redis and redis.url, a.clients or 200)
            draw_plot("joinstorm")
        elif a.scenario == "nodes":
            scenario_nodes(workdir, a.clients or 500, a.typists, a.duration)
            draw_plot("nodes")
        elif a.scenario == "replay":
            scenario_replay(workdir, a.updates, data, redis and redis.url, a.replay_points)
            draw_plot("replay")
        elif a.scenario == "idle":
            scenario_idle(workdir, servers, a.docs or 1000, redis, a.quiet)
            draw_plot("idle")
        elif a.scenario == "writer":
            scenario_writer(workdir, servers, a.checkpoints, a.window or (10000 if a.profile else 3000), a.profile)
        elif a.scenario == "crafted":
            scenario_crafted(workdir, a.kinds.split(","), a.sizes, a.frame_timeout, a.samples or 50, a.profile)
        elif a.scenario == "refusal":
            scenario_refusal(workdir, a.samples or 200, a.same_client)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        if redis:
            redis.stop()
        if not a.data_dir:
            shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
