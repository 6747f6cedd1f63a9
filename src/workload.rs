//! Workload pod templates (reference §7): the pod rules run on the template with its namespace and
//! ServiceAccount, so a bad template fails at `kubectl apply`, not in a ReplicaSet's events.
//! Templates are never mutated: the pods they create are.

use serde::Deserialize;
use serde_json::Value;

use crate::error::Denial;
use crate::object::{Metadata, read};
use crate::pod;
use crate::request::{Context, Injector, WorkloadKind};
use crate::verdict::Verdict;

/// What a workload is read for besides its pod template.
#[derive(Deserialize)]
struct Workload {
    #[serde(default)]
    metadata: Metadata,
}

/// reference §7 for a workload of `kind` admitted in `namespace`; `name` is the request's.
pub(crate) fn evaluate(
    kind: WorkloadKind,
    object: &Value,
    namespace: &str,
    name: &str,
    injector: Injector,
    ctx: &Context,
) -> Verdict {
    let fallback = format!("{} {namespace}/{name}", kind.name());
    if object.is_null() {
        return Verdict::from(Denial::NoObject.of(&fallback));
    }
    let workload: Workload = match read(object) {
        Ok(w) => w,
        Err(error) => {
            let what = "it";
            return Verdict::from(Denial::Unreadable { what, error }.of(&fallback));
        }
    };
    let name = workload.metadata.name().unwrap_or(name);
    let template = match kind {
        WorkloadKind::CronJob => object.pointer("/spec/jobTemplate/spec/template"),
        _ => object.pointer("/spec/template"),
    };
    let Some(template) = template.filter(|t| !t.is_null()) else {
        return Verdict::accept();
    };
    let display = format!("{} {namespace}/{name}: pod template", kind.name());
    let brief = format!("{} {name} template", kind.name());
    let job = matches!(kind, WorkloadKind::Job | WorkloadKind::CronJob);
    pod::template(
        template.clone(),
        namespace,
        (display, brief),
        injector,
        job,
        ctx,
    )
}
