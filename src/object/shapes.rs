//! How deep a pod's document is read: the full spec shape of an opted-in pod, the light one of
//! every other pod, and the step from one to the other.

use crate::json::{Node, Shape};

/// An env var or a volume mount: what the policy matches them by.
const ENTRY: Shape = Shape::Object(&[
    ("name", Shape::Any),
    ("value", Shape::Any),
    ("mountPath", Shape::Any),
]);
const CONTAINER: Shape = Shape::Object(&[
    ("name", Shape::Any),
    ("env", Shape::List(&ENTRY)),
    ("volumeMounts", Shape::List(&ENTRY)),
]);
/// The spec of an opted-in pod: what the head reads, and what a plan is applied to.
pub const SPEC: Shape = Shape::Object(&[
    ("containers", CONTAINERS),
    ("initContainers", CONTAINERS),
    ("serviceAccountName", Shape::Any),
    ("serviceAccount", Shape::Any),
    ("volumes", VOLUMES),
    ("hostNetwork", Shape::Any),
    ("os", Shape::Any),
    ("nodeSelector", Shape::Any),
]);
/// A volume's name is read; the head reads `csi` and `projected` from their raw text.
const VOLUMES: Shape = Shape::List(&Shape::Object(&[("name", Shape::Any)]));

/// The spec of every other pod, on the path every pod of the cluster takes: only what the head
/// reads (the ServiceAccount name, the volume names); the containers and the rest stay raw text
/// until a path that needs them [`expands`](expand_spec) the spec.
pub const SPEC_LIGHT: Shape = Shape::Object(&[
    ("serviceAccountName", Shape::Any),
    ("serviceAccount", Shape::Any),
    ("volumes", VOLUMES),
]);
const CONTAINERS: Shape = Shape::List(&CONTAINER);

/// Read the members of a spec read to [`SPEC_LIGHT`] that only [`SPEC`] structures (the
/// containers, `hostNetwork`, `os`, `nodeSelector`), so that the spec is as [`SPEC`] reads it.
pub fn expand_spec(pod: &mut Node) -> Result<(), serde_json::Error> {
    let (Some(spec), Shape::Object(members)) = (pod.get_mut("spec"), SPEC) else {
        return Ok(());
    };
    for (key, shape) in members {
        if let Some(node) = spec.get_mut(key)
            && let Node::Raw(raw) = *node
        {
            *node = Node::parse(raw.get(), *shape)?;
        }
    }
    Ok(())
}
