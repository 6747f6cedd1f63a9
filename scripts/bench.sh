#!/usr/bin/env bash
# Benchmark the policy against the accept-all floor policy on the same requests, in one run.
set -euo pipefail
cd "$(dirname "$0")/.."
harness=${HARNESS:-target/harness/harness}
iterations=${ITERATIONS:-2000}
settings=test_data/settings/default.json
declare -a rows
bench() { # wasm request [session]
  local args=(bench --json --iterations "$iterations" --settings-path "$settings" --request-path "$2")
  [ -n "${3:-}" ] && args+=(--allow-context-aware --replay-host-capabilities-interactions "$3")
  RUST_LOG=policy_log=off "$harness" "${args[@]}" "$1"
}
case_row() { # name request [session]
  local floor policy
  floor=$(bench floor.wasm "$2")
  policy=$(bench policy.wasm "$2" "${3:-}")
  jq -cn --arg case "$1" --argjson f "$floor" --argjson p "$policy" \
    '{case: $case, median_us: $p.median_us, p99_us: $p.p99_us, floor_median_us: $f.median_us,
      floor_ratio: (($p.median_us / $f.median_us) * 100 | round / 100)}'
}
rows+=("$(case_row unlabeled-pod test_data/pod/unlabeled.json)")
rows+=("$(case_row wi-pod test_data/pod/labelled.json test_data/sessions/workload-sa.yml)")
printf '%-22s %12s %12s %12s %8s\n' case median_us p99_us floor_us ratio
for row in "${rows[@]}"; do
  jq -r '[.case, .median_us, .p99_us, .floor_median_us, .floor_ratio] | @tsv' <<<"$row" |
    awk -F'\t' '{ printf "%-22s %12.1f %12.1f %12.1f %8.2f\n", $1, $2, $3, $4, $5 }'
done
printf '%s\n' "${rows[@]}"
echo "policy.wasm size: $(stat -c %s policy.wasm) bytes"
