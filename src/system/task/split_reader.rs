//! The reader side of a FLIP-27 split source (`SourceOperator` with a `SourceReaderBase` that
//! reads one split at a time, like the `FileSourceReader`): it asks the enumerator for a split
//! when it has none (`SourceReaderContext.sendSplitRequest`), reads the records of its assigned
//! splits in assignment order, drops a split once read (`onSplitFinished`) and, once the
//! enumerator said it has no more splits and its own are read, ends its input (FLIP-147).
//!
//! Its state (`OperatorState::SplitReader`) is what `SourceOperator.snapshotState` stores: the
//! assigned, unfinished splits with their positions. The request flag and the no-more-splits
//! signal are not snapshotted: a restored reader with no splits asks again, and the enumerator
//! answers again.

use super::operator::OperatorState;
use super::{Outputs, Task, TaskContext, TaskOutput};
use crate::system::protocol::SourceEvent;

impl Task {
    /// Whether the reader has something to do on `EmitNext`: read a record (or drop a split it
    /// read to its end), send its split request, or end its input. A reader waiting for the
    /// answer to its request has not.
    pub fn reader_can_progress(&self) -> bool {
        match &self.operator {
            OperatorState::SplitReader {
                splits,
                requested,
                no_more,
                ..
            } => !splits.is_empty() || !requested || *no_more,
            _ => false,
        }
    }

    /// `EmitNext` on a reader.
    pub(super) fn reader_emit_next(&mut self, ctx: &TaskContext, out: &mut Outputs) {
        let Some(source) = &ctx.spec.split_source else {
            return;
        };
        let OperatorState::SplitReader {
            splits,
            requested,
            no_more,
            finished,
        } = &mut self.operator
        else {
            return;
        };
        if let Some(&(split, offset)) = splits.first() {
            let records = source.splits.get(split as usize).map_or(&[][..], |r| r);
            if let Some(record) = records.get(offset as usize) {
                out.push(TaskOutput::Emit(*record));
                splits[0].1 = offset + 1;
            }
            if splits[0].1 as usize >= records.len() {
                // `SourceReaderBase.onSplitFinished`: the split is done and leaves the state.
                splits.remove(0);
                *finished |= 1 << split;
            }
        } else if *no_more {
            self.end_data(ctx, out);
        } else if !*requested {
            *requested = true;
            out.push(TaskOutput::RequestSplit);
        }
    }

    /// An operator event from the coordinator (`SourceOperator.handleOperatorEvent`):
    /// `addSplits` appends the split at its start; `notifyNoMoreSplits`.
    pub(super) fn on_source_event(&mut self, event: SourceEvent) {
        if !self.is_running() {
            return;
        }
        let OperatorState::SplitReader {
            splits,
            requested,
            no_more,
            ..
        } = &mut self.operator
        else {
            return;
        };
        match event {
            SourceEvent::AddSplit(split) => {
                if !splits.iter().any(|(s, _)| *s == split) {
                    splits.push((split, 0));
                }
                *requested = false;
            }
            SourceEvent::NoMoreSplits => {
                *no_more = true;
                *requested = false;
            }
        }
    }
}
