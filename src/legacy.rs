//! SPEC §8: pods of the deprecated AAD Pod Identity (label `aadpodidbinding`).

use crate::names;
use crate::settings::{LegacyPodIdentity, Settings};
use crate::verdict::Rejection;

/// `Ok(Some(warning))`, `Ok(None)`, or the rejection, per `legacyPodIdentity`.
pub fn check(
    object: &str,
    binding: Option<&str>,
    settings: &Settings,
) -> Result<Option<String>, Rejection> {
    let Some(binding) = binding else {
        return Ok(None);
    };
    let why = format!(
        "{object}: label {}={binding} uses AAD Pod Identity, which is deprecated and no longer \
         maintained; move to Workload Identity (label azure.workload.identity/use: \"true\" and \
         a ServiceAccount annotated with azure.workload.identity/client-id), using the \
         annotation azure.workload.identity/inject-proxy-sidecar: \"true\" while the application \
         still calls IMDS",
        names::LEGACY_POD_IDENTITY_LABEL
    );
    match settings.legacy_pod_identity {
        LegacyPodIdentity::Allow => Ok(None),
        LegacyPodIdentity::Warn => Ok(Some(why)),
        LegacyPodIdentity::Reject => Err(Rejection::BadRequest(format!(
            "{why} (rejected by setting legacyPodIdentity: reject)"
        ))),
    }
}
