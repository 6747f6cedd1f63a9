//! The Key Vault CSI provider's own rules for a SecretProviderClass's `parameters` (reference §6;
//! provider v1.8.2 `GetSecretsStoreObjectContent` and `buildAuthConfig`): what it would refuse
//! at mount time, refused here at admission, and the client IDs it would use.

use std::collections::BTreeMap;

use crate::error::Denial;

/// The keys the provider reads, exactly as it spells them (it reads them case-sensitively).
const KNOWN: &[&str] = &[
    "clientID",
    "keyvaultName",
    "tenantID",
    "tenantId",
    "usePodIdentity",
    "useVMManagedIdentity",
    "useAzureTokenProxy",
    "userAssignedIdentityID",
    "cloudName",
];

/// Whether the policy judges parameter `key` (the provider reads it).
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
    /// `useVMManagedIdentity` on, with `userAssignedIdentityID` (trimmed; `None`: the node's
    /// system-assigned identity).
    pub vm_identity: Option<Option<String>>,
}

/// A parameter key the provider would ignore, and the key it reads.
pub type Misspelled<'p> = (&'p str, &'static str);

/// `parameters` of SecretProviderClass `class` read as the provider reads them: the identity,
/// and `(key, the key the provider reads)` for keys it would ignore; `Err` says why the
/// provider would fail the mount (after `what`, the pod).
pub fn read<'p>(
    class: &str,
    parameters: &'p BTreeMap<String, String>,
) -> Result<(Identity, Vec<Misspelled<'p>>), Denial> {
    let flag = |key: &'static str| {
        let value = parameters.get(key).map_or("", |v| v.trim());
        parse_go_bool(value).ok_or_else(|| Denial::KeyVaultFlag {
            class: class.to_owned(),
            key,
            value: value.to_owned(),
        })
    };
    let token_proxy = flag("useAzureTokenProxy")?;
    let pod_identity = flag("usePodIdentity")?;
    let vm = flag("useVMManagedIdentity")?;
    if [token_proxy, pod_identity, vm]
        .iter()
        .filter(|on| **on)
        .count()
        > 1
    {
        let class = class.to_owned();
        return Err(Denial::KeyVaultModes { class });
    }
    let trimmed = |key: &str| {
        let value = parameters.get(key).map(|v| v.trim());
        value.filter(|v| !v.is_empty()).map(str::to_owned)
    };
    let client_id = trimmed("clientID");
    if token_proxy && client_id.is_none() {
        let class = class.to_owned();
        return Err(Denial::KeyVaultClientId { class });
    }
    let warnings = parameters
        .keys()
        .filter(|key| !KNOWN.contains(&key.as_str()))
        .filter_map(|key| {
            Some((
                key.as_str(),
                *KNOWN.iter().find(|k| k.eq_ignore_ascii_case(key))?,
            ))
        })
        .collect();
    let identity = Identity {
        client_id,
        token_proxy,
        vm_identity: vm.then(|| trimmed("userAssignedIdentityID")),
    };
    Ok((identity, warnings))
}

/// Go's `strconv.ParseBool`, which the provider reads its flags with (after trimming spaces);
/// empty is off, as the provider treats an absent parameter.
fn parse_go_bool(value: &str) -> Option<bool> {
    match value {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "" | "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn params(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
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
