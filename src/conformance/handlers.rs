//! The task side against real Flink: the model's barrier handlers ([`Tracker`], Flink's
//! `CheckpointBarrierTracker`; [`SingleHandler`], Flink's `SingleCheckpointBarrierHandler` in its
//! `aligned` and `alternating` forms) fed the same seeded input sequences as Flink 2.3's own
//! handlers in the Java driver (`conformance/SCHEMA.md`, "Barrier handlers"), and compared after
//! every input: which checkpoints the handler triggered (and with which alignment), which it
//! aborted (and why), and which channels are blocked.
//!
//! A sequence is what one task with one to three input channels can receive: on every channel,
//! checkpoint ids in increasing order, each as a barrier, a cancellation marker or not at all,
//! maybe an end of partition after them; a blocked channel delivers nothing until the handler
//! resumes it (the credit-based network), and for the alternating handler, time moves and
//! alignment timers fire. Ids may be skipped on a channel: the handler must be faithful for every
//! input, not only for those today's models produce.

use crate::conformance::flink::FlinkDriver;
use crate::conformance::script::flink_reason;
use crate::explore::scheduler::Draws;
use crate::system::bugs::BugSet;
use crate::system::protocol::{Alignment, Barrier, CheckpointId, SnapshotKind, Tick};
use crate::system::spec::Spec;
use crate::system::task::handler::{Effects, HandlerEffect, SingleHandler};
use crate::system::task::tracker::Tracker;
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// Which of Flink's barrier handlers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HandlerKind {
    /// At-least-once: `CheckpointBarrierTracker`.
    Tracker,
    /// Exactly-once, unaligned checkpoints disabled: `SingleCheckpointBarrierHandler.aligned`.
    Aligned,
    /// Exactly-once, unaligned checkpoints enabled: `SingleCheckpointBarrierHandler.alternating`.
    Alternating,
}

impl HandlerKind {
    pub const ALL: [HandlerKind; 3] = [
        HandlerKind::Tracker,
        HandlerKind::Aligned,
        HandlerKind::Alternating,
    ];

    /// The driver's (and the command line's) name.
    pub fn name(self) -> &'static str {
        match self {
            HandlerKind::Tracker => "tracker",
            HandlerKind::Aligned => "aligned",
            HandlerKind::Alternating => "alternating",
        }
    }

    pub fn parse(name: &str) -> Option<HandlerKind> {
        HandlerKind::ALL.into_iter().find(|k| k.name() == name)
    }
}

/// The alignment timeout of the alternating handler's timeoutable barriers, in ticks.
const ALIGNMENT_TIMEOUT: Tick = 5;
/// Checkpoint ids of a sequence: 1 to this.
const MAX_ID: u32 = 5;
/// Checkpoint ids of a long sequence (one in twenty), where one channel runs far ahead of the
/// others: more than the tracker's `MAX_CHECKPOINTS_TO_TRACK` (50) checkpoints are pending.
const LONG_MAX_ID: u32 = 56;

/// One input to a handler, at virtual time `now`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HandlerInput {
    Barrier {
        channel: u8,
        barrier: Barrier,
        now: Tick,
    },
    Cancel {
        channel: u8,
        id: CheckpointId,
        now: Tick,
    },
    EndOfPartition {
        channel: u8,
        now: Tick,
    },
    /// Every alignment timer whose deadline is not after `now` fires.
    Timer {
        now: Tick,
    },
}

impl HandlerInput {
    /// The same input at time `now`.
    fn at(self, now: Tick) -> HandlerInput {
        match self {
            HandlerInput::Barrier {
                channel, barrier, ..
            } => HandlerInput::Barrier {
                channel,
                barrier,
                now,
            },
            HandlerInput::Cancel { channel, id, .. } => HandlerInput::Cancel { channel, id, now },
            HandlerInput::EndOfPartition { channel, .. } => {
                HandlerInput::EndOfPartition { channel, now }
            }
            HandlerInput::Timer { .. } => HandlerInput::Timer { now },
        }
    }

    /// The driver's input line.
    pub fn to_json(self) -> Value {
        match self {
            HandlerInput::Barrier {
                channel,
                barrier,
                now,
            } => json!({"op": "barrier", "channel": channel, "id": barrier.id.0,
                        "timestamp": barrier.timestamp, "alignment": alignment_name(barrier.alignment),
                        "now": now}),
            HandlerInput::Cancel { channel, id, now } => {
                json!({"op": "cancel", "channel": channel, "id": id.0, "now": now})
            }
            HandlerInput::EndOfPartition { channel, now } => {
                json!({"op": "end_of_partition", "channel": channel, "now": now})
            }
            HandlerInput::Timer { now } => json!({"op": "timer", "now": now}),
        }
    }
}

fn alignment_name(alignment: Alignment) -> &'static str {
    match alignment {
        Alignment::AtLeastOnce => "at_least_once",
        Alignment::Aligned => "aligned",
        Alignment::AlignedWithTimeout => "timeoutable",
        Alignment::Unaligned => "unaligned",
    }
}

/// What one input made a handler do, in the driver's answer form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HandlerObservation {
    /// `trigger <id> <alignment>` and `abort <id> <REASON>`, in order.
    pub events: Vec<String>,
    /// Blocked channels, ascending.
    pub blocked: Vec<u8>,
}

impl HandlerObservation {
    fn from_answer(answer: &Value) -> Result<HandlerObservation, String> {
        if let Some(error) = answer.get("error") {
            return Err(error.as_str().unwrap_or("?").to_string());
        }
        let strings = |key: &str| -> Vec<Value> {
            answer
                .get(key)
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        };
        Ok(HandlerObservation {
            events: strings("events")
                .iter()
                .map(|e| e.as_str().unwrap_or("?").to_string())
                .collect(),
            blocked: strings("blocked")
                .iter()
                .filter_map(Value::as_u64)
                .map(|c| c as u8)
                .collect(),
        })
    }
}

/// The model's handler of one kind.
enum ModelHandler {
    Tracker(Tracker),
    Single(SingleHandler),
}

impl ModelHandler {
    fn new(kind: HandlerKind, channels: usize) -> ModelHandler {
        match kind {
            HandlerKind::Tracker => ModelHandler::Tracker(Tracker::new(channels)),
            HandlerKind::Aligned => ModelHandler::Single(SingleHandler::new(channels, false)),
            HandlerKind::Alternating => ModelHandler::Single(SingleHandler::new(channels, true)),
        }
    }

    fn blocked(&self) -> Vec<u8> {
        match self {
            ModelHandler::Tracker(_) => Vec::new(),
            ModelHandler::Single(h) => h.blocked.iter().map(|c| c as u8).collect(),
        }
    }

    fn step(&mut self, spec: &Spec, input: HandlerInput) -> HandlerObservation {
        let effects: Effects = match (&mut *self, input) {
            (
                ModelHandler::Tracker(t),
                HandlerInput::Barrier {
                    channel, barrier, ..
                },
            ) => t.on_barrier(spec, channel, barrier),
            (ModelHandler::Tracker(t), HandlerInput::Cancel { channel, id, .. }) => {
                t.on_cancellation(spec, channel, id)
            }
            (ModelHandler::Tracker(t), HandlerInput::EndOfPartition { channel, .. }) => {
                t.on_end_of_partition(channel)
            }
            (ModelHandler::Tracker(_), HandlerInput::Timer { .. }) => Effects::new(),
            (
                ModelHandler::Single(h),
                HandlerInput::Barrier {
                    channel,
                    barrier,
                    now,
                },
            ) => h.on_barrier(spec, now, channel, barrier, false),
            (ModelHandler::Single(h), HandlerInput::Cancel { id, .. }) => {
                h.on_cancellation(spec, id)
            }
            (ModelHandler::Single(h), HandlerInput::EndOfPartition { channel, now }) => {
                h.on_end_of_partition(spec, now, channel)
            }
            (ModelHandler::Single(h), HandlerInput::Timer { now }) => {
                h.on_alignment_timeout(spec, now)
            }
        };
        let events = effects
            .iter()
            .filter_map(|effect| match effect {
                HandlerEffect::Trigger { barrier, .. } => Some(format!(
                    "trigger {} {}",
                    barrier.id.0,
                    alignment_name(barrier.alignment)
                )),
                HandlerEffect::Abort { id, reason } => {
                    Some(format!("abort {} {}", id.0, flink_reason(*reason)))
                }
                // Channel state is persisted inside Flink's input channels, not by the handler.
                HandlerEffect::StopCapture { .. } => None,
                // Injected bug only; Flink never forwards before the snapshot.
                HandlerEffect::ForwardEarly { barrier } => {
                    Some(format!("forward-early {}", barrier.id.0))
                }
            })
            .collect();
        HandlerObservation {
            events,
            blocked: self.blocked(),
        }
    }
}

/// The spec the model's handlers read: the default model's, with `bugs` and the sequences'
/// alignment timeout.
pub fn handler_spec(bugs: BugSet) -> Spec {
    let mut spec = Spec::default_model().with_bugs(bugs);
    spec.checkpointing.alignment_timeout = ALIGNMENT_TIMEOUT;
    spec
}

/// A seeded handler sequence: the channel count and the inputs. The model's handler runs along
/// as the sequence is drawn, so that a channel it blocks delivers nothing until resumed.
pub fn sequence(kind: HandlerKind, spec: &Spec, seed: u64) -> (usize, Vec<HandlerInput>) {
    let mut rng = Draws::new(seed, 0x6861_6e64_6c65_7273);
    let channels = 1 + rng.below(3) as usize;
    // Per checkpoint id: its trigger time and alignment.
    let alignment_of = |rng: &mut Draws| match kind {
        HandlerKind::Tracker => Alignment::AtLeastOnce,
        HandlerKind::Aligned => Alignment::Aligned,
        HandlerKind::Alternating => match rng.below(4) {
            0 => Alignment::Aligned,
            1 => Alignment::Unaligned,
            _ => Alignment::AlignedWithTimeout,
        },
    };
    let long = rng.chance(0.05);
    let max_id = if long { LONG_MAX_ID } else { MAX_ID };
    let barriers: Vec<Barrier> = (1..=max_id)
        .map(|id| Barrier {
            id: CheckpointId(id),
            timestamp: (id - 1) * 4,
            kind: SnapshotKind::Checkpoint,
            alignment: alignment_of(&mut rng),
            full: false,
        })
        .collect();
    // Per channel, its events in order: every id as a barrier, a marker or nothing, then maybe
    // the end of partition (which may come early, cutting the later ids).
    let mut queues: Vec<Vec<HandlerInput>> = (0..channels as u8)
        .map(|channel| {
            let mut queue = Vec::new();
            for barrier in &barriers {
                if rng.chance(0.6 / f64::from(max_id)) {
                    queue.push(HandlerInput::EndOfPartition { channel, now: 0 });
                    return queue;
                }
                // A long sequence is barriers only: a marker would abort every older entry.
                match if long { 0 } else { rng.below(20) } {
                    0..=13 => {
                        let mut barrier = *barrier;
                        // The sender's output timer converts a timed-out barrier in flight.
                        if barrier.is_timeoutable() && rng.chance(0.25) {
                            barrier = barrier.as_unaligned();
                        }
                        queue.push(HandlerInput::Barrier {
                            channel,
                            barrier,
                            now: 0,
                        })
                    }
                    14..=16 => queue.push(HandlerInput::Cancel {
                        channel,
                        id: barrier.id,
                        now: 0,
                    }),
                    _ => {}
                }
            }
            if rng.chance(0.3) {
                queue.push(HandlerInput::EndOfPartition { channel, now: 0 });
            }
            queue
        })
        .collect();
    for queue in &mut queues {
        queue.reverse(); // popped from the back
    }
    let mut model = ModelHandler::new(kind, channels);
    let mut now: Tick = 0;
    let mut inputs = Vec::new();
    loop {
        now += rng.below(3);
        let blocked = model.blocked();
        let ready: Vec<usize> = (0..channels)
            .filter(|&c| !queues[c].is_empty() && !blocked.contains(&(c as u8)))
            .collect();
        let timer = kind == HandlerKind::Alternating && (ready.is_empty() || rng.chance(0.15));
        let input = if timer {
            if inputs.len() > 60 || queues.iter().all(Vec::is_empty) {
                break;
            }
            HandlerInput::Timer { now }
        } else if ready.is_empty() {
            break;
        } else {
            // In a long sequence channel 0 runs ahead: it is taken whenever it can be, mostly.
            let channel = if long && ready.first() == Some(&0) && rng.chance(0.98) {
                0
            } else {
                ready[rng.below(ready.len() as u32) as usize]
            };
            let next = queues[channel].pop().expect("a ready channel has an event");
            // A barrier is never delivered before its checkpoint was triggered.
            if let HandlerInput::Barrier { barrier, .. } = next {
                now = now.max(barrier.timestamp);
            }
            next.at(now)
        };
        model.step(spec, input);
        inputs.push(input);
    }
    (channels, inputs)
}

/// The first input after which the model's handler and Flink's differ.
#[derive(Clone, Debug)]
pub struct HandlerDivergence {
    /// 0-based input index.
    pub input: usize,
    /// `events`, `blocked` or `error` (Flink refused the input).
    pub field: &'static str,
    pub model_value: String,
    pub flink_value: String,
    /// The driver's script up to the divergent input: the setup line, then the inputs.
    pub script: Vec<String>,
}

/// Runs one sequence through the model's handler and Flink's: `Ok(Ok(_))` when every input
/// agreed, `Ok(Err(_))` at the first that did not, `Err` when the driver failed.
pub fn compare(
    driver: &mut FlinkDriver,
    kind: HandlerKind,
    spec: &Spec,
    channels: usize,
    inputs: &[HandlerInput],
) -> Result<Result<Compared, Box<HandlerDivergence>>, String> {
    let setup = json!({"handler": {"kind": kind.name(), "channels": channels,
                                   "alignment_timeout": ALIGNMENT_TIMEOUT}});
    let lines: Vec<Value> = inputs.iter().map(|i| i.to_json()).collect();
    let answers = driver.run(&setup, &lines)?;
    if let Some(error) = answers[0].get("error") {
        return Err(format!(
            "the driver rejected the handler setup {setup}: {error}"
        ));
    }
    let mut model = ModelHandler::new(kind, channels);
    let mut reached = BTreeSet::new();
    for (index, input) in inputs.iter().enumerate() {
        let expected = model.step(spec, *input);
        let diverge = |field, model_value: String, flink_value: String| {
            let mut script = vec![setup.to_string()];
            script.extend(lines[..=index].iter().map(Value::to_string));
            Ok(Err(Box::new(HandlerDivergence {
                input: index,
                field,
                model_value,
                flink_value,
                script,
            })))
        };
        match HandlerObservation::from_answer(&answers[index + 1]) {
            // Flink's handler threw (its task would fail): the input is outside what Flink
            // accepts, e.g. an old tracked checkpoint completing after a newer one took the
            // single-channel fast path (its alignment metrics go negative). Nothing after it
            // can be compared.
            Err(error) if error.starts_with("handler threw") => {
                return Ok(Ok(Compared {
                    inputs: index,
                    stopped: Some(error),
                    reached,
                }))
            }
            Err(error) => return diverge("error", "accepted".into(), error),
            Ok(flink) if flink.events != expected.events => {
                return diverge(
                    "events",
                    format!("{:?}", expected.events),
                    format!("{:?}", flink.events),
                )
            }
            Ok(flink) if flink.blocked != expected.blocked => {
                return diverge(
                    "blocked",
                    format!("{:?}", expected.blocked),
                    format!("{:?}", flink.blocked),
                )
            }
            Ok(_) => reach(&mut reached, input, &expected),
        }
    }
    Ok(Ok(Compared {
        inputs: inputs.len(),
        stopped: None,
        reached,
    }))
}

/// The situations one agreed input reached, by name (what `conform --handler` prints and the
/// tests require): each trigger's alignment and what caused it, each abort's reason, a blocked
/// channel.
fn reach(reached: &mut BTreeSet<String>, input: &HandlerInput, agreed: &HandlerObservation) {
    let cause = match input {
        HandlerInput::Barrier { .. } => "barrier",
        HandlerInput::Cancel { .. } => "cancellation marker",
        HandlerInput::EndOfPartition { .. } => "end of partition",
        HandlerInput::Timer { .. } => "alignment timer",
    };
    for event in &agreed.events {
        let mut words = event.split(' ');
        let (kind, _id, what) = (words.next(), words.next(), words.next().unwrap_or(""));
        reached.insert(match kind {
            Some("trigger") => format!("{what} trigger on {cause}"),
            _ => format!("abort {what}"),
        });
    }
    if !agreed.blocked.is_empty() {
        reached.insert("channel blocked".to_string());
    }
}

/// A sequence that agreed: how many inputs were compared, and why the comparison stopped early.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Compared {
    pub inputs: usize,
    pub stopped: Option<String>,
    /// Situations the agreed inputs reached (see [`reach`]).
    pub reached: BTreeSet<String>,
}

/// Removes inputs one at a time while the sequence still diverges on the same field; returns the
/// shortest divergence found (at most a few hundred driver runs: sequences are short).
pub fn shrink(
    driver: &mut FlinkDriver,
    kind: HandlerKind,
    spec: &Spec,
    channels: usize,
    inputs: &[HandlerInput],
    found: HandlerDivergence,
) -> Result<HandlerDivergence, String> {
    let mut best = found;
    let mut current: Vec<HandlerInput> = inputs[..=best.input].to_vec();
    let mut index = 0;
    while index < current.len() {
        let mut candidate = current.clone();
        candidate.remove(index);
        match compare(driver, kind, spec, channels, &candidate)? {
            Err(divergence) if divergence.field == best.field => {
                candidate.truncate(divergence.input + 1);
                current = candidate;
                best = *divergence;
            }
            _ => index += 1,
        }
    }
    Ok(best)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequences_are_deterministic_and_well_formed() {
        let spec = handler_spec(BugSet::default());
        for kind in HandlerKind::ALL {
            for seed in 0..50 {
                let (channels, inputs) = sequence(kind, &spec, seed);
                assert_eq!((channels, inputs.clone()), sequence(kind, &spec, seed));
                assert!((1..=3).contains(&channels));
                // Per channel: ids increase, nothing after the end of partition.
                for channel in 0..channels as u8 {
                    let mut last = 0;
                    let mut ended = false;
                    for input in &inputs {
                        let (c, id) = match *input {
                            HandlerInput::Barrier {
                                channel, barrier, ..
                            } => (channel, barrier.id.0),
                            HandlerInput::Cancel { channel, id, .. } => (channel, id.0),
                            HandlerInput::EndOfPartition { channel, .. } => (channel, u32::MAX),
                            HandlerInput::Timer { .. } => continue,
                        };
                        if c != channel {
                            continue;
                        }
                        assert!(!ended, "{kind:?} seed {seed}: input after end of partition");
                        if id == u32::MAX {
                            ended = true;
                        } else {
                            assert!(id > last, "{kind:?} seed {seed}: ids must increase");
                            last = id;
                        }
                    }
                }
            }
        }
    }
}
