//! SPEC §8 through the real wasm: pods labelled for AAD Pod Identity in each `legacyPodIdentity` mode.

mod common;

use common::*;

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
