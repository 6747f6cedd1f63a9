//! Every case of `test_data/cases.yml`: one request fixture answered by the real `policy.wasm`
//! in the harness with kwctl's strict in-order replay, compared with the answer stored in
//! `test_data/expected/<case>.expected` (pretty JSON, keys sorted, the patch decoded).
//!
//! `UPDATE_EXPECTED=1 cargo test -p harness --test fixtures` rewrites the stored answers from
//! the current build; review them with `git diff test_data/expected`. What a stored answer cannot
//! show is checked on every run, regenerating or not: the session holds exactly the calls the
//! policy makes, the patch applies to the request's object, the response stays within §9's
//! bounds, and each case's `checks`.

mod common;
#[path = "fixtures/support.rs"]
mod support;

use std::collections::{BTreeMap, BTreeSet};

use azure_workload_identity_policy::testing::api_server_defaults;
use common::*;
use serde::Deserialize;
use serde_json::{Value, json};
use support::{collect_fixtures, diff, parallel};

const MANIFEST: &str = "test_data/cases.yml";
const EXPECTED_DIR: &str = "test_data/expected";
const EXTENSION: &str = "expected";
const UPDATE_ENV: &str = "UPDATE_EXPECTED";
const REGENERATE: &str = "UPDATE_EXPECTED=1 cargo test -p harness --test fixtures";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    #[allow(dead_code)] // for the reader of the manifest
    #[serde(default)]
    about: Option<String>,
    request: String,
    #[serde(default)]
    settings: Option<String>,
    #[serde(default)]
    settings_json: Option<String>,
    session: String,
    #[serde(default)]
    checks: Vec<Check>,
}

#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum Check {
    /// Every op of the patch is `add` (reference §4.9).
    OnlyAdds,
    /// The mutated pod, evaluated again as is and after the API server's defaulting, is
    /// admitted with no patch (reference §4.9).
    Idempotent,
}

fn cases() -> Vec<Case> {
    let text = std::fs::read_to_string(path(MANIFEST)).expect(MANIFEST);
    let cases: Vec<Case> = serde_yaml::from_str(&text).expect(MANIFEST);
    let mut names = BTreeSet::new();
    for case in &cases {
        assert!(
            names.insert(case.name.as_str()),
            "{MANIFEST}: two cases named {}",
            case.name
        );
        assert!(
            case.name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
            "{MANIFEST}: case name {:?} is not snake_case",
            case.name
        );
        assert!(
            case.settings.is_some() != case.settings_json.is_some(),
            "{MANIFEST}: {} needs settings or settings_json, not both",
            case.name
        );
    }
    cases
}

fn expected_path(name: &str) -> String {
    format!("{EXPECTED_DIR}/{name}.{EXTENSION}")
}

impl Case {
    fn run(&self) -> Outcome {
        eval(Run {
            request: &self.request,
            settings: self.settings.as_deref(),
            settings_json: self.settings_json.as_deref(),
            session: Some(&self.session),
            content_replay: false,
        })
    }
}

/// What is stored for a case: the exit code, the response with its patch decoded, the error
/// line of a refusal (invalid settings), and how the session was replayed.
fn answer(out: &Outcome) -> Value {
    let mut response = out.response.clone();
    if let Some(patch) = out.patch() {
        response["patch"] = patch;
    }
    let mut answer = json!({
        "exit_code": out.code,
        "response": response,
        "replay": {
            "all_exchanges_used": out.every_exchange_used(),
            "errors": out.replay_errors(),
        },
    });
    if out.code != Some(0) {
        answer["error"] = out
            .stderr
            .lines()
            .filter(|l| l.starts_with("Error:"))
            .collect::<Vec<_>>()
            .join("\n")
            .into();
    }
    answer
}

/// Keys sorted at every level, whatever serde_json's features; two-space indents; a final
/// newline: a stored answer diffs line by line.
fn render(value: &Value) -> String {
    fn sorted(value: &Value) -> Value {
        match value {
            Value::Object(map) => {
                let map: BTreeMap<&String, Value> =
                    map.iter().map(|(k, v)| (k, sorted(v))).collect();
                serde_json::to_value(map).expect("a map of JSON")
            }
            Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    let mut text = serde_json::to_string_pretty(&sorted(value)).expect("JSON");
    text.push('\n');
    text
}

/// What a stored answer cannot show; a list of failures, empty when all hold.
fn invariants(case: &Case, out: &Outcome) -> Vec<String> {
    let mut failures = Vec::new();
    let replay = out.replay_errors();
    if !replay.is_empty() {
        failures.push(format!(
            "host calls the session did not answer (the session must hold exactly the policy's calls, in order):\n{}",
            replay.join("\n")
        ));
    }
    if !out.every_exchange_used() {
        failures.push(format!(
            "the session holds exchanges the policy did not ask for:\n{}",
            out.stderr
        ));
    }
    match out.code {
        Some(0) if out.response.is_object() => {}
        Some(1) if case.settings_json.is_some() && out.stdout.is_empty() => {}
        code => failures.push(format!("exit code {code:?}, stdout {:?}", out.stdout)),
    }
    // No global "never remove": json-patch's index-by-index diff of an array the proxy sidecar
    // is inserted into yields `remove` ops for what it shifts; `only-adds` pins the layouts that
    // only append.
    let ops = out.ops();
    if out.patch().is_some() {
        let patch: Result<json_patch::Patch, _> =
            serde_json::from_value(out.patch().unwrap_or_default());
        let mut object = out.request["object"].clone();
        if let Err(e) = patch
            .map_err(|e| e.to_string())
            .and_then(|p| json_patch::patch(&mut object, &p).map_err(|e| e.to_string()))
        {
            failures.push(format!(
                "the patch does not apply to the request's object: {e}"
            ));
        }
    }
    // Reference §9: the API server's limits on warnings, and a message under 2,048 characters.
    let warnings = out.warnings();
    if let Some(long) = warnings.iter().find(|w| w.chars().count() > 256) {
        failures.push(format!("a warning over 256 characters: {long}"));
    }
    if warnings.iter().map(|w| w.chars().count()).sum::<usize>() > 4096 {
        failures.push("warnings over 4,096 characters in all".into());
    }
    if out.message().chars().count() >= 2048 {
        failures.push("a message of 2,048 characters or more".into());
    }
    for check in &case.checks {
        match check {
            Check::OnlyAdds => {
                if ops.is_empty() || ops.iter().any(|op| op != "add") {
                    failures.push(format!("only-adds: the patch's ops are {ops:?}"));
                }
            }
            Check::Idempotent => failures.extend(idempotence(case, out)),
        }
    }
    failures
}

/// The policy's output, stored as is or after the API server's defaulting, evaluated again as
/// the same request with the same session: admitted with no patch.
fn idempotence(case: &Case, first: &Outcome) -> Vec<String> {
    if first.patch().is_none() {
        return vec!["idempotent: the first answer has no patch".into()];
    }
    let mut failures = Vec::new();
    for (how, store) in [
        ("as is", (|_| {}) as fn(&mut Value)),
        ("defaulted", api_server_defaults),
    ] {
        let mut stored = first.patched();
        store(&mut stored);
        let request = with_object(&case.request, stored, &case.name);
        let again = eval(Run {
            request: &request,
            settings: case.settings.as_deref(),
            settings_json: case.settings_json.as_deref(),
            session: Some(&case.session),
            content_replay: false,
        });
        if !again.replay_errors().is_empty() || !again.every_exchange_used() {
            failures.push(format!(
                "idempotent ({how}): the rerun did not replay cleanly:\n{}",
                again.stderr
            ));
        }
        if !again.allowed() || again.patch().is_some() {
            failures.push(format!(
                "idempotent ({how}): the rerun answered {}",
                again.stdout
            ));
        }
    }
    failures
}

#[test]
fn every_case_answers_as_stored() {
    let cases = cases();
    let update = std::env::var_os(UPDATE_ENV).is_some_and(|v| !v.is_empty() && v != "0");
    built();
    let results = parallel(&cases, |case| {
        let out = case.run();
        (render(&answer(&out)), invariants(case, &out))
    });
    let mut failures = Vec::new();
    let mut written = Vec::new();
    for (case, (actual, broken)) in cases.iter().zip(results) {
        for failure in broken {
            failures.push(format!("{}: {failure}", case.name));
        }
        let file = expected_path(&case.name);
        let stored = std::fs::read_to_string(path(&file)).ok();
        if stored.as_deref() == Some(actual.as_str()) {
            continue;
        }
        if update {
            std::fs::write(path(&file), &actual).unwrap_or_else(|e| panic!("{file}: {e}"));
            written.push(file);
        } else {
            match stored {
                None => failures.push(format!("{}: {file} does not exist", case.name)),
                Some(stored) => failures.push(format!(
                    "{}: the answer differs from {file} (- stored, + now):\n{}",
                    case.name,
                    diff(&stored, &actual)
                )),
            }
        }
    }
    // A stored answer no case names is a case renamed or removed.
    let names: BTreeSet<String> = cases.iter().map(|c| expected_path(&c.name)).collect();
    for entry in std::fs::read_dir(path(EXPECTED_DIR))
        .expect(EXPECTED_DIR)
        .flatten()
    {
        let file = format!("{EXPECTED_DIR}/{}", entry.file_name().to_string_lossy());
        if !names.contains(&file) {
            if update {
                std::fs::remove_file(entry.path()).unwrap_or_else(|e| panic!("{file}: {e}"));
                written.push(format!("{file} (removed)"));
            } else {
                failures.push(format!("{file}: no case of {MANIFEST} has this name"));
            }
        }
    }
    if !written.is_empty() {
        eprintln!(
            "{UPDATE_ENV}: wrote {} file(s); review them with `git diff {EXPECTED_DIR}`:\n{}",
            written.len(),
            written.join("\n")
        );
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n\n{}\n\nIf the new answers are intended, regenerate them and review the diff:\n  {REGENERATE}\n  git diff {EXPECTED_DIR}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}

/// Every request, settings and session fixture is answered by some case, so none can fall out
/// of step with the policy unnoticed (the sessions, for one, must list exactly the calls the
/// policy makes, in order, to stay valid for a real kwctl).
#[test]
fn every_fixture_is_a_case() {
    let cases = cases();
    let used: BTreeSet<&str> = cases
        .iter()
        .flat_map(|c| [Some(&c.request), c.settings.as_ref(), Some(&c.session)])
        .flatten()
        .map(String::as_str)
        .collect();
    let mut fixtures = Vec::new();
    collect_fixtures(&path("test_data"), "test_data", &mut fixtures);
    for example in std::fs::read_dir(path("examples"))
        .expect("examples/")
        .flatten()
    {
        let dir = format!("examples/{}", example.file_name().to_string_lossy());
        for file in ["request.json", "settings.yml", "session.yml"] {
            if path(&dir).join(file).exists() {
                fixtures.push(format!("{dir}/{file}"));
            }
        }
    }
    let unused: Vec<&String> = fixtures
        .iter()
        .filter(|f| !used.contains(f.as_str()))
        .collect();
    assert!(
        unused.is_empty(),
        "fixtures no case of {MANIFEST} answers: {unused:#?}"
    );
    for file in &used {
        assert!(
            path(file).is_file(),
            "{MANIFEST} names {file}, which does not exist"
        );
    }
}
