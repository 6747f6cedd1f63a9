//! The document model on its own: numbers, strings, raw members, writing back.

use super::*;

/// serde_json's `arbitrary_precision` feature (which any dependency could switch on for the
/// whole build) makes `deserialize_any` hand numbers over as one-member maps: every number the
/// policy reads would be written back as an object. This test fails the build's tests if that
/// ever happens.
#[test]
fn serde_json_arbitrary_precision_is_off() {
    let node = Node::parse(r#"{"a":1,"b":-2,"c":[3]}"#, Shape::Any).expect("parses");
    assert!(matches!(node.get("a"), Some(Node::Number(_))), "{node:?}");
    assert!(matches!(node.get("b"), Some(Node::Number(_))), "{node:?}");
    let number: Value = serde_json::from_str("1.10").expect("a number");
    assert_eq!(
        number.to_string(),
        "1.1",
        "serde_json keeps number text: arbitrary_precision is on"
    );
    let mut out = Vec::new();
    node.write(&mut out).expect("writes");
    assert_eq!(out, br#"{"a":1,"b":-2,"c":[3]}"#);
}

#[test]
fn raw_members_are_written_back_byte_for_byte() {
    let text = r#"{"keep":{ "x" : 1.50e3 ,"y":"\u0041"},"read":"a\"b"}"#;
    let node = Node::parse(text, Shape::Object(&[("read", Shape::Any)])).expect("parses");
    assert!(matches!(node.get("keep"), Some(Node::Raw(_))));
    let mut out = Vec::new();
    node.write(&mut out).expect("writes");
    assert_eq!(String::from_utf8(out).expect("utf-8"), text);
}

#[test]
fn a_float_where_the_shape_reads_is_kept_but_not_written() {
    let node = Node::parse(r#"{"a":1.5}"#, Shape::Any).expect("parses");
    assert!(matches!(node.get("a"), Some(Node::Float(_))));
    assert!(node.write(&mut Vec::new()).is_err());
}

#[test]
fn entry_adds_a_null_member_once() {
    let mut node = Node::parse(r#"{"a":1}"#, Shape::Any).expect("parses");
    assert!(node.entry("b").is_some_and(|b| b.is_null()));
    assert!(node.entry("b").is_some());
    let mut out = Vec::new();
    node.write(&mut out).expect("writes");
    assert_eq!(out, br#"{"a":1,"b":null}"#);
}
