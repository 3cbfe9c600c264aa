//! Getting real drafts in: the plain text of a UN draft resolution as
//! circulated (header, title, acting body, preambular and operative
//! paragraphs, footnotes at page bottoms) becomes a typed [`Resolution`].
//!
//! [`Resolution`]: crate::Resolution

mod inline;
mod openings;
mod text;

pub(crate) use inline::{escape_inline, superscript, superscript_value};
pub(crate) use openings::{operative_opening, preambular_opening};
pub use text::{ImportError, ImportWarning, Imported, import_text};
