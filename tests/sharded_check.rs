//! The sharded check (`check --shard K/N`) and `merge`, end to end through the binary: the
//! merged verdict of the shards equals the unsharded verdict, property by property; a bug the
//! unsharded check finds is found by some shard, and `merge` reports it with a trace that
//! `replay` reproduces; a shard's result does not depend on the thread count; bad summaries are
//! input errors (exit code 2) that name the file and the key.

use serde_json::Value;
use std::path::PathBuf;
use std::process::{Command, Output};

fn harness(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_checkpoint-harness"))
        .args(args)
        .output()
        .expect("the binary runs")
}

struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("ch-shard-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }

    fn path(&self, name: &str) -> String {
        self.0.join(name).to_string_lossy().into_owned()
    }

    fn dir(&self) -> String {
        self.0.to_string_lossy().into_owned()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

/// `check ARGS --format json` (unsharded when `shard` is `None`), its exit code and summary.
fn check(args: &[&str], shard: Option<&str>, dir: &TempDir) -> (i32, Value) {
    let out = dir.dir();
    let mut all: Vec<&str> = vec!["check"];
    all.extend_from_slice(args);
    all.extend(["--format", "json", "--out-dir", &out]);
    if let Some(shard) = shard {
        all.extend(["--shard", shard]);
    }
    let output = harness(&all);
    (output.status.code().expect("exit code"), json(&output))
}

/// Runs every shard of `count`, saves each summary and merges them: the merge's exit code and
/// summary, and the shards' summaries.
fn sharded(args: &[&str], count: u64, dir: &TempDir) -> (i32, Value, Vec<Value>) {
    let mut files = Vec::new();
    let mut shards = Vec::new();
    for k in 0..count {
        let shard = format!("{k}/{count}");
        let mut with_shard: Vec<&str> = args.to_vec();
        with_shard.extend(["--shard", &shard]);
        let (code, summary) = check(&with_shard, None, dir);
        let violated = summary["verdict"] == "violated";
        assert_eq!(
            code,
            if violated { 1 } else { 0 },
            "shard {shard}: {summary}"
        );
        let file = dir.path(&format!("shard-{k}.json"));
        std::fs::write(&file, summary.to_string()).expect("write summary");
        files.push(file);
        shards.push(summary);
    }
    let out = dir.dir();
    let mut merge: Vec<&str> = vec!["merge", "--format", "json", "--out-dir", &out];
    merge.extend(files.iter().map(String::as_str));
    let output = harness(&merge);
    (
        output.status.code().expect("exit code"),
        json(&output),
        shards,
    )
}

fn statuses(summary: &Value) -> Vec<(String, String)> {
    summary["properties"]
        .as_array()
        .expect("properties")
        .iter()
        .map(|p| {
            (
                p["name"].as_str().expect("name").to_string(),
                p["status"].as_str().expect("status").to_string(),
            )
        })
        .collect()
}

fn merged_equals_unsharded(model: &str) {
    let dir = TempDir::new(&model.replace('/', "-"));
    let (code, whole) = check(&[model], None, &dir);
    assert_eq!(whole["verdict"], "pass", "{whole}");
    assert_eq!(code, 0);
    let (code, merged, shards) = sharded(&[model], 3, &dir);
    assert_eq!(merged["verdict"], whole["verdict"], "{merged}");
    assert_eq!(statuses(&merged), statuses(&whole));
    assert_eq!(code, 0);
    // Every shard saw the same frontier, and the frontier was split among them.
    let fingerprint = &shards[0]["shard"]["fingerprint"];
    assert!(shards
        .iter()
        .all(|s| &s["shard"]["fingerprint"] == fingerprint));
    let assigned: u64 = shards
        .iter()
        .map(|s| s["shard"]["assigned_states"].as_u64().expect("assigned"))
        .sum();
    assert_eq!(assigned, shards[0]["shard"]["frontier_states"]);
    assert!(
        assigned >= 3,
        "a frontier of {assigned} states for 3 shards"
    );
}

#[test]
fn merged_verdict_of_three_shards_equals_the_unsharded_verdict_on_retained_checkpoints() {
    merged_equals_unsharded("models/retained-checkpoints.toml");
}

#[test]
fn merged_verdict_of_three_shards_equals_the_unsharded_verdict_on_short_timeout() {
    merged_equals_unsharded("models/short-timeout.toml");
}

/// A bug found unsharded is found by some shard, and the merged trace replays to the violation.
fn bug_found_by_some_shard(args: &[&str]) {
    let dir = TempDir::new(&format!("bug-{}", args.len()));
    let (code, whole) = check(args, None, &dir);
    assert_eq!(whole["verdict"], "violated", "{whole}");
    assert_eq!(code, 1);
    let (code, merged, shards) = sharded(args, 3, &dir);
    assert_eq!(code, 1);
    assert_eq!(merged["verdict"], "violated", "{merged}");
    assert!(shards.iter().any(|s| s["verdict"] == "violated"));
    // The winner: the shortest counterexample, ties by shard index.
    let shortest = shards
        .iter()
        .filter_map(|s| s["counterexample"]["length"].as_u64())
        .min()
        .expect("a counterexample");
    assert_eq!(merged["counterexample"]["length"], shortest);
    let first = shards
        .iter()
        .position(|s| s["counterexample"]["length"] == shortest)
        .expect("winner");
    assert_eq!(merged["counterexample"]["shard"], first as u64);
    let trace = merged["counterexample"]["trace"]
        .as_str()
        .expect("a saved trace");
    let replay = harness(&["replay", trace]);
    let stdout = String::from_utf8_lossy(&replay.stdout);
    assert_eq!(replay.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("reproduced"), "{stdout}");
    let invariant = merged["counterexample"]["invariant"]
        .as_str()
        .expect("invariant");
    assert!(
        stdout.contains(&format!("{invariant} violated")),
        "{stdout}"
    );
}

#[test]
fn a_bug_below_the_split_is_found_by_some_shard_and_merged_with_a_replayable_trace() {
    // The shortest counterexample is 7 steps, below the default split depth: found in a subtree.
    bug_found_by_some_shard(&[
        "models/retained-checkpoints.toml",
        "--bug",
        "restore-pending-checkpoint",
    ]);
}

#[test]
fn a_first_found_counterexample_is_a_full_path_through_the_prefix() {
    // Without the shortest search the trace is the prefix path plus the shard's own path.
    bug_found_by_some_shard(&[
        "models/retained-checkpoints.toml",
        "--bug",
        "restore-pending-checkpoint",
        "--no-shortest",
    ]);
}

#[test]
fn a_bug_in_the_prefix_is_found_by_every_shard() {
    let dir = TempDir::new("prefix-bug");
    let args = ["linear", "--bug", "max-concurrent-off-by-one"];
    let (_, merged, shards) = sharded(&args, 3, &dir);
    assert_eq!(merged["verdict"], "violated");
    assert!(shards.iter().all(|s| s["verdict"] == "violated"));
    let (_, merged_deep, _) = sharded(&[&args[..], &["--split-depth", "2"]].concat(), 3, &dir);
    assert_eq!(
        merged_deep["counterexample"]["invariant"],
        "pending-within-max-concurrent"
    );
}

#[test]
fn a_shard_does_not_depend_on_the_thread_count() {
    let dir = TempDir::new("threads");
    let model = "models/retained-checkpoints.toml";
    let (_, one) = check(&[model, "--threads", "1"], Some("1/3"), &dir);
    let (_, two) = check(&[model, "--threads", "2"], Some("1/3"), &dir);
    for key in ["verdict", "unique_states", "properties", "shard"] {
        assert_eq!(one[key], two[key], "{key}");
    }
}

fn merge(files: &[&str]) -> (i32, String) {
    let mut args = vec!["merge"];
    args.extend_from_slice(files);
    let output = harness(&args);
    (
        output.status.code().expect("exit code"),
        String::from_utf8_lossy(&output.stderr).into_owned()
            + &String::from_utf8_lossy(&output.stdout),
    )
}

#[test]
fn merge_names_the_file_and_key_of_bad_input_and_judges_missing_shards_partial() {
    let dir = TempDir::new("bad");
    let model = "models/short-timeout.toml";
    let summaries: Vec<String> = (0..2)
        .map(|k| {
            let (_, summary) = check(&[model], Some(&format!("{k}/2")), &dir);
            let file = dir.path(&format!("s{k}.json"));
            std::fs::write(&file, summary.to_string()).expect("write");
            file
        })
        .collect();
    let (code, text) = merge(&[&summaries[0]]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("PARTIAL: no summary for shard 1/2"), "{text}");

    let (code, text) = merge(&[&summaries[0], &summaries[0]]);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("key `shard.index`"), "{text}");

    let mut other: Value =
        serde_json::from_str(&std::fs::read_to_string(&summaries[1]).expect("read")).expect("json");
    other["shard"]["fingerprint"] = Value::from("0000000000000000");
    let changed = dir.path("changed.json");
    std::fs::write(&changed, other.to_string()).expect("write");
    let (code, text) = merge(&[&summaries[0], &changed]);
    assert_eq!(code, 2, "{text}");
    assert!(
        text.contains(&changed) && text.contains("key `shard.fingerprint`"),
        "{text}"
    );

    let (_, unsharded) = check(&[model], None, &dir);
    let plain = dir.path("plain.json");
    std::fs::write(&plain, unsharded.to_string()).expect("write");
    let (code, text) = merge(&[&plain]);
    assert_eq!(code, 2, "{text}");
    assert!(
        text.contains(&plain) && text.contains("key `shard.count`"),
        "{text}"
    );

    let garbage = dir.path("garbage.json");
    std::fs::write(&garbage, "{not json").expect("write");
    let (code, text) = merge(&[&garbage]);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains(&garbage), "{text}");
}
