# Native client targets; included by the top-level Makefile (include mk/*.mk).
.PHONY: demo-client test-client test-client-e2e bench-client

# Two devices, concurrent offline edits, merged through the relay in workerd. Becomes
# `make demo` once it has had a green run (until then `make demo` runs the in-process demo).
demo-client:
	bash scripts/demo.sh

# The client's tests: storage, CLI process and loopback transport tests.
test-client:
	cargo test -p client-native

# End-to-end tests of the CLI against the relay in workerd. Not yet part of `make test`: they
# have not had a complete green run on this machine (see the issue notes).
test-client-e2e: relay-build
	cargo test -p client-e2e -- --test-threads=1

# P7 (local durable edit latency, batched edits/s).
bench-client:
	cargo run --release -q -p client-native --bin tessera-bench
