//! SPEC §7 through the real wasm: every workload kind's template judged with the pod rules.

mod common;

use common::*;

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
