# The browser client (client-wasm) and its npm package; included by the top-level Makefile.
#   make wasm-pkg      build client-wasm/pkg (web + node, wasm-opt) and print the gzipped sizes
#   make wasm-pack     wasm-pkg, then `npm pack` the package into client-wasm/pkg/*.tgz
#   make test-wasm     the stores' conformance suite in headless Chromium, then the Node suite and
#                      the Chromium suites against the relay in workerd (devices, workers, tabs
#                      sharing a database, the service worker's keepalive)
#   make lint-wasm     clippy for wasm32 (the crate is empty natively)
#   make bench-wasm    browser figures next to the native client's, and the bundle size
#   make wasm-setup    Debian's chromium and chromium-driver; playwright-core and
#                      typescript (npm ci)

.PHONY: wasm-setup wasm-pkg wasm-pack test-wasm lint-wasm bench-wasm

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# Browsers are never downloaded: the suites drive Debian's chromium through playwright-core,
# and wasm-bindgen-test-runner drives it through chromedriver.
wasm-setup:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null \
		|| { $(SUDO) apt-get update && $(SUDO) apt-get install -y chromium chromium-driver; }
	@{ [ -n "$$PLAYWRIGHT_CORE_DIR" ] || [ -d node_modules/playwright-core ]; } \
		&& { [ -n "$$TYPESCRIPT_DIR" ] || [ -d node_modules/typescript ]; } || npm ci --no-audit --no-fund
	@rustup target add wasm32-unknown-unknown >/dev/null 2>&1 || true

wasm-pkg:
	client-wasm/build-pkg.sh

wasm-pack: wasm-pkg
	cd client-wasm/pkg && npm pack --pack-destination .

# The stores' conformance suite runs in headless Chromium through wasm-bindgen-test-runner and
# chromedriver (client-wasm/webdriver.json has the flags). The Node and browser suites use the
# package's dev-profile build (the same code; it reuses the conformance run's compiled
# dependencies, where a release build costs ~6 min cold and wasm-opt ~80 s on a 2-core
# machine); one suite file at a time, each with its own relay.
test-wasm: relay-build wasm-setup
	cd client-wasm && CHROMEDRIVER=$${CHROMEDRIVER:-/usr/bin/chromedriver} \
		CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=$(TESSERA_TOOLS)/bin/wasm-bindgen-test-runner \
		cargo test -p client-wasm --target wasm32-unknown-unknown
	WASM_DEV=1 client-wasm/build-pkg.sh
	cargo build -p tessera-cli --bin tessera
	node --experimental-websocket --test --test-concurrency=1 client-wasm/tests/node/ client-wasm/tests/browser/

# `make lint` runs it too.
lint: lint-wasm
lint-wasm:
	cargo clippy -p client-wasm --target wasm32-unknown-unknown --all-targets -- -D warnings

# Figures (not a test), on the optimized package as shipped: edit→visible between two browser
# devices through the relay in workerd next to two native devices (bench/wasm-native), cold open of a 10k-edit page from IndexedDB next to the
# native client's from SQLite, and the package's gzipped size.
bench-wasm: relay-build wasm-setup wasm-pkg
	cargo build -p tessera-cli --bin tessera
	cargo build --release -p wasm-bench-native
	node --experimental-websocket client-wasm/bench/browser.mjs
