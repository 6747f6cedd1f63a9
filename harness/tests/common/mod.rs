//! Runs the real `policy.wasm`, built from source, through the `harness` binary exactly as a
//! user runs `kwctl run`, and decodes its one-line AdmissionResponse.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use base64::Engine;
use serde_json::Value;

/// The repository root (the policy crate), one level above this crate.
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap_or(Path::new(".."))
}

pub struct Built {
    pub policy: PathBuf,
    pub harness: PathBuf,
}

/// Build the policy (wasm32-wasip1, release: what ships) once per test binary; cargo makes
/// this a no-op when nothing changed, so a test never runs a stale artifact. The harness is this
/// crate's own binary, built by the same `cargo test` invocation.
pub fn built() -> &'static Built {
    static BUILT: OnceLock<Built> = OnceLock::new();
    BUILT.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let args = [
            "build",
            "--release",
            "--target",
            "wasm32-wasip1",
            "-p",
            "azure-workload-identity-policy",
        ];
        let output = Command::new(&cargo)
            .args(args)
            .current_dir(root())
            .output()
            .unwrap_or_else(|e| panic!("cannot run cargo {args:?}: {e}"));
        assert!(
            output.status.success(),
            "cargo {args:?} failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let target =
            std::env::var("CARGO_TARGET_DIR").map_or_else(|_| root().join("target"), PathBuf::from);
        Built {
            policy: target.join("wasm32-wasip1/release/azure_workload_identity_policy.wasm"),
            harness: PathBuf::from(env!("CARGO_BIN_EXE_harness")),
        }
    })
}

/// One evaluation's inputs; paths are relative to `test_data/`.
#[derive(Default, Clone)]
pub struct Run<'a> {
    pub request: &'a str,
    pub settings: Option<&'a str>,
    pub settings_json: Option<&'a str>,
    pub session: Option<&'a str>,
    /// kwctl's in-order replay; on by default in `eval` so every session stays kwctl-valid.
    pub content_replay: bool,
}

pub struct Outcome {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub response: Value,
    pub request: Value,
    /// The session was replayed strictly (kwctl's way).
    pub strict: bool,
}

pub fn data(path: &str) -> PathBuf {
    root().join("test_data").join(path)
}

/// `eval` with settings and (optionally) a strictly replayed session, asserting a clean run.
pub fn eval_clean<'a>(
    request: &'a str,
    settings: &'a str,
    session: impl Into<Option<&'a str>>,
) -> Outcome {
    eval(Run {
        request,
        settings: Some(settings),
        session: session.into(),
        ..Run::default()
    })
    .clean()
}

pub fn eval(run: Run) -> Outcome {
    let built = built();
    let mut cmd = Command::new(&built.harness);
    cmd.arg("run").arg("-r").arg(data(run.request));
    if let Some(settings) = run.settings {
        cmd.arg("--settings-path").arg(data(settings));
    }
    if let Some(json) = run.settings_json {
        cmd.arg("--settings-json").arg(json);
    }
    if let Some(session) = run.session {
        cmd.arg("--allow-context-aware")
            .arg("--replay-host-capabilities-interactions")
            .arg(data(session));
        if !run.content_replay {
            cmd.arg("--strict-replay");
        }
    }
    cmd.arg(&built.policy);
    let output = cmd.output().expect("harness runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let response = stdout
        .lines()
        .next()
        .and_then(|l| serde_json::from_str(l).ok())
        .unwrap_or(Value::Null);
    let raw = std::fs::read_to_string(data(run.request)).expect("request file");
    let mut request: Value = serde_json::from_str(&raw).expect("request JSON");
    if request.get("kind").and_then(Value::as_str) == Some("AdmissionReview") {
        request = request["request"].take();
    }
    Outcome {
        code: output.status.code(),
        stdout,
        stderr,
        response,
        request,
        strict: run.session.is_some() && !run.content_replay,
    }
}

impl Outcome {
    /// An evaluation that printed a verdict, made no unanswered host call and (strict replay)
    /// used every recorded exchange.
    pub fn clean(self) -> Self {
        assert_eq!(self.code, Some(0), "exit code; stderr:\n{}", self.stderr);
        assert!(
            !self.stderr.contains("Replay error")
                && !self.stderr.contains("recorded responses is empty"),
            "a host call was not answered by the session:\n{}",
            self.stderr
        );
        // kwctl (and the harness) warn about exchanges no call used: a strict session lists
        // exactly the calls the policy makes, no more.
        assert!(
            !(self.strict && self.stderr.contains("have not been replayed")),
            "the session holds exchanges the policy did not ask for:\n{}",
            self.stderr
        );
        self
    }

    pub fn allowed(&self) -> bool {
        self.response["allowed"] == Value::Bool(true)
    }

    pub fn message(&self) -> &str {
        self.response["status"]["message"]
            .as_str()
            .unwrap_or_default()
    }

    pub fn status_code(&self) -> Option<u64> {
        self.response["status"]["code"].as_u64()
    }

    pub fn warnings(&self) -> Vec<String> {
        self.response["warnings"]
            .as_array()
            .map(|w| {
                w.iter()
                    .filter_map(|s| s.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The decoded JSON patch, or `None` when the response carries none.
    pub fn patch(&self) -> Option<Value> {
        let encoded = self.response.get("patch")?.as_str()?;
        assert_eq!(self.response["patchType"], "JSONPatch");
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .expect("base64 patch");
        Some(serde_json::from_slice(&bytes).expect("patch JSON"))
    }

    /// The request's object with the response's patch applied (the pod the API server stores).
    pub fn patched(&self) -> Value {
        let mut object = self.request["object"].clone();
        if let Some(patch) = self.patch() {
            let patch: json_patch::Patch = serde_json::from_value(patch).expect("RFC 6902 patch");
            json_patch::patch(&mut object, &patch).expect("patch applies");
        }
        object
    }

    /// The ops of the patch (`add`, `replace`, …).
    pub fn ops(&self) -> Vec<String> {
        self.patch()
            .and_then(|p| p.as_array().cloned())
            .unwrap_or_default()
            .iter()
            .filter_map(|op| op["op"].as_str().map(str::to_owned))
            .collect()
    }
}

// The policy crate's own fixture helpers (feature `test-support`), not copies of them.
#[allow(unused_imports)] // each test crate uses some of them
pub use azure_workload_identity_policy::testing::{container_names as names, env_of as env};
