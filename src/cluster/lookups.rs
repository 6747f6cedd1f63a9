//! The seam to the host and the typed, memoized lookups on top of it.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use kubewarden_policy_sdk::host_capabilities::kubernetes::{
    CanIRequest, GetResourceRequest, ListAllResourcesRequest, ResourceAttributes,
    SubjectAccessReview,
};
use serde::Deserialize;
use serde::de::IgnoredAny;

use crate::format::host_text;
use crate::names;

/// The raw host capabilities. Implementations return the host's answer bytes, or its error text.
pub trait Cluster {
    fn get_resource(&self, request: &GetResourceRequest) -> Result<Vec<u8>, String>;
    fn can_i(&self, request: &CanIRequest) -> Result<Vec<u8>, String>;
    /// `kubernetes/list_resources_all`: an object list's JSON, across all namespaces.
    fn list_resources_all(&self, request: &ListAllResourcesRequest) -> Result<Vec<u8>, String>;
}

/// Why a lookup failed; each variant maps to a rejection code (reference §9).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LookupError {
    /// The object does not exist (after the uncached retry).
    #[error("not found ({})", host_text(.0))]
    NotFound(String),
    /// The host capability failed: fail closed with 500.
    #[error("host capability kubernetes failed: {}", host_text(.0))]
    Host(String),
    /// The host answered something that is not the expected object.
    #[error("the host's answer could not be read: {}", host_text(.0))]
    Malformed(String),
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
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct SecretProviderClass {
    #[serde(default)]
    pub provider: String,
    #[serde(default)]
    pub parameters: BTreeMap<String, String>,
}

/// A SubjectAccessReview answer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AccessDecision {
    pub allowed: bool,
    #[serde(default)]
    pub reason: String,
}

/// An object as `get_resource` answers it: its kind, metadata and spec.
#[derive(Deserialize)]
pub(super) struct Fetched<S> {
    kind: Option<String>,
    #[serde(default)]
    metadata: crate::object::Metadata,
    spec: Option<S>,
}

/// `(kind, namespace, name)` of a fetched object.
type ObjectKey = (String, String, String);

/// Typed, memoized lookups for one evaluation: at most one answer per object and per review.
pub struct Lookups<'c> {
    pub(super) cluster: &'c dyn Cluster,
    objects: RefCell<HashMap<ObjectKey, Result<Vec<u8>, LookupError>>>,
    reviews: RefCell<HashMap<SubjectAccessReview, Result<AccessDecision, LookupError>>>,
}

impl<'c> Lookups<'c> {
    pub fn new(cluster: &'c dyn Cluster) -> Self {
        Self {
            cluster,
            objects: RefCell::default(),
            reviews: RefCell::default(),
        }
    }

    pub fn service_account(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<ServiceAccount, LookupError> {
        let masks = ["apiVersion", "kind", "metadata.name", "metadata.namespace"];
        let (metadata, _) = self.get::<IgnoredAny>(
            ("v1", "ServiceAccount"),
            namespace,
            name,
            &[&masks[..], &["metadata.annotations"]].concat(),
        )?;
        Ok(ServiceAccount {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            annotations: metadata.annotations,
        })
    }

    pub fn secret_provider_class(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<SecretProviderClass, LookupError> {
        let masks = [
            "apiVersion",
            "kind",
            "metadata.name",
            "spec.provider",
            "spec.parameters",
        ];
        let kind = (names::SPC_API_VERSION, names::SPC_KIND);
        let (_, spec) = self.get(kind, namespace, name, &masks)?;
        Ok(spec.unwrap_or_default())
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
            let bytes = self.cluster.can_i(&request).map_err(LookupError::Host)?;
            serde_json::from_slice::<AccessDecision>(&bytes)
                .map_err(|e| LookupError::Malformed(e.to_string()))
        };
        // A denial may be the host's cache speaking: a RoleBinding created just before its pod
        // is not in it yet. Ask once more past the cache (reference §6); an error is not retried.
        let result = match ask(false) {
            Ok(decision) if !decision.allowed => ask(true),
            other => other,
        };
        self.reviews.borrow_mut().insert(review, result.clone());
        result
    }

    /// Object `namespace/name` of `(api_version, kind)`, read for its metadata and `spec`,
    /// asking for `masks` only. Memoized; a failed first try is asked once more without the
    /// host's cache (an object created just before its pod may not be cached yet).
    pub(super) fn get<S: for<'de> Deserialize<'de>>(
        &self,
        (api_version, kind): (&str, &str),
        namespace: &str,
        name: &str,
        masks: &[&str],
    ) -> Result<(crate::object::Metadata, Option<S>), LookupError> {
        let key = (kind.to_owned(), namespace.to_owned(), name.to_owned());
        let cached = self.objects.borrow().get(&key).cloned();
        let bytes = cached.unwrap_or_else(|| {
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
            let answer = self
                .cluster
                .get_resource(&request(false))
                .or_else(|_| self.cluster.get_resource(&request(true)))
                .map_err(|error| classify(error, &request(true)));
            self.objects.borrow_mut().insert(key, answer.clone());
            answer
        })?;
        let object: Fetched<S> =
            serde_json::from_slice(&bytes).map_err(|e| LookupError::Malformed(e.to_string()))?;
        expect_kind(object.kind.as_deref(), kind)?;
        Ok((object.metadata, object.spec))
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

/// A missing object is told from a failure by the engine's own answer for it, built from the
/// call that was made (reference §8.2): policy-evaluator's `get_resource` answers a missing
/// object with exactly this text, which the SDK and the engine may prefix. Never by words
/// anywhere in the text: any failure's text may carry the object's own name.
fn classify(error: String, request: &GetResourceRequest) -> LookupError {
    let namespace = match &request.namespace {
        Some(namespace) => format!("Some(\"{namespace}\")"),
        None => "None".to_owned(),
    };
    let missing = format!(
        "Cannot find {}/{} named '{}' inside of namespace '{namespace}'",
        request.api_version, request.kind, request.name
    );
    match error.contains(&missing) {
        true => LookupError::NotFound(error),
        false => LookupError::Host(error),
    }
}
