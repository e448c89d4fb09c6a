#!/usr/bin/env bash
# API conformance: schemathesis against the running release server, with BOTH the published QR
# API document (../shared/reference/published-qr-api-v1.yaml, base /qr) and our openapi.yaml.
#
# Usage: .ci/schemathesis/run.sh path/to/qr-origin   (from the repository root)
#
# The server runs on a fresh data dir with one merchant (`qr-origin merchant add`) and an access
# token fetched over HTTP; schemathesis sends that token, the subscription key and the MSN on
# every call. Bounded and repeatable: fixed seed, 30 examples per operation, one worker, no
# example database, no stateful phase, a hard timeout. verdict.py fails the stage on any failed
# check that allowlist.toml does not list with a reason.
#
# Not fuzzed: POST /webhooks/v1/webhooks. Registered webhooks would make the server deliver
# events to generated hosts off this machine as soon as a fuzzed beacon scan hit one; the
# Webhooks API is covered against a loopback receiver by tests/it/webhooks/api.rs. Redirects are
# never followed (--max-redirects 0) for the same reason.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bin="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
published="$root/../shared/reference/published-qr-api-v1.yaml"
[ -f "$published" ] || { echo "missing $published"; exit 1; }

# schemathesis, pinned, in a venv kept under target/ (reused by later local runs).
venv="$root/target/schemathesis-venv"
if [ ! -x "$venv/bin/schemathesis" ] || ! cmp -s "$here/requirements.txt" "$venv/requirements.txt"; then
  rm -rf "$venv"
  if ! python3 -m venv "$venv" 2>/dev/null; then
    apt-get update -qq && apt-get install -y -qq python3-venv
    python3 -m venv "$venv"
  fi
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$here/requirements.txt"
  cp "$here/requirements.txt" "$venv/requirements.txt"
fi

work="$(mktemp -d)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

"$bin" merchant add --msn 424242 --name "schemathesis" --data-dir "$work/data" > "$work/merchant.json"
"$bin" serve --listen 127.0.0.1:0 --data-dir "$work/data" --shutdown-delay 0s > "$work/server.log" 2>&1 &
server_pid=$!
base=""
for _ in $(seq 1 100); do
  base="$(grep -o 'listening on http://[0-9.:]*' "$work/server.log" | head -n1 | sed 's/listening on //' || true)"
  [ -n "$base" ] && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log"; exit 1; }
  sleep 0.1
done
[ -n "$base" ] || { echo "the server did not start"; cat "$work/server.log"; exit 1; }
echo "server at $base"

# An access token, the published way: POST /accesstoken/get with the merchant's credentials.
read -r token key msn < <("$venv/bin/python" - "$base" "$work/merchant.json" <<'PY'
import json, sys, urllib.request
base, creds = sys.argv[1], json.load(open(sys.argv[2]))
req = urllib.request.Request(f"{base}/accesstoken/get", method="POST", headers={
    "client_id": creds["client_id"], "client_secret": creds["client_secret"],
    "Ocp-Apim-Subscription-Key": creds["subscription_key"],
    "Merchant-Serial-Number": creds["msn"]})
token = json.load(urllib.request.urlopen(req, timeout=10))["access_token"]
print(token, creds["subscription_key"], creds["msn"])
PY
)

status=0
run() { # document-name schema base-url [extra schemathesis args...]
  local name="$1" schema="$2" url="$3"; shift 3
  echo "-- schemathesis: $name ($schema at $url)"
  ( cd "$work" && timeout 600 "$venv/bin/schemathesis" run "$schema" --url "$url" \
      -H "Authorization: Bearer $token" -H "Ocp-Apim-Subscription-Key: $key" \
      -H "Merchant-Serial-Number: $msn" \
      --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
      --max-examples 30 --seed 1313 --generation-deterministic --workers 1 \
      --phases examples,coverage,fuzzing --max-redirects 0 --request-timeout 10 \
      --report ndjson --report-ndjson-path "$work/$name.ndjson" "$@" > "$work/$name.out" 2>&1 ) || true
  sed -n '/=== SUMMARY ===/,$p' "$work/$name.out"
  if ! "$venv/bin/python" "$here/verdict.py" "$name" "$work/$name.ndjson" "$here/allowlist.toml"; then
    echo "-- $name: failures not on the allow-list; schemathesis said:"
    cat "$work/$name.out"
    status=1
  fi
}
run published "$published" "$base/qr"
run ours "$root/openapi.yaml" "$base" --exclude-operation-id RegisterWebhook --exclude-operation-id openapi
kill -0 "$server_pid" 2>/dev/null || { echo "the server died during the run"; cat "$work/server.log"; status=1; }
exit "$status"
