//! reference §10: in validate-only mode this policy runs after every mutating webhook, so it can
//! see what the (fail-open) Workload Identity webhook did — or did not — do to an opted-in pod.

use super::facts::{Pod, Spec};
use super::plan::Plan;
use crate::error::{Denial, Rejection};
use crate::format::quote;
use crate::names;
use crate::settings::{Settings, VerifyInjection};

/// Judge an opted-in pod's injection against its plan: its skip-containers entries, and the
/// token audience the webhook would have used.
pub(super) fn verify(
    pod: &Pod,
    spec: &Spec,
    plan: &Plan,
    settings: &Settings,
) -> Result<Vec<String>, Rejection> {
    let (display, brief) = (&pod.subject.display, &pod.subject.brief);
    let (skip, audience) = (&plan.skip, plan.audience.as_str());
    if settings.verify_injection == VerifyInjection::Off {
        return Ok(Vec::new());
    }
    let judged: Vec<(&str, bool)> = spec
        .containers()
        .map(|c| (c.name.as_str(), c.defines(names::ENV_FEDERATED_TOKEN_FILE)))
        .filter(|(name, _)| !skip.contains(*name))
        .collect();
    if judged.is_empty() {
        // Every container skipped: nothing was meant to be injected.
        return Ok(Vec::new());
    }
    if !has_token_volume(pod, audience) && !judged.iter().any(|(_, has)| *has) {
        // The fix first: with 63-character names the warning still fits 256 characters.
        let check = "check that the Workload Identity webhook runs with failurePolicy: Fail \
                     and the label is exactly \"true\", then recreate the pod";
        return match settings.verify_injection {
            VerifyInjection::Reject => Err(Denial::NotInjected { check }.of(display)),
            _ => Ok(vec![format!(
                "{brief}: {check}: it was not mutated, so it has no identity"
            )]),
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
        "{brief}: list containers {} in {} if they need no identity: they lack {} (added \
         after the webhook ran?)",
        missing.join(", "),
        names::SKIP_CONTAINERS,
        names::ENV_FEDERATED_TOKEN_FILE,
    )])
}

/// Either layout's volume, or any projected token for `audience`.
fn has_token_volume(pod: &Pod, audience: &str) -> bool {
    pod.volumes
        .iter()
        .any(|v| v.name == names::CLASSIC_VOLUME || v.name.starts_with(names::V16_VOLUME_PREFIX))
        || pod.requests_token_for(audience)
}
