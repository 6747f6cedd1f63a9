//! SPEC §3 through the real wasm: `validate_settings` refuses what SPEC §3 refuses, naming the
//! field and the value, and accepts the shipped settings files, YAML or JSON.

mod common;

use common::*;

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
