//! The rules of SPEC §3 that serde cannot express.

use super::{CLOUDS, Settings};
use crate::format::{
    is_dns_domain, is_dns_label, is_dns_subdomain, is_guid, is_https_url, is_qualified_name, quote,
};

impl Settings {
    /// Every rule of SPEC §3 that serde cannot express; all violations, joined by `; `.
    pub fn check(&self) -> Result<(), String> {
        fn fail(errors: &mut Vec<String>, field: &str, value: &str, accepted: &str) {
            errors.push(format!(
                "{field}: {} is not valid; expected {accepted}",
                quote(value)
            ));
        }
        let mut errors = Vec::new();

        match self.tenant_id.as_deref() {
            None if self.mutate => errors.push(
                "tenantId: required when mutate is true (the tenant injected as AZURE_TENANT_ID \
                 into pods whose ServiceAccount has no azure.workload.identity/tenant-id \
                 annotation); set it, or set mutate: false for validate-only mode"
                    .to_owned(),
            ),
            Some(tenant) if !is_guid(tenant) && !is_dns_domain(tenant) => fail(
                &mut errors,
                "tenantId",
                tenant,
                "a GUID or a DNS domain such as contoso.onmicrosoft.com",
            ),
            _ => {}
        }
        let cloud = self.cloud.to_ascii_lowercase();
        if !CLOUDS.iter().any(|(name, _)| *name == cloud) {
            fail(
                &mut errors,
                "cloud",
                &self.cloud,
                "one of AzurePublicCloud (alias AzureCloud), AzureChinaCloud, \
                 AzureUSGovernmentCloud (alias AzureUSGovernment), AzureGermanCloud",
            );
        }
        if let Some(host) = self.authority_host.as_deref().filter(|h| !is_https_url(h)) {
            fail(&mut errors, "authorityHost", host, "an https:// URL");
        }
        if self.audience.trim().is_empty() {
            fail(
                &mut errors,
                "audience",
                &self.audience,
                "a non-empty audience",
            );
        }

        let proxy = &self.proxy;
        if proxy.image.trim().is_empty() {
            fail(
                &mut errors,
                "proxy.image",
                &proxy.image,
                "a non-empty image reference",
            );
        }
        if proxy.init_image.trim().is_empty() {
            fail(
                &mut errors,
                "proxy.initImage",
                &proxy.init_image,
                "a non-empty image reference",
            );
        }
        for ns in proxy
            .allowed_namespaces
            .iter()
            .filter(|ns| *ns != "*" && !is_dns_label(ns))
        {
            fail(
                &mut errors,
                "proxy.allowedNamespaces",
                ns,
                "\"*\" or a namespace name",
            );
        }

        let binding = &self.identity_binding;
        let key = self.identity_binding_annotation();
        if binding.annotation_suffix.is_empty() || !is_qualified_name(&key) {
            fail(
                &mut errors,
                "identityBinding.annotationSuffix",
                &binding.annotation_suffix,
                "a suffix that makes azure.workload.identity/use-<suffix> a valid annotation key \
                 (alphanumerics, '-', '_', '.', ending in an alphanumeric, at most 59 characters)",
            );
        }
        if binding.audience.trim().is_empty() {
            fail(
                &mut errors,
                "identityBinding.audience",
                &binding.audience,
                "a non-empty audience",
            );
        } else if binding.audience.eq_ignore_ascii_case(&self.audience) {
            fail(
                &mut errors,
                "identityBinding.audience",
                &binding.audience,
                "an audience different from `audience` (identity-binding tokens must not be \
                 usable for direct federation)",
            );
        }
        if let Some(proxy_url) = binding.token_proxy.as_deref().filter(|u| !is_https_url(u)) {
            fail(
                &mut errors,
                "identityBinding.tokenProxy",
                proxy_url,
                "an https:// URL",
            );
        }
        if let Some(sni) = binding.sni_name.as_deref().filter(|s| !is_dns_domain(s)) {
            fail(&mut errors, "identityBinding.sniName", sni, "a DNS name");
        }
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
            fail(
                &mut errors,
                "identityBinding.caData",
                data,
                "a PEM certificate bundle",
            );
        }
        if let Some(name) = binding
            .ca_config_map
            .as_deref()
            .filter(|n| !is_dns_subdomain(n))
        {
            fail(
                &mut errors,
                "identityBinding.caConfigMap",
                name,
                "a ConfigMap name",
            );
        }
        if let Some(bundle) = &binding.ca_cluster_trust_bundle {
            match bundle.signer_name.as_deref() {
                None => errors.push(
                    "identityBinding.caClusterTrustBundle.signerName: required when \
                     caClusterTrustBundle (or its labelSelector) is set"
                        .to_owned(),
                ),
                Some(signer) if !is_qualified_signer(signer) => fail(
                    &mut errors,
                    "identityBinding.caClusterTrustBundle.signerName",
                    signer,
                    "a signer name of the form <domain>/<path>, e.g. example.com/agent",
                ),
                Some(_) => {}
            }
        }
        if binding.verb.trim().is_empty() {
            fail(
                &mut errors,
                "identityBinding.verb",
                &binding.verb,
                "a non-empty RBAC verb",
            );
        }
        if binding.api_group.trim().is_empty() {
            fail(
                &mut errors,
                "identityBinding.apiGroup",
                &binding.api_group,
                "a non-empty API group",
            );
        }

        for (namespace, ids) in &self.allowed_client_ids {
            if namespace != "*" && !is_dns_label(namespace) {
                fail(
                    &mut errors,
                    "allowedClientIds",
                    namespace,
                    "\"*\" or a namespace name as key",
                );
            }
            for id in ids.iter().filter(|id| *id != "*" && !is_guid(id)) {
                fail(
                    &mut errors,
                    &format!("allowedClientIds.{namespace}"),
                    id,
                    "client IDs as GUIDs (or \"*\")",
                );
            }
        }

        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("; "))
        }
    }
}

/// ClusterTrustBundle signer names are `<domain>/<path>`.
fn is_qualified_signer(value: &str) -> bool {
    value
        .split_once('/')
        .is_some_and(|(domain, path)| is_dns_subdomain(domain) && !path.is_empty())
}
