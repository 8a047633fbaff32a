//! Conformance with real Flink: seeded schedules of the model's coordinator inputs, and every
//! saved trace, run through the model and through Flink 2.3's own `CheckpointCoordinator` (the
//! Java driver in `conformance/`), compared after every input. Zero divergences are allowed; a
//! catalogued coordinator bug switched on in the model must make them diverge (the canary).
//!
//! Needs Java 17 and Flink's jars (`conformance/fetch-flink.sh`). Without them each test prints
//! that it was skipped and how to enable it, and passes; with `CI` set it fails instead.

mod support;

use checkpoint_harness::conformance::flink::{FlinkDriver, HOW_TO_ENABLE};
use checkpoint_harness::conformance::{self, Coverage, Verdict};
use checkpoint_harness::spec::Spec;

fn driver(test: &str) -> Option<FlinkDriver> {
    match FlinkDriver::start(None) {
        Ok(driver) => Some(driver),
        Err(why) => {
            support::skip_or_fail(test, &format!("real Flink ({why})"), HOW_TO_ENABLE);
            None
        }
    }
}

/// Runs `seeds` schedules of `spec`; panics with the first divergence, shrunk.
fn sweep(driver: &mut FlinkDriver, spec: &Spec, seeds: std::ops::Range<u64>) -> (Coverage, u64) {
    let mut coverage = Coverage::default();
    let mut stopped = 0;
    for seed in seeds {
        let actions = conformance::schedule(spec, seed);
        match conformance::compare(driver, spec, &actions, &mut coverage).expect("driver runs") {
            Verdict::Conforms { stopped: s, .. } => {
                if let Some(why) = s {
                    stopped += 1;
                    if std::env::var_os("CONFORMANCE_SHOW_STOPS").is_some() {
                        eprintln!("seed {seed}: stopped {why}");
                    }
                }
            }
            Verdict::Diverges(d) => {
                let shrunk = conformance::shrink(driver, spec, &actions, 400).expect("shrinks");
                let mut unused = Coverage::default();
                let verdict = conformance::compare(driver, spec, &shrunk, &mut unused).unwrap();
                let d = verdict
                    .divergence()
                    .cloned()
                    .map(|b| *Box::new(b))
                    .unwrap_or(*d);
                panic!(
                    "{}: seed {seed} diverges at input {} ({}): model {} / flink {}\nscript:\n{}\n\
                     answers:\n{}\nmodel:\n{}flink:\n{}",
                    spec.name,
                    d.input + 1,
                    d.field,
                    d.model_value,
                    d.flink_value,
                    d.script.join("\n"),
                    d.answers.join("\n"),
                    d.model.describe(),
                    d.flink.describe()
                );
            }
            other => panic!("{}: {other:?}", spec.name),
        }
    }
    (coverage, stopped)
}

#[test]
fn the_default_model_conforms_to_real_flink_on_2000_schedules() {
    let Some(mut driver) = driver("the_default_model_conforms_to_real_flink_on_2000_schedules")
    else {
        return;
    };
    let spec = Spec::default_model();
    let (coverage, stopped) = sweep(&mut driver, &spec, 0..2000);
    println!(
        "{}: {stopped} of 2000 schedules stopped early; coverage {:?}",
        spec.name, coverage.counts
    );
}
