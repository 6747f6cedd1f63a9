//! Reading an admitted object's `serde_json::Value` through small typed views, the `metadata`
//! every kind shares, and [`Subject`]: how messages name a pod or template, and whom it runs as.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// `T` read from `value`; the error names the field by its path (`spec.volumes[0].csi: …`).
pub fn read<'a, T: Deserialize<'a>>(value: &'a Value) -> Result<T, String> {
    // The path is tracked only to explain an error: every well-formed object reads plainly.
    if let Ok(read) = T::deserialize(value) {
        return Ok(read);
    }
    serde_path_to_error::deserialize(value).map_err(|e| match e.path().to_string() {
        path if path == "." => e.inner().to_string(),
        path => format!("{path}: {}", e.inner()),
    })
}

/// `null` read as the type's default, as the API server treats an absent list or map.
pub fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de> + Default>(
    deserializer: D,
) -> Result<T, D::Error> {
    Option::<T>::deserialize(deserializer).map(Option::unwrap_or_default)
}

/// The `metadata` of any object: what the policy reads of it.
#[derive(Deserialize, Default, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub generate_name: Option<String>,
    #[serde(default)]
    pub namespace: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub labels: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "nullable")]
    pub annotations: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "nullable")]
    pub owner_references: Vec<OwnerReference>,
}

/// Who owns an object: what the policy reads of an `ownerReferences` entry.
#[derive(Deserialize, Default, Debug, Clone)]
pub struct OwnerReference {
    #[serde(default, deserialize_with = "nullable")]
    pub kind: String,
    #[serde(default, deserialize_with = "nullable")]
    pub controller: bool,
}

/// Any object, read for its metadata only.
#[derive(Deserialize, Default, Debug)]
pub struct Object {
    #[serde(default)]
    pub metadata: Metadata,
}

impl Metadata {
    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels.get(key).map(String::as_str)
    }

    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.annotations.get(key).map(String::as_str)
    }

    /// Controlled by an object of `kind` (an `ownerReferences` entry with `controller: true`).
    pub fn controlled_by(&self, kind: &str) -> bool {
        self.owner_references
            .iter()
            .any(|owner| owner.controller && owner.kind == kind)
    }

    /// `metadata.name` when set and not empty.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref().filter(|n| !n.is_empty())
    }

    /// The name upstream hashes for the `v1.6` volume name (reference §2): `metadata.name`, or
    /// `generateName + " (prefix)"` when the name is empty.
    pub fn hash_name(&self) -> String {
        match self.name() {
            Some(name) => name.to_owned(),
            None => format!(
                "{} (prefix)",
                self.generate_name.as_deref().unwrap_or_default()
            ),
        }
    }

    /// How messages name a pod: `name`, or `generateName*` before the name is generated.
    pub fn display_name(&self) -> String {
        match self.name() {
            Some(name) => name.to_owned(),
            None => format!("{}*", self.generate_name.as_deref().unwrap_or_default()),
        }
    }
}

/// How messages name a pod or a pod template, and whom it runs as: what every rule's messages
/// and a SubjectAccessReview need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    pub namespace: String,
    pub service_account: String,
    /// How rejections start: `Pod ns/name`, or `Deployment ns/name: pod template`.
    pub display: String,
    /// How warnings start, without the namespace so that they fit 256 characters (reference §9):
    /// `Pod name`, or `Deployment name template`.
    pub brief: String,
}

impl Subject {
    pub fn user(&self) -> String {
        format!(
            "system:serviceaccount:{}:{}",
            self.namespace, self.service_account
        )
    }

    pub fn groups(&self) -> Vec<String> {
        vec![
            "system:serviceaccounts".to_owned(),
            format!("system:serviceaccounts:{}", self.namespace),
            "system:authenticated".to_owned(),
        ]
    }
}
