//! reference §12: a SecretProviderClass of `spec.provider: azure` is held to the Key Vault
//! provider's mount-time rules when it is written, through the full `evaluate` entry. Each rule
//! is pinned on both sides: the rejection or warning, and the nearest input that passes. The
//! class names no ServiceAccount, so no case makes a host call.

use azure_workload_identity_policy::cluster::fake::FakeCluster;
use azure_workload_identity_policy::testing::*;
use kubewarden_policy_sdk::response::ValidationResponse;
use rstest::rstest;
use serde_json::{Value, json};

const GROUP: &str = "secrets-store.csi.x-k8s.io";
const KIND: &str = "SecretProviderClass";
const OTHER: &str = "99999999-8888-7777-6666-555555555555";

/// An azure class named `kv` in `ns1` whose parameters are the valid ones (workload identity,
/// client ID `CLIENT`) with `extra` merged in; a key set to `null` is removed.
fn class(extra: Value) -> Value {
    let mut parameters = key_vault_parameters(merged(json!({ "clientID": CLIENT }), extra));
    if let Some(fields) = parameters.as_object_mut() {
        fields.retain(|_, v| !v.is_null());
    }
    json!({ "apiVersion": "secrets-store.csi.x-k8s.io/v1", "kind": KIND,
        "metadata": { "name": "kv", "namespace": "ns1" },
        "spec": { "provider": "azure", "parameters": parameters } })
}

fn judge_with(
    settings_extra: Value,
    operation: &str,
    new: Value,
    old: Value,
) -> ValidationResponse {
    let fake = FakeCluster::new();
    let mut request = request(GROUP, KIND, "ns1", operation, new);
    request["oldObject"] = old;
    let response = run(request, settings(settings_extra), &fake);
    // reference §12: no host call is made.
    assert_eq!(fake.calls(), vec![], "{response:?}");
    response
}

fn create(extra: Value) -> ValidationResponse {
    judge_with(json!({}), "CREATE", class(extra), Value::Null)
}

fn warnings(response: &ValidationResponse) -> Vec<String> {
    response.warnings.clone().unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// Rejections: the first rule the provider would fail the mount with.

#[rstest]
#[case::flag_not_a_go_bool(json!({ "usePodIdentity": "yes" }), "parameters.usePodIdentity \"yes\"")]
#[case::flags_read_in_the_providers_order(json!({ "useAzureTokenProxy": "on", "useVMManagedIdentity": "no" }), "parameters.useVMManagedIdentity \"no\"")]
#[case::two_identity_modes(json!({ "usePodIdentity": "true", "useVMManagedIdentity": "1" }), "only one identity mode can be enabled at a time")]
#[case::unknown_cloud_name(json!({ "cloudName": "AzureMarsCloud" }), "parameters.cloudName \"AzureMarsCloud\"")]
#[case::token_proxy_without_client_id(json!({ "useAzureTokenProxy": "true", "clientID": " " }), "clientID is required for identity binding")]
#[case::vault_name_too_short(json!({ "keyvaultName": "kv" }), "parameters.keyvaultName \"kv\"")]
#[case::vault_name_too_long(json!({ "keyvaultName": "a234567890123456789012345" }), "expected 3 to 24 characters")]
#[case::vault_name_with_underscore(json!({ "keyvaultName": "team_kv" }), "parameters.keyvaultName \"team_kv\"")]
#[case::cloud_name_before_client_id(json!({ "cloudName": "Mars", "useAzureTokenProxy": "true", "clientID": "" }), "cloudName \"Mars\"")]
#[case::client_id_before_vault_name(json!({ "keyvaultName": "x", "useAzureTokenProxy": "true", "clientID": "" }), "clientID is required")]
fn reference_12_a_class_the_provider_would_refuse_is_rejected(
    #[case] extra: Value,
    #[case] fragment: &str,
) {
    let response = create(extra);
    assert_rejected(&response, 400, "SecretProviderClass ns1/kv ");
    let message = response.message.unwrap_or_default();
    assert!(message.contains(fragment), "{message}");
    // The class is named once, by the denial itself.
    assert_eq!(
        message.matches("SecretProviderClass").count(),
        1,
        "{message}"
    );
}

#[rstest]
#[case::flag_in_go_title_case(json!({ "usePodIdentity": "True", "clientID": null }))]
#[case::flag_trimmed(json!({ "useVMManagedIdentity": " t\n", "userAssignedIdentityID": CLIENT }))]
#[case::one_identity_mode(json!({ "usePodIdentity": "true", "useVMManagedIdentity": "0" }))]
#[case::cloud_name_in_any_case(json!({ "cloudName": "azurechinacloud" }))]
#[case::cloud_name_alias(json!({ "cloudName": "AzureUSGovernment" }))]
#[case::cloud_name_empty_is_public(json!({ "cloudName": " " }))]
#[case::token_proxy_with_client_id(json!({ "useAzureTokenProxy": "true" }))]
#[case::vault_name_three(json!({ "keyvaultName": "kv1" }))]
#[case::vault_name_twenty_four(json!({ "keyvaultName": "a23456789012345678901234" }))]
#[case::vault_name_trimmed(json!({ "keyvaultName": "\u{a0}team-kv " }))]
fn reference_12_the_nearest_valid_class_passes_quietly(#[case] extra: Value) {
    let response = create(extra);
    assert!(response.accepted, "{response:?}");
    assert_eq!(warnings(&response), Vec::<String>::new());
    assert!(response.mutated_object.is_none());
}

// ---------------------------------------------------------------------------------------------
// Warnings of the class's own write.

#[rstest]
#[case::keyvault_name_missing(json!({ "keyvaultName": null }), "set parameters.keyvaultName, or every pod that mounts it must set it in volumeAttributes")]
#[case::keyvault_name_blank(json!({ "keyvaultName": "  " }), "set parameters.keyvaultName")]
#[case::tenant_missing(json!({ "tenantID": null }), "set parameters.tenantID, or every pod")]
#[case::objects_missing(json!({ "objects": null }), "set parameters.objects, or every pod")]
#[case::only_the_deprecated_tenant_id(json!({ "tenantID": null, "tenantId": TENANT }), "rename parameters.tenantId to tenantID")]
#[case::azure_stack_without_its_file(json!({ "cloudName": "AzureStackCloud" }), "set parameters.cloudEnvFileName")]
#[case::key_in_another_case(json!({ "KeyVaultName": "kv2" }), "rename parameters.\"KeyVaultName\" to keyvaultName")]
fn reference_12_a_class_a_pod_may_complete_is_admitted_with_a_warning(
    #[case] extra: Value,
    #[case] fragment: &str,
) {
    let response = create(extra);
    assert!(response.accepted, "{response:?}");
    let warnings = warnings(&response);
    assert!(
        warnings.len() == 1 && warnings[0].starts_with("SecretProviderClass ns1/kv: "),
        "{warnings:?}"
    );
    assert!(warnings[0].contains(fragment), "{warnings:?}");
}

#[rstest]
#[case::both_tenant_spellings(json!({ "tenantId": TENANT }))]
#[case::azure_stack_with_its_file(json!({ "cloudName": "azurestackcloud", "cloudEnvFileName": "/etc/kubernetes/azurestack.json" }))]
fn reference_12_the_nearest_class_without_a_warning(#[case] extra: Value) {
    let response = create(extra);
    assert!(response.accepted, "{response:?}");
    assert_eq!(warnings(&response), Vec::<String>::new());
}

#[test]
fn reference_12_a_missing_value_is_checked_after_the_rejections_before_it() {
    // keyvaultName missing is only a warning, so the rules after it still run.
    let response = create(json!({ "keyvaultName": null, "cloudName": "Mars" }));
    assert_rejected(&response, 400, "parameters.cloudName \"Mars\"");
}

#[test]
fn reference_12_a_rejected_class_keeps_its_key_warnings() {
    let response = create(json!({ "ClientID": OTHER, "keyvaultName": "a_b" }));
    assert_rejected(&response, 400, "parameters.keyvaultName");
    assert!(
        warnings(&response)
            .iter()
            .any(|w| w.contains("rename parameters.\"ClientID\" to clientID")),
        "{response:?}"
    );
}

#[test]
fn reference_9_class_warnings_fit_256_characters_with_the_longest_names() {
    let ns = "n".repeat(63);
    let name = "c".repeat(63);
    let long = |parameters: Value| {
        json!({ "kind": KIND, "metadata": { "name": name, "namespace": ns },
            "spec": { "provider": "azure", "parameters": parameters } })
    };
    let new = long(
        json!({ "clientID": OTHER, "tenantId": TENANT, "cloudName": "AzureStackCloud",
        "USEPODIDENTITY": "x", "useazuretokenproxy": "x" }),
    );
    let old = long(json!({ "clientID": CLIENT }));
    let fake = FakeCluster::new();
    let mut request = request(GROUP, KIND, &ns, "UPDATE", new);
    request["oldObject"] = old;
    let response = run(request, settings(json!({})), &fake);
    let warnings = warnings(&response);
    // keyvaultName and objects missing, tenantId, AzureStackCloud, two keys, the identity.
    assert_eq!(warnings.len(), 7, "{warnings:#?}");
    for warning in &warnings {
        assert!(
            warning.chars().count() <= 256,
            "{} {warning}",
            warning.len()
        );
    }
}

// ---------------------------------------------------------------------------------------------
// allowedClientIds: the client IDs the class makes pods use.

#[rstest]
#[case::workload_identity_listed(json!({}), json!({ "ns1": [CLIENT] }), None)]
#[case::workload_identity_not_listed(json!({ "clientID": OTHER }), json!({ "ns1": [CLIENT] }), Some("client ID \"99999999-8888-7777-6666-555555555555\" (from parameters.clientID)"))]
#[case::token_proxy_not_listed(json!({ "clientID": OTHER, "useAzureTokenProxy": "true" }), json!({ "ns1": [CLIENT] }), Some("(from parameters.clientID)"))]
#[case::vm_identity_not_listed(json!({ "useVMManagedIdentity": "true", "userAssignedIdentityID": OTHER }), json!({ "ns1": [CLIENT] }), Some("(from parameters.userAssignedIdentityID)"))]
#[case::vm_identity_ignores_client_id(json!({ "useVMManagedIdentity": "true", "userAssignedIdentityID": CLIENT, "clientID": OTHER }), json!({ "ns1": [CLIENT] }), None)]
#[case::pod_identity_uses_no_client_id(json!({ "usePodIdentity": "true", "clientID": OTHER }), json!({ "ns1": [CLIENT] }), None)]
#[case::wildcard_namespace(json!({ "clientID": OTHER }), json!({ "*": [OTHER] }), None)]
#[case::namespace_that_is_no_key(json!({}), json!({ "ns2": [CLIENT] }), Some("allowed (setting allowedClientIds): none"))]
#[case::no_allowlist(json!({ "clientID": OTHER }), json!({}), None)]
fn reference_12_the_allowlist_covers_the_client_ids_the_class_makes_pods_use(
    #[case] extra: Value,
    #[case] allowlist: Value,
    #[case] rejected: Option<&str>,
) {
    let settings = json!({ "allowedClientIds": allowlist });
    let response = judge_with(settings, "CREATE", class(extra), Value::Null);
    match rejected {
        Some(fragment) => {
            assert_rejected(&response, 403, "SecretProviderClass ns1/kv: client ID ");
            assert_rejected(&response, 403, fragment);
        }
        None => assert!(response.accepted, "{response:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// UPDATE: the identity-binding review cannot run for the class.

#[rstest]
#[case::client_id_changed(json!({ "clientID": OTHER }), json!({}), true)]
#[case::mode_changed(json!({ "useAzureTokenProxy": "true" }), json!({}), true)]
#[case::user_assigned_changed(json!({ "useVMManagedIdentity": "true", "userAssignedIdentityID": OTHER }), json!({ "useVMManagedIdentity": "true" }), true)]
#[case::unchanged(json!({ "keyvaultName": "other-kv" }), json!({}), false)]
#[case::flag_spelled_otherwise(json!({ "useAzureTokenProxy": "True" }), json!({ "useAzureTokenProxy": "1" }), false)]
#[case::client_id_trimmed(json!({ "clientID": format!(" {CLIENT} ") }), json!({}), false)]
#[case::old_class_never_mounted(json!({}), json!({ "usePodIdentity": "maybe" }), false)]
fn reference_12_an_update_that_moves_the_identity_warns(
    #[case] new: Value,
    #[case] old: Value,
    #[case] warned: bool,
) {
    let response = judge_with(json!({}), "UPDATE", class(new), class(old));
    assert!(response.accepted, "{response:?}");
    let expected: Vec<String> = match warned {
        true => vec![
            "SecretProviderClass ns1/kv: restart the pods that mount it: they take its new \
             identity at their next mount or rotation, unreviewed"
                .to_owned(),
        ],
        false => vec![],
    };
    assert_eq!(warnings(&response), expected);
}

// ---------------------------------------------------------------------------------------------
// What is not judged.

#[rstest]
#[case::another_provider(json!({ "kind": KIND, "metadata": { "name": "kv" },
    "spec": { "provider": "vault", "parameters": { "usePodIdentity": "maybe" } } }), "CREATE")]
#[case::provider_in_another_case(json!({ "kind": KIND, "metadata": { "name": "kv" },
    "spec": { "provider": "Azure", "parameters": { "keyvaultName": "x" } } }), "CREATE")]
#[case::no_spec(json!({ "kind": KIND, "metadata": { "name": "kv" } }), "UPDATE")]
#[case::delete(class(json!({ "keyvaultName": "x" })), "DELETE")]
fn reference_12_other_classes_get_a_plain_accept(#[case] object: Value, #[case] operation: &str) {
    let response = judge_with(json!({}), operation, object, Value::Null);
    assert!(response.accepted, "{response:?}");
    assert!(response.warnings.is_none() && response.mutated_object.is_none());
}

#[test]
fn reference_12_an_unreadable_class_is_rejected_not_panicked() {
    let object = json!({ "kind": KIND, "metadata": { "name": "kv" },
        "spec": { "provider": "azure", "parameters": { "keyvaultName": 3 } } });
    let response = judge_with(json!({}), "CREATE", object, Value::Null);
    assert_rejected(
        &response,
        400,
        "SecretProviderClass ns1/kv: cannot read its spec",
    );
}
