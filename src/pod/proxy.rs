//! The IMDS proxy (reference §4.3): whether a pod asks for it, its checks, and the two containers.

use serde_json::{Value, json};

use crate::error::Denial;
use crate::format::quote;
use crate::names;
use crate::settings::ProxySettings;

/// What the `inject-proxy-sidecar` annotation asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProxyRequest {
    /// Absent, or `false` in any case.
    No,
    /// `true` in any case.
    Yes,
    /// Any other value: not injected, and the pod gets a warning (deviation from upstream,
    /// which injects whenever the key is present).
    Unclear(String),
}

impl ProxyRequest {
    pub fn from_annotation(value: Option<&str>) -> Self {
        match value {
            None => Self::No,
            Some(v) if v.eq_ignore_ascii_case("true") => Self::Yes,
            Some(v) if v.eq_ignore_ascii_case("false") => Self::No,
            Some(v) => Self::Unclear(v.to_owned()),
        }
    }

    pub fn warning(&self, pod: &str) -> Option<String> {
        match self {
            Self::Unclear(value) => Some(format!(
                "{pod}: set {} to true or false (it is {}): the proxy is not injected",
                names::INJECT_PROXY,
                quote(value)
            )),
            _ => None,
        }
    }
}

/// The proxy port from the annotation (absent or empty → 8000).
pub fn port(value: Option<&str>) -> Result<u16, Denial> {
    match value.map(str::trim) {
        None | Some("") => Ok(names::DEFAULT_PROXY_PORT),
        Some(v) => v
            .parse::<u16>()
            .ok()
            .filter(|p| *p >= 1)
            .ok_or_else(|| Denial::ProxyPort(v.to_owned())),
    }
}

/// `azwi-proxy-init`: redirects IMDS traffic to the sidecar; privileged by necessity.
pub fn init_container(settings: &ProxySettings, port: u16) -> Value {
    json!({
        "name": names::PROXY_INIT_CONTAINER,
        "image": settings.init_image,
        "imagePullPolicy": "IfNotPresent",
        "securityContext": {
            "capabilities": { "add": ["NET_ADMIN"], "drop": ["ALL"] },
            "privileged": true,
            "runAsNonRoot": false,
            "runAsUser": 0,
        },
        "env": [{ "name": names::ENV_PROXY_PORT, "value": port.to_string() }],
    })
}

/// `azwi-proxy`: the sidecar, native (`restartPolicy: Always`) or not.
pub fn sidecar(settings: &ProxySettings, port: u16) -> Value {
    let port_arg = format!("--proxy-port={port}");
    let level_arg = format!("--log-level={}", settings.log_level.as_str());
    let mut container = json!({
        "name": names::PROXY_CONTAINER,
        "image": settings.image,
        "imagePullPolicy": "IfNotPresent",
        "args": [port_arg, level_arg],
        "ports": [{ "containerPort": port }],
        "lifecycle": { "postStart": { "exec": {
            "command": ["/proxy", port_arg, "--probe", level_arg],
        } } },
        "securityContext": {
            "allowPrivilegeEscalation": false,
            "capabilities": { "drop": ["ALL"] },
            "privileged": false,
            "readOnlyRootFilesystem": true,
            "runAsNonRoot": true,
        },
    });
    if settings.native_sidecar
        && let Some(object) = container.as_object_mut()
    {
        object.insert("restartPolicy".to_owned(), json!("Always"));
    }
    container
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case::absent(None, ProxyRequest::No)]
    #[case::true_lower(Some("true"), ProxyRequest::Yes)]
    #[case::true_mixed(Some("True"), ProxyRequest::Yes)]
    #[case::false_upper(Some("FALSE"), ProxyRequest::No)]
    #[case::empty(Some(""), ProxyRequest::Unclear(String::new()))]
    #[case::yes(Some("yes"), ProxyRequest::Unclear("yes".into()))]
    fn proxy_request(#[case] value: Option<&str>, #[case] expected: ProxyRequest) {
        assert_eq!(ProxyRequest::from_annotation(value), expected);
    }

    // Upstream TestGetProxyPort, plus the range reference §4.3 adds.
    #[rstest]
    #[case::pod_not_annotated(None, Ok(8000))]
    #[case::empty_is_default(Some(""), Ok(8000))]
    #[case::annotated_8080(Some("8080"), Ok(8080))]
    #[case::invalid(Some("invalid"), Err(()))]
    #[case::zero(Some("0"), Err(()))]
    #[case::negative(Some("-1"), Err(()))]
    #[case::too_big(Some("65536"), Err(()))]
    fn proxy_port(#[case] value: Option<&str>, #[case] expected: Result<u16, ()>) {
        assert_eq!(port(value).map_err(|_| ()), expected);
    }

    // Upstream TestInjectProxySidecarContainer, with the log level from the settings.
    #[test]
    fn sidecar_fields_match_upstream() {
        let settings = ProxySettings {
            image: "my.proxy-image-registry.io/azwi/proxy:v1.0.0".into(),
            native_sidecar: false,
            log_level: crate::settings::ProxyLogLevel::Debug,
            ..ProxySettings::default()
        };
        assert_eq!(
            sidecar(&settings, 8081),
            json!({
                "name": "azwi-proxy",
                "image": "my.proxy-image-registry.io/azwi/proxy:v1.0.0",
                "imagePullPolicy": "IfNotPresent",
                "args": ["--proxy-port=8081", "--log-level=debug"],
                "ports": [{ "containerPort": 8081 }],
                "lifecycle": { "postStart": { "exec": {
                    "command": ["/proxy", "--proxy-port=8081", "--probe", "--log-level=debug"] } } },
                "securityContext": {
                    "allowPrivilegeEscalation": false, "capabilities": { "drop": ["ALL"] },
                    "privileged": false, "readOnlyRootFilesystem": true, "runAsNonRoot": true },
            })
        );
        let native = sidecar(
            &ProxySettings {
                native_sidecar: true,
                ..settings
            },
            8081,
        );
        assert_eq!(native["restartPolicy"], json!("Always"));
    }

    // Upstream TestInjectProxyInitContainer.
    #[test]
    fn init_container_fields_match_upstream() {
        let settings = ProxySettings {
            init_image: "my.proxy-image-registry.io/azwi/proxy-init:v1.0.0".into(),
            ..ProxySettings::default()
        };
        assert_eq!(
            init_container(&settings, 8080),
            json!({
                "name": "azwi-proxy-init",
                "image": "my.proxy-image-registry.io/azwi/proxy-init:v1.0.0",
                "imagePullPolicy": "IfNotPresent",
                "securityContext": {
                    "capabilities": { "add": ["NET_ADMIN"], "drop": ["ALL"] },
                    "privileged": true, "runAsNonRoot": false, "runAsUser": 0 },
                "env": [{ "name": "PROXY_PORT", "value": "8080" }],
            })
        );
    }
}
