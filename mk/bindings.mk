# uniffi bindings (bindings/): the Python wheel, the Kotlin program, the Swift sources, the
# desktop app's check and the FFI benchmark; included by the top-level Makefile.
#   make test-bindings    Rust unit tests; the wheel installed in a fresh venv; Python and Kotlin
#                         against the relay in workerd; Swift sources up to date; the tkinter app
#                         driven under Xvfb
#   make bindings-swift   regenerate the committed Swift sources (bindings/swift/)
#   make bench-bindings   edits/s through Python next to client-native directly, same run
#   make bindings-screenshot   retake bindings/examples/desktop_app.png
# Tools (JDK, JNA, Xvfb and python3-tk from apt; kotlinc from npm; maturin from PyPI) are
# installed by bindings/scripts/tools.sh when missing.

.PHONY: bindings-tools bindings-lib bindings-wheel bindings-kotlin bindings-swift \
	bindings-swift-check bindings-screenshot test-bindings bench-bindings

BINDINGS_OUT := $(or $(CARGO_TARGET_DIR),$(CURDIR)/target)/bindings
BINDINGS_LIB := $(or $(CARGO_TARGET_DIR),$(CURDIR)/target)/debug/libtessera.so
UNIFFI_BINDGEN := $(or $(CARGO_TARGET_DIR),$(CURDIR)/target)/debug/uniffi-bindgen
KOTLIN_HOME := $(TESSERA_TOOLS)/kotlin-compiler-2.4.20
MATURIN := $(TESSERA_TOOLS)/maturin-1.16.0/bin/maturin
JNA_JAR := /usr/share/java/jna.jar
BINDINGS_VENV := $(BINDINGS_OUT)/venv
KOTLIN_CP := $(BINDINGS_OUT)/tessera-sync.jar:$(JNA_JAR):$(KOTLIN_HOME)/lib/kotlinx-coroutines-core-jvm.jar:$(KOTLIN_HOME)/lib/kotlin-stdlib.jar
KOTLIN_RUN := java -cp $(KOTLIN_CP) -Djna.library.path=$(BINDINGS_OUT)/lib SyncPageKt

bindings-tools:
	@bash bindings/scripts/tools.sh >/dev/null

# The cdylib and the uniffi-bindgen built from the same uniffi (debug: what the tests load).
bindings-lib:
	cargo build -p tessera-bindings --lib --bin uniffi-bindgen

# The wheel, installed into a fresh virtualenv: what a user's `pip install` does.
bindings-wheel: bindings-tools
	rm -rf $(BINDINGS_OUT)/wheels $(BINDINGS_VENV)
	cd bindings && $(MATURIN) build --quiet --out $(BINDINGS_OUT)/wheels
	python3 -m venv $(BINDINGS_VENV)
	$(BINDINGS_VENV)/bin/pip install --quiet --no-index $(BINDINGS_OUT)/wheels/tessera-*.whl
	cd /tmp && $(BINDINGS_VENV)/bin/python -c 'import tessera; print("import tessera:", tessera.__file__)'

# Generated Kotlin plus bindings/kotlin/*.kt, compiled with kotlinc into one jar; kotlinc (about
# a minute) runs only when the sources changed.
bindings-kotlin: bindings-tools bindings-lib
	rm -rf $(BINDINGS_OUT)/kotlin-src $(BINDINGS_OUT)/lib && mkdir -p $(BINDINGS_OUT)/lib
	cp $(BINDINGS_LIB) $(BINDINGS_OUT)/lib/
	$(UNIFFI_BINDGEN) generate --library $(BINDINGS_LIB) --language kotlin --no-format \
		--out-dir $(BINDINGS_OUT)/kotlin-src >/dev/null
	@digest="$$(cat $$(find $(BINDINGS_OUT)/kotlin-src bindings/kotlin -name '*.kt' | LC_ALL=C sort) | sha256sum)"; \
	if [ -f $(BINDINGS_OUT)/tessera-sync.jar ] && [ "$$(cat $(BINDINGS_OUT)/kotlin.inputs 2>/dev/null)" = "$$digest" ]; then \
		echo "kotlin: tessera-sync.jar is up to date"; \
	else \
		echo "kotlinc -> $(BINDINGS_OUT)/tessera-sync.jar"; \
		$(KOTLIN_HOME)/bin/kotlinc -nowarn -cp $(JNA_JAR):$(KOTLIN_HOME)/lib/kotlinx-coroutines-core-jvm.jar \
			$$(find $(BINDINGS_OUT)/kotlin-src bindings/kotlin -name '*.kt') -d $(BINDINGS_OUT)/tessera-sync.jar \
			&& echo "$$digest" > $(BINDINGS_OUT)/kotlin.inputs; \
	fi

# Swift cannot be compiled here (no Swift toolchain): its sources are generated and committed.
bindings-swift: bindings-lib
	rm -rf bindings/swift && $(UNIFFI_BINDGEN) generate --library $(BINDINGS_LIB) --language swift --no-format \
		--out-dir bindings/swift

bindings-swift-check: bindings-lib
	rm -rf $(BINDINGS_OUT)/swift
	$(UNIFFI_BINDGEN) generate --library $(BINDINGS_LIB) --language swift --no-format --out-dir $(BINDINGS_OUT)/swift
	@diff -r bindings/swift $(BINDINGS_OUT)/swift \
		|| { echo "bindings/swift is stale: run make bindings-swift and commit it"; exit 1; }

test-bindings: relay-build bindings-tools bindings-lib bindings-wheel bindings-kotlin bindings-swift-check
	cargo test -p tessera-bindings
	cargo build -q -p tessera-cli --bin tessera
	cd bindings/tests && TESSERA_BIN=$(or $(CARGO_TARGET_DIR),$(CURDIR)/target)/debug/tessera \
		KOTLIN_RUN="$(KOTLIN_RUN)" $(BINDINGS_VENV)/bin/python -m unittest -v
	cd bindings/tests && TESSERA_BIN=$(or $(CARGO_TARGET_DIR),$(CURDIR)/target)/debug/tessera \
		xvfb-run -a -s '-screen 0 1024x768x24' $(BINDINGS_VENV)/bin/python check_app.py

# The README's picture of the desktop app, taken while check_app.py drives it (ImageMagick's
# `import` grabs the Xvfb screen; installed from apt when missing).
bindings-screenshot: bindings-wheel
	@command -v import >/dev/null || apt-get install -y --no-install-recommends imagemagick
	cargo build -q -p tessera-cli --bin tessera
	cd bindings/tests && TESSERA_BIN=$(or $(CARGO_TARGET_DIR),$(CURDIR)/target)/debug/tessera \
		xvfb-run -a -s '-screen 0 1024x768x24' $(BINDINGS_VENV)/bin/python check_app.py \
		--screenshot $(CURDIR)/bindings/examples/desktop_app.png

# The FFI's cost: the same durable edits (and status/to_json calls) through the Python wheel and
# through client-native directly, both release builds, in one run.
bench-bindings: bindings-tools
	rm -rf $(BINDINGS_OUT)/wheels-release $(BINDINGS_OUT)/venv-release
	cd bindings && $(MATURIN) build --quiet --release --out $(BINDINGS_OUT)/wheels-release
	python3 -m venv $(BINDINGS_OUT)/venv-release
	$(BINDINGS_OUT)/venv-release/bin/pip install --quiet --no-index $(BINDINGS_OUT)/wheels-release/tessera-*.whl
	cargo build -q --release -p tessera-bindings --example edit_rate
	$(BINDINGS_OUT)/venv-release/bin/python bindings/bench/edit_rate.py \
		--rust $(or $(CARGO_TARGET_DIR),$(CURDIR)/target)/release/examples/edit_rate

test: test-bindings
bench: bench-bindings
