#!/usr/bin/env bash
# Copies what the extension loads from elsewhere in the repository into vendor/ (an unpacked
# extension can only load files under its own directory): the package's web build
# (client-wasm/pkg/web, from `make wasm-pkg`) and the editor of the web demo.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
PKG="$HERE/../../pkg/web"
if [ ! -f "$PKG/tessera_bg.wasm" ]; then
    echo "vendor.sh: no $PKG/tessera_bg.wasm: run \`make wasm-pkg\` first" >&2
    exit 1
fi
rm -rf "$HERE/vendor"
mkdir -p "$HERE/vendor/tessera" "$HERE/vendor/editor"
cp "$PKG/tessera.js" "$PKG/tessera.d.ts" "$PKG/tessera_bg.wasm" "$HERE/vendor/tessera/"
cp "$HERE/../web/editor/"*.js "$HERE/../web/editor/"*.css "$HERE/vendor/editor/"
echo "vendor.sh: the extension is ready to load unpacked from $HERE" >&2
