#!/usr/bin/env bash
# `make bench`: every case of test_data/bench/ on the policy and on the accept-all floor policy
# (the same request), in one run; a table, then the same as JSON lines, then the module size.
set -euo pipefail
cd "$(dirname "$0")/.."
harness=${HARNESS:-target/harness/harness}
iterations=${ITERATIONS:-2000}
rounds=${ROUNDS:-3}
default=test_data/settings/default.json

# case | request | settings | replay session
cases=(
  "unlabeled-pod|test_data/bench/unlabeled-pod.json|$default|"
  "unlabeled-pod-large|test_data/bench/unlabeled-pod-large.json|$default|"
  "wi-pod|test_data/bench/wi-pod.json|$default|test_data/sessions/workload-sa.yml"
  "wi-pod-full|test_data/bench/wi-pod-full.json|test_data/bench/settings-full.json|test_data/bench/session-full.yml"
  "wi-pod-20|test_data/bench/wi-pod-20.json|$default|test_data/sessions/workload-sa.yml"
  "wi-pod-200|test_data/bench/wi-pod-200.json|$default|test_data/sessions/workload-sa.yml"
  "serviceaccount-update|test_data/bench/serviceaccount-update.json|$default|"
  "deployment-template|test_data/bench/deployment-template.json|$default|test_data/sessions/workload-sa.yml"
)

bench() { # wasm request settings [session]
  local args=(bench --json --iterations "$iterations" --settings-path "$3" --request-path "$2")
  [ -n "${4:-}" ] && args+=(--allow-context-aware --replay-host-capabilities-interactions "$4")
  RUST_LOG=policy_log=off "$harness" "${args[@]}" "$1" 2>/dev/null
}

# Each case runs ROUNDS times, floor and policy alternating, and keeps each one's run with the
# lowest median: a shared VM's neighbours slow some runs down, never speed one up.
best() { jq -s 'min_by(.median_us)'; }
rows=()
for entry in "${cases[@]}"; do
  IFS='|' read -r name request settings session <<<"$entry"
  floors=() policies=()
  for _ in $(seq "$rounds"); do
    floors+=("$(bench floor.wasm "$request" "$default")")
    policies+=("$(bench policy.wasm "$request" "$settings" "$session")")
  done
  floor=$(printf '%s\n' "${floors[@]}" | best)
  policy=$(printf '%s\n' "${policies[@]}" | best)
  rows+=("$(jq -cn --arg case "$name" --argjson f "$floor" --argjson p "$policy" \
    '{case: $case, median_us: $p.median_us, p99_us: $p.p99_us, floor_median_us: $f.median_us,
      floor_ratio: (($p.median_us / $f.median_us) * 100 | round / 100)}')")
done

printf '%-22s %11s %11s %11s %7s\n' case median_us p99_us floor_us ratio
for row in "${rows[@]}"; do
  jq -r '[.case, .median_us, .p99_us, .floor_median_us, .floor_ratio] | @tsv' <<<"$row" |
    awk -F'\t' '{ printf "%-22s %11.1f %11.1f %11.1f %7.2f\n", $1, $2, $3, $4, $5 }'
done
wi=$(printf '%s\n' "${rows[@]}" | jq -s 'map(select(.case == "wi-pod"))[0].median_us')
w200=$(printf '%s\n' "${rows[@]}" | jq -s 'map(select(.case == "wi-pod-200"))[0].median_us')
w20=$(printf '%s\n' "${rows[@]}" | jq -s 'map(select(.case == "wi-pod-20"))[0].median_us')
echo "wi-pod-200 / wi-pod-20: $(jq -n "$w200 / $w20 * 100 | round / 100")  (10 = linear in containers)"
echo
echo "targets:"
check() { # label value limit
  jq -rn --arg l "$1" --argjson v "$2" --argjson m "$3" \
    '"  \($l): \($v * 100 | round / 100) (<= \($m)) \(if $v <= $m then "met" else "MISSED" end)"'
}
ratio() { printf '%s\n' "${rows[@]}" | jq -s --arg c "$1" 'map(select(.case == $c))[0].floor_ratio'; }
check "unlabeled-pod / floor" "$(ratio unlabeled-pod)" 1.15
check "unlabeled-pod-large / floor" "$(ratio unlabeled-pod-large)" 1.3
check "wi-pod / floor" "$(ratio wi-pod)" 2.5
check "wi-pod-200 / wi-pod" "$(jq -n "$w200 / $wi")" 40
echo
printf '%s\n' "${rows[@]}"
echo "{\"policy_wasm_bytes\":$(stat -c %s policy.wasm),\"floor_wasm_bytes\":$(stat -c %s floor.wasm)}"
