//! Runs the real `policy.wasm`, built from source, through the `harness` binary exactly as a
//! user runs `kwctl run`, and decodes its one-line AdmissionResponse. Also the one home of the
//! names and IDs the harness tests share.
#![allow(dead_code)] // each test crate uses part of it

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use base64::Engine;
use serde_json::Value;

/// The pod most fixtures under `test_data/pod/` describe, and its AdmissionReview's uid.
pub const POD: &str = "team-a/web-7d9f8b7c5d-x2x4z";
pub const POD_UID: &str = "pods-web-7d9f8b7c5d-x2x4z-uid";
/// The ServiceAccount `test_data/pod/missing-sa.json` names and no session answers by content.
pub const MISSING_SERVICE_ACCOUNT: &str = "ServiceAccount team-a/ghost";

/// kwctl's (and the harness's) stderr marks: a host call the session did not answer, and a
/// session with exchanges no call used (reference: /work/shared/KWCTL.md, "Replay sessions").
pub const CALLBACK_FAILED: &str = "callback evaluation failed";
pub const LEFTOVER_EXCHANGES: &str = "have not been replayed";

/// The repository root (the policy crate), one level above this crate.
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap_or(Path::new(".."))
}

/// A path relative to the repository root, as in a `harness run` or `kwctl run` command line
/// (an absolute path, such as a temporary file, stays as it is).
pub fn path(relative: &str) -> PathBuf {
    root().join(relative)
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

/// One evaluation's inputs; paths are relative to the repository root (see [`path`]).
#[derive(Default, Clone)]
pub struct Run<'a> {
    pub request: &'a str,
    pub settings: Option<&'a str>,
    pub settings_json: Option<&'a str>,
    pub session: Option<&'a str>,
    /// The harness's content matching instead of kwctl's in-order replay (`--strict-replay`,
    /// the default here, so that every session stays valid for a real kwctl).
    pub content_replay: bool,
}

pub struct Outcome {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    /// The one response line, `null` when stdout holds none.
    pub response: Value,
    /// The AdmissionRequest (the `.request` of an AdmissionReview).
    pub request: Value,
    /// The session was replayed strictly (kwctl's way).
    pub strict: bool,
}

/// `eval` with a settings file and a strictly replayed session, asserting a clean run.
pub fn eval_clean(request: &str, settings: &str, session: &str) -> Outcome {
    eval(Run {
        request,
        settings: Some(settings),
        session: Some(session),
        ..Run::default()
    })
    .clean()
}

pub fn eval(run: Run) -> Outcome {
    let built = built();
    let mut cmd = Command::new(&built.harness);
    cmd.arg("run").arg("-r").arg(path(run.request));
    if let Some(settings) = run.settings {
        cmd.arg("--settings-path").arg(path(settings));
    }
    if let Some(json) = run.settings_json {
        cmd.arg("--settings-json").arg(json);
    }
    if let Some(session) = run.session {
        cmd.arg("--allow-context-aware")
            .arg("--replay-host-capabilities-interactions")
            .arg(path(session));
        if !run.content_replay {
            cmd.arg("--strict-replay");
        }
    }
    cmd.arg(&built.policy);
    let output = cmd.output().expect("harness runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let response = match stdout.lines().next() {
        None => Value::Null,
        Some(line) => serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("stdout is not one JSON line ({e}):\n{stdout}")),
    };
    Outcome {
        code: output.status.code(),
        stdout,
        stderr,
        response,
        request: admission_request(&read_json(run.request)),
        strict: run.session.is_some() && !run.content_replay,
    }
}

/// A JSON file, by a path relative to the repository root.
pub fn read_json(relative: &str) -> Value {
    let file = path(relative);
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{file:?}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{file:?}: {e}"))
}

/// The AdmissionRequest of a request file: a bare one, or an AdmissionReview's `.request`, as
/// kwctl reads it.
pub fn admission_request(file: &Value) -> Value {
    if file.get("kind").and_then(Value::as_str) == Some("AdmissionReview") {
        file["request"].clone()
    } else {
        file.clone()
    }
}

impl Outcome {
    /// Host calls the session did not answer: kwctl's `callback evaluation failed` lines.
    pub fn replay_errors(&self) -> Vec<&str> {
        self.stderr
            .lines()
            .filter(|l| l.contains(CALLBACK_FAILED))
            .collect()
    }

    /// kwctl warns about exchanges no call used: a strict session lists exactly the calls the
    /// policy makes, no more.
    pub fn every_exchange_used(&self) -> bool {
        !self.stderr.contains(LEFTOVER_EXCHANGES)
    }

    /// An evaluation that printed a verdict (or refused the settings), made no unanswered host
    /// call and (strict replay) used every recorded exchange.
    pub fn clean(self) -> Self {
        assert!(
            matches!(self.code, Some(0 | 1)),
            "exit code {:?}; stderr:\n{}",
            self.code,
            self.stderr
        );
        assert!(
            self.replay_errors().is_empty() && !self.stderr.contains("Replay error"),
            "a host call was not answered by the session:\n{}",
            self.stderr
        );
        assert!(
            !self.strict || self.every_exchange_used(),
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

/// Writes `review` (an AdmissionReview or a bare request) with its object replaced by `object`
/// to a fresh temporary file, and returns the file's absolute path: the stored pod, sent again.
pub fn with_object(request: &str, object: Value, tag: &str) -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static FILES: AtomicUsize = AtomicUsize::new(0);
    let mut file = read_json(request);
    if file.get("kind").and_then(Value::as_str) == Some("AdmissionReview") {
        file["request"]["object"] = object;
    } else {
        file["object"] = object;
    }
    let dir = std::env::temp_dir().join(format!("azwi-harness-tests-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temporary directory");
    let n = FILES.fetch_add(1, Ordering::Relaxed);
    let out = dir.join(format!("{n}-{tag}-{}", request.replace('/', "_")));
    std::fs::write(&out, file.to_string()).expect("write the request");
    out.to_string_lossy().into_owned()
}
