#!/usr/bin/env bats
# End-to-end tests in Kubewarden's style. With kwctl on PATH they run `kwctl run` on
# annotated-policy.wasm; otherwise the project's harness on policy.wasm, replaying sessions
# strictly in order as kwctl does, so every session file here stays valid for kwctl.

setup() {
  cd "$BATS_TEST_DIRNAME"
}

policy_run() {
  if command -v "${KWCTL:-kwctl}" >/dev/null 2>&1 && [ -f annotated-policy.wasm ]; then
    run "${KWCTL:-kwctl}" --no-color run --sigstore-trust-config /dev/null "$@" annotated-policy.wasm
  else
    run target/harness/harness run --strict-replay "$@" policy.wasm
  fi
}

# The JSON response line (the last line of stdout that starts with '{').
response() {
  grep '^{' <<<"$output" | tail -n 1
}

patched_pod() {
  # Decoded patch: the test asserts on the ops the engine will apply.
  response | jq -r '.patch' | base64 -d
}

no_replay_error() {
  ! grep -q 'callback evaluation failed' <<<"$output"
}

@test "bad settings: unknown cloud is rejected naming field and value" {
  policy_run --settings-json '{"tenantId":"72f988bf-86f1-41af-91ab-2d7cd011db47","cloud":"Mars"}' \
    -r test_data/pod/unlabeled.json
  [ "$status" -eq 1 ]
  [[ "$output" == *"cloud"* ]]
  [[ "$output" == *"Mars"* ]]
}

@test "bad settings: two CA sources are rejected naming both" {
  policy_run --settings-json '{"tenantId":"72f988bf-86f1-41af-91ab-2d7cd011db47","identityBinding":{"caData":"x","caConfigMap":"y"}}' \
    -r test_data/pod/unlabeled.json
  [ "$status" -eq 1 ]
  [[ "$output" == *"identityBinding.caData"* ]]
  [[ "$output" == *"identityBinding.caConfigMap"* ]]
}

@test "unlabeled pod: accepted unchanged, no host call" {
  policy_run -s test_data/settings/default.json -r test_data/pod/unlabeled.json \
    --allow-context-aware --replay-host-capabilities-interactions test_data/sessions/empty.yml
  [ "$status" -eq 0 ]
  no_replay_error
  [ "$(response | jq -r '.allowed')" = "true" ]
  [ "$(response | jq -r '.patch // "none"')" = "none" ]
}

@test "labelled pod, classic layout: env, mount and volume injected" {
  policy_run -s test_data/settings/default.json -r test_data/pod/labelled.json \
    --allow-context-aware --replay-host-capabilities-interactions test_data/sessions/workload-sa.yml
  [ "$status" -eq 0 ]
  no_replay_error
  [ "$(response | jq -r '.allowed')" = "true" ]
  [ "$(patched_pod | jq -r '[.[] | select(.op != "add")] | length')" = "0" ]
  [ "$(patched_pod | jq -r '.[] | select(.path == "/spec/containers/1/env") | .value[] | select(.name == "AZURE_CLIENT_ID") | .value')" = "7b2c4a8e-1f3d-4e5a-9b6c-2d8e0f1a3b5c" ]
  [ "$(patched_pod | jq -r '.[] | select(.path == "/spec/containers/1/env") | .value[] | select(.name == "AZURE_FEDERATED_TOKEN_FILE") | .value')" = "/var/run/secrets/azure/tokens/azure-identity-token" ]
  [ "$(patched_pod | jq -r '.[] | select(.path == "/spec/volumes/1") | .value.projected.sources[0].serviceAccountToken.audience')" = "api://AzureADTokenExchange" ]
}

@test "labelled pod, v1.6 layout: hashed volume name and /var/run/secrets/azure/wi" {
  policy_run -s test_data/settings/v16.json -r test_data/pod/labelled.json \
    --allow-context-aware --replay-host-capabilities-interactions test_data/sessions/workload-sa.yml
  [ "$status" -eq 0 ]
  no_replay_error
  [[ "$(patched_pod | jq -r '.[] | select(.path == "/spec/volumes/1") | .value.name')" == azure-workload-identity-reserved-* ]]
  [ "$(patched_pod | jq -r '.[] | select(.path == "/spec/containers/1/volumeMounts") | .value[0].mountPath')" = "/var/run/secrets/azure/wi" ]
}

@test "proxy: native sidecar first in initContainers, proxy-init last" {
  policy_run -s test_data/settings/default.json -r test_data/pod/proxy.json \
    --allow-context-aware --replay-host-capabilities-interactions test_data/sessions/workload-sa.yml
  [ "$status" -eq 0 ]
  no_replay_error
  [ "$(patched_pod | jq -r '.[] | select(.path == "/spec/initContainers/0") | .value.name')" = "azwi-proxy" ]
  [ "$(patched_pod | jq -r '.[] | select(.path == "/spec/initContainers/0") | .value.restartPolicy')" = "Always" ]
  [ "$(patched_pod | jq -r '.[] | select(.path == "/spec/initContainers/2") | .value.name')" = "azwi-proxy-init" ]
}

@test "proxy on a hostNetwork pod is rejected" {
  policy_run -s test_data/settings/default.json -r test_data/pod/proxy-host-network.json \
    --allow-context-aware --replay-host-capabilities-interactions test_data/sessions/workload-sa.yml
  [ "$status" -eq 0 ]
  no_replay_error
  [ "$(response | jq -r '.allowed')" = "false" ]
  [[ "$(response | jq -r '.status.message')" == *"hostNetwork"* ]]
}

@test "missing ServiceAccount: retried uncached, then rejected naming it" {
  policy_run -s test_data/settings/default.json -r test_data/pod/missing-sa.json \
    --allow-context-aware --replay-host-capabilities-interactions test_data/sessions/ghost-sa.yml
  [ "$status" -eq 0 ]
  no_replay_error
  [ "$(response | jq -r '.allowed')" = "false" ]
  [[ "$(response | jq -r '.status.message')" == *"ServiceAccount team-a/ghost"* ]]
}

@test "bad token expiration is rejected with value and range" {
  policy_run -s test_data/settings/default.json -r test_data/pod/bad-expiration.json \
    --allow-context-aware --replay-host-capabilities-interactions test_data/sessions/workload-sa.yml
  [ "$status" -eq 0 ]
  no_replay_error
  [ "$(response | jq -r '.status.code')" = "400" ]
  [[ "$(response | jq -r '.status.message')" == *'"1h"'*"3600 to 86400"* ]]
}

@test "validate-only mode: labelled pod accepted without a patch" {
  policy_run -s test_data/settings/validate-only.json -r test_data/pod/labelled.json \
    --allow-context-aware --replay-host-capabilities-interactions test_data/sessions/workload-sa.yml
  [ "$status" -eq 0 ]
  no_replay_error
  [ "$(response | jq -r '.allowed')" = "true" ]
  [ "$(response | jq -r '.patch // "none"')" = "none" ]
}

@test "identity binding: token proxy env and CA ConfigMap source" {
  policy_run -s test_data/settings/identity-binding.json -r test_data/pod/identity-binding.json \
    --allow-context-aware --replay-host-capabilities-interactions test_data/sessions/workload-sa.yml
  [ "$status" -eq 0 ]
  no_replay_error
  [ "$(patched_pod | jq -r '.[] | select(.path == "/spec/volumes/1") | .value.projected.sources[0].serviceAccountToken.audience')" = "api://AKSIdentityBinding" ]
  [ "$(patched_pod | jq -r '.[] | select(.path == "/spec/volumes/1") | .value.projected.sources[1].configMap.name')" = "aks-identity-binding-ca" ]
}
