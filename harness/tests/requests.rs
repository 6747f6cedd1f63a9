//! The admission exchange through the real wasm, as kwctl runs it: request forms, dispatch by
//! kind and operation, the kwctl-shaped response line, and host calls replayed from sessions
//! (unmatched calls, content matching, strict bench replay, every session used).

mod common;

use common::*;
use serde_json::Value;

#[test]
fn response_line_has_kwctl_fields_in_kwctl_order() {
    let out = eval(Run {
        request: "pod/unlabeled.json",
        settings: Some("settings/default.json"),
        ..Run::default()
    })
    .clean();
    assert_eq!(out.stdout.lines().count(), 1);
    assert_eq!(
        out.stdout.trim(),
        r#"{"uid":"pods-web-7d9f8b7c5d-x2x4z-uid","allowed":true,"auditAnnotations":null,"warnings":null}"#
    );
}

#[test]
fn bare_admission_request_and_admission_review_give_the_same_answer() {
    let review = eval(Run {
        request: "pod/labelled.json",
        settings: Some("settings/default.json"),
        session: Some("sessions/workload-sa.yml"),
        ..Run::default()
    })
    .clean();
    let bare = eval(Run {
        request: "pod/labelled-bare-request.json",
        settings: Some("settings/default.json"),
        session: Some("sessions/workload-sa.yml"),
        ..Run::default()
    })
    .clean();
    assert_eq!(review.stdout, bare.stdout);
    assert!(review.patch().is_some());
}

#[test]
fn other_kinds_and_operations_are_accepted_unchanged() {
    for request in ["other/configmap.json", "pod/delete.json"] {
        let out = eval(Run {
            request,
            settings: Some("settings/default.json"),
            session: Some("sessions/empty.yml"),
            ..Run::default()
        })
        .clean();
        assert!(out.allowed(), "{request}");
        assert_eq!(out.response.get("patch"), None, "{request}");
    }
}

#[test]
fn unmatched_host_call_is_an_error_to_the_policy_and_reported_on_stderr() {
    // The session answers for workload-sa only; this pod uses `ghost`.
    let out = eval(Run {
        request: "pod/missing-sa.json",
        settings: Some("settings/default.json"),
        session: Some("sessions/workload-sa.yml"),
        content_replay: true,
        ..Run::default()
    });
    assert_eq!(out.code, Some(0));
    assert!(
        out.stderr.contains("callback evaluation failed"),
        "{}",
        out.stderr
    );
    assert!(!out.allowed());
    assert!(
        out.message().contains("ServiceAccount team-a/ghost"),
        "{}",
        out.message()
    );
}

#[test]
fn content_replay_matches_in_any_order_and_reuses_answers() {
    // ghost-sa.yml answers the cached lookup and the uncached retry: by content both match
    // whichever comes first, and the policy reports the host's cause.
    let out = eval(Run {
        request: "pod/missing-sa.json",
        settings: Some("settings/default.json"),
        session: Some("sessions/ghost-sa.yml"),
        content_replay: true,
        ..Run::default()
    })
    .clean();
    assert!(
        out.message()
            .contains("Cannot find v1/ServiceAccount named 'ghost'"),
        "{}",
        out.message()
    );
}

/// The benchmark's context-aware cases (scripts/bench.sh) replay strictly too, so a real
/// `kwctl bench` can run them: the session holds exactly the policy's calls, in order.
#[test]
fn bench_sessions_replay_strictly() {
    for (request, settings, session) in [
        (
            "bench/wi-pod-full.json",
            "bench/settings-full.json",
            "bench/session-full.yml",
        ),
        (
            "bench/wi-pod.json",
            "settings/default.json",
            "sessions/workload-sa.yml",
        ),
        (
            "bench/wi-pod-20.json",
            "settings/default.json",
            "sessions/workload-sa.yml",
        ),
        (
            "bench/wi-pod-200.json",
            "settings/default.json",
            "sessions/workload-sa.yml",
        ),
        (
            "bench/deployment-template.json",
            "settings/default.json",
            "sessions/workload-sa.yml",
        ),
    ] {
        let out = eval_clean(request, settings, session);
        assert!(out.allowed(), "{request}: {}", out.stdout);
    }
}

/// Every recorded session is replayed by some test (here, in e2e.bats or in the benchmark), so
/// none can fall out of step with the policy's calls unnoticed.
#[test]
fn every_session_file_is_exercised() {
    let mut users = String::new();
    for dir in ["harness/tests", "scripts"] {
        for entry in std::fs::read_dir(root().join(dir)).expect(dir).flatten() {
            users.push_str(&std::fs::read_to_string(entry.path()).unwrap_or_default());
        }
    }
    users.push_str(&std::fs::read_to_string(root().join("e2e.bats")).unwrap_or_default());
    for dir in ["sessions", "bench"] {
        for entry in std::fs::read_dir(data(dir)).expect(dir).flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(".yml") {
                let path = format!("{dir}/{name}");
                assert!(users.contains(&path), "test_data/{path} is used by no test");
            }
        }
    }
}

#[test]
fn without_allow_context_aware_the_lookup_is_refused_and_the_pod_rejected() {
    let built = built();
    let output = std::process::Command::new(&built.harness)
        .args(["run", "-r"])
        .arg(data("pod/labelled.json"))
        .arg("--settings-path")
        .arg(data("settings/default.json"))
        .arg(&built.policy)
        .output()
        .expect("harness runs");
    let line: Value = serde_json::from_slice(&output.stdout).expect("one JSON line");
    assert_eq!(line["allowed"], false);
    assert_eq!(line["status"]["code"], 500);
    assert!(
        line["status"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("has not been granted access"),
        "{line}"
    );
}
