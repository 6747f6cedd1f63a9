//! Apply a [`Plan`] to the pod's `Value`, touching only the paths reference §4 names: an env var is
//! appended, a mount or volume replaced by name or appended, the proxy containers added. Every
//! other field, including ones this policy has never heard of, stays as it came, so the engine's
//! patch holds no `remove`, and a second run changes nothing (reference §4.9).

use serde_json::{Map, Value, json};

use super::plan::Plan;
use crate::error::{Denial, Rejection};
use crate::names;

/// Mutate `pod` in place; `Ok(true)` when anything changed. `display` names it in messages.
pub(super) fn apply(pod: &mut Value, plan: &Plan, display: &str) -> Result<bool, Rejection> {
    let malformed = |what: &str| {
        Denial::NotAPod {
            what: what.to_owned(),
        }
        .of(display)
    };
    let spec = pod
        .get_mut("spec")
        .and_then(Value::as_object_mut)
        .ok_or_else(|| malformed("spec is missing or not an object"))?;
    let mut changed = false;

    if let Some(proxy) = &plan.proxy {
        let has = |spec: &Map<String, Value>, list: &str, name: &str| {
            spec.get(list)
                .and_then(Value::as_array)
                .is_some_and(|list| list.iter().any(|c| name_of(c) == Some(name)))
        };
        if !has(spec, "initContainers", names::PROXY_INIT_CONTAINER) {
            list_mut(spec, "initContainers", &malformed)?.push(proxy.init_container.clone());
            changed = true;
        }
        if !has(spec, "initContainers", names::PROXY_CONTAINER)
            && !has(spec, "containers", names::PROXY_CONTAINER)
        {
            let target = if proxy.native {
                "initContainers"
            } else {
                "containers"
            };
            list_mut(spec, target, &malformed)?.insert(0, proxy.sidecar.clone());
            changed = true;
        }
    }

    let mount = plan.layout.mount();
    for list in ["initContainers", "containers"] {
        let Some(containers) = spec.get_mut(list).and_then(Value::as_array_mut) else {
            continue;
        };
        for (index, container) in containers.iter_mut().enumerate() {
            let at = |field: &str| malformed(&format!("spec.{list}[{index}]{field} is not a list"));
            let name = name_of(container).unwrap_or_default().to_owned();
            if plan.skip.contains(&name) {
                continue;
            }
            let container = container
                .as_object_mut()
                .ok_or_else(|| malformed(&format!("spec.{list}[{index}] is not an object")))?;
            let mounts = list_mut(container, "volumeMounts", &|_: &str| at(".volumeMounts"))?;
            if let Some(other) = mounts.iter().find(|m| {
                m.get("mountPath").and_then(Value::as_str) == Some(&plan.layout.mount_path)
                    && name_of(m) != Some(&plan.layout.volume_name)
            }) {
                return Err(Denial::MountPathTaken {
                    container: name,
                    other: name_of(other).unwrap_or_default().to_owned(),
                    mount_path: plan.layout.mount_path.clone(),
                    volume: plan.layout.volume_name.clone(),
                }
                .of(display));
            }
            changed |= add_or_replace(mounts, &mount);
            let env = list_mut(container, "env", &|_: &str| at(".env"))?;
            // Append what the container does not define yet; never overwrite (reference §4.6).
            for (var, value) in &plan.env {
                if !env.iter().any(|e| name_of(e) == Some(var)) {
                    env.push(json!({ "name": var, "value": value }));
                    changed = true;
                }
            }
        }
    }

    changed |= add_or_replace(list_mut(spec, "volumes", &malformed)?, &plan.volume);
    Ok(changed)
}

/// `(where, field)` a replaced mount or volume keeps (reference §2): a mount's propagation, a
/// projected volume's file mode (which the API server defaults to 420).
const KEPT: [(&str, &str); 2] = [("", "mountPropagation"), ("/projected", "defaultMode")];

fn name_of(item: &Value) -> Option<&str> {
    item.get("name")?.as_str()
}

/// The list at `object[key]`, created when absent or null.
fn list_mut<'v>(
    object: &'v mut Map<String, Value>,
    key: &str,
    malformed: &dyn Fn(&str) -> Rejection,
) -> Result<&'v mut Vec<Value>, Rejection> {
    let slot = object.entry(key).or_insert(Value::Null);
    if slot.is_null() {
        *slot = Value::Array(Vec::new());
    }
    slot.as_array_mut()
        .ok_or_else(|| malformed(&format!("spec.{key} is not a list")))
}

/// Replace the element named like `want` when it differs from it, or append it; `true` when
/// changed. "Differs" means some field the policy writes is missing or has another value
/// (reference §2): what the API server adds to what a webhook wrote (`defaultMode: 420` on a
/// projected volume) is no difference. A replacement keeps the fields the policy does not
/// write and that do not change what is mounted, so the patch does not remove them.
fn add_or_replace(list: &mut Vec<Value>, want: &Value) -> bool {
    match list.iter_mut().find(|v| name_of(v) == name_of(want)) {
        Some(existing) if covers(existing, want) => false,
        Some(existing) => {
            let mut replacement = want.clone();
            for (at, key) in KEPT {
                let kept = existing.pointer(at).and_then(|o| o.get(key)).cloned();
                let target = replacement.pointer_mut(at).and_then(Value::as_object_mut);
                if let (Some(kept), Some(target)) = (kept, target) {
                    target.entry(key).or_insert(kept);
                }
            }
            *existing = replacement;
            true
        }
        None => {
            list.push(want.clone());
            true
        }
    }
}

/// `have` holds every field of `want` with the same value: objects may have more members,
/// lists must have as many elements, each covering its counterpart.
fn covers(have: &Value, want: &Value) -> bool {
    match (have, want) {
        // `{}` the policy writes means "nothing more" (`labelSelector: {}`: every bundle).
        (Value::Object(have), Value::Object(want)) if want.is_empty() => have.is_empty(),
        (Value::Object(have), Value::Object(want)) => want
            .iter()
            .all(|(key, want)| have.get(key).is_some_and(|have| covers(have, want))),
        (Value::Array(have), Value::Array(want)) => {
            have.len() == want.len() && have.iter().zip(want).all(|(h, w)| covers(h, w))
        }
        (have, want) => have == want,
    }
}
