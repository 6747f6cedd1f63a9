//! reference §11: every manifest under `examples/` is what it claims to be, and every runbook
//! directory holds everything it applies.
//!
//! - Kubernetes kinds are read into the `k8s-openapi` types (v1_33) and written back: a field
//!   the type does not know (a typo, a field at the wrong level) is dropped on the way, so the
//!   written tree and the re-serialized one must agree on every field written.
//! - Kubewarden kinds (`policies.kubewarden.io/v1` ClusterAdmissionPolicy and PolicyServer) are
//!   checked against the CRD's spec fields (the tables below), their nested Kubernetes types
//!   again through `k8s-openapi`, and a policy's `settings` through the policy's own
//!   `validate_settings`.
//! - Object names are unique across all examples (kind + namespace + name), so applying one
//!   runbook never overwrites another's object.
//! - Each directory is self-contained: its policies' PolicyServer exists (or is `default`), the
//!   PolicyServer's ServiceAccount is granted what the policy calls, every ClusterRoleBinding
//!   names a ClusterRole of the same directory, and the demo's `settings.yml` is the settings
//!   of one of the directory's policies.
//! - No YAML 1.1 boolean (`off`, `on`, `yes`, `no`, …) is left unquoted where a string is
//!   meant: Kubernetes reads manifests as YAML 1.1, where `verifyInjection: off` is `false`.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use k8s_openapi::api::admissionregistration::v1::{MatchCondition, RuleWithOperations};
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{
    Affinity, ConfigMap, EnvVar, Namespace, Pod, PodSecurityContext, Secret, SecurityContext,
    Service, ServiceAccount, Toleration,
};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

type Check = fn(&Value) -> Result<(), String>;

/// How a CRD spec field is checked: its OpenAPI type, or the Kubernetes type the CRD embeds.
#[derive(Clone, Copy)]
enum Field {
    Bool,
    Str,
    Int,
    OneOf(&'static [&'static str]),
    StrList,
    StrMap,
    /// Any object (the policy's `settings`: checked by the policy itself).
    Object,
    Typed(Check),
}

use Field::*;

/// What the shipped ClusterAdmissionPolicies carry as `tenantId`: refused until replaced.
const TENANT_PLACEHOLDER: &str = "<your-tenant-id>";
/// The test tenant of the offline demos (`examples/*/settings.yml`): nobody's.
const DEMO_TENANT: &str = "11111111-1111-1111-1111-111111111111";

/// `ClusterAdmissionPolicy` (policies.kubewarden.io/v1) `spec`: every property of
/// `spec.versions[name=v1].schema.openAPIV3Schema.properties.spec` in kubewarden-controller
/// v1.35.0, `config/crd/bases/policies.kubewarden.io_clusteradmissionpolicies.yaml` (Go types:
/// `api/policies/v1/policy_types.go` `PolicySpec`, `clusteradmissionpolicy_types.go`
/// `ClusterAdmissionPolicySpec`). Required: `module`, `mutating`, `rules`.
const CLUSTER_ADMISSION_POLICY_FIELDS: &[(&str, Field)] = &[
    ("allowInsideAdmissionControllerNamespace", Bool),
    ("backgroundAudit", Bool),
    (
        "contextAwareResources",
        Typed(typed::<Vec<ContextAwareResource>>),
    ),
    ("failurePolicy", OneOf(&["Fail", "Ignore"])),
    ("matchConditions", Typed(typed::<Vec<MatchCondition>>)),
    ("matchPolicy", OneOf(&["Exact", "Equivalent"])),
    ("message", Str),
    ("mode", OneOf(&["protect", "monitor"])),
    ("module", Str),
    ("mutating", Bool),
    ("namespaceSelector", Typed(typed::<LabelSelector>)),
    ("objectSelector", Typed(typed::<LabelSelector>)),
    ("policyServer", Str),
    ("rules", Typed(typed::<Vec<RuleWithOperations>>)),
    ("settings", Object),
    ("sideEffects", OneOf(&["None", "NoneOnDryRun"])),
    ("timeoutEvalSeconds", Int),
    ("timeoutSeconds", Int),
];
const CLUSTER_ADMISSION_POLICY_REQUIRED: &[&str] = &["module", "mutating", "rules"];

/// `PolicyServer` (policies.kubewarden.io/v1) `spec`, from kubewarden-controller v1.35.0,
/// `config/crd/bases/policies.kubewarden.io_policyservers.yaml` (Go type:
/// `api/policies/v1/policyserver_types.go` `PolicyServerSpec`). Required: `image`, `replicas`.
const POLICY_SERVER_FIELDS: &[(&str, Field)] = &[
    ("affinity", Typed(typed::<Affinity>)),
    ("annotations", StrMap),
    ("env", Typed(typed::<Vec<EnvVar>>)),
    ("image", Str),
    ("imagePullSecret", Str),
    ("insecureSources", StrList),
    ("limits", Typed(typed::<BTreeMap<String, Quantity>>)),
    ("maxUnavailable", Typed(typed::<IntOrString>)),
    ("minAvailable", Typed(typed::<IntOrString>)),
    ("namespacedPoliciesCapabilities", StrList),
    ("priorityClassName", Str),
    ("replicas", Int),
    ("requests", Typed(typed::<BTreeMap<String, Quantity>>)),
    ("securityContexts", Typed(typed::<PolicyServerSecurity>)),
    ("serviceAccountName", Str),
    ("sigstoreTrustConfig", Str),
    (
        "sourceAuthorities",
        Typed(typed::<BTreeMap<String, Vec<String>>>),
    ),
    ("tolerations", Typed(typed::<Vec<Toleration>>)),
    ("verificationConfig", Str),
];
const POLICY_SERVER_REQUIRED: &[&str] = &["image", "replicas"];

/// `ContextAwareResource` (`api/policies/v1/policy_types.go`): both fields required.
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ContextAwareResource {
    api_version: String,
    kind: String,
}

/// `PolicyServerSecurity` (`api/policies/v1/policyserver_types.go`).
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct PolicyServerSecurity {
    #[serde(skip_serializing_if = "Option::is_none")]
    container: Option<SecurityContext>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pod: Option<PodSecurityContext>,
}

/// The policy-server ServiceAccount of the kubewarden-defaults chart's `default` PolicyServer
/// (values `policyServer.serviceAccountName`, release namespace `kubewarden`).
const DEFAULT_POLICY_SERVER_ACCOUNT: (&str, &str) = ("kubewarden", "policy-server");

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples")
}

fn files(dir: &Path, found: &mut Vec<PathBuf>) {
    let entries = fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot list {dir:?}: {e}"));
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            files(&path, found);
        } else {
            found.push(path);
        }
    }
}

fn is_yaml(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml")
    )
}

/// Demo inputs for `kwctl run` / `make demo`, not manifests.
fn is_demo_input(path: &Path) -> bool {
    matches!(
        path.file_name().and_then(|n| n.to_str()),
        Some("settings.yml" | "session.yml")
    )
}

fn relative(path: &Path) -> String {
    path.strip_prefix(env!("CARGO_MANIFEST_DIR"))
        .unwrap_or(path)
        .display()
        .to_string()
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {path:?}: {e}"))
}

/// One document of a manifest file.
struct Manifest {
    /// The example directory (`examples/<dir>/…`).
    dir: String,
    /// `path#index`, for messages.
    label: String,
    value: Value,
}

impl Manifest {
    fn str(&self, pointer: &str) -> &str {
        self.value
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or_default()
    }
    fn kind(&self) -> &str {
        self.str("/kind")
    }
    fn name(&self) -> &str {
        self.str("/metadata/name")
    }
    fn namespace(&self) -> &str {
        self.str("/metadata/namespace")
    }
}

/// Every document of every YAML manifest under `examples/`, multi-document files included.
fn manifests() -> Vec<Manifest> {
    let mut found = Vec::new();
    files(&examples_dir(), &mut found);
    found.sort();
    let mut manifests = Vec::new();
    for path in found.iter().filter(|p| is_yaml(p) && !is_demo_input(p)) {
        let dir = path
            .strip_prefix(examples_dir())
            .ok()
            .and_then(|p| p.components().next())
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .unwrap_or_default();
        let text = read(path);
        for (index, document) in serde_yaml::Deserializer::from_str(&text).enumerate() {
            let value = Value::deserialize(document)
                .unwrap_or_else(|e| panic!("{} #{index} is not YAML: {e}", relative(path)));
            if value.is_null() {
                continue;
            }
            manifests.push(Manifest {
                dir: dir.clone(),
                label: format!("{} #{index}", relative(path)),
                value,
            });
        }
    }
    assert!(
        manifests.len() >= 10,
        "too few manifests: {}",
        manifests.len()
    );
    manifests
}

/// The fields of `written` that `typed` lacks or holds with another value.
fn lost_fields(written: &Value, typed: &Value, path: &str, lost: &mut Vec<String>) {
    match (written, typed) {
        (Value::Object(written), Value::Object(typed)) => {
            for (key, value) in written {
                let at = format!("{path}.{key}");
                match typed.get(key) {
                    Some(back) => lost_fields(value, back, &at, lost),
                    None => lost.push(at),
                }
            }
        }
        (Value::Array(written), Value::Array(typed)) if written.len() == typed.len() => {
            for (index, (value, back)) in written.iter().zip(typed).enumerate() {
                lost_fields(value, back, &format!("{path}[{index}]"), lost);
            }
        }
        _ if written == typed => {}
        _ => lost.push(format!("{path} (written {written}, read back {typed})")),
    }
}

/// Read `value` as a `T` and write it back: it must deserialize and lose no field.
fn typed<T: DeserializeOwned + Serialize>(value: &Value) -> Result<(), String> {
    let object: T = serde_json::from_value(value.clone()).map_err(|e| {
        format!(
            "does not deserialize as {}: {e}",
            std::any::type_name::<T>()
        )
    })?;
    let back = serde_json::to_value(&object).map_err(|e| format!("cannot re-serialize: {e}"))?;
    let mut lost = Vec::new();
    lost_fields(value, &back, "", &mut lost);
    if lost.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "fields {} does not know (misspelled or misplaced): {lost:?}",
            std::any::type_name::<T>()
        ))
    }
}

/// A Kubewarden custom resource: top-level keys, cluster-scoped metadata, spec per the CRD.
fn crd(value: &Value, spec_fields: &[(&str, Field)], required: &[&str]) -> Result<(), String> {
    let object = value.as_object().ok_or("not a mapping")?;
    for key in object.keys() {
        if !["apiVersion", "kind", "metadata", "spec"].contains(&key.as_str()) {
            return Err(format!("unknown top-level field {key}"));
        }
    }
    let metadata = object.get("metadata").ok_or("no metadata")?;
    typed::<ObjectMeta>(metadata).map_err(|e| format!("metadata {e}"))?;
    if metadata.get("namespace").is_some() {
        return Err("cluster-scoped, but metadata.namespace is set".into());
    }
    let spec = object
        .get("spec")
        .and_then(Value::as_object)
        .ok_or("no spec mapping")?;
    for field in required {
        if !spec.contains_key(*field) {
            return Err(format!("spec.{field} is required by the CRD"));
        }
    }
    for (key, value) in spec {
        let (_, field) = spec_fields
            .iter()
            .find(|(name, _)| name == key)
            .ok_or_else(|| format!("spec.{key} is not a field of the CRD"))?;
        let ok = match field {
            Bool => value.is_boolean(),
            Str => value.is_string(),
            Int => value.is_i64() || value.is_u64(),
            OneOf(options) => value.as_str().is_some_and(|v| options.contains(&v)),
            StrList => value
                .as_array()
                .is_some_and(|items| items.iter().all(Value::is_string)),
            StrMap => value
                .as_object()
                .is_some_and(|map| map.values().all(Value::is_string)),
            Object => value.is_object(),
            Typed(check) => {
                check(value).map_err(|e| format!("spec.{key}: {e}"))?;
                true
            }
        };
        if !ok {
            return Err(format!("spec.{key} has the wrong type: {value}"));
        }
    }
    Ok(())
}

/// Validate one manifest against the schema its apiVersion and kind claim.
fn validate(manifest: &Manifest) -> Result<(), String> {
    let value = &manifest.value;
    let api_version = manifest.str("/apiVersion");
    match (api_version, manifest.kind()) {
        ("v1", "Pod") => typed::<Pod>(value),
        ("v1", "ServiceAccount") => typed::<ServiceAccount>(value),
        ("v1", "ConfigMap") => typed::<ConfigMap>(value),
        ("v1", "Secret") => typed::<Secret>(value),
        ("v1", "Service") => typed::<Service>(value),
        ("v1", "Namespace") => typed::<Namespace>(value),
        ("apps/v1", "Deployment") => typed::<Deployment>(value),
        ("apps/v1", "DaemonSet") => typed::<DaemonSet>(value),
        ("apps/v1", "StatefulSet") => typed::<StatefulSet>(value),
        ("batch/v1", "Job") => typed::<Job>(value),
        ("batch/v1", "CronJob") => typed::<CronJob>(value),
        ("policy/v1", "PodDisruptionBudget") => typed::<PodDisruptionBudget>(value),
        ("rbac.authorization.k8s.io/v1", "ClusterRole") => typed::<ClusterRole>(value),
        ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding") => {
            typed::<ClusterRoleBinding>(value)
        }
        ("rbac.authorization.k8s.io/v1", "Role") => typed::<Role>(value),
        ("rbac.authorization.k8s.io/v1", "RoleBinding") => typed::<RoleBinding>(value),
        ("policies.kubewarden.io/v1", "ClusterAdmissionPolicy") => crd(
            value,
            CLUSTER_ADMISSION_POLICY_FIELDS,
            CLUSTER_ADMISSION_POLICY_REQUIRED,
        )
        .and_then(|()| {
            let settings = value.pointer("/spec/settings").cloned();
            let settings = settings.unwrap_or_else(|| serde_json::json!({}));
            let check = |settings: &Value| {
                azure_workload_identity_policy::settings::parse_and_check(
                    settings.to_string().as_bytes(),
                )
            };
            // A placeholder tenant must be refused, saying what to put there; with a real one
            // the settings must be accepted.
            let Some(placeholder) = settings.get("tenantId").and_then(Value::as_str) else {
                return check(&settings)
                    .map(drop)
                    .map_err(|e| format!("spec.settings are refused by the policy: {e}"));
            };
            if placeholder != TENANT_PLACEHOLDER {
                return Err(format!(
                    "spec.settings.tenantId is {placeholder:?}; ship {TENANT_PLACEHOLDER:?}, \
                     which the policy refuses until the user puts their own tenant there"
                ));
            }
            match check(&settings) {
                Err(e) if e.contains("is a placeholder; put your Microsoft Entra tenant ID") => {}
                other => return Err(format!("the placeholder tenant is not refused: {other:?}")),
            }
            let mut real = settings.clone();
            real["tenantId"] = Value::from(DEMO_TENANT);
            check(&real)
                .map(drop)
                .map_err(|e| format!("spec.settings are refused by the policy: {e}"))
        }),
        ("policies.kubewarden.io/v1", "PolicyServer") => {
            crd(value, POLICY_SERVER_FIELDS, POLICY_SERVER_REQUIRED)
        }
        (api_version, kind) => Err(format!(
            "{api_version} {kind}: no schema for this kind in tests/registration/examples.rs; add it"
        )),
    }
}

#[test]
fn every_manifest_matches_the_schema_it_claims() {
    let failures: Vec<String> = manifests()
        .iter()
        .filter_map(|m| {
            validate(m)
                .err()
                .map(|e| format!("{} ({} {}): {e}", m.label, m.kind(), m.name()))
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_schema_check_catches_misspelled_and_misplaced_fields() {
    let manifest = |value: Value| Manifest {
        dir: String::new(),
        label: "inline".into(),
        value,
    };
    let pod = serde_json::json!({ "apiVersion": "v1", "kind": "Pod",
        "metadata": { "name": "p" },
        "spec": { "serviceAccount": "sa", "containers": [{ "name": "c", "image": "i" }] } });
    validate(&manifest(pod.clone())).expect("a valid pod");
    let mut typo = pod.clone();
    typo["spec"]["containers"][0]["imagePullPolicyy"] = "Always".into();
    assert!(validate(&manifest(typo)).is_err());
    let mut misplaced = pod;
    misplaced["metadata"]["serviceAccountName"] = "sa".into();
    assert!(validate(&manifest(misplaced)).is_err());

    let policy = serde_json::json!({ "apiVersion": "policies.kubewarden.io/v1",
        "kind": "ClusterAdmissionPolicy", "metadata": { "name": "p" },
        "spec": { "module": "registry://r/p:v1", "mutating": false, "rules": [],
            "settings": { "mutate": false } } });
    validate(&manifest(policy.clone())).expect("a valid policy");
    let mut unknown = policy.clone();
    unknown["spec"]["timeoutEvalSecond"] = 3.into();
    assert!(validate(&manifest(unknown)).is_err());
    let mut bad_rule = policy.clone();
    bad_rule["spec"]["rules"] = serde_json::json!([{ "apiGroup": [""] }]);
    assert!(validate(&manifest(bad_rule)).is_err());
    let mut bad_settings = policy;
    bad_settings["spec"]["settings"] = serde_json::json!({ "verifyInjection": false });
    assert!(validate(&manifest(bad_settings)).is_err());
}

#[test]
fn object_names_are_unique_across_all_examples() {
    let mut seen: BTreeMap<(String, String, String), String> = BTreeMap::new();
    let mut duplicates = Vec::new();
    for m in manifests() {
        let key = (
            m.kind().to_owned(),
            m.namespace().to_owned(),
            m.name().to_owned(),
        );
        assert!(!key.2.is_empty(), "{}: no metadata.name", m.label);
        if let Some(first) = seen.insert(key.clone(), m.label.clone()) {
            duplicates.push(format!("{key:?} in {first} and {}", m.label));
        }
    }
    assert!(duplicates.is_empty(), "{}", duplicates.join("\n"));
}

/// What a policy-server needs to run this policy (context-aware lookups and can_i), and, when
/// the policy reads the AAD Pod Identity kinds (`legacyPodIdentity: migrate`), their verbs.
fn needed_permissions(policy: &Manifest) -> Vec<(&'static str, &'static str, &'static str)> {
    let mut needed = vec![
        ("", "serviceaccounts", "get"),
        ("secrets-store.csi.x-k8s.io", "secretproviderclasses", "get"),
        ("authorization.k8s.io", "subjectaccessreviews", "create"),
    ];
    let reads = |kind: &str| {
        policy
            .value
            .pointer("/spec/contextAwareResources")
            .and_then(Value::as_array)
            .is_some_and(|r| r.iter().any(|r| r["kind"] == kind))
    };
    if reads("AzureIdentityBinding") {
        // list_resources_all (every namespace, §8.1) is served from a reflector: a list, then
        // a watch; a ClusterRole, since the bindings of every namespace are read
        needed.push(("aadpodidentity.k8s.io", "azureidentitybindings", "list"));
        needed.push(("aadpodidentity.k8s.io", "azureidentitybindings", "watch"));
    }
    if reads("AzureIdentity") {
        needed.push(("aadpodidentity.k8s.io", "azureidentities", "get"));
    }
    needed
}

fn strings(value: &Value) -> Vec<&str> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

#[test]
fn every_runbook_directory_holds_what_its_policies_need() {
    let manifests = manifests();
    let dirs: BTreeSet<&str> = manifests.iter().map(|m| m.dir.as_str()).collect();
    for dir in dirs {
        let here: Vec<&Manifest> = manifests.iter().filter(|m| m.dir == dir).collect();
        let of_kind = |kind: &str| -> Vec<&Manifest> {
            here.iter().copied().filter(|m| m.kind() == kind).collect()
        };
        // Every binding's role is defined here, so the directory applies on its own.
        for binding in of_kind("ClusterRoleBinding") {
            let role = binding.str("/roleRef/name");
            assert!(
                binding.str("/roleRef/kind") == "ClusterRole"
                    && of_kind("ClusterRole").iter().any(|r| r.name() == role),
                "{}: roleRef names ClusterRole {role}, which examples/{dir} does not define",
                binding.label
            );
        }
        for policy in of_kind("ClusterAdmissionPolicy") {
            let module = policy.str("/spec/module");
            assert!(
                module.starts_with("registry://") && !module.contains("ghcr.io/kubewarden"),
                "{}: module {module} must name the user's registry, not an official Kubewarden \
                 location (this is not an official Kubewarden policy)",
                policy.label
            );
            let server = policy.str("/spec/policyServer");
            let account = if server.is_empty() || server == "default" {
                (
                    DEFAULT_POLICY_SERVER_ACCOUNT.0.to_owned(),
                    DEFAULT_POLICY_SERVER_ACCOUNT.1.to_owned(),
                )
            } else {
                // A runbook may build on another's policy-server (Runbook E on Runbook B's):
                // the PolicyServer and its ServiceAccount may be in any example directory; the
                // permissions this directory's policies need are granted here.
                let anywhere =
                    |kind: &'static str| manifests.iter().filter(move |m| m.kind() == kind);
                let ps = anywhere("PolicyServer")
                    .find(|p| p.name() == server)
                    .unwrap_or_else(|| {
                        panic!("{}: PolicyServer {server} is in no example", policy.label)
                    });
                let sa = ps.str("/spec/serviceAccountName").to_owned();
                assert!(
                    anywhere("ServiceAccount")
                        .any(|a| a.name() == sa && a.namespace() == "kubewarden"),
                    "{}: ServiceAccount kubewarden/{sa} is in no example",
                    ps.label
                );
                ("kubewarden".to_owned(), sa)
            };
            // The ClusterRoles bound to that account here, and what they grant.
            let roles: Vec<&str> = of_kind("ClusterRoleBinding")
                .iter()
                .filter(|b| {
                    b.value["subjects"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .any(|s| {
                            s["kind"] == "ServiceAccount"
                                && s["namespace"] == account.0.as_str()
                                && s["name"] == account.1.as_str()
                        })
                })
                .map(|b| b.str("/roleRef/name"))
                .collect();
            let granted = |group: &str, resource: &str, verb: &str| {
                of_kind("ClusterRole")
                    .iter()
                    .filter(|r| roles.contains(&r.name()))
                    .flat_map(|r| r.value["rules"].as_array().cloned().unwrap_or_default())
                    .any(|rule| {
                        strings(&rule["apiGroups"]).contains(&group)
                            && strings(&rule["resources"]).contains(&resource)
                            && strings(&rule["verbs"]).contains(&verb)
                    })
            };
            for (group, resource, verb) in needed_permissions(policy) {
                assert!(
                    granted(group, resource, verb),
                    "{}: examples/{dir} does not grant {}/{} {verb} {group:?}/{resource} \
                     (without it every labelled pod is rejected with 500)",
                    policy.label,
                    account.0,
                    account.1
                );
            }
        }
    }
}

/// Whether a Kubernetes LabelSelector (`namespaceSelector`) selects a namespace that carries
/// only the label the API server gives every namespace, `kubernetes.io/metadata.name`.
fn selects_namespace(selector: Option<&Value>, namespace: &str) -> bool {
    let Some(selector) = selector else {
        return true;
    };
    let label = "kubernetes.io/metadata.name";
    let labels_ok = selector["matchLabels"]
        .as_object()
        .into_iter()
        .flatten()
        .all(|(key, value)| key == label && value == namespace);
    let expressions_ok = selector["matchExpressions"]
        .as_array()
        .into_iter()
        .flatten()
        .all(|expression| {
            let on_name = expression["key"] == label;
            let values = strings(&expression["values"]);
            match expression["operator"].as_str().unwrap_or_default() {
                "In" => on_name && values.contains(&namespace),
                "NotIn" => !on_name || !values.contains(&namespace),
                "Exists" => on_name,
                "DoesNotExist" => !on_name,
                other => panic!("namespaceSelector operator {other:?}"),
            }
        });
    labels_ok && expressions_ok
}

/// reference §11 (revision 3): every shipped ClusterAdmissionPolicy sends `pods` CREATE and the
/// `pods/ephemeralcontainers` UPDATE of `kubectl debug` (§4.12; a rule for `pods` does not match
/// the subresource), under its one `matchConditions` list; no other pod UPDATE (the policy
/// answers each with a plain accept, so it would only load the policy-server); and no
/// example leaves `kube-system` out. A mutating one has no `namespaceSelector` at all: the
/// controller already keeps it away from Kubewarden's own namespace, and upstream mutates
/// labelled pods in every namespace.
#[test]
fn spec_11_every_example_sends_pods_and_ephemeral_containers_in_every_namespace() {
    let mut policies = 0;
    for policy in manifests()
        .iter()
        .filter(|m| m.kind() == "ClusterAdmissionPolicy")
    {
        policies += 1;
        let label = &policy.label;
        let rules = policy
            .value
            .pointer("/spec/rules")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let sends = |resource: &str, operation: &str| {
            rules.iter().any(|rule| {
                let has = |key: &str, item: &str| {
                    let list = strings(&rule[key]);
                    list.contains(&item) || list.contains(&"*")
                };
                has("apiGroups", "")
                    && has("apiVersions", "v1")
                    && has("resources", resource)
                    && has("operations", operation)
            })
        };
        assert!(sends("pods", "CREATE"), "{label}: no pods CREATE rule");
        assert!(
            sends("pods/ephemeralcontainers", "UPDATE"),
            "{label}: no pods/ephemeralcontainers UPDATE rule: kubectl debug would add a \
             container that sets its own AZURE_CLIENT_ID unreviewed (§4.12)"
        );
        for (resource, operation) in [("pods", "UPDATE"), ("pods/status", "UPDATE")] {
            assert!(
                !sends(resource, operation),
                "{label}: sends {resource} {operation}, which the policy only accepts"
            );
        }
        assert!(
            policy.value.pointer("/spec/matchConditions").is_some(),
            "{label}: no matchConditions"
        );
        let selector = policy.value.pointer("/spec/namespaceSelector");
        for namespace in ["kube-system", "default", "team-a"] {
            assert!(
                selects_namespace(selector, namespace),
                "{label}: the namespaceSelector leaves {namespace} out: labelled pods there \
                 would start without an identity after a cut-over (§11)"
            );
        }
        if policy.value.pointer("/spec/mutating") == Some(&Value::Bool(true)) {
            assert!(
                selector.is_none(),
                "{label}: a mutating example excludes no namespace beyond the controller's own"
            );
        }
    }
    assert!(policies >= 5, "only {policies} ClusterAdmissionPolicies");
}

#[test]
fn the_namespace_check_reads_selectors_as_the_api_server_does() {
    let excluding = serde_json::json!({ "matchExpressions": [{
        "key": "kubernetes.io/metadata.name", "operator": "NotIn",
        "values": ["kube-system", "kubewarden"] }] });
    assert!(!selects_namespace(Some(&excluding), "kube-system"));
    assert!(selects_namespace(Some(&excluding), "team-a"));
    let only = serde_json::json!({ "matchLabels": { "kubernetes.io/metadata.name": "team-a" } });
    assert!(!selects_namespace(Some(&only), "kube-system"));
    assert!(selects_namespace(Some(&only), "team-a"));
    let other_label = serde_json::json!({ "matchExpressions": [{
        "key": "team", "operator": "Exists" }] });
    assert!(!selects_namespace(Some(&other_label), "kube-system"));
    assert!(selects_namespace(None, "kube-system"));
    assert!(selects_namespace(
        Some(&serde_json::json!({})),
        "kube-system"
    ));
}

/// `make demo EXAMPLE=<dir>` runs `settings.yml`: it must be what the directory's policy runs.
#[test]
fn demo_settings_are_the_settings_of_a_policy_in_the_same_directory() {
    let manifests = manifests();
    let mut demos = 0;
    for entry in fs::read_dir(examples_dir()).expect("examples/") {
        let dir = entry.expect("an entry").path();
        if !dir.join("request.json").is_file() {
            continue;
        }
        demos += 1;
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let settings: Value = serde_yaml::from_str(&read(&dir.join("settings.yml")))
            .unwrap_or_else(|e| panic!("examples/{name}/settings.yml: {e}"));
        azure_workload_identity_policy::settings::parse_and_check(settings.to_string().as_bytes())
            .unwrap_or_else(|e| panic!("examples/{name}/settings.yml is refused: {e}"));
        // The demo runs with a test tenant where the manifest carries the placeholder.
        let as_shipped = |m: &Manifest| {
            let mut shipped = m.value.pointer("/spec/settings").cloned();
            if let Some(tenant) = shipped.as_mut().and_then(|s| s.get_mut("tenantId"))
                && tenant == TENANT_PLACEHOLDER
            {
                *tenant = Value::from(DEMO_TENANT);
            }
            shipped
        };
        assert!(
            manifests.iter().any(|m| m.dir == name
                && m.kind() == "ClusterAdmissionPolicy"
                && as_shipped(m) == Some(settings.clone())),
            "examples/{name}/settings.yml is not the settings of any ClusterAdmissionPolicy in \
             examples/{name}"
        );
        let request: Value = serde_json::from_str(&read(&dir.join("request.json")))
            .unwrap_or_else(|e| panic!("examples/{name}/request.json: {e}"));
        let object = request
            .pointer("/request/object")
            .unwrap_or_else(|| panic!("examples/{name}/request.json has no request.object"));
        let manifest = Manifest {
            dir: name.clone(),
            label: format!("examples/{name}/request.json .request.object"),
            value: object.clone(),
        };
        validate(&manifest).unwrap_or_else(|e| panic!("{}: {e}", manifest.label));
    }
    assert!(demos >= 4, "only {demos} demo directories");
}

/// YAML 1.1 (what Kubernetes and Helm read) turns these plain scalars into booleans.
const YAML11_BOOLEANS: &[&str] = &["y", "yes", "n", "no", "on", "off"];

#[test]
fn no_unquoted_yaml_1_1_boolean_where_a_string_is_meant() {
    let mut found = Vec::new();
    files(&examples_dir(), &mut found);
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    found.extend(["questions-ui.yml", "metadata.yml", "artifacthub-pkg.yml"].map(|f| root.join(f)));
    let mut bad = Vec::new();
    for path in found.iter().filter(|p| is_yaml(p)) {
        for (number, line) in read(path).lines().enumerate() {
            let code = line.split(" #").next().unwrap_or_default().trim_end();
            let value = code
                .rsplit_once(": ")
                .map(|(_, v)| v)
                .or_else(|| code.trim_start().strip_prefix("- "))
                .unwrap_or_default()
                .trim();
            if YAML11_BOOLEANS.contains(&value.to_ascii_lowercase().as_str()) {
                bad.push(format!("{}:{}: {line}", relative(path), number + 1));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "quote these (YAML 1.1 reads them as booleans):\n{}",
        bad.join("\n")
    );
}
