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
    KubernetesListResourceNamespace {
        api_version: String,
        kind: String,
        namespace: String,
        label_selector: Option<String>,
        field_selector: Option<String>,
        field_masks: Option<BTreeSet<String>>,
    },
    /// `list_resources_all`: the same list across every namespace (or of a cluster-wide kind).
    KubernetesListResourceAll {
        api_version: String,
        kind: String,
        label_selector: Option<String>,
        field_selector: Option<String>,
        field_masks: Option<BTreeSet<String>>,
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
    /// The Kubernetes resource type the call reads, which `contextAwareResources` must grant
    /// (kwctl gates `get_resource` and the list calls this way, not `can_i`).
    pub fn resource(&self) -> Option<(&str, &str)> {
        match self {
            CallbackRequest::KubernetesGetResource {
                api_version, kind, ..
            }
            | CallbackRequest::KubernetesListResourceNamespace {
                api_version, kind, ..
            }
            | CallbackRequest::KubernetesListResourceAll {
                api_version, kind, ..
            } => Some((api_version, kind)),
            CallbackRequest::KubernetesCanI { .. } => None,
        }
    }

    /// Whether `self` (recorded) answers `asked` when matching by content: every field but the
    /// cache and field-mask hints, which do not change what is looked up.
    fn answers(&self, asked: &CallbackRequest) -> bool {
        self.without_hints() == asked.without_hints()
    }

    fn without_hints(&self) -> CallbackRequest {
        let mut request = self.clone();
        match &mut request {
            CallbackRequest::KubernetesGetResource {
                disable_cache,
                field_masks,
                ..
            } => {
                *disable_cache = false;
                *field_masks = None;
            }
            CallbackRequest::KubernetesCanI { disable_cache, .. } => *disable_cache = false,
            CallbackRequest::KubernetesListResourceNamespace { field_masks, .. }
            | CallbackRequest::KubernetesListResourceAll { field_masks, .. } => *field_masks = None,
        }
        request
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

/// The `CallbackRequestType` tags the harness answers, one per [`CallbackRequest`] variant.
const KNOWN_TAGS: [&str; 4] = [
    "KubernetesGetResource",
    "KubernetesCanI",
    "KubernetesListResourceNamespace",
    "KubernetesListResourceAll",
];

/// Parses the YAML document of a recorded request (a tagged `CallbackRequestType`).
fn parse_request(text: &str) -> Result<Recorded> {
    let value: serde_yaml::Value =
        serde_yaml::from_str(text).context("the request is not a YAML document")?;
    let serde_yaml::Value::Tagged(tagged) = &value else {
        bail!("the request has no `!CallbackRequestType` tag, such as `!KubernetesGetResource`");
    };
    let tag = tagged.tag.to_string();
    let tag = tag.trim_start_matches('!');
    if KNOWN_TAGS.contains(&tag) {
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
pub(crate) mod fixtures;
#[cfg(test)]
mod tests;
