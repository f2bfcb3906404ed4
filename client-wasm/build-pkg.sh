#!/usr/bin/env bash
# Builds the npm package in client-wasm/pkg: an ESM `web` build (pages, workers, extensions)
# and a CommonJS `node` build, from one release wasm, with the pinned wasm-bindgen CLI (equal
# to Cargo.lock) and wasm-opt from npm binaryen. Nothing is downloaded at build time beyond
# what `npm ci` and `cargo install` fetch when a tool is missing.
#
#   client-wasm/build-pkg.sh          build pkg/web and pkg/node, print the gzipped sizes
#   WASM_NO_OPT=1 client-wasm/build-pkg.sh   skip wasm-opt
#   WASM_DEV=1 client-wasm/build-pkg.sh      a dev-profile build without wasm-opt, for the test
#                                            suites: it shares its compiled dependencies with
#                                            the wasm-bindgen-test run (no cold release build)
#
# Skips everything when pkg/ was built from the same inputs (digest in pkg/.inputs).
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
cd "$ROOT"
TOOLS="${TESSERA_TOOLS:-$HOME/.cache/tessera/tools}"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
PKG="$HERE/pkg"
NAME=tessera
WASM_BINDGEN_VERSION="$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/,""); print; exit}' Cargo.lock)"

log() { echo "build-pkg: $*" >&2; }

install_tools() {
    if [ ! -x node_modules/.bin/wasm-opt ]; then
        log "npm ci"
        npm ci --no-audit --no-fund >&2
    fi
    if ! "$TOOLS/bin/wasm-bindgen" --version 2>/dev/null | grep -q "$WASM_BINDGEN_VERSION"; then
        log "cargo install wasm-bindgen-cli $WASM_BINDGEN_VERSION (about 3 min cold)"
        # Not --locked: its lockfile names a yanked webpki-roots.
        cargo install --root "$TOOLS" wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" >&2
    fi
    rustup target add wasm32-unknown-unknown >&2 2>/dev/null || true
}

inputs_digest() {
    {
        echo "opt=${WASM_NO_OPT:-0} dev=${WASM_DEV:-0} wasm-bindgen=$WASM_BINDGEN_VERSION"
        find Cargo.toml Cargo.lock rust-toolchain.toml sync-core client-wasm/Cargo.toml client-wasm/src \
            client-wasm/build-pkg.sh -type f -print | LC_ALL=C sort | xargs sha256sum
    } | sha256sum | cut -d' ' -f1
}

gz() { gzip -9 -c "$@" | wc -c; }

sizes() {
    local wasm=$PKG/web/${NAME}_bg.wasm js=$PKG/web/$NAME.js
    local kind="release"
    if [ "${WASM_DEV:-0}" = 1 ]; then kind="dev (unoptimized, for tests)"; fi
    echo "client-wasm web build, $kind: wasm $(( $(wc -c < "$wasm") / 1024 )) KiB raw, $(( $(gz "$wasm") / 1024 )) KiB gzip; JS glue $(( $(gz "$js") / 1024 )) KiB gzip; total $(( $(cat "$wasm" "$js" | gzip -9 | wc -c) / 1024 )) KiB gzip (IndexedDB + memory stores)"
}

build() {
    install_tools
    local digest
    digest="$(inputs_digest)"
    if [ -f "$PKG/web/${NAME}_bg.wasm" ] && [ "$(cat "$PKG/.inputs" 2>/dev/null)" = "$digest" ]; then
        log "pkg/ is up to date"
        sizes
        return
    fi
    local profile=release flags=(--release)
    if [ "${WASM_DEV:-0}" = 1 ]; then profile=debug flags=(); WASM_NO_OPT=1; fi
    log "cargo build -p client-wasm ${flags[*]} (wasm32)"
    cargo build -p client-wasm --target wasm32-unknown-unknown "${flags[@]}" >&2
    local raw="$TARGET/wasm32-unknown-unknown/$profile/tessera_wasm.wasm"
    local tmp
    tmp="$(mktemp -d)"
    trap 'rm -rf "$tmp"' RETURN
    "$TOOLS/bin/wasm-bindgen" --target web --out-name "$NAME" --out-dir "$tmp/web" "$raw"
    "$TOOLS/bin/wasm-bindgen" --target nodejs --out-name "$NAME" --out-dir "$tmp/node" "$raw"
    if [ "${WASM_NO_OPT:-0}" != 1 ]; then
        log "wasm-opt -Oz"
        # wasm-bindgen's output uses multi-value returns and reference types.
        node_modules/.bin/wasm-opt -Oz --enable-multivalue --enable-reference-types \
            --enable-bulk-memory --enable-sign-ext --enable-nontrapping-float-to-int \
            --enable-mutable-globals "$tmp/web/${NAME}_bg.wasm" -o "$tmp/opt.wasm"
        cp "$tmp/opt.wasm" "$tmp/web/${NAME}_bg.wasm"
        cp "$tmp/opt.wasm" "$tmp/node/${NAME}_bg.wasm"
    fi
    # The web glue's InitOutput lists raw wasm exports typed `any`; nothing in the public
    # API uses them, and `unknown` keeps the .d.ts free of `any`.
    sed -i '/^export interface InitOutput {/,/^}/s/\bany\b/unknown/g' "$tmp/web/$NAME.d.ts"
    sed -i 's/\bany\b/unknown/g' "$tmp/web/${NAME}_bg.wasm.d.ts" "$tmp/node/${NAME}_bg.wasm.d.ts"
    # The node build is CommonJS inside a "type": "module" package.
    echo '{ "type": "commonjs" }' > "$tmp/node/package.json"
    rm -rf "$PKG/web" "$PKG/node"
    mv "$tmp/web" "$tmp/node" "$PKG/"
    echo "$digest" > "$PKG/.inputs"
    sizes
}

build
