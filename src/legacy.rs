//! reference §8: pods of the deprecated AAD Pod Identity (label `aadpodidbinding`).

use crate::error::{Denial, Rejection};
use crate::names;
use crate::object::Subject;
use crate::settings::{LegacyPodIdentity, Settings};

/// What `legacyPodIdentity` asks for a pod labelled `aadpodidbinding`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Legacy<'a> {
    /// Not labelled, or `allow`.
    Nothing,
    Warning(String),
    /// `migrate`, with the label's value: the caller carries the pod over (reference §8).
    Migrate(&'a str),
}

/// `binding` is the label's value; `opted_in` pods are on Workload Identity already: `migrate`
/// only warns about their label.
pub fn check<'a>(
    subject: &Subject,
    binding: Option<&'a str>,
    opted_in: bool,
    settings: &Settings,
) -> Result<Legacy<'a>, Rejection> {
    let Some(binding) = binding else {
        return Ok(Legacy::Nothing);
    };
    // The fix first, and short: with 63-character names it still fits 256 characters.
    let fix = format!(
        "label {}: \"true\", {} on the ServiceAccount, {}: \"true\" for IMDS",
        names::USE_LABEL,
        names::CLIENT_ID_SHORT,
        names::INJECT_PROXY_SHORT
    );
    match settings.legacy_pod_identity {
        LegacyPodIdentity::Allow => Ok(Legacy::Nothing),
        // MIC ignores a pod whose label is empty: it selects no binding (reference §8).
        LegacyPodIdentity::Migrate if !opted_in && binding.is_empty() => {
            Ok(Legacy::Warning(format!(
                "{}: not migrated: an empty {} selects no AzureIdentityBinding",
                subject.brief,
                names::LEGACY_POD_IDENTITY_LABEL
            )))
        }
        LegacyPodIdentity::Migrate if !opted_in => Ok(Legacy::Migrate(binding)),
        LegacyPodIdentity::Warn | LegacyPodIdentity::Migrate => Ok(Legacy::Warning(format!(
            "{}: move to Workload Identity ({} is retired): {fix}",
            subject.brief,
            names::LEGACY_POD_IDENTITY_LABEL
        ))),
        LegacyPodIdentity::Reject => {
            let binding = binding.to_owned();
            Err(Denial::LegacyPodIdentity { binding, fix }.of(&subject.display))
        }
    }
}
