//! SPEC §10 through the real wasm: validate-only mode catches pods the (fail-open) Workload
//! Identity webhook never mutated.

mod common;

use common::*;

#[test]
fn spec_10_unmutated_pod_rejected_by_default() {
    let out = eval_clean(
        "pod/labelled.json",
        "settings/validate-only.json",
        "sessions/workload-sa.yml",
    );
    assert!(!out.allowed());
    assert_eq!(out.status_code(), Some(400));
    for needle in [
        "Pod team-a/web-7d9f8b7c5d-x2x4z",
        "did not mutate",
        "webhook runs",
        "failurePolicy",
        "exactly \"true\"",
    ] {
        assert!(
            out.message().contains(needle),
            "{} lacks {needle}",
            out.message()
        );
    }
}

#[test]
fn spec_10_warn_and_off_modes() {
    let warn = eval_clean(
        "pod/labelled.json",
        "settings/validate-only-warn.json",
        "sessions/workload-sa.yml",
    );
    assert!(warn.allowed());
    assert!(
        warn.warnings()
            .iter()
            .any(|w| w.contains("was not mutated")),
        "{:?}",
        warn.warnings()
    );
    let off = eval_clean(
        "pod/labelled.json",
        "settings/validate-only-off.json",
        "sessions/workload-sa.yml",
    );
    assert!(off.allowed());
    assert!(
        !off.warnings().iter().any(|w| w.contains("not mutate")),
        "{:?}",
        off.warnings()
    );
}

#[test]
fn spec_10_mutated_pods_pass_quietly_in_both_layouts() {
    for request in ["pod/mutated-classic.json", "pod/mutated-v16.json"] {
        let out = eval_clean(
            request,
            "settings/validate-only.json",
            "sessions/workload-sa.yml",
        );
        assert!(out.allowed(), "{request}: {}", out.stdout);
        assert_eq!(out.patch(), None, "{request}");
        assert!(out.warnings().is_empty(), "{request}: {:?}", out.warnings());
    }
}

#[test]
fn spec_10_identity_binding_audience_counts_as_mutated() {
    // The identity-binding pod carries only a token for api://AKSIdentityBinding (what AKS's
    // webhook injects): verified by audience, not by volume name.
    let out = eval_clean(
        "pod/handwritten-binding-token-labelled.json",
        "settings/validate-only.json",
        "sessions/binding-allowed.yml",
    );
    assert!(out.allowed(), "{}", out.stdout);
}

#[test]
fn spec_10_later_sidecar_without_env_is_named() {
    let out = eval_clean(
        "pod/mutated-extra-sidecar.json",
        "settings/validate-only.json",
        "sessions/workload-sa.yml",
    );
    assert!(out.allowed());
    let w = out.warnings();
    assert!(
        w.iter()
            .any(|w| w.contains("\"istio-proxy\"") && w.contains("skip-containers")),
        "{w:?}"
    );
}

#[test]
fn spec_10_audit_scanner_request_reaches_the_rule() {
    let out = eval_clean(
        "pod/audit-scanner-unmutated.json",
        "settings/validate-only.json",
        "sessions/workload-sa.yml",
    );
    assert!(!out.allowed());
    assert!(
        out.message().contains("did not mutate"),
        "{}",
        out.message()
    );
    assert_eq!(out.response["uid"], "5d2b7e0c-audit-scanner-0001");
}
