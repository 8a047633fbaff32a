//! The real Flink side: one long-lived process of the Java driver (`conformance/run-driver.sh`,
//! which compiles the driver when stale and fetches Flink's jars once into a cache), fed one
//! script at a time. Thousands of scripts run in one JVM at about a millisecond each.
//!
//! Where Java, `javac` or the jars cannot be had, [`FlinkDriver::start`] says so (the caller
//! decides whether that is a skip or a failure).

use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

/// Where the driver's sources and scripts are: `conformance/` of this checkout, or
/// `$CHECKPOINT_HARNESS_CONFORMANCE_DIR`.
pub fn conformance_dir() -> PathBuf {
    match std::env::var_os("CHECKPOINT_HARNESS_CONFORMANCE_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("conformance"),
    }
}

/// Why real Flink is not available here, and how to make it so.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unavailable(pub String);

impl std::fmt::Display for Unavailable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// How to enable the conformance suite, for skip messages.
pub const HOW_TO_ENABLE: &str = "install a JDK 17 (java and javac on PATH) and let \
     conformance/fetch-flink.sh download Flink 2.3.0's jars from PyPI (it needs pip); \
     CI's .ci/run does both";

/// A running driver process.
pub struct FlinkDriver {
    child: Child,
    input: Option<ChildStdin>,
    output: BufReader<ChildStdout>,
}

impl FlinkDriver {
    /// Builds (if stale) and starts the driver. `flink_lib`: a directory holding another build
    /// of Flink (`flink-dist-*.jar` and the log4j jars, as in a Flink distribution's `lib/`);
    /// `None` for the pinned 2.3.0.
    pub fn start(flink_lib: Option<&Path>) -> Result<FlinkDriver, Unavailable> {
        for program in ["java", "javac"] {
            let found = Command::new(program)
                .arg("-version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if !found {
                return Err(Unavailable(format!("`{program}` is not on PATH")));
            }
        }
        let dir = conformance_dir();
        let script = dir.join("run-driver.sh");
        if !script.is_file() {
            return Err(Unavailable(format!(
                "{} is missing (set CHECKPOINT_HARNESS_CONFORMANCE_DIR to the checkout's \
                 conformance/ directory)",
                script.display()
            )));
        }
        let driver_command = || {
            let mut command = Command::new("bash");
            command.arg(&script);
            if let Some(lib) = flink_lib {
                command.env("CHECKPOINT_HARNESS_FLINK_LIB", lib);
            }
            command
        };
        // Build first, so that a build or download failure is reported as such.
        let build = driver_command()
            .arg("--build")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .map_err(|e| Unavailable(format!("cannot run {}: {e}", script.display())))?;
        if !build.status.success() {
            let stderr = String::from_utf8_lossy(&build.stderr);
            let tail: Vec<&str> = stderr.lines().rev().take(6).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            return Err(Unavailable(format!(
                "building the Flink driver failed: {}",
                tail.join(" | ")
            )));
        }
        let mut child = driver_command()
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| Unavailable(format!("cannot start the Flink driver: {e}")))?;
        let input = child.stdin.take();
        let output = BufReader::new(child.stdout.take().expect("piped stdout"));
        Ok(FlinkDriver {
            child,
            input,
            output,
        })
    }

    /// Runs one script (a setup line, then inputs; `end` is appended) and returns the answer to
    /// each line: the setup's first, then one per input.
    pub fn run(&mut self, setup: &Value, inputs: &[Value]) -> Result<Vec<Value>, String> {
        let mut text = String::new();
        text.push_str(&setup.to_string());
        text.push('\n');
        for input in inputs {
            text.push_str(&input.to_string());
            text.push('\n');
        }
        text.push_str("{\"op\":\"end\"}\n");
        let stdin = self.input.as_mut().ok_or("the driver's input is closed")?;
        // Write from a second thread: the answers can outgrow a pipe's buffer before the whole
        // script is written.
        let answers = std::thread::scope(|scope| {
            let writer = scope.spawn(move || {
                stdin
                    .write_all(text.as_bytes())
                    .and_then(|()| stdin.flush())
            });
            let mut answers = Vec::with_capacity(inputs.len() + 1);
            let mut line = String::new();
            loop {
                line.clear();
                match self.output.read_line(&mut line) {
                    Ok(0) => return Err("the Flink driver exited".to_string()),
                    Ok(_) => {}
                    Err(e) => return Err(format!("reading the Flink driver: {e}")),
                }
                let value: Value = serde_json::from_str(line.trim())
                    .map_err(|e| format!("the Flink driver printed {line:?}: {e}"))?;
                if value.get("end").is_some() {
                    break;
                }
                answers.push(value);
            }
            writer
                .join()
                .map_err(|_| "the writer thread panicked".to_string())?
                .map_err(|e| format!("writing to the Flink driver: {e}"))?;
            Ok(answers)
        })?;
        if answers.len() != inputs.len() + 1 {
            return Err(format!(
                "the Flink driver answered {} lines to {} ({} inputs and the setup)",
                answers.len(),
                inputs.len() + 1,
                inputs.len()
            ));
        }
        Ok(answers)
    }
}

impl Drop for FlinkDriver {
    fn drop(&mut self) {
        drop(self.input.take()); // end of input: the driver exits
        let _ = self.child.wait();
    }
}
