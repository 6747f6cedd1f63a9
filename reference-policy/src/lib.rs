//! Engine benchmark reference: what the policy costs the engine for a Workload Identity pod with
//! none of its rules. It reads the pod's ServiceAccount with the policy's request (same field
//! masks, cached) and writes the same patch as the policy's classic layout with plain
//! `serde_json::Value` edits, checking nothing. `make bench-engine` reports the policy's requests
//! per second as a ratio to this one's: the engine's own limit for this mutation.

use kubewarden_policy_sdk::host_capabilities::kubernetes::{GetResourceRequest, get_resource};
use kubewarden_policy_sdk::wapc_guest as guest;
use serde_json::{Value, json};

const CLIENT_ID_ANNOTATION: &str = "azure.workload.identity/client-id";
const TOKEN_DIR: &str = "/var/run/secrets/azure/tokens";
const TOKEN_VOLUME: &str = "azure-identity-token";

#[unsafe(no_mangle)]
pub extern "C" fn wapc_init() {
    guest::register_function("validate", validate);
    guest::register_function("validate_settings", validate_settings);
    guest::register_function(
        "protocol_version",
        kubewarden_policy_sdk::protocol_version_guest,
    );
}

#[derive(serde::Deserialize)]
struct Payload {
    request: Request,
    #[serde(default)]
    settings: Value,
}

#[derive(serde::Deserialize)]
struct Request {
    #[serde(default)]
    namespace: String,
    #[serde(default)]
    object: Value,
}

fn validate(payload: &[u8]) -> guest::CallResult {
    let Payload { request, settings } = serde_json::from_slice(payload)?;
    let mut pod = request.object;
    let labelled = pod
        .pointer("/metadata/labels/azure.workload.identity~1use")
        .and_then(Value::as_str)
        == Some("true");
    if !labelled {
        return kubewarden_policy_sdk::accept_request();
    }
    let service_account = pod
        .pointer("/spec/serviceAccountName")
        .and_then(Value::as_str)
        .unwrap_or("default")
        .to_owned();
    let account: Value = get_resource(&GetResourceRequest {
        api_version: "v1".to_owned(),
        kind: "ServiceAccount".to_owned(),
        name: service_account,
        namespace: Some(request.namespace),
        disable_cache: false,
        field_masks: Some(
            [
                "apiVersion",
                "kind",
                "metadata.annotations",
                "metadata.name",
                "metadata.namespace",
            ]
            .into_iter()
            .map(str::to_owned)
            .collect(),
        ),
    })?;
    let client_id = account
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(CLIENT_ID_ANNOTATION))
        .and_then(Value::as_str)
        .unwrap_or_default();
    let tenant_id = settings
        .get("tenantId")
        .and_then(Value::as_str)
        .unwrap_or_default();
    inject(&mut pod, client_id, tenant_id);
    kubewarden_policy_sdk::mutate_request(pod)
}

/// The policy's classic-layout mutation: four variables and a mount in every container, one
/// projected token volume.
fn inject(pod: &mut Value, client_id: &str, tenant_id: &str) {
    let env = [
        ("AZURE_CLIENT_ID", client_id.to_owned()),
        ("AZURE_TENANT_ID", tenant_id.to_owned()),
        (
            "AZURE_FEDERATED_TOKEN_FILE",
            format!("{TOKEN_DIR}/{TOKEN_VOLUME}"),
        ),
        (
            "AZURE_AUTHORITY_HOST",
            "https://login.microsoftonline.com/".to_owned(),
        ),
    ];
    let Some(spec) = pod.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    for list in ["initContainers", "containers"] {
        let Some(containers) = spec.get_mut(list).and_then(Value::as_array_mut) else {
            continue;
        };
        for container in containers.iter_mut().filter_map(Value::as_object_mut) {
            let vars = container.entry("env").or_insert_with(|| json!([]));
            if let Some(vars) = vars.as_array_mut() {
                vars.extend(
                    env.iter()
                        .map(|(name, value)| json!({"name": name, "value": value})),
                );
            }
            let mounts = container.entry("volumeMounts").or_insert_with(|| json!([]));
            if let Some(mounts) = mounts.as_array_mut() {
                mounts
                    .push(json!({"name": TOKEN_VOLUME, "mountPath": TOKEN_DIR, "readOnly": true}));
            }
        }
    }
    let volumes = spec.entry("volumes").or_insert_with(|| json!([]));
    if let Some(volumes) = volumes.as_array_mut() {
        volumes.push(json!({
            "name": TOKEN_VOLUME,
            "projected": {"sources": [{"serviceAccountToken": {
                "audience": "api://AzureADTokenExchange",
                "expirationSeconds": 3600,
                "path": TOKEN_VOLUME,
            }}]},
        }));
    }
}

fn validate_settings(_payload: &[u8]) -> guest::CallResult {
    Ok(br#"{"valid":true}"#.to_vec())
}
