//! A bounded fuzzer over the model and trace parsers (issue 14): random bytes, and valid files
//! with random edits (lines dropped or duplicated, values replaced by hostile ones, JSON values
//! swapped for other types), must give either a value or an input error that names the file,
//! keeps its key short and speaks the file's terms (no Rust type names), never a panic. A trace
//! that parses must also replay without panicking, and a model that parses stays within the
//! explorable bounds. The case counts keep it to a few seconds, so CI runs it on every build.

use checkpoint_harness::error::{InputError, MAX_KEY_CHARS};
use checkpoint_harness::invariants::Oracle;
use checkpoint_harness::spec::{Spec, MAX_STEPS, MAX_TIME};
use checkpoint_harness::trace::{self, Trace};
use proptest::prelude::*;

const LINEAR: &str = include_str!("../models/linear.toml");
const TRACE: &str = include_str!("hostile/traces/good-control.json");

/// The good-control case without its `#!` header.
fn good_trace() -> String {
    TRACE
        .lines()
        .filter(|l| !l.starts_with("#! "))
        .collect::<Vec<_>>()
        .join("\n")
}

fn assert_clear(error: &InputError, file: &str) {
    assert_eq!(error.file, file, "names the file: {error}");
    assert!(
        error.key.chars().count() <= MAX_KEY_CHARS,
        "short key: {error}"
    );
    assert!(!error.reason.is_empty(), "gives a reason");
    for rust in [
        "untagged enum",
        "struct ",
        "internally tagged",
        "expected u8",
        "expected u32",
    ] {
        assert!(!error.reason.contains(rust), "no Rust type name: {error}");
    }
}

fn hostile_value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("0".to_string()),
        Just("-1".to_string()),
        Just("4294967295".to_string()),
        Just("18446744073709551616".to_string()),
        Just("1.5".to_string()),
        Just("\"\"".to_string()),
        Just("\"../../x\"".to_string()),
        Just("true".to_string()),
        Just("[]".to_string()),
        Just("{}".to_string()),
        Just("\"unlimited\"".to_string()),
        (0u32..300).prop_map(|n| n.to_string()),
        "[a-z]{1,12}".prop_map(|s| format!("\"{s}\"")),
    ]
}

/// A model edit: replace the value of line `line`, drop it, or duplicate it.
fn edited_model(line: usize, edit: u8, value: &str) -> String {
    let lines: Vec<&str> = LINEAR.lines().collect();
    let at = line % lines.len();
    let mut out: Vec<String> = Vec::new();
    for (index, text) in lines.iter().enumerate() {
        if index != at {
            out.push(text.to_string());
            continue;
        }
        match edit % 3 {
            0 => match text.split_once('=') {
                Some((key, _)) => out.push(format!("{key}= {value}")),
                None => out.push(format!("{text}{value}")),
            },
            1 => {}
            _ => {
                out.push(text.to_string());
                out.push(text.to_string());
            }
        }
    }
    out.join("\n")
}

/// A trace edit: replace the `index`-th value (in a depth-first walk) by `value`.
fn edited_trace(index: usize, value: serde_json::Value) -> String {
    fn walk(
        node: &mut serde_json::Value,
        target: usize,
        seen: &mut usize,
        value: &serde_json::Value,
    ) -> bool {
        if *seen == target {
            *node = value.clone();
            return true;
        }
        *seen += 1;
        match node {
            serde_json::Value::Object(map) => {
                for (_, child) in map.iter_mut() {
                    if walk(child, target, seen, value) {
                        return true;
                    }
                }
            }
            serde_json::Value::Array(items) => {
                for child in items.iter_mut() {
                    if walk(child, target, seen, value) {
                        return true;
                    }
                }
            }
            _ => {}
        }
        false
    }
    let mut trace: serde_json::Value = serde_json::from_str(&good_trace()).expect("valid");
    let mut seen = 0;
    // Skip the root so the edit lands inside the trace.
    walk(&mut trace, index + 1, &mut seen, &value);
    trace.to_string()
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    prop_oneof![
        Just(serde_json::Value::Null),
        Just(serde_json::json!(256)),
        Just(serde_json::json!(-1)),
        Just(serde_json::json!(1.5)),
        Just(serde_json::json!("teleport")),
        Just(serde_json::json!([])),
        Just(serde_json::json!({"extra": 1})),
        Just(serde_json::json!({"action": "deliver", "channel": 0})),
        (0u64..5).prop_map(|n| serde_json::json!(n)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic_either_parser(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let text = String::from_utf8_lossy(&bytes);
        if let Err(error) = Spec::parse("fuzz.toml", &text) {
            assert_clear(&error, "fuzz.toml");
        }
        if let Err(error) = Trace::parse("fuzz.json", &text) {
            assert_clear(&error, "fuzz.json");
        }
    }

    #[test]
    fn edited_models_parse_or_fail_clearly(line in 0usize..60, edit in 0u8..3, value in hostile_value()) {
        let text = edited_model(line, edit, &value);
        match Spec::parse("edited.toml", &text) {
            Ok(spec) => {
                prop_assert!(spec.bounds.time <= MAX_TIME);
                prop_assert!(spec.bounds.faulty_steps <= MAX_STEPS);
                prop_assert!(spec.bounds.healed_steps <= MAX_STEPS);
                prop_assert!(!spec.name.contains('/'));
            }
            Err(error) => assert_clear(&error, "edited.toml"),
        }
    }

    #[test]
    fn edited_traces_parse_and_replay_or_fail_clearly(index in 0usize..200, value in json_value()) {
        let text = edited_trace(index, value);
        match Trace::parse("edited.json", &text) {
            Ok(trace) => {
                // The embedded model or its replay may still be wrong: an input error, not a
                // panic.
                match trace.spec("edited.json") {
                    Ok(spec) => {
                        let oracle = Oracle::new(&spec);
                        if let Err(error) = trace::replay(&spec, &oracle, &trace, "edited.json") {
                            assert_clear(&error, "edited.json");
                        }
                    }
                    Err(error) => prop_assert!(error.file.starts_with("edited.json")),
                }
            }
            Err(error) => assert_clear(&error, "edited.json"),
        }
    }
}
