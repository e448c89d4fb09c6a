#!/usr/bin/env bash
# QR API throughput: two `qr-origin serve` instances on one PostgreSQL database against one
# instance on the embedded SQLite store, in the same run, with the same load generator (wrk).
# Scenarios, each printing requests/s and p99 for both set-ups and the ratio 2×PG / 1×SQLite:
#   1. create  - POST /qr/v1/merchant-redirect, a new id per request (an acknowledged write);
#   2. get     - GET /qr/v1/merchant-redirect/{id} of one QR (an authenticated store read);
#   3. resolve - GET /r/<code> of that QR's short link (the printed code's path, cached).
# The two PostgreSQL instances share the load: two wrk processes at once, each with half the
# connections, one per port; their rates are summed and the larger p99 is reported.
# The machine's noise moves both set-ups alike within a run, so the ratio is the figure to read;
# ROUNDS=N repeats the scenarios N times, alternating which set-up goes first.
#
# Usage: scripts/api-throughput.sh   (env: DURATION=10s CONNS=16 ROUNDS=1, DATABASE_URL of a
#        PostgreSQL server whose user may create databases, default the local test server;
#        BIN=path/to/qr-origin to use a built binary)
# Creates a database of its own on that server and drops it on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
CONNS=${CONNS:-16}
ROUNDS=${ROUNDS:-1}
SERVER_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
PORT_SQLITE=${PORT_SQLITE:-18180}
PORT_PG_A=${PORT_PG_A:-18181}
PORT_PG_B=${PORT_PG_B:-18182}
KEY="throughput=throughput-secret-0123456789-abcdefghij"
MSN=424242
DB="qr_api_throughput_$$"
PG_URL="${SERVER_URL%/*}/$DB"

if ! command -v wrk >/dev/null; then
  echo "installing wrk" >&2
  apt-get update -qq && apt-get install -y -qq wrk >/dev/null
fi
for tool in curl psql python3; do
  command -v "$tool" >/dev/null || { echo "need $tool" >&2; exit 1; }
done

# BIN=path skips the build (e.g. while another cargo build holds the target directory's lock).
if [ -z "${BIN:-}" ]; then
  cargo build --release --locked --bin qr-origin >&2
  TARGET_DIR=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
  BIN="$TARGET_DIR/release/qr-origin"
fi

WORK=$(mktemp -d)
PIDS=()
DB_CREATED=0
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ "$DB_CREATED" = 1 ]; then
    psql -q "$SERVER_URL" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

psql -q "$SERVER_URL" -c "CREATE DATABASE $DB" >/dev/null
DB_CREATED=1

json() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

serve() { # port, then store flags
  local port=$1
  shift
  "$BIN" serve --listen "127.0.0.1:$port" --ops-listen off --signing-key "$KEY" \
    --shutdown-delay 0s "$@" 2>"$WORK/server-$port.log" &
  PIDS+=($!)
  for _ in $(seq 1 200); do
    curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && return 0
    sleep 0.05
  done
  echo "server on port $port did not come up:" >&2
  cat "$WORK/server-$port.log" >&2
  exit 1
}

serve "$PORT_SQLITE" --data-dir "$WORK/sqlite"
serve "$PORT_PG_A" --data-dir "$WORK/pg-a" --database-url "$PG_URL"
serve "$PORT_PG_B" --data-dir "$WORK/pg-b" --database-url "$PG_URL"

# One merchant per store, an access token from it, and one QR (with its short link) for the
# read scenarios. The PostgreSQL token comes from instance A and is used on both: tokens are
# shared through the database.
setup_merchant() { # port, store flags -> "token subscription_key short_link_path"
  local port=$1
  shift
  local creds token link
  creds=$("$BIN" merchant "$@" add --msn "$MSN" --name "Throughput AS")
  token=$(curl -fs -X POST "http://127.0.0.1:$port/accesstoken/get" \
    -H "client_id: $(json client_id <<<"$creds")" \
    -H "client_secret: $(json client_secret <<<"$creds")" \
    -H "Ocp-Apim-Subscription-Key: $(json subscription_key <<<"$creds")" \
    -H "Merchant-Serial-Number: $MSN" | json access_token)
  local auth=(-H "Authorization: Bearer $token" -H "Ocp-Apim-Subscription-Key: $(json subscription_key <<<"$creds")")
  curl -fs -o /dev/null -X POST "http://127.0.0.1:$port/qr/v1/merchant-redirect" "${auth[@]}" \
    -H "Content-Type: application/json" -H "Accept: text/targetUrl" \
    -d '{"id": "read-me", "redirectUrl": "https://example.com/product"}'
  link=$(curl -fs "http://127.0.0.1:$port/qr/v1/merchant-redirect/read-me" "${auth[@]}" \
    -H "Accept: text/targetUrl" | json url)
  echo "$token $(json subscription_key <<<"$creds") /${link#http*://*/}"
}
read -r SQLITE_TOKEN SQLITE_SUB SQLITE_LINK < <(setup_merchant "$PORT_SQLITE" --data-dir "$WORK/sqlite")
read -r PG_TOKEN PG_SUB PG_LINK < <(setup_merchant "$PORT_PG_A" --database-url "$PG_URL")
for port in "$PORT_PG_A" "$PORT_PG_B"; do # the read scenarios' QR must answer on both
  code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port$PG_LINK")
  [ "$code" = 302 ] || { echo "short link $PG_LINK answers $code on port $port" >&2; exit 1; }
done

# Every request of every wrk thread and process gets its own QR id: ID_PREFIX names the
# process, the thread's number and a counter the rest.
cat >"$WORK/api.lua" <<'LUA'
local scenario = os.getenv("SCENARIO")
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
wrk.headers["Ocp-Apim-Subscription-Key"] = os.getenv("SUB_KEY")
wrk.headers["Accept"] = "text/targetUrl"
-- On every request, GETs too: wrk.format's own header table would replace wrk.headers.
wrk.headers["Content-Type"] = "application/json"
local threads = 0
function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end
local n = 0
function request()
  if scenario == "create" then
    n = n + 1
    local body = string.format('{"id": "%s-%d-%d", "redirectUrl": "https://example.com/p/%d"}',
      os.getenv("ID_PREFIX"), tid, n, n)
    return wrk.format("POST", "/qr/v1/merchant-redirect", nil, body)
  elseif scenario == "get" then
    return wrk.format("GET", "/qr/v1/merchant-redirect/read-me")
  else
    return wrk.format("GET", os.getenv("LINK"))
  end
end
LUA

# One wrk process -> "rps p99_ms bad", bad = non-2xx/3xx responses plus socket errors.
wrk_one() { # port threads conns scenario token sub link prefix
  local out
  out=$(SCENARIO=$4 TOKEN=$5 SUB_KEY=$6 LINK=$7 ID_PREFIX=$8 \
    wrk -t"$2" -c"$3" -d"$DURATION" --latency -s "$WORK/api.lua" "http://127.0.0.1:$1")
  echo "$out" >"$WORK/wrk-$1-$4.txt"
  awk '
    function ms(v) {
      if (v ~ /us$/) { sub("us", "", v); return v / 1000 }
      if (v ~ /ms$/) { sub("ms", "", v); return v + 0 }
      if (v ~ /s$/) { sub("s", "", v); return v * 1000 }
      if (v ~ /m$/) { sub("m", "", v); return v * 60000 }
      return v
    }
    /Requests\/sec/ { rps = $2 }
    $1 == "99%" { p99 = ms($2) }
    /Non-2xx or 3xx responses/ { bad += $NF }
    /Socket errors/ { gsub(",", ""); bad += $4 + $6 + $8 + $10 }
    END { printf "%s %s %d\n", rps, p99, bad }' <<<"$out"
}

run_sqlite() { # scenario round
  wrk_one "$PORT_SQLITE" 2 "$CONNS" "$1" "$SQLITE_TOKEN" "$SQLITE_SUB" "$SQLITE_LINK" "s$2"
}

run_pg() { # scenario round: both instances at once, half the connections and threads each
  wrk_one "$PORT_PG_A" 1 "$((CONNS / 2))" "$1" "$PG_TOKEN" "$PG_SUB" "$PG_LINK" "a$2" >"$WORK/pg-a.out" &
  local a=$!
  wrk_one "$PORT_PG_B" 1 "$((CONNS / 2))" "$1" "$PG_TOKEN" "$PG_SUB" "$PG_LINK" "b$2" >"$WORK/pg-b.out"
  wait "$a"
  awk '{ rps += $1; if ($2 > p99) p99 = $2; bad += $3 } END { printf "%.0f %s %d\n", rps, p99, bad }' \
    "$WORK/pg-a.out" "$WORK/pg-b.out"
}

echo "== 1× SQLite on :$PORT_SQLITE vs 2× PostgreSQL on :$PORT_PG_A + :$PORT_PG_B ($DB)," \
  "$CONNS connections, $DURATION per run, $(nproc) CPUs" >&2
uptime >&2
for round in $(seq 1 "$ROUNDS"); do
  for scenario in create get resolve; do
    if [ $((round % 2)) = 1 ]; then
      read -r S_RPS S_P99 S_BAD < <(run_sqlite "$scenario" "$round")
      read -r P_RPS P_P99 P_BAD < <(run_pg "$scenario" "$round")
    else
      read -r P_RPS P_P99 P_BAD < <(run_pg "$scenario" "$round")
      read -r S_RPS S_P99 S_BAD < <(run_sqlite "$scenario" "$round")
    fi
    awk -v n="$scenario" -v r="$round" -v sr="$S_RPS" -v sp="$S_P99" -v sb="$S_BAD" \
      -v pr="$P_RPS" -v pp="$P_P99" -v pb="$P_BAD" 'BEGIN {
        printf "%-8s round %d: 1xSQLite %.0f req/s p99 %.2f ms (%d bad) | 2xPG %.0f req/s p99 %.2f ms (%d bad) | 2xPG/1xSQLite %.2f\n",
          n, r, sr, sp, sb, pr, pp, pb, pr / sr }'
  done
done
