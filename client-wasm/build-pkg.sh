#!/usr/bin/env bash
# Builds the npm package in client-wasm/pkg: an ESM `web` build (pages, workers, extensions)
# and a CommonJS `node` build, from one release wasm, with the pinned wasm-bindgen CLI (equal
# to Cargo.lock) and wasm-opt from npm binaryen. Nothing is downloaded at build time beyond
# what `npm ci` and `cargo install` fetch when a tool is missing.
#
# The SQLite store is a second wasm (crate client-wasm-sqlite, `web/tessera_sqlite*`), loaded
# only by its dedicated worker (`web/snippets/.../sqlite_worker.js`, which wasm-bindgen places
# with --split-linked-modules): the page's wasm carries no SQLite, so the IndexedDB build
# stays small. Compiling SQLite's C for wasm32 needs clang (apt, see mk/wasm.mk).
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
        find Cargo.toml Cargo.lock rust-toolchain.toml sync-core client-sqlite client-wasm/Cargo.toml \
            client-wasm/src client-wasm/sqlite-worker client-wasm/build-pkg.sh -type f -print | LC_ALL=C sort | xargs sha256sum
    } | sha256sum | cut -d' ' -f1
}

gz() { gzip -9 -c "$@" | wc -c; }

sizes() {
    local wasm=$PKG/web/${NAME}_bg.wasm js=$PKG/web/$NAME.js
    local swasm=$PKG/web/${NAME}_sqlite_bg.wasm sjs=$PKG/web/${NAME}_sqlite.js
    local worker
    worker="$(find "$PKG/web/snippets" -name sqlite_worker.js | head -1)"
    local kind="release"
    if [ "${WASM_DEV:-0}" = 1 ]; then kind="dev (unoptimized, for tests)"; fi
    local page sqlite
    page=$(( $(gz "$wasm") + $(gz "$js") ))
    sqlite=$(( $(gz "$swasm") + $(gz "$sjs") + $(gz "$worker") ))
    echo "client-wasm web build, $kind: wasm $(( $(wc -c < "$wasm") / 1024 )) KiB raw, $(( $(gz "$wasm") / 1024 )) KiB gzip; JS glue $(( $(gz "$js") / 1024 )) KiB gzip; total $(( page / 1024 )) KiB gzip (the IndexedDB build: page wasm + glue, IndexedDB + memory stores)"
    echo "client-wasm SQLite worker, $kind: wasm $(( $(wc -c < "$swasm") / 1024 )) KiB raw, $(( $(gz "$swasm") / 1024 )) KiB gzip; glue + worker script $(( ($(gz "$sjs") + $(gz "$worker")) / 1024 )) KiB gzip; the SQLite build loads both: $(( (page + sqlite) / 1024 )) KiB gzip"
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
    # One build of both crates, as `make test-wasm` and `make lint-wasm` do: their shared
    # dependencies get one feature set, so automerge and the rest compile once, not per crate.
    log "cargo build -p client-wasm -p client-wasm-sqlite ${flags[*]} (wasm32; SQLite's C with clang)"
    cargo build -p client-wasm -p client-wasm-sqlite --target wasm32-unknown-unknown "${flags[@]}" >&2
    local raw="$TARGET/wasm32-unknown-unknown/$profile/tessera_wasm.wasm"
    local sraw="$TARGET/wasm32-unknown-unknown/$profile/tessera_sqlite.wasm"
    local tmp
    tmp="$(mktemp -d)"
    trap 'rm -rf "$tmp"' RETURN
    # --split-linked-modules: the SQLite worker's script is a file next to the glue (a blob
    # URL could not import the SQLite glue relative to the package).
    "$TOOLS/bin/wasm-bindgen" --target web --split-linked-modules --out-name "$NAME" --out-dir "$tmp/web" "$raw"
    "$TOOLS/bin/wasm-bindgen" --target nodejs --split-linked-modules --out-name "$NAME" --out-dir "$tmp/node" "$raw"
    "$TOOLS/bin/wasm-bindgen" --target web --out-name "${NAME}_sqlite" --out-dir "$tmp/web" "$sraw"
    if [ "${WASM_NO_OPT:-0}" != 1 ]; then
        log "wasm-opt -Oz"
        # wasm-bindgen's output uses multi-value returns and reference types.
        local opt=(node_modules/.bin/wasm-opt -Oz --enable-multivalue --enable-reference-types
            --enable-bulk-memory --enable-sign-ext --enable-nontrapping-float-to-int
            --enable-mutable-globals)
        "${opt[@]}" "$tmp/web/${NAME}_bg.wasm" -o "$tmp/opt.wasm"
        cp "$tmp/opt.wasm" "$tmp/web/${NAME}_bg.wasm"
        cp "$tmp/opt.wasm" "$tmp/node/${NAME}_bg.wasm"
        "${opt[@]}" "$tmp/web/${NAME}_sqlite_bg.wasm" -o "$tmp/sopt.wasm"
        cp "$tmp/sopt.wasm" "$tmp/web/${NAME}_sqlite_bg.wasm"
    fi
    # Node runs no SQLite worker (no OPFS): the worker script is for the web build only.
    rm -rf "$tmp/node/snippets"
    # The web glue's InitOutput lists raw wasm exports typed `any`; nothing in the public
    # API uses them, and `unknown` keeps the .d.ts free of `any`.
    sed -i '/^export interface InitOutput {/,/^}/s/\bany\b/unknown/g' "$tmp/web/$NAME.d.ts"
    sed -i 's/\bany\b/unknown/g' "$tmp/web/${NAME}_bg.wasm.d.ts" "$tmp/node/${NAME}_bg.wasm.d.ts" \
        "$tmp/web/${NAME}_sqlite_bg.wasm.d.ts"
    sed -i '/^export interface InitOutput {/,/^}/s/\bany\b/unknown/g' "$tmp/web/${NAME}_sqlite.d.ts"
    # The node build is CommonJS inside a "type": "module" package.
    echo '{ "type": "commonjs" }' > "$tmp/node/package.json"
    rm -rf "$PKG/web" "$PKG/node"
    mv "$tmp/web" "$tmp/node" "$PKG/"
    echo "$digest" > "$PKG/.inputs"
    sizes
}

build
