//! `plan()` and `apply()` pinned directly, as upstream's per-helper `webhook_test.go` tables
//! do: one named case per rule of the reference, with no envelope, no host and no `evaluate` in between.

use rstest::rstest;
use serde_json::{Value, json};

use super::apply::apply;
use super::assess::{Account, Injected, claims};
use super::identity::{Facts, Scope};
use super::plan::plan;
use super::{Plan, Pod};
use crate::cluster::ServiceAccount;
use crate::error::{Denial, Rejection};
use crate::request::Injector;
use crate::settings::Settings;
use crate::testing::{self, CLIENT, TENANT};

const NS: &str = "ns1";

/// A labelled pod with one container, then `patch` merged in (objects merged, the rest set).
fn pod(patch: Value) -> Value {
    let mut pod = json!({
        "metadata": { "name": "pod", "labels": { "azure.workload.identity/use": "true" } },
        "spec": { "serviceAccountName": "sa", "containers": [{ "name": "app", "image": "i" }] },
    });
    testing::merge(&mut pod, patch);
    pod
}

fn service_account(annotations: Value) -> ServiceAccount {
    ServiceAccount {
        namespace: NS.into(),
        name: "sa".into(),
        annotations: serde_json::from_value(annotations).unwrap_or_default(),
    }
}

fn settings(extra: Value) -> Settings {
    let settings = testing::settings(extra);
    Settings::from_json(settings.to_string().as_bytes()).unwrap_or_else(|e| panic!("{e}"))
}

/// Read `pod` as a pod CREATE in `ns1` would.
fn read(pod: &Value) -> Pod {
    let names = |_: &str, _: &crate::object::Metadata| ("Pod ns1/pod".into(), "Pod pod".into());
    Pod::read(pod.clone(), NS, "Pod ns1/pod", names).unwrap_or_else(|e| panic!("{e}"))
}

fn planned(
    pod: &Value,
    sa: Option<&ServiceAccount>,
    settings: &Settings,
) -> Result<Plan, Rejection> {
    let pod = read(pod);
    let spec = pod.spec()?;
    let facts = Facts::head(&pod, settings).with_containers(&spec);
    plan(&pod, &spec, &facts, sa, settings, None, Injector::Policy)
}

fn env<'p>(plan: &'p Plan, name: &str) -> Option<&'p str> {
    plan.env
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.as_str())
}

#[rstest]
#[case::spec_4_5_client_id_from_service_account(json!({}), json!({ "azure.workload.identity/client-id": CLIENT }), json!({}), "AZURE_CLIENT_ID", Some(CLIENT))]
#[case::spec_4_5_no_client_id_annotation_no_env(json!({}), json!({}), json!({}), "AZURE_CLIENT_ID", None)]
#[case::spec_4_5_tenant_from_service_account(json!({}), json!({ "azure.workload.identity/tenant-id": "contoso.onmicrosoft.com" }), json!({}), "AZURE_TENANT_ID", Some("contoso.onmicrosoft.com"))]
#[case::spec_4_5_empty_tenant_annotation_falls_back_to_setting(json!({}), json!({ "azure.workload.identity/tenant-id": "" }), json!({}), "AZURE_TENANT_ID", Some(TENANT))]
#[case::spec_3_cloud_sets_authority_host(json!({}), json!({}), json!({ "cloud": "AzureChinaCloud" }), "AZURE_AUTHORITY_HOST", Some("https://login.chinacloudapi.cn/"))]
#[case::spec_2_classic_token_file(json!({}), json!({}), json!({}), "AZURE_FEDERATED_TOKEN_FILE", Some("/var/run/secrets/azure/tokens/azure-identity-token"))]
#[case::spec_2_v16_token_file(json!({}), json!({}), json!({ "tokenVolumeLayout": "v1.6" }), "AZURE_FEDERATED_TOKEN_FILE", Some("/var/run/secrets/azure/wi/token/azure-identity-token"))]
#[case::spec_4_8_binding_token_proxy(json!({ "metadata": { "annotations": { "azure.workload.identity/use-identity-binding": "true" } } }), json!({}), json!({ "identityBinding": { "tokenProxy": "https://proxy.example" } }), "AZURE_KUBERNETES_TOKEN_PROXY", Some("https://proxy.example"))]
#[case::spec_4_8_ca_data_without_ca_file(json!({ "metadata": { "annotations": { "azure.workload.identity/use-identity-binding": "True" } } }), json!({}), json!({ "identityBinding": { "tokenProxy": "https://p", "caData": "-----BEGIN CERTIFICATE-----x" } }), "AZURE_KUBERNETES_CA_FILE", None)]
#[case::spec_4_8_ca_file_from_config_map(json!({ "metadata": { "annotations": { "azure.workload.identity/use-identity-binding": "true" } } }), json!({}), json!({ "identityBinding": { "tokenProxy": "https://p", "caConfigMap": "ca" } }), "AZURE_KUBERNETES_CA_FILE", Some("/var/run/secrets/azure/tokens/ca.crt"))]
fn plan_env(
    #[case] patch: Value,
    #[case] sa: Value,
    #[case] extra: Value,
    #[case] name: &str,
    #[case] expected: Option<&str>,
) {
    let plan = planned(&pod(patch), Some(&service_account(sa)), &settings(extra));
    let plan = plan.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(env(&plan, name), expected, "{:?}", plan.env);
}

#[rstest]
#[case::spec_4_4_expiration_out_of_range(json!({ "metadata": { "annotations": { "azure.workload.identity/service-account-token-expiration": "100" } } }), json!({}), 400, "on the pod has value \"100\"; expected an integer number of seconds from 3600 to 86400")]
#[case::spec_4_4_expiration_source_service_account(json!({}), json!({ "azure.workload.identity/service-account-token-expiration": "1h" }), 400, "on ServiceAccount ns1/sa has value \"1h\"")]
#[case::spec_4_3_proxy_with_host_network(json!({ "metadata": { "annotations": { "azure.workload.identity/inject-proxy-sidecar": "true" } }, "spec": { "hostNetwork": true } }), json!({}), 400, "spec.hostNetwork: true")]
#[case::spec_4_11_proxy_on_windows(json!({ "metadata": { "annotations": { "azure.workload.identity/inject-proxy-sidecar": "TRUE" } }, "spec": { "os": { "name": "windows" } } }), json!({}), 400, "Linux-only")]
#[case::spec_4_3_proxy_port_out_of_range(json!({ "metadata": { "annotations": { "azure.workload.identity/inject-proxy-sidecar": "true", "azure.workload.identity/proxy-sidecar-port": "70000" } } }), json!({}), 400, "70000")]
#[case::spec_4_8_binding_not_configured(json!({ "metadata": { "annotations": { "azure.workload.identity/use-identity-binding": "true" } } }), json!({}), 400, "identity binding is not configured")]
fn plan_rejects(
    #[case] patch: Value,
    #[case] sa: Value,
    #[case] code: u16,
    #[case] fragment: &str,
) {
    let rejection = planned(
        &pod(patch),
        Some(&service_account(sa)),
        &settings(json!({})),
    )
    .err()
    .unwrap_or_else(|| panic!("expected a rejection"));
    assert_eq!(rejection.code(), code, "{rejection}");
    assert!(rejection.message().contains(fragment), "{rejection}");
    assert!(
        rejection.message().starts_with("Pod ns1/pod: "),
        "{rejection}"
    );
}

#[test]
fn spec_4_3_proxy_outside_allowed_namespaces_is_forbidden() {
    let pod = pod(
        json!({ "metadata": { "annotations": { "azure.workload.identity/inject-proxy-sidecar": "true" } } }),
    );
    let settings = settings(json!({ "proxy": { "allowedNamespaces": ["other"] } }));
    let rejection = planned(&pod, Some(&service_account(json!({}))), &settings).err();
    assert!(
        matches!(rejection.as_ref().map(|r| r.denial.as_ref()), Some(Denial::ProxyNamespace { namespace, .. }) if namespace == NS),
        "{rejection:?}"
    );
}

#[rstest]
#[case::reference_6_service_account_and_literal_ids(json!({ "spec": { "containers": [{ "name": "app", "env": [{ "name": "AZURE_CLIENT_ID", "value": "literal" }] }, { "name": "sidecar" }] } }), Some(json!({ "azure.workload.identity/client-id": CLIENT })), &[CLIENT, "literal"], false)]
#[case::reference_6_no_container_takes_the_service_account_s(json!({ "spec": { "containers": [{ "name": "app", "env": [{ "name": "AZURE_CLIENT_ID", "value": "literal" }] }] } }), Some(json!({ "azure.workload.identity/client-id": CLIENT })), &["literal"], false)]
#[case::spec_6_binding_annotation_asks_for_the_review(json!({ "metadata": { "annotations": { "azure.workload.identity/use-identity-binding": "true" } } }), Some(json!({ "azure.workload.identity/client-id": CLIENT })), &[CLIENT], true)]
#[case::spec_6_hand_written_binding_token_asks_for_the_review(json!({ "spec": { "volumes": [{ "name": "t", "projected": { "sources": [{ "serviceAccountToken": { "audience": "api://AKSIdentityBinding", "path": "t" } }] } }] } }), Some(json!({})), &[], true)]
#[case::spec_7_missing_service_account_no_review(json!({ "metadata": { "annotations": { "azure.workload.identity/use-identity-binding": "true" } } }), None, &[], false)]
fn plan_claims(
    #[case] patch: Value,
    #[case] sa: Option<Value>,
    #[case] ids: &[&str],
    #[case] review: bool,
) {
    let sa = sa.map(service_account);
    let settings = settings(json!({ "identityBinding": { "tokenProxy": "https://p" } }));
    let plan =
        planned(&pod(patch.clone()), sa.as_ref(), &settings).unwrap_or_else(|e| panic!("{e}"));
    let pod = read(&pod(patch));
    let spec = pod.spec().unwrap_or_else(|e| panic!("{e}"));
    let facts = Facts::head(&pod, &settings).with_containers(&spec);
    let account = sa.as_ref().map_or(Account::Missing, Account::Read);
    let injected = Injected {
        client_id: plan.client_id.as_deref(),
        by_policy: true,
        taken: facts.takes_injected(&plan.skip, plan.proxy.is_some()),
        skip: &plan.skip,
    };
    let claims = claims(
        &facts,
        Scope::WholePod,
        &facts.containers,
        account,
        Some((None, injected)),
    );
    let found: Vec<&str> = claims
        .client_ids
        .iter()
        .map(|(id, _)| id.as_str())
        .collect();
    assert_eq!(found, ids);
    assert_eq!(claims.identity_binding, review);
}

#[rstest]
#[case::spec_4_3_skip_containers_split_and_trimmed("a; b;;", &["a", "b"])]
#[case::spec_4_3_skip_containers_empty("", &[])]
fn plan_skip_set(#[case] annotation: &str, #[case] expected: &[&str]) {
    let pod = pod(
        json!({ "metadata": { "annotations": { "azure.workload.identity/skip-containers": annotation } } }),
    );
    let plan = planned(&pod, None, &settings(json!({}))).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        plan.skip.iter().map(String::as_str).collect::<Vec<_>>(),
        expected
    );
}

/// Plan `pod` with `extra` settings and apply it: `(changed, the pod written back)`.
fn applied(pod: &Value, extra: Value) -> Result<(bool, Value), Rejection> {
    let settings = settings(extra);
    let sa = service_account(json!({ "azure.workload.identity/client-id": CLIENT }));
    let mut pod = read(pod);
    let spec = pod.spec()?;
    let facts = Facts::head(&pod, &settings).with_containers(&spec);
    let plan = plan(
        &pod,
        &spec,
        &facts,
        Some(&sa),
        &settings,
        None,
        Injector::Policy,
    )?;
    let changed = apply(&mut pod.object, &plan, "Pod ns1/pod")?;
    Ok((changed, pod.object))
}

fn select(pod: &Value, path: &str) -> Vec<Value> {
    serde_json_path::JsonPath::parse(path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .query(pod)
        .all()
        .into_iter()
        .cloned()
        .collect()
}

const PROXY: &str = "azure.workload.identity/inject-proxy-sidecar";

#[rstest]
#[case::spec_4_6_env_appended(json!({}), json!({}), "$.spec.containers[0].env[*].name", json!(["AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_FEDERATED_TOKEN_FILE", "AZURE_AUTHORITY_HOST"]))]
#[case::spec_4_6_env_never_overwritten(json!({ "spec": { "containers": [{ "name": "app", "env": [{ "name": "AZURE_CLIENT_ID", "value": "mine" }] }] } }), json!({}), "$.spec.containers[0].env[?(@.name == 'AZURE_CLIENT_ID')].value", json!(["mine"]))]
#[case::spec_4_6_mount_read_only(json!({}), json!({}), "$.spec.containers[0].volumeMounts[0]", json!([{ "name": "azure-identity-token", "mountPath": "/var/run/secrets/azure/tokens", "readOnly": true }]))]
#[case::spec_4_6_skipped_container_untouched(json!({ "metadata": { "annotations": { "azure.workload.identity/skip-containers": "app" } } }), json!({}), "$.spec.containers[0]", json!([{ "name": "app", "image": "i" }]))]
#[case::spec_4_7_volume_audience(json!({}), json!({}), "$.spec.volumes[0].projected.sources[0].serviceAccountToken", json!([{ "path": "azure-identity-token", "expirationSeconds": 3600, "audience": "api://AzureADTokenExchange" }]))]
#[case::spec_4_7_different_volume_of_the_name_replaced(json!({ "spec": { "volumes": [{ "name": "azure-identity-token", "emptyDir": {} }] } }), json!({}), "$.spec.volumes[*].name", json!(["azure-identity-token"]))]
#[case::spec_4_3_native_sidecar_first_init_container(json!({ "metadata": { "annotations": { PROXY: "true" } } }), json!({}), "$.spec.initContainers[*].name", json!(["azwi-proxy", "azwi-proxy-init"]))]
#[case::spec_4_3_sidecar_first_container_when_not_native(json!({ "metadata": { "annotations": { PROXY: "true" } } }), json!({ "proxy": { "nativeSidecar": false } }), "$.spec.containers[*].name", json!(["azwi-proxy", "app"]))]
#[case::spec_4_3_init_container_appended(json!({ "metadata": { "annotations": { PROXY: "true" } }, "spec": { "initContainers": [{ "name": "first" }] } }), json!({ "proxy": { "nativeSidecar": false } }), "$.spec.initContainers[*].name", json!(["first", "azwi-proxy-init"]))]
#[case::spec_4_3_existing_proxy_kept(json!({ "metadata": { "annotations": { PROXY: "true" } }, "spec": { "containers": [{ "name": "app" }, { "name": "azwi-proxy", "image": "mine" }] } }), json!({}), "$.spec..[?(@.name == 'azwi-proxy')].image", json!(["mine"]))]
fn apply_writes(
    #[case] patch: Value,
    #[case] extra: Value,
    #[case] path: &str,
    #[case] expected: Value,
) {
    let (changed, written) = applied(&pod(patch), extra).unwrap_or_else(|e| panic!("{e}"));
    assert!(changed);
    assert_eq!(Value::Array(select(&written, path)), expected, "{written}");
}

#[test]
fn spec_4_10_mount_path_taken_by_another_volume_is_rejected() {
    let pod = pod(
        json!({ "spec": { "containers": [{ "name": "app", "volumeMounts": [{ "name": "other", "mountPath": "/var/run/secrets/azure/tokens" }] }] } }),
    );
    let rejection = applied(&pod, json!({})).err();
    assert!(
        matches!(rejection.as_ref().map(|r| r.denial.as_ref()), Some(Denial::MountPathTaken { other, .. }) if other == "other"),
        "{rejection:?}"
    );
}
