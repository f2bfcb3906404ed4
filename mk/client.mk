# Native client targets; included by the top-level Makefile (include mk/*.mk).
.PHONY: demo-client test-client test-client-e2e bench-client

# Two devices, concurrent offline edits, merged through the relay in workerd: `make demo`.
demo-client:
	bash scripts/demo.sh

# The client's tests: storage, CLI process and loopback transport tests, then the end-to-end
# suite of the CLI against the relay in workerd (one relay per test, one test at a time).
test-client: relay-build
	cargo test -p client-native
	cargo test -p client-e2e -- --test-threads=1

test-client-e2e: relay-build
	cargo test -p client-e2e -- --test-threads=1

# P7 (local durable edit latency, batched edits/s).
bench-client:
	cargo run --release -q -p client-native --bin tessera-bench
