#!/usr/bin/env bash
# Runs README.md's walkthrough as a newcomer would paste it, so the README cannot rot.
#
#   scripts/readme-walkthrough.sh target/release/qr-origin      (or target/debug/qr-origin)
#
# The walkthrough is every ```sh block that follows a `<!-- walkthrough -->` line, taken from
# README.md itself (never copied), in document order, run verbatim in one bash with
# `set -euo pipefail`, in an empty temporary directory (so `./data`, `creds.json` and the
# images land there) with `scripts/` linked in and the given binary on PATH as `qr-origin`.
# The server the walkthrough starts gets free ports through the env vars its blocks read
# (QR_ORIGIN_LISTEN, QR_ORIGIN_OPS_LISTEN, HOOK_PORT for the webhook receiver).
#
# Fails when any command exits non-zero, when a status the blocks print with
# `-w '%{http_code}\n'` differs from the one in that command's trailing comment (`# 302 …`),
# when a command printing a status names none, or when the whole run takes over 5 minutes.
# Everything the walkthrough started runs in one process group of its own, which is killed
# at the end whatever happened.
set -euo pipefail

if [ $# -ne 1 ] || [ ! -x "$1" ]; then
  echo "usage: $0 path/to/qr-origin" >&2
  exit 2
fi
repo=$(cd "$(dirname "$0")/.." && pwd)
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
work=$(mktemp -d)
group=
cleanup() {
  local status=$?
  if [ -n "$group" ]; then
    # SIGTERM first (the server's graceful stop takes its shutdown delay), SIGKILL after 10 s.
    kill -TERM -- "-$group" 2>/dev/null || true
    for _ in $(seq 1 50); do
      kill -0 -- "-$group" 2>/dev/null || break
      sleep 0.2
    done
    kill -KILL -- "-$group" 2>/dev/null || true
  fi
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT

mkdir "$work/bin"
ln -s "$bin" "$work/bin/qr-origin"
ln -s "$repo/scripts" "$work/scripts"

# The blocks, and the status each status-printing command expects.
python3 - "$repo/README.md" "$work/walkthrough.sh" "$work/expected" <<'EOF'
import re, sys

readme, script, expected = sys.argv[1:]
lines = open(readme, encoding="utf-8").read().split("\n")
fences = [i for i, l in enumerate(lines) if l.startswith("```")]
# The README opens with how to run and test from a checkout; the walkthrough comes later.
first = lines[fences[0] + 1:fences[1]]
if not (lines[fences[0]] == "```sh" and first[0].startswith("cargo run --release")
        and first[1].startswith("cargo test")):
    sys.exit("README.md must open with `cargo run --release` and `cargo test`")

blocks = []
for i, line in enumerate(lines):
    if line.strip() != "<!-- walkthrough -->":
        continue
    if i + 1 >= len(lines) or lines[i + 1] != "```sh":
        sys.exit(f"README.md:{i + 1}: a walkthrough marker must be followed by ```sh")
    end = next(j for j in range(i + 2, len(lines)) if lines[j].startswith("```"))
    blocks.append((i + 3, lines[i + 2:end]))
if not blocks:
    sys.exit("README.md has no walkthrough blocks")

statuses = []
with open(script, "w", encoding="utf-8") as out:
    for start, body in blocks:
        out.write(f"# README.md:{start}\n" + "\n".join(body) + "\n")
        logical, first_no = "", start
        for n, line in enumerate(body, start):
            if not logical:
                first_no = n
            logical += line
            if line.endswith("\\"):
                continue
            if "%{http_code}" in logical:
                m = re.search(r"\s#\s*(\d{3})\b[^']*$", logical)
                if not m:
                    sys.exit(f"README.md:{first_no}: prints a status but its comment names none")
                statuses.append(f"{m.group(1)} README.md:{first_no}")
            logical = ""
with open(expected, "w", encoding="utf-8") as out:
    out.write("".join(s + "\n" for s in statuses))
print(f"walkthrough: {len(blocks)} blocks from README.md, {len(statuses)} statuses to check")
EOF

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# Only what the walkthrough sets: no QR_ORIGIN_* of the calling shell (a database URL, keys).
for v in $(compgen -e | grep '^QR_ORIGIN_' || true); do unset "$v"; done
export PATH="$work/bin:$PATH"
export QR_ORIGIN_LISTEN="127.0.0.1:$(free_port)"
export QR_ORIGIN_OPS_LISTEN="127.0.0.1:$(free_port)"
export HOOK_PORT=$(free_port)

echo "walkthrough: $bin in $work (public $QR_ORIGIN_LISTEN, ops $QR_ORIGIN_OPS_LISTEN, receiver $HOOK_PORT)"
(
  cd "$work"
  exec setsid timeout 300 bash -euo pipefail -x walkthrough.sh >stdout.log 2>trace.log
) &
group=$!
status=0
wait "$group" || status=$?

sed 's/^/  | /' "$work/stdout.log"
if [ "$status" -ne 0 ]; then
  echo "walkthrough: FAILED (exit $status); the last commands and their errors:" >&2
  tail -n 25 "$work/trace.log" | sed 's/^/  ! /' >&2
  if [ -f "$work/qr-origin.log" ]; then
    echo "walkthrough: the server's log:" >&2
    tail -n 15 "$work/qr-origin.log" | sed 's/^/  ! /' >&2
  fi
  exit 1
fi

# Status lines are the ones that start with three digits (bodies are JSON, headers start
# with HTTP/ or a name, metrics with qr_origin_).
grep -E '^[0-9]{3}( |$)' "$work/stdout.log" | cut -c1-3 >"$work/actual" || true
if ! cut -c1-3 "$work/expected" | cmp -s - "$work/actual"; then
  echo "walkthrough: FAILED: statuses differ (expected, where, actual):" >&2
  paste "$work/expected" "$work/actual" | sed 's/^/  ! /' >&2
  exit 1
fi
echo "walkthrough: PASS ($(wc -l <"$work/expected") statuses as the README says)"
