//! Lookups: retry, memoization, typed parsing and failure classification.

use super::fake::{Call, FakeCluster};
use super::*;
use serde_json::json;

fn get_calls(fake: &FakeCluster) -> Vec<(String, bool)> {
    fake.calls()
        .into_iter()
        .filter_map(|c| match c {
            Call::Get {
                name,
                disable_cache,
                ..
            } => Some((name, disable_cache)),
            Call::CanI { .. } | Call::List { .. } => None,
        })
        .collect()
}

#[test]
fn service_account_found_on_first_try_is_fetched_once_and_memoized() {
    let fake = FakeCluster::new().with_service_account("ns", "sa", json!({ "a": "b" }));
    let lookups = Lookups::new(&fake);
    let sa = lookups.service_account("ns", "sa").expect("found");
    assert_eq!(sa.annotation("a"), Some("b"));
    lookups.service_account("ns", "sa").expect("memoized");
    assert_eq!(get_calls(&fake), vec![("sa".to_owned(), false)]);
}

#[test]
fn missing_service_account_is_retried_without_cache_then_reported_not_found() {
    let fake = FakeCluster::new();
    let lookups = Lookups::new(&fake);
    let err = lookups.service_account("ns", "ghost").expect_err("missing");
    assert!(matches!(err, LookupError::NotFound(_)), "{err:?}");
    assert_eq!(
        get_calls(&fake),
        vec![("ghost".to_owned(), false), ("ghost".to_owned(), true)]
    );
}

#[test]
fn host_failure_is_classified_as_host_error() {
    let fake = FakeCluster::new().with_object(
        "ServiceAccount",
        "ns",
        "sa",
        Err("connection refused".into()),
    );
    let err = Lookups::new(&fake)
        .service_account("ns", "sa")
        .expect_err("fails");
    assert_eq!(err, LookupError::Host("connection refused".into()));
}

/// Reference §8.2: only the engine's own answer for a missing object means "missing"; any
/// other failure is the host's, even when its text carries words like "not found" (an object
/// named `notfound-mi`) or another object's not-found text.
#[rstest::rstest]
#[case::the_engine_s_answer_prefixed(
    "Host error: Callback evaluation failure: Cannot find v1/ServiceAccount named 'sa' inside of namespace 'Some(\"ns\")'",
    true
)]
#[case::words_in_a_refused_connection(
    "error trying to connect: notfound-mi: not found: connection refused",
    false
)]
#[case::another_object_s_answer(
    "Cannot find v1/ServiceAccount named 'other' inside of namespace 'Some(\"ns\")'",
    false
)]
#[case::another_namespace(
    "Cannot find v1/ServiceAccount named 'sa' inside of namespace 'Some(\"ns2\")'",
    false
)]
fn reference_8_2_missing_is_the_engine_s_answer(#[case] text: &str, #[case] missing: bool) {
    let fake = FakeCluster::new().with_object("ServiceAccount", "ns", "sa", Err(text.into()));
    let err = Lookups::new(&fake)
        .service_account("ns", "sa")
        .expect_err("fails");
    assert_eq!(matches!(err, LookupError::NotFound(_)), missing, "{err:?}");
}

#[test]
fn malformed_and_wrong_kind_answers_are_malformed() {
    let fake = FakeCluster::new()
        .with_object("ServiceAccount", "ns", "garbage", Ok(b"{not json".to_vec()))
        .with_object(
            "ServiceAccount",
            "ns",
            "pod",
            Ok(br#"{"kind":"Pod","metadata":{}}"#.to_vec()),
        );
    let lookups = Lookups::new(&fake);
    assert!(matches!(
        lookups.service_account("ns", "garbage"),
        Err(LookupError::Malformed(_))
    ));
    assert!(matches!(
        lookups.service_account("ns", "pod"),
        Err(LookupError::Malformed(_))
    ));
}

#[test]
fn secret_provider_class_reads_provider_and_parameters() {
    let spc = json!({ "apiVersion": "secrets-store.csi.x-k8s.io/v1", "kind": "SecretProviderClass",
        "metadata": { "name": "kv" },
        "spec": { "provider": "azure", "parameters": { "clientID": "id", "useAzureTokenProxy": "true" } } });
    let fake = FakeCluster::new().with_object(
        "SecretProviderClass",
        "ns",
        "kv",
        Ok(spc.to_string().into_bytes()),
    );
    let spc = Lookups::new(&fake)
        .secret_provider_class("ns", "kv")
        .expect("found");
    assert_eq!(spc.provider, "azure");
    assert_eq!(
        spc.parameters.get("clientID").map(String::as_str),
        Some("id")
    );
}

#[test]
fn can_i_is_asked_once_per_review() {
    let fake = FakeCluster::new().with_review("u", "cid", Ok(br#"{"allowed":true}"#.to_vec()));
    let lookups = Lookups::new(&fake);
    for _ in 0..3 {
        let decision = lookups
            .can_i("u", vec!["g".into()], "use", "grp", "cid")
            .expect("answered");
        assert!(decision.allowed);
    }
    assert_eq!(fake.calls().len(), 1);
}

#[test]
fn can_i_failure_and_garbage_fail_closed() {
    let fake = FakeCluster::new()
        .with_review("u", "err", Err("timeout".into()))
        .with_review("u", "bad", Ok(b"[]".to_vec()));
    let lookups = Lookups::new(&fake);
    assert_eq!(
        lookups.can_i("u", vec![], "v", "g", "err"),
        Err(LookupError::Host("timeout".into()))
    );
    assert!(matches!(
        lookups.can_i("u", vec![], "v", "g", "bad"),
        Err(LookupError::Malformed(_))
    ));
}
