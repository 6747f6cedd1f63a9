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

/// SPEC §8.1, §8.2: `migrate` matches bindings of every namespace, as MIC does, and reads the
/// identity in the binding's namespace; a namespaced identity serves only its own namespace;
/// `legacyPodIdentityForceNamespaced` drops other namespaces' bindings before any lookup. Each
/// session holds exactly the calls made, in order.
#[test]
fn spec_8_1_bindings_of_every_namespace() {
    let across = eval_clean(
        "pod/legacy-aadpodidbinding.json",
        "settings/migrate.json",
        "sessions/migrate-cross-namespace.yml",
    );
    assert!(across.allowed());
    let pod = across.patched();
    assert!(
        env(&pod, "containers", 0).contains(&(
            "AZURE_CLIENT_ID".into(),
            "3c1f7e2a-9b4d-4f6e-8a2c-5d7b9e1f3a6c".into()
        )),
        "{pod}"
    );
    assert!(
        across
            .warnings()
            .iter()
            .any(|w| w.contains("(AzureIdentityBinding \"identities/web-binding\")")),
        "{:?}",
        across.warnings()
    );
    assert_eq!(
        across.response["auditAnnotations"]["migrated-from"],
        "identities/web-binding"
    );

    let namespaced = eval_clean(
        "pod/legacy-aadpodidbinding.json",
        "settings/migrate.json",
        "sessions/migrate-namespaced-identity.yml",
    );
    assert!(namespaced.allowed());
    assert_eq!(namespaced.patch(), None);
    assert!(
        namespaced
            .warnings()
            .iter()
            .any(|w| w.contains("not migrated") && w.contains("namespaced")),
        "{:?}",
        namespaced.warnings()
    );

    let forced = eval_clean(
        "pod/legacy-aadpodidbinding.json",
        "settings/migrate-force-namespaced.json",
        "sessions/migrate-force-namespaced.yml",
    );
    assert!(forced.allowed());
    assert_eq!(forced.patch(), None);
    assert!(
        forced
            .warnings()
            .iter()
            .any(|w| w.contains("not migrated: no AzureIdentityBinding")),
        "{:?}",
        forced.warnings()
    );
}
