//! An in-memory [`Cluster`] for native tests: answers from maps and records every call, so a
//! test can assert exactly which host calls an evaluation made.

use std::cell::RefCell;
use std::collections::HashMap;

use kubewarden_policy_sdk::host_capabilities::kubernetes::{
    CanIRequest, GetResourceRequest, ListAllResourcesRequest,
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
    /// A `list_resources_all` (every namespace).
    List { kind: String },
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
    lists: Vec<(String, String, Result<Vec<u8>, String>)>,
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

    /// The objects of `kind` in `namespace` (a list's JSON, whose items get `namespace` as
    /// their `metadata.namespace` unless they name one), or an error. `list_resources_all`
    /// answers every namespace's items in the order they were given, or the first error.
    pub fn with_list(
        mut self,
        kind: &str,
        namespace: &str,
        answer: Result<Vec<u8>, String>,
    ) -> Self {
        self.lists
            .push((kind.to_owned(), namespace.to_owned(), answer));
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
                    "Cannot find {}/{} named '{}' inside of namespace 'Some(\"{namespace}\")'",
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

    fn list_resources_all(&self, request: &ListAllResourcesRequest) -> Result<Vec<u8>, String> {
        self.calls.borrow_mut().push(Call::List {
            kind: request.kind.clone(),
        });
        let mut items = Vec::new();
        for (kind, namespace, answer) in &self.lists {
            if *kind != request.kind {
                continue;
            }
            let list: serde_json::Value = match answer {
                Ok(bytes) => match serde_json::from_slice(bytes) {
                    Ok(list) => list,
                    Err(_) => return answer.clone(),
                },
                Err(e) => return Err(e.clone()),
            };
            let Some(list) = list.get("items").and_then(|i| i.as_array()) else {
                // Not a list: answered as it is, for tests of malformed answers.
                return answer.clone();
            };
            for item in list {
                let mut item = item.clone();
                if item.pointer("/metadata/namespace").is_none()
                    && let Some(metadata) = item.get_mut("metadata").and_then(|m| m.as_object_mut())
                {
                    metadata.insert("namespace".into(), json!(namespace));
                }
                items.push(item);
            }
        }
        Ok(json!({ "apiVersion": request.api_version, "kind": format!("{}List", request.kind), "metadata": {}, "items": items })
            .to_string()
            .into_bytes())
    }
}
