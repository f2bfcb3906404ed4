#!/usr/bin/env bash
# The demo: two devices edit one page offline, concurrently, then sync through the relay and
# print the same merged page. Needs scripts/relay.sh (the relay in workerd).
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ ! -x scripts/relay.sh && ! -f scripts/relay.sh ]]; then
  echo "demo: scripts/relay.sh is missing; the relay has not landed on this branch" >&2
  exit 1
fi

echo "== building the tessera CLI =="
cargo build -p tessera-cli --bin tessera
TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
T="$TARGET_DIR/debug/tessera"

WORK="$(mktemp -d)"
PORT="${DEMO_PORT:-$(( (RANDOM % 20000) + 20000 ))}"
RELAY="http://127.0.0.1:$PORT"
[[ -f .dev.vars ]] || cp .dev.vars.example .dev.vars
SECRET="$(sed -n 's/^TESSERA_JWT_SECRET=//p' .dev.vars | tr -d '"')"

bash scripts/relay.sh build
echo "== starting the relay in workerd on $RELAY =="
RELAY_NO_BUILD=1 setsid bash scripts/relay.sh "$PORT" "$WORK/relay" >"$WORK/relay.log" 2>&1 &
RELAY_PID=$!
disown "$RELAY_PID"  # its SIGKILL at exit is expected, not worth a "Killed" line
cleanup() { kill -9 -- "-$RELAY_PID" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
for _ in $(seq 1 900); do
  curl -fs "$RELAY/health" >/dev/null 2>&1 && break
  sleep 0.2
done
curl -fs "$RELAY/health" >/dev/null || { echo "demo: relay did not start; see its log:" >&2; cat "$WORK/relay.log" >&2; exit 1; }

TOKEN="$("$T" token --secret "$SECRET" --sub demo --scope write)"
A=(--data "$WORK/laptop"); B=(--data "$WORK/phone")

DOC="$("$T" "${A[@]}" new --title "Trip plan")"
X="$("$T" "${A[@]}" add "$DOC" --kind paragraph --text "Pack bags")"
Y="$("$T" "${A[@]}" add "$DOC" --kind heading --level 2 --text "Day one")"
Z="$("$T" "${A[@]}" add "$DOC" --kind todo --text "Book hotel")"
Q="$("$T" "${A[@]}" add "$DOC" --kind quote --text "Old note")"
"$T" "${A[@]}" sync "$DOC" --relay "$RELAY" --token "$TOKEN"
"$T" "${B[@]}" sync "$DOC" --relay "$RELAY" --token "$TOKEN"
echo "== both devices (laptop, phone) have the page; now they edit it offline, concurrently =="
cat <<'TXT'
  text:   laptop inserts "Please " at 0        | phone inserts " tonight" at 9 of "Pack bags"
  marks:  laptop bolds 0..6                    | phone links 3..9
  move:   laptop moves "Book hotel" under the heading | phone moves it under the paragraph
  cycle:  laptop moves the paragraph under the heading | phone moves the heading under the paragraph
  delete: laptop edits "Old note"              | phone deletes it
TXT

"$T" "${A[@]}" edit "$DOC" "$X" --insert 0 "Please "           # text, same block
"$T" "${B[@]}" edit "$DOC" "$X" --insert 9 " tonight"
"$T" "${A[@]}" mark "$DOC" "$X" 0 6 bold                        # marks
"$T" "${B[@]}" mark "$DOC" "$X" 3 9 link=https://example.com
"$T" "${A[@]}" move "$DOC" "$Z" --parent "$Y"                   # same block, two places
"$T" "${B[@]}" move "$DOC" "$Z" --parent "$X"
"$T" "${A[@]}" move "$DOC" "$X" --parent "$Y"                   # would form a cycle
"$T" "${B[@]}" move "$DOC" "$Y" --parent "$X"
"$T" "${A[@]}" edit "$DOC" "$Q" --set "Edited note"             # edit vs delete
"$T" "${B[@]}" delete "$DOC" "$Q"

echo "== both sync through the relay =="
for _ in 1 2; do
  "$T" "${A[@]}" sync "$DOC" --relay "$RELAY" --token "$TOKEN"
  "$T" "${B[@]}" sync "$DOC" --relay "$RELAY" --token "$TOKEN"
done

echo "== laptop =="; "$T" "${A[@]}" show "$DOC"
echo "== phone ==";  "$T" "${B[@]}" show "$DOC"
if [[ "$("$T" "${A[@]}" show "$DOC" --json)" == "$("$T" "${B[@]}" show "$DOC" --json)" ]]; then
  echo "== identical on both devices (show --json is byte-identical) =="
else
  echo "demo: the devices differ" >&2; exit 1
fi
