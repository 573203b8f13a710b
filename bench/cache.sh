#!/usr/bin/env bash
# What the blob cache and host memory buy (issue 13), on loopback:
#   - memory: with a first mirror that accepts connections and never answers,
#     the first run pays its response timeout; later runs within the TTL skip
#     it from host memory. Measured: each later run minus the same pull
#     without the mirror (target: under 50 ms).
#   - cache: pulling an image already in the blob cache into a new, empty
#     layout, against a warm pull (the image already in the layout)
#     (target: at most 1.5x).
# Every pull goes into a fresh directory; the cold ones are --no-cache.
#
# Usage: bench/cache.sh [--runs N] [--no-build] [--write]
#   --write   also write the "## Cache and host memory" section of BENCHMARKS.md
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
RUNS=5
BUILD=1
WRITE=0
while [ $# -gt 0 ]; do
    case "$1" in
        --runs) RUNS="$2"; shift ;;
        --no-build) BUILD=0 ;;
        --write) WRITE=1 ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done
case "$RUNS" in ''|*[!0-9]*) echo "--runs takes a number" >&2; exit 2 ;; esac
if [ "$RUNS" -lt 1 ] || [ "$RUNS" -gt 50 ]; then echo "--runs must be 1..50" >&2; exit 2; fi

log() { printf '[cache-bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }
for tool in docker-registry skopeo python3 timeout; do
    command -v "$tool" >/dev/null || die "$tool is not on PATH"
done
if [ "$BUILD" = 1 ]; then
    (cd "$ROOT" && cargo build --release --quiet) || die "release build failed"
fi
OCIMIRROR="$ROOT/target/release/ocimirror"
[ -x "$OCIMIRROR" ] || die "$OCIMIRROR is missing"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/ocimirror-cache-bench.XXXXXX")
PIDS=()
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$WORK/home/.config" "$WORK/out"
export HOME="$WORK/home" TMPDIR="$WORK/home" XDG_CONFIG_HOME="$WORK/home/.config" \
    XDG_CACHE_HOME="$WORK/home/.cache" XDG_RUNTIME_DIR="$WORK/home" DOCKER_CONFIG="$WORK/home/.docker"
unset REGISTRY_AUTH_FILE OCIMIRROR_CONFIG OCIMIRROR_MIRRORS OCIMIRROR_HOSTS_DIR \
    OCIMIRROR_REGISTRIES_CONF OCIMIRROR_OUTPUT OCIMIRROR_LOG OCIMIRROR_CACHE_DIR OCIMIRROR_CACHE 2>/dev/null || true

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$WORK/reg"
cat >"$WORK/reg/config.yml" <<YML
version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage:
  filesystem: {rootdirectory: "$WORK/reg/storage"}
http: {addr: "127.0.0.1:$port", secret: ocimirror-bench}
YML
env $(env | sed -n 's/^\(REGISTRY_[^=]*\)=.*/-u \1/p') docker-registry serve "$WORK/reg/config.yml" \
    >"$WORK/reg/log" 2>&1 &
PIDS+=($!)
UP="127.0.0.1:$port"
for _ in $(seq 100); do curl -fsS "http://$UP/v2/" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fsS "http://$UP/v2/" >/dev/null || die "registry did not start"

# A mirror that accepts connections and never answers (ends with the bench).
python3 - "$WORK/hung.port" <<'PY' &
import socket, sys, threading, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(64)
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
HUNG="http://127.0.0.1:$(cat "$WORK/hung.port")"

log "generating and pushing the image (4 x 32 MiB)"
python3 "$ROOT/bench/genimage.py" image "$WORK/src" bench --layers 32M,32M,32M,32M >/dev/null
skopeo --insecure-policy copy --quiet --preserve-digests --dest-tls-verify=false \
    "oci:$WORK/src:bench" "docker://$UP/bench/app:v1" || die "push failed"
REF="$UP/bench/app:v1"

# ms CMD...: runs it, prints its wall time in milliseconds.
ms() {
    local t0 t1
    t0=${EPOCHREALTIME/./}
    timeout 120 "$@" >/dev/null 2>"$WORK/err" || { cat "$WORK/err" >&2; die "failed: $*"; }
    t1=${EPOCHREALTIME/./}
    echo $(((t1 - t0) / 1000))
}
# A directory no run has used (called in subshells: no counter survives).
fresh() { echo "$WORK/out/$BASHPID.${EPOCHREALTIME/./}"; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : int((a[NR/2] + a[NR/2+1]) / 2)}'; }

log "memory: first run pays the timeout"
first=$(ms "$OCIMIRROR" pull -q --no-cache --response-timeout 1 --mirror "$HUNG" "$REF" -o "$(fresh)")
extra=()
for _ in $(seq "$RUNS"); do
    with=$(ms "$OCIMIRROR" pull -q --no-cache --response-timeout 1 --mirror "$HUNG" "$REF" -o "$(fresh)")
    without=$(ms "$OCIMIRROR" pull -q --no-cache "$REF" -o "$(fresh)")
    extra+=($((with - without)))
done
extra_median=$(printf '%s\n' "${extra[@]}" | median)

log "cache: into a new empty layout vs warm"
WARM=$(fresh)
"$OCIMIRROR" pull -q "$REF" -o "$WARM" >/dev/null
warm=(); cached=()
for _ in $(seq "$RUNS"); do
    warm+=($(ms "$OCIMIRROR" pull -q "$REF" -o "$WARM"))
    cached+=($(ms "$OCIMIRROR" pull -q "$REF" -o "$(fresh)"))
done
warm_median=$(printf '%s\n' "${warm[@]}" | median)
cached_median=$(printf '%s\n' "${cached[@]}" | median)
ratio=$(python3 -c "import sys; print(f'{int(sys.argv[1]) / max(int(sys.argv[2]), 1):.2f}')" "$cached_median" "$warm_median")

met() { python3 -c "import sys; print('**met**' if eval(sys.argv[1]) else '**not met**')" "$1"; }
memory_met=$(met "$extra_median < 50")
cache_met=$(met "$ratio <= 1.5")
cat >"$WORK/section.md" <<MD
## Cache and host memory

Generated by \`bench/cache.sh --write\` (issue 13); do not edit by hand. Loopback, the CNCF
distribution registry, a 4 × 32 MiB image, $RUNS run(s), medians. The hung mirror accepts
connections and never answers (\`--response-timeout 1\`); memory runs are \`--no-cache\`, each
into a fresh directory.

| scenario | result | target | |
| --- | --- | --- | --- |
| hung first mirror, first run | ${first} ms | pays the 1 s response timeout | |
| hung first mirror, later runs within the TTL, minus the same pull without it | ${extra_median} ms (each: ${extra[*]}) | < 50 ms | ${memory_met} |
| warm pull (image in the layout) | ${warm_median} ms | | |
| image in the blob cache, into a new empty layout | ${cached_median} ms (${ratio}× warm) | ≤ 1.5× warm | ${cache_met} |
MD
cat "$WORK/section.md"
if [ "$WRITE" = 1 ]; then
    python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import mdsection
mdsection.put_section(sys.argv[2], mdsection.CACHE_HEADING, open(sys.argv[3]).read())' \
        "$ROOT/bench" "$ROOT/BENCHMARKS.md" "$WORK/section.md"
    log "wrote the section into BENCHMARKS.md"
fi
