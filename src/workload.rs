//! Workload pod templates (SPEC §7): the pod rules run on the template with its namespace and
//! ServiceAccount, so a bad template fails at `kubectl apply`, not in a ReplicaSet's events.
//! Templates are never mutated: the pods they create are.

use serde::Deserialize;
use serde_json::Value;

use crate::cluster::{LookupError, Lookups};
use crate::object::{Metadata, read};
use crate::pod::{self, Findings, Pod};
use crate::request::WorkloadKind;
use crate::settings::Settings;
use crate::verdict::{Rejection, Verdict};

/// What a workload is read for besides its pod template.
#[derive(Deserialize)]
struct Workload {
    #[serde(default)]
    metadata: Metadata,
}

/// SPEC §7 for a workload of `kind` admitted in `namespace`; `name` is the request's.
pub(crate) fn evaluate(
    kind: WorkloadKind,
    object: &Value,
    namespace: &str,
    name: &str,
    settings: &Settings,
    lookups: &Lookups,
) -> Verdict {
    let fallback = format!("{} {namespace}/{name}", kind.name());
    if object.is_null() {
        return Rejection::bad_request(format!("{fallback}: the request carries no object")).into();
    }
    let workload: Workload = match read(object) {
        Ok(w) => w,
        Err(e) => return Rejection::bad_request(format!("{fallback}: cannot read it: {e}")).into(),
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
    let names = |_: &str, _: &Metadata| (display.clone(), brief.clone());
    let pod = match Pod::read(template.clone(), namespace, &display, names) {
        Ok(pod) => pod,
        Err(rejection) => return rejection.into(),
    };
    let mut findings = Findings::new(pod::key_warnings(&pod, settings));
    let judged = judge(&pod, settings, lookups, &mut findings);
    // A template's findings are warnings only: the pods it creates are audited.
    Verdict::from(judged.map(|()| Verdict::accept())).with_warnings(findings.warnings)
}

/// The pod rules on a template: the same steps as a pod CREATE, but nothing is written or
/// verified, and a missing ServiceAccount is a warning (GitOps may create it later).
fn judge(
    pod: &Pod,
    settings: &Settings,
    lookups: &Lookups,
    findings: &mut Findings,
) -> Result<(), Rejection> {
    match pod::legacy_pod_identity(pod, settings, lookups, findings)? {
        Some(found) => {
            findings
                .warnings
                .extend(found.steps(pod, &found.client_id, false));
            pod::unlabeled(pod, settings, lookups, findings)
        }
        None if !pod.opted_in() => pod::unlabeled(pod, settings, lookups, findings),
        None => {
            let spec = pod.spec()?;
            let subject = &pod.subject;
            let sa = match lookups.service_account(&subject.namespace, &subject.service_account) {
                Ok(sa) => Some(sa),
                Err(LookupError::NotFound(_)) => {
                    findings.warnings.push(format!(
                        "{}: create ServiceAccount {}: until it exists, its pods are rejected",
                        subject.brief, subject.service_account
                    ));
                    None
                }
                Err(e) => return Err(pod::service_account_rejection(pod, &e)),
            };
            pod::labelled(pod, &spec, sa.as_ref(), None, settings, lookups, findings).map(drop)
        }
    }
}
