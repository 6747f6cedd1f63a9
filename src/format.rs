//! Value formats shared by settings, pod and ServiceAccount checks, and the quoting of
//! user-supplied values in messages.

use crate::names;

/// Longest user value quoted in a message or warning (reference §9).
pub const MAX_QUOTED: usize = 256;

/// Quote a user-supplied value for a message, truncated to [`MAX_QUOTED`] characters.
pub fn quote(value: &str) -> String {
    let mut chars = value.chars();
    let head: String = chars.by_ref().take(MAX_QUOTED).collect();
    if chars.next().is_some() {
        format!("\"{head}…\" (truncated)")
    } else {
        format!("\"{head}\"")
    }
}

/// `value` as it is when it fits [`MAX_QUOTED`] characters, else quoted and truncated: for
/// values a message shows bare, such as a client ID or a review's reason (reference §9).
pub fn bounded(value: &str) -> String {
    match value.chars().count() <= MAX_QUOTED {
        true => value.to_owned(),
        false => quote(value),
    }
}

/// A GUID in its canonical 8-4-4-4-12 hexadecimal form, as Entra ID prints client and tenant IDs.
pub fn is_guid(value: &str) -> bool {
    let groups: Vec<&str> = value.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// An RFC 1123 DNS label: 1–63 lowercase alphanumerics or `-`, alphanumeric at both ends.
pub fn is_dns_label(value: &str) -> bool {
    let bytes = value.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && bytes.first().is_some_and(u8::is_ascii_alphanumeric)
        && bytes.last().is_some_and(u8::is_ascii_alphanumeric)
}

/// An RFC 1123 DNS subdomain (Kubernetes object names such as a ConfigMap's): dot-separated
/// labels, at most 253 characters.
pub fn is_dns_subdomain(value: &str) -> bool {
    !value.is_empty() && value.len() <= 253 && value.split('.').all(is_dns_label)
}

/// A DNS domain such as `contoso.onmicrosoft.com`: at least two labels, case-insensitive,
/// the last one not all digits (so an IP address is not a domain).
pub fn is_dns_domain(value: &str) -> bool {
    let lower = value.to_ascii_lowercase();
    let labels: Vec<&str> = lower.split('.').collect();
    labels.len() >= 2
        && is_dns_subdomain(&lower)
        && labels
            .last()
            .is_some_and(|tld| !tld.bytes().all(|b| b.is_ascii_digit()))
}

/// A Kubernetes qualified name (label and annotation keys): optional DNS-subdomain prefix and
/// `/`, then a 1–63 character name of alphanumerics, `-`, `_`, `.`, alphanumeric at both ends.
pub fn is_qualified_name(value: &str) -> bool {
    let (prefix, name) = match value.split_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, value),
    };
    let name_ok = !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric())
        && name
            .bytes()
            .last()
            .is_some_and(|b| b.is_ascii_alphanumeric());
    name_ok && prefix.is_none_or(is_dns_subdomain)
}

/// An `https://` URL with a non-empty host.
pub fn is_https_url(value: &str) -> bool {
    value
        .strip_prefix("https://")
        .and_then(|rest| rest.split(['/', '?', '#']).next())
        .is_some_and(|host| !host.is_empty() && !host.contains(char::is_whitespace))
}

/// An `https://` URL with a host and nothing the Azure SDKs refuse in a token proxy URL: no
/// user info, no query, no fragment (reference §3, `identityBinding.tokenProxy`).
pub fn is_token_proxy_url(value: &str) -> bool {
    let authority = value
        .strip_prefix("https://")
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_default();
    is_https_url(value)
        && !authority.contains('@')
        && !authority.starts_with(':')
        && !value.contains(['?', '#'])
}

/// An integer number of seconds in 3600..=86400; the error says what is accepted.
pub fn parse_expiration(value: &str) -> Result<i64, String> {
    let range = format!(
        "expected an integer number of seconds from {} to {}",
        names::MIN_TOKEN_EXPIRATION,
        names::MAX_TOKEN_EXPIRATION
    );
    match value.parse::<i64>() {
        Ok(n) if (names::MIN_TOKEN_EXPIRATION..=names::MAX_TOKEN_EXPIRATION).contains(&n) => Ok(n),
        _ => Err(range),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case::lowercase("00000000-1111-2222-3333-444444444444", true)]
    #[case::uppercase("ABCDEF00-1111-2222-3333-444444444444", true)]
    #[case::braces("{00000000-1111-2222-3333-444444444444}", false)]
    #[case::short("0000000-1111-2222-3333-444444444444", false)]
    #[case::non_hex("g0000000-1111-2222-3333-444444444444", false)]
    #[case::empty("", false)]
    fn guid(#[case] value: &str, #[case] expected: bool) {
        assert_eq!(is_guid(value), expected);
    }

    #[rstest]
    #[case::tenant_domain("contoso.onmicrosoft.com", true)]
    #[case::uppercase("Contoso.OnMicrosoft.com", true)]
    #[case::single_label("contoso", false)]
    #[case::ip("10.0.0.1", false)]
    #[case::underscore("con_toso.com", false)]
    #[case::empty_label("contoso..com", false)]
    fn dns_domain(#[case] value: &str, #[case] expected: bool) {
        assert_eq!(is_dns_domain(value), expected);
    }

    #[rstest]
    #[case::plain("azure.workload.identity/use-identity-binding", true)]
    #[case::no_prefix("use", true)]
    #[case::trailing_dash("azure.workload.identity/use-", false)]
    #[case::space("azure.workload.identity/use x", false)]
    #[case::too_long(&format!("azure.workload.identity/{}", "a".repeat(64)), false)]
    fn qualified_name(#[case] value: &str, #[case] expected: bool) {
        assert_eq!(is_qualified_name(value), expected);
    }

    #[rstest]
    #[case::https("https://login.example.com/", true)]
    #[case::http("http://login.example.com/", false)]
    #[case::no_host("https:///path", false)]
    fn https_url(#[case] value: &str, #[case] expected: bool) {
        assert_eq!(is_https_url(value), expected);
    }

    #[test]
    fn quote_truncates_long_values_to_256_characters() {
        let quoted = quote(&"é".repeat(1000));
        assert_eq!(quoted.chars().filter(|c| *c == 'é').count(), MAX_QUOTED);
        assert!(quoted.ends_with("(truncated)"));
        assert_eq!(quote("short"), "\"short\"");
    }
}
