//! `show`: print a model's topology (parallelism, partitioning, channels) and its checkpoint
//! configuration as text, a Graphviz dot graph or a Mermaid flowchart.

use super::common::load_model;
use checkpoint_harness::error::InputError;
use checkpoint_harness::show;
use clap::ValueEnum;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// Model file (omit for the embedded default model).
    model: Option<String>,
    #[arg(long, value_enum, default_value = "text")]
    format: ShowFormat,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ShowFormat {
    Text,
    Dot,
    Mermaid,
}

pub fn run(args: Args) -> Result<ExitCode, InputError> {
    let (spec, _) = load_model(args.model.as_deref(), &[])?;
    print!(
        "{}",
        match args.format {
            ShowFormat::Text => show::text(&spec),
            ShowFormat::Dot => show::dot(&spec),
            ShowFormat::Mermaid => show::mermaid(&spec),
        }
    );
    Ok(ExitCode::SUCCESS)
}
