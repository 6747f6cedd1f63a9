//! ServiceAccount CREATE/UPDATE (SPEC §5): the annotations Workload Identity reads are checked
//! where they are written, never mutated. On UPDATE only changed values are judged, so an old
//! mistake never blocks an unrelated edit.

use kubewarden_policy_sdk::request::KubernetesAdmissionRequest;
use serde_json::Value;

use crate::format::parse_expiration;
use crate::format::{is_dns_domain, is_guid, quote};
use crate::keys::{self, Holder};
use crate::names;
use crate::object::{Object, read};
use crate::settings::Settings;
use crate::verdict::{Rejection, Verdict};

/// The object's metadata; `None` for a request without one (`null`).
fn parse(object: &Value) -> Result<Option<Object>, String> {
    match object {
        Value::Null => Ok(None),
        object => read(object).map(Some),
    }
}

pub(crate) fn evaluate(request: &KubernetesAdmissionRequest, settings: &Settings) -> Verdict {
    let name = &request.name;
    let display = format!("ServiceAccount {}/{name}", request.namespace);
    let (new, old) = match (parse(&request.object), parse(&request.old_object)) {
        (Ok(Some(new)), Ok(old)) => (new, old),
        (Ok(None), _) => {
            return Rejection::bad_request(format!("{display}: the request carries no object"))
                .into();
        }
        (Err(e), _) | (_, Err(e)) => {
            return Rejection::bad_request(format!("{display}: cannot read its metadata: {e}"))
                .into();
        }
    };
    let name = new.metadata.name().unwrap_or(name);
    let display = format!("ServiceAccount {}/{name}", request.namespace);
    // Warnings leave the namespace out, to fit 256 characters (SPEC §9).
    let brief = format!("ServiceAccount {name}");
    let annotations = &new.metadata.annotations;
    let changed = |key: &str| -> Option<&str> {
        let value = annotations.get(key)?;
        let before = old.as_ref().and_then(|o| o.metadata.annotations.get(key));
        (before != Some(value)).then_some(value.as_str())
    };

    let warnings = keys::warnings(
        &brief,
        Holder::ServiceAccount,
        new.metadata.labels.keys().map(String::as_str),
        annotations.keys().map(String::as_str),
        &settings.identity_binding_annotation(),
    );
    // SPEC §5: RBAC compares resource names exactly, and the use-managed-identity rule is
    // written in lower case (as Azure prints client IDs).
    let mut warnings = warnings;
    if let Some(id) = changed(names::CLIENT_ID).filter(|id| is_guid(id))
        && id.bytes().any(|b| b.is_ascii_uppercase())
    {
        warnings.push(format!(
            "{brief}: write {} in lower case ({}): RBAC compares names exactly, \
             so a use-managed-identity rule for it would not match",
            names::CLIENT_ID,
            id.to_ascii_lowercase()
        ));
    }
    let reject = |code: fn(String) -> Rejection, key: &str, value: &str, accepted: &str| {
        let message = format!(
            "{display}: annotation {key} has value {}; {accepted}",
            quote(value)
        );
        Verdict::from(code(message)).with_warnings(warnings.clone())
    };

    if let Some(id) = changed(names::CLIENT_ID).filter(|v| !v.is_empty()) {
        if !is_guid(id) {
            return reject(
                Rejection::bad_request,
                names::CLIENT_ID,
                id,
                "expected a GUID: the client ID of the managed identity or app registration",
            );
        }
        if !settings.client_id_allowed(&request.namespace, id) {
            return reject(
                Rejection::forbidden,
                names::CLIENT_ID,
                id,
                &format!(
                    "this client ID is not allowed in namespace {} (setting allowedClientIds)",
                    quote(&request.namespace)
                ),
            );
        }
    }
    if let Some(tenant) = changed(names::TENANT_ID).filter(|v| !v.is_empty())
        && !is_guid(tenant)
        && !is_dns_domain(tenant)
    {
        return reject(
            Rejection::bad_request,
            names::TENANT_ID,
            tenant,
            "expected a GUID or a DNS domain such as contoso.onmicrosoft.com",
        );
    }
    if let Some(expiration) = changed(names::TOKEN_EXPIRATION).filter(|v| !v.is_empty())
        && let Err(accepted) = parse_expiration(expiration)
    {
        return reject(
            Rejection::bad_request,
            names::TOKEN_EXPIRATION,
            expiration,
            &accepted,
        );
    }
    Verdict::accept().with_warnings(warnings)
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use crate::cluster::fake::FakeCluster;
    use crate::testing::*;

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
                    message
                        .starts_with("ServiceAccount ns1/sa: annotation azure.workload.identity/"),
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
}
