# Tessera: the entry point for setup, tests, the demo and benchmarks.
# Every target installs what it needs on a fresh machine. Pieces of the build that belong to one
# component live in mk/*.mk (the relay, the native client), included below.

SHELL := /bin/bash
.DEFAULT_GOAL := help

# Build outputs go to a stable cache outside the clone when there is one, so CI and repeated
# runs reuse them; without $HOME/.cache, the clone's own target/ works just as well.
ifneq ($(wildcard $(HOME)/.cache),)
export CARGO_TARGET_DIR ?= $(HOME)/.cache/tessera/target
endif
# Tools installed by the project (worker-build, wasm-bindgen-cli, ...) live here.
export TESSERA_TOOLS ?= $(HOME)/.cache/tessera/tools

.PHONY: help setup lint wasm-check test test-core bench bench-core demo demo-core

help:
	@echo "make demo    run the main job: two devices edit offline and sync through the relay"
	@echo "make test    run every test"
	@echo "make relay PORT=8787 STATE=.wrangler/state   serve the relay locally"
	@echo "make bench   run the benchmarks"
	@echo "make lint    cargo fmt --check and clippy -D warnings"

setup:
	rustup target add wasm32-unknown-unknown

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

# sync-core must build for the browser and workerd with no platform dependencies.
wasm-check: setup
	cargo build -p sync-core --target wasm32-unknown-unknown

# The core's unit tests, golden wire fixtures, decoder stress tests and the seeded simulator
# (1,000 scenarios with faults; TESSERA_SIM_SCENARIOS overrides).
test-core:
	cargo test -p sync-core

bench-core:
	cargo run --release -p automerge-versions

# The in-process demo of the core alone: two devices and a relay room, no network.
demo-core:
	cargo run --release -p sync-core --example offline_merge

-include mk/*.mk

# Components add their own targets in mk/<component>.mk; they join `test`, `bench` and `demo`
# here once their fragment exists.
HAS_RELAY := $(wildcard mk/relay.mk)
HAS_CLIENT := $(wildcard mk/client.mk)
TEST_TARGETS := test-core $(if $(HAS_RELAY),test-relay) $(if $(HAS_CLIENT),test-client)
BENCH_TARGETS := bench-core $(if $(HAS_RELAY),bench-relay) $(if $(HAS_CLIENT),bench-client)
DEMO_TARGET := $(if $(HAS_CLIENT),demo-client,demo-core)

test: $(TEST_TARGETS)

bench: $(BENCH_TARGETS)

demo: $(DEMO_TARGET)
