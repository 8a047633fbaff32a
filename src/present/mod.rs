//! Layer 5, presentation: what people read.
//!
//! - [`render`]: the chart model of a replayed trace and its text and Mermaid renderings.
//! - [`html`]: the self-contained HTML/SVG report of a trace.
//! - [`show`]: a model's topology as text, dot or Mermaid.
//! - [`report`]: the bug-detection report (runs every catalogued bug through both explorers).
//!
//! May touch: every layer below. Must not touch: the command line; it returns strings and data,
//! and printing stays in the binary.

pub mod html;
pub mod render;
pub mod report;
pub mod show;
