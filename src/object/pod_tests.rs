//! The shaped reading and writing of pods: round trips, shapes, repeated keys, wrong types.

use super::*;
use crate::json::{Node, Shape};
use proptest::prelude::*;
use serde_json::Value;
use serde_json::json;

/// A pod as the opted-in path reads it.
const POD: Shape = Shape::Object(&[("spec", SPEC)]);

fn round_trip(text: &str) -> Vec<u8> {
    let node = Node::parse(text, POD).expect("parses");
    let mut out = Vec::new();
    node.write(&mut out).expect("writes");
    out
}

#[test]
fn untouched_text_is_written_back_byte_for_byte() {
    let text = r#"{"metadata":{"name":"p","labels":{"a":"b"}},"spec":{"containers":[{"name":"c","image":"i:1","env":[{"name":"A\u0041","value":"x\"y"},{"name":"B","valueFrom":{"fieldRef":{"fieldPath":"x"}}}],"volumeMounts":[{"name":"v","mountPath":"/m","readOnly":true}]}],"volumes":[{"name":"v","emptyDir":{}}],"hostNetwork":true,"os":{"name":"linux"},"priority":1.5e3}}"#;
    let out = round_trip(text);
    let reparsed: Value = serde_json::from_slice(&out).expect("valid JSON");
    assert_eq!(
        reparsed,
        serde_json::from_str::<Value>(text).expect("valid")
    );
    // only the escaped strings the policy reads are written differently
    assert_eq!(
        String::from_utf8(out).expect("utf-8"),
        text.replace(r#""A\u0041""#, r#""AA""#)
    );
}

#[test]
fn members_the_shape_names_are_structured_the_rest_raw() {
    let text = r#"{"metadata":{"name":"p"},"spec":{"containers":[{"name":"c","env":[{"name":"A","value":"1"}],"resources":{}}]}}"#;
    let node = Node::parse(text, POD).expect("parses");
    assert!(matches!(node.get("metadata"), Some(Node::Raw(_))));
    let container = node
        .get("spec")
        .and_then(|s| s.get("containers"))
        .and_then(Node::as_list)
        .and_then(|c| c.first())
        .expect("a container");
    assert_eq!(container.name(), Some("c"));
    assert!(matches!(container.get("resources"), Some(Node::Raw(_))));
    let env = container.get("env").and_then(Node::as_list).expect("env");
    assert_eq!(
        env.first()
            .and_then(|e| e.get("value"))
            .and_then(Node::as_str),
        Some("1")
    );
}

#[test]
fn a_repeated_key_counts_once_and_last_as_serde_json_reads_it() {
    let node =
        Node::parse(r#"{"spec":{"hostNetwork":false,"hostNetwork":true}}"#, POD).expect("parses");
    assert!(matches!(
        node.get("spec").and_then(|s| s.get("hostNetwork")),
        Some(Node::Bool(true))
    ));
}

#[test]
fn wrong_types_are_kept_as_they_came() {
    let text =
        r#"{"spec":{"containers":{"name":"x"},"volumes":"none","initContainers":[1,"a",null]}}"#;
    let out = round_trip(text);
    assert_eq!(
        serde_json::from_slice::<Value>(&out).expect("valid"),
        serde_json::from_str::<Value>(text).expect("valid")
    );
}

#[test]
fn entry_adds_a_null_member_once() {
    let mut node = Node::parse(r#"{"spec":{}}"#, POD).expect("parses");
    let spec = node.get_mut("spec").expect("spec");
    assert!(spec.entry("volumes").is_some_and(|v| v.is_null()));
    assert!(spec.entry("volumes").is_some());
    assert_eq!(
        node.to_value().expect("valid"),
        json!({"spec": {"volumes": null}})
    );
}

#[test]
fn invalid_json_is_an_error_not_a_panic() {
    for text in ["", "{", r#"{"spec":[}"#, r#"{"a":1} x"#, "\"\\ud800\""] {
        assert!(Node::parse(text, POD).is_err(), "{text}");
    }
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,8}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(
                (
                    prop_oneof![
                        Just("spec".to_owned()),
                        Just("containers".to_owned()),
                        Just("env".to_owned()),
                        Just("name".to_owned()),
                        Just("volumes".to_owned()),
                        ".{0,6}"
                    ],
                    inner
                ),
                0..6
            )
            .prop_map(|members| Value::Object(members.into_iter().collect())),
        ]
    })
}

fn has_float(value: &Value) -> bool {
    match value {
        Value::Number(n) => n.is_f64(),
        Value::Array(items) => items.iter().any(has_float),
        Value::Object(members) => members.values().any(has_float),
        _ => false,
    }
}

#[test]
fn a_float_where_the_shape_reads_is_not_written_and_kept_exact_elsewhere() {
    let node = Node::parse(r#"{"spec":{"containers":[1.5]}}"#, POD).expect("reads");
    assert!(node.write(&mut Vec::new()).is_err());
    let text = r#"{"spec":{"priority":0.30000000000000004,"containers":[]},"x":1e400}"#;
    let mut out = Vec::new();
    Node::parse(text, POD)
        .expect("parses")
        .write(&mut out)
        .expect("writes");
    assert_eq!(out, text.as_bytes());
}

proptest! {
    /// Whatever the document, reading it to the pod shape and writing it back gives what
    /// the engine reads from the original text: nothing the policy does not touch changes.
    /// Any document is read; only a float where the shape reads (never in a pod) may refuse
    /// to be written back.
    #[test]
    fn any_document_round_trips(value in json_value()) {
        let text = value.to_string();
        let engine: Value = serde_json::from_str(&text).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let node = Node::parse(&text, POD).map_err(|e| TestCaseError::fail(e.to_string()))?;
        match node.to_value() {
            Ok(written) => prop_assert_eq!(written, engine),
            Err(e) => prop_assert!(has_float(&value), "{e}"),
        }
    }
}
