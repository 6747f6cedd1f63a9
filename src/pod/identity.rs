//! What a pod or template declares about identity, computed once (reference §6): whether it
//! opted in, whether it requests an identity binding or hand-writes a token, whether it may run
//! on Windows, and, per container, every source of `AZURE_CLIENT_ID`. Every rule reads these
//! facts; none recomputes any part of them.

use std::collections::BTreeSet;

use super::facts::{Container, Pod, Spec};
use crate::authorization::{CsiVolume, Indirect};
use crate::names;
use crate::settings::Settings;

/// The identity facts of one pod or pod template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Facts {
    /// The opt-in label is exactly `"true"`.
    pub labelled: bool,
    /// The identity-binding annotation is `true` (any case).
    pub binding_annotation: bool,
    /// A projected `serviceAccountToken` asks for `identityBinding.audience`.
    pub binding_token: bool,
    /// A projected `serviceAccountToken` asks for the Workload Identity `audience`.
    pub workload_identity_token: bool,
    /// Env names are compared case-insensitively: the pod may run on Windows.
    pub windows: bool,
    /// Every `AZURE_CLIENT_ID` source, per init and regular container, init containers first.
    pub containers: Vec<ClientIdSources>,
    /// The Key Vault CSI volumes, with their classes and volume attributes.
    pub csi: Vec<CsiVolume>,
}

/// Every source of `AZURE_CLIENT_ID` in one container.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct ClientIdSources {
    pub container: String,
    /// Non-empty literal values, in entry order (every entry counts: the process sees the last).
    pub literal: Vec<String>,
    /// Entries named `AZURE_CLIENT_ID` (as this pod compares names).
    pub entries: usize,
    /// Some entry takes it from `valueFrom` (a `fieldRef` too: labels and annotations change
    /// after admission, and the kubelet resolves it at every start).
    pub value_from: bool,
    /// Some `envFrom` source may produce it: its prefix is empty or a prefix of the name.
    pub env_from: bool,
    /// Some entry is named exactly `AZURE_CLIENT_ID`: nothing is injected into it (§4.6).
    pub defines_exact: bool,
    /// The pod may run on Windows: an `envFrom` source counts even beside an entry (§6).
    windows: bool,
}

impl Facts {
    /// These facts completed with the containers of `spec`, read when a rule needs them.
    pub fn with_containers(&self, spec: &Spec) -> Self {
        let windows = may_run_on_windows(spec);
        Self {
            containers: spec
                .containers()
                .map(|c| ClientIdSources::of(c, windows))
                .collect(),
            windows,
            ..self.clone()
        }
    }

    /// The facts that need no container: enough to tell whether any rule applies.
    pub fn head(pod: &Pod, settings: &Settings) -> Self {
        Self {
            labelled: pod.label(names::USE_LABEL) == Some("true"),
            binding_annotation: pod
                .annotation(&settings.identity_binding_annotation())
                .is_some_and(|v| v.eq_ignore_ascii_case("true")),
            binding_token: pod.requests_token_for(&settings.identity_binding.audience),
            workload_identity_token: pod.requests_token_for(&settings.audience),
            windows: false,
            containers: Vec::new(),
            csi: pod.csi_volumes(),
        }
    }

    /// The ephemeral containers of `spec` not named in `before`: what an UPDATE of
    /// `pods/ephemeralcontainers` adds (reference §4.12).
    pub fn added_ephemeral(&self, spec: &Spec, before: &[&str]) -> Vec<ClientIdSources> {
        spec.ephemeral_containers
            .iter()
            .filter(|c| !before.contains(&c.name.as_str()))
            .map(|c| ClientIdSources::of(c, self.windows))
            .collect()
    }

    /// Whether the identity-binding review applies (reference §6): an opted-in pod with the
    /// annotation, or any pod that hand-writes an identity-binding token. Ephemeral containers
    /// (§4.12) are reviewed on the annotation alone.
    pub fn identity_binding(&self, scope: Scope) -> bool {
        let annotated = match scope {
            Scope::WholePod => self.labelled && self.binding_annotation,
            Scope::AddedContainers => self.binding_annotation,
        };
        annotated || self.binding_token
    }

    /// Whether the pod uses a Workload Identity or identity-binding token (labelled, or it
    /// writes one itself): then a client ID nobody can read defeats `allowedClientIds`.
    pub fn uses_tokens(&self, scope: Scope) -> bool {
        self.labelled
            || self.identity_binding(scope)
            || self.workload_identity_token
            || self.binding_token
    }

    /// Whether some container that is not skipped gets the injected `AZURE_CLIENT_ID`: one
    /// with no entry of exactly that name (§4.6), or a proxy container the policy adds. Only
    /// then is the ServiceAccount's client ID one the pod uses (§6).
    pub fn takes_injected(&self, skip: &BTreeSet<String>, adds_proxy: bool) -> bool {
        let proxy = [names::PROXY_CONTAINER, names::PROXY_INIT_CONTAINER];
        self.containers
            .iter()
            .any(|c| !c.defines_exact && !skip.contains(&c.container))
            || (adds_proxy && proxy.iter().any(|p| !skip.contains(*p)))
    }

    /// `(container, value)` of every literal, non-empty `AZURE_CLIENT_ID` entry.
    pub fn literal_client_ids(&self) -> impl Iterator<Item = (&str, &str)> {
        self.containers.iter().flat_map(ClientIdSources::literals)
    }
}

/// Which containers the facts judge: all of the pod's (a CREATE or a template), or only those
/// an UPDATE of `pods/ephemeralcontainers` adds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    WholePod,
    AddedContainers,
}

impl ClientIdSources {
    fn of(container: &Container, windows: bool) -> Self {
        let name = names::ENV_CLIENT_ID;
        let is_client_id = |entry: &str| match windows {
            true => entry.eq_ignore_ascii_case(name),
            false => entry == name,
        };
        let may_produce = |prefix: &str| match windows {
            true => name
                .get(..prefix.len())
                .is_some_and(|head| head.eq_ignore_ascii_case(prefix)),
            false => name.starts_with(prefix),
        };
        let mut sources = Self {
            container: container.name.clone(),
            env_from: container.env_from_prefixes().any(may_produce),
            windows,
            ..Self::default()
        };
        for (entry, value, value_from) in container.env_entries() {
            sources.defines_exact |= entry == name;
            if !is_client_id(entry) {
                continue;
            }
            sources.entries += 1;
            sources.value_from |= value_from;
            if let Some(value) = value.filter(|v| !v.is_empty()) {
                sources.literal.push(value.to_owned());
            }
        }
        sources
    }

    /// `(container, value)` of each literal value.
    pub fn literals(&self) -> impl Iterator<Item = (&str, &str)> {
        let name = self.container.as_str();
        self.literal.iter().map(move |v| (name, v.as_str()))
    }

    /// The source nobody can read at admission: a `valueFrom` entry, or `envFrom` when the
    /// container defines no entry — on Windows even beside one, since the kubelet merges env by
    /// exact name and the process may read the `envFrom` one (§6).
    pub fn indirect(&self) -> Option<Indirect> {
        if self.value_from {
            return Some(Indirect::ValueFrom);
        }
        (self.env_from && (self.entries == 0 || self.windows)).then_some(Indirect::EnvFrom)
    }
}

/// Whether env names are case-insensitive for the pod's processes (reference §6).
fn may_run_on_windows(spec: &Spec) -> bool {
    spec.may_run_on_windows()
}
