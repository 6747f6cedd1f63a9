//! The few fields every pod is read for, deserialized with borrowed strings and without
//! touching containers: this is the path every pod of the cluster takes (SPEC §4.1).

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::Deserialize;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use super::doc::{Node, SPEC, SPEC_LIGHT, Shape, ShapeSeed};
use crate::names;

/// A string borrowed from the request when it has no escapes, owned otherwise. Unlike a bare
/// `Cow`, it borrows inside maps and lists too.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Str<'a>(pub Cow<'a, str>);

impl std::ops::Deref for Str<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for Str<'_> {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Str<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Str<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Str(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Str(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(Str(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

pub type StrMap<'a> = BTreeMap<Str<'a>, Str<'a>>;

/// `metadata` and the volume list of a pod (or of a pod template), built by
/// [`PodHead::from_node`].
#[derive(Default, Debug)]
pub struct PodHead<'a> {
    pub metadata: Metadata<'a>,
    pub spec: SpecHead<'a>,
}

#[derive(Deserialize, Default, Debug)]
#[serde(rename_all = "camelCase")]
pub struct Metadata<'a> {
    #[serde(borrow, default)]
    pub name: Option<Str<'a>>,
    #[serde(borrow, default)]
    pub generate_name: Option<Str<'a>>,
    #[serde(borrow, default)]
    pub namespace: Option<Str<'a>>,
    #[serde(borrow, default, deserialize_with = "nullable")]
    pub labels: StrMap<'a>,
    #[serde(borrow, default, deserialize_with = "nullable")]
    pub annotations: StrMap<'a>,
}

impl Metadata<'_> {
    /// Opted in: the label is exactly `"true"`, as a label selector would match it.
    pub fn opted_in(&self) -> bool {
        self.labels
            .get(names::USE_LABEL)
            .is_some_and(|v| &**v == "true")
    }
}

/// The parts of `spec` the unlabeled path may need: volumes (CSI, hand-written tokens).
#[derive(Default, Debug)]
pub struct SpecHead<'a> {
    pub service_account_name: Option<Str<'a>>,
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

/// `null` reads as the type's default, as the API server treats it.
fn nullable<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
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
        Ok(PodText::other(Node::Str(Str(Cow::Borrowed(v)))))
    }

    fn visit_str<E>(self, v: &str) -> Result<PodText<'de>, E> {
        Ok(PodText::other(Node::Str(Str(Cow::Owned(v.to_owned())))))
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
                service_account_name: match spec.get("serviceAccountName") {
                    None | Some(Node::Null) => None,
                    Some(Node::Str(name)) => Some(name.clone()),
                    Some(other) => return Err(invalid("spec.serviceAccountName".into(), other)),
                },
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

    /// `spec.serviceAccountName`, or `default`.
    pub fn service_account(&self) -> &str {
        self.spec
            .service_account_name
            .as_deref()
            .filter(|s| !s.is_empty())
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
        self.metadata.labels.get(key).map(|v| &**v)
    }

    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.metadata.annotations.get(key).map(|v| &**v)
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
