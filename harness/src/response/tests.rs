use super::*;
use serde_json::json;

/// The policy's `ValidationResponse`, from the JSON it sends.
fn answer(json: Value) -> PolicyResponse {
    serde_json::from_value(json).expect("a ValidationResponse")
}

/// The line printed for the policy's answer `json` to a request carrying `object`.
fn line(object: Option<Value>, json: Value) -> String {
    AdmissionResponse::from_policy("u-1", object.as_ref(), &answer(json))
        .expect("builds")
        .to_line()
        .expect("serializes")
}

const ACCEPTED: &str = r#"{"uid":"u-1","allowed":true,"auditAnnotations":null,"warnings":null}"#;

fn pod() -> Value {
    json!({"metadata": {"name": "p", "labels": {"a": "1"}}, "spec": {"containers": [{"name": "c"}]}})
}

#[test]
fn accept() {
    assert_eq!(line(Some(pod()), json!({"accepted": true})), ACCEPTED);
}

#[test]
fn reject_with_message_and_code() {
    assert_eq!(
        line(
            Some(pod()),
            json!({"accepted": false, "message": "no", "code": 400})
        ),
        r#"{"uid":"u-1","allowed":false,"status":{"message":"no","code":400},"auditAnnotations":null,"warnings":null}"#
    );
}

#[test]
fn status_holds_only_what_was_set() {
    assert_eq!(
        line(None, json!({"accepted": true, "message": "fine"})),
        r#"{"uid":"u-1","allowed":true,"status":{"message":"fine"},"auditAnnotations":null,"warnings":null}"#
    );
    assert_eq!(
        line(None, json!({"accepted": false, "code": 403})),
        r#"{"uid":"u-1","allowed":false,"status":{"code":403},"auditAnnotations":null,"warnings":null}"#
    );
}

#[test]
fn warnings_and_audit_annotations_are_copied() {
    let answer = json!({
        "accepted": true,
        "warnings": ["w1", "w2"],
        "audit_annotations": {"k": "v"}
    });
    assert_eq!(
        line(Some(pod()), answer),
        r#"{"uid":"u-1","allowed":true,"auditAnnotations":{"k":"v"},"warnings":["w1","w2"]}"#
    );
}

#[test]
fn patch_comes_before_status_and_is_a_sorted_base64_json_patch() {
    let mut mutated = pod();
    mutated["metadata"]["labels"]["b"] = json!("2");
    let answer = json!({"accepted": true, "message": "mutated", "mutated_object": mutated});
    let expected_patch =
        STANDARD.encode(r#"[{"op":"add","path":"/metadata/labels/b","value":"2"}]"#);
    assert_eq!(
        line(Some(pod()), answer),
        format!(
            r#"{{"uid":"u-1","allowed":true,"patchType":"JSONPatch","patch":"{expected_patch}","status":{{"message":"mutated"}},"auditAnnotations":null,"warnings":null}}"#
        )
    );
}

#[test]
fn patch_values_have_sorted_keys() {
    let mut mutated = pod();
    mutated["metadata"]["annotations"] = json!({"z": "1", "a": "2"});
    let policy = answer(json!({"accepted": true, "mutated_object": mutated}));
    let response = AdmissionResponse::from_policy("u", Some(&pod()), &policy).expect("builds");
    let patch = STANDARD
        .decode(response.patch.expect("a patch"))
        .expect("base64");
    assert_eq!(
        String::from_utf8(patch).expect("utf-8"),
        r#"[{"op":"add","path":"/metadata/annotations","value":{"a":"2","z":"1"}}]"#
    );
}

#[test]
fn an_unchanged_object_gives_no_patch() {
    let answer = json!({"accepted": true, "mutated_object": pod()});
    assert_eq!(line(Some(pod()), answer), ACCEPTED);
}

#[test]
fn a_mutation_without_object_is_rejected() {
    let answer = json!({"accepted": true, "mutated_object": pod(), "warnings": ["dropped"]});
    assert_eq!(
        line(None, answer),
        format!(
            r#"{{"uid":"u-1","allowed":false,"status":{{"message":"{MUTATION_WITHOUT_OBJECT}"}},"auditAnnotations":null,"warnings":null}}"#
        )
    );
}

#[test]
fn internal_server_error() {
    assert_eq!(
        AdmissionResponse::internal_server_error("u-1", "trap")
            .to_line()
            .expect("serializes"),
        r#"{"uid":"u-1","allowed":false,"status":{"message":"internal server error: trap","code":500},"auditAnnotations":null,"warnings":null}"#
    );
}
