# Relay targets, included by the top-level Makefile (`include mk/*.mk`).
#   make relay PORT=8787 STATE=.wrangler/state   build and serve the relay on 127.0.0.1:PORT
#   make relay-build                             build build/worker/ (worker-build, wasm-opt)
#   make relay-bundle                            `wrangler deploy --dry-run` offline; prints its size
#   make test-relay                              end-to-end tests against workerd, the graph
#                                                suite (the paper history), and the JS + Rust
#                                                CLI interop script
#   make bench-relay                             relay figures: natively (P2-P5), then P3/P5
#                                                in workerd (relay-graph-bench)
# Every target installs what it needs (npm ci, worker-build, wasm-bindgen-cli) when missing.

PORT ?= 8787
STATE ?= .wrangler/state

.PHONY: relay relay-build relay-bundle test-relay test-relay-graph bench-relay

relay:
	scripts/relay.sh serve $(PORT) $(STATE)

relay-build:
	scripts/relay.sh build

relay-bundle:
	scripts/relay.sh bundle build/bundle

# The tests start the already built relay (RELAY_NO_BUILD=1), one wrangler per test, one test
# at a time: the machines have two cores.
test-relay: relay-build
	cargo test -p relay-worker
	cargo test -p relay-e2e $(RELAY_SUITES) -- --test-threads=1
	cargo test --release -p relay-e2e --test graph -- --test-threads=1 --nocapture
	cargo build -p tessera-cli --bin tessera
	node tests/relay-e2e/interop.mjs

# The graph suite replays the 259,778-change automerge-paper history (a seeded stand-in of the
# same length without /work/shared/data) through the relay in workerd: uploaded, cold start,
# fresh device, wasm memory read. Release build: an unoptimised automerge's dependencies take
# minutes just to build that history. Cold cost: one release build of relay-e2e's deps (about
# 10 min on 2 cores, shared with bench-relay); the run takes about 55 s (15 s of it building
# the history client-side).
test-relay-graph: relay-build
	cargo test --release -p relay-e2e --test graph -- --test-threads=1 --nocapture

bench-relay: relay-build
	cargo run --release -p relay-bench -- $(BENCH_TRACE)
	TESSERA_TRACE=$(BENCH_TRACE) cargo run --release -q -p relay-e2e --bin relay-graph-bench
