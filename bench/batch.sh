#!/usr/bin/env bash
# Many images in one run, and archives (issue 12), on loopback against the
# CNCF distribution registry, side by side in one run, interleaved round by
# round:
#   - batch: ten images sharing a 64 MiB base (each with 4 MiB of its own),
#     through a first mirror that accepts connections and never answers
#     (--response-timeout 1): one `ocimirror pull REF x10` against ten
#     `ocimirror pull REF` runs (without host memory, --fresh, as before it
#     existed; and with it), and against ten `skopeo copy` runs (direct: it
#     has no per-command mirror);
#   - archive: the 4 x 64 MiB image as `pull -o -` piped into a consumer
#     (`tar -t`), into /dev/null (no reader: what ocimirror's side costs),
#     and as `pull -o FILE.tar`, against a layout pull, and
#     against the layout pull then `tar -c` of it into the same consumer;
#     and a 4 x 16 MiB image over a WAN-like link (our relay,
#     examples/wan_relay.rs: 40 ms RTT, 200 Mbit/s), `-o -` piped against
#     a layout pull;
#   - peak RSS of the batch run and of a single pull.
# Every pull goes into a fresh directory with --no-cache (nothing shared
# between runs but what each run itself fetched).
#
# Usage: bench/batch.sh [--runs N] [--no-build] [--write]
#   --write   also write the "## Many images and archives" section of BENCHMARKS.md
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH="$ROOT/bench"
BENCH_NAME=batch-bench
CMD_TIMEOUT=300
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
parse_bench_args "$@"
need_tools docker-registry skopeo python3 timeout tar
need_gnu_time
release_binaries
# Read now: the binary was built from this tree.
REV=$(git -C "$ROOT" rev-parse --short HEAD)
[ -z "$(git -C "$ROOT" status --porcelain -- src Cargo.toml Cargo.lock)" ] || REV="$REV with changes"
bench_init ocimirror-batch
start_registry upstream
UP="127.0.0.1:$REG_PORT"

start_hung_mirror
HUNG="http://127.0.0.1:$HUNG_PORT"

log "generating: ten images on one base, and the large image"
python3 "$ROOT/bench/genimage.py" family "$WORK/src/family" app --count 10 --base 64M --layers 4M >/dev/null
REFS=()
while read -r tag; do
    skopeo --insecure-policy copy --quiet --preserve-digests --dest-tls-verify=false \
        "oci:$WORK/src/family:$tag" "docker://$UP/bench/family:$tag" || die "push $tag failed"
    REFS+=("$UP/bench/family:$tag")
done <"$WORK/src/family/tags"
gen large image --layers 64M,64M,64M,64M
LARGE="$UP/bench/large:v1"
gen wan image --layers 16M,16M,16M,16M

# The WAN-like link: our relay in front of the registry (ends with the bench).
"$RELAY" --name wan --port-file "$WORK/wan.port" --log "$WORK/wan.jsonl" \
    --max-lifetime 3600 --upstream "$UP" --rtt-ms 40 --rate 200M 2>>"$WORK/relay.err" &
PIDS+=($!)
for _ in $(seq 100); do [ -s "$WORK/wan.port" ] && break; sleep 0.05; done
[ -s "$WORK/wan.port" ] || { cat "$WORK/relay.err" >&2; die "the relay did not start"; }
WAN="127.0.0.1:$(cat "$WORK/wan.port")/bench/wan:v1"

# ms CMD...: runs it (each command in it is bounded by `timeout`), prints
# its wall time in milliseconds.
ms() {
    local t0 t1
    # What earlier runs left for the disk is written first: an fsync in
    # this run would otherwise wait for it (ext4 commits the journal with
    # other files' data), charging one case for the one before it.
    sync
    t0=${EPOCHREALTIME/./}
    "$@" >/dev/null 2>"$WORK/err" || { cat "$WORK/err" >&2; die "failed: $*"; }
    t1=${EPOCHREALTIME/./}
    rm -rf "${WORK:?}/out"/*
    echo $(((t1 - t0) / 1000))
}
# rss CMD...: runs it, prints its peak RSS in KiB (GNU time).
rss() {
    /usr/bin/time -f '%M' -o "$WORK/rss" timeout 300 "$@" >/dev/null 2>"$WORK/err" \
        || { cat "$WORK/err" >&2; die "failed: $*"; }
    cat "$WORK/rss"
}
# A directory no run has used (called in subshells: no counter survives).
fresh() { echo "$WORK/out/$BASHPID.${EPOCHREALTIME/./}"; }
OM=(timeout 300 "$OCIMIRROR" pull -q --no-cache --response-timeout 1)

one_batch() { "${OM[@]}" --fresh --mirror "$HUNG" -o "$(fresh)" "${REFS[@]}"; }
ten_runs() { # EXTRA...: ten separate runs
    local out r
    out=$(fresh)
    for r in "${REFS[@]}"; do "${OM[@]}" "$@" --mirror "$HUNG" -o "$out" "$r" || return 1; done
}
ten_skopeo() {
    local out r i=0
    out=$(fresh)
    for r in "${REFS[@]}"; do
        timeout 300 skopeo --insecure-policy copy --quiet --src-tls-verify=false \
            "docker://$r" "oci:$out:app$i" || return 1
        i=$((i + 1))
    done
}
pipe_archive() { # REF CPU-FILE: the reader's CPU seconds (user, system) go to CPU-FILE
    "${OM[@]}" -o - "$1" | /usr/bin/time -a -o "$2" -f '%U %S' tar -t >/dev/null
}
# `ms` sends stdout to /dev/null: the archive goes nowhere, read by nobody.
null_archive() { "${OM[@]}" -o - "$LARGE"; }
file_archive() { "${OM[@]}" -o "$(fresh).tar" "$LARGE"; }
layout_pull() { # REF
    "${OM[@]}" -o "$(fresh)" "$1"
}
layout_then_tar() {
    local out
    out=$(fresh)
    "${OM[@]}" -o "$out" "$LARGE" && timeout 300 tar -C "$out" -cf - . | tar -t >/dev/null
}

declare -A T
for round in $(seq "$RUNS"); do
    log "round $round of $RUNS"
    T[batch]+=" $(ms one_batch)"
    T[ten_fresh]+=" $(ms ten_runs --fresh)"
    T[ten_memory]+=" $(ms ten_runs)"
    T[ten_skopeo]+=" $(ms ten_skopeo)"
    T[pipe]+=" $(ms pipe_archive "$LARGE" "$WORK/reader.cpu")"
    T[null]+=" $(ms null_archive)"
    T[file]+=" $(ms file_archive)"
    T[layout]+=" $(ms layout_pull "$LARGE")"
    T[layout_tar]+=" $(ms layout_then_tar)"
    T[wan_pipe]+=" $(ms pipe_archive "$WAN" "$WORK/wan-reader.cpu")"
    T[wan_layout]+=" $(ms layout_pull "$WAN")"
done
rss_batch=$(rss "${OM[@]}" --fresh -o "$(fresh)" "${REFS[@]}")
rss_single=$(rss "${OM[@]}" --fresh -o "$(fresh)" "${REFS[0]}")
rss_pipe=$(rss "$OCIMIRROR" pull -q --no-cache -o - "$LARGE")

python3 - "$RUNS" "$REV" "$WORK/reader.cpu" "$rss_batch" "$rss_single" "$rss_pipe" \
    "${T[batch]}" "${T[ten_fresh]}" "${T[ten_memory]}" "${T[ten_skopeo]}" \
    "${T[pipe]}" "${T[file]}" "${T[layout]}" "${T[layout_tar]}" "${T[wan_pipe]}" "${T[wan_layout]}" \
    "${T[null]}" \
    >"$WORK/section.md" <<'PY'
import os, platform, statistics, sys
runs, rev, reader_file = sys.argv[1:4]
rss_batch, rss_single, rss_pipe = map(int, sys.argv[4:7])
reader = statistics.median(float(u) + float(s) for u, s in (l.split() for l in open(reader_file)))
model = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "unknown")
names = ["batch", "ten_fresh", "ten_memory", "ten_skopeo", "pipe", "file", "layout", "layout_tar",
         "wan_pipe", "wan_layout", "null"]
t = {n: [int(x) for x in v.split()] for n, v in zip(names, sys.argv[7:])}
med = {n: statistics.median(v) for n, v in t.items()}
s = lambda n: f"{med[n] / 1000:.3f} s ({min(t[n]) / 1000:.2f}–{max(t[n]) / 1000:.2f})"
x = lambda a, b: f"{med[a] / med[b]:.2f}×"
# "N× faster" for a speed-up, "N× slower" otherwise.
vs = lambda a, b: (f"{med[a] / med[b]:.2f}× faster" if med[a] >= med[b]
                   else f"{med[b] / med[a]:.2f}× slower")
met = lambda ok: "**met**" if ok else "**not met**"
print("## Many images and archives\n")
print("Generated by `bench/batch.sh --write` (issue 12); do not edit by hand. Loopback, the CNCF distribution "
      f"registry, {runs} round(s) interleaved, medians (min–max). Every pull `--no-cache` into a fresh directory; "
      "the first mirror accepts connections and never answers (`--response-timeout 1`). "
      f"Machine: {os.cpu_count()} × {model}, kernel {platform.release()}; ocimirror at commit {rev}.\n")
print("| case | time | |")
print("|---|--:|---|")
print(f"| ten images sharing a 64 MiB base, one run | {s('batch')} | |")
print(f"| the same, ten runs, no host memory (`--fresh`) | {s('ten_fresh')} | one run is {vs('ten_fresh', 'batch')} |")
print(f"| the same, ten runs, with host memory (the hung mirror known from earlier runs) | {s('ten_memory')} | one run is {vs('ten_memory', 'batch')} |")
print(f"| the same, ten `skopeo copy` runs (no mirror) | {s('ten_skopeo')} | one ocimirror run is {vs('ten_skopeo', 'batch')} |")
print(f"| 4 × 64 MiB image, layout pull | {s('layout')} | |")
print(f"| the same, `pull -o -` piped into `tar -t` | {s('pipe')} | {x('pipe', 'layout')} the layout pull |")
print(f"| the same, `pull -o -` into /dev/null (nobody reads it) | {s('null')} | {x('null', 'layout')} the layout pull |")
print(f"| the same, `pull -o FILE.tar` | {s('file')} | {x('file', 'layout')} the layout pull |")
print(f"| the same, layout pull then `tar -c` into `tar -t` | {s('layout_tar')} | {x('layout_tar', 'layout')} |")
print(f"| 4 × 16 MiB image over 40 ms RTT, 200 Mbit/s, layout pull | {s('wan_layout')} | |")
print(f"| the same, `pull -o -` piped into `tar -t` | {s('wan_pipe')} | {x('wan_pipe', 'wan_layout')} the layout pull |")
print()
print(f"Into /dev/null, `pull -o -` is {x('null', 'layout')} the layout pull. Piped into `tar -t` it is "
      f"{x('pipe', 'layout')}: a blob goes into the pipe only once it is verified, and the four layers, "
      "downloaded side by side, are verified at nearly the same moment, so most of the archive goes through "
      "the pipe after the last of them, at the pace the reader takes it (`tar -t` used "
      f"{reader:.2f} CPU-s per run reading it). Pulling then tarring into the same reader is "
      f"{x('layout_tar', 'layout')}. `-o FILE.tar` without the cache writes each layer once, straight to its "
      "place in the tar.\n")
print("| target | measured | |")
print("|---|---|---|")
r = med["ten_fresh"] / med["batch"]
print(f"| one run of ten ≥ 2× faster than ten runs through a mirror that never answers | {r:.2f}× | {met(r >= 2)} |")
for case, base, where in [("wan_pipe", "wan_layout", "over the WAN-like link, `-o -` read by `tar -t`"),
                          ("file", "layout", "on loopback, `-o FILE.tar`"),
                          ("null", "layout", "on loopback, `-o -` (into /dev/null)")]:
    a = med[case] / med[base]
    print(f"| archive output ≤ 1.1× the layout pull, {where} | {a:.2f}× | {met(a <= 1.1)} |")
print(f"| (not a target) on loopback, `-o -` read by `tar -t` | {x('pipe', 'layout')} the layout pull, "
      f"{x('pipe', 'layout_tar')} pull then `tar -c` | the pipe after the last verification, see above |")
print(f"| peak RSS unchanged | batch of ten {rss_batch / 1024:.1f} MiB, one image {rss_single / 1024:.1f} MiB, `-o -` {rss_pipe / 1024:.1f} MiB | {met(rss_batch <= rss_single + 8 * 1024)} |")
PY
cat "$WORK/section.md"
if [ "$WRITE" = 1 ]; then
    python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import mdsection
mdsection.put_section(sys.argv[2], mdsection.BATCH_HEADING, open(sys.argv[3]).read())' \
        "$BENCH" "$ROOT/BENCHMARKS.md" "$WORK/section.md"
    log "wrote the section into BENCHMARKS.md"
fi
