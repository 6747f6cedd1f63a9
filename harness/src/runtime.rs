//! One loaded policy on wapc + wasmtime, called the way policy-evaluator calls it.

use std::sync::Arc;

use anyhow::{Context, Result};
use serde::Deserialize;
use serde_json::json;
use wapc::WapcHost;
use wasmtime_provider::WasmtimeEngineProviderBuilder;

use crate::host::Host;
use crate::input::{AdmissionRequest, Settings};
use crate::log::Level;
use crate::response::{AdmissionResponse, PolicyResponse};

/// The SDK's `SettingsValidationResponse`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SettingsVerdict {
    pub valid: bool,
    pub message: Option<String>,
}

/// A policy instance: one wasmtime store, reused by every call (as kwctl and policy-server do).
pub struct Policy {
    wapc: WapcHost,
    host: Arc<Host>,
}

impl Policy {
    /// Compiles and instantiates the module. WASI is wired in (a wasm32-wasip1 module imports it)
    /// with no arguments, environment or directories, as policy-evaluator does.
    pub fn load(wasm: &[u8], host: Arc<Host>) -> Result<Self> {
        let engine = WasmtimeEngineProviderBuilder::new()
            .module_bytes(wasm)
            .build()
            .context("cannot compile the policy with wasmtime")?;
        let callback_host = Arc::clone(&host);
        let callback =
            move |_id: u64, binding: &str, namespace: &str, operation: &str, payload: &[u8]| {
                callback_host
                    .call(binding, namespace, operation, payload)
                    .map_err(Into::into)
            };
        let wapc = WapcHost::new(Box::new(engine), Some(Box::new(callback)))
            .context("cannot instantiate the policy as a waPC module")?;
        Ok(Policy { wapc, host })
    }

    /// Calls `validate_settings`; a failure of the call itself makes the settings invalid.
    pub fn validate_settings(&self, settings: &Settings) -> SettingsVerdict {
        let payload = serde_json::Value::Object(settings.clone()).to_string();
        match self.wapc.call("validate_settings", payload.as_bytes()) {
            Ok(answer) => serde_json::from_slice(&answer).unwrap_or_else(|e| SettingsVerdict {
                valid: false,
                message: Some(format!("error: InvalidResponseWithError({e:?})")),
            }),
            Err(e) => SettingsVerdict {
                valid: false,
                message: Some(format!(
                    "Error invoking settings validation callback: {e:?}"
                )),
            },
        }
    }

    /// Calls `validate` with `{"request", "settings"}`. Never fails: a trap or an unreadable
    /// answer becomes kwctl's `internal server error` rejection.
    pub fn validate(&self, request: &AdmissionRequest, settings: &Settings) -> AdmissionResponse {
        let uid = request.uid.as_str();
        let payload = json!({"request": request, "settings": settings}).to_string();
        let answer = match self.wapc.call("validate", payload.as_bytes()) {
            Ok(answer) => answer,
            Err(e) => {
                self.error("waPC communication error", &format!("{e:?}"));
                return AdmissionResponse::internal_server_error(uid, &e.to_string());
            }
        };
        let built = serde_json::from_slice::<PolicyResponse>(&answer)
            .map_err(|e| format!("invalid response from policy: {e}"))
            .and_then(|policy| {
                AdmissionResponse::from_policy(uid, request.object.as_ref(), &policy)
                    .map_err(|e| format!("invalid response format: {e:#}"))
            });
        built.unwrap_or_else(|message| {
            self.error(
                "cannot build validation response from policy result",
                &message,
            );
            AdmissionResponse::internal_server_error(uid, &message)
        })
    }

    fn error(&self, message: &str, error: &str) {
        self.host.log(
            Level::Error,
            "harness::runtime",
            message,
            &[("error", error)],
        );
    }
}

#[cfg(test)]
mod tests {
    //! Drives hand-written waPC modules (WAT) through the real wapc + wasmtime stack.

    use super::*;
    use crate::host::ResourceAccess;
    use crate::input::parse_request;
    use crate::log::Logger;
    use crate::replay::{Matching, Session};

    const GET_SA: &str = r#"{"api_version":"v1","kind":"ServiceAccount","name":"sa","namespace":"default","disable_cache":false,"field_masks":null}"#;
    const ACCEPT: &str = r#"{"accepted":true}"#;
    const REJECT_PREFIX: &str = r#"{"accepted":false,"message":""#;
    const ERROR_AT: usize = 1024;

    fn data(address: usize, text: &str) -> String {
        format!(
            "(data (i32.const {address}) \"{}\")",
            text.replace('"', "\\\"")
        )
    }

    /// A waPC guest: `validate_settings` answers `{"valid":true}`, `validate` runs `body`.
    fn module(body: &str) -> Vec<u8> {
        let wat = format!(
            r#"(module
              (import "wapc" "__guest_request" (func $guest_request (param i32 i32)))
              (import "wapc" "__guest_response" (func $guest_response (param i32 i32)))
              (import "wapc" "__host_call" (func $host_call (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
              (import "wapc" "__host_error_len" (func $host_error_len (result i32)))
              (import "wapc" "__host_error" (func $host_error (param i32)))
              (memory (export "memory") 1)
              {} {} {} {} {} {} {}
              (func (export "__guest_call") (param $op_len i32) (param $msg_len i32) (result i32)
                (local $n i32)
                (call $guest_request (i32.const 4096) (i32.const 8192))
                (if (i32.eq (local.get $op_len) (i32.const 17))
                  (then (call $guest_response (i32.const 48) (i32.const 14)) (return (i32.const 1))))
                {body}))"#,
            data(0, "kubewarden"),
            data(16, "kubernetes"),
            data(32, "get_resource"),
            data(48, r#"{"valid":true}"#),
            data(64, GET_SA),
            data(512, ACCEPT),
            data(ERROR_AT - REJECT_PREFIX.len(), REJECT_PREFIX),
        );
        wat.into_bytes()
    }

    /// Calls `get_resource`; accepts on success, else rejects with the host's error text.
    fn get_resource_module() -> Vec<u8> {
        module(&format!(
            r#"(if (call $host_call (i32.const 0) (i32.const 10) (i32.const 16) (i32.const 10)
                                   (i32.const 32) (i32.const 12) (i32.const 64) (i32.const {get_len}))
                  (then (call $guest_response (i32.const 512) (i32.const {accept_len})) (return (i32.const 1))))
               (local.set $n (call $host_error_len))
               (call $host_error (i32.const {error_at}))
               (i32.store8 (i32.add (i32.const {error_at}) (local.get $n)) (i32.const 34))
               (i32.store8 (i32.add (i32.const {error_at_1}) (local.get $n)) (i32.const 125))
               (call $guest_response (i32.const {prefix_at}) (i32.add (local.get $n) (i32.const {frame_len})))
               (i32.const 1)"#,
            get_len = GET_SA.len(),
            accept_len = ACCEPT.len(),
            error_at = ERROR_AT,
            error_at_1 = ERROR_AT + 1,
            prefix_at = ERROR_AT - REJECT_PREFIX.len(),
            frame_len = REJECT_PREFIX.len() + 2,
        ))
    }

    const SESSION: &str = r#"
- type: Exchange
  request: |
    !KubernetesGetResource
    api_version: v1
    kind: ServiceAccount
    name: sa
    namespace: default
    disable_cache: false
  response:
    type: Success
    payload: '{}'
"#;

    fn load(wasm: &[u8], access: ResourceAccess) -> Policy {
        let session = Session::parse(SESSION, Matching::Strict).expect("valid session");
        let host = Host::new(session, access, Logger::new(false, None));
        Policy::load(wasm, Arc::new(host)).expect("the module instantiates")
    }

    fn request() -> AdmissionRequest {
        parse_request(serde_json::json!({
            "uid": "u-1",
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "operation": "CREATE",
            "userInfo": {},
            "object": {"metadata": {"name": "p"}}
        }))
        .expect("valid request")
    }

    fn verdict(policy: &Policy) -> String {
        policy
            .validate(&request(), &Settings::new())
            .to_line()
            .expect("serializes")
    }

    #[test]
    fn settings_are_validated_by_the_guest() {
        let policy = load(&module("(unreachable)"), ResourceAccess::Denied);
        let verdict = policy.validate_settings(&Settings::new());
        assert_eq!(
            verdict,
            SettingsVerdict {
                valid: true,
                message: None
            }
        );
    }

    #[test]
    fn host_calls_reach_the_replay_session() {
        let policy = load(&get_resource_module(), ResourceAccess::Any);
        assert_eq!(
            verdict(&policy),
            r#"{"uid":"u-1","allowed":true,"auditAnnotations":null,"warnings":null}"#
        );
        // strict session: the one exchange is used up, and the guest sees kwctl's error text
        assert_eq!(
            verdict(&policy),
            r#"{"uid":"u-1","allowed":false,"status":{"message":"Callback evaluation failure: the list of recorded responses is empty"},"auditAnnotations":null,"warnings":null}"#
        );
    }

    #[test]
    fn denied_resources_are_reported_to_the_guest() {
        let policy = load(&get_resource_module(), ResourceAccess::Denied);
        assert_eq!(
            verdict(&policy),
            r#"{"uid":"u-1","allowed":false,"status":{"message":"Policy has not been granted access to Kubernetes v1/ServiceAccount resources. The violation has been reported."},"auditAnnotations":null,"warnings":null}"#
        );
    }

    #[test]
    fn a_trap_is_an_internal_server_error() {
        let policy = load(&module("(unreachable)"), ResourceAccess::Denied);
        let response = policy.validate(&request(), &Settings::new());
        assert!(!response.allowed);
        let status = response.status.expect("a status");
        assert_eq!(status.code, Some(500));
        let message = status.message.expect("a message");
        assert!(
            message.starts_with("internal server error: Guest call failure: "),
            "{message}"
        );
    }

    #[test]
    fn an_unreadable_answer_is_an_internal_server_error() {
        let policy = load(
            &module("(call $guest_response (i32.const 0) (i32.const 10)) (i32.const 1)"),
            ResourceAccess::Denied,
        );
        let message = policy
            .validate(&request(), &Settings::new())
            .status
            .and_then(|s| s.message);
        let message = message.expect("a message");
        assert!(
            message.starts_with("internal server error: invalid response from policy: "),
            "{message}"
        );
    }
}
