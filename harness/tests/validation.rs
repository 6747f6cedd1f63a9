//! SPEC §5, §7, §8, §4a and §4.11 through the real wasm.

mod common;

use common::*;

#[test]
fn spec_5_service_account_create() {
    let ok = eval_clean(
        "serviceaccount/create-valid.json",
        "settings/default.json",
        Some("sessions/empty.yml"),
    );
    assert!(ok.allowed());
    assert_eq!(ok.patch(), None);
    for (request, needle) in [
        (
            "serviceaccount/create-bad-client-id.json",
            "\"my-app-registration\"; expected a GUID",
        ),
        (
            "serviceaccount/create-bad-tenant.json",
            "\"contoso\"; expected a GUID or a DNS domain",
        ),
        (
            "serviceaccount/create-bad-expiration.json",
            "\"90000\"; expected an integer number of seconds from 3600 to 86400",
        ),
    ] {
        let out = eval_clean(request, "settings/default.json", Some("sessions/empty.yml"));
        assert_eq!(out.status_code(), Some(400), "{request}");
        assert!(
            out.message().starts_with(
                "ServiceAccount team-a/workload-sa: annotation azure.workload.identity/"
            ),
            "{}",
            out.message()
        );
        assert!(out.message().contains(needle), "{}", out.message());
    }
}

#[test]
fn spec_5_update_judges_only_changed_values() {
    let unchanged = eval_clean(
        "serviceaccount/update-unchanged-bad.json",
        "settings/default.json",
        None,
    );
    assert!(unchanged.allowed(), "{}", unchanged.stdout);
    let changed = eval_clean(
        "serviceaccount/update-changed-bad.json",
        "settings/default.json",
        None,
    );
    assert_eq!(changed.status_code(), Some(400));
    assert!(
        changed.message().contains("\"my-other-app\""),
        "{}",
        changed.message()
    );
}

#[test]
fn spec_4a_service_account_typo_and_misplaced_label_warn() {
    let out = eval_clean(
        "serviceaccount/create-typo.json",
        "settings/default.json",
        None,
    );
    assert!(out.allowed());
    let w = out.warnings();
    assert!(
        w.iter().any(|w| w.contains(
            "\"azure.workload.identity/clientId\": did you mean azure.workload.identity/client-id?"
        )),
        "{w:?}"
    );
    assert!(
        w.iter()
            .any(|w| w.contains("move azure.workload.identity/use to the pod")),
        "{w:?}"
    );
}

#[test]
fn spec_7_every_workload_kind() {
    for kind in [
        "deployment",
        "statefulset",
        "daemonset",
        "replicaset",
        "replicationcontroller",
        "job",
        "cronjob",
    ] {
        let good = eval_clean(
            &format!("workload/{kind}.json"),
            "settings/default.json",
            Some("sessions/workload-sa.yml"),
        );
        assert!(good.allowed(), "{kind}: {}", good.stdout);
        assert_eq!(good.patch(), None, "{kind}: templates are never mutated");
        let bad = eval_clean(
            &format!("workload/{kind}-bad-expiration.json"),
            "settings/default.json",
            Some("sessions/workload-sa.yml"),
        );
        assert_eq!(bad.status_code(), Some(400), "{kind}");
        let message = bad.message();
        assert!(message.contains(" team-a/web: pod template: annotation azure.workload.identity/service-account-token-expiration"), "{message}");
        assert!(message.to_ascii_lowercase().starts_with(kind), "{message}");
    }
}

#[test]
fn spec_7_cronjob_nested_template_proxy_rules() {
    let out = eval_clean(
        "workload/cronjob-proxy-host-network.json",
        "settings/default.json",
        Some("sessions/workload-sa.yml"),
    );
    assert_eq!(out.status_code(), Some(400));
    assert!(out.message().starts_with("CronJob team-a/web: pod template: annotation azure.workload.identity/inject-proxy-sidecar"), "{}", out.message());
}

#[test]
fn spec_7_missing_service_account_is_a_warning() {
    let out = eval_clean(
        "workload/deployment-missing-sa.json",
        "settings/default.json",
        Some("sessions/ghost-sa.yml"),
    );
    assert!(out.allowed(), "{}", out.stdout);
    assert!(
        out.warnings()
            .iter()
            .any(|w| w.contains("create ServiceAccount ghost") && w.contains("rejected")),
        "{:?}",
        out.warnings()
    );
}

#[test]
fn spec_7_template_authorization() {
    let out = eval_clean(
        "workload/deployment-binding.json",
        "settings/identity-binding.json",
        Some("sessions/binding-denied.yml"),
    );
    assert_eq!(out.status_code(), Some(403));
    assert!(
        out.message().starts_with(
            "Deployment team-a/web: pod template: ServiceAccount team-a/workload-sa may not use"
        ),
        "{}",
        out.message()
    );
}

#[test]
fn spec_8_legacy_pod_identity_modes() {
    let warn = eval_clean(
        "pod/legacy-aadpodidbinding.json",
        "settings/default.json",
        Some("sessions/empty.yml"),
    );
    assert!(warn.allowed());
    assert!(
        warn.warnings()
            .iter()
            .any(|w| w.contains("move to Workload Identity (aadpodidbinding")
                && w.contains("azure.workload.identity/use: \"true\"")
                && w.contains("inject-proxy-sidecar")),
        "{:?}",
        warn.warnings()
    );
    let allow = eval_clean(
        "pod/legacy-aadpodidbinding.json",
        "settings/legacy-allow.json",
        Some("sessions/empty.yml"),
    );
    assert!(allow.allowed());
    assert!(allow.warnings().is_empty());
    let reject = eval_clean(
        "pod/legacy-aadpodidbinding.json",
        "settings/legacy-reject.json",
        Some("sessions/empty.yml"),
    );
    assert_eq!(reject.status_code(), Some(400));
}

#[test]
fn spec_4_11_annotations_without_label_and_typos_warn() {
    let out = eval_clean(
        "pod/annotations-without-label.json",
        "settings/default.json",
        Some("sessions/empty.yml"),
    );
    assert!(out.allowed());
    assert_eq!(out.patch(), None);
    let w = out.warnings();
    assert!(
        w.iter()
            .any(|w| w.contains("add label azure.workload.identity/use: \"true\" to the pod")),
        "{w:?}"
    );
    assert!(
        w.iter()
            .any(|w| w.contains("did you mean azure.workload.identity/skip-containers?")),
        "{w:?}"
    );
    assert!(w.iter().all(|w| w.chars().count() <= 256), "{w:?}");
}

#[test]
fn spec_4_11_labelled_pod_without_client_id_warns() {
    let out = eval_clean(
        "pod/labelled-default-sa.json",
        "settings/default.json",
        Some("sessions/default-sa-no-client-id.yml"),
    );
    assert!(out.allowed());
    assert!(
        out.warnings()
            .iter()
            .any(|w| w.contains("azure.workload.identity/client-id")
                && w.contains("without a client ID")),
        "{:?}",
        out.warnings()
    );
}
