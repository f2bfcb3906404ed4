#!/usr/bin/env bash
# Installs what the bindings' build and tests need, each only when missing (idempotent, so CI
# pays for it once per machine), and prints the variables mk/bindings.mk reads:
#   - apt: a JDK (default-jdk-headless), JNA (libjna-java, /usr/share/java/jna.jar), Xvfb and
#     python3-tk (the desktop app's check), python3-venv;
#   - kotlinc from npm kotlin-compiler (npm pack + untar; it bundles kotlinx-coroutines);
#   - maturin from PyPI, in a virtualenv of its own.
# Everything but apt goes under $TESSERA_TOOLS (default ~/.cache/tessera/tools).
set -euo pipefail

TOOLS="${TESSERA_TOOLS:-$HOME/.cache/tessera/tools}"
KOTLIN_VERSION=2.4.20
MATURIN_VERSION=1.16.0
KOTLIN_HOME="$TOOLS/kotlin-compiler-$KOTLIN_VERSION"
MATURIN_VENV="$TOOLS/maturin-$MATURIN_VERSION"

log() { echo "bindings/tools.sh: $*" >&2; }

apt_packages=()
command -v javac >/dev/null || apt_packages+=(default-jdk-headless)
[ -f /usr/share/java/jna.jar ] || apt_packages+=(libjna-java)
command -v Xvfb >/dev/null || apt_packages+=(xvfb)
# The app and its check run on the system Python when it has tkinter; otherwise Debian's.
python3 -c 'import tkinter, venv, ensurepip' 2>/dev/null \
    || dpkg -s python3-tk python3-venv >/dev/null 2>&1 || apt_packages+=(python3-tk python3-venv)
if [ ${#apt_packages[@]} -gt 0 ]; then
    log "apt-get install ${apt_packages[*]}"
    sudo=()
    [ "$(id -u)" = 0 ] || sudo=(sudo)
    "${sudo[@]}" apt-get install -y --no-install-recommends "${apt_packages[@]}" >&2 \
        || { "${sudo[@]}" apt-get update >&2 && "${sudo[@]}" apt-get install -y --no-install-recommends "${apt_packages[@]}" >&2; }
fi

if [ ! -x "$KOTLIN_HOME/bin/kotlinc" ]; then
    log "kotlinc $KOTLIN_VERSION from npm (about 90 MB)"
    tmp="$(mktemp -d)"
    (cd "$tmp" && npm pack --silent "kotlin-compiler@$KOTLIN_VERSION" >/dev/null && tar xzf kotlin-compiler-*.tgz)
    mkdir -p "$TOOLS"
    rm -rf "$KOTLIN_HOME.partial"
    mv "$tmp/package" "$KOTLIN_HOME.partial"
    chmod +x "$KOTLIN_HOME.partial"/bin/*
    mv "$KOTLIN_HOME.partial" "$KOTLIN_HOME"
    rm -rf "$tmp"
fi

if [ ! -x "$MATURIN_VENV/bin/maturin" ]; then
    log "maturin $MATURIN_VERSION from PyPI"
    rm -rf "$MATURIN_VENV"
    python3 -m venv "$MATURIN_VENV"
    "$MATURIN_VENV/bin/pip" install -q "maturin==$MATURIN_VERSION" >&2
fi

echo "KOTLIN_HOME=$KOTLIN_HOME"
echo "MATURIN=$MATURIN_VENV/bin/maturin"
echo "JNA_JAR=/usr/share/java/jna.jar"
