//! An in-memory [`Cluster`] for native tests: answers from maps and records every call, so a
//! test can assert exactly which host calls an evaluation made.

use std::cell::RefCell;
use std::collections::HashMap;

use kubewarden_policy_sdk::host_capabilities::kubernetes::{
    CanIRequest, GetResourceRequest, ListResourcesByNamespaceRequest,
};
use serde_json::json;

use super::lookups::Cluster;

/// One recorded host call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    Get {
        kind: String,
        namespace: String,
        name: String,
        disable_cache: bool,
    },
    List {
        kind: String,
        namespace: String,
    },
    CanI {
        user: String,
        groups: Vec<String>,
        verb: String,
        group: String,
        resource: String,
        disable_cache: bool,
    },
}

#[derive(Default)]
pub struct FakeCluster {
    objects: HashMap<(String, String, String), Result<Vec<u8>, String>>,
    lists: HashMap<(String, String), Result<Vec<u8>, String>>,
    reviews: HashMap<(String, String), Result<Vec<u8>, String>>,
    /// Answers past the host's cache, where they differ from the cached ones.
    uncached_reviews: HashMap<(String, String), Result<Vec<u8>, String>>,
    pub calls: RefCell<Vec<Call>>,
}

impl FakeCluster {
    pub fn new() -> Self {
        Self::default()
    }

    /// A ServiceAccount with the given annotations.
    pub fn with_service_account(
        self,
        namespace: &str,
        name: &str,
        annotations: serde_json::Value,
    ) -> Self {
        let sa = json!({
            "apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": { "name": name, "namespace": namespace, "annotations": annotations }
        });
        self.with_object(
            "ServiceAccount",
            namespace,
            name,
            Ok(sa.to_string().into_bytes()),
        )
    }

    /// Any answer (object bytes, malformed bytes, or a host error) for a `get_resource`.
    pub fn with_object(
        mut self,
        kind: &str,
        namespace: &str,
        name: &str,
        answer: Result<Vec<u8>, String>,
    ) -> Self {
        self.objects.insert(
            (kind.to_owned(), namespace.to_owned(), name.to_owned()),
            answer,
        );
        self
    }

    /// The answer to `can_i` for `user` on `resource` (a client ID).
    pub fn with_review(
        mut self,
        user: &str,
        resource: &str,
        answer: Result<Vec<u8>, String>,
    ) -> Self {
        self.reviews
            .insert((user.to_owned(), resource.to_owned()), answer);
        self
    }

    /// What a review asked with `disable_cache: true` answers (e.g. a RoleBinding the host's
    /// cache does not know yet); without this, it answers what the cached review answers.
    pub fn with_uncached_review(
        mut self,
        user: &str,
        resource: &str,
        answer: Result<Vec<u8>, String>,
    ) -> Self {
        self.uncached_reviews
            .insert((user.to_owned(), resource.to_owned()), answer);
        self
    }

    /// The answer of a `list_resources_by_namespace` of `kind` in `namespace`; without one,
    /// an empty list.
    pub fn with_list(
        mut self,
        kind: &str,
        namespace: &str,
        answer: Result<Vec<u8>, String>,
    ) -> Self {
        self.lists
            .insert((kind.to_owned(), namespace.to_owned()), answer);
        self
    }

    pub fn calls(&self) -> Vec<Call> {
        self.calls.borrow().clone()
    }
}

impl Cluster for FakeCluster {
    fn get_resource(&self, request: &GetResourceRequest) -> Result<Vec<u8>, String> {
        let namespace = request.namespace.clone().unwrap_or_default();
        self.calls.borrow_mut().push(Call::Get {
            kind: request.kind.clone(),
            namespace: namespace.clone(),
            name: request.name.clone(),
            disable_cache: request.disable_cache,
        });
        self.objects
            .get(&(
                request.kind.clone(),
                namespace.clone(),
                request.name.clone(),
            ))
            .cloned()
            .unwrap_or_else(|| {
                Err(format!(
                    "Cannot find {}/{} named '{}' inside of namespace '{namespace}'",
                    request.api_version, request.kind, request.name
                ))
            })
    }

    fn can_i(&self, request: &CanIRequest) -> Result<Vec<u8>, String> {
        let review = &request.subject_access_review;
        let attrs = &review.resource_attributes;
        self.calls.borrow_mut().push(Call::CanI {
            user: review.user.clone(),
            groups: review.groups.clone().unwrap_or_default(),
            verb: attrs.verb.clone(),
            group: attrs.group.clone().unwrap_or_default(),
            resource: attrs.resource.clone(),
            disable_cache: request.disable_cache,
        });
        let key = (review.user.clone(), attrs.resource.clone());
        request
            .disable_cache
            .then(|| self.uncached_reviews.get(&key))
            .flatten()
            .or_else(|| self.reviews.get(&key))
            .cloned()
            .unwrap_or_else(|| Err(format!("no answer recorded for {}", attrs.resource)))
    }

    fn list_resources_by_namespace(
        &self,
        request: &ListResourcesByNamespaceRequest,
    ) -> Result<Vec<u8>, String> {
        self.calls.borrow_mut().push(Call::List {
            kind: request.kind.clone(),
            namespace: request.namespace.clone(),
        });
        self.lists
            .get(&(request.kind.clone(), request.namespace.clone()))
            .cloned()
            .unwrap_or_else(|| {
                Ok(json!({ "apiVersion": request.api_version, "kind": format!("{}List", request.kind), "metadata": {}, "items": [] })
                    .to_string()
                    .into_bytes())
            })
    }
}
