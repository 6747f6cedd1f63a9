//! The `contextAwareResources` that `kwctl annotate` stores in a policy's wasm custom section.

use std::collections::BTreeSet;

use anyhow::{Context, Result};
use serde::Deserialize;

/// Name of the custom section holding the policy metadata as JSON (policy-evaluator's constant).
const METADATA_SECTION: &str = "io.kubewarden.metadata";

/// A Kubernetes resource type a policy may read, `apiVersion` + `kind`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContextAwareResource {
    pub api_version: String,
    pub kind: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Metadata {
    #[serde(default)]
    context_aware_resources: BTreeSet<ContextAwareResource>,
}

/// The resources an annotated policy declares, or `None` for a policy that is not annotated.
pub fn context_aware_resources(wasm: &[u8]) -> Result<Option<BTreeSet<ContextAwareResource>>> {
    let Some(section) = custom_section(wasm, METADATA_SECTION) else {
        return Ok(None);
    };
    let metadata: Metadata = serde_json::from_slice(section)
        .with_context(|| format!("invalid JSON in the `{METADATA_SECTION}` custom section"))?;
    Ok(Some(metadata.context_aware_resources))
}

/// The payload of the first custom section called `name`. A truncated or non-wasm input yields
/// `None`: wasmtime reports a broken module better than this scan could.
fn custom_section<'a>(wasm: &'a [u8], name: &str) -> Option<&'a [u8]> {
    let mut rest = wasm.strip_prefix(b"\0asm")?.get(4..)?;
    while let Some((&id, after_id)) = rest.split_first() {
        let (size, after_size) = read_leb_u32(after_id)?;
        let size = usize::try_from(size).ok()?;
        let content = after_size.get(..size)?;
        rest = &after_size[size..];
        if id == 0 {
            let (name_len, after_len) = read_leb_u32(content)?;
            let name_len = usize::try_from(name_len).ok()?;
            let section_name = after_len.get(..name_len)?;
            if section_name == name.as_bytes() {
                return Some(&after_len[name_len..]);
            }
        }
    }
    None
}

/// Decodes an unsigned LEB128 `u32`, returning it and the bytes after it.
fn read_leb_u32(bytes: &[u8]) -> Option<(u32, &[u8])> {
    let mut value: u32 = 0;
    for (index, &byte) in bytes.iter().enumerate().take(5) {
        value |= u32::from(byte & 0x7f) << (7 * index);
        if byte & 0x80 == 0 {
            return Some((value, &bytes[index + 1..]));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leb(mut value: usize) -> Vec<u8> {
        let mut out = Vec::new();
        loop {
            let byte = (value & 0x7f) as u8;
            value >>= 7;
            if value == 0 {
                out.push(byte);
                return out;
            }
            out.push(byte | 0x80);
        }
    }

    fn module_with_custom(name: &str, payload: &[u8]) -> Vec<u8> {
        let mut content = leb(name.len());
        content.extend_from_slice(name.as_bytes());
        content.extend_from_slice(payload);
        let mut wasm = b"\0asm\x01\0\0\0".to_vec();
        // an empty type section first, so the scan has to skip a section
        wasm.extend_from_slice(&[1, 1, 0]);
        wasm.push(0);
        wasm.extend(leb(content.len()));
        wasm.extend(content);
        wasm
    }

    #[test]
    fn reads_the_declared_resources() {
        let json = br#"{"protocolVersion":"v1","contextAwareResources":[{"apiVersion":"v1","kind":"ServiceAccount"}]}"#;
        let resources = context_aware_resources(&module_with_custom(METADATA_SECTION, json))
            .expect("valid metadata")
            .expect("annotated");
        assert_eq!(
            resources,
            BTreeSet::from([ContextAwareResource {
                api_version: "v1".into(),
                kind: "ServiceAccount".into()
            }])
        );
    }

    #[test]
    fn an_unannotated_or_broken_module_has_no_metadata() {
        let other = module_with_custom("name", b"whatever");
        assert_eq!(context_aware_resources(&other).expect("no error"), None);
        assert_eq!(
            context_aware_resources(b"\0asm\x01").expect("no error"),
            None
        );
        assert_eq!(
            context_aware_resources(b"not wasm").expect("no error"),
            None
        );
    }

    #[test]
    fn metadata_without_resources_allows_none() {
        let wasm = module_with_custom(METADATA_SECTION, br#"{"mutating":true}"#);
        assert_eq!(
            context_aware_resources(&wasm).expect("valid"),
            Some(BTreeSet::new())
        );
    }

    #[test]
    fn invalid_metadata_is_an_error() {
        let wasm = module_with_custom(METADATA_SECTION, b"{");
        assert!(context_aware_resources(&wasm).is_err());
    }
}
