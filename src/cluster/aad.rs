//! AAD Pod Identity objects, read for `legacyPodIdentity: migrate` (SPEC §8): the namespace's
//! AzureIdentityBindings, and the AzureIdentity one of them names.

use std::collections::BTreeSet;

use kubewarden_policy_sdk::host_capabilities::kubernetes::ListResourcesByNamespaceRequest;
use serde::Deserialize;

use super::lookups::{LookupError, Lookups};
use crate::names;

/// What the policy reads of an `aadpodidentity.k8s.io/v1` AzureIdentityBinding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AzureIdentityBinding {
    pub name: String,
    /// The `aadpodidbinding` label value it serves.
    pub selector: String,
    /// The AzureIdentity it binds, in the same namespace.
    pub azure_identity: String,
}

#[derive(Deserialize)]
struct List {
    #[serde(default)]
    items: Vec<Item>,
}

#[derive(Deserialize)]
struct Item {
    #[serde(default)]
    metadata: ItemMeta,
    #[serde(default)]
    spec: BindingSpec,
}

#[derive(Deserialize, Default)]
struct ItemMeta {
    #[serde(default)]
    name: String,
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
    /// Every AzureIdentityBinding of `namespace`, in one list call. A list has no "missing":
    /// any failure is the host's.
    pub fn azure_identity_bindings(
        &self,
        namespace: &str,
    ) -> Result<Vec<AzureIdentityBinding>, LookupError> {
        let request = ListResourcesByNamespaceRequest {
            api_version: names::AAD_API_VERSION.to_owned(),
            kind: names::AAD_BINDING_KIND.to_owned(),
            namespace: namespace.to_owned(),
            label_selector: None,
            field_selector: None,
            field_masks: Some(BTreeSet::from(
                ["metadata.name", "spec.azureIdentity", "spec.selector"].map(str::to_owned),
            )),
        };
        let bytes = self
            .cluster
            .list_resources_by_namespace(&request)
            .map_err(LookupError::Host)?;
        let list: List =
            serde_json::from_slice(&bytes).map_err(|e| LookupError::Malformed(e.to_string()))?;
        Ok(list
            .items
            .into_iter()
            .map(|item| AzureIdentityBinding {
                name: item.metadata.name,
                selector: item.spec.selector,
                azure_identity: item.spec.azure_identity,
            })
            .collect())
    }

    /// `spec.clientID` of AzureIdentity `namespace/name` (trimmed; empty when it has none),
    /// with the uncached retry of SPEC §4.2.
    pub fn azure_identity_client_id(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<String, LookupError> {
        let kind = (names::AAD_API_VERSION, names::AAD_IDENTITY_KIND);
        let masks = ["apiVersion", "kind", "metadata.name", "spec.clientID"];
        let (_, spec) = self.get::<IdentitySpec>(kind, namespace, name, &masks)?;
        Ok(spec
            .map(|s| s.client_id.trim().to_owned())
            .unwrap_or_default())
    }
}
