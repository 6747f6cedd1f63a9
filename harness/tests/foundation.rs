//! The foundation through the real wasm: settings validation, request forms, dispatch, the
//! kwctl-shaped response line, replay matching; and the packaging files' consistency.

mod common;

use common::*;
use serde_json::Value;

fn settings_rejection(json: &str) -> String {
    let out = eval(Run {
        request: "pod/unlabeled.json",
        settings_json: Some(json),
        ..Run::default()
    });
    assert_eq!(
        out.code,
        Some(1),
        "invalid settings exit 1; stdout {}",
        out.stdout
    );
    assert!(out.stdout.is_empty(), "nothing on stdout: {}", out.stdout);
    assert!(
        out.stderr.contains("Provided settings are not valid"),
        "{}",
        out.stderr
    );
    out.stderr
}

#[test]
fn spec_3_unknown_cloud_is_rejected_naming_field_and_value() {
    let err =
        settings_rejection(r#"{"tenantId":"72f988bf-86f1-41af-91ab-2d7cd011db47","cloud":"Mars"}"#);
    assert!(err.contains("cloud") && err.contains("Mars"), "{err}");
}

#[test]
fn spec_3_two_ca_sources_are_rejected_naming_both() {
    let err = settings_rejection(
        r#"{"tenantId":"72f988bf-86f1-41af-91ab-2d7cd011db47","identityBinding":{"caData":"x","caConfigMap":"y"}}"#,
    );
    assert!(
        err.contains("identityBinding.caData") && err.contains("identityBinding.caConfigMap"),
        "{err}"
    );
}

#[test]
fn spec_3_unknown_key_is_rejected_naming_it() {
    let err = settings_rejection(
        r#"{"tenantId":"72f988bf-86f1-41af-91ab-2d7cd011db47","proxy":{"sidecarImage":"x"}}"#,
    );
    assert!(
        err.contains("proxy") && err.contains("sidecarImage"),
        "{err}"
    );
}

#[test]
fn spec_3_missing_tenant_when_mutating_is_rejected() {
    let err = settings_rejection("{}");
    assert!(err.contains("tenantId"), "{err}");
}

#[test]
fn valid_settings_from_yaml_or_json_files_are_accepted() {
    for settings in [
        "settings/default.json",
        "settings/v16.json",
        "settings/validate-only.json",
        "settings/identity-binding.json",
    ] {
        let out = eval(Run {
            request: "pod/unlabeled.json",
            settings: Some(settings),
            ..Run::default()
        })
        .clean();
        assert!(out.allowed(), "{settings}: {}", out.stdout);
    }
}

#[test]
fn response_line_has_kwctl_fields_in_kwctl_order() {
    let out = eval(Run {
        request: "pod/unlabeled.json",
        settings: Some("settings/default.json"),
        ..Run::default()
    })
    .clean();
    assert_eq!(out.stdout.lines().count(), 1);
    assert_eq!(
        out.stdout.trim(),
        r#"{"uid":"pods-web-7d9f8b7c5d-x2x4z-uid","allowed":true,"auditAnnotations":null,"warnings":null}"#
    );
}

#[test]
fn bare_admission_request_and_admission_review_give_the_same_answer() {
    let review = eval(Run {
        request: "pod/labelled.json",
        settings: Some("settings/default.json"),
        session: Some("sessions/workload-sa.yml"),
        ..Run::default()
    })
    .clean();
    let bare = eval(Run {
        request: "pod/labelled-bare-request.json",
        settings: Some("settings/default.json"),
        session: Some("sessions/workload-sa.yml"),
        ..Run::default()
    })
    .clean();
    assert_eq!(review.stdout, bare.stdout);
    assert!(review.patch().is_some());
}

#[test]
fn other_kinds_and_operations_are_accepted_unchanged() {
    for request in ["other/configmap.json", "pod/delete.json"] {
        let out = eval(Run {
            request,
            settings: Some("settings/default.json"),
            session: Some("sessions/empty.yml"),
            ..Run::default()
        })
        .clean();
        assert!(out.allowed(), "{request}");
        assert_eq!(out.response.get("patch"), None, "{request}");
    }
}

#[test]
fn unmatched_host_call_is_an_error_to_the_policy_and_reported_on_stderr() {
    // The session answers for workload-sa only; this pod uses `ghost`.
    let out = eval(Run {
        request: "pod/missing-sa.json",
        settings: Some("settings/default.json"),
        session: Some("sessions/workload-sa.yml"),
        content_replay: true,
        ..Run::default()
    });
    assert_eq!(out.code, Some(0));
    assert!(
        out.stderr.contains("callback evaluation failed"),
        "{}",
        out.stderr
    );
    assert!(!out.allowed());
    assert!(
        out.message().contains("ServiceAccount team-a/ghost"),
        "{}",
        out.message()
    );
}

#[test]
fn content_replay_matches_in_any_order_and_reuses_answers() {
    // ghost-sa.yml answers the cached lookup and the uncached retry: by content both match
    // whichever comes first, and the policy reports the host's cause.
    let out = eval(Run {
        request: "pod/missing-sa.json",
        settings: Some("settings/default.json"),
        session: Some("sessions/ghost-sa.yml"),
        content_replay: true,
        ..Run::default()
    })
    .clean();
    assert!(
        out.message()
            .contains("Cannot find v1/ServiceAccount named 'ghost'"),
        "{}",
        out.message()
    );
}

/// The benchmark's context-aware cases (scripts/bench.sh) replay strictly too, so a real
/// `kwctl bench` can run them: the session holds exactly the policy's calls, in order.
#[test]
fn bench_sessions_replay_strictly() {
    for (request, settings, session) in [
        (
            "bench/wi-pod-full.json",
            "bench/settings-full.json",
            "bench/session-full.yml",
        ),
        (
            "bench/wi-pod.json",
            "settings/default.json",
            "sessions/workload-sa.yml",
        ),
        (
            "bench/wi-pod-20.json",
            "settings/default.json",
            "sessions/workload-sa.yml",
        ),
        (
            "bench/wi-pod-200.json",
            "settings/default.json",
            "sessions/workload-sa.yml",
        ),
        (
            "bench/deployment-template.json",
            "settings/default.json",
            "sessions/workload-sa.yml",
        ),
    ] {
        let out = eval_clean(request, settings, session);
        assert!(out.allowed(), "{request}: {}", out.stdout);
    }
}

/// Every recorded session is replayed by some test (here, in e2e.bats or in the benchmark), so
/// none can fall out of step with the policy's calls unnoticed.
#[test]
fn every_session_file_is_exercised() {
    let mut users = String::new();
    for dir in ["harness/tests", "scripts"] {
        for entry in std::fs::read_dir(root().join(dir)).expect(dir).flatten() {
            users.push_str(&std::fs::read_to_string(entry.path()).unwrap_or_default());
        }
    }
    users.push_str(&std::fs::read_to_string(root().join("e2e.bats")).unwrap_or_default());
    for dir in ["sessions", "bench"] {
        for entry in std::fs::read_dir(data(dir)).expect(dir).flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(".yml") {
                let path = format!("{dir}/{name}");
                assert!(users.contains(&path), "test_data/{path} is used by no test");
            }
        }
    }
}

#[test]
fn without_allow_context_aware_the_lookup_is_refused_and_the_pod_rejected() {
    let built = built();
    let output = std::process::Command::new(&built.harness)
        .args(["run", "-r"])
        .arg(data("pod/labelled.json"))
        .arg("--settings-path")
        .arg(data("settings/default.json"))
        .arg(&built.policy)
        .output()
        .expect("harness runs");
    let line: Value = serde_json::from_slice(&output.stdout).expect("one JSON line");
    assert_eq!(line["allowed"], false);
    assert_eq!(line["status"]["code"], 500);
    assert!(
        line["status"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("has not been granted access"),
        "{line}"
    );
}

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
    // SPEC §8: `legacyPodIdentity: migrate` lists the namespace's AzureIdentityBindings.
    assert_eq!(
        caps,
        [
            "kubernetes/get_resource",
            "kubernetes/can_i",
            "kubernetes/list_resources_by_namespace"
        ]
    );
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
