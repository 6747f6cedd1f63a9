#!/usr/bin/env bash
# Evaluate examples/<name>/request.json with its settings and replay session through the
# policy, as `kwctl run` would, then print the verdict and the decoded JSON patch.
# With no name: list the scenarios it can show.
set -euo pipefail
cd "$(dirname "$0")/.."

# One line per scenario, shown by the list.
describe() {
  case $1 in
    self-managed) echo "replace the upstream webhook: a labelled pod is mutated (env, token volume)" ;;
    aks-validate-only) echo "beside AKS's managed webhook: an opted-in pod nobody mutated is rejected" ;;
    aks-identity-binding) echo "AKS identity bindings, validate-only: a mutated pod whose ServiceAccount RBAC allows is admitted" ;;
    migrate) echo "AAD Pod Identity pod (aadpodidbinding) migrated to Workload Identity" ;;
    *) sed -n 's/^# \{0,1\}//p;/^[^#]/q' "examples/$1/settings.yml" | head -1 ;;
  esac
}

scenarios() {
  for request in examples/*/request.json; do
    basename "$(dirname "$request")"
  done
}

list() {
  echo "Scenarios (each evaluates examples/<name>/request.json with its settings.yml and session.yml):"
  for name in $(scenarios); do
    printf '  make demo EXAMPLE=%-22s # %s\n' "$name" "$(describe "$name")"
  done
}

example=${1:-}
if [ -z "$example" ] || [ "$example" = --list ] || [ "$example" = help ]; then
  list
  exit 0
fi
dir=examples/$example
if [ ! -f "$dir/request.json" ]; then
  echo "no runnable example '$example'" >&2
  list >&2
  exit 2
fi
# The harness: $HARNESS (`make demo` sets it), else what `cargo build -p harness` builds.
harness=${HARNESS:-${CARGO_TARGET_DIR:-target}/debug/harness}
if [ ! -x "$harness" ]; then
  echo "no harness at $harness: build it with 'cargo build -p harness' (or set HARNESS)" >&2
  exit 2
fi
if [ ! -f policy.wasm ]; then
  echo "no policy.wasm: build it with 'make policy.wasm' (or run 'make demo EXAMPLE=$example')" >&2
  exit 2
fi
args=(run --request-path "$dir/request.json" --settings-path "$dir/settings.yml")
if [ -f "$dir/session.yml" ]; then
  args+=(--allow-context-aware --replay-host-capabilities-interactions "$dir/session.yml" --strict-replay)
fi
echo "\$ harness ${args[*]} policy.wasm"
response=$(RUST_LOG=policy_log=off "$harness" "${args[@]}" policy.wasm)
echo
echo "Verdict:"
jq '{allowed, status, warnings}' <<<"$response"
if [ "$example" = aks-validate-only ] && [ "$(jq -r .allowed <<<"$response")" = false ]; then
  echo "Expected: an opted-in pod that no webhook mutated would start without its identity; stopping it is what validate-only mode is for."
fi
echo
if jq -e '.patch' <<<"$response" >/dev/null; then
  echo "Decoded patch:"
  jq -r '.patch' <<<"$response" | base64 -d | jq .
else
  echo "No patch: the object is admitted unchanged."
fi
