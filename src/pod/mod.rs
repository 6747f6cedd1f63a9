//! Pods and pod templates (reference §4, §7, §4.12): each entry reads the object, asks the
//! one decision tree ([`assess`]) and applies, verifies or answers what it returns.

mod apply;
mod assess;
mod facts;
mod identity;
mod layout;
mod migrate;
mod plan;
mod proxy;
mod verify;
mod warnings;

use serde_json::Value;

pub(crate) use facts::Pod;
pub(crate) use plan::Plan;

use crate::error::{Denial, Rejection};
use crate::object::Metadata;
use crate::request::{Context, Injector, Mode};
use crate::verdict::{Outcome, Verdict};
use assess::Injection;

/// How messages name a pod: `(display, brief)`.
fn pod_names(namespace: &str, metadata: &Metadata) -> (String, String) {
    let name = metadata.display_name();
    (format!("Pod {namespace}/{name}"), format!("Pod {name}"))
}

/// Reference §4: a pod CREATE, `object` as the request carries it; `injector` says who
/// injects.
pub(crate) fn create(
    object: Value,
    namespace: &str,
    name: &str,
    injector: Injector,
    ctx: &Context,
) -> Verdict {
    if object.is_null() {
        return Rejection::from(Denial::NoPodObject).into();
    }
    let pod = match Pod::read(
        object,
        namespace,
        &format!("Pod {namespace}/{name}"),
        pod_names,
    ) {
        Ok(pod) => pod,
        Err(rejection) => return rejection.into(),
    };
    let assessment = assess::assess(&pod, ctx, Mode::Create(injector), &[]);
    let mut warnings = assessment.warnings;
    let verdict = match (assessment.decision, injector) {
        (Err(rejection), _) => Verdict::from(rejection),
        (Ok(None), _) => Verdict::accept(),
        (Ok(Some(injection)), Injector::Policy) => write(pod, &injection.plan).into(),
        (Ok(Some(Injection { plan, spec })), Injector::ManagedWebhook) => {
            match verify::verify(&pod, &spec, &plan, ctx.settings) {
                Ok(found) => {
                    warnings.extend(found);
                    Verdict::accept()
                }
                Err(rejection) => rejection.into(),
            }
        }
    };
    verdict
        .with_warnings(warnings)
        .with_audit(assessment.audit.annotations())
}

/// Reference §4.12: an UPDATE of `pods/ephemeralcontainers`, `object` the pod with its new
/// ephemeral containers and `old` the pod before.
pub(crate) fn ephemeral_containers(
    object: Value,
    old: &Value,
    namespace: &str,
    name: &str,
    ctx: &Context,
) -> Verdict {
    let unread = format!("Pod {namespace}/{name}");
    let pod = match Pod::read(object, namespace, &unread, pod_names) {
        Ok(pod) => pod,
        Err(rejection) => return rejection.into(),
    };
    let before: Vec<&str> = old
        .pointer("/spec/ephemeralContainers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| c.get("name")?.as_str())
        .collect();
    let assessment = assess::assess(&pod, ctx, Mode::Ephemeral, &before);
    Verdict::from(assessment.decision.map(|_| Verdict::accept())).with_warnings(assessment.warnings)
}

/// Reference §7: a workload's pod template, read as a pod named `display`/`brief`: the pod
/// rules run on it, and it is never mutated nor verified. `job`: a Job's or CronJob's, whose
/// pods run to completion.
pub(crate) fn template(
    template: Value,
    namespace: &str,
    (display, brief): (String, String),
    injector: Injector,
    job: bool,
    ctx: &Context,
) -> Verdict {
    let names = |_: &str, _: &Metadata| (display.clone(), brief.clone());
    let pod = match Pod::read(template, namespace, &display, names) {
        Ok(pod) => pod,
        Err(rejection) => return rejection.into(),
    };
    let assessment = assess::assess(&pod, ctx, Mode::Template { injector, job }, &[]);
    // A template's findings are warnings only: the pods it creates are audited.
    Verdict::from(assessment.decision.map(|_| Verdict::accept())).with_warnings(assessment.warnings)
}

/// Apply the plan; the mutated pod when anything changed.
fn write(mut pod: Pod, plan: &Plan) -> Result<Verdict, Rejection> {
    if !apply::apply(&mut pod.object, plan, &pod.subject.display)? {
        return Ok(Verdict::accept());
    }
    Ok(Outcome::Mutate(pod.object).into())
}

#[cfg(test)]
mod tables;
