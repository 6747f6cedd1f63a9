//! What the examples and the runbooks (docs/runbooks.md, docs/operations.md) rely on from Kubewarden's Helm chart (`admission-controller`),
//! checked against the chart's values recorded in `test_data/chart/admission-controller-values.yaml`
//! (helm-charts at 148b1a9, chart 6.0.2 / Kubewarden v1.37.2; the file names where each key comes
//! from): the policy-server image the PolicyServers pin and `render()` replaces, the default
//! PolicyServer's name and ServiceAccount that the validate-only runbooks' RBAC binds, and the
//! chart defaults the runbooks quote (replicas, PodDisruptionBudget, permissions, log level, report
//! kind, Rancher namespace).

use std::fs;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_yaml::Value;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {path:?}: {e}"))
}

fn chart() -> Value {
    serde_yaml::from_str(&read(
        &root().join("test_data/chart/admission-controller-values.yaml"),
    ))
    .expect("the chart excerpt is YAML")
}

fn str<'a>(value: &'a Value, path: &str) -> &'a str {
    path.split('.')
        .fold(value, |v, key| &v[key])
        .as_str()
        .unwrap_or_else(|| panic!("the chart excerpt has no string at {path}"))
}

/// An operator document (`docs/runbooks.md`, `docs/operations.md`) with every run of whitespace
/// (line breaks and indentation included) as one space, so a quoted phrase may wrap.
fn operator_doc(path: &str) -> String {
    read(&root().join(path))
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Every document of `examples/*/*.yaml` (demo inputs aside), with its file.
fn documents() -> Vec<(PathBuf, Value)> {
    let mut found = Vec::new();
    for dir in fs::read_dir(root().join("examples")).expect("examples/") {
        let dir = dir.expect("an entry").path();
        if !dir.is_dir() {
            continue;
        }
        for file in fs::read_dir(&dir).expect("an example directory") {
            let path = file.expect("an entry").path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if name.ends_with(".yaml") {
                found.push(path);
            }
        }
    }
    found.sort();
    let mut documents = Vec::new();
    for path in found {
        let text = read(&path);
        for document in serde_yaml::Deserializer::from_str(&text) {
            let value = Value::deserialize(document).expect("YAML");
            if !value.is_null() {
                documents.push((path.clone(), value));
            }
        }
    }
    documents
}

/// `<systemDefaultRegistry>/<repository>:<tag>`, as the chart's default PolicyServer template
/// writes `spec.image`.
fn chart_policy_server_image(chart: &Value) -> String {
    format!(
        "{}/{}:{}",
        str(chart, "values.global.cattle.systemDefaultRegistry"),
        str(chart, "values.policyServer.image.repository"),
        str(chart, "values.policyServer.image.tag"),
    )
}

#[test]
fn the_policy_servers_pin_the_image_the_chart_ships_and_render_replaces() {
    let chart = chart();
    let image = chart_policy_server_image(&chart);
    assert_eq!(
        str(&chart, "values.policyServer.image.tag"),
        str(&chart, "chart.appVersion"),
        "the excerpt's image tag is the chart's appVersion"
    );
    let runbooks = operator_doc("docs/runbooks.md");
    // render(): -e "s|image: ghcr.io/kubewarden/.*|image: $PS_IMAGE|"
    let render_prefix = "image: ghcr.io/kubewarden/";
    assert!(
        runbooks.contains(&format!("\"s|{render_prefix}.*|image: $PS_IMAGE|\"")),
        "docs/runbooks.md's render() no longer replaces {render_prefix}…"
    );
    let mut seen = 0;
    for (path, doc) in documents() {
        if doc["kind"].as_str() != Some("PolicyServer") {
            continue;
        }
        seen += 1;
        let pinned = doc["spec"]["image"].as_str().unwrap_or_default();
        assert_eq!(
            pinned, image,
            "{path:?}: spec.image is not the chart's default PolicyServer image"
        );
        assert!(
            format!("image: {pinned}").starts_with(render_prefix),
            "{path:?}: render() would leave {pinned} in place"
        );
    }
    assert_eq!(seen, 2, "the self-managed and migrate PolicyServers");
    // The runbooks name the image path (registry and repository) the chart uses today.
    let path = image.rsplit_once(':').unwrap().0;
    assert!(
        runbooks.contains(&format!("`{path}`")),
        "docs/runbooks.md does not name the chart's policy-server image {path}"
    );
}

#[test]
fn policies_on_the_default_policy_server_bind_the_chart_s_service_account() {
    let chart = chart();
    let default_name = str(&chart, "defaultPolicyServerName");
    let account = str(&chart, "values.policyServer.serviceAccountName");
    let documents = documents();
    let mut dirs = Vec::new();
    for (path, doc) in &documents {
        if doc["kind"].as_str() == Some("ClusterAdmissionPolicy")
            && doc["spec"]["policyServer"].as_str().unwrap_or(default_name) == default_name
        {
            dirs.push(path.parent().unwrap().to_path_buf());
        }
    }
    assert_eq!(dirs.len(), 2, "aks-validate-only and aks-identity-binding");
    for dir in dirs {
        let bound = documents.iter().any(|(path, doc)| {
            path.parent() == Some(dir.as_path())
                && doc["kind"].as_str() == Some("ClusterRoleBinding")
                && doc["subjects"].as_sequence().is_some_and(|subjects| {
                    subjects.iter().any(|s| {
                        s["kind"].as_str() == Some("ServiceAccount")
                            && s["name"].as_str() == Some(account)
                            && s["namespace"].as_str() == Some("kubewarden")
                    })
                })
        });
        assert!(
            bound,
            "{dir:?}: no ClusterRoleBinding for the default PolicyServer's ServiceAccount kubewarden/{account}"
        );
    }
}

#[test]
fn runbooks_quote_the_chart_s_defaults() {
    let chart = chart();
    let runbooks = operator_doc("docs/runbooks.md");
    let operations = operator_doc("docs/operations.md");
    let policy_server = &chart["values"]["policyServer"];
    let must = |text: &str| assert!(runbooks.contains(text), "docs/runbooks.md lacks {text:?}");
    let must_ops = |text: &str| {
        assert!(
            operations.contains(text),
            "docs/operations.md lacks {text:?}"
        )
    };

    must(&format!(
        "`{}` ({} ships {})",
        str(&chart, "chart.name"),
        str(&chart, "chart.version"),
        str(&chart, "chart.appVersion"),
    ));
    // Runbook C step 2: the default PolicyServer has one replica and no PodDisruptionBudget,
    // and the two keys the runbook sets are the chart's.
    let replicas = policy_server["replicaCount"]
        .as_u64()
        .expect("replicaCount");
    must(&format!(
        "`policyServer.replicaCount: {replicas}`, `minAvailable` unset"
    ));
    let commented: Vec<&str> = policy_server["commentedOut"]
        .as_sequence()
        .expect("commentedOut")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(commented.contains(&"minAvailable") && policy_server.get("minAvailable").is_none());
    must("--set policyServer.replicaCount=2 --set policyServer.minAvailable=1");
    // Runbook C step 3: what the chart grants the default PolicyServer, and what it does not.
    let mut granted = Vec::new();
    for permission in policy_server["permissions"]
        .as_sequence()
        .expect("permissions")
    {
        for resource in permission["resources"].as_sequence().unwrap() {
            granted.push(resource.as_str().unwrap().to_owned());
        }
    }
    let step3 = runbooks
        .split("Grant it what the policy reads")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("Runbook C step 3");
    for resource in &granted {
        let named = resource.trim_end_matches('s');
        assert!(
            step3.contains(named),
            "Runbook C step 3 omits the chart's {resource}"
        );
    }
    for needed in ["serviceaccounts", "secretproviderclasses"] {
        assert!(
            !granted.iter().any(|r| r == needed),
            "the chart now grants {needed}"
        );
        assert!(step3.contains(&format!("`get {needed}`")));
    }
    must("`create subjectaccessreviews`");
    must("values `policyServer.permissions`");
    // Operations, Observability: the chart's log level and report kind.
    let env = policy_server["env"].as_sequence().expect("env");
    let level = env
        .iter()
        .find(|e| e["name"].as_str() == Some("KUBEWARDEN_LOG_LEVEL"))
        .and_then(|e| e["value"].as_str())
        .expect("KUBEWARDEN_LOG_LEVEL");
    must_ops(&format!("(the chart sets `{level}`)"));
    must_ops(&format!(
        "`auditScanner.reportCRDsKind: {}`",
        str(&chart, "values.auditScanner.reportCRDsKind")
    ));
    // Before a runbook and render(): Rancher's namespace.
    let rancher = chart["chart"]["annotations"]["catalog.cattle.io/namespace"]
        .as_str()
        .expect("catalog.cattle.io/namespace");
    must(&format!("`{rancher}` on Rancher"));
    must(&format!("# Rancher: {rancher}"));
    // The default PolicyServer the runbooks read the image from.
    must(&format!(
        "kubectl get policyserver {} -o jsonpath='{{.spec.image}}'",
        str(&chart, "defaultPolicyServerName")
    ));
}

/// Every `helm install` or `helm upgrade` the operator documents give names the chart version:
/// without `--version` Helm takes the newest chart of the repository, which after a `helm repo
/// update` upgrades Kubewarden (or the upstream webhook) by surprise.
#[test]
fn every_documented_helm_install_or_upgrade_names_the_chart_version() {
    let mut seen = 0;
    for path in [
        "README.md",
        "docs/runbooks.md",
        "docs/operations.md",
        "docs/security.md",
    ] {
        let text = read(&root().join(path)).replace("\\\n", " ");
        for line in text.lines() {
            let line = line.trim_start();
            if line.starts_with("helm upgrade ") || line.starts_with("helm install ") {
                seen += 1;
                assert!(
                    line.contains(" --version "),
                    "{path}: a helm command without --version: {line}"
                );
            }
        }
    }
    assert!(seen >= 2, "Runbook B's rollback and Runbook C step 2");
}
