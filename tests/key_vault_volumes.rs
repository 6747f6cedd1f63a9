//! reference §6: a Key Vault CSI volume is judged by the parameters the provider receives —
//! its class's, with the volume's own `volumeAttributes` laid over them, as the Secrets Store
//! CSI driver does before it calls the provider.

use azure_workload_identity_policy::cluster::fake::{Call, FakeCluster};
use azure_workload_identity_policy::testing::*;
use serde_json::{Value, json};

const USER: &str = "system:serviceaccount:ns1:sa";
const OTHER: &str = "99999999-8888-7777-6666-555555555555";
const DENY: &[u8] = br#"{"allowed":false,"reason":"no RBAC policy matched"}"#;

/// A class `kv` of `provider` with a complete set of parameters and `extra` over them.
fn class(provider: &str, extra: Value) -> Result<Vec<u8>, String> {
    let parameters = merged(
        json!({ "keyvaultName": "kv1", "tenantID": TENANT, "objects": "array:\n  - |\n    objectName: s\n    objectType: secret\n",
            "clientID": CLIENT }),
        extra,
    );
    Ok(
        json!({ "apiVersion": "secrets-store.csi.x-k8s.io/v1", "kind": "SecretProviderClass",
        "metadata": { "name": "kv", "namespace": "ns1" },
        "spec": { "provider": provider, "parameters": parameters } })
        .to_string()
        .into_bytes(),
    )
}

/// An unlabeled pod mounting class `kv` with `attributes` on its volume.
fn pod(attributes: Value) -> Value {
    let attributes = merged(json!({ "secretProviderClass": "kv" }), attributes);
    json!({ "apiVersion": "v1", "kind": "Pod", "metadata": { "name": "pod" },
        "spec": { "serviceAccountName": "sa", "containers": [{ "name": "app", "image": "i" }],
            "volumes": [{ "name": "secrets", "csi": { "driver": "secrets-store.csi.k8s.io",
                "readOnly": true, "volumeAttributes": attributes } }] } })
}

fn cluster(provider: &str, extra: Value) -> FakeCluster {
    FakeCluster::new().with_object("SecretProviderClass", "ns1", "kv", class(provider, extra))
}

fn warnings(response: &kubewarden_policy_sdk::response::ValidationResponse) -> Vec<String> {
    response.warnings.clone().unwrap_or_default()
}

#[rstest::rstest]
#[case::reference_6_the_volume_s_client_id_is_judged(json!([CLIENT]), false)]
#[case::reference_6_the_volume_s_client_id_allowed(json!([CLIENT, OTHER]), true)]
fn reference_6_a_volume_attribute_client_id_faces_the_allowlist(
    #[case] allowed: Value,
    #[case] accepted: bool,
) {
    let fake = cluster("azure", json!({}));
    let response = run(
        pod_request("ns1", pod(json!({ "clientID": OTHER }))),
        settings(json!({ "allowedClientIds": { "ns1": allowed } })),
        &fake,
    );
    assert_eq!(response.accepted, accepted, "{response:?}");
    if accepted {
        // The override is named, even when allowed.
        let warnings = warnings(&response);
        assert!(
            warnings
                .iter()
                .any(|w| w.contains("overrides its class's parameters.clientID")
                    && w.contains(CLIENT)
                    && w.contains(OTHER)),
            "{warnings:?}"
        );
    } else {
        assert_rejected(&response, 403, OTHER);
    }
}

#[test]
fn reference_6_a_volume_that_turns_the_token_proxy_on_is_reviewed() {
    let fake = cluster("azure", json!({ "useAzureTokenProxy": "false" })).with_review(
        USER,
        OTHER,
        Ok(DENY.to_vec()),
    );
    let attributes = json!({ "useAzureTokenProxy": "true", "clientID": OTHER });
    let response = run(
        pod_request("ns1", pod(attributes)),
        settings(json!({})),
        &fake,
    );
    assert_rejected(&response, 403, OTHER);
    let reviewed: Vec<Call> = fake
        .calls()
        .into_iter()
        .filter(|c| matches!(c, Call::CanI { .. }))
        .collect();
    assert_eq!(reviewed.len(), 2, "the review and its uncached retry");
}

#[test]
fn reference_6_attributes_that_override_nothing_warn_of_nothing() {
    let fake = cluster("azure", json!({}));
    let response = run(
        pod_request("ns1", pod(json!({ "clientID": CLIENT }))),
        settings(json!({ "allowedClientIds": { "ns1": [CLIENT] } })),
        &fake,
    );
    assert!(response.accepted, "{response:?}");
    assert_eq!(warnings(&response), Vec::<String>::new());
}

#[test]
fn reference_6_another_provider_s_volumes_are_not_judged() {
    let fake = cluster("vault", json!({}));
    let response = run(
        pod_request("ns1", pod(json!({ "clientID": OTHER }))),
        settings(json!({ "allowedClientIds": { "ns1": [CLIENT] } })),
        &fake,
    );
    assert!(response.accepted, "{response:?}");
    assert_eq!(warnings(&response), Vec::<String>::new());
}
