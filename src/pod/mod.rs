//! Pod CREATE (SPEC §4) and the steps of the pod rules that a workload template shares (§7).
//! [`create`] reads top to bottom: read the pod, the legacy rule, look up its ServiceAccount,
//! plan, authorize, then verify (validate-only) or apply. `workload` composes the same steps
//! for a template, which is never mutated.

mod apply;
mod ephemeral;
mod facts;
mod layout;
mod migrate;
mod plan;
mod proxy;
mod verify;
mod warnings;

use serde_json::Value;

pub(crate) use facts::{Pod, Spec};
pub(crate) use migrate::Migration;
pub(crate) use plan::Plan;
pub(crate) use warnings::keys as key_warnings;

use std::collections::{BTreeMap, BTreeSet};

use crate::authorization::{self, Authorized, Claims, Source};
use crate::cluster::{LookupError, Lookups, ServiceAccount};
use crate::legacy::{self, Legacy};
use crate::names;
use crate::settings::Settings;
use crate::verdict::{Outcome, Rejection, Verdict};

/// SPEC §4: a pod CREATE, `object` as the request carries it.
pub(crate) fn create(
    object: Value,
    namespace: &str,
    name: &str,
    settings: &Settings,
    lookups: &Lookups,
) -> Verdict {
    if object.is_null() {
        return Rejection::bad_request("Pod admission request carries no object").into();
    }
    let named = |namespace: &str, metadata: &crate::object::Metadata| {
        let name = metadata.display_name();
        (format!("Pod {namespace}/{name}"), format!("Pod {name}"))
    };
    let pod = match Pod::read(object, namespace, &format!("Pod {namespace}/{name}"), named) {
        Ok(pod) => pod,
        Err(rejection) => return rejection.into(),
    };
    let mut findings = Findings::new(key_warnings(&pod, settings));
    let verdict = admit(pod, settings, lookups, &mut findings);
    let audit = findings.annotations();
    Verdict::from(verdict)
        .with_warnings(findings.warnings)
        .with_audit(audit)
}

/// What the steps found besides their verdict: admission warnings, in the order found, and
/// what the audit annotations of an admitted pod say (SPEC §9): which identities it uses, and
/// how they were checked.
#[derive(Debug, Default)]
pub(crate) struct Findings {
    pub warnings: Vec<String>,
    client_ids: BTreeSet<String>,
    reviewed: BTreeSet<String>,
    migrated_from: Option<String>,
}

impl Findings {
    pub fn new(warnings: Vec<String>) -> Self {
        Self {
            warnings,
            ..Self::default()
        }
    }

    fn record(&mut self, authorized: &Authorized) {
        self.client_ids
            .extend(authorized.client_ids.iter().cloned());
        self.reviewed.extend(authorized.reviewed.iter().cloned());
    }

    /// Empty for a pod that uses no client ID.
    fn annotations(&mut self) -> BTreeMap<String, String> {
        let list = |ids: BTreeSet<String>| ids.into_iter().collect::<Vec<_>>().join(",");
        let mut annotations = BTreeMap::new();
        if self.client_ids.is_empty() {
            return annotations;
        }
        annotations.insert(
            "client-ids".to_owned(),
            list(std::mem::take(&mut self.client_ids)),
        );
        if !self.reviewed.is_empty() {
            annotations.insert(
                "reviewed-client-ids".to_owned(),
                list(std::mem::take(&mut self.reviewed)),
            );
        }
        if let Some(from) = self.migrated_from.take() {
            annotations.insert("migrated-from".to_owned(), from);
        }
        annotations
    }
}

fn admit(
    pod: Pod,
    settings: &Settings,
    lookups: &Lookups,
    findings: &mut Findings,
) -> Result<Verdict, Rejection> {
    match legacy_pod_identity(&pod, settings, lookups, findings)? {
        // SPEC §8.3: carried over to Workload Identity with the AzureIdentity's client ID.
        Some(found) if settings.mutate => {
            let spec = pod.spec()?;
            let sa = service_account(&pod, lookups)?;
            findings.migrated_from = Some(found.from.clone());
            let plan = labelled(
                &pod,
                &spec,
                Some(&sa),
                Some(&found),
                settings,
                lookups,
                findings,
            )?;
            let id = plan.client_id.as_deref().unwrap_or(&found.client_id);
            if id != found.client_id {
                findings.warnings.push(format!(
                    "{}: uses the client ID of ServiceAccount {} ({id}), not the \
                     AzureIdentity's ({})",
                    pod.subject.brief, pod.subject.service_account, found.client_id
                ));
            }
            findings.warnings.extend(found.steps(&pod, id, true));
            write(pod, &plan)
        }
        // SPEC §8.6: validate-only says how to finish the migration, and mutates nothing.
        Some(found) => {
            findings
                .warnings
                .extend(found.steps(&pod, &found.client_id, false));
            findings.client_ids.insert(found.client_id.clone());
            findings.migrated_from = Some(found.from.clone());
            unlabeled(&pod, settings, lookups, findings).map(|()| Verdict::accept())
        }
        None if !pod.opted_in() => {
            unlabeled(&pod, settings, lookups, findings).map(|()| Verdict::accept())
        }
        None => {
            let spec = pod.spec()?;
            let sa = service_account(&pod, lookups)?;
            let plan = labelled(&pod, &spec, Some(&sa), None, settings, lookups, findings)?;
            if settings.mutate {
                return write(pod, &plan);
            }
            findings
                .warnings
                .extend(verify::verify(&pod, &spec, &plan, settings)?);
            Ok(Verdict::accept())
        }
    }
}

/// SPEC §4.12: an UPDATE of `pods/ephemeralcontainers`, `object` the pod with its new
/// ephemeral containers and `old` the pod before.
pub(crate) fn ephemeral_containers(
    object: Value,
    old: &Value,
    namespace: &str,
    name: &str,
    settings: &Settings,
    lookups: &Lookups,
) -> Verdict {
    let named = |namespace: &str, metadata: &crate::object::Metadata| {
        let name = metadata.display_name();
        (format!("Pod {namespace}/{name}"), format!("Pod {name}"))
    };
    let unread = format!("Pod {namespace}/{name}");
    Pod::read(object, namespace, &unread, named)
        .and_then(|pod| ephemeral::judge(&pod, old, settings, lookups))
        .into()
}

/// Apply the plan; the mutated pod when anything changed.
fn write(mut pod: Pod, plan: &Plan) -> Result<Verdict, Rejection> {
    if !apply::apply(&mut pod.object, plan, &pod.subject.display)? {
        return Ok(Verdict::accept());
    }
    Ok(Outcome::Mutate(pod.object).into())
}

/// SPEC §8: what `legacyPodIdentity` says of an `aadpodidbinding` pod: a warning, a rejection,
/// or (`migrate`) the AzureIdentity found for it.
pub(crate) fn legacy_pod_identity(
    pod: &Pod,
    settings: &Settings,
    lookups: &Lookups,
    findings: &mut Findings,
) -> Result<Option<Migration>, Rejection> {
    let label = pod.label(names::LEGACY_POD_IDENTITY_LABEL);
    match legacy::check(&pod.subject, label, pod.opted_in(), settings)? {
        Legacy::Nothing => Ok(None),
        Legacy::Warning(warning) => {
            findings.warnings.push(warning);
            Ok(None)
        }
        Legacy::Migrate(selector) => {
            migrate::find(pod, selector, settings, lookups, &mut findings.warnings)
        }
    }
}

/// SPEC §4.1: no change; host calls only when a §6 check applies (a Key Vault CSI volume, a
/// hand-written token volume).
pub(crate) fn unlabeled(
    pod: &Pod,
    settings: &Settings,
    lookups: &Lookups,
    findings: &mut Findings,
) -> Result<(), Rejection> {
    let binding = pod.requests_token_for(&settings.identity_binding.audience);
    // A hand-written Workload Identity token: its literal client IDs face the allowlist
    // (SPEC §6); nothing injects the ServiceAccount's, so it is not looked up.
    let token =
        || !settings.allowed_client_ids.is_empty() && pod.requests_token_for(&settings.audience);
    let csi = pod.csi_volumes();
    if !binding && csi.is_empty() && !token() {
        return Ok(());
    }
    let spec = pod.spec()?;
    let sa = match binding {
        true => Some(service_account(pod, lookups)?),
        false => None,
    };
    findings
        .warnings
        .extend(spec.duplicate_client_id_warnings(&pod.subject.brief));
    let mut claims = Claims::new(binding, sa.as_ref(), &spec.literal_client_ids(), csi);
    claims.uses_tokens = binding || pod.requests_token_for(&settings.audience);
    claims.indirect = spec
        .indirect_client_ids()
        .into_iter()
        .map(|(c, how)| (Source::Container(c), how))
        .collect();
    let authorized = authorization::authorize(&claims, &pod.subject, settings, lookups)?;
    findings.record(&authorized);
    findings.warnings.extend(authorized.warnings);
    Ok(())
}

/// An opted-in pod's plan, authorized, with the warnings of SPEC §4.11. `sa` is `None` for a
/// template whose ServiceAccount does not exist yet.
pub(crate) fn labelled(
    pod: &Pod,
    spec: &Spec,
    sa: Option<&ServiceAccount>,
    migration: Option<&Migration>,
    settings: &Settings,
    lookups: &Lookups,
    findings: &mut Findings,
) -> Result<Plan, Rejection> {
    let plan = plan::plan(pod, spec, sa, settings, migration)?;
    findings
        .warnings
        .extend(spec.duplicate_client_id_warnings(&pod.subject.brief));
    let authorized = authorization::authorize(&plan.claims, &pod.subject, settings, lookups)?;
    findings.record(&authorized);
    findings.warnings.extend(authorized.warnings);
    findings
        .warnings
        .extend(warnings::planned(pod, spec, &plan));
    if sa.is_some() {
        findings
            .warnings
            .extend(warnings::labelled(pod, spec, &plan));
    }
    findings
        .warnings
        .extend(warnings::windows(spec, &pod.subject.brief));
    Ok(plan)
}

/// The pod's ServiceAccount (SPEC §4.2): missing or unreadable, the pod is rejected.
fn service_account(pod: &Pod, lookups: &Lookups) -> Result<ServiceAccount, Rejection> {
    let subject = &pod.subject;
    lookups
        .service_account(&subject.namespace, &subject.service_account)
        .map_err(|e| service_account_rejection(pod, &e))
}

/// Why a pod whose ServiceAccount lookup failed with `e` is rejected.
pub(crate) fn service_account_rejection(pod: &Pod, e: &LookupError) -> Rejection {
    let subject = &pod.subject;
    e.reject(format_args!(
        "{}: cannot read ServiceAccount {}/{}, which Workload Identity needs for the pod's \
         client ID",
        subject.display, subject.namespace, subject.service_account
    ))
}

#[cfg(test)]
mod tables;
