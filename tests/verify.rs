//! reference §10: validate-only mode (`mutate: false`) checks that the Workload Identity webhook,
//! which fails open, really mutated the pod (`verifyInjection`).

use azure_workload_identity_policy::testing::*;
use serde_json::{Value, json};

/// A pod as the upstream webhook leaves it (classic layout) — what validate-only mode sees.
fn webhook_mutated_pod(settings_value: Value) -> Value {
    let response = run(
        pod_request("ns1", labelled_pod("pod", "sa")),
        settings(settings_value),
        &cluster_with_sa("ns1", "sa"),
    );
    mutated(&response).clone()
}

fn validate_only(pod: Value, verify: &str) -> kubewarden_policy_sdk::response::ValidationResponse {
    run(
        pod_request("ns1", pod),
        json!({ "mutate": false, "verifyInjection": verify }),
        &cluster_with_sa("ns1", "sa"),
    )
}

#[test]
fn spec_3_validate_only_mode_checks_but_does_not_mutate() {
    let fake = cluster_with_sa("ns1", "sa");
    let response = run(
        pod_request("ns1", labelled_pod("pod", "sa")),
        json!({ "mutate": false, "verifyInjection": "off" }),
        &fake,
    );
    assert!(response.accepted);
    assert_eq!(response.mutated_object, None);
    let (code, _) = {
        let mut pod = labelled_pod("pod", "sa");
        pod["metadata"]["annotations"] =
            json!({ "azure.workload.identity/service-account-token-expiration": "1" });
        let r = run(pod_request("ns1", pod), json!({ "mutate": false }), &fake);
        assert!(!r.accepted);
        (r.code, r.message)
    };
    assert_eq!(code, Some(400));
}

#[test]
fn spec_10_unmutated_pod_rejected_by_default() {
    let response = validate_only(labelled_pod("pod", "sa"), "reject");
    assert_eq!(response.code, Some(400));
    let message = response.message.unwrap_or_default();
    for needle in [
        "Pod ns1/pod",
        "did not mutate",
        "failurePolicy",
        "exactly \"true\"",
    ] {
        assert!(message.contains(needle), "{message} lacks {needle}");
    }
}

#[rstest::rstest]
#[case::warn("warn", true)]
#[case::off("off", false)]
fn spec_10_unmutated_pod_warn_and_off(#[case] verify: &str, #[case] warned: bool) {
    let response = validate_only(labelled_pod("pod", "sa"), verify);
    assert!(response.accepted);
    let warnings = response.warnings.unwrap_or_default();
    assert_eq!(
        warnings.iter().any(|w| w.contains("it was not mutated")),
        warned,
        "{warnings:?}"
    );
}

#[rstest::rstest]
#[case::classic(json!({}))]
#[case::v16(json!({ "tokenVolumeLayout": "v1.6" }))]
fn spec_10_mutated_pod_passes_quietly(#[case] layout: Value) {
    let response = validate_only(webhook_mutated_pod(layout), "reject");
    assert!(response.accepted, "{response:?}");
    assert_eq!(response.warnings, None);
}

#[test]
fn spec_10_identity_binding_token_audience_counts_as_mutated() {
    let mut pod = labelled_pod("pod", "sa");
    pod["metadata"]["annotations"] =
        json!({ "azure.workload.identity/use-identity-binding": "true" });
    pod["spec"]["volumes"] = json!([{ "name": "managed-by-aks", "projected": { "sources": [
        { "serviceAccountToken": { "path": "t", "audience": "api://AKSIdentityBinding" } }] } }]);
    let fake = cluster_with_sa("ns1", "sa").with_review(
        "system:serviceaccount:ns1:sa",
        CLIENT,
        Ok(br#"{"allowed":true}"#.to_vec()),
    );
    let response = run(pod_request("ns1", pod), json!({ "mutate": false }), &fake);
    assert!(response.accepted, "{response:?}");
}

#[test]
fn spec_10_sidecar_added_later_is_named_in_a_warning() {
    let mut pod = webhook_mutated_pod(json!({}));
    if let Some(containers) = pod["spec"]["containers"].as_array_mut() {
        containers.push(json!({ "name": "istio-proxy", "image": "istio/proxyv2" }));
    }
    let response = validate_only(pod, "reject");
    assert!(response.accepted, "{response:?}");
    let warnings = response.warnings.unwrap_or_default();
    assert!(
        warnings.iter().any(|w| w.contains("\"istio-proxy\"")
            && w.contains("skip-containers")
            && w.contains("added after the webhook ran")),
        "{warnings:?}"
    );
}

#[test]
fn spec_10_templates_are_never_verified() {
    let template = json!({ "apiVersion": "apps/v1", "kind": "Deployment", "metadata": { "name": "web" },
        "spec": { "template": { "metadata": { "labels": { "azure.workload.identity/use": "true" } },
            "spec": { "serviceAccountName": "sa", "containers": [{ "name": "c", "image": "i" }] } } } });
    let response = run(
        request("apps", "Deployment", "ns1", "CREATE", template),
        json!({ "mutate": false }),
        &cluster_with_sa("ns1", "sa"),
    );
    assert!(response.accepted, "{response:?}");
}
