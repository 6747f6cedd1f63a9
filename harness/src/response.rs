//! The AdmissionResponse kwctl prints, built from the policy's ValidationResponse.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The SDK's `ValidationResponse`: what the policy's `validate` returns.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct PolicyResponse {
    pub accepted: bool,
    pub message: Option<String>,
    pub code: Option<u16>,
    pub mutated_object: Option<Value>,
    pub audit_annotations: Option<BTreeMap<String, String>>,
    pub warnings: Option<Vec<String>>,
}

/// kwctl's `AdmissionResponse`. Field order and omission rules are those of its serialization:
/// `patchType`, `patch` and `status` only when set, the last two always (`null` when unset).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AdmissionResponse {
    pub uid: String,
    pub allowed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patch_type: Option<PatchType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patch: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    pub audit_annotations: Option<BTreeMap<String, String>>,
    pub warnings: Option<Vec<String>>,
}

/// The only patch type Kubernetes accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum PatchType {
    #[serde(rename = "JSONPatch")]
    JsonPatch,
}

/// What the policy said besides the verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Status {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<u16>,
}

/// kwctl's rejection of a mutation of a request that carries no object.
pub const MUTATION_WITHOUT_OBJECT: &str = "Incoming object is null, which happens only with DELETE operations, but the policy is attempting a mutation. This is not allowed";

impl AdmissionResponse {
    /// A rejection the host makes on its own (policy trap, unreadable answer).
    pub fn internal_server_error(uid: &str, message: &str) -> Self {
        AdmissionResponse {
            uid: uid.to_owned(),
            allowed: false,
            patch_type: None,
            patch: None,
            status: Some(Status {
                message: Some(format!("internal server error: {message}")),
                code: Some(500),
            }),
            audit_annotations: None,
            warnings: None,
        }
    }

    /// Turns the policy's answer into the response, diffing `object` against `mutated_object`.
    pub fn from_policy(uid: &str, object: Option<&Value>, policy: &PolicyResponse) -> Result<Self> {
        let mut response = AdmissionResponse {
            uid: uid.to_owned(),
            allowed: policy.accepted,
            patch_type: None,
            patch: None,
            status: None,
            audit_annotations: policy.audit_annotations.clone(),
            warnings: policy.warnings.clone(),
        };
        if let Some(mutated) = &policy.mutated_object {
            let Some(object) = object else {
                // kwctl drops everything else the policy said in this case
                return Ok(AdmissionResponse {
                    allowed: false,
                    status: Some(Status {
                        message: Some(MUTATION_WITHOUT_OBJECT.to_owned()),
                        code: None,
                    }),
                    audit_annotations: None,
                    warnings: None,
                    ..response
                });
            };
            let diff = json_patch::diff(object, mutated);
            if !diff.0.is_empty() {
                let json =
                    serde_json::to_string(&diff).context("cannot serialize the JSON patch")?;
                response.patch_type = Some(PatchType::JsonPatch);
                response.patch = Some(STANDARD.encode(json));
            }
        }
        if policy.message.is_some() || policy.code.is_some() {
            response.status = Some(Status {
                message: policy.message.clone(),
                code: policy.code,
            });
        }
        Ok(response)
    }

    /// The single JSON line printed on stdout.
    pub fn to_line(&self) -> Result<String> {
        serde_json::to_string(self).context("cannot serialize the AdmissionResponse")
    }
}

#[cfg(test)]
mod tests;
