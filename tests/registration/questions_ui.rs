//! reference §11: `questions-ui.yml` (the form Rancher's Kubewarden UI builds the policy's settings
//! from, and ArtifactHub shows) agrees with the settings type item by item: every setting has
//! an item at the same dotted `variable` path, every item is a setting, the item's type sends
//! the shape the settings accept, and its default is the setting's default. A policy
//! configured through the form, defaults untouched, is accepted by `validate_settings`.

use std::collections::BTreeMap;

use azure_workload_identity_policy::settings::{
    ClusterTrustBundleSource, LabelSelector, LabelSelectorRequirement, SelectorOperator, Settings,
    parse_and_check,
};
use serde_json::{Map, Value, json};

/// The shape of a setting, as far as a form can send it.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Bool,
    Str,
    Int,
    StrList,
    StrMap,
    /// A map whose every value is a list of strings.
    StrListMap,
    /// A list of objects.
    ObjectList,
    /// A struct of further settings.
    Struct,
}

/// Settings whose default serializes as `null` (an `Option`) or as an empty map, so the
/// defaults cannot tell their shape: declared here, and proven by `declared_kinds_are_right`.
const DECLARED: &[(&str, Kind)] = &[
    ("tenantId", Kind::Str),
    ("authorityHost", Kind::Str),
    ("identityBinding.tokenProxy", Kind::Str),
    ("identityBinding.sniName", Kind::Str),
    ("identityBinding.caData", Kind::Str),
    ("identityBinding.caConfigMap", Kind::Str),
    ("identityBinding.caClusterTrustBundle", Kind::Struct),
    ("identityBinding.caClusterTrustBundle.signerName", Kind::Str),
    (
        "identityBinding.caClusterTrustBundle.labelSelector",
        Kind::Struct,
    ),
    (
        "identityBinding.caClusterTrustBundle.labelSelector.matchLabels",
        Kind::StrMap,
    ),
    (
        "identityBinding.caClusterTrustBundle.labelSelector.matchExpressions",
        Kind::ObjectList,
    ),
    ("allowedClientIds", Kind::StrListMap),
];

/// Kubewarden's questions-ui convention: a hidden `description` item that is no setting.
const NOT_SETTINGS: &[&str] = &["description"];

/// One setting: its shape and its default (`null`: unset).
#[derive(Debug)]
struct Setting {
    kind: Kind,
    default: Value,
}

fn declared(path: &str) -> Option<Kind> {
    DECLARED.iter().find(|(p, _)| *p == path).map(|(_, k)| *k)
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

/// Walk the serialized defaults; below an unset struct, the declared table goes on.
fn walk(value: &Value, path: &str, out: &mut BTreeMap<String, Setting>) {
    let kind = match value {
        Value::Bool(_) => Kind::Bool,
        Value::String(_) => Kind::Str,
        Value::Number(_) => Kind::Int,
        Value::Array(items) if !items.is_empty() && items.iter().all(Value::is_string) => {
            Kind::StrList
        }
        Value::Object(map) if !map.is_empty() => {
            for (key, child) in map {
                walk(child, &join(path, key), out);
            }
            Kind::Struct
        }
        _ => declared(path).unwrap_or_else(|| {
            panic!("setting {path} defaults to {value}: declare its kind in DECLARED")
        }),
    };
    if let Some(kind_declared) = declared(path) {
        assert_eq!(kind, kind_declared, "{path}: declared kind disagrees");
    }
    if kind == Kind::Struct && value.is_null() {
        // An unset struct: its fields come from the table, all unset.
        let below = format!("{path}.");
        for (child, _) in DECLARED.iter().filter(|(p, _)| {
            p.strip_prefix(&below)
                .is_some_and(|rest| !rest.contains('.'))
        }) {
            walk(&Value::Null, child, out);
        }
    }
    out.insert(
        path.to_owned(),
        Setting {
            kind,
            default: value.clone(),
        },
    );
}

fn settings() -> BTreeMap<String, Setting> {
    let defaults = serde_json::to_value(Settings::default()).expect("serialize the defaults");
    let mut out = BTreeMap::new();
    walk(&defaults, "", &mut out);
    out.remove("");
    out
}

/// One questions-ui item (subquestions flattened), with its raw YAML.
struct Item {
    variable: String,
    kind: String,
    default: Value,
    raw: serde_yaml::Value,
    has_subquestions: bool,
}

fn items() -> Vec<Item> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/questions-ui.yml"))
        .expect("questions-ui.yml");
    let doc: serde_yaml::Value = serde_yaml::from_str(&text).expect("questions-ui.yml is YAML");
    fn flatten(list: &serde_yaml::Value, out: &mut Vec<Item>) {
        for q in list.as_sequence().expect("a list of questions") {
            let str = |key: &str| q.get(key).and_then(|v| v.as_str()).unwrap_or_default();
            let default: Value = q
                .get("default")
                .map(|d| serde_json::to_value(d).expect("a JSON-compatible default"))
                .unwrap_or(Value::Null);
            out.push(Item {
                variable: str("variable").to_owned(),
                kind: str("type").to_owned(),
                default,
                raw: q.clone(),
                has_subquestions: q.get("subquestions").is_some(),
            });
            if let Some(sub) = q.get("subquestions") {
                flatten(sub, out);
            }
        }
    }
    let mut out = Vec::new();
    flatten(&doc["questions"], &mut out);
    out
}

/// The editor the Kubewarden UI picks for a question type, as its `componentForQuestion` does
/// (rancher/kubewarden-ui `pkg/kubewarden/components/Questions/index.vue`): by prefix, so
/// whatever follows `map[` or `array[` is ignored. A `map[` item is a key/value form of
/// strings (`QuestionMap.vue`, `KeyValue`), whatever its type says its values are.
fn editor(question_type: &str) -> &str {
    let t = question_type.to_ascii_lowercase();
    for prefix in ["array[", "map[", "sequence["] {
        if t.starts_with(prefix) {
            return prefix;
        }
    }
    match question_type {
        "boolean" | "enum" | "int" => question_type,
        _ => "string",
    }
}

/// Which setting kinds a question type can edit.
fn compatible(question_type: &str, has_subquestions: bool, kind: Kind) -> bool {
    match (editor(question_type), kind) {
        (_, Kind::Struct) => has_subquestions,
        (_, _) if has_subquestions => false,
        ("boolean", Kind::Bool) => true,
        ("string" | "enum", Kind::Str) => true,
        ("int", Kind::Int) => true,
        ("array[", Kind::StrList) => true,
        // `allowedClientIds` also takes each value as one comma-separated string.
        ("map[", Kind::StrMap | Kind::StrListMap) => true,
        ("sequence[", Kind::ObjectList) => true,
        _ => false,
    }
}

/// A value of `question_type` as a form would send it (each enum option, in turn).
fn samples(item: &serde_yaml::Value) -> Vec<Value> {
    let question_type = item["type"].as_str().unwrap_or_default();
    match editor(question_type) {
        "boolean" => vec![json!(true), json!(false)],
        "string" => vec![json!("x")],
        "int" => vec![json!(1)],
        "enum" => item["options"]
            .as_sequence()
            .expect("enum options")
            .iter()
            .map(|o| serde_json::to_value(o).expect("an option"))
            .collect(),
        "array[" => vec![json!(["x"])],
        "map[" => vec![json!({ "k": "v" })],
        "sequence[" => {
            // One object per combination of the first sample of each field, then one per
            // further sample of each field.
            let fields = item["sequence_questions"]
                .as_sequence()
                .expect("sequence_questions");
            let first: Map<String, Value> = fields
                .iter()
                .map(|f| {
                    (
                        f["variable"].as_str().unwrap_or_default().to_owned(),
                        samples(f)[0].clone(),
                    )
                })
                .collect();
            let mut out = vec![json!([first.clone()])];
            for f in fields {
                for sample in samples(f).into_iter().skip(1) {
                    let mut object = first.clone();
                    object.insert(
                        f["variable"].as_str().unwrap_or_default().to_owned(),
                        sample,
                    );
                    out.push(json!([object]));
                }
            }
            out
        }
        other => panic!("no sample for question type {other:?}"),
    }
}

/// `lodash.set`, as the UI writes an answer at a dotted variable path.
fn set(document: &mut Value, path: &str, value: Value) {
    let mut at = document;
    let parts: Vec<&str> = path.split('.').collect();
    for part in &parts[..parts.len() - 1] {
        if !at.get(*part).is_some_and(Value::is_object) {
            at[*part] = json!({});
        }
        at = &mut at[*part];
    }
    at[parts[parts.len() - 1]] = value;
}

#[test]
fn every_setting_has_an_item_and_every_item_is_a_setting() {
    let settings = settings();
    let items = items();
    for (path, setting) in &settings {
        let has_item = items.iter().any(|i| &i.variable == path);
        // A struct needs no item of its own when the form reaches each of its fields.
        let reached = setting.kind == Kind::Struct
            && settings
                .keys()
                .filter(|p| p.starts_with(&format!("{path}.")))
                .all(|p| {
                    items.iter().any(|i| &i.variable == p) || settings[p].kind == Kind::Struct
                });
        assert!(
            has_item || reached,
            "setting {path} has no questions-ui item"
        );
    }
    for item in &items {
        if NOT_SETTINGS.contains(&item.variable.as_str()) {
            continue;
        }
        assert!(
            settings.contains_key(&item.variable),
            "questions-ui item {} is no setting",
            item.variable
        );
    }
}

#[test]
fn every_item_has_a_compatible_type_and_the_same_default() {
    let settings = settings();
    for item in items() {
        let Some(setting) = settings.get(&item.variable) else {
            continue;
        };
        assert!(
            compatible(&item.kind, item.has_subquestions, setting.kind),
            "{}: question type {:?} cannot edit a {:?} setting",
            item.variable,
            item.kind,
            setting.kind
        );
        let expected = match (&setting.default, setting.kind) {
            // A struct's item holds an empty map (its subquestions fill it), or nothing when
            // the struct is unset by default.
            (Value::Object(_), Kind::Struct) => json!({}),
            (default, _) => default.clone(),
        };
        assert_eq!(
            item.default, expected,
            "{}: the questions-ui default differs from the setting's",
            item.variable
        );
        if item.kind == "enum" {
            let options: Vec<Value> = samples(&item.raw);
            assert!(
                options.contains(&item.default),
                "{}: default {} is not among the options",
                item.variable,
                item.default
            );
        }
    }
}

/// What each item's type sends is accepted by the settings parser at that path (values that
/// pass the type but fail a semantic check, e.g. `x` as a URL, are the user's to fix).
#[test]
fn what_each_item_sends_has_the_shape_the_settings_accept() {
    for item in items() {
        if NOT_SETTINGS.contains(&item.variable.as_str()) || item.has_subquestions {
            continue;
        }
        for sample in samples(&item.raw) {
            let mut document = json!({});
            set(&mut document, &item.variable, sample.clone());
            let parsed = Settings::from_json(document.to_string().as_bytes());
            assert!(
                parsed.is_ok(),
                "{} ({}): the form would send {document}, which the settings refuse: {}",
                item.variable,
                item.kind,
                parsed.err().unwrap_or_default()
            );
        }
    }
}

/// The form's defaults, written as the UI writes them (an unset `null` default writes
/// nothing), plus the one required answer, make settings `validate_settings` accepts, and the
/// same settings as the defaults.
#[test]
fn the_form_with_its_defaults_makes_valid_settings() {
    let mut document = json!({});
    for item in items() {
        if NOT_SETTINGS.contains(&item.variable.as_str()) || item.default.is_null() {
            continue;
        }
        if item.has_subquestions
            && document
                .pointer(&format!("/{}", item.variable.replace('.', "/")))
                .is_some()
        {
            continue;
        }
        set(&mut document, &item.variable, item.default.clone());
    }
    let required: Vec<String> = items()
        .into_iter()
        .filter(|i| i.raw["required"].as_bool() == Some(true))
        .map(|i| i.variable)
        .collect();
    // §3: tenantId is needed only while mutate is on (the default), so the form does not
    // require it but shows it only then (issue 24: validate-only mode needs no tenant).
    assert!(required.is_empty(), "required items: {required:?}");
    let tenant = items()
        .into_iter()
        .find(|i| i.variable == "tenantId")
        .expect("a tenantId item");
    assert_eq!(tenant.raw["show_if"].as_str(), Some("mutate=true"));
    set(
        &mut document,
        "tenantId",
        json!("11111111-1111-1111-1111-111111111111"),
    );
    let settings = parse_and_check(document.to_string().as_bytes())
        .unwrap_or_else(|e| panic!("the form's defaults {document} are refused: {e}"));
    let expected = Settings {
        tenant_id: Some("11111111-1111-1111-1111-111111111111".to_owned()),
        ..Settings::default()
    };
    assert_eq!(settings, expected);
    // And without the required tenant the defaults are refused, as the tooltip says.
    let mut without = document;
    without.as_object_mut().unwrap().remove("tenantId");
    assert!(parse_and_check(without.to_string().as_bytes()).is_err());
}

/// The kinds declared for unset defaults are the settings type's: a filled-in value of each
/// declared kind serializes at that path, and nothing else hides below an unset struct.
#[test]
fn declared_kinds_are_right() {
    let bundle = ClusterTrustBundleSource {
        signer_name: Some("example.com/signer".to_owned()),
        label_selector: Some(LabelSelector {
            match_labels: BTreeMap::from([("k".to_owned(), "v".to_owned())]),
            match_expressions: vec![LabelSelectorRequirement {
                key: "k".to_owned(),
                operator: SelectorOperator::In,
                values: vec!["v".to_owned()],
            }],
        }),
    };
    let mut full = Settings {
        tenant_id: Some("t".to_owned()),
        authority_host: Some("https://login.example/".to_owned()),
        allowed_client_ids: BTreeMap::from([("ns".to_owned(), vec!["id".to_owned()])]),
        ..Settings::default()
    };
    full.identity_binding.token_proxy = Some("https://proxy.example".to_owned());
    full.identity_binding.sni_name = Some("sni.example".to_owned());
    full.identity_binding.ca_data = Some("pem".to_owned());
    full.identity_binding.ca_config_map = Some("ca".to_owned());
    full.identity_binding.ca_cluster_trust_bundle = Some(bundle);
    let full = serde_json::to_value(full).expect("serialize");
    let mut found = BTreeMap::new();
    fn leaves(value: &Value, path: &str, out: &mut BTreeMap<String, Kind>) {
        let kind = match value {
            Value::Bool(_) => Kind::Bool,
            Value::String(_) => Kind::Str,
            Value::Number(_) => Kind::Int,
            Value::Array(items) if items.iter().all(Value::is_string) => Kind::StrList,
            Value::Array(_) => Kind::ObjectList,
            Value::Object(map)
                if map.values().all(Value::is_array) && path == "allowedClientIds" =>
            {
                Kind::StrListMap
            }
            Value::Object(map) if path.ends_with("matchLabels") => {
                assert!(map.values().all(Value::is_string));
                Kind::StrMap
            }
            Value::Object(map) => {
                for (key, child) in map {
                    leaves(child, &join(path, key), out);
                }
                Kind::Struct
            }
            Value::Null => panic!("{path} is still unset in the filled-in settings"),
        };
        out.insert(path.to_owned(), kind);
    }
    leaves(&full, "", &mut found);
    for (path, kind) in DECLARED {
        assert_eq!(found.get(*path), Some(kind), "{path}");
    }
    let walked = settings();
    for (path, kind) in &found {
        if path.is_empty() {
            continue;
        }
        assert_eq!(
            walked.get(path).map(|s| s.kind),
            Some(*kind),
            "{path}: the walk of the defaults misses or misreads it"
        );
    }
    assert_eq!(walked.len(), found.len() - 1, "{:?}", walked.keys());
}
