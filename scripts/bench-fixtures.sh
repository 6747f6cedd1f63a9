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

# wi-pod-30000-ids.json: wi-pod.json whose first container sets AZURE_CLIENT_ID 30,000 times
# (distinct GUIDs), and wi-pod-30000-env.json: the same pod, the same size, with 30,000 entries
# of another name. Reference §9: the first is answered within 1.5 × the time of the second.
for variant in ids env; do
  jq -c --arg variant "$variant" '
    def guid($i): ($i | tostring) as $s | ("00000000" + $s)[-8:] + "-1111-2222-3333-444444444444";
    .request.object.spec.containers[0].env =
        [range(0; 30000) as $i
         | {name: (if $variant == "ids" then "AZURE_CLIENT_ID" else "OTHER_VARIABLES" end),
            value: guid($i)}]
    | .request.uid = "wi-pod-30000-\($variant)-uid"' wi-pod.json >"wi-pod-30000-$variant.json"
done
