//! Getting drafts out: the same plain-text layout the importer reads,
//! Markdown, a standalone HTML page, Akoma Ntoso XML (AKN4UN) and Word, plain or with tracked changes
//! against a base version.
//!
//! Every exporter numbers from the document order (operative paragraphs
//! 1, 2 …, sub-paragraphs (a), (b) …, footnotes by first reference), never
//! from the derived fields of the view, which may not have been computed.

mod akn;
mod docx;
mod html;
mod markdown;
mod numbering;
mod text;
mod tracked;

pub use akn::{AknOptions, export_akn, export_akn_with};
pub use docx::{DocxError, export_docx};
pub(crate) use html::escape as escape_html;
pub use html::export_html;
pub use markdown::export_markdown;
pub use text::export_text;
pub use tracked::{
    TrackedAuthors, TrackedOptions, Writer, export_docx_tracked, export_docx_tracked_with,
};
