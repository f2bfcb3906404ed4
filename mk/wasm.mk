# The browser client (client-wasm) and its npm package; included by the top-level Makefile.
#   make wasm-pkg      build client-wasm/pkg (web + node, wasm-opt) and print the gzipped sizes
#   make wasm-pack     wasm-pkg, then `npm pack` the package into client-wasm/pkg/*.tgz
#   make test-wasm     the stores' conformance suites in headless Chromium (IndexedDB and memory in
#                      a page, SQLite on OPFS in a dedicated worker), then the Node suite and the
#                      Chromium suites against the relay in workerd (devices, workers, the SQLite
#                      store, tabs sharing a database, the service worker's keepalive)
#   make lint-wasm     clippy for wasm32 (the crate is empty natively)
#   make bench-wasm    browser figures next to the native client's, and the bundle size
#   make wasm-setup    Debian's chromium and chromium-driver, wasm-clang; playwright-core and
#                      typescript (npm ci)
#   make wasm-clang    Debian's clang and llvm, which compile SQLite's C for wasm32

.PHONY: wasm-clang wasm-setup wasm-pkg wasm-pack test-wasm lint-wasm bench-wasm

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# Browsers are never downloaded: the suites drive Debian's chromium through playwright-core,
# and wasm-bindgen-test-runner drives it through chromedriver.
# sqlite-wasm-rs compiles SQLite's amalgamation for wasm32 in its build script (so even
# clippy needs it): clang, and llvm-ar to index the archive (GNU ar cannot).
wasm-clang:
	@command -v clang >/dev/null && command -v llvm-ar >/dev/null \
		|| { $(SUDO) apt-get update && $(SUDO) apt-get install -y clang llvm; }

wasm-setup: wasm-clang
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null \
		|| { $(SUDO) apt-get update && $(SUDO) apt-get install -y chromium chromium-driver; }
	@{ [ -n "$$PLAYWRIGHT_CORE_DIR" ] || [ -d node_modules/playwright-core ]; } \
		&& { [ -n "$$TYPESCRIPT_DIR" ] || [ -d node_modules/typescript ]; } || npm ci --no-audit --no-fund
	@rustup target add wasm32-unknown-unknown >/dev/null 2>&1 || true

wasm-pkg: wasm-clang
	client-wasm/build-pkg.sh

wasm-pack: wasm-pkg
	cd client-wasm/pkg && npm pack --pack-destination .

# The stores' conformance suites run in headless Chromium through wasm-bindgen-test-runner and
# chromedriver (client-wasm/webdriver.json has the flags): the page's stores in client-wasm,
# the SQLite store in a dedicated worker in client-wasm-sqlite (its own crate and wasm), in one
# cargo invocation so both share one build of their dependencies. The Node and browser suites use the
# package's dev-profile build (the same code; it reuses the conformance run's compiled
# dependencies, where a release build costs ~6 min cold and wasm-opt ~80 s on a 2-core
# machine); one suite file at a time, each with its own relay.
test-wasm: relay-build wasm-setup
	cd client-wasm && CHROMEDRIVER=$${CHROMEDRIVER:-/usr/bin/chromedriver} \
		CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=$(TESSERA_TOOLS)/bin/wasm-bindgen-test-runner \
		cargo test -p client-wasm -p client-wasm-sqlite --target wasm32-unknown-unknown
	WASM_DEV=1 client-wasm/build-pkg.sh
	cargo build -p tessera-cli --bin tessera
	node --experimental-websocket --test --test-concurrency=1 client-wasm/tests/node/ client-wasm/tests/browser/

# `make lint` runs it too.
lint: lint-wasm
lint-wasm: wasm-clang
	cargo clippy -p client-wasm -p client-wasm-sqlite --target wasm32-unknown-unknown --all-targets -- -D warnings

# Figures (not a test), on the optimized package as shipped: edit→visible between two browser
# devices through the relay in workerd next to two native devices (bench/wasm-native), cold
# open of a 10k-edit page from IndexedDB and from SQLite on OPFS next to the native client's
# from SQLite, and the package's gzipped sizes (the IndexedDB build, the SQLite worker).
bench-wasm: relay-build wasm-setup wasm-pkg
	cargo build -p tessera-cli --bin tessera
	cargo build --release -p wasm-bench-native
	node --experimental-websocket client-wasm/bench/browser.mjs
