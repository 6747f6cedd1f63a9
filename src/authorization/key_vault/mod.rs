//! The Key Vault CSI provider's own rules for a SecretProviderClass's `parameters` (reference §6,
//! §12; provider v1.8.2 `GetSecretsStoreObjectContent` and `buildAuthConfig`): what it would
//! refuse at mount time, refused here at admission, and the client IDs it would use. Written
//! once, read by pods (the parameters a volume mounts with) and by the class's own writes.

use std::collections::BTreeMap;

use crate::error::Denial;

mod rules;

pub use rules::Tenant;
use rules::{
    CLIENT_ID, CLOUD_ENV_FILE_NAME, CLOUD_NAME, KEYVAULT_NAME, OBJECTS, TENANT_ID,
    TENANT_ID_DEPRECATED, USE_AZURE_TOKEN_PROXY, USE_POD_IDENTITY, USE_VM_MANAGED_IDENTITY,
    USER_ASSIGNED_IDENTITY_ID, value,
};

/// The keys the provider reads, exactly as it spells them (it reads them case-sensitively).
const KNOWN: &[&str] = &[
    CLIENT_ID,
    KEYVAULT_NAME,
    TENANT_ID,
    TENANT_ID_DEPRECATED,
    USE_POD_IDENTITY,
    USE_VM_MANAGED_IDENTITY,
    USE_AZURE_TOKEN_PROXY,
    USER_ASSIGNED_IDENTITY_ID,
    CLOUD_NAME,
    CLOUD_ENV_FILE_NAME,
    OBJECTS,
];

/// Whether a class of `provider` is the Key Vault provider's, the only classes judged
/// (reference §6, §12): the CSI driver finds a provider by its exact name.
pub fn is_key_vault(provider: &str) -> bool {
    provider == "azure"
}

/// Whether the policy judges parameter `key` (the provider reads it): a volume attribute that
/// overrides it is named (reference §6).
pub fn is_judged(key: &str) -> bool {
    KNOWN.contains(&key)
}

/// The identity an azure SecretProviderClass mounts with.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Identity {
    /// `clientID`, trimmed, when set.
    pub client_id: Option<String>,
    /// `useAzureTokenProxy` on: the identity-binding review applies to `client_id`.
    pub token_proxy: bool,
    /// `usePodIdentity` on: AAD Pod Identity's NMI picks the identity, no client ID is used.
    pub pod_identity: bool,
    /// `useVMManagedIdentity` on, with `userAssignedIdentityID` (trimmed; `None`: the node's
    /// system-assigned identity).
    pub vm_identity: Option<Option<String>>,
}

impl Identity {
    /// The client IDs the class makes pods use, with the parameter each comes from (reference
    /// §12): `clientID` for workload identity or the token proxy, `userAssignedIdentityID` with
    /// the VM's identity, none with AAD Pod Identity.
    pub fn client_ids(&self) -> Vec<(&'static str, &str)> {
        let mut ids = Vec::new();
        if let Some(Some(id)) = &self.vm_identity {
            ids.push((USER_ASSIGNED_IDENTITY_ID, id.as_str()));
        } else if !self.pod_identity
            && let Some(id) = &self.client_id
        {
            ids.push((CLIENT_ID, id.as_str()));
        }
        ids
    }
}

/// Which identity the provider mounts with: the mode and the client IDs it uses.
#[derive(Debug, PartialEq, Eq)]
pub struct Used<'i> {
    modes: [bool; 3],
    client_ids: Vec<(&'static str, &'i str)>,
}

impl Identity {
    pub fn used(&self) -> Used<'_> {
        Used {
            modes: [
                self.pod_identity,
                self.vm_identity.is_some(),
                self.token_proxy,
            ],
            client_ids: self.client_ids(),
        }
    }
}

/// The identity `parameters` mount with, when the provider can read their flags; nothing
/// else is checked (an UPDATE compares it with the class as it was, reference §12).
pub fn identity(parameters: &BTreeMap<String, String>) -> Option<Identity> {
    let flags = rules::flags("", parameters).ok()?;
    let trimmed = |key: &str| Some(value(parameters, key).to_owned()).filter(|v| !v.is_empty());
    Some(Identity {
        client_id: trimmed(CLIENT_ID),
        token_proxy: flags.token_proxy,
        pod_identity: flags.pod_identity,
        vm_identity: flags
            .vm_identity
            .then(|| trimmed(USER_ASSIGNED_IDENTITY_ID)),
    })
}

/// A parameter key the provider would ignore, and the key it reads.
pub type Misspelled<'p> = (&'p str, &'static str);

/// Who reads the parameters, and so what a missing value a pod may supply means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reader {
    /// The parameters a pod's volume mounts with: every required value must be there.
    Mount,
    /// The class's own CREATE/UPDATE: a pod may still supply `keyvaultName`, the tenant and
    /// `objects` in its volumeAttributes, so their absence is reported, not refused.
    ClassWrite,
}

/// What [`judge`] found besides a denial.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Reading<'p> {
    pub identity: Identity,
    pub misspelled: Vec<Misspelled<'p>>,
    /// Required keys a pod must supply ([`Reader::ClassWrite`] only), in the provider's order.
    pub missing: Vec<&'static str>,
    pub tenant: Option<Tenant>,
    /// `cloudName: AzureStackCloud` with no `cloudEnvFileName`.
    pub stack_without_env_file: bool,
}

/// `parameters` of SecretProviderClass `class` (`ns/name`, as messages name it) read as the
/// provider reads them, every rule in the provider's order; `Err` is the first it would fail
/// the mount with.
pub fn judge<'p>(
    class: &str,
    parameters: &'p BTreeMap<String, String>,
    reader: Reader,
) -> Result<Reading<'p>, Denial> {
    let flags = rules::flags(class, parameters)?;
    rules::one_mode(class, flags)?;
    let mut missing = Vec::new();
    let mut require = |key: &'static str, present: bool| match (present, reader) {
        (true, _) => Ok(()),
        (false, Reader::ClassWrite) => {
            missing.push(key);
            Ok(())
        }
        (false, Reader::Mount) => Err(Denial::KeyVaultMissing {
            class: class.to_owned(),
            key,
            says: rules::missing(key),
        }),
    };
    let vault = value(parameters, KEYVAULT_NAME);
    require(KEYVAULT_NAME, !vault.is_empty())?;
    let tenant = rules::tenant(parameters);
    require(TENANT_ID, tenant != Tenant::Missing)?;
    let stack_without_env_file = rules::cloud_name(class, parameters)?;
    rules::token_proxy_client_id(class, flags, parameters)?;
    require(OBJECTS, !value(parameters, OBJECTS).is_empty())?;
    if !vault.is_empty() {
        rules::vault_name(class, vault)?;
    }
    Ok(Reading {
        identity: identity(parameters).unwrap_or_default(),
        misspelled: misspelled(parameters),
        missing,
        tenant: Some(tenant),
        stack_without_env_file,
    })
}

/// `parameters` as a pod's volume mounts them ([`Reader::Mount`]): the identity, and
/// `(key, the key the provider reads)` for keys it would ignore; `Err` says why the provider
/// would fail the mount.
pub fn read<'p>(
    class: &str,
    parameters: &'p BTreeMap<String, String>,
) -> Result<(Identity, Vec<Misspelled<'p>>), Denial> {
    judge(class, parameters, Reader::Mount).map(|r| (r.identity, r.misspelled))
}

/// reference §6: keys equal to one the provider reads but for case.
pub fn misspelled(parameters: &BTreeMap<String, String>) -> Vec<Misspelled<'_>> {
    parameters
        .keys()
        .filter(|key| !KNOWN.contains(&key.as_str()))
        .filter_map(|key| {
            let exact = KNOWN.iter().find(|k| k.eq_ignore_ascii_case(key))?;
            Some((key.as_str(), *exact))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    /// `pairs` over the values every mount needs (reference §12).
    fn params(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        let base = [("keyvaultName", "kv1"), ("tenantID", "t"), ("objects", "o")];
        base.iter()
            .chain(pairs)
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[rstest]
    #[case::pod_identity_not_a_go_bool(&[("usePodIdentity", "yes")], "parameters.usePodIdentity \"yes\"")]
    #[case::vm_identity_not_a_go_bool(&[("useVMManagedIdentity", "on")], "parameters.useVMManagedIdentity \"on\"")]
    #[case::two_identity_modes(&[("usePodIdentity", "true"), ("useAzureTokenProxy", "True"), ("clientID", "c")], "only one identity mode can be enabled at a time")]
    #[case::vm_and_pod_identity(&[("usePodIdentity", "1"), ("useVMManagedIdentity", "t")], "only one identity mode")]
    #[case::token_proxy_without_client_id(&[("useAzureTokenProxy", "true"), ("clientID", "  ")], "clientID is required for identity binding")]
    fn spec_6_the_provider_would_fail_the_mount(
        #[case] pairs: &[(&str, &str)],
        #[case] fragment: &str,
    ) {
        let error = read("ns/kv", &params(pairs))
            .err()
            .map(|d| d.of("Pod ns/p").message())
            .unwrap_or_default();
        assert!(
            error.starts_with("Pod ns/p: SecretProviderClass ns/kv "),
            "{error}"
        );
        assert!(error.contains(fragment), "{error}");
    }

    #[rstest]
    #[case::one_mode(&[("useAzureTokenProxy", "true"), ("clientID", " c ")], Some("c"), true, None)]
    #[case::vm_user_assigned(&[("useVMManagedIdentity", "true"), ("userAssignedIdentityID", "u")], None, false, Some(Some("u")))]
    #[case::vm_system_assigned(&[("useVMManagedIdentity", "TRUE")], None, false, Some(None))]
    #[case::workload_identity(&[("clientID", "c")], Some("c"), false, None)]
    fn spec_6_the_identity_the_provider_mounts_with(
        #[case] pairs: &[(&str, &str)],
        #[case] client_id: Option<&str>,
        #[case] token_proxy: bool,
        #[case] vm: Option<Option<&str>>,
    ) {
        let parameters = params(pairs);
        let (identity, warnings) = read("kv", &parameters).unwrap_or_default();
        assert_eq!(identity.client_id.as_deref(), client_id);
        assert_eq!(identity.token_proxy, token_proxy);
        assert_eq!(identity.vm_identity.as_ref().map(|v| v.as_deref()), vm);
        assert!(warnings.is_empty(), "{warnings:?}");
    }

    #[rstest]
    #[case::client_id_in_camel_case("clientId", "clientID")]
    #[case::use_token_proxy_lower("useazuretokenproxy", "useAzureTokenProxy")]
    fn spec_6_a_key_the_provider_reads_in_another_case_warns(
        #[case] key: &str,
        #[case] exact: &str,
    ) {
        let parameters = params(&[(key, "x")]);
        let (_, warnings) = read("kv", &parameters).unwrap_or_default();
        assert_eq!(warnings, vec![(key, exact)]);
    }

    #[test]
    fn spec_6_both_tenant_spellings_are_the_providers_own() {
        let parameters = params(&[("tenantId", "t"), ("tenantID", "t")]);
        let (_, warnings) = read("kv", &parameters).unwrap_or_default();
        assert!(warnings.is_empty(), "{warnings:?}");
    }
}
