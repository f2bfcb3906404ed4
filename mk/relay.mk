# Relay targets, included by the top-level Makefile (`include mk/*.mk`).
#   make relay PORT=8787 STATE=.wrangler/state   build and serve the relay on 127.0.0.1:PORT
#   make relay-build                             build build/worker/ (worker-build, wasm-opt)
#   make relay-bundle                            `wrangler deploy --dry-run` offline; prints its size
#   make test-relay                              end-to-end tests against workerd, and the
#                                                JS + Rust CLI interop script
#   make bench-relay                             relay benchmark table
# Every target installs what it needs (npm ci, worker-build, wasm-bindgen-cli) when missing.

PORT ?= 8787
STATE ?= .wrangler/state

.PHONY: relay relay-build relay-bundle test-relay bench-relay

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
	cargo build -p tessera-cli --bin tessera
	node tests/relay-e2e/interop.mjs

bench-relay:
	cargo run --release -p relay-bench -- $(BENCH_TRACE)
