//! SPEC revision 2 through the full native entry: each test is named after the section it pins.

use azure_workload_identity_policy::cluster::fake::{Call, FakeCluster};
use azure_workload_identity_policy::testing::*;
use proptest::prelude::*;
use serde_json::{Value, json};

const BINDING: &str = "azure.workload.identity/use-identity-binding";
const PROXY: &str = "azure.workload.identity/inject-proxy-sidecar";
const USER: &str = "system:serviceaccount:ns1:sa";
const ALLOW: &[u8] = br#"{"allowed":true}"#;

fn binding_settings(extra: Value) -> Value {
    let mut base = json!({ "identityBinding": { "tokenProxy": "https://proxy.example.com" } });
    if let (Some(base), Some(extra)) = (base.as_object_mut(), extra.as_object()) {
        base.extend(extra.clone());
    }
    settings(base)
}

fn annotated(mut pod: Value, annotations: Value) -> Value {
    pod["metadata"]["annotations"] = annotations;
    pod
}

fn volume_names(pod: &Value) -> Vec<String> {
    pod["spec"]["volumes"]
        .as_array()
        .map(|v| {
            v.iter()
                .filter_map(|v| v["name"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn token_file(pod: &Value, list: &str, index: usize) -> Option<String> {
    env_of(pod, list, index)
        .into_iter()
        .find(|(n, _)| n == "AZURE_FEDERATED_TOKEN_FILE")
        .map(|(_, v)| v)
}

#[test]
fn spec_4_2_deprecated_service_account_field_names_the_service_account() {
    let mut pod = labelled_pod("pod", "");
    pod["spec"]["serviceAccount"] = json!("legacy-sa");
    let fake = cluster_with_sa("ns1", "legacy-sa");
    let response = run(pod_request("ns1", pod), settings(json!({})), &fake);
    assert!(response.accepted, "{response:?}");
    let pod = mutated(&response);
    assert!(env_of(pod, "containers", 0).contains(&("AZURE_CLIENT_ID".into(), CLIENT.into())));
    assert!(matches!(&fake.calls()[..], [Call::Get { name, .. }] if name == "legacy-sa"));
}

#[test]
fn spec_2_v161_layout_mounts_the_token_at_its_hash() {
    let fake = cluster_with_sa("ns1", "sa");
    let response = run(
        pod_request("ns1", labelled_pod("pod", "sa")),
        settings(json!({ "tokenVolumeLayout": "v1.6.1" })),
        &fake,
    );
    let pod = mutated(&response);
    let hash = "425c89ed5bb78a7623fae60fd8a6f6";
    assert_eq!(
        volume_names(pod),
        [format!("azure-workload-identity-reserved-{hash}")]
    );
    assert_eq!(
        token_file(pod, "containers", 0).as_deref(),
        Some(format!("/var/run/secrets/azure/wi/{hash}/token/azure-identity-token").as_str())
    );
    assert_eq!(
        pod["spec"]["containers"][0]["volumeMounts"][0]["mountPath"],
        json!(format!("/var/run/secrets/azure/wi/{hash}"))
    );
}

#[rstest::rstest]
#[case::v16("v1.6")]
#[case::v161("v1.6.1")]
fn spec_2_reserved_volume_hashed_from_generate_name_is_adopted(#[case] layout: &str) {
    let fake = cluster_with_sa("ns1", "sa");
    let settings = settings(json!({ "tokenVolumeLayout": layout }));
    let mut pod = labelled_pod("", "sa");
    pod["metadata"]["generateName"] = json!("web-");
    let first = mutated(&run(pod_request("ns1", pod), settings.clone(), &fake)).clone();
    let mut stored = first.clone();
    api_server_defaults(&mut stored);
    let again = run(pod_request("ns1", stored.clone()), settings, &fake);
    assert!(again.accepted, "{again:?}");
    assert_eq!(
        again.mutated_object, None,
        "a second token volume was added: {again:?}"
    );
    assert_eq!(volume_names(&stored).len(), 1);
}

#[test]
fn spec_4_11_skip_containers_naming_the_proxy_is_rejected() {
    let pod = annotated(
        labelled_pod("pod", "sa"),
        json!({ PROXY: "true", "azure.workload.identity/skip-containers": "azwi-proxy" }),
    );
    let response = run(
        pod_request("ns1", pod),
        settings(json!({})),
        &cluster_with_sa("ns1", "sa"),
    );
    assert_rejected(
        &response,
        400,
        "names azwi-proxy, but the proxy needs the identity",
    );
}

#[rstest::rstest]
#[case::value_from(json!({ "env": [{ "name": "AZURE_CLIENT_ID", "valueFrom": { "secretKeyRef": { "name": "s", "key": "k" } } }] }), "valueFrom")]
#[case::env_from(json!({ "envFrom": [{ "secretRef": { "name": "s" } }] }), "envFrom")]
fn spec_4_11_binding_client_id_from_a_reference_warns(#[case] container: Value, #[case] how: &str) {
    let mut pod = annotated(labelled_pod("pod", "sa"), json!({ BINDING: "true" }));
    let mut c = json!({ "name": "container", "image": "image" });
    if let (Some(c), Some(extra)) = (c.as_object_mut(), container.as_object()) {
        c.extend(extra.clone());
    }
    pod["spec"]["containers"][0] = c;
    // Validate-only: nothing the policy injects overrides envFrom.
    let fake = cluster_with_sa("ns1", "sa").with_review(USER, CLIENT, Ok(ALLOW.to_vec()));
    let settings = binding_settings(json!({ "mutate": false, "verifyInjection": "off" }));
    let response = run(pod_request("ns1", pod.clone()), settings.clone(), &fake);
    let warnings = response.warnings.clone().unwrap_or_default();
    assert!(
        warnings
            .iter()
            .any(|w| w.contains(&format!("from {how} it cannot be authorized"))),
        "{response:?}"
    );
    let mut strict = settings;
    strict["allowedClientIds"] = json!({ "ns1": [CLIENT] });
    let response = run(pod_request("ns1", pod), strict, &fake);
    assert_rejected(
        &response,
        403,
        "nor checked against setting allowedClientIds",
    );
}

#[test]
fn spec_6_allowlist_applies_to_a_hand_written_workload_identity_token() {
    let pod = json!({ "metadata": { "name": "pod" }, "spec": {
        "serviceAccountName": "sa",
        "containers": [{ "name": "c", "env": [{ "name": "AZURE_CLIENT_ID", "value": "7b2c4a8e-1f3d-4e5a-9b6c-2d8e0f1a3b5c" }] }],
        "volumes": [{ "name": "t", "projected": { "sources": [{ "serviceAccountToken": {
            "path": "token", "audience": "api://AzureADTokenExchange" } }] } }] } });
    let fake = FakeCluster::new();
    let response = run(
        pod_request("ns1", pod),
        settings(json!({ "allowedClientIds": { "ns1": [CLIENT] } })),
        &fake,
    );
    assert_rejected(&response, 403, "is not allowed in namespace");
    assert_eq!(fake.calls(), vec![], "no ServiceAccount lookup is needed");
}

#[rstest::rstest]
#[case::user_info("https://user@proxy.example.com")]
#[case::query("https://proxy.example.com/?a=b")]
#[case::fragment("https://proxy.example.com/#x")]
#[case::no_host("https:///path")]
fn spec_3_token_proxy_url_the_sdks_refuse_is_invalid(#[case] url: &str) {
    let settings = json!({ "tenantId": TENANT, "identityBinding": { "tokenProxy": url } });
    let error =
        azure_workload_identity_policy::settings::parse_and_check(settings.to_string().as_bytes())
            .err()
            .unwrap_or_default();
    assert!(error.starts_with("identityBinding.tokenProxy:"), "{error}");
}

#[test]
fn spec_3_default_proxy_images_are_on_the_v2_path() {
    let fake = cluster_with_sa("ns1", "sa");
    let pod = annotated(labelled_pod("pod", "sa"), json!({ PROXY: "true" }));
    let pod = mutated(&run(pod_request("ns1", pod), settings(json!({})), &fake)).clone();
    let images: Vec<&str> = pod["spec"]["initContainers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["image"].as_str())
        .filter(|i| i.contains("workload-identity/proxy"))
        .collect();
    assert_eq!(
        images,
        [
            "mcr.microsoft.com/oss/v2/azure/workload-identity/proxy:v1.6.0",
            "mcr.microsoft.com/oss/v2/azure/workload-identity/proxy-init:v1.6.0"
        ]
    );
}

fn containers() -> impl Strategy<Value = Vec<Value>> {
    prop::collection::vec(
        ("[a-z]{1,6}", prop::option::of("[A-Z_]{1,8}"), any::<bool>()).prop_map(
            |(name, env, image)| {
                let mut c = json!({ "name": name });
                if let Some(env) = env {
                    c["env"] = json!([{ "name": env, "value": "v" }]);
                }
                if image {
                    c["image"] = json!("registry.example/app:1");
                }
                c
            },
        ),
        1..4,
    )
    .prop_map(|mut list| {
        for (i, c) in list.iter_mut().enumerate() {
            c["name"] = json!(format!("{}-{i}", c["name"].as_str().unwrap_or("c")));
        }
        list
    })
}

proptest! {
    /// SPEC §4.9: mutate, let the API server default the result, run again: nothing to patch.
    /// Each layout, with and without identity binding and the proxy, named or generated.
    #[test]
    fn spec_4_9_a_defaulted_rerun_changes_nothing(
        layout in prop::sample::select(vec!["classic", "v1.6", "v1.6.1"]),
        binding in any::<bool>(),
        proxy in any::<bool>(),
        native in any::<bool>(),
        generated in any::<bool>(),
        ca in prop::sample::select(vec!["none", "configMap", "trustBundle", "data"]),
        containers in containers(),
        init in prop::collection::vec("[a-z]{1,6}", 0..2),
    ) {
        let mut pod = labelled_pod(if generated { "" } else { "web-1" }, "sa");
        if generated {
            pod["metadata"]["generateName"] = json!("web-");
        }
        pod["spec"]["containers"] = json!(containers);
        pod["spec"]["initContainers"] =
            json!(init.iter().enumerate().map(|(i, n)| json!({ "name": format!("{n}-init{i}") })).collect::<Vec<_>>());
        let mut annotations = serde_json::Map::new();
        if binding {
            annotations.insert(BINDING.into(), json!("true"));
        }
        if proxy {
            annotations.insert(PROXY.into(), json!("true"));
        }
        pod["metadata"]["annotations"] = Value::Object(annotations);
        let mut identity_binding = json!({ "tokenProxy": "https://proxy.example.com" });
        match ca {
            "configMap" => identity_binding["caConfigMap"] = json!("kube-root-ca.crt"),
            "trustBundle" => identity_binding["caClusterTrustBundle"] = json!({ "signerName": "example.com/agent" }),
            "data" => identity_binding["caData"] = json!("-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----"),
            _ => {}
        }
        let settings = settings(json!({
            "tokenVolumeLayout": layout,
            "proxy": { "nativeSidecar": native },
            "identityBinding": identity_binding,
        }));
        let fake = cluster_with_sa("ns1", "sa").with_review(USER, CLIENT, Ok(ALLOW.to_vec()));
        let first = run(pod_request("ns1", pod), settings.clone(), &fake);
        prop_assert!(first.accepted, "{:?}", first);
        let mut stored = mutated(&first).clone();
        api_server_defaults(&mut stored);
        let again = run(pod_request("ns1", stored.clone()), settings, &fake);
        prop_assert!(again.accepted, "{:?}", again);
        prop_assert_eq!(again.mutated_object.as_ref(), None, "stored: {}", stored);
        // The invariant of SPEC §2: one token volume, every token file inside its mount.
        let tokens: Vec<String> = volume_names(&stored)
            .into_iter()
            .filter(|n| n.starts_with("azure-workload-identity-reserved-") || n == "azure-identity-token")
            .collect();
        prop_assert_eq!(tokens.len(), 1);
        for list in ["initContainers", "containers"] {
            let count = stored["spec"][list].as_array().map_or(0, Vec::len);
            for i in 0..count {
                let file = token_file(&stored, list, i).unwrap_or_default();
                let mounts = stored["spec"][list][i]["volumeMounts"].as_array().cloned().unwrap_or_default();
                let mount = mounts.iter().find(|m| m["name"] == json!(tokens[0]));
                let path = mount.and_then(|m| m["mountPath"].as_str()).unwrap_or("<none>");
                prop_assert!(file.starts_with(&format!("{path}/")), "{} in {}[{}] not under {}", file, list, i, path);
            }
        }
    }
}

const NS63: &str = "team-payments-settlement-reconciliation-eu-west-production-0001";
const POD63: &str = "settlement-reconciler-7d9f8b7c5d-x2x4z-with-a-long-suffix-00001";
const GUID: &str = "7b2c4a8e-1f3d-4e5a-9b6c-2d8e0f1a3b5c";
const OTHER_GUID: &str = "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d";

/// Every warning of `response`, asserted whole: at most 256 characters and not cut.
fn assert_whole(
    response: &kubewarden_policy_sdk::response::ValidationResponse,
    what: &str,
) -> usize {
    let warnings = response.warnings.clone().unwrap_or_default();
    assert!(!warnings.is_empty(), "{what}: no warning: {response:?}");
    for w in &warnings {
        assert!(
            w.chars().count() <= 256 && !w.contains('…'),
            "{what}: {} chars: {w}",
            w.chars().count()
        );
    }
    warnings.len()
}

/// SPEC §9: every warning the policy can emit, rendered with 63-character namespace and pod
/// names and 36-character GUIDs, fits the API server's 256 characters untruncated.
#[test]
fn spec_9_every_warning_fits_whole_with_realistic_names() {
    assert_eq!((NS63.len(), POD63.len(), GUID.len()), (63, 63, 36));
    let sa = |annotations: Value| {
        FakeCluster::new().with_service_account(NS63, "workload-sa", annotations)
    };
    let with_id = || sa(json!({ "azure.workload.identity/client-id": GUID }));
    let pod = |labels: Value, annotations: Value| {
        json!({
        "metadata": { "name": POD63, "labels": labels, "annotations": annotations },
        "spec": { "serviceAccountName": "workload-sa", "containers": [{ "name": "app", "image": "i" }] } })
    };
    let opted = || json!({ "azure.workload.identity/use": "true" });
    let mut seen = 0;
    let mut check = |request: Value, settings: Value, cluster: &FakeCluster, what: &str| {
        let response = run(request, settings, cluster);
        if std::env::var("SHOW").is_ok() {
            eprintln!("{what}: {response:?}");
        }
        seen += assert_whole(&response, what);
    };
    // §4a, §1: typos, keys on the wrong object, labels written as annotations.
    check(
        pod_request(
            NS63,
            pod(
                json!({}),
                json!({ "azure.workload.identity/skip_containers": "a" }),
            ),
        ),
        settings(json!({})),
        &with_id(),
        "typo",
    );
    check(
        pod_request(
            NS63,
            pod(
                opted(),
                json!({ "azure.workload.identity/client-id": GUID }),
            ),
        ),
        settings(json!({})),
        &with_id(),
        "client-id on a pod",
    );
    check(
        pod_request(
            NS63,
            pod(
                json!({ "azure.workload.identity/service-account-token-expiration": "3600" }),
                json!({}),
            ),
        ),
        settings(json!({})),
        &with_id(),
        "annotation as a label",
    );
    // §4.11: label missing or not exactly "true"; proxy annotation neither true nor false.
    check(
        pod_request(
            NS63,
            pod(
                json!({}),
                json!({ "azure.workload.identity/use-identity-binding": "true" }),
            ),
        ),
        settings(json!({})),
        &with_id(),
        "missing label",
    );
    check(
        pod_request(
            NS63,
            pod(json!({ "azure.workload.identity/use": "True" }), json!({})),
        ),
        settings(json!({})),
        &with_id(),
        "label value",
    );
    check(
        pod_request(NS63, pod(opted(), json!({ PROXY: "yes" }))),
        settings(json!({})),
        &with_id(),
        "proxy value",
    );
    // §4.11: no client ID; skip-containers naming nothing; Windows without spec.os.
    check(
        pod_request(NS63, pod(opted(), json!({}))),
        settings(json!({})),
        &sa(json!({})),
        "no client ID",
    );
    check(
        pod_request(
            NS63,
            pod(
                opted(),
                json!({ "azure.workload.identity/skip-containers": "sidecar" }),
            ),
        ),
        settings(json!({})),
        &with_id(),
        "skip-containers",
    );
    let mut windows = pod(opted(), json!({}));
    windows["spec"]["nodeSelector"] = json!({ "kubernetes.io/os": "windows" });
    check(
        pod_request(NS63, windows),
        settings(json!({})),
        &with_id(),
        "windows",
    );
    // §8: legacy pod identity.
    check(
        pod_request(NS63, pod(json!({ "aadpodidbinding": POD63 }), json!({}))),
        settings(json!({})),
        &with_id(),
        "aadpodidbinding",
    );
    // §4.11: a Key Vault CSI client ID that differs from the ServiceAccount's.
    let mut csi = pod(opted(), json!({}));
    csi["spec"]["volumes"] = json!([{ "name": "secrets", "csi": { "driver": "secrets-store.csi.k8s.io", "volumeAttributes": { "secretProviderClass": "kv-secrets" } } }]);
    let spc = json!({ "kind": "SecretProviderClass", "spec": { "provider": "azure", "parameters": { "clientID": OTHER_GUID } } });
    check(
        pod_request(NS63, csi),
        settings(json!({})),
        &with_id().with_object(
            "SecretProviderClass",
            NS63,
            "kv-secrets",
            Ok(spc.to_string().into_bytes()),
        ),
        "CSI mismatch",
    );
    // §4.11: an identity-binding client ID taken from valueFrom.
    let mut indirect = pod(opted(), json!({ BINDING: "true" }));
    indirect["spec"]["containers"][0]["env"] =
        json!([{ "name": "AZURE_CLIENT_ID", "valueFrom": { "fieldRef": { "fieldPath": "x" } } }]);
    let user = format!("system:serviceaccount:{NS63}:workload-sa");
    check(
        pod_request(NS63, indirect),
        binding_settings(json!({ "mutate": false, "verifyInjection": "off" })),
        &with_id().with_review(&user, GUID, Ok(ALLOW.to_vec())),
        "valueFrom",
    );
    // §10: not mutated (warn), a container without the token file.
    check(
        pod_request(NS63, pod(opted(), json!({}))),
        settings(json!({ "mutate": false, "verifyInjection": "warn" })),
        &with_id(),
        "not mutated",
    );
    let mut late = pod(opted(), json!({}));
    late["spec"]["volumes"] =
        json!([{ "name": "azure-identity-token", "projected": { "sources": [] } }]);
    late["spec"]["containers"][0]["env"] =
        json!([{ "name": "AZURE_FEDERATED_TOKEN_FILE", "value": "/t" }]);
    if let Some(containers) = late["spec"]["containers"].as_array_mut() {
        containers.push(json!({ "name": "istio-proxy" }));
    }
    check(
        pod_request(NS63, late),
        settings(json!({ "mutate": false })),
        &with_id(),
        "late sidecar",
    );
    // §7: a template whose ServiceAccount does not exist yet.
    let deployment = json!({ "metadata": { "name": POD63 }, "spec": { "template": pod(opted(), json!({ "azure.workload.identity/skip_containers": "a" })) } });
    check(
        request("apps", "Deployment", NS63, "CREATE", deployment),
        settings(json!({})),
        &FakeCluster::new(),
        "template",
    );
    // §5: an upper-case client ID on a ServiceAccount, and its typos.
    let account = json!({ "metadata": { "name": POD63, "namespace": NS63, "annotations": {
        "azure.workload.identity/client-id": GUID.to_ascii_uppercase(), "azure.workload.identity/tenant_id": "x" } } });
    check(
        request("", "ServiceAccount", NS63, "CREATE", account),
        settings(json!({})),
        &FakeCluster::new(),
        "service account",
    );
    // §8: a pod migrated from AAD Pod Identity (four warnings: what happened, three steps),
    // and one whose ServiceAccount's client ID wins.
    // Binding and identity names as users write them; the label value as long as a name.
    let binding = json!({ "items": [{ "metadata": { "name": "payments-binding" }, "spec": { "selector": POD63, "azureIdentity": "payments-identity" } }] });
    let identity = json!({ "kind": "AzureIdentity", "spec": { "clientID": OTHER_GUID } });
    let aad = |cluster: FakeCluster| {
        cluster
            .with_list(
                "AzureIdentityBinding",
                NS63,
                Ok(binding.to_string().into_bytes()),
            )
            .with_object(
                "AzureIdentity",
                NS63,
                "payments-identity",
                Ok(identity.to_string().into_bytes()),
            )
    };
    let legacy = || pod(json!({ "aadpodidbinding": POD63 }), json!({}));
    let migrate = settings(json!({ "legacyPodIdentity": "migrate" }));
    check(
        pod_request(NS63, legacy()),
        migrate.clone(),
        &aad(with_id()),
        "migrated",
    );
    check(
        pod_request(NS63, legacy()),
        migrate.clone(),
        &aad(sa(json!({}))),
        "migrated, no SA id",
    );
    check(
        pod_request(NS63, legacy()),
        migrate,
        &aad(FakeCluster::new()).with_list(
            "AzureIdentityBinding",
            NS63,
            Ok(br#"{"items":[]}"#.to_vec()),
        ),
        "no binding",
    );
    assert!(seen >= 26, "{seen} warnings rendered");
}
