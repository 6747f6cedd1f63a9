//! The rules of reference §3 that serde cannot express.

use super::model::{CLOUDS, IdentityBindingSettings, ProxySettings, Settings};
use crate::format::{
    is_dns_domain, is_dns_label, is_dns_subdomain, is_guid, is_host_name, is_https_url,
    is_qualified_name, is_token_proxy_url, quote,
};

impl Settings {
    /// Every rule of reference §3 that serde cannot express; all violations, joined by `; `.
    pub fn check(&self) -> Result<(), String> {
        let mut errors = Errors::default();
        self.check_identity(&mut errors);
        check_proxy(&self.proxy, &mut errors);
        self.check_identity_binding(&mut errors);
        check_ca(&self.identity_binding, &mut errors);
        check_review(&self.identity_binding, &mut errors);
        self.check_allowed_client_ids(&mut errors);
        errors.into_result()
    }

    /// `tenantId`, `cloud`, `authorityHost`, `audience`.
    fn check_identity(&self, errors: &mut Errors) {
        match self.tenant_id.as_deref() {
            None if self.mutate => errors.push(
                "tenantId: required when mutate is true (the tenant injected as AZURE_TENANT_ID \
                 into pods whose ServiceAccount has no azure.workload.identity/tenant-id \
                 annotation); set it, or set mutate: false for validate-only mode"
                    .to_owned(),
            ),
            // The shipped examples carry a placeholder, so that a forgotten tenant is refused
            // here instead of reaching pods as somebody else's tenant.
            Some(tenant) if tenant.starts_with('<') && tenant.ends_with('>') => errors.push(format!(
                "tenantId: {} is a placeholder; put your Microsoft Entra tenant ID there (a GUID: \
                 `az account show --query tenantId -o tsv` prints it) or its domain, such as \
                 contoso.onmicrosoft.com",
                quote(tenant)
            )),
            Some(tenant) if !is_guid(tenant) && !is_dns_domain(tenant) => errors.fail(
                "tenantId",
                tenant,
                "a GUID or a DNS domain such as contoso.onmicrosoft.com",
            ),
            _ => {}
        }
        let cloud = self.cloud.to_ascii_lowercase();
        if !CLOUDS.iter().any(|(name, _)| *name == cloud) {
            errors.fail(
                "cloud",
                &self.cloud,
                "one of AzurePublicCloud (alias AzureCloud), AzureChinaCloud, \
                 AzureUSGovernmentCloud (alias AzureUSGovernment), AzureGermanCloud",
            );
        }
        if let Some(host) = self.authority_host.as_deref().filter(|h| !is_https_url(h)) {
            errors.fail("authorityHost", host, "an https:// URL");
        }
        errors.non_empty("audience", &self.audience, "a non-empty audience");
    }

    /// `identityBinding.*` but its CA and review attributes.
    fn check_identity_binding(&self, errors: &mut Errors) {
        let binding = &self.identity_binding;
        let key = self.identity_binding_annotation();
        if binding.annotation_suffix.is_empty() || !is_qualified_name(&key) {
            errors.fail(
                "identityBinding.annotationSuffix",
                &binding.annotation_suffix,
                "a suffix that makes azure.workload.identity/use-<suffix> a valid annotation key \
                 (alphanumerics, '-', '_', '.', ending in an alphanumeric, at most 59 characters)",
            );
        }
        let audience = "identityBinding.audience";
        if errors.non_empty(audience, &binding.audience, "a non-empty audience")
            && binding.audience.eq_ignore_ascii_case(&self.audience)
        {
            errors.fail(
                audience,
                &binding.audience,
                "an audience different from `audience` (identity-binding tokens must not be \
                 usable for direct federation)",
            );
        }
        if let Some(url) = binding
            .token_proxy
            .as_deref()
            .filter(|u| !is_token_proxy_url(u))
        {
            errors.fail(
                "identityBinding.tokenProxy",
                url,
                "an https:// URL with a host and no user info, query or fragment",
            );
        }
        if let Some(sni) = binding.sni_name.as_deref().filter(|s| !is_host_name(s)) {
            errors.fail("identityBinding.sniName", sni, "a host name (RFC 1123)");
        }
    }

    /// `allowedClientIds`: namespace names (or `*`) to GUIDs (or `*`).
    fn check_allowed_client_ids(&self, errors: &mut Errors) {
        for (namespace, ids) in &self.allowed_client_ids {
            if namespace != "*" && !is_dns_label(namespace) {
                errors.fail(
                    "allowedClientIds",
                    namespace,
                    "\"*\" or a namespace name as key",
                );
            }
            for id in ids.iter().filter(|id| *id != "*" && !is_guid(id)) {
                errors.fail(
                    &format!("allowedClientIds.{namespace}"),
                    id,
                    "client IDs as GUIDs (or \"*\")",
                );
            }
        }
    }
}

/// `proxy.*`.
fn check_proxy(proxy: &ProxySettings, errors: &mut Errors) {
    let image = "a non-empty image reference";
    errors.non_empty("proxy.image", &proxy.image, image);
    errors.non_empty("proxy.initImage", &proxy.init_image, image);
    for ns in proxy
        .allowed_namespaces
        .iter()
        .filter(|ns| *ns != "*" && !is_dns_label(ns))
    {
        errors.fail("proxy.allowedNamespaces", ns, "\"*\" or a namespace name");
    }
}

/// `identityBinding.caData`, `.caConfigMap`, `.caClusterTrustBundle`: at most one, each valid.
fn check_ca(binding: &IdentityBindingSettings, errors: &mut Errors) {
    let ca_fields: Vec<&str> = [
        binding.ca_data.as_ref().map(|_| "identityBinding.caData"),
        binding
            .ca_config_map
            .as_ref()
            .map(|_| "identityBinding.caConfigMap"),
        binding
            .ca_cluster_trust_bundle
            .as_ref()
            .map(|_| "identityBinding.caClusterTrustBundle"),
    ]
    .into_iter()
    .flatten()
    .collect();
    if ca_fields.len() > 1 {
        errors.push(format!(
            "{}: at most one CA source may be set, found {}",
            ca_fields.join(", "),
            ca_fields.len()
        ));
    }
    if let Some(data) = binding
        .ca_data
        .as_deref()
        .filter(|d| !d.contains("-----BEGIN CERTIFICATE-----"))
    {
        errors.fail("identityBinding.caData", data, "a PEM certificate bundle");
    }
    if let Some(name) = binding
        .ca_config_map
        .as_deref()
        .filter(|n| !is_dns_subdomain(n))
    {
        errors.fail("identityBinding.caConfigMap", name, "a ConfigMap name");
    }
    if let Some(bundle) = &binding.ca_cluster_trust_bundle {
        match bundle.signer_name.as_deref() {
            None => errors.push(
                "identityBinding.caClusterTrustBundle.signerName: required when \
                 caClusterTrustBundle (or its labelSelector) is set"
                    .to_owned(),
            ),
            Some(signer) if !is_qualified_signer(signer) => errors.fail(
                "identityBinding.caClusterTrustBundle.signerName",
                signer,
                "a signer name of the form <domain>/<path>, e.g. example.com/agent",
            ),
            Some(_) => {}
        }
    }
}

/// `identityBinding.verb` and `.apiGroup`: the RBAC attributes of the review.
fn check_review(binding: &IdentityBindingSettings, errors: &mut Errors) {
    errors.non_empty(
        "identityBinding.verb",
        &binding.verb,
        "a non-empty RBAC verb",
    );
    errors.non_empty(
        "identityBinding.apiGroup",
        &binding.api_group,
        "a non-empty API group",
    );
}

/// The violations found so far, in the order of the settings' fields.
#[derive(Default)]
struct Errors(Vec<String>);

impl Errors {
    fn push(&mut self, message: String) {
        self.0.push(message);
    }

    /// `field` has `value`, which is not one of `accepted`.
    fn fail(&mut self, field: &str, value: &str, accepted: &str) {
        self.push(format!(
            "{field}: {} is not valid; expected {accepted}",
            quote(value)
        ));
    }

    /// `true` when `value` is not blank; a violation otherwise.
    fn non_empty(&mut self, field: &str, value: &str, accepted: &str) -> bool {
        let ok = !value.trim().is_empty();
        if !ok {
            self.fail(field, value, accepted);
        }
        ok
    }

    fn into_result(self) -> Result<(), String> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(self.0.join("; "))
        }
    }
}

/// ClusterTrustBundle signer names are `<domain>/<path>`.
fn is_qualified_signer(value: &str) -> bool {
    value
        .split_once('/')
        .is_some_and(|(domain, path)| is_dns_subdomain(domain) && !path.is_empty())
}
