//! Property-based tests: small random topologies, configurations and schedules, asserting that
//! the correct coordinator never violates an invariant and always finishes once faults stop.
//!
//! A schedule is a vector of choice indices into the enabled actions, so proptest's shrinking
//! shrinks the schedule itself. Topologies are generated as model text and go through the
//! normal parser and validation. Regression seeds are kept in `traces/proptest-regressions/`.

use checkpoint_harness::invariants::{self, Oracle};
use checkpoint_harness::spec::Spec;
use checkpoint_harness::world::{self, Options, World};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;

/// A small random model.
#[derive(Clone, Debug)]
struct Shape {
    two_sources: bool,
    records: [u8; 2],
    keys: u8,
    middle: Middle,
    middle_parallelism: u8,
    partitioning: &'static str,
    mode: Mode,
    max_concurrent: u8,
    crashes: u8,
    declines: u8,
    lost: u8,
    unordered: bool,
}

#[derive(Clone, Copy, Debug)]
enum Middle {
    None,
    Map,
    Aggregate,
    /// Union of both sources (or a map with one source).
    Union,
    /// Join of both sources (or an aggregation with one source).
    Join,
}

#[derive(Clone, Copy, Debug)]
enum Mode {
    Aligned,
    Unaligned,
    Timeout,
    AtLeastOnce,
}

impl Shape {
    fn model(&self) -> String {
        let mut text = String::from("name = \"generated\"\ndescription = \"proptest\"\n");
        let sources: &[&str] = if self.two_sources {
            &["left", "right"]
        } else {
            &["left"]
        };
        for (index, name) in sources.iter().enumerate() {
            text += &format!(
                "[[operators]]\nname = \"{name}\"\nkind = \"source\"\nrecords = {}\nkeys = {}\n",
                self.records[index], self.keys
            );
        }
        let middle = match (self.middle, self.two_sources) {
            (Middle::None, _) => None,
            (Middle::Map, _) | (Middle::Union, false) => Some("map"),
            (Middle::Aggregate, _) | (Middle::Join, false) => Some("keyed-aggregate"),
            (Middle::Union, true) => Some("union"),
            (Middle::Join, true) => Some("join"),
        };
        let sink = if matches!(self.mode, Mode::AtLeastOnce) {
            "at-least-once-sink"
        } else {
            "two-phase-commit-sink"
        };
        if let Some(kind) = middle {
            text += &format!(
                "[[operators]]\nname = \"middle\"\nkind = \"{kind}\"\nparallelism = {}\n",
                self.middle_parallelism
            );
        }
        text += &format!("[[operators]]\nname = \"sink\"\nkind = \"{sink}\"\n");
        let (into_middle, into_sink) = match middle {
            Some(_) if self.middle_parallelism > 1 => (self.partitioning, "rebalance"),
            Some(_) => ("hash", "forward"),
            None => ("forward", "forward"),
        };
        for name in sources {
            let target = if middle.is_some() { "middle" } else { "sink" };
            let partitioning = if middle.is_some() {
                into_middle
            } else {
                "forward"
            };
            text += &format!(
                "[[edges]]\nfrom = \"{name}\"\nto = \"{target}\"\npartitioning = \"{partitioning}\"\n"
            );
        }
        if middle.is_some() {
            text += &format!(
                "[[edges]]\nfrom = \"middle\"\nto = \"sink\"\npartitioning = \"{into_sink}\"\n"
            );
        }
        let (mode, alignment_timeout) = match self.mode {
            Mode::Aligned => ("aligned", 0),
            Mode::Unaligned => ("unaligned", 0),
            Mode::Timeout => ("unaligned", 4),
            Mode::AtLeastOnce => ("at-least-once", 0),
        };
        text += &format!(
            "[checkpointing]\nmode = \"{mode}\"\nalignment_timeout = {alignment_timeout}\ninterval = 10\nmax_concurrent = {}\ntimeout = 30\ntolerable_failures = \"unlimited\"\n",
            self.max_concurrent
        );
        text += &format!(
            "[faults]\ntask_crashes = {}\ndeclined_snapshots = {}\nlost_rpcs = {}\n",
            self.crashes, self.declines, self.lost
        );
        text += &format!(
            "[network]\nrpc_order = \"{}\"\n",
            if self.unordered {
                "unordered"
            } else {
                "per-pair-fifo"
            }
        );
        text
    }
}

fn shapes() -> impl Strategy<Value = Shape> {
    (
        (any::<bool>(), 0u8..3, 0u8..3, 1u8..3),
        prop_oneof![
            Just(Middle::None),
            Just(Middle::Map),
            Just(Middle::Aggregate),
            Just(Middle::Union),
            Just(Middle::Join)
        ],
        (
            1u8..3,
            prop_oneof![Just("hash"), Just("broadcast"), Just("rebalance")],
        ),
        prop_oneof![
            Just(Mode::Aligned),
            Just(Mode::Unaligned),
            Just(Mode::Timeout),
            Just(Mode::AtLeastOnce)
        ],
        (1u8..3, 0u8..2, 0u8..2, 0u8..2, any::<bool>()),
    )
        .prop_map(
            |(
                (two_sources, r0, r1, keys),
                middle,
                (middle_parallelism, partitioning),
                mode,
                (max_concurrent, crashes, declines, lost, unordered),
            )| {
                Shape {
                    two_sources,
                    records: [r0, r1],
                    keys,
                    middle,
                    middle_parallelism,
                    partitioning,
                    mode,
                    max_concurrent,
                    crashes,
                    declines,
                    lost,
                    unordered,
                }
            },
        )
}

/// Runs a schedule of choice indices, then a deterministic healed continuation; returns the
/// first violation, or an error if the job does not finish.
fn run(spec: &Spec, schedule: &[u16]) -> Result<(), String> {
    let oracle = Oracle::new(spec);
    let mut world = World::initial(spec);
    let faulty = Options {
        faults: true,
        user_requests: true,
        horizon: None,
        timers_last: false,
    };
    for (step, choice) in schedule.iter().enumerate() {
        let enabled = world::enabled_with(spec, &world, faulty);
        if enabled.is_empty() {
            break;
        }
        let action = enabled[*choice as usize % enabled.len()];
        world = world::apply(spec, &world, action).map_err(|e| format!("{e:?}"))?;
        invariants::check_all(spec, &oracle, &world)
            .map_err(|v| format!("step {}: {action:?}: {v}", step + 1))?;
    }
    for step in 0..2000 {
        if world.job_done() {
            return Ok(());
        }
        let Some(action) = world::enabled_with(spec, &world, Options::healed())
            .first()
            .copied()
        else {
            break;
        };
        world = world::apply(spec, &world, action).map_err(|e| format!("{e:?}"))?;
        invariants::check_all(spec, &oracle, &world)
            .map_err(|v| format!("healed step {step}: {action:?}: {v}"))?;
    }
    if world.job_done() {
        Ok(())
    } else {
        Err(format!(
            "the job did not finish after faults stopped: {:?}",
            world.coordinator.job
        ))
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 400,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "traces/proptest-regressions/properties.txt",
        ))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn the_correct_coordinator_keeps_every_invariant(
        shape in shapes(),
        schedule in prop::collection::vec(any::<u16>(), 0..160),
    ) {
        let text = shape.model();
        let spec = Spec::parse("generated", &text)
            .map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        if let Err(failure) = run(&spec, &schedule) {
            return Err(TestCaseError::fail(format!("{failure}\nmodel:\n{text}")));
        }
    }
}
