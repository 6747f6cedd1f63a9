//! `allowedClientIds` as it may be written: each namespace's client IDs as a list, or as the
//! Kubewarden UI's settings form writes a map's values, one string (rancher/kubewarden-ui
//! `pkg/kubewarden/components/Questions/QuestionMap.vue` edits a `map[` item with `KeyValue`).

use std::collections::BTreeMap;

use serde::Deserialize;

/// `allowedClientIds`: each namespace's client IDs as a list or, as the Kubewarden UI's
/// key/value form writes a map's values, one string of IDs separated by commas or white space
/// (`"a, b"` is `["a", "b"]`; `""` is `[]`).
pub(super) fn deserialize<'de, D>(
    deserializer: D,
) -> Result<BTreeMap<String, Vec<String>>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    struct ClientIds(Vec<String>);

    impl<'de> Deserialize<'de> for ClientIds {
        fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            deserializer.deserialize_any(ClientIdsVisitor)
        }
    }

    struct ClientIdsVisitor;

    impl<'de> serde::de::Visitor<'de> for ClientIdsVisitor {
        type Value = ClientIds;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a list of client IDs, or one string of them separated by commas")
        }

        fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<ClientIds, E> {
            Ok(ClientIds(
                text.split(|c: char| c == ',' || c.is_whitespace())
                    .filter(|id| !id.is_empty())
                    .map(str::to_owned)
                    .collect(),
            ))
        }

        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> Result<ClientIds, A::Error> {
            let mut ids = Vec::new();
            while let Some(id) = seq.next_element::<String>()? {
                ids.push(id);
            }
            Ok(ClientIds(ids))
        }
    }

    let lists = BTreeMap::<String, ClientIds>::deserialize(deserializer)?;
    Ok(lists
        .into_iter()
        .map(|(namespace, ids)| (namespace, ids.0))
        .collect())
}
