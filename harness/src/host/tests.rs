use super::*;
use crate::replay::{Matching, fixtures};

const GET_SA: &[u8] = fixtures::GET_SA.as_bytes();
const GET_GHOST: &[u8] = br#"{"api_version":"v1","kind":"ServiceAccount","name":"ghost","namespace":"default","disable_cache":false,"field_masks":null}"#;

fn host(access: ResourceAccess) -> Host {
    host_with(Matching::ByContent, access)
}

/// A host whose session holds a ServiceAccount `sa`, a missing `ghost`, and a list of the
/// AzureIdentityBindings of `team-b`, in that order.
fn host_with(matching: Matching, access: ResourceAccess) -> Host {
    let session = [
        fixtures::exchange(
            &fixtures::get_service_account("sa", false),
            &fixtures::success(r#"{"kind":"ServiceAccount"}"#),
        ),
        fixtures::exchange(
            &fixtures::get_service_account("ghost", false),
            &fixtures::error("not found"),
        ),
        fixtures::exchange(
            &fixtures::list_bindings("team-b"),
            &fixtures::success(fixtures::BINDING_LIST),
        ),
    ]
    .concat();
    let session = Session::parse(&session, matching).expect("valid session");
    Host::new(session, access, Logger::new(false, Some("policy_log=off")))
}

#[test]
fn answers_get_resource_from_the_session() {
    let host = host(ResourceAccess::Any);
    assert_eq!(
        host.call("kubewarden", "kubernetes", "get_resource", GET_SA),
        Ok(br#"{"kind":"ServiceAccount"}"#.to_vec())
    );
    assert_eq!(
        host.call("kubewarden", "kubernetes", "get_resource", GET_GHOST),
        Err("Callback evaluation failure: not found".into())
    );
}

#[test]
fn get_resource_needs_access() {
    let denied = "Policy has not been granted access to Kubernetes v1/ServiceAccount resources. The violation has been reported.";
    let host = host(ResourceAccess::Denied);
    assert_eq!(
        host.call("kubewarden", "kubernetes", "get_resource", GET_SA),
        Err(denied.into())
    );
    let listed = ResourceAccess::Listed(BTreeSet::from([ContextAwareResource {
        api_version: "v1".into(),
        kind: "Pod".into(),
    }]));
    let host = super::tests::host(listed);
    assert_eq!(
        host.call("kubewarden", "kubernetes", "get_resource", GET_SA),
        Err(denied.into())
    );
    // no exchange was used by the denied calls
    assert_eq!(host.session().leftovers().len(), 3);
}

#[test]
fn can_i_is_not_gated_and_misses_are_replay_errors() {
    let host = host(ResourceAccess::Denied);
    let payload = br#"{"subject_access_review":{"groups":null,"resource_attributes":{"group":null,"name":null,"namespace":null,"resource":"r","subresource":null,"verb":"use","version":null},"user":"u"},"disable_cache":false}"#;
    let error = host
        .call("kubewarden", "kubernetes", "can_i", payload)
        .expect_err("nothing recorded for can_i");
    assert!(
        error.starts_with("Callback evaluation failure: Replay error: unexpected request"),
        "{error}"
    );
}

#[test]
fn logs_are_answered_empty_and_unknown_calls_are_named() {
    let host = host(ResourceAccess::Any);
    assert_eq!(
        host.call(
            "kubewarden",
            "tracing",
            "log",
            br#"{"level":"info","message":"hi"}"#
        ),
        Ok(Vec::new())
    );
    assert_eq!(
        host.call("kubewarden", "tracing", "log", b"garbage"),
        Ok(Vec::new())
    );
    let error = host
        .call("kubewarden", "oci", "v1/verify", b"{}")
        .expect_err("unsupported");
    assert!(error.contains("kubewarden/oci/v1/verify"), "{error}");
    assert_eq!(
        host.call("other", "x", "y", b""),
        Err("unknown binding: other".into())
    );
}

const LIST_BINDINGS: &[u8] = fixtures::LIST_BINDINGS.as_bytes();

fn aad_access(kinds: &[&str]) -> ResourceAccess {
    ResourceAccess::Listed(
        kinds
            .iter()
            .map(|kind| ContextAwareResource {
                api_version: "aadpodidentity.k8s.io/v1".into(),
                kind: (*kind).into(),
            })
            .collect(),
    )
}

#[test]
fn answers_list_resources_by_namespace_from_the_session() {
    let host = host(aad_access(&["AzureIdentityBinding"]));
    for _ in 0..2 {
        assert_eq!(
            host.call(
                "kubewarden",
                "kubernetes",
                "list_resources_by_namespace",
                LIST_BINDINGS
            ),
            Ok(fixtures::BINDING_LIST.as_bytes().to_vec())
        );
    }
    let other_namespace = fixtures::LIST_BINDINGS.replace("team-b", "team-a");
    let error = host
        .call(
            "kubewarden",
            "kubernetes",
            "list_resources_by_namespace",
            other_namespace.as_bytes(),
        )
        .expect_err("nothing recorded for team-a");
    assert!(
        error.starts_with("Callback evaluation failure: Replay error: unexpected request"),
        "{error}"
    );
}

/// What kwctl answers a list of a kind the policy was not granted.
const BINDINGS_DENIED: &str = "Policy has not been granted access to Kubernetes \
                               aadpodidentity.k8s.io/v1/AzureIdentityBinding resources. The \
                               violation has been reported.";

#[test]
fn list_resources_by_namespace_needs_access_to_the_listed_kind() {
    let denied = BINDINGS_DENIED;
    for access in [ResourceAccess::Denied, aad_access(&["AzureIdentity"])] {
        let host = host_with(Matching::Strict, access);
        let list = |host: &Host| {
            host.call(
                "kubewarden",
                "kubernetes",
                "list_resources_by_namespace",
                LIST_BINDINGS,
            )
        };
        assert_eq!(list(&host), Err(denied.into()));
        assert_eq!(host.session().leftovers().len(), 3);
    }
}

#[test]
fn strict_list_resources_by_namespace_follows_the_session_order() {
    let host = host_with(Matching::Strict, ResourceAccess::Any);
    let list = || {
        host.call(
            "kubewarden",
            "kubernetes",
            "list_resources_by_namespace",
            LIST_BINDINGS,
        )
    };
    let error = list().expect_err("the session starts with a get_resource");
    assert!(
        error.starts_with("Callback evaluation failure: "),
        "{error}"
    );
    let masks = r#"field_masks: Some({"metadata.name", "spec.selector"}) }"#;
    fixtures::assert_mismatch(&error, "KubernetesGetResource {", masks);
    assert!(
        host.call("kubewarden", "kubernetes", "get_resource", GET_GHOST)
            .is_err()
    );
    assert_eq!(list(), Ok(fixtures::BINDING_LIST.as_bytes().to_vec()));
    assert_eq!(
        list(),
        Err("Callback evaluation failure: the list of recorded responses is empty".into())
    );
}

const LIST_ALL_BINDINGS: &[u8] = fixtures::LIST_ALL_BINDINGS.as_bytes();

/// A host whose session holds a ServiceAccount `sa`, then a cluster-wide list of the
/// AzureIdentityBindings (its masks recorded in another order than the SDK sends them).
fn list_all_host(matching: Matching, access: ResourceAccess) -> Host {
    let session = [
        fixtures::exchange(
            &fixtures::get_service_account("sa", false),
            &fixtures::success(r#"{"kind":"ServiceAccount"}"#),
        ),
        fixtures::exchange(
            &fixtures::list_all_bindings(None),
            &fixtures::success(fixtures::ALL_BINDINGS_LIST),
        ),
    ]
    .concat();
    let session = Session::parse(&session, matching).expect("valid session");
    Host::new(session, access, Logger::new(false, Some("policy_log=off")))
}

fn list_all(host: &Host, payload: &[u8]) -> CallResult {
    host.call("kubewarden", "kubernetes", "list_resources_all", payload)
}

#[test]
fn answers_list_resources_all_from_the_session() {
    let mut access = BTreeSet::from([ContextAwareResource {
        api_version: "v1".into(),
        kind: "ServiceAccount".into(),
    }]);
    let ResourceAccess::Listed(bindings) = aad_access(&["AzureIdentityBinding"]) else {
        unreachable!("aad_access lists kinds")
    };
    access.extend(bindings);
    for matching in [Matching::ByContent, Matching::Strict] {
        let host = list_all_host(matching, ResourceAccess::Listed(access.clone()));
        assert!(
            host.call("kubewarden", "kubernetes", "get_resource", GET_SA)
                .is_ok(),
            "{matching:?}"
        );
        assert_eq!(
            list_all(&host, LIST_ALL_BINDINGS),
            Ok(fixtures::ALL_BINDINGS_LIST.as_bytes().to_vec()),
            "{matching:?}"
        );
        assert!(host.session().leftovers().is_empty(), "{matching:?}");
    }
    // content mode: reusable, and an SDK payload that leaves out its optional fields asks the
    // same (they are null)
    let host = list_all_host(Matching::ByContent, ResourceAccess::Any);
    let bare = br#"{"api_version":"aadpodidentity.k8s.io/v1","kind":"AzureIdentityBinding"}"#;
    assert_eq!(
        list_all(&host, bare),
        Ok(fixtures::ALL_BINDINGS_LIST.as_bytes().to_vec())
    );
    let selected = fixtures::LIST_ALL_BINDINGS
        .replace(r#""label_selector":null"#, r#""label_selector":"app=x""#);
    let error = list_all(&host, selected.as_bytes()).expect_err("nothing recorded for app=x");
    assert!(
        error.starts_with(
            "Callback evaluation failure: Replay error: unexpected request \
             KubernetesListResourceAll {"
        ),
        "{error}"
    );
}

#[test]
fn list_resources_all_needs_access_to_the_listed_kind() {
    let accesses = [ResourceAccess::Denied, aad_access(&["AzureIdentity"])];
    for (access, matching) in accesses
        .iter()
        .flat_map(|a| [(a, Matching::ByContent), (a, Matching::Strict)])
    {
        {
            let host = list_all_host(matching, access.clone());
            assert_eq!(
                list_all(&host, LIST_ALL_BINDINGS),
                Err(BINDINGS_DENIED.into())
            );
            assert_eq!(host.session().leftovers().len(), 2, "no exchange was used");
        }
    }
}

#[test]
fn strict_list_resources_all_follows_the_session_order() {
    let host = list_all_host(Matching::Strict, ResourceAccess::Any);
    let error = list_all(&host, LIST_ALL_BINDINGS).expect_err("the session starts with a get");
    assert!(
        error.starts_with("Callback evaluation failure: "),
        "{error}"
    );
    fixtures::assert_mismatch(
        &error,
        "KubernetesGetResource { api_version: \"v1\", kind: \"ServiceAccount\", name: \"sa\"",
        &format!(", got {}", fixtures::LIST_ALL_BINDINGS_DEBUG),
    );
    // the get was consumed by the mismatch: the list is next, and then nothing
    assert_eq!(
        list_all(&host, LIST_ALL_BINDINGS),
        Ok(fixtures::ALL_BINDINGS_LIST.as_bytes().to_vec())
    );
    assert_eq!(
        list_all(&host, LIST_ALL_BINDINGS),
        Err("Callback evaluation failure: the list of recorded responses is empty".into())
    );
}

#[test]
fn a_namespaced_list_is_no_cluster_wide_one() {
    // the same kind and masks, asked per namespace, against a recorded cluster-wide list
    let host = list_all_host(Matching::Strict, ResourceAccess::Any);
    assert!(
        host.call("kubewarden", "kubernetes", "get_resource", GET_SA)
            .is_ok()
    );
    let namespaced = fixtures::LIST_ALL_BINDINGS.replace(
        r#""label_selector""#,
        r#""namespace":"team-a","label_selector""#,
    );
    let error = host
        .call(
            "kubewarden",
            "kubernetes",
            "list_resources_by_namespace",
            namespaced.as_bytes(),
        )
        .expect_err("recorded as list_resources_all");
    assert!(
        error.starts_with("Callback evaluation failure: "),
        "{error}"
    );
    fixtures::assert_mismatch(&error, "KubernetesListResourceAll {", "}");
    assert!(
        error.contains(", got KubernetesListResourceNamespace {"),
        "{error}"
    );
}
