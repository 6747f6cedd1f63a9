//! reference §11, the packaging files against the policy: `metadata.yml`, `artifacthub-pkg.yml` and
//! Cargo agree, metadata declares every host capability the policy calls, and every setting is
//! documented.

mod common;

use common::*;
use serde_json::Value;

fn yaml(path: &str) -> serde_yaml::Value {
    let text = std::fs::read_to_string(root().join(path)).expect(path);
    serde_yaml::from_str(&text).expect(path)
}

fn cargo_version() -> String {
    let text = std::fs::read_to_string(root().join("Cargo.toml")).expect("Cargo.toml");
    text.lines()
        .find_map(|l| l.strip_prefix("version = \""))
        .map(|v| v.trim_end_matches('"').to_owned())
        .expect("package version")
}

#[test]
fn metadata_artifacthub_and_cargo_agree() {
    let metadata = yaml("metadata.yml");
    let artifacthub = yaml("artifacthub-pkg.yml");
    let version = cargo_version();
    assert_eq!(
        metadata["annotations"]["io.kubewarden.policy.version"].as_str(),
        Some(version.as_str())
    );
    assert_eq!(artifacthub["version"].as_str(), Some(version.as_str()));
    let image = artifacthub["containersImages"][0]["image"]
        .as_str()
        .unwrap_or_default();
    assert!(image.ends_with(&format!(":v{version}")), "{image}");
    let annotations = &artifacthub["annotations"];
    let parse = |key: &str| -> serde_yaml::Value {
        serde_yaml::from_str(annotations[key].as_str().unwrap_or_default()).expect(key)
    };
    assert_eq!(parse("kubewarden/rules"), metadata["rules"]);
    assert_eq!(
        parse("kubewarden/contextAwareResources"),
        metadata["contextAwareResources"]
    );
    assert_eq!(parse("kubewarden/questions-ui"), yaml("questions-ui.yml"));
    assert_eq!(
        annotations["kubewarden/mutation"].as_str(),
        Some(if metadata["mutating"].as_bool() == Some(true) {
            "true"
        } else {
            "false"
        })
    );
    assert_eq!(
        annotations["kubewarden/resources"],
        metadata["annotations"]["io.artifacthub.resources"]
    );
    assert_eq!(
        artifacthub["name"],
        metadata["annotations"]["io.kubewarden.policy.title"]
    );
}

#[test]
fn metadata_declares_what_the_policy_calls() {
    let metadata = yaml("metadata.yml");
    assert_eq!(metadata["mutating"].as_bool(), Some(true));
    assert_eq!(metadata["executionMode"].as_str(), Some("kubewarden-wapc"));
    let caps: Vec<&str> = metadata["hostCapabilities"]
        .as_sequence()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str())
        .collect();
    // reference §8: `legacyPodIdentity: migrate` lists the AzureIdentityBindings of every
    // namespace, as AAD Pod Identity's MIC matches them; nothing lists by namespace.
    assert_eq!(
        caps,
        [
            "kubernetes/get_resource",
            "kubernetes/can_i",
            "kubernetes/list_resources_all"
        ]
    );
    // reference §4.12, §11: pods CREATE and the ephemeral-container subresource's UPDATE, which a
    // rule for `pods` alone does not match.
    let sends = |resource: &str, operation: &str| {
        metadata["rules"]
            .as_sequence()
            .into_iter()
            .flatten()
            .any(|rule| {
                let has = |key: &str, item: &str| {
                    rule[key]
                        .as_sequence()
                        .into_iter()
                        .flatten()
                        .any(|v| v.as_str() == Some(item))
                };
                has("apiGroups", "")
                    && has("apiVersions", "v1")
                    && has("resources", resource)
                    && has("operations", operation)
            })
    };
    assert!(sends("pods", "CREATE"));
    assert!(sends("pods/ephemeralcontainers", "UPDATE"));
    let kinds: Vec<(&str, &str)> = metadata["contextAwareResources"]
        .as_sequence()
        .into_iter()
        .flatten()
        .map(|r| {
            (
                r["apiVersion"].as_str().unwrap_or_default(),
                r["kind"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("v1", "ServiceAccount"),
            ("secrets-store.csi.x-k8s.io/v1", "SecretProviderClass"),
            ("aadpodidentity.k8s.io/v1", "AzureIdentityBinding"),
            ("aadpodidentity.k8s.io/v1", "AzureIdentity"),
        ]
    );
}

/// Every settings field (by its dotted path) appears in questions-ui.yml and README.md.
#[test]
fn every_setting_is_documented() {
    let fields = [
        "mutate",
        "tenantId",
        "cloud",
        "authorityHost",
        "audience",
        "tokenVolumeLayout",
        "proxy.image",
        "proxy.initImage",
        "proxy.nativeSidecar",
        "proxy.logLevel",
        "proxy.allowedNamespaces",
        "identityBinding.annotationSuffix",
        "identityBinding.audience",
        "identityBinding.tokenProxy",
        "identityBinding.sniName",
        "identityBinding.caData",
        "identityBinding.caConfigMap",
        "identityBinding.caClusterTrustBundle.signerName",
        "identityBinding.caClusterTrustBundle.labelSelector",
        "identityBinding.authorize",
        "identityBinding.verb",
        "identityBinding.apiGroup",
        "secretsStoreCsi.authorize",
        "allowedClientIds",
        "legacyPodIdentity",
        "legacyPodIdentityForceNamespaced",
        "verifyInjection",
    ];
    let questions =
        std::fs::read_to_string(root().join("questions-ui.yml")).expect("questions-ui.yml");
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    for field in fields {
        assert!(
            questions.contains(&format!("variable: {field}\n")),
            "questions-ui.yml lacks {field}"
        );
        assert!(
            readme.contains(&format!("`{field}`")),
            "README.md lacks `{field}`"
        );
    }
    // And the settings type has no field this list forgets: the defaults serialize to it.
    let defaults =
        serde_json::to_value(azure_workload_identity_policy::settings::Settings::default())
            .expect("serialize");
    let mut paths = Vec::new();
    collect_paths(&defaults, "", &mut paths);
    for path in paths {
        assert!(
            fields
                .iter()
                .any(|f| *f == path || f.starts_with(&format!("{path}."))),
            "undocumented setting {path}"
        );
    }
}

fn collect_paths(value: &Value, prefix: &str, out: &mut Vec<String>) {
    if let Some(map) = value.as_object() {
        for (key, child) in map {
            let path = if prefix.is_empty() {
                key.clone()
            } else {
                format!("{prefix}.{key}")
            };
            if child.is_object() && key != "allowedClientIds" {
                collect_paths(child, &path, out);
            } else {
                out.push(path);
            }
        }
    }
}
