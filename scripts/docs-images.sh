#!/usr/bin/env bash
# Regenerates the branded-code pictures under docs/ that README.md shows, with `qr-origin
# render` (the same renderer the origin runs). Run it after a change to the styled renderer and
# commit the pictures with that change; .ci/run regenerates them and fails when they differ from
# the committed ones (so README never shows a code the renderer no longer draws).
#
# Usage: scripts/docs-images.sh [QR_ORIGIN_BINARY]   (default: target/release/qr-origin,
#        built when absent)
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${1:-target/release/qr-origin}
if [ ! -x "$BIN" ]; then
  cargo build --release --locked --bin qr-origin
fi

URL=https://qr.example.com/r/DI5bjNA0
render() {
  local name=$1
  shift
  "$BIN" render --url "$URL" --size 300 --out "docs/$name.png" "$@"
}

# A brand colour that keeps well over 3:1 against white, eyes in a second one.
render branded-plain
render branded-rounded --shape rounded --eyes rounded --fg 1a237e
render branded-dots --shape dots --eyes circle --fg 1a237e --eye-color c2185b
render branded-logo --shape rounded --eyes rounded --fg 1a237e \
  --logo docs/logo-example.svg --logo-size 0.25
render branded-transparent --shape dots --eyes rounded --fg 00695c --transparent

# Framed codes with a caption (README "Framed codes"): the default frame (fg) and caption (bg),
# a brand frame with its own caption colour, and the print PDF of the first.
render framed-scan-me --caption "Scan me"
render framed-brand --shape rounded --eyes rounded --fg 1a237e --caption "Skann og betal" \
  --frame-color c2185b --caption-color ffffff
"$BIN" render --url "$URL" --size 300 --format pdf --caption "Scan me" --out docs/framed-scan-me.pdf
