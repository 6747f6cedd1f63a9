//! reference §7: every workload kind's template is judged with the pod rules, never mutated.

use azure_workload_identity_policy::cluster::fake::FakeCluster;
use azure_workload_identity_policy::testing::*;
use serde_json::{Value, json};

fn template(annotations: Value) -> Value {
    json!({ "metadata": { "labels": { "app": "web", "azure.workload.identity/use": "true" }, "annotations": annotations },
        "spec": { "serviceAccountName": "sa", "containers": [{ "name": "app", "image": "img" }] } })
}

fn workload(kind: &str, template: Value) -> (String, Value) {
    let group = match kind {
        "Job" | "CronJob" => "batch",
        "ReplicationController" => "",
        _ => "apps",
    };
    let spec = if kind == "CronJob" {
        json!({ "schedule": "* * * * *", "jobTemplate": { "spec": { "template": template } } })
    } else {
        json!({ "selector": { "matchLabels": { "app": "web" } }, "template": template })
    };
    (
        group.to_owned(),
        json!({ "apiVersion": "v1", "kind": kind, "metadata": { "name": "web", "namespace": "ns1" }, "spec": spec }),
    )
}

const KINDS: &[&str] = &[
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "ReplicationController",
    "Job",
    "CronJob",
];

#[test]
fn spec_7_bad_template_is_rejected_with_kind_prefix_for_every_kind() {
    for kind in KINDS {
        let (group, object) = workload(
            kind,
            template(json!({ "azure.workload.identity/service-account-token-expiration": "60" })),
        );
        let fake = cluster_with_sa("ns1", "sa");
        let response = run(
            request(&group, kind, "ns1", "CREATE", object),
            settings(json!({})),
            &fake,
        );
        assert_eq!(response.code, Some(400), "{kind}: {response:?}");
        let message = response.message.unwrap_or_default();
        assert!(
            message.starts_with(&format!("{kind} ns1/web: pod template: annotation")),
            "{kind}: {message}"
        );
    }
}

#[test]
fn spec_7_good_template_is_accepted_unmutated() {
    for kind in KINDS {
        let (group, object) = workload(kind, template(json!({})));
        let fake = cluster_with_sa("ns1", "sa");
        let response = run(
            request(&group, kind, "ns1", "UPDATE", object),
            settings(json!({})),
            &fake,
        );
        assert!(response.accepted, "{kind}: {response:?}");
        assert_eq!(response.mutated_object, None, "{kind}");
        assert_eq!(response.warnings, None, "{kind}");
    }
}

#[test]
fn spec_7_missing_service_account_is_a_warning() {
    let (group, object) = workload("Deployment", template(json!({})));
    let response = run(
        request(&group, "Deployment", "ns1", "CREATE", object),
        settings(json!({})),
        &FakeCluster::new(),
    );
    assert!(response.accepted, "{response:?}");
    let warnings = response.warnings.unwrap_or_default();
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("create ServiceAccount sa: until it exists")),
        "{warnings:?}"
    );
}

#[test]
fn spec_7_proxy_rules_apply_to_templates() {
    let mut t = template(json!({ "azure.workload.identity/inject-proxy-sidecar": "true" }));
    t["spec"]["hostNetwork"] = json!(true);
    let (group, object) = workload("DaemonSet", t);
    let response = run(
        request(&group, "DaemonSet", "ns1", "CREATE", object),
        settings(json!({})),
        &cluster_with_sa("ns1", "sa"),
    );
    assert_eq!(response.code, Some(400));
    assert!(response.message.unwrap_or_default().contains("hostNetwork"));
}

#[test]
fn spec_7_authorization_runs_on_templates() {
    let t = template(json!({ "azure.workload.identity/use-identity-binding": "true" }));
    let (group, object) = workload("Deployment", t);
    let fake = cluster_with_sa("ns1", "sa").with_review(
        "system:serviceaccount:ns1:sa",
        CLIENT,
        Ok(br#"{"allowed":false}"#.to_vec()),
    );
    let response = run(
        request(&group, "Deployment", "ns1", "CREATE", object),
        settings(json!({ "identityBinding": { "tokenProxy": "https://p.example.com" } })),
        &fake,
    );
    assert_eq!(response.code, Some(403), "{response:?}");
    assert!(
        response
            .message
            .unwrap_or_default()
            .starts_with("Deployment ns1/web: pod template: ServiceAccount ns1/sa may not use")
    );
}

#[test]
fn spec_4a_template_typos_warn() {
    let mut t = template(json!({ "azure.workload.identity/skip-container": "app" }));
    t["metadata"]["labels"] = json!({});
    let (group, object) = workload("Job", t);
    let response = run(
        request(&group, "Job", "ns1", "CREATE", object),
        settings(json!({})),
        &FakeCluster::new(),
    );
    let warnings = response.warnings.unwrap_or_default();
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("did you mean azure.workload.identity/skip-containers?")),
        "{warnings:?}"
    );
    assert!(
        warnings.iter().all(|w| w.starts_with("Job web template:")),
        "{warnings:?}"
    );
}

#[rstest::rstest]
#[case::reference_4_11_job("Job", true)]
#[case::reference_4_11_cron_job("CronJob", true)]
#[case::reference_4_11_deployment("Deployment", false)]
fn reference_4_11_job_templates_warn_of_a_regular_proxy(#[case] kind: &str, #[case] warned: bool) {
    let template = template(json!({ "azure.workload.identity/inject-proxy-sidecar": "true" }));
    let (group, object) = workload(kind, template);
    let response = run(
        request(&group, kind, "ns1", "CREATE", object),
        settings(json!({ "proxy": { "nativeSidecar": false } })),
        &cluster_with_sa("ns1", "sa"),
    );
    assert!(response.accepted, "{response:?}");
    let warnings = response.warnings.unwrap_or_default();
    let found = warnings
        .iter()
        .any(|w| w.contains("set proxy.nativeSidecar: true"));
    assert_eq!(found, warned, "{warnings:?}");
}
