//! A pod's document, read once in the envelope's pass: `metadata`, then `spec` to the shape
//! its path needs (the containers only for opted-in pods), every other member kept raw. From
//! it, [`PodHead`]: the few fields every pod is read for, without touching containers: the
//! path every pod of the cluster takes (SPEC §4.1).

use serde::Deserialize;
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use super::metadata::Metadata;
use super::shapes::{SPEC, SPEC_LIGHT};
use crate::json::{Node, Shape, ShapeSeed, Str, StrMap, nullable};
use crate::names;

/// `metadata` and the volume list of a pod (or of a pod template), built by
/// [`PodHead::from_node`].
#[derive(Default, Debug)]
pub struct PodHead<'a> {
    pub metadata: Metadata<'a>,
    pub spec: SpecHead<'a>,
}

impl Metadata<'_> {
    /// Opted in: the label is exactly `"true"`, as a label selector would match it.
    pub fn opted_in(&self) -> bool {
        self.label(names::USE_LABEL) == Some("true")
    }
}

/// The parts of `spec` the unlabeled path may need: volumes (CSI, hand-written tokens).
#[derive(Default, Debug)]
pub struct SpecHead<'a> {
    pub service_account_name: Option<Str<'a>>,
    /// The deprecated `spec.serviceAccount` (SPEC §4.2).
    pub service_account: Option<Str<'a>>,
    pub volumes: Vec<VolumeHead<'a>>,
}

#[derive(Default, Debug)]
pub struct VolumeHead<'a> {
    pub name: Str<'a>,
    pub csi: Option<CsiHead<'a>>,
    pub projected: Option<ProjectedHead<'a>>,
}

impl<'a> VolumeHead<'a> {
    /// A volume read to `{name}` with its other members raw: `csi` and `projected` are read
    /// from their text. The error names the field.
    fn from_node(volume: &Node<'a>) -> Result<Self, String> {
        fn member<'a, T: Deserialize<'a>>(
            volume: &Node<'a>,
            key: &str,
        ) -> Result<Option<T>, String> {
            match volume.get(key) {
                None => Ok(None),
                Some(Node::Raw(raw)) => serde_json::from_str::<Option<T>>(raw.get())
                    .map_err(|e| format!("spec.volumes[].{key}: {e}")),
                Some(other) => Err(format!(
                    "spec.volumes[].{key}: invalid type: {}",
                    other.kind()
                )),
            }
        }
        if !matches!(volume, Node::Object(_)) {
            return Err(format!("spec.volumes[]: invalid type: {}", volume.kind()));
        }
        Ok(Self {
            name: match volume.get("name") {
                None => Str::default(),
                Some(Node::Str(name)) => name.clone(),
                Some(other) => {
                    return Err(format!(
                        "spec.volumes[].name: invalid type: {}",
                        other.kind()
                    ));
                }
            },
            csi: member(volume, "csi")?,
            projected: member(volume, "projected")?,
        })
    }
}

#[derive(Deserialize, Default, Debug)]
#[serde(rename_all = "camelCase")]
pub struct CsiHead<'a> {
    #[serde(borrow, default)]
    pub driver: Str<'a>,
    #[serde(borrow, default, deserialize_with = "nullable")]
    pub volume_attributes: StrMap<'a>,
}

#[derive(Deserialize, Default, Debug)]
pub struct ProjectedHead<'a> {
    #[serde(borrow, default, deserialize_with = "nullable")]
    pub sources: Vec<ProjectionHead<'a>>,
}

#[derive(Deserialize, Default, Debug)]
#[serde(rename_all = "camelCase")]
pub struct ProjectionHead<'a> {
    #[serde(borrow, default)]
    pub service_account_token: Option<TokenProjectionHead<'a>>,
}

#[derive(Deserialize, Default, Debug)]
pub struct TokenProjectionHead<'a> {
    #[serde(borrow, default)]
    pub audience: Option<Str<'a>>,
}

/// A Pod object as the envelope reads it: `metadata` first (it comes first in every
/// Kubernetes serialization), then `spec` to the full [`SPEC`] shape when the metadata opts
/// the pod in, and to [`SPEC_LIGHT`] otherwise, so that only opted-in pods pay for reading
/// their containers.
pub struct PodText<'a> {
    pub node: Node<'a>,
    /// The metadata as read on the way, when it was.
    pub metadata: Option<Result<Metadata<'a>, serde_json::Error>>,
}

impl<'a> PodText<'a> {
    fn other(node: Node<'a>) -> Self {
        Self {
            node,
            metadata: None,
        }
    }

    /// `text` read the same way, for a pod that did not come in the envelope's pass.
    pub fn parse(text: &'a str) -> Result<Self, serde_json::Error> {
        let mut deserializer = serde_json::Deserializer::from_str(text);
        let pod = PodSeed.deserialize(&mut deserializer)?;
        deserializer.end()?;
        Ok(pod)
    }
}

pub struct PodSeed;

impl<'de> DeserializeSeed<'de> for PodSeed {
    type Value = PodText<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<PodText<'de>, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for PodSeed {
    type Value = PodText<'de>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a Kubernetes Pod object")
    }

    fn visit_unit<E>(self) -> Result<PodText<'de>, E> {
        Ok(PodText {
            node: Node::Null,
            metadata: None,
        })
    }

    // Not an object: read as it is (the head rejects it on CREATE; an UPDATE is accepted).
    fn visit_bool<E>(self, v: bool) -> Result<PodText<'de>, E> {
        Ok(PodText::other(Node::Bool(v)))
    }

    fn visit_i64<E>(self, v: i64) -> Result<PodText<'de>, E> {
        Ok(PodText::other(Node::Number(v.into())))
    }

    fn visit_u64<E>(self, v: u64) -> Result<PodText<'de>, E> {
        Ok(PodText::other(Node::Number(v.into())))
    }

    fn visit_f64<E>(self, v: f64) -> Result<PodText<'de>, E> {
        Ok(PodText::other(Node::Float(v)))
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<PodText<'de>, E> {
        Ok(PodText::other(Node::Str(Str::new(v))))
    }

    fn visit_str<E>(self, v: &str) -> Result<PodText<'de>, E> {
        Ok(PodText::other(Node::Str(Str::owned(v.to_owned()))))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<PodText<'de>, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(ShapeSeed(Shape::Raw))? {
            items.push(item);
        }
        Ok(PodText::other(Node::List(items)))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<PodText<'de>, A::Error> {
        let mut members = Vec::new();
        let mut metadata: Option<Result<Metadata<'de>, serde_json::Error>> = None;
        while let Some(key) = map.next_key::<Str<'de>>()? {
            let value = match &*key {
                "metadata" => {
                    let raw: &'de RawValue = map.next_value()?;
                    metadata = Some(serde_json::from_str(raw.get()));
                    Node::Raw(raw)
                }
                "spec" => {
                    let opted_in = matches!(&metadata, Some(Ok(m)) if m.opted_in());
                    let shape = if opted_in { SPEC } else { SPEC_LIGHT };
                    map.next_value_seed(ShapeSeed(shape))?
                }
                _ => Node::Raw(map.next_value()?),
            };
            members.push((key, value));
        }
        Ok(PodText {
            node: Node::Object(members),
            metadata,
        })
    }
}

/// The string member `key` of `spec`, `None` when absent or null.
fn optional_str<'a>(spec: &Node<'a>, key: &str) -> Result<Option<Str<'a>>, serde_json::Error> {
    use serde::de::Error as _;
    match spec.get(key) {
        None | Some(Node::Null) => Ok(None),
        Some(Node::Str(name)) => Ok(Some(name.clone())),
        Some(other) => Err(serde_json::Error::custom(format!(
            "spec.{key}: invalid type: {}",
            other.kind()
        ))),
    }
}

impl<'a> PodHead<'a> {
    /// The head of a pod read by [`PodSeed`]: its metadata as read on the way, and its
    /// volumes re-read from their raw text; the rest of it is not read again.
    pub fn from_node(
        pod: &Node<'a>,
        metadata: Option<Result<Metadata<'a>, serde_json::Error>>,
    ) -> Result<Self, serde_json::Error> {
        use serde::de::Error as _;
        let invalid = |what: String, node: &Node| {
            serde_json::Error::custom(format!("{what}: invalid type: {}", node.kind()))
        };
        if !matches!(pod, Node::Object(_)) {
            return Err(invalid("the object".into(), pod));
        }
        let metadata = match (metadata, pod.get("metadata")) {
            (Some(read), _) => read?,
            (None, None) => Metadata::default(),
            (None, Some(Node::Raw(raw))) => serde_json::from_str(raw.get())?,
            (None, Some(other)) => return Err(invalid("metadata".into(), other)),
        };
        let spec = match pod.get("spec") {
            None => SpecHead::default(),
            Some(spec @ Node::Object(_)) => SpecHead {
                service_account_name: optional_str(spec, "serviceAccountName")?,
                service_account: optional_str(spec, "serviceAccount")?,
                volumes: match spec.get("volumes") {
                    None | Some(Node::Null) => Vec::new(),
                    Some(Node::List(volumes)) => volumes
                        .iter()
                        .map(|volume| {
                            VolumeHead::from_node(volume).map_err(serde_json::Error::custom)
                        })
                        .collect::<Result<_, _>>()?,
                    Some(other) => return Err(invalid("spec.volumes".into(), other)),
                },
            },
            Some(other) => return Err(invalid("spec".into(), other)),
        };
        Ok(Self { metadata, spec })
    }

    /// Opted in: the label is exactly `"true"`, as a label selector would match it.
    pub fn opted_in(&self) -> bool {
        self.metadata.opted_in()
    }

    /// `spec.serviceAccountName`, else the deprecated `spec.serviceAccount` (which the API
    /// server copies over only on its own create path: a replayed request may carry only it),
    /// else `default` (SPEC §4.2).
    pub fn service_account(&self) -> &str {
        [&self.spec.service_account_name, &self.spec.service_account]
            .into_iter()
            .filter_map(|name| name.as_deref())
            .find(|name| !name.is_empty())
            .unwrap_or("default")
    }

    /// Names of the SecretProviderClasses of the pod's Key Vault CSI volumes, with the volume
    /// name (`None` when the volume names no class).
    pub fn csi_provider_classes(&self) -> impl Iterator<Item = (&str, Option<&str>)> {
        self.spec.volumes.iter().filter_map(|v| {
            let csi = v.csi.as_ref()?;
            (&*csi.driver == names::CSI_DRIVER).then(|| {
                (
                    &*v.name,
                    csi.volume_attributes
                        .get("secretProviderClass")
                        .map(|s| &**s)
                        .filter(|s| !s.is_empty()),
                )
            })
        })
    }

    /// Whether any projected `serviceAccountToken` asks for `audience`.
    pub fn requests_token_for(&self, audience: &str) -> bool {
        self.spec
            .volumes
            .iter()
            .filter_map(|v| v.projected.as_ref())
            .flat_map(|p| &p.sources)
            .filter_map(|s| s.service_account_token.as_ref())
            .any(|t| t.audience.as_deref() == Some(audience))
    }

    pub fn label(&self, key: &str) -> Option<&str> {
        self.metadata.label(key)
    }

    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.metadata.annotation(key)
    }

    /// The name upstream hashes for the `v1.6` volume name: `metadata.name`, or
    /// `generateName + " (prefix)"` when the name is empty.
    pub fn hash_name(&self) -> String {
        match self.metadata.name.as_deref() {
            Some(name) if !name.is_empty() => name.to_owned(),
            _ => format!(
                "{} (prefix)",
                self.metadata.generate_name.as_deref().unwrap_or_default()
            ),
        }
    }

    /// How messages name the pod: `name`, or `generateName*` before the name is generated.
    pub fn display_name(&self) -> String {
        match self.metadata.name.as_deref() {
            Some(name) if !name.is_empty() => name.to_owned(),
            _ => format!(
                "{}*",
                self.metadata.generate_name.as_deref().unwrap_or_default()
            ),
        }
    }
}

#[cfg(test)]
#[path = "pod_tests.rs"]
mod tests;
