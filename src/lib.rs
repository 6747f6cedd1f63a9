//! Azure Workload Identity for Kubewarden: injects what the Azure Workload Identity webhook
//! injects into opted-in pods, and checks who may use which managed identity (docs/reference.md).

mod authorization;
pub mod cluster;
mod error;
mod format;
mod keys;
mod legacy;
mod names;
mod object;
mod pod;
mod request;
mod secret_provider_class;
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
use error::{Denial, Rejection};
use request::{Kind, Payload};
use settings::Settings;
use verdict::Verdict;

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
    serde_json::to_vec(&evaluate(payload, cluster))
}

/// [`respond`], as the SDK's `ValidationResponse`.
pub fn evaluate(payload: &[u8], cluster: &dyn Cluster) -> ValidationResponse {
    decide(payload, cluster).into_response()
}

fn decide(payload: &[u8], cluster: &dyn Cluster) -> Verdict {
    let unreadable =
        |e: &dyn std::fmt::Display| Rejection::from(Denial::UnreadableRequest(e.to_string()));
    let payload: Payload = match std::str::from_utf8(payload)
        .map_err(|e| unreadable(&e))
        .and_then(|text| serde_json::from_str(text).map_err(|e| unreadable(&e)))
    {
        Ok(payload) => payload,
        Err(rejection) => return rejection.into(),
    };
    let settings = match payload.settings.map(|raw| raw.get().as_bytes()) {
        None => Settings::default(),
        Some(bytes) => match Settings::from_json(bytes) {
            Ok(settings) => settings,
            Err(e) => {
                return Rejection::from(Denial::InvalidSettings(e.to_string())).into();
            }
        },
    };
    let request = payload.request;
    if !matches!(request.operation.as_str(), "CREATE" | "UPDATE") {
        return Verdict::accept();
    }
    let lookups = Lookups::new(cluster);
    let ctx = request::Context {
        settings: &settings,
        lookups: &lookups,
    };
    // The one place the mode is chosen: who injects (reference §3, `mutate`).
    let injector = match settings.mutate {
        true => request::Injector::Policy,
        false => request::Injector::ManagedWebhook,
    };
    let (namespace, name) = (&request.namespace, &request.name);
    match Kind::of(&request) {
        // `kubectl debug` adds containers to a running pod (reference §4.12).
        Kind::Pod if request.sub_resource == "ephemeralcontainers" => {
            let (object, old) = (request.object, &request.old_object);
            pod::ephemeral_containers(object, old, namespace, name, &ctx)
        }
        // Pods are mutated and checked when created; the rest of their spec is immutable.
        Kind::Pod if request.operation != "CREATE" => Verdict::accept(),
        Kind::Pod => pod::create(request.object, namespace, name, injector, &ctx),
        Kind::ServiceAccount => service_account::evaluate(&request, &settings),
        Kind::SecretProviderClass => secret_provider_class::evaluate(&request, &settings),
        Kind::Workload(kind) => {
            workload::evaluate(kind, &request.object, namespace, name, injector, &ctx)
        }
        Kind::Other => Verdict::accept(),
    }
}
