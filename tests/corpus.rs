//! The data-driven corpus: every model in `models/` loads and is documented, and every trace in
//! `traces/` replays to its recorded expectation (regression files that once failed keep
//! failing the way they were recorded; fixed ones are recorded as passing).

use checkpoint_harness::invariants::Oracle;
use checkpoint_harness::spec::{Spec, DEFAULT_MODEL_TEXT, EMBEDDED_MODELS};
use checkpoint_harness::trace::{self, Expected, Trace};
use std::path::{Path, PathBuf};

fn files(dir: &Path, extension: &str, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            files(&path, extension, out);
        } else if path.extension().is_some_and(|e| e == extension) {
            out.push(path);
        }
    }
}

#[test]
fn every_model_loads_and_is_documented() {
    let mut models = Vec::new();
    files(Path::new("models"), "toml", &mut models);
    assert!(models.len() >= 8, "at least eight models: {models:?}");
    let readme = std::fs::read_to_string("models/README.md").expect("models/README.md");
    for path in &models {
        let name = path.to_str().expect("utf-8");
        let spec = Spec::load(name).unwrap_or_else(|e| panic!("{e}"));
        let file = path.file_name().expect("file").to_string_lossy();
        assert!(
            readme.contains(&format!("`{file}`")),
            "models/README.md does not describe {file}"
        );
        assert!(!spec.description.is_empty(), "{name} has no description");
    }
}

#[test]
fn the_embedded_models_are_the_files_in_models() {
    let mut on_disk = Vec::new();
    files(Path::new("models"), "toml", &mut on_disk);
    let mut names: Vec<String> = on_disk
        .iter()
        .map(|p| p.file_stem().expect("stem").to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut embedded: Vec<&str> = EMBEDDED_MODELS.iter().map(|(n, _)| *n).collect();
    embedded.sort();
    assert_eq!(
        names, embedded,
        "register new models in spec::EMBEDDED_MODELS"
    );
    for (name, text) in EMBEDDED_MODELS {
        let file = std::fs::read_to_string(format!("models/{name}.toml")).expect("exists");
        assert_eq!(&file, text, "{name}");
        assert!(Spec::embedded(name).is_some());
    }
}

#[test]
fn the_embedded_default_model_is_the_file_in_models() {
    let on_disk = std::fs::read_to_string("models/keyed-join-2pc.toml").expect("exists");
    assert_eq!(on_disk, DEFAULT_MODEL_TEXT);
    let spec = Spec::default_model();
    assert_eq!(spec.name, "keyed-join-2pc");
}

#[test]
fn every_trace_replays_to_its_recorded_expectation() {
    let mut traces = Vec::new();
    files(Path::new("traces"), "json", &mut traces);
    assert!(!traces.is_empty(), "traces/ holds regression files");
    let mut failures = Vec::new();
    for path in &traces {
        let name = path.to_str().expect("utf-8");
        let trace = Trace::load(name).unwrap_or_else(|e| panic!("{e}"));
        let spec = trace.spec(name).unwrap_or_else(|e| panic!("{e}"));
        let oracle = Oracle::new(&spec);
        let replayed = match trace::replay(&spec, &oracle, &trace, name) {
            Ok(replayed) => replayed,
            Err(error) => {
                failures.push(format!("{error}"));
                continue;
            }
        };
        let got = Expected::of(&replayed.outcome);
        if got != trace.expected {
            failures.push(format!(
                "{name}: expected {:?}, replay gives {got:?}",
                trace.expected
            ));
        }
        if let Expected::Violation { .. } = trace.expected {
            assert!(
                !trace.note.trim().is_empty(),
                "{name}: a regression file needs a short postmortem in `note`"
            );
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
