//! The partial JSON document: text read to a [`Shape`], as deep as a caller needs and no
//! deeper; every member the shape does not name stays the raw text it came as and is written
//! back byte for byte. Reading and writing a document this way costs a scan and a copy, where a
//! `serde_json::Value` costs an allocation per key and value each way. A leaf module: it knows
//! JSON, not Kubernetes.
//!
//! Two invariants make writing back verbatim correct:
//! - a [`Str`] that borrows from the document had no escapes there, so it is written as it was
//!   (its field is private; every constructor keeps the rule);
//! - numbers are `serde_json::Number`s read as numbers, which needs serde_json WITHOUT its
//!   `arbitrary_precision` feature (with it, numbers arrive as one-member maps and would be
//!   written back as objects); a test fails if a dependency ever switches it on.

mod source;
mod str;

pub use self::str::{Str, StrMap, nullable};

use self::source::{Pieces, Source};

use std::fmt;
use std::ops::Range;
use std::rc::Rc;

use serde::Deserialize;
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Number, Value};

/// How deep to read a part of the document.
#[derive(Debug, Clone, Copy)]
pub enum Shape {
    /// Kept as raw text.
    Raw,
    /// Read whole (small subtrees only).
    Any,
    /// An object whose named members are read with their shape; the others stay raw.
    Object(&'static [(&'static str, Shape)]),
    /// A list whose elements are read with this shape.
    List(&'static Shape),
}

/// A JSON document read to a [`Shape`]; [`Node::Json`] holds what the policy wrote.
#[derive(Debug, Clone)]
pub enum Node<'a> {
    Raw(&'a RawValue),
    Null,
    Bool(bool),
    Number(Number),
    Str(Str<'a>),
    List(Vec<Node<'a>>),
    /// Members in document order; a repeated key is kept, and the last one counts, as
    /// `serde_json` (and so the engine) reads it.
    Object(Vec<(Str<'a>, Node<'a>)>),
    /// JSON text the policy wrote, shared by every container that gets it.
    Json(Rc<str>),
    /// A float where the shape reads: no pod field there is one. It is kept so that reading
    /// never fails on it (a pod UPDATE is accepted untouched), but it is not written: serde_json
    /// reads floats without correct rounding, so its text could not be reproduced exactly.
    Float(f64),
}

impl<'a> Node<'a> {
    /// Read `text` to `shape`.
    pub fn parse(text: &'a str, shape: Shape) -> Result<Self, serde_json::Error> {
        let mut deserializer = serde_json::Deserializer::from_str(text);
        let node = ShapeSeed(shape).deserialize(&mut deserializer)?;
        deserializer.end()?;
        Ok(node)
    }

    /// A document the policy built, structured so that it can be written to further.
    pub fn from_value(value: Value) -> Node<'static> {
        match value {
            Value::Null => Node::Null,
            Value::Bool(b) => Node::Bool(b),
            Value::Number(n) => Node::Number(n),
            Value::String(s) => Node::Str(Str::owned(s)),
            Value::Array(items) => Node::List(items.into_iter().map(Node::from_value).collect()),
            Value::Object(members) => Node::Object(
                members
                    .into_iter()
                    .map(|(k, v)| (Str::owned(k), Node::from_value(v)))
                    .collect(),
            ),
        }
    }

    /// The member `key` of an object (the last one when repeated).
    pub fn get(&self, key: &str) -> Option<&Node<'a>> {
        match self {
            Node::Object(members) => members
                .iter()
                .rev()
                .find(|(k, _)| &**k == key)
                .map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut Node<'a>> {
        match self {
            Node::Object(members) => members
                .iter_mut()
                .rev()
                .find(|(k, _)| &**k == key)
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// The member `key`, added as `null` when absent; `None` when this is no object.
    pub fn entry(&mut self, key: &'static str) -> Option<&mut Node<'a>> {
        let Node::Object(members) = self else {
            return None;
        };
        let index = match members.iter().rposition(|(k, _)| &**k == key) {
            Some(index) => index,
            None => {
                members.push((Str::new(key), Node::Null));
                members.len() - 1
            }
        };
        members.get_mut(index).map(|(_, v)| v)
    }

    /// What kind of JSON value this is, for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Node::Null => "null",
            Node::Bool(_) => "boolean",
            Node::Number(_) | Node::Float(_) => "number",
            Node::Str(_) => "string",
            Node::List(_) => "list",
            Node::Object(_) => "object",
            Node::Raw(_) | Node::Json(_) => "JSON text",
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Node::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_list(&self) -> Option<&[Node<'a>]> {
        match self {
            Node::List(items) => Some(items),
            _ => None,
        }
    }

    pub fn is_object(&self) -> bool {
        matches!(self, Node::Object(_))
    }

    pub fn is_null(&self) -> bool {
        match self {
            Node::Null => true,
            Node::Raw(raw) => raw.get() == "null",
            _ => false,
        }
    }

    /// `name`, the key Kubernetes merges containers, env vars, mounts and volumes by.
    pub fn name(&self) -> Option<&str> {
        #[derive(Deserialize)]
        struct Named<'t> {
            name: Option<&'t str>,
        }
        match self {
            Node::Json(text) => serde_json::from_str::<Named>(text).ok()?.name,
            Node::Raw(raw) => serde_json::from_str::<Named>(raw.get()).ok()?.name,
            _ => self.get("name")?.as_str(),
        }
    }

    /// The same document as a `Value`, for comparing with what the policy would write.
    pub fn to_value(&self) -> Result<Value, serde_json::Error> {
        let mut text = Vec::new();
        self.write(&mut text)?;
        serde_json::from_slice(&text)
    }

    /// Append the document's JSON text to `out`: raw parts as they came, the rest serialized.
    pub fn write(&self, out: &mut Vec<u8>) -> Result<(), serde_json::Error> {
        self.write_in(None, out)
    }

    /// [`Node::write`] for a document read from `source`: where members of an object follow one
    /// another there unchanged (a key and a raw value or a verbatim string, in compact text),
    /// they are copied from it in one piece. The bytes written are the same.
    pub fn write_from(&self, source: &str, out: &mut Vec<u8>) -> Result<(), serde_json::Error> {
        self.write_in(Some(Source::new(source)), out)
    }

    fn write_in(&self, source: Option<Source>, out: &mut Vec<u8>) -> Result<(), serde_json::Error> {
        match self {
            Node::Raw(raw) => out.extend_from_slice(raw.get().as_bytes()),
            Node::Null => out.extend_from_slice(b"null"),
            Node::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
            Node::Number(n) => serde_json::to_writer(&mut *out, n)?,
            Node::Str(s) => write_str(s, out)?,
            Node::Json(text) => out.extend_from_slice(text.as_bytes()),
            Node::Float(v) => {
                return Err(serde::ser::Error::custom(format_args!(
                    "a floating point number ({v}) where Kubernetes has no number"
                )));
            }
            Node::List(items) => {
                out.push(b'[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    item.write_in(source, out)?;
                }
                out.push(b']');
            }
            Node::Object(members) => {
                out.push(b'{');
                let mut pieces = Pieces::new(source);
                for (key, value) in members {
                    if pieces.copied(source.and_then(|src| member(&src, key, value)), out) {
                        continue;
                    }
                    write_str(key, out)?;
                    out.push(b':');
                    value.write_in(source, out)?;
                }
                pieces.finish(out);
                out.push(b'}');
            }
        }
        Ok(())
    }
}

/// The range of the member `"key":value` in `source`: when the key and the value are
/// both its text, as it was (a verbatim key; a raw value or a verbatim string), with
/// nothing but the colon between them. (Lists and objects are not followed down: finding
/// that a whole subtree is unchanged costs more than writing it.)
fn member(source: &Source, key: &Str, value: &Node) -> Option<Range<usize>> {
    let key = source.quoted(key.verbatim()?)?;
    let value = match value {
        Node::Raw(raw) => {
            let start = source.offset(raw.get())?;
            start..start + raw.get().len()
        }
        Node::Str(text) => source.quoted(text.verbatim()?)?,
        _ => return None,
    };
    (source.byte(key.end) == Some(b':') && key.end + 1 == value.start)
        .then_some(key.start..value.end)
}

/// A string borrowed from the document had no escapes there, so it is written as it was;
/// one that had escapes was unescaped on reading and is escaped again.
fn write_str(s: &Str, out: &mut Vec<u8>) -> Result<(), serde_json::Error> {
    match s.verbatim() {
        Some(text) => {
            out.push(b'"');
            out.extend_from_slice(text.as_bytes());
            out.push(b'"');
            Ok(())
        }
        None => serde_json::to_writer(&mut *out, s.as_str()),
    }
}

pub struct ShapeSeed(pub Shape);

impl<'de> DeserializeSeed<'de> for ShapeSeed {
    type Value = Node<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Node<'de>, D::Error> {
        match self.0 {
            Shape::Raw => <&RawValue>::deserialize(deserializer).map(Node::Raw),
            shape => deserializer.deserialize_any(ShapeVisitor(shape)),
        }
    }
}

struct ShapeVisitor(Shape);

/// Room made up front for the members of an object and the elements of a list (serde_json
/// gives no size hint): about what a container and its env lists hold, so that most are not
/// grown (−90 k instructions per 200-container pod, measured with callgrind).
const OBJECT_ROOM: usize = 8;
const LIST_ROOM: usize = 4;

impl ShapeVisitor {
    fn element(&self) -> Shape {
        match self.0 {
            Shape::List(element) => *element,
            Shape::Any => Shape::Any,
            _ => Shape::Raw,
        }
    }

    fn member(&self, key: &str) -> Shape {
        match self.0 {
            Shape::Object(members) => members
                .iter()
                .find(|(name, _)| *name == key)
                .map_or(Shape::Raw, |(_, shape)| *shape),
            Shape::Any => Shape::Any,
            _ => Shape::Raw,
        }
    }
}

impl<'de> Visitor<'de> for ShapeVisitor {
    type Value = Node<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object, a list, a string, an integer, a boolean or null")
    }

    fn visit_unit<E>(self) -> Result<Node<'de>, E> {
        Ok(Node::Null)
    }

    fn visit_bool<E>(self, v: bool) -> Result<Node<'de>, E> {
        Ok(Node::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Node<'de>, E> {
        Ok(Node::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Node<'de>, E> {
        Ok(Node::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Node<'de>, E> {
        Ok(Node::Float(v))
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Node<'de>, E> {
        Ok(Node::Str(Str::unescaped(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Node<'de>, E> {
        Ok(Node::Str(Str::owned(v.to_owned())))
    }

    fn visit_string<E>(self, v: String) -> Result<Node<'de>, E> {
        Ok(Node::Str(Str::owned(v)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node<'de>, A::Error> {
        let element = self.element();
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(LIST_ROOM));
        while let Some(item) = seq.next_element_seed(ShapeSeed(element))? {
            items.push(item);
        }
        Ok(Node::List(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node<'de>, A::Error> {
        let mut members = Vec::with_capacity(map.size_hint().unwrap_or(OBJECT_ROOM));
        while let Some(key) = map.next_key::<Str<'de>>()? {
            let value = map.next_value_seed(ShapeSeed(self.member(&key)))?;
            members.push((key, value));
        }
        Ok(Node::Object(members))
    }
}

#[cfg(test)]
mod tests;
