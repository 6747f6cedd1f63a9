//! The plan: pure data saying what a labelled pod gets (reference §4.3–§4.8), computed from the pod's
//! annotations, its ServiceAccount and the settings, before anything is written.

use std::collections::BTreeSet;

use serde_json::Value;

use super::facts::{Pod, Spec};
use super::identity::Facts;
use super::layout::Layout;
use super::migrate::Migration;
use super::proxy::{self, ProxyRequest};
use crate::cluster::ServiceAccount;
use crate::error::{Denial, ProxyAsked, Rejection};
use crate::format::parse_expiration;
use crate::names;
use crate::request::Injector;
use crate::settings::{CaSource, Settings};

/// Everything the later steps need: what `apply` writes, what `verify` expects, what
/// `authorize` checks. Nothing after [`plan`] recomputes any of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub layout: Layout,
    /// Env vars in injection order; only non-empty values.
    pub env: Vec<(&'static str, String)>,
    /// The projected token volume.
    pub volume: Value,
    /// The token's audience: `audience`, or `identityBinding.audience` for identity binding.
    pub audience: String,
    /// The proxy containers to add, when the pod asked for them.
    pub proxy: Option<ProxyPlan>,
    /// Containers that get nothing injected.
    pub skip: BTreeSet<String>,
    /// The client ID injected: the ServiceAccount's, else a migrated pod's AzureIdentity's.
    pub client_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ProxyPlan {
    pub init_container: Value,
    pub sidecar: Value,
    pub native: bool,
}

/// The plan of an opted-in pod. `sa` is its ServiceAccount, `None` when it does not exist
/// (a workload template's, reference §7): then the pod is planned without its annotations and no
/// identity-binding review applies (there is no client ID to review yet).
///
/// A pod migrated from AAD Pod Identity (`migration`, reference §8.3) gets the AzureIdentity's
/// client ID unless its ServiceAccount names one, and the proxy, so that code written for AAD
/// Pod Identity's IMDS endpoint keeps working.
pub fn plan(
    pod: &Pod,
    spec: &Spec,
    facts: &Facts,
    sa: Option<&ServiceAccount>,
    settings: &Settings,
    migration: Option<&Migration>,
    injector: Injector,
) -> Result<Plan, Rejection> {
    let display = &pod.subject.display;
    let none = ServiceAccount::default();
    let sa = sa.unwrap_or(&none);
    let proxy = proxy_plan(pod, spec, settings, migration.is_some(), injector)?;
    let expiration = token_expiration(pod, sa)?;
    let client_id = sa
        .annotation(names::CLIENT_ID)
        .filter(|v| !v.is_empty())
        .or(migration.map(|m| m.client_id.as_str()))
        .map(str::to_owned);
    // Deviation (reference §4.5): an empty annotation falls back to the setting.
    let tenant_id = sa
        .annotation(names::TENANT_ID)
        .filter(|v| !v.is_empty())
        .or(settings.tenant_id.as_deref())
        .unwrap_or_default();
    let binding = facts.binding_annotation;
    let layout = Layout::new(
        settings.token_volume_layout,
        &pod.metadata.hash_name(),
        pod.reserved(spec).as_ref(),
    );

    let mut env = vec![
        (names::ENV_CLIENT_ID, client_id.clone().unwrap_or_default()),
        (names::ENV_TENANT_ID, tenant_id.to_owned()),
        (names::ENV_FEDERATED_TOKEN_FILE, layout.token_file()),
        (
            names::ENV_AUTHORITY_HOST,
            settings.authority_host().to_owned(),
        ),
    ];
    let (audience, ca) = if binding {
        let config = &settings.identity_binding;
        match config.token_proxy.as_deref() {
            Some(token_proxy) => env.push((names::ENV_TOKEN_PROXY, token_proxy.to_owned())),
            None if injector == Injector::Policy => {
                let annotation = settings.identity_binding_annotation();
                return Err(Denial::IdentityBindingNotConfigured { annotation }.of(display));
            }
            // Validate-only: the managed webhook injects the proxy address.
            None => {}
        }
        env.push((
            names::ENV_SNI_NAME,
            config.sni_name.clone().unwrap_or_default(),
        ));
        let ca = settings.ca_source();
        match ca {
            CaSource::Data(data) => env.push((names::ENV_CA_DATA, data.to_owned())),
            CaSource::ConfigMap(_) | CaSource::ClusterTrustBundle { .. } => {
                env.push((names::ENV_CA_FILE, layout.ca_file()));
            }
            CaSource::None => {}
        }
        (config.audience.as_str(), Some(ca))
    } else {
        (settings.audience.as_str(), None)
    };
    env.retain(|(_, value)| !value.is_empty());
    let volume = serde_json::to_value(layout.volume(expiration, audience, ca))
        .map_err(|e| Denial::TokenVolume(e.to_string()).of(display))?;
    let skip = skip_containers(pod.annotation(names::SKIP_CONTAINERS));
    if proxy.is_some() && skip.contains(names::PROXY_CONTAINER) {
        return Err(Denial::ProxySkipped.of(display));
    }
    Ok(Plan {
        layout,
        env,
        volume,
        audience: audience.to_owned(),
        proxy,
        skip,
        client_id,
    })
}

/// `a;b; c` → {a, b, c}; empty entries ignored.
pub fn skip_containers(annotation: Option<&str>) -> BTreeSet<String> {
    annotation
        .unwrap_or_default()
        .split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Pod annotation, else ServiceAccount annotation, else 3600; empty values count as absent.
fn token_expiration(pod: &Pod, sa: &ServiceAccount) -> Result<i64, Rejection> {
    let from_pod = pod
        .annotation(names::TOKEN_EXPIRATION)
        .filter(|v| !v.is_empty())
        .map(|v| (v, "the pod".to_owned()));
    let from_sa = || {
        sa.annotation(names::TOKEN_EXPIRATION)
            .filter(|v| !v.is_empty())
            .map(|v| (v, format!("ServiceAccount {}/{}", sa.namespace, sa.name)))
    };
    let Some((value, holder)) = from_pod.or_else(from_sa) else {
        return Ok(names::DEFAULT_TOKEN_EXPIRATION);
    };
    parse_expiration(value).map_err(|accepted| {
        Denial::PodAnnotation {
            key: names::TOKEN_EXPIRATION,
            holder,
            value: value.to_owned(),
            accepted,
        }
        .of(&pod.subject.display)
    })
}

/// The proxy, when the pod asks for it or `forced` (a pod migrated from AAD Pod Identity).
fn proxy_plan(
    pod: &Pod,
    spec: &Spec,
    settings: &Settings,
    forced: bool,
    injector: Injector,
) -> Result<Option<ProxyPlan>, Rejection> {
    let annotation = pod.annotation(names::INJECT_PROXY);
    let injects = forced || ProxyRequest::from_annotation(annotation) == ProxyRequest::Yes;
    // The rules that guard the privileged init container also hold for one another webhook
    // injected, and, beside a managed webhook that injects whenever the key is present (its
    // value `"false"` included), for the key itself (reference §4.3).
    let carries_init = spec
        .containers()
        .any(|c| c.name == names::PROXY_INIT_CONTAINER);
    let managed_injects = injector == Injector::ManagedWebhook && annotation.is_some();
    if !injects && !carries_init && !managed_injects {
        return Ok(None);
    }
    let (display, namespace) = (&pod.subject.display, pod.subject.namespace.as_str());
    let asked = match (annotation, forced) {
        (Some(_), _) => ProxyAsked::Annotation,
        (None, true) => ProxyAsked::Migration,
        (None, false) => ProxyAsked::InitContainer,
    };
    if spec.host_network {
        return Err(Denial::ProxyHostNetwork { asked }.of(display));
    }
    if spec.windows() {
        return Err(Denial::ProxyWindows { asked }.of(display));
    }
    if !settings.proxy_allowed_in(namespace) {
        let namespace = namespace.to_owned();
        let allowed = settings.proxy.allowed_namespaces.clone();
        return Err(Denial::ProxyNamespace {
            asked,
            namespace,
            allowed,
        }
        .of(display));
    }
    if !injects {
        return Ok(None);
    }
    let port = proxy::port(pod.annotation(names::PROXY_PORT)).map_err(|e| e.of(display))?;
    Ok(Some(ProxyPlan {
        init_container: proxy::init_container(&settings.proxy, port),
        sidecar: proxy::sidecar(&settings.proxy, port),
        native: settings.proxy.native_sidecar,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    // Upstream TestGetSkipContainers.
    #[rstest]
    #[case::no_skip_containers_defined(None, &[])]
    #[case::one_skip_container_defined(Some("container1"), &["container1"])]
    #[case::multiple_delimited_by_semicolon(Some("container1;container2"), &["container1", "container2"])]
    #[case::multiple_with_extra_space(Some("container1; container2"), &["container1", "container2"])]
    #[case::empty_entries_ignored(Some(";; a ;"), &["a"])]
    fn skip_containers_parsing(#[case] annotation: Option<&str>, #[case] expected: &[&str]) {
        let expected: BTreeSet<String> = expected.iter().map(|s| (*s).to_owned()).collect();
        assert_eq!(skip_containers(annotation), expected);
    }

    #[rstest]
    #[case::min("3600", Some(3600))]
    #[case::max("86400", Some(86400))]
    #[case::with_unit("3600s", None)]
    #[case::below("3599", None)]
    #[case::above("86401", None)]
    #[case::not_a_number("invalid", None)]
    #[case::space(" 3600", None)]
    fn expiration_parsing(#[case] value: &str, #[case] expected: Option<i64>) {
        assert_eq!(parse_expiration(value).ok(), expected);
    }
}
