//! Pod CREATE (SPEC §4): opt-in check, ServiceAccount lookup, plan, surgical apply.

mod apply;
pub mod doc;
pub mod head;
pub mod layout;
pub mod plan;
pub mod proxy;
mod verify;

use crate::authorization::{self, Subject};
use crate::cluster::{Lookups, ServiceAccount};
use crate::format::quote;
use crate::keys::{self, Holder};
use crate::legacy;
use crate::names;
use crate::request::AdmissionRequest;
use crate::settings::Settings;
use crate::verdict::{BAD_REQUEST, Mutated, Verdict};
use doc::Node;
use head::{PodHead, PodText};
use plan::{Plan, PodFacts};
use proxy::ProxyRequest;

/// The most bytes reserved up front for writing a mutated pod (more are allocated if needed).
const MAX_SIZE_HINT: usize = 8 << 20;

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

pub fn evaluate(request: AdmissionRequest, settings: &Settings, lookups: &Lookups) -> Verdict {
    let cannot_read = |e: serde_json::Error| {
        Verdict::reject(
            BAD_REQUEST,
            format!(
                "Pod {}/{}: cannot read its metadata or volumes: {e}",
                request.namespace, request.name
            ),
        )
    };
    let PodText {
        node: pod,
        metadata,
    } = match (request.pod, request.object) {
        (Some(pod), _) => pod,
        // `object` came before `kind`: read it now.
        (None, Some(raw)) => match PodText::parse(raw.get()) {
            Ok(pod) => pod,
            Err(e) => return cannot_read(e),
        },
        (None, None) => {
            return Verdict::reject(BAD_REQUEST, "Pod admission request carries no object");
        }
    };
    let head = match PodHead::from_node(&pod, metadata) {
        Ok(head) => head,
        Err(e) => return cannot_read(e),
    };
    let namespace = if request.namespace.is_empty() {
        head.metadata.namespace.as_deref().unwrap_or_default()
    } else {
        &request.namespace
    };
    let display = format!("Pod {namespace}/{}", head.display_name());
    let judged = Judged {
        size: request.size,
        head: &head,
        namespace,
        display: &display,
        target: Target::Pod,
    };
    judge(&judged, pod, settings, lookups)
}

/// What is being judged: an admitted pod (mutated when opted in), or a workload's pod
/// template (checked only, SPEC §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Pod,
    Template,
}

/// One pod (or pod template) under judgement.
pub struct Judged<'a> {
    /// About how many bytes of JSON the object is (to size what is written).
    pub size: usize,
    pub head: &'a PodHead<'a>,
    pub namespace: &'a str,
    /// How messages start: `Pod ns/name`, or `Deployment ns/name: pod template`.
    pub display: &'a str,
    pub target: Target,
}

/// Every pod rule of SPEC §4, §4a, §6 and §8 for one pod or pod template.
/// `pod` is the object as [`head::PodSeed`] reads it; its containers are read only on the paths
/// that need them.
pub fn judge(judged: &Judged, pod: Node, settings: &Settings, lookups: &Lookups) -> Verdict {
    let Judged { head, display, .. } = *judged;
    let mut warnings = key_warnings(head, display, settings);
    match legacy::check(
        display,
        head.label(names::LEGACY_POD_IDENTITY_LABEL),
        settings,
    ) {
        Ok(warning) => warnings.extend(warning),
        Err(rejection) => return Verdict::from(rejection).with_warnings(warnings),
    }
    let outcome = if head.opted_in() {
        labelled(judged, pod, settings, lookups, &mut warnings)
    } else {
        unlabeled(judged, pod, settings, lookups)
    };
    match outcome {
        Ok(verdict) => verdict,
        Err(rejection) => Verdict::from(rejection),
    }
    .with_warnings(warnings)
}

/// Warnings that need nothing but the pod's keys (SPEC §1, §4a, §4.11).
fn key_warnings(head: &PodHead, display: &str, settings: &Settings) -> Vec<String> {
    let binding_key = settings.identity_binding_annotation();
    let labels = || head.metadata.labels.keys().map(|k| &**k);
    let annotations = || head.metadata.annotations.keys().map(|k| &**k);
    let mut warnings = keys::warnings(display, Holder::Pod, labels(), annotations(), &binding_key);
    warnings.extend(keys::missing_label_warning(
        display,
        head.label(names::USE_LABEL),
        annotations(),
        &binding_key,
    ));
    warnings.extend(
        ProxyRequest::from_annotation(head.annotation(names::INJECT_PROXY)).warning(display),
    );
    warnings
}

/// SPEC §4.1: no change; host calls only when a §6 check applies (a Key Vault CSI volume, a
/// hand-written identity-binding token).
fn unlabeled(
    judged: &Judged,
    pod: Node,
    settings: &Settings,
    lookups: &Lookups,
) -> Result<Verdict, Rejection> {
    let Judged {
        head,
        namespace,
        display,
        ..
    } = *judged;
    let binding = head.requests_token_for(&settings.identity_binding.audience);
    let has_csi = head.csi_provider_classes().next().is_some();
    if !binding && !has_csi {
        return Ok(Verdict::accept());
    }
    let pod = read_spec(pod, display)?;
    let sa = if binding {
        Some(service_account(
            lookups,
            namespace,
            head.service_account(),
            display,
        )?)
    } else {
        None
    };
    let warnings = authorize(judged, &pod, sa.as_ref(), binding, settings, lookups)?;
    Ok(Verdict::accept().with_warnings(warnings))
}

/// Read the containers and the node-placement fields too (SPEC §4 and §6 need env and mounts).
fn read_spec<'a>(mut pod: Node<'a>, display: &str) -> Result<Node<'a>, Rejection> {
    pod.expand_spec()
        .map_err(|e| Rejection::new(BAD_REQUEST, format!("{display}: cannot read it: {e}")))?;
    Ok(pod)
}

/// The SPEC §6 checks for one pod.
fn authorize(
    judged: &Judged,
    pod: &Node,
    sa: Option<&ServiceAccount>,
    identity_binding: bool,
    settings: &Settings,
    lookups: &Lookups,
) -> Result<Vec<String>, Rejection> {
    let head = judged.head;
    let subject = Subject {
        object: judged.display,
        namespace: judged.namespace,
        service_account: head.service_account(),
        sa,
        literal_client_ids: literal_client_ids(pod),
        csi_volumes: head
            .csi_provider_classes()
            .map(|(v, c)| (v.to_owned(), c.map(str::to_owned)))
            .collect(),
        identity_binding,
    };
    authorization::authorize(&subject, settings, lookups)
}

/// `(container, value)` of every literal, non-empty `AZURE_CLIENT_ID`.
fn literal_client_ids(pod: &Node) -> Vec<(String, String)> {
    containers(pod)
        .flat_map(|c| {
            let name = c.name().unwrap_or_default();
            c.get("env")
                .and_then(Node::as_list)
                .into_iter()
                .flatten()
                .filter(|e| e.name() == Some(names::ENV_CLIENT_ID))
                .filter_map(|e| e.get("value")?.as_str())
                .filter(|v| !v.is_empty())
                .map(move |v| (name.to_owned(), v.to_owned()))
        })
        .collect()
}

/// The opted-in path: read the whole pod, look up its ServiceAccount, plan, apply.
fn labelled(
    judged: &Judged,
    pod: Node,
    settings: &Settings,
    lookups: &Lookups,
    warnings: &mut Vec<String>,
) -> Result<Verdict, Rejection> {
    let Judged {
        size,
        head,
        namespace,
        display,
        target,
    } = *judged;
    let mut pod = read_spec(pod, display)?;
    let spec = pod.get("spec");
    let (sa, sa_found) = match service_account(lookups, namespace, head.service_account(), display)
    {
        Ok(sa) => (sa, true),
        // SPEC §7: GitOps may create the ServiceAccount after the workload.
        Err(rejection) if target == Target::Template && rejection.code == BAD_REQUEST => {
            warnings.push(format!(
                "{display}: ServiceAccount {namespace}/{} does not exist (yet); its pods will be \
                 rejected until it does",
                head.service_account()
            ));
            (ServiceAccount::default(), false)
        }
        Err(rejection) => return Err(rejection),
    };
    let facts = PodFacts {
        head,
        display,
        namespace,
        host_network: matches!(
            spec.and_then(|s| s.get("hostNetwork")),
            Some(Node::Bool(true))
        ),
        windows: spec.and_then(|s| s.get("os")?.get("name")?.as_str()) == Some("windows"),
    };
    let plan = plan::plan(&facts, &sa, settings)?;
    let binding = sa_found
        && (plan::uses_identity_binding(head, settings)
            || head.requests_token_for(&settings.identity_binding.audience));
    let known_sa = sa_found.then_some(&sa);
    warnings.extend(authorize(
        judged, &pod, known_sa, binding, settings, lookups,
    )?);
    if sa_found {
        warnings.extend(labelled_warnings(&pod, &plan, display));
    }
    warnings.extend(windows_warning(&pod, display));
    if !settings.mutate && target == Target::Pod {
        let audience = if plan::uses_identity_binding(head, settings) {
            &settings.identity_binding.audience
        } else {
            &settings.audience
        };
        warnings.extend(verify::verify(
            &pod, head, display, &plan.skip, audience, settings,
        )?);
    }
    if !settings.mutate || target == Target::Template {
        return Ok(Verdict::accept());
    }
    if apply::apply(&mut pod, &plan, display)? {
        let object = Mutated::write(size.min(MAX_SIZE_HINT) * 2, |out| pod.write(out))
            .map_err(|e| Rejection::new(BAD_REQUEST, format!("{display}: cannot write it: {e}")))?;
        Ok(Verdict::Mutate {
            object,
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
        Rejection::new(
            e.code(),
            format!(
                "{display}: cannot read ServiceAccount {namespace}/{name}, which Workload \
                 Identity needs for the pod's client ID: {}",
                e.cause()
            ),
        )
    })
}

/// Every container of the pod, init containers first, as JSON objects.
pub fn containers<'n, 'a>(pod: &'n Node<'a>) -> impl Iterator<Item = &'n Node<'a>> {
    ["initContainers", "containers"]
        .into_iter()
        .filter_map(|list| pod.get("spec")?.get(list)?.as_list())
        .flatten()
        .filter(|c| c.is_object())
}

/// SPEC §4.11: a pod aimed at Windows nodes must say so in `spec.os.name`, or the kubelet
/// fails to set the projected token's ownership.
fn windows_warning(pod: &Node, display: &str) -> Option<String> {
    let spec = pod.get("spec")?;
    let targets_windows = spec
        .get("nodeSelector")
        .and_then(|s| s.get("kubernetes.io/os")?.as_str())
        == Some("windows");
    let declares_windows =
        spec.get("os").and_then(|os| os.get("name")?.as_str()) == Some("windows");
    (targets_windows && !declares_windows).then(|| {
        format!(
            "{display}: nodeSelector kubernetes.io/os: windows without spec.os.name: windows; \
             set spec.os.name, or the kubelet fails to prepare the projected token volume"
        )
    })
}

/// SPEC §4.11: no client ID at all; skip-containers entries that name no container.
fn labelled_warnings(pod: &Node, plan: &Plan, display: &str) -> Vec<String> {
    let mut warnings = Vec::new();
    if plan.client_id.is_none() && literal_client_ids(pod).is_empty() {
        warnings.push(format!(
            "{display}: no client ID: its ServiceAccount has no {} annotation and no \
             container sets AZURE_CLIENT_ID, so it starts without an identity",
            names::CLIENT_ID
        ));
    }
    let mut present: Vec<&str> = containers(pod).filter_map(Node::name).collect();
    if plan.proxy.is_some() {
        present.extend([names::PROXY_CONTAINER, names::PROXY_INIT_CONTAINER]);
    }
    for entry in plan.skip.iter().filter(|s| !present.contains(&s.as_str())) {
        warnings.push(format!(
            "{display}: annotation {} names {}, which is not a container of this pod",
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
