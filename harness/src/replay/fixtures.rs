//! Replay-session text shared by the unit tests of the modules that read sessions.

/// The `get_resource` payload the SDK sends for ServiceAccount `sa` in `default`.
pub const GET_SA: &str = r#"{"api_version":"v1","kind":"ServiceAccount","name":"sa","namespace":"default","disable_cache":false,"field_masks":null}"#;

/// One entry of a session file: `request` (a tagged YAML document) and `response` (the fields
/// of the recorded answer), laid out as kwctl writes them.
pub fn exchange(request: &str, response: &str) -> String {
    let indented =
        |text: &str| -> String { text.lines().map(|line| format!("    {line}\n")).collect() };
    format!(
        "- type: Exchange\n  request: |\n{}  response:\n{}",
        indented(request),
        indented(response)
    )
}

/// A recorded `get_resource` of ServiceAccount `name` in `default`, with no `field_masks`.
pub fn get_service_account(name: &str, disable_cache: bool) -> String {
    format!(
        "!KubernetesGetResource\napi_version: v1\nkind: ServiceAccount\nname: {name}\nnamespace: default\ndisable_cache: {disable_cache}"
    )
}

/// A recorded `type: Success` answer.
pub fn success(payload: &str) -> String {
    format!("type: Success\npayload: '{payload}'")
}

/// A recorded `type: Error` answer.
pub fn error(message: &str) -> String {
    format!("type: Error\nmessage: {message}")
}

/// The `list_resources_by_namespace` payload the SDK sends for the AzureIdentityBindings of
/// `team-b`, masked to the fields the policy reads.
pub const LIST_BINDINGS: &str = r#"{"api_version":"aadpodidentity.k8s.io/v1","kind":"AzureIdentityBinding","namespace":"team-b","label_selector":null,"field_selector":null,"field_masks":["metadata.name","spec.selector"]}"#;

/// A list of one AzureIdentityBinding, as the host answers [`LIST_BINDINGS`].
pub const BINDING_LIST: &str = r#"{"apiVersion":"aadpodidentity.k8s.io/v1","kind":"AzureIdentityBindingList","metadata":{},"items":[{"metadata":{"name":"b"},"spec":{"selector":"s"}}]}"#;

/// A recorded `list_resources_by_namespace` of the AzureIdentityBindings of `namespace`: the
/// field masks of [`LIST_BINDINGS`] in another order, and the selectors left out (null).
pub fn list_bindings(namespace: &str) -> String {
    format!(
        "!KubernetesListResourceNamespace\napi_version: aadpodidentity.k8s.io/v1\nkind: AzureIdentityBinding\nnamespace: {namespace}\nfield_masks:\n- spec.selector\n- metadata.name"
    )
}

/// The `list_resources_all` payload the SDK sends for the AzureIdentityBindings of every
/// namespace, masked to the fields a cluster-wide `migrate` reads.
pub const LIST_ALL_BINDINGS: &str = r#"{"api_version":"aadpodidentity.k8s.io/v1","kind":"AzureIdentityBinding","label_selector":null,"field_selector":null,"field_masks":["metadata.name","metadata.namespace","spec.azureIdentity","spec.selector"]}"#;

/// Bindings of two namespaces, as the host answers [`LIST_ALL_BINDINGS`].
pub const ALL_BINDINGS_LIST: &str = r#"{"apiVersion":"aadpodidentity.k8s.io/v1","kind":"AzureIdentityBindingList","metadata":{},"items":[{"metadata":{"name":"b","namespace":"team-a"},"spec":{"azureIdentity":"id","selector":"s"}},{"metadata":{"name":"c","namespace":"team-b"},"spec":{"azureIdentity":"id","selector":"t"}}]}"#;

/// A recorded `list_resources_all` of the AzureIdentityBindings: the field masks of
/// [`LIST_ALL_BINDINGS`] in another order, `field_selector` left out (null), and
/// `label_selector` written only when given.
pub fn list_all_bindings(label_selector: Option<&str>) -> String {
    let label_selector = label_selector
        .map(|selector| format!("label_selector: {selector}\n"))
        .unwrap_or_default();
    format!(
        "!KubernetesListResourceAll\napi_version: aadpodidentity.k8s.io/v1\nkind: AzureIdentityBinding\n{label_selector}field_masks:\n- spec.selector\n- spec.azureIdentity\n- metadata.namespace\n- metadata.name"
    )
}

/// How kwctl's replay error shows [`LIST_ALL_BINDINGS`] (its `Debug` form).
pub const LIST_ALL_BINDINGS_DEBUG: &str = "KubernetesListResourceAll { api_version: \
    \"aadpodidentity.k8s.io/v1\", kind: \"AzureIdentityBinding\", label_selector: None, \
    field_selector: None, field_masks: Some({\"metadata.name\", \"metadata.namespace\", \
    \"spec.azureIdentity\", \"spec.selector\"}) }";

/// Assert that `error` is kwctl's strict-replay mismatch: it was expecting a request that
/// starts with `expecting`, and got one that ends with `got`.
pub fn assert_mismatch(error: &str, expecting: &str, got: &str) {
    let expected = format!("Replay error: unexpected request. Was expecting {expecting}");
    assert!(error.contains(&expected), "{error}");
    assert!(error.ends_with(&format!("{got} instead")), "{error}");
}
