#!/usr/bin/env bash
# Side-by-side pull benchmark for ocimirror (issue 5).
#
# Starts a CNCF distribution registry on loopback, pushes generated images to
# it, and times, in one run and interleaved round by round (so that load from
# other processes hits every tool alike):
#   - ocimirror pull, skopeo copy docker:// -> oci:, and a raw-wire curl
#     baseline (no verification), cold, for three images: ~500 MiB in four
#     layers, ~150 small layers, and one platform of a multi-arch index;
#   - warm pulls (everything already present) for ocimirror and skopeo;
#   - ocimirror through a distribution pull-through proxy, cold and cached;
#   - ocimirror with a mirror in front that refuses connections, and one
#     that accepts connections and never answers;
#   - ocimirror's peak RSS for a 100 MiB layer and a 1 GiB layer.
# Then prints medians, ratios and peak RSS as markdown (bench/report.py) and,
# with --write, writes BENCHMARKS.md at the repository root.
#
# Usage: bench/run.sh [--write] [--runs N] [--no-1g] [--wait-load LOAD]
#                     [--no-build] [--keep]
#   --write          also write BENCHMARKS.md
#   --runs N         measured runs per scenario (default 5, at least 5 for --write)
#   --no-1g          skip the 1 GiB peak-RSS case (saves ~1 min and 2 GiB of disk writes)
#   --wait-load L    before starting, wait (up to 10 min) for the 1-minute load
#                    average to drop below L: the machine is shared
#   --no-build       use the existing target/release/ocimirror
#   --keep           keep the work directory (registry storage, logs) for a look
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH="$ROOT/bench"
RUNS=5
WRITE=0
ONE_GIB=1
WAIT_LOAD=""
BUILD=1
KEEP=0
# Upper bounds so a wedged tool cannot hang the run: per command, and for the
# proxy to finish caching what it served.
CMD_TIMEOUT=300
CACHE_TIMEOUT=120

while [ $# -gt 0 ]; do
    case "$1" in
        --write) WRITE=1 ;;
        --runs) RUNS="$2"; shift ;;
        --no-1g) ONE_GIB=0 ;;
        --wait-load) WAIT_LOAD="$2"; shift ;;
        --no-build) BUILD=0 ;;
        --keep) KEEP=1 ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done
case "$RUNS" in ''|*[!0-9]*) echo "--runs takes a number" >&2; exit 2 ;; esac
if [ "$RUNS" -lt 1 ] || [ "$RUNS" -gt 50 ]; then echo "--runs must be 1..50" >&2; exit 2; fi
if [ "$WRITE" = 1 ] && [ "$RUNS" -lt 5 ]; then
    echo "--write needs --runs of at least 5 (the issue asks for medians of >= 5)" >&2; exit 2
fi

BENCH_NAME=bench
# shellcheck source=bench/lib.sh
. "$BENCH/lib.sh"

need_gnu_time
need_tools docker-registry skopeo curl python3 timeout cargo

if [ "$BUILD" = 1 ]; then
    log "cargo build --release"
    (cd "$ROOT" && cargo build --release --quiet) || die "release build failed"
fi
OCIMIRROR="$ROOT/target/release/ocimirror"
[ -x "$OCIMIRROR" ] || die "$OCIMIRROR is missing (build it, or drop --no-build)"
# Versions now, while HOME is still the user's (rustup finds its toolchains there).
RUSTC_VERSION=$(rustc --version 2>/dev/null || echo unknown)
GIT_REV=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
git -C "$ROOT" diff --quiet HEAD -- src 2>/dev/null || GIT_REV="$GIT_REV with uncommitted changes in src/"
# The load before the benchmark adds its own (a registry and a client keep
# about two runnable while it measures).
LOAD_BEFORE=$(cut -d' ' -f1 /proc/loadavg)

# ---------------------------------------------------------------- work dir
bench_init ocimirror-bench
[ -z "$WAIT_LOAD" ] || wait_load "$WAIT_LOAD"

# ---------------------------------------------------------------- images
start_registry upstream
UP="127.0.0.1:$REG_PORT"
UP_PID=$REG_PID
log "registry on $UP"

# A port nothing listens on: the "dead mirror". Bound and released, so the
# kernel answers a connect with RST straight away.
DEAD_PORT=$(free_port)

start_hung_mirror

IMAGES=(large small multi rss100)
gen large image --layers 125M,125M,125M,125M
gen small image --small 150 --min 4K --max 64K
gen multi index --platforms linux/amd64,linux/arm64,linux/arm/v7 --layers 16M,8M,4M,1M
gen rss100 image --layers 100M
if [ "$ONE_GIB" = 1 ]; then
    gen rss1g image --layers 1G
    IMAGES+=(rss1g)
fi

# ---------------------------------------------------------------- measuring
RESULTS="$WORK/results.tsv"
: >"$RESULTS"
ROUND=0

# The upstream registry's CPU time so far, in clock ticks (utime + stime):
# on a 2-core machine it competes with the client for the same cores, so the
# report shows how much of each run's CPU went to the registry.
registry_ticks() { proc_ticks "$UP_PID"; }

# measure SCENARIO CMD...: runs CMD once under GNU time and a timeout, and
# appends "scenario round seconds peak_rss_kib client_cpu_s registry_cpu_s"
# to $RESULTS. Wall time comes from bash's microsecond clock (GNU time's %e
# has only 10 ms resolution); peak RSS and user+system CPU from GNU time.
measure() {
    local scenario=$1; shift
    local t0 t1 us r0 r1 rc=0
    r0=$(registry_ticks)
    t0=${EPOCHREALTIME/./}  # microseconds
    timeout "$CMD_TIMEOUT" /usr/bin/time -f '%M %U %S' -o "$WORK/time" "$@" >"$WORK/cmd.out" 2>&1 || rc=$?
    t1=${EPOCHREALTIME/./}
    r1=$(registry_ticks)
    if [ "$rc" != 0 ]; then
        cat "$WORK/cmd.out" >&2
        die "$scenario failed (exit $rc): $*"
    fi
    us=$((t1 - t0))
    printf '%s\t%s\t%d.%06d\t%s\n' "$scenario" "$ROUND" $((us / 1000000)) $((us % 1000000)) \
        "$(tail -1 "$WORK/time" | awk -v reg=$((r1 - r0)) -v hz="$(getconf CLK_TCK)" \
            '{printf "%s\t%.2f\t%.2f", $1, $2 + $3, reg / hz}')" >>"$RESULTS"
}

# tool_cmd TOOL NAME DIR [EXTRA...]: sets CMD to the command that pulls image
# NAME (its linux/amd64 image for the index) into DIR with TOOL.
#   ocimirror     ocimirror pull (EXTRA: more ocimirror arguments, e.g. --mirror)
#   skopeo        skopeo copy docker:// -> oci:, digests unchanged
#   curl-par      the raw-wire baseline: the same blobs (config and layers, no
#                 manifests), no verification, one curl fetching them all at once
#   curl-seq      the same with one curl fetching them in sequence over one
#                 keep-alive connection
#   curl-par+sync curl-par, then fsync each file (coreutils `sync FILE...`): the
#                 wire once the data must be durable, as ocimirror's is before
#                 it names a blob. Informational: the targets are against curl.
tool_cmd() {
    local tool=$1 name=$2 dir=$3 digest urls=()
    shift 3
    case "$tool" in
        # --no-cache --fresh: every run here starts from nothing, as the
        # scenarios say (the blob cache and host memory have bench/cache.sh).
        ocimirror) CMD=("$OCIMIRROR" pull -q --no-cache --fresh "$UP/bench/$name:v1" -o "$dir" "$@") ;;
        skopeo) CMD=(skopeo "${SKOPEO_Q[@]}" copy --quiet --src-tls-verify=false
                     "docker://$UP/bench/$name:v1" "oci:$dir:v1") ;;
        curl-*)
            while read -r digest; do
                urls+=(-o "$dir/${digest#sha256:}" "http://$UP/v2/bench/$name/blobs/$digest")
            done < <(blobs "$name" digest)
            case "$tool" in
                curl-seq) CMD=(curl -fsS --create-dirs "${urls[@]}") ;;
                curl-par) CMD=(curl -fsS --create-dirs --parallel --parallel-max 16 "${urls[@]}") ;;
                curl-par+sync) CMD=(sh -c 'dir=$1; shift; curl "$@" && sync "$dir"/*' sh "$dir"
                                    -fsS --create-dirs --parallel --parallel-max 16 "${urls[@]}") ;;
            esac ;;
        *) die "unknown tool $tool" ;;
    esac
}

# check_output DIR NAME: the pull left every blob of the image in DIR (a
# layout, or bare files named by hex digest for curl) with its size. A tool
# that silently did nothing must not look fast.
check_output() {
    local digest size f
    while read -r digest size; do
        f="$1/blobs/sha256/${digest#sha256:}"
        [ -d "$1/blobs" ] || f="$1/${digest#sha256:}"
        [ -f "$f" ] && [ "$(stat -c %s "$f")" = "$size" ] \
            || die "$2: $f missing or of the wrong size after a pull"
    done < <(blobs "$2" sizes)
}

# cold NAME TOOL [EXTRA...]: one cold pull into a fresh directory, measured
# as NAME/TOOL/cold (or NAME/TOOL/$LABEL), checked, then removed at once
# (which also drops its dirty pages, so one run's write-back does not land
# in the next run's time).
LABEL=cold
cold() {
    local name=$1 tool=$2 dir="$WORK/out/cold"
    shift 2
    rm -rf "$dir"
    tool_cmd "$tool" "$name" "$dir" "$@"
    measure "$name/$tool/$LABEL" "${CMD[@]}"
    check_output "$dir" "$name"
    rm -rf "$dir"
}

# warm NAME TOOL: a pull into a layout that already holds the image.
warm() {
    tool_cmd "$2" "$1" "$WORK/out/warm-$2-$1"
    measure "$1/$2/warm" "${CMD[@]}"
}

# The warm layouts are filled once, before the rounds.
for name in large small multi; do
    for tool in ocimirror skopeo; do
        tool_cmd "$tool" "$name" "$WORK/out/warm-$tool-$name"
        "${CMD[@]}" >/dev/null || die "filling the warm layout for $tool failed"
    done
done

LOADS="$WORK/loads.txt"
: >"$LOADS"
log "measuring: $RUNS rounds"
for ROUND in $(seq "$RUNS"); do
    log "round $ROUND/$RUNS (load $(cut -d' ' -f1-3 /proc/loadavg))"
    cut -d' ' -f1 /proc/loadavg >>"$LOADS"

    # Cold pulls: ocimirror, skopeo, the wire.
    for tool in ocimirror skopeo curl-par curl-par+sync; do cold large $tool; done
    for tool in ocimirror skopeo curl-seq curl-par; do cold small $tool; done
    for tool in ocimirror skopeo curl-par; do cold multi $tool; done

    # Warm pulls: everything is already in the layout.
    for name in large small multi; do
        warm "$name" ocimirror
        warm "$name" skopeo
    done

    # A mirror that refuses connections, in front of the registry, right
    # after the same pull without it (the report takes the median of the
    # per-round differences). The two quick images: on the 500 MiB one the
    # run-to-run noise is larger than what is being measured.
    for name in multi small; do
        LABEL=no-mirror; cold "$name" ocimirror
        LABEL=dead-mirror; cold "$name" ocimirror --mirror "http://127.0.0.1:$DEAD_PORT"
    done
    # A mirror that never answers costs its response timeout (default 5 s),
    # once per run, not once per blob: the small image has 151 blobs.
    LABEL=hung-mirror; cold small ocimirror --mirror "http://127.0.0.1:$HUNG_PORT"
    LABEL=cold

    # Through a pull-through cache: a fresh one per round, so that its first
    # pull really is cold (it fetches from upstream while serving).
    start_registry proxy "http://$UP"
    PROXY_PID=$REG_PID
    for name in large small; do
        LABEL=proxy-cold
        cold "$name" ocimirror --mirror "http://127.0.0.1:$REG_PORT"
        wait_cached "$WORK/proxy" "$name"
        LABEL=proxy-cached
        cold "$name" ocimirror --mirror "http://127.0.0.1:$REG_PORT"
    done
    stop_registry "$PROXY_PID"
    rm -rf "$WORK/proxy"
    LABEL=cold

    # Peak RSS against layer size.
    cold rss100 ocimirror
    [ "$ONE_GIB" = 0 ] || cold rss1g ocimirror
done
cut -d' ' -f1 /proc/loadavg >>"$LOADS"
log "done measuring"

# ---------------------------------------------------------------- report
META="$WORK/meta.json"
python3 - "$META" <<EOF
import json, os, platform, subprocess, sys
def out(*cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout.strip()
    except Exception as e:
        return f"unknown ({e})"
model = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "unknown")
mem = next((l.split(":", 1)[1].strip() for l in open("/proc/meminfo") if l.startswith("MemTotal")), "unknown")
loads = [float(x) for x in open("$LOADS").read().split()]
# SHA-256 throughput of one core (OpenSSL, SHA instructions if the CPU has
# them): what verifying costs per byte here, for the report's notes.
def sha256_mb_s():
    text = out("openssl", "speed", "-evp", "sha256", "-bytes", "262144", "-seconds", "1")
    for line in text.splitlines():
        if line.startswith("sha256") and line.endswith("k"):
            return float(line.split()[-1][:-1]) / 1000  # kB/s (1000 bytes) -> MB/s
    return None
json.dump({
    "nproc": os.cpu_count(),
    "cpu": model,
    "memory": mem,
    "kernel": platform.release(),
    "loads": loads,
    "load_before": float("$LOAD_BEFORE"),
    "runs": $RUNS,
    "sha256_mb_s": sha256_mb_s(),
    "one_gib": bool($ONE_GIB),
    "versions": {
        "ocimirror": out("$OCIMIRROR", "--version") + " (commit $GIT_REV)",
        "rustc": "$RUSTC_VERSION",
        "skopeo": out("skopeo", "--version"),
        "distribution": out("docker-registry", "--version"),
        "curl": out("curl", "--version").splitlines()[0],
    },
    "sizes": {n: sum(b["size"] for b in json.load(open(f"$WORK/src/{n}/bench.json"))["platforms"]["linux/amd64"]["blobs"])
              for n in "${IMAGES[*]}".split()},
    "counts": {n: len(json.load(open(f"$WORK/src/{n}/bench.json"))["platforms"]["linux/amd64"]["blobs"])
               for n in "${IMAGES[*]}".split()},
}, open(sys.argv[1], "w"), indent=2)
EOF
if [ "$WRITE" = 1 ]; then
    python3 "$BENCH/report.py" "$RESULTS" "$META" --write "$ROOT/BENCHMARKS.md"
    log "wrote $ROOT/BENCHMARKS.md"
else
    python3 "$BENCH/report.py" "$RESULTS" "$META"
fi
