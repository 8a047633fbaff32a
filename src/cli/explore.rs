//! `explore`: serve the model checker's Explorer web UI for a model on 127.0.0.1, until
//! interrupted.

use super::common::{load_model, InjectedBugs};
use checkpoint_harness::check;
use checkpoint_harness::error::InputError;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(clap::Args)]
pub struct Args {
    /// Model file (omit for the embedded default model).
    model: Option<String>,
    #[arg(long, default_value_t = 3000)]
    port: u16,
    #[command(flatten)]
    injected: InjectedBugs,
}

pub fn run(args: Args) -> Result<ExitCode, InputError> {
    let (spec, _) = load_model(args.model.as_deref(), &args.injected.bugs)?;
    eprintln!(
        "serving the Explorer for {} on http://127.0.0.1:{port}/ (Ctrl-C to stop)",
        spec.name,
        port = args.port
    );
    check::explore(Arc::new(spec), args.port)
}
