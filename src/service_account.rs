//! ServiceAccount CREATE/UPDATE (reference §5): the annotations Workload Identity reads are checked
//! where they are written, never mutated. On UPDATE only changed values are judged, so an old
//! mistake never blocks an unrelated edit.

use kubewarden_policy_sdk::request::KubernetesAdmissionRequest;
use serde_json::Value;

use crate::authorization::allowlist;
use crate::error::Denial;
use crate::format::parse_expiration;
use crate::format::{is_dns_domain, is_guid, quote};
use crate::keys::{self, Holder};
use crate::names;
use crate::object::{Object, read};
use crate::settings::Settings;
use crate::verdict::Verdict;

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
        (Ok(None), _) => return Denial::NoObject.of(&display).into(),
        (Err(error), _) | (_, Err(error)) => {
            let what = "its metadata";
            return Denial::Unreadable { what, error }.of(&display).into();
        }
    };
    let name = new.metadata.name().unwrap_or(name);
    let display = format!("ServiceAccount {}/{name}", request.namespace);
    // Warnings leave the namespace out, to fit 256 characters (reference §9).
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
    // reference §5: RBAC compares resource names exactly, and the use-managed-identity rule is
    // written in lower case (as Azure prints client IDs).
    let mut warnings = warnings;
    // reference §5: the webhook writes the client ID into pods when they are created only.
    let before = old
        .as_ref()
        .and_then(|o| o.metadata.annotation(names::CLIENT_ID));
    if let (Some(before), Some(id)) = (before.filter(|b| !b.is_empty()), changed(names::CLIENT_ID))
    {
        warnings.push(format!(
            "{brief}: restart its pods (kubectl rollout restart): running ones keep client ID {} \
             until then, not {}",
            quote(before),
            quote(id)
        ));
    }
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
    let reject =
        |denial: Denial| Verdict::from(denial.of(&display)).with_warnings(warnings.clone());
    let bad = |key: &'static str, value: &str, accepted: &str| {
        reject(Denial::Annotation {
            key,
            value: value.to_owned(),
            accepted: accepted.to_owned(),
        })
    };

    if let Some(id) = changed(names::CLIENT_ID).filter(|v| !v.is_empty()) {
        if !is_guid(id) {
            return bad(
                names::CLIENT_ID,
                id,
                "expected a GUID: the client ID of the managed identity or app registration",
            );
        }
        if !allowlist::allows(settings, &request.namespace, id) {
            return reject(Denial::ServiceAccountClientIdNotAllowed {
                client_id: id.to_owned(),
                namespace: request.namespace.clone(),
            });
        }
    }
    if let Some(tenant) = changed(names::TENANT_ID).filter(|v| !v.is_empty())
        && !is_guid(tenant)
        && !is_dns_domain(tenant)
    {
        return bad(
            names::TENANT_ID,
            tenant,
            "expected a GUID or a DNS domain such as contoso.onmicrosoft.com",
        );
    }
    if let Some(expiration) = changed(names::TOKEN_EXPIRATION).filter(|v| !v.is_empty())
        && let Err(accepted) = parse_expiration(expiration)
    {
        return bad(names::TOKEN_EXPIRATION, expiration, &accepted);
    }
    Verdict::accept().with_warnings(warnings)
}
