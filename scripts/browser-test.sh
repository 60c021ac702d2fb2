#!/usr/bin/env bash
# Tests the chat page in a real browser: builds the binary, starts
# `sputnik serve` with an API key on a shared R1-templated test model on a
# free loopback port, and drives the page in headless Chromium through
# playwright-core (clients/browser/browser-test.mjs). Chromium is Debian's
# `chromium` package, installed with apt-get when missing; nothing else is
# downloaded besides the pinned npm package.
#
# Usage: scripts/browser-test.sh [MODEL.gguf]   (default: ../shared's
# deepseek2-tiny-q8_0.gguf, whose DeepSeek-R1 template makes it think)
# The page's screenshot (a scripted conversation: the test model's random
# weights write gibberish) goes to docs/screenshot.png, the README's; set
# SCREENSHOT=path to put it elsewhere, or SCREENSHOT= to skip it.
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:-../shared/testdata/golden/models/deepseek2-tiny-q8_0.gguf}
if [ ! -f "$model" ]; then
  echo "browser-test: $model not found (../shared/testdata is needed); skipping"
  exit 0
fi
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "browser-test: node and npm are needed" >&2
  exit 1
fi
chromium=${CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$chromium" ]; then
  echo "browser-test: installing Debian's chromium package"
  if [ "$(id -u)" -ne 0 ]; then
    echo "browser-test: $chromium is missing and installing it needs root (apt-get install chromium)" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  if ! { timeout 900 apt-get update -qq && timeout 900 apt-get install -y -qq chromium >/dev/null; }; then
    echo "browser-test: apt-get install chromium failed" >&2
    exit 1
  fi
fi

tmp=$(mktemp -d)
pid=
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid"; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
  echo "--- sputnik serve log (last 40 lines) ---" >&2
  tail -n 40 "$tmp/serve.log" >&2 || true
  echo "browser-test: FAILED: $*" >&2
  exit 1
}

CGO_ENABLED=0 go build -o "$tmp/sputnik" ./cmd/sputnik
(cd clients/browser && timeout 300 npm ci --no-audit --no-fund --loglevel=error)

key="sk-browser-test-$RANDOM$RANDOM"
# --ctx 8192 leaves room for the stop test's long answer.
SPUTNIK_API_KEY=$key "$tmp/sputnik" serve -m "$model" --addr 127.0.0.1:0 --ctx 8192 --parallel 2 -t 2 2>"$tmp/serve.log" &
pid=$!

url=
for _ in $(seq 1 300); do
  url=$(grep -o 'listening on http://[0-9.:]*' "$tmp/serve.log" | head -1 | sed 's/^listening on //' || true)
  if [ -n "$url" ] && curl -fsS "$url/health" >/dev/null 2>&1; then break; fi
  kill -0 "$pid" 2>/dev/null || fail "the server exited early"
  sleep 0.1
done
curl -fsS "$url/health" >/dev/null 2>&1 || fail "/health never became ready"

status=0
SPUTNIK_URL=$url SPUTNIK_API_KEY=$key CHROMIUM=$chromium SCREENSHOT=${SCREENSHOT-docs/screenshot.png} FAILSHOT=${FAILSHOT:-} \
  timeout 600 node clients/browser/browser-test.mjs || status=$?
if [ "$status" -eq 124 ]; then fail "the browser test did not finish within 10 minutes"; fi
if [ "$status" -ne 0 ]; then fail "the browser test failed (see the first FAIL line above)"; fi

kill -TERM "$pid"
code=0
wait "$pid" || code=$?
pid=
if [ "$code" -ne 0 ]; then fail "sputnik serve exited $code after SIGTERM, want 0"; fi
echo "browser-test: passed"
