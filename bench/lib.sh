# Helpers shared by bench/run.sh, batch.sh, cache.sh (loopback) and
# bench/wan.sh (WAN-like), sourced, not run. What the caller provides:
#   ROOT, BENCH    the repository and its bench/ directory
#   KEEP           1 to keep the work directory at exit (default 0)
#   CMD_TIMEOUT    seconds any one pushing command may take
#   CACHE_TIMEOUT  seconds a pull-through cache may take to store what it served
# What bench_init sets up: WORK (the work directory), PIDS (processes to
# stop at exit; add yours), a private HOME, and the cleanup trap.
# Registries: start_registry sets REG_PORT and REG_PID; push/gen push to UP.
# start_hung_mirror sets HUNG_PORT: a mirror that never answers.

log() { printf '[%s %s] %s\n' "${BENCH_NAME:-bench}" "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

need_tools() { # TOOL...
    local tool
    for tool in "$@"; do
        command -v "$tool" >/dev/null || die "$tool is not on PATH"
    done
}

# GNU time is what reports peak RSS (%M, in KiB); bash's `time` cannot.
need_gnu_time() {
    if [ ! -x /usr/bin/time ]; then
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
            log "installing GNU time (for peak RSS)"
            apt-get install -y -qq time >/dev/null || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }
        fi
        [ -x /usr/bin/time ] || die "/usr/bin/time (GNU time) is needed for peak RSS: apt-get install time"
    fi
}

# bench_init PREFIX: the work directory, the cleanup trap and a private
# environment. Every tool gets a private HOME and TMPDIR: no user config,
# auth.json or registries.conf leaks in, and temporary files stay in $WORK.
bench_init() {
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
    PIDS=()
    trap bench_cleanup EXIT
    trap 'exit 130' INT TERM
    mkdir -p "$WORK/home/.config" "$WORK/out"
    export HOME="$WORK/home" TMPDIR="$WORK/home" XDG_CONFIG_HOME="$WORK/home/.config" \
        XDG_CACHE_HOME="$WORK/home/.cache" XDG_RUNTIME_DIR="$WORK/home" DOCKER_CONFIG="$WORK/home/.docker"
    unset REGISTRY_AUTH_FILE OCIMIRROR_CONFIG OCIMIRROR_MIRRORS OCIMIRROR_HOSTS_DIR \
        OCIMIRROR_REGISTRIES_CONF OCIMIRROR_OUTPUT OCIMIRROR_LOG OCIMIRROR_CACHE_DIR OCIMIRROR_CACHE \
        CONTAINERS_REGISTRIES_CONF 2>/dev/null || true
}

bench_cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    if [ "${KEEP:-0}" = 1 ]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}

# start_hung_mirror: a mirror that accepts connections and never answers:
# a listener that holds every connection open, silent. Sets HUNG_PORT. It
# ends with the benchmark (cleanup kills it), after an hour at the latest.
start_hung_mirror() {
    python3 - "$WORK/hung.port" <<'PY' &
import socket, sys, threading, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(128)
open(sys.argv[1], "w").write(str(s.getsockname()[1]))
held = []
def accept():
    while True:
        held.append(s.accept()[0])
threading.Thread(target=accept, daemon=True).start()
time.sleep(3600)
PY
    PIDS+=($!)
    until [ -s "$WORK/hung.port" ]; do sleep 0.05; done
    HUNG_PORT=$(cat "$WORK/hung.port")
}

# wait_load L: wait (up to 10 min) for the 1-minute load average to drop below L.
wait_load() {
    local deadline=$((SECONDS + 600))
    while python3 -c "import os,sys; sys.exit(os.getloadavg()[0] < float(sys.argv[1]))" "$1"; do
        [ $SECONDS -lt $deadline ] || { log "load still >= $1 after 10 min; starting anyway"; break; }
        log "load $(cut -d' ' -f1-3 /proc/loadavg); waiting for < $1"
        sleep 15
    done
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# start_registry NAME [REMOTE_URL [keep]]: a distribution process on a free
# loopback port with filesystem storage under $WORK/NAME; a pull-through
# cache of REMOTE_URL when given; "keep" keeps the storage of an earlier
# start (a warm cache). Sets REG_PORT and REG_PID.
start_registry() {
    local name=$1 remote=${2:-} dir="$WORK/$1" attempt port pid
    [ "${3:-}" = keep ] || rm -rf "$dir"
    mkdir -p "$dir/storage"
    # The port is found by binding 0 and letting go: another process may
    # grab it first, so retry a few times.
    for attempt in 1 2 3; do
        port=$(free_port)
        {
            echo "version: 0.1"
            echo "log: {level: error, accesslog: {disabled: true}}"
            echo "storage:"
            echo "  filesystem: {rootdirectory: \"$dir/storage\"}"
            echo "  maintenance: {uploadpurging: {enabled: false}}"
            echo "http: {addr: \"127.0.0.1:$port\", secret: ocimirror-bench}"
            [ -z "$remote" ] || echo "proxy: {remoteurl: \"$remote\"}"
        } >"$dir/config.yml"
        # REGISTRY_* variables would override the config file.
        env $(env | sed -n 's/^\(REGISTRY_[^=]*\)=.*/-u \1/p') \
            docker-registry serve "$dir/config.yml" >"$dir/registry.log" 2>&1 &
        pid=$!
        PIDS+=("$pid")
        for _ in $(seq 100); do
            kill -0 "$pid" 2>/dev/null || break
            if [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/v2/")" = 200 ]; then
                REG_PORT=$port; REG_PID=$pid
                return 0
            fi
            sleep 0.1
        done
        kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true
    done
    cat "$dir/registry.log" >&2
    die "registry $name did not start"
}

stop_registry() { # PID
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
    unlist "$1"
}

# unlist PID: PID has been waited for, so cleanup must not signal it (the
# number may belong to another process by then).
unlist() {
    local pid keep=()
    for pid in "${PIDS[@]}"; do [ "$pid" = "$1" ] || keep+=("$pid"); done
    PIDS=("${keep[@]}")
}

meta_field() { # NAME FIELD: a top-level field of $WORK/src/NAME/bench.json
    python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$WORK/src/$1/bench.json" "$2"
}

SKOPEO_Q=(--insecure-policy)
push() { # NAME TAG: push $WORK/src/NAME (generated) to $UP/bench/NAME:v1, digests intact
    local name=$1 all=()
    [ "$(meta_field "$name" mediaType)" = application/vnd.oci.image.index.v1+json ] && all=(--all)
    timeout "$CMD_TIMEOUT" skopeo "${SKOPEO_Q[@]}" copy --quiet --preserve-digests "${all[@]}" \
        --dest-tls-verify=false "oci:$WORK/src/$name:$2" "docker://$UP/bench/$name:v1" \
        || die "pushing $name failed"
    # The registry must serve the very manifest we generated.
    local want got
    want=$(meta_field "$name" top)
    got=$(curl -fsS -I -H "Accept: application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json" \
        "http://$UP/v2/bench/$name/manifests/v1" | tr -d '\r' | sed -n 's/^[Dd]ocker-[Cc]ontent-[Dd]igest: //p')
    [ "$got" = "$want" ] || die "$name: registry serves $got, generated $want"
}

gen() { # NAME ARGS...: generate $WORK/src/NAME and push it
    local name=$1; shift
    log "generating and pushing $name"
    python3 "$BENCH/genimage.py" "$@" "$WORK/src/$name" bench || die "generating $name failed"
    push "$name" bench
    # The registry has its own copy now; the source layout only costs disk.
    find "$WORK/src/$name/blobs" -type f -size +1M -delete
}

# blobs NAME FIELD: the host platform's blobs (config first) of image NAME,
# one per line: "digest" or "digest size".
blobs() {
    python3 - "$WORK/src/$1/bench.json" "$2" <<'EOF'
import json, sys
meta = json.load(open(sys.argv[1]))
for b in meta["platforms"]["linux/amd64"]["blobs"]:
    print(b["digest"] if sys.argv[2] == "digest" else f'{b["digest"]} {b["size"]}')
EOF
}

# wait_cached PROXY_DIR NAME: the pull-through cache stores a blob in a
# goroutine of its own, after or while serving it; wait (up to the caller's
# CACHE_TIMEOUT) until it has every blob of the image, so that a "cached"
# pull really is served from its storage.
wait_cached() {
    local v2="$1/storage/docker/registry/v2" digest hex deadline=$((SECONDS + CACHE_TIMEOUT))
    while read -r digest; do
        hex=${digest#sha256:}
        until [ -f "$v2/blobs/sha256/${hex:0:2}/$hex/data" ] \
            && [ -f "$v2/repositories/bench/$2/_layers/sha256/$hex/link" ]; do
            [ $SECONDS -lt $deadline ] || die "the proxy did not cache bench/$2@$digest within ${CACHE_TIMEOUT}s"
            sleep 0.05
        done
    done < <(blobs "$2" digest)
}

# proc_ticks PID: CPU time (utime + stime, clock ticks) of a process so
# far; 0 once it is gone.
proc_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }

# parse_bench_args ARGS...: the options of the benchmarks that write one
# section (--runs N, --no-build, --write, --keep, --help, which prints the
# script's header comment). Sets RUNS (5), BUILD, WRITE and KEEP.
parse_bench_args() {
    RUNS=5 BUILD=1 WRITE=0 KEEP=${KEEP:-0}
    while [ $# -gt 0 ]; do
        case "$1" in
            --runs) RUNS="$2"; shift ;;
            --no-build) BUILD=0 ;;
            --write) WRITE=1 ;;
            --keep) KEEP=1 ;;
            -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
            *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
        esac
        shift
    done
    case "$RUNS" in ''|*[!0-9]*) die "--runs takes a number" ;; esac
    [ "$RUNS" -ge 1 ] && [ "$RUNS" -le 50 ] || die "--runs must be 1..50"
}

# release_binaries: builds ocimirror and examples/wan_relay (unless
# --no-build) and sets OCIMIRROR and RELAY to them.
release_binaries() {
    if [ "$BUILD" = 1 ]; then
        (cd "$ROOT" && cargo build --release --quiet && cargo build --release --quiet --example wan_relay) \
            || die "release build failed"
    fi
    OCIMIRROR="$ROOT/target/release/ocimirror"
    RELAY="$ROOT/target/release/examples/wan_relay"
    local bin
    for bin in "$OCIMIRROR" "$RELAY"; do [ -x "$bin" ] || die "$bin is missing (build it, or drop --no-build)"; done
}
