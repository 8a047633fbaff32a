//! `explore`: serve the model checker's Explorer web UI for a model on 127.0.0.1, until
//! interrupted. The port is checked before anything is served (a port in use is an input error
//! naming it; `--port 0` picks a free one and prints it), and a client that drops its
//! connection does not print a panic.

use super::common::{load_model, InjectedBugs};
use checkpoint_harness::check;
use checkpoint_harness::error::InputError;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(clap::Args)]
pub struct Args {
    /// Model file, or the name of an embedded model (omit for the embedded default model).
    model: Option<String>,
    /// Port on 127.0.0.1 (0: any free port, printed).
    #[arg(long, default_value_t = 3000)]
    port: u16,
    #[command(flatten)]
    injected: InjectedBugs,
}

pub fn run(args: Args) -> Result<ExitCode, InputError> {
    let (spec, _) = load_model(args.model.as_deref(), &args.injected.bugs)?;
    // Bind first, so that a port in use is reported before "serving", and port 0 resolves.
    let port = {
        let listener = std::net::TcpListener::bind(("127.0.0.1", args.port)).map_err(|e| {
            InputError::new(
                "command line",
                "--port",
                format!(
                    "cannot listen on 127.0.0.1:{}: {e} (is another program using the port? choose another with --port, or --port 0 for any free one)",
                    args.port
                ),
            )
        })?;
        listener
            .local_addr()
            .map_err(|e| InputError::new("command line", "--port", e.to_string()))?
            .port()
    };
    quiet_connection_panics();
    eprintln!(
        "serving the Explorer for {} on http://127.0.0.1:{port}/ (Ctrl-C to stop)",
        spec.name
    );
    check::explore(Arc::new(spec), port)
}

/// The Explorer's web server (stateright over tiny_http) unwraps socket errors, so a browser
/// that closes a connection early panics a server thread. Those panics are expected and
/// recovered from: keep them off the terminal; any other panic is reported as usual.
fn quiet_connection_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        let connection = [
            "NotConnected",
            "BrokenPipe",
            "ConnectionReset",
            "ConnectionAborted",
            "UnexpectedEof",
            "TimedOut",
        ]
        .iter()
        .any(|kind| message.contains(kind));
        let server_thread = std::thread::current().name() == Some(check::EXPLORER_THREAD);
        if connection || (server_thread && message.contains("Any {")) {
            return;
        }
        default(info);
    }));
}
