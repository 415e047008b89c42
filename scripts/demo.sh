#!/bin/bash
# The main job, end to end on this machine: start the enclave's server with
# the development attestation stand-in, verify it, seal a conversation to it,
# print the summary, stop the server. Called by `make demo`.
#   scripts/demo.sh BIN_DIR MODEL [CONVERSATION]
set -euo pipefail
bin=$1 model=$2 conv=${3:-examples/conversation.txt}
work=$(mktemp -d)
port=${PITH_DEMO_PORT:-18080}
url=http://127.0.0.1:$port
cleanup() {
  if [ -n "${pid:-}" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
    echo "== server stopped =="
  fi
  rm -rf "$work"
}
trap cleanup EXIT

echo "== starting pith serve on $url (development attestation: PROVES NOTHING) =="
"$bin/pith" serve --model "$model" --listen "127.0.0.1:$port" --attest dev \
  --write-dev-manifest "$work/manifest.json" >"$work/serve.log" 2>&1 &
pid=$!
for i in $(seq 1 300); do
  if curl -fsS "$url/healthz" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$pid" 2>/dev/null; then echo "pith serve exited:"; cat "$work/serve.log"; exit 1; fi
  sleep 0.2
done
curl -fsS "$url/healthz" >/dev/null || { echo "pith serve did not become ready:"; cat "$work/serve.log"; exit 1; }
sed 's/^/  server: /' "$work/serve.log"

echo "== verifying the enclave (--allow-dev: the stand-in proves nothing) =="
"$bin/pith" verify --url "$url" --manifest "$work/manifest.json" --allow-dev

echo "== the conversation =="
cat "$conv"
echo "== its summary, sealed with Oblivious HTTP to the key the attestation binds (summarize verifies again, with its own nonce) =="
time "$bin/pith" summarize --url "$url" --manifest "$work/manifest.json" --allow-dev --max-words 40 --verbose "$conv"
