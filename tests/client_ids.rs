//! reference §6: which client IDs a pod uses — the ServiceAccount's only when a container
//! takes it, `valueFrom` (a `fieldRef` too) and `envFrom` sources, empty literals, Windows env
//! names — and where `allowedClientIds` reaches: every namespace once it has any key.

use azure_workload_identity_policy::cluster::fake::{Call, FakeCluster};
use azure_workload_identity_policy::testing::*;
use kubewarden_policy_sdk::response::ValidationResponse;
use serde_json::{Value, json};

const BINDING: &str = "azure.workload.identity/use-identity-binding";
const USER: &str = "system:serviceaccount:ns1:sa";
const OTHER: &str = "99999999-8888-7777-6666-555555555555";
const ALLOW: &[u8] = br#"{"allowed":true}"#;

fn secret_ref() -> Value {
    json!({ "name": "AZURE_CLIENT_ID", "valueFrom": { "secretKeyRef": { "name": "s", "key": "k" } } })
}

fn field_ref() -> Value {
    json!({ "name": "AZURE_CLIENT_ID", "valueFrom": { "fieldRef": {
        "fieldPath": "metadata.annotations['client']" } } })
}

/// `pod` with `env` on its one regular container and no init container.
fn one_container(mut pod: Value, env: Value) -> Value {
    pod["spec"]["initContainers"] = json!([]);
    pod["spec"]["containers"] = json!([{ "name": "app", "image": "image", "env": env }]);
    pod
}

fn allowlist_for_team_a() -> Value {
    settings(json!({ "allowedClientIds": { "team-a": [CLIENT] } }))
}

fn reviews(fake: &FakeCluster) -> Vec<String> {
    fake.calls()
        .into_iter()
        .filter_map(|c| match c {
            Call::CanI { resource, .. } => Some(resource),
            _ => None,
        })
        .collect()
}

fn client_ids(response: &ValidationResponse) -> Option<String> {
    response
        .audit_annotations
        .as_ref()
        .and_then(|a| a.get("client-ids").cloned())
}

// The allowlist's reach.

#[rstest::rstest]
#[case::reference_6_labelled_pod_secret_ref_in_an_unlisted_namespace(
    labelled_pod("pod", "sa"),
    true
)]
#[case::reference_6_hand_written_token_secret_ref_in_an_unlisted_namespace(
    hand_written_token(),
    false
)]
fn reference_6_the_allowlist_governs_every_namespace(#[case] pod: Value, #[case] labelled: bool) {
    let pod = one_container(pod, json!([secret_ref()]));
    let fake = cluster_with_sa("team-b", "sa");
    let response = run(
        pod_request("team-b", pod.clone()),
        allowlist_for_team_a(),
        &fake,
    );
    assert_rejected(&response, 403, "takes AZURE_CLIENT_ID from valueFrom");
    // The nearest input that passes: no allowlist at all.
    let response = run(pod_request("team-b", pod), settings(json!({})), &fake);
    assert!(response.accepted, "{response:?}");
    assert_eq!(response.mutated_object.is_some(), labelled);
}

fn hand_written_token() -> Value {
    json!({ "metadata": { "name": "pod" }, "spec": {
        "serviceAccountName": "sa",
        "containers": [],
        "volumes": [{ "name": "t", "projected": { "sources": [{ "serviceAccountToken": {
            "path": "token", "audience": "api://AzureADTokenExchange" } }] } }] } })
}

#[test]
fn reference_6_a_debug_container_in_an_unlisted_namespace_is_governed_too() {
    let mut pod = labelled_pod("pod", "sa");
    let old = pod.clone();
    pod["spec"]["ephemeralContainers"] =
        json!([{ "name": "debugger", "image": "busybox", "env": [secret_ref()] }]);
    let mut update = request("", "Pod", "team-b", "UPDATE", pod);
    update["subResource"] = json!("ephemeralcontainers");
    update["oldObject"] = old;
    let response = run(update, allowlist_for_team_a(), &FakeCluster::new());
    assert_rejected(&response, 403, "ephemeral container \"debugger\"");
}

// `valueFrom.fieldRef`, empty literals.

#[rstest::rstest]
#[case::reference_6_field_ref_under_an_allowlist(json!({ "allowedClientIds": { "ns1": [CLIENT] } }), false)]
#[case::reference_6_field_ref_without_an_allowlist(json!({}), true)]
fn reference_6_a_field_ref_keeps_the_value_from_rule(#[case] extra: Value, #[case] accepted: bool) {
    let mut pod = labelled_pod("pod", "sa");
    pod["metadata"]["annotations"] = json!({ "client": OTHER });
    pod["spec"]["containers"][0]["env"] = json!([field_ref()]);
    let response = run(
        pod_request("ns1", pod),
        settings(extra),
        &cluster_with_sa("ns1", "sa"),
    );
    assert_eq!(response.accepted, accepted, "{response:?}");
    if accepted {
        // The init container takes the ServiceAccount's; the annotation's value is not named.
        assert_eq!(client_ids(&response).as_deref(), Some(CLIENT));
    } else {
        assert_rejected(&response, 403, "takes AZURE_CLIENT_ID from valueFrom");
    }
}

#[test]
fn reference_6_an_empty_literal_is_no_client_id_and_blocks_injection() {
    let pod = one_container(
        labelled_pod("pod", "sa"),
        json!([{ "name": "AZURE_CLIENT_ID", "value": "" }]),
    );
    let response = run(
        pod_request("ns1", pod),
        settings(json!({ "allowedClientIds": { "ns1": [OTHER] } })),
        &cluster_with_sa("ns1", "sa"),
    );
    // Neither the empty value nor the ServiceAccount's (no container takes it) is judged.
    assert!(response.accepted, "{response:?}");
    assert_eq!(client_ids(&response), None);
    let env = env_of(mutated(&response), "containers", 0);
    assert!(
        !env.iter()
            .any(|(n, v)| n == "AZURE_CLIENT_ID" && !v.is_empty()),
        "{env:?}"
    );
}

// The ServiceAccount's client ID counts only when a container takes it.

fn binding_settings() -> Value {
    settings(json!({ "identityBinding": { "tokenProxy": "https://proxy.example.com" } }))
}

fn binding_pod(env: Value) -> Value {
    let mut pod = one_container(labelled_pod("pod", "sa"), env);
    pod["metadata"]["annotations"] = json!({ BINDING: "true" });
    pod
}

#[test]
fn reference_6_every_container_sets_its_own_no_service_account_review() {
    let fake = cluster_with_sa("ns1", "sa").with_review(USER, OTHER, Ok(ALLOW.to_vec()));
    let pod = binding_pod(json!([{ "name": "AZURE_CLIENT_ID", "value": OTHER }]));
    let response = run(pod_request("ns1", pod), binding_settings(), &fake);
    assert!(response.accepted, "{response:?}");
    assert_eq!(reviews(&fake), vec![OTHER.to_owned()]);
    assert_eq!(client_ids(&response).as_deref(), Some(OTHER));
}

#[test]
fn reference_6_a_container_without_its_own_takes_the_service_account_s() {
    let fake = cluster_with_sa("ns1", "sa")
        .with_review(USER, CLIENT, Ok(ALLOW.to_vec()))
        .with_review(USER, OTHER, Ok(ALLOW.to_vec()));
    let mut pod = binding_pod(json!([{ "name": "AZURE_CLIENT_ID", "value": OTHER }]));
    pod["spec"]["initContainers"] = json!([{ "name": "init", "image": "image" }]);
    let response = run(pod_request("ns1", pod), binding_settings(), &fake);
    assert!(response.accepted, "{response:?}");
    assert_eq!(reviews(&fake), vec![CLIENT.to_owned(), OTHER.to_owned()]);
}

#[rstest::rstest]
#[case::reference_6_value_from_warns_instead(json!([secret_ref()]), true)]
#[case::reference_6_nothing_at_all_is_refused(json!([{ "name": "AZURE_CLIENT_ID", "value": "" }]), false)]
fn reference_6_no_client_id_at_all_means_no_source(#[case] env: Value, #[case] accepted: bool) {
    let fake = cluster_with_sa("ns1", "sa");
    let response = run(
        pod_request("ns1", binding_pod(env)),
        binding_settings(),
        &fake,
    );
    assert_eq!(response.accepted, accepted, "{response:?}");
    if !accepted {
        assert_rejected(&response, 400, "has no client ID");
    }
}

// Windows.

fn windows_affinity() -> Value {
    json!({ "nodeAffinity": { "requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{ "matchExpressions": [{
            "key": "kubernetes.io/os", "operator": "In", "values": ["windows"] }] }] } } })
}

#[rstest::rstest]
#[case::reference_6_required_affinity_for_windows(Some(windows_affinity()), None, false)]
#[case::reference_6_os_linux_never_runs_on_windows(Some(windows_affinity()), Some("linux"), true)]
#[case::reference_6_no_placement_is_linux(None, None, true)]
fn reference_6_windows_by_node_affinity(
    #[case] affinity: Option<Value>,
    #[case] os: Option<&str>,
    #[case] accepted: bool,
) {
    let mut pod = labelled_pod("pod", "sa");
    if let Some(affinity) = affinity {
        pod["spec"]["affinity"] = affinity;
    }
    if let Some(os) = os {
        pod["spec"]["os"] = json!({ "name": os });
    }
    pod["spec"]["containers"][0]["env"] = json!([{ "name": "azure_client_id", "value": OTHER }]);
    let response = run(
        pod_request("ns1", pod),
        settings(json!({ "allowedClientIds": { "ns1": [CLIENT] } })),
        &cluster_with_sa("ns1", "sa"),
    );
    assert_eq!(response.accepted, accepted, "{response:?}");
}

#[rstest::rstest]
#[case::reference_6_windows_env_from_beside_a_literal(json!({ "name": "windows" }), "", false)]
#[case::reference_6_linux_env_from_beside_a_literal(json!({ "name": "linux" }), "", true)]
#[case::reference_6_windows_env_from_with_another_prefix(json!({ "name": "windows" }), "APP_", true)]
fn reference_6_env_from_on_windows(
    #[case] os: Value,
    #[case] prefix: &str,
    #[case] accepted: bool,
) {
    let mut pod = one_container(
        labelled_pod("pod", "sa"),
        json!([{ "name": "AZURE_CLIENT_ID", "value": CLIENT }]),
    );
    pod["spec"]["os"] = os;
    pod["spec"]["containers"][0]["envFrom"] =
        json!([{ "prefix": prefix, "secretRef": { "name": "s" } }]);
    let response = run(
        pod_request("ns1", pod),
        settings(json!({ "allowedClientIds": { "ns1": [CLIENT] } })),
        &cluster_with_sa("ns1", "sa"),
    );
    assert_eq!(response.accepted, accepted, "{response:?}");
    if !accepted {
        assert_rejected(&response, 403, "takes AZURE_CLIENT_ID from envFrom");
    }
}
