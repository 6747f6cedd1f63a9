//! reference §6: who may use which managed identity. Collects every client ID a pod would use
//! (ServiceAccount annotation, literal `AZURE_CLIENT_ID`, Key Vault CSI `clientID`), checks
//! them against `allowedClientIds`, and asks RBAC through `kubernetes/can_i`.

use std::collections::BTreeMap;

pub mod allowlist;
mod claims;
pub mod key_vault;

pub use claims::{Claims, CsiVolume, Indirect, Source};

use crate::cluster::{Lookups, SecretProviderClass};
use crate::error::{Denial, Rejection, ReviewDenied};
use crate::format::{MAX_QUOTED, quote};
use crate::object::Subject;
use crate::settings::Settings;

/// What [`authorize`] found: its warnings (reference §4.11, §6), and for the audit annotations of
/// reference §9 every client ID judged and those a SubjectAccessReview allowed.
#[derive(Debug, Default)]
pub struct Authorized {
    pub warnings: Vec<String>,
    pub client_ids: Vec<String>,
    pub reviewed: Vec<String>,
}

/// Run every reference §6 check that applies to `subject`.
pub fn authorize(
    claims: &Claims,
    subject: &Subject,
    settings: &Settings,
    lookups: &Lookups,
) -> Result<Authorized, Rejection> {
    let mut warnings = Vec::new();
    let csi = csi_client_ids(claims, subject, settings, lookups, &mut warnings)?;
    warnings.extend(mismatch_warnings(claims, subject, &csi));
    // Every client ID once, in review order, first source kept.
    let all = claims
        .client_ids
        .iter()
        .map(|(id, source)| (id, source))
        .chain(csi.iter().map(|(id, (s, _))| (id, s)));
    let mut seen = std::collections::HashSet::new();
    let used: Vec<(&String, &Source)> = all.filter(|(id, _)| seen.insert(*id)).collect();
    for (id, source) in &used {
        if !allowlist::allows(settings, &subject.namespace, id) {
            return Err(Denial::ClientIdNotAllowed {
                client_id: (*id).clone(),
                from: source.to_string(),
                namespace: subject.namespace.clone(),
                allowed: allowlist::listed(settings, &subject.namespace),
            }
            .of(&subject.display));
        }
    }

    warnings.extend(indirect(claims, subject, settings)?);
    let mut reviewed = Vec::new();
    let binding = &settings.identity_binding;
    if claims.identity_binding && binding.authorize {
        let ids = &claims.client_ids;
        // "No client ID at all": no source of any kind; a `valueFrom` or `envFrom` source keeps
        // its own rule instead (§6).
        if ids.is_empty() && claims.indirect.is_empty() && claims.whole_pod {
            return Err(Denial::NoClientId {
                namespace: subject.namespace.clone(),
                service_account: subject.service_account.clone(),
            }
            .of(&subject.display));
        }
        for (id, source) in ids {
            check_access(subject, settings, lookups, id, source)?;
            reviewed.push(id.clone());
        }
    }
    if settings.secrets_store_csi.authorize {
        for (id, (source, needs_review)) in &csi {
            if *needs_review {
                check_access(subject, settings, lookups, id, source)?;
                reviewed.push(id.clone());
            }
        }
    }
    Ok(Authorized {
        warnings,
        client_ids: used.into_iter().map(|(id, _)| id.clone()).collect(),
        reviewed,
    })
}

/// reference §4.11, §6: a container that takes `AZURE_CLIENT_ID` from `valueFrom` or `envFrom`:
/// rejected where an allowlist applies to the pod, since nothing can show that client ID is on
/// it; else, in an identity-binding pod, a warning that it cannot be reviewed.
fn indirect(
    claims: &Claims,
    subject: &Subject,
    settings: &Settings,
) -> Result<Option<String>, Rejection> {
    let Some((source, how)) = claims.indirect.first() else {
        return Ok(None);
    };
    let (ephemeral, container) = match source {
        Source::EphemeralContainer(name) => ("ephemeral ", name.as_str()),
        Source::Container(name) => ("", name.as_str()),
        _ => return Ok(None),
    };
    if claims.uses_tokens && allowlist::governs(settings) {
        return Err(Denial::IndirectClientId {
            ephemeral,
            container: container.to_owned(),
            how: how.to_string(),
        }
        .of(&subject.display));
    }
    Ok(
        (claims.identity_binding && settings.identity_binding.authorize).then(|| {
            format!(
                "{}: set AZURE_CLIENT_ID as a literal in {ephemeral}container {}: from {how} it \
             cannot be authorized at admission",
                subject.brief,
                quote(container)
            )
        }),
    )
}

fn mismatch_warnings(
    claims: &Claims,
    subject: &Subject,
    csi: &BTreeMap<String, (Source, bool)>,
) -> Vec<String> {
    let Some((sa_id, _)) = claims.service_account_client_id() else {
        return Vec::new();
    };
    csi.iter()
        .filter(|(id, _)| !id.eq_ignore_ascii_case(sa_id))
        .map(|(id, (source, _))| {
            let class = match source {
                Source::SecretProviderClass(spc) => spc.rsplit('/').next().unwrap_or(spc),
                _ => "",
            };
            // The advice first, the values after it: with long names, truncation only ever
            // shortens the class's quoted name (reference §9).
            format!(
                "{}: align the client IDs if one identity was meant: {sa_id} (ServiceAccount) \
                 vs {id} (SecretProviderClass {})",
                subject.brief,
                quote(class)
            )
        })
        .collect()
}

/// Client IDs of the pod's azure SecretProviderClasses: `(source, uses the token proxy)`.
fn csi_client_ids(
    claims: &Claims,
    subject: &Subject,
    settings: &Settings,
    lookups: &Lookups,
    warnings: &mut Vec<String>,
) -> Result<BTreeMap<String, (Source, bool)>, Rejection> {
    let mut ids = BTreeMap::new();
    // The classes are read when something judges their client IDs: the review or the allowlist.
    let needed = settings.secrets_store_csi.authorize || allowlist::governs(settings);
    if claims.csi_volumes.is_empty() || !needed {
        return Ok(ids);
    }
    for volume in &claims.csi_volumes {
        let Some(class) = &volume.class else {
            return Err(Denial::NoSecretProviderClass(volume.name.clone()).of(&subject.display));
        };
        let spc = provider_class(subject, lookups, class)?;
        if !key_vault::is_key_vault(&spc.provider) {
            continue;
        }
        // What the provider receives: the class's parameters with the volume's attributes laid
        // over them, as the CSI driver does (reference §6).
        let mut parameters = spc.parameters.clone();
        for (key, value) in &volume.attributes {
            if let Some(before) = parameters.insert(key.clone(), value.clone())
                && &before != value
                && key_vault::is_judged(key)
            {
                // The provider uses the volume's value: say so, the values last (§9).
                warnings.push(format!(
                    "{}: volume {} overrides its class's parameters.{key} {} with {}",
                    subject.brief,
                    quote(&volume.name),
                    quote(&before),
                    quote(value),
                ));
            }
        }
        let name = match volume.attributes.is_empty() {
            true => format!("{}/{class}", subject.namespace),
            false => format!(
                "{}/{class} (with the volumeAttributes of volume {})",
                subject.namespace,
                quote(&volume.name)
            ),
        };
        let (identity, misspelled) =
            key_vault::read(&name, &parameters).map_err(|d| d.of(&subject.display))?;
        for (key, exact) in misspelled {
            warnings.push(format!(
                "{}: rename parameters.{} to {exact} in SecretProviderClass {}: the Key Vault \
                 provider reads keys case-sensitively",
                subject.brief,
                quote(key),
                quote(class)
            ));
        }
        let source = || Source::SecretProviderClass(name.clone());
        // The client IDs the provider mounts with, as its buildAuthConfig reads them (§6): the
        // token proxy's is reviewed.
        for (_, id) in identity.client_ids() {
            let reviewed = identity.token_proxy && identity.client_id.as_deref() == Some(id);
            ids.entry(id.to_owned()).or_insert((source(), false)).1 |= reviewed;
        }
        match identity.vm_identity {
            Some(None) if allowlist::governs(settings) => {
                warnings.push(format!(
                    "{}: SecretProviderClass {} uses the node's system-assigned identity \
                     (useVMManagedIdentity without userAssignedIdentityID), which setting \
                     allowedClientIds cannot restrict",
                    subject.brief,
                    quote(class)
                ));
            }
            _ => {}
        }
    }
    Ok(ids)
}

fn provider_class(
    subject: &Subject,
    lookups: &Lookups,
    class: &str,
) -> Result<SecretProviderClass, Rejection> {
    lookups
        .secret_provider_class(&subject.namespace, class)
        .map_err(|error| {
            Denial::SecretProviderClass {
                namespace: subject.namespace.clone(),
                name: class.to_owned(),
                error,
            }
            .of(&subject.display)
        })
}

/// One SubjectAccessReview; denied → 403 with the ClusterRole that would allow it.
fn check_access(
    subject: &Subject,
    settings: &Settings,
    lookups: &Lookups,
    client_id: &str,
    source: &Source,
) -> Result<(), Rejection> {
    let binding = &settings.identity_binding;
    let decision = lookups
        .can_i(
            &subject.user(),
            subject.groups(),
            &binding.verb,
            &binding.api_group,
            client_id,
        )
        .map_err(|error| {
            Denial::ReviewFailed {
                namespace: subject.namespace.clone(),
                service_account: subject.service_account.clone(),
                client_id: client_id.to_owned(),
                error,
            }
            .of(&subject.display)
        })?;
    if decision.allowed {
        return Ok(());
    }
    // A value too long to quote whole is no client ID Azure prints: no rule is written for it.
    let rule = match client_id.chars().count() <= MAX_QUOTED {
        true => cluster_role(subject, client_id, &binding.verb, &binding.api_group),
        false => "(none: a client ID is a GUID)".to_owned(),
    };
    Err(Denial::ReviewDenied(Box::new(ReviewDenied {
        namespace: subject.namespace.clone(),
        service_account: subject.service_account.clone(),
        client_id: client_id.to_owned(),
        from: source.to_string(),
        verb: binding.verb.clone(),
        group: binding.api_group.clone(),
        reason: decision.reason,
        rule,
    }))
    .of(&subject.display))
}

/// The RBAC that would allow `subject` to use `client_id`, ready for `kubectl apply -f -`.
pub fn cluster_role(subject: &Subject, client_id: &str, verb: &str, group: &str) -> String {
    let name = format!("{verb}-{}", client_id.to_ascii_lowercase());
    format!(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: {name}\n\
         rules:\n- apiGroups: [\"{group}\"]\n  resources: [\"{client_id}\"]\n  verbs: [\"{verb}\"]\n\
         ---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n  \
         name: {name}-{ns}-{sa}\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n  \
         name: {name}\nsubjects:\n- kind: ServiceAccount\n  name: {sa}\n  namespace: {ns}\n",
        ns = &subject.namespace,
        sa = subject.service_account,
    )
}
