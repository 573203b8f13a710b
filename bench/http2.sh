#!/usr/bin/env bash
# HTTP/2 over TLS (issue 15): ocimirror as it ships (HTTP/2 where the
# server offers it, for manifests and blobs up to 256 KiB; bigger blobs and
# every range keep HTTP/1.1 connections of their own) against the same
# build with `[network] http2 = false`, side by side in each round (the
# order alternating), through our relay (examples/wan_relay.rs) in front
# of the CNCF distribution registry serving TLS (Go's server offers h2):
#   small  40 layers of 16-256 KiB, 80 ms RTT: one request per blob, where
#          every new HTTP/1.1 connection costs a TCP and a TLS handshake
#   big    ~480 MiB in 4 layers (largest 256 MiB), 40 ms RTT, 200 Mbit/s per
#          connection: its blobs never share a connection, so it must not move
# The certificate is made with openssl for 127.0.0.1 and trusted through
# the host's `ca_file`. The relay sees only TLS, so it reports connections
# and bytes, not requests. Every run is cold: `--no-cache --fresh`, a new
# output directory, a relay of its own.
#
# Usage: bench/http2.sh [--runs N] [--no-build] [--write] [--keep]
#   --write   also write the "## HTTP/2 over TLS" section of BENCHMARKS.md
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH="$ROOT/bench"
BENCH_NAME=http2-bench
CMD_TIMEOUT=120
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
parse_bench_args "$@"
[ "$WRITE" = 0 ] || [ "$RUNS" -ge 5 ] || die "--write needs --runs 5 or more"
need_tools docker-registry skopeo python3 timeout openssl curl
need_gnu_time
release_binaries
bench_init ocimirror-http2

# The images go in over plain HTTP; the same storage is then served over TLS.
start_registry upstream
UP="127.0.0.1:$REG_PORT"
gen small image --small 40 --min 16K --max 256K
gen big image --layers 256M,128M,64M,32M
stop_registry "$REG_PID"

log "starting the registry with TLS"
# A CA and a certificate it signs: webpki takes no self-signed end entity.
EC=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
{
    openssl req -x509 "${EC[@]}" -days 2 -subj /CN=ocimirror-bench-ca \
        -keyout "$WORK/ca.key" -out "$WORK/ca.pem" &&
    openssl req "${EC[@]}" -subj /CN=127.0.0.1 -keyout "$WORK/key.pem" -out "$WORK/cert.csr" &&
    printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' \
        >"$WORK/cert.ext" &&
    openssl x509 -req -in "$WORK/cert.csr" -CA "$WORK/ca.pem" -CAkey "$WORK/ca.key" \
        -CAcreateserial -days 2 -extfile "$WORK/cert.ext" -out "$WORK/cert.pem"
} >/dev/null 2>&1 || die "making the certificates failed"
TLS_PORT=$(free_port)
cat >"$WORK/tls.yml" <<EOF
version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage:
  filesystem: {rootdirectory: "$WORK/upstream/storage"}
  maintenance: {uploadpurging: {enabled: false}}
http:
  addr: "127.0.0.1:$TLS_PORT"
  secret: ocimirror-bench
  tls: {certificate: "$WORK/cert.pem", key: "$WORK/key.pem"}
EOF
env $(env | sed -n 's/^\(REGISTRY_[^=]*\)=.*/-u \1/p') \
    docker-registry serve "$WORK/tls.yml" >"$WORK/tls.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do
    code=$(curl -s --cacert "$WORK/ca.pem" -o /dev/null -w '%{http_code}' "https://127.0.0.1:$TLS_PORT/v2/" || true)
    [ "$code" = 200 ] && break
    sleep 0.1
done
[ "$code" = 200 ] || { cat "$WORK/tls.log" >&2; die "the TLS registry did not start"; }
proto=$(curl -s --cacert "$WORK/ca.pem" -o /dev/null -w '%{http_version}' "https://127.0.0.1:$TLS_PORT/v2/")
log "the registry answers curl over HTTP/$proto"

# run SCENARIO MODE: one cold pull through a fresh relay; prints
# "<ms> <connections> <peak RSS KiB>" (connections: those the relay saw
# opened; RSS from GNU time).
run() {
    local scen=$1 mode=$2 rtt rate dir port t0 t1 opens
    case "$scen" in
        small) rtt=80; rate=0 ;;
        big) rtt=40; rate=200M ;;
    esac
    dir="$WORK/runs/$scen-$mode-$BASHPID.${EPOCHREALTIME/./}"
    mkdir -p "$dir"
    "$RELAY" --name "$scen" --port-file "$dir/port" --log "$dir/relay.jsonl" \
        --max-lifetime $((CMD_TIMEOUT + 30)) --upstream "127.0.0.1:$TLS_PORT" \
        --rtt-ms "$rtt" --rate "$rate" 2>>"$dir/relay.err" &
    local pid=$!
    for _ in $(seq 100); do [ -s "$dir/port" ] && break; sleep 0.05; done
    [ -s "$dir/port" ] || { kill "$pid"; cat "$dir/relay.err" >&2; die "the relay did not start"; }
    port=$(cat "$dir/port")
    {
        [ "$mode" = h2 ] || printf '[network]\nhttp2 = false\n'
        printf '[hosts."127.0.0.1:%s"]\nplain_http = false\nca_file = "%s"\n' "$port" "$WORK/ca.pem"
    } >"$dir/config.toml"
    sync
    t0=${EPOCHREALTIME/./}
    OCIMIRROR_CONFIG="$dir/config.toml" /usr/bin/time -f '%M' -o "$dir/rss" \
        timeout "$CMD_TIMEOUT" "$OCIMIRROR" pull -q --no-cache --fresh \
        -o "$dir/out" "127.0.0.1:$port/bench/$scen:v1" >/dev/null 2>"$dir/err" \
        || { kill "$pid"; cat "$dir/err" >&2; die "$scen/$mode failed"; }
    t1=${EPOCHREALTIME/./}
    # Let the closes cross the relay's delay before counting.
    sleep 0.3
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    opens=$(grep -c '"ev":"open"' "$dir/relay.jsonl" || true)
    rm -rf "$dir/out"
    echo "$(((t1 - t0) / 1000)) $opens $(cat "$dir/rss")"
}

declare -A T C R
for round in $(seq "$RUNS"); do
    log "round $round of $RUNS"
    order="h2 h1"
    [ $((round % 2)) = 0 ] && order="h1 h2"
    for scen in small big; do
        for mode in $order; do
            read -r ms opens rss < <(run "$scen" "$mode")
            T[$scen-$mode]+=" $ms"
            C[$scen-$mode]+=" $opens"
            R[$scen-$mode]+=" $rss"
            log "  $scen/$mode: $ms ms, $opens connections"
        done
    done
done

python3 - "$RUNS" "$proto" "${T[small-h2]}" "${T[small-h1]}" "${T[big-h2]}" "${T[big-h1]}" \
    "${C[small-h2]}" "${C[small-h1]}" "${C[big-h2]}" "${C[big-h1]}" \
    "${R[small-h2]}" "${R[small-h1]}" "${R[big-h2]}" "${R[big-h1]}" >"$WORK/section.md" <<'PY'
import statistics, sys
runs, proto = sys.argv[1], sys.argv[2]
keys = ["small-h2", "small-h1", "big-h2", "big-h1"]
t = {k: [int(x) for x in v.split()] for k, v in zip(keys, sys.argv[3:7])}
c = {k: [int(x) for x in v.split()] for k, v in zip(keys, sys.argv[7:11])}
r = {k: [int(x) for x in v.split()] for k, v in zip(keys, sys.argv[11:15])}
med = {k: statistics.median(v) for k, v in t.items()}
s = lambda k: f"{med[k] / 1000:.3f} s ({min(t[k]) / 1000:.2f}–{max(t[k]) / 1000:.2f})"
conns = lambda k: f"{statistics.median(c[k]):.0f}"
rss = lambda k: f"{max(r[k]) / 1024:.1f}"
print("## HTTP/2 over TLS\n")
print("Generated by `bench/http2.sh --write` (issue 15); do not edit by hand. The CNCF distribution registry "
      f"serving TLS (curl gets HTTP/{proto} from it), behind our relay; {runs} rounds, the order alternating, "
      "medians (min–max). Every pull cold (`--no-cache --fresh`, a new directory, a relay of its own). "
      "HTTP/2 on is the default: manifests and blobs up to 256 KiB share one connection where the server "
      "offers h2; bigger blobs and every range keep HTTP/1.1 connections of their own. Connections: those "
      "the relay saw opened (it sees only TLS, not the requests); peak RSS: the highest of the runs.\n")
print("| image, link | HTTP/2 on (default) | connections | peak RSS MiB | `http2 = false` | connections | peak RSS MiB | on ÷ off |")
print("|---|--:|--:|--:|--:|--:|--:|--:|")
rows = [("small", "40 layers of 16–256 KiB, 80 ms RTT"),
        ("big", "4 layers, 480 MiB (largest 256 MiB), 40 ms RTT, 200 Mbit/s per connection")]
for scen, what in rows:
    on, off = f"{scen}-h2", f"{scen}-h1"
    print(f"| {what} | {s(on)} | {conns(on)} | {rss(on)} | {s(off)} | {conns(off)} | {rss(off)} "
          f"| {med[on] / med[off]:.2f}× |")
print()
saved = (med["small-h1"] - med["small-h2"]) / 1000
verdict = f"saves {saved:.3f} s" if saved > 0 else f"saves nothing ({-saved:.3f} s slower)"
print(f"On the small image HTTP/2 {verdict} in the medians. With it, the blob requests go out on the "
      "connection the manifest came on; with HTTP/1.1 each request in flight has a connection of its own, "
      "and each new one pays a TCP and a TLS handshake (two round trips) before its request. The big image's "
      "blobs are on HTTP/1.1 either way; with HTTP/2 on, the manifest's connection is not one of theirs, so "
      "one more is opened.")
PY
cat "$WORK/section.md"
if [ "$WRITE" = 1 ]; then
    python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import mdsection
mdsection.put_section(sys.argv[2], mdsection.HTTP2_HEADING, open(sys.argv[3]).read())' \
        "$BENCH" "$ROOT/BENCHMARKS.md" "$WORK/section.md"
    log "wrote the section into BENCHMARKS.md"
fi
