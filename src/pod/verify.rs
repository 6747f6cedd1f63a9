//! SPEC §10: in validate-only mode this policy runs after every mutating webhook, so it can
//! see what the (fail-open) Workload Identity webhook did — or did not — do to an opted-in pod.

use serde_json::Value;

use super::Rejection;
use super::containers;
use crate::format::quote;
use crate::names;
use crate::settings::{Settings, VerifyInjection};
use crate::verdict::BAD_REQUEST;

/// Judge an opted-in pod's injection. `skip` are its skip-containers entries; `audience` the
/// token audience the webhook would have used.
pub fn verify(
    pod: &Value,
    display: &str,
    skip: &std::collections::BTreeSet<String>,
    audience: &str,
    settings: &Settings,
) -> Result<Vec<String>, Rejection> {
    if settings.verify_injection == VerifyInjection::Off {
        return Ok(Vec::new());
    }
    let judged: Vec<(&str, bool)> = containers(pod)
        .map(|c| {
            let name = c.get("name").and_then(Value::as_str).unwrap_or_default();
            let has_token_file = c
                .get("env")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .any(|e| {
                    e.get("name").and_then(Value::as_str) == Some(names::ENV_FEDERATED_TOKEN_FILE)
                });
            (name, has_token_file)
        })
        .filter(|(name, _)| !skip.contains(*name))
        .collect();
    if judged.is_empty() {
        // Every container skipped: nothing was meant to be injected.
        return Ok(Vec::new());
    }
    if !has_token_volume(pod, audience) && !judged.iter().any(|(_, has)| *has) {
        let message = format!(
            "{display}: opted in to Workload Identity (label {}: \"true\") but the Workload \
             Identity webhook did not mutate it (no token volume, no {} in any container), so it \
             would start without an identity. Check that the webhook is running and reachable, \
             that its failurePolicy is Fail (Ignore admits pods while it is down), and that the \
             label value is exactly \"true\"; then recreate the pod",
            names::USE_LABEL,
            names::ENV_FEDERATED_TOKEN_FILE
        );
        return match settings.verify_injection {
            VerifyInjection::Reject => Err(Rejection::new(
                BAD_REQUEST,
                format!("{message} (setting verifyInjection: reject)"),
            )),
            _ => Ok(vec![message]),
        };
    }
    let missing: Vec<String> = judged
        .iter()
        .filter(|(_, has)| !has)
        .map(|(name, _)| quote(name))
        .collect();
    if missing.is_empty() {
        return Ok(Vec::new());
    }
    Ok(vec![format!(
        "{display}: containers {} have no {} (added after the Workload Identity webhook ran?); \
         list them in annotation {} if they need no identity, or let the webhook run again \
         (reinvocationPolicy: IfNeeded)",
        missing.join(", "),
        names::ENV_FEDERATED_TOKEN_FILE,
        names::SKIP_CONTAINERS
    )])
}

/// Either layout's volume, or any projected token for `audience`.
fn has_token_volume(pod: &Value, audience: &str) -> bool {
    pod.pointer("/spec/volumes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .any(|v| {
            let name = v.get("name").and_then(Value::as_str).unwrap_or_default();
            name == names::CLASSIC_VOLUME
                || name.starts_with(names::V16_VOLUME_PREFIX)
                || v.pointer("/projected/sources")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|s| s.pointer("/serviceAccountToken/audience"))
                    .any(|a| a.as_str() == Some(audience))
        })
}
