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

/// Longest message a rejection carries (reference §9).
pub const MAX_MESSAGE: usize = 2048;

/// Longest audit annotation value, exclusive (reference §9).
pub const MAX_AUDIT_VALUE: usize = 1024;

/// Items a list in a message shows before it counts the rest (reference §9).
pub const MAX_LISTED: usize = 10;

/// Host error text for a message: its first line only (a policy-server run with
/// `RUST_BACKTRACE=1` appends a stack backtrace to every host error), bounded.
pub fn host_text(text: &str) -> String {
    bounded(text.lines().next().unwrap_or_default())
}

/// `items`, comma-separated, each bounded, cut after [`MAX_LISTED`] with the count of the rest.
pub fn list<S: AsRef<str>>(items: &[S]) -> String {
    let shown: Vec<String> = items
        .iter()
        .take(MAX_LISTED)
        .map(|item| bounded(item.as_ref()))
        .collect();
    match items.len().saturating_sub(MAX_LISTED) {
        0 => shown.join(", "),
        rest => format!("{}, … (+{rest} more)", shown.join(", ")),
    }
}

/// `items` joined with `,` for an audit annotation: cut with `,…(+N)` so that the value stays
/// under [`MAX_AUDIT_VALUE`] characters.
pub fn audit_list<S: AsRef<str>>(items: &[S]) -> String {
    let mut value = String::new();
    for (index, item) in items.iter().enumerate() {
        let rest = items.len() - index;
        let separator = if index == 0 { "" } else { "," };
        // Room for this item and, should another not fit after it, the marker.
        let marker = format!(",…(+{rest})");
        let next = value.chars().count() + separator.len() + item.as_ref().chars().count();
        if next + marker.chars().count() >= MAX_AUDIT_VALUE && rest > 1 || next >= MAX_AUDIT_VALUE {
            value.push_str(&format!("{}…(+{rest})", if index == 0 { "" } else { "," }));
            return value;
        }
        value.push_str(separator);
        value.push_str(item.as_ref());
    }
    value
}

/// `text` cut to `max` characters, ending in `…` when cut.
pub fn truncate(text: String, max: usize) -> String {
    if text.chars().count() <= max {
        return text;
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
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

/// A host name as RFC 1123 defines it: one or more dot-separated labels of letters, digits and
/// hyphens, none starting or ending with a hyphen, each at most 63 and all at most 253
/// characters. A single label counts (reference §3: upstream's own e2e SNI name is one).
pub fn is_host_name(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 253
        && value.split('.').all(|label| {
            let bytes = label.as_bytes();
            !bytes.is_empty()
                && bytes.len() <= 63
                && bytes
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
                && bytes.first().is_some_and(u8::is_ascii_alphanumeric)
                && bytes.last().is_some_and(u8::is_ascii_alphanumeric)
        })
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
    #[case::upstream_e2e_single_label("2183187515ff64fc2fff014fd0e749f92578a466dc345b", true)]
    #[case::dotted("proxy.aks.Example.com", true)]
    #[case::space("not a name", false)]
    #[case::leading_hyphen("-proxy", false)]
    #[case::empty_label("proxy..com", false)]
    #[case::long_label(&"a".repeat(64), false)]
    fn reference_3_host_name(#[case] value: &str, #[case] expected: bool) {
        assert_eq!(is_host_name(value), expected);
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

    #[rstest]
    #[case::short(3, "a, b, c")]
    #[case::cut_after_ten(12, "a, b, c, d, e, f, g, h, i, j, … (+2 more)")]
    fn reference_9_lists_are_cut_after_ten(#[case] n: usize, #[case] expected: &str) {
        let items: Vec<String> = ('a'..='z').take(n).map(String::from).collect();
        assert_eq!(list(&items), expected);
    }

    #[test]
    fn reference_9_host_text_keeps_the_first_line() {
        let text = format!(
            "connection refused\nstack backtrace:\n{}",
            "0: x\n".repeat(500)
        );
        assert_eq!(host_text(&text), "connection refused");
        assert!(host_text(&"x".repeat(10_000)).chars().count() < 300);
    }

    #[rstest]
    #[case::few(3)]
    #[case::many(30_000)]
    fn reference_9_audit_values_stay_under_1024(#[case] n: usize) {
        let ids: Vec<String> = (0..n)
            .map(|i| format!("{i:08}-1111-2222-3333-444444444444"))
            .collect();
        let value = audit_list(&ids);
        assert!(value.chars().count() < MAX_AUDIT_VALUE, "{}", value.len());
        match n {
            3 => assert_eq!(value.split(',').count(), 3),
            _ => assert!(value.ends_with(&format!("…(+{})", n - value.split(',').count() + 1))),
        }
    }

    #[test]
    fn quote_truncates_long_values_to_256_characters() {
        let quoted = quote(&"é".repeat(1000));
        assert_eq!(quoted.chars().filter(|c| *c == 'é').count(), MAX_QUOTED);
        assert!(quoted.ends_with("(truncated)"));
        assert_eq!(quote("short"), "\"short\"");
    }
}
