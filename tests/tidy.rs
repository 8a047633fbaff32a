//! Tidy: the mechanical parts of the architecture invariants (ARCHITECTURE.md), checked on the
//! source text.
//!
//! - Step-function modules (protocol, coordinator, task) do no I/O, read no clock, draw no random
//!   numbers, and know nothing of petgraph, stateright, serde_json or clap.
//! - State-holding and behaviour-deciding modules use no `HashMap`/`HashSet`.
//! - Only `scheduler.rs` touches randomness; only `check.rs` names stateright; only `main.rs`
//!   prints.
//! - Every Rust file starts with a `//!` module doc.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n == "snapshots") {
                continue;
            }
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn source_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    rust_files(Path::new("src"), &mut files);
    files
}

fn relative(path: &Path) -> String {
    path.to_string_lossy().replace('\\', "/")
}

/// Lines of code without comments (so that docs may name what the code must not use).
fn code_lines(text: &str) -> Vec<(usize, String)> {
    text.lines()
        .enumerate()
        .filter_map(|(i, line)| {
            let code = line.split("//").next().unwrap_or("").to_string();
            (!code.trim().is_empty()).then_some((i + 1, code))
        })
        .collect()
}

fn violations(files: &[PathBuf], forbidden: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(file).expect("readable source");
        for (number, line) in code_lines(&text) {
            for word in forbidden {
                if line.contains(word) {
                    found.push(format!(
                        "{}:{number}: `{word}` in `{}`",
                        relative(file),
                        line.trim()
                    ));
                }
            }
        }
    }
    found
}

fn is_step_function_module(path: &Path) -> bool {
    let name = relative(path);
    name == "src/system/protocol.rs"
        || name.starts_with("src/system/coordinator/")
        || name.starts_with("src/system/coordinator/")
        || name.starts_with("src/system/task/")
        || name.starts_with("src/system/task/")
}

#[test]
fn step_functions_do_no_io_read_no_clock_draw_no_random_numbers() {
    let files: Vec<PathBuf> = source_files()
        .into_iter()
        .filter(|p| is_step_function_module(p))
        .collect();
    assert!(
        files.len() >= 8,
        "the step-function modules moved: {files:?}"
    );
    let found = violations(
        &files,
        &[
            "std::time",
            "Instant",
            "SystemTime",
            "rand::",
            "rand_chacha",
            "thread_rng",
            "std::fs",
            "std::io",
            "std::net",
            "std::thread",
            "std::env",
            "println!",
            "eprintln!",
            "petgraph",
            "stateright",
            "serde_json",
            "clap",
        ],
    );
    assert!(
        found.is_empty(),
        "impure step functions:\n{}",
        found.join("\n")
    );
}

#[test]
fn no_hash_map_or_hash_set_decides_behaviour() {
    let files: Vec<PathBuf> = source_files()
        .into_iter()
        .filter(|p| relative(p) != "src/main.rs")
        .collect();
    let found = violations(&files, &["HashMap", "HashSet"]);
    assert!(
        found.is_empty(),
        "nondeterministic iteration order in library code:\n{}",
        found.join("\n")
    );
}

#[test]
fn only_the_scheduler_touches_randomness() {
    let files: Vec<PathBuf> = source_files()
        .into_iter()
        .filter(|p| relative(p) != "src/explore/scheduler.rs")
        .collect();
    let found = violations(&files, &["rand::", "rand_chacha", "thread_rng", "ChaCha"]);
    assert!(
        found.is_empty(),
        "randomness outside scheduler.rs:\n{}",
        found.join("\n")
    );
}

#[test]
fn only_check_names_stateright() {
    let files: Vec<PathBuf> = source_files()
        .into_iter()
        .filter(|p| relative(p) != "src/explore/check.rs")
        .collect();
    let found = violations(&files, &["stateright"]);
    assert!(
        found.is_empty(),
        "stateright outside check.rs:\n{}",
        found.join("\n")
    );
}

#[test]
fn only_main_prints() {
    let files: Vec<PathBuf> = source_files()
        .into_iter()
        .filter(|p| relative(p) != "src/main.rs")
        .collect();
    let found = violations(&files, &["println!", "eprintln!", "print!("]);
    assert!(
        found.is_empty(),
        "printing outside main.rs:\n{}",
        found.join("\n")
    );
}

#[test]
fn no_wall_clock_decides_behaviour() {
    // Wall-clock time may only measure (progress, time limits, statistics), in these modules.
    let allowed = [
        "src/main.rs",
        "src/explore/check.rs",
        "src/system/bugs.rs",
        "src/present/report.rs",
    ];
    let files: Vec<PathBuf> = source_files()
        .into_iter()
        .filter(|p| !allowed.contains(&relative(p).as_str()))
        .collect();
    let found = violations(&files, &["Instant::now", "SystemTime"]);
    assert!(
        found.is_empty(),
        "wall clock in behaviour:\n{}",
        found.join("\n")
    );
}

#[test]
fn every_rust_file_has_a_module_doc() {
    let mut files = source_files();
    rust_files(Path::new("tests"), &mut files);
    rust_files(Path::new("benches"), &mut files);
    let missing: Vec<String> = files
        .iter()
        .filter(|file| {
            let text = std::fs::read_to_string(file).expect("readable");
            !text.trim_start().starts_with("//!")
        })
        .map(|f| relative(f))
        .collect();
    assert!(missing.is_empty(), "files without a `//!` doc: {missing:?}");
}
