//! reference §11: the shipped ClusterAdmissionPolicy examples register `matchConditions` (CEL,
//! evaluated by the API server) that send the policy only the objects it has something to do
//! with. Here the examples' own expressions are evaluated with a real CEL interpreter, as the
//! API server evaluates them, and held against the policy itself: what the conditions send, the
//! policy acts on; what they keep away, the policy would have answered with a plain accept, no
//! host call and no warning, so keeping it away loses nothing.

use std::fs;
use std::path::{Path, PathBuf};

use cel::{Context, Program, Value as Cel};
use kubewarden_policy_sdk::response::ValidationResponse;
use proptest::prelude::*;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use azure_workload_identity_policy::cluster::fake::FakeCluster;
use azure_workload_identity_policy::testing::{CLIENT, pod_request, request, run};

const PREFIX: &str = "azure.workload.identity/";
const LEGACY_LABEL: &str = "aadpodidbinding";

// ---------------------------------------------------------------------------------------------
// The examples, read as the controller reads them.

#[derive(Deserialize)]
struct Manifest {
    metadata: Option<ManifestMetadata>,
    spec: Option<Spec>,
}

#[derive(Deserialize)]
struct ManifestMetadata {
    name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Spec {
    #[serde(default)]
    rules: Vec<Rule>,
    #[serde(default)]
    match_conditions: Vec<MatchCondition>,
    failure_policy: Option<String>,
    #[serde(default)]
    settings: Value,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Rule {
    api_groups: Vec<String>,
    resources: Vec<String>,
    operations: Vec<String>,
}

#[derive(Deserialize)]
struct MatchCondition {
    name: String,
    expression: String,
}

/// One shipped ClusterAdmissionPolicy, its conditions compiled.
struct Example {
    /// `path (metadata.name)`, for messages.
    label: String,
    rules: Vec<Rule>,
    conditions: Vec<(String, String, Program)>,
    failure_policy: Option<String>,
    settings: Value,
}

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples")
}

fn yaml_files(dir: &Path, found: &mut Vec<PathBuf>) {
    let entries = fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot list {dir:?}: {e}"));
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            yaml_files(&path, found);
        } else if path
            .extension()
            .is_some_and(|ext| ext == "yaml" || ext == "yml")
        {
            found.push(path);
        }
    }
}

/// The examples that judge every object of the kinds they register: all but the `migrate`
/// instance, which receives only what carries the `aadpodidbinding` label (reference §11).
fn examples() -> Vec<Example> {
    all_examples()
        .into_iter()
        .filter(|e| !e.only_aad_pod_identity())
        .collect()
}

/// Every ClusterAdmissionPolicy under `examples/`, every document of every YAML file.
fn all_examples() -> Vec<Example> {
    let mut files = Vec::new();
    yaml_files(&examples_dir(), &mut files);
    files.sort();
    let mut examples = Vec::new();
    for file in files {
        let text =
            fs::read_to_string(&file).unwrap_or_else(|e| panic!("cannot read {file:?}: {e}"));
        for document in serde_yaml::Deserializer::from_str(&text) {
            let document = serde_yaml::Value::deserialize(document)
                .unwrap_or_else(|e| panic!("{file:?} is not YAML: {e}"));
            if document.get("kind").and_then(serde_yaml::Value::as_str)
                != Some("ClusterAdmissionPolicy")
            {
                continue;
            }
            let manifest: Manifest = serde_yaml::from_value(document)
                .unwrap_or_else(|e| panic!("{file:?} is not a ClusterAdmissionPolicy: {e}"));
            let name = manifest.metadata.map(|m| m.name).unwrap_or_default();
            let spec = manifest
                .spec
                .unwrap_or_else(|| panic!("{file:?} ({name}) has no spec"));
            let label = format!(
                "{} ({name})",
                file.strip_prefix(env!("CARGO_MANIFEST_DIR"))
                    .unwrap_or(&file)
                    .display()
            );
            let conditions = spec
                .match_conditions
                .into_iter()
                .map(|c| {
                    let program = Program::compile(&c.expression).unwrap_or_else(|e| {
                        panic!("{label}: matchCondition {} does not compile: {e}", c.name)
                    });
                    (c.name, c.expression, program)
                })
                .collect();
            examples.push(Example {
                label,
                rules: spec.rules,
                conditions,
                failure_policy: spec.failure_policy,
                settings: spec.settings,
            });
        }
    }
    assert!(
        !examples.is_empty(),
        "no ClusterAdmissionPolicy under {:?}",
        examples_dir()
    );
    examples
}

impl Example {
    /// The `migrate` instance: its conditions let only pods and pod templates labelled
    /// `aadpodidbinding` through.
    fn only_aad_pod_identity(&self) -> bool {
        self.conditions
            .iter()
            .any(|(name, _, _)| name.starts_with("aad-pod-identity-"))
    }

    /// Whether the example's `rules` send this request to the policy at all.
    fn registers(&self, group: &str, resource: &str, operation: &str) -> bool {
        self.rules.iter().any(|rule| {
            let has = |list: &[String], item: &str| list.iter().any(|x| x == item || x == "*");
            has(&rule.api_groups, group)
                && has(&rule.resources, resource)
                && has(&rule.operations, operation)
        })
    }

    /// The API server's verdict on `request` (an AdmissionRequest as the policy receives it):
    /// `Ok(true)` when every condition holds and the policy is called. Any evaluation error is
    /// an `Err`, even where another condition is false: the conditions must never error, since
    /// with `failurePolicy: Fail` an error can reject the request.
    fn sends(&self, request: &Value) -> Result<bool, String> {
        let mut envelope = request.clone();
        let (object, old_object) = match envelope.as_object_mut() {
            Some(fields) => (
                fields.remove("object").unwrap_or(Value::Null),
                fields.remove("oldObject").unwrap_or(Value::Null),
            ),
            None => return Err("the request is not an object".into()),
        };
        let mut context = Context::default();
        for (name, value) in [
            ("request", &envelope),
            ("object", &object),
            ("oldObject", &old_object),
        ] {
            let value = cel::to_value(value).map_err(|e| format!("cannot bind {name}: {e}"))?;
            context.add_variable_from_value(name, value);
        }
        let mut all = true;
        for (name, _, program) in &self.conditions {
            match program.execute(&context) {
                Ok(Cel::Bool(holds)) => all &= holds,
                Ok(other) => {
                    return Err(format!(
                        "{}: matchCondition {name} is not a bool: {other:?}",
                        self.label
                    ));
                }
                Err(e) => {
                    return Err(format!(
                        "{}: matchCondition {name} failed: {e:?}",
                        self.label
                    ));
                }
            }
        }
        Ok(all)
    }
}

// ---------------------------------------------------------------------------------------------
// Kinds, and what a plain answer is.

/// Every kind the policy judges: (group, kind, resource).
const KINDS: &[(&str, &str, &str)] = &[
    ("", "Pod", "pods"),
    ("", "ServiceAccount", "serviceaccounts"),
    (
        "secrets-store.csi.x-k8s.io",
        "SecretProviderClass",
        "secretproviderclasses",
    ),
    ("", "ReplicationController", "replicationcontrollers"),
    ("apps", "Deployment", "deployments"),
    ("apps", "ReplicaSet", "replicasets"),
    ("apps", "StatefulSet", "statefulsets"),
    ("apps", "DaemonSet", "daemonsets"),
    ("batch", "Job", "jobs"),
    ("batch", "CronJob", "cronjobs"),
];

const WORKLOADS: &[&str] = &[
    "ReplicationController",
    "Deployment",
    "ReplicaSet",
    "StatefulSet",
    "DaemonSet",
    "Job",
    "CronJob",
];

fn kind(kind: &str) -> (&'static str, &'static str, &'static str) {
    KINDS
        .iter()
        .copied()
        .find(|(_, k, _)| *k == kind)
        .unwrap_or_else(|| panic!("unknown kind {kind}"))
}

/// A workload of `kind` whose pod template is `template`, with the workload's own `metadata`.
fn workload(kind: &str, metadata: Value, template: Value) -> Value {
    let spec = match kind {
        "CronJob" => json!({ "schedule": "*/5 * * * *",
            "jobTemplate": { "spec": { "template": template } } }),
        _ => json!({ "replicas": 1, "template": template }),
    };
    json!({ "apiVersion": "v1", "kind": kind, "metadata": metadata, "spec": spec })
}

/// The pod's metadata and spec as a pod template.
fn template_of(pod: &Value) -> Value {
    json!({ "metadata": pod["metadata"].clone(), "spec": pod["spec"].clone() })
}

/// The AdmissionRequest for `object` of `kind` in namespace `ns`.
fn admission(kind_name: &str, ns: &str, operation: &str, object: Value) -> Value {
    let (group, kind, resource) = kind(kind_name);
    let mut request = request(group, kind, ns, operation, object);
    request["resource"]["resource"] = json!(resource);
    request
}

/// Accepted as it is: no mutation, no warning, no message.
fn is_plain(response: &ValidationResponse) -> bool {
    response.accepted
        && response.mutated_object.is_none()
        && response.warnings.is_none()
        && response.code.is_none()
}

/// What the policy answers `request` with `settings`, and the host calls it made.
fn judge(settings: &Value, request: &Value) -> (ValidationResponse, FakeCluster) {
    let fake = FakeCluster::new();
    let response = run(request.clone(), settings.clone(), &fake);
    (response, fake)
}

/// The example's settings, and the same with every setting that widens what the policy checks
/// on pods that are not opted in (an allowlist, rejected AAD Pod Identity pods): the
/// conditions do not depend on the settings, so what they keep away must stay plain whatever
/// an operator adds.
fn settings_of(example: &Example) -> [Value; 2] {
    let mut strict = example.settings.clone();
    if let Some(fields) = strict.as_object_mut() {
        fields.insert("allowedClientIds".into(), json!({ "*": [CLIENT] }));
        fields.insert("legacyPodIdentity".into(), json!("reject"));
    }
    [example.settings.clone(), strict]
}

// ---------------------------------------------------------------------------------------------
// The registration itself.

#[test]
fn spec_11_every_example_registers_match_conditions_and_keeps_failing_closed() {
    let examples = all_examples();
    assert!(examples.len() >= 5, "fewer examples than shipped");
    for example in &examples {
        let label = &example.label;
        assert!(
            !example.conditions.is_empty(),
            "{label}: no matchConditions"
        );
        // The API server's and the controller's limits: at most 64, unique qualified names.
        assert!(
            example.conditions.len() <= 64,
            "{label}: over 64 conditions"
        );
        let mut names: Vec<&str> = example
            .conditions
            .iter()
            .map(|(n, _, _)| n.as_str())
            .collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(
            names.len(),
            example.conditions.len(),
            "{label}: duplicate names"
        );
        for (name, expression, _) in &example.conditions {
            assert!(
                !name.is_empty()
                    && name.len() <= 63
                    && name
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                    && !name.starts_with('-')
                    && !name.ends_with('-'),
                "{label}: {name:?} is not a qualified name"
            );
            assert!(!expression.trim().is_empty(), "{label}: {name} is empty");
        }
        assert_eq!(
            example.failure_policy.as_deref(),
            Some("Fail"),
            "{label}: failurePolicy changed"
        );
    }
}

#[test]
fn spec_11_every_kind_an_example_registers_is_restricted_by_its_conditions() {
    // A kind whose conditions let an empty object through would send every object of it.
    for example in &all_examples() {
        for (group, kind, resource) in KINDS {
            if !example.registers(group, resource, "CREATE") {
                continue;
            }
            let object = match *kind {
                "Pod" => json!({ "metadata": { "name": "x" },
                    "spec": { "containers": [{ "name": "c" }] } }),
                "ServiceAccount" | "SecretProviderClass" => json!({ "metadata": { "name": "x" } }),
                workload_kind => workload(
                    workload_kind,
                    json!({ "name": "x" }),
                    json!({ "metadata": {}, "spec": { "containers": [{ "name": "c" }] } }),
                ),
            };
            let sent = example.sends(&admission(kind, "default", "CREATE", object));
            assert_eq!(
                sent,
                Ok(false),
                "{}: an empty {kind} is sent to the policy",
                example.label
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// (a) What the policy acts on is sent.

/// Pods the policy acts on, by the rule of the reference that makes it act, and whether the policy acts
/// on it with the examples' settings (a hand-written Workload Identity token with no client ID
/// and no allowlist is sent, and then accepted).
fn pods_inside() -> Vec<(&'static str, Value, bool)> {
    let pod = |metadata: Value, volumes: Value| {
        json!({ "apiVersion": "v1", "kind": "Pod",
            "metadata": metadata,
            "spec": { "serviceAccountName": "app",
                "containers": [{ "name": "app", "image": "app:1",
                    "env": [{ "name": "AZURE_CLIENT_ID", "value": CLIENT }] }],
                "volumes": volumes } })
    };
    let kube_api_access = kube_api_access_volume("abcde");
    vec![
        (
            "§4 opted-in label",
            pod(
                json!({ "name": "p", "labels": { "azure.workload.identity/use": "true" } }),
                json!([kube_api_access.clone()]),
            ),
            true,
        ),
        (
            "§4.11 label with a value other than \"true\"",
            pod(
                json!({ "name": "p", "labels": { "azure.workload.identity/use": "True" } }),
                json!([kube_api_access.clone()]),
            ),
            true,
        ),
        (
            "§4.11 skip-containers annotation without the label",
            pod(
                json!({ "name": "p",
                    "annotations": { "azure.workload.identity/skip-containers": "sidecar" } }),
                json!([kube_api_access.clone()]),
            ),
            true,
        ),
        (
            "§4a misspelled annotation key",
            pod(
                json!({ "name": "p",
                    "annotations": { "azure.workload.identity/skip-container": "sidecar" } }),
                json!([]),
            ),
            true,
        ),
        (
            "§4a misspelled label key",
            pod(
                json!({ "generateName": "p-",
                    "labels": { "azure.workload.identity/client_id": CLIENT } }),
                json!([]),
            ),
            true,
        ),
        (
            "§4.3 proxy annotation without the label",
            pod(
                json!({ "name": "p",
                    "annotations": { "azure.workload.identity/inject-proxy-sidecar": "true" } }),
                json!([kube_api_access.clone()]),
            ),
            true,
        ),
        (
            "§8 aadpodidbinding label",
            pod(
                json!({ "name": "p", "labels": { "aadpodidbinding": "my-identity" } }),
                json!([kube_api_access.clone()]),
            ),
            true,
        ),
        (
            "§6 Key Vault CSI volume",
            pod(
                json!({ "name": "p" }),
                json!([kube_api_access.clone(), { "name": "secrets", "csi": {
                    "driver": "secrets-store.csi.k8s.io", "readOnly": true,
                    "volumeAttributes": { "secretProviderClass": "kv" } } }]),
            ),
            true,
        ),
        (
            "§6 hand-written identity-binding token",
            pod(
                json!({ "name": "p" }),
                json!([kube_api_access.clone(), { "name": "token", "projected": { "sources": [
                    { "serviceAccountToken": { "path": "token",
                        "audience": "api://AKSIdentityBinding", "expirationSeconds": 3600 } }
                ] } }]),
            ),
            true,
        ),
        (
            "§6 hand-written Workload Identity token",
            pod(
                json!({ "name": "p" }),
                json!([kube_api_access, { "name": "token", "projected": { "sources": [
                    { "serviceAccountToken": { "path": "token",
                        "audience": "api://AzureADTokenExchange" } }
                ] } }]),
            ),
            false,
        ),
    ]
}

#[test]
fn spec_11_pods_the_policy_acts_on_pass_every_example() {
    for example in &examples() {
        for (rule, pod, acts) in pods_inside() {
            let request = pod_request("team-a", pod.clone());
            assert_eq!(
                example.sends(&request),
                Ok(true),
                "{}: {rule}: pod not sent",
                example.label
            );
            if acts {
                let (response, fake) = judge(&example.settings, &request);
                assert!(
                    !is_plain(&response) || !fake.calls().is_empty(),
                    "{}: {rule}: the policy did nothing with it, so the case proves nothing",
                    example.label
                );
            }
            // The same pod as a workload's template, for the examples that judge workloads.
            for &workload_kind in WORKLOADS {
                let (group, _, resource) = kind(workload_kind);
                if !example.registers(group, resource, "CREATE") {
                    continue;
                }
                let object = workload(workload_kind, json!({ "name": "w" }), template_of(&pod));
                let request = admission(workload_kind, "team-a", "CREATE", object);
                assert_eq!(
                    example.sends(&request),
                    Ok(true),
                    "{}: {rule}: {workload_kind} not sent",
                    example.label
                );
            }
        }
    }
}

#[test]
fn spec_11_service_accounts_with_workload_identity_keys_pass_every_example_that_judges_them() {
    let accounts = [
        json!({ "azure.workload.identity/client-id": "not-a-guid" }),
        json!({ "azure.workload.identity/tenant-id": "not a tenant" }),
        json!({ "azure.workload.identity/service-account-token-expiration": "60" }),
        json!({ "azure.workload.identity/clientId": CLIENT }),
    ];
    for example in &examples() {
        if !example.registers("", "serviceaccounts", "CREATE") {
            continue;
        }
        for annotations in &accounts {
            let sa = json!({ "apiVersion": "v1", "kind": "ServiceAccount",
                "metadata": { "name": "app", "annotations": annotations } });
            let request = admission("ServiceAccount", "team-a", "CREATE", sa);
            assert_eq!(
                example.sends(&request),
                Ok(true),
                "{}: {annotations}",
                example.label
            );
            let (response, _) = judge(&example.settings, &request);
            assert!(
                !is_plain(&response),
                "{}: {annotations}: {response:?}",
                example.label
            );
        }
        // The label on the ServiceAccount (where it belonged before v1.0) is reported too.
        let sa = json!({ "apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": { "name": "app", "labels": { "azure.workload.identity/use": "true" } } });
        let request = admission("ServiceAccount", "team-a", "UPDATE", sa);
        assert_eq!(example.sends(&request), Ok(true), "{}", example.label);
    }
}

// ---------------------------------------------------------------------------------------------
// `kubectl debug`: the pods/ephemeralcontainers UPDATE (§4.12), judged by its pod's conditions.

/// What `kubectl debug -it <pod> --image=busybox --target=app` sends: an UPDATE of the
/// `pods/ephemeralcontainers` subresource whose `object` is the whole pod with `debug` appended
/// to `spec.ephemeralContainers`, and whose `oldObject` is the pod before.
fn ephemeral_update(namespace: &str, pod: &Value, debug: Value) -> Value {
    let mut new = pod.clone();
    match new["spec"]["ephemeralContainers"].as_array_mut() {
        Some(list) => list.push(debug),
        None => new["spec"]["ephemeralContainers"] = json!([debug]),
    }
    let mut update = request("", "Pod", namespace, "UPDATE", new);
    update["resource"]["resource"] = json!("pods");
    update["subResource"] = json!("ephemeralcontainers");
    update["requestSubResource"] = json!("ephemeralcontainers");
    update["oldObject"] = pod.clone();
    update
}

/// A debug container as `kubectl debug` writes it, setting its own `AZURE_CLIENT_ID`.
fn debug_container(name: &str, client_id: &str) -> Value {
    json!({ "name": name, "image": "busybox:1.36", "stdin": true, "tty": true,
        "targetContainerName": "app", "terminationMessagePolicy": "File",
        "imagePullPolicy": "IfNotPresent",
        "env": [{ "name": "AZURE_CLIENT_ID", "value": client_id }] })
}

/// The client ID a debug container sets that no allowlist of the tests lists.
const OTHER_CLIENT: &str = "99999999-8888-7777-6666-555555555555";

#[test]
fn spec_11_the_ephemeral_update_of_a_labelled_pod_matches_of_a_plain_pod_does_not() {
    let spec = json!({ "serviceAccountName": "app",
        "containers": [{ "name": "app", "image": "app:1" }],
        "volumes": [kube_api_access_volume("abcde")] });
    let labelled = json!({ "apiVersion": "v1", "kind": "Pod",
        "metadata": { "name": "web", "namespace": "team-a",
            "labels": { "azure.workload.identity/use": "true" } },
        "spec": spec.clone() });
    let plain = json!({ "apiVersion": "v1", "kind": "Pod",
        "metadata": { "name": "web", "namespace": "team-a", "labels": { "app": "web" } },
        "spec": spec });
    let debug = || debug_container("debugger-x7k2q", OTHER_CLIENT);
    for example in &examples() {
        let label = &example.label;
        assert!(
            example.registers("", "pods/ephemeralcontainers", "UPDATE"),
            "{label}: kubectl debug is not sent to the policy"
        );
        let sent = ephemeral_update("team-a", &labelled, debug());
        assert_eq!(example.sends(&sent), Ok(true), "{label}: labelled pod");
        // …and the policy acts on it: under an allowlist that does not list the debug
        // container's client ID, it is rejected, naming the ephemeral container.
        let [_, strict] = settings_of(example);
        let (response, fake) = judge(&strict, &sent);
        assert!(!response.accepted, "{label}: {response:?}");
        assert!(
            response
                .message
                .as_deref()
                .is_some_and(|m| m.contains("ephemeral container \"debugger-x7k2q\"")),
            "{label}: {response:?}"
        );
        assert!(fake.calls().is_empty(), "{label}: {:?}", fake.calls());

        let kept = ephemeral_update("team-a", &plain, debug());
        assert_eq!(example.sends(&kept), Ok(false), "{label}: plain pod");
        for settings in settings_of(example) {
            let (response, fake) = judge(&settings, &kept);
            assert!(is_plain(&response), "{label}: {settings}: {response:?}");
            assert!(fake.calls().is_empty(), "{label}: {:?}", fake.calls());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Generated objects.

/// Label and annotation keys that are not the policy's: near misses of its keys, and keys real
/// clusters carry.
fn outside_key() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "azure.workload.identity",
            "azure.workload.identity.io/use",
            "azure.workload.identityuse",
            "azure.workload/identity-use",
            "workload.identity/use",
            "x.azure.workload.identity/use",
            "Azure.Workload.Identity/use",
            "aadpodidbindings",
            "aadpodidbinding-legacy",
            "aadpodidbinding.k8s.io/selector",
            "x/aadpodidbinding",
            "AADPodIdBinding",
            "app.kubernetes.io/name",
            "pod-template-hash",
            "kubernetes.io/os",
            "sidecar.istio.io/inject",
            "kubectl.kubernetes.io/default-container",
            "dapr.io/enabled",
        ])
        .prop_map(str::to_owned),
        "([a-z0-9]([-a-z0-9.]{0,16}[a-z0-9])?/)?[A-Za-z0-9]([-_.A-Za-z0-9]{0,24}[A-Za-z0-9])?",
    ]
    .prop_filter("a key of the policy", |k| {
        !k.starts_with(PREFIX) && k != LEGACY_LABEL
    })
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec!["true", "false", "", "True", CLIENT, "windows", "a;b"])
            .prop_map(str::to_owned),
        "[-_.A-Za-z0-9]{0,20}",
    ]
}

/// `Some(map)` of outside keys (possibly empty), or `None` for an absent field.
fn outside_keys() -> impl Strategy<Value = Option<Map<String, Value>>> {
    prop::option::of(
        prop::collection::btree_map(outside_key(), value(), 0..5)
            .prop_map(|m| m.into_iter().map(|(k, v)| (k, Value::String(v))).collect()),
    )
}

/// The API server's own token volume, in every pod: a projected token that names no audience.
fn kube_api_access_volume(suffix: &str) -> Value {
    json!({ "name": format!("kube-api-access-{suffix}"), "projected": { "defaultMode": 420,
        "sources": [
            { "serviceAccountToken": { "expirationSeconds": 3607, "path": "token" } },
            { "configMap": { "name": "kube-root-ca.crt",
                "items": [{ "key": "ca.crt", "path": "ca.crt" }] } },
            { "downwardAPI": { "items": [{ "path": "namespace",
                "fieldRef": { "apiVersion": "v1", "fieldPath": "metadata.namespace" } }] } }
        ] } })
}

/// Volumes without CSI and without a projected token that names an audience, among them
/// volumes named like the Workload Identity token volume.
fn outside_volume() -> impl Strategy<Value = Value> {
    let name = prop_oneof![
        "[a-z][a-z0-9-]{0,15}",
        Just("azure-identity-token".to_owned()),
        "azure-workload-identity-reserved-[0-9a-f]{30}",
    ];
    (name, 0..9u8, "[a-z0-9]{5}").prop_map(|(name, shape, suffix)| match shape {
        0 => kube_api_access_volume(&suffix),
        1 => json!({ "name": name, "emptyDir": {} }),
        2 => json!({ "name": name, "configMap": { "name": "settings" } }),
        3 => json!({ "name": name, "secret": { "secretName": "creds" } }),
        4 => json!({ "name": name, "persistentVolumeClaim": { "claimName": "data" } }),
        5 => json!({ "name": name, "hostPath": { "path": "/var/log" } }),
        6 => json!({ "name": name, "projected": { "sources": [
            { "serviceAccountToken": { "path": "token", "expirationSeconds": 7200 } }] } }),
        7 => json!({ "name": name, "projected": { "sources": [
            { "secret": { "name": "creds" } },
            { "clusterTrustBundle": { "signerName": "example.com/signer", "path": "ca.crt" } }
        ] } }),
        _ => json!({ "name": name, "ephemeral": { "volumeClaimTemplate": { "spec": {
            "accessModes": ["ReadWriteOnce"], "resources": { "requests": { "storage": "1Gi" } }
        } } } }),
    })
}

fn container() -> impl Strategy<Value = Value> {
    let env_name = prop_oneof![
        prop::sample::select(vec![
            "AZURE_CLIENT_ID",
            "AZURE_TENANT_ID",
            "AZURE_FEDERATED_TOKEN_FILE",
            "AZURE_AUTHORITY_HOST",
            "AZURE_KUBERNETES_TOKEN_PROXY",
            "PROXY_PORT",
        ])
        .prop_map(str::to_owned),
        "[A-Z][A-Z0-9_]{0,12}",
    ];
    (
        prop_oneof![
            "[a-z][a-z0-9-]{0,10}",
            Just("azwi-proxy".to_owned()),
            Just("azwi-proxy-init".to_owned()),
        ],
        prop::collection::vec((env_name, value()), 0..4),
        prop::option::of("/[a-z/]{1,20}"),
    )
        .prop_map(|(name, env, mount)| {
            let env: Vec<Value> = env
                .into_iter()
                .map(|(name, value)| json!({ "name": name, "value": value }))
                .collect();
            let mut container = json!({ "name": name, "image": "registry.example/app:1",
                "env": env });
            if let Some(path) = mount {
                container["volumeMounts"] = json!([{ "name": "data", "mountPath": path }]);
            }
            container
        })
}

/// A pod outside every condition: no key of the policy, no CSI volume, no projected token that
/// names an audience; anything else a pod may carry.
fn outside_pod() -> impl Strategy<Value = Value> {
    (
        (
            prop_oneof![
                "[a-z][a-z0-9-]{0,20}".prop_map(|n| json!({ "name": n })),
                "[a-z][a-z0-9-]{0,10}-".prop_map(|n| json!({ "generateName": n }))
            ],
            outside_keys(),
            outside_keys(),
        ),
        prop::option::of(prop::collection::vec(outside_volume(), 0..4)),
        prop::collection::vec(container(), 1..3),
        prop::collection::vec(container(), 0..2),
        (
            prop::option::of("[a-z][a-z0-9-]{0,12}"),
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
        ),
    )
        .prop_map(
            |((mut metadata, labels, annotations), volumes, containers, init, extra)| {
                let (service_account, host_network, windows, deprecated_field) = extra;
                if let Some(labels) = labels {
                    metadata["labels"] = Value::Object(labels);
                }
                if let Some(annotations) = annotations {
                    metadata["annotations"] = Value::Object(annotations);
                }
                let mut spec = json!({ "containers": containers });
                if !init.is_empty() {
                    spec["initContainers"] = json!(init);
                }
                if let Some(volumes) = volumes {
                    spec["volumes"] = json!(volumes);
                }
                if let Some(sa) = service_account {
                    let field = if deprecated_field {
                        "serviceAccount"
                    } else {
                        "serviceAccountName"
                    };
                    spec[field] = json!(sa);
                }
                if host_network {
                    spec["hostNetwork"] = json!(true);
                }
                if windows {
                    spec["nodeSelector"] = json!({ "kubernetes.io/os": "windows" });
                }
                json!({ "apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec })
            },
        )
}

/// One thing that puts a pod inside the conditions.
#[derive(Debug, Clone)]
enum Trigger {
    Label(String),
    Annotation(String),
    LegacyLabel,
    Csi(String),
    Audience(String),
}

fn trigger() -> impl Strategy<Value = Trigger> {
    let suffix = "[a-z0-9]([-_.a-z0-9]{0,20}[a-z0-9])?";
    prop_oneof![
        suffix.prop_map(|s| Trigger::Label(format!("{PREFIX}{s}"))),
        suffix.prop_map(|s| Trigger::Annotation(format!("{PREFIX}{s}"))),
        Just(Trigger::LegacyLabel),
        prop_oneof![
            Just("secrets-store.csi.k8s.io".to_owned()),
            "[a-z]{1,10}\\.csi\\.[a-z]{2,8}"
        ]
        .prop_map(Trigger::Csi),
        prop_oneof![
            Just("api://AzureADTokenExchange".to_owned()),
            Just("api://AKSIdentityBinding".to_owned()),
            "[a-z:/.]{1,20}"
        ]
        .prop_map(Trigger::Audience),
    ]
}

impl Trigger {
    fn apply(&self, pod: &mut Value) {
        let insert = |pod: &mut Value, field: &str, key: &str| {
            let map = &mut pod["metadata"][field];
            if !map.is_object() {
                *map = json!({});
            }
            map[key] = json!("true");
        };
        let volume = match self {
            Self::Label(key) => return insert(pod, "labels", key),
            Self::Annotation(key) => return insert(pod, "annotations", key),
            Self::LegacyLabel => return insert(pod, "labels", LEGACY_LABEL),
            Self::Csi(driver) => json!({ "name": "csi", "csi": { "driver": driver } }),
            Self::Audience(audience) => json!({ "name": "token", "projected": { "sources": [
                { "serviceAccountToken": { "path": "token", "audience": audience } }] } }),
        };
        let volumes = &mut pod["spec"]["volumes"];
        match volumes.as_array_mut() {
            Some(list) => list.push(volume),
            None => *volumes = json!([volume]),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// (b) What is kept away, the policy would have accepted as it is, without asking the cluster.

/// `request` is kept away by every example that registers it, and the policy, with each such
/// example's settings, accepts it as it is without a host call.
fn assert_kept_away_and_plain(
    examples: &[Example],
    group: &str,
    resource: &str,
    operation: &str,
    request: &Value,
) -> Result<(), TestCaseError> {
    for example in examples {
        if !example.registers(group, resource, operation) {
            continue;
        }
        let label = &example.label;
        prop_assert_eq!(example.sends(request), Ok(false), "{}: sent", label);
        for settings in settings_of(example) {
            let (response, fake) = judge(&settings, request);
            prop_assert!(response.accepted, "{}: {}: {:?}", label, settings, response);
            prop_assert!(
                response.mutated_object.is_none(),
                "{}: {:?}",
                label,
                response
            );
            prop_assert!(response.warnings.is_none(), "{}: {:?}", label, response);
            prop_assert!(fake.calls().is_empty(), "{}: {:?}", label, fake.calls());
        }
    }
    Ok(())
}

#[test]
fn spec_11_pods_outside_match_conditions_get_a_plain_accept_without_host_call() {
    let examples = examples();
    proptest!(|(pod in outside_pod(), ns in "[a-z][a-z0-9-]{0,20}")| {
        let request = pod_request(&ns, pod);
        assert_kept_away_and_plain(&examples, "", "pods", "CREATE", &request)?;
    });
}

#[test]
fn spec_11_ephemeral_updates_of_pods_outside_match_conditions_get_a_plain_accept_without_host_call()
{
    let examples = examples();
    proptest!(|(
        pod in outside_pod(),
        debug in container(),
        client_id in prop::sample::select(vec![CLIENT, OTHER_CLIENT]),
    )| {
        // The debug container may set any env of its own, a literal AZURE_CLIENT_ID included:
        // without a label, an annotation or a hand-written token nothing of §4.12 applies.
        let mut debug = debug;
        if let Some(env) = debug["env"].as_array_mut() {
            env.push(json!({ "name": "AZURE_CLIENT_ID", "value": client_id }));
        }
        let request = ephemeral_update("team-a", &pod, debug);
        assert_kept_away_and_plain(
            &examples,
            "",
            "pods/ephemeralcontainers",
            "UPDATE",
            &request,
        )?;
    });
}

#[test]
fn spec_11_pod_templates_outside_match_conditions_get_a_plain_accept_without_host_call() {
    let examples = examples();
    // The workload's own metadata is not the template's: keys on it are not judged.
    let own_labels = prop::option::of(prop::collection::btree_map(
        prop_oneof![
            outside_key(),
            Just(format!("{PREFIX}use")),
            Just(LEGACY_LABEL.to_owned())
        ],
        value(),
        0..3,
    ));
    proptest!(|(
        pod in outside_pod(),
        kind in prop::sample::select(WORKLOADS),
        operation in prop::sample::select(vec!["CREATE", "UPDATE"]),
        own_labels in own_labels,
    )| {
        let mut metadata = json!({ "name": "w" });
        if let Some(labels) = own_labels {
            metadata["labels"] = json!(labels);
        }
        let object = workload(kind, metadata, template_of(&pod));
        let request = admission(kind, "team-a", operation, object);
        let (group, _, resource) = self::kind(kind);
        assert_kept_away_and_plain(&examples, group, resource, operation, &request)?;
    });
}

#[test]
fn spec_11_service_accounts_outside_match_conditions_get_a_plain_accept_without_host_call() {
    let examples = examples();
    let old_annotations = prop::collection::btree_map(
        prop_oneof![
            Just(format!("{PREFIX}client-id")),
            Just(format!("{PREFIX}tenant-id")),
            outside_key()
        ],
        value(),
        0..3,
    );
    proptest!(|(
        labels in outside_keys(),
        annotations in outside_keys(),
        legacy_label in any::<bool>(),
        old in prop::option::of(old_annotations),
    )| {
        let mut metadata = json!({ "name": "app" });
        if let Some(labels) = labels {
            metadata["labels"] = Value::Object(labels);
        }
        if legacy_label {
            // AAD Pod Identity's label means nothing on a ServiceAccount.
            metadata["labels"][LEGACY_LABEL] = json!("x");
        }
        if let Some(annotations) = annotations {
            metadata["annotations"] = Value::Object(annotations);
        }
        let sa = json!({ "apiVersion": "v1", "kind": "ServiceAccount", "metadata": metadata });
        // An UPDATE that removes Workload Identity annotations judges nothing either.
        let operation = if old.is_some() { "UPDATE" } else { "CREATE" };
        let mut request = admission("ServiceAccount", "team-a", operation, sa);
        if let Some(old) = old {
            request["oldObject"] = json!({ "apiVersion": "v1", "kind": "ServiceAccount",
                "metadata": { "name": "app", "annotations": old } });
        }
        assert_kept_away_and_plain(&examples, "", "serviceaccounts", operation, &request)?;
    });
}

// ---------------------------------------------------------------------------------------------
// (a) again, generated: one trigger on any pod is enough.

#[test]
fn spec_11_any_pod_with_one_trigger_passes_every_example() {
    let examples = examples();
    proptest!(|(mut pod in outside_pod(), trigger in trigger())| {
        trigger.apply(&mut pod);
        let request = pod_request("team-a", pod.clone());
        let debug = ephemeral_update("team-a", &pod, debug_container("debugger", CLIENT));
        for example in &examples {
            prop_assert_eq!(example.sends(&request), Ok(true), "{}: {:?}", example.label, trigger);
            prop_assert_eq!(
                example.sends(&debug),
                Ok(true),
                "{}: kubectl debug of {:?}",
                example.label,
                trigger
            );
            for &workload_kind in WORKLOADS {
                let (group, _, resource) = kind(workload_kind);
                if !example.registers(group, resource, "UPDATE") {
                    continue;
                }
                let object = workload(workload_kind, json!({ "name": "w" }), template_of(&pod));
                let request = admission(workload_kind, "team-a", "UPDATE", object);
                prop_assert_eq!(
                    example.sends(&request),
                    Ok(true),
                    "{}: {} {:?}",
                    example.label,
                    workload_kind,
                    trigger
                );
            }
        }
    });
}

// ---------------------------------------------------------------------------------------------
// SecretProviderClasses (reference §12): only the Key Vault provider's are sent.

const SPC_GROUP: &str = "secrets-store.csi.x-k8s.io";
const SPC_RESOURCE: &str = "secretproviderclasses";
const SPC_CONDITION: &str = "secret-provider-classes-of-the-azure-provider";

fn provider_class(provider: Option<&str>, parameters: Value) -> Value {
    let mut class = json!({ "apiVersion": "secrets-store.csi.x-k8s.io/v1",
        "kind": "SecretProviderClass", "metadata": { "name": "kv", "namespace": "team-a" },
        "spec": { "parameters": parameters } });
    if let Some(provider) = provider {
        class["spec"]["provider"] = json!(provider);
    }
    class
}

/// Every example that registers SecretProviderClasses, checked to be more than none.
fn class_examples(operation: &str) -> Vec<Example> {
    let examples: Vec<Example> = examples()
        .into_iter()
        .filter(|e| e.registers(SPC_GROUP, SPC_RESOURCE, operation))
        .collect();
    assert!(!examples.is_empty(), "no example registers {SPC_RESOURCE}");
    examples
}

#[rstest::rstest]
#[case::create("CREATE")]
#[case::update("UPDATE")]
fn reference_12_an_azure_class_is_sent_and_judged(#[case] operation: &str) {
    // A class the provider would refuse: sent, and refused.
    let bad = provider_class(Some("azure"), json!({ "usePodIdentity": "maybe" }));
    let request = admission("SecretProviderClass", "team-a", operation, bad);
    for example in class_examples(operation) {
        assert_eq!(example.sends(&request), Ok(true), "{}", example.label);
        let (response, fake) = judge(&example.settings, &request);
        assert!(!response.accepted, "{}: {response:?}", example.label);
        assert!(fake.calls().is_empty(), "{}", example.label);
    }
}

#[test]
fn reference_12_classes_of_other_providers_are_kept_away_and_plain() {
    let examples = examples();
    let provider = prop::option::of(prop_oneof![
        prop::sample::select(vec!["Azure", "AZURE", "azure ", "vault", "gcp", "aws", ""])
            .prop_map(str::to_owned),
        "[a-z]{0,10}".prop_filter("not azure", |p| p != "azure"),
    ]);
    let parameters = prop::collection::btree_map(
        prop::sample::select(vec![
            "usePodIdentity",
            "useVMManagedIdentity",
            "keyvaultName",
            "clientID",
            "objects",
        ])
        .prop_map(str::to_owned),
        value(),
        0..4,
    );
    proptest!(|(
        provider in provider,
        parameters in parameters,
        operation in prop::sample::select(vec!["CREATE", "UPDATE"]),
    )| {
        let class = provider_class(provider.as_deref(), json!(parameters));
        let request = admission("SecretProviderClass", "team-a", operation, class);
        assert_kept_away_and_plain(&examples, SPC_GROUP, SPC_RESOURCE, operation, &request)?;
    });
}

#[test]
fn reference_12_the_class_condition_lets_every_other_kind_through() {
    // Pods and ServiceAccounts, even empty ones, are left to their own conditions.
    let pod = json!({ "metadata": { "name": "x" }, "spec": { "containers": [{ "name": "c" }] } });
    let requests = [
        admission("Pod", "team-a", "CREATE", pod),
        admission("ServiceAccount", "team-a", "CREATE", json!({})),
    ];
    for example in class_examples("CREATE") {
        let (_, _, program) = example
            .conditions
            .iter()
            .find(|(name, _, _)| name == SPC_CONDITION)
            .unwrap_or_else(|| panic!("{}: no {SPC_CONDITION}", example.label));
        for request in &requests {
            let mut context = Context::default();
            for (name, pointer) in [("request", ""), ("object", "/object")] {
                let value = request.pointer(pointer).cloned().unwrap_or(Value::Null);
                let value = cel::to_value(&value).unwrap_or_else(|e| panic!("{name}: {e}"));
                context.add_variable_from_value(name, value);
            }
            let holds = program.execute(&context);
            assert!(
                matches!(holds, Ok(Cel::Bool(true))),
                "{}: {holds:?} for {}",
                example.label,
                request["kind"]["kind"]
            );
        }
    }
}

/// Reference §8.6, §11: the `migrate` instance is selected by the `aadpodidbinding` label of the
/// pod or of the workload's pod template, so a Deployment reaches it (an `objectSelector` on the
/// Deployment's own labels never let one through), and nothing else does.
#[test]
fn reference_11_the_migrate_instance_receives_aad_pod_identity_pods_and_templates_only() {
    let migrate: Vec<Example> = all_examples()
        .into_iter()
        .filter(Example::only_aad_pod_identity)
        .collect();
    assert_eq!(migrate.len(), 1, "one migrate instance ships");
    let pod = |labels: Value| {
        json!({ "apiVersion": "v1", "kind": "Pod",
            "metadata": { "name": "api-1", "namespace": "team-a", "labels": labels },
            "spec": { "containers": [{ "name": "app", "image": "app:1" }] } })
    };
    let legacy = pod(json!({ "aadpodidbinding": "api" }));
    let labelled = pod(json!({ "azure.workload.identity/use": "true" }));
    for example in &migrate {
        assert!(
            example.registers("apps", "deployments", "CREATE"),
            "{}",
            example.label
        );
        for (object, sent) in [(&legacy, true), (&labelled, false)] {
            let request = pod_request("team-a", object.clone());
            assert_eq!(
                example.sends(&request),
                Ok(sent),
                "{}: {object}",
                example.label
            );
            for &workload_kind in WORKLOADS {
                let object = workload(workload_kind, json!({ "name": "w" }), template_of(object));
                let request = admission(workload_kind, "team-a", "CREATE", object);
                assert_eq!(
                    example.sends(&request),
                    Ok(sent),
                    "{}: {workload_kind}",
                    example.label
                );
            }
        }
    }
}
