//! Workload pod templates (SPEC §7): the pod rules run on the template with its namespace and
//! ServiceAccount, so a bad template fails at `kubectl apply`, not in a ReplicaSet's events.
//! Templates are never mutated: the pods they create are.

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::cluster::Lookups;
use crate::object::Metadata;
use crate::object::pod::{PodHead, PodText};
use crate::pod::{self, Caller, Judgement, MissingServiceAccount};
use crate::request::{AdmissionRequest, WorkloadKind};
use crate::settings::Settings;
use crate::verdict::{Rejection, Verdict};

#[derive(Deserialize)]
struct Workload<'a> {
    #[serde(borrow, default)]
    metadata: Metadata<'a>,
    #[serde(borrow, default)]
    spec: Option<Spec<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Spec<'a> {
    #[serde(borrow, default)]
    template: Option<&'a RawValue>,
    #[serde(borrow, default)]
    job_template: Option<JobTemplate<'a>>,
}

#[derive(Deserialize)]
struct JobTemplate<'a> {
    #[serde(borrow, default)]
    spec: Option<JobSpec<'a>>,
}

#[derive(Deserialize)]
struct JobSpec<'a> {
    #[serde(borrow, default)]
    template: Option<&'a RawValue>,
}

pub(crate) fn evaluate(
    kind: WorkloadKind,
    request: &AdmissionRequest,
    settings: &Settings,
    lookups: &Lookups,
) -> Verdict {
    let namespace = &request.namespace;
    let fallback = format!("{} {namespace}/{}", kind.name(), request.name);
    let Some(raw) = request.object else {
        return Rejection::BadRequest(format!("{fallback}: the request carries no object")).into();
    };
    let workload: Workload = match serde_json::from_str(raw.get()) {
        Ok(w) => w,
        Err(e) => return Rejection::BadRequest(format!("{fallback}: cannot read it: {e}")).into(),
    };
    let name = workload.metadata.name().unwrap_or(&request.name);
    let spec = workload.spec.as_ref();
    let template = match kind {
        WorkloadKind::CronJob => spec
            .and_then(|s| s.job_template.as_ref())
            .and_then(|j| j.spec.as_ref())
            .and_then(|j| j.template),
        _ => spec.and_then(|s| s.template),
    };
    let Some(template) = template.filter(|t| t.get() != "null") else {
        return Verdict::accept();
    };
    let display = format!("{} {namespace}/{name}: pod template", kind.name());
    let read = PodText::parse(template.get())
        .and_then(|pod| PodHead::from_node(&pod.node, pod.metadata).map(|head| (pod.node, head)));
    let (template, head) = match read {
        Ok(read) => read,
        Err(e) => {
            return Rejection::BadRequest(format!(
                "{display}: cannot read its metadata or volumes: {e}"
            ))
            .into();
        }
    };
    // Templates are never mutated or verified: the pods they create are.
    let brief = format!("{} {name} template", kind.name());
    let Judgement { warnings, outcome } = pod::judge(
        &head,
        template,
        namespace,
        (&display, &brief),
        settings,
        lookups,
        Caller {
            missing_service_account: MissingServiceAccount::Warn,
            applies_plans: false,
        },
    );
    match outcome {
        Ok(_) => Verdict::accept(),
        Err(rejection) => rejection.into(),
    }
    .with_warnings(warnings)
}

#[cfg(test)]
mod tests;
