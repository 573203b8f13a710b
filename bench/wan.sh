#!/usr/bin/env bash
# WAN-like pull benchmark (issue 15): ocimirror pull, skopeo copy and
# containerd's `ctr content fetch`, side by side in each round (the order
# rotates by round), through a relay of our own (examples/wan_relay.rs)
# that adds latency and caps each connection's throughput, on loopback.
#
# Scenarios (all cold: a fresh output directory, a fresh ctr namespace):
#   big        ~480 MiB in 4 layers (largest 256 MiB), 40 ms RTT, 200 Mbit/s per connection
#   small      40 layers of 16-256 KiB, 80 ms RTT ("the far registry"), direct
#   near       small through a near mirror (a distribution pull-through cache
#              at 2 ms RTT that already holds the image) in front of the far registry
#   near-cold  the same, the cache empty (fresh each run): a cache miss
#   ns404      small through an old mirror (2 ms) that answers 404 to any
#              request with a query string, as one not knowing `ns=` might
#   refused    small through a mirror that refuses connections
#   hung       small through a mirror that accepts connections and never answers
#   local      small through the relay with no delay and no cap: what the
#              registry and the tool take on their own (the floors leave it out)
# Before the rounds, the relay measures itself: 8 parallel curls through it
# against the same straight to the registry, and the cap and delay it adds.
# Every relay logs connections, HTTP requests and bytes, so the report can
# say what each tool asked of each host. Then bench/wan_report.py prints
# the tables and, with --write, rewrites the "Over a WAN-like link" section
# of BENCHMARKS.md (nothing else in it).
#
# Usage: bench/wan.sh [--write] [--runs N] [--only S,S...] [--tools T,T...]
#                     [--wait-load L] [--no-build] [--keep]
#   --write          also write the WAN section of BENCHMARKS.md (needs --runs >= 5)
#   --runs N         rounds (default 5)
#   --only S,...     only these scenarios (names above; default all)
#   --tools T,...    only these of ocimirror, skopeo, ctr (default all)
#   --wait-load L    first wait (up to 10 min) for the 1-minute load average to drop below L
#   --no-build       use the existing release binaries (ocimirror, examples/wan_relay)
#   --keep           keep the work directory (relay logs, tool output) for a look
# Link shape: BIG_RTT_MS (40), BIG_RATE (200M, bits/s), FAR_RTT_MS (80),
# FAR_RATE (0: no cap), NEAR_RTT_MS (2), NEAR_RATE (0) from the environment.
# With the defaults it takes about 13 minutes (3 for a --runs 1 smoke run);
# every pull runs under a timeout, and no round starts after 25 minutes.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH="$ROOT/bench"
RUNS=5 WRITE=0 WAIT_LOAD="" BUILD=1 KEEP=0
ONLY="big,small,near,near-cold,ns404,refused,hung,local"
TOOLS="ocimirror,skopeo,ctr"
BIG_RTT_MS=${BIG_RTT_MS:-40} BIG_RATE=${BIG_RATE:-200M}
FAR_RTT_MS=${FAR_RTT_MS:-80} FAR_RATE=${FAR_RATE:-0}
NEAR_RTT_MS=${NEAR_RTT_MS:-2} NEAR_RATE=${NEAR_RATE:-0}
# Bounds, so that nothing can hang the run: seconds per pull (HUNG_TIMEOUT
# for the never-answering mirror, which skopeo and ctr may wait on
# forever), and minutes for the whole run: past it no new round starts.
CMD_TIMEOUT=180 HUNG_TIMEOUT=30 CACHE_TIMEOUT=60 MAX_MINUTES=25

while [ $# -gt 0 ]; do
    case "$1" in
        --write) WRITE=1 ;;
        --runs) RUNS="$2"; shift ;;
        --only) ONLY="$2"; shift ;;
        --tools) TOOLS="$2"; shift ;;
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
if [ "$WRITE" = 1 ] && [ "$RUNS" -lt 5 ]; then echo "--write needs --runs of at least 5" >&2; exit 2; fi
IFS=, read -r -a SCENARIOS <<<"$ONLY"
IFS=, read -r -a TOOL_LIST <<<"$TOOLS"
for s in "${SCENARIOS[@]}"; do
    case "$s" in big|small|near|near-cold|ns404|refused|hung|local) ;; *) echo "unknown scenario $s" >&2; exit 2 ;; esac
done
for t in "${TOOL_LIST[@]}"; do
    case "$t" in ocimirror|skopeo|ctr) ;; *) echo "unknown tool $t" >&2; exit 2 ;; esac
done

BENCH_NAME=wan
# shellcheck source=bench/lib.sh
. "$BENCH/lib.sh"
need_gnu_time
need_tools docker-registry skopeo curl python3 timeout cargo
[[ ",$TOOLS," != *,ctr,* ]] || need_tools containerd ctr

if [ "$BUILD" = 1 ]; then
    log "cargo build --release (ocimirror, examples/wan_relay)"
    (cd "$ROOT" && cargo build --release --quiet && cargo build --release --quiet --example wan_relay) \
        || die "release build failed"
fi
OCIMIRROR="$ROOT/target/release/ocimirror"
RELAY="$ROOT/target/release/examples/wan_relay"
for bin in "$OCIMIRROR" "$RELAY"; do [ -x "$bin" ] || die "$bin is missing (build it, or drop --no-build)"; done
RUSTC_VERSION=$(rustc --version 2>/dev/null || echo unknown)
GIT_REV=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
git -C "$ROOT" diff --quiet HEAD -- src examples 2>/dev/null || GIT_REV="$GIT_REV with uncommitted changes"
LOAD_BEFORE=$(cut -d' ' -f1 /proc/loadavg)

bench_init ocimirror-wan
[ -z "$WAIT_LOAD" ] || wait_load "$WAIT_LOAD"
RESULTS="$WORK/results.jsonl"
: >"$RESULTS"
HZ=$(getconf CLK_TCK)
# ticks_secs TICKS: clock ticks (from /proc) as CPU seconds, 2 decimals.
ticks_secs() { awk -v t="$1" -v hz="$HZ" 'BEGIN {printf "%.2f", t / hz}'; }

# ---------------------------------------------------------------- servers
start_registry upstream
UP="127.0.0.1:$REG_PORT" UP_PID=$REG_PID
log "registry on $UP"

# start_relay NAME ARGS...: a relay for the current run ($RUN), logging to
# $RUN/NAME.jsonl. Sets RELAY_PORT. Its lifetime is capped a little past
# the longest a pull may take, so it cannot outlive a wedged run for long.
RUN_RELAYS=()
start_relay() {
    local name=$1 pid; shift
    "$RELAY" --name "$name" --port-file "$RUN/$name.port" --log "$RUN/$name.jsonl" \
        --max-lifetime $((CMD_TIMEOUT + 60)) "$@" 2>>"$RUN/relay.err" &
    pid=$!
    PIDS+=("$pid")
    RUN_RELAYS+=("$name:$pid")
    for _ in $(seq 100); do
        [ -s "$RUN/$name.port" ] && { RELAY_PORT=$(cat "$RUN/$name.port"); return 0; }
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    cat "$RUN/relay.err" >&2
    die "relay $name did not start"
}

# stop_relays: once every connection has closed (a client gone, its FIN
# still crossing the delay), add up the relays' CPU into RELAY_CPU (s),
# then SIGTERM them.
stop_relays() {
    local entry pid ticks=0 opens closes
    for entry in "${RUN_RELAYS[@]}"; do
        for _ in $(seq 60); do
            opens=$(grep -c '"ev":"open"' "$RUN/${entry%%:*}.jsonl" || true)
            closes=$(grep -c '"ev":"close"' "$RUN/${entry%%:*}.jsonl" || true)
            [ "$opens" -gt "$closes" ] || break
            sleep 0.05
        done
    done
    for entry in "${RUN_RELAYS[@]}"; do
        pid=${entry#*:}
        ticks=$((ticks + $(proc_ticks "$pid")))
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        unlist "$pid"
    done
    RELAY_CPU=$(ticks_secs "$ticks")
    RUN_RELAYS=()
}

# containerd, for ctr: its own root, state and socket under $WORK, and
# isolated content sharing, so a blob fetched in one namespace is not
# there for the next: each run gets a namespace of its own (cold).
CTR_SOCK="$WORK/ctrd/containerd.sock"
CTRD_PID=""
start_containerd() {
    local d="$WORK/ctrd"
    mkdir -p "$d"
    cat >"$d/config.toml" <<EOF
version = 2
root = "$d/root"
state = "$d/state"
# Only the content, metadata and image services are used.
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$CTR_SOCK"
[ttrpc]
  address = "$CTR_SOCK.ttrpc"
[plugins."io.containerd.metadata.v1.bolt"]
  content_sharing_policy = "isolated"
EOF
    containerd --config "$d/config.toml" >"$d/containerd.log" 2>&1 &
    CTRD_PID=$!
    PIDS+=("$CTRD_PID")
    for _ in $(seq 100); do
        ctr -a "$CTR_SOCK" version >/dev/null 2>&1 && return 0
        kill -0 "$CTRD_PID" 2>/dev/null || break
        sleep 0.1
    done
    tail -20 "$d/containerd.log" >&2
    die "containerd did not start (it wants root; --tools ocimirror,skopeo does without)"
}
[[ ",$TOOLS," != *,ctr,* ]] || start_containerd

# ---------------------------------------------------------------- images
gen big image --layers 256M,128M,64M,32M
gen small image --small 40 --min 16K --max 256K

# The near mirror's cache, filled once through a proxy of the upstream;
# each run then starts a proxy on this storage (see setup near).
fill_cache() {
    local digest accept="application/vnd.oci.image.manifest.v1+json"
    start_registry nearcache "http://$UP"
    curl -fsS -o /dev/null -H "Accept: $accept" "http://127.0.0.1:$REG_PORT/v2/bench/small/manifests/v1" \
        || die "filling the near cache failed"
    while read -r digest; do
        curl -fsS -o /dev/null "http://127.0.0.1:$REG_PORT/v2/bench/small/blobs/$digest" || die "filling the near cache failed"
    done < <(blobs small digest)
    wait_cached "$WORK/nearcache" small
    stop_registry "$REG_PID"
}

[[ ",$ONLY," != *,near,* ]] || fill_cache

# ---------------------------------------------------------------- scenarios
# setup SCENARIO: starts this run's relays (and cache), and sets IMAGE, REF
# (what the tools pull), MIRROR ("" or a URL tried first) and RUN_PROXY (a
# registry to stop after the run, or "").
setup() {
    RUN_PROXY="" MIRROR="" IMAGE=small
    case "$1" in
        big)
            IMAGE=big
            start_relay registry --upstream "$UP" --rtt-ms "$BIG_RTT_MS" --rate "$BIG_RATE"
            REF="127.0.0.1:$RELAY_PORT/bench/big:v1"
            return ;;
        local)
            start_relay far --upstream "$UP" --rtt-ms 0 --rate 0
            REF="127.0.0.1:$RELAY_PORT/bench/small:v1"
            return ;;
    esac
    start_relay far --upstream "$UP" --rtt-ms "$FAR_RTT_MS" --rate "$FAR_RATE"
    REF="127.0.0.1:$RELAY_PORT/bench/small:v1"
    case "$1" in
        small) ;;
        near|near-cold)
            # The cache reaches the far registry through a relay of its own
            # (the same shape), so its requests are told apart from the
            # client's own.
            start_relay cache-far --upstream "$UP" --rtt-ms "$FAR_RTT_MS" --rate "$FAR_RATE"
            if [ "$1" = near ]; then
                start_registry nearcache "http://127.0.0.1:$RELAY_PORT" keep
                # A busy mirror has checked in with the far registry and
                # holds a connection to it: do that before the clock starts.
                curl -fsS -o /dev/null -I -H "Accept: application/vnd.oci.image.manifest.v1+json" \
                    "http://127.0.0.1:$REG_PORT/v2/bench/small/manifests/v1" \
                    || die "the near cache does not answer"
            else
                start_registry nearcold "http://127.0.0.1:$RELAY_PORT"
            fi
            RUN_PROXY=$REG_PID
            start_relay mirror --upstream "127.0.0.1:$REG_PORT" --rtt-ms "$NEAR_RTT_MS" --rate "$NEAR_RATE"
            MIRROR="http://127.0.0.1:$RELAY_PORT" ;;
        ns404)
            # The old mirror holds everything (it fronts the upstream itself).
            start_relay mirror --upstream "$UP" --rtt-ms "$NEAR_RTT_MS" --rate "$NEAR_RATE" --reject-query
            MIRROR="http://127.0.0.1:$RELAY_PORT" ;;
        refused)
            # Bound and released: the kernel refuses connections to it.
            MIRROR="http://127.0.0.1:$(free_port)" ;;
        hung)
            start_relay mirror --blackhole --rtt-ms "$NEAR_RTT_MS"
            MIRROR="http://127.0.0.1:$RELAY_PORT" ;;
    esac
}

# tool_cmd TOOL DIR: sets CMD, pulling $REF (through $MIRROR if set) into
# DIR, or for ctr into the namespace $NS.
tool_cmd() {
    local host=${REF%%/*}
    case "$1" in
        # --no-cache --fresh: every run cold, as the others' (no blob cache
        # and no host memory carried over from an earlier round).
        ocimirror)
            CMD=("$OCIMIRROR" pull -q --no-cache --fresh "$REF" -o "$2" ${MIRROR:+--mirror "$MIRROR"})
            ;;
        skopeo)
            # skopeo has no mirror flag: a registries.conf of its own, always
            # (none of the system's), naming the mirror when there is one.
            {
                echo 'unqualified-search-registries = []'
                if [ -n "$MIRROR" ]; then
                    printf '[[registry]]\nlocation = "%s"\ninsecure = true\n' "$host"
                    printf '[[registry.mirror]]\nlocation = "%s"\ninsecure = true\n' "${MIRROR#http://}"
                fi
            } >"$RUN/registries.conf"
            CMD=(skopeo "${SKOPEO_Q[@]}" --registries-conf "$RUN/registries.conf" copy --quiet
                 --src-tls-verify=false "docker://$REF" "oci:$2:v1") ;;
        ctr)
            CMD=(ctr -a "$CTR_SOCK" -n "$NS" content fetch --plain-http)
            if [ -n "$MIRROR" ]; then
                mkdir -p "$RUN/certs.d/$host"
                printf 'server = "http://%s"\n\n[host."%s"]\n  capabilities = ["pull", "resolve"]\n' \
                    "$host" "$MIRROR" >"$RUN/certs.d/$host/hosts.toml"
                CMD+=(--hosts-dir "$RUN/certs.d")
            fi
            CMD+=("$REF") ;;
    esac
}

# pulled TOOL DIR: every blob of $IMAGE arrived whole (in the layout, or
# for ctr in the namespace $NS). A tool that silently did less must not
# look fast.
pulled() {
    local digest size f listed=""
    [ "$1" != ctr ] || listed=$(ctr -a "$CTR_SOCK" -n "$NS" content ls -q 2>/dev/null) || return 1
    while read -r digest size; do
        if [ "$1" = ctr ]; then
            grep -qx "$digest" <<<"$listed" || return 1
            f="$WORK/ctrd/root/io.containerd.content.v1.content/blobs/sha256/${digest#sha256:}"
        else
            f="$2/blobs/sha256/${digest#sha256:}"
        fi
        [ -f "$f" ] && [ "$(stat -c %s "$f")" = "$size" ] || return 1
    done < <(blobs "$IMAGE" sizes)
}

# forget_ctr: drop the run's image and content, so that the store does not
# grow by 480 MiB a run and containerd's GC frees the blobs.
forget_ctr() {
    ctr -a "$CTR_SOCK" -n "$NS" images rm "$REF" >/dev/null 2>&1 || true
    ctr -a "$CTR_SOCK" -n "$NS" content ls -q 2>/dev/null | xargs -r ctr -a "$CTR_SOCK" -n "$NS" content rm >/dev/null 2>&1 || true
    ctr -a "$CTR_SOCK" namespaces rm "$NS" >/dev/null 2>&1 || true
}

# ---------------------------------------------------------------- measuring
# server_ticks: the CPU the registries have used so far (the upstream one,
# and this run's cache if it has one), in clock ticks: what serving the
# pull cost them, which the round-trip floors leave out.
server_ticks() {
    local ticks
    ticks=$(proc_ticks "$UP_PID")
    [ -z "$RUN_PROXY" ] || ticks=$((ticks + $(proc_ticks "$RUN_PROXY")))
    echo "$ticks"
}

# run_one SCENARIO TOOL: one cold pull with fresh relays, timed, checked,
# and recorded with what the relays saw. A tool that times out is not run
# again in that scenario (it would only wait out the timeout again).
declare -A SKIP=()
run_one() {
    local scen=$1 tool=$2 dir="$WORK/out/pull" limit=$CMD_TIMEOUT rc=0 status err="" t0 t1 d0=0 d1=0 s0 s1 pid
    RUN="$WORK/runs/$scen-$tool-$ROUND"
    NS="wan-$scen-$tool-$ROUND"
    mkdir -p "$RUN"
    rm -rf "$dir"
    setup "$scen"
    tool_cmd "$tool" "$dir"
    [ "$scen" != hung ] || limit=$HUNG_TIMEOUT
    [ -z "$CTRD_PID" ] || d0=$(proc_ticks "$CTRD_PID")
    s0=$(server_ticks)
    t0=$EPOCHREALTIME
    # In the background and waited for, so that a signal to the benchmark
    # is handled at once (the cleanup stops `timeout`, which stops the
    # pull) rather than once the pull is over.
    timeout "$limit" /usr/bin/time -f '%M %U %S' -o "$RUN/time" "${CMD[@]}" >"$RUN/out" 2>&1 &
    pid=$!
    PIDS+=("$pid")
    wait "$pid" || rc=$?
    t1=$EPOCHREALTIME
    unlist "$pid"
    [ -z "$CTRD_PID" ] || d1=$(proc_ticks "$CTRD_PID")
    s1=$(server_ticks)
    [ -z "$RUN_PROXY" ] || stop_registry "$RUN_PROXY"
    stop_relays
    if [ "$rc" = 124 ]; then status=timeout
    elif [ "$rc" != 0 ]; then status=failed
    elif pulled "$tool" "$dir"; then status=ok
    else status=incomplete
    fi
    # The last line a failing tool printed, without ctr's progress bars.
    [ "$status" = ok ] || [ "$status" = timeout ] || err=$(tr '\r' '\n' <"$RUN/out" | sed 's/\x1b\[[0-9;]*m//g' | grep -v '^[[:space:]]*$' | tail -1 | cut -c1-240 || true)
    [ "$tool" != ctr ] || forget_ctr
    rm -rf "$dir"
    python3 "$BENCH/wan_report.py" record "$RESULTS" "$t0" "$t1" "$RUN/time" \
        "scenario=$scen" "tool=$tool" "round=$ROUND" "status=$status" "exit=$rc" "limit=$limit" \
        "relay_cpu_s=$RELAY_CPU" "daemon_cpu_s=$(ticks_secs $((d1 - d0)))" \
        "server_cpu_s=$(ticks_secs $((s1 - s0)))" \
        "error=$err" -- "$RUN"/*.jsonl || die "recording $scen/$tool failed"
    log "  $scen/$tool: $status, $(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f s", b - a}')${err:+ ($err)}"
    [ "$status" != timeout ] || SKIP[$scen/$tool]=1
}

# ---------------------------------------------------------------- the relay itself
# parallel_get LABEL N URL RELAY_ARGS...: N transfers of URL at once (one
# connection each; through a fresh relay with RELAY_ARGS, or straight to
# the registry when there are none), recorded in $CHECKS.
CHECKS="$WORK/checks.jsonl"
: >"$CHECKS"
parallel_get() {
    local label=$1 n=$2 path=$3 url args=() i t0 t1 port=${UP#*:}
    shift 3
    RUN="$WORK/runs/check-$label"
    mkdir -p "$RUN"
    RELAY_CPU=0
    if [ $# -gt 0 ]; then start_relay relay --upstream "$UP" "$@"; port=$RELAY_PORT; fi
    url="http://127.0.0.1:$port$path"
    for i in $(seq "$n"); do args+=(-o /dev/null "$url"); done
    t0=$EPOCHREALTIME
    timeout "$CMD_TIMEOUT" curl -fsS --no-progress-meter --parallel --parallel-immediate --parallel-max "$n" \
        -w '%{size_download} %{speed_download} %{time_connect} %{time_starttransfer} %{time_total}\n' \
        "${args[@]}" >"$RUN/curl.out" || die "relay check $label: curl failed"
    t1=$EPOCHREALTIME
    [ $# -eq 0 ] || stop_relays
    python3 - "$CHECKS" "$label" "$t0" "$t1" "$RELAY_CPU" "$RUN/curl.out" "$*" <<'PY'
import json, sys
out, label, t0, t1, cpu, curl, args = sys.argv[1:]
rows = [[float(x) for x in l.split()] for l in open(curl) if l.strip()]
json.dump({"label": label, "wall": float(t1) - float(t0), "relay_cpu_s": float(cpu), "relay_args": args,
           "bytes": sum(r[0] for r in rows), "speeds": [r[1] for r in rows],
           "ttfb": [r[3] for r in rows]}, open(out, "a"))
open(out, "a").write("\n")
PY
}

# latency_probe RTT: small requests through a relay, each on a new
# connection, then several on one: what a round trip costs through it.
latency_probe() {
    local i urls=()
    RUN="$WORK/runs/check-latency"
    mkdir -p "$RUN"
    start_relay relay --upstream "$UP" --rtt-ms "$1"
    for i in 1 2 3 4 5; do urls+=("http://127.0.0.1:$RELAY_PORT/v2/"); done
    for i in 1 2 3; do
        curl -fsS -o /dev/null -w 'new %{time_connect} %{time_starttransfer} %{time_total}\n' "${urls[0]}"
    done >"$RUN/curl.out"
    curl -fsS -w 'reuse %{time_connect} %{time_starttransfer} %{time_total}\n' -o /dev/null -o /dev/null \
        -o /dev/null -o /dev/null -o /dev/null "${urls[@]}" >>"$RUN/curl.out"
    stop_relays
    python3 - "$CHECKS" "$1" "$RUN/curl.out" <<'PY'
import json, sys
out, rtt, curl = sys.argv[1:]
rows = [l.split() for l in open(curl) if l.strip()]
new = [float(r[2]) for r in rows if r[0] == "new"]
reuse = [float(r[3]) for r in rows if r[0] == "reuse"]
# curl's times are cumulative per transfer; on one connection, each later
# request costs its own total.
json.dump({"label": "latency", "rtt_ms": float(rtt), "new_conn_ttfb": new, "reuse_totals": reuse[1:]}, open(out, "a"))
open(out, "a").write("\n")
PY
}

relay_check() {
    local big128 big64
    big128=$(blobs big digest | sed -n 3p)  # config first, then 256, 128, 64, 32 MiB
    big64=$(blobs big digest | sed -n 4p)
    log "the relay itself: 8 parallel transfers, straight and through it"
    parallel_get direct 8 "/v2/bench/big/blobs/$big128"
    parallel_get relay 8 "/v2/bench/big/blobs/$big128" --rtt-ms 0
    parallel_get relay-rtt 8 "/v2/bench/big/blobs/$big128" --rtt-ms "$BIG_RTT_MS"
    parallel_get relay-capped 8 "/v2/bench/big/blobs/$big64" --rtt-ms "$BIG_RTT_MS" --rate "$BIG_RATE"
    latency_probe "$FAR_RTT_MS"
}
relay_check

DEADLINE=$((SECONDS + MAX_MINUTES * 60))
LOADS="$WORK/loads.txt"
: >"$LOADS"
ROUNDS_DONE=0
log "measuring: $RUNS rounds of ${SCENARIOS[*]} with ${TOOL_LIST[*]}"
for ROUND in $(seq "$RUNS"); do
    if [ $SECONDS -ge $DEADLINE ]; then
        log "past $MAX_MINUTES minutes: stopping after $ROUNDS_DONE rounds"
        break
    fi
    log "round $ROUND/$RUNS (load $(cut -d' ' -f1-3 /proc/loadavg))"
    cut -d' ' -f1 /proc/loadavg >>"$LOADS"
    for scen in "${SCENARIOS[@]}"; do
        # The order rotates by round: no tool always goes first.
        for i in "${!TOOL_LIST[@]}"; do
            tool=${TOOL_LIST[$(((i + ROUND - 1) % ${#TOOL_LIST[@]}))]}
            [ -z "${SKIP[$scen/$tool]:-}" ] || continue
            run_one "$scen" "$tool"
        done
    done
    ROUNDS_DONE=$ROUND
done
cut -d' ' -f1 /proc/loadavg >>"$LOADS"
log "done measuring ($SECONDS s in all)"

# ---------------------------------------------------------------- report
META="$WORK/meta.json"
# Values go in through the environment, not pasted into the Python.
export W_WORK="$WORK" W_LOADS="$LOADS" W_CHECKS="$CHECKS" W_OCIMIRROR="$OCIMIRROR" W_GIT_REV="$GIT_REV" \
    W_RUSTC="$RUSTC_VERSION" W_LOAD_BEFORE="$LOAD_BEFORE" W_RUNS="$RUNS" W_ROUNDS="$ROUNDS_DONE" \
    W_MAX_MINUTES="$MAX_MINUTES" W_SECONDS="$SECONDS" W_SCENARIOS="${SCENARIOS[*]}" W_TOOLS="${TOOL_LIST[*]}" \
    W_CMD_TIMEOUT="$CMD_TIMEOUT" W_HUNG_TIMEOUT="$HUNG_TIMEOUT" BIG_RTT_MS BIG_RATE FAR_RTT_MS FAR_RATE \
    NEAR_RTT_MS NEAR_RATE
python3 - "$META" <<'EOF'
import json, os, platform, subprocess, sys
e = os.environ
def out(*cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout.strip().splitlines()[0]
    except Exception as err:
        return f"unknown ({err})"
def image(name):
    blobs = json.load(open(f"{e['W_WORK']}/src/{name}/bench.json"))["platforms"]["linux/amd64"]["blobs"]
    return {"bytes": sum(b["size"] for b in blobs), "blobs": len(blobs), "largest": max(b["size"] for b in blobs)}
model = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "unknown")
mem = next((l.split(":", 1)[1].strip() for l in open("/proc/meminfo") if l.startswith("MemTotal")), "unknown")
json.dump({
    "nproc": os.cpu_count(), "cpu": model, "memory": mem, "kernel": platform.release(),
    "load_before": float(e["W_LOAD_BEFORE"]), "loads": [float(x) for x in open(e["W_LOADS"]).read().split()],
    "runs": int(e["W_RUNS"]), "rounds_done": int(e["W_ROUNDS"]), "max_minutes": int(e["W_MAX_MINUTES"]),
    "seconds": int(e["W_SECONDS"]), "scenarios": e["W_SCENARIOS"].split(), "tools": e["W_TOOLS"].split(),
    "timeouts": {"cmd": int(e["W_CMD_TIMEOUT"]), "hung": int(e["W_HUNG_TIMEOUT"])},
    "link": {"big_rtt_ms": float(e["BIG_RTT_MS"]), "big_rate": e["BIG_RATE"], "far_rtt_ms": float(e["FAR_RTT_MS"]),
             "far_rate": e["FAR_RATE"], "near_rtt_ms": float(e["NEAR_RTT_MS"]), "near_rate": e["NEAR_RATE"]},
    "images": {"big": image("big"), "small": image("small")},
    "checks": [json.loads(l) for l in open(e["W_CHECKS"]) if l.strip()],
    "versions": {
        "ocimirror": f"{out(e['W_OCIMIRROR'], '--version')} (commit {e['W_GIT_REV']})",
        "rustc": e["W_RUSTC"],
        "skopeo": out("skopeo", "--version"),
        "ctr": out("ctr", "--version"),
        "containerd": out("containerd", "--version"),
        "distribution": out("docker-registry", "--version"),
        "curl": out("curl", "--version"),
    },
}, open(sys.argv[1], "w"), indent=2)
EOF
if [ "$WRITE" = 1 ]; then
    python3 "$BENCH/wan_report.py" report "$RESULTS" "$META" --write "$ROOT/BENCHMARKS.md"
    log "wrote the WAN section of $ROOT/BENCHMARKS.md"
else
    python3 "$BENCH/wan_report.py" report "$RESULTS" "$META"
fi
