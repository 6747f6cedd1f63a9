//! Workload pod templates (SPEC §7): validated early, never mutated.

use crate::cluster::Lookups;
use crate::request::AdmissionRequest;
use crate::settings::Settings;
use crate::verdict::Verdict;

/// The workload kinds whose pod template is checked.
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

pub fn evaluate(
    _kind: WorkloadKind,
    _request: &AdmissionRequest,
    _settings: &Settings,
    _lookups: &Lookups,
) -> Verdict {
    Verdict::accept()
}
