//! Helpers for native unit tests: build admission payloads and run the full `evaluate` entry
//! against the in-memory cluster.

use kubewarden_policy_sdk::response::ValidationResponse;
use serde_json::{Value, json};

use crate::cluster::fake::FakeCluster;

pub const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
pub const CLIENT: &str = "00000000-1111-2222-3333-444444444444";

/// An AdmissionRequest for `object` of `kind` (group, kind) in `namespace`.
pub fn request(group: &str, kind: &str, namespace: &str, operation: &str, object: Value) -> Value {
    let name = object
        .pointer("/metadata/name")
        .cloned()
        .unwrap_or(json!(""));
    json!({
        "uid": "test-uid",
        "kind": { "group": group, "version": "v1", "kind": kind },
        "resource": { "group": group, "version": "v1", "resource": "things" },
        "name": name,
        "namespace": namespace,
        "operation": operation,
        "userInfo": { "username": "tester" },
        "object": object,
    })
}

pub fn pod_request(namespace: &str, pod: Value) -> Value {
    request("", "Pod", namespace, "CREATE", pod)
}

/// Run the policy's full entry point.
pub fn run(request: Value, settings: Value, cluster: &FakeCluster) -> ValidationResponse {
    let payload = json!({ "request": request, "settings": settings });
    crate::evaluate(payload.to_string().as_bytes(), cluster)
}

/// Default settings with a tenant, `extra` merged in with [`merge`].
pub fn settings(extra: Value) -> Value {
    let mut base = json!({ "tenantId": TENANT });
    merge(&mut base, extra);
    base
}

/// Deep-merge `patch` into `base`: objects are merged key by key, anything else (lists
/// included) replaces what was there. The one way tests combine settings, pods and containers.
pub fn merge(base: &mut Value, patch: Value) {
    match (base, patch) {
        (Value::Object(base), Value::Object(patch)) => {
            for (key, value) in patch {
                merge(base.entry(key).or_insert(Value::Null), value);
            }
        }
        (base, patch) => *base = patch,
    }
}

/// `value` with `patch` deep-merged in ([`merge`]).
pub fn merged(mut value: Value, patch: Value) -> Value {
    merge(&mut value, patch);
    value
}

/// A labelled pod with one init container and one container (upstream's `newPod`).
pub fn labelled_pod(name: &str, sa: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": { "name": name, "labels": { "azure.workload.identity/use": "true" } },
        "spec": {
            "serviceAccountName": sa,
            "initContainers": [{ "name": "init-container", "image": "init-container-image" }],
            "containers": [{ "name": "container", "image": "image" }],
        }
    })
}

/// A cluster holding ServiceAccount `ns/sa` with `CLIENT` as client ID.
pub fn cluster_with_sa(ns: &str, sa: &str) -> FakeCluster {
    FakeCluster::new().with_service_account(
        ns,
        sa,
        json!({ "azure.workload.identity/client-id": CLIENT }),
    )
}

pub fn mutated(response: &ValidationResponse) -> &Value {
    match &response.mutated_object {
        Some(object) => object,
        None => panic!("expected a mutation, got {response:?}"),
    }
}

/// The env of `spec.<list>[index]` as (name, value) pairs.
pub fn env_of(pod: &Value, list: &str, index: usize) -> Vec<(String, String)> {
    pod.pointer(&format!("/spec/{list}/{index}/env"))
        .and_then(Value::as_array)
        .map(|env| {
            env.iter()
                .map(|e| {
                    (
                        e["name"].as_str().unwrap_or_default().to_owned(),
                        e["value"].as_str().unwrap_or("<valueFrom>").to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The names of the containers in `spec.<list>`.
pub fn container_names(pod: &Value, list: &str) -> Vec<String> {
    pod.pointer(&format!("/spec/{list}"))
        .and_then(Value::as_array)
        .map(|l| {
            l.iter()
                .filter_map(|c| c["name"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// What the API server adds to a pod it stores after the webhooks ran (reference §2, §4.9):
/// `defaultMode: 420` on projected volumes; `terminationMessagePath`, `terminationMessagePolicy`
/// and `imagePullPolicy` on every container; and, for a pod created with `generateName` only,
/// the name it generates.
pub fn api_server_defaults(pod: &mut Value) {
    for volume in pod["spec"]["volumes"].as_array_mut().into_iter().flatten() {
        if let Some(projected) = volume.get_mut("projected").and_then(Value::as_object_mut) {
            projected.entry("defaultMode").or_insert(json!(420));
        }
    }
    for list in ["initContainers", "containers"] {
        for container in pod["spec"][list].as_array_mut().into_iter().flatten() {
            if let Some(c) = container.as_object_mut() {
                c.entry("terminationMessagePath")
                    .or_insert(json!("/dev/termination-log"));
                c.entry("terminationMessagePolicy").or_insert(json!("File"));
                c.entry("imagePullPolicy").or_insert(json!("IfNotPresent"));
            }
        }
    }
    if pod["metadata"]["name"].as_str().is_none_or(str::is_empty) {
        let prefix = pod["metadata"]["generateName"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        pod["metadata"]["name"] = json!(format!("{prefix}x7k2p"));
    }
}

/// `response` is a rejection with `code` whose message contains `fragment`.
pub fn assert_rejected(response: &ValidationResponse, code: u16, fragment: &str) {
    assert!(!response.accepted, "expected a rejection, got {response:?}");
    assert_eq!(response.code, Some(code), "{response:?}");
    let message = response.message.as_deref().unwrap_or_default();
    assert!(message.contains(fragment), "{message:?} lacks {fragment:?}");
}

/// A Key Vault `objects` parameter listing one secret, as the provider's README writes it.
pub const KEY_VAULT_OBJECTS: &str =
    "array:\n  - |\n    objectName: db-password\n    objectType: secret\n";

/// SecretProviderClass `parameters` the Key Vault provider mounts (reference §12: a vault name,
/// a tenant, objects), with `extra` merged in ([`merge`]; `null` removes nothing, it sets null).
pub fn key_vault_parameters(extra: Value) -> Value {
    merged(
        json!({ "keyvaultName": "team-kv", "tenantID": TENANT, "objects": KEY_VAULT_OBJECTS }),
        extra,
    )
}
