//! One loaded policy on wapc + wasmtime, called the way policy-evaluator calls it.
//!
//! Compiling the module with Cranelift is most of a `harness run`, so compiled modules are
//! kept on disk between runs (see [`module_cache`]): the next run of the same module
//! deserializes instead of compiling.

use std::ffi::OsString;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde::Deserialize;
use serde_json::json;
use wapc::WapcHost;
use wasmtime_provider::WasmtimeEngineProviderBuilder;
use wasmtime_provider::errors::Error as ProviderError;
use wasmtime_provider::wasmtime::{Config, Engine, ProfilingStrategy};

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
    /// Compiles (or takes from the [`module_cache`] directory the environment names) and
    /// instantiates the module. WASI is wired in (a wasm32-wasip1 module imports it) with no
    /// arguments, environment or directories, as policy-evaluator does.
    ///
    /// With `HARNESS_PERFMAP` set (to anything but empty or `0`), wasmtime writes
    /// `/tmp/perf-<pid>.map`, so that `perf report` names the policy's own functions (in a
    /// module built with its name section: `strip = "none"`); the module is then compiled, not
    /// read from the cache, whose files carry no symbols for perf.
    pub fn load(wasm: &[u8], host: Arc<Host>) -> Result<Self> {
        let perf_map = perf_map_from(|name| std::env::var_os(name));
        let mut config = Config::default();
        if perf_map {
            config.profiler(ProfilingStrategy::PerfMap);
        }
        let cache = module_cache::dir().filter(|_| !perf_map);
        Self::load_cached(wasm, host, &config, cache.as_deref())
    }

    /// [`Policy::load`] with compiled modules kept in `cache`, or nowhere if `None`.
    fn load_cached(
        wasm: &[u8],
        host: Arc<Host>,
        config: &Config,
        cache: Option<&Path>,
    ) -> Result<Self> {
        const CANNOT_COMPILE: &str = "cannot compile the policy with wasmtime";
        // The engine the provider's builder makes when given only module bytes (no epochs, no
        // cache), so the module runs exactly as before; errors go through the provider's
        // error type so that they read as they did when the builder compiled.
        let engine = Engine::new(config)
            .map_err(ProviderError::from)
            .context(CANNOT_COMPILE)?;
        let module = module_cache::module(&engine, wasm, cache)
            .map_err(ProviderError::from)
            .context(CANNOT_COMPILE)?;
        let engine = WasmtimeEngineProviderBuilder::new()
            .engine(engine)
            .module(module)
            .build()
            .context(CANNOT_COMPILE)?;
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
        self.validate_timed(request, settings).0
    }

    /// [`Policy::validate`], and how long the waPC call took: the guest's own work with its
    /// host calls, without the engine's (serializing the request, reading the answer, diffing
    /// the patch).
    pub fn validate_timed(
        &self,
        request: &AdmissionRequest,
        settings: &Settings,
    ) -> (AdmissionResponse, Duration) {
        let uid = request.uid.as_str();
        let payload = json!({"request": request, "settings": settings}).to_string();
        let start = Instant::now();
        let called = self.wapc.call("validate", payload.as_bytes());
        let guest = start.elapsed();
        let answer = match called {
            Ok(answer) => answer,
            Err(e) => {
                self.error("waPC communication error", &format!("{e:?}"));
                return (
                    AdmissionResponse::internal_server_error(uid, &e.to_string()),
                    guest,
                );
            }
        };
        let built = serde_json::from_slice::<PolicyResponse>(&answer)
            .map_err(|e| format!("invalid response from policy: {e}"))
            .and_then(|policy| {
                AdmissionResponse::from_policy(uid, request.object.as_ref(), &policy)
                    .map_err(|e| format!("invalid response format: {e:#}"))
            });
        let response = built.unwrap_or_else(|message| {
            self.error(
                "cannot build validation response from policy result",
                &message,
            );
            AdmissionResponse::internal_server_error(uid, &message)
        });
        (response, guest)
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

/// Whether `HARNESS_PERFMAP`, read through `var`, asks for a perf map (see [`Policy::load`]).
fn perf_map_from(var: impl Fn(&str) -> Option<OsString>) -> bool {
    var("HARNESS_PERFMAP").is_some_and(|value| !value.is_empty() && value != "0")
}

mod module_cache;

#[cfg(test)]
mod tests;
