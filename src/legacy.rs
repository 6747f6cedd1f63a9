//! SPEC §8: pods of the deprecated AAD Pod Identity (label `aadpodidbinding`).

use crate::names;
use crate::settings::{LegacyPodIdentity, Settings};
use crate::verdict::Rejection;

/// `Ok(Some(warning))`, `Ok(None)`, or the rejection, per `legacyPodIdentity`.
/// `(display, brief)` name the object in the rejection and in the warning.
pub fn check(
    (display, brief): (&str, &str),
    binding: Option<&str>,
    settings: &Settings,
) -> Result<Option<String>, Rejection> {
    let Some(binding) = binding else {
        return Ok(None);
    };
    // The fix first, and short: with 63-character names it still fits 256 characters.
    let fix = format!(
        "label {}: \"true\", {} on the ServiceAccount, {}: \"true\" for IMDS",
        names::USE_LABEL,
        names::CLIENT_ID_SHORT,
        names::INJECT_PROXY_SHORT
    );
    match settings.legacy_pod_identity {
        LegacyPodIdentity::Allow => Ok(None),
        LegacyPodIdentity::Warn => Ok(Some(format!(
            "{brief}: move to Workload Identity ({} is retired): {fix}",
            names::LEGACY_POD_IDENTITY_LABEL
        ))),
        LegacyPodIdentity::Reject => Err(Rejection::BadRequest(format!(
            "{display}: label {}={binding} uses AAD Pod Identity, which is retired and no longer \
             maintained; move to Workload Identity: {fix} (rejected by setting legacyPodIdentity: reject)",
            names::LEGACY_POD_IDENTITY_LABEL
        ))),
    }
}
