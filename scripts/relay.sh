#!/usr/bin/env bash
# Builds the Tessera relay Worker and serves it in real workerd (`wrangler dev`) on 127.0.0.1.
#
#   scripts/relay.sh build                 install tools if missing, build build/worker/
#   scripts/relay.sh serve PORT STATE_DIR  build, then run wrangler dev until stopped
#   scripts/relay.sh PORT STATE_DIR        the same
#   scripts/relay.sh bundle [OUTDIR]       build, then `wrangler deploy --dry-run` (offline) into
#                                          OUTDIR (default build/bundle) and print its size
#
# Installs what is missing: npm packages (`npm ci`, pinned by package-lock.json), and
# worker-build / wasm-bindgen-cli into $TESSERA_TOOLS (default $HOME/.cache/tessera/tools).
# Env: RELAY_NO_BUILD=1 skips the build; RELAY_VARS="K=V ..." adds `--var K:V` overrides;
# RELAY_TLS_CERT=PEM RELAY_TLS_KEY=PEM serve HTTPS/wss:// with that certificate;
# RELAY_OPT=1 runs wasm-opt -O on the bundle (always for `bundle`); local and test builds skip
# it: it costs minutes on a cold 2-core machine and the output is only ~3 % larger.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
TOOLS="${TESSERA_TOOLS:-$HOME/.cache/tessera/tools}"
WORKER_BUILD_VERSION=0.8.7
# The CLI must equal the wasm-bindgen crate in Cargo.lock.
WASM_BINDGEN_VERSION="$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/,""); print; exit}' Cargo.lock)"

export WRANGLER_SEND_METRICS=false WRANGLER_SEND_ERROR_REPORTS=false CLOUDFLARE_CF_FETCH_ENABLED=false
export WRANGLER_HIDE_BANNER=true
export XDG_CONFIG_HOME="${XDG_CONFIG_HOME_RELAY:-$ROOT/.wrangler/xdg}"
mkdir -p "$XDG_CONFIG_HOME"

log() { echo "relay.sh: $*" >&2; }

install_tools() {
    if [ ! -x node_modules/.bin/wrangler ] || [ ! -x node_modules/.bin/wasm-opt ] || [ ! -x node_modules/.bin/esbuild ]; then
        log "npm ci"
        # The lock lists cbor-extract's optional platform packages (absent from the registry
        # these machines reach; cbor-x works without them) so that `npm ci` accepts it.
        npm ci --no-audit --no-fund >&2
    fi
    if ! "$TOOLS/bin/worker-build" --version 2>/dev/null | grep -q "$WORKER_BUILD_VERSION"; then
        log "cargo install worker-build $WORKER_BUILD_VERSION (about 10 min cold)"
        cargo install --root "$TOOLS" worker-build --version "$WORKER_BUILD_VERSION" --locked >&2
    fi
    if ! "$TOOLS/bin/wasm-bindgen" --version 2>/dev/null | grep -q "$WASM_BINDGEN_VERSION"; then
        log "cargo install wasm-bindgen-cli $WASM_BINDGEN_VERSION (about 3 min cold)"
        # Not --locked: its lockfile names a yanked webpki-roots.
        cargo install --root "$TOOLS" wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" >&2
    fi
    rustup target add wasm32-unknown-unknown >&2 2>/dev/null || true
}

# 1 when wasm-opt runs: only on request (RELAY_OPT=1), never with the older RELAY_NO_OPT=1.
opt_level() {
    if [ "${RELAY_OPT:-0}" = 1 ] && [ "${RELAY_NO_OPT:-0}" != 1 ]; then echo 1; else echo 0; fi
}

# A digest of everything the Worker bundle is built from; `build` is skipped when it matches the
# one recorded with build/ (worker-build reruns wasm-bindgen and wasm-opt, 1-2 minutes, even
# when cargo has nothing to do).
inputs_digest() {
    {
        echo "opt=$(opt_level) worker-build=$WORKER_BUILD_VERSION wasm-bindgen=$WASM_BINDGEN_VERSION"
        find Cargo.toml Cargo.lock rust-toolchain.toml package-lock.json relay-worker sync-core \
            -path relay-worker/build -prune -o -type f -print | LC_ALL=C sort | xargs sha256sum
    } | sha256sum | cut -d' ' -f1
}

build() {
    install_tools
    local digest
    digest="$(inputs_digest)"
    if [ -f build/worker/shim.mjs ] && [ "$(cat build/.inputs 2>/dev/null)" = "$digest" ]; then
        log "build/ is up to date"
        return
    fi
    log "worker-build --release"
    local opt=()
    if [ "$(opt_level)" = 0 ]; then opt=(--no-opt); fi
    (
        cd relay-worker
        WASM_BINDGEN_BIN="$TOOLS/bin/wasm-bindgen" \
        WASM_OPT_BIN="$ROOT/node_modules/.bin/wasm-opt" \
        ESBUILD_BIN="$ROOT/node_modules/.bin/esbuild" \
            "$TOOLS/bin/worker-build" --release "${opt[@]}" >&2
    )
    rm -rf build && mv relay-worker/build build
    echo "$digest" > build/.inputs
}

serve() {
    local port="${1:-8787}" state="${2:-.wrangler/state}"
    if [ "${RELAY_NO_BUILD:-0}" != 1 ] || [ ! -f build/worker/shim.mjs ]; then build; else install_tools; fi
    if [ ! -f .dev.vars ]; then
        log "creating .dev.vars from .dev.vars.example"
        cp .dev.vars.example .dev.vars
    fi
    local vars=()
    for kv in ${RELAY_VARS:-}; do vars+=(--var "${kv%%=*}:${kv#*=}"); done
    # HTTPS with a certificate the caller made (both PEM files), so wss:// clients can be tested.
    local tls=() scheme=http
    if [ -n "${RELAY_TLS_CERT:-}" ] || [ -n "${RELAY_TLS_KEY:-}" ]; then
        tls=(--local-protocol https --https-cert-path "${RELAY_TLS_CERT:?RELAY_TLS_KEY needs RELAY_TLS_CERT}" \
            --https-key-path "${RELAY_TLS_KEY:?RELAY_TLS_CERT needs RELAY_TLS_KEY}")
        scheme=https
    fi
    mkdir -p "$state"
    log "serving on $scheme://127.0.0.1:$port (state in $state)"
    exec node_modules/.bin/wrangler dev --config wrangler.toml --env development \
        --ip 127.0.0.1 --port "$port" --persist-to "$state" \
        --show-interactive-dev-session=false "${tls[@]}" "${vars[@]}"
}

# What `wrangler deploy` would upload, built offline; prints the raw and gzipped sizes (the
# gzipped size is what Cloudflare's Worker size limit counts).
bundle() {
    local out="${1:-build/bundle}"
    export RELAY_OPT=1
    if [ "${RELAY_NO_BUILD:-0}" != 1 ] || [ ! -f build/worker/shim.mjs ]; then build; else install_tools; fi
    rm -rf "$out"
    node_modules/.bin/wrangler deploy --dry-run --outdir "$out" --config wrangler.toml \
        --env production >&2
    local raw gz
    raw=$(find "$out" -type f \( -name '*.js' -o -name '*.mjs' -o -name '*.wasm' \) -print0 | xargs -0 cat | wc -c)
    gz=$(find "$out" -type f \( -name '*.js' -o -name '*.mjs' -o -name '*.wasm' \) -print0 | xargs -0 cat | gzip -9 | wc -c)
    echo "relay bundle ($out): $((raw / 1024)) KiB raw, $((gz / 1024)) KiB gzip"
}

case "${1:-serve}" in
    build) build ;;
    bundle) shift || true; bundle "$@" ;;
    serve) shift || true; serve "$@" ;;
    # `scripts/relay.sh PORT STATE_DIR` is short for `serve PORT STATE_DIR`.
    [0-9]*) serve "$@" ;;
    *) echo "usage: $0 build | serve [PORT] [STATE_DIR] | bundle [OUTDIR]" >&2; exit 2 ;;
esac
