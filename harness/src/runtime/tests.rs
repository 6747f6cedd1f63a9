//! Drives hand-written waPC modules (WAT) through the real wapc + wasmtime stack.

use super::*;
use crate::host::ResourceAccess;
use crate::input::parse_request;
use crate::log::Logger;
use crate::replay::fixtures::{self, GET_SA};
use crate::replay::{Matching, Session};

const ACCEPT: &str = r#"{"accepted":true}"#;
const REJECT_PREFIX: &str = r#"{"accepted":false,"message":""#;
const ERROR_AT: usize = 1024;
const ACCEPTED: &str = r#"{"uid":"u-1","allowed":true,"auditAnnotations":null,"warnings":null}"#;

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

/// The policy `wasm` with compiled modules kept in `cache`, on a strict session of one
/// recorded `get_resource` of ServiceAccount `sa`.
fn load_with(wasm: &[u8], access: ResourceAccess, cache: Option<&Path>) -> Policy {
    let session = fixtures::exchange(
        &fixtures::get_service_account("sa", false),
        &fixtures::success("{}"),
    );
    let session = Session::parse(&session, Matching::Strict).expect("valid session");
    let host = Host::new(session, access, Logger::new(false, None));
    Policy::load_cached(wasm, Arc::new(host), &Config::default(), cache)
        .expect("the module instantiates")
}

fn load(wasm: &[u8], access: ResourceAccess) -> Policy {
    load_with(wasm, access, None)
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
    assert_eq!(verdict(&policy), ACCEPTED);
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
    load_with(wasm, ResourceAccess::Denied, Some(dir))
}

fn accepting_module() -> Vec<u8> {
    module(&format!(
        "(call $guest_response (i32.const 512) (i32.const {})) (i32.const 1)",
        ACCEPT.len()
    ))
}

/// A fresh cache directory for `test` where the accepting module was compiled: the
/// directory, the module and its compiled file.
fn one_cached_module(test: &str) -> (std::path::PathBuf, Vec<u8>, std::path::PathBuf) {
    let dir = cache_dir(test);
    let accepting = accepting_module();
    load_cached(&accepting, &dir);
    let file = cached(&dir).remove(0);
    (dir, accepting, file)
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
    let (dir, accepting, file) = one_cached_module("corrupted");
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
    let (dir, accepting, file) = one_cached_module("shared");
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
        let file = std::fs::File::create(dir.join(format!("{index:064}.cwasm"))).expect("created");
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

#[test]
fn perf_map_only_when_asked() {
    let asks = |value: Option<&str>| perf_map_from(|_| value.map(OsString::from));
    assert!(!asks(None));
    assert!(!asks(Some("")));
    assert!(!asks(Some("0")));
    assert!(asks(Some("1")));
}

/// The guest's share is timed inside the evaluation: never more than the whole, and the
/// response is the one `validate` gives.
#[test]
fn the_guest_call_is_timed_within_the_evaluation() {
    // a guest that counts to a million before it answers, so its call dominates
    let busy = module(&format!(
        "(local.set $n (i32.const 1000000))
         (loop $spin (local.set $n (i32.sub (local.get $n) (i32.const 1)))
           (br_if $spin (i32.ne (local.get $n) (i32.const 0))))
         (call $guest_response (i32.const 512) (i32.const {})) (i32.const 1)",
        ACCEPT.len()
    ));
    let policy = load_with(&busy, ResourceAccess::Denied, None);
    let start = Instant::now();
    let (response, guest) = policy.validate_timed(&request(), &Settings::new());
    let whole = start.elapsed();
    assert_eq!(response.to_line().expect("serializes"), ACCEPTED);
    assert!(
        guest > Duration::ZERO && guest <= whole,
        "{guest:?} of {whole:?}"
    );
}
