//! Apply a [`Plan`] to the pod as read by [`doc`](super::doc), touching only the paths SPEC §4
//! names: every other field (including ones this policy has never heard of) is written back
//! exactly as it came, so the engine's patch holds no `remove`, and a second run changes
//! nothing (SPEC §4.9).

use std::rc::Rc;

use serde::Serialize;
use serde_json::Value;

use super::plan::Plan;
use crate::format::quote;
use crate::json::{Node, Str};
use crate::names;
use crate::verdict::Rejection;

/// Mutate `pod` in place; `Ok(true)` when anything changed.
pub(super) fn apply(pod: &mut Node, plan: &Plan, display: &str) -> Result<bool, Rejection> {
    let malformed =
        |what: &str| Rejection::BadRequest(format!("{display}: {what}; expected a Kubernetes Pod"));
    let spec = pod
        .get_mut("spec")
        .filter(|spec| spec.is_object())
        .ok_or_else(|| malformed("spec is missing or not an object"))?;
    let mut changed = false;
    let written = Written::new(plan).map_err(|e| malformed(&format!("cannot write: {e}")))?;

    if let Some(proxy) = &plan.proxy {
        let has = |spec: &Node, list: &str, name: &str| {
            spec.get(list)
                .and_then(Node::as_list)
                .is_some_and(|list| list.iter().any(|c| c.name() == Some(name)))
        };
        if !has(spec, "initContainers", names::PROXY_INIT_CONTAINER) {
            list_mut(spec, "initContainers", display)?
                .push(Node::from_value(proxy.init_container.clone()));
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
            list_mut(spec, target, display)?.insert(0, Node::from_value(proxy.sidecar.clone()));
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
        let Node::List(containers) = containers else {
            return Err(malformed(&format!("spec.{list} is not a list")));
        };
        for (index, container) in containers.iter_mut().enumerate() {
            if !container.is_object() {
                return Err(malformed(&format!("spec.{list}[{index}] is not an object")));
            }
            // borrowed from the request, not copied
            let name = match container.get("name") {
                Some(Node::Str(name)) => name.clone(),
                _ => Str::default(),
            };
            if plan.skip.contains(&*name) {
                continue;
            }
            let at = Place {
                display,
                container: &name,
                list,
                index,
            };
            changed |= inject_mount(container, plan, &written, &at)?;
            changed |= inject_env(container, plan, &written, &at)?;
        }
    }

    changed |= add_or_replace(
        list_mut(spec, "volumes", display)?,
        &plan.layout.volume_name,
        &written.volume,
    )?;
    Ok(changed)
}

/// What the plan adds, serialized once for every container that gets it.
struct Written {
    mount: Rc<str>,
    volume: Rc<str>,
    /// One `{"name","value"}` per planned env var, in plan order.
    env: Vec<Rc<str>>,
}

#[derive(Serialize)]
struct EnvVar<'p> {
    name: &'p str,
    value: &'p str,
}

impl Written {
    fn new(plan: &Plan) -> Result<Self, serde_json::Error> {
        fn text(value: &impl Serialize) -> Result<Rc<str>, serde_json::Error> {
            serde_json::to_string(value).map(Rc::from)
        }
        Ok(Self {
            mount: text(&plan.layout.mount())?,
            volume: Rc::from(plan.volume.as_str()),
            env: plan
                .env
                .iter()
                .map(|(name, value)| text(&EnvVar { name, value }))
                .collect::<Result<_, _>>()?,
        })
    }
}

/// Which container is being written, for messages.
struct Place<'p> {
    display: &'p str,
    container: &'p str,
    list: &'p str,
    index: usize,
}

impl Place<'_> {
    fn not_a_list(&self, field: &str) -> Rejection {
        Rejection::BadRequest(format!(
            "{}: spec.{}[{}].{field} is not a list",
            self.display, self.list, self.index
        ))
    }
}

/// The list at `object[key]`, created when absent or null.
fn list_mut<'n, 'a>(
    object: &'n mut Node<'a>,
    key: &'static str,
    display: &str,
) -> Result<&'n mut Vec<Node<'a>>, Rejection> {
    let not_a_list = || {
        Rejection::BadRequest(format!(
            "{display}: spec.{key} is not a list; expected a Kubernetes Pod"
        ))
    };
    let slot = object.entry(key).ok_or_else(not_a_list)?;
    if slot.is_null() {
        *slot = Node::List(Vec::new());
    }
    match slot {
        Node::List(items) => Ok(items),
        _ => Err(not_a_list()),
    }
}

/// Replace the element named `name` when it differs from `text`, or append it. `true` when
/// changed. "Differs" means some field the policy writes is missing or has another value
/// (SPEC §2): what the API server adds to what a webhook wrote (`defaultMode: 420` on a
/// projected volume) is no difference, and the key order of what is there does not matter.
fn add_or_replace(list: &mut Vec<Node>, name: &str, text: &Rc<str>) -> Result<bool, Rejection> {
    match list.iter_mut().find(|v| v.name() == Some(name)) {
        Some(existing) => {
            let cannot_read = |e: serde_json::Error| {
                Rejection::BadRequest(format!("cannot read {}: {e}", quote(name)))
            };
            let same = covers(
                &existing.to_value().map_err(cannot_read)?,
                &serde_json::from_str::<Value>(text).map_err(cannot_read)?,
            );
            if !same {
                *existing = Node::Json(Rc::clone(text));
            }
            Ok(!same)
        }
        None => {
            list.push(Node::Json(Rc::clone(text)));
            Ok(true)
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

/// Append each planned env var the container does not define yet (never overwrite: SPEC §4.6).
fn inject_env(
    container: &mut Node,
    plan: &Plan,
    written: &Written,
    at: &Place,
) -> Result<bool, Rejection> {
    // One pass over the container's env, checked against the few planned names: linear.
    let mut defined = vec![false; written.env.len()];
    match container.get("env") {
        None => {}
        Some(env) if env.is_null() => {}
        Some(Node::List(env)) => {
            for name in env.iter().filter_map(Node::name) {
                if let Some(i) = plan.env.iter().position(|(n, _)| *n == name)
                    && let Some(slot) = defined.get_mut(i)
                {
                    *slot = true;
                }
            }
        }
        Some(_) => return Err(at.not_a_list("env")),
    }
    if defined.iter().all(|d| *d) {
        return Ok(false);
    }
    let missing = written
        .env
        .iter()
        .zip(defined)
        .filter(|(_, defined)| !defined)
        .map(|(text, _)| Node::Json(Rc::clone(text)));
    let env = container.entry("env").ok_or_else(|| at.not_a_list("env"))?;
    if env.is_null() {
        *env = Node::List(Vec::new());
    }
    match env {
        Node::List(env) => env.extend(missing),
        _ => return Err(at.not_a_list("env")),
    }
    Ok(true)
}

/// Add or replace the read-only token mount; reject a different mount at the same path.
fn inject_mount(
    container: &mut Node,
    plan: &Plan,
    written: &Written,
    at: &Place,
) -> Result<bool, Rejection> {
    let mounts = container
        .entry("volumeMounts")
        .ok_or_else(|| at.not_a_list("volumeMounts"))?;
    if mounts.is_null() {
        *mounts = Node::List(Vec::new());
    }
    let Node::List(mounts) = mounts else {
        return Err(at.not_a_list("volumeMounts"));
    };
    let layout = &plan.layout;
    if let Some(other) = mounts.iter().find(|m| {
        m.get("mountPath").and_then(Node::as_str) == Some(layout.mount_path.as_str())
            && m.name() != Some(layout.volume_name.as_str())
    }) {
        return Err(Rejection::BadRequest(format!(
            "{}: container {} already mounts volume {} at {}, where the Workload \
                 Identity token volume {} must be mounted; mount it elsewhere, or list the \
                 container in annotation {}",
            at.display,
            quote(at.container),
            quote(other.name().unwrap_or_default()),
            layout.mount_path,
            layout.volume_name,
            names::SKIP_CONTAINERS
        )));
    }
    add_or_replace(mounts, &layout.volume_name, &written.mount)
}
