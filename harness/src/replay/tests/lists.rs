//! Replaying the list host calls: a namespace's and the whole cluster's.

use super::*;

/// The AzureIdentityBindings of `namespace` as the policy lists them, with `masks` as field masks.
fn list(namespace: &str, label_selector: Option<&str>, masks: &[&str]) -> CallbackRequest {
    CallbackRequest::KubernetesListResourceNamespace {
        api_version: "aadpodidentity.k8s.io/v1".into(),
        kind: "AzureIdentityBinding".into(),
        namespace: namespace.into(),
        label_selector: label_selector.map(str::to_owned),
        field_selector: None,
        field_masks: Some(masks.iter().map(|mask| (*mask).to_owned()).collect()),
    }
}

const BINDING_MASKS: [&str; 2] = ["metadata.name", "spec.selector"];

/// A list of the bindings of `team-b`, then one of `team-c` that answers with an error.
fn list_session(matching: Matching) -> Session {
    let text = [
        fixtures::exchange(
            &fixtures::list_bindings("team-b"),
            &fixtures::success(fixtures::BINDING_LIST),
        ),
        fixtures::exchange(
            &fixtures::list_bindings("team-c"),
            &fixtures::error("forbidden"),
        ),
    ]
    .concat();
    Session::parse(&text, matching).expect("parses")
}

#[test]
fn parses_a_namespaced_list() {
    let session = list_session(Matching::Strict);
    // the selectors left out are null, and field masks are a set: their order does not count
    assert_eq!(
        session.exchanges()[0].request,
        Recorded::Known(list("team-b", None, &BINDING_MASKS))
    );
    assert_eq!(
        session.exchanges()[1].response,
        Response::Error {
            message: "forbidden".into()
        }
    );
    assert!(
        Session::parse(
            &fixtures::exchange(
                "!KubernetesListResourceNamespace\napi_version: v1\nkind: Pod",
                &fixtures::success("{}"),
            ),
            Matching::Strict,
        )
        .is_err(),
        "namespace is required"
    );
}

#[test]
fn content_matching_answers_lists_by_what_they_select() {
    let mut session = list_session(Matching::ByContent);
    assert_eq!(
        session.answer(&list("team-c", None, &BINDING_MASKS)),
        Err(ReplayError::Recorded("forbidden".into()))
    );
    for masks in [&BINDING_MASKS[..], &[]] {
        assert_eq!(
            text(session.answer(&list("team-b", None, masks))),
            Ok(fixtures::BINDING_LIST.into())
        );
    }
    assert!(session.leftovers().is_empty());
    // another namespace, or a label selector, selects other objects
    let error = miss(session.answer(&list("team-a", None, &BINDING_MASKS)));
    assert!(error.contains(r#"namespace: "team-a""#), "{error}");
    miss(session.answer(&list("team-b", Some("app=x"), &BINDING_MASKS)));
}

#[test]
fn strict_matching_replays_lists_in_order_and_compares_every_field() {
    let mut session = list_session(Matching::Strict);
    assert_eq!(
        text(session.answer(&list("team-b", None, &BINDING_MASKS))),
        Ok(fixtures::BINDING_LIST.into())
    );
    // the second entry differs only in its field masks: a mismatch, and the entry is consumed
    let error = miss(session.answer(&list("team-c", None, &["metadata.name"])));
    assert!(
        error.starts_with(
            "Replay error: unexpected request. Was expecting KubernetesListResourceNamespace { \
             api_version: \"aadpodidentity.k8s.io/v1\", kind: \"AzureIdentityBinding\", \
             namespace: \"team-c\", label_selector: None, field_selector: None, field_masks: \
             Some({\"metadata.name\", \"spec.selector\"}) }, got KubernetesListResourceNamespace {"
        ),
        "{error}"
    );
    assert!(
        error.ends_with(r#"field_masks: Some({"metadata.name"}) } instead"#),
        "{error}"
    );
    assert_eq!(
        session.answer(&list("team-b", None, &BINDING_MASKS)),
        Err(ReplayError::Miss(
            "the list of recorded responses is empty".into()
        ))
    );
}

/// The AzureIdentityBindings of every namespace as the policy lists them.
fn list_all(label_selector: Option<&str>, masks: &[&str]) -> CallbackRequest {
    CallbackRequest::KubernetesListResourceAll {
        api_version: "aadpodidentity.k8s.io/v1".into(),
        kind: "AzureIdentityBinding".into(),
        label_selector: label_selector.map(str::to_owned),
        field_selector: None,
        field_masks: Some(masks.iter().map(|mask| (*mask).to_owned()).collect()),
    }
}

/// The masks of [`fixtures::LIST_ALL_BINDINGS`], in the order the SDK sends them (sorted).
const ALL_BINDING_MASKS: [&str; 4] = [
    "metadata.name",
    "metadata.namespace",
    "spec.azureIdentity",
    "spec.selector",
];

/// A cluster-wide list of the bindings, one selecting `app=x` that answers with an error, then a
/// namespaced list of `team-b`.
fn list_all_session(matching: Matching) -> Session {
    let text = [
        fixtures::exchange(
            &fixtures::list_all_bindings(None),
            &fixtures::success(fixtures::ALL_BINDINGS_LIST),
        ),
        fixtures::exchange(
            &fixtures::list_all_bindings(Some("app=x")),
            &fixtures::error("forbidden"),
        ),
        fixtures::exchange(
            &fixtures::list_bindings("team-b"),
            &fixtures::success(fixtures::BINDING_LIST),
        ),
    ]
    .concat();
    Session::parse(&text, matching).expect("parses")
}

#[test]
fn parses_a_cluster_wide_list() {
    let session = list_all_session(Matching::Strict);
    // the selectors left out are null, and field masks are a set: their order does not count
    assert_eq!(
        session.exchanges()[0].request,
        Recorded::Known(list_all(None, &ALL_BINDING_MASKS))
    );
    assert_eq!(
        session.exchanges()[1].request,
        Recorded::Known(list_all(Some("app=x"), &ALL_BINDING_MASKS))
    );
    // with no masks at all, `field_masks` is null
    let bare = fixtures::exchange(
        "!KubernetesListResourceAll\napi_version: v1\nkind: Namespace",
        &fixtures::success("{}"),
    );
    let bare = Session::parse(&bare, Matching::Strict).expect("parses");
    assert_eq!(
        bare.exchanges()[0].request,
        Recorded::Known(CallbackRequest::KubernetesListResourceAll {
            api_version: "v1".into(),
            kind: "Namespace".into(),
            label_selector: None,
            field_selector: None,
            field_masks: None,
        })
    );
    assert!(
        Session::parse(
            &fixtures::exchange(
                "!KubernetesListResourceAll\napi_version: v1",
                &fixtures::success("{}"),
            ),
            Matching::Strict,
        )
        .is_err(),
        "kind is required"
    );
}

#[test]
fn content_matching_answers_cluster_wide_lists_by_what_they_select() {
    let mut session = list_all_session(Matching::ByContent);
    // any mask order, or none, selects the same objects
    for masks in [
        &ALL_BINDING_MASKS[..],
        &["spec.selector", "metadata.name"],
        &[],
    ] {
        assert_eq!(
            text(session.answer(&list_all(None, masks))),
            Ok(fixtures::ALL_BINDINGS_LIST.into())
        );
    }
    assert_eq!(
        session.answer(&list_all(Some("app=x"), &ALL_BINDING_MASKS)),
        Err(ReplayError::Recorded("forbidden".into()))
    );
    // a cluster-wide list and a namespaced one are different calls, either way round
    let error = miss(session.answer(&list_all(Some("app=y"), &ALL_BINDING_MASKS)));
    assert!(
        error.contains(r#"KubernetesListResourceAll { api_version: "aadpodidentity.k8s.io/v1""#),
        "{error}"
    );
    miss(session.answer(&list("team-a", None, &BINDING_MASKS)));
    assert_eq!(session.leftovers().len(), 1, "the team-b list is left over");
    let mut only_namespaced = list_session(Matching::ByContent);
    miss(only_namespaced.answer(&list_all(None, &BINDING_MASKS)));
}

#[test]
fn strict_matching_replays_cluster_wide_lists_with_masks_as_a_set() {
    let mut session = list_all_session(Matching::Strict);
    // recorded in another order, the same set of masks: equal
    let mut reversed = ALL_BINDING_MASKS;
    reversed.reverse();
    assert_eq!(
        text(session.answer(&list_all(None, &reversed))),
        Ok(fixtures::ALL_BINDINGS_LIST.into())
    );
    assert_eq!(
        session.answer(&list_all(Some("app=x"), &ALL_BINDING_MASKS)),
        Err(ReplayError::Recorded("forbidden".into()))
    );
    // the third entry is the namespaced list: a cluster-wide call does not match it, and uses it
    let error = miss(session.answer(&list_all(None, &ALL_BINDING_MASKS)));
    assert!(error.starts_with("Replay error: "), "{error}");
    fixtures::assert_mismatch(
        &error,
        "KubernetesListResourceNamespace { api_version: \"aadpodidentity.k8s.io/v1\", kind: \
         \"AzureIdentityBinding\", namespace: \"team-b\",",
        &format!(", got {}", fixtures::LIST_ALL_BINDINGS_DEBUG),
    );
    assert_eq!(
        session.answer(&list("team-b", None, &BINDING_MASKS)),
        Err(ReplayError::Miss(
            "the list of recorded responses is empty".into()
        ))
    );
}

#[test]
fn strict_matching_compares_every_field_of_a_cluster_wide_list() {
    // one mask fewer, or a label selector the recording lacks: each a mismatch naming both
    for asked in [
        list_all(None, &ALL_BINDING_MASKS[..3]),
        list_all(Some("app=x"), &ALL_BINDING_MASKS),
    ] {
        let mut session = list_all_session(Matching::Strict);
        let error = miss(session.answer(&asked));
        assert_eq!(
            error,
            format!(
                "Replay error: unexpected request. Was expecting {:?}, got {asked:?} instead",
                list_all(None, &ALL_BINDING_MASKS)
            )
        );
    }
}
