//! One loaded policy on wapc + wasmtime, called the way policy-evaluator calls it.
//!
//! Compiling the module with Cranelift is most of a `harness run`, so compiled modules are
//! kept on disk between runs (see [`module_cache`]): the next run of the same module
//! deserializes instead of compiling.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use serde::Deserialize;
use serde_json::json;
use wapc::WapcHost;
use wasmtime_provider::WasmtimeEngineProviderBuilder;
use wasmtime_provider::errors::Error as ProviderError;
use wasmtime_provider::wasmtime::{Config, Engine};

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
    pub fn load(wasm: &[u8], host: Arc<Host>) -> Result<Self> {
        Self::load_cached(wasm, host, module_cache::dir().as_deref())
    }

    /// [`Policy::load`] with compiled modules kept in `cache`, or nowhere if `None`.
    fn load_cached(wasm: &[u8], host: Arc<Host>, cache: Option<&Path>) -> Result<Self> {
        const CANNOT_COMPILE: &str = "cannot compile the policy with wasmtime";
        // The engine the provider's builder makes when given only module bytes (no epochs, no
        // cache), so the module runs exactly as before; errors go through the provider's
        // error type so that they read as they did when the builder compiled.
        let engine = Engine::new(&Config::default())
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

/// Compiled modules kept on disk between runs, keyed by what they were compiled from.
///
/// Deserializing a compiled module is `unsafe`: wasmtime only lightly checks the bytes, which
/// must be exactly what [`Module::serialize`] wrote. So the harness only reads files that it
/// wrote itself, in a directory that no other user can write to, and each file is written
/// to a temporary name and renamed into place, never rewritten: a reader sees a whole file,
/// and a file it has mapped never changes under it. Wasmtime rejects a file from another
/// wasmtime version or configuration, or one that is not a compiled module at all. Whatever
/// goes wrong with the cache, the module is compiled as if there were none.
mod module_cache {
    use std::cmp::Reverse;
    use std::ffi::{OsStr, OsString};
    use std::fs::{self, OpenOptions};
    use std::hash::{DefaultHasher, Hash, Hasher};
    use std::io::{self, Write};
    use std::path::{Path, PathBuf};
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::SystemTime;

    use sha2::{Digest, Sha256};
    use wasmtime_provider::wasmtime::{Engine, Module, Result};

    /// The extension of a compiled module; temporary files have another one.
    const EXTENSION: &str = "cwasm";

    /// Compiled modules kept in the directory, newest first: a few policies or builds of one,
    /// but not every build ever run (each is a few MB).
    const KEEP: usize = 8;

    /// The cache directory the environment asks for: `$HARNESS_CACHE_DIR`, else
    /// `$XDG_CACHE_HOME/azwi-harness`, else `~/.cache/azwi-harness`, else `azwi-harness` in
    /// the system's temporary directory; none if `HARNESS_NO_CACHE` is set (to anything but
    /// empty or `0`).
    pub(super) fn dir() -> Option<PathBuf> {
        dir_from(|name| std::env::var_os(name))
    }

    /// [`dir`] with the environment read through `var`.
    pub(super) fn dir_from(var: impl Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
        let set = |name| var(name).filter(|value| !value.is_empty());
        if set("HARNESS_NO_CACHE").is_some_and(|value| value != "0") {
            return None;
        }
        if let Some(dir) = set("HARNESS_CACHE_DIR") {
            return Some(dir.into());
        }
        // The XDG base directory spec says to ignore a relative $XDG_CACHE_HOME.
        let base = set("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .filter(|path| path.is_absolute())
            .or_else(|| set("HOME").map(|home| Path::new(&home).join(".cache")))
            .unwrap_or_else(std::env::temp_dir);
        Some(base.join("azwi-harness"))
    }

    /// The module compiled from `wasm` for `engine`: read from `cache` if compiled there
    /// before, else compiled (and then written there). Only compilation errors are returned.
    pub(super) fn module(engine: &Engine, wasm: &[u8], cache: Option<&Path>) -> Result<Module> {
        let Some(dir) = cache.filter(|dir| private_dir(dir)) else {
            return Module::new(engine, wasm);
        };
        let path = dir.join(file_name(engine, wasm));
        // SAFETY: `path` is in a directory only this user can write to, where the harness
        // writes nothing but whole `Module::serialize` outputs under this name, by rename,
        // so the file is one of those and is never modified while mapped. Wasmtime rejects
        // one from another wasmtime version or configuration.
        if let Ok(module) = unsafe { Module::deserialize_file(engine, &path) } {
            return Ok(module);
        }
        let module = Module::new(engine, wasm)?;
        if let Ok(bytes) = module.serialize()
            && write_atomically(&path, &bytes).is_ok()
        {
            prune(dir);
        }
        Ok(module)
    }

    /// `<sha256 of the engine's compatibility hash and the wasm bytes>.cwasm`: a new name for
    /// each module, and for each wasmtime version or configuration compiling it.
    fn file_name(engine: &Engine, wasm: &[u8]) -> String {
        let mut compatibility = DefaultHasher::new();
        engine
            .precompile_compatibility_hash()
            .hash(&mut compatibility);
        let digest = Sha256::new()
            .chain_update(compatibility.finish().to_le_bytes())
            .chain_update(wasm)
            .finalize();
        let hex: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
        format!("{hex}.{EXTENSION}")
    }

    /// Creates `dir` if needed (private to the user) and tells whether it can hold the cache:
    /// a directory owned by this user that nobody else can write to.
    fn private_dir(dir: &Path) -> bool {
        let mut builder = fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        if builder.create(dir).is_err() {
            return false;
        }
        fs::metadata(dir).is_ok_and(|metadata| metadata.is_dir() && only_mine(&metadata))
    }

    /// Whether the file is owned by this user and nobody else can write to it.
    #[cfg(unix)]
    fn only_mine(metadata: &fs::Metadata) -> bool {
        use std::os::unix::fs::MetadataExt;
        metadata.uid() == rustix::process::geteuid().as_raw() && metadata.mode() & 0o022 == 0
    }

    /// Elsewhere the user's cache directory is trusted as it is.
    #[cfg(not(unix))]
    fn only_mine(_: &fs::Metadata) -> bool {
        true
    }

    /// Writes `bytes` to a new temporary file beside `path`, then renames it to `path`.
    fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let unique = NEXT.fetch_add(1, Ordering::Relaxed);
        let temporary = path.with_extension(format!("{}-{unique}.tmp", std::process::id()));
        let written = write_new(&temporary, bytes).and_then(|()| fs::rename(&temporary, path));
        if written.is_err() {
            let _ = fs::remove_file(&temporary);
        }
        written
    }

    /// Writes `bytes` to a file that must not exist yet, down to the disk: once renamed, it
    /// is whole even after a crash.
    fn write_new(path: &Path, bytes: &[u8]) -> io::Result<()> {
        let mut file = OpenOptions::new().write(true).create_new(true).open(path)?;
        file.write_all(bytes)?;
        file.sync_data()
    }

    /// Removes all but the [`KEEP`] most recently written modules of `dir`.
    fn prune(dir: &Path) {
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        let mut modules: Vec<(SystemTime, PathBuf)> = entries
            .filter_map(|entry| {
                let entry = entry.ok()?;
                let path = entry.path();
                let written = entry.metadata().ok()?.modified().ok()?;
                (path.extension() == Some(OsStr::new(EXTENSION))).then_some((written, path))
            })
            .collect();
        if modules.len() > KEEP {
            modules.sort_unstable_by_key(|(written, _)| Reverse(*written));
            for (_, path) in &modules[KEEP..] {
                let _ = fs::remove_file(path);
            }
        }
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
        Policy::load_cached(wasm, Arc::new(host), None).expect("the module instantiates")
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

    /// A fresh, empty directory for one test's cache.
    fn cache_dir(test: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "harness-module-cache-{}-{test}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    fn cached(dir: &Path) -> Vec<std::path::PathBuf> {
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .expect("the cache directory exists")
            .map(|entry| entry.expect("readable").path())
            .collect();
        files.sort();
        files
    }

    fn load_cached(wasm: &[u8], dir: &Path) -> Policy {
        let session = Session::parse(SESSION, Matching::Strict).expect("valid session");
        let host = Host::new(session, ResourceAccess::Denied, Logger::new(false, None));
        Policy::load_cached(wasm, Arc::new(host), Some(dir)).expect("the module instantiates")
    }

    const ACCEPTED: &str =
        r#"{"uid":"u-1","allowed":true,"auditAnnotations":null,"warnings":null}"#;

    fn accepting_module() -> Vec<u8> {
        module(&format!(
            "(call $guest_response (i32.const 512) (i32.const {})) (i32.const 1)",
            ACCEPT.len()
        ))
    }

    #[test]
    fn a_second_load_runs_the_cached_module() {
        let dir = cache_dir("second-load");
        let accepting = accepting_module();
        assert_eq!(verdict(&load_cached(&accepting, &dir)), ACCEPTED);
        let files = cached(&dir);
        assert_eq!(files.len(), 1, "{files:?}");
        assert_eq!(files[0].extension(), Some(std::ffi::OsStr::new("cwasm")));

        // Put a trapping module's compiled code under the accepting module's name: the next
        // load of the accepting module's bytes runs it, so it was read, not compiled.
        let other = cache_dir("second-load-other");
        load_cached(&module("(unreachable)"), &other);
        std::fs::copy(&cached(&other)[0], &files[0]).expect("copied");
        let response = load_cached(&accepting, &dir).validate(&request(), &Settings::new());
        assert_eq!(response.status.and_then(|s| s.code), Some(500));

        let _ = std::fs::remove_dir_all(&dir);
        let _ = std::fs::remove_dir_all(&other);
    }

    #[test]
    fn a_corrupted_cache_file_is_compiled_again() {
        let dir = cache_dir("corrupted");
        let accepting = accepting_module();
        load_cached(&accepting, &dir);
        let file = cached(&dir).remove(0);
        let compiled = std::fs::read(&file).expect("readable");
        for corrupted in [
            &b"not a compiled module"[..],
            &compiled[..compiled.len() / 2],
        ] {
            std::fs::write(&file, corrupted).expect("written");
            assert_eq!(verdict(&load_cached(&accepting, &dir)), ACCEPTED);
            // the bad file was replaced by a good one
            assert_eq!(cached(&dir), std::slice::from_ref(&file));
            assert_eq!(std::fs::read(&file).expect("readable"), compiled);
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn an_unusable_cache_directory_is_ignored() {
        let dir = cache_dir("unusable");
        std::fs::write(&dir, "a file, not a directory").expect("written");
        assert_eq!(verdict(&load_cached(&accepting_module(), &dir)), ACCEPTED);
        assert_eq!(
            verdict(&load_cached(&accepting_module(), &dir.join("below"))),
            ACCEPTED
        );
        let _ = std::fs::remove_file(&dir);
    }

    #[cfg(unix)]
    #[test]
    fn a_directory_others_can_write_to_is_not_read() {
        use std::os::unix::fs::PermissionsExt;
        let dir = cache_dir("shared");
        let accepting = accepting_module();
        load_cached(&accepting, &dir);
        let file = cached(&dir).remove(0);
        std::fs::write(&file, "not a compiled module").expect("written");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).expect("chmod");
        assert_eq!(verdict(&load_cached(&accepting, &dir)), ACCEPTED);
        // neither read nor rewritten
        assert_eq!(
            std::fs::read(&file).expect("readable"),
            b"not a compiled module"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn only_the_newest_modules_are_kept() {
        let dir = cache_dir("pruned");
        std::fs::create_dir(&dir).expect("created");
        let old = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
        for index in 0..12 {
            let file =
                std::fs::File::create(dir.join(format!("{index:064}.cwasm"))).expect("created");
            file.set_modified(old).expect("dated");
        }
        let temporary = dir.join("other.1-2.tmp");
        std::fs::write(&temporary, "").expect("written");
        load_cached(&accepting_module(), &dir);
        let files = cached(&dir);
        assert_eq!(files.len(), 8 + 1, "{files:?}");
        assert!(files.contains(&temporary));
        let old_kept = files
            .iter()
            .filter(|file| file.to_string_lossy().contains("/0000"));
        assert_eq!(old_kept.count(), 7, "the new module is kept: {files:?}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_cache_directory_follows_the_environment() {
        let dir = |vars: &[(&str, &str)]| {
            let vars: Vec<(String, std::ffi::OsString)> = vars
                .iter()
                .map(|(name, value)| (name.to_string(), value.into()))
                .collect();
            module_cache::dir_from(|name| {
                vars.iter()
                    .find(|(var, _)| var == name)
                    .map(|(_, value)| value.clone())
            })
        };
        let home = ("HOME", "/home/me");
        let xdg = ("XDG_CACHE_HOME", "/xdg");
        let explicit = ("HARNESS_CACHE_DIR", "/explicit");
        assert_eq!(dir(&[home]), Some("/home/me/.cache/azwi-harness".into()));
        assert_eq!(dir(&[home, xdg]), Some("/xdg/azwi-harness".into()));
        assert_eq!(
            dir(&[home, ("XDG_CACHE_HOME", "relative")]),
            Some("/home/me/.cache/azwi-harness".into())
        );
        assert_eq!(dir(&[home, xdg, explicit]), Some("/explicit".into()));
        assert_eq!(dir(&[]), Some(std::env::temp_dir().join("azwi-harness")));
        assert_eq!(dir(&[home, ("HARNESS_NO_CACHE", "1")]), None);
        assert_eq!(dir(&[explicit, ("HARNESS_NO_CACHE", "1")]), None);
        assert_eq!(dir(&[home, ("HARNESS_NO_CACHE", "0")]), dir(&[home]));
        assert_eq!(dir(&[home, ("HARNESS_NO_CACHE", "")]), dir(&[home]));
    }
}
