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
