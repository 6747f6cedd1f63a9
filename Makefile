# Build, test and benchmark the policy. Prerequisite: Rust via rustup; the wasm32-wasip1
# target is added on demand.
SHELL := /bin/bash
CARGO ?= cargo
# Kubewarden's own engine, for e2e.bats on kwctl, the engine suite and bench-engine: $KWCTL /
# $POLICY_SERVER, else on PATH, else ../shared/bin/ beside the checkout; empty when none is found.
KWCTL ?= $(or $(shell command -v kwctl 2>/dev/null),$(wildcard $(abspath ../shared/bin/kwctl)))
POLICY_SERVER ?= $(or $(shell command -v policy-server 2>/dev/null),$(wildcard $(abspath ../shared/bin/policy-server)))
export POLICY_SERVER
TARGET_DIR ?= target
WASM := $(TARGET_DIR)/wasm32-wasip1/release/azure_workload_identity_policy.wasm
FLOOR_WASM := $(TARGET_DIR)/wasm32-wasip1/release/floor_policy.wasm
REFERENCE_WASM := $(TARGET_DIR)/wasm32-wasip1/release/reference_policy.wasm
HARNESS := $(TARGET_DIR)/debug/harness
BENCH_HARNESS := $(TARGET_DIR)/bench-harness/harness
# `make demo EXAMPLE=<name>` runs examples/<name>; without it, `make demo` lists them.
EXAMPLE ?=
# Property-test cases per property; `make fuzz` runs 200,000. 2,000 keeps a fresh clone's CI
# under 15 minutes: at 10,000 the registration suite alone took 167 s (docs/performance.md).
PROPTEST_CASES ?= 2000
export PROPTEST_CASES

.PHONY: all wasm-target policy.wasm floor.wasm reference.wasm annotated-policy.wasm harness bench-harness module-graph fmt lint check-fmt test unit-tests e2e-tests e2e-harness e2e-kwctl engine-tests bench bench-engine demo fuzz clean artifacthub

all: policy.wasm

wasm-target:
	@rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip1 || rustup target add wasm32-wasip1

policy.wasm: wasm-target
	$(CARGO) build --release --target wasm32-wasip1 -p azure-workload-identity-policy
	cp $(WASM) policy.wasm

floor.wasm: wasm-target
	$(CARGO) build --release --target wasm32-wasip1 -p floor-policy
	cp $(FLOOR_WASM) floor.wasm

reference.wasm: wasm-target
	$(CARGO) build --release --target wasm32-wasip1 -p reference-policy
	cp $(REFERENCE_WASM) reference.wasm

annotated-policy.wasm: policy.wasm
	@if [ -n "$(KWCTL)" ] && command -v $(KWCTL) >/dev/null 2>&1; then \
		$(KWCTL) annotate -m metadata.yml -u README.md -o annotated-policy.wasm policy.wasm; \
	else \
		echo "kwctl not found: annotated-policy.wasm not built (e2e.bats uses the harness on policy.wasm)"; \
	fi

artifacthub:
	$(KWCTL) scaffold artifacthub --metadata-path metadata.yml --questions-path questions-ui.yml --output artifacthub-pkg.yml

# The harness binary that e2e.bats and `make demo` run (Cargo's dev profile, as `cargo test`
# builds it). Within `make test`, built as `cargo test --workspace` builds it: `cargo build -p
# harness` alone resolves other features and recompiled wasmtime after the tests (minutes of a
# fresh clone's CI); after unit-tests this is a no-op.
HARNESS_BUILD ?= build --quiet -p harness
harness:
	$(CARGO) $(HARNESS_BUILD)

fmt:
	$(CARGO) fmt --all

check-fmt:
	$(CARGO) fmt --all -- --check

lint:
	$(CARGO) clippy --workspace --all-targets -- -D warnings

module-graph:
	python3 scripts/module-graph.py src

# The harness tests run policy.wasm, so it is built first.
unit-tests: policy.wasm
	$(CARGO) test --workspace

# e2e.bats once per engine: the harness always, then kwctl on annotated-policy.wasm (annotated
# by that kwctl) when a kwctl is found. Each run prints its engine.
e2e-tests: e2e-harness e2e-kwctl

e2e-harness: policy.wasm harness
	@if command -v bats >/dev/null 2>&1; then \
		E2E_ENGINE=harness bats e2e.bats; \
	else \
		echo "bats not installed: skipping e2e.bats (install bats to run it)"; \
	fi

e2e-kwctl: annotated-policy.wasm
	@if ! command -v bats >/dev/null 2>&1; then \
		echo "bats not installed: skipping e2e.bats on kwctl"; \
	elif [ -z "$(KWCTL)" ] || ! command -v $(KWCTL) >/dev/null 2>&1; then \
		echo "no kwctl found (KWCTL, PATH, ../shared/bin/kwctl): e2e.bats ran on the harness only"; \
	else \
		E2E_ENGINE=kwctl KWCTL=$(KWCTL) bats e2e.bats; \
	fi

# The policy in a real policy-server against the project's fake API server (engine/); skips
# with a message when no policy-server or kwctl is found.
engine-tests: policy.wasm floor.wasm harness
	KWCTL=$(KWCTL) python3 engine/test_engine.py

test: HARNESS_BUILD = test --quiet --workspace --no-run
test: check-fmt module-graph lint unit-tests e2e-tests engine-tests

# The bench's harness: opt-level 3 and jemalloc, as the policy-server is built (Cargo.toml,
# profile bench-harness), in its own profile directory.
bench-harness:
	$(CARGO) build -p harness --profile bench-harness --features jemalloc

bench: policy.wasm floor.wasm bench-harness
	HARNESS=$(BENCH_HARNESS) ./scripts/bench.sh

# Requests per second in one real policy-server: the floor, the policy and the rule-less
# reference policy, loaded alternately with wrk (docs/performance.md, In the real engine).
bench-engine: policy.wasm floor.wasm reference.wasm
	KWCTL=$(KWCTL) python3 engine/bench_engine.py

# `make demo` lists the scenarios; `make demo EXAMPLE=<name>` builds quietly and runs one,
# printing only the verdict, the warnings and the decoded patch.
demo: $(if $(EXAMPLE),wasm-target)
	@if [ -n "$(EXAMPLE)" ]; then \
		$(CARGO) build --quiet --release --target wasm32-wasip1 -p azure-workload-identity-policy && \
		cp $(WASM) policy.wasm && $(CARGO) build --quiet -p harness; \
	fi
	@HARNESS=$(HARNESS) ./scripts/demo.sh $(EXAMPLE)

fuzz: PROPTEST_CASES=200000
fuzz: unit-tests

clean:
	$(CARGO) clean
	rm -f policy.wasm floor.wasm reference.wasm annotated-policy.wasm
