"""Plots of the benchmark scenarios, drawn from the JSON they write to bench/results/.

Each scenario of bench/run.py draws its own plot at its end; `bench/run.py plot` redraws all of them from the JSON
already there (`draw_all`). A plot whose JSON is missing is skipped with one line. Every plot is a PNG next to
bench/fanout-latency.png (in BENCH_RESULTS instead, when that is set; see run.py):

  fanout-latency.png  fanout.json                            latency percentiles vs clients, per server
  rooms.png           rooms.json                             latency percentiles and deliveries/s, per server
  nodes.png           nodes.json                             p50/p99/max on one node vs two, target 2 × one node's p99
  joinstorm.png       joinstorm-<store>-{cold,warm}.json     time to synced of every client (CDF), target 1 s
  cold.png            cold-<store>.json                      loaded document's RSS vs encoded size (target 5 ×), first syncs
  replay.png          replay-<store>.json                    time per history point vs its position, CDF, target 30 ms
  idle.png            idle.json, idle-redis.json             MB per 1 000 idle documents, per server
  fsync.png           fsync.json                             write 4 KiB + fdatasync latency
"""
import json, math, os, subprocess, sys

SERVERS = ["plenary", "y-websocket", "hocuspocus", "baseline"]
STORES = ["embedded", "redis"]
COLORS = {"plenary": "C0", "y-websocket": "C1", "hocuspocus": "C2", "baseline": "C3", "plenary on Redis": "C4"}
TARGET = dict(color="crimson", linestyle="--", linewidth=1.5)
DPI = 110


class Missing(Exception):
    """The JSON a plot needs is not there: the plot is skipped, not failed."""


def pyplot():
    try:
        import matplotlib
    except ImportError:
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "matplotlib"], check=True)
        import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def load(results, name):
    path = os.path.join(results, name)
    if not os.path.exists(path):
        raise Missing(f"no {name} in {results}")
    with open(path) as f:
        return json.load(f)


def save(fig, path):
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    pyplot().close(fig)
    print(f"plot: {path}", flush=True)


def bar_labels(ax, bars, fmt="{:.1f}", **kw):
    kw.setdefault("bbox", dict(facecolor="white", edgecolor="none", alpha=0.8, pad=0.3))
    kw.setdefault("zorder", 4)  # above target lines, whose dashes the white box then interrupts
    for b in bars:
        h = b.get_height()
        ax.annotate(fmt.format(h), (b.get_x() + b.get_width() / 2, h), xytext=(0, 2), textcoords="offset points",
                    ha="center", va="bottom", fontsize=8, **kw)


def thousands(x):
    return f"{x:,.0f}".replace(",", " ")


# --- (a) fanout -------------------------------------------------------------------------------------------------

def fanout(rows, path):
    """Latency percentiles against clients, one line per server (1 document, 10 % typing at 5/s)."""
    plt = pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(13, 4), sharey=False)
    for ax, pct in zip(axes, ["p50_ms", "p95_ms", "p99_ms"]):
        for label in SERVERS:
            pts = sorted((r["clients"], r["latency"][pct]) for r in rows if r["label"] == label and r["docs"] == 1)
            if pts:
                ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=label)
        ax.set_title(f"{pct[:3]} latency, 1 document, 10 % typing at 5/s")
        ax.set_xlabel("clients")
        ax.set_ylabel("ms")
        ax.set_yscale("log")
        ax.grid(True, alpha=0.3)
    axes[0].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    print(f"plot: {path}", flush=True)


def draw_fanout(results, path):
    fanout(load(results, "fanout.json"), path)


# --- (b) rooms --------------------------------------------------------------------------------------------------

def draw_rooms(results, path):
    rows = load(results, "rooms.json")
    if not rows:
        raise Missing("rooms.json has no rows")
    plt = pyplot()
    labels = [l for l in SERVERS if any(r["label"] == l for r in rows)] + \
             sorted({r["label"] for r in rows} - set(SERVERS))
    by = {r["label"]: r for r in rows}
    r0 = rows[0]
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(13, 4.5), gridspec_kw={"width_ratios": [2, 1]})
    pcts = [("p50_ms", "p50"), ("p95_ms", "p95"), ("p99_ms", "p99"), ("max_ms", "max")]
    w = 0.8 / len(labels)
    for i, label in enumerate(labels):
        vals = [by[label]["latency"][k] for k, _ in pcts]
        bars = ax.bar([j + (i - (len(labels) - 1) / 2) * w for j in range(len(pcts))], vals, w, label=label,
                      color=COLORS.get(label))
        bar_labels(ax, bars, "{:.3g}")
    ax.set_xticks(range(len(pcts)), [n for _, n in pcts])
    ax.set_yscale("log")
    ax.set_ylabel("latency, ms (log scale)")
    ax.set_title(f"Update latency: {r0['docs']} documents × {r0['clients'] // max(r0['docs'], 1)} clients, "
                 f"{r0['typists']} typists at {r0['rate']:g}/s")
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend()
    bars = ax2.bar(labels, [by[l]["deliveries_per_s"] for l in labels], color=[COLORS.get(l) for l in labels])
    for b, l in zip(bars, labels):
        ax2.annotate(f"{thousands(b.get_height())}/s\n{by[l]['delivery_ratio'] * 100:.1f} %", (b.get_x() + b.get_width() / 2, b.get_height()),
                     xytext=(0, 2), textcoords="offset points", ha="center", va="bottom", fontsize=8)
    members = r0["clients"] / max(r0["docs"], 1)
    offered = r0["typists"] * r0["rate"] * (members - 1)
    ax2.axhline(offered, **TARGET, label=f"offered: {thousands(offered)}/s")
    ax2.set_ylim(0, max(offered, max(b.get_height() for b in bars)) * 1.45)
    ax2.set_ylabel("deliveries/s")
    ax2.set_title("Deliveries/s (% of expected delivered)")
    ax2.tick_params(axis="x", labelrotation=15)
    ax2.legend(loc="upper center")
    save(fig, path)


# --- two nodes on one Redis -------------------------------------------------------------------------------------

def draw_nodes(results, path):
    rows = sorted(load(results, "nodes.json"), key=lambda r: r["nodes"])
    if not rows:
        raise Missing("nodes.json has no rows")
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8, 4.8))
    pcts = [("p50_ms", "p50"), ("p99_ms", "p99"), ("max_ms", "max")]
    w = 0.8 / len(pcts)
    for i, (k, name) in enumerate(pcts):
        bars = ax.bar([j + (i - (len(pcts) - 1) / 2) * w for j in range(len(rows))], [r["latency"][k] for r in rows], w,
                      label=name, color=f"C{i}")
        bar_labels(ax, bars)
    ax.set_xticks(range(len(rows)), [
        f"{r['nodes']} node{'s' if r['nodes'] > 1 else ''}\n{thousands(r['deliveries_per_s'])} deliveries/s "
        f"({r['delivery_ratio'] * 100:.1f} %)\nRedis CPU {r.get('redis_cpu_percent') or 0:.0f} %" for r in rows])
    one = next((r for r in rows if r["nodes"] == 1), None)
    if one:
        target = 2 * one["latency"]["p99_ms"]
        ax.axhline(target, **TARGET, label=f"target: p99 ≤ 2 × one node's = {target:.1f} ms")
    top = max(max(r["latency"]["max_ms"] for r in rows), target if one else 0)
    ax.set_ylim(0, top * 1.15)
    ax.set_ylabel("update latency, ms")
    r0 = rows[0]
    ax.set_title(f"One node vs two on one Redis: {r0['clients']} clients, {r0['typists']} typists at {r0['rate']:g}/s, 1 document")
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(loc="upper left")
    save(fig, path)


# --- join storm -------------------------------------------------------------------------------------------------

def draw_joinstorm(results, path):
    """Every client's time to synced (CDF), cold then warm, per store; the percentiles as bars when the
    per-phase files (the generator's reports, one time per client) are missing."""
    plt = pyplot()
    series, summaries = [], []
    for store in STORES:
        for phase in ("cold", "warm"):
            p = os.path.join(results, f"joinstorm-{store}-{phase}.json")
            if os.path.exists(p):
                with open(p) as f:
                    times = json.load(f).get("first_sync_ms") or []
                if times:
                    series.append((store, phase, sorted(times)))
        p = os.path.join(results, f"joinstorm-{store}.json")
        if os.path.exists(p):
            with open(p) as f:
                summaries.append((store, json.load(f)))
    if not series and not summaries:
        raise Missing(f"no joinstorm-<store>.json or joinstorm-<store>-<phase>.json in {results}")
    summary = dict(summaries)
    fig, ax = plt.subplots(figsize=(9, 5))
    target = 1000
    if series:
        for i, (store, phase, t) in enumerate(series):
            n = len(t)
            p99 = t[round((n - 1) * 0.99)]
            style = "-" if phase == "cold" else "--"
            ax.step(t, [(k + 1) / n for k in range(n)], where="post", linestyle=style, color=f"C{STORES.index(store)}",
                    linewidth=2 if phase == "cold" else 1.6,
                    label=f"{store}, {phase}: p50 {t[round((n - 1) * 0.5)]:.0f} ms, p99 {p99:.0f} ms, max {t[-1]:.0f} ms")
        ax.axvline(target, **TARGET, label="target: p99 ≤ 1 s")
        ax.axhline(0.99, color="grey", linewidth=0.8, linestyle=":")
        ax.annotate("p99", (0, 0.99), xytext=(2, -10), textcoords="offset points", fontsize=8, color="grey")
        ax.set_xlim(0, max(target, max(s[2][-1] for s in series)) * 1.08)
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("time from connect to the whole state received, ms")
        ax.set_ylabel("fraction of clients synced")
        ax.legend(loc="lower right", fontsize=9)
        clients = max(len(s[2]) for s in series)
    else:
        pcts = [("p50_ms", "p50"), ("p90_ms", "p90"), ("p99_ms", "p99"), ("max_ms", "max")]
        groups = [(store, phase, s[phase]) for store, s in summaries for phase in ("cold", "warm") if phase in s]
        w = 0.8 / len(groups)
        for i, (store, phase, q) in enumerate(groups):
            bars = ax.bar([j + (i - (len(groups) - 1) / 2) * w for j in range(len(pcts))], [q[k] for k, _ in pcts], w,
                          label=f"{store}, {phase}", color=f"C{i}")
            bar_labels(ax, bars, "{:.0f}")
        ax.set_xticks(range(len(pcts)), [n for _, n in pcts])
        ax.axhline(target, **TARGET, label="target: p99 ≤ 1 s")
        ax.set_ylabel("time from connect to the whole state received, ms")
        ax.legend()
        clients = max(s.get("clients", 0) for _, s in summaries)
    s0 = next(iter(summary.values()), {})
    state = s0.get("cold", {}).get("step2_bytes")
    entries = s0.get("log_entries")
    title = f"Join storm: {clients} clients connect at once"
    if entries:
        title += f" to a document of {thousands(entries)} log entries"
    if state:
        title += f"\n(state {state / 1e6:.2f} MB); cold = right after a restart, warm = document loaded"
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    save(fig, path)


def per_store(results, scenario):
    """The `<scenario>-<store>.json` rows that exist (embedded, redis); Missing if none."""
    rows = []
    for store in STORES:
        p = os.path.join(results, f"{scenario}-{store}.json")
        if os.path.exists(p):
            with open(p) as f:
                rows.append(json.load(f))
    if not rows:
        raise Missing(f"no {scenario}-<store>.json in {results}")
    return rows


# --- (c) cold load ------------------------------------------------------------------------------------------------

def draw_cold(results, path):
    rows = per_store(results, "cold")
    plt = pyplot()
    mem = [r for r in rows if r.get("rss_before_mb") is not None and r.get("rss_loaded_mb") is not None]
    fig, axes = plt.subplots(1, 2 if mem else 1, figsize=(13 if mem else 6.5, 4.8),
                             gridspec_kw={"width_ratios": [3, 2]} if mem else None, squeeze=False)
    axes = axes[0]
    if mem:
        ax = axes[0]
        kinds = [("RSS before", "C7"), ("RSS loaded", "C0"), ("loaded − before", "C1"), ("encoded state", "C2")]
        w = 0.8 / len(kinds)
        for i, (name, color) in enumerate(kinds):
            for j, r in enumerate(mem):
                enc = r["step2_bytes"] / (1024 * 1024)
                v = {"RSS before": r["rss_before_mb"], "RSS loaded": r["rss_loaded_mb"],
                     "loaded − before": r["rss_loaded_mb"] - r["rss_before_mb"], "encoded state": enc}[name]
                x = j + (i - (len(kinds) - 1) / 2) * w
                ax.bar(x, v, w, label=name if j == 0 else None, color=color)
                # a bar lower than the target line gets its figure above the line, not struck through by it
                ax.annotate(f"{v:.1f}", (x, max(v, 5 * enc)), xytext=(0, 2), textcoords="offset points",
                            ha="center", va="bottom", fontsize=8)
        for j, r in enumerate(mem):
            enc = r["step2_bytes"] / (1024 * 1024)
            ax.hlines(5 * enc, j - 0.45, j + 0.45, **TARGET, label="target: loaded − before ≤ 5 × encoded" if j == 0 else None)
        ax.set_xticks(range(len(mem)), [
            f"{r['store']}: {thousands(r['log_entries'])} log entries; loaded − before = "
            f"{(r['rss_loaded_mb'] - r['rss_before_mb']) / (r['step2_bytes'] / (1024 * 1024)):.0f} × encoded\n"
            f"(target ≤ 5 × {r['step2_bytes'] / (1024 * 1024):.2f} = {5 * r['step2_bytes'] / (1024 * 1024):.1f} MB)"
            for r in mem])
        ax.set_ylabel("MB")
        ax.set_ylim(0, max(r["rss_loaded_mb"] for r in mem) * 1.5)
        ax.set_title("Server RSS with the document loaded vs its encoded size")
        ax.grid(True, axis="y", alpha=0.3)
        ax.legend(loc="upper center", fontsize=9, ncol=2)
        without = [r["store"] for r in rows if r not in mem]
        if without:
            ax.annotate(f"no RSS figures in cold-{', cold-'.join(without)}.json (a run before they were kept)",
                        (0.5, 0.74), xycoords="axes fraction", ha="center", fontsize=8, color="dimgrey")
    ax = axes[-1]
    nmax = max(len(r.get("first_sync_ms") or []) for r in rows)
    w = 0.8 / len(rows)
    for i, r in enumerate(rows):
        t = r.get("first_sync_ms") or []
        bars = ax.bar([j + (i - (len(rows) - 1) / 2) * w for j in range(len(t))], t, w, label=r["store"],
                      color=f"C{STORES.index(r['store']) if r['store'] in STORES else i}")
        bar_labels(ax, bars, "{:.1f}")
    names = ["1st (cold load)", "2nd", "3rd"] + [f"{k + 1}th" for k in range(3, nmax)]
    ax.set_xticks(range(nmax), names[:nmax])
    ax.set_yscale("log")
    ax.set_ylabel("connect → sync step 2, ms (log scale)")
    ax.set_title("First sync after a restart, then with the document loaded"
                 + ("" if mem else "\n(no RSS figures in these cold-<store>.json: a run before they were kept)"))
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(title="store")
    save(fig, path)


# --- (d) replay ---------------------------------------------------------------------------------------------------

def draw_replay(results, path):
    rows = per_store(results, "replay")
    plt = pyplot()
    target = 30
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(13, 4.8))
    top = target
    for r in rows:
        color = f"C{STORES.index(r['store'])}"
        seqs, times = r.get("seqs") or [], r.get("times_ms") or []
        if not times:
            continue
        top = max(top, max(times))
        ax.scatter(seqs, times, s=16, color=color, alpha=0.75, label=f"{r['store']} ({len(times)} points)")
        ax.scatter(seqs[:1], times[:1], s=70, facecolors="none", edgecolors="black", linewidths=1.2,
                   label="first request after the restart" if r is rows[0] else None)
        t = sorted(times)
        n = len(t)
        ax2.step(t, [(k + 1) / n for k in range(n)], where="post", color=color, linewidth=2,
                 label=f"{r['store']}: p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms, mean {r['mean_ms']:.1f} ms")
    if top == target:
        raise Missing("replay JSON has no per-point times (seqs, times_ms)")
    entries = max(r.get("log_entries", 0) for r in rows)
    ax.axhline(target, **TARGET, label="target: p99 ≤ 30 ms")
    ax.set_xlabel(f"log position requested (seq, of {thousands(entries)} entries)")
    ax.set_ylabel("GET /api/docs/{doc}/state?seq=N, ms")
    ax.set_ylim(0, top * 1.1)
    ax.set_title("Time per history point vs its position in the log")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=9, loc="upper left")
    ax2.axvline(target, **TARGET, label="target: p99 ≤ 30 ms")
    ax2.axhline(0.99, color="grey", linewidth=0.8, linestyle=":")
    ax2.annotate("p99", (0, 0.99), xytext=(2, -10), textcoords="offset points", fontsize=8, color="grey")
    ax2.set_xlim(0, top * 1.1)
    ax2.set_ylim(0, 1.02)
    ax2.set_xlabel("time per point, ms")
    ax2.set_ylabel("fraction of points")
    ax2.set_title("Distribution (CDF) of the time per point")
    ax2.grid(True, alpha=0.3)
    ax2.legend(fontsize=9, loc="lower right")
    save(fig, path)


# --- idle memory --------------------------------------------------------------------------------------------------

def draw_idle(results, path):
    rows = [r for r in load(results, "idle.json")]
    p = os.path.join(results, "idle-redis.json")
    if os.path.exists(p):
        with open(p) as f:
            rows += [{**r, "label": f"{r['label']} on Redis"} for r in json.load(f)]
    if not rows:
        raise Missing("idle.json has no rows")
    plt = pyplot()
    order = {l: i for i, l in enumerate(SERVERS + ["plenary on Redis"])}
    rows.sort(key=lambda r: order.get(r["label"], len(order)))
    fig, ax = plt.subplots(figsize=(9, 4.8))
    labels = [r["label"] + (" (sockets only)" if r["label"] == "baseline" else "") for r in rows]
    quiet = [r for r in rows if r.get("mb_per_1000_docs_quiet") is not None]
    width = 0.4 if quiet else 0.8
    xs = list(range(len(rows)))
    bars = ax.bar([x - (width / 2 if quiet else 0) for x in xs], [r["mb_per_1000_docs"] for r in rows], width,
                  color=[COLORS.get(r["label"], "C5") for r in rows], label="3 s after seeding")
    if quiet:
        qbars = ax.bar([x + width / 2 for x in xs], [r.get("mb_per_1000_docs_quiet") or 0 for r in rows], width,
                       color=[COLORS.get(r["label"], "C5") for r in rows], alpha=0.5, hatch="//",
                       label=f"after {quiet[0]['quiet_s']:.0f} s quiet")
        for b, r in zip(qbars, rows):
            if r.get("mb_per_1000_docs_quiet") is not None:
                ax.annotate(f"{r['mb_per_1000_docs_quiet']:.1f}", (b.get_x() + b.get_width() / 2, b.get_height()),
                            xytext=(0, 2), textcoords="offset points", ha="center", va="bottom", fontsize=8)
    ax.set_xticks(xs, labels)
    for b, r in zip(bars, rows):
        extra = f"\n{r['redis_connections_loaded']} Redis conn." if r.get("redis_connections_loaded") is not None else ""
        ax.annotate(f"{r['mb_per_1000_docs']:.1f}\n({r['rss_empty_mb']:.0f} → {r['rss_loaded_mb']:.0f} MB){extra}",
                    (b.get_x() + b.get_width() / 2, b.get_height()), xytext=(0, 2), textcoords="offset points",
                    ha="center", va="bottom", fontsize=8)
    yws = next((r for r in rows if r["label"] == "y-websocket"), None)
    if yws:
        ref = yws.get("mb_per_1000_docs_quiet") or yws["mb_per_1000_docs"]
        ax.axhline(ref, **TARGET, label=f"target: Plenary ≤ y-websocket ({ref:.1f})")
    ax.legend(loc="upper left")
    ax.set_ylim(0, max(r["mb_per_1000_docs"] for r in rows) * 1.3)
    ax.set_ylabel("RSS loaded − empty, MB per 1 000 documents")
    docs = rows[0]["docs"]
    ax.set_title(f"Idle memory: {thousands(docs)} documents, one idle client each (RSS empty → loaded)")
    ax.grid(True, axis="y", alpha=0.3)
    save(fig, path)


# --- fsync ----------------------------------------------------------------------------------------------------------

def draw_fsync(results, path):
    q = load(results, "fsync.json")
    plt = pyplot()
    samples = q.get("samples_ms")
    where = q.get("dir", "?")
    if samples:
        fig, (ax, ax2) = plt.subplots(1, 2, figsize=(12, 4.5))
        ax.hist(samples, bins=min(60, max(10, len(samples) // 10)), color="C0")
        for k, name, c in (("p50_ms", "p50", "C1"), ("p99_ms", "p99", "C3")):
            ax.axvline(q[k], color=c, linestyle="--", label=f"{name} {q[k]:.3f} ms")
        ax.set_xlabel("write 4 KiB + fdatasync, ms")
        ax.set_ylabel("commits")
        ax.set_title(f"fdatasync latency in {where}: {q['n']} commits")
        ax.legend()
        ax.grid(True, alpha=0.3)
        t = sorted(samples)
        n = len(t)
        ax2.step(t, [(k + 1) / n for k in range(n)], where="post", color="C0", linewidth=2,
                 label=f"p50 {q['p50_ms']:.3f}, p99 {q['p99_ms']:.3f}, max {q['max_ms']:.3f} ms")
        log = t[0] > 0
        if log:
            from matplotlib.ticker import FixedLocator, NullFormatter, FuncFormatter
            ax2.set_xscale("log")
            decades = range(math.floor(math.log10(t[0])), math.ceil(math.log10(t[-1])) + 1)
            ticks = [m * 10.0 ** d for d in decades for m in (1, 2, 5) if t[0] / 1.5 <= m * 10.0 ** d <= t[-1] * 1.5]
            ax2.xaxis.set_major_locator(FixedLocator(ticks))
            ax2.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:g}"))
            ax2.xaxis.set_minor_formatter(NullFormatter())
        ax2.set_xlabel("write 4 KiB + fdatasync, ms" + (" (log scale)" if log else ""))
        ax2.set_ylabel("fraction of commits")
        ax2.set_ylim(0, 1.02)
        ax2.set_title("Distribution (CDF)")
        ax2.legend(loc="lower right")
        ax2.grid(True, which="both", alpha=0.3)
    else:
        fig, ax = plt.subplots(figsize=(7, 4.5))
        pcts = [("p50_ms", "p50"), ("p90_ms", "p90"), ("p99_ms", "p99"), ("max_ms", "max"), ("mean_ms", "mean")]
        pcts = [(k, n) for k, n in pcts if q.get(k) is not None]
        bars = ax.bar([n for _, n in pcts], [q[k] for k, _ in pcts], color=["C0"] * (len(pcts) - 1) + ["C7"])
        bar_labels(ax, bars, "{:.3f}")
        ax.set_ylim(0, max(q[k] for k, _ in pcts) * 1.15)
        ax.set_ylabel("write 4 KiB + fdatasync, ms")
        ax.set_title(f"fdatasync latency in {where}: {q['n']} commits\n(percentiles only: this fsync.json keeps no samples)")
        ax.grid(True, axis="y", alpha=0.3)
    save(fig, path)


# --- all ------------------------------------------------------------------------------------------------------------

PLOTS = {  # scenario -> (file name, drawing function)
    "fanout": ("fanout-latency.png", draw_fanout),
    "rooms": ("rooms.png", draw_rooms),
    "nodes": ("nodes.png", draw_nodes),
    "joinstorm": ("joinstorm.png", draw_joinstorm),
    "cold": ("cold.png", draw_cold),
    "replay": ("replay.png", draw_replay),
    "idle": ("idle.png", draw_idle),
    "fsync": ("fsync.png", draw_fsync),
}


def draw(scenario, results, out_dir):
    """Draws one scenario's plot from its JSON in `results` into `out_dir`. True if drawn; a missing JSON is a
    one-line skip and any other failure a one-line message: the scenario's JSON and table stand either way."""
    name, fn = PLOTS[scenario]
    try:
        fn(results, os.path.join(out_dir, name))
        return True
    except Missing as e:
        print(f"plot {scenario}: skipped, {e}", flush=True)
        return None
    except Exception as e:  # a plot must not cost the scenario its results
        print(f"!! plot {scenario} failed: {type(e).__name__}: {e}", flush=True)
        return False


def draw_all(results, out_dir):
    """Every plot from the JSON in `results`; False if one failed (skipped ones do not count)."""
    drawn = [draw(s, results, out_dir) for s in PLOTS]
    return False not in drawn
