//! [`Str`]: a JSON string that borrows from the document whenever it can be written back as
//! it was.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::Deserialize;

/// A string borrowed from the document when it had no escapes there, owned otherwise. Unlike a
/// bare `Cow`, it borrows inside maps and lists too.
///
/// The rule that makes verbatim writing correct: a borrowed `Str` needs no escaping. The field
/// is private and every constructor keeps the rule: [`Str::new`] checks it, the `Deserialize`
/// impl borrows only what serde_json hands out borrowed (text with no escapes; an escaped
/// string arrives unescaped and owned).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Str<'a>(Cow<'a, str>);

impl<'a> Str<'a> {
    /// `text`, borrowed when it can be written without escapes.
    pub fn new(text: &'a str) -> Self {
        if needs_escape(text) {
            Self(Cow::Owned(text.to_owned()))
        } else {
            Self(Cow::Borrowed(text))
        }
    }

    /// A string the policy made; always escaped when written.
    pub fn owned(text: String) -> Self {
        Self(Cow::Owned(text))
    }

    /// Text serde_json handed out borrowed: it had no escapes in the document.
    pub(super) fn unescaped(text: &'a str) -> Self {
        debug_assert!(!needs_escape(text), "serde_json borrowed an escaped string");
        Self(Cow::Borrowed(text))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The text to write between quotes as it is, when there is such a text.
    pub(super) fn verbatim(&self) -> Option<&'a str> {
        match self.0 {
            Cow::Borrowed(text) => Some(text),
            Cow::Owned(_) => None,
        }
    }

    pub fn into_cow(self) -> Cow<'a, str> {
        self.0
    }
}

/// What JSON requires escaped inside a string: quote, backslash, control characters.
fn needs_escape(text: &str) -> bool {
    text.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20)
}

impl std::ops::Deref for Str<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for Str<'_> {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Str<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Str<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Str::unescaped(v))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Str::owned(v.to_owned()))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(Str::owned(v))
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

/// String keys to string values (labels, annotations, CSI volume attributes).
pub type StrMap<'a> = BTreeMap<Str<'a>, Str<'a>>;

/// `null` reads as the type's default, as the API server treats it.
pub fn nullable<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_borrows_only_what_needs_no_escape() {
        assert!(Str::new("plain").verbatim().is_some());
        for text in ["a\"b", "a\\b", "a\nb", "\u{1}"] {
            assert_eq!(Str::new(text).verbatim(), None, "{text:?}");
            assert_eq!(Str::new(text).as_str(), text);
        }
    }

    #[test]
    fn escaped_document_strings_are_owned_unescaped() {
        let s: Str = serde_json::from_str(r#""a\u0041\"""#).expect("a string");
        assert_eq!(s.as_str(), "aA\"");
        assert_eq!(s.verbatim(), None);
        let s: Str = serde_json::from_str(r#""plain""#).expect("a string");
        assert_eq!(s.verbatim(), Some("plain"));
    }
}
