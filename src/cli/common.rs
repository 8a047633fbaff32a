//! What two or more commands share: the `--bug`, `--out-dir` and `--format` flags, checks and
//! parsers for argument values, model loading, the progress bar, and the follow-up command
//! lines printed for a saved trace.

use checkpoint_harness::bugs::{Bug, BugSet};
use checkpoint_harness::error::InputError;
use checkpoint_harness::sim::Shard;
use checkpoint_harness::spec::{Spec, EMBEDDED_MODELS};
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
    /// Where failing traces and counterexamples are written (`target/traces` in a checkout of
    /// checkpoint-harness, otherwise `checkpoint-harness-traces` in the current directory).
    #[arg(long, default_value_t = default_trace_dir())]
    pub out_dir: String,
}

/// `target/traces` in a checkout, else [`TRACES_OUTSIDE_CHECKOUT`].
fn default_trace_dir() -> String {
    if in_checkout() {
        "target/traces".to_string()
    } else {
        TRACES_OUTSIDE_CHECKOUT.to_string()
    }
}

/// The default trace directory outside a checkout.
pub const TRACES_OUTSIDE_CHECKOUT: &str = "checkpoint-harness-traces";

impl TraceDir {
    /// The directory to write into: the flag's value (not empty), or the default.
    pub fn resolve(&self) -> Result<String, InputError> {
        if self.out_dir.trim().is_empty() {
            return Err(InputError::new(
                "command line",
                "--out-dir",
                "is empty; give a directory (`.` for the current one)",
            ));
        }
        Ok(self.out_dir.clone())
    }
}

/// Whether the current directory is a checkout of checkpoint-harness (its `Cargo.toml` names the
/// package), where `target/` is cargo's and traces may go under it.
fn in_checkout() -> bool {
    std::fs::metadata("Cargo.toml").is_ok_and(|m| m.is_file() && m.len() < 1 << 20)
        && std::fs::read_to_string("Cargo.toml").is_ok_and(|text| {
            text.lines()
                .any(|line| line.replace(' ', "") == "name=\"checkpoint-harness\"")
        })
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
pub fn positive<T: Copy + Default + PartialEq>(flag: &str, value: T) -> Result<T, InputError> {
    if value == T::default() {
        Err(InputError::new("command line", flag, "must be at least 1"))
    } else {
        Ok(value)
    }
}

/// `value`, or an input error naming `flag` if it is above `max` (`why` says where the limit
/// comes from).
pub fn at_most<T: Copy + PartialOrd + std::fmt::Display>(
    flag: &str,
    value: T,
    max: T,
    why: &str,
) -> Result<T, InputError> {
    if value > max {
        Err(InputError::new(
            "command line",
            flag,
            format!("{value} is more than {max} ({why})"),
        ))
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
/// those bugs. A file on disk comes first; otherwise an embedded model may be named by its name
/// (`linear`) or its path in the repository (`models/linear.toml`) from any directory, and
/// either with `@small` names the model's small instance (`system/instance.rs`).
pub fn load_model(path: Option<&str>, bugs: &[String]) -> Result<(Spec, BugSet), InputError> {
    let extra = parse_bugs(bugs)?;
    // `MODEL@small`: the small instance of MODEL (a file or an embedded model).
    if let Some(base) = path
        .filter(|p| !std::path::Path::new(p).exists())
        .and_then(Spec::small_base)
    {
        let (spec, _) = load_model(Some(base), &[])?;
        let instance = spec.small_instance().ok_or_else(|| {
            InputError::new(
                &spec.file,
                "small",
                format!(
                    "the model has no small instance (no `[small]` table), so `{}` names nothing",
                    path.unwrap_or_default()
                ),
            )
        })?;
        return Ok((instance.with_bugs(extra), extra));
    }
    let spec = match path {
        Some(path) if std::path::Path::new(path).exists() => Spec::load(path)?,
        Some(path) => match embedded_model(path) {
            Some(spec) => spec,
            None => {
                let mut error = Spec::load(path)
                    .err()
                    .unwrap_or_else(|| InputError::new(path, "", "cannot read the file"));
                let names: Vec<&str> = EMBEDDED_MODELS.iter().map(|(name, _)| *name).collect();
                error.reason = format!(
                    "{} (nor is it an embedded model: {})",
                    error.reason,
                    names.join(", ")
                );
                return Err(error);
            }
        },
        None => Spec::default_model(),
    };
    Ok((spec.with_bugs(extra), extra))
}

/// The embedded model `name` names (`linear`, `linear.toml` or `models/linear.toml`).
fn embedded_model(name: &str) -> Option<Spec> {
    let bare = name.strip_prefix("models/").unwrap_or(name);
    let bare = bare.strip_suffix(".toml").unwrap_or(bare);
    Spec::embedded(bare)
}

/// `--seed N` as a one-seed range.
pub fn single_seed(seed: u64) -> Result<std::ops::Range<u64>, InputError> {
    let end = seed.checked_add(1).ok_or_else(|| {
        InputError::new(
            "command line",
            "--seed",
            format!("{seed} is too large (the largest seed is {})", u64::MAX - 1),
        )
    })?;
    Ok(seed..end)
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

/// How to run this binary again from the user's shell: `checkpoint-harness` when that name on
/// `PATH` is this binary, otherwise the path that was run (relative to the current directory
/// when it lies below it).
pub fn program() -> &'static str {
    static PROGRAM: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PROGRAM.get_or_init(|| {
        const NAME: &str = "checkpoint-harness";
        let Some(argv0) = std::env::args_os().next() else {
            return NAME.to_string();
        };
        let run = std::path::PathBuf::from(&argv0);
        let Some(text) = argv0.to_str() else {
            return NAME.to_string();
        };
        if !text.contains(std::path::MAIN_SEPARATOR) && !text.contains('/') {
            // Found on PATH under the name it was called by.
            return shell_quote(text);
        }
        let actual = std::fs::canonicalize(&run).ok();
        let on_path = std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join(NAME))
                .find(|candidate| candidate.is_file())
        });
        if on_path.is_some_and(|p| std::fs::canonicalize(p).ok() == actual && actual.is_some()) {
            return NAME.to_string();
        }
        let shown = match (&actual, std::env::current_dir().ok()) {
            (Some(actual), Some(cwd)) => match actual.strip_prefix(&cwd) {
                Ok(relative) if relative.components().count() > 1 => relative.to_path_buf(),
                Ok(relative) => std::path::Path::new(".").join(relative),
                Err(_) => actual.clone(),
            },
            (Some(actual), None) => actual.clone(),
            (None, _) => run,
        };
        shell_quote(&shown.to_string_lossy())
    })
}

/// `text` as one shell word: as it is when it holds only safe characters, else single-quoted.
pub fn shell_quote(text: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c);
    if !text.is_empty() && text.chars().all(safe) {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

/// The command line that replays the trace at `path`.
pub fn trace_command(path: &str) -> String {
    format!("{} replay {}", program(), shell_quote(path))
}

/// The command line that renders the trace at `path` as an HTML report next to it.
pub fn render_command(path: &str) -> String {
    let report = std::path::Path::new(path).with_extension("html");
    format!(
        "{} render {} --format html -o {}",
        program(),
        shell_quote(path),
        shell_quote(&report.to_string_lossy())
    )
}

/// The command line that shrinks the trace at `path` into a file next to it (the user keeps a
/// regression by choosing `-o traces/NAME.json` instead).
pub fn shrink_command(path: &str) -> String {
    let target = std::path::Path::new(path);
    let stem = target
        .file_stem()
        .map_or("trace".into(), |s| s.to_string_lossy());
    let shrunk = target.with_file_name(format!("{stem}.shrunk.json"));
    format!(
        "{} shrink {} -o {}",
        program(),
        shell_quote(path),
        shell_quote(&shrunk.to_string_lossy())
    )
}

/// `text` as a file-name part: characters other than letters, digits, `-`, `_` and `.` become
/// `_`, and it never starts with a dot (model names are validated too; this is the second wall).
pub fn file_part(text: &str) -> String {
    let part: String = text
        .chars()
        .take(64)
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    match part.strip_prefix('.') {
        Some(rest) => format!("_{rest}"),
        None if part.is_empty() => "_".to_string(),
        None => part,
    }
}

/// A byte count with a unit (`--max-memory 4G`, `512M`, `100000K`, `123456789`).
pub fn parse_bytes(flag: &str, text: &str) -> Result<u64, InputError> {
    let bad = |reason: &str| InputError::new("command line", flag, format!("{text:?}: {reason}"));
    let trimmed = text.trim();
    let (number, unit) = match trimmed.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => trimmed.split_at(at),
        None => (trimmed, ""),
    };
    let number: u64 = number
        .parse()
        .map_err(|_| bad("expected a size such as 4G, 512M or 100000K"))?;
    let scale: u64 = match unit
        .trim()
        .to_ascii_uppercase()
        .trim_end_matches("IB")
        .trim_end_matches('B')
    {
        "" => 1,
        "K" => 1 << 10,
        "M" => 1 << 20,
        "G" => 1 << 30,
        "T" => 1 << 40,
        _ => return Err(bad("unknown unit (use K, M, G or T)")),
    };
    let bytes = number.checked_mul(scale).ok_or_else(|| bad("too large"))?;
    if bytes == 0 {
        return Err(bad("must be more than 0"));
    }
    Ok(bytes)
}
