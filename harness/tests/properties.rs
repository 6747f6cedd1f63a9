//! What one stored answer per fixture cannot show, on the real wasm: 1,000 generated malformed
//! requests on one loaded module (`harness batch`) all answered without a trap (reference §9), and
//! the defaulted fixture being the policy's own output (reference §4.9). Idempotence of every
//! layout is a `checks: [idempotent]` of the cases in `test_data/cases.yml`.

mod common;

use azure_workload_identity_policy::testing::api_server_defaults;
use common::*;
use serde_json::{Value, json};

/// A small deterministic generator (xorshift64*), so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn garbage(rng: &mut Rng) -> Value {
    let mut deep = json!("x");
    // Below serde_json's recursion limit, which kwctl (and the harness) hit before the policy.
    for _ in 0..rng.below(100) {
        deep = json!({ "a": deep });
    }
    match rng.below(12) {
        0 => Value::Null,
        1 => json!(rng.next() as i64),
        2 => json!(-1.5),
        3 => json!(""),
        4 => json!("é".repeat(300)),
        5 => json!([]),
        6 => json!({}),
        7 => deep,
        8 => json!(true),
        9 => json!("a".repeat(100_000)),
        10 => json!([{ "name": 5 }, null, "x"]),
        _ => json!({ "name": ["x"], "value": {} }),
    }
}

fn paths(value: &Value, prefix: String, out: &mut Vec<String>) {
    let children: Vec<(String, &Value)> = match value {
        Value::Object(m) => m
            .iter()
            .map(|(k, v)| (k.replace('~', "~0").replace('/', "~1"), v))
            .collect(),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .map(|(i, v)| (i.to_string(), v))
            .collect(),
        _ => Vec::new(),
    };
    for (key, child) in children {
        let path = format!("{prefix}/{key}");
        out.push(path.clone());
        paths(child, path, out);
    }
}

#[test]
fn a_thousand_malformed_requests_are_all_answered_without_a_trap() {
    let sources = [
        "test_data/pod/proxy.json",
        "test_data/pod/identity-binding.json",
        "test_data/pod/csi-labelled.json",
        "test_data/pod/unlabeled.json",
        "test_data/workload/cronjob.json",
        "test_data/workload/deployment-binding.json",
        "test_data/serviceaccount/update-changed-bad.json",
    ];
    let requests: Vec<Value> = sources
        .iter()
        .map(|s| admission_request(&read_json(s)))
        .collect();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut lines = String::new();
    for n in 0..1000 {
        let mut request = requests[n % requests.len()].clone();
        request["uid"] = json!(format!("malformed-{n}"));
        let mut all = Vec::new();
        paths(&request["object"], "/object".into(), &mut all);
        for _ in 0..=rng.below(3) {
            let target = if all.is_empty() || rng.below(10) == 0 {
                "/object".to_owned()
            } else {
                all[rng.below(all.len())].clone()
            };
            if let Some(slot) = request.pointer_mut(&target) {
                *slot = garbage(&mut rng);
            }
        }
        lines.push_str(&request.to_string());
        lines.push('\n');
    }
    let dir = std::env::temp_dir().join(format!("azwi-robustness-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp dir");
    let file = dir.join("requests.jsonl");
    std::fs::write(&file, lines).expect("write requests");

    let built = built();
    let output = std::process::Command::new(&built.harness)
        .args(["batch", "--settings-path"])
        .arg(path("test_data/settings/identity-binding.json"))
        .arg("--request-path")
        .arg(&file)
        .arg("--allow-context-aware")
        .arg("--replay-host-capabilities-interactions")
        .arg(path("test_data/bench/session-full.yml"))
        .arg(&built.policy)
        .env("RUST_LOG", "policy_log=off")
        .output()
        .expect("harness batch runs");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let responses: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("response line"))
        .collect();
    assert_eq!(responses.len(), 1000, "every request answered");
    for (n, response) in responses.iter().enumerate() {
        assert_eq!(response["uid"], json!(format!("malformed-{n}")));
        assert!(response["allowed"].is_boolean(), "{response}");
        let message = response["status"]["message"].as_str().unwrap_or_default();
        assert!(
            !message.starts_with("internal server error"),
            "request {n} trapped the module: {message}"
        );
        if response["allowed"] == false {
            assert!(
                matches!(response["status"]["code"].as_u64(), Some(400 | 403 | 500)),
                "{response}"
            );
        }
    }
}

/// `test_data/pod/mutated-classic-defaulted.json` (case
/// `spec_4_9_defaulted_output_of_the_policy_is_admitted_unchanged`) is what the API server
/// stores for `pod/labelled.json`: the policy's patch applied, then the API server's defaults.
#[test]
fn defaulted_fixture_is_the_policys_own_output_plus_defaults() {
    let first = eval_clean(
        "test_data/pod/labelled.json",
        "test_data/settings/default.json",
        "test_data/sessions/workload-sa.yml",
    );
    let mut defaulted = first.patched();
    api_server_defaults(&mut defaulted);
    let fixture = admission_request(&read_json("test_data/pod/mutated-classic-defaulted.json"));
    assert_eq!(
        fixture["object"], defaulted,
        "regenerate test_data/pod/mutated-classic-defaulted.json from the policy's output"
    );
}
