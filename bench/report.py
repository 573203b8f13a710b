#!/usr/bin/env python3
"""Turn bench/run.sh's measurements into markdown: medians, ratios, peak RSS,
and the issue-5 targets with met / not met.

Usage: report.py RESULTS.tsv META.json [--write BENCHMARKS.md]

RESULTS.tsv has one line per measured run: scenario ("image/tool/kind"),
round, wall seconds, peak RSS in KiB, the client's CPU seconds (user +
system) and the upstream registry's CPU seconds during the run. META.json describes the machine, the
versions and the images. The markdown goes to stdout; with --write, the
full document (machine, versions, how to reproduce, raw runs) goes to the
file as well, keeping the file's WAN section (bench/wan.sh's) as it was.
"""

import json
import statistics
import sys
from collections import defaultdict

import mdsection

MiB = 1024 * 1024

# The wire baseline each image is compared with, as the issue defines it:
# parallel curl for few large layers, one keep-alive curl in sequence for
# many small layers. The index's image has a few mid-sized layers: parallel.
BASELINE = {"large": "curl-par", "small": "curl-seq", "multi": "curl-par"}
DESCRIPTION = {
    "large": "few large layers",
    "small": "many small layers",
    "multi": "multi-arch index (linux/amd64 picked)",
    "rss100": "one 100 MiB layer",
    "rss1g": "one 1 GiB layer",
}
TOOL_NOTE = {
    "ocimirror": "ocimirror pull",
    "skopeo": "skopeo copy",
    "curl-par": "curl, parallel (wire)",
    "curl-seq": "curl, sequential keep-alive (wire)",
    "curl-par+sync": "curl, parallel, then fsync (info)",
}
# Peak RSS limit, and how far apart the 100 MiB and 1 GiB peaks may be and
# still count as "the same".
RSS_LIMIT_KIB = 20 * 1024
RSS_SAME_KIB = 2 * 1024


def load(path):
    runs = defaultdict(list)
    for line in open(path):
        if not line.strip():
            continue
        scenario, rnd, secs, rss, cpu, reg = line.rstrip("\n").split("\t")
        runs[scenario].append((int(rnd), float(secs), int(rss), float(cpu), float(reg)))
    return runs


class Stats:
    def __init__(self, runs):
        self.rounds = {r[0]: r[1] for r in runs}
        self.times = [r[1] for r in runs]
        self.rss = [r[2] for r in runs]
        self.cpu = statistics.median(r[3] for r in runs)
        self.reg = statistics.median(r[4] for r in runs)
        self.median = statistics.median(self.times)
        self.min, self.max = min(self.times), max(self.times)
        self.rss_max = max(self.rss)
        self.rss_median = statistics.median(self.rss)
        self.n = len(runs)


def secs(s):
    return f"{s:.3f}" if s < 10 else f"{s:.2f}"


def mib(kib):
    return f"{kib / 1024:.1f} MiB"


def ratio(a, b):
    return f"{a / b:.2f}×" if b else "n/a"


def main():
    args = sys.argv[1:]
    write = None
    if "--write" in args:
        i = args.index("--write")
        write = args[i + 1]
        del args[i : i + 2]
    results, meta_path = args
    meta = json.load(open(meta_path))
    runs = load(results)
    st = {k: Stats(v) for k, v in runs.items()}

    def get(image, tool, kind="cold"):
        return st.get(f"{image}/{tool}/{kind}")

    out = []
    p = out.append

    # ------------------------------------------------------------ cold
    p("### Cold pulls (empty output directory)\n")
    p("| image | tool | median s | min–max s | MiB/s | ÷ wire | ÷ skopeo | peak RSS | client CPU s | registry CPU s |")
    p("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|")
    for image in ("large", "small", "multi"):
        base, sk = get(image, BASELINE[image]), get(image, "skopeo")
        size = meta["sizes"][image] / MiB
        label = f"{image}: {meta['counts'][image] - 1} layers + config, {size:.0f} MiB"
        tools = ["ocimirror", "skopeo", BASELINE[image]]
        tools += [t for t in ("curl-par", "curl-seq", "curl-par+sync") if t not in tools]
        for tool in tools:
            s = get(image, tool)
            if not s:
                continue
            p(f"| {label} | {TOOL_NOTE[tool]} | **{secs(s.median)}** | {secs(s.min)}–{secs(s.max)} "
              f"| {size / s.median:.0f} | {ratio(s.median, base.median)} | {ratio(s.median, sk.median)} "
              f"| {mib(s.rss_max)} | {s.cpu:.2f} | {s.reg:.2f} |")
            label = ""
    p("")
    p("÷ wire: median time over the wire baseline's (parallel curl for `large` and `multi`, "
      "one keep-alive curl in sequence for `small`). ÷ skopeo: over skopeo's median; below 1 is faster. "
      "Peak RSS: the highest of the runs. CPU: medians of user + system time, of the client "
      "(GNU time) and of the registry serving it (from /proc): they share the machine's cores.\n")

    # ------------------------------------------------------------ warm
    p("### Warm pulls (everything already in the layout)\n")
    p("| image | ocimirror median s | skopeo median s | ocimirror ÷ skopeo | ocimirror peak RSS |")
    p("|---|--:|--:|--:|--:|")
    for image in ("large", "small", "multi"):
        o, s = get(image, "ocimirror", "warm"), get(image, "skopeo", "warm")
        if o and s:
            p(f"| {image} | **{secs(o.median)}** | {secs(s.median)} | {ratio(o.median, s.median)} | {mib(o.rss_max)} |")
    p("")

    # ------------------------------------------------------------ proxy
    p("### Through a distribution pull-through proxy (`--mirror http://127.0.0.1:PROXY`)\n")
    p("| image | direct (cold) s | proxy, first pull (proxy cold) s | proxy, once it has cached everything s |")
    p("|---|--:|--:|--:|")
    for image in ("large", "small"):
        d, c, w = get(image, "ocimirror"), get(image, "ocimirror", "proxy-cold"), get(image, "ocimirror", "proxy-cached")
        if d and c and w:
            p(f"| {image} | {secs(d.median)} | {secs(c.median)} ({ratio(c.median, d.median)}) "
              f"| {secs(w.median)} ({ratio(w.median, d.median)}) |")
    p("")
    p("A fresh proxy (empty storage) per round. Before the second pull the benchmark waits until the "
      "proxy has stored every blob (it stores them in the background, after or while serving).\n")

    # ------------------------------------------------------------ dead mirror
    p("### A dead mirror in front: refusing connections, or never answering\n")
    p("| image | no mirror s | with the dead mirror as `--mirror` s | added (median of per-round differences) |")
    p("|---|--:|--:|--:|")
    for image in ("multi", "small"):
        d, m = get(image, "ocimirror", "no-mirror"), get(image, "ocimirror", "dead-mirror")
        if d and m:
            added = statistics.median(m.rounds[r] - d.rounds[r] for r in m.rounds if r in d.rounds)
            p(f"| {image} | {secs(d.median)} | {secs(m.median)} | {added * 1000:+.0f} ms |")
    d, h = get("small", "ocimirror", "no-mirror"), get("small", "ocimirror", "hung-mirror")
    if d and h:
        added = statistics.median(h.rounds[r] - d.rounds[r] for r in h.rounds if r in d.rounds)
        p(f"| small, a mirror that accepts and never answers | {secs(d.median)} | {secs(h.median)} "
          f"| {added * 1000:+.0f} ms |")
    p("")
    p("Each dead-mirror run follows the same pull without the mirror, in the same round. The mirror "
      "that never answers costs its response timeout (default 5 s) once per run, not once for each of "
      "the small image's 151 blobs.\n")

    # ------------------------------------------------------------ RSS
    p("### Peak RSS against layer size (ocimirror, cold)\n")
    p("| image | median s | MiB/s | peak RSS (median of runs) | peak RSS (highest) |")
    p("|---|--:|--:|--:|--:|")
    for image in ("rss100", "rss1g"):
        s = get(image, "ocimirror")
        if s:
            size = meta["sizes"][image] / MiB
            p(f"| {DESCRIPTION[image]} ({size:.0f} MiB) | {secs(s.median)} | {size / s.median:.0f} "
              f"| {mib(s.rss_median)} | {mib(s.rss_max)} |")
    if not get("rss1g", "ocimirror"):
        p("| one 1 GiB layer | skipped (`--no-1g`) | | | |")
    p("")

    # ------------------------------------------------------------ targets
    targets = []

    def target(name, value, ok):
        targets.append((name, value, ok))

    lo, ls_, lb = get("large", "ocimirror"), get("large", "skopeo"), get("large", "curl-par")
    target("Cold, few large layers: ≤ 1.3× the wire (parallel curl)",
           f"{ratio(lo.median, lb.median)} ({secs(lo.median)} s vs {secs(lb.median)} s)",
           lo.median <= 1.3 * lb.median)
    target("Cold, few large layers: ≥ 3× faster than skopeo",
           f"{ratio(ls_.median, lo.median)} ({secs(ls_.median)} s vs {secs(lo.median)} s)",
           ls_.median >= 3 * lo.median)
    so, ss, sb = get("small", "ocimirror"), get("small", "skopeo"), get("small", "curl-seq")
    target("Cold, many small layers: ≥ 2× faster than skopeo",
           f"{ratio(ss.median, so.median)} ({secs(ss.median)} s vs {secs(so.median)} s)",
           ss.median >= 2 * so.median)
    target("Cold, many small layers: no slower than one keep-alive curl in sequence",
           f"{ratio(so.median, sb.median)} ({secs(so.median)} s vs {secs(sb.median)} s)",
           so.median <= sb.median)
    warm = [(i, get(i, "ocimirror", "warm"), get(i, "skopeo", "warm")) for i in ("large", "small", "multi")]
    target("Warm pull: no slower than skopeo's warm copy (every image)",
           ", ".join(f"{i} {ratio(o.median, s.median)}" for i, o, s in warm),
           all(o.median <= s.median for _, o, s in warm))
    r100, r1g = get("rss100", "ocimirror"), get("rss1g", "ocimirror")
    if r1g:
        target(f"Peak RSS ≤ 20 MiB, the same for 100 MiB as for 1 GiB (within {RSS_SAME_KIB // 1024} MiB)",
               f"{mib(r100.rss_max)} vs {mib(r1g.rss_max)}",
               max(r100.rss_max, r1g.rss_max) <= RSS_LIMIT_KIB and abs(r1g.rss_max - r100.rss_max) <= RSS_SAME_KIB)
    else:
        target("Peak RSS ≤ 20 MiB, the same for 100 MiB as for 1 GiB", f"{mib(r100.rss_max)} (1 GiB skipped)",
               None)
    all_rss = max(s.rss_max for k, s in st.items() if k.split("/")[1] == "ocimirror")
    target("(also) Peak RSS ≤ 20 MiB in every ocimirror run above", mib(all_rss), all_rss <= RSS_LIMIT_KIB)

    summary = ["| target | measured | |", "|---|---|---|"]
    for name, value, ok in targets:
        mark = "**met**" if ok else ("not measured" if ok is None else "**not met**")
        summary.append(f"| {name} | {value} | {mark} |")
    # What the CPU allows: client and registry share the cores, so a run
    # cannot take less than their CPU time over the number of cores.
    cores = meta["nproc"]
    notes = []
    floor = (lo.cpu + lo.reg) / cores
    notes.append(
        f"- `large`: ocimirror used {lo.cpu:.2f} CPU-s and the registry {lo.reg:.2f} CPU-s per pull, so on "
        f"{cores} cores no pull can take less than {floor:.3f} s; 1.3× the wire is {1.3 * lb.median:.3f} s. "
        f"The difference from curl ({lb.cpu:.2f} CPU-s) is mostly SHA-256 over every byte, which verification "
        f"needs. Made durable (`curl, parallel, then fsync`), the wire takes {secs(get('large', 'curl-par+sync').median)} s."
        if get("large", "curl-par+sync") else "")
    sha = meta.get("sha256_mb_s")
    if sha:
        hash_cpu = meta["sizes"]["large"] / 1e6 / sha
        need = ls_.median / 3
        notes.append(
            f"- SHA-256 runs at {sha:.0f} MB/s on one core here (`openssl speed -evp sha256`, in this run): "
            f"verifying the large image costs {hash_cpu:.2f} CPU-s at the least, on top of receiving and writing "
            f"it, which is all curl does ({lb.cpu:.2f} CPU-s). With the registry's {lo.reg:.2f} CPU-s on the same "
            f"{cores} cores, no verifying pull can take less than {(lb.cpu + hash_cpu + lo.reg) / cores:.3f} s here. "
            f"3× faster than skopeo is {need:.3f} s ({ratio(need, lb.median)} the wire); 1.3× the wire is "
            f"{1.3 * lb.median:.3f} s.")
    notes.append(
        f"- `small`: the registry spends {so.reg:.2f} CPU-s serving the {meta['counts']['small']} blobs "
        f"({so.reg / meta['counts']['small'] * 1000:.1f} ms each), so no client can finish in less than "
        f"{so.reg / cores:.3f} s here; 2× faster than skopeo is {ss.median / 2:.3f} s. ocimirror also waits for "
        f"one fsync per blob (the file, before its rename; the blob directory is synced once per image); curl for none.")
    notes = [n for n in notes if n]
    tables = "\n".join(out)
    print("## Targets (issue 5)\n")
    print("\n".join(summary))
    print()
    print("\n".join(notes))
    print()
    print(tables)

    if write:
        loads = meta["loads"]
        v = meta["versions"]
        doc = [
            "# Benchmarks",
            "",
            "Pulling images from a CNCF distribution registry on loopback into an OCI layout: "
            "ocimirror side by side with skopeo and with curl fetching the same blobs (the raw wire); "
            "then over a WAN-like link (latency and a per-connection rate cap), with containerd's "
            "`ctr` as well. Generated by `bench/run.sh --write` and, for the section "
            f"\"{mdsection.WAN_HEADING[3:]}\", `bench/wan.sh --write`; do not edit by hand.",
            "",
            "## Reproduce",
            "",
            "Each script rewrites only its own part of this file: `bench/run.sh --write` everything but the "
            f"section \"{mdsection.WAN_HEADING[3:]}\", `bench/wan.sh --write` that section alone.",
            "",
            "```sh",
            "bench/run.sh --write && bench/wan.sh --write   # everything, loopback then WAN-like",
            "bench/run.sh --write        # loopback: builds the release binary, runs everything, rewrites this file",
            "bench/run.sh                # the same, tables to stdout only",
            "bench/run.sh --runs 9 --no-1g --wait-load 1.0   # more runs, no 1 GiB case, wait for a quiet machine",
            "bench/wan.sh --write        # WAN-like: builds ocimirror and examples/wan_relay, rewrites its section",
            "bench/wan.sh --runs 1 --only small,ns404 --tools ocimirror,ctr   # a quick look, to stdout",
            "bench/batch.sh --write      # many images in one run, and archives: rewrites its section",
            "bench/cache.sh --write      # the blob cache and host memory: rewrites its section",
            "bench/http2.sh --write      # HTTP/2 over TLS against HTTP/1.1: rewrites its section",
            "```",
            "",
            "Needs `docker-registry` (distribution 2.x), `skopeo`, `curl`, `python3`, GNU `time` "
            "(installed with apt if missing and run as root) and a Rust toolchain; `bench/wan.sh` also "
            "`containerd` and `ctr` 1.6 (it starts a containerd of its own, as root).",
            "",
            "## Machine and run",
            "",
            f"- CPU: {meta['nproc']} × {meta['cpu']}; memory: {meta['memory']}; kernel {meta['kernel']}",
            f"- Runs: {meta['runs']} per scenario, interleaved round by round (every tool sees the same load); "
            "the tables show medians",
            f"- Load average (1 min) before the benchmark started: {meta['load_before']:.2f}; at the start of each "
            f"round: {', '.join(f'{x:.2f}' for x in loads[:-1])}; at the end: {loads[-1]:.2f}. The benchmark itself "
            "keeps about two tasks runnable (a registry and a client), so ~2 is this run alone; the machine is "
            "shared with other builds and tests, so expect some noise.",
            f"- {v['ocimirror']}, built by {v['rustc']}",
            f"- {v['skopeo']}; distribution: {v['distribution']}; {v['curl']}",
            "",
            "## Targets (issue 5)",
            "",
            *summary,
            "",
            *notes,
            "",
            "## Results",
            "",
            tables,
            "## How it is measured",
            "",
            "- Registry: `docker-registry serve` (distribution) on a free 127.0.0.1 port, filesystem storage "
            "in a temporary directory, plain HTTP. Images are generated by `bench/genimage.py` (random "
            "data in real gzip'd tars, deflate level 0, so nothing compresses) and pushed with "
            "`skopeo copy --preserve-digests`; the benchmark checks the registry serves the generated digest.",
            "- `large`: 4 layers of 125 MiB. `small`: 150 layers of 4–64 KiB. `multi`: an OCI index of "
            "three platforms, each with layers of 16, 8, 4 and 1 MiB; every tool pulls linux/amd64.",
            "- Cold: a fresh output directory each run; ocimirror `pull -q REF -o DIR`, "
            "`skopeo copy --src-tls-verify=false docker://REF oci:DIR:v1`. The wire baseline is curl "
            "fetching the image's blobs (config and layers; no manifests, no verification, no fsync): "
            "`curl --parallel` for `large` and `multi`, one curl with one `-o` per blob (one keep-alive "
            "connection, in sequence) for `small`. `curl, parallel, then fsync` adds `sync FILE...` "
            "so the data is durable, as ocimirror's must be before a blob gets its name.",
            "- Every cold run is checked afterwards: every blob present with its size.",
            "- Warm: the same command into a layout that already holds the image.",
            "- Proxy: a second distribution with `proxy: remoteurl: http://127.0.0.1:UPSTREAM`, fresh per round.",
            "- Dead mirror: `--mirror http://127.0.0.1:PORT` where nothing listens (connection refused).",
            "- Time: wall clock around the command (bash `$EPOCHREALTIME`); peak RSS and the client's CPU "
            "(user + system): GNU `time -f '%M %U %S'`; the registry's CPU: utime + stime of the upstream "
            "registry process from /proc before and after. Every command runs under `timeout`.",
            "",
            "<details><summary>Every run (wall seconds / peak RSS KiB / client CPU s / registry CPU s)</summary>",
            "",
            "| scenario | runs |",
            "|---|---|",
            *[f"| {k} | " + ", ".join(f"{t:.3f} / {r} / {c:.2f} / {g:.2f}" for _, t, r, c, g in sorted(v_)) + " |"
              for k, v_ in sorted(runs.items())],
            "",
            "</details>",
            "",
        ]
        # The sections of bench/wan.sh, bench/batch.sh and bench/cache.sh
        # are theirs: carried over as they were.
        text = "\n".join(doc)
        for heading in mdsection.OWNED_ELSEWHERE:
            section = mdsection.get_section(write, heading)
            if section:
                text = text.rstrip("\n") + "\n\n" + section
        with open(write, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
