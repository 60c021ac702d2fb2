#!/usr/bin/env bash
# Runs the official openai npm client (clients/node) against `sputnik serve`
# on a shared test model: builds the binary, starts the server on a free
# loopback port with an API key, waits for /health, runs the client tests,
# then stops the server with SIGTERM and checks that it exits 0.
#
# Usage: scripts/client-test.sh [MODEL.gguf]   (default: ../shared's
# qwen2-tiny-q8_0.gguf, which has an R1-Distill-Qwen chat template)
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:-../shared/testdata/golden/models/qwen2-tiny-q8_0.gguf}
if [ ! -f "$model" ]; then
  echo "client-test: $model not found (../shared/testdata is needed); skipping"
  exit 0
fi
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "client-test: node and npm are needed" >&2
  exit 1
fi

tmp=$(mktemp -d)
pid=
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid"; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

CGO_ENABLED=0 go build -o "$tmp/sputnik" ./cmd/sputnik
(cd clients/node && npm ci --no-audit --no-fund --loglevel=error)

key="sk-client-test-$RANDOM$RANDOM"
SPUTNIK_API_KEY=$key "$tmp/sputnik" serve -m "$model" --addr 127.0.0.1:0 --ctx 1024 --parallel 2 -t 2 2>"$tmp/serve.log" &
pid=$!

# The server prints its URL as soon as it listens; then /health turns 200.
url=
for _ in $(seq 1 300); do
  url=$(grep -o 'listening on http://[0-9.:]*' "$tmp/serve.log" | head -1 | sed 's/^listening on //' || true)
  if [ -n "$url" ] && curl -fsS "$url/health" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$pid" 2>/dev/null; then cat "$tmp/serve.log"; echo "client-test: the server exited early" >&2; exit 1; fi
  sleep 0.1
done
if ! curl -fsS "$url/health" >/dev/null; then
  cat "$tmp/serve.log"; echo "client-test: /health never became ready" >&2; exit 1
fi

status=0
SPUTNIK_URL=$url SPUTNIK_API_KEY=$key node clients/node/client-test.mjs || status=$?

kill -TERM "$pid"
code=0
wait "$pid" || code=$?
pid=
if [ "$code" -ne 0 ]; then
  cat "$tmp/serve.log"; echo "client-test: sputnik serve exited $code after SIGTERM, want 0" >&2; exit 1
fi
if [ "$status" -ne 0 ]; then
  cat "$tmp/serve.log"; exit "$status"
fi
echo "client-test: passed (server stopped cleanly)"
