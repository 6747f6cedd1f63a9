//! Pod mutation through the full `evaluate` entry (SPEC §4), with upstream v1.6.0's
//! `webhook_test.go` cases ported where they apply.

use serde_json::{Value, json};

use crate::cluster::fake::{Call, FakeCluster};
use crate::testing::*;

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

// Upstream "environment variables are not added when empty"; SPEC §4.11 warning.
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
        warnings.iter().any(|w| w.contains("without a client ID")),
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
    let mut annotations = json!({ "azure.workload.identity/inject-proxy-sidecar": "true" });
    if let (Some(a), Some(e)) = (annotations.as_object_mut(), extra.as_object()) {
        a.extend(e.clone());
    }
    pod["metadata"]["annotations"] = annotations;
    pod
}

fn names_of(pod: &Value, list: &str) -> Vec<String> {
    pod["spec"][list].as_array().map_or(vec![], |l| {
        l.iter()
            .map(|c| c["name"].as_str().unwrap_or("").to_owned())
            .collect()
    })
}

#[test]
fn spec_4_3_native_proxy_goes_first_in_init_containers_and_init_last() {
    let pod = mutate(
        proxy_pod(json!({})),
        json!({}),
        &cluster_with_sa("ns1", "sa"),
    );
    assert_eq!(
        names_of(&pod, "initContainers"),
        ["azwi-proxy", "init-container", "azwi-proxy-init"]
    );
    assert_eq!(names_of(&pod, "containers"), ["container"]);
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
        names_of(&pod, "initContainers"),
        ["init-container", "azwi-proxy-init"]
    );
    assert_eq!(names_of(&pod, "containers"), ["azwi-proxy", "container"]);
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
    assert_eq!(names_of(&pod, "initContainers"), ["azwi-proxy-init"]);
    assert_eq!(names_of(&pod, "containers"), ["azwi-proxy", "container"]);
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
fn spec_1_proxy_annotation_false_or_unclear_does_not_inject() {
    for (value, warns) in [("false", false), ("FALSE", false), ("yes", true)] {
        let response = run(
            pod_request(
                "ns1",
                proxy_pod(json!({ "azure.workload.identity/inject-proxy-sidecar": value })),
            ),
            settings(json!({})),
            &cluster_with_sa("ns1", "sa"),
        );
        let pod = mutated(&response);
        assert_eq!(
            names_of(pod, "initContainers"),
            ["init-container"],
            "{value}"
        );
        let warned = response
            .warnings
            .unwrap_or_default()
            .iter()
            .any(|w| w.contains("to true or false"));
        assert_eq!(warned, warns, "{value}");
    }
}

#[test]
fn spec_4_9_second_run_changes_nothing() {
    for extra in [json!({}), json!({ "tokenVolumeLayout": "v1.6" })] {
        let fake = cluster_with_sa("ns1", "sa");
        let once = mutate(proxy_pod(json!({})), extra.clone(), &fake);
        let twice = run(pod_request("ns1", once), settings(extra), &fake);
        assert!(twice.accepted);
        assert_eq!(twice.mutated_object, None);
    }
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

#[test]
fn spec_3_validate_only_mode_checks_but_does_not_mutate() {
    let fake = cluster_with_sa("ns1", "sa");
    let response = run(
        pod_request("ns1", labelled_pod("pod", "sa")),
        json!({ "mutate": false, "verifyInjection": "off" }),
        &fake,
    );
    assert!(response.accepted);
    assert_eq!(response.mutated_object, None);
    let (code, _) = {
        let mut pod = labelled_pod("pod", "sa");
        pod["metadata"]["annotations"] =
            json!({ "azure.workload.identity/service-account-token-expiration": "1" });
        let r = run(pod_request("ns1", pod), json!({ "mutate": false }), &fake);
        assert!(!r.accepted);
        (r.code, r.message)
    };
    assert_eq!(code, Some(400));
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
    // Authorization (SPEC §6) has its own tests; here only what is injected.
    let mut binding = json!({ "tokenProxy": "https://proxy.example.com",
        "sniName": "sni.example.com", "authorize": false });
    if let (Some(b), Some(c)) = (binding.as_object_mut(), ca.as_object()) {
        b.extend(c.clone());
    }
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

#[test]
fn spec_9_malformed_pods_are_rejected_not_panicked() {
    for object in [
        json!("a string"),
        json!({ "metadata": { "labels": { "azure.workload.identity/use": "true" } }, "spec": 5 }),
        json!({ "metadata": { "labels": { "azure.workload.identity/use": "true" } }, "spec": { "containers": [1] } }),
        json!({ "metadata": { "labels": 7 } }),
    ] {
        let response = run(
            pod_request("ns1", object.clone()),
            settings(json!({})),
            &cluster_with_sa("ns1", "default"),
        );
        assert!(!response.accepted, "{object}");
        assert_eq!(response.code, Some(400), "{object}");
    }
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

/// A pod as the upstream webhook leaves it (classic layout) — what validate-only mode sees.
fn webhook_mutated_pod(settings_value: Value) -> Value {
    mutate(
        labelled_pod("pod", "sa"),
        settings_value,
        &cluster_with_sa("ns1", "sa"),
    )
}

fn validate_only(pod: Value, verify: &str) -> kubewarden_policy_sdk::response::ValidationResponse {
    run(
        pod_request("ns1", pod),
        json!({ "mutate": false, "verifyInjection": verify }),
        &cluster_with_sa("ns1", "sa"),
    )
}

#[test]
fn spec_10_unmutated_pod_rejected_by_default() {
    let response = validate_only(labelled_pod("pod", "sa"), "reject");
    assert_eq!(response.code, Some(400));
    let message = response.message.unwrap_or_default();
    for needle in [
        "Pod ns1/pod",
        "did not mutate",
        "failurePolicy",
        "exactly \"true\"",
    ] {
        assert!(message.contains(needle), "{message} lacks {needle}");
    }
}

#[rstest::rstest]
#[case::warn("warn", true)]
#[case::off("off", false)]
fn spec_10_unmutated_pod_warn_and_off(#[case] verify: &str, #[case] warned: bool) {
    let response = validate_only(labelled_pod("pod", "sa"), verify);
    assert!(response.accepted);
    let warnings = response.warnings.unwrap_or_default();
    assert_eq!(
        warnings.iter().any(|w| w.contains("it was not mutated")),
        warned,
        "{warnings:?}"
    );
}

#[rstest::rstest]
#[case::classic(json!({}))]
#[case::v16(json!({ "tokenVolumeLayout": "v1.6" }))]
fn spec_10_mutated_pod_passes_quietly(#[case] layout: Value) {
    let response = validate_only(webhook_mutated_pod(layout), "reject");
    assert!(response.accepted, "{response:?}");
    assert_eq!(response.warnings, None);
}

#[test]
fn spec_10_identity_binding_token_audience_counts_as_mutated() {
    let mut pod = labelled_pod("pod", "sa");
    pod["metadata"]["annotations"] =
        json!({ "azure.workload.identity/use-identity-binding": "true" });
    pod["spec"]["volumes"] = json!([{ "name": "managed-by-aks", "projected": { "sources": [
        { "serviceAccountToken": { "path": "t", "audience": "api://AKSIdentityBinding" } }] } }]);
    let fake = cluster_with_sa("ns1", "sa").with_review(
        "system:serviceaccount:ns1:sa",
        CLIENT,
        Ok(br#"{"allowed":true}"#.to_vec()),
    );
    let response = run(pod_request("ns1", pod), json!({ "mutate": false }), &fake);
    assert!(response.accepted, "{response:?}");
}

#[test]
fn spec_10_sidecar_added_later_is_named_in_a_warning() {
    let mut pod = webhook_mutated_pod(json!({}));
    if let Some(containers) = pod["spec"]["containers"].as_array_mut() {
        containers.push(json!({ "name": "istio-proxy", "image": "istio/proxyv2" }));
    }
    let response = validate_only(pod, "reject");
    assert!(response.accepted, "{response:?}");
    let warnings = response.warnings.unwrap_or_default();
    assert!(
        warnings.iter().any(|w| w.contains("\"istio-proxy\"")
            && w.contains("skip-containers")
            && w.contains("added after the webhook ran")),
        "{warnings:?}"
    );
}

#[test]
fn spec_10_templates_are_never_verified() {
    let template = json!({ "apiVersion": "apps/v1", "kind": "Deployment", "metadata": { "name": "web" },
        "spec": { "template": { "metadata": { "labels": { "azure.workload.identity/use": "true" } },
            "spec": { "serviceAccountName": "sa", "containers": [{ "name": "c", "image": "i" }] } } } });
    let response = run(
        request("apps", "Deployment", "ns1", "CREATE", template),
        json!({ "mutate": false }),
        &cluster_with_sa("ns1", "sa"),
    );
    assert!(response.accepted, "{response:?}");
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
        "parameters": { "clientID": "99999999-8888-7777-6666-555555555555" } } });
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
