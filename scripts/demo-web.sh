#!/usr/bin/env bash
# The web demo: the relay in workerd, a page made by the `tessera` CLI, a token minted for that
# page, and the Notion-style editor (client-wasm/examples/web) served on 127.0.0.1. Prints the
# link to open; open it in two tabs or two browsers and edit. Ctrl+C stops everything.
#
#   RELAY_PORT (8787) and WEB_PORT (8080) pick the ports. The package is its dev build, the one
#   `make test` makes (ready at once after it; about 4 min cold on 2 cores); WASM_DEV=0 builds
#   the optimized package instead (`make wasm-pkg`, about 8 min cold).
set -euo pipefail
cd "$(dirname "$0")/.."

RELAY_PORT="${RELAY_PORT:-8787}"
WEB_PORT="${WEB_PORT:-8080}"
RELAY="http://127.0.0.1:$RELAY_PORT"

echo "== building the package, the relay and the tessera CLI ==" >&2
WASM_DEV="${WASM_DEV:-1}" client-wasm/build-pkg.sh
scripts/relay.sh build
cargo build -q -p tessera-cli --bin tessera
T="${CARGO_TARGET_DIR:-$PWD/target}/debug/tessera"

for port in "$RELAY_PORT" "$WEB_PORT"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "demo-web: 127.0.0.1:$port is taken; pick others with RELAY_PORT=… WEB_PORT=…" >&2
    exit 1
  fi
done

WORK="$(mktemp -d)"
[[ -f .dev.vars ]] || cp .dev.vars.example .dev.vars
SECRET="$(sed -n 's/^TESSERA_JWT_SECRET=//p' .dev.vars | tr -d '"')"

echo "== starting the relay in workerd on $RELAY ==" >&2
RELAY_NO_BUILD=1 setsid scripts/relay.sh serve "$RELAY_PORT" "$WORK/relay" >"$WORK/relay.log" 2>&1 &
RELAY_PID=$!
disown "$RELAY_PID"
cleanup() { kill -9 -- "-$RELAY_PID" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
for _ in $(seq 1 1200); do
  curl -fs "$RELAY/health" >/dev/null 2>&1 && break
  sleep 0.2
done
curl -fs "$RELAY/health" >/dev/null || { echo "demo-web: the relay did not start; its log:" >&2; cat "$WORK/relay.log" >&2; exit 1; }

# A first page, made on a CLI device and synced to the relay, so the browser fetches it.
C=(--data "$WORK/cli")
DOC="$("$T" "${C[@]}" new --title "Weekend plan")"
"$T" "${C[@]}" add "$DOC" --kind heading --level 1 --text "Saturday" >/dev/null
"$T" "${C[@]}" add "$DOC" --kind paragraph --text "Open this link in two browsers (or a private window): two devices. Switch one offline, edit both, then reconnect. Tabs of one browser share one copy." >/dev/null
"$T" "${C[@]}" add "$DOC" --kind todo --text "Buy bread" >/dev/null
"$T" "${C[@]}" add "$DOC" --kind todo --text "Call Sam" >/dev/null
"$T" "${C[@]}" add "$DOC" --kind bulleted --text "Tab indents a block, Shift+Tab outdents it" >/dev/null
"$T" "${C[@]}" add "$DOC" --kind quote --text "Select text and press Ctrl+B, Ctrl+I or Ctrl+K." >/dev/null
TOKEN="$("$T" token --secret "$SECRET" --sub web-demo --doc "${DOC#automerge:}" --ttl 86400)"
"$T" "${C[@]}" sync "$DOC" --relay "$RELAY" --token "$TOKEN" >/dev/null

HASH="$(node -e 'const [r, t, p] = process.argv.slice(1); console.log(new URLSearchParams({ relay: r, token: t, page: p }).toString())' "$RELAY" "$TOKEN" "$DOC")"
echo >&2
echo "== the web editor: open this link (a token for this page only, valid 24 h) ==" >&2
echo "http://127.0.0.1:$WEB_PORT/#$HASH"
echo >&2
node client-wasm/examples/web/server.mjs "$WEB_PORT"
