#!/usr/bin/env bash
# Attack and overload campaign against the release server on loopback. Scenarios:
#   1. slowloris    - slowhttptest -H: connections that send their head a byte at a time;
#   2. idle-10k     - 10 000 connections that send nothing (re-opened when closed);
#   3. slow-read    - slowhttptest -X: clients that read responses a few bytes at a time;
#   4. h2-ping      - HTTP/2 connections that make one request then only answer pings, half of
#                     them holding 64 zero-window streams of worst-case images each;
#   5. render-flood - 1 200 keep-alive connections of worst-case unique renders (2 940 bytes,
#                     ECC L, 2000 px).
# During each, examples/abuse.rs probes /healthz on the operator port (a new connection per
# probe, as an orchestrator does) and a cache hit on the public port (over a keep-alive
# connection opened before the attack, as a CDN's are), and the script samples the server's RSS. Each scenario prints one line:
#   PASS|FAIL <scenario>: healthz p99 X ms, hit p99 Y ms, RSS peak Z MiB, 503s N (+ details)
# Pass: healthz p99 < 50 ms with no failed probe, hit p99 < 5 ms, RSS peak < RSS_LIMIT_MIB.
#
# Usage: scripts/abuse.sh   (env: SECS=15 per scenario, CACHE=33554432, RSS_LIMIT_MIB=512;
#        SERVER_CPUS / CLIENT_CPUS: taskset -c lists pinning the server, and the attackers and
#        probes, e.g. SERVER_CPUS=0 CLIENT_CPUS=1 so neither side steals the other's core
#        (default: unpinned); SCENARIOS="idle-10k render-flood": only the scenarios named)
# Needs root for `ulimit -n 65536` (10 000 client sockets; a hard limit of at least 11 000 is
# enough) and apt-get for slowhttptest.
set -euo pipefail
cd "$(dirname "$0")/.."

SECS=${SECS:-15}
CACHE=${CACHE:-33554432}
RSS_LIMIT_MIB=${RSS_LIMIT_MIB:-512}
PORT=${PORT:-18090}
OPS_PORT=${OPS_PORT:-19090}
KEY="abuse=abuse-secret-0123456789-abcdefghijklmnopq"
SCENARIOS=${SCENARIOS:-all}
SERVER_PIN=()
CLIENT_PIN=()
[ -n "${SERVER_CPUS:-}" ] && SERVER_PIN=(taskset -c "$SERVER_CPUS")
[ -n "${CLIENT_CPUS:-}" ] && CLIENT_PIN=(taskset -c "$CLIENT_CPUS")

if ! command -v slowhttptest >/dev/null; then
  echo "installing slowhttptest" >&2
  apt-get update -qq && apt-get install -y -qq slowhttptest >/dev/null
fi
# idle-10k holds 10 000 client sockets in one process. Ask for 65536; where even root may not
# pass the hard limit (a container without CAP_SYS_RESOURCE), take the hard limit if it is enough.
NEED_FDS=11000
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt "$NEED_FDS" ]; then
  echo "abuse.sh: needs ulimit -n >= $NEED_FDS, the hard limit is $(ulimit -Hn)" >&2
  exit 1
fi

# Two builds: built with an example, the crate gets its dev-only `testing` feature, which the
# server under attack must not have.
cargo build --release --locked --bin qr-origin >&2
cargo build --release --locked --example abuse >&2
TARGET_DIR=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
BIN="$TARGET_DIR/release/qr-origin"
ABUSE="$TARGET_DIR/release/examples/abuse"

WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "== abuse: server on cpus ${SERVER_CPUS:-any}, attackers and probes on ${CLIENT_CPUS:-any}, scenarios: $SCENARIOS" >&2
uptime >&2
"${SERVER_PIN[@]}" "$BIN" serve --listen "127.0.0.1:$PORT" --ops-listen "127.0.0.1:$OPS_PORT" \
  --data-dir "$WORK/data" --signing-key "$KEY" --cache-bytes "$CACHE" \
  --max-connections 1000 >"$WORK/server.log" 2>&1 &
SERVER=$!
PIDS+=("$SERVER")
for _ in $(seq 1 200); do
  curl -fs "http://127.0.0.1:$OPS_PORT/healthz" >/dev/null 2>&1 && break
  sleep 0.05
done
HIT=$("$ABUSE" hitpath "$KEY")
curl -fs -o /dev/null "http://127.0.0.1:$PORT$HIT"

count_503() {
  curl -fs "http://127.0.0.1:$OPS_PORT/metrics" |
    awk '/^qr_origin_http_requests_total/ && /status="503"/ { n += $NF } END { print n + 0 }'
}

rss_sampler() {
  local peak=0 kb
  while kill -0 "$SERVER" 2>/dev/null; do
    kb=$(awk '/^VmRSS:/ { print $2 }' "/proc/$SERVER/status" 2>/dev/null || echo 0)
    [ "${kb:-0}" -gt "$peak" ] && peak=$kb && echo "$peak" >"$WORK/rss_peak"
    sleep 0.2
  done
}

FAILED=0
scenario() { # name, then the attack command (run in the background for SECS)
  local name=$1
  shift
  case " $SCENARIOS " in
    *" all "* | *" $name "*) ;;
    *) return 0 ;;
  esac
  echo 0 >"$WORK/rss_peak"
  local before
  before=$(count_503)
  rss_sampler &
  local sampler=$!
  # The probe's hit connection opens before the attack (see examples/abuse.rs); it measures
  # from 1 s into the attack.
  "${CLIENT_PIN[@]}" "$ABUSE" probe "127.0.0.1:$PORT" "127.0.0.1:$OPS_PORT" "$HIT" "$((SECS - 2))" 1000 \
    >"$WORK/probe.out" 2>"$WORK/probe.err" &
  local prober=$!
  until grep -q "hit connection open" "$WORK/probe.err" 2>/dev/null; do
    kill -0 "$prober" 2>/dev/null || { cat "$WORK/probe.err" >&2; exit 1; }
    sleep 0.01
  done
  "${CLIENT_PIN[@]}" "$@" >"$WORK/attack.out" 2>&1 &
  local attack=$!
  wait "$prober"
  local probe
  probe=$(cat "$WORK/probe.out")
  wait "$attack" 2>/dev/null || true
  kill "$sampler" 2>/dev/null || true
  wait "$sampler" 2>/dev/null || true
  local after rss_mib healthz hit hfail
  after=$(count_503)
  rss_mib=$(( $(cat "$WORK/rss_peak") / 1024 ))
  healthz=$(sed -E 's/.*healthz_p99_ms=([^ ]+).*/\1/' <<<"$probe")
  hfail=$(sed -E 's/.*healthz_failed=([^ ]+).*/\1/' <<<"$probe")
  hit=$(sed -E 's/.*hit_p99_ms=([^ ]+).*/\1/' <<<"$probe")
  local verdict=PASS
  awk -v h="$healthz" -v t="$hit" -v r="$rss_mib" -v f="$hfail" -v lim="$RSS_LIMIT_MIB" \
    'BEGIN { exit !(h < 50 && t < 5 && r < lim && f == 0) }' || verdict=FAIL
  [ "$verdict" = PASS ] || FAILED=1
  local detail
  detail=$(grep -hoE '[a-z_0-9]+=[0-9.]+' "$WORK/attack.out" | tr '\n' ' ' || true)
  echo "$verdict $name: healthz p99 $healthz ms, hit p99 $hit ms, RSS peak $rss_mib MiB, 503s $((after - before)) | $probe | $detail"
  sleep 2
}

scenario slowloris timeout "$((SECS + 5))" slowhttptest -H -c 4000 -r 400 -i 5 -l "$SECS" \
  -u "http://127.0.0.1:$PORT/healthz" -p 3 -q
scenario idle-10k "$ABUSE" idle "127.0.0.1:$PORT" 10000 "$SECS"
scenario slow-read timeout "$((SECS + 5))" slowhttptest -X -c 1000 -r 200 -l "$SECS" -w 10 -y 20 -n 5 -z 32 -k 3 \
  -u "http://127.0.0.1:$PORT$HIT" -p 3 -q
scenario h2-ping "$ABUSE" h2ping "127.0.0.1:$PORT" 40 "$SECS" "$KEY"
scenario render-flood "$ABUSE" flood "127.0.0.1:$PORT" 1200 "$SECS" "$KEY"

exit "$FAILED"
