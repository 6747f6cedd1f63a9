//! reference §2 and §4: what the policy injects into an opted-in pod, through the full `evaluate`
//! entry with the in-memory cluster (upstream v1.6.0's `webhook_test.go` cases ported where
//! they apply), and the one idempotence property of §4.9.

use azure_workload_identity_policy::cluster::fake::{Call, FakeCluster};
use azure_workload_identity_policy::testing::*;
use proptest::prelude::*;
use serde_json::{Map, Value, json};

const PROXY: &str = "azure.workload.identity/inject-proxy-sidecar";
const BINDING: &str = "azure.workload.identity/use-identity-binding";

const TOKEN_FILE: &str = "/var/run/secrets/azure/tokens/azure-identity-token";

const AUTHORITY: &str = "https://login.microsoftonline.com/";

fn classic_env(client: &str) -> Vec<(String, String)> {
    [
        ("AZURE_CLIENT_ID", client),
        ("AZURE_TENANT_ID", TENANT),
        ("AZURE_FEDERATED_TOKEN_FILE", TOKEN_FILE),
        ("AZURE_AUTHORITY_HOST", AUTHORITY),
    ]
    .iter()
    .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
    .collect()
}

fn mutate(pod: Value, extra_settings: Value, cluster: &FakeCluster) -> Value {
    let response = run(pod_request("ns1", pod), settings(extra_settings), cluster);
    assert!(response.accepted, "{response:?}");
    mutated(&response).clone()
}

fn rejection(pod: Value, extra_settings: Value, cluster: &FakeCluster) -> (u16, String) {
    let response = run(pod_request("ns1", pod), settings(extra_settings), cluster);
    assert!(!response.accepted, "expected a rejection, got {response:?}");
    (
        response.code.unwrap_or_default(),
        response.message.unwrap_or_default(),
    )
}

#[test]
fn spec_4_1_unlabeled_pod_is_accepted_without_host_call_or_change() {
    let mut pod = labelled_pod("pod", "sa");
    pod["metadata"]["labels"] = json!({ "app": "web" });
    let fake = FakeCluster::new();
    let response = run(pod_request("ns1", pod), settings(json!({})), &fake);
    assert!(response.accepted);
    assert_eq!(response.mutated_object, None);
    assert_eq!(fake.calls(), vec![]);
}

#[test]
fn spec_4_1_label_must_be_exactly_true() {
    let mut pod = labelled_pod("pod", "sa");
    pod["metadata"]["labels"]["azure.workload.identity/use"] = json!("True");
    let fake = cluster_with_sa("ns1", "sa");
    let response = run(pod_request("ns1", pod), settings(json!({})), &fake);
    assert_eq!(response.mutated_object, None);
    assert_eq!(fake.calls(), vec![]);
}

#[test]
fn spec_4_pod_updates_are_left_alone() {
    let fake = cluster_with_sa("ns1", "sa");
    let response = run(
        request("", "Pod", "ns1", "UPDATE", labelled_pod("pod", "sa")),
        settings(json!({})),
        &fake,
    );
    assert!(response.accepted);
    assert_eq!(response.mutated_object, None);
    assert_eq!(fake.calls(), vec![]);
}

// Upstream TestHandle "default service account in cache".
#[test]
fn spec_4_2_default_service_account_when_name_is_empty() {
    let fake = cluster_with_sa("ns1", "default");
    let pod = mutate(labelled_pod("pod", ""), json!({}), &fake);
    assert_eq!(env_of(&pod, "containers", 0), classic_env(CLIENT));
    assert_eq!(
        fake.calls(),
        vec![Call::Get {
            kind: "ServiceAccount".into(),
            namespace: "ns1".into(),
            name: "default".into(),
            disable_cache: false
        }]
    );
}

// Upstream TestHandleError "service account not found".
#[test]
fn spec_4_2_missing_service_account_is_retried_uncached_then_rejected() {
    let fake = FakeCluster::new();
    let (code, message) = rejection(labelled_pod("pod", "sa"), json!({}), &fake);
    assert_eq!(code, 400);
    assert!(
        message.contains("Pod ns1/pod") && message.contains("ServiceAccount ns1/sa"),
        "{message}"
    );
    assert!(message.contains("not found"), "{message}");
    assert_eq!(fake.calls().len(), 2);
}

#[test]
fn spec_4_2_host_failure_rejects_with_500() {
    let fake = FakeCluster::new().with_object(
        "ServiceAccount",
        "ns1",
        "sa",
        Err("connection refused".into()),
    );
    let (code, message) = rejection(labelled_pod("pod", "sa"), json!({}), &fake);
    assert_eq!(code, 500);
    assert!(message.contains("connection refused"), "{message}");
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

// Upstream TestMutateContainers "one container" + TestAddProjectedVolume "no volumes", classic layout.
#[test]
fn spec_4_6_classic_layout_injects_env_mount_and_volume_into_every_container() {
    let pod = mutate(
        labelled_pod("pod", "sa"),
        json!({}),
        &cluster_with_sa("ns1", "sa"),
    );
    for list in ["initContainers", "containers"] {
        assert_eq!(env_of(&pod, list, 0), classic_env(CLIENT), "{list}");
        assert_eq!(
            pod["spec"][list][0]["volumeMounts"],
            json!([{ "name": "azure-identity-token", "mountPath": "/var/run/secrets/azure/tokens", "readOnly": true }])
        );
    }
    assert_eq!(
        pod["spec"]["volumes"],
        json!([{ "name": "azure-identity-token", "projected": { "sources": [{ "serviceAccountToken": {
            "path": "azure-identity-token", "expirationSeconds": 3600, "audience": "api://AzureADTokenExchange" } }] } }])
    );
}

#[test]
fn spec_2_v16_layout_uses_hashed_volume_name_and_wi_mount() {
    let pod = mutate(
        labelled_pod("pod", "sa"),
        json!({ "tokenVolumeLayout": "v1.6" }),
        &cluster_with_sa("ns1", "sa"),
    );
    let name = "azure-workload-identity-reserved-425c89ed5bb78a7623fae60fd8a6f6";
    assert_eq!(pod["spec"]["volumes"][0]["name"], json!(name));
    assert_eq!(
        pod["spec"]["volumes"][0]["projected"]["sources"][0]["serviceAccountToken"]["path"],
        json!("token/azure-identity-token")
    );
    assert_eq!(
        pod["spec"]["containers"][0]["volumeMounts"],
        json!([{ "name": name, "mountPath": "/var/run/secrets/azure/wi", "readOnly": true }])
    );
    assert!(env_of(&pod, "containers", 0).contains(&(
        "AZURE_FEDERATED_TOKEN_FILE".into(),
        "/var/run/secrets/azure/wi/token/azure-identity-token".into()
    )));
}

#[test]
fn spec_2_v16_volume_name_hashes_generate_name_with_prefix_marker() {
    let mut pod = labelled_pod("", "sa");
    pod["metadata"]["generateName"] = json!("nginx-");
    let pod = mutate(
        pod,
        json!({ "tokenVolumeLayout": "v1.6" }),
        &cluster_with_sa("ns1", "sa"),
    );
    assert_eq!(
        pod["spec"]["volumes"][0]["name"],
        json!("azure-workload-identity-reserved-a593e7a20a167d3f74f090069e6130")
    );
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

// Upstream TestAddProjectedVolume "existing projected service account token volume overridden".
#[test]
fn spec_2_existing_volume_and_mount_of_reserved_name_are_replaced() {
    let mut pod = labelled_pod("pod", "sa");
    pod["spec"]["volumes"] = json!([
        { "name": "data", "emptyDir": {} },
        { "name": "azure-identity-token", "projected": { "sources": [{ "serviceAccountToken": { "path": "my", "audience": "aud" } }] } },
    ]);
    pod["spec"]["containers"][0]["volumeMounts"] =
        json!([{ "name": "azure-identity-token", "mountPath": "/elsewhere" }]);
    let pod = mutate(pod, json!({}), &cluster_with_sa("ns1", "sa"));
    assert_eq!(pod["spec"]["volumes"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        pod["spec"]["volumes"][0],
        json!({ "name": "data", "emptyDir": {} })
    );
    assert_eq!(
        pod["spec"]["volumes"][1]["projected"]["sources"][0]["serviceAccountToken"]["audience"],
        json!("api://AzureADTokenExchange")
    );
    assert_eq!(
        pod["spec"]["containers"][0]["volumeMounts"],
        json!([{ "name": "azure-identity-token", "mountPath": "/var/run/secrets/azure/tokens", "readOnly": true }])
    );
}

// Upstream TestAddEnvironmentVariables "existing environment variables not replaced" and
// "environment variables added to existing list".
#[test]
fn spec_4_6_existing_env_is_never_overwritten_and_new_env_is_appended() {
    let mut pod = labelled_pod("pod", "sa");
    pod["spec"]["containers"][0]["env"] = json!([
        { "name": "MY_ENV_VAR", "value": "test" },
        { "name": "AZURE_CLIENT_ID", "value": "myClientID" },
        { "name": "AZURE_TENANT_ID", "valueFrom": { "secretKeyRef": { "name": "s", "key": "k" } } },
    ]);
    let pod = mutate(pod, json!({}), &cluster_with_sa("ns1", "sa"));
    assert_eq!(
        env_of(&pod, "containers", 0),
        vec![
            ("MY_ENV_VAR".into(), "test".into()),
            ("AZURE_CLIENT_ID".into(), "myClientID".into()),
            ("AZURE_TENANT_ID".into(), "<valueFrom>".into()),
            ("AZURE_FEDERATED_TOKEN_FILE".into(), TOKEN_FILE.into()),
            ("AZURE_AUTHORITY_HOST".into(), AUTHORITY.into()),
        ]
    );
}

// Upstream "environment variables are not added when empty"; reference §4.11 warning.
#[test]
fn spec_4_6_empty_client_id_is_not_injected_and_warns() {
    let fake = FakeCluster::new().with_service_account("ns1", "sa", json!({}));
    let response = run(
        pod_request("ns1", labelled_pod("pod", "sa")),
        settings(json!({})),
        &fake,
    );
    let pod = mutated(&response);
    assert!(
        !env_of(pod, "containers", 0)
            .iter()
            .any(|(n, _)| n == "AZURE_CLIENT_ID")
    );
    let warnings = response.warnings.clone().unwrap_or_default();
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("no identity: annotate ServiceAccount")),
        "{warnings:?}"
    );
}

// Upstream TestGetTenantID; deviation: an empty annotation falls back to the setting.
#[rstest::rstest]
#[case::annotation_wins(json!({ "azure.workload.identity/tenant-id": "contoso.onmicrosoft.com" }), "contoso.onmicrosoft.com")]
#[case::setting_when_absent(json!({}), TENANT)]
#[case::setting_when_empty(json!({ "azure.workload.identity/tenant-id": "" }), TENANT)]
fn spec_4_5_tenant_id(#[case] annotations: Value, #[case] expected: &str) {
    let fake = FakeCluster::new().with_service_account("ns1", "sa", annotations);
    let pod = mutate(labelled_pod("pod", "sa"), json!({}), &fake);
    assert!(env_of(&pod, "containers", 0).contains(&("AZURE_TENANT_ID".into(), expected.into())));
}

// Upstream TestMutateContainers "one container and one skip container".
#[test]
fn spec_4_6_skipped_containers_are_left_alone() {
    let mut pod = labelled_pod("pod", "sa");
    pod["metadata"]["annotations"] =
        json!({ "azure.workload.identity/skip-containers": " init-container ; ghost" });
    let response = run(
        pod_request("ns1", pod),
        settings(json!({})),
        &cluster_with_sa("ns1", "sa"),
    );
    let pod = mutated(&response);
    assert_eq!(
        pod["spec"]["initContainers"][0],
        json!({ "name": "init-container", "image": "init-container-image" })
    );
    assert_eq!(env_of(pod, "containers", 0), classic_env(CLIENT));
    let warnings = response.warnings.clone().unwrap_or_default();
    assert!(
        warnings.iter().any(|w| w.contains("\"ghost\"")),
        "{warnings:?}"
    );
}

// Upstream TestGetServiceAccountTokenExpiration.
/// A labelled pod and its ServiceAccount's annotations, each with the expiration when given.
fn expiration_case(pod_value: Option<&str>, sa_value: Option<&str>) -> (Value, Value) {
    let annotation =
        |v: &str| json!({ "azure.workload.identity/service-account-token-expiration": v });
    let mut pod = labelled_pod("pod", "sa");
    if let Some(v) = pod_value {
        pod["metadata"]["annotations"] = annotation(v);
    }
    (pod, sa_value.map_or(json!({}), annotation))
}

#[rstest::rstest]
#[case::pod_preferred_over_sa(Some("4000"), Some("4800"), 4000)]
#[case::defined_in_service_account(None, Some("4800"), 4800)]
#[case::empty_pod_value_is_absent(Some(""), Some("4800"), 4800)]
#[case::default(None, None, 3600)]
fn spec_4_4_token_expiration(
    #[case] pod_value: Option<&str>,
    #[case] sa_value: Option<&str>,
    #[case] expected: i64,
) {
    let (pod, sa) = expiration_case(pod_value, sa_value);
    let fake = FakeCluster::new().with_service_account("ns1", "sa", sa);
    let pod = mutate(pod, json!({}), &fake);
    assert_eq!(
        pod["spec"]["volumes"][0]["projected"]["sources"][0]["serviceAccountToken"]["expirationSeconds"],
        json!(expected)
    );
}

#[rstest::rstest]
#[case::pod_with_unit(Some("3600s"), None, "the pod")]
#[case::pod_below_min(Some("3599"), None, "the pod")]
#[case::pod_above_max(Some("86401"), None, "the pod")]
#[case::sa_invalid(None, Some("invalid"), "ServiceAccount ns1/sa")]
fn spec_4_4_bad_token_expiration_is_rejected(
    #[case] pod_value: Option<&str>,
    #[case] sa_value: Option<&str>,
    #[case] source: &str,
) {
    let (pod, sa) = expiration_case(pod_value, sa_value);
    let (code, message) = rejection(
        pod,
        json!({}),
        &FakeCluster::new().with_service_account("ns1", "sa", sa),
    );
    assert_eq!(code, 400);
    let value = pod_value.or(sa_value).unwrap_or_default();
    for needle in [source, &format!("\"{value}\""), "3600 to 86400"] {
        assert!(message.contains(needle), "{message:?} lacks {needle:?}");
    }
}

#[test]
fn spec_4_10_mount_path_taken_by_another_volume_is_rejected() {
    let mut pod = labelled_pod("pod", "sa");
    pod["spec"]["containers"][0]["volumeMounts"] =
        json!([{ "name": "mine", "mountPath": "/var/run/secrets/azure/tokens" }]);
    let (code, message) = rejection(pod, json!({}), &cluster_with_sa("ns1", "sa"));
    assert_eq!(code, 400);
    assert!(
        message.contains("\"container\"")
            && message.contains("\"mine\"")
            && message.contains("skip-containers"),
        "{message}"
    );
}

fn proxy_pod(extra: Value) -> Value {
    let mut pod = labelled_pod("pod", "sa");
    pod["metadata"]["annotations"] = merged(json!({ PROXY: "true" }), extra);
    pod
}

#[test]
fn spec_4_3_native_proxy_goes_first_in_init_containers_and_init_last() {
    let pod = mutate(
        proxy_pod(json!({})),
        json!({}),
        &cluster_with_sa("ns1", "sa"),
    );
    assert_eq!(
        container_names(&pod, "initContainers"),
        ["azwi-proxy", "init-container", "azwi-proxy-init"]
    );
    assert_eq!(container_names(&pod, "containers"), ["container"]);
    assert_eq!(
        pod["spec"]["initContainers"][0]["restartPolicy"],
        json!("Always")
    );
    assert_eq!(
        pod["spec"]["initContainers"][0]["args"],
        json!(["--proxy-port=8000", "--log-level=info"])
    );
    // Proxy containers are then treated like any other (upstream: they get the env too).
    assert_eq!(env_of(&pod, "initContainers", 0), classic_env(CLIENT));
    let init_env = env_of(&pod, "initContainers", 2);
    assert_eq!(init_env[0], ("PROXY_PORT".into(), "8000".into()));
}

#[test]
fn spec_4_3_non_native_proxy_is_prepended_to_containers() {
    let pod = mutate(
        proxy_pod(json!({ "azure.workload.identity/proxy-sidecar-port": "8080" })),
        json!({ "proxy": { "nativeSidecar": false } }),
        &cluster_with_sa("ns1", "sa"),
    );
    assert_eq!(
        container_names(&pod, "initContainers"),
        ["init-container", "azwi-proxy-init"]
    );
    assert_eq!(
        container_names(&pod, "containers"),
        ["azwi-proxy", "container"]
    );
    assert_eq!(pod["spec"]["containers"][0].get("restartPolicy"), None);
    assert_eq!(
        pod["spec"]["containers"][0]["ports"],
        json!([{ "containerPort": 8080 }])
    );
}

#[test]
fn spec_4_3_existing_proxy_containers_are_left_alone() {
    let mut pod = proxy_pod(json!({}));
    pod["spec"]["containers"] = json!([{ "name": "azwi-proxy", "image": "custom" }, { "name": "container", "image": "image" }]);
    pod["spec"]["initContainers"] = json!([{ "name": "azwi-proxy-init", "image": "custom-init" }]);
    let pod = mutate(pod, json!({}), &cluster_with_sa("ns1", "sa"));
    assert_eq!(container_names(&pod, "initContainers"), ["azwi-proxy-init"]);
    assert_eq!(
        container_names(&pod, "containers"),
        ["azwi-proxy", "container"]
    );
    assert_eq!(pod["spec"]["containers"][0]["image"], json!("custom"));
}

#[rstest::rstest]
#[case::host_network(json!({}), Some(("hostNetwork", json!(true))), json!({}), 400, "hostNetwork")]
#[case::invalid_port(json!({ "azure.workload.identity/proxy-sidecar-port": "invalid" }), None, json!({}), 400, "\"invalid\"")]
#[case::namespace_not_allowed(json!({}), None, json!({ "proxy": { "allowedNamespaces": ["other"] } }), 403, "proxy.allowedNamespaces")]
#[case::windows(json!({}), Some(("os", json!({ "name": "windows" }))), json!({}), 400, "Linux-only")]
fn spec_4_3_proxy_rejections(
    #[case] annotations: Value,
    #[case] spec_field: Option<(&str, Value)>,
    #[case] extra_settings: Value,
    #[case] code: u16,
    #[case] needle: &str,
) {
    let mut pod = proxy_pod(annotations);
    if let Some((key, value)) = spec_field {
        pod["spec"][key] = value;
    }
    let (got, message) = rejection(pod, extra_settings, &cluster_with_sa("ns1", "sa"));
    assert_eq!(got, code, "{message}");
    assert!(
        message.contains(needle) && message.contains("inject-proxy-sidecar")
            || message.contains("proxy-sidecar-port"),
        "{message}"
    );
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

#[rstest::rstest]
#[case::false_is_off("false", false)]
#[case::upper_case_false_is_off("FALSE", false)]
#[case::unclear_value_warns("yes", true)]
fn spec_1_proxy_annotation_false_or_unclear_does_not_inject(
    #[case] value: &str,
    #[case] warns: bool,
) {
    let response = run(
        pod_request("ns1", proxy_pod(json!({ PROXY: value }))),
        settings(json!({})),
        &cluster_with_sa("ns1", "sa"),
    );
    let pod = mutated(&response);
    assert_eq!(container_names(pod, "initContainers"), ["init-container"]);
    let warned = response
        .warnings
        .unwrap_or_default()
        .iter()
        .any(|w| w.contains("to true or false"));
    assert_eq!(warned, warns);
}

// Upstream TestHandle "restart policy in init container" (upstream issue #1312).
#[test]
fn spec_4_9_unknown_and_newer_fields_survive() {
    let mut pod = labelled_pod("pod", "sa");
    pod["spec"]["initContainers"][0]["restartPolicy"] = json!("Always");
    pod["spec"]["futureSpecField"] = json!({ "x": [1, 2.5, "y"] });
    pod["spec"]["resources"] = json!({ "limits": { "cpu": "1" } });
    pod["spec"]["containers"][0]["futureContainerField"] = json!(true);
    pod["metadata"]["annotations"] = json!({ "other": "kept" });
    let out = mutate(pod.clone(), json!({}), &cluster_with_sa("ns1", "sa"));
    assert_eq!(
        out["spec"]["initContainers"][0]["restartPolicy"],
        json!("Always")
    );
    assert_eq!(
        out["spec"]["futureSpecField"],
        pod["spec"]["futureSpecField"]
    );
    assert_eq!(out["spec"]["resources"], pod["spec"]["resources"]);
    assert_eq!(
        out["spec"]["containers"][0]["futureContainerField"],
        json!(true)
    );
    assert_eq!(out["metadata"], pod["metadata"]);
}

fn binding_pod() -> Value {
    let mut pod = labelled_pod("pod", "sa");
    pod["metadata"]["annotations"] =
        json!({ "azure.workload.identity/use-identity-binding": "True" });
    pod
}

#[rstest::rstest]
#[case::configmap_classic("classic", json!({ "caConfigMap": "ca" }), Some("/var/run/secrets/azure/tokens/ca.crt"), false)]
#[case::configmap_v16("v1.6", json!({ "caConfigMap": "ca" }), Some("/var/run/secrets/azure/wi/ca-cert/ca.crt"), false)]
#[case::bundle_v16("v1.6", json!({ "caClusterTrustBundle": { "signerName": "example.com/s" } }), Some("/var/run/secrets/azure/wi/ca-cert/ca.crt"), false)]
#[case::ca_data_classic("classic", json!({ "caData": "-----BEGIN CERTIFICATE-----\nMII\n-----END CERTIFICATE-----" }), None, true)]
fn spec_4_8_identity_binding_env_and_audience(
    #[case] layout: &str,
    #[case] ca: Value,
    #[case] ca_file: Option<&str>,
    #[case] ca_data: bool,
) {
    // Authorization (reference §6) has its own tests; here only what is injected.
    let binding = merged(
        json!({ "tokenProxy": "https://proxy.example.com",
            "sniName": "sni.example.com", "authorize": false }),
        ca,
    );
    let pod = mutate(
        binding_pod(),
        json!({ "tokenVolumeLayout": layout, "identityBinding": binding }),
        &cluster_with_sa("ns1", "sa"),
    );
    let env = env_of(&pod, "containers", 0);
    assert!(env.contains(&(
        "AZURE_KUBERNETES_TOKEN_PROXY".into(),
        "https://proxy.example.com".into()
    )));
    assert!(env.contains(&("AZURE_KUBERNETES_SNI_NAME".into(), "sni.example.com".into())));
    assert_eq!(
        env.iter()
            .find(|(n, _)| n == "AZURE_KUBERNETES_CA_FILE")
            .map(|(_, v)| v.as_str()),
        ca_file
    );
    assert_eq!(
        env.iter().any(|(n, _)| n == "AZURE_KUBERNETES_CA_DATA"),
        ca_data
    );
    let sources = &pod["spec"]["volumes"][0]["projected"]["sources"];
    assert_eq!(
        sources[0]["serviceAccountToken"]["audience"],
        json!("api://AKSIdentityBinding")
    );
    assert_eq!(
        sources.as_array().map(Vec::len),
        Some(if ca_file.is_some() { 2 } else { 1 })
    );
}

#[test]
fn spec_4_8_identity_binding_without_token_proxy_is_rejected_when_mutating() {
    let (code, message) = rejection(binding_pod(), json!({}), &cluster_with_sa("ns1", "sa"));
    assert_eq!(code, 400);
    assert!(
        message.contains("identity binding is not configured")
            && message.contains("identityBinding.tokenProxy"),
        "{message}"
    );
}

#[rstest::rstest]
#[case::annotation_without_label(json!({}), json!({ "azure.workload.identity/inject-proxy-sidecar": "true" }), "without it azure.workload.identity/inject-proxy-sidecar has no effect")]
#[case::label_not_exact(json!({ "azure.workload.identity/use": "TRUE" }), json!({}), "to exactly \"true\"")]
#[case::typo(json!({}), json!({ "azure.workload.identity/skip_containers": "a" }), "did you mean azure.workload.identity/skip-containers?")]
#[case::client_id_on_pod(json!({ "azure.workload.identity/use": "true" }), json!({ "azure.workload.identity/client-id": CLIENT }), "to the ServiceAccount: it has no effect here")]
fn spec_4_11_and_4a_warnings(
    #[case] labels: Value,
    #[case] annotations: Value,
    #[case] needle: &str,
) {
    let pod = json!({ "apiVersion": "v1", "kind": "Pod",
        "metadata": { "name": "p", "labels": labels, "annotations": annotations },
        "spec": { "serviceAccountName": "sa", "containers": [{ "name": "c", "image": "i" }] } });
    let response = run(
        pod_request("ns1", pod),
        settings(json!({})),
        &cluster_with_sa("ns1", "sa"),
    );
    assert!(response.accepted, "{response:?}");
    let warnings = response.warnings.unwrap_or_default();
    assert!(
        warnings
            .iter()
            .any(|w| w.contains(needle) && w.starts_with("Pod p:")),
        "{warnings:?}"
    );
    assert!(
        warnings.iter().all(|w| w.chars().count() <= 256),
        "{warnings:?}"
    );
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

#[test]
fn spec_4_11_windows_node_selector_without_os_warns() {
    let mut pod = labelled_pod("pod", "sa");
    pod["spec"]["nodeSelector"] = json!({ "kubernetes.io/os": "windows" });
    let response = run(
        pod_request("ns1", pod.clone()),
        settings(json!({})),
        &cluster_with_sa("ns1", "sa"),
    );
    assert!(
        response
            .warnings
            .unwrap_or_default()
            .iter()
            .any(|w| w.contains("spec.os.name"))
    );
    pod["spec"]["os"] = json!({ "name": "windows" });
    let response = run(
        pod_request("ns1", pod),
        settings(json!({})),
        &cluster_with_sa("ns1", "sa"),
    );
    assert_eq!(response.warnings, None);
}

#[test]
fn spec_4_11_csi_client_id_differing_from_service_account_warns() {
    let mut pod = labelled_pod("pod", "sa");
    pod["spec"]["volumes"] = json!([{ "name": "kv", "csi": { "driver": "secrets-store.csi.k8s.io",
        "volumeAttributes": { "secretProviderClass": "kv" } } }]);
    let spc = json!({ "kind": "SecretProviderClass", "spec": { "provider": "azure",
        "parameters": key_vault_parameters(json!({ "clientID": "99999999-8888-7777-6666-555555555555" })) } });
    let fake = cluster_with_sa("ns1", "sa").with_object(
        "SecretProviderClass",
        "ns1",
        "kv",
        Ok(spc.to_string().into_bytes()),
    );
    let response = run(pod_request("ns1", pod), settings(json!({})), &fake);
    assert!(response.accepted, "{response:?}");
    let warnings = response.warnings.unwrap_or_default();
    assert!(
        warnings.iter().any(
            |w| w.contains("align the client IDs if one identity was meant")
                && w.contains("99999999-8888-7777-6666-555555555555")
        ),
        "{warnings:?}"
    );
}

// The idempotence property of reference §4.9, over every layout: the policy's output run again
// changes nothing, and neither does its output after the API server's defaulting. The same
// run pins the mutation's surgery: no `remove`, untouched paths left alone, existing env
// kept, one token volume with every injected token file inside its mount (§2).

const NAMES: &[&str] = &[
    "app",
    "sidecar",
    "init",
    "azwi-proxy",
    "azwi-proxy-init",
    "x",
];
const ENV_NAMES: &[&str] = &[
    "AZURE_CLIENT_ID",
    "AZURE_TENANT_ID",
    "AZURE_FEDERATED_TOKEN_FILE",
    "OTHER",
    "AZURE_AUTHORITY_HOST",
];
/// The client ID of the AzureIdentity a migrated pod's binding names (reference §8).
const MI: &str = "7b2c4a8e-1f3d-4e5a-9b6c-2d8e0f1a3b5c";

fn env_entry() -> impl Strategy<Value = Value> {
    (prop::sample::select(ENV_NAMES), any::<bool>(), "[a-z0-9]{0,6}").prop_map(|(name, literal, value)| {
        if literal {
            json!({ "name": name, "value": value })
        } else {
            json!({ "name": name, "valueFrom": { "fieldRef": { "fieldPath": "metadata.name" } } })
        }
    })
}

fn container(name: &'static str) -> impl Strategy<Value = Value> {
    (
        prop::option::of(prop::collection::vec(env_entry(), 0..4)),
        prop::option::of(prop::collection::vec(("[a-z]{1,5}", "/[a-z]{1,5}"), 0..3)),
        any::<bool>(),
        prop::option::of(prop::sample::select(vec!["Always", "OnFailure"])),
        any::<bool>(),
    )
        .prop_map(move |(env, mounts, future, restart, image)| {
            let mut c = Map::new();
            c.insert("name".into(), json!(name));
            if image {
                c.insert("image".into(), json!("img"));
            }
            if let Some(env) = env {
                c.insert("env".into(), Value::Array(env));
            }
            if let Some(mounts) = mounts {
                let mounts = mounts
                    .into_iter()
                    .map(|(n, p)| json!({ "name": n, "mountPath": p }))
                    .collect();
                c.insert("volumeMounts".into(), Value::Array(mounts));
            }
            if future {
                c.insert("futureField".into(), json!({ "nested": [1, "two", null] }));
            }
            if let Some(restart) = restart {
                c.insert("restartPolicy".into(), json!(restart));
            }
            Value::Object(c)
        })
}

fn containers() -> impl Strategy<Value = Vec<Value>> {
    prop::sample::subsequence(NAMES, 0..4)
        .prop_flat_map(|names| names.into_iter().map(container).collect::<Vec<_>>())
}

fn annotations() -> impl Strategy<Value = Map<String, Value>> {
    (
        prop::option::of(prop::sample::select(vec![
            "true", "TRUE", "false", "maybe", "",
        ])),
        prop::option::of(prop::sample::select(vec!["app", "init; x", ";;", "ghost"])),
        prop::option::of(prop::sample::select(vec!["3600", "7200", "86400"])),
        prop::option::of(prop::sample::select(vec!["8000", "9090"])),
    )
        .prop_map(|(proxy, skip, expiration, port)| {
            let mut a = Map::new();
            let mut put = |k: &str, v: Option<&str>| {
                if let Some(v) = v {
                    a.insert(k.into(), json!(v));
                }
            };
            put(PROXY, proxy);
            put("azure.workload.identity/skip-containers", skip);
            put(
                "azure.workload.identity/service-account-token-expiration",
                expiration,
            );
            put("azure.workload.identity/proxy-sidecar-port", port);
            a
        })
}

prop_compose! {
    fn pod()(
        init in prop::option::of(containers()),
        main in containers(),
        volumes in prop::option::of(prop::collection::vec("[a-z]{1,6}", 0..3)),
        annotations in annotations(),
        future in any::<bool>(),
        generate in any::<bool>(),
    ) -> Value {
        let mut spec = Map::new();
        spec.insert("serviceAccountName".into(), json!("sa"));
        if let Some(init) = init {
            spec.insert("initContainers".into(), Value::Array(init));
        }
        spec.insert("containers".into(), Value::Array(main));
        if let Some(volumes) = volumes {
            spec.insert("volumes".into(), Value::Array(volumes.into_iter().map(|n| json!({ "name": n, "emptyDir": {} })).collect()));
        }
        if future {
            spec.insert("futureSpec".into(), json!({ "a": 1.5 }));
        }
        let mut metadata = json!({ "labels": { "azure.workload.identity/use": "true" }, "annotations": annotations });
        if generate {
            metadata["generateName"] = json!("gen-");
        } else {
            metadata["name"] = json!("pod");
        }
        json!({ "apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec })
    }
}

/// Every token volume layout, both proxy flavours, every CA source of identity binding.
fn layouts() -> impl Strategy<Value = Value> {
    (
        prop::sample::select(vec!["classic", "v1.6", "v1.6.1"]),
        any::<bool>(),
        prop::sample::select(vec!["none", "configMap", "trustBundle", "data"]),
        any::<bool>(),
    )
        .prop_map(|(layout, native, ca, authorize)| {
            let mut binding =
                json!({ "tokenProxy": "https://proxy.example.com", "authorize": authorize });
            match ca {
                "configMap" => binding["caConfigMap"] = json!("kube-root-ca.crt"),
                "trustBundle" => {
                    binding["caClusterTrustBundle"] = json!({ "signerName": "example.com/agent" })
                }
                "data" => {
                    binding["caData"] =
                        json!("-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----")
                }
                _ => {}
            }
            settings(
                json!({ "tokenVolumeLayout": layout, "proxy": { "nativeSidecar": native },
                "identityBinding": binding }),
            )
        })
}

/// How the pod opts in: the Workload Identity label, or (reference §8, `legacyPodIdentity:
/// migrate`) an AAD Pod Identity label whose selector one binding matches, or none does.
#[derive(Clone, Debug)]
enum OptIn {
    Label,
    Migrate { selector: &'static str, sa_id: bool },
}

fn opt_in() -> impl Strategy<Value = OptIn> {
    prop_oneof![
        2 => Just(OptIn::Label),
        1 => (prop::sample::select(vec!["api", "other", "none", "API"]), any::<bool>())
            .prop_map(|(selector, sa_id)| OptIn::Migrate { selector, sa_id }),
    ]
}

/// ServiceAccount `ns1/sa`, reviews allowing `CLIENT` and `MI`, and for migrate the AAD Pod
/// Identity binding `api` → AzureIdentity `api-mi` (client `MI`).
fn idempotence_cluster(sa_id: bool) -> FakeCluster {
    let user = "system:serviceaccount:ns1:sa";
    let allow = || Ok(br#"{"allowed":true}"#.to_vec());
    let binding = json!({ "items": [
        { "metadata": { "name": "api" }, "spec": { "selector": "api", "azureIdentity": "api-mi" } },
        { "metadata": { "name": "other" }, "spec": { "selector": "other", "azureIdentity": "x" } }] });
    let identity = json!({ "kind": "AzureIdentity", "metadata": { "name": "api-mi" },
        "spec": { "clientID": MI } });
    let annotations = if sa_id {
        json!({ "azure.workload.identity/client-id": CLIENT })
    } else {
        json!({})
    };
    FakeCluster::new()
        .with_service_account("ns1", "sa", annotations)
        .with_review(user, CLIENT, allow())
        .with_review(user, MI, allow())
        .with_list(
            "AzureIdentityBinding",
            "ns1",
            Ok(binding.to_string().into_bytes()),
        )
        .with_object(
            "AzureIdentity",
            "ns1",
            "api-mi",
            Ok(identity.to_string().into_bytes()),
        )
}

/// Fields of a container other than the two the policy writes.
fn untouched(container: &Value) -> Value {
    let mut c = container.clone();
    if let Some(c) = c.as_object_mut() {
        c.remove("env");
        c.remove("volumeMounts");
    }
    c
}

fn has_env(container: &Value, name: &str) -> bool {
    container["env"]
        .as_array()
        .is_some_and(|env| env.iter().any(|e| e["name"] == name))
}

/// The mutation of `pod` into `out` is surgical: nothing removed but what a prepended proxy
/// shifts, metadata and untouched spec fields alike, every container and volume kept whole
/// but for what the policy appends, one token volume holding every token file it injected.
fn assert_surgical(pod: &Value, out: &Value) -> Result<(), TestCaseError> {
    // json-patch diffs arrays index by index, so a prepended proxy sidecar shifts the list it
    // goes into and shows up as replace/remove ops there (each container stays whole: checked
    // by name below). Everywhere else the patch only adds.
    let prepended: Vec<String> = ["initContainers", "containers"]
        .iter()
        .filter(|list| {
            out["spec"][**list][0]["name"] == "azwi-proxy"
                && pod["spec"][**list][0]["name"] != "azwi-proxy"
        })
        .map(|list| format!("/spec/{list}/"))
        .collect();
    let patch = json_patch::diff(pod, out);
    let removes: Vec<_> = patch
        .0
        .iter()
        .filter_map(|op| match op {
            json_patch::PatchOperation::Remove(r) => Some(r.path.to_string()),
            _ => None,
        })
        .filter(|path| !prepended.iter().any(|p| path.starts_with(p)))
        .collect();
    prop_assert!(removes.is_empty(), "remove ops: {:?}", removes);
    prop_assert_eq!(&out["metadata"], &pod["metadata"]);
    for (key, value) in pod["spec"].as_object().into_iter().flatten() {
        if !matches!(key.as_str(), "containers" | "initContainers" | "volumes") {
            prop_assert_eq!(&out["spec"][key], value);
        }
    }
    for list in ["initContainers", "containers"] {
        for original in pod["spec"][list].as_array().into_iter().flatten() {
            let name = &original["name"];
            let mutated = out["spec"][list]
                .as_array()
                .and_then(|l| l.iter().find(|c| &c["name"] == name));
            prop_assert!(mutated.is_some(), "container {} vanished", name);
            let mutated = mutated.unwrap_or(&Value::Null);
            prop_assert_eq!(untouched(mutated), untouched(original));
            let (before, after) = (original["env"].as_array(), mutated["env"].as_array());
            if let (Some(before), Some(after)) = (before, after) {
                prop_assert_eq!(
                    &after[..before.len()],
                    &before[..],
                    "existing env rewritten"
                );
            }
        }
    }
    for volume in pod["spec"]["volumes"].as_array().into_iter().flatten() {
        prop_assert!(
            out["spec"]["volumes"]
                .as_array()
                .is_some_and(|v| v.contains(volume))
        );
    }
    let tokens: Vec<String> = volume_names(out)
        .into_iter()
        .filter(|n| {
            n.starts_with("azure-workload-identity-reserved-") || n == "azure-identity-token"
        })
        .collect();
    prop_assert_eq!(tokens.len(), 1, "token volumes in {}", out);
    for list in ["initContainers", "containers"] {
        for (i, container) in out["spec"][list]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
        {
            let original = pod["spec"][list]
                .as_array()
                .and_then(|l| l.iter().find(|c| c["name"] == container["name"]));
            if original.is_some_and(|c| has_env(c, "AZURE_FEDERATED_TOKEN_FILE")) {
                continue;
            }
            let Some(file) = token_file(out, list, i) else {
                continue;
            };
            let mounts = container["volumeMounts"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let mount = mounts.iter().find(|m| m["name"] == json!(tokens[0]));
            let path = mount
                .and_then(|m| m["mountPath"].as_str())
                .unwrap_or("<none>");
            prop_assert!(
                file.starts_with(&format!("{path}/")),
                "{} in {}[{}] not under {}",
                file,
                list,
                i,
                path
            );
        }
    }
    Ok(())
}

/// Whether some container of `pod` is not skipped, or sets `AZURE_CLIENT_ID` itself.
fn takes_a_client_id(pod: &Value) -> bool {
    let skip = pod["metadata"]["annotations"]["azure.workload.identity/skip-containers"]
        .as_str()
        .unwrap_or_default();
    let skipped: Vec<&str> = skip.split(';').map(str::trim).collect();
    ["initContainers", "containers"].iter().any(|list| {
        pod["spec"][list].as_array().into_iter().flatten().any(|c| {
            !skipped.contains(&c["name"].as_str().unwrap_or_default())
                || has_env(c, "AZURE_CLIENT_ID")
        })
    })
}

/// The property for one input: `pod` with the binding and proxy annotations when asked,
/// judged with `settings_value` after opting in as `opt_in` says.
fn rerun_changes_nothing(
    mut pod: Value,
    mut settings_value: Value,
    opt_in: OptIn,
    binding: bool,
    proxy: bool,
) -> Result<(), TestCaseError> {
    // The API server admits no pod without a container; one with none takes no client ID at
    // all, which an identity-binding pod is refused for (reference §6).
    if pod["spec"]["containers"]
        .as_array()
        .is_none_or(Vec::is_empty)
    {
        pod["spec"]["containers"] = json!([{ "name": "container", "image": "image" }]);
    }
    if binding {
        pod["metadata"]["annotations"][BINDING] = json!("true");
    }
    if proxy {
        pod["metadata"]["annotations"][PROXY] = json!("true");
    }
    if settings_value["identityBinding"]["authorize"] == true {
        // Every literal client ID is reviewed: make them the one the cluster allows.
        for list in ["initContainers", "containers"] {
            for c in pod["spec"][list].as_array_mut().into_iter().flatten() {
                for e in c["env"].as_array_mut().into_iter().flatten() {
                    if e["name"] == "AZURE_CLIENT_ID" && e.get("value").is_some() {
                        e["value"] = json!(CLIENT);
                    }
                }
            }
        }
    }
    let sa_id = match &opt_in {
        OptIn::Label => true,
        OptIn::Migrate { selector, sa_id } => {
            pod["metadata"]["labels"] = json!({ "aadpodidbinding": selector });
            settings_value["legacyPodIdentity"] = json!("migrate");
            *sa_id
        }
    };
    let fake = idempotence_cluster(sa_id);
    let response = run(
        pod_request("ns1", pod.clone()),
        settings_value.clone(),
        &fake,
    );
    let out = match (&opt_in, response.accepted, response.mutated_object.clone()) {
        (_, true, Some(out)) => out,
        // An identity-binding pod in which no container takes any client ID (every one
        // skipped) is refused (reference §6: no client ID at all).
        (OptIn::Label, false, _)
            if binding
                && response.code == Some(400)
                && response
                    .message
                    .as_deref()
                    .is_some_and(|m| m.contains("has no client ID"))
                && !takes_a_client_id(&pod) =>
        {
            return Ok(());
        }
        // Every other generated Workload Identity pod is valid: admitted and mutated.
        (OptIn::Label, _, _) => {
            return Err(TestCaseError::fail(format!("not mutated: {response:?}")));
        }
        // A legacy pod may be refused (§8.3: every proxy rule applies) or left unchanged, then
        // with a warning saying why (§8.4).
        (OptIn::Migrate { .. }, false, _) => return Ok(()),
        (OptIn::Migrate { .. }, true, None) => {
            prop_assert!(
                response.warnings.is_some_and(|w| !w.is_empty()),
                "unchanged without a warning"
            );
            return Ok(());
        }
    };
    assert_surgical(&pod, &out)?;
    let again = run(
        pod_request("ns1", out.clone()),
        settings_value.clone(),
        &fake,
    );
    prop_assert!(again.accepted, "second run rejected: {:?}", again.message);
    prop_assert_eq!(again.mutated_object, None, "second run changed the pod");
    let mut stored = out;
    api_server_defaults(&mut stored);
    let defaulted = run(pod_request("ns1", stored.clone()), settings_value, &fake);
    prop_assert!(
        defaulted.accepted,
        "defaulted re-run rejected: {:?}",
        defaulted.message
    );
    prop_assert_eq!(
        defaulted.mutated_object.as_ref(),
        None,
        "defaulted re-run changed {}",
        stored
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(1024)))]

    #[test]
    fn spec_4_9_the_policys_output_rerun_as_is_or_defaulted_changes_nothing(
        pod in pod(),
        settings_value in layouts(),
        opt_in in opt_in(),
        binding in any::<bool>(),
        proxy in any::<bool>(),
    ) {
        rerun_changes_nothing(pod, settings_value, opt_in, binding, proxy)?;
    }
}

/// Inputs the property once failed on, kept as cases: a container with `restartPolicy:
/// Always` in `spec.containers`, the proxy prepended before it (not native), with identity
/// binding and a ConfigMap CA.
#[rstest::rstest]
#[case::restart_policy_container_named_like_an_init_container("init")]
#[case::restart_policy_container_before_which_the_proxy_goes("x")]
fn spec_4_9_a_proxy_prepended_to_a_restart_policy_container_reruns_unchanged(#[case] name: &str) {
    let pod = json!({ "apiVersion": "v1", "kind": "Pod",
        "metadata": { "name": "pod", "annotations": {},
            "labels": { "azure.workload.identity/use": "true" } },
        "spec": { "serviceAccountName": "sa",
            "containers": [{ "name": name, "image": "img", "restartPolicy": "Always" }] } });
    let settings_value = settings(json!({ "tokenVolumeLayout": "classic",
        "proxy": { "nativeSidecar": false },
        "identityBinding": { "tokenProxy": "https://proxy.example.com", "caConfigMap": "ca",
            "authorize": false } }));
    if let Err(e) = rerun_changes_nothing(pod, settings_value, OptIn::Label, true, true) {
        panic!("{e}");
    }
}

// §9: audit annotations, which the API server writes into its audit events.

fn audit(response: &kubewarden_policy_sdk::response::ValidationResponse) -> Value {
    serde_json::to_value(&response.audit_annotations).unwrap_or_default()
}

#[test]
fn spec_9_a_mutated_pod_names_the_client_ids_it_uses() {
    let mut pod = labelled_pod("pod", "sa");
    let literal = "99999999-8888-7777-6666-555555555555";
    pod["spec"]["containers"][0]["env"] = json!([{ "name": "AZURE_CLIENT_ID", "value": literal }]);
    let response = run(
        pod_request("ns1", pod),
        settings(json!({})),
        &cluster_with_sa("ns1", "sa"),
    );
    assert!(response.mutated_object.is_some(), "{response:?}");
    assert_eq!(
        audit(&response),
        json!({ "client-ids": format!("{CLIENT},{literal}") })
    );
}

#[test]
fn spec_9_a_reviewed_pod_names_what_the_review_allowed() {
    let mut pod = labelled_pod("pod", "sa");
    pod["metadata"]["annotations"] = json!({ BINDING: "true" });
    let fake = cluster_with_sa("ns1", "sa").with_review(
        "system:serviceaccount:ns1:sa",
        CLIENT,
        Ok(br#"{"allowed":true}"#.to_vec()),
    );
    let extra = json!({ "identityBinding": { "tokenProxy": "https://proxy.example.com" } });
    let response = run(pod_request("ns1", pod), settings(extra), &fake);
    assert_eq!(
        audit(&response),
        json!({ "client-ids": CLIENT, "reviewed-client-ids": CLIENT })
    );
}

#[test]
fn spec_9_validate_only_writes_what_it_found() {
    let mut pod = labelled_pod("pod", "sa");
    pod["spec"]["volumes"] = json!([{ "name": "azure-identity-token", "projected": { "sources": [{ "serviceAccountToken": { "audience": "api://AzureADTokenExchange", "path": "azure-identity-token" } }] } }]);
    for list in ["initContainers", "containers"] {
        pod["spec"][list][0]["env"] =
            json!([{ "name": "AZURE_FEDERATED_TOKEN_FILE", "value": TOKEN_FILE }]);
    }
    let response = run(
        pod_request("ns1", pod),
        settings(json!({ "mutate": false })),
        &cluster_with_sa("ns1", "sa"),
    );
    assert!(
        response.accepted && response.mutated_object.is_none(),
        "{response:?}"
    );
    assert_eq!(audit(&response), json!({ "client-ids": CLIENT }));
}

#[rstest::rstest]
#[case::spec_9_a_pod_without_client_id_carries_none(json!({}), true)]
#[case::spec_9_a_rejection_carries_none(json!({ "azure.workload.identity/client-id": CLIENT, "azure.workload.identity/service-account-token-expiration": "1" }), false)]
fn spec_9_no_audit_annotations(#[case] sa_annotations: Value, #[case] accepted: bool) {
    let fake = FakeCluster::new().with_service_account("ns1", "sa", sa_annotations);
    let response = run(
        pod_request("ns1", labelled_pod("pod", "sa")),
        settings(json!({})),
        &fake,
    );
    assert_eq!(response.accepted, accepted, "{response:?}");
    assert_eq!(response.audit_annotations, None);
}

// §4.3: the rules guarding the privileged init container, for a proxy another webhook injects.

#[rstest::rstest]
#[case::spec_4_3_validate_only_false_value_outside_allowed_namespaces(json!({ PROXY: "false" }), false, json!({ "mutate": false, "proxy": { "allowedNamespaces": ["other"] } }), Some(403))]
#[case::spec_4_3_validate_only_carried_init_container_on_host_network(json!({}), true, json!({ "mutate": false }), Some(400))]
#[case::spec_4_3_mutating_false_value_is_quiet(json!({ PROXY: "false" }), false, json!({ "proxy": { "allowedNamespaces": ["other"] } }), None)]
fn spec_4_3_proxy_rules_for_an_injected_proxy(
    #[case] annotations: Value,
    #[case] carries_init: bool,
    #[case] extra: Value,
    #[case] rejected: Option<u16>,
) {
    let mut pod = labelled_pod("pod", "sa");
    pod["metadata"]["annotations"] = annotations;
    if carries_init {
        pod["spec"]["hostNetwork"] = json!(true);
        pod["spec"]["initContainers"] =
            json!([{ "name": "azwi-proxy-init", "image": "proxy-init" }]);
    }
    let response = run(
        pod_request("ns1", pod),
        settings(extra),
        &cluster_with_sa("ns1", "sa"),
    );
    assert_eq!(response.code, rejected, "{response:?}");
}

// §2: an earlier pass's classic volume under a hashed layout, and what a replacement keeps.

#[rstest::rstest]
#[case::spec_2_v16_keeps_the_classic_volume("v1.6")]
#[case::spec_2_v161_keeps_the_classic_volume("v1.6.1")]
fn spec_2_classic_volume_is_adopted_under_a_hashed_layout(#[case] layout: &str) {
    let extra = json!({ "tokenVolumeLayout": layout });
    let classic = mutate(
        labelled_pod("pod", "sa"),
        json!({}),
        &cluster_with_sa("ns1", "sa"),
    );
    let response = run(
        pod_request("ns1", classic.clone()),
        settings(extra),
        &cluster_with_sa("ns1", "sa"),
    );
    assert!(response.accepted, "{response:?}");
    assert_eq!(
        response.mutated_object, None,
        "no second token volume: {response:?}"
    );
}

#[test]
fn spec_2_a_replaced_mount_and_volume_keep_what_the_policy_does_not_write() {
    let mut pod = labelled_pod("pod", "sa");
    pod["spec"]["containers"][0]["volumeMounts"] = json!([{ "name": "azure-identity-token", "mountPath": "/elsewhere", "mountPropagation": "None" }]);
    pod["spec"]["volumes"] = json!([{ "name": "azure-identity-token", "projected": { "defaultMode": 292, "sources": [{ "serviceAccountToken": { "audience": "other", "path": "azure-identity-token" } }] } }]);
    let out = mutate(pod, json!({}), &cluster_with_sa("ns1", "sa"));
    let mount = &out["spec"]["containers"][0]["volumeMounts"][0];
    assert_eq!(mount["mountPath"], "/var/run/secrets/azure/tokens");
    assert_eq!(mount["mountPropagation"], "None");
    let volume = &out["spec"]["volumes"][0]["projected"];
    assert_eq!(volume["defaultMode"], 292);
    assert_eq!(
        volume["sources"][0]["serviceAccountToken"]["audience"],
        "api://AzureADTokenExchange"
    );
}

// §4.11, warnings revision 3 added, each with its quiet counterpart.

#[rstest::rstest]
#[case::spec_4_11_job_pod_with_a_regular_proxy_warns("Job", false, true)]
#[case::spec_4_11_job_pod_with_a_native_proxy_is_quiet("Job", true, false)]
#[case::spec_4_11_deployment_pod_with_a_regular_proxy_is_quiet("ReplicaSet", false, false)]
fn spec_4_11_a_job_never_completes_beside_a_regular_proxy(
    #[case] owner: &str,
    #[case] native: bool,
    #[case] warned: bool,
) {
    let mut pod = labelled_pod("pod", "sa");
    pod["metadata"]["annotations"] = json!({ PROXY: "true" });
    pod["metadata"]["ownerReferences"] =
        json!([{ "apiVersion": "v1", "kind": owner, "name": "o", "uid": "u", "controller": true }]);
    let extra = json!({ "proxy": { "nativeSidecar": native } });
    let response = run(
        pod_request("ns1", pod),
        settings(extra),
        &cluster_with_sa("ns1", "sa"),
    );
    let warnings = response.warnings.unwrap_or_default();
    assert_eq!(
        warnings
            .iter()
            .any(|w| w.contains("set proxy.nativeSidecar: true")),
        warned,
        "{warnings:?}"
    );
}

#[rstest::rstest]
#[case::spec_4_11_classic_path_under_v16_warns("v1.6", true)]
#[case::spec_4_11_classic_path_under_classic_is_quiet("classic", false)]
fn spec_4_11_a_hard_coded_classic_token_path(#[case] layout: &str, #[case] warned: bool) {
    let mut pod = labelled_pod("pod", "sa");
    pod["spec"]["containers"][0]["args"] =
        json!(["--token-file=/var/run/secrets/azure/tokens/azure-identity-token"]);
    let extra = json!({ "tokenVolumeLayout": layout });
    let response = run(
        pod_request("ns1", pod),
        settings(extra),
        &cluster_with_sa("ns1", "sa"),
    );
    let warnings = response.warnings.unwrap_or_default();
    assert_eq!(
        warnings
            .iter()
            .any(|w| w.contains("read $AZURE_FEDERATED_TOKEN_FILE in container \"container\"")),
        warned,
        "{warnings:?}"
    );
}
