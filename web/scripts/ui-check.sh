#!/usr/bin/env bash
# Rebuilds the UI bundle into a temporary directory and fails when the
# committed bundle (internal/ui/dist) differs, or when the first load's
# JavaScript exceeds the budget (300 KB gzipped). Also runs the unit tests
# and the type check. Skips with a message when node or npm is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "ui-check: node/npm not installed; skipped"; exit 0
fi
[ -d node_modules ] && [ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund --loglevel=error
npx --no-install tsc --noEmit
npx --no-install vitest run
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
WAGGLE_UI_OUT="$out" npx --no-install vite build --logLevel error
if ! diff -r "$out" ../internal/ui/dist >/dev/null; then
  echo "ui-check: internal/ui/dist is stale; run 'make ui' and commit it"; diff -rq "$out" ../internal/ui/dist || true; exit 1
fi
js=0
for f in $(grep -o 'assets/[^"]*\.js' "$out/index.html"); do js=$((js + $(gzip -9c "$out/$f" | wc -c))); done
echo "ui-check: bundle up to date; first-load JS ${js} bytes gzipped (budget 307200)"
[ "$js" -le 307200 ] || { echo "ui-check: first-load JS over budget"; exit 1; }
