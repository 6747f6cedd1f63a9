//! SPEC §5 and §4a through the real wasm: ServiceAccount annotations at CREATE and UPDATE.

mod common;

use common::*;

#[test]
fn spec_5_service_account_create() {
    let ok = eval_clean(
        "serviceaccount/create-valid.json",
        "settings/default.json",
        Some("sessions/empty.yml"),
    );
    assert!(ok.allowed());
    assert_eq!(ok.patch(), None);
    for (request, needle) in [
        (
            "serviceaccount/create-bad-client-id.json",
            "\"my-app-registration\"; expected a GUID",
        ),
        (
            "serviceaccount/create-bad-tenant.json",
            "\"contoso\"; expected a GUID or a DNS domain",
        ),
        (
            "serviceaccount/create-bad-expiration.json",
            "\"90000\"; expected an integer number of seconds from 3600 to 86400",
        ),
    ] {
        let out = eval_clean(request, "settings/default.json", Some("sessions/empty.yml"));
        assert_eq!(out.status_code(), Some(400), "{request}");
        assert!(
            out.message().starts_with(
                "ServiceAccount team-a/workload-sa: annotation azure.workload.identity/"
            ),
            "{}",
            out.message()
        );
        assert!(out.message().contains(needle), "{}", out.message());
    }
}

#[test]
fn spec_5_update_judges_only_changed_values() {
    let unchanged = eval_clean(
        "serviceaccount/update-unchanged-bad.json",
        "settings/default.json",
        None,
    );
    assert!(unchanged.allowed(), "{}", unchanged.stdout);
    let changed = eval_clean(
        "serviceaccount/update-changed-bad.json",
        "settings/default.json",
        None,
    );
    assert_eq!(changed.status_code(), Some(400));
    assert!(
        changed.message().contains("\"my-other-app\""),
        "{}",
        changed.message()
    );
}

#[test]
fn spec_4a_service_account_typo_and_misplaced_label_warn() {
    let out = eval_clean(
        "serviceaccount/create-typo.json",
        "settings/default.json",
        None,
    );
    assert!(out.allowed());
    let w = out.warnings();
    assert!(
        w.iter().any(|w| w.contains(
            "\"azure.workload.identity/clientId\": did you mean azure.workload.identity/client-id?"
        )),
        "{w:?}"
    );
    assert!(
        w.iter()
            .any(|w| w.contains("move azure.workload.identity/use to the pod")),
        "{w:?}"
    );
}
