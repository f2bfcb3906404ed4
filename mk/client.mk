# Native client targets; included by the top-level Makefile (include mk/*.mk).
.PHONY: demo-client test-client test-client-e2e bench-client bench-client-peers

# Two devices, concurrent offline edits, merged through the relay in workerd: `make demo`.
demo-client:
	bash scripts/demo.sh

# The client's tests: the shared SQLite store (client-sqlite), storage, CLI process and loopback
# transport tests, then the end-to-end suite of the CLI against the relay in workerd (one relay
# per test, one test at a time).
test-client: relay-build
	cargo test -p client-sqlite -p client-native -p tessera-cli
	cargo test -p client-e2e -- --test-threads=1

test-client-e2e: relay-build
	cargo test -p client-e2e -- --test-threads=1

# P1 (edit->visible through the relay in workerd, next to y-sweet and the automerge-repo Node
# server), P4/P5 (reconnect and first sync of a 100k-change document) and P7 (local edits), in
# one run on loopback (bench/client). The P4/P5 document replays the automerge-paper trace when
# it is there (BENCH_TRACE), a seeded stand-in otherwise; the table says which.
# The relay under measurement is the optimized build (wasm-opt), as deployed.
bench-client: export RELAY_OPT := 1
bench-client: relay-build bench-client-peers
	cargo run --release -q -p client-bench -- --trace $(BENCH_TRACE)

# The peers the bench compares against, installed on first use: y-sweet 0.9.1 (cargo, about
# 7 min cold) and the automerge-repo server's npm packages (pinned in package-lock.json).
bench-client-peers:
	@[ -d node_modules/@automerge/automerge-repo-storage-nodefs ] && [ -d node_modules/ws ] \
		|| npm ci --no-audit --no-fund
	@[ -x $(TESSERA_TOOLS)/y-sweet/bin/y-sweet ] \
		|| cargo install --root $(TESSERA_TOOLS)/y-sweet y-sweet --version 0.9.1 --locked
