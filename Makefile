# Quick start: `make demo` runs a push through the real function against a
# local AWS emulator; `make test` runs every test. Both set up what they need.

VENV    := .venv
PYTHON  ?= python3
# The Python that makes the venv: found before the venv's bin joins PATH (below).
BASE_PYTHON := $(shell command -v $(PYTHON))
# The demo needs moto alone; the tests need the rest too (tests/requirements.txt).
DEMO_STAMP := $(VENV)/.demo-installed
UV      := $(VENV)/bin/uv
UV_PACKAGE := uv==0.13.9
STAMP   := $(VENV)/.installed
BIN     := target/release/codecommit-build-trigger

# The harness in tests/support finds the release binaries and moto through these.
export TRIGGER_BIN   := $(CURDIR)/$(BIN)
export KEPT_EVENTS_BIN := $(CURDIR)/target/release/kept-events
export MOTO_SERVER   := $(CURDIR)/$(VENV)/bin/moto_server
# sam and cfn-lint run offline here: no telemetry, any region will do.
export SAM_CLI_TELEMETRY := 0
export AWS_DEFAULT_REGION ?= us-east-1
# sam build runs cargo-lambda, which runs zig: both come from the venv.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

# The release binaries (as shipped) build in target/release; the dev-profile harness (tests,
# demo) in target/harness, so that `make test` can build the harness while the release
# binaries' single-threaded LTO runs: cargo locks its target directory for the length of a
# build.
HARNESS := --target-dir target/harness
# The harness builds with clippy's lints on (tools/clippy-rustc): one compile of the
# dependencies serves both the lints and the tests.
LINTED  := RUSTC_WORKSPACE_WRAPPER=$(CURDIR)/tools/clippy-rustc
# The end-to-end tests mostly wait on processes and sockets: four at a time on two cores
# took 27 s where two took 44 s.
TEST_THREADS ?= 4
# Where `make test`'s release job writes the function's build status before `kept-events`'.
FUNCTION_BUILT := target/.function-build-status
RUN_TESTS := RUST_TEST_THREADS=$(TEST_THREADS) $(LINTED) cargo test $(HARNESS) --locked

.PHONY: test demo demo-pull-request bench package fuzz release venv clean

## test: fmt and clippy, template checks, unit tests, and end-to-end tests of the release binaries
# At once: the Python tools install, the function's release binary builds and then
# `kept-events'` (one job, so the function always comes first), and the
# harness builds with clippy's lints (benches included, as `cargo clippy --all-targets`
# would). The tests start once the harness, the tools and the function are ready, the template
# checks (Python, single-threaded) beside them; `kept-events'` single-threaded link goes on
# meanwhile, and its tests (`replay::`) run when it is done. Any step failing fails the target.
test:
	cargo fmt --check
	$(MAKE) --no-print-directory venv & tools=$$!; \
	rm -f $(FUNCTION_BUILT); \
	{ cargo build --release --locked --bin codecommit-build-trigger; echo $$? > $(FUNCTION_BUILT); \
	  cargo build --release --locked --bin kept-events; } & kept=$$!; \
	$(LINTED) cargo test $(HARNESS) --locked --no-run && \
	$(LINTED) cargo test $(HARNESS) --locked --no-run --benches; harness=$$?; \
	while ! test -s $(FUNCTION_BUILT); do sleep 1; done; function=$$(cat $(FUNCTION_BUILT)); \
	wait $$tools; tools=$$?; \
	if test $$harness != 0 || test $$function != 0 || test $$tools != 0; then \
	  wait $$kept; exit 1; \
	fi; \
	cfn-lint template.yaml & lint=$$!; \
	sam validate --lint & validate=$$!; \
	pytest -q tests/template & template=$$!; \
	if test -z "$(TEST)"; then \
	  $(RUN_TESTS) -- --skip replay:: && wait $$kept && $(RUN_TESTS) --test integration replay::; \
	else \
	  wait $$kept && $(RUN_TESTS) $(TEST); \
	fi; tests=$$?; \
	wait $$lint; lint=$$?; wait $$validate; validate=$$?; wait $$template; template=$$?; \
	test $$tests = 0 && test $$lint = 0 && test $$validate = 0 && test $$template = 0

## demo: two pushes through the release binary as shipped (a build, a [skip ci] skip), under a
## local Lambda Runtime API, against moto and a local CodeCommit over a real git repository
# Only the function's binary is built in release, while moto installs; the demo itself runs
# in the dev profile, linted as `make test` builds it, which then reuses all of it. The dev
# build runs at the lowest priority beside the release build, so it only takes the CPU the release build leaves
# idle (its single-threaded LTO, above all): at equal priority the two took longer together.
demo:
	$(MAKE) --no-print-directory $(DEMO_STAMP) & moto=$$!; \
	$(LINTED) nice -n 19 cargo build $(HARNESS) --locked --example demo & harness=$$!; \
	cargo build --release --locked --bin codecommit-build-trigger; release=$$?; \
	wait $$harness; harness=$$?; wait $$moto; moto=$$?; \
	test $$release = 0 && test $$harness = 0 && test $$moto = 0
	$(LINTED) cargo run $(HARNESS) --locked --quiet --example demo

## demo-pull-request: a pull request's whole loop through the release binary: its build, the
## build's start and failure, the one status comment as a reviewer reads it, /rebuild, the
## rebuild's success and the approval (moto for CodeBuild and CloudWatch Logs, the local CodeCommit)
demo-pull-request:
	$(MAKE) --no-print-directory $(DEMO_STAMP) & moto=$$!; \
	$(LINTED) nice -n 19 cargo build $(HARNESS) --locked --example demo_pull_request & harness=$$!; \
	cargo build --release --locked --bin codecommit-build-trigger; release=$$?; \
	wait $$harness; harness=$$?; wait $$moto; moto=$$?; \
	test $$release = 0 && test $$harness = 0 && test $$moto = 0
	$(LINTED) cargo run $(HARNESS) --locked --quiet --example demo_pull_request

## bench: cold and warm timings beside the floors, the 4,000-reference decision, the binary and
## arm64 zip sizes; prints the table the README shows
# cargo bench rebuilds the binaries under the bench profile (which unwinds on panic) into
# target/release: the release build comes after it, so the binary measured is the shipped one.
bench: venv
	cargo bench --locked --bench decide -- --noplot
	cargo build --release --locked
	rustup target add aarch64-unknown-linux-gnu
	cargo lambda build --release --locked --arm64 --output-format zip --bin codecommit-build-trigger
	cargo run --release --locked --quiet --example bench

## fuzz: the property-based fuzzing of event parsing and decisions, 30 s for each of its two generators
fuzz:
	FUZZ_SECONDS=30 $(LINTED) cargo test $(HARNESS) --locked --test fuzz -- --nocapture

## package: the arm64 deployment artifacts, built by `sam build` (cargo-lambda and zig, no Docker)
package: venv
	rustup target add aarch64-unknown-linux-gnu
	sam build
	@for dir in .aws-sam/build/*/; do \
	  name=$$(basename "$$dir"); zip=.aws-sam/build/$$name.zip; rm -f "$$zip"; \
	  $(PYTHON) -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED, compresslevel=9).write(sys.argv[2], "bootstrap")' "$$zip" "$$dir/bootstrap"; \
	  echo "$$name: $$(stat -c %s "$$zip") bytes zipped, $$(stat -c %s "$$dir/bootstrap") bytes unzipped ($$zip)"; \
	done

## release: the function's binaries
release:
	cargo build --release --locked

## venv: the Python tools the tests use (moto, cfn-lint, SAM CLI, cargo-lambda, zig, pytest), in .venv
venv: $(STAMP)

# uv installs the packages: pip took 48 s of CPU for moto alone and 46 s for the rest (mostly
# compiling every module to bytecode ahead of time), uv 6 s and 15 s. The venv has no pip of
# its own (`python3 -m venv` spends 7 s of CPU installing it); `.venv/bin/uv pip` serves.
$(UV):
	$(BASE_PYTHON) -m venv --without-pip $(VENV)
	$(BASE_PYTHON) -m pip --python $(VENV)/bin/python install --quiet --disable-pip-version-check $(UV_PACKAGE)

$(DEMO_STAMP): tests/requirements-demo.txt $(UV)
	$(UV) pip install --quiet --python $(VENV)/bin/python -r tests/requirements-demo.txt
	touch $@

$(STAMP): tests/requirements.txt $(DEMO_STAMP)
	$(UV) pip install --quiet --python $(VENV)/bin/python -r tests/requirements.txt
	touch $@

clean:
	cargo clean
	rm -rf $(VENV) .aws-sam
