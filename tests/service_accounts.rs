//! reference §5: ServiceAccount annotations are checked at CREATE and, when they change, at UPDATE;
//! a ServiceAccount is never mutated and needs no host call.

use serde_json::{Value, json};

use azure_workload_identity_policy::cluster::fake::FakeCluster;
use azure_workload_identity_policy::testing::*;

fn sa(annotations: Value) -> Value {
    json!({ "apiVersion": "v1", "kind": "ServiceAccount",
        "metadata": { "name": "sa", "namespace": "ns1", "annotations": annotations } })
}

fn judge(
    new: Value,
    old: Option<Value>,
    extra_settings: Value,
) -> kubewarden_policy_sdk::response::ValidationResponse {
    let operation = if old.is_some() { "UPDATE" } else { "CREATE" };
    let mut request = request("", "ServiceAccount", "ns1", operation, new);
    if let Some(old) = old {
        request["oldObject"] = old;
    }
    let fake = FakeCluster::new();
    let response = run(request, settings(extra_settings), &fake);
    assert_eq!(
        fake.calls(),
        vec![],
        "ServiceAccount checks need no host call"
    );
    assert_eq!(
        response.mutated_object, None,
        "ServiceAccounts are never mutated"
    );
    response
}

#[rstest::rstest]
#[case::valid(json!({ "azure.workload.identity/client-id": CLIENT, "azure.workload.identity/tenant-id": "contoso.onmicrosoft.com",
    "azure.workload.identity/service-account-token-expiration": "7200" }), None)]
#[case::guid_tenant(json!({ "azure.workload.identity/tenant-id": TENANT }), None)]
#[case::empty_values(json!({ "azure.workload.identity/client-id": "" }), None)]
#[case::bad_client_id(json!({ "azure.workload.identity/client-id": "my-app" }), Some((400, "\"my-app\"")))]
#[case::bad_tenant(json!({ "azure.workload.identity/tenant-id": "contoso" }), Some((400, "DNS domain")))]
#[case::bad_expiration(json!({ "azure.workload.identity/service-account-token-expiration": "100" }), Some((400, "3600 to 86400")))]
fn spec_5_create(#[case] annotations: Value, #[case] rejected: Option<(u16, &str)>) {
    let response = judge(sa(annotations), None, json!({}));
    match rejected {
        None => assert!(response.accepted, "{response:?}"),
        Some((code, needle)) => {
            assert_eq!(response.code, Some(code));
            let message = response.message.unwrap_or_default();
            assert!(
                message.starts_with("ServiceAccount ns1/sa: annotation azure.workload.identity/"),
                "{message}"
            );
            assert!(message.contains(needle), "{message}");
        }
    }
}

#[test]
fn spec_5_upper_case_client_id_is_accepted_with_a_warning() {
    let lower = "7b2c4a8e-1f3d-4e5a-9b6c-2d8e0f1a3b5c";
    // The allowlist matches GUIDs whatever their case.
    let response = judge(
        sa(json!({ "azure.workload.identity/client-id": lower.to_ascii_uppercase() })),
        None,
        json!({ "allowedClientIds": { "ns1": [lower] } }),
    );
    assert!(response.accepted, "{response:?}");
    let warnings = response.warnings.unwrap_or_default();
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("in lower case") && w.contains(lower)),
        "{warnings:?}"
    );
}

#[test]
fn spec_5_client_id_outside_allowlist() {
    let response = judge(
        sa(json!({ "azure.workload.identity/client-id": CLIENT })),
        None,
        json!({ "allowedClientIds": { "other": [CLIENT] } }),
    );
    assert_rejected(&response, 403, "allowedClientIds");
}

#[test]
fn spec_5_update_with_unchanged_bad_value_is_accepted() {
    let bad = json!({ "azure.workload.identity/client-id": "my-app" });
    let mut new = sa(bad.clone());
    new["metadata"]["labels"] = json!({ "team": "a" });
    let response = judge(new, Some(sa(bad)), json!({}));
    assert!(response.accepted, "{response:?}");
}

#[test]
fn spec_5_update_with_changed_bad_value_is_rejected() {
    let response = judge(
        sa(json!({ "azure.workload.identity/client-id": "my-app-2" })),
        Some(sa(json!({ "azure.workload.identity/client-id": "my-app" }))),
        json!({}),
    );
    assert_eq!(response.code, Some(400));
}

#[test]
fn spec_4a_typos_on_a_service_account_warn() {
    let response = judge(
        sa(json!({ "azure.workload.identity/client_id": CLIENT })),
        None,
        json!({}),
    );
    assert!(response.accepted);
    let warnings = response.warnings.unwrap_or_default();
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("did you mean azure.workload.identity/client-id?")),
        "{warnings:?}"
    );
}

#[rstest::rstest]
#[case::spec_5_a_changed_client_id_warns_that_running_pods_keep_the_old(
    Some(CLIENT),
    "7b2c4a8e-1f3d-4e5a-9b6c-2d8e0f1a3b5c",
    true
)]
#[case::spec_5_a_first_client_id_is_quiet(None, CLIENT, false)]
#[case::spec_5_an_unchanged_client_id_is_quiet(Some(CLIENT), CLIENT, false)]
fn spec_5_client_id_change(
    #[case] before: Option<&str>,
    #[case] after: &str,
    #[case] warned: bool,
) {
    let old = sa(before.map_or(
        json!({}),
        |id| json!({ "azure.workload.identity/client-id": id }),
    ));
    let new = sa(json!({ "azure.workload.identity/client-id": after }));
    let response = judge(new, Some(old), json!({}));
    assert!(response.accepted, "{response:?}");
    let warnings = response.warnings.unwrap_or_default();
    assert_eq!(
        warnings
            .iter()
            .any(|w| w.contains("restart its pods (kubectl rollout restart)")),
        warned,
        "{warnings:?}"
    );
}
