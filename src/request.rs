//! The `validate` payload, read lazily: the admission request's envelope is parsed with
//! borrowed strings and the objects stay raw JSON until a branch needs them.

use std::borrow::Cow;

use serde::Deserialize;
use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;

use crate::json::Str;
use crate::object::pod::{PodSeed, PodText};

/// `{"request": AdmissionRequest, "settings": …}` as the engine sends it.
#[derive(Deserialize)]
pub(crate) struct Payload<'a> {
    #[serde(borrow)]
    pub request: AdmissionRequest<'a>,
    #[serde(borrow, default)]
    pub settings: Option<&'a RawValue>,
}

/// The fields of an AdmissionRequest this policy reads.
#[derive(Default)]
pub(crate) struct AdmissionRequest<'a> {
    pub kind: GroupVersionKind<'a>,
    pub name: Cow<'a, str>,
    pub namespace: Cow<'a, str>,
    pub operation: Cow<'a, str>,
    /// The object, raw; `None` for a Pod read in the same pass as the envelope (see `pod`).
    pub object: Option<&'a RawValue>,
    /// A Pod's object, read by [`PodSeed`] while the envelope is read, when `kind` comes
    /// before `object` (as every engine writes it: kwctl and policy-server alike).
    pub pod: Option<PodText<'a>>,
    pub old_object: Option<&'a RawValue>,
}

impl<'de: 'a, 'a> Deserialize<'de> for AdmissionRequest<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(RequestVisitor)
    }
}

struct RequestVisitor;

impl<'de> Visitor<'de> for RequestVisitor {
    type Value = AdmissionRequest<'de>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an AdmissionRequest")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let text = |s: Option<Str<'de>>| s.map(Str::into_cow).unwrap_or_default();
        let mut request = AdmissionRequest::default();
        while let Some(key) = map.next_key::<Str<'de>>()? {
            match &*key {
                "kind" => request.kind = map.next_value::<Option<_>>()?.unwrap_or_default(),
                "name" => request.name = text(map.next_value()?),
                "namespace" => request.namespace = text(map.next_value()?),
                "operation" => request.operation = text(map.next_value()?),
                "object" if request.resolved_kind() == Kind::Pod => {
                    request.object = None;
                    request.pod =
                        Some(map.next_value_seed(PodSeed)?).filter(|pod| !pod.node.is_null());
                }
                "object" => {
                    request.pod = None;
                    request.object = map.next_value()?;
                }
                "oldObject" => request.old_object = map.next_value()?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(request)
    }
}

#[derive(Deserialize, Default)]
pub(crate) struct GroupVersionKind<'a> {
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
    Workload(WorkloadKind),
    Other,
}

/// The workload kinds whose pod template is checked (SPEC §7).
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

impl AdmissionRequest<'_> {
    pub fn resolved_kind(&self) -> Kind {
        use WorkloadKind as W;
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
