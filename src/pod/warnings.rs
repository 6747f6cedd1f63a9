//! The admission warnings of the pod rules (reference §1, §4a, §4.11): the pod is still admitted.

use super::facts::{Pod, Spec};
use super::identity::{ClientIdSources, Facts};
use super::plan::Plan;
use super::proxy::ProxyRequest;
use crate::format::quote;
use crate::keys::{self, Holder};
use crate::names;
use crate::settings::Settings;

/// Warnings that need nothing but the pod's keys (reference §1, §4a, §4.11).
pub(crate) fn keys(pod: &Pod, settings: &Settings) -> Vec<String> {
    let display = &pod.subject.brief;
    let binding_key = settings.identity_binding_annotation();
    let labels = || pod.metadata.labels.keys().map(String::as_str);
    let annotations = || pod.metadata.annotations.keys().map(String::as_str);
    let mut warnings = keys::warnings(display, Holder::Pod, labels(), annotations(), &binding_key);
    warnings.extend(keys::missing_label_warning(
        display,
        pod.label(names::USE_LABEL),
        annotations(),
        &binding_key,
    ));
    warnings.extend(
        ProxyRequest::from_annotation(pod.annotation(names::INJECT_PROXY)).warning(display),
    );
    warnings
}

/// reference §4.11: a pod aimed at Windows nodes must say so in `spec.os.name`, or the kubelet
/// fails to set the projected token's ownership.
pub(super) fn windows(spec: &Spec, brief: &str) -> Option<String> {
    (spec.targets_windows() && !spec.windows()).then(|| {
        format!(
            "{brief}: set spec.os.name: windows (its nodeSelector picks Windows nodes), or the \
             kubelet fails to prepare the token volume"
        )
    })
}

/// Reference §6: a container that defines `AZURE_CLIENT_ID` more than once sees only the last.
pub(super) fn duplicate_client_ids(containers: &[ClientIdSources], brief: &str) -> Vec<String> {
    containers
        .iter()
        .filter(|c| c.entries > 1)
        .map(|c| {
            format!(
                "{brief}: keep one AZURE_CLIENT_ID in container {}: it sees only the last \
                 of its entries, and each one is checked",
                quote(&c.container)
            )
        })
        .collect()
}

/// Reference §4.11: no client ID at all; skip-containers entries that name no container.
pub(super) fn opted_in(pod: &Pod, spec: &Spec, facts: &Facts, plan: &Plan) -> Vec<String> {
    let brief = &pod.subject.brief;
    let mut warnings = Vec::new();
    if plan.client_id.is_none() && facts.literal_client_ids().next().is_none() {
        // The fix first and short: with 63-character names it still fits 256 characters.
        warnings.push(format!(
            "{brief}: no identity: annotate ServiceAccount {} with {} or set AZURE_CLIENT_ID",
            pod.subject.service_account,
            names::CLIENT_ID_SHORT
        ));
    }
    let mut present: Vec<&str> = spec.containers().map(|c| c.name.as_str()).collect();
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

/// reference §4.11: what an opted-in pod's plan would leave broken, though the pod is admitted: a
/// Job that never completes beside a regular proxy container, and containers that read the
/// classic token path under a layout that does not mount it.
pub(super) fn planned(pod: &Pod, spec: &Spec, plan: &Plan, job_template: bool) -> Vec<String> {
    let brief = &pod.subject.brief;
    let mut warnings = Vec::new();
    let job = job_template || pod.metadata.controlled_by("Job");
    if plan.proxy.as_ref().is_some_and(|proxy| !proxy.native) && job {
        warnings.push(format!(
            "{brief}: set proxy.nativeSidecar: true: this Job's pod never completes while {} \
             runs as a regular container",
            names::PROXY_CONTAINER
        ));
    }
    let classic = format!(
        "{}/{}",
        names::CLASSIC_MOUNT_PATH,
        names::CLASSIC_TOKEN_PATH
    );
    if plan.layout.token_file() != classic {
        let readers = spec
            .containers()
            .filter(|c| !plan.skip.contains(&c.name) && c.mentions(&classic));
        for container in readers {
            warnings.push(format!(
                "{brief}: read $AZURE_FEDERATED_TOKEN_FILE in container {}: {classic} does not \
                 exist under this token volume layout",
                quote(&container.name)
            ));
        }
    }
    warnings
}
