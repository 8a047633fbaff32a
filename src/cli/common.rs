//! What two or more commands share: the `--bug`, `--out-dir` and `--format` flags, checks and
//! parsers for argument values, model loading, the progress bar, and the follow-up command
//! lines printed for a saved trace.

use checkpoint_harness::bugs::{Bug, BugSet};
use checkpoint_harness::error::InputError;
use checkpoint_harness::sim::Shard;
use checkpoint_harness::spec::Spec;
use clap::ValueEnum;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::time::Duration;

/// `--bug NAME` (repeatable): injected bugs to switch on in the model.
#[derive(clap::Args)]
pub struct InjectedBugs {
    /// Switch on an injected bug (repeatable; see `bugs`).
    #[arg(long = "bug")]
    pub bugs: Vec<String>,
}

/// `--out-dir DIR`: where a command saves the traces it finds.
#[derive(clap::Args)]
pub struct TraceDir {
    /// Where failing traces and counterexamples are written.
    #[arg(long, default_value = "target/traces")]
    pub out_dir: String,
}

/// `--format text|json`.
#[derive(clap::Args)]
pub struct OutputFormat {
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

/// `value`, or an input error naming `flag` if it is 0.
pub fn positive(flag: &str, value: usize) -> Result<usize, InputError> {
    if value == 0 {
        Err(InputError::new("command line", flag, "must be at least 1"))
    } else {
        Ok(value)
    }
}

/// The bugs named by `--bug` flags.
pub fn parse_bugs(names: &[String]) -> Result<BugSet, InputError> {
    let mut set = BugSet::default();
    for name in names {
        let bug = Bug::from_name(name).ok_or_else(|| {
            InputError::new(
                "command line",
                "--bug",
                format!("unknown bug {name:?} (run `checkpoint-harness bugs` for the list)"),
            )
        })?;
        set.insert(bug);
    }
    Ok(set)
}

/// The model at `path` (or the embedded default model) with the `--bug` bugs switched on, and
/// those bugs.
pub fn load_model(path: Option<&str>, bugs: &[String]) -> Result<(Spec, BugSet), InputError> {
    let extra = parse_bugs(bugs)?;
    let spec = match path {
        Some(path) => Spec::load(path)?,
        None => Spec::default_model(),
    };
    Ok((spec.with_bugs(extra), extra))
}

/// A `--seeds A..B` range (B exclusive, B > A).
pub fn parse_range(text: &str) -> Result<std::ops::Range<u64>, InputError> {
    let bad =
        |reason: &str| InputError::new("command line", "--seeds", format!("{text:?}: {reason}"));
    let (start, end) = text.split_once("..").ok_or_else(|| bad("expected A..B"))?;
    let start: u64 = start.trim().parse().map_err(|_| bad("A is not a number"))?;
    let end: u64 = end.trim().parse().map_err(|_| bad("B is not a number"))?;
    if end <= start {
        return Err(bad("B must be greater than A"));
    }
    Ok(start..end)
}

/// A `--shard K/N` (0 <= K < N).
pub fn parse_shard(text: &str) -> Result<Shard, InputError> {
    let bad =
        |reason: &str| InputError::new("command line", "--shard", format!("{text:?}: {reason}"));
    let (index, count) = text.split_once('/').ok_or_else(|| bad("expected K/N"))?;
    let index: u64 = index.trim().parse().map_err(|_| bad("K is not a number"))?;
    let count: u64 = count.trim().parse().map_err(|_| bad("N is not a number"))?;
    if count == 0 || index >= count {
        return Err(bad("need N >= 1 and 0 <= K < N"));
    }
    Ok(Shard { index, count })
}

/// A progress bar over `length` seeds, or a spinner without a length; hidden unless `enabled`
/// and standard error is a terminal.
pub fn spinner(enabled: bool, length: Option<u64>) -> ProgressBar {
    if !enabled || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    match length {
        Some(length) => {
            let bar = ProgressBar::new(length);
            bar.set_style(
                ProgressStyle::with_template(
                    "{bar:40} {pos}/{len} seeds {per_sec} eta {eta} {msg}",
                )
                .expect("valid template"),
            );
            bar
        }
        None => {
            let bar = ProgressBar::new_spinner();
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        }
    }
}

/// The command line that replays the trace at `path`.
pub fn trace_command(path: &str) -> String {
    format!("checkpoint-harness replay {path}")
}

/// The command line that renders the trace at `path` as an HTML report next to it.
pub fn render_command(path: &str) -> String {
    let report = std::path::Path::new(path).with_extension("html");
    format!(
        "checkpoint-harness render {path} --format html -o {}",
        report.display()
    )
}
