//! Layer 5, presentation: what people read.
//!
//! - [`render`]: the chart model of a replayed trace and its text and Mermaid renderings.
//! - [`html`]: the self-contained HTML/SVG report of a trace.
//! - [`show`]: a model's topology as text, dot or Mermaid.
//! - [`report`]: the bug-detection report (runs every catalogued bug through both explorers).
//! - [`verify`]: the gate for a change: every model's sweep and check, every canary, every
//!   regression trace, within a time budget (structured results; the binary prints them).
//!
//! May touch: every layer below. Must not touch: the command line; it returns strings and data,
//! and printing stays in the binary.

pub mod html;
pub mod render;
pub mod report;
pub mod show;
pub mod verify;
