# Quick start: `make demo` runs a push through the real function against a
# local AWS emulator; `make test` runs every test. Both set up what they need.

VENV    := .venv
PYTHON  ?= python3
STAMP   := $(VENV)/.installed
BIN     := target/release/codecommit-build-trigger

# The harness in tests/support finds the release binary and moto through these.
export TRIGGER_BIN := $(CURDIR)/$(BIN)
export MOTO_SERVER := $(CURDIR)/$(VENV)/bin/moto_server

.PHONY: test demo release venv clean

## test: format and lint checks, unit tests, and end-to-end tests of the release binary against moto
test: venv
	cargo fmt --check
	cargo clippy --all-targets --locked -- -D warnings
	cargo build --release --locked
	cargo test --locked $(TEST)

## demo: feed events/push-master.json to the release binary through a local Lambda Runtime API and moto
demo: venv
	cargo build --release --locked
	cargo run --release --locked --quiet --example demo

## release: the function's binary
release:
	cargo build --release --locked

## venv: the Python tools the tests use (moto), in .venv
venv: $(STAMP)

$(STAMP): tests/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r tests/requirements.txt
	touch $@

clean:
	cargo clean
	rm -rf $(VENV)
