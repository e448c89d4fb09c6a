#!/usr/bin/env bash
# Instruction-count gate: runs benches/icount.rs under callgrind (gungraun) and the release server
# under callgrind (scripts/server-icount.py: instructions per request for a cache hit, a render
# and the bare hyper server), and compares each count with the committed baseline,
# benches/icount-baseline.txt.
#
#   .ci/icount.sh            prints bench | baseline | now | change and fails (exit 1) when any
#                            bench grew by more than 2 %; improvements beyond 2 % print too, so
#                            the baseline gets tightened
#   .ci/icount.sh --update   rewrites the baseline from this run: commit it with the change that
#                            moved the counts, and say why in the commit message
#
# Instruction counts depend on the toolchain and the build, so the baseline is made the way CI
# runs it: this script on the CI machine's toolchain (the baseline's first line names rustc; a
# different rustc is reported, and the comparison still runs).
set -euo pipefail
cd "$(dirname "$0")/.."

# = the gungraun dev-dependency in benches/Cargo.toml: the runner refuses any other library version.
GUNGRAUN_VERSION=0.18.2
MAX_GROWTH_PCT=2
BASELINE=benches/icount-baseline.txt

update=false
case "${1:-}" in
  --update) update=true ;;
  "") ;;
  *)
    echo "usage: $0 [--update]" >&2
    exit 2
    ;;
esac

if ! command -v valgrind >/dev/null 2>&1; then
  apt-get update -qq && apt-get install -y -qq valgrind
fi
if ! gungraun-runner --version 2>/dev/null | grep -q " $GUNGRAUN_VERSION\$"; then
  cargo install --locked --version "=$GUNGRAUN_VERSION" gungraun-runner
fi

log=$(mktemp)
now=$(mktemp)
server_out=$(mktemp)
server_err=$(mktemp)
trap 'rm -f "$log" "$now" "$server_out" "$server_err"' EXIT

# Everything measured is built first (cargo's lock would otherwise serialise the two runs
# below). The release profile: the codegen that ships, and .ci/run has built its dependencies
# already for the release binary. Two builds of the server side: with the example, the crate
# is built with its dev-only `testing` feature, which the measured server binary must not have.
cargo bench --locked --profile release --bench icount --no-run
cargo build --locked --release --bin qr-origin
cargo build --locked --release --example bare
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')

# The real server per request (scripts/server-icount.py): the release binary and the bare hyper
# server answering the same scripted requests under callgrind, gated with the benches below.
# Both are single-threaded valgrind runs: on two cores the server's (pinned to core 0 by the
# script) runs beside the benches (pinned to core 1), so the gate takes the longer of the two,
# not their sum. Instruction counts do not depend on what runs on the other core.
server_icount() {
  python3 scripts/server-icount.py "$target_dir/release/qr-origin" \
    "$target_dir/release/examples/bare" >"$server_out" 2>"$server_err"
}
bench_cpu=()
server_pid=
if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null 2>&1; then
  server_icount &
  server_pid=$!
  bench_cpu=(taskset -c 1)
fi
# One JSON summary per bench on stdout.
GUNGRAUN_OUTPUT_FORMAT=json "${bench_cpu[@]}" cargo bench --locked --profile release --bench icount >"$log"

# "name instructions" per bench, name = function/id (e.g. render_image/long_png_800).
python3 - "$log" >"$now" <<'PY'
import json, sys

def first_int(v):
    # The metric is {"Left": {"Int": n}} (new only) or {"Both": [new, old]}: new comes first.
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    items = v.values() if isinstance(v, dict) else v if isinstance(v, list) else []
    for x in items:
        n = first_int(x)
        if n is not None:
            return n
    return None

def find_ir(v):
    if isinstance(v, dict):
        for k, x in v.items():
            if k == "Ir":
                return first_int(x)
            n = find_ir(x)
            if n is not None:
                return n
    elif isinstance(v, list):
        for x in v:
            n = find_ir(x)
            if n is not None:
                return n
    return None

seen = 0
for line in open(sys.argv[1]):
    line = line.strip()
    if not line.startswith("{"):
        continue
    s = json.loads(line)
    ir = find_ir(s["profiles"])
    if ir is None:
        sys.exit(f"no instruction count for {s['function_name']}/{s['id']}")
    print(f"{s['function_name']}/{s['id']} {ir}")
    seen += 1
if seen == 0:
    sys.exit("no gungraun summaries in the bench output")
PY

if [ -n "$server_pid" ]; then
  wait "$server_pid"
else
  server_icount
fi
cat "$server_err" >&2
cat "$server_out" >>"$now"
# The unique-token budget compares with the render bench of the same kind of content.
python3 - "$now" <<'PY' >&2
import sys
n = dict(line.split() for line in open(sys.argv[1]) if line.strip())
render, bare, unique = (int(n[k]) for k in ("render_image/short_png_800", "server/bare", "server/unique"))
ratio = unique / (render + bare)
print(f"unique / (render {render:,} + bare) = {ratio:.2f}x (budget 1.15x)  {'PASS' if ratio <= 1.15 else 'MISS'}")
PY

rustc_version=$(rustc --version)
if $update; then
  {
    echo "# instructions per bench (benches/icount.rs via .ci/icount.sh --update); $rustc_version"
    sort "$now"
  } >"$BASELINE"
  echo "== icount: wrote $BASELINE ($(wc -l <"$now") benches)"
  cat "$BASELINE"
  exit 0
fi

if [ ! -f "$BASELINE" ]; then
  echo "no $BASELINE: run $0 --update and commit it" >&2
  exit 1
fi
base_rustc=$(head -1 "$BASELINE" | sed 's/.*; //')
if [ "$base_rustc" != "$rustc_version" ]; then
  echo "note: baseline made with '$base_rustc', this is '$rustc_version'"
fi

python3 - "$BASELINE" "$now" "$MAX_GROWTH_PCT" <<'PY'
import sys
def load(path):
    d = {}
    for line in open(path):
        if line.startswith("#") or not line.strip():
            continue
        name, n = line.split()
        d[name] = int(n)
    return d
base, now, limit = load(sys.argv[1]), load(sys.argv[2]), float(sys.argv[3])
rows, failed, improved = [], [], []
for name in sorted(set(base) | set(now)):
    b, n = base.get(name), now.get(name)
    if b is None:
        rows.append((name, "-", f"{n:,}", "new"))
        continue
    if n is None:
        rows.append((name, f"{b:,}", "-", "gone"))
        failed.append(f"{name}: in the baseline but not run")
        continue
    pct = (n - b) * 100.0 / b
    mark = ""
    if pct > limit:
        mark = "  REGRESSION"
        failed.append(f"{name}: {pct:+.2f} %")
    elif pct < -limit:
        mark = "  improved"
        improved.append(name)
    rows.append((name, f"{b:,}", f"{n:,}", f"{pct:+.2f} %{mark}"))
w = [max(len(r[i]) for r in rows + [("bench", "baseline", "now", "change")]) for i in range(4)]
fmt = lambda r: f"| {r[0]:<{w[0]}} | {r[1]:>{w[1]}} | {r[2]:>{w[2]}} | {r[3]:<{w[3]}} |"
print(fmt(("bench", "baseline", "now", "change")))
print(f"|{'-' * (w[0] + 2)}|{'-' * (w[1] + 1)}:|{'-' * (w[2] + 1)}:|{'-' * (w[3] + 2)}|")
for r in rows:
    print(fmt(r))
if improved:
    print(f"{len(improved)} bench(es) improved by more than {limit:g} %: tighten with .ci/icount.sh --update")
if failed:
    print(f"FAIL: instructions grew by more than {limit:g} % (or a bench is missing):")
    for f in failed:
        print(f"  {f}")
    print("An intended change updates the baseline: .ci/icount.sh --update, committed with the reason.")
    sys.exit(1)
print(f"icount: {len(rows)} benches within +{limit:g} % of the baseline")
PY
