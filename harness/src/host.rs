//! Answers the policy's waPC host calls the way kwctl does: gating, replay, policy logs.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::log::{Level, Logger};
use crate::metadata::ContextAwareResource;
use crate::replay::{CallbackRequest, Exchange, ReplayError, Session, SubjectAccessReview};

/// Which Kubernetes resource types the policy may read with `get_resource` and the list calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResourceAccess {
    /// No `--allow-context-aware`.
    Denied,
    /// `--allow-context-aware` on a policy without metadata. kwctl would deny everything here;
    /// the harness trusts the flag so an un-annotated build can be tested.
    Any,
    /// `--allow-context-aware` on an annotated policy: its `contextAwareResources`, as kwctl.
    Listed(BTreeSet<ContextAwareResource>),
}

impl ResourceAccess {
    fn allows(&self, api_version: &str, kind: &str) -> bool {
        match self {
            ResourceAccess::Denied => false,
            ResourceAccess::Any => true,
            ResourceAccess::Listed(resources) => resources.contains(&ContextAwareResource {
                api_version: api_version.to_owned(),
                kind: kind.to_owned(),
            }),
        }
    }
}

/// The SDK's `CanIRequest`, as the policy sends it.
#[derive(Deserialize)]
struct CanIRequest {
    subject_access_review: SubjectAccessReview,
    disable_cache: bool,
}

/// Reads the SDK's request of `get_resource` or a list call as the `variant` of
/// [`CallbackRequest`] kwctl records for it: the SDK sends exactly that variant's fields.
fn as_variant(variant: &str, payload: &[u8]) -> Result<CallbackRequest, String> {
    let fields: Value = serde_json::from_slice(payload).map_err(|e| e.to_string())?;
    let tagged = Value::Object(Map::from_iter([(variant.to_owned(), fields)]));
    serde_json::from_value(tagged).map_err(|e| e.to_string())
}

/// Reads the SDK's `CanIRequest`, whose review kwctl records under `request`.
fn can_i_request(payload: &[u8]) -> Result<CallbackRequest, String> {
    let request: CanIRequest = serde_json::from_slice(payload).map_err(|e| e.to_string())?;
    Ok(CallbackRequest::KubernetesCanI {
        request: request.subject_access_review,
        disable_cache: request.disable_cache,
    })
}

/// A log record of the SDK's logging drain.
#[derive(Deserialize)]
struct PolicyLogEntry {
    level: String,
    message: Option<String>,
    #[serde(flatten)]
    data: Map<String, Value>,
}

/// State shared by every host call of one policy instance.
#[derive(Debug)]
pub struct Host {
    session: Mutex<Session>,
    access: ResourceAccess,
    logger: Logger,
    quiet: AtomicBool,
}

type CallResult = Result<Vec<u8>, String>;

const TARGET: &str = "harness::host";

impl Host {
    pub fn new(session: Session, access: ResourceAccess, logger: Logger) -> Self {
        Host {
            session: Mutex::new(session),
            access,
            logger,
            quiet: AtomicBool::new(false),
        }
    }

    /// Silences policy logs and callback failures (benchmarks repeat them thousands of times).
    pub fn set_quiet(&self, quiet: bool) {
        self.quiet.store(quiet, Ordering::Relaxed);
    }

    /// Starts the replay session over.
    pub fn rewind(&self) {
        self.session().rewind();
    }

    /// Warns, as kwctl does at shutdown, about recorded exchanges that answered no call.
    pub fn warn_about_leftovers(&self) {
        let session = self.session();
        let leftovers: Vec<&Exchange> = session.leftovers();
        if !leftovers.is_empty() {
            let leftovers = format!("{leftovers:?}");
            self.logger.emit(
                Level::Warn,
                "harness::replay",
                "Some of the recorded exchanges have not been replayed",
                &[("leftovers", &leftovers)],
            );
        }
    }

    fn session(&self) -> MutexGuard<'_, Session> {
        // a panic while holding the lock cannot leave the session half-updated in a way that
        // matters for a test run, so keep going with the inner value
        self.session
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Prints a diagnostic line unless quiet.
    pub fn log(&self, level: Level, target: &str, message: &str, fields: &[(&str, &str)]) {
        if !self.quiet.load(Ordering::Relaxed) {
            self.logger.emit(level, target, message, fields);
        }
    }

    /// The waPC host callback. The error text is what the policy's SDK receives.
    pub fn call(
        &self,
        binding: &str,
        namespace: &str,
        operation: &str,
        payload: &[u8],
    ) -> CallResult {
        if binding != "kubewarden" {
            self.log(
                Level::Error,
                TARGET,
                "unknown binding",
                &[("binding", &format!("{binding:?}"))],
            );
            return Err(format!("unknown binding: {binding}"));
        }
        match (namespace, operation) {
            ("tracing", "log") => {
                self.policy_log(payload);
                Ok(Vec::new())
            }
            ("kubernetes", "get_resource") => {
                self.kubernetes(operation, as_variant("KubernetesGetResource", payload)?)
            }
            ("kubernetes", "list_resources_by_namespace") => self.kubernetes(
                operation,
                as_variant("KubernetesListResourceNamespace", payload)?,
            ),
            ("kubernetes", "list_resources_all") => {
                self.kubernetes(operation, as_variant("KubernetesListResourceAll", payload)?)
            }
            ("kubernetes", "can_i") => self.kubernetes(operation, can_i_request(payload)?),
            _ => {
                self.log(
                    Level::Error,
                    TARGET,
                    "unknown operation",
                    &[
                        ("namespace", &format!("{namespace:?}")),
                        ("operation", &format!("{operation:?}")),
                    ],
                );
                Err(format!(
                    "unknown operation: {binding}/{namespace}/{operation} (the harness answers only \
                     kubernetes/get_resource, kubernetes/list_resources_by_namespace, \
                     kubernetes/list_resources_all, kubernetes/can_i and tracing/log)"
                ))
            }
        }
    }

    /// A `kubernetes` host call: kwctl's `contextAwareResources` gate, then the replay.
    fn kubernetes(&self, operation: &str, request: CallbackRequest) -> CallResult {
        if let Some((api_version, kind)) = request.resource()
            && !self.access.allows(api_version, kind)
        {
            let resource = format!("{api_version}/{kind}");
            self.log(
                Level::Error,
                TARGET,
                "Policy tried to access a Kubernetes resource it doesn't have access to",
                &[("resource_requested", &format!("{resource:?}"))],
            );
            return Err(format!(
                "Policy has not been granted access to Kubernetes {resource} resources. The violation has been reported."
            ));
        }
        self.replay(operation, &request)
    }

    /// Answers from the session. Only a miss is logged as kwctl's `callback evaluation failed`;
    /// kwctl logs a recorded `type: Error` answer that way too, but here that phrase is kept to
    /// mean "the session did not answer", which is what tests grep it for.
    fn replay(&self, operation: &str, request: &CallbackRequest) -> CallResult {
        let answer = self.session().answer(request);
        answer.map_err(|error| {
            let (level, message) = match &error {
                ReplayError::Miss(_) => (Level::Error, "callback evaluation failed"),
                ReplayError::Recorded(_) => (Level::Info, "replayed a recorded host error"),
            };
            self.log(
                level,
                TARGET,
                message,
                &[
                    ("binding", "\"kubewarden\""),
                    ("operation", &format!("{operation:?}")),
                    ("error", error.message()),
                ],
            );
            format!("Callback evaluation failure: {}", error.message())
        })
    }

    fn policy_log(&self, payload: &[u8]) {
        if self.quiet.load(Ordering::Relaxed) {
            return;
        }
        let entry = serde_json::from_slice::<PolicyLogEntry>(payload)
            .map_err(|e| e.to_string())
            .and_then(|entry| {
                let level = match entry.level.to_uppercase().as_str() {
                    "TRACE" => Level::Trace,
                    "DEBUG" => Level::Debug,
                    "INFO" => Level::Info,
                    "WARNING" => Level::Warn,
                    "ERROR" => Level::Error,
                    other => return Err(format!("unknown log level {other}")),
                };
                Ok((level, entry))
            });
        match entry {
            Ok((level, entry)) => {
                let data = Value::Object(entry.data).to_string();
                let message = entry.message.unwrap_or_default();
                self.logger.emit_policy(level, &message, &[("data", &data)]);
            }
            Err(error) => self.log(
                Level::Error,
                TARGET,
                "Cannot log event",
                &[
                    ("payload", &String::from_utf8_lossy(payload)),
                    ("error", &error),
                ],
            ),
        }
    }
}

#[cfg(test)]
mod tests;
