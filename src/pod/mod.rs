//! Pod CREATE (SPEC §4): opt-in check, ServiceAccount lookup, plan, surgical apply.

mod apply;
pub mod head;
pub mod layout;
pub mod plan;
pub mod proxy;

use serde_json::Value;

use crate::cluster::{LookupError, Lookups, ServiceAccount};
use crate::format::quote;
use crate::names;
use crate::request::AdmissionRequest;
use crate::settings::Settings;
use crate::verdict::{BAD_REQUEST, HOST_FAILURE, Verdict};
use head::PodHead;
use plan::{Plan, PodFacts};
use proxy::ProxyRequest;

/// A rejection on its way to becoming a [`Verdict`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub code: u16,
    pub message: String,
}

impl Rejection {
    pub fn new(code: u16, message: String) -> Self {
        Self { code, message }
    }
}

impl From<Rejection> for Verdict {
    fn from(r: Rejection) -> Self {
        Verdict::reject(r.code, r.message)
    }
}

pub fn evaluate(request: &AdmissionRequest, settings: &Settings, lookups: &Lookups) -> Verdict {
    let Some(raw) = request.object else {
        return Verdict::reject(BAD_REQUEST, "Pod admission request carries no object");
    };
    let head: PodHead = match serde_json::from_str(raw.get()) {
        Ok(head) => head,
        Err(e) => {
            return Verdict::reject(
                BAD_REQUEST,
                format!(
                    "Pod {}/{}: cannot read its metadata or volumes: {e}",
                    request.namespace, request.name
                ),
            );
        }
    };
    let namespace = if request.namespace.is_empty() {
        head.metadata.namespace.as_deref().unwrap_or_default()
    } else {
        &request.namespace
    };
    let display = format!("{namespace}/{}", head.display_name());
    let mut warnings = Vec::new();
    warnings.extend(
        ProxyRequest::from_annotation(head.annotation(names::INJECT_PROXY)).warning(&display),
    );
    if !head.opted_in() {
        return Verdict::accept().with_warnings(warnings);
    }
    match labelled(
        raw.get(),
        &head,
        namespace,
        &display,
        settings,
        lookups,
        &mut warnings,
    ) {
        Ok(verdict) => verdict,
        Err(rejection) => Verdict::from(rejection),
    }
    .with_warnings(warnings)
}

/// The opted-in path: read the whole pod, look up its ServiceAccount, plan, apply.
fn labelled(
    raw: &str,
    head: &PodHead,
    namespace: &str,
    display: &str,
    settings: &Settings,
    lookups: &Lookups,
    warnings: &mut Vec<String>,
) -> Result<Verdict, Rejection> {
    let mut pod: Value = serde_json::from_str(raw)
        .map_err(|e| Rejection::new(BAD_REQUEST, format!("Pod {display}: cannot read it: {e}")))?;
    let spec = pod.get("spec");
    let sa_name = spec
        .and_then(|s| s.get("serviceAccountName"))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .unwrap_or("default")
        .to_owned();
    let sa = service_account(lookups, namespace, &sa_name, display)?;
    let facts = PodFacts {
        head,
        display,
        namespace,
        host_network: spec.and_then(|s| s.get("hostNetwork")) == Some(&Value::Bool(true)),
        windows: spec
            .and_then(|s| s.pointer("/os/name"))
            .and_then(Value::as_str)
            == Some("windows"),
    };
    let plan = plan::plan(&facts, &sa, settings)?;
    warnings.extend(labelled_warnings(&pod, &plan, display));
    if !settings.mutate {
        return Ok(Verdict::accept());
    }
    if apply::apply(&mut pod, &plan, display)? {
        Ok(Verdict::Mutate {
            object: pod,
            warnings: Vec::new(),
        })
    } else {
        Ok(Verdict::accept())
    }
}

fn service_account(
    lookups: &Lookups,
    namespace: &str,
    name: &str,
    display: &str,
) -> Result<ServiceAccount, Rejection> {
    lookups.service_account(namespace, name).map_err(|e| {
        let code = match e {
            LookupError::NotFound(_) => BAD_REQUEST,
            LookupError::Host(_) | LookupError::Malformed(_) => HOST_FAILURE,
        };
        Rejection::new(
            code,
            format!(
                "Pod {display}: cannot read ServiceAccount {namespace}/{name}, which Workload \
                 Identity needs for the pod's client ID: {}",
                e.cause()
            ),
        )
    })
}

/// Every container of the pod, init containers first, as JSON objects.
pub fn containers(pod: &Value) -> impl Iterator<Item = &serde_json::Map<String, Value>> {
    ["initContainers", "containers"]
        .into_iter()
        .filter_map(|list| pod.get("spec")?.get(list)?.as_array())
        .flatten()
        .filter_map(Value::as_object)
}

/// Literal (`value:`) settings of env var `name` across the pod's containers.
pub fn literal_env<'p>(pod: &'p Value, name: &'p str) -> impl Iterator<Item = &'p str> {
    containers(pod)
        .filter_map(|c| c.get("env")?.as_array())
        .flatten()
        .filter(move |e| e.get("name").and_then(Value::as_str) == Some(name))
        .filter_map(|e| e.get("value")?.as_str())
}

/// SPEC §4.11: no client ID at all; skip-containers entries that name no container.
fn labelled_warnings(pod: &Value, plan: &Plan, display: &str) -> Vec<String> {
    let mut warnings = Vec::new();
    if plan.client_id.is_none() && literal_env(pod, names::ENV_CLIENT_ID).all(str::is_empty) {
        warnings.push(format!(
            "Pod {display}: no client ID: its ServiceAccount has no {} annotation and no \
             container sets AZURE_CLIENT_ID, so it starts without an identity",
            names::CLIENT_ID
        ));
    }
    let mut present: Vec<&str> = containers(pod)
        .filter_map(|c| c.get("name")?.as_str())
        .collect();
    if plan.proxy.is_some() {
        present.extend([names::PROXY_CONTAINER, names::PROXY_INIT_CONTAINER]);
    }
    for entry in plan.skip.iter().filter(|s| !present.contains(&s.as_str())) {
        warnings.push(format!(
            "Pod {display}: annotation {} names {}, which is not a container of this pod",
            names::SKIP_CONTAINERS,
            quote(entry)
        ));
    }
    warnings
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod proptests;
