//! Benchmark floor: parses the request the way every SDK-based policy does, then accepts it.
//! `make bench` reports this policy's figures as ratios to this one's.

use kubewarden_policy_sdk::wapc_guest as guest;

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
    #[allow(dead_code)]
    request: serde_json::Value,
}

fn validate(payload: &[u8]) -> guest::CallResult {
    let _parsed: Payload = serde_json::from_slice(payload)?;
    kubewarden_policy_sdk::accept_request()
}

fn validate_settings(_payload: &[u8]) -> guest::CallResult {
    Ok(br#"{"valid":true}"#.to_vec())
}
