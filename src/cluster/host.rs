//! The waPC host implementation of [`Cluster`](super::Cluster): the only code that talks to
//! the policy-server (or kwctl).

use kubewarden_policy_sdk::host_capabilities::kubernetes::{
    CanIRequest, GetResourceRequest, ListAllResourcesRequest,
};

use super::lookups::Cluster;

/// Answers lookups through the `kubewarden/kubernetes` host capabilities.
pub struct HostCluster;

impl HostCluster {
    fn call(
        operation: &str,
        payload: Result<Vec<u8>, serde_json::Error>,
    ) -> Result<Vec<u8>, String> {
        let payload = payload.map_err(|e| e.to_string())?;
        kubewarden_policy_sdk::wapc_guest::host_call(
            "kubewarden",
            "kubernetes",
            operation,
            &payload,
        )
        .map_err(|e| e.to_string())
    }
}

impl Cluster for HostCluster {
    fn get_resource(&self, request: &GetResourceRequest) -> Result<Vec<u8>, String> {
        Self::call("get_resource", serde_json::to_vec(request))
    }

    fn can_i(&self, request: &CanIRequest) -> Result<Vec<u8>, String> {
        Self::call("can_i", serde_json::to_vec(request))
    }

    fn list_resources_all(&self, request: &ListAllResourcesRequest) -> Result<Vec<u8>, String> {
        Self::call("list_resources_all", serde_json::to_vec(request))
    }
}
