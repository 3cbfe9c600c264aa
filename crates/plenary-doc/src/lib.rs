//! Plenary's resolution document model (placeholder face; the doc issue fills it in).
mod model;
pub use model::*;
