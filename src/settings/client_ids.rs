//! `allowedClientIds` as the Kubewarden UI's settings form writes it: the form edits a `map[`
//! item as key/value strings (rancher/kubewarden-ui
//! `pkg/kubewarden/components/Questions/QuestionMap.vue`, `KeyValue`), so each namespace's
//! client IDs may also be one string separated by commas or white space (`"a, b"` is
//! `["a", "b"]`; `""` is `[]`). Rewritten to lists before the settings are read, only when the
//! plain read failed: a deserializer of its own, instantiated for both of `from_json`'s
//! parsers, cost the wasm 20 KB; this reuses the `serde_json::Value` code it already has.

use serde_json::Value;

/// The settings document with every `allowedClientIds` string value as a list, or `None`
/// when there is nothing to rewrite.
pub(super) fn as_lists(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut document: Value = serde_json::from_slice(bytes).ok()?;
    let lists = document.get_mut("allowedClientIds")?.as_object_mut()?;
    let mut rewritten = false;
    for value in lists.values_mut() {
        if let Value::String(text) = value {
            *value = text
                .split(|c: char| c == ',' || c.is_whitespace())
                .filter(|id| !id.is_empty())
                .map(Value::from)
                .collect();
            rewritten = true;
        }
    }
    rewritten
        .then(|| serde_json::to_vec(&document).ok())
        .flatten()
}

/// What to add to a type error at `path`: the shapes `allowedClientIds` takes.
pub(super) fn hint(path: &str) -> &'static str {
    if path.starts_with("allowedClientIds.") {
        " (a list of client IDs, or one string of them separated by commas)"
    } else {
        ""
    }
}
