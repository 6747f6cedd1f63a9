#!/usr/bin/env bats
# End-to-end tests in Kubewarden's style, on one engine chosen by E2E_ENGINE:
# - kwctl: `kwctl run` ($KWCTL, else kwctl on PATH) on annotated-policy.wasm;
# - harness: the project's harness on policy.wasm, replaying sessions strictly in order as kwctl
#   does, so every session file here stays valid for kwctl.
# `make e2e-tests` runs the file once per engine, setting E2E_ENGINE. Unset, it is kwctl when
# kwctl and annotated-policy.wasm are there, else the harness.

if [ -z "${E2E_ENGINE:-}" ]; then
  if command -v "${KWCTL:-kwctl}" >/dev/null 2>&1 && [ -f "$BATS_TEST_DIRNAME/annotated-policy.wasm" ]; then
    E2E_ENGINE=kwctl
  else
    E2E_ENGINE=harness
  fi
fi
# The harness run must not reach a kwctl on PATH through a test's own `command -v kwctl` check.
[ "$E2E_ENGINE" = harness ] && KWCTL=/nonexistent/kwctl-not-used-on-the-harness-run
# README's commands, run as written, say `kwctl`: make that the chosen one (e.g. ../shared/bin/kwctl).
if [ "$E2E_ENGINE" = kwctl ] && [ "${KWCTL:-kwctl}" != kwctl ]; then
  kwctl() { "$KWCTL" "$@"; }
fi

setup_file() {
  cd "$BATS_TEST_DIRNAME"
  case "$E2E_ENGINE" in
    kwctl)
      command -v "${KWCTL:-kwctl}" >/dev/null 2>&1 || { echo "E2E_ENGINE=kwctl: no kwctl (KWCTL=${KWCTL:-})" >&2; return 1; }
      [ -f annotated-policy.wasm ] || { echo "E2E_ENGINE=kwctl: no annotated-policy.wasm (make annotated-policy.wasm)" >&2; return 1; }
      echo "# e2e.bats engine: $("${KWCTL:-kwctl}" --version | head -n 1) ($(command -v "${KWCTL:-kwctl}")) on annotated-policy.wasm" >&3
      ;;
    harness) echo "# e2e.bats engine: harness ($(harness_path)) on policy.wasm" >&3 ;;
    *) echo "E2E_ENGINE must be kwctl or harness, not $E2E_ENGINE" >&2; return 1 ;;
  esac
}

setup() {
  cd "$BATS_TEST_DIRNAME"
}

# The harness binary: $HARNESS, else what `cargo build -p harness` builds.
harness_path() {
  echo "${HARNESS:-${CARGO_TARGET_DIR:-target}/debug/harness}"
}
harness() {
  "$(harness_path)" "$@"
}

policy_run() {
  if [ "$E2E_ENGINE" = kwctl ]; then
    run "${KWCTL:-kwctl}" --no-color run --sigstore-trust-config /dev/null "$@" annotated-policy.wasm
  else
    run harness run --strict-replay "$@" policy.wasm
  fi
}

# The JSON response line (the last line of stdout that starts with '{'), keys sorted: kwctl
# prints auditAnnotations from a HashMap, in a different order from run to run.
response() {
  grep '^{' <<<"$output" | tail -n 1 | jq -cS .
}

# The decoded JSON patch of the response.
patch_ops() {
  response | jq -r '.patch' | base64 -d
}

# The pod the API server stores: the request's object (of a bare AdmissionRequest or of an
# AdmissionReview) with the patch applied by an RFC 6902 implementation, python3-jsonpatch's
# `jsonpatch` ($JSONPATCH to name another). $1 is the request file.
mutated_pod() {
  local object=$BATS_TEST_TMPDIR/object.json ops=$BATS_TEST_TMPDIR/patch.json
  jq 'if .kind == "AdmissionReview" then .request.object else .object end' "$1" >"$object"
  patch_ops >"$ops"
  "${JSONPATCH:-jsonpatch}" "$object" "$ops"
}

# Replay hygiene: every host call the policy made was answered by the session. (A recorded
# `type: Error` answer is fine: kwctl logs it as a failed callback, but not as a Replay error.)
no_replay_error() {
  ! grep -qE 'Replay error|recorded responses is empty' <<<"$output"
}

# ... and the policy used every recorded exchange (kwctl and the harness warn "Some of the
# recorded exchanges have not been replayed" otherwise): the calls are exactly the session's.
all_replayed() {
  no_replay_error && ! grep -q 'have not been replayed' <<<"$output"
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
  all_replayed
  [ "$(response | jq -r '.allowed')" = "true" ]
  [ "$(response | jq -r '.patch // "none"')" = "none" ]
}

@test "labelled pod, classic layout: env, mount and volume injected" {
  policy_run -s test_data/settings/default.json -r test_data/pod/labelled.json \
    --allow-context-aware --replay-host-capabilities-interactions test_data/sessions/workload-sa.yml
  [ "$status" -eq 0 ]
  all_replayed
  [ "$(response | jq -r '.allowed')" = "true" ]
  [ "$(patch_ops | jq -r '[.[] | select(.op != "add")] | length')" = "0" ]
  pod=$(mutated_pod test_data/pod/labelled.json)
  [ "$(jq -r '.spec.containers[1].env[] | select(.name == "AZURE_CLIENT_ID") | .value' <<<"$pod")" = "7b2c4a8e-1f3d-4e5a-9b6c-2d8e0f1a3b5c" ]
  [ "$(jq -r '.spec.containers[0].env[] | select(.name == "AZURE_FEDERATED_TOKEN_FILE") | .value' <<<"$pod")" = "/var/run/secrets/azure/tokens/azure-identity-token" ]
  [ "$(jq -r '.spec.initContainers[0].volumeMounts[0].mountPath' <<<"$pod")" = "/var/run/secrets/azure/tokens" ]
  [ "$(jq -r '.spec.volumes[] | select(.name == "azure-identity-token") | .projected.sources[0].serviceAccountToken.audience' <<<"$pod")" = "api://AzureADTokenExchange" ]
}

@test "labelled pod, v1.6 layout: hashed volume name and /var/run/secrets/azure/wi" {
  policy_run -s test_data/settings/v16.json -r test_data/pod/labelled.json \
    --allow-context-aware --replay-host-capabilities-interactions test_data/sessions/workload-sa.yml
  [ "$status" -eq 0 ]
  all_replayed
  pod=$(mutated_pod test_data/pod/labelled.json)
  [[ "$(jq -r '.spec.volumes[1].name' <<<"$pod")" == azure-workload-identity-reserved-* ]]
  [ "$(jq -r '.spec.containers[1].volumeMounts[0].mountPath' <<<"$pod")" = "/var/run/secrets/azure/wi" ]
}

@test "reference §2: v1.6.1 layout: the mount path carries the volume's hash" {
  policy_run -s test_data/settings/v161.json -r test_data/pod/labelled.json \
    --allow-context-aware --replay-host-capabilities-interactions test_data/sessions/workload-sa.yml
  [ "$status" -eq 0 ]
  all_replayed
  [ "$(response | jq -r '.allowed')" = "true" ]
  # H = the first 30 hex chars of sha256(metadata.name)
  hash=$(printf '%s' web-7d9f8b7c5d-x2x4z | sha256sum | cut -c1-30)
  [[ "$hash" =~ ^[0-9a-f]{30}$ ]]
  pod=$(mutated_pod test_data/pod/labelled.json)
  [ "$(jq -r '[.spec.volumes[].name | select(startswith("azure-workload-identity-reserved-"))] | join(",")' <<<"$pod")" = "azure-workload-identity-reserved-$hash" ]
  [ "$(jq -r '.spec.volumes[1].projected.sources[0].serviceAccountToken.path' <<<"$pod")" = "token/azure-identity-token" ]
  for c in '.spec.initContainers[0]' '.spec.containers[0]' '.spec.containers[1]'; do
    [ "$(jq -r "$c.volumeMounts[] | select(.name == \"azure-workload-identity-reserved-$hash\") | .mountPath" <<<"$pod")" = "/var/run/secrets/azure/wi/$hash" ]
    [ "$(jq -r "$c.env[] | select(.name == \"AZURE_FEDERATED_TOKEN_FILE\") | .value" <<<"$pod")" = "/var/run/secrets/azure/wi/$hash/token/azure-identity-token" ]
  done
}

@test "proxy: native sidecar first in initContainers, proxy-init last" {
  policy_run -s test_data/settings/default.json -r test_data/pod/proxy.json \
    --allow-context-aware --replay-host-capabilities-interactions test_data/sessions/workload-sa.yml
  [ "$status" -eq 0 ]
  all_replayed
  pod=$(mutated_pod test_data/pod/proxy.json)
  [ "$(jq -r '[.spec.initContainers[].name] | join(",")' <<<"$pod")" = "azwi-proxy,migrate,azwi-proxy-init" ]
  [ "$(jq -r '.spec.initContainers[0].restartPolicy' <<<"$pod")" = "Always" ]
  [ "$(jq -r '.spec.initContainers[0].args | join(" ")' <<<"$pod")" = "--proxy-port=8001 --log-level=info" ]
}

@test "proxy on a hostNetwork pod is rejected" {
  policy_run -s test_data/settings/default.json -r test_data/pod/proxy-host-network.json \
    --allow-context-aware --replay-host-capabilities-interactions test_data/sessions/workload-sa.yml
  [ "$status" -eq 0 ]
  all_replayed
  [ "$(response | jq -r '.allowed')" = "false" ]
  [[ "$(response | jq -r '.status.message')" == *"hostNetwork"* ]]
}

@test "missing ServiceAccount: retried uncached, then rejected naming it" {
  policy_run -s test_data/settings/default.json -r test_data/pod/missing-sa.json \
    --allow-context-aware --replay-host-capabilities-interactions test_data/sessions/ghost-sa.yml
  [ "$status" -eq 0 ]
  all_replayed
  [ "$(response | jq -r '.allowed')" = "false" ]
  [[ "$(response | jq -r '.status.message')" == *"ServiceAccount team-a/ghost"* ]]
}

@test "bad token expiration is rejected with value and range" {
  policy_run -s test_data/settings/default.json -r test_data/pod/bad-expiration.json \
    --allow-context-aware --replay-host-capabilities-interactions test_data/sessions/workload-sa.yml
  [ "$status" -eq 0 ]
  all_replayed
  [ "$(response | jq -r '.status.code')" = "400" ]
  [[ "$(response | jq -r '.status.message')" == *'"1h"'*"3600 to 86400"* ]]
}

@test "reference §4.9: a defaulted re-run changes nothing" {
  # The policy's own output for labelled.json plus what the API server defaults: defaultMode 420
  # on the token volume, terminationMessagePath/-Policy and imagePullPolicy on every container.
  pod=test_data/pod/mutated-classic-defaulted.json
  [ "$(jq -r '.request.object.spec.volumes[] | select(.name == "azure-identity-token") | .projected.defaultMode' "$pod")" = "420" ]
  [ "$(jq -r '[.request.object.spec.initContainers[], .request.object.spec.containers[] | .terminationMessagePath + " " + .terminationMessagePolicy + " " + .imagePullPolicy] | unique | join(",")' "$pod")" = "/dev/termination-log File IfNotPresent" ]
  policy_run -s test_data/settings/default.json -r "$pod" \
    --allow-context-aware --replay-host-capabilities-interactions test_data/sessions/workload-sa.yml
  [ "$status" -eq 0 ]
  all_replayed
  [ "$(response | jq -r '.allowed')" = "true" ]
  [ "$(response | jq -r '.patch // "none"')" = "none" ]
  [ "$(response | jq -r '.patchType // "none"')" = "none" ]
  [ "$(response | jq -r '.warnings')" = "null" ]
}

@test "validate-only mode: a pod the webhook mutated passes quietly, without a patch" {
  policy_run -s test_data/settings/validate-only.json -r test_data/pod/mutated-classic.json \
    --allow-context-aware --replay-host-capabilities-interactions test_data/sessions/workload-sa.yml
  [ "$status" -eq 0 ]
  all_replayed
  [ "$(response | jq -r '.allowed')" = "true" ]
  [ "$(response | jq -r '.patch // "none"')" = "none" ]
}

@test "identity binding: token proxy env and CA ConfigMap source" {
  policy_run -s test_data/settings/identity-binding.json -r test_data/pod/identity-binding.json \
    --allow-context-aware --replay-host-capabilities-interactions test_data/sessions/binding-allowed.yml
  [ "$status" -eq 0 ]
  all_replayed
  pod=$(mutated_pod test_data/pod/identity-binding.json)
  [ "$(jq -r '.spec.volumes[1].projected.sources[0].serviceAccountToken.audience' <<<"$pod")" = "api://AKSIdentityBinding" ]
  [ "$(jq -r '.spec.volumes[1].projected.sources[1].configMap.name' <<<"$pod")" = "aks-identity-binding-ca" ]
  [ "$(jq -r '.spec.containers[1].env[] | select(.name == "AZURE_KUBERNETES_TOKEN_PROXY") | .value' <<<"$pod")" = "https://identity-binding.aks.example.com:443" ]
}

@test "identity binding denied by RBAC: 403 with the ClusterRole rule" {
  policy_run -s test_data/settings/identity-binding.json -r test_data/pod/identity-binding.json \
    --allow-context-aware --replay-host-capabilities-interactions test_data/sessions/binding-denied.yml
  [ "$status" -eq 0 ]
  all_replayed
  [ "$(response | jq -r '.allowed')" = "false" ]
  [ "$(response | jq -r '.status.code')" = "403" ]
  [[ "$(response | jq -r '.status.message')" == *'verbs: ["use-managed-identity"]'* ]]
  [[ "$(response | jq -r '.status.message')" == *'resources: ["7b2c4a8e-1f3d-4e5a-9b6c-2d8e0f1a3b5c"]'* ]]
}

@test "Key Vault CSI with the token proxy: SubjectAccessReview allowed" {
  policy_run -s test_data/settings/default.json -r test_data/pod/csi-unlabeled.json \
    --allow-context-aware --replay-host-capabilities-interactions test_data/sessions/csi-allowed.yml
  [ "$status" -eq 0 ]
  all_replayed
  [ "$(response | jq -r '.allowed')" = "true" ]
}

@test "Key Vault CSI with the token proxy: denied" {
  policy_run -s test_data/settings/default.json -r test_data/pod/csi-unlabeled.json \
    --allow-context-aware --replay-host-capabilities-interactions test_data/sessions/csi-denied.yml
  [ "$status" -eq 0 ]
  all_replayed
  [ "$(response | jq -r '.status.code')" = "403" ]
  [[ "$(response | jq -r '.status.message')" == *"SecretProviderClass"* ]]
}

@test "reference §6: useAzureTokenProxy \"True\" is reviewed, the denial asked again uncached" {
  # The SecretProviderClass says "True" (Go strconv.ParseBool: on); revision 1 skipped it.
  [ "$(grep -c 'disable_cache: true' test_data/sessions/csi-flag-capital-true-denied.yml)" = "1" ]
  policy_run -s test_data/settings/default.json -r test_data/pod/csi-unlabeled.json \
    --allow-context-aware --replay-host-capabilities-interactions test_data/sessions/csi-flag-capital-true-denied.yml
  [ "$status" -eq 0 ]
  all_replayed
  [ "$(response | jq -r '.allowed')" = "false" ]
  [ "$(response | jq -r '.status.code')" = "403" ]
  [[ "$(response | jq -r '.status.message')" == *"c3d4e5f6-a7b8-4c9d-8e0f-1a2b3c4d5e6f"* ]]
  [[ "$(response | jq -r '.status.message')" == *'SecretProviderClass "team-a/azure-kv"'* ]]
}

@test "reference §6: a denial that the uncached review allows admits the pod" {
  # The cached answer is a denial; asked again with disable_cache: true, the RoleBinding created
  # just before the pod is seen.
  policy_run -s test_data/settings/identity-binding.json -r test_data/pod/identity-binding.json \
    --allow-context-aware --replay-host-capabilities-interactions test_data/sessions/binding-denied-then-allowed.yml
  [ "$status" -eq 0 ]
  all_replayed
  [ "$(response | jq -r '.allowed')" = "true" ]
  [ "$(response | jq -r '.patchType')" = "JSONPatch" ]
  pod=$(mutated_pod test_data/pod/identity-binding.json)
  [ "$(jq -r '.spec.containers[1].env[] | select(.name == "AZURE_CLIENT_ID") | .value' <<<"$pod")" = "7b2c4a8e-1f3d-4e5a-9b6c-2d8e0f1a3b5c" ]
  [ "$(jq -r '.spec.volumes[1].projected.sources[0].serviceAccountToken.audience' <<<"$pod")" = "api://AKSIdentityBinding" ]
}

@test "ServiceAccount: a client ID that is not a GUID is rejected" {
  policy_run -s test_data/settings/default.json -r test_data/serviceaccount/create-bad-client-id.json
  [ "$status" -eq 0 ]
  [ "$(response | jq -r '.status.code')" = "400" ]
  [[ "$(response | jq -r '.status.message')" == *'"my-app-registration"; expected a GUID'* ]]
}

@test "ServiceAccount UPDATE: an unchanged old mistake does not block the edit" {
  policy_run -s test_data/settings/default.json -r test_data/serviceaccount/update-unchanged-bad.json
  [ "$status" -eq 0 ]
  [ "$(response | jq -r '.allowed')" = "true" ]
}

@test "workload: a bad CronJob template is rejected early, prefixed with the CronJob" {
  policy_run -s test_data/settings/default.json -r test_data/workload/cronjob-bad-expiration.json \
    --allow-context-aware --replay-host-capabilities-interactions test_data/sessions/workload-sa.yml
  [ "$status" -eq 0 ]
  all_replayed
  [ "$(response | jq -r '.allowed')" = "false" ]
  [[ "$(response | jq -r '.status.message')" == "CronJob team-a/web: pod template: "* ]]
  [ "$(response | jq -r '.patch // "none"')" = "none" ]
}

@test "legacy AAD Pod Identity: accepted with a warning" {
  policy_run -s test_data/settings/default.json -r test_data/pod/legacy-aadpodidbinding.json \
    --allow-context-aware --replay-host-capabilities-interactions test_data/sessions/empty.yml
  [ "$status" -eq 0 ]
  all_replayed
  [ "$(response | jq -r '.allowed')" = "true" ]
  [[ "$(response | jq -r '.warnings[0]')" == *"move to Workload Identity (aadpodidbinding"* ]]
}

@test "reference §8: migrate: one binding, the pod gets its client ID, the proxy and the steps" {
  policy_run -s test_data/settings/migrate.json -r test_data/pod/legacy-aadpodidbinding.json \
    --allow-context-aware --replay-host-capabilities-interactions test_data/sessions/migrate-one-binding.yml
  [ "$status" -eq 0 ]
  all_replayed
  [ "$(response | jq -r '.allowed')" = "true" ]
  pod=$(mutated_pod test_data/pod/legacy-aadpodidbinding.json)
  [ "$(jq -r '.spec.containers[0].env[] | select(.name == "AZURE_CLIENT_ID") | .value' <<<"$pod")" = "3c1f7e2a-9b4d-4f6e-8a2c-5d7b9e1f3a6c" ]
  [ "$(jq -r '[.spec.initContainers[].name] | map(select(startswith("azwi-proxy"))) | join(",")' <<<"$pod")" = "azwi-proxy,azwi-proxy-init" ]
  warnings=$(response | jq -r '.warnings | join("\n")')
  [[ "$warnings" == *'migrated from AAD Pod Identity (AzureIdentityBinding "web-binding")'* ]]
  [[ "$warnings" == *"1/3 annotate ServiceAccount workload-sa"* ]]
  [[ "$warnings" == *"2/3 federate subject system:serviceaccount:team-a:workload-sa"* ]]
  [[ "$warnings" == *"3/3 replace label aadpodidbinding"* ]]
  [ "$(response | jq -r '.auditAnnotations["migrated-from"]')" = "team-a/web-binding" ]
}

@test "reference §8.1: migrate: a pod served by a binding of another namespace is migrated, the warning names identities/web-binding" {
  # MIC matches bindings of every namespace and reads the identity in the binding's namespace:
  # the list is cluster-wide, the AzureIdentity is read in `identities`.
  grep -q '!KubernetesListResourceAll' test_data/sessions/migrate-cross-namespace.yml
  [ "$(jq -r '.request.namespace' test_data/pod/legacy-aadpodidbinding.json)" = "team-a" ]
  policy_run -s test_data/settings/migrate.json -r test_data/pod/legacy-aadpodidbinding.json \
    --allow-context-aware --replay-host-capabilities-interactions test_data/sessions/migrate-cross-namespace.yml
  [ "$status" -eq 0 ]
  all_replayed
  [ "$(response | jq -r '.allowed')" = "true" ]
  pod=$(mutated_pod test_data/pod/legacy-aadpodidbinding.json)
  [ "$(jq -r '.spec.containers[0].env[] | select(.name == "AZURE_CLIENT_ID") | .value' <<<"$pod")" = "3c1f7e2a-9b4d-4f6e-8a2c-5d7b9e1f3a6c" ]
  [ "$(jq -r '[.spec.initContainers[].name] | map(select(startswith("azwi-proxy"))) | join(",")' <<<"$pod")" = "azwi-proxy,azwi-proxy-init" ]
  warnings=$(response | jq -r '.warnings | join("\n")')
  [[ "$warnings" == *'migrated from AAD Pod Identity (AzureIdentityBinding "identities/web-binding")'* ]]
  [[ "$warnings" == *"2/3 federate subject system:serviceaccount:team-a:workload-sa"* ]]
  [ "$(response | jq -r '.auditAnnotations["migrated-from"]')" = "identities/web-binding" ]
  [ "$(response | jq -r '.auditAnnotations["client-ids"]')" = "3c1f7e2a-9b4d-4f6e-8a2c-5d7b9e1f3a6c" ]
}

@test "reference §8.2: migrate: a namespaced AzureIdentity of another namespace does not serve the pod" {
  policy_run -s test_data/settings/migrate.json -r test_data/pod/legacy-aadpodidbinding.json \
    --allow-context-aware --replay-host-capabilities-interactions test_data/sessions/migrate-namespaced-identity.yml
  [ "$status" -eq 0 ]
  all_replayed
  [ "$(response | jq -r '.allowed')" = "true" ]
  [ "$(response | jq -r '.patch')" = "null" ]
  [[ "$(response | jq -r '.warnings | join("\n")')" == *'not migrated: '*'identities/web-binding'*'namespaced'* ]]
}

@test "reference §8.1: migrate with legacyPodIdentityForceNamespaced: a binding of another namespace is dropped before any lookup" {
  policy_run -s test_data/settings/migrate-force-namespaced.json -r test_data/pod/legacy-aadpodidbinding.json \
    --allow-context-aware --replay-host-capabilities-interactions test_data/sessions/migrate-force-namespaced.yml
  [ "$status" -eq 0 ]
  all_replayed
  [ "$(response | jq -r '.allowed')" = "true" ]
  [ "$(response | jq -r '.patch')" = "null" ]
  [[ "$(response | jq -r '.warnings | join("\n")')" == *'not migrated: no AzureIdentityBinding'*'selects aadpodidbinding="web-identity"'* ]]
}

@test "reference §8.4: migrate: no binding, admitted unchanged with a warning" {
  policy_run -s test_data/settings/migrate.json -r test_data/pod/legacy-aadpodidbinding.json \
    --allow-context-aware --replay-host-capabilities-interactions test_data/sessions/migrate-no-binding.yml
  [ "$status" -eq 0 ]
  all_replayed
  [ "$(response | jq -r '.allowed')" = "true" ]
  [ "$(response | jq -r '.patch')" = "null" ]
  # No binding of any namespace (§8.1) selects the label.
  [[ "$(response | jq -r '.warnings[]')" == *'not migrated: no AzureIdentityBinding'*'selects aadpodidbinding="web-identity"'* ]]
  [ "$(response | jq -r '.auditAnnotations')" = "null" ]
}

@test "reference §8.4: migrate: the binding list fails, rejected with 500" {
  policy_run -s test_data/settings/migrate.json -r test_data/pod/legacy-aadpodidbinding.json \
    --allow-context-aware --replay-host-capabilities-interactions test_data/sessions/migrate-list-error.yml
  [ "$status" -eq 0 ]
  no_replay_error
  [ "$(response | jq -r '.allowed')" = "false" ]
  [ "$(response | jq -r '.status.code')" = "500" ]
  [[ "$(response | jq -r '.status.message')" == *"cannot list resource"* ]]
}

@test "reference §4.12: kubectl debug on an identity-binding pod: a debug container with its own AZURE_CLIENT_ID is denied (403)" {
  # What `kubectl debug --env=AZURE_CLIENT_ID=… --target=app` sends: an UPDATE of the
  # ephemeralcontainers subresource, the whole pod as object, the pod before as oldObject.
  request=test_data/pod/ephemeral-debug-literal-client-id.json
  [ "$(jq -r '.request | "\(.operation) \(.kind.kind) \(.subResource)"' "$request")" = "UPDATE Pod ephemeralcontainers" ]
  [ "$(jq -r '.request.oldObject.spec.ephemeralContainers // [] | length' "$request")" = "0" ]
  [ "$(jq -r '.request.object.spec.ephemeralContainers[0].env[0].value' "$request")" = "5e8d2c1a-7f4b-4a9e-b3c6-0d1e2f3a4b5c" ]
  # Its review, denied cached then uncached (§6); no ServiceAccount lookup.
  [ "$(grep -c '!KubernetesCanI' test_data/sessions/ephemeral-binding-denied.yml)" = "2" ]
  ! grep -q 'kind: ServiceAccount' test_data/sessions/ephemeral-binding-denied.yml
  policy_run -s test_data/settings/identity-binding.json -r "$request" \
    --allow-context-aware --replay-host-capabilities-interactions test_data/sessions/ephemeral-binding-denied.yml
  [ "$status" -eq 0 ]
  all_replayed
  [ "$(response | jq -r '.allowed')" = "false" ]
  [ "$(response | jq -r '.status.code')" = "403" ]
  message=$(response | jq -r '.status.message')
  [[ "$message" == *'ephemeral container "debugger"'* ]]
  [[ "$message" == *"5e8d2c1a-7f4b-4a9e-b3c6-0d1e2f3a4b5c"* ]]
  [ "$(response | jq -r '.patch // "none"')" = "none" ]
}

@test "reference §4.12: kubectl debug whose review allows the client ID: admitted unchanged" {
  policy_run -s test_data/settings/identity-binding.json -r test_data/pod/ephemeral-debug-literal-client-id.json \
    --allow-context-aware --replay-host-capabilities-interactions test_data/sessions/ephemeral-binding-allowed.yml
  [ "$status" -eq 0 ]
  all_replayed
  [ "$(response | jq -r '.allowed')" = "true" ]
  [ "$(response | jq -r '.patch // "none"')" = "none" ]
}

@test "reference §6: a SecretProviderClass with two identity modes on is rejected (400) before any review" {
  policy_run -s test_data/settings/default.json -r test_data/pod/csi-two-identity-modes.json \
    --allow-context-aware --replay-host-capabilities-interactions test_data/sessions/csi-two-identity-modes.yml
  [ "$status" -eq 0 ]
  # The class is the only call: no SubjectAccessReview for its clientID.
  all_replayed
  [ "$(response | jq -r '.allowed')" = "false" ]
  [ "$(response | jq -r '.status.code')" = "400" ]
  message=$(response | jq -r '.status.message')
  [[ "$message" == *"azure-kv-two-modes"* ]]
  [[ "$message" == *"only one identity mode can be enabled at a time"* ]]
  [[ "$message" == *"usePodIdentity"* ]]
  [[ "$message" == *"useAzureTokenProxy"* ]]
}

@test "reference §9: a mutated pod carries audit annotations naming its client ID" {
  policy_run -s test_data/settings/default.json -r test_data/pod/labelled.json \
    --allow-context-aware --replay-host-capabilities-interactions test_data/sessions/workload-sa.yml
  [ "$status" -eq 0 ]
  all_replayed
  [ "$(response | jq -r '.patchType')" = "JSONPatch" ]
  # No review was asked: no reviewed-client-ids; not migrated: no migrated-from.
  [ "$(response | jq -c '.auditAnnotations')" = '{"client-ids":"7b2c4a8e-1f3d-4e5a-9b6c-2d8e0f1a3b5c"}' ]
}

@test "reference §9: an identity-binding pod's audit annotations name the client ID the review allowed" {
  policy_run -s test_data/settings/identity-binding.json -r test_data/pod/identity-binding.json \
    --allow-context-aware --replay-host-capabilities-interactions test_data/sessions/binding-allowed.yml
  [ "$status" -eq 0 ]
  all_replayed
  [ "$(response | jq -r '.allowed')" = "true" ]
  [ "$(response | jq -c '.auditAnnotations')" = \
    '{"client-ids":"7b2c4a8e-1f3d-4e5a-9b6c-2d8e0f1a3b5c","reviewed-client-ids":"7b2c4a8e-1f3d-4e5a-9b6c-2d8e0f1a3b5c"}' ]
}

@test "reference §9: no audit annotations on a rejection or a pod without a client ID" {
  policy_run -s test_data/settings/identity-binding.json -r test_data/pod/identity-binding.json \
    --allow-context-aware --replay-host-capabilities-interactions test_data/sessions/binding-denied.yml
  [ "$status" -eq 0 ]
  [ "$(response | jq -r '.allowed')" = "false" ]
  [ "$(response | jq -r '.auditAnnotations')" = "null" ]
  policy_run -s test_data/settings/default.json -r test_data/pod/unlabeled.json \
    --allow-context-aware --replay-host-capabilities-interactions test_data/sessions/empty.yml
  [ "$status" -eq 0 ]
  [ "$(response | jq -r '.auditAnnotations')" = "null" ]
}

@test "typo in an annotation: warning with did-you-mean" {
  policy_run -s test_data/settings/default.json -r test_data/pod/annotations-without-label.json \
    --allow-context-aware --replay-host-capabilities-interactions test_data/sessions/empty.yml
  [ "$status" -eq 0 ]
  [[ "$(response | jq -r '.warnings | join("\n")')" == *"did you mean azure.workload.identity/skip-containers?"* ]]
}

@test "validate-only mode: an opted-in pod no webhook mutated is rejected" {
  policy_run -s test_data/settings/validate-only.json -r test_data/pod/labelled.json \
    --allow-context-aware --replay-host-capabilities-interactions test_data/sessions/workload-sa.yml
  [ "$status" -eq 0 ]
  all_replayed
  [ "$(response | jq -r '.allowed')" = "false" ]
  [[ "$(response | jq -r '.status.message')" == *"did not mutate"*"failurePolicy"* ]]
}

@test "validate-only mode, verifyInjection warn: admitted with a warning" {
  policy_run -s test_data/settings/validate-only-warn.json -r test_data/pod/labelled.json \
    --allow-context-aware --replay-host-capabilities-interactions test_data/sessions/workload-sa.yml
  [ "$status" -eq 0 ]
  all_replayed
  [ "$(response | jq -r '.allowed')" = "true" ]
  [[ "$(response | jq -r '.warnings[0]')" == *"was not mutated"* ]]
}

# docs/runbooks.md, Runbook A ("try it offline"), followed command by command: each case runs what
# the runbook tells a new user to type and checks what its "Verify" paragraph says they will see.

@test "Runbook A step 1: make demo lists the four runbook examples" {
  run ./scripts/demo.sh
  [ "$status" -eq 0 ]
  for example in self-managed aks-validate-only aks-identity-binding migrate; do
    [[ "$output" == *"make demo EXAMPLE=$example "* ]]
  done
}

@test "Runbook A step 2: kwctl run on examples/self-managed adds the four AZURE_* variables, the mount and the volume" {
  policy_run --settings-path examples/self-managed/settings.yml \
    --request-path examples/self-managed/request.json \
    --allow-context-aware --replay-host-capabilities-interactions examples/self-managed/session.yml
  [ "$status" -eq 0 ]
  all_replayed
  [ "$(response | jq -r '.allowed')" = "true" ]
  pod=$(mutated_pod examples/self-managed/request.json)
  [ "$(jq -r '[.spec.containers[0].env[].name | select(startswith("AZURE_"))] | join(" ")' <<<"$pod")" = \
    "AZURE_CLIENT_ID AZURE_TENANT_ID AZURE_FEDERATED_TOKEN_FILE AZURE_AUTHORITY_HOST" ]
  [ "$(jq -r '[.spec.containers[0].volumeMounts[].name] | index("azure-identity-token") != null' <<<"$pod")" = "true" ]
  [ "$(jq -r '.spec.volumes[] | select(.name == "azure-identity-token") | .projected.sources[0].serviceAccountToken.audience' <<<"$pod")" = \
    "api://AzureADTokenExchange" ]
}

@test "Runbook A step 1: make demo EXAMPLE=aks-validate-only rejects the unmutated pod and says why that is expected" {
  run ./scripts/demo.sh aks-validate-only
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed": false'* ]]
  [[ "$output" == *"the Workload Identity webhook did not mutate it"* ]]
  [[ "$output" == *"Expected: an opted-in pod that no webhook mutated would start without its identity"* ]]
}

@test "Runbook A Verify: a settings mistake is refused before any request is evaluated" {
  run harness run --settings-json '{"cloud":"Mars","tenantId":"72f988bf-86f1-41af-91ab-2d7cd011db47"}' \
    -r test_data/pod/unlabeled.json policy.wasm
  [ "$status" -ne 0 ]
  [[ "$output" == *'Provided settings are not valid: cloud: "Mars" is not valid; expected one of AzurePublicCloud (alias AzureCloud)'* ]]
}

# docs/runbooks.md, the Verify paragraphs of Runbooks B, C and D, offline: the objects their kubectl
# commands send (test_data/runbooks/: `kubectl run`'s pod as the ServiceAccount admission
# plugin and defaulting leave it, before any webhook), the cluster's answers replayed, and what
# the runbook says the user will see.

@test "Runbook B Verify: kubectl run web gets the four AZURE_* variables and the token volume after kube-api-access" {
  policy_run --settings-path examples/self-managed/settings.yml -r test_data/runbooks/web.json \
    --allow-context-aware --replay-host-capabilities-interactions test_data/runbooks/wi-check-workload-sa.yml
  [ "$status" -eq 0 ]
  all_replayed
  [ "$(response | jq -r '.allowed')" = "true" ]
  pod=$(mutated_pod test_data/runbooks/web.json)
  # kubectl get pod web -o jsonpath='{.spec.containers[0].env[*].name}{"\n"}{.spec.volumes[*].name}'
  [ "$(jq -r '[.spec.containers[0].env[].name] | join(" ")' <<<"$pod")" = \
    "AZURE_CLIENT_ID AZURE_TENANT_ID AZURE_FEDERATED_TOKEN_FILE AZURE_AUTHORITY_HOST" ]
  [ "$(jq -r '[.spec.volumes[].name] | join(" ")' <<<"$pod")" = "kube-api-access-9xk2p azure-identity-token" ]

  # The verifying instance then sees the stored pod (defaulted again after the mutation) and
  # admits it without a patch.
  jq --argjson pod "$pod" '.request.object = ($pod
      | .spec.volumes |= map(if .projected then .projected.defaultMode //= 420 else . end))' \
    test_data/runbooks/web.json >"$BATS_TEST_TMPDIR/stored.json"
  policy_run --settings-json '{"mutate":false,"verifyInjection":"reject"}' -r "$BATS_TEST_TMPDIR/stored.json" \
    --allow-context-aware --replay-host-capabilities-interactions test_data/runbooks/wi-check-workload-sa.yml
  [ "$status" -eq 0 ]
  all_replayed
  [ "$(response | jq -r '.allowed')" = "true" ]
  [ "$(response | jq -r '.patch')" = "null" ]
  [ "$(response | jq -r '.warnings')" = "null" ]
}

@test "Runbook B Verify: kubectl run bad with a 1h token expiration is denied with the accepted range" {
  policy_run --settings-path examples/self-managed/settings.yml -r test_data/runbooks/bad-expiration.json \
    --allow-context-aware --replay-host-capabilities-interactions test_data/runbooks/wi-check-default-sa.yml
  [ "$status" -eq 0 ]
  all_replayed
  [ "$(response | jq -r '.allowed')" = "false" ]
  [[ "$(response | jq -r '.status.message')" == 'Pod wi-check/bad: '*'"1h"; expected an integer number of seconds from 3600 to 86400' ]]
}

@test "Runbook C Verify: annotating the ServiceAccount with a client ID that is not a GUID is denied" {
  policy_run --settings-path examples/aks-validate-only/settings.yml -r test_data/runbooks/annotate-bad-client-id.json
  [ "$status" -eq 0 ]
  [ "$(response | jq -r '.allowed')" = "false" ]
  [ "$(response | jq -r '.status.message')" = \
    'ServiceAccount wi-check/workload-sa: annotation azure.workload.identity/client-id has value "my-app-registration"; expected a GUID: the client ID of the managed identity or app registration' ]
}

@test "Runbook D Verify: without the grant the AKS-mutated pod is denied (403) with the rule that allows it" {
  policy_run --settings-path examples/aks-identity-binding/settings.yml -r examples/aks-identity-binding/request.json \
    --allow-context-aware --replay-host-capabilities-interactions test_data/sessions/binding-denied.yml
  [ "$status" -eq 0 ]
  all_replayed
  [ "$(response | jq -r '.status.code')" = "403" ]
  message=$(response | jq -r '.status.message')
  [[ "$message" == *'ServiceAccount team-a/workload-sa may not use managed identity 7b2c4a8e-1f3d-4e5a-9b6c-2d8e0f1a3b5c'*'RBAC does not allow verb "use-managed-identity"'* ]]
  # The rule it prints is the one examples/aks-identity-binding/workload-rbac.yaml applies,
  # so applying either one restores the grant.
  [[ "$message" == *'name: use-managed-identity-7b2c4a8e-1f3d-4e5a-9b6c-2d8e0f1a3b5c-team-a-workload-sa'* ]]
  grep -q '^  name: use-managed-identity-7b2c4a8e-1f3d-4e5a-9b6c-2d8e0f1a3b5c-team-a-workload-sa$' \
    examples/aks-identity-binding/workload-rbac.yaml
}

@test "Runbook E Verify: a migrated pod has the client ID, the proxy around its own init containers and the token volume" {
  policy_run --settings-path examples/migrate/settings.yml -r examples/migrate/request.json \
    --allow-context-aware --replay-host-capabilities-interactions examples/migrate/session.yml
  [ "$status" -eq 0 ]
  all_replayed
  [ "$(response | jq -r '.allowed')" = "true" ]
  pod=$(mutated_pod examples/migrate/request.json)
  [ "$(jq -r '.spec.containers[0].env[] | select(.name == "AZURE_CLIENT_ID") | .value' <<<"$pod")" = "3c1f7e2a-9b4d-4f6e-8a2c-5d7b9e1f3a6c" ]
  [ "$(jq -r '[.spec.initContainers[].name] | join(" ")' <<<"$pod")" = "azwi-proxy migrate azwi-proxy-init" ]
  [ "$(jq -r '[.spec.volumes[].name] | join(" ")' <<<"$pod")" = "kube-api-access-abcde azure-identity-token" ]
  # docs/operations.md, Observability: the audit log records where the pod came from (§9).
  [ "$(response | jq -r '.auditAnnotations["migrated-from"]')" = "team-b/orders-api-binding" ]
}

# The operator documents' own command text, run offline: each case below reads the command from
# README.md or docs/ at test time (doc_block), so an edit that breaks a command fails here.
# kubectl, helm and az are replaced by stubs that answer from test_data/runbooks/ (what the
# cluster would print) or record what would be applied; everything else (sed, jq, awk, shell
# functions) runs as written.

# The ```console block of file $1 that contains the fixed string $2, without the fences and
# with the block's indentation (a numbered step's) removed.
doc_block() {
  awk -v marker="$2" '
    /^ *```console$/ { inside = 1; indent = index($0, "`") - 1; block = ""; found = 0; next }
    inside && /^ *```$/ { inside = 0; if (found) { printf "%s", block; exit } next }
    inside { line = substr($0, indent + 1); block = block line "\n"; if (index($0, marker)) found = 1 }
  ' "$1"
}

# docs/runbooks.md "Before a runbook": the variables, render() and webhooks(), with the registry
# a user replaces filled in, az answering the tenant and kubectl what the chart's default
# PolicyServer holds.
runbooks_setup() {
  kubectl() {
    [ "$*" = "get policyserver default -o jsonpath={.spec.image}" ] || return 99
    printf '%s' registry.example.com/mirror/policy-server:v1.35.0
  }
  az() {
    [ "$*" = "account show --query tenantId -o tsv" ] || return 99
    echo 22222222-2222-2222-2222-222222222222
  }
  local setup
  setup=$(doc_block docs/runbooks.md 'render() {')
  # The one value a user types is an assignment, never a <placeholder> the shell would redirect.
  ! grep -q '[<>]' <<<"$(grep -v '^ *#' <<<"$setup" | sed 's/#.*//')"
  [[ "$setup" == *'export REGISTRY=registry.example.com/platform '* ]]
  setup=${setup//registry.example.com\/platform/registry.example.com\/team}
  eval "$setup"
  unset -f kubectl az
}

# The settings of a rendered ClusterAdmissionPolicy (stdin), as YAML for --settings-path: the
# lines under `  settings:`, dedented.
policy_settings() {
  awk '/^  settings:/ { inside = 1; next } inside && /^(  [^ ]|[^ ])/ { inside = 0 } inside { print substr($0, 5) }'
}

@test "Before a runbook: render fills in every placeholder of every file a runbook applies" {
  runbooks_setup
  [ "$MODULE" = "registry://registry.example.com/team/azure-workload-identity-policy:v0.1.0" ]
  [ "$TENANT_ID" = "22222222-2222-2222-2222-222222222222" ]
  [ "$PS_IMAGE" = "registry.example.com/mirror/policy-server:v1.35.0" ]
  KW_NS=cattle-kubewarden-system
  # Every `render … | kubectl apply|delete -f -` line of the runbooks, as written.
  lines=$(grep -hoE '^ *render examples/[^ ]+ \| kubectl (apply|delete) -f -$' docs/runbooks.md | sed 's/^ *//')
  [ "$(wc -l <<<"$lines")" -ge 15 ]
  kubectl() { [ "$*" = "apply -f -" ] || [ "$*" = "delete -f -" ] || return 99; cat >"$BATS_TEST_TMPDIR/applied.yaml"; }
  set -o pipefail
  while IFS= read -r line; do
    file=$(awk '{ print $2 }' <<<"$line")
    eval "$line"
    rendered=$BATS_TEST_TMPDIR/applied.yaml
    [ -s "$rendered" ]
    [ "$(grep -vc '^ *#' "$rendered")" -eq "$(grep -vc '^ *#' "$file")" ]
    ! grep -v '^ *#' "$rendered" | grep -E '<your|registry\.example\.com/azure|72f988bf'
    ! grep -v '^ *#' "$rendered" | grep -E 'namespace: "?kubewarden"?$'
    if grep -q '^kind: ClusterAdmissionPolicy' "$rendered"; then
      [ "$(grep -c "^  module: $MODULE\$" "$rendered")" = "$(grep -c '^kind: ClusterAdmissionPolicy' "$rendered")" ]
    fi
    if grep -q '^kind: PolicyServer' "$rendered"; then
      [ "$(grep -c "^  image: $PS_IMAGE\$" "$rendered")" = 1 ]
      ! grep -v '^ *#' "$rendered" | grep 'ghcr.io'
    fi
    if grep -q '^kind: \(ServiceAccount\|ClusterRoleBinding\|PolicyServer\)$' "$rendered"; then
      grep -q "namespace: $KW_NS\$" "$rendered"
    fi
  done <<<"$lines"
}

@test "Before a runbook: every rendered policy's settings are accepted, the tenant the user's" {
  runbooks_setup
  kubectl() { [ "$*" = "apply -f -" ] || return 99; cat >"$BATS_TEST_TMPDIR/applied.yaml"; }
  set -o pipefail
  checked=0
  for file in $(grep -l '^kind: ClusterAdmissionPolicy' examples/*/*.yaml); do
    eval "render $file | kubectl apply -f -"
    policy_settings <"$BATS_TEST_TMPDIR/applied.yaml" >"$BATS_TEST_TMPDIR/settings.yml"
    [ -s "$BATS_TEST_TMPDIR/settings.yml" ]
    if grep -q '^mutate: false' "$BATS_TEST_TMPDIR/settings.yml"; then
      ! grep -q tenantId "$BATS_TEST_TMPDIR/settings.yml" || grep -q "^tenantId: \"$TENANT_ID\"" "$BATS_TEST_TMPDIR/settings.yml"
    else
      grep -q "^tenantId: \"$TENANT_ID\"\$" "$BATS_TEST_TMPDIR/settings.yml"
    fi
    run harness run -s "$BATS_TEST_TMPDIR/settings.yml" -r test_data/pod/unlabeled.json \
      --allow-context-aware --replay-host-capabilities-interactions test_data/sessions/empty.yml policy.wasm
    [ "$status" -eq 0 ]
    [ "$(response | jq -r '.allowed')" = "true" ]
    # Unrendered, a mutating example's placeholder tenant is refused, saying what to put there.
    policy_settings <"$file" >"$BATS_TEST_TMPDIR/raw.yml"
    if grep -q '<your-tenant-id>' "$BATS_TEST_TMPDIR/raw.yml"; then
      run harness run -s "$BATS_TEST_TMPDIR/raw.yml" -r test_data/pod/unlabeled.json policy.wasm
      [ "$status" -ne 0 ]
      [[ "$output" == *'Provided settings are not valid: '*'tenantId'* ]]
    fi
    checked=$((checked + 1))
  done
  [ "$checked" -eq 5 ]
}

@test "Before a runbook, Monitor first: the monitor-mode sed turns every policy of every example to monitor" {
  runbooks_setup
  line=$(doc_block docs/runbooks.md "sed 's/mode: protect/mode: monitor/'" | grep '^render \$EXAMPLE | ')
  [ -n "$line" ]
  kubectl() { [ "$*" = "apply -f -" ] || return 99; cat >"$BATS_TEST_TMPDIR/applied.yaml"; }
  set -o pipefail
  for file in $(grep -l '^kind: ClusterAdmissionPolicy' examples/*/*.yaml); do
    EXAMPLE=$file
    eval "$line"
    [ "$(grep -c '^  mode: monitor$' "$BATS_TEST_TMPDIR/applied.yaml")" = "$(grep -c '^kind: ClusterAdmissionPolicy' "$file")" ]
    ! grep -q 'mode: protect' "$BATS_TEST_TMPDIR/applied.yaml"
  done
}

@test "Runbook A: the kwctl run and jq commands print the verdict and the decoded patch" {
  block=$(doc_block docs/runbooks.md 'annotated-policy.wasm > response.json')
  run_command=$(sed -n '/^kwctl run/,/> response.json$/p' <<<"$block")
  [[ "$run_command" == *'annotated-policy.wasm > response.json' ]]
  # Without kwctl, the harness on the unannotated module (same arguments).
  if ! command -v "${KWCTL:-kwctl}" >/dev/null 2>&1 || [ ! -f annotated-policy.wasm ]; then
    kwctl() { [ "$1" = run ] && shift && harness run "${@/annotated-policy.wasm/policy.wasm}"; }
  fi
  HARNESS=$(realpath "${HARNESS:-${CARGO_TARGET_DIR:-target}/debug/harness}")
  cd "$BATS_TEST_TMPDIR" && ln -s "$BATS_TEST_DIRNAME/examples" examples && ln -s "$BATS_TEST_DIRNAME/policy.wasm" policy.wasm
  [ ! -f "$BATS_TEST_DIRNAME/annotated-policy.wasm" ] || ln -s "$BATS_TEST_DIRNAME/annotated-policy.wasm" annotated-policy.wasm
  eval "$run_command" 2>/dev/null
  verdict=$(eval "$(grep "^jq '{allowed, status, warnings}' response.json" <<<"$block")")
  [ "$(jq -r '.allowed' <<<"$verdict")" = "true" ]
  patch=$(eval "$(grep '^jq -r .patch response.json | base64 -d | jq \.' <<<"$block")")
  [ "$(jq -r '[.[] | select(.value.name? // "" | startswith("AZURE_")) | .value.name] | join(" ")' <<<"$patch")" = \
    "AZURE_CLIENT_ID AZURE_TENANT_ID AZURE_FEDERATED_TOKEN_FILE AZURE_AUTHORITY_HOST" ]
  [ "$(jq -r '[.[] | select(.value.name? == "azure-identity-token")] | length' <<<"$patch")" -ge 2 ]
}

@test "Runbook A Verify: the settings mistake command, as written, prints the error the runbook shows" {
  block=$(doc_block docs/runbooks.md 'harness run --settings-json')
  command=$(grep '^\$ ' <<<"$block" | cut -c3-)
  expected=$(grep '^Error: ' <<<"$block")
  [[ "$command" == 'target/debug/harness run '* ]]
  command=${command/target\/debug\/harness/harness}
  eval "run $command"
  [ "$status" -ne 0 ]
  # The runbook shortens the line with "…".
  [[ "$output" == *"${expected%…}"* ]]
}

@test "Runbook D: grant() substitutes the client ID, the web-denied sed renames only the pod, and Verify polls until refused" {
  block=$(doc_block docs/runbooks.md 'grant() {')
  eval "$(grep '^grant() {' <<<"$block")"
  CLIENT_ID=0f9e8d7c-6b5a-4948-8372-615a4b3c2d1e
  granted=$(grant)
  ! grep -q 7b2c4a8e-1f3d-4e5a-9b6c-2d8e0f1a3b5c <<<"$granted"
  grep -q "resourceNames: \[\"$CLIENT_ID\"\]\|- $CLIENT_ID\$\|\"$CLIENT_ID\"" <<<"$granted"
  [ "$(grep -c "$CLIENT_ID" <<<"$granted")" = "$(grep -c 7b2c4a8e-1f3d-4e5a-9b6c-2d8e0f1a3b5c examples/aks-identity-binding/workload-rbac.yaml)" ]
  line=$(doc_block docs/runbooks.md 'name: web-denied' | grep '^sed ')
  kubectl() { [ "$*" = "apply --dry-run=server -f -" ] || return 99; cat >"$BATS_TEST_TMPDIR/applied.yaml"; }
  eval "$line"
  diff <(cat examples/aks-identity-binding/pod.yaml) "$BATS_TEST_TMPDIR/applied.yaml" | grep '^[<>]' >"$BATS_TEST_TMPDIR/diff" || true
  [ "$(cat "$BATS_TEST_TMPDIR/diff")" = "$(printf '<   name: web\n>   name: web-denied')" ]
  # Runbook D Verify waits for the revocation by retrying the same dry run until it is refused, at
  # most 60 times, instead of sleeping for one cache lifetime (the bounded cache of 1.38 may keep
  # an answer longer).
  ! grep -qE '^sleep [0-9]+$' <<<"$(doc_block docs/runbooks.md 'name: web-denied')"
  loop=$(doc_block docs/runbooks.md 'name: web-denied' | sed -n '/^for i in /,/^done$/p')
  [[ "$loop" == 'for i in $(seq 60); do'* ]]
  sleep() { [ "$*" = 2 ]; }
  calls=$BATS_TEST_TMPDIR/calls
  # Allowed twice (the cached grant), then refused: three dry runs, the refused one ends the wait.
  kubectl() {
    [ "$*" = "apply --dry-run=server -f -" ] || return 99
    grep -q '^  name: web-denied$' || return 98
    echo call >>"$calls"
    [ "$(wc -l <"$calls")" -lt 3 ]
  }
  rm -f "$calls"; eval "$loop"
  [ "$(wc -l <"$calls")" -eq 3 ]
  # A grant that is never revoked: the wait ends after 60 tries.
  kubectl() { cat >/dev/null; echo call >>"$calls"; }
  rm -f "$calls"; eval "$loop"
  [ "$(wc -l <"$calls")" -eq 60 ]
  unset -f sleep
}

@test "Runbook E: the forceNamespaced check and the cross-namespace binding query, as written" {
  block=$(doc_block docs/runbooks.md 'kubectl get azureidentitybindings -A -o json > bindings.json')
  kubectl() {
    case "$*" in
      "get deploy -A -o yaml") cat "$BATS_TEST_DIRNAME/test_data/runbooks/mic-deployments.yaml" ;;
      "get azureidentitybindings -A -o json") cat "$BATS_TEST_DIRNAME/test_data/runbooks/azureidentitybindings.json" ;;
      "get pods -A -l aadpodidbinding -o json") cat "$BATS_TEST_DIRNAME/test_data/runbooks/aadpodidbinding-pods.json" ;;
      *) return 99 ;;
    esac
  }
  cd "$BATS_TEST_TMPDIR"
  set -o pipefail
  run eval "$block"
  [ "$status" -eq 0 ]
  # MIC runs namespaced: the check shows it.
  [[ "$output" == *'- name: FORCENAMESPACED'*'value: "true"'* ]]
  # Only the pod whose binding lives in another namespace: not the one beside its binding,
  # not one whose label no binding selects.
  [ "$(grep -- ' <- binding ' <<<"$output")" = "team-a/orders-api-7c9d5b6f4-k8zqx <- binding team-b/orders-api-binding" ]
}

@test "Operations, audit annotations: the audit-log query lists each created pod's namespace and client IDs" {
  block=$(doc_block docs/operations.md 'audit.log')
  [[ "$block" == "jq -c "*"' audit.log" ]]
  cd "$BATS_TEST_TMPDIR" && cp "$BATS_TEST_DIRNAME/test_data/runbooks/audit.log" audit.log
  run eval "$block"
  [ "$status" -eq 0 ]
  # One line per pod creation our webhooks annotated (the RequestReceived stage has none), the
  # client-ids of each instance that saw it; reviewed-client-ids and other annotations left out.
  # Kubewarden 1.37.2's names (kw.cap.<policy>.kubewarden.admission).
  [ "$output" = '{"ns":"team-a","ids":{"kw.cap.azure-workload-identity.kubewarden.admission/client-ids":"7b2c4a8e-1f3d-4e5a-9b6c-2d8e0f1a3b5c","kw.cap.azure-workload-identity-verify.kubewarden.admission/client-ids":"7b2c4a8e-1f3d-4e5a-9b6c-2d8e0f1a3b5c"}}
{"ns":"team-b","ids":{"kw.cap.azure-workload-identity-migrate.kubewarden.admission/client-ids":"3c1f7e2a-9b4d-4f6e-8a2c-5d7b9e1f3a6c"}}' ]
}

@test "README Quick start: the policy it applies is complete, and mutates and refuses as its Verify says" {
  block=$(doc_block README.md 'kubectl apply -f - <<EOF')
  az() { [ "$*" = "account show --query tenantId -o tsv" ] || return 99; echo 22222222-2222-2222-2222-222222222222; }
  kubectl() {
    case "$*" in
      "apply -f -")
        cat >"$BATS_TEST_TMPDIR/stdin.yaml"
        if grep -q '^kind: ClusterAdmissionPolicy$' "$BATS_TEST_TMPDIR/stdin.yaml"; then
          mv "$BATS_TEST_TMPDIR/stdin.yaml" "$BATS_TEST_TMPDIR/policy.yaml"
        else
          mv "$BATS_TEST_TMPDIR/stdin.yaml" "$BATS_TEST_TMPDIR/rbac.yaml"
        fi ;;
      "wait --for=condition=PolicyActive clusteradmissionpolicy/azure-workload-identity-quickstart --timeout=5m") ;;
      *) return 99 ;;
    esac
  }
  REGISTRY=registry.example.com/team
  set -o pipefail
  eval "$block"
  unset -f kubectl az
  grep -q '^kind: ClusterRoleBinding$' "$BATS_TEST_TMPDIR/rbac.yaml"
  settings=$(python3 -c '
import json, sys, yaml
policy = yaml.safe_load(open(sys.argv[1]))
assert policy["kind"] == "ClusterAdmissionPolicy", policy["kind"]
spec = policy["spec"]
assert spec["module"] == sys.argv[2], spec["module"]
assert spec["policyServer"] == "default" and spec["mutating"] is True and spec["failurePolicy"] == "Fail"
assert spec["mode"] == "protect" and spec["timeoutEvalSeconds"] < spec["timeoutSeconds"]
assert {"apiVersion": "v1", "kind": "ServiceAccount"} in spec["contextAwareResources"]
assert [r["resources"] for r in spec["rules"]] == [["pods"]]
print(json.dumps(spec["settings"]))' "$BATS_TEST_TMPDIR/policy.yaml" \
    "registry://registry.example.com/team/azure-workload-identity-policy:v0.1.0")
  [ "$(jq -r .tenantId <<<"$settings")" = 22222222-2222-2222-2222-222222222222 ]
  # The pods its Verify creates carry the label its matchCondition selects.
  grep -q "k.startsWith('azure.workload.identity/')" "$BATS_TEST_TMPDIR/policy.yaml"
  [ "$(jq -r '.request.object.metadata.labels["azure.workload.identity/use"]' test_data/runbooks/web.json)" = true ]
  # kubectl run web: the four variables.
  policy_run --settings-json "$settings" -r test_data/runbooks/web.json \
    --allow-context-aware --replay-host-capabilities-interactions test_data/runbooks/wi-check-workload-sa.yml
  [ "$status" -eq 0 ]
  all_replayed
  pod=$(mutated_pod test_data/runbooks/web.json)
  [ "$(jq -r '[.spec.containers[0].env[].name] | join(" ")' <<<"$pod")" = \
    "AZURE_CLIENT_ID AZURE_TENANT_ID AZURE_FEDERATED_TOKEN_FILE AZURE_AUTHORITY_HOST" ]
  # kubectl run bad: the 1 h token refused, naming the range.
  policy_run --settings-json "$settings" -r test_data/runbooks/bad-expiration.json \
    --allow-context-aware --replay-host-capabilities-interactions test_data/runbooks/wi-check-default-sa.yml
  [ "$status" -eq 0 ]
  [ "$(response | jq -r '.allowed')" = "false" ]
  [[ "$(response | jq -r '.status.message')" == 'Pod wi-check/bad: '*'expected an integer number of seconds from 3600 to 86400' ]]
}

@test "Runbook C step 2: helm upgrade keeps the release, chart and chart version that hold the default PolicyServer" {
  block=$(doc_block docs/runbooks.md 'helm upgrade')
  KW_NS=kubewarden
  for case in "1.36 kubewarden-defaults kubewarden/kubewarden-defaults 3.14.1" \
    "1.37 admission-controller kubewarden/admission-controller 6.0.2"; do
    read -r version release chart chart_version <<<"$case"
    helm() {
      case "$*" in
        "repo add kubewarden https://charts.kubewarden.io") ;;
        "list -n kubewarden -o json") cat "$BATS_TEST_DIRNAME/test_data/runbooks/helm-list-$version.json" ;;
        "upgrade "*) echo "$*" >"$BATS_TEST_TMPDIR/upgrade" ;;
        *) return 99 ;;
      esac
    }
    rm -f "$BATS_TEST_TMPDIR/upgrade"
    eval "$block" >/dev/null
    [ "$(cat "$BATS_TEST_TMPDIR/upgrade")" = "upgrade -n kubewarden $release $chart --version $chart_version --reuse-values --set policyServer.replicaCount=2 --set policyServer.minAvailable=1" ]
  done
}

@test "Operations, break-glass: webhooks() finds a policy's configurations under both namings, and no other policy's" {
  block=$(doc_block docs/operations.md 'webhooks() {')
  # docs/runbooks.md defines the same function.
  [ "$(grep -A1 '^webhooks() {' <<<"$block")" = "$(doc_block docs/runbooks.md 'webhooks() {' | grep -A1 '^webhooks() {')" ]
  kubectl() {
    [ "$*" = "get mutatingwebhookconfigurations,validatingwebhookconfigurations -o name" ] || return 99
    printf '%s\n' \
      mutatingwebhookconfiguration.admissionregistration.k8s.io/kw.cap.azure-workload-identity \
      mutatingwebhookconfiguration.admissionregistration.k8s.io/kw.cap.azure-workload-identity-migrate \
      validatingwebhookconfiguration.admissionregistration.k8s.io/clusterwide-azure-workload-identity-verify \
      validatingwebhookconfiguration.admissionregistration.k8s.io/kw.ap.team-a.azure-workload-identity \
      validatingwebhookconfiguration.admissionregistration.k8s.io/kwXcapXazure-workload-identity
  }
  eval "$block"
  [ "$(webhooks azure-workload-identity)" = \
    "mutatingwebhookconfiguration.admissionregistration.k8s.io/kw.cap.azure-workload-identity" ]
  [ "$(webhooks azure-workload-identity-verify)" = \
    "validatingwebhookconfiguration.admissionregistration.k8s.io/clusterwide-azure-workload-identity-verify" ]
}

@test "Operator docs: no <placeholder> in a shell command, where the shell would read a redirection" {
  for file in README.md docs/runbooks.md docs/operations.md; do
    commands=$(awk '/^ *```console$/ { inside = 1; next } inside && /^ *```$/ { inside = 0; next } inside' "$file" \
      | sed -E 's/^ +//' | grep -vE '^(#|Error|\$ )' | sed -E "s/'[^']*'//g; s/\"[^\"]*\"//g; s/ #.*//")
    ! grep -nE '<[A-Za-z][A-Za-z0-9_ -]*>' <<<"$commands"
  done
}

@test "reference §6: a volume attribute that names another client ID is judged, not the class's" {
  policy_run -s test_data/settings/allowlist-namespace.json \
    -r test_data/pod/csi-volume-attribute-client-id.json \
    --allow-context-aware --replay-host-capabilities-interactions test_data/sessions/csi-no-token-proxy.yml
  [ "$status" -eq 0 ]
  all_replayed
  [ "$(response | jq -r '.allowed')" = "false" ]
  [ "$(response | jq -r '.status.code')" = "403" ]
  response | jq -r '.status.message' | grep -q '99999999-8888-7777-6666-555555555555'
}

@test "reference §6: the allowlist governs a namespace it does not list (a client ID from a Secret)" {
  policy_run -s test_data/settings/allowlist-namespace.json \
    -r test_data/pod/unlisted-namespace-secret-ref.json \
    --allow-context-aware --replay-host-capabilities-interactions test_data/sessions/workload-sa-team-b.yml
  [ "$status" -eq 0 ]
  all_replayed
  [ "$(response | jq -r '.allowed')" = "false" ]
  [ "$(response | jq -r '.status.code')" = "403" ]
  response | jq -r '.status.message' | grep -q 'takes AZURE_CLIENT_ID from valueFrom'
}

@test "SecretProviderClass (reference §12): a valid azure class is allowed, with no warning" {
  policy_run -s test_data/settings/default.json -r test_data/secretproviderclass/create-valid.json
  [ "$status" -eq 0 ]
  [ "$(response | jq -r '.allowed')" = "true" ]
  [ "$(response | jq -r '.warnings')" = "null" ]
  [ "$(response | jq -r '.patch')" = "null" ]
}

@test "SecretProviderClass (reference §12): a malformed vault name is rejected, naming the parameter" {
  policy_run -s test_data/settings/default.json -r test_data/secretproviderclass/create-bad-vault-name.json
  [ "$status" -eq 0 ]
  [ "$(response | jq -r '.allowed')" = "false" ]
  [ "$(response | jq -r '.status.code')" = "400" ]
  [[ "$(response | jq -r '.status.message')" == 'SecretProviderClass team-a/azure-kv has parameters.keyvaultName "team_a_kv"'* ]]
}

@test "SecretProviderClass (reference §12): two identity modes are rejected as the provider would" {
  policy_run -s test_data/settings/default.json -r test_data/secretproviderclass/create-two-identity-modes.json
  [ "$status" -eq 0 ]
  [ "$(response | jq -r '.status.code')" = "400" ]
  [[ "$(response | jq -r '.status.message')" == *'only one identity mode can be enabled at a time'* ]]
}

@test "SecretProviderClass (reference §12): a missing keyvaultName is allowed with a warning, since a pod may set it" {
  policy_run -s test_data/settings/default.json -r test_data/secretproviderclass/create-missing-keyvault-name.json
  [ "$status" -eq 0 ]
  [ "$(response | jq -r '.allowed')" = "true" ]
  [ "$(response | jq -r '.warnings | length')" = "1" ]
  [[ "$(response | jq -r '.warnings[0]')" == 'SecretProviderClass team-a/azure-kv: set parameters.keyvaultName, or every pod that mounts it must set it in volumeAttributes' ]]
}

@test "SecretProviderClass (reference §12): an UPDATE that moves clientID is allowed with the unreviewed-identity warning" {
  policy_run -s test_data/settings/default.json -r test_data/secretproviderclass/update-moves-client-id.json
  [ "$status" -eq 0 ]
  [ "$(response | jq -r '.allowed')" = "true" ]
  [[ "$(response | jq -r '.warnings[0]')" == *'restart the pods that mount it'* ]]
}

@test "SecretProviderClass (reference §12): another provider's class gets a plain accept" {
  policy_run -s test_data/settings/default.json -r test_data/secretproviderclass/create-other-provider.json
  [ "$status" -eq 0 ]
  [ "$(response | jq -r '.allowed')" = "true" ]
  [ "$(response | jq -r '.warnings')" = "null" ]
}
