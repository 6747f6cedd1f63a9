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

/// Shapes that read some members and keep the others raw, as the pod's shapes do.
const READS_A: Shape = Shape::Object(&[("a", Shape::Any), ("l", Shape::List(&Shape::Any))]);

/// `write_from` copies unchanged members from the source; whatever was edited, and however the
/// source was spaced or escaped, it writes exactly what `write` writes.
#[rstest::rstest]
#[case::compact_untouched(r#"{"a":"x","b":{"c":[1,2]},"d":true,"e":"y"}"#, Edit::None)]
#[case::spaced_untouched("{ \"a\" : \"x\" ,\n \"b\": 1 }", Edit::None)]
#[case::escaped_keys_and_strings(r#"{"\u0061":"x","b\"":"\n","c":"\u00e9"}"#, Edit::None)]
#[case::member_added(r#"{"a":"x","b":1,"c":2}"#, Edit::Add)]
#[case::member_removed(r#"{"b":1,"a":"x","c":2}"#, Edit::RemoveFirst)]
#[case::value_replaced(r#"{"b":1,"a":"x","c":2}"#, Edit::ReplaceA)]
#[case::members_swapped(r#"{"b":1,"c":2,"d":3}"#, Edit::Swap)]
#[case::repeated_key(r#"{"a":"x","a":"y","b":1}"#, Edit::None)]
#[case::list_edited(r#"{"l":["x","y"],"b":1}"#, Edit::PushToList)]
#[case::nested_objects(r#"{"a":{"k":"v","n":{"m":1}},"b":[{"c":"d"}]}"#, Edit::None)]
fn write_from_writes_what_write_writes(#[case] text: &str, #[case] edit: Edit) {
    let mut node = Node::parse(text, READS_A).expect("parses");
    edit.apply(&mut node);
    let (mut plain, mut copied) = (Vec::new(), Vec::new());
    node.write(&mut plain).expect("writes");
    node.write_from(text, &mut copied).expect("writes");
    assert_eq!(
        String::from_utf8(copied).expect("utf-8"),
        String::from_utf8(plain).expect("utf-8")
    );
}

#[derive(Debug, Clone, Copy)]
enum Edit {
    None,
    Add,
    RemoveFirst,
    ReplaceA,
    Swap,
    PushToList,
}

impl Edit {
    fn apply(self, node: &mut Node) {
        let Node::Object(members) = node else {
            return;
        };
        match self {
            Edit::None => {}
            Edit::Add => members.insert(
                members.len().min(1),
                (Str::new("new"), Node::Json("\"z\"".into())),
            ),
            Edit::RemoveFirst => drop(members.remove(0)),
            Edit::ReplaceA => {
                if let Some(a) = node.get_mut("a") {
                    *a = Node::Str(Str::owned("changed".into()));
                }
            }
            Edit::Swap => members.swap(0, 2),
            Edit::PushToList => {
                if let Some(Node::List(items)) = node.get_mut("l") {
                    items.push(Node::Json("\"w\"".into()));
                }
            }
        }
    }
}

proptest::proptest! {
    /// The same for any object, compact or pretty-printed, and any of the edits.
    #[test]
    fn write_from_matches_write_on_any_object(
        value in proptest::collection::btree_map("[a-cl\"\\\\é]{0,3}", json_leaf(), 0..6),
        pretty in proptest::bool::ANY,
        edit in proptest::sample::select(vec![
            Edit::None, Edit::Add, Edit::RemoveFirst, Edit::ReplaceA, Edit::Swap, Edit::PushToList,
        ]),
    ) {
        let value = Value::Object(value.into_iter().collect());
        let text = if pretty {
            serde_json::to_string_pretty(&value)
        } else {
            serde_json::to_string(&value)
        }
        .expect("serializes");
        let mut node = Node::parse(&text, READS_A).expect("parses");
        if matches!(edit, Edit::Swap) && node.as_members_len() < 3 {
            return Ok(());
        }
        if matches!(edit, Edit::RemoveFirst) && node.as_members_len() == 0 {
            return Ok(());
        }
        edit.apply(&mut node);
        let (mut plain, mut copied) = (Vec::new(), Vec::new());
        node.write(&mut plain).expect("writes");
        node.write_from(&text, &mut copied).expect("writes");
        proptest::prop_assert_eq!(copied, plain);
    }
}

fn json_leaf() -> impl proptest::strategy::Strategy<Value = Value> {
    use proptest::prelude::*;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i32>().prop_map(Value::from),
        "[a-z\"\\\\\n é]{0,4}".prop_map(Value::String),
    ];
    leaf.prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            proptest::collection::btree_map("[a-b]{1,2}", inner, 0..3)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

impl Node<'_> {
    fn as_members_len(&self) -> usize {
        match self {
            Node::Object(members) => members.len(),
            _ => 0,
        }
    }
}
