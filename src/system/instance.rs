//! A model's small instance: the same pipeline, checkpointing rules, faults and bugs with fewer
//! records, a shorter time horizon and (where asked) RPCs ordered per connection, so that the
//! exhaustive checker completes on it within a CI budget where the full model's state space is
//! too large (the small-scope hypothesis: most protocol bugs show with few records and few
//! checkpoints). A model file declares it in a `[small]` table:
//!
//! ```toml
//! [small]
//! why = "3 records and a 40-tick horizon are 20M+ states; 2 records and 20 ticks still crash between two checkpoints"
//! records = 2                 # at most this many records per source subtask
//! time = 20                   # bounds.time
//! rpc_order = "per-pair-fifo" # network.rpc_order
//! ```
//!
//! The instance is a model of its own, named `NAME@small` (`check linear@small`, `sim
//! models/linear.toml@small`): its text is the model's text with the overrides applied and the
//! `[small]` table removed, so its traces replay without the original file. `verify` checks it
//! exhaustively beside the full model's bounded check; what it leaves out is the `why` line, which
//! `verify` prints.

use crate::system::spec::{RpcOrder, Spec};

pub use crate::system::spec::{SmallInstance, SMALL_SUFFIX};

impl Spec {
    /// Whether `name` names a small instance (`linear@small`), and then the base model's name.
    pub fn small_base(name: &str) -> Option<&str> {
        name.strip_suffix(SMALL_SUFFIX)
    }

    /// This model's small instance, if its file declares one: a model named `NAME@small` whose
    /// text is this model's text with the overrides applied.
    pub fn small_instance(&self) -> Option<Spec> {
        let small = self.small.as_ref()?;
        let text = self.small_instance_text(small);
        let file = format!("{}{SMALL_SUFFIX}", self.file);
        let instance = Spec::parse(&file, &text)
            .expect("a model's small instance is valid (checked when the model was parsed)");
        Some(instance.with_bugs(self.bugs))
    }

    /// The small instance's model text.
    pub(crate) fn small_instance_text(&self, small: &SmallInstance) -> String {
        let mut table: toml::Table = toml::from_str(&self.text)
            .expect("a parsed model's text is valid TOML (it was parsed from it)");
        table.remove("small");
        table.insert(
            "name".into(),
            toml::Value::String(format!("{}{SMALL_SUFFIX}", self.name)),
        );
        let description = table
            .get("description")
            .and_then(toml::Value::as_str)
            .unwrap_or_default()
            .to_string();
        table.insert(
            "description".into(),
            toml::Value::String(format!(
                "the small instance ({}) of: {description}",
                small.summary()
            )),
        );
        if let Some(cap) = small.records {
            if let Some(toml::Value::Array(operators)) = table.get_mut("operators") {
                for operator in operators {
                    if let Some(toml::Value::Integer(records)) = operator.get_mut("records") {
                        *records = (*records).min(cap as i64);
                    }
                }
            }
        }
        if let Some(time) = small.time {
            section(&mut table, "bounds").insert("time".into(), toml::Value::Integer(time as i64));
        }
        if let Some(order) = small.rpc_order {
            let name = match order {
                RpcOrder::Unordered => "unordered",
                RpcOrder::PerPairFifo => "per-pair-fifo",
            };
            section(&mut table, "network")
                .insert("rpc_order".into(), toml::Value::String(name.into()));
        }
        format!(
            "# The small instance of {} ({}): {}\n{}",
            self.file,
            small.summary(),
            small.why,
            toml::to_string(&table).expect("a TOML table serializes")
        )
    }
}

/// The table `key` of `table`, created when absent.
fn section<'a>(table: &'a mut toml::Table, key: &str) -> &'a mut toml::Table {
    let entry = table
        .entry(key.to_string())
        .or_insert_with(|| toml::Value::Table(toml::Table::new()));
    if !entry.is_table() {
        *entry = toml::Value::Table(toml::Table::new());
    }
    entry.as_table_mut().expect("made a table above")
}

#[cfg(test)]
mod tests {
    use crate::system::spec::{RpcOrder, Spec};

    const BASE: &str = "name = 'm'\n[[operators]]\nname = 'source'\nkind = 'source'\nrecords = 3\n[[operators]]\nname = 'sink'\nkind = 'two-phase-commit-sink'\n[[edges]]\nfrom = 'source'\nto = 'sink'\n[bounds]\ntime = 40\n";

    fn parse(small: &str) -> Result<Spec, crate::error::InputError> {
        Spec::parse("m.toml", &format!("{BASE}[small]\n{small}"))
    }

    #[test]
    fn the_instance_applies_its_overrides_and_nothing_else() {
        let spec = parse("why = 'w'\nrecords = 1\ntime = 20\nrpc_order = 'per-pair-fifo'\n")
            .expect("valid");
        assert_eq!(spec.bounds.time, 40);
        let small = spec.small_instance().expect("declared");
        assert_eq!(small.name, "m@small");
        assert_eq!(small.file, "m.toml@small");
        assert_eq!(small.bounds.time, 20);
        assert_eq!(small.rpc_order, RpcOrder::PerPairFifo);
        assert_eq!(small.operators.len(), spec.operators.len());
        assert!(
            small.small.is_none(),
            "the instance has no instance of its own"
        );
        // Its text is a model of its own: traces embed it and replay without the file.
        let again = Spec::parse("x", &small.text).expect("the instance's text is a model");
        assert_eq!(again.name, "m@small");
        assert_eq!(again.bounds, small.bounds);
        assert!(Spec::parse("m.toml", BASE)
            .expect("valid")
            .small_instance()
            .is_none());
    }

    #[test]
    fn a_bad_small_table_names_its_key() {
        let key = |small: &str| parse(small).expect_err("rejected").key;
        assert_eq!(key("records = 1\n"), "small.why");
        assert_eq!(key("why = ' '\nrecords = 1\n"), "small.why");
        assert_eq!(key("why = 'w'\n"), "small");
        assert_eq!(key("why = 'w'\nrecords = 0\n"), "small.records");
        assert_eq!(key("why = 'w'\nrecords = 1\nrecord = 2\n"), "small.record");
        assert_eq!(
            key("why = 'w'\nrpc_order = 'sometimes'\n"),
            "small.rpc_order"
        );
    }
}
