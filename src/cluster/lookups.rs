//! The seam to the host and the typed, memoized lookups on top of it.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use kubewarden_policy_sdk::host_capabilities::kubernetes::{
    CanIRequest, GetResourceRequest, ListResourcesByNamespaceRequest, ResourceAttributes,
    SubjectAccessReview,
};
use serde::Deserialize;

use crate::names;
use crate::object::Object;
use crate::verdict::Rejection;

/// The raw host capabilities. Implementations return the host's answer bytes, or its error text.
pub trait Cluster {
    fn get_resource(&self, request: &GetResourceRequest) -> Result<Vec<u8>, String>;
    fn can_i(&self, request: &CanIRequest) -> Result<Vec<u8>, String>;
    /// `kubernetes/list_resources_by_namespace`: an object list's JSON.
    fn list_resources_by_namespace(
        &self,
        request: &ListResourcesByNamespaceRequest,
    ) -> Result<Vec<u8>, String>;
}

/// Why a lookup failed; each variant maps to a rejection code (SPEC §9).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LookupError {
    /// The object does not exist (after the uncached retry).
    #[error("not found ({0})")]
    NotFound(String),
    /// The host capability failed: fail closed with 500.
    #[error("host capability kubernetes failed: {0}")]
    Host(String),
    /// The host answered something that is not the expected object.
    #[error("the host's answer could not be read: {0}")]
    Malformed(String),
}

impl LookupError {
    /// The rejection of an object whose lookup failed, `context` saying what was looked up and
    /// why. A missing object is the request's fault (400); anything else is the host's (500).
    pub fn reject(&self, context: std::fmt::Arguments) -> Rejection {
        let message = format!("{context}: {self}");
        match self {
            Self::NotFound(_) => Rejection::bad_request(message),
            Self::Host(_) | Self::Malformed(_) => Rejection::host_failure(message),
        }
    }
}

/// The metadata of a ServiceAccount this policy reads.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ServiceAccount {
    pub namespace: String,
    pub name: String,
    pub annotations: BTreeMap<String, String>,
}

impl ServiceAccount {
    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.annotations.get(key).map(String::as_str)
    }
}

/// The fields of a SecretProviderClass the CSI check reads.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SecretProviderClass {
    pub name: String,
    pub provider: String,
    pub parameters: BTreeMap<String, String>,
}

/// A SubjectAccessReview answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessDecision {
    pub allowed: bool,
    pub reason: String,
}

#[derive(Deserialize)]
struct SpcObject {
    kind: Option<String>,
    #[serde(default)]
    spec: SpcSpec,
}

#[derive(Deserialize, Default)]
struct SpcSpec {
    #[serde(default)]
    provider: String,
    #[serde(default)]
    parameters: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct SarStatus {
    allowed: bool,
    #[serde(default)]
    reason: String,
}

/// Typed, memoized lookups for one evaluation: at most one answer per object and per review.
pub struct Lookups<'c> {
    pub(super) cluster: &'c dyn Cluster,
    service_accounts: RefCell<HashMap<(String, String), Result<ServiceAccount, LookupError>>>,
    provider_classes: RefCell<HashMap<(String, String), Result<SecretProviderClass, LookupError>>>,
    reviews: RefCell<HashMap<SubjectAccessReview, Result<AccessDecision, LookupError>>>,
}

impl<'c> Lookups<'c> {
    pub fn new(cluster: &'c dyn Cluster) -> Self {
        Self {
            cluster,
            service_accounts: RefCell::default(),
            provider_classes: RefCell::default(),
            reviews: RefCell::default(),
        }
    }

    pub fn service_account(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<ServiceAccount, LookupError> {
        let key = (namespace.to_owned(), name.to_owned());
        if let Some(hit) = self.service_accounts.borrow().get(&key) {
            return hit.clone();
        }
        let result = self
            .fetch(
                "v1",
                "ServiceAccount",
                namespace,
                name,
                &[
                    "apiVersion",
                    "kind",
                    "metadata.name",
                    "metadata.namespace",
                    "metadata.annotations",
                ],
            )
            .and_then(|bytes| {
                let object: Object = serde_json::from_slice(&bytes)
                    .map_err(|e| LookupError::Malformed(e.to_string()))?;
                expect_kind(object.kind.as_deref(), "ServiceAccount")?;
                Ok(ServiceAccount {
                    namespace: namespace.to_owned(),
                    name: name.to_owned(),
                    annotations: object.metadata.annotations,
                })
            });
        self.service_accounts
            .borrow_mut()
            .insert(key, result.clone());
        result
    }

    pub fn secret_provider_class(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<SecretProviderClass, LookupError> {
        let key = (namespace.to_owned(), name.to_owned());
        if let Some(hit) = self.provider_classes.borrow().get(&key) {
            return hit.clone();
        }
        let result = self
            .fetch(
                names::SPC_API_VERSION,
                names::SPC_KIND,
                namespace,
                name,
                &[
                    "apiVersion",
                    "kind",
                    "metadata.name",
                    "spec.provider",
                    "spec.parameters",
                ],
            )
            .and_then(|bytes| {
                let spc: SpcObject = serde_json::from_slice(&bytes)
                    .map_err(|e| LookupError::Malformed(e.to_string()))?;
                expect_kind(spc.kind.as_deref(), names::SPC_KIND)?;
                Ok(SecretProviderClass {
                    name: name.to_owned(),
                    provider: spc.spec.provider,
                    parameters: spc.spec.parameters,
                })
            });
        self.provider_classes
            .borrow_mut()
            .insert(key, result.clone());
        result
    }

    /// Ask whether `user` (with `groups`) may `verb` the cluster-scoped `resource` in `group`;
    /// a denial is asked again without the host's cache before it counts.
    pub fn can_i(
        &self,
        user: &str,
        groups: Vec<String>,
        verb: &str,
        group: &str,
        resource: &str,
    ) -> Result<AccessDecision, LookupError> {
        let review = SubjectAccessReview {
            groups: Some(groups),
            resource_attributes: ResourceAttributes {
                group: Some(group.to_owned()),
                name: None,
                namespace: None,
                resource: resource.to_owned(),
                subresource: None,
                verb: verb.to_owned(),
                version: None,
            },
            user: user.to_owned(),
        };
        if let Some(hit) = self.reviews.borrow().get(&review) {
            return hit.clone();
        }
        let ask = |disable_cache| {
            let request = CanIRequest {
                subject_access_review: review.clone(),
                disable_cache,
            };
            self.cluster
                .can_i(&request)
                .map_err(LookupError::Host)
                .and_then(|bytes| {
                    let status: SarStatus = serde_json::from_slice(&bytes)
                        .map_err(|e| LookupError::Malformed(e.to_string()))?;
                    Ok(AccessDecision {
                        allowed: status.allowed,
                        reason: status.reason,
                    })
                })
        };
        // A denial may be the host's cache speaking: a RoleBinding created just before its pod
        // is not in it yet. Ask once more past the cache (SPEC §6); an error is not retried.
        let result = match ask(false) {
            Ok(decision) if !decision.allowed => ask(true),
            other => other,
        };
        self.reviews.borrow_mut().insert(review, result.clone());
        result
    }

    /// `get_resource`, then once more without the host's cache when the first try failed
    /// (an object created just before its pod may not be cached yet).
    pub(super) fn fetch(
        &self,
        api_version: &str,
        kind: &str,
        namespace: &str,
        name: &str,
        masks: &[&str],
    ) -> Result<Vec<u8>, LookupError> {
        let request = |disable_cache| GetResourceRequest {
            api_version: api_version.to_owned(),
            kind: kind.to_owned(),
            name: name.to_owned(),
            namespace: Some(namespace.to_owned()),
            disable_cache,
            field_masks: Some(
                masks
                    .iter()
                    .map(|m| (*m).to_owned())
                    .collect::<BTreeSet<_>>(),
            ),
        };
        self.cluster
            .get_resource(&request(false))
            .or_else(|_| self.cluster.get_resource(&request(true)))
            .map_err(classify)
    }
}

pub(super) fn expect_kind(kind: Option<&str>, expected: &str) -> Result<(), LookupError> {
    match kind {
        Some(kind) if kind != expected => Err(LookupError::Malformed(format!(
            "expected a {expected}, got a {kind}"
        ))),
        _ => Ok(()),
    }
}

/// The host reports a missing object as an error whose text says so.
fn classify(error: String) -> LookupError {
    let lower = error.to_ascii_lowercase();
    if lower.contains("cannot find") || lower.contains("not found") || lower.contains("notfound") {
        LookupError::NotFound(error)
    } else {
        LookupError::Host(error)
    }
}
