//! reference §3: the settings, one named case per field and rule: defaults, what is accepted, what
//! is refused (naming the field and the value), and the resolved values the rules read.

use azure_workload_identity_policy::settings::*;
use azure_workload_identity_policy::testing::{TENANT, settings as with_tenant};
use rstest::rstest;
use serde_json::json;

fn parse(value: serde_json::Value) -> Result<Settings, String> {
    parse_and_check(value.to_string().as_bytes())
}

#[test]
fn defaults_match_spec_section_3() {
    let s = parse(json!({ "tenantId": TENANT })).expect("valid");
    assert!(s.mutate);
    assert_eq!(s.cloud, "AzurePublicCloud");
    assert_eq!(s.authority_host(), "https://login.microsoftonline.com/");
    assert_eq!(s.audience, "api://AzureADTokenExchange");
    assert_eq!(s.token_volume_layout, TokenVolumeLayout::Classic);
    assert_eq!(
        s.proxy.image,
        "mcr.microsoft.com/oss/v2/azure/workload-identity/proxy:v1.6.0"
    );
    assert_eq!(
        s.proxy.init_image,
        "mcr.microsoft.com/oss/v2/azure/workload-identity/proxy-init:v1.6.0"
    );
    assert!(s.proxy.native_sidecar);
    assert_eq!(s.proxy.log_level, ProxyLogLevel::Info);
    assert_eq!(s.proxy.allowed_namespaces, vec!["*"]);
    let b = &s.identity_binding;
    assert_eq!(b.annotation_suffix, "identity-binding");
    assert_eq!(b.audience, "api://AKSIdentityBinding");
    assert_eq!(b.token_proxy, None);
    assert_eq!(b.sni_name, None);
    assert_eq!(s.ca_source(), CaSource::None);
    assert!(b.authorize);
    assert_eq!(b.verb, "use-managed-identity");
    assert_eq!(b.api_group, "cid.wi.aks.azure.com");
    assert!(s.secrets_store_csi.authorize);
    assert!(s.allowed_client_ids.is_empty());
    assert_eq!(s.legacy_pod_identity, LegacyPodIdentity::Warn);
    assert_eq!(s.verify_injection, VerifyInjection::Reject);
    assert_eq!(
        s.identity_binding_annotation(),
        "azure.workload.identity/use-identity-binding"
    );
}

#[rstest]
#[case::public("AzurePublicCloud", "https://login.microsoftonline.com/")]
#[case::public_alias("AzureCloud", "https://login.microsoftonline.com/")]
#[case::public_lowercase("azurepubliccloud", "https://login.microsoftonline.com/")]
#[case::china("AzureChinaCloud", "https://login.chinacloudapi.cn/")]
#[case::usgov("AzureUSGovernmentCloud", "https://login.microsoftonline.us/")]
#[case::usgov_alias("AZUREUSGOVERNMENT", "https://login.microsoftonline.us/")]
#[case::german("AzureGermanCloud", "https://login.microsoftonline.de/")]
fn cloud_resolves_to_authority_host(#[case] cloud: &str, #[case] host: &str) {
    let s = parse(with_tenant(json!({ "cloud": cloud }))).expect("valid");
    assert_eq!(s.authority_host(), host);
}

#[test]
fn authority_host_overrides_cloud() {
    let s = parse(with_tenant(json!({
        "cloud": "AzureChinaCloud",
        "authorityHost": "https://login.azurestack.contoso.com/"
    })))
    .expect("valid");
    assert_eq!(s.authority_host(), "https://login.azurestack.contoso.com/");
}

#[rstest]
#[case::guid_tenant(json!({ "tenantId": TENANT }))]
#[case::domain_tenant(json!({ "tenantId": "contoso.onmicrosoft.com" }))]
#[case::validate_only_without_tenant(json!({ "mutate": false }))]
#[case::empty_tenant_in_validate_only(json!({ "mutate": false, "tenantId": "" }))]
#[case::v16_layout(with_tenant(json!({ "tokenVolumeLayout": "v1.6" })))]
#[case::proxy_settings(with_tenant(json!({ "proxy": {
    "image": "registry.example.com/proxy:v1", "initImage": "registry.example.com/init:v1",
    "nativeSidecar": false, "logLevel": "debug", "allowedNamespaces": ["team-a", "team-b"] } })))]
#[case::log_level_all(with_tenant(json!({ "proxy": { "logLevel": "all" } })))]
#[case::binding_with_configmap(with_tenant(json!({ "identityBinding": {
    "tokenProxy": "https://10.0.0.1:443", "sniName": "proxy.aks.example.com",
    "caConfigMap": "aks-identity-binding-ca" } })))]
#[case::binding_with_ca_data(with_tenant(json!({ "identityBinding": {
    "caData": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n" } })))]
#[case::binding_with_trust_bundle(with_tenant(json!({ "identityBinding": {
    "caClusterTrustBundle": { "signerName": "example.com/aks-identity",
        "labelSelector": { "matchLabels": { "app": "azwi" } } } } })))]
#[case::binding_selector_expressions(with_tenant(json!({ "identityBinding": {
    "caClusterTrustBundle": { "signerName": "example.com/aks-identity",
        "labelSelector": { "matchExpressions": [
            { "key": "app", "operator": "In", "values": ["azwi"] } ] } } } })))]
#[case::empty_strings_are_unset(with_tenant(json!({ "authorityHost": "",
    "identityBinding": { "tokenProxy": "", "sniName": "", "caData": "", "caConfigMap": "" } })))]
#[case::allowlist(with_tenant(json!({ "allowedClientIds": {
    "team-a": ["00000000-1111-2222-3333-444444444444"], "*": ["*"] } })))]
#[case::legacy_reject(with_tenant(json!({ "legacyPodIdentity": "reject" })))]
#[case::legacy_allow(with_tenant(json!({ "legacyPodIdentity": "allow" })))]
#[case::verify_warn(json!({ "mutate": false, "verifyInjection": "warn" }))]
#[case::verify_off(json!({ "mutate": false, "verifyInjection": "off" }))]
#[case::csi_off(with_tenant(json!({ "secretsStoreCsi": { "authorize": false } })))]
#[case::custom_rbac(with_tenant(json!({ "identityBinding": {
    "verb": "impersonate", "apiGroup": "identity.example.com", "authorize": false } })))]
fn valid_settings(#[case] settings: serde_json::Value) {
    if let Err(e) = parse(settings.clone()) {
        panic!("{settings} should be valid, got: {e}");
    }
}

/// Each case: the settings and the strings the rejection must contain (field path and value).
#[rstest]
#[case::missing_tenant_when_mutating(json!({}), &["tenantId", "required", "mutate: false"])]
#[case::bad_tenant(json!({ "tenantId": "not a tenant" }), &["tenantId", "not a tenant", "GUID"])]
#[case::unknown_cloud(with_tenant(json!({ "cloud": "Mars" })), &["cloud", "Mars", "AzurePublicCloud"])]
#[case::http_authority(with_tenant(json!({ "authorityHost": "http://login.example.com/" })),
    &["authorityHost", "http://login.example.com/", "https://"])]
#[case::empty_audience(with_tenant(json!({ "audience": " " })), &["audience", "non-empty"])]
#[case::bad_layout(with_tenant(json!({ "tokenVolumeLayout": "v2" })),
    &["tokenVolumeLayout", "v2", "classic", "v1.6"])]
#[case::empty_proxy_image(with_tenant(json!({ "proxy": { "image": "" } })), &["proxy.image"])]
#[case::empty_init_image(with_tenant(json!({ "proxy": { "initImage": "" } })), &["proxy.initImage"])]
#[case::bad_log_level(with_tenant(json!({ "proxy": { "logLevel": "verbose" } })),
    &["proxy.logLevel", "verbose", "info"])]
#[case::native_sidecar_not_bool(with_tenant(json!({ "proxy": { "nativeSidecar": "yes" } })),
    &["proxy.nativeSidecar", "yes"])]
#[case::bad_allowed_namespace(with_tenant(json!({ "proxy": { "allowedNamespaces": ["Team_A"] } })),
    &["proxy.allowedNamespaces", "Team_A"])]
#[case::bad_suffix(with_tenant(json!({ "identityBinding": { "annotationSuffix": "bad suffix" } })),
    &["identityBinding.annotationSuffix", "bad suffix"])]
#[case::empty_suffix(with_tenant(json!({ "identityBinding": { "annotationSuffix": "" } })),
    &["identityBinding.annotationSuffix"])]
#[case::same_audience(with_tenant(json!({ "identityBinding": { "audience": "API://AzureADTokenExchange" } })),
    &["identityBinding.audience", "API://AzureADTokenExchange", "different"])]
#[case::empty_binding_audience(with_tenant(json!({ "identityBinding": { "audience": "" } })),
    &["identityBinding.audience"])]
#[case::http_token_proxy(with_tenant(json!({ "identityBinding": { "tokenProxy": "http://proxy" } })),
    &["identityBinding.tokenProxy", "http://proxy", "https://"])]
#[case::bad_sni(with_tenant(json!({ "identityBinding": { "sniName": "not a name" } })),
    &["identityBinding.sniName", "not a name"])]
#[case::two_ca_sources(with_tenant(json!({ "identityBinding": { "caData": "x", "caConfigMap": "y" } })),
    &["identityBinding.caData", "identityBinding.caConfigMap", "at most one"])]
#[case::three_ca_sources(with_tenant(json!({ "identityBinding": {
    "caData": "-----BEGIN CERTIFICATE-----", "caConfigMap": "y",
    "caClusterTrustBundle": { "signerName": "example.com/s" } } })),
    &["identityBinding.caClusterTrustBundle", "found 3"])]
#[case::ca_data_not_pem(with_tenant(json!({ "identityBinding": { "caData": "x" } })),
    &["identityBinding.caData", "\"x\"", "PEM"])]
#[case::bad_configmap_name(with_tenant(json!({ "identityBinding": { "caConfigMap": "Bad_Name" } })),
    &["identityBinding.caConfigMap", "Bad_Name"])]
#[case::selector_without_signer(with_tenant(json!({ "identityBinding": {
    "caClusterTrustBundle": { "labelSelector": { "matchLabels": { "a": "b" } } } } })),
    &["identityBinding.caClusterTrustBundle.signerName", "required"])]
#[case::bad_signer(with_tenant(json!({ "identityBinding": {
    "caClusterTrustBundle": { "signerName": "nosigner" } } })),
    &["identityBinding.caClusterTrustBundle.signerName", "nosigner"])]
#[case::bad_selector_operator(with_tenant(json!({ "identityBinding": {
    "caClusterTrustBundle": { "signerName": "example.com/s", "labelSelector": {
        "matchExpressions": [{ "key": "a", "operator": "Near" }] } } } })),
    &["identityBinding.caClusterTrustBundle.labelSelector.matchExpressions[0].operator", "Near"])]
#[case::empty_verb(with_tenant(json!({ "identityBinding": { "verb": "" } })), &["identityBinding.verb"])]
#[case::empty_api_group(with_tenant(json!({ "identityBinding": { "apiGroup": "" } })),
    &["identityBinding.apiGroup"])]
#[case::csi_authorize_not_bool(with_tenant(json!({ "secretsStoreCsi": { "authorize": 1 } })),
    &["secretsStoreCsi.authorize"])]
#[case::bad_allowlist_id(with_tenant(json!({ "allowedClientIds": { "team-a": ["client"] } })),
    &["allowedClientIds.team-a", "client", "GUID"])]
#[case::bad_allowlist_namespace(with_tenant(json!({ "allowedClientIds": { "Team A": [] } })),
    &["allowedClientIds", "Team A"])]
#[case::allowlist_not_a_list(with_tenant(json!({ "allowedClientIds": { "team-a": 7 } })),
    &["allowedClientIds.team-a", "a list of client IDs, or one string of them separated by commas"])]
#[case::allowlist_string_with_a_bad_id(with_tenant(json!({ "allowedClientIds": { "team-a": "7b2c4a8e-1f3d-4e5a-9b6c-2d8e0f1a3b5c, client" } })),
    &["allowedClientIds.team-a", "\"client\"", "GUID"])]
#[case::bad_legacy(with_tenant(json!({ "legacyPodIdentity": "block" })),
    &["legacyPodIdentity", "block", "allow"])]
#[case::bad_verify(with_tenant(json!({ "verifyInjection": "maybe" })),
    &["verifyInjection", "maybe", "reject"])]
#[case::mutate_not_bool(json!({ "mutate": "no" }), &["mutate", "no"])]
#[case::unknown_top_level_key(with_tenant(json!({ "tenantID": TENANT })), &["tenantID", "unknown field"])]
#[case::unknown_nested_key(with_tenant(json!({ "identityBinding": { "caBundle": "x" } })),
    &["identityBinding", "caBundle", "unknown field"])]
#[case::unknown_proxy_key(with_tenant(json!({ "proxy": { "port": 8000 } })), &["proxy", "port"])]
#[case::not_an_object(json!(["tenantId"]), &["settings must be a JSON object"])]
fn invalid_settings(#[case] settings: serde_json::Value, #[case] needles: &[&str]) {
    let message = match parse(settings.clone()) {
        Ok(_) => panic!("{settings} should be rejected"),
        Err(e) => e,
    };
    for needle in needles {
        assert!(
            message.contains(needle),
            "message {message:?} should contain {needle:?}"
        );
    }
}

#[test]
fn every_violation_is_reported_at_once() {
    let message = parse(json!({ "tenantId": "x", "cloud": "Mars", "audience": "" }))
        .expect_err("three violations");
    for field in ["tenantId", "cloud", "audience"] {
        assert!(message.contains(field), "{message}");
    }
}

#[test]
fn null_or_empty_settings_are_the_defaults() {
    assert_eq!(Settings::from_json(b"null"), Ok(Settings::default()));
    assert_eq!(Settings::from_json(b"  "), Ok(Settings::default()));
}

#[test]
fn ca_source_resolves_the_configured_variant() {
    let s = parse(with_tenant(json!({ "identityBinding": {
        "caClusterTrustBundle": { "signerName": "example.com/s" } } })))
    .expect("valid");
    assert_eq!(
        s.ca_source(),
        CaSource::ClusterTrustBundle {
            signer_name: "example.com/s",
            label_selector: None
        }
    );
    let s = parse(with_tenant(
        json!({ "identityBinding": { "caConfigMap": "ca" } }),
    ))
    .expect("valid");
    assert_eq!(s.ca_source(), CaSource::ConfigMap("ca"));
}

/// The Kubewarden UI's form edits a map as key/value strings (rancher/kubewarden-ui
/// `components/Questions/QuestionMap.vue`: `KeyValue`), so `allowedClientIds` also takes each
/// namespace's IDs as one string, separated by commas or white space (one per line, say).
#[rstest]
#[case::commas("7b2c4a8e-1f3d-4e5a-9b6c-2d8e0f1a3b5c,00000000-1111-2222-3333-444444444444")]
#[case::commas_and_spaces(
    " 7b2c4a8e-1f3d-4e5a-9b6c-2d8e0f1a3b5c , 00000000-1111-2222-3333-444444444444 "
)]
#[case::one_per_line(
    "7b2c4a8e-1f3d-4e5a-9b6c-2d8e0f1a3b5c\n00000000-1111-2222-3333-444444444444\n"
)]
fn allowed_client_ids_as_the_ui_form_writes_them(#[case] text: &str) {
    let from_form = parse(with_tenant(
        json!({ "allowedClientIds": { "team-a": text } }),
    ));
    let from_list = parse(with_tenant(json!({ "allowedClientIds": { "team-a": [
        "7b2c4a8e-1f3d-4e5a-9b6c-2d8e0f1a3b5c", "00000000-1111-2222-3333-444444444444"] } })));
    assert_eq!(from_form, from_list);
    assert!(from_form.is_ok_and(|s| s.allowed_client_ids.get("team-a").map(Vec::len) == Some(2)));
}

/// An empty value is an empty list: the namespace may use no client ID (`*` aside).
#[test]
fn allowed_client_ids_empty_string_allows_none() {
    let settings = parse(with_tenant(json!({ "allowedClientIds": { "team-a": "" } })));
    assert!(settings.is_ok_and(|s| s.allowed_client_ids.get("team-a") == Some(&vec![])));
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

/// The examples ship a placeholder tenant: a user who forgets to set theirs gets a refusal that
/// says what to put there, not pods with somebody else's tenant.
#[rstest]
#[case::the_examples_placeholder("<your-tenant-id>")]
#[case::any_angle_bracketed_value("<tenant>")]
fn spec_3_placeholder_tenant_is_refused_with_what_to_put_there(#[case] tenant: &str) {
    let error = parse(json!({ "tenantId": tenant }))
        .err()
        .unwrap_or_default();
    assert!(error.starts_with("tenantId: \""), "{error}");
    assert!(error.contains("is a placeholder"), "{error}");
    assert!(
        error.contains("az account show --query tenantId -o tsv"),
        "{error}"
    );
}
