# Build, test and benchmark the policy. Prerequisite: Rust via rustup; the wasm32-wasip1
# target is added on demand.
SHELL := /bin/bash
CARGO ?= cargo
KWCTL ?= kwctl
TARGET_DIR ?= target
WASM := $(TARGET_DIR)/wasm32-wasip1/release/azure_workload_identity_policy.wasm
FLOOR_WASM := $(TARGET_DIR)/wasm32-wasip1/release/floor_policy.wasm
HARNESS := $(TARGET_DIR)/harness/harness
BENCH_HARNESS := $(TARGET_DIR)/bench-harness/harness
# `make demo EXAMPLE=<name>` runs examples/<name>; without it, `make demo` lists them.
EXAMPLE ?=
PROPTEST_CASES ?= 10000
export PROPTEST_CASES

.PHONY: all wasm-target policy.wasm annotated-policy.wasm harness bench-harness clippy-driver module-graph fmt lint check-fmt test unit-tests e2e-tests bench demo fuzz clean artifacthub

all: policy.wasm

wasm-target:
	@rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip1 || rustup target add wasm32-wasip1

policy.wasm: wasm-target
	$(CARGO) build --release --target wasm32-wasip1 -p azure-workload-identity-policy
	cp $(WASM) policy.wasm

floor.wasm: wasm-target
	$(CARGO) build --release --target wasm32-wasip1 -p floor-policy
	cp $(FLOOR_WASM) floor.wasm

annotated-policy.wasm: policy.wasm
	@if command -v $(KWCTL) >/dev/null 2>&1; then \
		$(KWCTL) annotate -m metadata.yml -u README.md -o annotated-policy.wasm policy.wasm; \
	else \
		echo "kwctl not found: annotated-policy.wasm not built (e2e.bats uses the harness on policy.wasm)"; \
	fi

artifacthub:
	$(KWCTL) scaffold artifacthub --metadata-path metadata.yml --questions-path questions-ui.yml --output artifacthub-pkg.yml

# Every harness-profile build compiles the workspace's own crates with clippy-driver (rustc plus
# Clippy's lints, as `cargo clippy` itself runs it), warnings denied: `make test` lints while it
# builds, instead of a separate `cargo clippy` check build of every dependency (wasmtime
# included: six of a fresh clone's twenty minutes). Dependencies are built by plain rustc. Keep
# the variables the same on every harness-profile command: they are part of the fingerprint.
CLIPPY_DRIVER ?= $(shell command -v clippy-driver 2>/dev/null)
LINTED := RUSTC_WORKSPACE_WRAPPER=$(CLIPPY_DRIVER) CLIPPY_ARGS=-Dwarnings

clippy-driver:
	@test -n "$(CLIPPY_DRIVER)" || { echo "clippy-driver not found: rustup component add clippy" >&2; exit 2; }

# The harness is built by the same command as the tests (its integration tests need the
# binary), so wasmtime compiles once: a separate `cargo build -p harness` would unify other
# features and compile it a second time.
harness: clippy-driver
	$(LINTED) $(CARGO) test --workspace --profile harness --no-run

fmt:
	$(CARGO) fmt --all

check-fmt:
	$(CARGO) fmt --all -- --check

# Standalone Clippy (every target, as a check build); `make test` lints through `harness`.
lint: module-graph
	$(CARGO) clippy --workspace --all-targets --profile harness -- -D warnings

module-graph:
	python3 scripts/module-graph.py src

# Sequential on purpose: building the wasm beside the tests (their locks allow it) made a
# fresh clone slower on two cores (18 m 38 s against 17 m 35 s), both builds being CPU-bound.
unit-tests: policy.wasm harness
	$(LINTED) $(CARGO) test --workspace --profile harness

e2e-tests: policy.wasm harness
	@if command -v bats >/dev/null 2>&1; then \
		bats e2e.bats; \
	else \
		echo "bats not installed: skipping e2e.bats (install bats to run it)"; \
	fi

test: check-fmt module-graph unit-tests e2e-tests

# The bench's harness: opt-level 3 and jemalloc, as the policy-server is built (Cargo.toml,
# profile bench-harness). Its own profile directory, so `make test`'s build is left alone.
bench-harness:
	$(CARGO) build -p harness --profile bench-harness --features jemalloc

bench: policy.wasm floor.wasm bench-harness
	HARNESS=$(BENCH_HARNESS) ./scripts/bench.sh

# `make demo` lists the scenarios; `make demo EXAMPLE=<name>` builds and runs one.
demo: $(if $(EXAMPLE),policy.wasm harness)
	@./scripts/demo.sh $(EXAMPLE)

fuzz: PROPTEST_CASES=200000
fuzz: unit-tests

clean:
	$(CARGO) clean
	rm -f policy.wasm floor.wasm annotated-policy.wasm
