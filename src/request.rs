//! The `validate` payload, read lazily: the admission request's envelope is parsed with
//! borrowed strings and the objects stay raw JSON until a branch needs them.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

/// `{"request": AdmissionRequest, "settings": …}` as the engine sends it.
#[derive(Deserialize)]
pub struct Payload<'a> {
    #[serde(borrow)]
    pub request: AdmissionRequest<'a>,
    #[serde(borrow, default)]
    pub settings: Option<&'a RawValue>,
}

/// The fields of an AdmissionRequest this policy reads.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct AdmissionRequest<'a> {
    #[serde(borrow, default)]
    pub kind: GroupVersionKind<'a>,
    #[serde(borrow, default)]
    pub name: Cow<'a, str>,
    #[serde(borrow, default)]
    pub namespace: Cow<'a, str>,
    #[serde(borrow, default)]
    pub operation: Cow<'a, str>,
    #[serde(borrow, default)]
    pub object: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub old_object: Option<&'a RawValue>,
}

#[derive(Deserialize, Default)]
pub struct GroupVersionKind<'a> {
    #[serde(borrow, default)]
    pub group: Cow<'a, str>,
    #[serde(borrow, default)]
    pub kind: Cow<'a, str>,
}

/// The admitted object's kind, as far as this policy cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Pod,
    ServiceAccount,
    Workload(crate::workload::WorkloadKind),
    Other,
}

impl AdmissionRequest<'_> {
    pub fn resolved_kind(&self) -> Kind {
        use crate::workload::WorkloadKind as W;
        match (self.kind.group.as_ref(), self.kind.kind.as_ref()) {
            ("", "Pod") => Kind::Pod,
            ("", "ServiceAccount") => Kind::ServiceAccount,
            ("", "ReplicationController") => Kind::Workload(W::ReplicationController),
            ("apps", "Deployment") => Kind::Workload(W::Deployment),
            ("apps", "StatefulSet") => Kind::Workload(W::StatefulSet),
            ("apps", "DaemonSet") => Kind::Workload(W::DaemonSet),
            ("apps", "ReplicaSet") => Kind::Workload(W::ReplicaSet),
            ("batch", "Job") => Kind::Workload(W::Job),
            ("batch", "CronJob") => Kind::Workload(W::CronJob),
            _ => Kind::Other,
        }
    }

    /// True for the operations this policy judges; DELETE and CONNECT pass untouched.
    pub fn is_create_or_update(&self) -> bool {
        matches!(self.operation.as_ref(), "CREATE" | "UPDATE")
    }
}
