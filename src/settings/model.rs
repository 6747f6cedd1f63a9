//! The settings' types, their defaults and the resolved values the rest of the policy reads.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::format::quote;
use crate::names;

/// Everything an operator can configure. Deserialize with [`Settings::from_json`] so that a
/// bad document is reported with the path of the offending field.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct Settings {
    /// `false` = validate-only mode: every check runs, nothing is injected.
    pub mutate: bool,
    /// Default tenant for pods whose ServiceAccount does not name one.
    pub tenant_id: Option<String>,
    /// Azure cloud name; resolved to the authority host by [`Settings::authority_host`].
    pub cloud: String,
    /// Overrides `cloud` (Azure Stack, private clouds).
    pub authority_host: Option<String>,
    /// Audience of the projected service-account token.
    pub audience: String,
    pub token_volume_layout: TokenVolumeLayout,
    pub proxy: ProxySettings,
    pub identity_binding: IdentityBindingSettings,
    pub secrets_store_csi: SecretsStoreCsiSettings,
    /// Namespace (or `*`) → client IDs that pods there may use. Empty = no allowlist.
    pub allowed_client_ids: BTreeMap<String, Vec<String>>,
    pub legacy_pod_identity: LegacyPodIdentity,
    /// AAD Pod Identity ran with `--forceNamespaced`: `migrate` counts only bindings and
    /// identities of the pod's own namespace (reference §8).
    pub legacy_pod_identity_force_namespaced: bool,
    pub verify_injection: VerifyInjection,
}

/// Where the projected token lives in the pod (reference §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
pub enum TokenVolumeLayout {
    /// What the docs describe and upstream ≤ v1.5 injected.
    #[default]
    #[serde(rename = "classic")]
    Classic,
    /// What the upstream webhook v1.6.0 injects.
    #[serde(rename = "v1.6")]
    V16,
    /// What upstream ≥ v1.6.1 injects: the mount path carries the hash too.
    #[serde(rename = "v1.6.1")]
    V161,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct ProxySettings {
    pub image: String,
    pub init_image: String,
    /// Sidecar as a native sidecar (initContainers, `restartPolicy: Always`); needs Kubernetes ≥ 1.29.
    pub native_sidecar: bool,
    pub log_level: ProxyLogLevel,
    /// Namespaces whose pods may request the (privileged) proxy init container; `*` = all.
    pub allowed_namespaces: Vec<String>,
}

/// Log levels the proxy accepts; it exits on any other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProxyLogLevel {
    #[default]
    Info,
    Debug,
    Trace,
    All,
}

impl ProxyLogLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Debug => "debug",
            Self::Trace => "trace",
            Self::All => "all",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct IdentityBindingSettings {
    pub annotation_suffix: String,
    pub audience: String,
    pub token_proxy: Option<String>,
    pub sni_name: Option<String>,
    pub ca_data: Option<String>,
    pub ca_config_map: Option<String>,
    pub ca_cluster_trust_bundle: Option<ClusterTrustBundleSource>,
    /// Run the SubjectAccessReview of reference §6 for identity-binding pods.
    pub authorize: bool,
    pub verb: String,
    pub api_group: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct ClusterTrustBundleSource {
    pub signer_name: Option<String>,
    pub label_selector: Option<LabelSelector>,
}

/// A Kubernetes label selector, written into the pod's `clusterTrustBundle` source as given.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct LabelSelector {
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub match_labels: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub match_expressions: Vec<LabelSelectorRequirement>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LabelSelectorRequirement {
    pub key: String,
    pub operator: SelectorOperator,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
pub enum SelectorOperator {
    In,
    NotIn,
    Exists,
    DoesNotExist,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct SecretsStoreCsiSettings {
    /// Run the SubjectAccessReview of reference §6 for Key Vault CSI volumes using the token proxy.
    pub authorize: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LegacyPodIdentity {
    Allow,
    #[default]
    Warn,
    Reject,
    /// Carry the pod over to Workload Identity at admission (reference §8).
    Migrate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum VerifyInjection {
    #[default]
    Reject,
    Warn,
    Off,
}

pub const DEFAULT_AUDIENCE: &str = "api://AzureADTokenExchange";
pub const DEFAULT_CLOUD: &str = "AzurePublicCloud";
/// Upstream moved its images to the `oss/v2` path at v1.6.0; the old path has no v1.6.0 tag
/// (upstream issue #1736, PR #1737), so a pod given it would never start (reference §3).
pub const DEFAULT_PROXY_IMAGE: &str =
    "mcr.microsoft.com/oss/v2/azure/workload-identity/proxy:v1.6.0";
pub const DEFAULT_PROXY_INIT_IMAGE: &str =
    "mcr.microsoft.com/oss/v2/azure/workload-identity/proxy-init:v1.6.0";
pub const DEFAULT_BINDING_SUFFIX: &str = "identity-binding";
pub const DEFAULT_BINDING_AUDIENCE: &str = "api://AKSIdentityBinding";
pub const DEFAULT_BINDING_VERB: &str = "use-managed-identity";
pub const DEFAULT_BINDING_API_GROUP: &str = "cid.wi.aks.azure.com";

/// Cloud names (lowercase, aliases included) and their authority hosts.
pub(super) const CLOUDS: &[(&str, &str)] = &[
    ("azurepubliccloud", "https://login.microsoftonline.com/"),
    ("azurecloud", "https://login.microsoftonline.com/"),
    ("azurechinacloud", "https://login.chinacloudapi.cn/"),
    (
        "azureusgovernmentcloud",
        "https://login.microsoftonline.us/",
    ),
    ("azureusgovernment", "https://login.microsoftonline.us/"),
    ("azuregermancloud", "https://login.microsoftonline.de/"),
];

impl Default for Settings {
    fn default() -> Self {
        Self {
            mutate: true,
            tenant_id: None,
            cloud: DEFAULT_CLOUD.to_owned(),
            authority_host: None,
            audience: DEFAULT_AUDIENCE.to_owned(),
            token_volume_layout: TokenVolumeLayout::default(),
            proxy: ProxySettings::default(),
            identity_binding: IdentityBindingSettings::default(),
            secrets_store_csi: SecretsStoreCsiSettings::default(),
            allowed_client_ids: BTreeMap::new(),
            legacy_pod_identity: LegacyPodIdentity::default(),
            legacy_pod_identity_force_namespaced: false,
            verify_injection: VerifyInjection::default(),
        }
    }
}

impl Default for ProxySettings {
    fn default() -> Self {
        Self {
            image: DEFAULT_PROXY_IMAGE.to_owned(),
            init_image: DEFAULT_PROXY_INIT_IMAGE.to_owned(),
            native_sidecar: true,
            log_level: ProxyLogLevel::default(),
            allowed_namespaces: vec!["*".to_owned()],
        }
    }
}

impl Default for IdentityBindingSettings {
    fn default() -> Self {
        Self {
            annotation_suffix: DEFAULT_BINDING_SUFFIX.to_owned(),
            audience: DEFAULT_BINDING_AUDIENCE.to_owned(),
            token_proxy: None,
            sni_name: None,
            ca_data: None,
            ca_config_map: None,
            ca_cluster_trust_bundle: None,
            authorize: true,
            verb: DEFAULT_BINDING_VERB.to_owned(),
            api_group: DEFAULT_BINDING_API_GROUP.to_owned(),
        }
    }
}

impl Default for SecretsStoreCsiSettings {
    fn default() -> Self {
        Self { authorize: true }
    }
}

/// Where an identity-binding pod's CA certificate comes from (reference §4.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaSource<'a> {
    /// No CA configured: the token proxy's certificate must chain to a public root.
    None,
    /// PEM given inline, injected as `AZURE_KUBERNETES_CA_DATA`.
    Data(&'a str),
    /// ConfigMap (key `ca.crt`) projected into the token volume.
    ConfigMap(&'a str),
    /// ClusterTrustBundle projected into the token volume.
    ClusterTrustBundle {
        signer_name: &'a str,
        label_selector: Option<&'a LabelSelector>,
    },
}

impl Settings {
    /// Parse a settings document; errors name the offending field by its path.
    pub fn from_json(bytes: &[u8]) -> Result<Self, String> {
        let trimmed = bytes.trim_ascii();
        if trimmed.is_empty() || trimmed == b"null" {
            return Ok(Self::default());
        }
        if !trimmed.starts_with(b"{") {
            return Err(format!(
                "settings must be a JSON object, got {}",
                quote(&String::from_utf8_lossy(trimmed))
            ));
        }
        // The fast path runs on every evaluation; the path-tracking parse only explains errors.
        if let Ok(settings) = serde_json::from_slice::<Self>(bytes) {
            return Ok(settings.normalized());
        }
        // `allowedClientIds` as the Kubewarden UI's form writes it, one string per namespace.
        let as_lists = super::client_ids::as_lists(bytes);
        let bytes = as_lists.as_deref().unwrap_or(bytes);
        if as_lists.is_some()
            && let Ok(settings) = serde_json::from_slice::<Self>(bytes)
        {
            return Ok(settings.normalized());
        }
        let deserializer = &mut serde_json::Deserializer::from_slice(bytes);
        let settings: Self = serde_path_to_error::deserialize(deserializer).map_err(|e| {
            let path = e.path().to_string();
            let hint = super::client_ids::hint(&path);
            if path == "." {
                e.inner().to_string()
            } else {
                format!("{path}: {}{hint}", e.inner())
            }
        })?;
        Ok(settings.normalized())
    }

    /// Settings UIs send `""` for an unset text field: treat it as absent.
    fn normalized(mut self) -> Self {
        fn clear(field: &mut Option<String>) {
            if field.as_deref().is_some_and(|v| v.trim().is_empty()) {
                *field = None;
            }
        }
        clear(&mut self.tenant_id);
        clear(&mut self.authority_host);
        let binding = &mut self.identity_binding;
        clear(&mut binding.token_proxy);
        clear(&mut binding.sni_name);
        clear(&mut binding.ca_data);
        clear(&mut binding.ca_config_map);
        if let Some(bundle) = &mut binding.ca_cluster_trust_bundle {
            clear(&mut bundle.signer_name);
            if bundle.signer_name.is_none() && bundle.label_selector.is_none() {
                binding.ca_cluster_trust_bundle = None;
            }
        }
        self
    }

    /// The `AZURE_AUTHORITY_HOST` value: `authorityHost` when set, else `cloud`'s host.
    pub fn authority_host(&self) -> &str {
        if let Some(host) = self.authority_host.as_deref() {
            return host;
        }
        let cloud = self.cloud.to_ascii_lowercase();
        CLOUDS
            .iter()
            .find(|(name, _)| *name == cloud)
            .map_or(CLOUDS[0].1, |(_, host)| host)
    }

    /// The full identity-binding pod annotation key.
    pub fn identity_binding_annotation(&self) -> String {
        format!(
            "{}{}",
            names::USE_PREFIX,
            self.identity_binding.annotation_suffix
        )
    }

    /// Where identity-binding pods get their CA from; validation guarantees at most one source.
    pub fn ca_source(&self) -> CaSource<'_> {
        let binding = &self.identity_binding;
        if let Some(data) = binding.ca_data.as_deref() {
            CaSource::Data(data)
        } else if let Some(name) = binding.ca_config_map.as_deref() {
            CaSource::ConfigMap(name)
        } else if let Some(ClusterTrustBundleSource {
            signer_name: Some(signer_name),
            label_selector,
        }) = &binding.ca_cluster_trust_bundle
        {
            CaSource::ClusterTrustBundle {
                signer_name,
                label_selector: label_selector.as_ref(),
            }
        } else {
            CaSource::None
        }
    }
    /// Whether pods of `namespace` may request the proxy.
    pub fn proxy_allowed_in(&self, namespace: &str) -> bool {
        self.proxy
            .allowed_namespaces
            .iter()
            .any(|ns| ns == "*" || ns == namespace)
    }
}
