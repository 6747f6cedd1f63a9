//! Property tests of the mutation (SPEC §4.9): for generated pods, the policy never panics,
//! its patch never removes anything, it leaves every untouched path alone, and a second run on
//! its own output changes nothing.

use proptest::prelude::*;
use serde_json::{Map, Value, json};

use crate::testing::*;

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
    )
        .prop_map(move |(env, mounts, future, restart)| {
            let mut c = Map::new();
            c.insert("name".into(), json!(name));
            c.insert("image".into(), json!("img"));
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
            put("azure.workload.identity/inject-proxy-sidecar", proxy);
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

fn layouts() -> impl Strategy<Value = Value> {
    (prop::sample::select(vec!["classic", "v1.6"]), any::<bool>()).prop_map(|(layout, native)| {
        settings(
            json!({ "tokenVolumeLayout": layout, "proxy": { "nativeSidecar": native },
            "identityBinding": { "tokenProxy": "https://proxy.example.com", "caConfigMap": "ca",
                "authorize": false } }),
        )
    })
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

fn check(pod: &Value, settings_value: &Value) -> Result<(), TestCaseError> {
    let fake = cluster_with_sa("ns", "sa");
    let response = run(
        pod_request("ns", pod.clone()),
        settings_value.clone(),
        &fake,
    );
    // Every generated pod is valid: it must be admitted and (being labelled) mutated.
    prop_assert!(response.accepted, "rejected: {:?}", response.message);
    let Some(out) = response.mutated_object else {
        return Err(TestCaseError::fail("a labelled pod was not mutated"));
    };
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
    let patch = json_patch::diff(pod, &out);
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
    let again = run(
        pod_request("ns", out.clone()),
        settings_value.clone(),
        &fake,
    );
    prop_assert!(again.accepted, "second run rejected: {:?}", again.message);
    prop_assert_eq!(again.mutated_object, None, "second run changed the pod");
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(512)))]

    #[test]
    fn mutation_is_idempotent_surgical_and_never_removes(pod in pod(), settings_value in layouts()) {
        check(&pod, &settings_value)?;
    }

    #[test]
    fn identity_binding_and_proxy_mutation_is_idempotent(mut pod in pod(), settings_value in layouts()) {
        pod["metadata"]["annotations"]["azure.workload.identity/use-identity-binding"] = json!("true");
        pod["metadata"]["annotations"]["azure.workload.identity/inject-proxy-sidecar"] = json!("true");
        check(&pod, &settings_value)?;
    }
}
