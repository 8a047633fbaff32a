//! `render`: draw a trace as a fixed-column timeline, a Mermaid sequence diagram or a
//! self-contained HTML report, on standard output or atomically into a file.

use checkpoint_harness::error::InputError;
use checkpoint_harness::invariants::Oracle;
use checkpoint_harness::render;
use checkpoint_harness::trace::{self, Trace};
use clap::ValueEnum;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    trace: String,
    #[arg(long, value_enum, default_value = "text")]
    format: RenderFormat,
    /// Write to FILE (atomically) instead of standard output.
    #[arg(short = 'o', long = "output")]
    output: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum RenderFormat {
    Text,
    Mermaid,
    Html,
}

pub fn run(args: Args) -> Result<ExitCode, InputError> {
    run_render(&args.trace, args.format, args.output.as_deref())
}

fn run_render(
    path: &str,
    format: RenderFormat,
    output: Option<&str>,
) -> Result<ExitCode, InputError> {
    if output.is_some_and(|file| file.trim().is_empty()) {
        return Err(InputError::new(
            "command line",
            "--output",
            "is empty; give a file name, or leave -o out to write to standard output",
        ));
    }
    let trace = Trace::load(path)?;
    let spec = trace.spec(path)?;
    let oracle = Oracle::new(&spec);
    let replayed = trace::replay(&spec, &oracle, &trace, path)?;
    let text = match format {
        RenderFormat::Text => render::render_text(&spec, &replayed),
        RenderFormat::Mermaid => render::render_mermaid(&spec, &replayed),
        RenderFormat::Html => {
            // For output-level violations, show which records are missing or duplicated.
            let output_level = matches!(
                replayed.outcome.invariant(),
                Some(
                    "end-to-end-exactly-once"
                        | "restored-state-exactly-once"
                        | "healed-run-finishes"
                )
            );
            let evidence = output_level.then(|| {
                checkpoint_harness::invariants::output_evidence(&spec, &oracle, &replayed.world)
            });
            checkpoint_harness::html::report(&spec, &trace, &replayed, evidence.as_ref())
        }
    };
    match output {
        Some(file) => {
            trace::write_atomically(file, &text)?;
            println!("wrote {file}");
        }
        None => print!("{text}"),
    }
    Ok(ExitCode::SUCCESS)
}
