//! Apply a [`Plan`] to the raw JSON pod, touching only the paths SPEC §4 names: every other
//! field (including ones this policy has never heard of) is left exactly as it came, so the
//! engine's patch holds no `remove`, and a second run changes nothing (SPEC §4.9).

use serde_json::{Map, Value};

use super::Rejection;
use super::plan::Plan;
use crate::format::quote;
use crate::names;
use crate::verdict::BAD_REQUEST;

/// Mutate `pod` in place; `Ok(true)` when anything changed.
pub fn apply(pod: &mut Value, plan: &Plan, display: &str) -> Result<bool, Rejection> {
    let malformed = |what: &str| {
        Rejection::new(
            BAD_REQUEST,
            format!("{display}: {what}; expected a Kubernetes Pod"),
        )
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
                .is_some_and(|list| list.iter().any(|c| container_name(c) == Some(name)))
        };
        if !has(spec, "initContainers", names::PROXY_INIT_CONTAINER) {
            list_mut(spec, "initContainers", display)?.push(proxy.init_container.clone());
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
            list_mut(spec, target, display)?.insert(0, proxy.sidecar.clone());
            changed = true;
        }
    }

    for list in ["initContainers", "containers"] {
        let Some(containers) = spec.get_mut(list) else {
            continue;
        };
        if containers.is_null() {
            continue;
        }
        let containers = containers
            .as_array_mut()
            .ok_or_else(|| malformed(&format!("spec.{list} is not a list")))?;
        for (index, container) in containers.iter_mut().enumerate() {
            let container = container
                .as_object_mut()
                .ok_or_else(|| malformed(&format!("spec.{list}[{index}] is not an object")))?;
            let name = container
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if plan.skip.contains(name) {
                continue;
            }
            let name = name.to_owned();
            changed |= inject_mount(container, plan, display, &name, list, index)?;
            changed |= inject_env(container, plan, display, list, index)?;
        }
    }

    changed |= add_or_replace(
        list_mut(spec, "volumes", display)?,
        &plan.layout.volume_name,
        &plan.volume,
    );
    Ok(changed)
}

fn container_name(container: &Value) -> Option<&str> {
    container.get("name").and_then(Value::as_str)
}

/// The list at `spec[key]`, created when absent or null.
fn list_mut<'s>(
    spec: &'s mut Map<String, Value>,
    key: &str,
    display: &str,
) -> Result<&'s mut Vec<Value>, Rejection> {
    let slot = spec.entry(key).or_insert(Value::Null);
    if slot.is_null() {
        *slot = Value::Array(Vec::new());
    }
    slot.as_array_mut().ok_or_else(|| {
        Rejection::new(
            BAD_REQUEST,
            format!("{display}: spec.{key} is not a list; expected a Kubernetes Pod"),
        )
    })
}

/// Replace the element named `name` when it differs, or append it. `true` when changed.
fn add_or_replace(list: &mut Vec<Value>, name: &str, desired: &Value) -> bool {
    match list.iter_mut().find(|v| container_name(v) == Some(name)) {
        Some(existing) if existing == desired => false,
        Some(existing) => {
            *existing = desired.clone();
            true
        }
        None => {
            list.push(desired.clone());
            true
        }
    }
}

/// Append each planned env var the container does not define yet (never overwrite: SPEC §4.6).
fn inject_env(
    container: &mut Map<String, Value>,
    plan: &Plan,
    display: &str,
    list: &str,
    index: usize,
) -> Result<bool, Rejection> {
    let not_a_list = || {
        Rejection::new(
            BAD_REQUEST,
            format!("{display}: spec.{list}[{index}].env is not a list"),
        )
    };
    // One pass over the container's env, checked against the few planned names: linear.
    let mut defined = vec![false; plan.env.len()];
    match container.get("env") {
        None | Some(Value::Null) => {}
        Some(Value::Array(env)) => {
            for name in env.iter().filter_map(container_name) {
                if let Some(i) = plan.env.iter().position(|(n, _)| *n == name)
                    && let Some(slot) = defined.get_mut(i)
                {
                    *slot = true;
                }
            }
        }
        Some(_) => return Err(not_a_list()),
    }
    let missing: Vec<Value> = plan
        .env
        .iter()
        .zip(defined)
        .filter(|(_, defined)| !defined)
        .map(|((name, value), _)| serde_json::json!({ "name": name, "value": value }))
        .collect();
    if missing.is_empty() {
        return Ok(false);
    }
    let env = container.entry("env").or_insert(Value::Null);
    if env.is_null() {
        *env = Value::Array(Vec::new());
    }
    env.as_array_mut().ok_or_else(not_a_list)?.extend(missing);
    Ok(true)
}

/// Add or replace the read-only token mount; reject a different mount at the same path.
fn inject_mount(
    container: &mut Map<String, Value>,
    plan: &Plan,
    display: &str,
    container_name_: &str,
    list: &str,
    index: usize,
) -> Result<bool, Rejection> {
    let mounts = container.entry("volumeMounts").or_insert(Value::Null);
    if mounts.is_null() {
        *mounts = Value::Array(Vec::new());
    }
    let mounts = mounts.as_array_mut().ok_or_else(|| {
        Rejection::new(
            BAD_REQUEST,
            format!("{display}: spec.{list}[{index}].volumeMounts is not a list"),
        )
    })?;
    let layout = &plan.layout;
    if let Some(other) = mounts.iter().find(|m| {
        m.get("mountPath").and_then(Value::as_str) == Some(layout.mount_path)
            && container_name(m) != Some(layout.volume_name.as_str())
    }) {
        return Err(Rejection::new(
            BAD_REQUEST,
            format!(
                "{display}: container {} already mounts volume {} at {}, where the Workload \
                 Identity token volume {} must be mounted; mount it elsewhere, or list the \
                 container in annotation {}",
                quote(container_name_),
                quote(container_name(other).unwrap_or_default()),
                layout.mount_path,
                layout.volume_name,
                names::SKIP_CONTAINERS
            ),
        ));
    }
    Ok(add_or_replace(mounts, &layout.volume_name, &layout.mount()))
}
