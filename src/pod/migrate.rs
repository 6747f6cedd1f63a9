//! SPEC §8, `legacyPodIdentity: migrate`: a pod of AAD Pod Identity carried over to Workload
//! Identity at admission. Host calls in the order §8.8 fixes: the binding list, then the
//! AzureIdentity; the ServiceAccount and the rest come after, on the opted-in path.

use super::facts::Pod;
use crate::cluster::{LookupError, Lookups};
use crate::format::quote;
use crate::names;
use crate::verdict::Rejection;

/// What the AAD Pod Identity objects say the pod's identity is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Migration {
    /// The one AzureIdentityBinding that selects the pod.
    pub binding: String,
    /// The AzureIdentity it binds.
    pub identity: String,
    pub client_id: String,
}

/// Steps 1, 2 and 4: the migration, or `None` with a warning in `warnings` saying why there is
/// none; a host failure is a 500 (fail closed: a pod admitted unmigrated would start without
/// an identity).
pub(super) fn find(
    pod: &Pod,
    selector: &str,
    lookups: &Lookups,
    warnings: &mut Vec<String>,
) -> Result<Option<Migration>, Rejection> {
    let subject = &pod.subject;
    let (namespace, display) = (subject.namespace.as_str(), &subject.display);
    let failed = |e: LookupError, what: &str| {
        Rejection::host_failure(format!(
            "{display}: cannot read {what} to migrate it from AAD Pod Identity \
             (setting legacyPodIdentity: migrate; failing closed): {e}"
        ))
    };
    let bindings = lookups
        .azure_identity_bindings(namespace)
        .map_err(|e| failed(e, "the namespace's AzureIdentityBindings"))?;
    let matching: Vec<_> = bindings.iter().filter(|b| b.selector == selector).collect();
    let mut not_migrated = |why: String| {
        warnings.push(format!("{}: not migrated: {why}", subject.brief));
        Ok(None)
    };
    let binding = match matching.as_slice() {
        [] => {
            return not_migrated(format!(
                "no AzureIdentityBinding here selects {}={}",
                names::LEGACY_POD_IDENTITY_LABEL,
                quote(selector)
            ));
        }
        [one] => *one,
        several => {
            let names: Vec<&str> = several.iter().map(|b| b.name.as_str()).collect();
            return not_migrated(format!(
                "{} AzureIdentityBindings select it ({}); keep one",
                several.len(),
                quote(&names.join(", "))
            ));
        }
    };
    let client_id = match lookups.azure_identity_client_id(namespace, &binding.azure_identity) {
        Ok(id) => id,
        Err(LookupError::NotFound(_)) => {
            return not_migrated(format!(
                "AzureIdentityBinding {} names AzureIdentity {}, which does not exist",
                quote(&binding.name),
                quote(&binding.azure_identity)
            ));
        }
        Err(e) => return Err(failed(e, "its AzureIdentity")),
    };
    if client_id.is_empty() {
        return not_migrated(format!(
            "AzureIdentity {} has no spec.clientID",
            quote(&binding.azure_identity)
        ));
    }
    Ok(Some(Migration {
        binding: binding.name.clone(),
        identity: binding.azure_identity.clone(),
        client_id,
    }))
}

impl Migration {
    /// Step 3's warning, one line per step so that each fits 256 characters (SPEC §9).
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
