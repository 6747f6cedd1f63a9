#!/usr/bin/env bash
# Instructions per native evaluation (the guest's own work, no engine), counted by callgrind:
# reproducible to the instruction whatever else the machine does. Usage:
#   scripts/instructions.sh [CASE ...]       (default: wi-pod unlabeled-pod)
# Each case is test_data/bench/<CASE>.json through `respond`, 1,000 times, minus the cost of
# starting the test binary.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "valgrind is needed" >&2; exit 2; }
# The policy's code at opt-level 3, as the bench's harness is built (profile bench-harness).
bin=$(cargo test --profile bench-harness -p azure-workload-identity-policy --test robustness --no-run \
  --message-format=json 2>/dev/null | python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == "robustness":
        print(m["executable"])')
count() { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'; }
base=$(count "$bin" --ignored --exact nothing --test-threads=1)
for case in "${@:-wi-pod unlabeled-pod}"; do
  for c in $case; do
    total=$(AZWI_PROFILE_CASE=$c count "$bin" --ignored --exact profile_wi_pod --test-threads=1)
    echo "$c: $(( (total - base) / 1000 )) instructions per evaluation"
  done
done
