//! SPEC §4 through the real wasm: one named fixture per rule, asserted on the pod the API
//! server would store (the request's object with the harness's patch applied).
//! The §4.11 warnings and cross-checks of an opted-in pod are here too.

mod common;

use azure_workload_identity_policy::testing::api_server_defaults;
use common::*;
use serde_json::{Value, json};

const CLIENT: &str = "7b2c4a8e-1f3d-4e5a-9b6c-2d8e0f1a3b5c";

const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";

const CLASSIC_TOKEN: &str = "/var/run/secrets/azure/tokens/azure-identity-token";

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn spec_4_1_unlabeled_pod_no_host_call_no_patch() {
    // An empty session: any host call would be reported as unanswered.
    let out = eval_clean(
        "pod/unlabeled.json",
        "settings/default.json",
        "sessions/empty.yml",
    );
    assert!(out.allowed());
    assert_eq!(out.patch(), None);
}

#[test]
fn spec_4_1_label_value_must_be_exactly_true() {
    let out = eval_clean(
        "pod/label-not-exact.json",
        "settings/default.json",
        "sessions/empty.yml",
    );
    assert!(out.allowed());
    assert_eq!(out.patch(), None);
}

#[test]
fn spec_4_6_classic_layout_full_injection() {
    let out = eval_clean(
        "pod/labelled.json",
        "settings/default.json",
        "sessions/workload-sa.yml",
    );
    let pod = out.patched();
    let injected = [
        ("AZURE_CLIENT_ID", CLIENT),
        ("AZURE_TENANT_ID", TENANT),
        ("AZURE_FEDERATED_TOKEN_FILE", CLASSIC_TOKEN),
        ("AZURE_AUTHORITY_HOST", "https://login.microsoftonline.com/"),
    ];
    let mut app = vec![("LOG_LEVEL", "info")];
    app.extend(injected);
    assert_eq!(env(&pod, "containers", 0), pairs(&app));
    assert_eq!(env(&pod, "containers", 1), pairs(&injected));
    assert_eq!(env(&pod, "initContainers", 0), pairs(&injected));
    let mount = json!({ "name": "azure-identity-token", "mountPath": "/var/run/secrets/azure/tokens", "readOnly": true });
    assert_eq!(pod["spec"]["containers"][0]["volumeMounts"][1], mount);
    assert_eq!(pod["spec"]["containers"][1]["volumeMounts"], json!([mount]));
    assert_eq!(
        pod["spec"]["volumes"][1],
        json!({ "name": "azure-identity-token", "projected": { "sources": [
        { "serviceAccountToken": { "path": "azure-identity-token", "expirationSeconds": 3600, "audience": "api://AzureADTokenExchange" } }] } })
    );
    assert!(out.ops().iter().all(|op| op == "add"), "{:?}", out.ops());
}

#[test]
fn spec_2_v16_layout() {
    let pod = eval_clean(
        "pod/labelled.json",
        "settings/v16.json",
        "sessions/workload-sa.yml",
    )
    .patched();
    // sha256("web-7d9f8b7c5d-x2x4z"), first 30 hex characters.
    let volume = pod["spec"]["volumes"][1]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        volume.starts_with("azure-workload-identity-reserved-") && volume.len() == 63,
        "{volume}"
    );
    assert_eq!(
        pod["spec"]["containers"][1]["volumeMounts"],
        json!([{ "name": volume, "mountPath": "/var/run/secrets/azure/wi", "readOnly": true }])
    );
    assert!(env(&pod, "containers", 1).contains(&(
        "AZURE_FEDERATED_TOKEN_FILE".into(),
        "/var/run/secrets/azure/wi/token/azure-identity-token".into()
    )));
    assert_eq!(
        pod["spec"]["volumes"][1]["projected"]["sources"][0]["serviceAccountToken"]["path"],
        "token/azure-identity-token"
    );
}

#[test]
fn spec_2_v161_layout_mount_path_carries_the_hash() {
    let pod = eval_clean(
        "pod/labelled.json",
        "settings/v161.json",
        "sessions/workload-sa.yml",
    )
    .patched();
    let hash = &sha256_hex("web-7d9f8b7c5d-x2x4z")[..30];
    let volume = format!("azure-workload-identity-reserved-{hash}");
    let mount = format!("/var/run/secrets/azure/wi/{hash}");
    assert_eq!(pod["spec"]["volumes"][1]["name"], json!(volume));
    assert_eq!(
        pod["spec"]["volumes"][1]["projected"]["sources"][0]["serviceAccountToken"]["path"],
        "token/azure-identity-token"
    );
    for (list, index) in [("initContainers", 0), ("containers", 0), ("containers", 1)] {
        let mounts = pod["spec"][list][index]["volumeMounts"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert!(
            mounts.contains(&json!({ "name": volume, "mountPath": mount, "readOnly": true })),
            "{list}[{index}]: {mounts:?}"
        );
        assert!(
            env(&pod, list, index).contains(&(
                "AZURE_FEDERATED_TOKEN_FILE".into(),
                format!("{mount}/token/azure-identity-token")
            )),
            "{list}[{index}]"
        );
    }
}

#[test]
fn spec_2_v16_generate_name_is_hashed_with_prefix_marker() {
    let pod = eval_clean(
        "pod/generate-name.json",
        "settings/v16.json",
        "sessions/workload-sa.yml",
    )
    .patched();
    // sha256("web-7d9f8b7c5d- (prefix)")[..30], computed independently with sha256sum.
    let expected = format!(
        "azure-workload-identity-reserved-{}",
        &sha256_hex("web-7d9f8b7c5d- (prefix)")[..30]
    );
    assert_eq!(pod["spec"]["volumes"][1]["name"], json!(expected));
}

fn sha256_hex(input: &str) -> String {
    let out = std::process::Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child
                .stdin
                .take()
                .expect("stdin")
                .write_all(input.as_bytes())?;
            child.wait_with_output()
        })
        .expect("sha256sum runs");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn spec_4_2_default_service_account() {
    let pod = eval_clean(
        "pod/labelled-default-sa.json",
        "settings/default.json",
        "sessions/default-sa.yml",
    )
    .patched();
    assert!(env(&pod, "containers", 1).contains(&("AZURE_CLIENT_ID".into(), CLIENT.into())));
}

#[test]
fn spec_4_2_missing_service_account_rejected_after_uncached_retry() {
    let out = eval_clean(
        "pod/missing-sa.json",
        "settings/default.json",
        "sessions/ghost-sa.yml",
    );
    assert!(!out.allowed());
    assert_eq!(out.status_code(), Some(400));
    assert!(
        out.message().contains("Pod team-a/web-7d9f8b7c5d-x2x4z"),
        "{}",
        out.message()
    );
    assert!(
        out.message().contains("ServiceAccount team-a/ghost"),
        "{}",
        out.message()
    );
}

#[test]
fn spec_4_4_and_4_5_annotations_of_the_service_account() {
    let pod = eval_clean(
        "pod/labelled.json",
        "settings/default.json",
        "sessions/workload-sa-expiration.yml",
    )
    .patched();
    assert!(
        env(&pod, "containers", 1)
            .contains(&("AZURE_TENANT_ID".into(), "contoso.onmicrosoft.com".into()))
    );
    assert_eq!(
        pod["spec"]["volumes"][1]["projected"]["sources"][0]["serviceAccountToken"]["expirationSeconds"],
        86400
    );
}

#[test]
fn spec_4_4_pod_expiration_wins() {
    let pod = eval_clean(
        "pod/expiration-from-pod.json",
        "settings/default.json",
        "sessions/workload-sa-expiration.yml",
    )
    .patched();
    assert_eq!(
        pod["spec"]["volumes"][1]["projected"]["sources"][0]["serviceAccountToken"]["expirationSeconds"],
        7200
    );
}

#[test]
fn spec_4_4_bad_expiration_rejected_with_value_source_and_range() {
    let out = eval_clean(
        "pod/bad-expiration.json",
        "settings/default.json",
        "sessions/workload-sa.yml",
    );
    assert!(!out.allowed());
    assert_eq!(out.status_code(), Some(400));
    for needle in [
        "\"1h\"",
        "on the pod",
        "3600 to 86400",
        "service-account-token-expiration",
    ] {
        assert!(
            out.message().contains(needle),
            "{} lacks {needle}",
            out.message()
        );
    }
}

#[test]
fn spec_4_6_existing_env_never_overwritten() {
    let pod = eval_clean(
        "pod/existing-env.json",
        "settings/default.json",
        "sessions/workload-sa.yml",
    )
    .patched();
    assert_eq!(
        env(&pod, "containers", 0),
        pairs(&[
            ("LOG_LEVEL", "info"),
            ("AZURE_CLIENT_ID", "11111111-2222-3333-4444-555555555555"),
            ("AZURE_TENANT_ID", "<valueFrom>"),
            ("AZURE_FEDERATED_TOKEN_FILE", CLASSIC_TOKEN),
            ("AZURE_AUTHORITY_HOST", "https://login.microsoftonline.com/"),
        ])
    );
}

#[test]
fn spec_4_6_skip_containers() {
    let out = eval_clean(
        "pod/skip-containers.json",
        "settings/default.json",
        "sessions/workload-sa.yml",
    );
    let pod = out.patched();
    assert_eq!(
        pod["spec"]["containers"][1],
        out.request["object"]["spec"]["containers"][1]
    );
    assert_eq!(
        pod["spec"]["initContainers"][0],
        out.request["object"]["spec"]["initContainers"][0]
    );
    assert!(env(&pod, "containers", 0).contains(&("AZURE_CLIENT_ID".into(), CLIENT.into())));
}

#[test]
fn spec_4_10_mount_path_collision_rejected() {
    let out = eval_clean(
        "pod/mount-collision.json",
        "settings/default.json",
        "sessions/workload-sa.yml",
    );
    assert!(!out.allowed());
    assert_eq!(out.status_code(), Some(400));
    assert!(
        out.message().contains("\"tokens\"")
            && out.message().contains("/var/run/secrets/azure/tokens"),
        "{}",
        out.message()
    );
}

#[test]
fn spec_4_3_proxy_native_sidecar() {
    let pod = eval_clean(
        "pod/proxy.json",
        "settings/default.json",
        "sessions/workload-sa.yml",
    )
    .patched();
    assert_eq!(
        names(&pod, "initContainers"),
        ["azwi-proxy", "migrate", "azwi-proxy-init"]
    );
    let sidecar = &pod["spec"]["initContainers"][0];
    assert_eq!(sidecar["restartPolicy"], "Always");
    assert_eq!(
        sidecar["image"],
        "mcr.microsoft.com/oss/v2/azure/workload-identity/proxy:v1.6.0"
    );
    assert_eq!(
        sidecar["args"],
        json!(["--proxy-port=8001", "--log-level=info"])
    );
    assert_eq!(sidecar["ports"], json!([{ "containerPort": 8001 }]));
    assert_eq!(
        sidecar["lifecycle"]["postStart"]["exec"]["command"],
        json!(["/proxy", "--proxy-port=8001", "--probe", "--log-level=info"])
    );
    let init = &pod["spec"]["initContainers"][2];
    assert_eq!(
        init["image"],
        "mcr.microsoft.com/oss/v2/azure/workload-identity/proxy-init:v1.6.0"
    );
    assert_eq!(init["securityContext"]["privileged"], true);
    assert_eq!(
        env(&pod, "initContainers", 2)[0],
        ("PROXY_PORT".into(), "8001".into())
    );
}

#[test]
fn spec_4_3_proxy_classic_sidecar_prepended_to_containers() {
    let pod = eval_clean(
        "pod/proxy.json",
        "settings/proxy-not-native.json",
        "sessions/workload-sa.yml",
    )
    .patched();
    assert_eq!(
        names(&pod, "initContainers"),
        ["migrate", "azwi-proxy-init"]
    );
    assert_eq!(names(&pod, "containers"), ["azwi-proxy", "app", "metrics"]);
    assert_eq!(
        pod["spec"]["containers"][0]["args"],
        json!(["--proxy-port=8001", "--log-level=debug"])
    );
    assert_eq!(pod["spec"]["containers"][0].get("restartPolicy"), None);
}

#[test]
fn spec_4_3_proxy_rejections() {
    for (request, settings, code, needle) in [
        (
            "pod/proxy-host-network.json",
            "settings/default.json",
            400,
            "hostNetwork",
        ),
        (
            "pod/proxy-bad-port.json",
            "settings/default.json",
            400,
            "\"80000\"",
        ),
        (
            "pod/proxy.json",
            "settings/proxy-restricted.json",
            403,
            "proxy.allowedNamespaces",
        ),
    ] {
        let out = eval_clean(request, settings, "sessions/workload-sa.yml");
        assert!(!out.allowed(), "{request}");
        assert_eq!(
            out.status_code(),
            Some(code),
            "{request}: {}",
            out.message()
        );
        assert!(
            out.message().contains(needle),
            "{request}: {}",
            out.message()
        );
    }
}

#[test]
fn spec_1_unclear_proxy_value_warns_and_does_not_inject() {
    let out = eval_clean(
        "pod/proxy-value-unclear.json",
        "settings/default.json",
        "sessions/workload-sa.yml",
    );
    assert!(out.allowed());
    assert_eq!(names(&out.patched(), "initContainers"), ["migrate"]);
    assert!(
        out.warnings().iter().any(|w| w.contains("\"enabled\"")),
        "{:?}",
        out.warnings()
    );
}

#[test]
fn spec_4_9_future_fields_survive_and_patch_only_adds() {
    let out = eval_clean(
        "pod/future-fields.json",
        "settings/default.json",
        "sessions/workload-sa.yml",
    );
    let pod = out.patched();
    let before = &out.request["object"];
    assert_eq!(pod["spec"]["initContainers"][1]["restartPolicy"], "Always");
    assert_eq!(
        pod["spec"]["futureSchedulingGates"],
        before["spec"]["futureSchedulingGates"]
    );
    assert_eq!(pod["spec"]["resources"], before["spec"]["resources"]);
    assert_eq!(
        pod["spec"]["containers"][0]["futureProbe"],
        before["spec"]["containers"][0]["futureProbe"]
    );
    assert_eq!(pod["spec"]["volumes"][1], before["spec"]["volumes"][1]);
    assert_eq!(pod["spec"]["volumes"][1]["futureVolumeField"], true);
    assert_eq!(pod["metadata"], before["metadata"]);
    assert!(out.ops().iter().all(|op| op == "add"), "{:?}", out.ops());
}

/// Evaluates `request` with `settings`, lets `store` do to the mutated pod what the API server
/// does before it stores it, and evaluates the stored pod again as the same request: the
/// second answer.
fn rerun(request: &str, settings: &str, store: fn(&mut Value)) -> Outcome {
    static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let first = eval_clean(request, settings, "sessions/workload-sa.yml");
    assert!(
        first.patch().is_some(),
        "{request} with {settings}: no mutation"
    );
    let mut stored = first.patched();
    store(&mut stored);
    let mut review: Value =
        serde_json::from_str(&std::fs::read_to_string(data(request)).expect("read")).expect("json");
    review["request"]["object"] = stored;
    let dir = std::env::temp_dir().join(format!("azwi-rerun-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp");
    let run = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = dir.join(format!("{run}-{}", request.replace('/', "_")));
    std::fs::write(&path, review.to_string()).expect("write");
    eval_clean(
        path.to_str().unwrap_or_default(),
        settings,
        "sessions/workload-sa.yml",
    )
}

/// SPEC §4.9 on the real wasm: the policy's output, evaluated again as it is and after the API
/// server's defaulting, yields no patch, in every layout and proxy flavour.
#[test]
fn spec_4_9_the_policys_output_rerun_as_is_or_defaulted_yields_no_patch() {
    for (request, settings) in [
        ("pod/labelled.json", "settings/default.json"),
        ("pod/labelled.json", "settings/v16.json"),
        ("pod/labelled.json", "settings/v161.json"),
        ("pod/proxy.json", "settings/default.json"),
        ("pod/proxy.json", "settings/v16.json"),
        ("pod/proxy.json", "settings/proxy-not-native.json"),
        ("pod/future-fields.json", "settings/default.json"),
    ] {
        for (how, store) in [
            ("as is", (|_| {}) as fn(&mut Value)),
            ("defaulted", api_server_defaults),
        ] {
            let second = rerun(request, settings, store);
            assert!(second.allowed(), "{request} with {settings}, {how}");
            assert_eq!(
                second.patch(),
                None,
                "{request} with {settings}, {how}: not idempotent"
            );
        }
    }
}

#[test]
fn spec_4_9_defaulted_fixture_is_the_policys_own_output_plus_defaults() {
    let first = eval_clean(
        "pod/labelled.json",
        "settings/default.json",
        "sessions/workload-sa.yml",
    );
    let fixture: Value = serde_json::from_str(
        &std::fs::read_to_string(data("pod/mutated-classic-defaulted.json")).expect("read"),
    )
    .expect("json");
    let mut defaulted = first.patched();
    api_server_defaults(&mut defaulted);
    assert_eq!(
        fixture["request"]["object"], defaulted,
        "regenerate pod/mutated-classic-defaulted.json from the policy's output"
    );
    let again = eval_clean(
        "pod/mutated-classic-defaulted.json",
        "settings/default.json",
        "sessions/workload-sa.yml",
    );
    assert!(again.allowed());
    assert_eq!(again.patch(), None);
    assert!(again.warnings().is_empty(), "{:?}", again.warnings());
}

#[test]
fn spec_3_validate_only_mode_never_patches() {
    let out = eval_clean(
        "pod/labelled.json",
        "settings/validate-only-off.json",
        "sessions/workload-sa.yml",
    );
    assert!(out.allowed());
    assert_eq!(out.patch(), None);
}

#[test]
fn spec_3_cloud_sets_authority_host() {
    let pod = eval_clean(
        "pod/labelled.json",
        "settings/usgov.json",
        "sessions/workload-sa.yml",
    )
    .patched();
    assert!(env(&pod, "containers", 1).contains(&(
        "AZURE_AUTHORITY_HOST".into(),
        "https://login.microsoftonline.us/".into()
    )));
}

#[test]
fn spec_4_8_identity_binding_configmap_ca_v16() {
    let pod = eval_clean(
        "pod/identity-binding.json",
        "settings/identity-binding.json",
        "sessions/binding-allowed.yml",
    )
    .patched();
    let env = env(&pod, "containers", 1);
    assert!(env.contains(&(
        "AZURE_KUBERNETES_TOKEN_PROXY".into(),
        "https://identity-binding.aks.example.com:443".into()
    )));
    assert!(env.contains(&(
        "AZURE_KUBERNETES_SNI_NAME".into(),
        "ib.aks.example.com".into()
    )));
    assert!(env.contains(&(
        "AZURE_KUBERNETES_CA_FILE".into(),
        "/var/run/secrets/azure/wi/ca-cert/ca.crt".into()
    )));
    assert!(!env.iter().any(|(n, _)| n == "AZURE_KUBERNETES_CA_DATA"));
    let sources = &pod["spec"]["volumes"][1]["projected"]["sources"];
    assert_eq!(
        sources[0]["serviceAccountToken"]["audience"],
        "api://AKSIdentityBinding"
    );
    assert_eq!(
        sources[1],
        json!({ "configMap": { "name": "aks-identity-binding-ca", "items": [{ "key": "ca.crt", "path": "ca-cert/ca.crt" }], "optional": false } })
    );
}

#[test]
fn spec_4_11_annotations_without_label_and_typos_warn() {
    let out = eval_clean(
        "pod/annotations-without-label.json",
        "settings/default.json",
        Some("sessions/empty.yml"),
    );
    assert!(out.allowed());
    assert_eq!(out.patch(), None);
    let w = out.warnings();
    assert!(
        w.iter()
            .any(|w| w.contains("add label azure.workload.identity/use: \"true\" to the pod")),
        "{w:?}"
    );
    assert!(
        w.iter()
            .any(|w| w.contains("did you mean azure.workload.identity/skip-containers?")),
        "{w:?}"
    );
    assert!(w.iter().all(|w| w.chars().count() <= 256), "{w:?}");
}

#[test]
fn spec_4_11_labelled_pod_without_client_id_warns() {
    let out = eval_clean(
        "pod/labelled-default-sa.json",
        "settings/default.json",
        Some("sessions/default-sa-no-client-id.yml"),
    );
    assert!(out.allowed());
    assert!(
        out.warnings().iter().any(|w| w
            .contains("no identity: annotate ServiceAccount default with client-id")
            && w.contains("AZURE_CLIENT_ID")),
        "{:?}",
        out.warnings()
    );
}

#[test]
fn spec_4_11_windows_node_selector_warns_and_windows_proxy_is_rejected() {
    let warn = eval_clean(
        "pod/windows-node-selector.json",
        "settings/default.json",
        "sessions/workload-sa.yml",
    );
    assert!(warn.allowed());
    assert!(
        warn.warnings().iter().any(|w| w.contains("spec.os.name")),
        "{:?}",
        warn.warnings()
    );
    let proxy = eval_clean(
        "pod/proxy-windows.json",
        "settings/default.json",
        "sessions/workload-sa.yml",
    );
    assert_eq!(proxy.status_code(), Some(400));
    assert!(
        proxy
            .message()
            .contains("azure.workload.identity/inject-proxy-sidecar")
            && proxy.message().contains("Linux-only"),
        "{}",
        proxy.message()
    );
}

#[test]
fn spec_4_11_csi_client_id_mismatch_warns() {
    let out = eval_clean(
        "pod/csi-labelled.json",
        "settings/default.json",
        "sessions/csi-labelled-allowed.yml",
    );
    assert!(out.allowed());
    assert!(
        out.warnings()
            .iter()
            .any(|w| w.contains("align the client IDs")
                && w.contains("c3d4e5f6-a7b8-4c9d-8e0f-1a2b3c4d5e6f")),
        "{:?}",
        out.warnings()
    );
}
