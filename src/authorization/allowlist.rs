//! `allowedClientIds` (reference §6): where it governs, and which client IDs it allows. Both
//! facts are decided here, side by side, and read by every rule that needs them.

use crate::format::list;
use crate::settings::Settings;

/// Whether the allowlist governs: once it has any key, it governs every namespace, and a
/// namespace that is neither a key nor covered by `*` allows nothing (reference §6). Where it
/// governs, a client ID nobody can read at admission (`valueFrom`, `envFrom`) is refused.
pub fn governs(settings: &Settings) -> bool {
    !settings.allowed_client_ids.is_empty()
}

/// Whether `client_id` may be used in `namespace`: no allowlist allows everything; otherwise
/// the namespace's or `*`'s list must name it (`*` names every ID; GUIDs compared
/// case-insensitively), so a namespace that is no key allows nothing.
pub fn allows(settings: &Settings, namespace: &str, client_id: &str) -> bool {
    if !governs(settings) {
        return true;
    }
    [namespace, "*"].iter().any(|key| {
        settings.allowed_client_ids.get(*key).is_some_and(|ids| {
            ids.iter()
                .any(|id| id == "*" || id.eq_ignore_ascii_case(client_id))
        })
    })
}

/// The client IDs listed for `namespace` (its own and `*`'s), for messages.
pub fn listed(settings: &Settings, namespace: &str) -> String {
    let ids: Vec<&str> = [namespace, "*"]
        .iter()
        .filter_map(|ns| settings.allowed_client_ids.get(*ns))
        .flatten()
        .map(String::as_str)
        .collect();
    match ids.is_empty() {
        true => "none".to_owned(),
        false => list(&ids),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn settings() -> Settings {
        let json = br#"{"tenantId": "t.example.com", "allowedClientIds": {
            "team-a": ["00000000-1111-2222-3333-44444444444a"],
            "*": ["99999999-1111-2222-3333-444444444444"]}}"#;
        Settings::from_json(json).unwrap_or_else(|e| panic!("{e}"))
    }

    #[rstest]
    #[case::namespace_listed("team-a", "00000000-1111-2222-3333-44444444444a", true)]
    #[case::case_insensitive_id("team-a", "00000000-1111-2222-3333-44444444444A", true)]
    #[case::other_namespace("team-b", "00000000-1111-2222-3333-44444444444a", false)]
    #[case::wildcard_namespace("team-b", "99999999-1111-2222-3333-444444444444", true)]
    #[case::not_listed("team-a", "88888888-1111-2222-3333-444444444444", false)]
    fn reference_6_allows(#[case] namespace: &str, #[case] id: &str, #[case] expected: bool) {
        assert_eq!(allows(&settings(), namespace, id), expected);
    }

    #[test]
    fn reference_6_no_allowlist_allows_everything() {
        assert!(allows(&Settings::default(), "any", "anything"));
        assert!(!governs(&Settings::default()));
    }
}
