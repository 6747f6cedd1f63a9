//! The admission warnings of the pod rules (SPEC §1, §4a, §4.11): the pod is still admitted.

use super::facts::{PodFacts, containers};
use super::plan::Plan;
use super::proxy::ProxyRequest;
use crate::format::quote;
use crate::json::Node;
use crate::keys::{self, Holder};
use crate::names;
use crate::object::pod::PodHead;
use crate::settings::Settings;

/// Warnings that need nothing but the pod's keys (SPEC §1, §4a, §4.11).
pub(super) fn keys(head: &PodHead, display: &str, settings: &Settings) -> Vec<String> {
    let binding_key = settings.identity_binding_annotation();
    let labels = || head.metadata.labels.keys().map(|k| k.as_str());
    let annotations = || head.metadata.annotations.keys().map(|k| k.as_str());
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

/// SPEC §4.11: a pod aimed at Windows nodes must say so in `spec.os.name`, or the kubelet
/// fails to set the projected token's ownership.
pub(super) fn windows(pod: &Node, brief: &str) -> Option<String> {
    let spec = pod.get("spec")?;
    let targets_windows = spec
        .get("nodeSelector")
        .and_then(|s| s.get("kubernetes.io/os")?.as_str())
        == Some("windows");
    let declares_windows =
        spec.get("os").and_then(|os| os.get("name")?.as_str()) == Some("windows");
    (targets_windows && !declares_windows).then(|| {
        format!(
            "{brief}: set spec.os.name: windows (its nodeSelector picks Windows nodes), or the \
             kubelet fails to prepare the token volume"
        )
    })
}

/// SPEC §4.11: no client ID at all; skip-containers entries that name no container.
pub(super) fn labelled(facts: &PodFacts, pod: &Node, plan: &Plan) -> Vec<String> {
    let brief = facts.brief;
    let mut warnings = Vec::new();
    if plan.client_id.is_none() && facts.literal_client_ids.is_empty() {
        warnings.push(format!(
            "{brief}: annotate ServiceAccount {} with {} (or set AZURE_CLIENT_ID): without a \
             client ID it starts without an identity",
            facts.head.service_account(),
            names::CLIENT_ID
        ));
    }
    let mut present: Vec<&str> = containers(pod).filter_map(Node::name).collect();
    if plan.proxy.is_some() {
        present.extend([names::PROXY_CONTAINER, names::PROXY_INIT_CONTAINER]);
    }
    for entry in plan.skip.iter().filter(|s| !present.contains(&s.as_str())) {
        warnings.push(format!(
            "{brief}: remove {} from {}: no container has that name",
            quote(entry),
            names::SKIP_CONTAINERS,
        ));
    }
    warnings
}
