# The browser apps on the client-wasm package; included by the top-level Makefile.
#   make demo-web        the relay in workerd and the page editor (client-wasm/examples/web) on
#                        http://127.0.0.1:8080; prints a link with a token minted for the page
#   make extension       the package, copied into the MV3 sample (client-wasm/examples/extension/
#                        vendor/) so that it loads unpacked
#   make test-web        the editor and the extension in headless Debian Chromium against the
#                        relay in workerd, with the CLI as a third device
#   make web-screenshot  retake the pictures of the editor and the extension's panel
#                        (docs/web-editor.png, docs/extension-panel.png)

.PHONY: demo-web extension test-web web-screenshot

# scripts/demo-web.sh installs what it lacks (npm ci, wasm-bindgen-cli, worker-build) itself.
demo-web:
	scripts/demo-web.sh

extension: wasm-pkg
	client-wasm/examples/extension/vendor.sh

# The suites use the package's dev build, the one test-wasm makes (nothing is rebuilt when it
# ran first); they load a copy of the extension made in a temporary directory.
test-web: relay-build wasm-setup
	WASM_DEV=1 client-wasm/build-pkg.sh
	cargo build -p tessera-cli --bin tessera
	node --experimental-websocket --test --test-concurrency=1 client-wasm/tests/apps/

web-screenshot: relay-build wasm-setup
	WASM_DEV=1 client-wasm/build-pkg.sh
	cargo build -p tessera-cli --bin tessera
	mkdir -p docs
	WEB_SCREENSHOT=$(CURDIR)/docs/web-editor.png EXTENSION_SCREENSHOT=$(CURDIR)/docs/extension-panel.png \
		node --experimental-websocket --test --test-concurrency=1 \
		--test-name-pattern="two tabs edit|service worker syncs" client-wasm/tests/apps/
