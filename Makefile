# Tessera: the entry point for setup, tests, the demo and benchmarks.
# Every target installs what it needs on a fresh machine. Pieces of the build that belong to one
# component live in mk/*.mk (the relay, the native client), included below.

SHELL := /bin/bash
.DEFAULT_GOAL := help

# Build outputs go to a stable cache outside the clone, so CI and repeated runs reuse them. The
# choice is the same on the first run and every later one: the cache directory is created when
# it can be, and only when it cannot (no writable $HOME) does the clone's own target/ serve.
TESSERA_CACHE := $(shell mkdir -p "$(HOME)/.cache/tessera" 2>/dev/null && echo "$(HOME)/.cache/tessera")
ifneq ($(TESSERA_CACHE),)
export CARGO_TARGET_DIR ?= $(TESSERA_CACHE)/target
endif
# The editing history the benchmarks replay; a seeded stand-in when the file is missing.
BENCH_TRACE ?= $(CURDIR)/../shared/data/automerge-paper-edits.json

# Tools installed by the project (worker-build, wasm-bindgen-cli, ...) live here.
export TESSERA_TOOLS ?= $(HOME)/.cache/tessera/tools

.PHONY: help setup lint wasm-check test test-core bench bench-core demo demo-core

help:
	@echo "Setup and checks"
	@echo "  make demo          the main job: two devices edit offline and sync through the relay in workerd"
	@echo "  make test          every test (core, relay in workerd, client, interop)"
	@echo "  make lint          cargo fmt --check and clippy -D warnings"
	@echo "  make setup         the wasm32 target"
	@echo "  make wasm-check    builds sync-core and the browser client (with its SQLite worker) for wasm32"
	@echo "Parts of the tests"
	@echo "  make test-core     sync-core: unit, golden wire, decoder and the seeded simulator"
	@echo "  make test-relay    relay unit tests, the workerd suites, JS interop"
	@echo "  make test-relay-graph   the paper history through the relay in workerd (release)"
	@echo "  make test-client   client-native tests and the client's workerd suite"
	@echo "  make test-client-e2e   only the client's workerd suite"
	@echo "  make test-bindings     uniffi bindings: Python wheel and Kotlin against workerd, Swift sources, the desktop app"
	@echo "  make bindings-swift    regenerate the committed Swift sources (bindings/swift/)"
	@echo "  make bindings-screenshot   retake the desktop app's picture (bindings/examples/desktop_app.png)"
	@echo "  make test-wasm     the browser client: Node and headless Chromium suites against the relay"
	@echo "  make test-web      the web editor and the extension sample in headless Chromium against the relay"
	@echo "The browser client (client-wasm)"
	@echo "  make wasm-pkg      build the npm package client-wasm/pkg; prints its gzipped sizes (IndexedDB, SQLite)"
	@echo "  make wasm-pack     wasm-pkg, then npm pack it into client-wasm/pkg/"
	@echo "  make wasm-setup    chromium, chromium-driver, clang, llvm (apt), playwright-core and typescript (npm)"
	@echo "  make wasm-clang    clang and llvm (apt): they compile SQLite's C for the browser's SQLite worker"
	@echo "  make lint-wasm     clippy for wasm32"
	@echo "The browser apps"
	@echo "  make demo-web      a Notion-style page editor against the relay in workerd; prints its link"
	@echo "  make extension     make the MV3 sample (client-wasm/examples/extension) loadable unpacked"
	@echo "  make web-screenshot   retake the pictures of the editor and the extension (docs/*.png)"
	@echo "The relay"
	@echo "  make relay PORT=8787 STATE=.wrangler/state   serve the relay locally (wrangler dev)"
	@echo "  make relay-build   build the Worker into build/"
	@echo "  make relay-bundle  the production bundle offline, with its gzipped size"
	@echo "Demos and benchmarks"
	@echo "  make demo-core     the demo in one process, no network"
	@echo "  make bench         every benchmark"
	@echo "  make bench-core    automerge versions compared"
	@echo "  make bench-relay   graph room figures P2-P5 next to today's room and Automerge::load, then P3/P5 in workerd"
	@echo "  make bench-client  P1 (and the workerd floor), P4, P5, P7, P1b, P6 and JS fan-out next to y-sweet and the automerge-repo server"
	@echo "  make bench-bindings  edits/s through Python (uniffi) next to client-native directly"
	@echo "  make bench-wasm    browser client: edit->visible, cold open from IndexedDB vs SQLite, bundle size"

setup:
	rustup target add wasm32-unknown-unknown

# The relay's workerd suites are `test = false` (they need a built Worker), so --all-targets
# skips them: they are linted by name.
RELAY_SUITES := --test relay --test gate --test faults --test limits --test observe

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	cargo clippy -p relay-e2e $(RELAY_SUITES) --test graph -- -D warnings

# sync-core must build for the browser and workerd with no platform dependencies. The browser
# client is built with its SQLite worker, in one invocation as mk/wasm.mk does, so the test
# and package builds reuse these dependencies.
wasm-check: setup wasm-clang
	cargo build -p sync-core --target wasm32-unknown-unknown
	cargo build -p client-wasm -p client-wasm-sqlite --target wasm32-unknown-unknown

# The core's unit tests, golden wire fixtures, decoder stress tests and the seeded simulator
# (1,000 scenarios with faults; TESSERA_SIM_SCENARIOS overrides).
test-core:
	cargo test -p sync-core

bench-core:
	cargo run --release -p automerge-versions

# The in-process demo of the core alone: two devices and a relay room, no network.
demo-core:
	cargo run --release -p sync-core --example offline_merge

include mk/*.mk

test: test-core test-relay test-client test-wasm test-web

bench: bench-core bench-relay bench-client bench-wasm

demo: demo-client
