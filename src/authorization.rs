//! SPEC §6: who may use which managed identity. Collects every client ID a pod would use
//! (ServiceAccount annotation, literal `AZURE_CLIENT_ID`, Key Vault CSI `clientID`), checks
//! them against `allowedClientIds`, and asks RBAC through `kubernetes/can_i`.

use std::collections::BTreeMap;

mod claims;

pub use claims::{Claims, Source};

use crate::cluster::{Lookups, SecretProviderClass};
use crate::format::quote;
use crate::names;
use crate::object::Subject;
use crate::settings::Settings;
use crate::verdict::Rejection;

/// Run every SPEC §6 check that applies to `subject`; `Ok` carries the SPEC §4.11 warning of a
/// Key Vault CSI client ID that differs from the ServiceAccount's.
pub fn authorize(
    claims: &Claims,
    subject: &Subject,
    settings: &Settings,
    lookups: &Lookups,
) -> Result<Vec<String>, Rejection> {
    let csi = csi_client_ids(claims, subject, settings, lookups)?;
    let warnings = mismatch_warnings(claims, subject, &csi);
    // Every client ID once, in order, first source kept: borrowed, nothing copied.
    let mut used: BTreeMap<&str, &Source> = BTreeMap::new();
    let all = claims
        .client_ids
        .iter()
        .chain(csi.iter().map(|(id, (s, _))| (id, s)));
    for (id, source) in all {
        used.entry(id.as_str()).or_insert(source);
    }

    for (id, source) in used {
        if !settings.client_id_allowed(&subject.namespace, id) {
            return Err(Rejection::forbidden(format!(
                "{}: client ID {} (from {source}) is not allowed in namespace {}; allowed \
                     (setting allowedClientIds): {}",
                subject.display,
                quote(id),
                quote(&subject.namespace),
                allowed_list(settings, &subject.namespace)
            )));
        }
    }

    let mut warnings = warnings;
    warnings.extend(indirect(claims, subject, settings)?);
    let binding = &settings.identity_binding;
    if claims.identity_binding && binding.authorize {
        let ids = &claims.client_ids;
        if ids.is_empty() {
            return Err(Rejection::bad_request(format!(
                "{}: uses an identity binding but has no client ID: annotate ServiceAccount \
                     {}/{} with {} (or set AZURE_CLIENT_ID in the container)",
                subject.display,
                &subject.namespace,
                subject.service_account,
                names::CLIENT_ID
            )));
        }
        for (id, source) in ids {
            check_access(subject, settings, lookups, id, source)?;
        }
    }
    if settings.secrets_store_csi.authorize {
        for (id, (source, needs_review)) in &csi {
            if *needs_review {
                check_access(subject, settings, lookups, id, source)?;
            }
        }
    }
    Ok(warnings)
}

/// SPEC §4.11: an identity-binding pod whose container takes `AZURE_CLIENT_ID` from
/// `valueFrom` or `envFrom`: a warning, or a rejection where an allowlist applies, since
/// nothing can show that client ID is on it.
fn indirect(
    claims: &Claims,
    subject: &Subject,
    settings: &Settings,
) -> Result<Option<String>, Rejection> {
    let Some((container, how)) = claims.indirect.first().filter(|_| claims.identity_binding) else {
        return Ok(None);
    };
    if settings.allowlist_applies_to(&subject.namespace) {
        return Err(Rejection::forbidden(format!(
            "{}: container {} takes AZURE_CLIENT_ID from {how}, which cannot be authorized at \
             admission nor checked against setting allowedClientIds; set it as a literal value",
            subject.display,
            quote(container)
        )));
    }
    Ok(settings.identity_binding.authorize.then(|| {
        format!(
            "{}: set AZURE_CLIENT_ID as a literal in container {}: from {how} it cannot be \
             authorized at admission",
            subject.brief,
            quote(container)
        )
    }))
}

fn mismatch_warnings(
    claims: &Claims,
    subject: &Subject,
    csi: &BTreeMap<String, (Source, bool)>,
) -> Vec<String> {
    let Some((sa_id, sa)) = claims.service_account_client_id() else {
        return Vec::new();
    };
    csi.iter()
        .filter(|(id, _)| !id.eq_ignore_ascii_case(sa_id))
        .map(|(id, (source, _))| {
            let class = match source {
                Source::SecretProviderClass(spc) => spc.rsplit('/').next().unwrap_or(spc),
                _ => "",
            };
            format!(
                "{}: align the client IDs if one identity was meant: SecretProviderClass {} has \
                 {id}, ServiceAccount {} {sa_id}",
                subject.brief,
                quote(class),
                sa.rsplit('/').next().unwrap_or(sa)
            )
        })
        .collect()
}

fn allowed_list(settings: &Settings, namespace: &str) -> String {
    let ids: Vec<&str> = [namespace, "*"]
        .iter()
        .filter_map(|ns| settings.allowed_client_ids.get(*ns))
        .flatten()
        .map(String::as_str)
        .collect();
    if ids.is_empty() {
        "none".to_owned()
    } else {
        ids.join(", ")
    }
}

/// Client IDs of the pod's azure SecretProviderClasses: `(source, uses the token proxy)`.
fn csi_client_ids(
    claims: &Claims,
    subject: &Subject,
    settings: &Settings,
    lookups: &Lookups,
) -> Result<BTreeMap<String, (Source, bool)>, Rejection> {
    let mut ids = BTreeMap::new();
    // The classes are read when something judges their client IDs: the review or the allowlist.
    let needed = settings.secrets_store_csi.authorize || !settings.allowed_client_ids.is_empty();
    if claims.csi_volumes.is_empty() || !needed {
        return Ok(ids);
    }
    for (volume, class) in &claims.csi_volumes {
        let Some(class) = class else {
            return Err(Rejection::bad_request(format!(
                "{}: volume {} uses the Key Vault CSI driver but names no \
                     volumeAttributes.secretProviderClass",
                subject.display,
                quote(volume)
            )));
        };
        let spc = provider_class(subject, lookups, class)?;
        if !spc.provider.eq_ignore_ascii_case("azure") {
            continue;
        }
        let flag = spc
            .parameters
            .get("useAzureTokenProxy")
            .map_or("", |v| v.trim());
        let Some(proxy) = parse_go_bool(flag) else {
            return Err(Rejection::bad_request(format!(
                "{}: SecretProviderClass {}/{class} has parameters.useAzureTokenProxy {}, which \
                 the Key Vault provider cannot read (it would fail the mount); expected true or \
                 false (or 1, t, T, TRUE, True, 0, f, F, FALSE, False)",
                subject.display,
                &subject.namespace,
                quote(flag)
            )));
        };
        // The provider trims the client ID too.
        match spc
            .parameters
            .get("clientID")
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
        {
            Some(id) => {
                let source = Source::SecretProviderClass(format!("{}/{class}", &subject.namespace));
                let entry = ids.entry(id.to_owned()).or_insert((source, false));
                entry.1 |= proxy;
            }
            None if proxy && settings.secrets_store_csi.authorize => {
                return Err(Rejection::bad_request(format!(
                    "{}: SecretProviderClass {}/{class} uses the Azure token proxy but has \
                         no parameters.clientID",
                    subject.display, subject.namespace
                )));
            }
            None => {}
        }
    }
    Ok(ids)
}

/// Go's `strconv.ParseBool`, which the Key Vault CSI provider reads its flags with (after
/// trimming spaces); empty is off, as the provider treats an absent parameter.
fn parse_go_bool(value: &str) -> Option<bool> {
    match value {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "" | "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

fn provider_class(
    subject: &Subject,
    lookups: &Lookups,
    class: &str,
) -> Result<SecretProviderClass, Rejection> {
    lookups
        .secret_provider_class(&subject.namespace, class)
        .map_err(|e| {
            e.reject(format_args!(
                "{}: cannot read SecretProviderClass {}/{class} of its Key Vault CSI volume",
                subject.display, &subject.namespace,
            ))
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
        .map_err(|e| {
            Rejection::host_failure(format!(
                "{}: cannot check whether ServiceAccount {}/{} may use client ID {} \
                     (SubjectAccessReview failed, failing closed): {e}",
                subject.display,
                &subject.namespace,
                subject.service_account,
                quote(client_id),
            ))
        })?;
    if decision.allowed {
        return Ok(());
    }
    let reason = if decision.reason.is_empty() {
        String::new()
    } else {
        format!(" ({})", decision.reason)
    };
    Err(Rejection::forbidden(format!(
        "{}: ServiceAccount {ns}/{sa} may not use managed identity {id} (from {source}): \
             RBAC does not allow verb {verb:?} on resource {id:?} in API group {group:?}{reason}. \
             A cluster admin can allow it with this ClusterRole rule, bound to the \
             ServiceAccount:\n{rule}",
        subject.display,
        ns = &subject.namespace,
        sa = subject.service_account,
        id = client_id,
        verb = binding.verb,
        group = binding.api_group,
        rule = cluster_role(subject, client_id, &binding.verb, &binding.api_group),
    )))
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
