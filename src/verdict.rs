//! The outcome of an evaluation and its translation into the SDK's `ValidationResponse`,
//! including accept-with-warnings, which the SDK has no helper for.

use std::collections::HashMap;

use kubewarden_policy_sdk::response::ValidationResponse;
use serde::Serialize;

/// Longest single warning and longest sum of warnings the API server keeps (SPEC §9).
pub const MAX_WARNING: usize = 256;
pub const MAX_WARNINGS_TOTAL: usize = 4096;

/// HTTP-like codes of SPEC §9.
pub const BAD_REQUEST: u16 = 400;
pub const FORBIDDEN: u16 = 403;
pub const HOST_FAILURE: u16 = 500;

/// Why an object is refused; each kind carries its HTTP-like code (SPEC §9). The message names
/// the object, the field or annotation, the value and what would be accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// 400: the object is invalid, or names something that does not exist.
    #[error("{0}")]
    BadRequest(String),
    /// 403: RBAC or a setting of this policy forbids it.
    #[error("{0}")]
    Forbidden(String),
    /// 500: a host capability failed, or answered nonsense: the policy fails closed.
    #[error("{0}")]
    HostFailure(String),
}

impl Rejection {
    pub fn code(&self) -> u16 {
        match self {
            Self::BadRequest(_) => BAD_REQUEST,
            Self::Forbidden(_) => FORBIDDEN,
            Self::HostFailure(_) => HOST_FAILURE,
        }
    }

    pub fn message(&self) -> &str {
        let (Self::BadRequest(m) | Self::Forbidden(m) | Self::HostFailure(m)) = self;
        m
    }
}

impl From<Rejection> for Verdict {
    fn from(rejection: Rejection) -> Self {
        let code = rejection.code();
        let (Rejection::BadRequest(message)
        | Rejection::Forbidden(message)
        | Rejection::HostFailure(message)) = rejection;
        Verdict::reject(code, message)
    }
}

/// What the policy decided.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Accept {
        warnings: Vec<String>,
    },
    /// The mutated object, as the policy wrote it.
    Mutate {
        object: Mutated,
        warnings: Vec<String>,
    },
    Reject {
        code: u16,
        message: String,
        warnings: Vec<String>,
    },
}

impl Verdict {
    pub fn accept() -> Self {
        Self::Accept {
            warnings: Vec::new(),
        }
    }

    pub fn reject(code: u16, message: impl Into<String>) -> Self {
        Self::Reject {
            code,
            message: message.into(),
            warnings: Vec::new(),
        }
    }

    /// Attach warnings gathered before the decision.
    pub fn with_warnings(mut self, mut extra: Vec<String>) -> Self {
        let (Self::Accept { warnings }
        | Self::Mutate { warnings, .. }
        | Self::Reject { warnings, .. }) = &mut self;
        extra.append(warnings);
        *warnings = extra;
        self
    }

    /// The SDK's response, with the mutated object read back into a `Value`: what the
    /// engine reads from [`Verdict::to_json`]. For tests and native callers.
    pub fn into_response(self) -> Result<ValidationResponse, serde_json::Error> {
        let (accepted, message, code, object, warnings) = self.parts();
        Ok(ValidationResponse {
            accepted,
            message,
            code,
            mutated_object: object
                .map(|o| serde_json::from_slice(o.text()))
                .transpose()?,
            audit_annotations: None,
            warnings: limit_warnings(warnings),
        })
    }

    /// The `validate` answer, field for field what the SDK's `ValidationResponse` serializes
    /// to (`mutated_object` first), with the mutated object as the text the policy wrote: no
    /// `Value` is built, none is serialized, and the object is not copied again.
    pub fn to_json(self) -> Result<Vec<u8>, serde_json::Error> {
        let (accepted, message, code, object, warnings) = self.parts();
        let response = Fields {
            accepted,
            message,
            code,
            audit_annotations: None,
            warnings: limit_warnings(warnings),
        };
        let mut out = match object {
            Some(object) => object.buffer,
            None => {
                let mut out = Vec::with_capacity(256);
                out.extend_from_slice(MUTATED_PREFIX);
                out.extend_from_slice(b"null");
                out
            }
        };
        // `{"mutated_object":…` + `,` + the other members, without their opening brace
        let members = out.len();
        serde_json::to_writer(&mut out, &response)?;
        if let Some(brace) = out.get_mut(members) {
            *brace = b',';
        }
        Ok(out)
    }

    #[allow(clippy::type_complexity)]
    fn parts(
        self,
    ) -> (
        bool,
        Option<String>,
        Option<u16>,
        Option<Mutated>,
        Vec<String>,
    ) {
        match self {
            Self::Accept { warnings } => (true, None, None, None, warnings),
            Self::Mutate { object, warnings } => (true, None, None, Some(object), warnings),
            Self::Reject {
                code,
                message,
                warnings,
            } => (false, Some(message), Some(code), None, warnings),
        }
    }
}

const MUTATED_PREFIX: &[u8] = b"{\"mutated_object\":";

/// A mutated object's JSON text, written where the response will be: after the response's
/// first member name, so that [`Verdict::to_json`] only appends the other members.
#[derive(Debug, Clone, PartialEq)]
pub struct Mutated {
    buffer: Vec<u8>,
}

impl Mutated {
    /// Write the object with `write`; `capacity` is a guess of its size.
    pub fn write<E>(
        capacity: usize,
        write: impl FnOnce(&mut Vec<u8>) -> Result<(), E>,
    ) -> Result<Self, E> {
        let mut buffer = Vec::with_capacity(capacity + 512);
        buffer.extend_from_slice(MUTATED_PREFIX);
        write(&mut buffer)?;
        Ok(Self { buffer })
    }

    /// The object's JSON text.
    pub fn text(&self) -> &[u8] {
        self.buffer.get(MUTATED_PREFIX.len()..).unwrap_or_default()
    }
}

/// `ValidationResponse` without `mutated_object`, which [`Verdict::to_json`] writes first.
#[derive(Serialize)]
struct Fields {
    accepted: bool,
    message: Option<String>,
    code: Option<u16>,
    audit_annotations: Option<HashMap<String, String>>,
    warnings: Option<Vec<String>>,
}

/// Truncate each warning to [`MAX_WARNING`] characters and keep whole warnings while the sum
/// stays within [`MAX_WARNINGS_TOTAL`]: the API server drops what exceeds those limits.
fn limit_warnings(warnings: Vec<String>) -> Option<Vec<String>> {
    let mut total = 0;
    let mut kept = Vec::new();
    for warning in warnings {
        let warning = truncate(warning, MAX_WARNING);
        // A repeated warning is dropped before it counts against the budget.
        if kept.contains(&warning) {
            continue;
        }
        let len = warning.chars().count();
        if total + len > MAX_WARNINGS_TOTAL {
            break;
        }
        total += len;
        kept.push(warning);
    }
    (!kept.is_empty()).then_some(kept)
}

fn truncate(text: String, max: usize) -> String {
    if text.chars().count() <= max {
        return text;
    }
    let mut cut: String = text.chars().take(max - 1).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_without_warnings_has_no_warning_list() {
        let response = Verdict::accept().into_response().expect("response");
        assert!(response.accepted);
        assert_eq!(response.warnings, None);
        assert_eq!(response.mutated_object, None);
    }

    #[test]
    fn reject_carries_code_and_message() {
        let response = Verdict::reject(FORBIDDEN, "denied")
            .into_response()
            .expect("response");
        assert!(!response.accepted);
        assert_eq!(response.code, Some(403));
        assert_eq!(response.message.as_deref(), Some("denied"));
    }

    #[test]
    fn warnings_are_truncated_to_256_characters_each() {
        let response = Verdict::accept()
            .with_warnings(vec!["w".repeat(1000)])
            .into_response()
            .expect("response");
        let warnings = response.warnings.unwrap_or_default();
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0].chars().count(), MAX_WARNING);
        assert!(warnings[0].ends_with('…'));
    }

    #[test]
    fn warnings_total_at_most_4096_characters() {
        let many: Vec<String> = (0..100)
            .map(|i| format!("{i:03}{}", "x".repeat(250)))
            .collect();
        let warnings = Verdict::accept()
            .with_warnings(many)
            .into_response()
            .expect("response")
            .warnings
            .unwrap_or_default();
        let total: usize = warnings.iter().map(|w| w.chars().count()).sum();
        assert!(total <= MAX_WARNINGS_TOTAL, "{total}");
        assert_eq!(warnings.len(), MAX_WARNINGS_TOTAL / 253);
    }

    /// The bytes the wasm answers are what the SDK's `ValidationResponse` serializes to.
    #[test]
    fn to_json_is_the_sdk_response_serialized() {
        let verdicts = [
            Verdict::accept(),
            Verdict::reject(BAD_REQUEST, "no \"quote\"").with_warnings(vec!["w".into()]),
            Verdict::Mutate {
                object: Mutated::write(0, |out| {
                    out.extend_from_slice(
                        br#"{"spec":{"containers":[{"name":"c","env":[]}]},"n":1.5e3}"#,
                    );
                    Ok::<_, ()>(())
                })
                .expect("written"),
                warnings: vec!["careful".into()],
            },
        ];
        for verdict in verdicts {
            let bytes = verdict.clone().to_json().expect("json");
            let written: serde_json::Value = serde_json::from_slice(&bytes).expect("valid JSON");
            let sdk = serde_json::to_value(verdict.into_response().expect("response"))
                .expect("serializes");
            assert_eq!(written, sdk);
        }
    }

    #[test]
    fn repeated_warnings_do_not_count_against_the_total() {
        let mut warnings = vec!["same".to_owned(); 5000];
        warnings.push("last".to_owned());
        let kept = limit_warnings(warnings).unwrap_or_default();
        assert_eq!(kept, vec!["same".to_owned(), "last".to_owned()]);
    }

    #[test]
    fn with_warnings_puts_earlier_warnings_first() {
        let verdict = Verdict::Accept {
            warnings: vec!["late".into()],
        }
        .with_warnings(vec!["early".into()]);
        assert_eq!(
            verdict,
            Verdict::Accept {
                warnings: vec!["early".into(), "late".into()]
            }
        );
    }
}
