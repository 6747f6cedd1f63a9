//! Azure Workload Identity for Kubewarden: injects what the Azure Workload Identity webhook
//! injects into opted-in pods, and checks who may use which managed identity (SPEC.md).

mod authorization;
pub mod cluster;
mod format;
mod json;
mod keys;
mod legacy;
mod names;
mod object;
mod pod;
mod request;
mod service_account;
pub mod settings;
pub mod verdict;
mod workload;

#[cfg(any(test, feature = "test-support"))]
pub mod testing;

use kubewarden_policy_sdk::response::ValidationResponse;
use kubewarden_policy_sdk::settings::SettingsValidationResponse;
use kubewarden_policy_sdk::wapc_guest as guest;

use cluster::{Cluster, HostCluster, Lookups};
use pod::{PodInput, PodObject};
use request::{Kind, Payload};
use settings::Settings;
use verdict::{BAD_REQUEST, Verdict};

#[unsafe(no_mangle)]
pub extern "C" fn wapc_init() {
    guest::register_function("validate", validate);
    guest::register_function("validate_settings", validate_settings);
    guest::register_function(
        "protocol_version",
        kubewarden_policy_sdk::protocol_version_guest,
    );
}

fn validate(payload: &[u8]) -> guest::CallResult {
    Ok(respond(payload, &HostCluster)?)
}

/// `validate_settings`: unlike the SDK helper, a document that does not even deserialize is
/// answered `valid: false` with the path of the bad field, not with a waPC error.
fn validate_settings(payload: &[u8]) -> guest::CallResult {
    let response = match settings::parse_and_check(payload) {
        Ok(_) => SettingsValidationResponse {
            valid: true,
            message: None,
        },
        Err(message) => SettingsValidationResponse {
            valid: false,
            message: Some(message),
        },
    };
    Ok(serde_json::to_vec(&response)?)
}

/// The whole evaluation, host-independent: payload bytes in, the `validate` answer's bytes
/// out. Never panics.
pub fn respond(payload: &[u8], cluster: &dyn Cluster) -> Result<Vec<u8>, serde_json::Error> {
    decide(payload, cluster).to_json()
}

/// [`respond`], answered as the SDK's `ValidationResponse` (the mutated object read back).
pub fn evaluate(payload: &[u8], cluster: &dyn Cluster) -> ValidationResponse {
    decide(payload, cluster)
        .into_response()
        .unwrap_or_else(|e| ValidationResponse {
            accepted: false,
            message: Some(format!("cannot read back the mutated object: {e}")),
            code: Some(verdict::HOST_FAILURE),
            mutated_object: None,
            audit_annotations: None,
            warnings: None,
        })
}

fn decide(payload: &[u8], cluster: &dyn Cluster) -> Verdict {
    // One UTF-8 check of the whole payload; every string is then borrowed without another.
    let text = match std::str::from_utf8(payload) {
        Ok(text) => text,
        Err(e) => {
            return Verdict::reject(
                BAD_REQUEST,
                format!("cannot read the admission request: {e}"),
            );
        }
    };
    let payload: Payload = match serde_json::from_str(text) {
        Ok(payload) => payload,
        Err(e) => {
            return Verdict::reject(
                BAD_REQUEST,
                format!("cannot read the admission request: {e}"),
            );
        }
    };
    let settings = match payload.settings.map(|raw| raw.get().as_bytes()) {
        None => Settings::default(),
        Some(bytes) => match Settings::from_json(bytes) {
            Ok(settings) => settings,
            Err(e) => return Verdict::reject(BAD_REQUEST, format!("invalid policy settings: {e}")),
        },
    };
    let request = payload.request;
    if !request.is_create_or_update() {
        return Verdict::accept();
    }
    let lookups = Lookups::new(cluster);
    match request.resolved_kind() {
        // Pods are mutated and checked when created; their spec is immutable afterwards.
        Kind::Pod if request.operation != "CREATE" => Verdict::accept(),
        Kind::Pod => {
            let object = match (request.pod, request.object) {
                (Some(pod), _) => PodObject::Read(pod),
                (None, Some(raw)) => PodObject::Text(raw.get()),
                (None, None) => PodObject::Missing,
            };
            let input = PodInput {
                object,
                namespace: &request.namespace,
                name: &request.name,
                source: text,
            };
            pod::evaluate(input, &settings, &lookups)
        }
        Kind::ServiceAccount => service_account::evaluate(&request, &settings),
        Kind::Workload(kind) => workload::evaluate(kind, &request, &settings, &lookups),
        Kind::Other => Verdict::accept(),
    }
}
