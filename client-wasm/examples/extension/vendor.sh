#!/usr/bin/env bash
# Makes the extension loadable unpacked: an unpacked extension can only load files under its
# own directory, so this copies in what it takes from elsewhere in the repository, the
# package's web build (client-wasm/pkg/web, from `make wasm-pkg`) and the web demo's editor.
#
#   vendor.sh           into vendor/ here (git-ignored); load this directory
#   vendor.sh OUTDIR    the whole extension into OUTDIR (the tests load that copy)
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
PKG="$HERE/../../pkg/web"
if [ ! -f "$PKG/tessera_bg.wasm" ]; then
    echo "vendor.sh: no $PKG/tessera_bg.wasm: run \`make wasm-pkg\` first" >&2
    exit 1
fi
OUT="${1:-$HERE}"
if [ "$OUT" != "$HERE" ]; then
    mkdir -p "$OUT"
    cp "$HERE"/*.json "$HERE"/*.html "$HERE"/*.js "$HERE"/*.css "$OUT/"
fi
rm -rf "$OUT/vendor"
mkdir -p "$OUT/vendor/tessera" "$OUT/vendor/editor"
# The whole web build: its module may import wasm-bindgen snippets next to it.
cp -R "$PKG/." "$OUT/vendor/tessera/"
cp "$HERE/../web/editor/"*.js "$HERE/../web/editor/"*.css "$OUT/vendor/editor/"
echo "vendor.sh: the extension is ready to load unpacked from $OUT" >&2
