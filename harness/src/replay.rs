//! Replay sessions in kwctl's format: parsing, and answering host calls by content or in order.

use std::collections::BTreeSet;
use std::fmt;
use std::path::Path;

use anyhow::{Context, Result, bail};
use serde::Deserialize;

/// A context-aware host call, in the shape kwctl records it (policy-evaluator's
/// `CallbackRequestType`). Variant, struct and field names and their order mirror kwctl's, so the
/// derived `Debug` — which strict-mode errors print — reads the same as kwctl's.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub enum CallbackRequest {
    KubernetesGetResource {
        api_version: String,
        kind: String,
        name: String,
        namespace: Option<String>,
        disable_cache: bool,
        field_masks: Option<BTreeSet<String>>,
    },
    KubernetesCanI {
        request: SubjectAccessReview,
        disable_cache: bool,
    },
}

/// The SDK's `SubjectAccessReview`: what `can_i` asks about.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SubjectAccessReview {
    pub groups: Option<Vec<String>>,
    pub resource_attributes: ResourceAttributes,
    pub user: String,
}

/// The SDK's `ResourceAttributes` of a `SubjectAccessReview`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ResourceAttributes {
    pub group: Option<String>,
    pub name: Option<String>,
    pub namespace: Option<String>,
    pub resource: String,
    pub subresource: Option<String>,
    pub verb: String,
    pub version: Option<String>,
}

impl CallbackRequest {
    /// Whether `self` (recorded) answers `asked` when matching by content: the object's identity
    /// for `get_resource`, the whole review for `can_i`; cache and field-mask hints are ignored.
    fn answers(&self, asked: &CallbackRequest) -> bool {
        use CallbackRequest::{KubernetesCanI, KubernetesGetResource};
        match (self, asked) {
            (
                KubernetesGetResource {
                    api_version,
                    kind,
                    name,
                    namespace,
                    ..
                },
                KubernetesGetResource {
                    api_version: asked_api_version,
                    kind: asked_kind,
                    name: asked_name,
                    namespace: asked_namespace,
                    ..
                },
            ) => {
                api_version == asked_api_version
                    && kind == asked_kind
                    && name == asked_name
                    && namespace == asked_namespace
            }
            (KubernetesCanI { request, .. }, KubernetesCanI { request: asked, .. }) => {
                request == asked
            }
            _ => false,
        }
    }
}

/// A recorded request: one the harness understands, or another kwctl host call kept verbatim
/// (it can never match, but it must not make the whole session unreadable).
#[derive(Clone, PartialEq, Eq)]
pub enum Recorded {
    Known(CallbackRequest),
    Unsupported { tag: String, body: String },
}

impl fmt::Debug for Recorded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Recorded::Known(request) => request.fmt(f),
            Recorded::Unsupported { tag, body } => write!(f, "{tag}({body:?})"),
        }
    }
}

/// The recorded answer of the host.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "type")]
pub enum Response {
    Success { payload: String },
    Error { message: String },
}

/// One request/response pair of a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchange {
    pub request: Recorded,
    pub response: Response,
}

/// An entry as written in the file: the request is a YAML document inside a string.
#[derive(Deserialize)]
#[serde(tag = "type")]
enum RawEntry {
    Exchange { request: String, response: Response },
}

/// Why a host call got no payload from the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplayError {
    /// The session answered with a recorded `type: Error`: a legitimate answer.
    Recorded(String),
    /// The session could not answer: no match, out of order, or used up.
    Miss(String),
}

impl ReplayError {
    /// The text the host gives the policy (before kwctl's `Callback evaluation failure: `).
    pub fn message(&self) -> &str {
        match self {
            ReplayError::Recorded(message) | ReplayError::Miss(message) => message,
        }
    }
}

/// How host calls are matched against the recorded exchanges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Matching {
    /// Any order, each exchange reusable; the harness's default.
    ByContent,
    /// kwctl's semantics: every call consumes the next exchange, equal in every field or not.
    Strict,
}

/// A replay session and where the replay stands.
#[derive(Debug)]
pub struct Session {
    exchanges: Vec<Exchange>,
    matching: Matching,
    /// Strict mode: index of the next exchange to consume.
    cursor: usize,
    /// Content mode: which exchanges answered at least one call.
    used: Vec<bool>,
    /// Whether a session file was given at all (only changes error wording).
    from_file: bool,
}

impl Session {
    /// A session with no exchanges: every context-aware call fails, as with an empty file.
    pub fn none(matching: Matching) -> Self {
        Session {
            exchanges: Vec::new(),
            matching,
            cursor: 0,
            used: Vec::new(),
            from_file: false,
        }
    }

    /// Reads a session file written by `kwctl run --record-host-capabilities-interactions`.
    pub fn load(path: &Path, matching: Matching) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read replay session {}", path.display()))?;
        Self::parse(&text, matching)
            .with_context(|| format!("cannot parse replay session {}", path.display()))
    }

    /// Parses the text of a session file.
    pub fn parse(text: &str, matching: Matching) -> Result<Self> {
        let entries: Vec<RawEntry> = serde_yaml::from_str(text)
            .context("expected a YAML list of `type: Exchange` entries")?;
        let exchanges = entries
            .into_iter()
            .enumerate()
            .map(|(index, RawEntry::Exchange { request, response })| {
                let request = parse_request(&request)
                    .with_context(|| format!("exchange #{} (counting from 1)", index + 1))?;
                Ok(Exchange { request, response })
            })
            .collect::<Result<Vec<_>>>()?;
        let used = vec![false; exchanges.len()];
        Ok(Session {
            exchanges,
            matching,
            cursor: 0,
            used,
            from_file: true,
        })
    }

    /// The recorded exchanges, in file order.
    #[cfg(test)]
    pub fn exchanges(&self) -> &[Exchange] {
        &self.exchanges
    }

    /// Answers one host call: the recorded payload, or why there is none.
    pub fn answer(&mut self, asked: &CallbackRequest) -> Result<Vec<u8>, ReplayError> {
        let index = match self.matching {
            Matching::Strict => self.next_in_order(asked),
            Matching::ByContent => self.find_by_content(asked),
        }
        .map_err(ReplayError::Miss)?;
        match &self.exchanges[index].response {
            Response::Success { payload } => Ok(payload.clone().into_bytes()),
            Response::Error { message } => Err(ReplayError::Recorded(message.clone())),
        }
    }

    fn next_in_order(&mut self, asked: &CallbackRequest) -> Result<usize, String> {
        let Some(exchange) = self.exchanges.get(self.cursor) else {
            return Err("the list of recorded responses is empty".to_owned());
        };
        let index = self.cursor;
        self.cursor += 1;
        match &exchange.request {
            Recorded::Known(expected) if expected == asked => Ok(index),
            expected => Err(format!(
                "Replay error: unexpected request. Was expecting {expected:?}, got {asked:?} instead"
            )),
        }
    }

    /// The first exchange answering `asked`. Every exchange that would have answered it counts
    /// as used: one differing only in ignored fields (`disable_cache`) is no leftover.
    fn find_by_content(&mut self, asked: &CallbackRequest) -> Result<usize, String> {
        let mut first = None;
        for (index, exchange) in self.exchanges.iter().enumerate() {
            if let Recorded::Known(recorded) = &exchange.request
                && recorded.answers(asked)
            {
                self.used[index] = true;
                first.get_or_insert(index);
            }
        }
        first.ok_or_else(|| {
            let hint = if self.from_file {
                "no recorded exchange matches it"
            } else {
                "no replay session was given (--replay-host-capabilities-interactions)"
            };
            format!("Replay error: unexpected request {asked:?}: {hint}")
        })
    }

    /// Starts the replay over, so a strict session can serve another evaluation (benchmarks).
    pub fn rewind(&mut self) {
        self.cursor = 0;
    }

    /// Exchanges no call has used: the ones after the cursor (strict) or never matched (content).
    pub fn leftovers(&self) -> Vec<&Exchange> {
        match self.matching {
            Matching::Strict => self.exchanges[self.cursor.min(self.exchanges.len())..]
                .iter()
                .collect(),
            Matching::ByContent => self
                .exchanges
                .iter()
                .zip(&self.used)
                .filter(|(_, used)| !**used)
                .map(|(exchange, _)| exchange)
                .collect(),
        }
    }
}

/// Parses the YAML document of a recorded request (a tagged `CallbackRequestType`).
fn parse_request(text: &str) -> Result<Recorded> {
    let value: serde_yaml::Value =
        serde_yaml::from_str(text).context("the request is not a YAML document")?;
    let serde_yaml::Value::Tagged(tagged) = &value else {
        bail!("the request has no `!CallbackRequestType` tag, such as `!KubernetesGetResource`");
    };
    let tag = tagged.tag.to_string();
    let tag = tag.trim_start_matches('!');
    if matches!(tag, "KubernetesGetResource" | "KubernetesCanI") {
        let request = serde_yaml::from_value(value.clone())
            .with_context(|| format!("invalid `!{tag}` request"))?;
        Ok(Recorded::Known(request))
    } else {
        Ok(Recorded::Unsupported {
            tag: tag.to_owned(),
            body: text.trim_end().to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of KWCTL.md, verbatim apart from the elided values.
    const KWCTL_EXAMPLE: &str = r#"
- type: Exchange
  request: |
    !KubernetesGetResource
    api_version: v1
    kind: ServiceAccount
    name: workload-sa
    namespace: default
    disable_cache: false
    field_masks: null
  response:
    type: Success
    payload: '{"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"workload-sa","namespace":"default"}}'
- type: Exchange
  request: |
    !KubernetesCanI
    request:
      groups:
      - system:serviceaccounts
      - system:serviceaccounts:default
      - system:authenticated
      resource_attributes:
        group: cid.wi.aks.azure.com
        name: null
        namespace: null
        resource: client-1
        subresource: null
        verb: use-managed-identity
        version: null
      user: system:serviceaccount:default:workload-sa
    disable_cache: false
  response:
    type: Success
    payload: '{"allowed":false,"reason":"no"}'
- type: Exchange
  request: |
    !KubernetesGetResource
    api_version: v1
    kind: ServiceAccount
    name: ghost
    namespace: default
    disable_cache: false
  response:
    type: Error
    message: Cannot find v1/ServiceAccount named 'ghost' inside of namespace 'default'
"#;

    fn get(name: &str) -> CallbackRequest {
        CallbackRequest::KubernetesGetResource {
            api_version: "v1".into(),
            kind: "ServiceAccount".into(),
            name: name.into(),
            namespace: Some("default".into()),
            disable_cache: false,
            field_masks: None,
        }
    }

    fn can_i(user: &str) -> CallbackRequest {
        CallbackRequest::KubernetesCanI {
            request: SubjectAccessReview {
                groups: Some(vec![
                    "system:serviceaccounts".into(),
                    "system:serviceaccounts:default".into(),
                    "system:authenticated".into(),
                ]),
                resource_attributes: ResourceAttributes {
                    group: Some("cid.wi.aks.azure.com".into()),
                    name: None,
                    namespace: None,
                    resource: "client-1".into(),
                    subresource: None,
                    verb: "use-managed-identity".into(),
                    version: None,
                },
                user: user.into(),
            },
            disable_cache: false,
        }
    }

    fn session(matching: Matching) -> Session {
        Session::parse(KWCTL_EXAMPLE, matching).expect("the KWCTL.md example parses")
    }

    fn text(answer: Result<Vec<u8>, ReplayError>) -> Result<String, ReplayError> {
        answer.map(|bytes| String::from_utf8(bytes).expect("utf-8 payload"))
    }

    fn miss(answer: Result<Vec<u8>, ReplayError>) -> String {
        match answer {
            Err(ReplayError::Miss(message)) => message,
            other => panic!("expected a replay miss, got {other:?}"),
        }
    }

    #[test]
    fn parses_the_kwctl_example() {
        let session = session(Matching::ByContent);
        let exchanges = session.exchanges();
        assert_eq!(exchanges.len(), 3);
        assert_eq!(exchanges[0].request, Recorded::Known(get("workload-sa")));
        assert_eq!(
            exchanges[1].request,
            Recorded::Known(can_i("system:serviceaccount:default:workload-sa"))
        );
        // a missing optional field (`field_masks`) is null
        assert_eq!(exchanges[2].request, Recorded::Known(get("ghost")));
        assert_eq!(
            exchanges[2].response,
            Response::Error {
                message:
                    "Cannot find v1/ServiceAccount named 'ghost' inside of namespace 'default'"
                        .into()
            }
        );
    }

    #[test]
    fn keeps_other_host_calls_without_failing() {
        let text = "- type: Exchange\n  request: |\n    !OciManifestDigest\n    image: busybox\n  response:\n    type: Success\n    payload: '\"sha256:0\"'\n";
        let session = Session::parse(text, Matching::Strict).expect("parses");
        assert!(matches!(
            &session.exchanges()[0].request,
            Recorded::Unsupported { tag, .. } if tag == "OciManifestDigest"
        ));
    }

    #[test]
    fn rejects_a_malformed_known_request() {
        let text = "- type: Exchange\n  request: |\n    !KubernetesGetResource\n    kind: Pod\n  response:\n    type: Success\n    payload: '{}'\n";
        let error = Session::parse(text, Matching::ByContent).expect_err("api_version is missing");
        assert!(format!("{error:#}").contains("exchange #1"), "{error:#}");
    }

    #[test]
    fn content_matching_ignores_order_and_reuses_exchanges() {
        let mut session = session(Matching::ByContent);
        let user = "system:serviceaccount:default:workload-sa";
        assert_eq!(
            text(session.answer(&can_i(user))),
            Ok(r#"{"allowed":false,"reason":"no"}"#.into())
        );
        for _ in 0..2 {
            let answer = text(session.answer(&get("workload-sa"))).expect("recorded");
            assert!(answer.contains(r#""name":"workload-sa""#));
        }
        assert_eq!(
            session.answer(&get("ghost")),
            Err(ReplayError::Recorded(
                "Cannot find v1/ServiceAccount named 'ghost' inside of namespace 'default'".into()
            ))
        );
        assert!(session.leftovers().is_empty());
    }

    #[test]
    fn content_matching_ignores_cache_and_field_masks() {
        let mut session = session(Matching::ByContent);
        let CallbackRequest::KubernetesGetResource {
            api_version,
            kind,
            name,
            namespace,
            ..
        } = get("workload-sa")
        else {
            unreachable!()
        };
        let asked = CallbackRequest::KubernetesGetResource {
            api_version,
            kind,
            name,
            namespace,
            disable_cache: true,
            field_masks: Some(BTreeSet::from(["metadata.annotations".to_owned()])),
        };
        assert!(session.answer(&asked).is_ok());
    }

    #[test]
    fn content_matching_counts_equivalent_exchanges_as_used() {
        // a cached lookup and its uncached retry, recorded one after the other
        let entry = |disable_cache: bool| {
            format!(
                "- type: Exchange\n  request: |\n    !KubernetesGetResource\n    api_version: v1\n    \
                 kind: ServiceAccount\n    name: workload-sa\n    namespace: default\n    \
                 disable_cache: {disable_cache}\n  response:\n    type: Success\n    payload: '{{}}'\n"
            )
        };
        let text = format!("{}{}", entry(false), entry(true));
        let mut session = Session::parse(&text, Matching::ByContent).expect("parses");
        assert_eq!(session.exchanges().len(), 2);
        assert!(session.answer(&get("workload-sa")).is_ok());
        assert!(session.leftovers().is_empty());
    }

    #[test]
    fn content_matching_reports_unknown_requests() {
        let mut session = session(Matching::ByContent);
        let error = miss(session.answer(&get("other")));
        assert!(
            error.contains("Replay error: unexpected request"),
            "{error}"
        );
        assert!(error.contains(r#"name: "other""#), "{error}");
        // groups order matters for can_i
        miss(session.answer(&can_i("system:serviceaccount:default:other")));
        assert_eq!(session.leftovers().len(), 3);
    }

    #[test]
    fn without_a_session_every_call_fails() {
        let mut session = Session::none(Matching::ByContent);
        let error = miss(session.answer(&get("workload-sa")));
        assert!(
            error.starts_with("Replay error: unexpected request"),
            "{error}"
        );
    }

    #[test]
    fn strict_matching_replays_in_order() {
        let mut session = session(Matching::Strict);
        assert!(session.answer(&get("workload-sa")).is_ok());
        assert!(
            session
                .answer(&can_i("system:serviceaccount:default:workload-sa"))
                .is_ok()
        );
        assert!(session.answer(&get("ghost")).is_err());
        assert_eq!(
            session.answer(&get("workload-sa")),
            Err(ReplayError::Miss(
                "the list of recorded responses is empty".into()
            ))
        );
    }

    #[test]
    fn strict_mismatch_consumes_the_entry_and_names_both_requests() {
        let mut session = session(Matching::Strict);
        let error = miss(session.answer(&can_i("system:serviceaccount:default:workload-sa")));
        assert!(
            error.starts_with(
                "Replay error: unexpected request. Was expecting KubernetesGetResource { api_version: \"v1\""
            ),
            "{error}"
        );
        assert!(
            error.contains(", got KubernetesCanI { request: SubjectAccessReview {"),
            "{error}"
        );
        assert!(error.ends_with(" instead"), "{error}");
        // the mismatched entry is gone: the next call is compared with the second one
        assert!(
            session
                .answer(&can_i("system:serviceaccount:default:workload-sa"))
                .is_ok()
        );
        assert_eq!(session.leftovers().len(), 1);
    }

    #[test]
    fn strict_matching_compares_every_field() {
        let mut session = session(Matching::Strict);
        let CallbackRequest::KubernetesGetResource {
            api_version,
            kind,
            name,
            namespace,
            field_masks,
            ..
        } = get("workload-sa")
        else {
            unreachable!()
        };
        let asked = CallbackRequest::KubernetesGetResource {
            api_version,
            kind,
            name,
            namespace,
            disable_cache: true,
            field_masks,
        };
        assert!(session.answer(&asked).is_err());
    }

    #[test]
    fn rewind_serves_a_strict_session_again() {
        let mut session = session(Matching::Strict);
        assert!(session.answer(&get("workload-sa")).is_ok());
        session.rewind();
        assert!(session.answer(&get("workload-sa")).is_ok());
    }
}
