//! The `metadata` every kind shares, and an object read for nothing else.

use serde::Deserialize;

use crate::json::{Str, StrMap, nullable};

/// The `metadata` of any object, with borrowed strings: what the policy reads of it.
#[derive(Deserialize, Default, Debug)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Metadata<'a> {
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
    /// `metadata.name` when set and not empty.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref().filter(|n| !n.is_empty())
    }

    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels.get(key).map(|v| v.as_str())
    }

    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.annotations.get(key).map(|v| v.as_str())
    }
}

/// Any object, read for its kind and metadata only.
#[derive(Deserialize, Default, Debug)]
pub(crate) struct Object<'a> {
    #[serde(borrow, default)]
    pub kind: Option<Str<'a>>,
    #[serde(borrow, default)]
    pub metadata: Metadata<'a>,
}
