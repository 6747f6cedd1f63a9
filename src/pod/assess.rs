//! The one decision tree of the pod rules (reference §4, §6, §7, §8, §4.12): given a pod or
//! template, its identity facts, the context and the mode, what it gets (a plan), what it is
//! told (warnings), what the audit records, or why it is denied. Callers only apply, verify or
//! answer what it returns.

use std::collections::{BTreeMap, BTreeSet};

use super::facts::{Pod, Spec};
use super::identity::{ClientIdSources, Facts, Scope};
use super::migrate::{self, Migration};
use super::plan::{self, Plan};
use super::warnings;
use crate::authorization::{self, Authorized, Claims, Source, allowlist};
use crate::cluster::{LookupError, Lookups, ServiceAccount};
use crate::error::{Denial, Rejection};
use crate::format::audit_list;
use crate::legacy::{self, Legacy};
use crate::names;
use crate::request::{Context, Injector, Mode};

/// The decision tree's answer: the plan (a pod to inject or verify), or the denial; and, either
/// way, the warnings found on the way, and what the audit annotations of an admitted pod say.
pub(crate) struct Assessment {
    pub decision: Result<Option<Injection>, Rejection>,
    pub warnings: Vec<String>,
    pub audit: Audit,
}

/// What an opted-in (or migrated) pod gets, and the containers it was planned for.
pub(crate) struct Injection {
    pub plan: Plan,
    pub spec: Spec,
}

/// What the audit annotations of an admitted pod say (reference §9).
#[derive(Debug, Default)]
pub(crate) struct Audit {
    client_ids: BTreeSet<String>,
    reviewed: BTreeSet<String>,
    migrated_from: Option<String>,
}

impl Audit {
    fn record(&mut self, authorized: &Authorized) {
        self.client_ids
            .extend(authorized.client_ids.iter().cloned());
        self.reviewed.extend(authorized.reviewed.iter().cloned());
    }

    /// Empty for a pod that uses no client ID.
    pub fn annotations(self) -> BTreeMap<String, String> {
        let list = |ids: BTreeSet<String>| audit_list(&ids.into_iter().collect::<Vec<_>>());
        let mut annotations = BTreeMap::new();
        if self.client_ids.is_empty() {
            return annotations;
        }
        annotations.insert("client-ids".to_owned(), list(self.client_ids));
        if !self.reviewed.is_empty() {
            annotations.insert("reviewed-client-ids".to_owned(), list(self.reviewed));
        }
        if let Some(from) = self.migrated_from {
            annotations.insert("migrated-from".to_owned(), audit_list(&[from]));
        }
        annotations
    }
}

/// The decision tree. `before` names the ephemeral containers the pod had before an UPDATE of
/// `pods/ephemeralcontainers` (empty otherwise).
pub(crate) fn assess(pod: &Pod, ctx: &Context, mode: Mode, before: &[&str]) -> Assessment {
    let mut warnings = match mode {
        Mode::Ephemeral => Vec::new(),
        Mode::Create(_) | Mode::Template { .. } => warnings::keys(pod, ctx.settings),
    };
    let mut audit = Audit::default();
    let mut tree = || -> Result<Option<Injection>, Rejection> {
        let head = Facts::head(pod, ctx.settings);
        let injector = match mode {
            Mode::Ephemeral => {
                return ephemeral(pod, &head, ctx, before).map(|found| {
                    warnings.extend(found);
                    None
                });
            }
            Mode::Create(injector) | Mode::Template { injector, .. } => injector,
        };
        let (migration, found) = legacy_pod_identity(pod, &head, ctx)?;
        warnings.extend(found);
        match migration {
            // §8.6: beside a managed webhook nothing migrates the pods: say how to finish it.
            Some(found) if injector == Injector::ManagedWebhook => {
                warnings.extend(found.steps(pod, &found.client_id, false));
                if let Mode::Create(_) = mode {
                    audit.client_ids.insert(found.client_id.clone());
                    audit.migrated_from = Some(found.from.clone());
                }
                if let Some(authorized) = not_opted_in(pod, &head, ctx)? {
                    audit.record(&authorized);
                    warnings.extend(authorized.warnings);
                }
                Ok(None)
            }
            None if !head.labelled => {
                if let Some(authorized) = not_opted_in(pod, &head, ctx)? {
                    audit.record(&authorized);
                    warnings.extend(authorized.warnings);
                }
                Ok(None)
            }
            // An opted-in pod, or one carried over from AAD Pod Identity with its
            // AzureIdentity's client ID (§8.3); a template gets the checks its pods get (§7).
            migration => {
                let spec = pod.spec()?;
                let facts = head.with_containers(&spec);
                let sa = match (mode, service_account(pod, ctx.lookups)) {
                    (_, Ok(sa)) => Some(sa),
                    // §7: GitOps may create it later.
                    (Mode::Template { .. }, Err(LookupError::NotFound(_))) => {
                        warnings.push(format!(
                            "{}: create ServiceAccount {}: until it exists, its pods are rejected",
                            pod.subject.brief, pod.subject.service_account
                        ));
                        None
                    }
                    (_, Err(e)) => return Err(service_account_rejection(pod, e)),
                };
                let planned = Planned {
                    sa: sa.as_ref(),
                    migration: migration.as_ref(),
                    injector,
                    job_template: matches!(mode, Mode::Template { job: true, .. }),
                };
                let (plan, authorized, found) = opted_in(pod, &spec, &facts, planned, ctx)?;
                warnings.extend(found);
                audit.record(&authorized);
                if let Some(found) = &migration {
                    audit.migrated_from = Some(found.from.clone());
                    let id = plan.client_id.as_deref().unwrap_or(&found.client_id);
                    if id != found.client_id {
                        warnings.push(format!(
                            "{}: uses the client ID of ServiceAccount {} ({id}), not the \
                             AzureIdentity's ({})",
                            pod.subject.brief, pod.subject.service_account, found.client_id
                        ));
                    }
                    let migrated = matches!(mode, Mode::Create(_));
                    warnings.extend(found.steps(pod, id, migrated));
                }
                Ok(Some(Injection { plan, spec }))
            }
        }
    };
    let decision = tree();
    Assessment {
        decision,
        warnings,
        audit,
    }
}

/// §8: what `legacyPodIdentity` says of an `aadpodidbinding` pod: its warnings, a rejection,
/// or (`migrate`) the AzureIdentity found for it.
fn legacy_pod_identity(
    pod: &Pod,
    facts: &Facts,
    ctx: &Context,
) -> Result<(Option<Migration>, Vec<String>), Rejection> {
    let label = pod.label(names::LEGACY_POD_IDENTITY_LABEL);
    match legacy::check(&pod.subject, label, facts.labelled, ctx.settings)? {
        Legacy::Nothing => Ok((None, Vec::new())),
        Legacy::Warning(warning) => Ok((None, vec![warning])),
        Legacy::Migrate(selector) => migrate::find(pod, selector, ctx.settings, ctx.lookups),
    }
}

/// §4.1: a pod that is not opted in: no change; host calls only when a §6 check applies (a
/// Key Vault CSI volume, a hand-written token volume). `None` when none applies.
fn not_opted_in(pod: &Pod, head: &Facts, ctx: &Context) -> Result<Option<Authorized>, Rejection> {
    let settings = ctx.settings;
    // A hand-written Workload Identity token: its literal client IDs face the allowlist
    // (§6); nothing injects the ServiceAccount's, so it is not looked up.
    let token = head.workload_identity_token && allowlist::governs(settings);
    let binding = head.identity_binding(Scope::WholePod);
    if !binding && head.csi.is_empty() && !token {
        return Ok(None);
    }
    let spec = pod.spec()?;
    let facts = head.with_containers(&spec);
    let sa = match binding {
        true => Some(read_service_account(pod, ctx.lookups)?),
        false => None,
    };
    let account = sa.as_ref().map_or(Account::NotRead, Account::Read);
    let claims = claims(&facts, Scope::WholePod, &facts.containers, account, None);
    let mut authorized = authorization::authorize(&claims, &pod.subject, settings, ctx.lookups)?;
    let mut found = warnings::duplicate_client_ids(&facts.containers, &pod.subject.brief);
    found.append(&mut authorized.warnings);
    authorized.warnings = found;
    Ok(Some(authorized))
}

/// What an opted-in pod is planned with.
struct Planned<'a> {
    /// `None` for a template whose ServiceAccount does not exist yet.
    sa: Option<&'a ServiceAccount>,
    migration: Option<&'a Migration>,
    injector: Injector,
    /// A Job's or CronJob's template: its pods run to completion (§4.11).
    job_template: bool,
}

/// An opted-in pod's plan, authorized, with the warnings of §4.11.
fn opted_in(
    pod: &Pod,
    spec: &Spec,
    facts: &Facts,
    planned: Planned,
    ctx: &Context,
) -> Result<(Plan, Authorized, Vec<String>), Rejection> {
    let settings = ctx.settings;
    let Planned {
        sa,
        migration,
        injector,
        job_template,
    } = planned;
    let plan = plan::plan(pod, spec, facts, sa, settings, migration, injector)?;
    let injected = Injected {
        client_id: plan.client_id.as_deref(),
        by_policy: injector == Injector::Policy,
        taken: facts.takes_injected(&plan.skip, plan.proxy.is_some()),
        skip: &plan.skip,
    };
    let account = sa.map_or(Account::Missing, Account::Read);
    let claims = claims(
        facts,
        Scope::WholePod,
        &facts.containers,
        account,
        Some((migration, injected)),
    );
    let mut found = warnings::duplicate_client_ids(&facts.containers, &pod.subject.brief);
    let authorized = authorization::authorize(&claims, &pod.subject, settings, ctx.lookups)?;
    found.extend(authorized.warnings.iter().cloned());
    found.extend(warnings::planned(pod, spec, &plan, job_template));
    if sa.is_some() {
        found.extend(warnings::opted_in(pod, spec, facts, &plan));
    }
    found.extend(warnings::windows(spec, &pod.subject.brief));
    Ok((plan, authorized, found))
}

/// §4.12: an UPDATE of `pods/ephemeralcontainers`: the new containers' literal
/// `AZURE_CLIENT_ID` values get the checks a regular container's get at CREATE.
fn ephemeral(
    pod: &Pod,
    head: &Facts,
    ctx: &Context,
    before: &[&str],
) -> Result<Vec<String>, Rejection> {
    if !head.uses_tokens(Scope::AddedContainers) {
        return Ok(Vec::new());
    }
    let spec = pod.spec()?;
    let facts = head.with_containers(&spec);
    let added = facts.added_ephemeral(&spec, before);
    if added
        .iter()
        .all(|c| c.literal.is_empty() && c.indirect().is_none())
    {
        return Ok(Vec::new());
    }
    let claims = claims(
        &facts,
        Scope::AddedContainers,
        &added,
        Account::NotRead,
        None,
    );
    let mut warnings = warnings::duplicate_client_ids(&added, &pod.subject.brief);
    let authorized = authorization::authorize(&claims, &pod.subject, ctx.settings, ctx.lookups)?;
    warnings.extend(authorized.warnings);
    Ok(warnings)
}

/// What the policy injects into a pod's containers, as far as the claims care.
pub(super) struct Injected<'p> {
    /// The client ID injected: the ServiceAccount's, else a migrated pod's.
    pub client_id: Option<&'p str>,
    /// This policy injects it (not a managed webhook beside it).
    pub by_policy: bool,
    /// Some container that is not skipped takes it.
    pub taken: bool,
    /// Containers that get nothing injected.
    pub skip: &'p BTreeSet<String>,
}

/// The pod's ServiceAccount as the claims see it.
#[derive(Clone, Copy)]
pub(super) enum Account<'a> {
    Read(&'a ServiceAccount),
    /// A template's, which does not exist yet (§7): no identity-binding review applies.
    Missing,
    /// Not looked up: nothing injects its client ID.
    NotRead,
}

/// The claims of a pod (reference §6), from its facts: the one constructor. `sources` are the
/// containers judged (the pod's, or the ephemeral ones added); `opted_in` the migration and
/// what is injected, for an opted-in (or migrated) pod.
pub(super) fn claims(
    facts: &Facts,
    scope: Scope,
    sources: &[ClientIdSources],
    account: Account,
    opted_in: Option<(Option<&Migration>, Injected)>,
) -> Claims {
    let source = |container: &str| match scope {
        Scope::WholePod => Source::Container(container.to_owned()),
        Scope::AddedContainers => Source::EphemeralContainer(container.to_owned()),
    };
    let mut claims = Claims::new(
        facts.identity_binding(scope) && !matches!(account, Account::Missing),
        facts.uses_tokens(scope),
        scope == Scope::WholePod,
        // An ephemeral container cannot add volumes (§4.12).
        match scope {
            Scope::WholePod => facts.csi.clone(),
            Scope::AddedContainers => Vec::new(),
        },
    );
    let (migration, injected) = match opted_in {
        Some((migration, injected)) => (migration, Some(injected)),
        None => (None, None),
    };
    let sa_client_id = match account {
        Account::Read(sa) => sa
            .annotation(names::CLIENT_ID)
            .filter(|v| !v.is_empty())
            .map(|id| (id, format!("{}/{}", sa.namespace, sa.name))),
        Account::Missing | Account::NotRead => None,
    };
    // The injected client ID (the ServiceAccount's, else the AzureIdentity's) is one the pod
    // uses only when some container takes it (§6); a pod that injects nothing (a hand-written
    // identity-binding token) uses its ServiceAccount's as its token's subject.
    let taken = injected.as_ref().is_none_or(|i| i.taken);
    let migrated = migration.filter(|_| taken && sa_client_id.is_none());
    if let Some((id, sa)) = sa_client_id.filter(|_| taken) {
        claims.add(id, Source::ServiceAccount(sa));
    }
    for (container, id) in sources.iter().flat_map(ClientIdSources::literals) {
        claims.add(id, source(container));
    }
    if let Some(m) = migrated {
        claims.add(&m.client_id, Source::AzureIdentity(m.identity.clone()));
    }
    // What the policy injects wins over `envFrom`: only containers it leaves alone count; on
    // Windows an `envFrom` source counts anyway (§6).
    let counts = |c: &ClientIdSources, how| match &injected {
        Some(injected) => {
            how == authorization::Indirect::ValueFrom
                || facts.windows
                || !(injected.by_policy && injected.client_id.is_some())
                || injected.skip.contains(&c.container)
        }
        None => true,
    };
    claims.indirect = sources
        .iter()
        .filter_map(|c| Some((c, c.indirect()?)))
        .filter(|(c, how)| counts(c, *how))
        .map(|(c, how)| (source(&c.container), how))
        .collect();
    claims
}

/// The pod's ServiceAccount (§4.2): missing or unreadable, the pod is rejected.
fn read_service_account(pod: &Pod, lookups: &Lookups) -> Result<ServiceAccount, Rejection> {
    service_account(pod, lookups).map_err(|e| service_account_rejection(pod, e))
}

fn service_account(pod: &Pod, lookups: &Lookups) -> Result<ServiceAccount, LookupError> {
    let subject = &pod.subject;
    lookups.service_account(&subject.namespace, &subject.service_account)
}

/// Why a pod whose ServiceAccount lookup failed with `error` is rejected.
fn service_account_rejection(pod: &Pod, error: LookupError) -> Rejection {
    let subject = &pod.subject;
    Denial::ServiceAccount {
        namespace: subject.namespace.clone(),
        name: subject.service_account.clone(),
        error,
    }
    .of(&subject.display)
}
