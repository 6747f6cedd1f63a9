//! One function per mount-time rule of the Key Vault provider (reference §6, §12), as provider
//! v1.8.2 applies them in `GetSecretsStoreObjectContent` (`pkg/provider/provider.go`) to
//! parameters read by `pkg/provider/types/parameters.go`: every value trimmed first.

use std::collections::BTreeMap;

use crate::error::Denial;

pub(super) const KEYVAULT_NAME: &str = "keyvaultName";
pub(super) const TENANT_ID: &str = "tenantID";
pub(super) const TENANT_ID_DEPRECATED: &str = "tenantId";
pub(super) const CLOUD_NAME: &str = "cloudName";
pub(super) const CLOUD_ENV_FILE_NAME: &str = "cloudEnvFileName";
pub(super) const CLIENT_ID: &str = "clientID";
pub(super) const USER_ASSIGNED_IDENTITY_ID: &str = "userAssignedIdentityID";
pub(super) const OBJECTS: &str = "objects";
pub(super) const USE_POD_IDENTITY: &str = "usePodIdentity";
pub(super) const USE_VM_MANAGED_IDENTITY: &str = "useVMManagedIdentity";
pub(super) const USE_AZURE_TOKEN_PROXY: &str = "useAzureTokenProxy";

/// The cloud names go-autorest v0.11.30's `EnvironmentFromName` knows (`environments.go`), as
/// it spells them; `AzureStackCloud` reads its endpoints from a file.
pub(super) const CLOUD_NAMES: &[&str] = &[
    "AzurePublicCloud",
    "AzureCloud",
    "AzureChinaCloud",
    "AzureUSGovernmentCloud",
    "AzureUSGovernment",
    "AzureGermanCloud",
    AZURE_STACK_CLOUD,
];
const AZURE_STACK_CLOUD: &str = "AzureStackCloud";

/// The parameter `key` as the provider reads it: Go's `strings.TrimSpace` (all Unicode white
/// space, as `str::trim`); absent is empty.
pub(super) fn value<'p>(parameters: &'p BTreeMap<String, String>, key: &str) -> &'p str {
    parameters.get(key).map_or("", |v| v.trim())
}

/// The provider's own words for a missing required value (provider.go:215-220, 253-255).
pub(super) fn missing(key: &str) -> &'static str {
    match key {
        KEYVAULT_NAME => "keyvaultName is not provided",
        OBJECTS => "objects is not set",
        _ => "tenantId is not provided",
    }
}

/// The three identity flags.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Flags {
    pub pod_identity: bool,
    pub vm_identity: bool,
    pub token_proxy: bool,
}

/// The flags, read in the provider's order (provider.go:179-190): empty is off, anything else
/// must be a Go `strconv.ParseBool` value.
pub(super) fn flags(class: &str, parameters: &BTreeMap<String, String>) -> Result<Flags, Denial> {
    let flag = |key: &'static str| {
        let value = value(parameters, key);
        parse_go_bool(value).ok_or_else(|| Denial::KeyVaultFlag {
            class: class.to_owned(),
            key,
            value: value.to_owned(),
        })
    };
    Ok(Flags {
        pod_identity: flag(USE_POD_IDENTITY)?,
        vm_identity: flag(USE_VM_MANAGED_IDENTITY)?,
        token_proxy: flag(USE_AZURE_TOKEN_PROXY)?,
    })
}

/// At most one identity mode (provider.go:192-209).
pub(super) fn one_mode(class: &str, flags: Flags) -> Result<(), Denial> {
    let on = [flags.pod_identity, flags.vm_identity, flags.token_proxy];
    match on.iter().filter(|on| **on).count() {
        0 | 1 => Ok(()),
        _ => Err(Denial::KeyVaultModes {
            class: class.to_owned(),
        }),
    }
}

/// Where the tenant comes from: `tenantID`, else the deprecated `tenantId`
/// (parameters.go:48-56).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tenant {
    Id,
    DeprecatedId,
    Missing,
}

pub(super) fn tenant(parameters: &BTreeMap<String, String>) -> Tenant {
    match (
        value(parameters, TENANT_ID).is_empty(),
        value(parameters, TENANT_ID_DEPRECATED).is_empty(),
    ) {
        (false, _) => Tenant::Id,
        (true, false) => Tenant::DeprecatedId,
        (true, true) => Tenant::Missing,
    }
}

/// `cloudName` (provider.go:81-87, 226-229): empty, or a name `EnvironmentFromName` knows.
/// `Ok(true)`: `AzureStackCloud` with no `cloudEnvFileName`, whose endpoints then come from
/// whatever file the provider's process was last pointed at.
pub(super) fn cloud_name(
    class: &str,
    parameters: &BTreeMap<String, String>,
) -> Result<bool, Denial> {
    let name = value(parameters, CLOUD_NAME);
    if name.is_empty() {
        return Ok(false);
    }
    // go-autorest compares AzureStackCloud with strings.EqualFold, the others by
    // strings.ToUpper: both one character at a time, with Unicode's simple case mappings.
    if go_equal_fold(name, AZURE_STACK_CLOUD) {
        return Ok(value(parameters, CLOUD_ENV_FILE_NAME).is_empty());
    }
    let upper = go_to_upper(name);
    match CLOUD_NAMES
        .iter()
        .any(|known| known.to_ascii_uppercase() == upper)
    {
        true => Ok(false),
        false => Err(Denial::KeyVaultCloudName {
            class: class.to_owned(),
            value: name.to_owned(),
        }),
    }
}

/// `useAzureTokenProxy` needs a `clientID` (provider.go:127-131, in `buildAuthConfig`).
pub(super) fn token_proxy_client_id(
    class: &str,
    flags: Flags,
    parameters: &BTreeMap<String, String>,
) -> Result<(), Denial> {
    match flags.token_proxy && value(parameters, CLIENT_ID).is_empty() {
        true => Err(Denial::KeyVaultClientId {
            class: class.to_owned(),
        }),
        false => Ok(()),
    }
}

/// The vault name's format (provider.go:99-108, `getVaultURL`): 3 to 24 bytes of
/// `[-A-Za-z0-9]`.
pub(super) fn vault_name(class: &str, name: &str) -> Result<(), Denial> {
    let valid = (3..=24).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    match valid {
        true => Ok(()),
        false => Err(Denial::KeyVaultName {
            class: class.to_owned(),
            value: name.to_owned(),
        }),
    }
}

/// Go's `strconv.ParseBool`; empty is off, as the provider treats an absent parameter.
fn parse_go_bool(value: &str) -> Option<bool> {
    match value {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "" | "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// Go's `unicode.ToUpper` on one character: the simple mapping, never a longer string.
fn go_upper(c: char) -> char {
    let mut upper = c.to_uppercase();
    match (upper.next(), upper.next()) {
        (Some(u), None) => u,
        _ => c,
    }
}

fn go_lower(c: char) -> char {
    let mut lower = c.to_lowercase();
    match (lower.next(), lower.next()) {
        (Some(l), None) => l,
        _ => c,
    }
}

/// Go's `strings.ToUpper`.
fn go_to_upper(value: &str) -> String {
    value.chars().map(go_upper).collect()
}

/// Go's `strings.EqualFold`, close enough for ASCII targets: characters equal under their
/// simple upper or lower case mapping (`K` matches the Kelvin sign, `S` the long s).
fn go_equal_fold(value: &str, target: &str) -> bool {
    value.chars().count() == target.chars().count()
        && value
            .chars()
            .zip(target.chars())
            .all(|(a, b)| a == b || go_upper(a) == go_upper(b) || go_lower(a) == go_lower(b))
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
    #[case::empty_is_public("", true)]
    #[case::exact("AzureChinaCloud", true)]
    #[case::any_ascii_case("azureusgovernment", true)]
    #[case::deprecated_alias("AZUREUSGOVERNMENTCLOUD", true)]
    #[case::german("AzureGermanCloud", true)]
    #[case::dotless_i_uppercases_to_i("AzurePublıcCloud", true)]
    #[case::stack("azurestackcloud", true)]
    #[case::stack_with_kelvin_sign("AzureStac\u{212A}Cloud", true)]
    #[case::unknown("AzurePublic", false)]
    #[case::stack_ligature_is_no_simple_mapping("Azure\u{FB06}ackCloud", false)]
    fn reference_12_cloud_names_as_go_autorest_knows_them(#[case] name: &str, #[case] ok: bool) {
        let parameters = params(&[(CLOUD_NAME, name), (CLOUD_ENV_FILE_NAME, "/e.json")]);
        assert_eq!(cloud_name("ns/kv", &parameters).is_ok(), ok, "{name}");
    }

    #[rstest]
    #[case::three("abc", true)]
    #[case::twenty_four("a23456789012345678901234", true)]
    #[case::dashes("-a-", true)]
    #[case::two("ab", false)]
    #[case::twenty_five("a234567890123456789012345", false)]
    #[case::underscore("team_kv", false)]
    #[case::dot("team.kv", false)]
    #[case::non_ascii("kvé", false)]
    fn reference_12_vault_name_format(#[case] name: &str, #[case] ok: bool) {
        assert_eq!(vault_name("ns/kv", name).is_ok(), ok, "{name}");
    }

    #[test]
    fn reference_12_the_cloud_name_denial_lists_every_known_name() {
        let parameters = params(&[(CLOUD_NAME, "Mars")]);
        let message = cloud_name("ns/kv", &parameters)
            .err()
            .map(|d| d.to_string())
            .unwrap_or_default();
        assert!(message.contains("cloudName \"Mars\""), "{message}");
        assert!(CLOUD_NAMES.iter().all(|n| message.contains(n)), "{message}");
    }

    #[test]
    fn reference_12_flags_are_read_in_the_providers_order() {
        let parameters = params(&[(USE_AZURE_TOKEN_PROXY, "x"), (USE_POD_IDENTITY, "y")]);
        let denial = flags("ns/kv", &parameters).err();
        assert!(
            matches!(
                denial,
                Some(Denial::KeyVaultFlag {
                    key: USE_POD_IDENTITY,
                    ..
                })
            ),
            "{denial:?}"
        );
    }

    #[test]
    fn reference_12_values_are_trimmed_of_unicode_white_space() {
        let parameters = params(&[(KEYVAULT_NAME, "\u{a0}\u{2003} kv1 \n")]);
        assert_eq!(value(&parameters, KEYVAULT_NAME), "kv1");
    }
}
