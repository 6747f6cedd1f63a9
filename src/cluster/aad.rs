//! AAD Pod Identity objects, read for `legacyPodIdentity: migrate` (reference §8): the
//! AzureIdentityBindings of every namespace, and the AzureIdentity one of them names.

use std::collections::BTreeSet;

use kubewarden_policy_sdk::host_capabilities::kubernetes::ListAllResourcesRequest;
use serde::Deserialize;

use super::lookups::{LookupError, Lookups};
use crate::names;
use crate::object::Metadata;

/// What the policy reads of an `aadpodidentity.k8s.io/v1` AzureIdentityBinding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AzureIdentityBinding {
    pub namespace: String,
    pub name: String,
    /// The `aadpodidbinding` label value it serves.
    pub selector: String,
    /// The AzureIdentity it binds, in the binding's namespace.
    pub azure_identity: String,
}

/// What the policy reads of an AzureIdentity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AzureIdentity {
    /// `spec.clientID`, trimmed; empty when it has none.
    pub client_id: String,
    /// Annotated `aadpodidentity.k8s.io/Behavior: namespaced`: it serves only pods of its own
    /// namespace (MIC's `IsNamespacedIdentity`).
    pub namespaced: bool,
}

#[derive(Deserialize)]
struct List {
    #[serde(default)]
    items: Vec<Item>,
}

#[derive(Deserialize)]
struct Item {
    #[serde(default)]
    metadata: Metadata,
    #[serde(default)]
    spec: BindingSpec,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct BindingSpec {
    #[serde(default)]
    selector: String,
    #[serde(default)]
    azure_identity: String,
}

#[derive(Deserialize)]
struct IdentitySpec {
    #[serde(default, rename = "clientID")]
    client_id: String,
}

impl Lookups<'_> {
    /// Every AzureIdentityBinding of the cluster, in one list call, as AAD Pod Identity's MIC
    /// matches them. A list has no "missing": any failure is the host's.
    pub fn azure_identity_bindings(&self) -> Result<Vec<AzureIdentityBinding>, LookupError> {
        let masks = [
            "metadata.name",
            "metadata.namespace",
            "spec.azureIdentity",
            "spec.selector",
        ];
        let request = ListAllResourcesRequest {
            api_version: names::AAD_API_VERSION.to_owned(),
            kind: names::AAD_BINDING_KIND.to_owned(),
            label_selector: None,
            field_selector: None,
            field_masks: Some(
                masks
                    .map(str::to_owned)
                    .into_iter()
                    .collect::<BTreeSet<_>>(),
            ),
        };
        let bytes = self
            .cluster
            .list_resources_all(&request)
            .map_err(LookupError::Host)?;
        let list: List =
            serde_json::from_slice(&bytes).map_err(|e| LookupError::Malformed(e.to_string()))?;
        Ok(list
            .items
            .into_iter()
            .map(|item| AzureIdentityBinding {
                namespace: item.metadata.namespace.unwrap_or_default(),
                name: item.metadata.name.unwrap_or_default(),
                selector: item.spec.selector,
                azure_identity: item.spec.azure_identity,
            })
            .collect())
    }

    /// AzureIdentity `namespace/name`, with the uncached retry of reference §4.2.
    pub fn azure_identity(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<AzureIdentity, LookupError> {
        let kind = (names::AAD_API_VERSION, names::AAD_IDENTITY_KIND);
        let masks = [
            "apiVersion",
            "kind",
            "metadata.annotations",
            "metadata.name",
            "spec.clientID",
        ];
        let (metadata, spec) = self.get::<IdentitySpec>(kind, namespace, name, &masks)?;
        Ok(AzureIdentity {
            client_id: spec
                .map(|s| s.client_id.trim().to_owned())
                .unwrap_or_default(),
            namespaced: metadata
                .annotation(names::AAD_BEHAVIOR)
                .is_some_and(|b| b == "namespaced"),
        })
    }
}
