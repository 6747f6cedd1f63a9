//! reference §8: pods still labelled for AAD Pod Identity (`aadpodidbinding`): `allow`, `warn`,
//! `reject`, and `migrate`, each numbered rule of which has a test named after it.

use azure_workload_identity_policy::cluster::fake::{Call, FakeCluster};
use azure_workload_identity_policy::testing::*;
use serde_json::{Value, json};

const MI: &str = "7b2c4a8e-1f3d-4e5a-9b6c-2d8e0f1a3b5c";

/// Reference §8.8: the binding list, the AzureIdentity of the kept binding, then the
/// ServiceAccount, so that a recorded session replays.
const MIGRATION_CALLS: [&str; 3] = [
    "list AzureIdentityBinding",
    "get AzureIdentity api-mi",
    "get ServiceAccount sa",
];

fn legacy_pod(selector: &str) -> Value {
    json!({ "apiVersion": "v1", "kind": "Pod",
        "metadata": { "name": "api-1", "labels": { "aadpodidbinding": selector } },
        "spec": { "serviceAccountName": "sa", "containers": [{ "name": "app", "image": "i" }] } })
}

fn bindings(items: &[(&str, &str, &str)]) -> Result<Vec<u8>, String> {
    let items: Vec<Value> = items
        .iter()
        .map(|(name, selector, identity)| {
            json!({ "metadata": { "name": name },
            "spec": { "selector": selector, "azureIdentity": identity } })
        })
        .collect();
    Ok(
        json!({ "apiVersion": "aadpodidentity.k8s.io/v1", "kind": "AzureIdentityBindingList",
        "metadata": {}, "items": items })
        .to_string()
        .into_bytes(),
    )
}

fn identity(client_id: &str) -> Result<Vec<u8>, String> {
    Ok(
        json!({ "apiVersion": "aadpodidentity.k8s.io/v1", "kind": "AzureIdentity",
        "metadata": { "name": "api-mi" }, "spec": { "type": 0, "clientID": client_id } })
        .to_string()
        .into_bytes(),
    )
}

/// A cluster with one binding `api` selecting `api` → AzureIdentity `api-mi` (client `MI`), and
/// ServiceAccount `sa` with `sa_annotations`.
fn cluster(sa_annotations: Value) -> FakeCluster {
    FakeCluster::new()
        .with_list(
            "AzureIdentityBinding",
            "ns1",
            bindings(&[("api", "api", "api-mi"), ("other", "other", "x")]),
        )
        .with_object("AzureIdentity", "ns1", "api-mi", identity(MI))
        .with_service_account("ns1", "sa", sa_annotations)
}

fn migrate(extra: Value) -> Value {
    settings(merged(json!({ "legacyPodIdentity": "migrate" }), extra))
}

fn warnings(response: &kubewarden_policy_sdk::response::ValidationResponse) -> Vec<String> {
    response.warnings.clone().unwrap_or_default()
}

fn kinds(fake: &FakeCluster) -> Vec<String> {
    fake.calls()
        .into_iter()
        .map(|c| match c {
            Call::List { kind, .. } => format!("list {kind}"),
            Call::Get {
                kind,
                name,
                disable_cache,
                ..
            } => format!(
                "get {kind} {name}{}",
                if disable_cache { " uncached" } else { "" }
            ),
            Call::CanI { resource, .. } => format!("can_i {resource}"),
        })
        .collect()
}

#[rstest::rstest]
#[case::allow("allow", true, false)]
#[case::warn("warn", true, true)]
#[case::reject("reject", false, false)]
fn spec_8_legacy_pod_identity(#[case] mode: &str, #[case] accepted: bool, #[case] warned: bool) {
    let pod = json!({ "apiVersion": "v1", "kind": "Pod",
        "metadata": { "name": "old", "labels": { "aadpodidbinding": "my-identity" } },
        "spec": { "containers": [{ "name": "c", "image": "i" }] } });
    let fake = FakeCluster::new();
    let response = run(
        pod_request("ns1", pod),
        settings(json!({ "legacyPodIdentity": mode })),
        &fake,
    );
    assert_eq!(response.accepted, accepted, "{response:?}");
    let warnings = response.warnings.clone().unwrap_or_default();
    assert_eq!(
        warnings
            .iter()
            .any(|w| w.contains("aadpodidbinding is retired")),
        warned,
        "{warnings:?}"
    );
    if !accepted {
        assert_eq!(response.code, Some(400));
        let message = response.message.unwrap_or_default();
        assert!(
            message.contains("aadpodidbinding=my-identity")
                && message.contains("inject-proxy-sidecar"),
            "{message}"
        );
    }
    assert_eq!(fake.calls(), vec![]);
}

#[test]
fn spec_8_1_bindings_are_listed_and_matched_by_their_selector_exactly() {
    let fake = cluster(json!({}));
    let response = run(
        pod_request("ns1", legacy_pod("API")),
        migrate(json!({})),
        &fake,
    );
    assert!(
        response.accepted && response.mutated_object.is_none(),
        "{response:?}"
    );
    assert!(
        warnings(&response)
            .iter()
            .any(|w| w.contains("no AzureIdentityBinding selects aadpodidbinding=\"API\""))
    );
    assert_eq!(kinds(&fake), ["list AzureIdentityBinding"]);
}

#[test]
fn spec_8_2_the_azure_identity_is_read_with_the_uncached_retry() {
    let fake = FakeCluster::new()
        .with_list(
            "AzureIdentityBinding",
            "ns1",
            bindings(&[("api", "api", "api-mi")]),
        )
        .with_service_account("ns1", "sa", json!({}));
    let response = run(
        pod_request("ns1", legacy_pod("api")),
        migrate(json!({})),
        &fake,
    );
    assert!(
        warnings(&response)
            .iter()
            .any(|w| w.contains("names AzureIdentity \"api-mi\", which does not exist")),
        "{response:?}"
    );
    assert_eq!(
        kinds(&fake),
        [
            "list AzureIdentityBinding",
            "get AzureIdentity api-mi",
            "get AzureIdentity api-mi uncached"
        ]
    );
}

#[test]
fn spec_8_3_the_pod_is_mutated_with_the_client_id_and_the_proxy_and_told_the_three_steps() {
    let fake = cluster(json!({}));
    let response = run(
        pod_request("ns1", legacy_pod("api")),
        migrate(json!({})),
        &fake,
    );
    let pod = mutated(&response);
    assert!(
        env_of(pod, "containers", 0).contains(&("AZURE_CLIENT_ID".into(), MI.into())),
        "{pod}"
    );
    assert_eq!(
        container_names(pod, "initContainers"),
        ["azwi-proxy", "azwi-proxy-init"]
    );
    let warnings = warnings(&response);
    for needle in [
        "migrated from AAD Pod Identity (AzureIdentityBinding \"api\")",
        "1/3 annotate ServiceAccount sa with azure.workload.identity/client-id: 7b2c4a8e",
        "2/3 federate subject system:serviceaccount:ns1:sa",
        "3/3 replace label aadpodidbinding with azure.workload.identity/use",
    ] {
        assert!(
            warnings.iter().any(|w| w.contains(needle)),
            "{needle}: {warnings:?}"
        );
    }
    assert_eq!(kinds(&fake), MIGRATION_CALLS);
}

#[test]
fn spec_8_3_the_service_accounts_client_id_wins_with_a_warning() {
    let fake = cluster(json!({ "azure.workload.identity/client-id": CLIENT }));
    let response = run(
        pod_request("ns1", legacy_pod("api")),
        migrate(json!({})),
        &fake,
    );
    let pod = mutated(&response);
    assert!(env_of(pod, "containers", 0).contains(&("AZURE_CLIENT_ID".into(), CLIENT.into())));
    assert!(
        warnings(&response)
            .iter()
            .any(|w| w.contains("uses the client ID of ServiceAccount sa")),
        "{response:?}"
    );
}

#[test]
fn spec_8_3_every_proxy_rule_applies() {
    let response = run(
        pod_request("ns1", legacy_pod("api")),
        migrate(json!({ "proxy": { "allowedNamespaces": ["other"] } })),
        &cluster(json!({})),
    );
    assert_rejected(&response, 403, "may not request the proxy");
    let mut host = legacy_pod("api");
    host["spec"]["hostNetwork"] = json!(true);
    assert_rejected(
        &run(
            pod_request("ns1", host),
            migrate(json!({})),
            &cluster(json!({})),
        ),
        400,
        "hostNetwork",
    );
}

#[rstest::rstest]
#[case::several(bindings(&[("a", "api", "api-mi"), ("b", "api", "api-mi")]), identity(MI), "2 AzureIdentityBindings select it (\"a, b\")")]
#[case::empty_client_id(bindings(&[("api", "api", "api-mi")]), identity(" "), "AzureIdentity \"api-mi\" has no spec.clientID")]
fn spec_8_4_what_aad_pod_identity_could_not_serve_is_admitted_unchanged_with_a_warning(
    #[case] list: Result<Vec<u8>, String>,
    #[case] identity: Result<Vec<u8>, String>,
    #[case] needle: &str,
) {
    let fake = FakeCluster::new()
        .with_list("AzureIdentityBinding", "ns1", list)
        .with_object("AzureIdentity", "ns1", "api-mi", identity);
    let response = run(
        pod_request("ns1", legacy_pod("api")),
        migrate(json!({})),
        &fake,
    );
    assert!(
        response.accepted && response.mutated_object.is_none(),
        "{response:?}"
    );
    assert!(
        warnings(&response).iter().any(|w| w.contains(needle)),
        "{response:?}"
    );
}

#[test]
fn spec_8_4_a_host_failure_is_rejected_with_500() {
    let fake = FakeCluster::new().with_list(
        "AzureIdentityBinding",
        "ns1",
        Err("forbidden: cannot list".into()),
    );
    assert_rejected(
        &run(
            pod_request("ns1", legacy_pod("api")),
            migrate(json!({})),
            &fake,
        ),
        500,
        "cannot list",
    );
    let fake = FakeCluster::new()
        .with_list(
            "AzureIdentityBinding",
            "ns1",
            bindings(&[("api", "api", "api-mi")]),
        )
        .with_object(
            "AzureIdentity",
            "ns1",
            "api-mi",
            Err("connection refused".into()),
        );
    assert_rejected(
        &run(
            pod_request("ns1", legacy_pod("api")),
            migrate(json!({})),
            &fake,
        ),
        500,
        "connection refused",
    );
}

#[test]
fn spec_8_5_the_allowlist_applies_and_no_binding_review_is_asked() {
    let fake = cluster(json!({}));
    let response = run(
        pod_request("ns1", legacy_pod("api")),
        migrate(json!({ "allowedClientIds": { "ns1": [CLIENT] } })),
        &fake,
    );
    assert_rejected(
        &response,
        403,
        "spec.clientID of AzureIdentity \"ns1/api-mi\"",
    );
    assert!(!kinds(&fake).iter().any(|k| k.starts_with("can_i")));
}

#[test]
fn spec_8_6_validate_only_and_templates_only_warn() {
    let fake = cluster(json!({}));
    let response = run(
        pod_request("ns1", legacy_pod("api")),
        migrate(json!({ "mutate": false })),
        &fake,
    );
    assert!(
        response.accepted && response.mutated_object.is_none(),
        "{response:?}"
    );
    assert!(warnings(&response).iter().any(|w| {
        w.contains("not mutated here; to move it from AAD Pod Identity") && w.contains(MI)
    }));
    let template = legacy_pod("api");
    let deployment = json!({ "apiVersion": "apps/v1", "kind": "Deployment", "metadata": { "name": "api" }, "spec": { "template": template } });
    let response = run(
        request("apps", "Deployment", "ns1", "CREATE", deployment),
        migrate(json!({})),
        &cluster(json!({})),
    );
    assert!(
        response.accepted && response.mutated_object.is_none(),
        "{response:?}"
    );
    assert!(
        warnings(&response)
            .iter()
            .any(|w| w.starts_with("Deployment api template: 1/3 annotate ServiceAccount sa")),
        "{response:?}"
    );
}

#[test]
fn spec_8_8_host_calls_come_in_a_fixed_order() {
    let mut pod = legacy_pod("api");
    pod["spec"]["volumes"] = json!([{ "name": "kv", "csi": { "driver": "secrets-store.csi.k8s.io", "volumeAttributes": { "secretProviderClass": "kv" } } }]);
    let spc = json!({ "kind": "SecretProviderClass", "spec": { "provider": "azure", "parameters": key_vault_parameters(json!({ "clientID": MI, "useAzureTokenProxy": "true" })) } });
    let fake = cluster(json!({}))
        .with_object(
            "SecretProviderClass",
            "ns1",
            "kv",
            Ok(spc.to_string().into_bytes()),
        )
        .with_review(
            "system:serviceaccount:ns1:sa",
            MI,
            Ok(br#"{"allowed":true}"#.to_vec()),
        );
    let response = run(pod_request("ns1", pod), migrate(json!({})), &fake);
    assert!(response.accepted, "{response:?}");
    assert_eq!(
        kinds(&fake),
        [
            "list AzureIdentityBinding",
            "get AzureIdentity api-mi",
            "get ServiceAccount sa",
            "get SecretProviderClass kv",
            format!("can_i {MI}").as_str()
        ]
    );
}

/// A cluster whose only binding for `api` lives in namespace `identities`, with its
/// AzureIdentity there, annotated with `behavior` when given.
fn cluster_elsewhere(behavior: Option<&str>) -> FakeCluster {
    let mut identity = json!({ "apiVersion": "aadpodidentity.k8s.io/v1", "kind": "AzureIdentity",
        "metadata": { "name": "api-mi" }, "spec": { "type": 0, "clientID": MI } });
    if let Some(behavior) = behavior {
        identity["metadata"]["annotations"] = json!({ "aadpodidentity.k8s.io/Behavior": behavior });
    }
    FakeCluster::new()
        .with_list(
            "AzureIdentityBinding",
            "identities",
            bindings(&[("api-binding", "api", "api-mi")]),
        )
        .with_object(
            "AzureIdentity",
            "identities",
            "api-mi",
            Ok(identity.to_string().into_bytes()),
        )
        .with_service_account("ns1", "sa", json!({}))
}

fn client_ids(pod: &Value) -> Vec<String> {
    ["initContainers", "containers"]
        .iter()
        .flat_map(|list| pod["spec"][list].as_array().cloned().unwrap_or_default())
        .flat_map(|c| c["env"].as_array().cloned().unwrap_or_default())
        .filter(|e| e["name"] == "AZURE_CLIENT_ID")
        .filter_map(|e| e["value"].as_str().map(str::to_owned))
        .collect()
}

/// AAD Pod Identity's MIC matches a pod's label against the bindings of every namespace and
/// looks the identity up in the binding's namespace; so does `migrate`.
#[test]
fn spec_8_1_a_binding_of_another_namespace_migrates_the_pod() {
    let fake = cluster_elsewhere(None);
    let response = run(
        pod_request("ns1", legacy_pod("api")),
        migrate(json!({})),
        &fake,
    );
    assert!(response.accepted, "{response:?}");
    let pod = mutated(&response);
    assert!(client_ids(pod).iter().all(|id| id == MI) && !client_ids(pod).is_empty());
    assert!(
        warnings(&response)
            .iter()
            .any(|w| w.contains("(AzureIdentityBinding \"identities/api-binding\")")),
        "{:?}",
        warnings(&response)
    );
    let identity_lookup = fake.calls().into_iter().find_map(|c| match c {
        Call::Get {
            kind, namespace, ..
        } if kind == "AzureIdentity" => Some(namespace),
        _ => None,
    });
    assert_eq!(identity_lookup.as_deref(), Some("identities"));
}

#[test]
fn spec_8_2_a_namespaced_identity_serves_only_its_own_namespace() {
    let fake = cluster_elsewhere(Some("namespaced"));
    let response = run(
        pod_request("ns1", legacy_pod("api")),
        migrate(json!({})),
        &fake,
    );
    assert!(
        response.accepted && response.mutated_object.is_none(),
        "{response:?}"
    );
    assert!(
        warnings(&response)
            .iter()
            .any(|w| w.contains("not migrated")
                && w.contains("AzureIdentity \"api-mi\", which is namespaced")),
        "{:?}",
        warnings(&response)
    );
    assert_eq!(
        kinds(&fake),
        ["list AzureIdentityBinding", "get AzureIdentity api-mi"]
    );
}

#[test]
fn spec_8_2_a_namespaced_identity_in_the_pods_namespace_counts() {
    let identity = json!({ "apiVersion": "aadpodidentity.k8s.io/v1", "kind": "AzureIdentity",
        "metadata": { "name": "api-mi", "annotations": { "aadpodidentity.k8s.io/Behavior": "namespaced" } },
        "spec": { "clientID": MI } });
    let fake = FakeCluster::new()
        .with_list(
            "AzureIdentityBinding",
            "ns1",
            bindings(&[("api", "api", "api-mi")]),
        )
        .with_object(
            "AzureIdentity",
            "ns1",
            "api-mi",
            Ok(identity.to_string().into_bytes()),
        )
        .with_service_account("ns1", "sa", json!({}));
    let response = run(
        pod_request("ns1", legacy_pod("api")),
        migrate(json!({})),
        &fake,
    );
    assert!(client_ids(mutated(&response)).contains(&MI.to_owned()));
}

#[rstest::rstest]
#[case::force_namespaced_drops_other_namespaces(true, false)]
#[case::default_counts_every_namespace(false, true)]
fn spec_8_1_legacy_pod_identity_force_namespaced(#[case] force: bool, #[case] migrated: bool) {
    let fake = cluster_elsewhere(None);
    let extra = json!({ "legacyPodIdentityForceNamespaced": force });
    let response = run(pod_request("ns1", legacy_pod("api")), migrate(extra), &fake);
    assert!(response.accepted, "{response:?}");
    assert_eq!(response.mutated_object.is_some(), migrated, "{response:?}");
    if force {
        assert!(warnings(&response)
            .iter()
            .any(|w| w.contains("no AzureIdentityBinding here selects aadpodidbinding=\"api\"")));
        // Dropped before any lookup: the list is the only call.
        assert_eq!(kinds(&fake), ["list AzureIdentityBinding"]);
    }
}

#[rstest::rstest]
#[case::spec_9_migrated(json!({}), true)]
#[case::spec_9_validate_only(json!({ "mutate": false }), false)]
fn spec_9_a_migrated_pod_names_its_binding(#[case] extra: Value, #[case] mutated: bool) {
    let fake = cluster_elsewhere(None);
    let response = run(pod_request("ns1", legacy_pod("api")), migrate(extra), &fake);
    assert_eq!(response.mutated_object.is_some(), mutated, "{response:?}");
    let audit = response.audit_annotations.unwrap_or_default();
    assert_eq!(
        audit.get("migrated-from").map(String::as_str),
        Some("identities/api-binding")
    );
    assert_eq!(audit.get("client-ids").map(String::as_str), Some(MI));
}

#[test]
fn reference_8_an_empty_label_migrates_nothing_and_asks_nothing() {
    let fake = cluster(json!({}));
    let response = run(
        pod_request("ns1", legacy_pod("")),
        migrate(json!({})),
        &fake,
    );
    assert!(response.accepted, "{response:?}");
    assert_eq!(response.mutated_object, None);
    assert_eq!(kinds(&fake), Vec::<String>::new());
    assert!(
        warnings(&response)
            .iter()
            .any(|w| w.contains("an empty aadpodidbinding selects no AzureIdentityBinding")),
        "{response:?}"
    );
}

/// A Deployment whose pods carry `aadpodidbinding: api`.
fn legacy_deployment() -> Value {
    let template = legacy_pod("api");
    let mut request = request(
        "apps",
        "Deployment",
        "ns1",
        "CREATE",
        json!({ "apiVersion": "apps/v1", "kind": "Deployment", "metadata": { "name": "web" },
            "spec": { "template": { "metadata": template["metadata"], "spec": template["spec"] } } }),
    );
    request["kind"]["version"] = json!("v1");
    request
}

#[rstest::rstest]
#[case::reference_7_the_migrated_client_id_outside_the_allowlist(json!({ "allowedClientIds": { "ns1": [CLIENT] } }), Some((403, "is not allowed in namespace")))]
#[case::reference_7_the_added_proxy_outside_its_namespaces(json!({ "proxy": { "allowedNamespaces": ["other"] } }), Some((403, "the proxy that setting legacyPodIdentity: migrate adds")))]
#[case::reference_7_both_allowed(json!({ "allowedClientIds": { "ns1": [MI] } }), None)]
fn reference_7_templates_of_migrated_pods_get_their_checks(
    #[case] extra: Value,
    #[case] rejected: Option<(u16, &str)>,
) {
    let fake = cluster(json!({}));
    let response = run(legacy_deployment(), migrate(extra), &fake);
    match rejected {
        Some((code, fragment)) => {
            assert_rejected(&response, code, fragment);
            let message = response.message.unwrap_or_default();
            assert!(
                message.starts_with("Deployment ns1/web: pod template: "),
                "{message}"
            );
        }
        None => {
            assert!(response.accepted, "{response:?}");
            assert_eq!(response.mutated_object, None, "templates are never mutated");
        }
    }
    assert_eq!(kinds(&fake), MIGRATION_CALLS);
}

#[test]
fn reference_7_a_template_uses_the_service_account_s_client_id_when_it_has_one() {
    let fake = cluster(json!({ "azure.workload.identity/client-id": CLIENT }));
    let settings = migrate(json!({ "allowedClientIds": { "ns1": [CLIENT] } }));
    let response = run(legacy_deployment(), settings, &fake);
    assert!(response.accepted, "{response:?}");
}

#[test]
fn reference_7_validate_only_templates_are_not_held_to_the_migration() {
    let fake = cluster(json!({}));
    let settings = migrate(json!({ "mutate": false, "allowedClientIds": { "ns1": [CLIENT] } }));
    let response = run(legacy_deployment(), settings, &fake);
    assert!(response.accepted, "{response:?}");
}
