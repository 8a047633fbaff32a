//! A scripted run through the world for scenario tests: each action is picked from the actions
//! `world::enabled` offers (so a scenario can only take steps the explorers could take), applied
//! with `world::apply`, and every invariant is checked after every step; the first violation is
//! kept, so a scenario asserts that a bug is caught (or that nothing is) where it happens.
//!
//! A scenario file wraps it in its own `Run` (with `Deref` to this) for the steps of its topic.

#![allow(dead_code)] // Each scenario file uses the part its topic needs.

use checkpoint_harness::invariants::{self, Oracle};
use checkpoint_harness::protocol::TaskId;
use checkpoint_harness::spec::Spec;
use checkpoint_harness::world::{self, Action, Options, RpcKind, Timer, World};

pub struct Scripted {
    pub spec: Spec,
    pub oracle: Oracle,
    pub world: World,
    /// The first violated property seen after any step.
    pub violation: Option<&'static str>,
    /// Every action taken, in order.
    pub taken: Vec<Action>,
    /// Actions stop at the model's time horizon, as in the explorers; off lets timers (a
    /// checkpoint's timeout) fire past it.
    pub horizon: bool,
}

impl Scripted {
    pub fn new(spec: Spec) -> Scripted {
        Scripted {
            oracle: Oracle::new(&spec),
            world: World::initial(&spec),
            spec,
            violation: None,
            taken: Vec::new(),
            horizon: true,
        }
    }

    /// Without the model's time horizon.
    pub fn without_horizon(mut self) -> Scripted {
        self.horizon = false;
        self
    }

    pub fn enabled(&self) -> Vec<Action> {
        if self.horizon {
            world::enabled(&self.spec, &self.world)
        } else {
            let options = Options {
                horizon: None,
                ..Options::exhaustive(&self.spec)
            };
            world::enabled_with(&self.spec, &self.world, options)
        }
    }

    /// The first property the current world violates, if any.
    pub fn current_violation(&self) -> Option<&'static str> {
        invariants::check_all(&self.spec, &self.oracle, &self.world)
            .err()
            .map(|v| v.invariant)
    }

    /// Takes the first enabled action `pick` accepts (`None` if there is none).
    pub fn try_take(&mut self, pick: impl Fn(&World, &Action) -> bool) -> Option<Action> {
        let action = self.enabled().into_iter().find(|a| pick(&self.world, a))?;
        self.step(action);
        Some(action)
    }

    /// Takes the first enabled action `pick` accepts; panics naming `what` if there is none.
    pub fn take(&mut self, what: &str, pick: impl Fn(&World, &Action) -> bool) -> Action {
        let enabled = self.enabled();
        self.try_take(pick)
            .unwrap_or_else(|| panic!("{what}: not enabled; enabled: {enabled:?}"))
    }

    /// Delivers the RPC of `kind` to (or from) `task`.
    pub fn deliver_rpc(&mut self, kind: RpcKind, task: TaskId) {
        self.take(
            "the RPC is delivered",
            |_, a| matches!(a, Action::DeliverRpc { rpc } if rpc.kind == kind && rpc.task == task),
        );
    }

    /// The periodic trigger fires, and its trigger phase ends where it has one.
    pub fn fire_periodic(&mut self) {
        self.take("the periodic trigger fires", |_, a| {
            *a == Action::Fire {
                timer: Timer::Periodic,
            }
        });
        if self.enabled().contains(&Action::FinishTriggering) {
            self.take("the trigger phase ends", |_, a| {
                *a == Action::FinishTriggering
            });
        }
    }

    /// Runs the job fairly (deliveries, RPCs, the end of a trigger phase, emits and the tasks'
    /// own steps; timers only when nothing else is enabled) until `stop` holds, never taking an
    /// action `hold` names.
    pub fn run_until(
        &mut self,
        stop: impl Fn(&World) -> bool,
        hold: impl Fn(&World, &Action) -> bool,
    ) {
        for _ in 0..2000 {
            if stop(&self.world) {
                return;
            }
            let progress = self.try_take(|w, a| {
                !hold(w, a)
                    && matches!(
                        a,
                        Action::Deliver { .. }
                            | Action::DeliverRpc { .. }
                            | Action::FinishTriggering
                            | Action::Emit { .. }
                    )
            });
            if progress.is_none()
                && self
                    .try_take(|w, a| !hold(w, a) && matches!(a, Action::Fire { .. }))
                    .is_none()
            {
                panic!("stuck before the stop condition: {:?}", self.world.tasks);
            }
        }
        panic!("did not reach the stop condition");
    }

    /// Applies `action`, which must be enabled, and checks every invariant after it.
    pub fn apply(&mut self, action: Action) {
        assert!(
            self.enabled().contains(&action),
            "{action:?}: not enabled; enabled: {:?}",
            self.enabled()
        );
        self.step(action);
    }

    fn step(&mut self, action: Action) {
        self.world = world::apply(&self.spec, &self.world, action).expect("enabled");
        self.taken.push(action);
        if self.violation.is_none() {
            self.violation = invariants::check_all(&self.spec, &self.oracle, &self.world)
                .err()
                .map(|v| v.invariant);
        }
    }
}

/// Declares a scenario file's `Run` as a [`Scripted`] run (with `Deref` to it) that the file
/// extends with the steps of its topic.
#[macro_export]
macro_rules! scripted_run {
    ($name:ident) => {
        struct $name(scripted::Scripted);

        impl std::ops::Deref for $name {
            type Target = scripted::Scripted;
            fn deref(&self) -> &scripted::Scripted {
                &self.0
            }
        }

        impl std::ops::DerefMut for $name {
            fn deref_mut(&mut self) -> &mut scripted::Scripted {
                &mut self.0
            }
        }

        #[allow(dead_code)]
        impl $name {
            fn of(spec: checkpoint_harness::spec::Spec) -> $name {
                $name(scripted::Scripted::new(spec))
            }
        }
    };
}
