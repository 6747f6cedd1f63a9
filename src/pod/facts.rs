//! One pod or pod template as the rules see it: [`Pod`] carries its `Value`, the metadata and
//! volumes every rule reads, and the [`Subject`] its messages name; [`Spec`] is the typed view
//! of its containers, read only on the paths that need them.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::Value;

use super::layout::Reserved;
use crate::authorization::CsiVolume;
use crate::error::{Denial, Rejection};
use crate::names;
use crate::object::{Metadata, Subject, nullable, read};

/// A pod or pod template: its document and what every path reads of it.
pub(crate) struct Pod {
    pub object: Value,
    pub metadata: Metadata,
    pub volumes: Vec<Volume>,
    pub subject: Subject,
}

/// What the rules read of a volume.
#[derive(Deserialize, Debug)]
pub(crate) struct Volume {
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    #[serde(default)]
    csi: Option<Csi>,
    #[serde(default)]
    projected: Option<Projected>,
}

#[derive(Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
struct Csi {
    #[serde(default, deserialize_with = "nullable")]
    driver: String,
    #[serde(default, deserialize_with = "nullable")]
    volume_attributes: BTreeMap<String, String>,
}

#[derive(Deserialize, Debug)]
struct Projected {
    #[serde(default, deserialize_with = "nullable")]
    sources: Vec<Projection>,
}

#[derive(Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
struct Projection {
    #[serde(default)]
    service_account_token: Option<TokenProjection>,
}

#[derive(Deserialize, Debug)]
struct TokenProjection {
    #[serde(default)]
    audience: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Head {
    #[serde(default)]
    metadata: Metadata,
    #[serde(default)]
    spec: Option<SpecHead>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct SpecHead {
    #[serde(default)]
    service_account_name: Option<String>,
    #[serde(default)]
    service_account: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    volumes: Vec<Volume>,
}

/// The containers and node placement of a pod's spec.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Spec {
    #[serde(default, deserialize_with = "nullable")]
    init_containers: Vec<Container>,
    #[serde(default, deserialize_with = "nullable")]
    containers: Vec<Container>,
    /// Containers added through `pods/ephemeralcontainers` (reference §4.12).
    #[serde(default, deserialize_with = "nullable")]
    pub ephemeral_containers: Vec<Container>,
    #[serde(default, deserialize_with = "nullable")]
    pub host_network: bool,
    #[serde(default)]
    os: Option<Os>,
    #[serde(default, deserialize_with = "nullable")]
    node_selector: BTreeMap<String, String>,
    #[serde(default)]
    affinity: Option<Affinity>,
}

/// What the rules read of `affinity`: the required node affinity's terms.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Affinity {
    #[serde(default)]
    node_affinity: Option<NodeAffinity>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct NodeAffinity {
    #[serde(default)]
    required_during_scheduling_ignored_during_execution: Option<NodeSelector>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct NodeSelector {
    #[serde(default, deserialize_with = "nullable")]
    node_selector_terms: Vec<NodeSelectorTerm>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct NodeSelectorTerm {
    #[serde(default, deserialize_with = "nullable")]
    match_expressions: Vec<Requirement>,
}

#[derive(Deserialize, Default)]
struct Requirement {
    #[serde(default, deserialize_with = "nullable")]
    key: String,
    #[serde(default, deserialize_with = "nullable")]
    operator: String,
    #[serde(default, deserialize_with = "nullable")]
    values: Vec<String>,
}

#[derive(Deserialize, Default)]
struct EnvFrom {
    #[serde(default, deserialize_with = "nullable")]
    prefix: String,
}

#[derive(Deserialize, Default)]
struct Os {
    #[serde(default, deserialize_with = "nullable")]
    name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Container {
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    #[serde(default, deserialize_with = "nullable")]
    env: Vec<Env>,
    #[serde(default, deserialize_with = "nullable")]
    env_from: Vec<EnvFrom>,
    #[serde(default, deserialize_with = "nullable")]
    volume_mounts: Vec<Mount>,
    #[serde(default, deserialize_with = "nullable")]
    command: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    args: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Env {
    #[serde(default, deserialize_with = "nullable")]
    name: String,
    #[serde(default)]
    value: Option<String>,
    #[serde(default)]
    value_from: Option<IgnoredAny>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Mount {
    #[serde(default, deserialize_with = "nullable")]
    name: String,
    #[serde(default, deserialize_with = "nullable")]
    mount_path: String,
}

impl Pod {
    /// Read `object`, admitted in `namespace` (the object's own when the request has none).
    /// `unread` names it if it cannot be read; `names` gives `(display, brief)` of
    /// [`Subject`] from the namespace and the metadata.
    pub fn read(
        object: Value,
        namespace: &str,
        unread: &str,
        names: impl FnOnce(&str, &Metadata) -> (String, String),
    ) -> Result<Self, Rejection> {
        let cannot_read = |error: &str| {
            let what = "its metadata or volumes";
            let error = error.to_owned();
            Denial::Unreadable { what, error }.of(unread)
        };
        if !object.is_object() {
            return Err(cannot_read("not an object"));
        }
        let head: Head = read(&object).map_err(|e| cannot_read(&e))?;
        let spec = head.spec.unwrap_or_default();
        let service_account = [spec.service_account_name, spec.service_account]
            .into_iter()
            .flatten()
            .find(|name| !name.is_empty())
            .unwrap_or_else(|| "default".to_owned());
        let namespace = match namespace {
            "" => head.metadata.namespace.clone().unwrap_or_default(),
            namespace => namespace.to_owned(),
        };
        let (display, brief) = names(&namespace, &head.metadata);
        Ok(Self {
            object,
            subject: Subject {
                namespace,
                service_account,
                display,
                brief,
            },
            metadata: head.metadata,
            volumes: spec.volumes,
        })
    }

    pub fn label(&self, key: &str) -> Option<&str> {
        self.metadata.label(key)
    }

    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.metadata.annotation(key)
    }

    /// `(volume, SecretProviderClass)` of every Key Vault CSI volume (`None`: it names none).
    pub fn csi_volumes(&self) -> Vec<CsiVolume> {
        self.volumes
            .iter()
            .filter_map(|v| {
                let csi = v.csi.as_ref().filter(|c| c.driver == names::CSI_DRIVER)?;
                let mut attributes = csi.volume_attributes.clone();
                let class = attributes.remove("secretProviderClass");
                Some(CsiVolume {
                    name: v.name.clone(),
                    class: class.filter(|c| !c.is_empty()),
                    attributes,
                })
            })
            .collect()
    }

    /// Whether any projected `serviceAccountToken` asks for `audience`.
    pub fn requests_token_for(&self, audience: &str) -> bool {
        self.volumes
            .iter()
            .filter_map(|v| v.projected.as_ref())
            .flat_map(|p| &p.sources)
            .filter_map(|s| s.service_account_token.as_ref())
            .any(|t| t.audience.as_deref() == Some(audience))
    }

    /// The containers and node placement, for the paths that need them.
    pub fn spec(&self) -> Result<Spec, Rejection> {
        #[derive(Deserialize)]
        struct WithSpec {
            #[serde(default, deserialize_with = "nullable")]
            spec: Spec,
        }
        read::<WithSpec>(&self.object)
            .map(|pod| pod.spec)
            .map_err(|error| Denial::Unreadable { what: "it", error }.of(&self.subject.display))
    }

    /// The token volume of an earlier webhook pass (reference §2): the first volume named with the
    /// reserved prefix, else the classic one, and where a container mounts it.
    pub fn reserved(&self, spec: &Spec) -> Option<Reserved> {
        let named = |test: &dyn Fn(&str) -> bool| self.volumes.iter().find(|v| test(&v.name));
        let volume = named(&|name| name.starts_with(names::V16_VOLUME_PREFIX))
            .or_else(|| named(&|name| name == names::CLASSIC_VOLUME))?;
        let mount_path = spec
            .containers()
            .flat_map(|c| &c.volume_mounts)
            .find(|m| m.name == volume.name)
            .map(|m| m.mount_path.clone());
        Some(Reserved {
            volume_name: volume.name.clone(),
            mount_path,
        })
    }
}

impl Spec {
    /// Every container, init containers first.
    pub fn containers(&self) -> impl Iterator<Item = &Container> {
        self.init_containers.iter().chain(&self.containers)
    }

    pub fn windows(&self) -> bool {
        self.os.as_ref().is_some_and(|os| os.name == "windows")
    }

    /// A `nodeSelector` that picks Windows nodes.
    /// Whether the pod may run on Windows nodes (reference §6): `spec.os.name` says so, or,
    /// without it, its `nodeSelector` or a required node-affinity term selects
    /// `kubernetes.io/os` `windows`. A pod with `spec.os.name: linux` never does.
    pub fn may_run_on_windows(&self) -> bool {
        match self.os.as_ref().map(|os| os.name.as_str()) {
            Some("windows") => true,
            Some("linux") => false,
            _ => self.targets_windows() || self.affinity_selects_windows(),
        }
    }

    fn affinity_selects_windows(&self) -> bool {
        let terms = self
            .affinity
            .iter()
            .filter_map(|a| a.node_affinity.as_ref())
            .filter_map(|n| {
                n.required_during_scheduling_ignored_during_execution
                    .as_ref()
            })
            .flat_map(|s| &s.node_selector_terms);
        terms.flat_map(|t| &t.match_expressions).any(|r| {
            r.key == "kubernetes.io/os"
                && r.operator == "In"
                && r.values.iter().any(|v| v == "windows")
        })
    }

    pub fn targets_windows(&self) -> bool {
        self.node_selector
            .get("kubernetes.io/os")
            .map(String::as_str)
            == Some("windows")
    }
}

impl Container {
    /// Whether its `command`, `args` or literal `env` values contain `text`.
    pub fn mentions(&self, text: &str) -> bool {
        let values = self.env.iter().filter_map(|e| e.value.as_deref());
        (self.command.iter().chain(&self.args).map(String::as_str))
            .chain(values)
            .any(|value| value.contains(text))
    }

    /// `(name, literal value, from valueFrom)` of each `env` entry.
    pub fn env_entries(&self) -> impl Iterator<Item = (&str, Option<&str>, bool)> {
        self.env
            .iter()
            .map(|e| (e.name.as_str(), e.value.as_deref(), e.value_from.is_some()))
    }

    /// The `prefix` of each `envFrom` source.
    pub fn env_from_prefixes(&self) -> impl Iterator<Item = &str> {
        self.env_from.iter().map(|e| e.prefix.as_str())
    }

    /// Whether `env` defines `name`.
    pub fn defines(&self, name: &str) -> bool {
        self.env.iter().any(|e| e.name == name)
    }
}
