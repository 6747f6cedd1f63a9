//! The harness against kwctl's behaviour (/work/shared/KWCTL.md), on the real wasm: the response
//! line, the request forms, the exit codes, who may read the cluster, and the two ways of
//! replaying a session. The policy's answers themselves are `fixtures.rs`'s.

mod common;

use common::*;

#[test]
fn response_line_has_kwctl_fields_in_kwctl_order() {
    let out = eval(Run {
        request: "test_data/pod/unlabeled.json",
        settings: Some("test_data/settings/default.json"),
        ..Run::default()
    })
    .clean();
    assert_eq!(out.code, Some(0));
    assert_eq!(out.stdout.lines().count(), 1);
    assert_eq!(
        out.stdout.trim(),
        format!(r#"{{"uid":"{POD_UID}","allowed":true,"auditAnnotations":null,"warnings":null}}"#)
    );
}

#[test]
fn bare_admission_request_and_admission_review_give_the_same_line() {
    let review = eval_clean(
        "test_data/pod/labelled.json",
        "test_data/settings/default.json",
        "test_data/sessions/workload-sa.yml",
    );
    let bare = eval_clean(
        "test_data/pod/labelled-bare-request.json",
        "test_data/settings/default.json",
        "test_data/sessions/workload-sa.yml",
    );
    assert_eq!(review.stdout, bare.stdout);
    assert!(review.patch().is_some());
}

#[test]
fn invalid_settings_exit_1_with_nothing_on_stdout() {
    let out = eval(Run {
        request: "test_data/pod/unlabeled.json",
        settings_json: Some("{}"),
        ..Run::default()
    });
    assert_eq!(out.code, Some(1), "stdout {}", out.stdout);
    assert!(out.stdout.is_empty(), "nothing on stdout: {}", out.stdout);
    assert!(
        out.stderr
            .contains("Error: Provided settings are not valid: "),
        "{}",
        out.stderr
    );
}

#[test]
fn strict_replay_mismatch_is_an_error_to_the_policy_and_reported_on_stderr() {
    // The session's one exchange is the lookup of workload-sa; this pod asks for `ghost`. In
    // kwctl's order the mismatch consumes the exchange, so the uncached retry finds the list
    // empty.
    let out = eval(Run {
        request: "test_data/pod/missing-sa.json",
        settings: Some("test_data/settings/default.json"),
        session: Some("test_data/sessions/workload-sa.yml"),
        ..Run::default()
    });
    assert_eq!(out.code, Some(0), "kwctl exits 0 after a replay error");
    let errors = out.replay_errors();
    assert_eq!(errors.len(), 2, "{}", out.stderr);
    assert!(
        errors[0].contains("Replay error: unexpected request. Was expecting")
            && errors[0].contains("name: \"workload-sa\"")
            && errors[0].contains("name: \"ghost\""),
        "{}",
        errors[0]
    );
    assert!(
        errors[1].contains("the list of recorded responses is empty"),
        "{}",
        errors[1]
    );
    assert!(!out.allowed());
    assert_eq!(out.status_code(), Some(500));
    assert!(
        out.message().contains("Callback evaluation failure"),
        "{}",
        out.message()
    );
}

#[test]
fn strict_replay_warns_about_exchanges_no_call_used() {
    // An unlabeled pod makes no host call: workload-sa.yml's exchange is left over.
    let out = eval(Run {
        request: "test_data/pod/unlabeled.json",
        settings: Some("test_data/settings/default.json"),
        session: Some("test_data/sessions/workload-sa.yml"),
        ..Run::default()
    });
    assert_eq!(out.code, Some(0));
    assert!(out.allowed());
    assert!(out.replay_errors().is_empty(), "{}", out.stderr);
    assert!(!out.every_exchange_used(), "{}", out.stderr);
}

#[test]
fn content_replay_unmatched_call_is_an_error_to_the_policy_and_reported_on_stderr() {
    // The session answers for workload-sa only; this pod uses `ghost`.
    let out = eval(Run {
        request: "test_data/pod/missing-sa.json",
        settings: Some("test_data/settings/default.json"),
        session: Some("test_data/sessions/workload-sa.yml"),
        content_replay: true,
        ..Run::default()
    });
    assert_eq!(out.code, Some(0));
    assert!(!out.replay_errors().is_empty(), "{}", out.stderr);
    assert!(!out.allowed());
    assert!(
        out.message().contains(MISSING_SERVICE_ACCOUNT),
        "{}",
        out.message()
    );
}

#[test]
fn content_replay_matches_in_any_order_and_reuses_answers() {
    // ghost-sa.yml answers the cached lookup and the uncached retry: by content both match
    // whichever comes first, and the policy reports the host's cause.
    let out = eval(Run {
        request: "test_data/pod/missing-sa.json",
        settings: Some("test_data/settings/default.json"),
        session: Some("test_data/sessions/ghost-sa.yml"),
        content_replay: true,
        ..Run::default()
    })
    .clean();
    assert_eq!(out.code, Some(0));
    assert!(
        out.message()
            .contains("Cannot find v1/ServiceAccount named 'ghost'"),
        "{}",
        out.message()
    );
}

#[test]
fn without_allow_context_aware_the_lookup_is_refused_and_the_pod_rejected() {
    let out = eval(Run {
        request: "test_data/pod/labelled.json",
        settings: Some("test_data/settings/default.json"),
        ..Run::default()
    });
    assert_eq!(out.code, Some(0));
    assert!(!out.allowed());
    assert_eq!(out.status_code(), Some(500));
    assert!(
        out.message().contains("has not been granted access"),
        "{}",
        out.message()
    );
}
