//! reference §8, `legacyPodIdentity: migrate`: a pod of AAD Pod Identity carried over to Workload
//! Identity at admission. Host calls in the order §8.8 fixes: the binding list, then the
//! AzureIdentity; the ServiceAccount and the rest come after, on the opted-in path.

use super::facts::Pod;
use crate::cluster::{AzureIdentityBinding, LookupError, Lookups};
use crate::error::{Denial, Rejection};
use crate::format::quote;
use crate::names;
use crate::settings::Settings;

/// What the AAD Pod Identity objects say the pod's identity is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Migration {
    /// The one AzureIdentityBinding that serves the pod, as warnings name it: its name, or
    /// `<namespace>/<name>` when it lives in another namespace than the pod.
    pub binding: String,
    /// `<namespace>/<name>` of that binding (the `migrated-from` audit annotation, reference §9).
    pub from: String,
    /// `<namespace>/<name>` of the AzureIdentity it binds.
    pub identity: String,
    pub client_id: String,
}

/// Steps 1, 2 and 4: the migration, or `None` with a warning saying why there is
/// none; a host failure is a 500 (fail closed: a pod admitted unmigrated would start without
/// an identity). Bindings of every namespace count, as AAD Pod Identity's MIC matches them,
/// unless `legacyPodIdentityForceNamespaced`; an identity annotated `namespaced` serves only
/// pods of its own namespace.
pub(super) fn find(
    pod: &Pod,
    selector: &str,
    settings: &Settings,
    lookups: &Lookups,
) -> Result<(Option<Migration>, Vec<String>), Rejection> {
    let subject = &pod.subject;
    let (namespace, display) = (subject.namespace.as_str(), &subject.display);
    let failed =
        |error: LookupError, what: &'static str| Denial::Migration { what, error }.of(display);
    let bindings = lookups
        .azure_identity_bindings()
        .map_err(|e| failed(e, "the AzureIdentityBindings"))?;
    let force = settings.legacy_pod_identity_force_namespaced;
    let kept = bindings
        .iter()
        .filter(|b| b.selector == selector && (!force || b.namespace == namespace));
    let named = |b: &AzureIdentityBinding| match b.namespace == namespace {
        true => b.name.clone(),
        false => format!("{}/{}", b.namespace, b.name),
    };
    let mut counting = Vec::new();
    let mut why_not = None;
    for binding in kept {
        let (binding_name, identity) = (named(binding), &binding.azure_identity);
        match lookups.azure_identity(&binding.namespace, identity) {
            Ok(found) if found.namespaced && binding.namespace != namespace => {
                why_not.get_or_insert(format!(
                    "AzureIdentityBinding {} names AzureIdentity {}, which is namespaced",
                    quote(&binding_name),
                    quote(identity)
                ));
            }
            Ok(found) => counting.push((binding, binding_name, found.client_id)),
            Err(LookupError::NotFound(_)) => {
                why_not.get_or_insert(format!(
                    "AzureIdentityBinding {} names AzureIdentity {}, which does not exist",
                    quote(&binding_name),
                    quote(identity)
                ));
            }
            Err(e) => return Err(failed(e, "its AzureIdentity")),
        }
    }
    let not_migrated = |why: String| {
        Ok((
            None,
            vec![format!("{}: not migrated: {why}", subject.brief)],
        ))
    };
    let (binding, binding_name, client_id) = match counting.as_slice() {
        [] => {
            return not_migrated(why_not.unwrap_or_else(|| {
                format!(
                    "no AzureIdentityBinding{} selects {}={}",
                    if force { " here" } else { "" },
                    names::LEGACY_POD_IDENTITY_LABEL,
                    quote(selector)
                )
            }));
        }
        [one] => one,
        several => {
            let names: Vec<&str> = several.iter().map(|(_, name, _)| name.as_str()).collect();
            return not_migrated(format!(
                "{} AzureIdentityBindings select it ({}); keep one",
                several.len(),
                quote(&names.join(", "))
            ));
        }
    };
    if client_id.is_empty() {
        return not_migrated(format!(
            "AzureIdentity {} has no spec.clientID",
            quote(&binding.azure_identity)
        ));
    }
    let migration = Migration {
        binding: binding_name.clone(),
        from: format!("{}/{}", binding.namespace, binding.name),
        identity: format!("{}/{}", binding.namespace, binding.azure_identity),
        client_id: client_id.clone(),
    };
    Ok((Some(migration), Vec::new()))
}

impl Migration {
    /// Step 3's warning, one line per step so that each fits 256 characters (reference §9).
    /// `client_id` is the one the pod uses; `migrated` whether the pod was mutated.
    pub(crate) fn steps(&self, pod: &Pod, client_id: &str, migrated: bool) -> Vec<String> {
        let subject = &pod.subject;
        let (brief, namespace) = (&subject.brief, &subject.namespace);
        let service_account = &subject.service_account;
        let what = if migrated {
            "migrated from AAD Pod Identity"
        } else {
            "not mutated here; to move it from AAD Pod Identity"
        };
        vec![
            format!(
                "{brief}: {what} (AzureIdentityBinding {}) to client ID {client_id}, 3 steps \
                 finish it",
                quote(&self.binding)
            ),
            format!(
                "{brief}: 1/3 annotate ServiceAccount {service_account} with {}: {client_id}",
                names::CLIENT_ID
            ),
            format!(
                "{brief}: 2/3 federate subject system:serviceaccount:{namespace}:{service_account} \
                 on that identity"
            ),
            format!(
                "{brief}: 3/3 replace label {} with {}: \"true\"",
                names::LEGACY_POD_IDENTITY_LABEL,
                names::USE_LABEL
            ),
        ]
    }
}
