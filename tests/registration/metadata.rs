//! reference §11: `metadata.yml` sets `minimumKubewardenVersion` to the oldest Kubewarden whose
//! policy-server and kwctl provide everything the policy and its shipped manifests use, and
//! README states the same floor.

use std::fs;
use std::path::{Path, PathBuf};

/// The floor this release declares.
const FLOOR: &str = "1.35.0";

/// What the policy and its manifests use, and the Kubewarden release that brought it
/// (kubewarden-controller, checked against v1.35).
const FEATURES: &[(&str, &str)] = &[
    (
        "hostCapabilities in metadata.yml (kwctl annotate checks them)",
        "1.35.0",
    ),
    ("field masks in get_resource", "1.33.0"),
    ("timeoutEvalSeconds in a ClusterAdmissionPolicy", "1.29.0"),
    ("matchConditions in a ClusterAdmissionPolicy", "1.15.0"),
];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {path:?}: {e}"))
}

fn metadata() -> serde_yaml::Value {
    serde_yaml::from_str(&read(&root().join("metadata.yml"))).expect("metadata.yml is YAML")
}

fn version(text: &str) -> (u64, u64, u64) {
    let parts: Vec<u64> = text
        .split('.')
        .map(|part| {
            part.parse()
                .unwrap_or_else(|e| panic!("{text:?} is not a version: {e}"))
        })
        .collect();
    match parts[..] {
        [major, minor, patch] => (major, minor, patch),
        _ => panic!("{text:?} is not major.minor.patch"),
    }
}

/// Every file under `dir` whose name ends with one of `extensions`, as text.
fn texts(dir: &Path, extensions: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    let entries = fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot list {dir:?}: {e}"));
    for entry in entries {
        let path: PathBuf = entry.expect("a directory entry").path();
        if path.is_dir() {
            found.extend(texts(&path, extensions));
        } else if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| extensions.contains(&e))
        {
            found.push(read(&path));
        }
    }
    found
}

/// Whether the policy or its manifests use `feature` (by the first word of its description).
fn used(feature: &str) -> bool {
    let examples = || texts(&root().join("examples"), &["yaml", "yml"]);
    match feature.split_whitespace().next() {
        Some("hostCapabilities") => metadata().get("hostCapabilities").is_some(),
        Some("field") => texts(&root().join("src"), &["rs"])
            .iter()
            .any(|source| source.contains("field_masks")),
        Some(key @ ("timeoutEvalSeconds" | "matchConditions")) => examples()
            .iter()
            .any(|manifest| manifest.contains(&format!("{key}:"))),
        _ => panic!("no check for {feature:?}"),
    }
}

#[test]
fn spec_11_metadata_declares_the_oldest_kubewarden_that_runs_the_policy() {
    let metadata = metadata();
    let declared = metadata
        .get("minimumKubewardenVersion")
        .expect("metadata.yml sets minimumKubewardenVersion");
    // kwctl reads it as a semver string: a YAML number (`1.35`) would not load.
    let declared = declared
        .as_str()
        .expect("minimumKubewardenVersion is a major.minor.patch string");
    assert_eq!(declared, FLOOR);

    let needed = FEATURES
        .iter()
        .filter(|(feature, _)| used(feature))
        .max_by_key(|(_, since)| version(since))
        .expect("the policy uses at least one versioned feature");
    assert_eq!(
        version(declared),
        version(needed.1),
        "the floor is the release that brought the newest feature used: {}",
        needed.0
    );
}

/// README is not this test's file: it must carry the sentence below, "**Needs Kubewarden ≥
/// 1.35.0**", and state no other floor.
#[test]
fn spec_11_readme_states_the_same_floor() {
    let readme = read(&root().join("README.md"));
    let needle = "Needs Kubewarden ≥ ";
    let stated: Vec<&str> = readme
        .match_indices(needle)
        .map(|(at, _)| {
            let rest = &readme[at + needle.len()..];
            let end = rest
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .unwrap_or(rest.len());
            rest[..end].trim_end_matches('.')
        })
        .collect();
    assert_eq!(
        stated,
        [FLOOR],
        "README.md must say \"Needs Kubewarden ≥ {FLOOR}\", once, and no other floor"
    );
}

#[test]
fn spec_8_7_metadata_grants_the_aad_pod_identity_resources() {
    let metadata = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/metadata.yml"))
        .unwrap_or_default();
    let metadata: serde_yaml::Value = serde_yaml::from_str(&metadata).unwrap_or_default();
    let resources = metadata["contextAwareResources"]
        .as_sequence()
        .cloned()
        .unwrap_or_default();
    for kind in ["AzureIdentityBinding", "AzureIdentity"] {
        assert!(
            resources.iter().any(
                |r| r["apiVersion"].as_str() == Some("aadpodidentity.k8s.io/v1")
                    && r["kind"].as_str() == Some(kind)
            ),
            "{kind} missing from contextAwareResources"
        );
    }
    let capabilities = format!("{:?}", metadata["hostCapabilities"]);
    // §8.1: the bindings of every namespace, in one list.
    assert!(
        capabilities.contains("kubernetes/list_resources_all")
            || capabilities.contains("kubernetes/*"),
        "{capabilities}"
    );
}
