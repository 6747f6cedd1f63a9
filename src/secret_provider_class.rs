//! SecretProviderClass CREATE/UPDATE (reference §12): a class of `spec.provider: azure` is held
//! to the Key Vault provider's mount-time rules when it is written, so a mistake fails at
//! `kubectl apply` and not later as a pod stuck in ContainerCreating. Nothing is mutated and
//! the cluster is never asked: the class names no ServiceAccount to review.

use std::collections::BTreeMap;

use kubewarden_policy_sdk::request::KubernetesAdmissionRequest;
use serde::Deserialize;
use serde_json::Value;

use crate::authorization::allowlist;
use crate::authorization::key_vault::{self, Reader, Reading, Tenant};
use crate::error::{Denial, Rejection};
use crate::format::quote;
use crate::object::{Metadata, nullable, read};
use crate::settings::Settings;
use crate::verdict::Verdict;

/// What the rules read of a SecretProviderClass.
#[derive(Deserialize, Default)]
struct Class {
    #[serde(default)]
    metadata: Metadata,
    #[serde(default, deserialize_with = "nullable")]
    spec: Spec,
}

#[derive(Deserialize, Default)]
struct Spec {
    #[serde(default, deserialize_with = "nullable")]
    provider: String,
    #[serde(default, deserialize_with = "nullable")]
    parameters: BTreeMap<String, String>,
}

/// The class in `object`; `None` for a request without one (`null`).
fn parse(object: &Value) -> Result<Option<Class>, String> {
    match object {
        Value::Null => Ok(None),
        object => read(object).map(Some),
    }
}

pub(crate) fn evaluate(request: &KubernetesAdmissionRequest, settings: &Settings) -> Verdict {
    let namespace = &request.namespace;
    let display = format!("SecretProviderClass {namespace}/{}", request.name);
    let (new, old) = match (parse(&request.object), parse(&request.old_object)) {
        (Ok(Some(new)), Ok(old)) => (new, old),
        (Ok(None), _) => return Denial::NoObject.of(&display).into(),
        (Err(error), _) | (_, Err(error)) => {
            let what = "its spec";
            return Denial::Unreadable { what, error }.of(&display).into();
        }
    };
    if !key_vault::is_key_vault(&new.spec.provider) {
        return Verdict::accept();
    }
    let name = new.metadata.name().unwrap_or(&request.name);
    let class = format!("{namespace}/{name}");
    let display = format!("SecretProviderClass {class}");
    let parameters = &new.spec.parameters;
    // reference §6: a key the provider reads in another case is warned about, even when the
    // class is refused.
    let mut warnings: Vec<String> = key_vault::misspelled(parameters)
        .into_iter()
        .map(|(key, exact)| {
            format!(
                "{display}: rename parameters.{} to {exact}: the Key Vault provider reads keys \
                 case-sensitively",
                quote(key)
            )
        })
        .collect();
    // The denials name the class themselves.
    let reading = match key_vault::judge(&class, parameters, Reader::ClassWrite) {
        Ok(reading) => reading,
        Err(denial) => return Verdict::from(Rejection::from(denial)).with_warnings(warnings),
    };
    warnings.extend(written(&display, &reading));
    let old_parameters = old
        .as_ref()
        .filter(|old| key_vault::is_key_vault(&old.spec.provider))
        .map(|old| &old.spec.parameters);
    if let Some(old_parameters) = old_parameters
        && moved(old_parameters, &reading)
    {
        warnings.push(format!(
            "{display}: restart the pods that mount it: they take its new identity at their \
             next mount or rotation, unreviewed"
        ));
    }
    for (key, client_id) in reading.identity.client_ids() {
        if !allowlist::allows(settings, namespace, client_id) {
            let denial = Denial::ClientIdNotAllowed {
                client_id: client_id.to_owned(),
                from: format!("parameters.{key}"),
                namespace: namespace.clone(),
                allowed: allowlist::listed(settings, namespace),
            };
            return Verdict::from(denial.of(&display)).with_warnings(warnings);
        }
    }
    Verdict::accept().with_warnings(warnings)
}

/// The warnings of the class's own write (reference §12), in the provider's order.
fn written(display: &str, reading: &Reading) -> Vec<String> {
    let mut warnings = Vec::new();
    if reading.tenant == Some(Tenant::DeprecatedId) {
        warnings.push(format!(
            "{display}: rename parameters.tenantId to tenantID: the Key Vault provider reads \
             tenantId only as a deprecated fallback"
        ));
    }
    if reading.stack_without_env_file {
        warnings.push(format!(
            "{display}: set parameters.cloudEnvFileName: with cloudName AzureStackCloud the \
             provider reads its endpoints from that file"
        ));
    }
    warnings.extend(reading.missing.iter().map(|key| {
        format!("{display}: set parameters.{key}, or every pod that mounts it must set it in volumeAttributes")
    }));
    warnings
}

/// Whether the UPDATE moves the identity the class mounts with: its mode or a client ID it
/// uses. A class whose flags the provider could not read mounted nothing, so nothing moves.
fn moved(old: &BTreeMap<String, String>, reading: &Reading) -> bool {
    key_vault::identity(old).is_some_and(|old| old.used() != reading.identity.used())
}
