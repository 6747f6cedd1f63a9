//! reference §4a and the key-placement warnings of §4.11: misspelled `azure.workload.identity/`
//! keys ("did you mean …"), keys written on the wrong object, and a pod that carries Workload
//! Identity annotations but not the opt-in label.

use crate::format::quote;
use crate::names;

/// Which object the keys were found on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holder {
    /// A pod or a workload's pod template.
    Pod,
    ServiceAccount,
}

/// Keys read from a pod, and from a ServiceAccount.
const POD_KEYS: &[&str] = &[
    names::USE_LABEL,
    names::TOKEN_EXPIRATION,
    names::SKIP_CONTAINERS,
    names::INJECT_PROXY,
    names::PROXY_PORT,
];
const SA_KEYS: &[&str] = &[names::CLIENT_ID, names::TENANT_ID, names::TOKEN_EXPIRATION];

/// Warnings for the `azure.workload.identity/` keys among `labels` and `annotations`.
/// `binding_key` is the identity-binding annotation of the settings.
pub fn warnings<'k>(
    object: &str,
    holder: Holder,
    labels: impl Iterator<Item = &'k str>,
    annotations: impl Iterator<Item = &'k str>,
    binding_key: &str,
) -> Vec<String> {
    let (own, other, other_name): (&[&str], &[&str], &str) = match holder {
        Holder::Pod => (POD_KEYS, SA_KEYS, "ServiceAccount"),
        Holder::ServiceAccount => (SA_KEYS, POD_KEYS, "pod"),
    };
    let mut warnings = Vec::new();
    let keys = labels
        .map(|k| (k, true))
        .chain(annotations.map(|k| (k, false)));
    for (key, is_label) in keys.filter(|(k, _)| k.starts_with(names::PREFIX)) {
        let pod_binding = holder == Holder::Pod && key == binding_key;
        if own.contains(&key) || pod_binding {
            if holder == Holder::Pod && (key == names::USE_LABEL) != is_label {
                let should = if is_label { "an annotation" } else { "a label" };
                warnings.push(format!(
                    "{object}: {key} must be {should}, not a{}",
                    if is_label { " label" } else { "n annotation" }
                ));
            }
            continue;
        }
        if other.contains(&key) || (holder == Holder::ServiceAccount && key == binding_key) {
            let hint = if key == names::USE_LABEL {
                " (the label belongs on pods since v1.0)"
            } else {
                ""
            };
            warnings.push(format!(
                "{object}: move {key} to the {other_name}: it has no effect here{hint}"
            ));
            continue;
        }
        let closest = closest_key(key, own.iter().chain(other).copied().chain([binding_key]));
        warnings.push(format!(
            "{object}: unknown key {}: did you mean {closest}?",
            quote(key)
        ));
    }
    warnings
}

/// reference §4.11: a pod without the opt-in label that carries Workload Identity annotations, or
/// whose label value is not exactly `"true"`.
pub fn missing_label_warning<'k>(
    object: &str,
    label_value: Option<&str>,
    mut annotations: impl Iterator<Item = &'k str>,
    binding_key: &str,
) -> Option<String> {
    match label_value {
        Some("true") => None,
        Some(other) => Some(format!(
            "{object}: set label {} to exactly \"true\" (it is {}): nothing is injected until then",
            names::USE_LABEL,
            quote(other)
        )),
        None => {
            let meant = annotations.find(|k| POD_KEYS.contains(k) || *k == binding_key)?;
            Some(format!(
                "{object}: add label {}: \"true\" to the pod (not its ServiceAccount): without it \
                 {meant} has no effect",
                names::USE_LABEL
            ))
        }
    }
}

/// The known key nearest to `key` by edit distance, compared case-insensitively.
fn closest_key<'a>(key: &str, known: impl Iterator<Item = &'a str>) -> &'a str {
    let key = key.to_ascii_lowercase();
    known
        .min_by_key(|candidate| edit_distance(&key, &candidate.to_ascii_lowercase()))
        .unwrap_or(names::USE_LABEL)
}

/// Levenshtein distance over chars, in O(len(a) × len(b)) time and O(len(b)) space.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = i;
        let mut left = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let up = row.get(j + 1).copied().unwrap_or(usize::MAX);
            let next = if ca == *cb {
                diagonal
            } else {
                1 + diagonal.min(up).min(left)
            };
            diagonal = up;
            left = next;
            if let Some(slot) = row.get_mut(j + 1) {
                *slot = next;
            }
        }
    }
    row.last().copied().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    const BINDING: &str = "azure.workload.identity/use-identity-binding";

    #[rstest]
    #[case::underscore(
        "azure.workload.identity/client_id",
        Holder::ServiceAccount,
        "azure.workload.identity/client-id"
    )]
    #[case::camel_case(
        "azure.workload.identity/clientId",
        Holder::ServiceAccount,
        "azure.workload.identity/client-id"
    )]
    #[case::singular(
        "azure.workload.identity/skip-container",
        Holder::Pod,
        "azure.workload.identity/skip-containers"
    )]
    #[case::proxy(
        "azure.workload.identity/inject-proxy",
        Holder::Pod,
        "azure.workload.identity/inject-proxy-sidecar"
    )]
    #[case::expiry(
        "azure.workload.identity/service-account-token-expiry",
        Holder::Pod,
        "azure.workload.identity/service-account-token-expiration"
    )]
    #[case::tenant(
        "azure.workload.identity/tenantid",
        Holder::ServiceAccount,
        "azure.workload.identity/tenant-id"
    )]
    fn misspelled_keys_get_did_you_mean(
        #[case] key: &str,
        #[case] holder: Holder,
        #[case] suggestion: &str,
    ) {
        let w = warnings(
            "X ns/n",
            holder,
            std::iter::empty(),
            [key].into_iter(),
            BINDING,
        );
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(
            w[0].contains(&format!("did you mean {suggestion}?")),
            "{}",
            w[0]
        );
        assert!(w[0].contains(key));
    }

    #[test]
    fn known_keys_in_their_place_are_quiet() {
        let pod = warnings(
            "Pod",
            Holder::Pod,
            [names::USE_LABEL].into_iter(),
            [
                names::SKIP_CONTAINERS,
                names::INJECT_PROXY,
                names::PROXY_PORT,
                names::TOKEN_EXPIRATION,
                BINDING,
            ]
            .into_iter(),
            BINDING,
        );
        assert_eq!(pod, Vec::<String>::new());
        let sa = warnings(
            "SA",
            Holder::ServiceAccount,
            std::iter::empty(),
            [
                names::CLIENT_ID,
                names::TENANT_ID,
                names::TOKEN_EXPIRATION,
                "other.io/x",
            ]
            .into_iter(),
            BINDING,
        );
        assert_eq!(sa, Vec::<String>::new());
    }

    #[test]
    fn keys_on_the_wrong_object_are_named() {
        let pod = warnings(
            "Pod",
            Holder::Pod,
            std::iter::empty(),
            [names::CLIENT_ID].into_iter(),
            BINDING,
        );
        assert!(
            pod[0].contains("to the ServiceAccount: it has no effect here"),
            "{pod:?}"
        );
        let sa = warnings(
            "SA",
            Holder::ServiceAccount,
            [names::USE_LABEL].into_iter(),
            std::iter::empty(),
            BINDING,
        );
        assert!(sa[0].contains("belongs on pods"), "{sa:?}");
        let label = warnings(
            "Pod",
            Holder::Pod,
            std::iter::empty(),
            [names::USE_LABEL].into_iter(),
            BINDING,
        );
        assert!(label[0].contains("must be a label"), "{label:?}");
    }

    #[rstest]
    #[case::labelled(Some("true"), &[names::SKIP_CONTAINERS], false)]
    #[case::wrong_value(Some("True"), &[], true)]
    #[case::annotations_without_label(None, &[names::INJECT_PROXY], true)]
    #[case::binding_without_label(None, &[BINDING], true)]
    #[case::nothing(None, &["other.io/x"], false)]
    fn missing_label(
        #[case] label: Option<&str>,
        #[case] annotations: &[&str],
        #[case] warns: bool,
    ) {
        let w = missing_label_warning("Pod", label, annotations.iter().copied(), BINDING);
        assert_eq!(w.is_some(), warns, "{w:?}");
    }

    #[rstest]
    #[case("", "", 0)]
    #[case("abc", "abc", 0)]
    #[case("client_id", "client-id", 1)]
    #[case("kitten", "sitting", 3)]
    fn levenshtein(#[case] a: &str, #[case] b: &str, #[case] d: usize) {
        assert_eq!(edit_distance(a, b), d);
    }
}
