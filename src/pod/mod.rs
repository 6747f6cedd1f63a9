//! Pod CREATE (SPEC §4): the pod rules run one way, read → look up → plan → authorize → verify
//! or apply. [`judge`] runs the rules every pod and pod template share and returns a
//! [`Judgement`]; [`evaluate`] decides, for an admitted pod, whether to verify (validate-only)
//! or apply; `workload` decides what a missing ServiceAccount means for a template.

mod apply;
mod facts;
mod layout;
mod migrate;
mod plan;
mod proxy;
mod verify;
mod warnings;

use crate::authorization::{self, Claims};
use crate::cluster::{LookupError, Lookups, ServiceAccount};
use crate::json::Node;
use crate::legacy::{self, Legacy};
use crate::names;
use crate::object::expand_spec;
use crate::object::pod::{PodHead, PodText};
use crate::settings::Settings;
use crate::verdict::{Mutated, Rejection, Verdict};

use facts::PodFacts;
use plan::{Plan, plan};

/// The most bytes reserved up front for writing a mutated pod (more are allocated if needed).
const MAX_SIZE_HINT: usize = 8 << 20;

/// A pod CREATE as this module needs it, and no more of the request.
pub(crate) struct PodInput<'a> {
    pub object: PodObject<'a>,
    /// The request's namespace and name (the object's own are used when these are empty).
    pub namespace: &'a str,
    pub name: &'a str,
    /// The request's text, which the object was read from: what is written is sized by it,
    /// and copied from it where unchanged.
    pub source: &'a str,
}

/// The pod's object: read in the envelope's pass, or still text when `object` came before
/// `kind`.
pub(crate) enum PodObject<'a> {
    Read(PodText<'a>),
    Text(&'a str),
    Missing,
}

/// What the caller of [`judge`] does with the outcome: how a missing ServiceAccount counts,
/// and whether it writes a plan (only then is a legacy pod migrated, SPEC §8.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Caller {
    pub missing_service_account: MissingServiceAccount,
    pub applies_plans: bool,
}

/// What a missing ServiceAccount means to the caller of [`judge`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MissingServiceAccount {
    /// An admitted pod needs it now (SPEC §4.2).
    Reject,
    /// A workload template: GitOps may create it after the workload (SPEC §7).
    Warn,
}

/// What the pod rules found, before anything is written.
pub(crate) struct Judgement<'a> {
    /// In the order they were found.
    pub warnings: Vec<String>,
    /// The refusal, or `Some` for an opted-in pod: its document read to the full spec shape
    /// and its plan (which says, in its claims, whether the ServiceAccount was found).
    pub outcome: Result<Option<(Node<'a>, Plan)>, Rejection>,
}

/// SPEC §4 for an admitted pod: judge it, then verify it (validate-only) or apply the plan.
pub(crate) fn evaluate(input: PodInput, settings: &Settings, lookups: &Lookups) -> Verdict {
    let cannot_read = |e: serde_json::Error| {
        Verdict::from(Rejection::BadRequest(format!(
            "Pod {}/{}: cannot read its metadata or volumes: {e}",
            input.namespace, input.name
        )))
    };
    let PodText {
        node: pod,
        metadata,
    } = match input.object {
        PodObject::Read(pod) => pod,
        PodObject::Text(text) => match PodText::parse(text) {
            Ok(pod) => pod,
            Err(e) => return cannot_read(e),
        },
        PodObject::Missing => {
            return Rejection::BadRequest("Pod admission request carries no object".into()).into();
        }
    };
    let head = match PodHead::from_node(&pod, metadata) {
        Ok(head) => head,
        Err(e) => return cannot_read(e),
    };
    let namespace = match input.namespace {
        "" => head.metadata.namespace.as_deref().unwrap_or_default(),
        namespace => namespace,
    };
    let display = format!("Pod {namespace}/{}", head.display_name());
    let brief = format!("Pod {}", head.display_name());
    let caller = Caller {
        missing_service_account: MissingServiceAccount::Reject,
        applies_plans: settings.mutate,
    };
    let Judgement { warnings, outcome } = judge(
        &head,
        pod,
        namespace,
        (&display, &brief),
        settings,
        lookups,
        caller,
    );
    let verdict = match outcome {
        Ok(None) => Ok(Verdict::accept()),
        Ok(Some((pod, plan))) if !settings.mutate => {
            verify::verify(&pod, &head, (&display, &brief), &plan, settings)
                .map(|found| Verdict::accept().with_warnings(found))
        }
        Ok(Some((mut pod, plan))) => write(&mut pod, &plan, &display, input.source),
        Err(rejection) => Err(rejection),
    };
    verdict
        .unwrap_or_else(Verdict::from)
        .with_warnings(warnings)
}

/// Apply the plan; the mutated pod when anything changed.
fn write(pod: &mut Node, plan: &Plan, display: &str, source: &str) -> Result<Verdict, Rejection> {
    if !apply::apply(pod, plan, display)? {
        return Ok(Verdict::accept());
    }
    let capacity = source.len().min(MAX_SIZE_HINT) * 2;
    let object = Mutated::write(capacity, |out| pod.write_from(source, out))
        .map_err(|e| Rejection::BadRequest(format!("{display}: cannot write it: {e}")))?;
    Ok(Verdict::Mutate {
        object,
        warnings: Vec::new(),
    })
}

/// Every pod rule of SPEC §4, §4a, §6 and §8 shared by pods and pod templates. `pod` is the
/// document as the envelope read it; its containers are read only on the paths that need them.
/// `names` is how rejections name the object (`Pod ns/name`), then how warnings do: without
/// the namespace, so that every warning fits the API server's 256 characters (SPEC §9).
pub(crate) fn judge<'a>(
    head: &PodHead,
    pod: Node<'a>,
    namespace: &str,
    (display, brief): (&str, &str),
    settings: &Settings,
    lookups: &Lookups,
    caller: Caller,
) -> Judgement<'a> {
    let mut warnings = warnings::keys(head, brief, settings);
    let missing = caller.missing_service_account;
    let outcome = legacy::check(
        (display, brief),
        head.label(names::LEGACY_POD_IDENTITY_LABEL),
        head.opted_in(),
        settings,
    )
    .and_then(|legacy| {
        let facts = (head, namespace, display, brief);
        let migration = match legacy {
            Legacy::Nothing => None,
            Legacy::Warning(warning) => {
                warnings.push(warning);
                None
            }
            Legacy::Migrate(selector) => {
                match migrate::find(selector, namespace, (display, brief), lookups)? {
                    Ok(found) => Some(found),
                    Err(warning) => {
                        warnings.push(warning);
                        None
                    }
                }
            }
        };
        match migration {
            Some(found) if caller.applies_plans => {
                let (pod, plan) = labelled(
                    facts,
                    pod,
                    settings,
                    lookups,
                    missing,
                    Some(&found),
                    &mut warnings,
                )?;
                let id = plan.client_id.as_deref().unwrap_or(&found.client_id);
                if id != found.client_id {
                    warnings.push(format!(
                        "{brief}: uses the client ID of ServiceAccount {} ({id}), not the \
                         AzureIdentity's ({})",
                        head.service_account(),
                        found.client_id
                    ));
                }
                warnings.extend(found.steps(brief, namespace, head.service_account(), id, true));
                Ok(Some((pod, plan)))
            }
            Some(found) => {
                let sa = head.service_account();
                warnings.extend(found.steps(brief, namespace, sa, &found.client_id, false));
                unlabeled(facts, pod, settings, lookups, &mut warnings).map(|()| None)
            }
            None if head.opted_in() => {
                labelled(facts, pod, settings, lookups, missing, None, &mut warnings).map(Some)
            }
            None => unlabeled(facts, pod, settings, lookups, &mut warnings).map(|()| None),
        }
    });
    Judgement { warnings, outcome }
}

type Named<'p> = (&'p PodHead<'p>, &'p str, &'p str, &'p str);

/// SPEC §4.1: no change; host calls only when a §6 check applies (a Key Vault CSI volume, a
/// hand-written identity-binding token).
fn unlabeled(
    (head, namespace, display, brief): Named,
    pod: Node,
    settings: &Settings,
    lookups: &Lookups,
    warnings: &mut Vec<String>,
) -> Result<(), Rejection> {
    let binding = head.requests_token_for(&settings.identity_binding.audience);
    // A hand-written Workload Identity token: its literal client IDs face the allowlist
    // (SPEC §6); nothing injects the ServiceAccount's, so it is not looked up.
    let token =
        || !settings.allowed_client_ids.is_empty() && head.requests_token_for(&settings.audience);
    if !binding && head.csi_provider_classes().next().is_none() && !token() {
        return Ok(());
    }
    let pod = read_spec(pod, display)?;
    let facts = PodFacts::new(head, namespace, (display, brief), &pod);
    let sa = match binding {
        true => Some(service_account(&facts, lookups)?),
        false => None,
    };
    let mut claims = Claims::new(
        binding,
        sa.as_ref(),
        &facts.literal_client_ids,
        facts.csi_volumes(),
    );
    claims.indirect = facts.indirect_client_ids.clone();
    warnings.extend(authorization::authorize(
        &claims,
        &facts.subject(),
        settings,
        lookups,
    )?);
    Ok(())
}

/// The opted-in path: read the containers, look up the ServiceAccount, plan, authorize.
fn labelled<'a>(
    (head, namespace, display, brief): Named,
    pod: Node<'a>,
    settings: &Settings,
    lookups: &Lookups,
    missing: MissingServiceAccount,
    migration: Option<&migrate::Migration>,
    warnings: &mut Vec<String>,
) -> Result<(Node<'a>, Plan), Rejection> {
    let pod = read_spec(pod, display)?;
    let facts = PodFacts::new(head, namespace, (display, brief), &pod);
    let sa = match service_account(&facts, lookups) {
        Ok(sa) => Some(sa),
        Err(Missing(_)) if missing == MissingServiceAccount::Warn => {
            warnings.push(format!(
                "{brief}: create ServiceAccount {}: until it exists, its pods are rejected",
                head.service_account()
            ));
            None
        }
        Err(Failed(rejection) | Missing(rejection)) => return Err(rejection),
    };
    let plan = plan(&facts, sa.as_ref(), settings, migration)?;
    warnings.extend(authorization::authorize(
        &plan.claims,
        &facts.subject(),
        settings,
        lookups,
    )?);
    if sa.is_some() {
        warnings.extend(warnings::labelled(&facts, &pod, &plan));
    }
    warnings.extend(warnings::windows(&pod, brief));
    Ok((pod, plan))
}

/// Read the containers and the node-placement fields too (SPEC §4 and §6 need env and mounts).
fn read_spec<'a>(mut pod: Node<'a>, display: &str) -> Result<Node<'a>, Rejection> {
    expand_spec(&mut pod)
        .map_err(|e| Rejection::BadRequest(format!("{display}: cannot read it: {e}")))?;
    Ok(pod)
}

/// A failed ServiceAccount lookup: the object is missing, or the lookup failed.
enum SaError {
    Missing(Rejection),
    Failed(Rejection),
}
use SaError::{Failed, Missing};

fn service_account(facts: &PodFacts, lookups: &Lookups) -> Result<ServiceAccount, SaError> {
    let (namespace, name) = (facts.namespace, facts.head.service_account());
    lookups.service_account(namespace, name).map_err(|e| {
        let rejection = e.reject(format_args!(
            "{}: cannot read ServiceAccount {namespace}/{name}, which Workload Identity needs \
             for the pod's client ID",
            facts.display
        ));
        match e {
            LookupError::NotFound(_) => Missing(rejection),
            _ => Failed(rejection),
        }
    })
}

impl From<SaError> for Rejection {
    fn from(e: SaError) -> Self {
        let (Missing(rejection) | Failed(rejection)) = e;
        rejection
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod proptests;

#[cfg(test)]
mod tables;
