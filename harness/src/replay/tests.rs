use super::*;

/// The example of KWCTL.md, verbatim apart from the elided values.
const KWCTL_EXAMPLE: &str = r#"
- type: Exchange
  request: |
    !KubernetesGetResource
    api_version: v1
    kind: ServiceAccount
    name: workload-sa
    namespace: default
    disable_cache: false
    field_masks: null
  response:
    type: Success
    payload: '{"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"workload-sa","namespace":"default"}}'
- type: Exchange
  request: |
    !KubernetesCanI
    request:
      groups:
      - system:serviceaccounts
      - system:serviceaccounts:default
      - system:authenticated
      resource_attributes:
        group: cid.wi.aks.azure.com
        name: null
        namespace: null
        resource: client-1
        subresource: null
        verb: use-managed-identity
        version: null
      user: system:serviceaccount:default:workload-sa
    disable_cache: false
  response:
    type: Success
    payload: '{"allowed":false,"reason":"no"}'
- type: Exchange
  request: |
    !KubernetesGetResource
    api_version: v1
    kind: ServiceAccount
    name: ghost
    namespace: default
    disable_cache: false
  response:
    type: Error
    message: Cannot find v1/ServiceAccount named 'ghost' inside of namespace 'default'
"#;

/// A `get_resource` of ServiceAccount `name` in `default`, as the policy asks it.
fn get(name: &str) -> CallbackRequest {
    get_with(name, false, None)
}

/// [`get`] with the cache and field-mask hints given.
fn get_with(
    name: &str,
    disable_cache: bool,
    field_masks: Option<BTreeSet<String>>,
) -> CallbackRequest {
    CallbackRequest::KubernetesGetResource {
        api_version: "v1".into(),
        kind: "ServiceAccount".into(),
        name: name.into(),
        namespace: Some("default".into()),
        disable_cache,
        field_masks,
    }
}

fn can_i(user: &str) -> CallbackRequest {
    CallbackRequest::KubernetesCanI {
        request: SubjectAccessReview {
            groups: Some(vec![
                "system:serviceaccounts".into(),
                "system:serviceaccounts:default".into(),
                "system:authenticated".into(),
            ]),
            resource_attributes: ResourceAttributes {
                group: Some("cid.wi.aks.azure.com".into()),
                name: None,
                namespace: None,
                resource: "client-1".into(),
                subresource: None,
                verb: "use-managed-identity".into(),
                version: None,
            },
            user: user.into(),
        },
        disable_cache: false,
    }
}

fn session(matching: Matching) -> Session {
    Session::parse(KWCTL_EXAMPLE, matching).expect("the KWCTL.md example parses")
}

fn text(answer: Result<Vec<u8>, ReplayError>) -> Result<String, ReplayError> {
    answer.map(|bytes| String::from_utf8(bytes).expect("utf-8 payload"))
}

fn miss(answer: Result<Vec<u8>, ReplayError>) -> String {
    match answer {
        Err(ReplayError::Miss(message)) => message,
        other => panic!("expected a replay miss, got {other:?}"),
    }
}

#[test]
fn parses_the_kwctl_example() {
    let session = session(Matching::ByContent);
    let exchanges = session.exchanges();
    assert_eq!(exchanges.len(), 3);
    assert_eq!(exchanges[0].request, Recorded::Known(get("workload-sa")));
    assert_eq!(
        exchanges[1].request,
        Recorded::Known(can_i("system:serviceaccount:default:workload-sa"))
    );
    // a missing optional field (`field_masks`) is null
    assert_eq!(exchanges[2].request, Recorded::Known(get("ghost")));
    assert_eq!(
        exchanges[2].response,
        Response::Error {
            message: "Cannot find v1/ServiceAccount named 'ghost' inside of namespace 'default'"
                .into()
        }
    );
}

#[test]
fn keeps_other_host_calls_without_failing() {
    let text = fixtures::exchange(
        "!OciManifestDigest\nimage: busybox",
        &fixtures::success(r#""sha256:0""#),
    );
    let session = Session::parse(&text, Matching::Strict).expect("parses");
    assert!(matches!(
        &session.exchanges()[0].request,
        Recorded::Unsupported { tag, .. } if tag == "OciManifestDigest"
    ));
}

#[test]
fn rejects_a_malformed_known_request() {
    let text = fixtures::exchange(
        "!KubernetesGetResource\nkind: Pod",
        &fixtures::success("{}"),
    );
    let error = Session::parse(&text, Matching::ByContent).expect_err("api_version is missing");
    assert!(format!("{error:#}").contains("exchange #1"), "{error:#}");
}

#[test]
fn content_matching_ignores_order_and_reuses_exchanges() {
    let mut session = session(Matching::ByContent);
    let user = "system:serviceaccount:default:workload-sa";
    assert_eq!(
        text(session.answer(&can_i(user))),
        Ok(r#"{"allowed":false,"reason":"no"}"#.into())
    );
    for _ in 0..2 {
        let answer = text(session.answer(&get("workload-sa"))).expect("recorded");
        assert!(answer.contains(r#""name":"workload-sa""#));
    }
    assert_eq!(
        session.answer(&get("ghost")),
        Err(ReplayError::Recorded(
            "Cannot find v1/ServiceAccount named 'ghost' inside of namespace 'default'".into()
        ))
    );
    assert!(session.leftovers().is_empty());
}

#[test]
fn content_matching_ignores_cache_and_field_masks() {
    let mut session = session(Matching::ByContent);
    let masks = BTreeSet::from(["metadata.annotations".to_owned()]);
    let asked = get_with("workload-sa", true, Some(masks));
    assert!(session.answer(&asked).is_ok());
}

#[test]
fn content_matching_counts_equivalent_exchanges_as_used() {
    // a cached lookup and its uncached retry, recorded one after the other
    let entry = |disable_cache: bool| {
        let request = fixtures::get_service_account("workload-sa", disable_cache);
        fixtures::exchange(&request, &fixtures::success("{}"))
    };
    let text = format!("{}{}", entry(false), entry(true));
    let mut session = Session::parse(&text, Matching::ByContent).expect("parses");
    assert_eq!(session.exchanges().len(), 2);
    assert!(session.answer(&get("workload-sa")).is_ok());
    assert!(session.leftovers().is_empty());
}

#[test]
fn content_matching_reports_unknown_requests() {
    let mut session = session(Matching::ByContent);
    let error = miss(session.answer(&get("other")));
    assert!(
        error.contains("Replay error: unexpected request"),
        "{error}"
    );
    assert!(error.contains(r#"name: "other""#), "{error}");
    // groups order matters for can_i
    miss(session.answer(&can_i("system:serviceaccount:default:other")));
    assert_eq!(session.leftovers().len(), 3);
}

#[test]
fn without_a_session_every_call_fails() {
    let mut session = Session::none(Matching::ByContent);
    let error = miss(session.answer(&get("workload-sa")));
    assert!(
        error.starts_with("Replay error: unexpected request"),
        "{error}"
    );
}

#[test]
fn strict_matching_replays_in_order() {
    let mut session = session(Matching::Strict);
    assert!(session.answer(&get("workload-sa")).is_ok());
    assert!(
        session
            .answer(&can_i("system:serviceaccount:default:workload-sa"))
            .is_ok()
    );
    assert!(session.answer(&get("ghost")).is_err());
    assert_eq!(
        session.answer(&get("workload-sa")),
        Err(ReplayError::Miss(
            "the list of recorded responses is empty".into()
        ))
    );
}

#[test]
fn strict_mismatch_consumes_the_entry_and_names_both_requests() {
    let mut session = session(Matching::Strict);
    let error = miss(session.answer(&can_i("system:serviceaccount:default:workload-sa")));
    assert!(
        error.starts_with(
            "Replay error: unexpected request. Was expecting KubernetesGetResource { api_version: \"v1\""
        ),
        "{error}"
    );
    assert!(
        error.contains(", got KubernetesCanI { request: SubjectAccessReview {"),
        "{error}"
    );
    assert!(error.ends_with(" instead"), "{error}");
    // the mismatched entry is gone: the next call is compared with the second one
    assert!(
        session
            .answer(&can_i("system:serviceaccount:default:workload-sa"))
            .is_ok()
    );
    assert_eq!(session.leftovers().len(), 1);
}

#[test]
fn strict_matching_compares_every_field() {
    let mut session = session(Matching::Strict);
    let asked = get_with("workload-sa", true, None);
    assert!(session.answer(&asked).is_err());
}

#[test]
fn rewind_serves_a_strict_session_again() {
    let mut session = session(Matching::Strict);
    assert!(session.answer(&get("workload-sa")).is_ok());
    session.rewind();
    assert!(session.answer(&get("workload-sa")).is_ok());
}

mod lists;
