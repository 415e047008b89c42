#!/bin/bash
# The main job, end to end on this machine: start the enclave's server with
# the development attestation stand-in and an OHTTP relay in front of it,
# verify the server, seal a conversation to it through the relay, print the
# summary, stop both. Called by `make demo`.
#   scripts/demo.sh BIN_DIR MODEL [CONVERSATION]
set -euo pipefail
bin=$1 model=$2 conv=${3:-examples/conversation.txt}
work=$(mktemp -d)
port=${PITH_DEMO_PORT:-18080}
url=http://127.0.0.1:$port
relay=http://127.0.0.1:$((port + 1))
cleanup() {
  if [ -n "${rpid:-}" ] && kill -0 "$rpid" 2>/dev/null; then
    kill -TERM "$rpid"; wait "$rpid" 2>/dev/null || true
  fi
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

echo "== starting pith relay on $relay: it will see who asks, never what; the server, what is asked, never who =="
"$bin/pith" relay --gateway "$url" --listen "127.0.0.1:$((port + 1))" >"$work/relay.log" 2>&1 &
rpid=$!
for i in $(seq 1 50); do
  if grep -q 'pith relay: on' "$work/relay.log" 2>/dev/null; then break; fi
  if ! kill -0 "$rpid" 2>/dev/null; then echo "pith relay exited:"; cat "$work/relay.log"; exit 1; fi
  sleep 0.1
done

echo "== the conversation =="
cat "$conv"
echo "== its summary, sealed with Oblivious HTTP to the key the attestation binds, through the relay (summarize verifies again, with its own nonce, through the relay too) =="
time "$bin/pith" summarize --url "$url" --relay "$relay/v1/ohttp" --attestation-url "$relay" \
  --manifest "$work/manifest.json" --allow-dev --max-words 40 --verbose "$conv"
echo "== what the relay logged (no addresses, no content) =="
sed 's/^/  relay: /' "$work/relay.log"
