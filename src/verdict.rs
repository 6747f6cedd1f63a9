//! The outcome of an evaluation, [`Verdict`], and its answer: the SDK's `ValidationResponse`,
//! built here because the SDK has no helper for an accept or a mutation with warnings.

use std::collections::BTreeMap;

use kubewarden_policy_sdk::response::ValidationResponse;
use serde_json::Value;

/// Longest single warning and longest sum of warnings the API server keeps (reference §9).
pub const MAX_WARNING: usize = 256;
pub const MAX_WARNINGS_TOTAL: usize = 4096;

pub use crate::error::{BAD_REQUEST, FORBIDDEN, HOST_FAILURE, Rejection};

/// What the policy decided, and the admission warnings that go with it.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub outcome: Outcome,
    pub warnings: Vec<String>,
    /// Written into the API server's audit events when the object is admitted (reference §9).
    pub audit: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Accept,
    /// The mutated object.
    Mutate(Value),
    Reject(Rejection),
}

impl Verdict {
    pub fn accept() -> Self {
        Outcome::Accept.into()
    }

    /// Attach warnings gathered before the decision: they come first.
    pub fn with_warnings(mut self, mut earlier: Vec<String>) -> Self {
        earlier.append(&mut self.warnings);
        self.warnings = earlier;
        self
    }

    /// Audit annotations for an admitted object; a rejection carries none.
    pub fn with_audit(mut self, audit: BTreeMap<String, String>) -> Self {
        if !matches!(self.outcome, Outcome::Reject(_)) {
            self.audit = audit;
        }
        self
    }

    /// The SDK's response, warnings within the API server's limits.
    pub fn into_response(self) -> ValidationResponse {
        let (accepted, message, code, mutated_object) = match self.outcome {
            Outcome::Accept => (true, None, None, None),
            Outcome::Mutate(object) => (true, None, None, Some(object)),
            Outcome::Reject(rejection) => (
                false,
                Some(rejection.message()),
                Some(rejection.code()),
                None,
            ),
        };
        ValidationResponse {
            accepted,
            message,
            code,
            mutated_object,
            audit_annotations: (!self.audit.is_empty()).then(|| self.audit.into_iter().collect()),
            warnings: limit_warnings(self.warnings),
        }
    }
}

impl From<Outcome> for Verdict {
    fn from(outcome: Outcome) -> Self {
        Self {
            outcome,
            warnings: Vec::new(),
            audit: BTreeMap::new(),
        }
    }
}

impl From<Rejection> for Verdict {
    fn from(rejection: Rejection) -> Self {
        Outcome::Reject(rejection).into()
    }
}

impl From<Result<Verdict, Rejection>> for Verdict {
    fn from(result: Result<Verdict, Rejection>) -> Self {
        result.unwrap_or_else(Verdict::from)
    }
}

/// Truncate each warning to [`MAX_WARNING`] characters and keep whole warnings while the sum
/// stays within [`MAX_WARNINGS_TOTAL`]: the API server drops what exceeds those limits.
fn limit_warnings(warnings: Vec<String>) -> Option<Vec<String>> {
    let mut total = 0;
    let mut kept = Vec::new();
    for warning in warnings {
        let warning = crate::format::truncate(warning, MAX_WARNING);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn warned(warnings: Vec<String>) -> Vec<String> {
        Verdict::accept()
            .with_warnings(warnings)
            .into_response()
            .warnings
            .unwrap_or_default()
    }

    #[test]
    fn accept_without_warnings_has_no_warning_list() {
        let response = Verdict::accept().into_response();
        assert!(response.accepted);
        assert_eq!(response.warnings, None);
        assert_eq!(response.mutated_object, None);
    }

    #[test]
    fn reject_carries_code_and_message() {
        let denial = crate::error::Denial::ProxyPort("x".into()).of("Pod ns/p");
        let response = Verdict::from(denial).into_response();
        assert!(!response.accepted);
        assert_eq!(response.code, Some(400));
        assert_eq!(
            response.message.as_deref(),
            Some(
                "Pod ns/p: annotation azure.workload.identity/proxy-sidecar-port has value \"x\"; expected an integer port from 1 to 65535"
            )
        );
    }

    #[test]
    fn warnings_are_truncated_to_256_characters_each() {
        let warnings = warned(vec!["w".repeat(1000)]);
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0].chars().count(), MAX_WARNING);
        assert!(warnings[0].ends_with('…'));
    }

    #[test]
    fn warnings_total_at_most_4096_characters() {
        let many = (0..100)
            .map(|i| format!("{i:03}{}", "x".repeat(250)))
            .collect();
        let warnings = warned(many);
        let total: usize = warnings.iter().map(|w| w.chars().count()).sum();
        assert!(total <= MAX_WARNINGS_TOTAL, "{total}");
        assert_eq!(warnings.len(), MAX_WARNINGS_TOTAL / 253);
    }

    #[test]
    fn repeated_warnings_do_not_count_against_the_total() {
        let mut warnings = vec!["same".to_owned(); 5000];
        warnings.push("last".to_owned());
        assert_eq!(warned(warnings), vec!["same".to_owned(), "last".to_owned()]);
    }

    #[test]
    fn earlier_warnings_come_first() {
        let verdict = Verdict::accept()
            .with_warnings(vec!["late".into()])
            .with_warnings(vec!["early".into()]);
        assert_eq!(
            verdict.warnings,
            vec!["early".to_owned(), "late".to_owned()]
        );
    }
}
