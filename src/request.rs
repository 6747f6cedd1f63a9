//! The `validate` payload: the SDK's admission request (its objects `serde_json::Value`s) and
//! the settings, still raw until `Settings` reads them; which kind of object it admits; and
//! the mode and context every kind's rules are run with.

use kubewarden_policy_sdk::request::KubernetesAdmissionRequest;

use crate::cluster::Lookups;
use crate::names;
use crate::settings::Settings;
use serde::Deserialize;
use serde_json::value::RawValue;

/// `{"request": AdmissionRequest, "settings": …}` as the engine sends it.
#[derive(Deserialize)]
pub(crate) struct Payload<'a> {
    pub request: KubernetesAdmissionRequest,
    #[serde(borrow, default)]
    pub settings: Option<&'a RawValue>,
}

/// The admitted object's kind, as far as this policy cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Pod,
    ServiceAccount,
    /// A Secrets Store CSI driver SecretProviderClass (reference §12).
    SecretProviderClass,
    Workload(WorkloadKind),
    Other,
}

/// The workload kinds whose pod template is checked (reference §7).
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
    pub fn name(self) -> &'static str {
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

impl Kind {
    pub fn of(request: &KubernetesAdmissionRequest) -> Self {
        use WorkloadKind as W;
        match (request.kind.group.as_str(), request.kind.kind.as_str()) {
            ("", "Pod") => Self::Pod,
            ("", "ServiceAccount") => Self::ServiceAccount,
            (names::SPC_GROUP, names::SPC_KIND) => Self::SecretProviderClass,
            ("", "ReplicationController") => Self::Workload(W::ReplicationController),
            ("apps", "Deployment") => Self::Workload(W::Deployment),
            ("apps", "StatefulSet") => Self::Workload(W::StatefulSet),
            ("apps", "DaemonSet") => Self::Workload(W::DaemonSet),
            ("apps", "ReplicaSet") => Self::Workload(W::ReplicaSet),
            ("batch", "Job") => Self::Workload(W::Job),
            ("batch", "CronJob") => Self::Workload(W::CronJob),
            _ => Self::Other,
        }
    }
}

/// Who writes what a Workload Identity pod gets: this policy (`mutate: true`), or a managed
/// webhook beside it (`mutate: false`, validate-only). Chosen once, from the settings, where
/// the request is dispatched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Injector {
    Policy,
    ManagedWebhook,
}

/// What is being admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// A pod CREATE.
    Create(Injector),
    /// A workload's pod template: never mutated; a missing ServiceAccount is a warning (§7).
    Template { injector: Injector, job: bool },
    /// Containers added through `pods/ephemeralcontainers` (§4.12).
    Ephemeral,
}

/// What the rules need besides the object.
pub(crate) struct Context<'a> {
    pub settings: &'a Settings,
    pub lookups: &'a Lookups<'a>,
}
