#!/usr/bin/env bash
# Checks deploy/qr-origin.service with `systemd-analyze verify` (no running systemd needed):
# every key known to this systemd, every value parses, every command exists.
#
#   scripts/verify-systemd-unit.sh target/release/qr-origin
#
# The unit names /usr/local/bin/qr-origin, where it is installed; the check runs a copy that
# names the given binary instead. Any message at all fails: systemd-analyze only warns (and
# exits 0) on an unknown key or a misspelt option, which would silently drop the hardening.
set -euo pipefail
if [ $# -ne 1 ] || [ ! -x "$1" ]; then
  echo "usage: $0 path/to/qr-origin" >&2
  exit 2
fi
repo=$(cd "$(dirname "$0")/.." && pwd)
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
sed "s|/usr/local/bin/qr-origin|$bin|g" "$repo/deploy/qr-origin.service" >"$dir/qr-origin.service"
status=0
out=$(systemd-analyze verify "$dir/qr-origin.service" 2>&1) || status=$?
if [ "$status" -ne 0 ] || [ -n "$out" ]; then
  echo "$out" >&2
  echo "deploy/qr-origin.service: systemd-analyze verify FAILED (exit $status)" >&2
  exit 1
fi
echo "deploy/qr-origin.service: systemd-analyze verify clean ($(systemd-analyze --version | head -1))"
