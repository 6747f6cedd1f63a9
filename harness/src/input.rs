//! Reading the settings and the admission request the way `kwctl run` does.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Policy settings: always a JSON object (`{}` when none are given).
pub type Settings = Map<String, Value>;

/// Loads the settings: `--settings-path` (YAML or JSON) wins over `--settings-json`.
pub fn load_settings(json: Option<&str>, path: Option<&Path>) -> Result<Settings> {
    let value: Value = if let Some(path) = path {
        let file = std::fs::File::open(path)
            .with_context(|| format!("Cannot open settings file {}", path.display()))?;
        serde_yaml::from_reader(file)
            .with_context(|| format!("Cannot parse settings file {}", path.display()))?
    } else if let Some(json) = json {
        serde_json::from_str(json).context("Cannot parse settings JSON")?
    } else {
        Value::Null
    };
    match value {
        Value::Null => Ok(Settings::new()),
        Value::Object(settings) => Ok(settings),
        // kwctl's wording, although no CRD is involved here
        _ => bail!("Invalid settings in CRD, not an object"),
    }
}

/// policy-evaluator's `AdmissionRequest`. kwctl re-serializes the request through it, so the
/// policy sees only these fields, with `null` ones (such as a DELETE's `object`) left out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdmissionRequest {
    pub uid: String,
    pub kind: GroupVersionKind,
    pub resource: GroupVersionResource,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_resource: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_kind: Option<GroupVersionKind>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_resource: Option<GroupVersionResource>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_sub_resource: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub operation: String,
    pub user_info: UserInfo,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old_object: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub options: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupVersionKind {
    pub group: String,
    pub version: String,
    pub kind: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupVersionResource {
    pub group: String,
    pub version: String,
    pub resource: String,
}

/// k8s-openapi's `authentication/v1 UserInfo`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserInfo {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extra: Option<BTreeMap<String, Vec<String>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
}

/// Reads the request from a file, or from stdin for `-`.
pub fn load_request(path: &str) -> Result<AdmissionRequest> {
    let text = if path == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("Error reading request from stdin")?;
        text
    } else {
        std::fs::read_to_string(path)
            .with_context(|| format!("Error opening request file {path}"))?
    };
    let value: Value = serde_json::from_str(&text)
        .with_context(|| format!("the request in {path} is not valid JSON"))?;
    parse_request(value)
}

/// A bare AdmissionRequest, or the `.request` of a whole AdmissionReview.
pub fn parse_request(value: Value) -> Result<AdmissionRequest> {
    let Value::Object(mut object) = value else {
        bail!("Invalid request object");
    };
    let request = if object.get("kind").and_then(Value::as_str) == Some("AdmissionReview") {
        object
            .remove("request")
            .ok_or_else(|| anyhow!("invalid AdmissionReview object"))?
    } else {
        Value::Object(object)
    };
    serde_json::from_value(request).context("cannot build AdmissionRequest object from given input")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn bare() -> Value {
        json!({
            "uid": "u-1",
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "namespace": "default",
            "operation": "CREATE",
            "userInfo": {"username": "alice", "groups": ["dev"]},
            "object": {"metadata": {"name": "p"}},
            "oldObject": null,
            "dryRun": false,
            "unknownField": 1
        })
    }

    #[test]
    fn a_bare_request_and_an_admission_review_give_the_same_request() {
        let from_bare = parse_request(bare()).expect("bare request");
        let review = json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": bare()});
        let from_review = parse_request(review).expect("review");
        assert_eq!(from_bare, from_review);
        assert_eq!(from_bare.uid, "u-1");
        assert_eq!(from_bare.object, Some(json!({"metadata": {"name": "p"}})));
    }

    #[test]
    fn null_and_unknown_fields_are_not_passed_on() {
        let request = parse_request(bare()).expect("bare request");
        let sent = serde_json::to_value(&request).expect("serializes");
        assert_eq!(sent.get("oldObject"), None);
        assert_eq!(sent.get("unknownField"), None);
        assert_eq!(
            sent["userInfo"],
            json!({"groups": ["dev"], "username": "alice"})
        );
        assert_eq!(sent["dryRun"], json!(false));
    }

    #[test]
    fn a_delete_has_no_object() {
        let mut delete = bare();
        delete["operation"] = json!("DELETE");
        delete["object"] = Value::Null;
        assert_eq!(parse_request(delete).expect("request").object, None);
    }

    #[test]
    fn invalid_requests_are_errors() {
        assert!(parse_request(json!([])).is_err());
        assert!(parse_request(json!({"kind": "AdmissionReview"})).is_err());
        let mut no_user = bare();
        no_user.as_object_mut().expect("object").remove("userInfo");
        let error = parse_request(no_user).expect_err("userInfo is required");
        assert!(format!("{error:#}").contains("userInfo"), "{error:#}");
    }

    #[test]
    fn settings_default_to_an_empty_object() {
        assert_eq!(load_settings(None, None).expect("none"), Settings::new());
        assert_eq!(
            load_settings(Some("null"), None).expect("null"),
            Settings::new()
        );
        let settings = load_settings(Some(r#"{"a":1}"#), None).expect("object");
        assert_eq!(settings.get("a"), Some(&json!(1)));
        assert!(load_settings(Some("[1]"), None).is_err());
        assert!(load_settings(Some("{"), None).is_err());
    }

    #[test]
    fn a_settings_file_may_be_yaml_and_wins_over_json() {
        let path =
            std::env::temp_dir().join(format!("harness-settings-{}.yml", std::process::id()));
        std::fs::write(&path, "a: 2\nlist:\n- x\n").expect("write temp file");
        let settings = load_settings(Some(r#"{"a":1}"#), Some(&path));
        std::fs::remove_file(&path).expect("remove temp file");
        let settings = settings.expect("yaml settings");
        assert_eq!(Value::Object(settings), json!({"a": 2, "list": ["x"]}));
    }
}
