# Quick start: `make demo` runs a push through the real function against a local AWS
# emulator; `make test` runs every test. Both set up what they need.
#
# The targets stay short. What must run at once to keep two cores busy is in commented
# scripts: tools/test (`make test`) and tools/demo (the demos). tools/harness runs cargo on
# the dev-profile build that the tests, the demos and clippy share (target/harness).

VENV       := .venv
PYTHON     ?= python3
# The Python that makes the venv: found before the venv's bin joins PATH (below).
BASE_PYTHON := $(shell command -v $(PYTHON))
UV         := $(VENV)/bin/uv
UV_PACKAGE := uv==0.13.9
# The demos need moto alone; the tests need the rest too (tests/requirements.txt).
DEMO_STAMP := $(VENV)/.demo-installed
STAMP      := $(VENV)/.installed
ARM64      := aarch64-unknown-linux-gnu
# How long `make fuzz` keeps each fuzzing generator running, in seconds.
FUZZ_SECONDS ?= 30

# The tests, the demos and the bench find the release binaries and moto through these.
export TRIGGER_BIN     := $(CURDIR)/target/release/codecommit-build-trigger
export STARTER_BIN     := $(CURDIR)/target/release/starter
# kept-events is tested as the harness builds it (tools/test says why).
export KEPT_EVENTS_BIN := $(CURDIR)/target/harness/debug/kept-events
export DOCTOR_BIN      := $(CURDIR)/target/harness/debug/codecommit-build-trigger-doctor
export MOTO_SERVER     := $(CURDIR)/$(VENV)/bin/moto_server
# sam and cfn-lint run offline here: no telemetry, any region will do.
export SAM_CLI_TELEMETRY := 0
export AWS_DEFAULT_REGION ?= us-east-1
# moto, cfn-lint, sam, pytest, cargo-lambda and zig (which sam build runs) come from the venv.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
# The end-to-end tests mostly wait on processes and sockets: more at a time than cores.
export RUST_TEST_THREADS ?= 4

.PHONY: lint unit e2e test demo demo-pull-request demo-repositories bench package fuzz venv venv-demo release clean

## lint: cargo fmt, clippy (as the harness compiles, so `make unit` and `make e2e` reuse the
## build), cfn-lint and `sam validate --lint` of both templates
lint: venv
	cargo fmt --check
	tools/harness test --no-run
	tools/harness test --no-run --benches
	cfn-lint template.yaml many-repositories.yaml examples/static-site/template.yaml
	sam validate --lint
	sam validate --lint --template many-repositories.yaml

## unit: the unit tests (src/), a quick pass of the fuzz tests, the template's policy tests, the
## static-site example (Pelican builds it, publish.py publishes it to moto's S3)
unit: venv
	tools/harness test --lib --bins --test fuzz
	pytest -q tests/template tests/examples

## e2e: the end-to-end tests (tests/integration, and the doctor's tools/doctor/tests/end_to_end.rs):
## the release binaries against moto and the local endpoints, under a local Lambda Runtime API
e2e: venv
	cargo build --release --locked --bin codecommit-build-trigger --bin starter
	tools/harness test --no-run
	tools/harness test --test integration --test end_to_end

## test: lint, unit and e2e at once (tools/test). `make test TEST="--test integration trust::"`
## runs every check but only the tests these `cargo test` arguments select.
test:
	tools/test $(TEST)

## demo: two pushes through the release binary as shipped (a build, a [skip ci] skip), under a
## local Lambda Runtime API, against moto and a local CodeCommit over a real git repository
demo:
	tools/demo demo

## demo-pull-request: a pull request's whole loop through the release binary: its build, the
## build's start and failure, the one status comment as a reviewer reads it, /rebuild, the
## rebuild's success and the approval (moto for CodeBuild and CloudWatch Logs, the local CodeCommit)
demo-pull-request:
	tools/demo demo_pull_request

## demo-repositories: one installation for many repositories, as many-repositories.yaml
## configures it: two repositories build in one shared project from their own files, and a
## third, whose file names a project it was not given, is refused with the reason
demo-repositories:
	tools/demo demo_repositories

## bench: cold and warm starts timed beside the floors, the 4,000-reference decision, the binary and
## arm64 zip sizes; then the burst: 1,000 pushes from 100 repositories with their own files through
## 8 starters, StartBuild throttled at first; prints the tables of docs/performance.md and draws
## the dashboard from the burst's metrics (docs/dashboard.svg)
# cargo bench rebuilds the binaries under the bench profile (which unwinds on panic) into
# target/release: the release build comes after it, so the binary measured is the shipped one.
bench: venv
	cargo bench --locked --bench decide -- --noplot
	cargo build --release --locked
	rustup target add $(ARM64)
	cargo lambda build --release --locked --arm64 --output-format zip --bin starter
	cargo run --release --locked --quiet --example bench
	cargo run --release --locked --quiet --example burst
	tools/render-dashboard target/burst-metrics.jsonl docs/dashboard.svg

## fuzz: the fuzz tests of event parsing and decisions, each generator kept running for
## FUZZ_SECONDS rather than the quick pass of `make unit`
fuzz:
	FUZZ_SECONDS=$(FUZZ_SECONDS) tools/harness test --test fuzz -- --nocapture

## package: the arm64 deployment artifacts, built by `sam build` (cargo-lambda and zig, no
## Docker), zipped, with their sizes; then the versioned release in dist/ (both templates, their
## CodeUri the zips), which `sam deploy --template-file` deploys without Rust
package: venv
	rustup target add $(ARM64)
	sam build
	tools/zip-artifacts
	tools/package-release

## release: the functions' binaries and the operators' kept-events and doctor, as shipped (target/release)
release:
	cargo build --release --locked -p codecommit-build-trigger -p kept-events -p codecommit-build-trigger-doctor

## venv: the Python tools the tests use (moto, cfn-lint, SAM CLI, cargo-lambda, zig, pytest), in .venv
venv: $(STAMP)

## venv-demo: moto alone in .venv, what the demos need
venv-demo: $(DEMO_STAMP)

# uv installs the packages: much less CPU than pip, which compiles every module to bytecode
# ahead of time. The venv has no pip of its own (making one costs more CPU); `.venv/bin/uv pip`
# serves.
$(UV):
	$(BASE_PYTHON) -m venv --without-pip $(VENV)
	$(BASE_PYTHON) -m pip --python $(VENV)/bin/python install --quiet --disable-pip-version-check $(UV_PACKAGE)

$(DEMO_STAMP): tests/requirements-demo.txt $(UV)
	$(UV) pip install --quiet --python $(VENV)/bin/python -r tests/requirements-demo.txt
	touch $@

$(STAMP): tests/requirements.txt $(DEMO_STAMP)
	$(UV) pip install --quiet --python $(VENV)/bin/python -r tests/requirements.txt
	touch $@

## clean: the build outputs, the venv and sam's build directory
clean:
	cargo clean
	rm -rf $(VENV) .aws-sam
