//! Workload pod templates (SPEC §7): the pod rules run on the template with its namespace and
//! ServiceAccount, so a bad template fails at `kubectl apply`, not in a ReplicaSet's events.
//! Templates are never mutated: the pods they create are.

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::cluster::Lookups;
use crate::pod::head::{PodHead, PodText, Str};
use crate::pod::{self, Target};
use crate::request::AdmissionRequest;
use crate::settings::Settings;
use crate::verdict::{BAD_REQUEST, Verdict};

/// The workload kinds whose pod template is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkloadKind {
    Deployment,
    StatefulSet,
    DaemonSet,
    ReplicaSet,
    ReplicationController,
    Job,
    CronJob,
}

impl WorkloadKind {
    fn name(self) -> &'static str {
        match self {
            Self::Deployment => "Deployment",
            Self::StatefulSet => "StatefulSet",
            Self::DaemonSet => "DaemonSet",
            Self::ReplicaSet => "ReplicaSet",
            Self::ReplicationController => "ReplicationController",
            Self::Job => "Job",
            Self::CronJob => "CronJob",
        }
    }
}

#[derive(Deserialize)]
struct Workload<'a> {
    #[serde(borrow, default)]
    metadata: Meta<'a>,
    #[serde(borrow, default)]
    spec: Option<Spec<'a>>,
}

#[derive(Deserialize, Default)]
struct Meta<'a> {
    #[serde(borrow, default)]
    name: Option<Str<'a>>,
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

pub fn evaluate(
    kind: WorkloadKind,
    request: &AdmissionRequest,
    settings: &Settings,
    lookups: &Lookups,
) -> Verdict {
    let namespace = &request.namespace;
    let fallback = format!("{} {namespace}/{}", kind.name(), request.name);
    let Some(raw) = request.object else {
        return Verdict::reject(
            BAD_REQUEST,
            format!("{fallback}: the request carries no object"),
        );
    };
    let workload: Workload = match serde_json::from_str(raw.get()) {
        Ok(w) => w,
        Err(e) => return Verdict::reject(BAD_REQUEST, format!("{fallback}: cannot read it: {e}")),
    };
    let name = workload
        .metadata
        .name
        .as_deref()
        .filter(|n| !n.is_empty())
        .unwrap_or(&request.name);
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
    let template_size = template.get().len();
    let read = PodText::parse(template.get())
        .and_then(|pod| PodHead::from_node(&pod.node, pod.metadata).map(|head| (pod.node, head)));
    let (template, head) = match read {
        Ok(read) => read,
        Err(e) => {
            return Verdict::reject(
                BAD_REQUEST,
                format!("{display}: cannot read its metadata or volumes: {e}"),
            );
        }
    };
    let judged = pod::Judged {
        size: template_size,
        head: &head,
        namespace,
        display: &display,
        target: Target::Template,
    };
    pod::judge(&judged, template, settings, lookups)
}

#[cfg(test)]
mod tests;
