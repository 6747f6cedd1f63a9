//! reference §9 under fire: the full `evaluate` entry (bytes in, response out, with the in-memory
//! cluster) on arbitrary JSON in place of objects and fields, wrong types, huge strings, deep
//! nesting; the host failure matrix; size limits. The response is always a valid verdict.

use kubewarden_policy_sdk::response::ValidationResponse;
use proptest::prelude::*;
use serde_json::{Value, json};

use azure_workload_identity_policy::cluster::fake::FakeCluster;
use azure_workload_identity_policy::testing::*;

const PROXY: &str = "azure.workload.identity/inject-proxy-sidecar";
const BINDING: &str = "azure.workload.identity/use-identity-binding";
const ALLOW: &[u8] = br#"{"allowed":true}"#;

const KEYS: &[&str] = &[
    "metadata",
    "spec",
    "labels",
    "annotations",
    "name",
    "generateName",
    "namespace",
    "containers",
    "initContainers",
    "env",
    "value",
    "valueFrom",
    "volumeMounts",
    "mountPath",
    "volumes",
    "csi",
    "driver",
    "volumeAttributes",
    "secretProviderClass",
    "projected",
    "sources",
    "serviceAccountToken",
    "audience",
    "serviceAccountName",
    "hostNetwork",
    "os",
    "nodeSelector",
    "template",
    "jobTemplate",
    "azure.workload.identity/use",
    "azure.workload.identity/client-id",
    "azure.workload.identity/inject-proxy-sidecar",
    "azure.workload.identity/skip-containers",
    "azure.workload.identity/service-account-token-expiration",
    "aadpodidbinding",
    "azure.workload.identity/use-identity-binding",
    "restartPolicy",
];

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        prop::sample::select(vec![
            "true",
            "false",
            "",
            "3600",
            "secrets-store.csi.k8s.io",
            "api://AKSIdentityBinding",
            "x;y",
            "windows"
        ])
        .prop_map(|s| json!(s)),
        "\\PC{0,40}".prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 96, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..6).prop_map(|kv| {
                Value::Object(kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
            }),
        ]
    })
}

/// A pod that walks every path: label, proxy, binding, CSI, skip, env.
fn rich_pod() -> Value {
    json!({ "apiVersion": "v1", "kind": "Pod",
        "metadata": { "name": "p", "labels": { "azure.workload.identity/use": "true", "aadpodidbinding": "x" },
            "annotations": { "azure.workload.identity/inject-proxy-sidecar": "true",
                "azure.workload.identity/use-identity-binding": "true",
                "azure.workload.identity/skip-containers": "b" } },
        "spec": { "serviceAccountName": "sa", "nodeSelector": { "kubernetes.io/os": "windows" },
            "initContainers": [{ "name": "i", "image": "x", "env": [{ "name": "AZURE_CLIENT_ID", "value": CLIENT }] }],
            "containers": [{ "name": "a", "image": "x", "volumeMounts": [{ "name": "v", "mountPath": "/m" }] }, { "name": "b" }],
            "volumes": [{ "name": "kv", "csi": { "driver": "secrets-store.csi.k8s.io", "volumeAttributes": { "secretProviderClass": "kv", "clientID": CLIENT, "useAzureTokenProxy": "true" } } },
                { "name": "t", "projected": { "sources": [{ "serviceAccountToken": { "audience": "api://AKSIdentityBinding" } }] } }] } })
}

fn rich_objects() -> Vec<(&'static str, &'static str, Value)> {
    let pod = rich_pod();
    let template = json!({ "metadata": pod["metadata"].clone(), "spec": pod["spec"].clone() });
    vec![
        ("", "Pod", pod),
        (
            "",
            "ServiceAccount",
            json!({ "metadata": { "name": "sa", "annotations": { "azure.workload.identity/client-id": "x" } } }),
        ),
        (
            "apps",
            "Deployment",
            json!({ "metadata": { "name": "d" }, "spec": { "template": template.clone() } }),
        ),
        (
            "secrets-store.csi.x-k8s.io",
            "SecretProviderClass",
            json!({ "metadata": { "name": "kv" }, "spec": { "provider": "azure", "parameters": {
                "clientID": CLIENT, "keyvaultName": "kv1", "tenantID": CLIENT, "objects": "o" } } }),
        ),
        (
            "batch",
            "CronJob",
            json!({ "metadata": { "name": "c" }, "spec": { "jobTemplate": { "spec": { "template": template } } } }),
        ),
    ]
}

/// Every JSON pointer into `value`.
fn paths(value: &Value, prefix: String, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let p = format!("{prefix}/{}", k.replace('~', "~0").replace('/', "~1"));
                out.push(p.clone());
                paths(v, p, out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                let p = format!("{prefix}/{i}");
                out.push(p.clone());
                paths(v, p, out);
            }
        }
        _ => {}
    }
}

fn cluster() -> FakeCluster {
    let spc = json!({ "kind": "SecretProviderClass", "spec": { "provider": "azure",
        "parameters": key_vault_parameters(json!({ "clientID": CLIENT, "useAzureTokenProxy": "true" })) } });
    cluster_with_sa("ns", "sa")
        .with_object(
            "SecretProviderClass",
            "ns",
            "kv",
            Ok(spc.to_string().into_bytes()),
        )
        .with_review(
            "system:serviceaccount:ns:sa",
            CLIENT,
            Ok(br#"{"allowed":true}"#.to_vec()),
        )
}

fn binding_settings() -> Value {
    settings(json!({ "identityBinding": { "tokenProxy": "https://p.example.com" } }))
}

/// A response is a valid verdict: a rejection has a known code and a message; warnings fit.
fn assert_valid(response: &ValidationResponse) -> Result<(), TestCaseError> {
    if !response.accepted {
        prop_assert!(
            matches!(response.code, Some(400 | 403 | 500)),
            "code {:?}",
            response.code
        );
        prop_assert!(response.message.as_deref().is_some_and(|m| !m.is_empty()));
        // Reference §9: a message stays under 2,048 characters whatever the input.
        let length = response.message.as_deref().map_or(0, |m| m.chars().count());
        prop_assert!(length < 2048, "a message of {} characters", length);
        prop_assert!(response.mutated_object.is_none());
    }
    // Reference §9: audit annotation values stay under 1,024 characters.
    for value in response.audit_annotations.iter().flat_map(|a| a.values()) {
        prop_assert!(
            value.chars().count() < 1024,
            "audit value of {}",
            value.len()
        );
    }
    if let Some(warnings) = &response.warnings {
        prop_assert!(warnings.iter().all(|w| w.chars().count() <= 256));
        prop_assert!(warnings.iter().map(|w| w.chars().count()).sum::<usize>() <= 4096);
    }
    Ok(())
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(1000)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    /// Reference §9: host error text of any size and shape (a backtrace after it, say) makes a
    /// bounded rejection, 500 for a failure and 400 for the engine's own not-found answer.
    #[test]
    fn host_error_texts_make_bounded_messages(text in "(?s).{0,300}", repeat in 1usize..400, missing in any::<bool>()) {
        let missing_text = "Cannot find v1/ServiceAccount named 'sa' inside of namespace 'Some(\"ns\")'";
        let text = match missing {
            true => format!("{missing_text}\n{}", text.repeat(repeat)),
            false => text.repeat(repeat),
        };
        let fake = FakeCluster::new().with_object("ServiceAccount", "ns", "sa", Err(text));
        let response = run(pod_request("ns", labelled_pod("p", "sa")), settings(json!({})), &fake);
        assert_valid(&response)?;
        prop_assert_eq!(response.code, Some(if missing { 400 } else { 500 }));
    }


    #[test]
    fn arbitrary_json_as_the_object(object in arb_json(), kind in 0usize..4, validate_only in any::<bool>()) {
        let (group, kind, _) = &rich_objects()[kind];
        let s = if validate_only { json!({ "mutate": false }) } else { binding_settings() };
        let response = run(request(group, kind, "ns", "CREATE", object), s, &cluster());
        assert_valid(&response)?;
    }

    #[test]
    fn arbitrary_json_in_any_field(which in 0usize..4, pick in any::<prop::sample::Index>(), replacement in arb_json(), update in any::<bool>()) {
        let (group, kind, mut object) = rich_objects().swap_remove(which);
        let mut all = Vec::new();
        paths(&object, String::new(), &mut all);
        let path = pick.get(&all).clone();
        if let Some(slot) = object.pointer_mut(&path) {
            *slot = replacement;
        }
        let mut req = request(group, kind, "ns", if update { "UPDATE" } else { "CREATE" }, object);
        if update {
            req["oldObject"] = rich_objects().swap_remove(which).2;
        }
        let response = run(req, binding_settings(), &cluster());
        assert_valid(&response)?;
    }

    #[test]
    fn arbitrary_payload_bytes(bytes in prop::collection::vec(any::<u8>(), 0..256), json_envelope in any::<bool>()) {
        let payload = if json_envelope {
            let text = String::from_utf8_lossy(&bytes).into_owned();
            json!({ "request": { "kind": { "kind": "Pod" }, "operation": "CREATE", "object": text } }).to_string().into_bytes()
        } else {
            bytes
        };
        let response = azure_workload_identity_policy::evaluate(&payload, &cluster());
        assert_valid(&response)?;
    }
}

#[test]
fn deep_nesting_and_huge_strings_are_answered() {
    let mut deep = json!("leaf");
    for _ in 0..300 {
        deep = json!([deep]);
    }
    // Deeper than serde_json's recursion limit (128) is a clean 400, never an overflow. Such
    // a request never reaches a policy: the engine parses the AdmissionReview with the same
    // limit; here the native entry is given the bytes directly.
    let mut pod = rich_pod();
    pod["spec"]["containers"][0]["futureField"] = deep;
    let response = run(pod_request("ns", pod), binding_settings(), &cluster());
    assert!(!response.accepted);
    assert_eq!(response.code, Some(400));
    assert!(
        response
            .message
            .is_some_and(|m| m.contains("recursion limit exceeded")),
        "the parser's own limit"
    );
    // Within the limit, a field the policy does not know survives the mutation whole.
    let mut nested = json!("leaf");
    for _ in 0..100 {
        nested = json!([nested]);
    }
    let mut pod = rich_pod();
    pod["spec"]["containers"][0]["futureField"] = nested.clone();
    let response = run(pod_request("ns", pod), binding_settings(), &cluster());
    assert!(response.accepted, "{response:?}");
    assert_eq!(
        mutated(&response)["spec"]["containers"][0]["futureField"],
        nested
    );

    let huge = "9".repeat(1 << 20);
    let mut pod = labelled_pod("p", "sa");
    pod["metadata"]["annotations"] =
        json!({ "azure.workload.identity/service-account-token-expiration": huge });
    let response = run(pod_request("ns", pod), settings(json!({})), &cluster());
    assert_eq!(response.code, Some(400));
    let message = response.message.unwrap_or_default();
    assert!(
        message.len() < 1024,
        "quoted value truncated: {} bytes",
        message.len()
    );
    assert!(message.contains("(truncated)"));
}

#[test]
fn a_thousand_containers_and_a_hundred_volumes() {
    let mut pod = labelled_pod("p", "sa");
    let containers: Vec<Value> = (0..1000)
        .map(|i| json!({ "name": format!("c{i}"), "image": "x" }))
        .collect();
    let volumes: Vec<Value> = (0..100)
        .map(|i| json!({ "name": format!("v{i}"), "emptyDir": {} }))
        .collect();
    pod["spec"]["containers"] = Value::Array(containers);
    pod["spec"]["volumes"] = Value::Array(volumes);
    let response = run(pod_request("ns", pod), settings(json!({})), &cluster());
    let out = mutated(&response);
    assert_eq!(
        out["spec"]["containers"].as_array().map(Vec::len),
        Some(1000)
    );
    assert_eq!(out["spec"]["volumes"].as_array().map(Vec::len), Some(101));
    assert!(
        env_of(out, "containers", 999)
            .iter()
            .any(|(n, _)| n == "AZURE_FEDERATED_TOKEN_FILE")
    );
}

/// Each host capability failing — error, malformed payload, wrong kind — on every path that
/// calls it: a 500 naming what failed.
#[rstest::rstest]
#[case::sa_error_labelled("pod", Failure::Sa(Err("boom".into())), "ServiceAccount ns/sa")]
#[case::sa_malformed_labelled("pod", Failure::Sa(Ok(b"{oops".to_vec())), "ServiceAccount ns/sa")]
#[case::sa_wrong_kind_labelled("pod", Failure::Sa(Ok(br#"{"kind":"ConfigMap"}"#.to_vec())), "ServiceAccount ns/sa")]
#[case::sa_error_template("deployment", Failure::Sa(Err("boom".into())), "ServiceAccount ns/sa")]
#[case::sa_error_handwritten_token("handwritten", Failure::Sa(Err("boom".into())), "ServiceAccount ns/sa")]
#[case::spc_error("csi", Failure::Spc(Err("boom".into())), "SecretProviderClass ns/kv")]
#[case::spc_malformed("csi", Failure::Spc(Ok(b"[]".to_vec())), "SecretProviderClass ns/kv")]
#[case::spc_wrong_kind("csi", Failure::Spc(Ok(br#"{"kind":"Secret"}"#.to_vec())), "SecretProviderClass ns/kv")]
#[case::review_error_binding("pod", Failure::Review(Err("boom".into())), "SubjectAccessReview failed")]
#[case::review_malformed_binding("pod", Failure::Review(Ok(b"{}".to_vec())), "SubjectAccessReview failed")]
#[case::review_error_csi("csi", Failure::Review(Err("boom".into())), "SubjectAccessReview failed")]
fn host_failure_matrix(#[case] path: &str, #[case] failure: Failure, #[case] names: &str) {
    let spc = json!({ "kind": "SecretProviderClass", "spec": { "provider": "azure",
        "parameters": key_vault_parameters(json!({ "clientID": CLIENT, "useAzureTokenProxy": "true" })) } });
    let mut fake = FakeCluster::new();
    let user = "system:serviceaccount:ns:sa";
    let (sa, spc_answer, review) = match failure {
        Failure::Sa(a) => (
            a,
            Ok(spc.to_string().into_bytes()),
            Ok(br#"{"allowed":true}"#.to_vec()),
        ),
        Failure::Spc(a) => (Ok(sa_bytes()), a, Ok(br#"{"allowed":true}"#.to_vec())),
        Failure::Review(a) => (Ok(sa_bytes()), Ok(spc.to_string().into_bytes()), a),
    };
    fake = fake
        .with_object("ServiceAccount", "ns", "sa", sa)
        .with_object("SecretProviderClass", "ns", "kv", spc_answer)
        .with_review(user, CLIENT, review);
    let mut binding_pod = labelled_pod("p", "sa");
    binding_pod["metadata"]["annotations"] =
        json!({ "azure.workload.identity/use-identity-binding": "true" });
    let (group, kind, object) = match path {
        "pod" => ("", "Pod", binding_pod),
        "deployment" => (
            "apps",
            "Deployment",
            json!({ "metadata": { "name": "d" }, "spec": { "template": labelled_pod("p", "sa") } }),
        ),
        "handwritten" => (
            "",
            "Pod",
            json!({ "metadata": { "name": "p" }, "spec": { "serviceAccountName": "sa",
            "containers": [{ "name": "c" }], "volumes": [{ "name": "t", "projected": { "sources": [
                { "serviceAccountToken": { "audience": "api://AKSIdentityBinding" } }] } }] } }),
        ),
        _ => (
            "",
            "Pod",
            json!({ "metadata": { "name": "p" }, "spec": { "serviceAccountName": "sa",
            "containers": [{ "name": "c" }], "volumes": [{ "name": "kv", "csi": {
                "driver": "secrets-store.csi.k8s.io", "volumeAttributes": { "secretProviderClass": "kv" } } }] } }),
        ),
    };
    let response = run(
        request(group, kind, "ns", "CREATE", object),
        binding_settings(),
        &fake,
    );
    assert!(!response.accepted, "{path}: {response:?}");
    assert_eq!(response.code, Some(500), "{path}: {response:?}");
    let message = response.message.unwrap_or_default();
    assert!(message.contains(names), "{message} lacks {names}");
}

#[derive(Debug)]
enum Failure {
    Sa(Result<Vec<u8>, String>),
    Spc(Result<Vec<u8>, String>),
    Review(Result<Vec<u8>, String>),
}

fn sa_bytes() -> Vec<u8> {
    json!({ "kind": "ServiceAccount", "metadata": { "annotations": { "azure.workload.identity/client-id": CLIENT } } })
        .to_string()
        .into_bytes()
}

#[rstest::rstest]
#[case::object_is_a_string(json!("a string"))]
#[case::spec_is_a_number(json!({ "metadata": { "labels": { "azure.workload.identity/use": "true" } }, "spec": 5 }))]
#[case::container_is_a_number(json!({ "metadata": { "labels": { "azure.workload.identity/use": "true" } }, "spec": { "containers": [1] } }))]
#[case::labels_are_a_number(json!({ "metadata": { "labels": 7 } }))]
fn spec_9_malformed_pods_are_rejected_not_panicked(#[case] object: Value) {
    let response = run(
        pod_request("ns1", object),
        settings(json!({})),
        &cluster_with_sa("ns1", "default"),
    );
    assert!(!response.accepted, "{response:?}");
    assert_eq!(response.code, Some(400), "{response:?}");
}

/// Engines write `kind` before `object`, so a Pod is read with the envelope; a request that
/// has them the other way round is read in a second step, to the same verdict.
#[test]
fn object_before_kind_is_judged_the_same() {
    let request = pod_request("ns", rich_pod());
    let sorted = json!({ "request": request, "settings": binding_settings() }).to_string();
    assert!(sorted.find("\"kind\"") < sorted.find("\"object\""));
    let mut members = request.as_object().cloned().unwrap_or_default();
    let object = members.remove("object").unwrap_or_default();
    let rest = Value::Object(members).to_string();
    let reordered = format!(
        "{{\"request\":{{\"object\":{object},{}}},\"settings\":{}}}",
        rest.get(1..rest.len() - 1).unwrap_or_default(),
        binding_settings()
    );
    assert!(reordered.find("\"object\"") < reordered.find("\"kind\""));
    let answer = |payload: &str| {
        azure_workload_identity_policy::respond(payload.as_bytes(), &cluster()).unwrap_or_default()
    };
    let first = answer(&sorted);
    assert!(String::from_utf8_lossy(&first).contains(r#""accepted":true,"#));
    let parsed = |bytes: Vec<u8>| serde_json::from_slice::<Value>(&bytes).unwrap_or_default();
    assert_eq!(parsed(answer(&reordered)), parsed(first));
}

/// Reading a Pod with the envelope never makes the whole request unreadable: an UPDATE of
/// something that is no pod is accepted untouched (pods are judged at CREATE), as when
/// `object` comes before `kind`; a CREATE is rejected with a message naming the pod.
#[test]
fn a_malformed_pod_update_is_accepted_and_a_create_rejected() {
    for object in [
        json!([]),
        json!("text"),
        json!(1.5),
        json!({ "metadata": { "labels": { "azure.workload.identity/use": "true" } },
            "spec": { "serviceAccountName": "sa", "os": { "name": "linux", "weight": 0.5 },
                "containers": [{ "name": "c", "env": [{ "name": "X", "value": 2.5 }] }] } }),
    ] {
        let mut update = pod_request("ns", object.clone());
        update["operation"] = json!("UPDATE");
        let response = run(update, settings(json!({})), &cluster());
        assert!(
            response.accepted,
            "UPDATE of {object}: {:?}",
            response.message
        );
        let response = run(
            pod_request("ns", object.clone()),
            settings(json!({})),
            &cluster(),
        );
        assert!(!response.accepted, "CREATE of {object}");
        assert_eq!(response.code, Some(400), "{object}");
        let message = response.message.unwrap_or_default();
        assert!(message.starts_with("Pod ns/"), "{message}");
    }
}

/// For profiling (`valgrind --tool=callgrind <test binary> --ignored profile_`): the bench's
/// wi-pod request (or `AZWI_PROFILE_CASE`) through the whole native entry, 1,000 times.
#[test]
#[ignore]
fn profile_wi_pod() {
    let case = std::env::var("AZWI_PROFILE_CASE").unwrap_or_else(|_| "wi-pod".to_owned());
    let request = std::fs::read_to_string(format!(
        "{}/test_data/bench/{case}.json",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap_or_default();
    let request: Value = serde_json::from_str(&request).unwrap_or_default();
    let payload = json!({ "request": request["request"], "settings": {} }).to_string();
    let cluster = azure_workload_identity_policy::cluster::fake::FakeCluster::new()
        .with_service_account(
            "team-a",
            "workload-sa",
            json!({ "azure.workload.identity/client-id": "7b2c4a8e-1f3d-4e5a-9b6c-2d8e0f1a3b5c" }),
        );
    for _ in 0..1000 {
        let answer = azure_workload_identity_policy::respond(payload.as_bytes(), &cluster)
            .unwrap_or_default();
        assert!(!answer.is_empty());
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

/// reference §9: every warning the policy can emit, rendered with 63-character namespace and pod
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
    let spc = json!({ "kind": "SecretProviderClass", "spec": { "provider": "azure", "parameters": key_vault_parameters(json!({ "clientID": OTHER_GUID })) } });
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
        settings(
            json!({ "identityBinding": { "tokenProxy": "https://proxy.example.com" },
            "mutate": false, "verifyInjection": "off" }),
        ),
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
        &FakeCluster::new().with_list(
            "AzureIdentityBinding",
            NS63,
            Ok(br#"{"items":[]}"#.to_vec()),
        ),
        "no binding",
    );
    assert!(seen >= 26, "{seen} warnings rendered");
}

/// A 1,000-character literal client ID is quoted truncated wherever the denial repeats it.
#[test]
fn spec_9_a_long_literal_client_id_makes_a_bounded_denial() {
    let long = "a".repeat(1000);
    let mut pod = labelled_pod("pod", "sa");
    pod["metadata"]["annotations"] = json!({ BINDING: "true" });
    pod["spec"]["containers"][0]["env"] = json!([{ "name": "AZURE_CLIENT_ID", "value": long }]);
    let fake = cluster_with_sa("ns1", "sa")
        .with_review("system:serviceaccount:ns1:sa", CLIENT, Ok(ALLOW.to_vec()))
        .with_review(
            "system:serviceaccount:ns1:sa",
            &long,
            Ok(br#"{"allowed":false}"#.to_vec()),
        );
    let response = run(pod_request("ns1", pod), binding_settings(), &fake);
    assert_eq!(response.code, Some(403), "{response:?}");
    let message = response.message.unwrap_or_default();
    assert!(message.len() < 2048, "{} bytes", message.len());
    assert!(message.contains("(truncated)"), "{message}");
}

/// The warnings revision 2 let lose their advice with 63-character names now fit whole.
#[test]
fn spec_9_no_client_id_and_csi_mismatch_warnings_keep_their_advice_with_long_names() {
    let ns = "n".repeat(63);
    let name = "p".repeat(63);
    let mut pod = labelled_pod(&name, &"s".repeat(63));
    pod["spec"]["volumes"] = json!([{ "name": "kv", "csi": { "driver": "secrets-store.csi.k8s.io", "volumeAttributes": { "secretProviderClass": "kv" } } }]);
    let spc = json!({ "kind": "SecretProviderClass", "spec": { "provider": "azure", "parameters": key_vault_parameters(json!({ "clientID": "7b2c4a8e-1f3d-4e5a-9b6c-2d8e0f1a3b5c" })) } });
    let with = |annotations: Value| {
        FakeCluster::new()
            .with_service_account(&ns, &"s".repeat(63), annotations)
            .with_object(
                "SecretProviderClass",
                &ns,
                "kv",
                Ok(spc.to_string().into_bytes()),
            )
    };
    let none = run(
        pod_request(&ns, pod.clone()),
        settings(json!({})),
        &with(json!({})),
    );
    let other = run(
        pod_request(&ns, pod),
        settings(json!({})),
        &with(json!({ "azure.workload.identity/client-id": CLIENT })),
    );
    for (response, advice) in [
        (none, "or set AZURE_CLIENT_ID"),
        (other, "(SecretProviderClass \"kv\")"),
    ] {
        let warnings = response.warnings.unwrap_or_default();
        let warning = warnings.iter().find(|w| w.contains(advice));
        assert!(
            warning.is_some_and(|w| w.chars().count() <= 256 && !w.ends_with('…')),
            "{warnings:?}"
        );
    }
}

/// Reference §9: a 100 KB name of a referenced object comes back bounded.
#[test]
fn reference_9_a_huge_secret_provider_class_name_is_bounded() {
    let mut pod = labelled_pod("p", "sa");
    let name = "k".repeat(100_000);
    pod["spec"]["volumes"] = json!([{ "name": "kv", "csi": { "driver": "secrets-store.csi.k8s.io",
        "volumeAttributes": { "secretProviderClass": name } } }]);
    let response = run(
        pod_request("ns", pod),
        settings(json!({})),
        &cluster_with_sa("ns", "sa"),
    );
    assert!(!response.accepted, "{response:?}");
    let message = response.message.unwrap_or_default();
    assert!(message.chars().count() < 2048, "{}", message.len());
    assert!(message.contains("(truncated)"), "{message}");
}

/// Reference §9: a 300-entry `proxy.allowedNamespaces` is cut after ten in a rejection.
#[test]
fn reference_9_a_long_settings_list_is_cut_after_ten() {
    let mut pod = labelled_pod("p", "sa");
    pod["metadata"]["annotations"] =
        json!({ "azure.workload.identity/inject-proxy-sidecar": "true" });
    let namespaces: Vec<String> = (0..300).map(|i| format!("team-{i}")).collect();
    let response = run(
        pod_request("ns", pod),
        settings(json!({ "proxy": { "allowedNamespaces": namespaces } })),
        &cluster_with_sa("ns", "sa"),
    );
    assert_rejected(&response, 403, "team-9, … (+290 more)");
}
