#!/usr/bin/env bash
# Regenerates test_data/bench/wi-pod-20.json and wi-pod-200.json from wi-pod.json: the same
# pod, its containers repeated (with unique names) to 20 and 200, so that the ratios between
# the three measure what more containers cost and nothing else.
set -euo pipefail
cd "$(dirname "$0")/../test_data/bench"
for n in 20 200; do
  jq --argjson n "$n" '
    .request.object.spec.containers as $c
    | .request.object.spec.containers =
        [range(0; $n) as $i | $c[$i % ($c | length)] | .name = "\(.name)-\($i)"]
    | .request.uid = "wi-pod-\($n)-uid"' wi-pod.json >"wi-pod-$n.json"
done
