//! reference §6: every client ID a pod would use is authorized (identity binding reviews, Key Vault
//! CSI, `allowedClientIds`), through the full `evaluate` entry, asserting exactly which host
//! calls were made.

use azure_workload_identity_policy::cluster::fake::{Call, FakeCluster};
use azure_workload_identity_policy::testing::*;
use serde_json::{Value, json};

const BINDING: &str = "azure.workload.identity/use-identity-binding";

const USER: &str = "system:serviceaccount:ns1:sa";

const OTHER: &str = "99999999-8888-7777-6666-555555555555";

const ALLOW: &[u8] = br#"{"allowed":true}"#;

const DENY: &[u8] = br#"{"allowed":false,"reason":"no RBAC policy matched"}"#;

fn binding_settings(extra: Value) -> Value {
    settings(merged(
        json!({ "identityBinding": { "tokenProxy": "https://proxy.example.com" } }),
        extra,
    ))
}

fn binding_pod() -> Value {
    let mut pod = labelled_pod("pod", "sa");
    pod["metadata"]["annotations"] = json!({ BINDING: "true" });
    pod
}

fn reviews(fake: &FakeCluster) -> Vec<Call> {
    fake.calls()
        .into_iter()
        .filter(|c| matches!(c, Call::CanI { .. }))
        .collect()
}

fn review_of(resource: &str) -> Call {
    review(resource, false)
}

/// The uncached retry of a denied review (reference §6).
fn retry_of(resource: &str) -> Call {
    review(resource, true)
}

fn review(resource: &str, disable_cache: bool) -> Call {
    Call::CanI {
        user: USER.into(),
        groups: vec![
            "system:serviceaccounts".into(),
            "system:serviceaccounts:ns1".into(),
            "system:authenticated".into(),
        ],
        verb: "use-managed-identity".into(),
        group: "cid.wi.aks.azure.com".into(),
        resource: resource.into(),
        disable_cache,
    }
}

#[test]
fn spec_6_identity_binding_allowed_asks_exactly_one_review() {
    let fake = cluster_with_sa("ns1", "sa").with_review(USER, CLIENT, Ok(ALLOW.to_vec()));
    let response = run(
        pod_request("ns1", binding_pod()),
        binding_settings(json!({})),
        &fake,
    );
    assert!(response.accepted, "{response:?}");
    assert!(response.mutated_object.is_some());
    assert_eq!(reviews(&fake), vec![review_of(CLIENT)]);
}

#[test]
fn spec_6_identity_binding_denied_names_sa_client_id_and_rule() {
    let fake = cluster_with_sa("ns1", "sa").with_review(USER, CLIENT, Ok(DENY.to_vec()));
    let response = run(
        pod_request("ns1", binding_pod()),
        binding_settings(json!({})),
        &fake,
    );
    assert!(!response.accepted);
    assert_eq!(response.code, Some(403));
    let message = response.message.unwrap_or_default();
    for needle in [
        "ServiceAccount ns1/sa",
        CLIENT,
        "no RBAC policy matched",
        "kind: ClusterRole",
        "- apiGroups: [\"cid.wi.aks.azure.com\"]",
        &format!("resources: [\"{CLIENT}\"]"),
        "verbs: [\"use-managed-identity\"]",
        "kind: ClusterRoleBinding",
    ] {
        assert!(message.contains(needle), "{message} lacks {needle}");
    }
}

#[test]
fn spec_6_review_error_fails_closed_with_500() {
    let fake =
        cluster_with_sa("ns1", "sa").with_review(USER, CLIENT, Err("apiserver timeout".into()));
    let response = run(
        pod_request("ns1", binding_pod()),
        binding_settings(json!({})),
        &fake,
    );
    assert_rejected(&response, 500, "apiserver timeout");
}

#[test]
fn spec_6_env_client_id_cannot_spoof_the_check() {
    let mut pod = binding_pod();
    pod["spec"]["containers"][0]["env"] = json!([{ "name": "AZURE_CLIENT_ID", "value": OTHER }]);
    let fake = cluster_with_sa("ns1", "sa")
        .with_review(USER, CLIENT, Ok(ALLOW.to_vec()))
        .with_review(USER, OTHER, Ok(DENY.to_vec()));
    let response = run(pod_request("ns1", pod), binding_settings(json!({})), &fake);
    assert_eq!(response.code, Some(403));
    let message = response.message.unwrap_or_default();
    assert!(
        message.contains(OTHER) && message.contains("container \"container\""),
        "{message}"
    );
    assert_eq!(
        reviews(&fake),
        vec![review_of(CLIENT), review_of(OTHER), retry_of(OTHER)]
    );
}

#[test]
fn spec_6_one_review_per_distinct_client_id() {
    let mut pod = binding_pod();
    pod["spec"]["containers"][0]["env"] = json!([{ "name": "AZURE_CLIENT_ID", "value": CLIENT }]);
    pod["spec"]["initContainers"][0]["env"] =
        json!([{ "name": "AZURE_CLIENT_ID", "value": CLIENT }]);
    let fake = cluster_with_sa("ns1", "sa").with_review(USER, CLIENT, Ok(ALLOW.to_vec()));
    let response = run(pod_request("ns1", pod), binding_settings(json!({})), &fake);
    assert!(response.accepted);
    assert_eq!(reviews(&fake).len(), 1);
}

#[test]
fn spec_6_identity_binding_without_any_client_id_is_rejected() {
    let fake = FakeCluster::new().with_service_account("ns1", "sa", json!({}));
    let response = run(
        pod_request("ns1", binding_pod()),
        binding_settings(json!({})),
        &fake,
    );
    assert_rejected(&response, 400, "no client ID");
    assert_eq!(reviews(&fake), vec![]);
}

#[test]
fn spec_6_authorize_false_asks_nothing() {
    let fake = cluster_with_sa("ns1", "sa");
    let response = run(
        pod_request("ns1", binding_pod()),
        binding_settings(
            json!({ "identityBinding": { "tokenProxy": "https://p.example.com", "authorize": false } }),
        ),
        &fake,
    );
    assert!(response.accepted, "{response:?}");
    assert_eq!(reviews(&fake), vec![]);
}

#[test]
fn spec_6_hand_written_binding_token_is_checked_without_label() {
    let pod = json!({ "apiVersion": "v1", "kind": "Pod", "metadata": { "name": "pod" }, "spec": {
        "serviceAccountName": "sa",
        "containers": [{ "name": "c", "image": "i" }],
        "volumes": [{ "name": "t", "projected": { "sources": [{ "serviceAccountToken": {
            "path": "token", "audience": "api://AKSIdentityBinding" } }] } }] } });
    let fake = cluster_with_sa("ns1", "sa").with_review(USER, CLIENT, Ok(DENY.to_vec()));
    let response = run(pod_request("ns1", pod), settings(json!({})), &fake);
    assert_eq!(response.code, Some(403), "{response:?}");
    assert_eq!(reviews(&fake), vec![review_of(CLIENT), retry_of(CLIENT)]);
}

fn csi_pod(labelled: bool) -> Value {
    let mut pod = labelled_pod("pod", "sa");
    if !labelled {
        pod["metadata"]["labels"] = json!({});
    }
    pod["spec"]["volumes"] = json!([{ "name": "secrets", "csi": { "driver": "secrets-store.csi.k8s.io",
        "readOnly": true, "volumeAttributes": { "secretProviderClass": "kv" } } }]);
    pod
}

fn spc(provider: &str, proxy: &str, client: &str) -> Result<Vec<u8>, String> {
    Ok(json!({ "apiVersion": "secrets-store.csi.x-k8s.io/v1", "kind": "SecretProviderClass",
        "metadata": { "name": "kv", "namespace": "ns1" },
        "spec": { "provider": provider, "parameters": key_vault_parameters(json!({ "useAzureTokenProxy": proxy, "clientID": client })) } })
    .to_string()
    .into_bytes())
}

#[rstest::rstest]
#[case::allowed("azure", "true", Ok(ALLOW.to_vec()), true, 1)]
#[case::denied("azure", "true", Ok(DENY.to_vec()), false, 2)]
#[case::spec_6_flag_title_case_is_on("azure", "True", Ok(ALLOW.to_vec()), true, 1)]
#[case::spec_6_flag_one_is_on("azure", "1", Ok(ALLOW.to_vec()), true, 1)]
#[case::spec_6_flag_trimmed("azure", " true ", Ok(ALLOW.to_vec()), true, 1)]
#[case::spec_6_flag_upper_case_denied("azure", "TRUE", Ok(DENY.to_vec()), false, 2)]
#[case::spec_6_flag_zero_is_off("azure", "0", Ok(DENY.to_vec()), true, 0)]
#[case::provider_not_azure("vault", "true", Ok(DENY.to_vec()), true, 0)]
#[case::token_proxy_off("azure", "false", Ok(DENY.to_vec()), true, 0)]
fn spec_6_key_vault_csi(
    #[case] provider: &str,
    #[case] proxy: &str,
    #[case] answer: Result<Vec<u8>, String>,
    #[case] accepted: bool,
    #[case] asked: usize,
) {
    for labelled in [true, false] {
        let fake = cluster_with_sa("ns1", "sa")
            .with_object(
                "SecretProviderClass",
                "ns1",
                "kv",
                spc(provider, proxy, OTHER),
            )
            .with_review(USER, OTHER, answer.clone());
        let response = run(
            pod_request("ns1", csi_pod(labelled)),
            settings(json!({})),
            &fake,
        );
        assert_eq!(
            response.accepted, accepted,
            "labelled={labelled}: {response:?}"
        );
        assert_eq!(reviews(&fake).len(), asked, "labelled={labelled}");
        if !accepted {
            assert!(
                response
                    .message
                    .unwrap_or_default()
                    .contains("SecretProviderClass \"ns1/kv\"")
            );
        }
    }
}

#[test]
fn spec_6_missing_secret_provider_class_is_rejected_after_retry() {
    let fake = cluster_with_sa("ns1", "sa");
    let response = run(
        pod_request("ns1", csi_pod(false)),
        settings(json!({})),
        &fake,
    );
    assert_rejected(&response, 400, "SecretProviderClass ns1/kv");
    let gets: Vec<Call> = fake
        .calls()
        .into_iter()
        .filter(|c| matches!(c, Call::Get { kind, .. } if kind == "SecretProviderClass"))
        .collect();
    assert_eq!(gets.len(), 2);
}

#[test]
fn spec_6_unlabeled_csi_pod_does_not_read_its_service_account() {
    let fake = FakeCluster::new()
        .with_object(
            "SecretProviderClass",
            "ns1",
            "kv",
            spc("azure", "true", OTHER),
        )
        .with_review(USER, OTHER, Ok(ALLOW.to_vec()));
    let response = run(
        pod_request("ns1", csi_pod(false)),
        settings(json!({})),
        &fake,
    );
    assert!(response.accepted, "{response:?}");
    assert!(
        !fake
            .calls()
            .iter()
            .any(|c| matches!(c, Call::Get { kind, .. } if kind == "ServiceAccount"))
    );
}

#[rstest::rstest]
#[case::listed_for_namespace(json!({ "ns1": [CLIENT] }), true)]
#[case::listed_for_all(json!({ "*": [CLIENT] }), true)]
#[case::wildcard_id(json!({ "ns1": ["*"] }), true)]
#[case::other_namespace_only(json!({ "ns2": [CLIENT] }), false)]
#[case::other_id(json!({ "ns1": [OTHER] }), false)]
fn spec_6_allowed_client_ids(#[case] allowlist: Value, #[case] accepted: bool) {
    let fake = cluster_with_sa("ns1", "sa");
    let response = run(
        pod_request("ns1", labelled_pod("pod", "sa")),
        settings(json!({ "allowedClientIds": allowlist })),
        &fake,
    );
    assert_eq!(response.accepted, accepted, "{response:?}");
    if !accepted {
        assert_rejected(&response, 403, "allowedClientIds");
    }
}

#[test]
fn spec_6_allowlist_covers_csi_client_ids() {
    let fake = cluster_with_sa("ns1", "sa").with_object(
        "SecretProviderClass",
        "ns1",
        "kv",
        spc("azure", "false", OTHER),
    );
    let response = run(
        pod_request("ns1", csi_pod(true)),
        settings(json!({ "allowedClientIds": { "ns1": [CLIENT] } })),
        &fake,
    );
    assert_eq!(response.code, Some(403));
    assert!(response.message.unwrap_or_default().contains(OTHER));
}

#[test]
fn spec_6_checks_run_in_validate_only_mode() {
    let fake = cluster_with_sa("ns1", "sa").with_review(USER, CLIENT, Ok(DENY.to_vec()));
    let response = run(
        pod_request("ns1", binding_pod()),
        json!({ "mutate": false }),
        &fake,
    );
    assert_eq!(response.code, Some(403), "{response:?}");
}

#[test]
fn spec_6_denied_review_is_asked_again_uncached_and_the_second_answer_counts() {
    let fake = cluster_with_sa("ns1", "sa")
        .with_review(USER, CLIENT, Ok(DENY.to_vec()))
        .with_uncached_review(USER, CLIENT, Ok(ALLOW.to_vec()));
    let response = run(
        pod_request("ns1", binding_pod()),
        binding_settings(json!({})),
        &fake,
    );
    assert!(response.accepted, "{response:?}");
    assert_eq!(reviews(&fake), vec![review_of(CLIENT), retry_of(CLIENT)]);
}

#[test]
fn spec_6_review_error_is_not_retried() {
    let fake = cluster_with_sa("ns1", "sa").with_review(USER, CLIENT, Err("timeout".into()));
    let response = run(
        pod_request("ns1", binding_pod()),
        binding_settings(json!({})),
        &fake,
    );
    assert_rejected(&response, 500, "timeout");
    assert_eq!(reviews(&fake), vec![review_of(CLIENT)]);
}

#[rstest::rstest]
#[case::yes("yes")]
#[case::on("on")]
#[case::mixed_case("tRUE")]
fn spec_6_unreadable_token_proxy_flag_is_rejected(#[case] flag: &str) {
    let fake = cluster_with_sa("ns1", "sa").with_object(
        "SecretProviderClass",
        "ns1",
        "kv",
        spc("azure", flag, OTHER),
    );
    let response = run(
        pod_request("ns1", csi_pod(false)),
        settings(json!({})),
        &fake,
    );
    assert_rejected(&response, 400, "parameters.useAzureTokenProxy");
    assert_eq!(reviews(&fake), vec![]);
}

#[rstest::rstest]
#[case::value_from(json!({ "env": [{ "name": "AZURE_CLIENT_ID", "valueFrom": { "secretKeyRef": { "name": "s", "key": "k" } } }] }), "valueFrom")]
#[case::env_from(json!({ "envFrom": [{ "secretRef": { "name": "s" } }] }), "envFrom")]
fn spec_4_11_binding_client_id_from_a_reference_warns(#[case] container: Value, #[case] how: &str) {
    let mut pod = binding_pod();
    pod["spec"]["containers"][0] =
        merged(json!({ "name": "container", "image": "image" }), container);
    // Validate-only: nothing the policy injects overrides envFrom.
    let fake = cluster_with_sa("ns1", "sa").with_review(USER, CLIENT, Ok(ALLOW.to_vec()));
    let settings = binding_settings(json!({ "mutate": false, "verifyInjection": "off" }));
    let response = run(pod_request("ns1", pod.clone()), settings.clone(), &fake);
    let warnings = response.warnings.clone().unwrap_or_default();
    assert!(
        warnings
            .iter()
            .any(|w| w.contains(&format!("from {how} it cannot be authorized"))),
        "{response:?}"
    );
    let mut strict = settings;
    strict["allowedClientIds"] = json!({ "ns1": [CLIENT] });
    let response = run(pod_request("ns1", pod), strict, &fake);
    assert_rejected(
        &response,
        403,
        "nor checked against setting allowedClientIds",
    );
}

#[test]
fn spec_6_allowlist_applies_to_a_hand_written_workload_identity_token() {
    let pod = json!({ "metadata": { "name": "pod" }, "spec": {
        "serviceAccountName": "sa",
        "containers": [{ "name": "c", "env": [{ "name": "AZURE_CLIENT_ID", "value": "7b2c4a8e-1f3d-4e5a-9b6c-2d8e0f1a3b5c" }] }],
        "volumes": [{ "name": "t", "projected": { "sources": [{ "serviceAccountToken": {
            "path": "token", "audience": "api://AzureADTokenExchange" } }] } }] } });
    let fake = FakeCluster::new();
    let response = run(
        pod_request("ns1", pod),
        settings(json!({ "allowedClientIds": { "ns1": [CLIENT] } })),
        &fake,
    );
    assert_rejected(&response, 403, "is not allowed in namespace");
    assert_eq!(fake.calls(), vec![], "no ServiceAccount lookup is needed");
}

// §4.12: containers added through `pods/ephemeralcontainers` (`kubectl debug`).

/// The UPDATE `kubectl debug` sends: `pod` with an ephemeral container `debugger` carrying
/// `env`, and the pod before it (`before` names its earlier ephemeral containers).
fn debug_update(mut pod: Value, env: Value, before: &[&str]) -> Value {
    let earlier: Vec<Value> = before
        .iter()
        .map(|name| json!({ "name": name, "image": "busybox" }))
        .collect();
    let mut old = pod.clone();
    old["spec"]["ephemeralContainers"] = json!(earlier);
    let mut all = earlier.clone();
    all.push(json!({ "name": "debugger", "image": "busybox", "env": env }));
    pod["spec"]["ephemeralContainers"] = json!(all);
    let mut request = request("", "Pod", "ns1", "UPDATE", pod);
    request["subResource"] = json!("ephemeralcontainers");
    request["oldObject"] = old;
    request
}

fn literal(id: &str) -> Value {
    json!([{ "name": "AZURE_CLIENT_ID", "value": id }])
}

#[rstest::rstest]
#[case::spec_4_12_denied_after_the_uncached_retry(Ok(DENY.to_vec()), false, 2)]
#[case::spec_4_12_allowed(Ok(ALLOW.to_vec()), true, 1)]
fn spec_4_12_a_debug_containers_literal_client_id_is_reviewed(
    #[case] answer: Result<Vec<u8>, String>,
    #[case] accepted: bool,
    #[case] asked: usize,
) {
    let fake = FakeCluster::new().with_review(USER, OTHER, answer);
    let update = debug_update(binding_pod(), literal(OTHER), &[]);
    let response = run(update, binding_settings(json!({})), &fake);
    assert_eq!(response.accepted, accepted, "{response:?}");
    assert_eq!(response.mutated_object, None, "nothing is mutated");
    // Only the reviews: no ServiceAccount lookup.
    let expected = [review_of(OTHER), retry_of(OTHER)];
    assert_eq!(fake.calls(), expected[..asked]);
    if !accepted {
        assert_eq!(response.code, Some(403));
        let message = response.message.unwrap_or_default();
        assert!(
            message.contains("ephemeral container \"debugger\""),
            "{message}"
        );
    }
}

#[test]
fn spec_4_12_only_new_ephemeral_containers_are_judged() {
    let mut pod = binding_pod();
    pod["spec"]["ephemeralContainers"] =
        json!([{ "name": "old-debugger", "image": "busybox", "env": literal(OTHER) }]);
    let mut update = debug_update(pod, json!([]), &[]);
    update["oldObject"]["spec"]["ephemeralContainers"] =
        json!([{ "name": "old-debugger", "image": "busybox", "env": literal(OTHER) }]);
    let fake = FakeCluster::new();
    let response = run(update, binding_settings(json!({})), &fake);
    assert!(response.accepted, "{response:?}");
    assert_eq!(
        fake.calls(),
        vec![],
        "the earlier container was judged when it came"
    );
}

#[rstest::rstest]
#[case::spec_4_12_allowlist_refuses_an_unlisted_id(
    literal(OTHER),
    false,
    "not allowed in namespace"
)]
#[case::spec_4_12_allowlist_admits_a_listed_id(literal(CLIENT), true, "")]
#[case::spec_4_12_value_from_cannot_be_proven(json!([{ "name": "AZURE_CLIENT_ID", "valueFrom": { "secretKeyRef": { "name": "s", "key": "k" } } }]), false, "ephemeral container \"debugger\" takes AZURE_CLIENT_ID from valueFrom")]
fn spec_4_12_allowlist_on_a_labelled_pod(
    #[case] env: Value,
    #[case] accepted: bool,
    #[case] fragment: &str,
) {
    let fake = FakeCluster::new();
    let extra = json!({ "allowedClientIds": { "ns1": [CLIENT] } });
    let response = run(
        debug_update(labelled_pod("pod", "sa"), env, &[]),
        settings(extra),
        &fake,
    );
    assert_eq!(response.accepted, accepted, "{response:?}");
    if !accepted {
        assert_eq!(response.code, Some(403));
        assert!(response.message.unwrap_or_default().contains(fragment));
    }
    assert_eq!(fake.calls(), vec![], "no review without identity binding");
}

#[rstest::rstest]
#[case::spec_4_12_plain_pod_with_a_literal(false, false)]
#[case::spec_4_12_labelled_pod_without_client_id(true, true)]
fn spec_4_12_nothing_to_check_is_a_plain_accept(#[case] labelled: bool, #[case] no_env: bool) {
    let mut pod = labelled_pod("pod", "sa");
    if !labelled {
        pod["metadata"]["labels"] = json!({});
    }
    let env = if no_env { json!([]) } else { literal(OTHER) };
    let fake = FakeCluster::new();
    let response = run(
        debug_update(pod, env, &[]),
        binding_settings(json!({})),
        &fake,
    );
    assert!(
        response.accepted && response.mutated_object.is_none(),
        "{response:?}"
    );
    assert_eq!(response.warnings, None);
    assert_eq!(fake.calls(), vec![]);
}

#[test]
fn spec_4_12_validate_only_judges_debug_containers_too() {
    let fake = FakeCluster::new().with_review(USER, OTHER, Ok(DENY.to_vec()));
    let extra = json!({ "mutate": false });
    let response = run(
        debug_update(binding_pod(), literal(OTHER), &[]),
        binding_settings(extra),
        &fake,
    );
    assert_eq!(response.code, Some(403), "{response:?}");
}

#[test]
fn spec_4_12_any_other_pod_update_is_a_plain_accept() {
    let mut update = debug_update(binding_pod(), literal(OTHER), &[]);
    update["subResource"] = json!("status");
    let fake = FakeCluster::new();
    let response = run(update, binding_settings(json!({})), &fake);
    assert!(response.accepted);
    assert_eq!(fake.calls(), vec![]);
}

// §6, the Key Vault provider's own parameter rules.

fn spc_with(parameters: Value) -> Result<Vec<u8>, String> {
    Ok(
        json!({ "apiVersion": "secrets-store.csi.x-k8s.io/v1", "kind": "SecretProviderClass",
        "metadata": { "name": "kv", "namespace": "ns1" },
        "spec": { "provider": "azure", "parameters": key_vault_parameters(parameters) } })
        .to_string()
        .into_bytes(),
    )
}

#[rstest::rstest]
#[case::two_identity_modes(json!({ "usePodIdentity": "true", "useAzureTokenProxy": "true", "clientID": OTHER }), "only one identity mode can be enabled at a time")]
#[case::pod_identity_not_a_go_bool(json!({ "usePodIdentity": "yes" }), "parameters.usePodIdentity \"yes\"")]
#[case::vm_identity_not_a_go_bool(json!({ "useVMManagedIdentity": "enabled" }), "parameters.useVMManagedIdentity \"enabled\"")]
#[case::token_proxy_without_client_id(json!({ "useAzureTokenProxy": "true" }), "clientID is required for identity binding")]
#[case::reference_12_no_keyvault_name(json!({ "keyvaultName": " " }), "has no parameters.keyvaultName, nor does the pod's volume set it")]
#[case::reference_12_no_tenant(json!({ "tenantID": "" }), "has no parameters.tenantID")]
#[case::reference_12_no_objects(json!({ "objects": "" }), "has no parameters.objects")]
#[case::reference_12_unknown_cloud_name(json!({ "cloudName": "AzureMarsCloud" }), "parameters.cloudName \"AzureMarsCloud\"")]
#[case::reference_12_bad_vault_name(json!({ "keyvaultName": "team_kv" }), "parameters.keyvaultName \"team_kv\"")]
fn spec_6_a_class_the_provider_would_refuse_is_rejected_before_any_review(
    #[case] parameters: Value,
    #[case] fragment: &str,
) {
    let fake = cluster_with_sa("ns1", "sa").with_object(
        "SecretProviderClass",
        "ns1",
        "kv",
        spc_with(parameters),
    );
    let response = run(
        pod_request("ns1", csi_pod(true)),
        settings(json!({})),
        &fake,
    );
    assert_eq!(response.code, Some(400), "{response:?}");
    let message = response.message.unwrap_or_default();
    assert!(
        message.contains("SecretProviderClass ns1/kv") && message.contains(fragment),
        "{message}"
    );
    assert_eq!(reviews(&fake), vec![]);
}

#[rstest::rstest]
#[case::misspelled_key_warns(json!({ "clientId": OTHER, "keyvaultName": "kv1" }), Some("rename parameters.\"clientId\" to clientID"))]
#[case::exact_keys_are_quiet(json!({ "clientID": OTHER, "keyvaultName": "kv1" }), None)]
fn spec_6_a_key_the_provider_ignores_gets_a_warning(
    #[case] parameters: Value,
    #[case] warned: Option<&str>,
) {
    let fake = cluster_with_sa("ns1", "sa").with_object(
        "SecretProviderClass",
        "ns1",
        "kv",
        spc_with(parameters),
    );
    let response = run(
        pod_request("ns1", csi_pod(false)),
        settings(json!({})),
        &fake,
    );
    assert!(response.accepted, "{response:?}");
    let warnings = response.warnings.unwrap_or_default();
    match warned {
        Some(fragment) => assert!(
            warnings.iter().any(|w| w.contains(fragment)),
            "{warnings:?}"
        ),
        None => assert_eq!(warnings, Vec::<String>::new()),
    }
}

#[rstest::rstest]
#[case::user_assigned_outside_the_allowlist(json!({ "useVMManagedIdentity": "true", "userAssignedIdentityID": OTHER }), false, None)]
#[case::user_assigned_on_the_allowlist(json!({ "useVMManagedIdentity": "true", "userAssignedIdentityID": CLIENT }), true, None)]
#[case::system_assigned_cannot_be_restricted(json!({ "useVMManagedIdentity": "true" }), true, Some("system-assigned identity"))]
fn spec_6_vm_managed_identity_under_an_allowlist(
    #[case] parameters: Value,
    #[case] accepted: bool,
    #[case] warned: Option<&str>,
) {
    let fake = cluster_with_sa("ns1", "sa").with_object(
        "SecretProviderClass",
        "ns1",
        "kv",
        spc_with(parameters),
    );
    let extra = json!({ "allowedClientIds": { "ns1": [CLIENT] } });
    let response = run(pod_request("ns1", csi_pod(false)), settings(extra), &fake);
    assert_eq!(response.accepted, accepted, "{response:?}");
    if let Some(fragment) = warned {
        assert!(
            response
                .warnings
                .unwrap_or_default()
                .iter()
                .any(|w| w.contains(fragment))
        );
    }
}

// §6, which env entries count (found by trying inputs the API server accepts).

#[test]
fn spec_6_every_client_id_entry_counts_and_a_duplicate_warns() {
    let mut pod = labelled_pod("pod", "sa");
    pod["spec"]["containers"][0]["env"] = json!([
        { "name": "AZURE_CLIENT_ID", "value": CLIENT },
        { "name": "AZURE_CLIENT_ID", "valueFrom": { "secretKeyRef": { "name": "s", "key": "k" } } },
    ]);
    let extra = json!({ "allowedClientIds": { "ns1": [CLIENT] } });
    let response = run(
        pod_request("ns1", pod.clone()),
        settings(extra),
        &cluster_with_sa("ns1", "sa"),
    );
    assert_eq!(
        response.code,
        Some(403),
        "the valueFrom entry is what the container sees: {response:?}"
    );
    assert!(
        response
            .message
            .unwrap_or_default()
            .contains("from valueFrom")
    );
    pod["spec"]["containers"][0]["env"][1] = json!({ "name": "AZURE_CLIENT_ID", "value": OTHER });
    let response = run(
        pod_request("ns1", pod),
        settings(json!({})),
        &cluster_with_sa("ns1", "sa"),
    );
    assert!(response.accepted, "{response:?}");
    let warnings = response.warnings.unwrap_or_default();
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("keep one AZURE_CLIENT_ID in container \"container\"")),
        "{warnings:?}"
    );
}

#[test]
fn spec_6_reviews_follow_the_stated_order() {
    // The ServiceAccount's, then literal values by container (init first), each once.
    let (first, second) = (
        "ffffffff-0000-0000-0000-000000000000",
        "00000000-0000-0000-0000-00000000000a",
    );
    let mut pod = binding_pod();
    pod["spec"]["initContainers"][0]["env"] = literal(first);
    pod["spec"]["containers"][0]["env"] = json!([{ "name": "AZURE_CLIENT_ID", "value": second }, { "name": "AZURE_CLIENT_ID", "value": first }]);
    // A container without an entry of its own takes the ServiceAccount's (reference §6).
    pod["spec"]["containers"] =
        json!([pod["spec"]["containers"][0].clone(), { "name": "sidecar", "image": "image" }]);
    let fake = cluster_with_sa("ns1", "sa")
        .with_review(USER, CLIENT, Ok(ALLOW.to_vec()))
        .with_review(USER, first, Ok(ALLOW.to_vec()))
        .with_review(USER, second, Ok(ALLOW.to_vec()));
    let response = run(pod_request("ns1", pod), binding_settings(json!({})), &fake);
    assert!(response.accepted, "{response:?}");
    assert_eq!(
        reviews(&fake),
        vec![review_of(CLIENT), review_of(first), review_of(second)]
    );
}

#[rstest::rstest]
#[case::spec_6_plain_pod_value_from_under_an_allowlist(json!({ "allowedClientIds": { "ns1": [CLIENT] } }), false)]
#[case::spec_6_plain_pod_value_from_without_an_allowlist(json!({}), true)]
fn spec_6_value_from_on_a_plain_workload_identity_pod(
    #[case] extra: Value,
    #[case] accepted: bool,
) {
    let mut pod = labelled_pod("pod", "sa");
    pod["spec"]["containers"][0]["env"] = json!([{ "name": "AZURE_CLIENT_ID", "valueFrom": { "secretKeyRef": { "name": "s", "key": "k" } } }]);
    let response = run(
        pod_request("ns1", pod),
        settings(extra),
        &cluster_with_sa("ns1", "sa"),
    );
    assert_eq!(response.accepted, accepted, "{response:?}");
    if !accepted {
        assert_eq!(response.code, Some(403));
    }
}

#[rstest::rstest]
#[case::spec_6_windows_pod_lower_case_name_is_checked(true, false)]
#[case::spec_6_linux_pod_lower_case_name_is_another_variable(false, true)]
fn spec_6_windows_env_names_are_case_insensitive(#[case] windows: bool, #[case] accepted: bool) {
    let mut pod = labelled_pod("pod", "sa");
    if windows {
        pod["spec"]["os"] = json!({ "name": "windows" });
    }
    pod["spec"]["containers"][0]["env"] = json!([{ "name": "azure_client_id", "value": OTHER }]);
    let extra = json!({ "allowedClientIds": { "ns1": [CLIENT] } });
    let response = run(
        pod_request("ns1", pod),
        settings(extra),
        &cluster_with_sa("ns1", "sa"),
    );
    assert_eq!(response.accepted, accepted, "{response:?}");
}

/// reference §12: at a pod's admission the values a class may leave to the pod must be there;
/// the class's own write only warned about them.
#[test]
fn reference_12_a_pod_whose_class_lacks_keyvault_name_is_rejected_naming_class_and_parameter() {
    let class = json!({ "apiVersion": "secrets-store.csi.x-k8s.io/v1", "kind": "SecretProviderClass",
        "metadata": { "name": "kv", "namespace": "ns1" },
        "spec": { "provider": "azure", "parameters": { "clientID": CLIENT, "tenantID": TENANT,
            "objects": KEY_VAULT_OBJECTS } } });
    let fake = cluster_with_sa("ns1", "sa").with_object(
        "SecretProviderClass",
        "ns1",
        "kv",
        Ok(class.to_string().into_bytes()),
    );
    let extra = json!({ "allowedClientIds": { "ns1": [CLIENT] } });
    let response = run(pod_request("ns1", csi_pod(false)), settings(extra), &fake);
    assert_rejected(
        &response,
        400,
        "SecretProviderClass ns1/kv has no parameters.keyvaultName",
    );
    assert_rejected(&response, 400, "(keyvaultName is not provided)");
    // The class's own warnings (reference §12) are not given to the pod.
    assert_eq!(response.warnings, None);
}
