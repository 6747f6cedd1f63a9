#!/usr/bin/env bash
# Evaluate examples/<name>/request.json with its settings and replay session through the
# policy, as `kwctl run` would, then print the verdict and the decoded JSON patch.
set -euo pipefail
cd "$(dirname "$0")/.."
example=${1:-self-managed}
dir=examples/$example
if [ ! -f "$dir/request.json" ]; then
  echo "no runnable example '$example'; choose one of:" $(cd examples && ls -d */request.json | cut -d/ -f1) >&2
  exit 2
fi
harness=${HARNESS:-target/harness/harness}
args=(run --request-path "$dir/request.json" --settings-path "$dir/settings.yml")
if [ -f "$dir/session.yml" ]; then
  args+=(--allow-context-aware --replay-host-capabilities-interactions "$dir/session.yml" --strict-replay)
fi
echo "\$ harness ${args[*]} policy.wasm"
response=$(RUST_LOG=policy_log=off "$harness" "${args[@]}" policy.wasm)
echo
echo "Verdict:"
jq '{allowed, status, warnings}' <<<"$response"
echo
if jq -e '.patch' <<<"$response" >/dev/null; then
  echo "Decoded patch:"
  jq -r '.patch' <<<"$response" | base64 -d | jq .
else
  echo "No patch: the object is admitted unchanged."
fi
