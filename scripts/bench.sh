#!/usr/bin/env bash
# `make bench`: every case of test_data/bench/ on the policy and on the accept-all floor policy
# (the same request), in one run; a table, then the same as JSON lines, then the module size.
set -euo pipefail
cd "$(dirname "$0")/.."
harness=${HARNESS:-target/bench-harness/harness}
# POLICY_WASM: another build of the policy, to compare two builds on the same harness.
policy_wasm=${POLICY_WASM:-policy.wasm}
iterations=${ITERATIONS:-2000}
rounds=${ROUNDS:-5}
default=test_data/settings/default.json

# case | request | settings | replay session | iterations (default $iterations: the 2 MB pods
# take tens of milliseconds each)
cases=(
  "unlabeled-pod|test_data/bench/unlabeled-pod.json|$default|"
  "unlabeled-pod-large|test_data/bench/unlabeled-pod-large.json|$default|"
  "wi-pod|test_data/bench/wi-pod.json|$default|test_data/sessions/workload-sa.yml"
  "wi-pod-full|test_data/bench/wi-pod-full.json|test_data/bench/settings-full.json|test_data/bench/session-full.yml"
  "wi-pod-20|test_data/bench/wi-pod-20.json|$default|test_data/sessions/workload-sa.yml"
  "wi-pod-200|test_data/bench/wi-pod-200.json|$default|test_data/sessions/workload-sa.yml"
  "serviceaccount-update|test_data/bench/serviceaccount-update.json|$default|"
  "deployment-template|test_data/bench/deployment-template.json|$default|test_data/sessions/workload-sa.yml"
  "wi-pod-30000-env|test_data/bench/wi-pod-30000-env.json|$default|test_data/sessions/workload-sa.yml|20"
  "wi-pod-30000-ids|test_data/bench/wi-pod-30000-ids.json|$default|test_data/sessions/workload-sa.yml|20"
)

bench() { # wasm request settings [session [iterations]]
  local args=(bench --json --iterations "${5:-$iterations}" --settings-path "$3" --request-path "$2")
  [ -n "${4:-}" ] && args+=(--allow-context-aware --replay-host-capabilities-interactions "$4")
  RUST_LOG=policy_log=off "$harness" "${args[@]}" "$1" 2>/dev/null
}

# Rounds are outermost: each round times every case, floor then policy, and the ratios are the
# median over rounds of each round's own ratio. A shared VM's neighbours change its speed over
# minutes; a ratio of two runs seconds apart cancels that out, a ratio of runs minutes apart does
# not. The absolute figures are each one's round with the lowest median (neighbours slow runs
# down, never speed one up).
samples=()
for round in $(seq "$rounds"); do
  for entry in "${cases[@]}"; do
    IFS='|' read -r name request settings session count <<<"$entry"
    floor=$(bench floor.wasm "$request" "$default" "" "$count")
    policy=$(bench "$policy_wasm" "$request" "$settings" "$session" "$count")
    samples+=("$(jq -cn --arg case "$name" --argjson round "$round" --argjson f "$floor" --argjson p "$policy" \
      '{case: $case, round: $round, policy: $p, floor: $f}')")
  done
done
all=$(printf '%s\n' "${samples[@]}" | jq -s '.')
median='sort | if length % 2 == 1 then .[length / 2 | floor] else (.[length / 2 - 1] + .[length / 2]) / 2 end'
rows=()
for entry in "${cases[@]}"; do
  IFS='|' read -r name _ <<<"$entry"
  rows+=("$(jq -c --arg case "$name" "map(select(.case == \$case)) |
    {case: \$case, median_us: (map(.policy.median_us) | min), p99_us: (min_by(.policy.median_us).policy.p99_us),
     guest_median_us: (map(.policy.guest_median_us) | min), floor_median_us: (map(.floor.median_us) | min),
     floor_ratio: (map(.policy.median_us / .floor.median_us) | $median | . * 100 | round / 100)}" <<<"$all")")
done
# one case's policy median over another's, round by round, then the median of those
per_round() { # case-a case-b [figure]
  jq --arg a "$1" --arg b "$2" --arg f "${3:-median_us}" "group_by(.round) | map(
    (map(select(.case == \$a))[0].policy[\$f]) / (map(select(.case == \$b))[0].policy[\$f])) |
    $median" <<<"$all"
}
round2() { jq '. * 100 | round / 100'; }

# guest_us: the median of the waPC call alone (the policy's own code with its host calls);
# the rest of median_us is the engine's (request serialization, answer parsing, patch diff).
printf '%-22s %11s %11s %11s %11s %7s\n' case median_us p99_us guest_us floor_us ratio
for row in "${rows[@]}"; do
  jq -r '[.case, .median_us, .p99_us, .guest_median_us, .floor_median_us, .floor_ratio] | @tsv' <<<"$row" |
    awk -F'\t' '{ printf "%-22s %11.1f %11.1f %11.1f %11.1f %7.2f\n", $1, $2, $3, $4, $5, $6 }'
done
echo "wi-pod-200 / wi-pod-20: $(per_round wi-pod-200 wi-pod-20 | round2)  (10 = linear in containers)"
echo "wi-pod-200 / wi-pod, guest call only: $(per_round wi-pod-200 wi-pod guest_median_us | round2)"
echo "wi-pod-30000-ids / wi-pod-30000-env: $(per_round wi-pod-30000-ids wi-pod-30000-env | round2)  (reference §9: linear in client IDs)"
echo
echo "targets:"
check() { # label value limit
  jq -rn --arg l "$1" --argjson v "$2" --argjson m "$3" \
    '"  \($l): \($v * 100 | round / 100) (<= \($m)) \(if $v <= $m then "met" else "MISSED" end)"'
}
ratio() { printf '%s\n' "${rows[@]}" | jq -s --arg c "$1" 'map(select(.case == $c))[0].floor_ratio'; }
check "unlabeled-pod / floor" "$(ratio unlabeled-pod)" 1.15
check "unlabeled-pod-large / floor" "$(ratio unlabeled-pod-large)" 1.3
check "wi-pod / floor" "$(ratio wi-pod)" 3.0
check "wi-pod-200 / wi-pod-20" "$(per_round wi-pod-200 wi-pod-20)" 13
check "wi-pod-30000-ids / wi-pod-30000-env" "$(per_round wi-pod-30000-ids wi-pod-30000-env)" 1.5
echo
printf '%s\n' "${rows[@]}"
echo "{\"policy_wasm_bytes\":$(stat -c %s "$policy_wasm"),\"floor_wasm_bytes\":$(stat -c %s floor.wasm)}"
