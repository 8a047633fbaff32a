//! `merge`: combine the JSON summaries of the shards of one sharded check (`check --shard K/N
//! --format json`) into one verdict, printed like `check`'s (text or JSON).
//!
//! The summaries must be of one check: the same model, bugs, shard count, split depth, frontier
//! fingerprint and properties (anything else is an input error naming the file and the key, exit
//! code 2), each shard at most once. Rules:
//!
//! - any violation wins: the shortest counterexample, ties broken by the lower shard index; its
//!   trace (carried whole in the summary) is saved under `--out-dir` for `replay`;
//! - otherwise the merge is complete only if every shard `0..N` is present and complete; a
//!   missing or partial shard makes it `partial`;
//! - a safety or liveness property held if it held in every shard; a `sometimes` property is
//!   reached if any shard reached it, and not reached only if no complete shard did;
//! - `pass` when complete and every `sometimes` property is reached, `vacuous` otherwise.
//!
//! Exit code 0 for a pass; 1 for a violation, a vacuous or a partial merge; 2 for bad input.

use super::common::{
    file_part, render_command, shrink_command, trace_command, Format, OutputFormat, TraceDir,
};
use checkpoint_harness::error::{read_input, InputError};
use checkpoint_harness::trace::Trace;
use serde_json::Value;
use std::process::ExitCode;

/// The largest summary file `merge` reads (a summary with its trace).
const MAX_SUMMARY_BYTES: u64 = 64 << 20;

#[derive(clap::Args)]
pub struct Args {
    /// The shards' summaries (`check --shard K/N --format json > FILE`).
    #[arg(required = true)]
    summaries: Vec<String>,
    #[command(flatten)]
    traces: TraceDir,
    #[command(flatten)]
    output: OutputFormat,
}

/// One shard's summary, as far as the merge needs it.
struct ShardSummary {
    file: String,
    index: u64,
    count: u64,
    verdict: String,
    /// (name, kind, status) in the summary's order.
    properties: Vec<(String, String, String)>,
    counterexample: Option<Value>,
    unique_states: u64,
    total_states: u64,
}

fn bad(file: &str, key: &str, reason: impl Into<String>) -> InputError {
    InputError::new(file, key, reason)
}

fn field<'a>(file: &str, value: &'a Value, key: &str) -> Result<&'a Value, InputError> {
    let mut current = value;
    for part in key.split('.') {
        current = current.get(part).ok_or_else(|| {
            bad(
                file,
                key,
                "missing (is this a `check --shard K/N --format json` summary?)",
            )
        })?;
    }
    Ok(current)
}

fn text_field(file: &str, value: &Value, key: &str) -> Result<String, InputError> {
    field(file, value, key)?
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| bad(file, key, "expected a string"))
}

fn number_field(file: &str, value: &Value, key: &str) -> Result<u64, InputError> {
    field(file, value, key)?
        .as_u64()
        .ok_or_else(|| bad(file, key, "expected a non-negative integer"))
}

/// The keys that must be equal in every summary of one check.
const SAME: &[&str] = &[
    "model",
    "bugs",
    "reduction",
    "symmetry",
    "shard.count",
    "shard.split_depth",
    "shard.frontier_states",
    "shard.fingerprint",
];

const VERDICTS: &[&str] = &["pass", "complete", "violated", "partial", "vacuous"];

fn parse(file: &str, text: &str) -> Result<(Value, ShardSummary), InputError> {
    let value: Value = serde_json::from_str(text)
        .map_err(|e| bad(file, "", format!("not a JSON summary: {e}")))?;
    if !value.is_object() {
        return Err(bad(file, "", "not a JSON summary: expected an object"));
    }
    for key in SAME {
        field(file, &value, key)?;
    }
    let index = number_field(file, &value, "shard.index")?;
    let count = number_field(file, &value, "shard.count")?;
    if count == 0 || index >= count {
        return Err(bad(
            file,
            "shard.index",
            format!("shard {index}/{count}: need N >= 1 and 0 <= K < N"),
        ));
    }
    let verdict = text_field(file, &value, "verdict")?;
    if !VERDICTS.contains(&verdict.as_str()) {
        return Err(bad(
            file,
            "verdict",
            format!("{verdict:?}: expected one of {}", VERDICTS.join(", ")),
        ));
    }
    let list = field(file, &value, "properties")?
        .as_array()
        .ok_or_else(|| bad(file, "properties", "expected an array"))?;
    let mut properties = Vec::new();
    for (i, property) in list.iter().enumerate() {
        let key = |name: &str| format!("properties[{i}].{name}");
        let get = |name: &str| {
            property
                .get(name)
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| bad(file, &key(name), "missing or not a string"))
        };
        properties.push((get("name")?, get("kind")?, get("status")?));
    }
    let counterexample = match field(file, &value, "counterexample")? {
        Value::Null => None,
        c @ Value::Object(_) => {
            for key in ["invariant", "length", "trace_json"] {
                if c.get(key).is_none_or(Value::is_null) {
                    return Err(bad(
                        file,
                        &format!("counterexample.{key}"),
                        "missing (a shard's summary carries its whole counterexample)",
                    ));
                }
            }
            Some(c.clone())
        }
        _ => return Err(bad(file, "counterexample", "expected an object or null")),
    };
    if verdict == "violated" && counterexample.is_none() {
        return Err(bad(
            file,
            "counterexample",
            "the verdict is `violated` but there is no counterexample",
        ));
    }
    let summary = ShardSummary {
        file: file.to_string(),
        index,
        count,
        verdict,
        properties,
        counterexample,
        unique_states: number_field(file, &value, "unique_states")?,
        total_states: number_field(file, &value, "total_states")?,
    };
    Ok((value, summary))
}

/// The merged verdict and properties.
struct Merged {
    verdict: &'static str,
    verdict_text: String,
    /// (name, kind, status).
    properties: Vec<(String, String, String)>,
    /// The winning counterexample and the shard that found it.
    winner: Option<(usize, Value)>,
    missing: Vec<u64>,
}

fn merge(shards: &[ShardSummary]) -> Merged {
    let count = shards[0].count;
    let missing: Vec<u64> = (0..count)
        .filter(|k| !shards.iter().any(|s| s.index == *k))
        .collect();
    let winner = shards
        .iter()
        .enumerate()
        .filter_map(|(i, s)| s.counterexample.as_ref().map(|c| (i, s, c)))
        .min_by_key(|(_, s, c)| (c["length"].as_u64().unwrap_or(u64::MAX), s.index))
        .map(|(i, _, c)| (i, c.clone()));
    let complete = missing.is_empty()
        && winner.is_none()
        && shards
            .iter()
            .all(|s| s.verdict == "pass" || s.verdict == "complete" || s.verdict == "vacuous");
    let properties: Vec<(String, String, String)> = shards[0]
        .properties
        .iter()
        .enumerate()
        .map(|(i, (name, kind, _))| {
            let statuses: Vec<&str> = shards.iter().map(|s| s.properties[i].2.as_str()).collect();
            let status = if statuses.contains(&"violated") {
                "violated"
            } else if statuses.contains(&"reached") {
                "reached"
            } else if !complete {
                "unknown"
            } else if kind == "sometimes" {
                "not reached"
            } else {
                "held"
            };
            (name.clone(), kind.clone(), status.to_string())
        })
        .collect();
    let unreached: Vec<&str> = properties
        .iter()
        .filter(|(_, _, status)| status == "not reached")
        .map(|(name, _, _)| name.as_str())
        .collect();
    let (verdict, verdict_text) = if let Some((i, c)) = &winner {
        let invariant = c["invariant"].as_str().unwrap_or("?");
        (
            "violated",
            format!(
                "FAIL: {invariant} violated (found by shard {}/{count})",
                shards[*i].index
            ),
        )
    } else if !missing.is_empty() {
        let list: Vec<String> = missing.iter().map(|k| format!("{k}/{count}")).collect();
        (
            "partial",
            format!(
                "PARTIAL: no summary for shard {}; no verdict",
                list.join(", ")
            ),
        )
    } else if !complete {
        let partial: Vec<String> = shards
            .iter()
            .filter(|s| s.verdict == "partial")
            .map(|s| format!("{}/{count} ({})", s.index, s.file))
            .collect();
        (
            "partial",
            format!(
                "PARTIAL: shard {} stopped before its part was exhaustive; no verdict",
                partial.join(", ")
            ),
        )
    } else if unreached.is_empty() {
        (
            "pass",
            "PASS (every shard exhaustive: every property held, every non-vacuity property reached)"
                .to_string(),
        )
    } else {
        (
            "vacuous",
            format!(
                "FAIL (vacuous): every shard exhaustive, but no shard reached: {}",
                unreached.join(", ")
            ),
        )
    };
    Merged {
        verdict,
        verdict_text,
        properties,
        winner,
        missing,
    }
}

pub fn run(args: Args) -> Result<ExitCode, InputError> {
    let out_dir = args.traces.resolve()?;
    let mut values: Vec<Value> = Vec::new();
    let mut shards: Vec<ShardSummary> = Vec::new();
    for file in &args.summaries {
        let text = read_input(file, "summary file", MAX_SUMMARY_BYTES)?;
        let (value, summary) = parse(file, &text)?;
        if let Some(first) = values.first() {
            for key in SAME {
                if field(file, &value, key)? != field(&shards[0].file, first, key)? {
                    return Err(bad(
                        file,
                        key,
                        format!(
                            "{} here but {} in {}: the summaries are not shards of one check (same model, bugs, options, --shard N, --split-depth and build)",
                            field(file, &value, key)?,
                            field(&shards[0].file, first, key)?,
                            shards[0].file
                        ),
                    ));
                }
            }
            let names = |s: &ShardSummary| -> Vec<(String, String)> {
                s.properties
                    .iter()
                    .map(|(n, k, _)| (n.clone(), k.clone()))
                    .collect()
            };
            if names(&summary) != names(&shards[0]) {
                return Err(bad(
                    file,
                    "properties",
                    format!("not the properties of {}", shards[0].file),
                ));
            }
        }
        if let Some(other) = shards.iter().find(|s| s.index == summary.index) {
            return Err(bad(
                file,
                "shard.index",
                format!(
                    "shard {}/{} is also in {}: give each shard once",
                    summary.index, summary.count, other.file
                ),
            ));
        }
        values.push(value);
        shards.push(summary);
    }
    let merged = merge(&shards);
    let model = values[0]["model"].as_str().unwrap_or("model").to_string();
    // The winning trace, saved here: the shards may have run elsewhere.
    let mut saved = None;
    if let Some((i, c)) = &merged.winner {
        let file = &shards[*i].file;
        let text = c["trace_json"].to_string();
        let trace = Trace::parse(&format!("{file} (counterexample.trace_json)"), &text)?;
        let invariant = c["invariant"].as_str().unwrap_or("violation");
        let path = format!(
            "{out_dir}/merge-{}-{}.json",
            file_part(&model),
            file_part(invariant)
        );
        trace.save(&path)?;
        saved = Some(path);
    }
    let unique: u64 = shards.iter().map(|s| s.unique_states).sum();
    let total: u64 = shards.iter().map(|s| s.total_states).sum();
    match args.output.format {
        Format::Text => {
            let count = shards[0].count;
            println!(
                "model {model}: {} of {count} shards merged (split depth {}), {unique} unique states over all shards ({total} total; states in several shards count in each)",
                shards.len(),
                values[0]["shard"]["split_depth"]
            );
            for s in &shards {
                println!("  shard {}/{count}: {} ({})", s.index, s.verdict, s.file);
            }
            println!("properties:");
            for (name, kind, status) in &merged.properties {
                let status = match status.as_str() {
                    "violated" => "VIOLATED",
                    "not reached" => "NOT REACHED",
                    other => other,
                };
                println!("  {status:<12} {kind:<10} {name}");
            }
            println!("verdict: {}", merged.verdict_text);
            if let Some((i, c)) = &merged.winner {
                println!(
                    "counterexample: {} steps, from the initial state (shard {}, {})",
                    c["length"], shards[*i].index, shards[*i].file
                );
                println!(
                    "  {}: {}",
                    c["invariant"].as_str().unwrap_or("?"),
                    c["detail"].as_str().unwrap_or("")
                );
                if let Some(path) = &saved {
                    println!("  trace saved: {path}");
                    println!("  replay: {}", trace_command(path));
                    println!("  render: {}", render_command(path));
                    println!("  shrink: {}", shrink_command(path));
                }
            }
        }
        Format::Json => {
            let properties: Vec<Value> = merged
                .properties
                .iter()
                .map(|(name, kind, status)| {
                    serde_json::json!({"name": name, "kind": kind, "status": status})
                })
                .collect();
            let json = serde_json::json!({
                "model": model,
                "bugs": values[0]["bugs"],
                "shards": shards.iter().map(|s| serde_json::json!({
                    "index": s.index,
                    "file": s.file,
                    "verdict": s.verdict,
                })).collect::<Vec<_>>(),
                "shard_count": shards[0].count,
                "missing_shards": merged.missing,
                "split_depth": values[0]["shard"]["split_depth"],
                "unique_states_over_shards": unique,
                "total_states_over_shards": total,
                "verdict": merged.verdict,
                "verdict_text": merged.verdict_text,
                "properties": properties,
                "counterexample": merged.winner.as_ref().map(|(i, c)| serde_json::json!({
                    "invariant": c["invariant"],
                    "detail": c["detail"],
                    "length": c["length"],
                    "shard": shards[*i].index,
                    "summary": shards[*i].file,
                    "trace": saved,
                    "replay": saved.as_deref().map(trace_command),
                    "render": saved.as_deref().map(render_command),
                })),
            });
            println!("{json}");
        }
    }
    Ok(if merged.verdict == "pass" {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
