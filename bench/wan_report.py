#!/usr/bin/env python3
"""bench/wan.sh's bookkeeping and report.

  wan_report.py record RESULTS.jsonl T0 T1 TIMEFILE KEY=VALUE... -- RELAY.jsonl...
      append one run to RESULTS: the given fields, wall time T1 - T0, peak RSS
      and CPU from GNU time's TIMEFILE, and per relay (host) what it saw from T0
  wan_report.py report RESULTS.jsonl META.json [--write BENCHMARKS.md]
      the markdown to stdout; with --write, also as the section
      "Over a WAN-like link" of BENCHMARKS.md (the rest of it is left alone)

A relay's log (examples/wan_relay.rs) has JSON lines: open, req, tls and
close events per connection, with wall-clock times.
"""

import json
import os
import statistics
import sys
from collections import Counter, defaultdict

import mdsection

MiB = 1024 * 1024
TOOLS = ("ocimirror", "skopeo", "ctr")
TOOL_NOTE = {"ocimirror": "ocimirror pull", "skopeo": "skopeo copy", "ctr": "ctr content fetch"}
# A connection that carried at least this much toward the client carried a
# blob's bulk: the "connections" of the big image's bytes / (connections ×
# rate).
DATA_CONN = MiB


# ---------------------------------------------------------------- record
def request_kind(method, target):
    """ping, manifest or blob (with the method), or other."""
    path = target.split("?", 1)[0].rstrip("/")
    if path == "/v2":
        return "ping"
    for kind in ("manifests", "blobs"):
        if f"/{kind}/" in path:
            return f"{kind[:-1]} {method}"
    return "other"


def host_stats(path, t0):
    """What one relay saw from t0 on: connections opened then or carrying a
    request then (a cache's pooled connection opened before the clock
    started), their requests by kind and their bytes."""
    opened, closes, reqs, tls = {}, {}, [], 0
    for line in open(path):
        try:
            ev = json.loads(line)
        except ValueError:
            continue  # a line cut short by the relay's SIGTERM
        kind = ev.get("ev")
        if kind == "open":
            opened[ev["conn"]] = ev["t"]
        elif kind == "close":
            closes[ev["conn"]] = ev
        elif kind == "req" and ev["t"] >= t0:
            reqs.append(ev)
        elif kind == "tls" and ev["t"] >= t0:
            tls += 1
    conns = {c for c, t in opened.items() if t >= t0} | {r["conn"] for r in reqs}
    done = [closes[c] for c in conns if c in closes]
    return {
        "conns": len(conns),
        "reqs": len(reqs),
        "rejected": sum(1 for r in reqs if r.get("rejected")),
        "tls": tls,
        "kinds": dict(Counter(request_kind(r["method"], r["target"]) for r in reqs)),
        "queries": sum(1 for r in reqs if "?" in r["target"]),
        "down": sum(c["down"] for c in done),
        "up": sum(c["up"] for c in done),
        "data_conns": sum(1 for c in done if c["down"] >= DATA_CONN),
        "upstream_errors": sum(1 for c in done if (c.get("err") or "").startswith("upstream")),
        "abandoned": sum(1 for c in done if (c.get("err") or "").startswith("abandoned")),
        "unclosed": len(conns) - len(done),
    }


def gnu_time(path):
    """Peak RSS (KiB) and user + system CPU (s), or Nones if the command
    was killed before GNU time could write them."""
    try:
        lines = [l.split() for l in open(path) if l.strip()]
        rss, user, system = lines[-1][:3]
        return int(rss), round(float(user) + float(system), 2)
    except (OSError, IndexError, ValueError):
        return None, None


def record(args):
    results, t0, t1, timefile = args[:4]
    rest = args[4:]
    split = rest.index("--") if "--" in rest else len(rest)
    fields = dict(kv.split("=", 1) for kv in rest[:split])
    logs = [p for p in rest[split + 1 :] if os.path.exists(p)]
    run = {k: v for k, v in fields.items()}
    for key in ("round", "exit", "limit"):
        run[key] = int(run[key])
    for key in ("relay_cpu_s", "daemon_cpu_s", "server_cpu_s"):
        run[key] = float(run[key])
    run["t0"] = float(t0)  # for lining a run up with its relays' logs
    run["secs"] = round(float(t1) - float(t0), 6)
    run["rss_kib"], run["cpu_s"] = gnu_time(timefile)
    run["hosts"] = {os.path.basename(p)[: -len(".jsonl")]: host_stats(p, float(t0)) for p in logs}
    with open(results, "a") as f:
        f.write(json.dumps(run) + "\n")


# ---------------------------------------------------------------- floors
# ocimirror's default --jobs: the connections its floor for `big` may use.
JOBS = 8


def one_connection_floor(meta):
    """The big image's floor for a client that fetches a blob on one
    connection: 4 round trips, then the largest blob at the cap."""
    link, big = meta["link"], meta["images"]["big"]
    rate = rate_bytes(link["big_rate"])
    return 4 * link["big_rtt_ms"] / 1e3 + (big["largest"] / rate if rate else 0)


def rate_bytes(text):
    """200M (bits/s, powers of 1000) -> bytes/s; 0 for no cap."""
    text = str(text).strip()
    mult = {"k": 1e3, "m": 1e6, "g": 1e9}.get(text[-1:].lower(), 1)
    return float(text[:-1] if mult > 1 else text) * mult / 8


def floors(meta):
    """Per scenario: (seconds, how it is made up). A new connection costs a
    round trip before its first request (the relay charges it), and HTTP/1.1
    carries one request at a time per connection, so the shortest pull is:
    connect, GET the manifest, then every blob at once, each on a new
    connection (connect + GET): 4 round trips to the first byte of the last
    blob, plus its transfer at the rate cap. A client that opened spare
    connections before it knew it needed them could save one."""
    link, img = meta["link"], meta["images"]
    big_rtt, far, near = link["big_rtt_ms"] / 1e3, link["far_rtt_ms"] / 1e3, link["near_rtt_ms"] / 1e3
    big_rate, far_rate = rate_bytes(link["big_rate"]), rate_bytes(link["far_rate"])
    largest, total = img["big"]["largest"], img["big"]["bytes"]
    big = 4 * big_rtt + (total / (JOBS * big_rate) if big_rate else 0)
    one = one_connection_floor(meta)
    small_xfer = img["small"]["largest"] / far_rate if far_rate else 0
    ms = lambda s: f"{s * 1e3:.0f} ms"
    big_note = (f"4 × {ms(big_rtt)} + all {total / MiB:.0f} MiB on {JOBS} connections at {link['big_rate']}bit/s "
                f"each = {big:.2f} s: the issue's bytes ÷ (connections × rate), with ocimirror's connection "
                f"budget (`--jobs`, {JOBS}). A tool that fetches each blob on one connection, as skopeo and ctr "
                f"do, waits for the largest ({largest / MiB:.0f} MiB) alone: {one:.2f} s")
    return {
        "local": (0.0, "none: no delay and no cap, so what is measured is the registry's, the relay's and the "
                  "tool's own work, which the round-trip floors leave out"),
        "big": (big, big_note),
        "small": (4 * far + small_xfer, f"4 round trips × {ms(far)}"),
        "near": (4 * near + far + small_xfer,
                 f"4 × {ms(near)} to the mirror + 1 × {ms(far)}: a cache must ask the far registry for "
                 "the tag's digest on each pull, a round trip on a connection it holds open (distribution's "
                 "pings `/v2/` first and opens a new connection for the HEAD: see `cache-far`)"),
        "near-cold": (4 * near + 4 * far + small_xfer,
                      f"4 × {ms(near)} + 4 × {ms(far)}: the cache must fetch all of it from the far registry"),
        "ns404": (5 * near, f"5 × {ms(near)}: one 404 to learn the mirror does not take `ns`, then 4 round "
                  "trips to the mirror, which holds everything"),
        "refused": (4 * far + small_xfer, f"4 × {ms(far)}; on loopback the refusal itself costs nothing "
                    "(over a WAN it would cost a round trip to the mirror)"),
        "hung": (4 * far + small_xfer, f"4 × {ms(far)} plus however long the tool waits for the silent "
                 "mirror before it goes to the registry"),
    }


# ---------------------------------------------------------------- report
def scenario_notes(meta):
    link, img = meta["link"], meta["images"]
    big, small = img["big"], img["small"]
    far = f"{link['far_rtt_ms']:g} ms RTT" + (f", {link['far_rate']}bit/s" if rate_bytes(link["far_rate"]) else "")
    near = f"{link['near_rtt_ms']:g} ms"
    return {
        "big": f"{big['blobs'] - 1} layers + config, {big['bytes'] / MiB:.0f} MiB (largest {big['largest'] / MiB:.0f} MiB); "
               f"{link['big_rtt_ms']:g} ms RTT, {link['big_rate']}bit/s per connection",
        "small": f"{small['blobs'] - 1} layers + config, {small['bytes'] / MiB:.1f} MiB; the far registry, {far}",
        "near": f"the same through a near mirror ({near}): a distribution pull-through cache that already holds the image",
        "near-cold": f"the same through the near mirror ({near}) with its cache empty: a miss",
        "ns404": f"the same through an old mirror ({near}) that answers 404 to any request with a query string "
                 "(`ns=`); it holds the image",
        "refused": "the same through a mirror that refuses connections (a closed port)",
        "hung": f"the same through a mirror ({near}) that accepts connections and never answers",
        "local": "small through the relay with no delay and no cap (the registry on loopback)",
    }


class Stats:
    """The runs of one tool in one scenario."""

    def __init__(self, runs):
        self.runs = sorted(runs, key=lambda r: r["round"])
        self.ok = [r for r in self.runs if r["status"] == "ok"]
        times = [r["secs"] for r in self.ok]
        self.median = statistics.median(times) if times else None
        self.min, self.max = (min(times), max(times)) if times else (None, None)
        self.statuses = Counter(r["status"] for r in self.runs)
        rss = [r["rss_kib"] for r in self.ok if r["rss_kib"]]
        self.rss = max(rss) if rss else None
        self.cpu = statistics.median(r["cpu_s"] for r in self.ok) if self.ok else None
        self.relay_cpu = statistics.median(r["relay_cpu_s"] for r in self.ok) if self.ok else None
        server = [r["server_cpu_s"] for r in self.ok if r.get("server_cpu_s") is not None]
        self.server_cpu = statistics.median(server) if server else None

    def host(self, name, key):
        """Median over the runs (all of them: a failing run's requests count too)."""
        vals = [r["hosts"][name].get(key, 0) for r in self.runs if name in r["hosts"]]
        return statistics.median(vals) if vals else None

    def kinds(self, name):
        """Median count per request kind, over the runs."""
        per_run = [r["hosts"][name]["kinds"] for r in self.runs if name in r["hosts"]]
        keys = sorted({k for k in per_run for k in k})
        return {k: statistics.median(p.get(k, 0) for p in per_run) for k in keys}

    def failure(self):
        """Why there is no time: the first failing run's status and message."""
        bad = next(r for r in self.runs if r["status"] != "ok")
        if bad["status"] == "timeout":
            text = f"timed out after {bad['limit']} s"
        else:
            text = f"{bad['status']} (exit {bad['exit']})"
        if bad.get("error") and bad["status"] != "timeout":
            text += ": " + bad["error"].replace("|", "\\|").replace("`", "'")[:160]
        return text


def plural(n, word):
    return f"{n} {word}" + ("" if n == 1 else "s")


def secs(s):
    return "–" if s is None else (f"{s:.3f}" if s < 10 else f"{s:.2f}")


def ratio(a, b):
    return f"{a / b:.2f}×" if a is not None and b else "–"


def num(x):
    return "–" if x is None else (f"{x:.0f}" if float(x).is_integer() else f"{x:.1f}")


HOST_ORDER = ("registry", "far", "mirror", "cache-far")


def hosts_of(stats):
    """The relays (hosts) any run of the scenario logged, in a fixed order."""
    names = {h for s in stats.values() for r in s.runs for h in r["hosts"]}
    return sorted(names, key=lambda h: (HOST_ORDER.index(h) if h in HOST_ORDER else len(HOST_ORDER), h))


def summary(meta, by, fl):
    out = ["| scenario | floor s | " + " | ".join(f"{t} s (÷ floor)" for t in meta["tools"])
           + " | ocimirror ÷ skopeo | ocimirror ÷ ctr |",
           "|---|--:|" + "--:|" * len(meta["tools"]) + "--:|--:|"]
    for scen in meta["scenarios"]:
        st = {t: Stats(by[scen, t]) for t in meta["tools"] if by.get((scen, t))}
        floor = fl[scen][0]
        cells = []
        for t in meta["tools"]:
            s = st.get(t)
            if not s:
                cells.append("not run")
            elif s.median is None:
                cells.append(s.failure().split(":")[0])
            else:
                cells.append(f"**{secs(s.median)}** ({ratio(s.median, floor)})")
        o, k, c = (st.get(t) for t in TOOLS)
        cells.append(ratio(o.median, k.median) if o and k and k.median else "–")
        cells.append(ratio(o.median, c.median) if o and c and c.median else "–")
        out.append(f"| {scen} | {secs(floor)} | " + " | ".join(cells) + " |")
    return out


def targets(meta, by, fl):
    """The issue's targets, judged on this run's medians (ocimirror's)."""
    st = {k: Stats(v) for k, v in by.items() if k[1] == "ocimirror" or k[0] == "big"}
    med = lambda scen, tool="ocimirror": st[scen, tool].median if (scen, tool) in st else None
    rows = ["| target | measured | |", "|---|---|---|"]

    def row(what, measured, ok):
        rows.append(f"| {what} | {measured} | {'**met**' if ok else '**not met**'} |")

    big = med("big")
    for other in ("skopeo", "ctr"):
        if big and med("big", other):
            row(f"`big`: at least 3× faster than {other}", f"{med('big', other) / big:.2f}×",
                med("big", other) / big >= 3)
    if big:
        row("`big`: within 1.3× its floor", ratio(big, fl["big"][0]), big / fl["big"][0] <= 1.3)
    local = med("local")
    link = meta["link"]
    far, near = link["far_rtt_ms"] / 1e3, link["near_rtt_ms"] / 1e3
    for scen in ("small", "near", "near-cold", "ns404", "refused"):
        m = med(scen)
        if m is None:
            continue
        floor, what = fl[scen][0], "the round-trip floor"
        if scen in ("near", "ns404"):
            # The walk's own need: the HEAD that confirms the tag, on a new
            # connection to the far registry, before the image is named
            # (the blobs download meanwhile).
            floor, what = max(floor, 2 * far + 2 * near), "the round-trip floor with the confirming HEAD"
        plus = (f" (÷ that plus `local`, {secs(local)} s: {ratio(m, floor + local)})" if local else "")
        row(f"`{scen}`: within 1.25× {what} ({secs(floor)} s)", ratio(m, floor) + plus, m / floor <= 1.25)
    # What the walk needs of the far registry: through a mirror that holds
    # the image, the one HEAD that confirms the tag; past a mirror that
    # refuses (known within a round trip to it, before the far connection
    # is up), what a direct pull asks; past one that accepts and then says
    # nothing, that and the one confirming HEAD, which went out while the
    # mirror could still have answered.
    direct = st["small", "ocimirror"].host("far", "reqs") if ("small", "ocimirror") in st else None
    for scen in ("near", "ns404", "refused", "hung"):
        if (scen, "ocimirror") not in st:
            continue
        kinds = {k: v for k, v in st[scen, "ocimirror"].kinds("far").items() if v}
        asked = ", ".join(f"{k} {num(v)}" for k, v in kinds.items()) or "nothing"
        if scen in ("near", "ns404"):
            row(f"`{scen}`: of the far registry, only the HEAD confirming the tag", asked,
                kinds == {"manifest HEAD": 1})
        elif direct is not None:
            total, heads = sum(kinds.values()), kinds.get("manifest HEAD", 0)
            if scen == "refused":
                row(f"`{scen}`: of the far registry, what a direct pull asks ({num(direct)})", asked,
                    total <= direct)
            else:
                row(f"`{scen}`: of the far registry, what a direct pull asks and the one HEAD confirming "
                    f"the tag ({num(direct + 1)})", asked, total <= direct + 1 and heads <= 1)
    work = ""
    s = st.get(("small", "ocimirror"))
    if s and s.server_cpu is not None and s.cpu is not None:
        cores, margin = os.cpu_count() or 1, 0.25 * fl["small"][0]
        work = (f" In `small` the registry used {s.server_cpu:.2f} CPU-s serving the pull and ocimirror "
                f"{s.cpu:.2f} (the registry CPU column below): on {cores} cores, which also run the relays, "
                f"the registry's share alone comes to about {secs(s.server_cpu / cores)} s of wall time "
                f"(its blob requests arrive together and each answer waits for its work), against a margin of "
                f"{secs(margin)} s (25% over the floor).")
    return rows + ["", "Medians of this run. `local` is the same pull as `small` with no delay: the registry's "
                   f"and ocimirror's own time, which no round trip explains.{work} `refused`, `hung`: ocimirror sends "
                   "the HEAD that would confirm the mirror's tag together with the mirror's request, and drops "
                   "it when the walk reaches the registry. A refusal comes back within a round trip to the "
                   "mirror, before the connection to the far registry is up, so the HEAD never leaves (the "
                   "relay holds what a client writes during the handshake's round trip, and a connection "
                   "given up within it reaches no server: on loopback the kernel completes the handshake at "
                   "once). A mirror that accepts and then says nothing costs the HEAD: it went out while the "
                   "mirror could still answer.", ""]


def scenario(meta, scen, by, fl, about):
    """The detail table of one scenario: times, and what each host saw."""
    st = {t: Stats(by[scen, t]) for t in meta["tools"] if by.get((scen, t))}
    if not st:
        return []
    names = hosts_of(st)
    out = [f"#### {scen}: {about[scen]}", "",
           f"Floor: {fl[scen][1]}.", ""]
    head = "| tool | median s | min–max s | ÷ floor | runs | " + " | ".join(
        f"{h}: requests / connections / MiB" for h in names) + " | peak RSS MiB | client CPU s | relay CPU s | registry CPU s |"
    out += [head, "|---|--:|--:|--:|---|" + "--:|" * len(names) + "--:|--:|--:|--:|"]
    for tool, s in st.items():
        runs = ", ".join(f"{n} {k}" for k, n in sorted(s.statuses.items()))
        when = (f"**{secs(s.median)}** | {secs(s.min)}–{secs(s.max)} | {ratio(s.median, fl[scen][0])}"
                if s.median is not None else f"{s.failure()} | | ")
        cells = [f"{num(s.host(h, 'reqs'))} / {num(s.host(h, 'conns'))} / {s.host(h, 'down') / MiB:.1f}"
                 if s.host(h, "reqs") is not None else "–" for h in names]
        rss = f"{s.rss / 1024:.1f}" if s.rss else "–"
        cpu = "–" if s.cpu is None else f"{s.cpu:.2f}"
        rcpu = "–" if s.relay_cpu is None else f"{s.relay_cpu:.2f}"
        scpu = "–" if s.server_cpu is None else f"{s.server_cpu:.2f}"
        out.append(f"| {TOOL_NOTE[tool]} | {when} | {runs} | " + " | ".join(cells) + f" | {rss} | {cpu} | {rcpu} | {scpu} |")
    out.append("")
    out += requests(st, names)
    if scen == "big":
        out += big_conns(meta, st)
    return out


def requests(st, names):
    """Which requests each tool made of each host (medians over the runs)."""
    lines = []
    for tool, s in st.items():
        for h in names:
            kinds = s.kinds(h)
            if not kinds and not s.host(h, "conns"):
                continue
            extra = []
            for key, label in (("rejected", "answered 404 by the relay"), ("tls", "TLS hello(s): https tried first"),
                               ("upstream_errors", "connections the relay could not pass on"),
                               ("abandoned", "connection(s) given up by the tool within the handshake's round trip")):
                v = s.host(h, key)
                if v:
                    extra.append(f"{num(v)} {label}")
            q = s.host(h, "queries")
            if q:
                extra.append(f"{num(q)} with a query string")
            mix = ", ".join(f"{k} {num(v)}" for k, v in kinds.items()) or "no requests"
            lines.append(f"- {tool} → {h}: {mix}" + (f"; {'; '.join(extra)}" if extra else ""))
    return lines + [""] if lines else []


def big_conns(meta, st):
    """The issue's floor for the big image: bytes / (connections × rate),
    with each tool's own count of connections that carried bulk data."""
    img, rate = meta["images"]["big"], rate_bytes(meta["link"]["big_rate"])
    if not rate:
        return []
    parts = []
    for tool, s in st.items():
        n = s.host("registry", "data_conns")
        if n:
            f = img["bytes"] / (n * rate)
            parts.append(f"{tool} {num(n)} connections → {f:.2f} s ({ratio(s.median, f)})")
    return [f"Bytes ÷ (connections × rate), with the connections that carried over 1 MiB: {'; '.join(parts)}. "
            "skopeo and ctr fetch each blob on one connection, so the largest blob bounds them; ocimirror splits "
            "a big blob into ranges on connections of its own (HTTP `Range`).", ""] if parts else []


def notes(meta, by):
    """What the relay logs say about why the times differ."""
    st = {k: Stats(v) for k, v in by.items()}
    get = lambda scen: [(t, st[scen, t]) for t in TOOLS if (scen, t) in st]
    out = []
    big = [(t, s) for t, s in get("big") if s.median]
    if big:
        one = one_connection_floor(meta)
        out.append("- `big`: " + ", ".join(f"{t} {ratio(s.median, one)}" for t, s in big)
                   + f" the one-connection-per-blob floor ({one:.2f} s): skopeo and ctr wait on one connection for "
                   "the largest blob; ocimirror fetches it in ranges on several.")
    if get("small"):
        out.append("- `small`, connections for requests to the far registry: " + ", ".join(
            f"{t} {num(s.host('far', 'conns'))} for {num(s.host('far', 'reqs'))}" for t, s in get("small"))
            + ". A new connection costs a round trip before its request; skopeo's HTTP client "
            "(containers/image) turns keep-alive off, so each of its requests pays one.")
    confirm = [scen for scen in ("near", "ns404")
               if (scen, "ocimirror") in st and st[scen, "ocimirror"].kinds("far").get("manifest HEAD")]
    if confirm:
        out.append(f"- ocimirror through a mirror ({', '.join(f'`{c}`' for c in confirm)}) also sends one manifest "
                   "HEAD to the far registry: a tag served by a mirror that did not confirm `ns` is confirmed with "
                   "the registry (src/fetch/resolve.rs): a new connection and a request, 2 far round trips, "
                   "before the image is named; the blobs download from the mirror meanwhile.")
    near = st.get(("near", "ocimirror"))
    if near and near.kinds("mirror").get("manifest GET", 0) >= 2:
        out.append("- `near`: the cache answers a tag only once it has asked the far registry (`cache-far`), while "
                   "ocimirror's HEAD to the far registry answers first; so ocimirror also asks the cache for the "
                   "digest the HEAD named (src/fetch/race.rs), which it serves from its store: the second manifest "
                   "GET to the mirror. The answer to the tag is not waited for.")
    if get("near-cold"):
        out.append("- `near-cold`: the cache sent the far registry " + ", ".join(
            f"{num(s.host('cache-far', 'reqs'))} requests over {num(s.host('cache-far', 'conns'))} connections ({t})"
            for t, s in get("near-cold")) + f" for {meta['images']['small']['blobs']} blobs: distribution's "
            "pull-through cache pings `/v2/` and sends a HEAD before each blob it fetches.")
    hung = [t for t, s in get("hung") if s.statuses["timeout"]]
    if hung:
        out.append(f"- `hung`: {' and '.join(hung)} waited on the silent mirror until the benchmark's "
                   f"{meta['timeouts']['hung']} s timeout; ocimirror gives up on it after its response timeout (5 s).")
    return out + [""] if out else []


def relay_checks(meta):
    """The relay measured on its own, before the rounds."""
    checks = {c["label"]: c for c in meta["checks"]}
    label = {"direct": "straight to the registry (no relay)", "relay": "through the relay, no delay, no cap",
             "relay-rtt": f"through the relay, {meta['link']['big_rtt_ms']:g} ms RTT, no cap",
             "relay-capped": f"through the relay, {meta['link']['big_rtt_ms']:g} ms RTT, "
                             f"{meta['link']['big_rate']}bit/s per connection"}
    out = ["| 8 transfers at once, one connection each | MiB each | wall s | all together MB/s "
           "| per connection MB/s (min–max) | relay CPU s | relay CPU s per GB |",
           "|---|--:|--:|--:|--:|--:|--:|"]
    for key, text in label.items():
        c = checks.get(key)
        if not c:
            continue
        per = [s / 1e6 for s in c["speeds"]]
        cpu_gb = f"{c['relay_cpu_s'] / (c['bytes'] / 1e9):.2f}" if key != "direct" else "–"
        cpu = f"{c['relay_cpu_s']:.2f}" if key != "direct" else "–"
        out.append(f"| {text} | {c['bytes'] / len(per) / MiB:.0f} | {c['wall']:.2f} | {c['bytes'] / c['wall'] / 1e6:.0f} "
                   f"| {min(per):.1f}–{max(per):.1f} | {cpu} | {cpu_gb} |")
    out.append("")
    cap, capped = rate_bytes(meta["link"]["big_rate"]), checks.get("relay-capped")
    if cap and capped:
        each = capped["bytes"] / len(capped["speeds"])
        ideal = each / (each / cap + 2 * meta["link"]["big_rtt_ms"] / 1e3)
        out.append(f"The cap is {cap / 1e6:.1f} MB/s per connection; with the two round trips before the first "
                   f"byte, which curl's rate includes, a perfect link would show {ideal / 1e6:.1f} MB/s.")
    lat = checks.get("latency")
    if lat:
        rtt = lat["rtt_ms"]
        new = ", ".join(f"{t * 1e3:.0f}" for t in lat["new_conn_ttfb"])
        reuse = ", ".join(f"{t * 1e3:.0f}" for t in lat["reuse_totals"])
        out.append(f"Through a relay with {rtt:g} ms RTT, a request on a new connection got its first byte after "
                   f"{new} ms (expected 2 × {rtt:g}: the handshake, then the request), and each further request on "
                   f"the same connection took {reuse} ms (expected {rtt:g}).")
    return out + [""]


def section(meta, by):
    fl, about = floors(meta), scenario_notes(meta)
    v, loads = meta["versions"], meta["loads"]
    cut = "" if meta["rounds_done"] == meta["runs"] else (
        f" **Cut short**: only {meta['rounds_done']} of {meta['runs']} rounds ran within {meta['max_minutes']} minutes.")
    out = [mdsection.WAN_HEADING, "",
           "The same kind of pulls over a link with latency and a per-connection rate cap: a relay of our own "
           "(`examples/wan_relay.rs`) between the clients and the registry or mirror on 127.0.0.1, ocimirror, "
           "skopeo and containerd's `ctr content fetch` side by side in every round (the order rotating). "
           "Generated by `bench/wan.sh --write`; do not edit by hand.", "",
           f"- Runs: {plural(meta['rounds_done'], 'round')} (medians shown); load average (1 min) before: "
           f"{meta['load_before']:.2f}, at each round's start: {', '.join(f'{x:.2f}' for x in loads[:-1])}, "
           f"at the end: {loads[-1]:.2f}; {meta['seconds'] // 60} min in all.{cut}",
           f"- CPU: {meta['nproc']} × {meta['cpu']}; kernel {meta['kernel']}",
           f"- {v['ocimirror']}, built by {v['rustc']}; {v['skopeo']}; {v['ctr']}; {v['containerd']}; "
           f"distribution: {v['distribution']}", "",
           "### Summary", ""]
    out += summary(meta, by, fl)
    out += ["", "### Targets (issue 15)", ""] + targets(meta, by, fl)
    out += ["", "÷ floor: the median over the shortest time the link allows (below, per scenario). "
            "ocimirror ÷ skopeo, ÷ ctr: the medians' ratio; below 1, ocimirror is faster.", ""]
    out += notes(meta, by)
    out += ["### Per scenario", "",
            "Requests, connections and MiB (toward the client) as each relay logged them, medians of the runs.", ""]
    for scen in meta["scenarios"]:
        out += scenario(meta, scen, by, fl, about)
    out += ["### The relay itself", ""] + relay_checks(meta) + how_measured(meta) + raw_runs(by)
    return "\n".join(out) + "\n"


def how_measured(meta):
    link = meta["link"]
    return [
        "### How it is measured", "",
        "- The relay: per connection and direction, what it reads at time t it writes on at t + half the RTT, "
        "no faster than the cap (a token bucket holding up to 10 ms of it); a new connection waits one RTT before anything "
        "flows, as a handshake would (what the client writes meanwhile is held until then, and a connection "
        "it closes sooner, one given up before it was up, reaches no server). Not modelled: loss, TCP slow start (loopback's TCP runs underneath), "
        "TLS (every registry here is plain HTTP). Each run starts its relays afresh; their logs give the "
        "requests (parsed from the request heads), connections and bytes per host.",
        f"- Hosts: `registry` is the big image's registry ({link['big_rtt_ms']:g} ms); `far` the many-layer "
        f"image's ({link['far_rtt_ms']:g} ms); `mirror` the mirror in front of it ({link['near_rtt_ms']:g} ms): "
        "a distribution pull-through cache (`near`: its storage filled before the rounds, restarted for each "
        "run and sent one manifest HEAD before the clock starts, as a busy mirror would have; `near-cold`: "
        "empty), the relay answering 404 to anything with a `?` (`ns404`, in front of the registry itself), "
        "or the relay accepting and never answering (`hung`). `refused`: a closed port, so no log. "
        "`cache-far`: the cache's own requests to the far registry, through a relay of the far one's shape.",
        "- ocimirror: `pull -q REF -o DIR [--mirror URL]`. skopeo: `--registries-conf FILE copy "
        "--src-tls-verify=false docker://REF oci:DIR:v1`, the file naming the mirror as a `[[registry.mirror]]` "
        "of the registry (skopeo sends no `ns`; it tries https first on a plain-HTTP registry: the TLS hellos "
        "in the request lists). ctr: `content fetch --plain-http [--hosts-dir DIR] REF` against a containerd started for the "
        "benchmark (`content_sharing_policy = \"isolated\"`, a new namespace per run, removed after it), the "
        "hosts directory's `hosts.toml` naming the mirror as a `[host]` with pull and resolve.",
        f"- Every run is checked: every blob present with its size (ctr: listed in its namespace). "
        f"Each pull runs under `timeout` ({meta['timeouts']['cmd']} s; {meta['timeouts']['hung']} s with the "
        "mirror that never answers, where a tool that times out once is not run again).",
        "- Time: wall clock around the command; peak RSS and client CPU from GNU time (for ctr, its "
        "containerd's CPU is in the raw runs below); relay CPU and registry CPU (the registry's, and the "
        "cache's where there is one: what serving the pull cost them) from /proc.", ""]


def raw_runs(by):
    rows = []
    for (scen, tool), runs in sorted(by.items()):
        cells = []
        for r in sorted(runs, key=lambda r: r["round"]):
            hosts = " ".join(f"{h}:{s['reqs']}r/{s['conns']}c" for h, s in sorted(r["hosts"].items()))
            rss = f"{r['rss_kib']}" if r["rss_kib"] else "–"
            cells.append(f"{r['status']} {r['secs']:.3f} s, {rss} KiB, {hosts or 'no relay'}"
                         + (f", containerd {r['daemon_cpu_s']:.2f} CPU-s" if tool == "ctr" else ""))
        rows.append(f"| {scen} | {tool} | " + "; ".join(cells) + " |")
    return ["<details><summary>Every run (status, wall time, peak RSS, requests/connections per host)</summary>", "",
            "| scenario | tool | runs |", "|---|---|---|", *rows, "", "</details>", ""]


def report(args):
    write = None
    if "--write" in args:
        i = args.index("--write")
        write = args[i + 1]
        del args[i : i + 2]
    results, meta_path = args
    meta = json.load(open(meta_path))
    by = defaultdict(list)
    for line in open(results):
        if line.strip():
            r = json.loads(line)
            by[r["scenario"], r["tool"]].append(r)
    text = section(meta, by)
    print(text)
    if write:
        mdsection.put_section(write, mdsection.WAN_HEADING, text)


def main():
    if len(sys.argv) < 2 or sys.argv[1] not in ("record", "report"):
        sys.exit(__doc__)
    (record if sys.argv[1] == "record" else report)(sys.argv[2:])


if __name__ == "__main__":
    main()
