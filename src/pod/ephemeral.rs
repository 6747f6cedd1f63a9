//! SPEC §4.12: containers added to a running pod through `pods/ephemeralcontainers`
//! (`kubectl debug`). Nothing is mutated; a new ephemeral container's literal
//! `AZURE_CLIENT_ID` gets the checks a regular container's gets at CREATE, so that no debug
//! container uses a managed identity nobody authorized.

use serde_json::Value;

use super::facts::Pod;
use super::plan::uses_identity_binding;
use crate::authorization::{self, Claims, Source};
use crate::cluster::Lookups;
use crate::settings::Settings;
use crate::verdict::{Rejection, Verdict};

/// The UPDATE of `pods/ephemeralcontainers`: `pod` as it will be, `old` as it was.
pub(crate) fn judge(
    pod: &Pod,
    old: &Value,
    settings: &Settings,
    lookups: &Lookups,
) -> Result<Verdict, Rejection> {
    let binding = uses_identity_binding(pod, settings)
        || pod.requests_token_for(&settings.identity_binding.audience);
    let uses_tokens = binding || pod.opted_in() || pod.requests_token_for(&settings.audience);
    if !uses_tokens {
        return Ok(Verdict::accept());
    }
    let spec = pod.spec()?;
    let before: Vec<&str> = old
        .pointer("/spec/ephemeralContainers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| c.get("name")?.as_str())
        .collect();
    let added = spec.added_ephemeral(&before);
    let literal = added.literal_client_ids();
    let indirect = added.indirect_client_ids();
    if literal.is_empty() && indirect.is_empty() {
        return Ok(Verdict::accept());
    }
    let mut claims = Claims::new(binding, None, &[], Vec::new());
    for (container, id) in literal {
        claims.add(&id, Source::EphemeralContainer(container));
    }
    claims.uses_tokens = uses_tokens;
    claims.whole_pod = false;
    claims.indirect = indirect
        .into_iter()
        .map(|(container, how)| (Source::EphemeralContainer(container), how))
        .collect();
    let mut warnings = added.duplicate_client_id_warnings(&pod.subject.brief);
    let authorized = authorization::authorize(&claims, &pod.subject, settings, lookups)?;
    warnings.extend(authorized.warnings);
    Ok(Verdict::accept().with_warnings(warnings))
}
