//! SPEC §6 and §4.8 through the real wasm. Every session holds exactly the exchanges the policy
//! makes, in order (replayed strictly, as kwctl does).

mod common;

use common::*;
use serde_json::json;

const CLIENT: &str = "7b2c4a8e-1f3d-4e5a-9b6c-2d8e0f1a3b5c";
const OTHER: &str = "11111111-2222-3333-4444-555555555555";
const KV: &str = "c3d4e5f6-a7b8-4c9d-8e0f-1a2b3c4d5e6f";

#[test]
fn spec_6_binding_allowed_is_mutated() {
    let out = eval_clean(
        "pod/identity-binding.json",
        "settings/identity-binding.json",
        "sessions/binding-allowed.yml",
    );
    assert!(out.allowed());
    assert!(out.patch().is_some());
}

#[test]
fn spec_6_binding_denied_message_has_the_rule() {
    let out = eval_clean(
        "pod/identity-binding.json",
        "settings/identity-binding.json",
        "sessions/binding-denied.yml",
    );
    assert!(!out.allowed());
    assert_eq!(out.status_code(), Some(403));
    let m = out.message();
    for needle in [
        "Pod team-a/web-7d9f8b7c5d-x2x4z",
        "ServiceAccount team-a/workload-sa",
        CLIENT,
        "kind: ClusterRole\n",
        "- apiGroups: [\"cid.wi.aks.azure.com\"]\n",
        &format!("  resources: [\"{CLIENT}\"]\n"),
        "  verbs: [\"use-managed-identity\"]\n",
        "- kind: ServiceAccount\n  name: workload-sa\n  namespace: team-a\n",
    ] {
        assert!(m.contains(needle), "{m}\nlacks {needle:?}");
    }
}

#[test]
fn spec_6_denial_asked_again_uncached_then_allowed_admits_the_pod() {
    // binding-denied.yml and binding-denied-then-allowed.yml differ only in the answer to the
    // second, uncached review; the strict replay proves it is asked, with disable_cache: true.
    let out = eval_clean(
        "pod/identity-binding.json",
        "settings/identity-binding.json",
        "sessions/binding-denied-then-allowed.yml",
    );
    assert!(out.allowed(), "{}", out.stdout);
    assert!(out.patch().is_some());
    let pod = out.patched();
    assert!(
        env(&pod, "containers", 1).contains(&("AZURE_CLIENT_ID".into(), CLIENT.into())),
        "{pod}"
    );
}

#[test]
fn spec_6_sar_error_fails_closed() {
    let out = eval_clean(
        "pod/identity-binding.json",
        "settings/identity-binding.json",
        "sessions/binding-sar-error.yml",
    );
    assert!(!out.allowed());
    assert_eq!(out.status_code(), Some(500));
    assert!(
        out.message().contains("context deadline exceeded"),
        "{}",
        out.message()
    );
}

#[test]
fn spec_6_spoofed_env_client_id_is_checked_and_denied() {
    let out = eval_clean(
        "pod/identity-binding-spoofed-env.json",
        "settings/identity-binding.json",
        "sessions/binding-spoofed.yml",
    );
    assert_eq!(out.status_code(), Some(403));
    assert!(
        out.message().contains(OTHER) && out.message().contains("container \"metrics\""),
        "{}",
        out.message()
    );
}

#[test]
fn spec_6_hand_written_binding_token_without_label_is_checked() {
    let out = eval_clean(
        "pod/handwritten-binding-token.json",
        "settings/default.json",
        "sessions/binding-denied.yml",
    );
    assert_eq!(out.status_code(), Some(403), "{}", out.stdout);
    let allowed = eval_clean(
        "pod/handwritten-binding-token.json",
        "settings/default.json",
        "sessions/binding-allowed.yml",
    );
    assert!(allowed.allowed());
    assert_eq!(allowed.patch(), None, "unlabeled pods are never mutated");
}

#[test]
fn spec_6_validate_only_mode_still_authorizes() {
    let out = eval_clean(
        "pod/identity-binding.json",
        "settings/binding-validate-only.json",
        "sessions/binding-denied.yml",
    );
    assert_eq!(out.status_code(), Some(403));
    let ok = eval_clean(
        "pod/identity-binding.json",
        "settings/binding-validate-only.json",
        "sessions/binding-allowed.yml",
    );
    assert!(ok.allowed());
    assert_eq!(ok.patch(), None);
}

#[test]
fn spec_6_csi_allowed_denied_missing_and_skipped() {
    for (session, allowed, code) in [
        ("sessions/csi-allowed.yml", true, None),
        ("sessions/csi-denied.yml", false, Some(403)),
        // "True" is on, as Go's strconv.ParseBool reads it
        (
            "sessions/csi-flag-capital-true-denied.yml",
            false,
            Some(403),
        ),
        ("sessions/csi-missing.yml", false, Some(400)),
        ("sessions/csi-not-azure.yml", true, None),
        ("sessions/csi-no-token-proxy.yml", true, None),
    ] {
        let out = eval_clean("pod/csi-unlabeled.json", "settings/default.json", session);
        assert_eq!(out.allowed(), allowed, "{session}: {}", out.stdout);
        assert_eq!(out.status_code(), code, "{session}");
        if !allowed {
            assert!(
                out.message().contains("team-a/azure-kv"),
                "{session}: {}",
                out.message()
            );
        }
    }
}

#[test]
fn spec_6_csi_on_a_labelled_pod() {
    let out = eval_clean(
        "pod/csi-labelled.json",
        "settings/default.json",
        "sessions/csi-labelled-allowed.yml",
    );
    assert!(out.allowed());
    assert!(out.patch().is_some());
}

#[test]
fn spec_6_allowed_client_ids() {
    for (settings, allowed) in [
        ("settings/allowlist-namespace.json", true),
        ("settings/allowlist-wildcard.json", true),
        ("settings/allowlist-other.json", false),
    ] {
        let out = eval_clean("pod/labelled.json", settings, "sessions/workload-sa.yml");
        assert_eq!(out.allowed(), allowed, "{settings}: {}", out.stdout);
        if !allowed {
            assert_eq!(out.status_code(), Some(403));
            assert!(
                out.message().contains(CLIENT) && out.message().contains(KV),
                "{}",
                out.message()
            );
        }
    }
}

#[test]
fn spec_4_8_each_ca_variant_in_both_layouts() {
    let cases = [
        (
            "settings/binding-classic-configmap.json",
            Some("/var/run/secrets/azure/tokens/ca.crt"),
            "configMap",
        ),
        (
            "settings/identity-binding.json",
            Some("/var/run/secrets/azure/wi/ca-cert/ca.crt"),
            "configMap",
        ),
        (
            "settings/binding-classic-bundle.json",
            Some("/var/run/secrets/azure/tokens/ca.crt"),
            "clusterTrustBundle",
        ),
        (
            "settings/binding-v16-bundle.json",
            Some("/var/run/secrets/azure/wi/ca-cert/ca.crt"),
            "clusterTrustBundle",
        ),
        ("settings/binding-classic-cadata.json", None, ""),
        ("settings/binding-v16-cadata.json", None, ""),
    ];
    for (settings, ca_file, source) in cases {
        let pod = eval_clean(
            "pod/identity-binding.json",
            settings,
            "sessions/binding-allowed.yml",
        )
        .patched();
        let env = env(&pod, "containers", 1);
        let file = env
            .iter()
            .find(|(n, _)| n == "AZURE_KUBERNETES_CA_FILE")
            .map(|(_, v)| v.as_str());
        let data = env.iter().any(|(n, v)| {
            n == "AZURE_KUBERNETES_CA_DATA" && v.starts_with("-----BEGIN CERTIFICATE-----")
        });
        assert_eq!(file, ca_file, "{settings}");
        assert_eq!(
            data,
            ca_file.is_none(),
            "{settings}: CA_FILE and CA_DATA are exclusive"
        );
        let sources = &pod["spec"]["volumes"][1]["projected"]["sources"];
        if source.is_empty() {
            assert_eq!(sources.as_array().map(Vec::len), Some(1), "{settings}");
        } else {
            let ca_path = ca_file
                .and_then(|f| f.rsplit_once("/tokens/").or_else(|| f.rsplit_once("/wi/")))
                .map(|(_, p)| p);
            let src = &sources[1][source];
            assert_eq!(src["optional"], false, "{settings}");
            if source == "configMap" {
                assert_eq!(
                    src["items"],
                    json!([{ "key": "ca.crt", "path": ca_path }]),
                    "{settings}"
                );
            } else {
                assert_eq!(src["path"].as_str(), ca_path, "{settings}");
                assert!(
                    src["labelSelector"].is_object(),
                    "{settings}: labelSelector always written"
                );
            }
        }
    }
}

/// SPEC §4.12: `kubectl debug` on a running identity-binding pod. The new ephemeral container's
/// literal `AZURE_CLIENT_ID` is reviewed (denied cached, then uncached: 403 naming the
/// container), with no ServiceAccount lookup (the sessions hold only the reviews), and nothing
/// is mutated either way.
#[test]
fn spec_4_12_kubectl_debug_with_a_literal_client_id_is_reviewed() {
    const DEBUG: &str = "5e8d2c1a-7f4b-4a9e-b3c6-0d1e2f3a4b5c";
    let denied = eval_clean(
        "pod/ephemeral-debug-literal-client-id.json",
        "settings/identity-binding.json",
        "sessions/ephemeral-binding-denied.yml",
    );
    assert!(!denied.allowed());
    assert_eq!(denied.status_code(), Some(403));
    for needle in [
        "ephemeral container \"debugger\"",
        DEBUG,
        "ServiceAccount team-a/workload-sa",
    ] {
        assert!(denied.message().contains(needle), "{}", denied.message());
    }
    assert_eq!(denied.patch(), None);
    let allowed = eval_clean(
        "pod/ephemeral-debug-literal-client-id.json",
        "settings/identity-binding.json",
        "sessions/ephemeral-binding-allowed.yml",
    );
    assert!(allowed.allowed(), "{}", allowed.stdout);
    assert_eq!(allowed.patch(), None);
    // Only NEW ephemeral containers are judged: a second `kubectl debug` (debugger-2, no client
    // ID of its own) beside the first, which oldObject already holds, asks nothing.
    let second = eval_clean(
        "pod/ephemeral-debug-second-container.json",
        "settings/identity-binding.json",
        "sessions/empty.yml",
    );
    assert!(second.allowed(), "{}", second.stdout);
    assert_eq!(second.patch(), None);
    assert!(second.warnings().is_empty(), "{:?}", second.warnings());
}

/// SPEC §6: the Key Vault provider's own rule: two identity modes on are a 400 naming the class
/// and the parameters, before any review (the session holds only the class).
#[test]
fn spec_6_secret_provider_class_with_two_identity_modes_is_rejected_before_any_review() {
    let out = eval_clean(
        "pod/csi-two-identity-modes.json",
        "settings/default.json",
        "sessions/csi-two-identity-modes.yml",
    );
    assert!(!out.allowed());
    assert_eq!(out.status_code(), Some(400));
    for needle in [
        "team-a/azure-kv-two-modes",
        "usePodIdentity",
        "useAzureTokenProxy",
        "only one identity mode can be enabled at a time",
    ] {
        assert!(out.message().contains(needle), "{}", out.message());
    }
}

/// SPEC §9: the audit annotations of an admitted identity-binding pod name the client ID it
/// uses and the one the review allowed.
#[test]
fn spec_9_audit_annotations_of_a_reviewed_pod() {
    let out = eval_clean(
        "pod/identity-binding.json",
        "settings/identity-binding.json",
        "sessions/binding-allowed.yml",
    );
    assert!(out.allowed());
    assert_eq!(
        out.response["auditAnnotations"],
        json!({ "client-ids": CLIENT, "reviewed-client-ids": CLIENT })
    );
    let denied = eval_clean(
        "pod/identity-binding.json",
        "settings/identity-binding.json",
        "sessions/binding-denied.yml",
    );
    assert_eq!(denied.response["auditAnnotations"], serde_json::Value::Null);
}
